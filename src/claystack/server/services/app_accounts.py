"""Integrations as the API describes them, and connected accounts (``aa_…``): credentials
for one integration in one workspace, encrypted at rest.

Secrets never leave this module in the clear except through :func:`resolve_credentials`,
which the run engine calls; responses only name the credential keys that are set.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ...integrations import Integration
from ...wire import AppAccount as AppAccountOut
from ...wire import IntegrationList, IntegrationWithAccounts
from ..enrichment import registry
from ..errors import BadRequest, InvalidParameter, NotFound
from ..ids import new_id
from ..storage.repositories import Connection
from ..storage.repositories import accounts as accounts_repo
from ..storage.repositories import app_accounts as repo
from .common import Scope, iso, now_ms


@lru_cache(maxsize=8)
def _fernet(secret: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"claystack/app-account-credentials/v1",
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _seal(secret: str, account_id: str, workspace_id: int, credentials: dict[str, Any]) -> str:
    # The id and workspace are sealed with the credentials, so a token copied onto another
    # account's row does not decrypt as that account's.
    plain = orjson.dumps({"a": account_id, "w": workspace_id, "c": credentials})
    return _fernet(secret).encrypt(plain).decode("ascii")


def _open(secret: str, row: Any) -> dict[str, Any]:
    try:
        data = orjson.loads(_fernet(secret).decrypt(row.credentials.encode("ascii")))
    except (InvalidToken, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("a") != row.id or data.get("w") != row.workspace_id:
        raise BadRequest(
            f"The credentials of connected account {row.id} cannot be read (was the instance "
            "secret changed?); update the account with its credentials again"
        )
    creds: dict[str, Any] = data["c"]
    return creds


# -- integrations --------------------------------------------------------------------------


def _is_secret(prop: Any) -> bool:
    if not isinstance(prop, dict):
        return True
    if "secret" in prop:
        return bool(prop["secret"])
    return bool(prop.get("writeOnly")) or prop.get("format") == "password"


def secret_keys(schema: dict[str, Any]) -> list[str]:
    """Credential keys that are secrets: marked ``secret``, ``writeOnly`` or
    ``format: password`` (``"secret": false`` opts a key out)."""
    props = schema.get("properties") or {}
    return sorted(k for k, p in props.items() if _is_secret(p))


def _marked_schema(schema: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties")
    if not isinstance(props, dict):
        return dict(schema)
    marked = {
        k: {**p, "secret": True, "writeOnly": True} if _is_secret(p) else p
        for k, p in props.items()
    }
    return {**schema, "properties": marked}


def integration_out(integration: Integration) -> dict[str, Any]:
    schema = integration.credentials_schema or {}
    return {
        "key": integration.key,
        "type": integration.key,
        "appAccountTypeId": integration.key,
        "displayName": integration.display_name,
        "actions": [
            {
                "key": a.key,
                "displayName": a.display_name,
                "inputSchema": a.input_schema,
                "outputSchema": a.output_schema,
                "credits": a.credits,
            }
            for a in integration.actions
        ],
        "credentialsSchema": _marked_schema(schema),
        "secretCredentialKeys": secret_keys(schema),
        "requiresAccount": bool(schema.get("required")),
        "maxConcurrency": integration.max_concurrency,
        "ratePerSecond": integration.rate_per_second,
    }


def list_integrations() -> list[dict[str, Any]]:
    found = registry.integrations()
    return [integration_out(found[k]) for k in sorted(found)]


def _integration(key: str) -> Integration:
    found = registry.get(key)
    if found is None:
        raise NotFound(f"Integration not found: {key}")
    return found


async def integrations_with_accounts(conn: Connection, scope: Scope) -> IntegrationList:
    return IntegrationList.build(
        integrations=list_integrations(),
        appAccounts=await list_accounts(conn, scope.workspace_id),
    )


async def integration_with_accounts(
    conn: Connection, scope: Scope, key: str
) -> IntegrationWithAccounts:
    return IntegrationWithAccounts.build(
        **integration_out(_integration(key)),
        appAccounts=await list_accounts(conn, scope.workspace_id, integration=key),
    )


# -- credential validation -----------------------------------------------------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def _type_ok(value: Any, expected: Any) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    for name in names:
        kinds = _TYPES.get(str(name))
        if kinds is None:
            return True  # a type this check does not know is not ours to refuse
        if isinstance(value, bool) and bool not in kinds:
            continue
        if isinstance(value, kinds):
            return True
    return False


def validate_credentials(schema: dict[str, Any], credentials: Any) -> dict[str, Any]:
    """Checks credentials against the integration's schema (the subset of JSON Schema that
    describes flat key/value credentials). Messages name keys, never values."""

    def bad(key: str, text: str) -> BadRequest:
        return InvalidParameter(f"credentials{key}", f"{text}")

    if not isinstance(credentials, dict):
        raise bad("", "expected an object")
    props: dict[str, Any] = schema.get("properties") or {}
    for key in schema.get("required") or ():
        if credentials.get(key) is None:
            raise bad(f".{key}", "Required")
    if schema.get("additionalProperties") is False:
        extra = sorted(set(credentials) - set(props))
        if extra:
            raise bad(f".{extra[0]}", "not a credential of this integration")
    for key, value in credentials.items():
        prop = props.get(key)
        if not isinstance(prop, dict) or value is None:
            continue
        if "type" in prop and not _type_ok(value, prop["type"]):
            raise bad(f".{key}", f"expected {prop['type']}")
        if "enum" in prop and value not in prop["enum"]:
            raise bad(f".{key}", "not one of the allowed values")
        if isinstance(value, str) and len(value) < int(prop.get("minLength", 0)):
            raise bad(f".{key}", f"shorter than {prop['minLength']} characters")
    return {k: v for k, v in credentials.items() if v is not None}


# -- connected accounts --------------------------------------------------------------------


def account_out(row: Any) -> AppAccountOut:
    return AppAccountOut.build(**account_row(row))


def account_row(row: Any) -> dict[str, Any]:
    """A connected account in the ``wire.AppAccount`` shape as a plain dict, for lists."""
    return {
        "id": row.id,
        "workspaceId": row.workspace_id,
        "appAccountTypeId": row.integration,
        "type": row.integration,
        "name": row.name,
        "credentialKeys": sorted(row.credential_keys or ()),
        "createdBy": row.created_by,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "deletedAt": iso(row.deleted_at),
    }


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 500:
        raise InvalidParameter("name", "1 to 500 characters")
    return name


async def create_account(
    conn: Connection,
    scope: Scope,
    secret: str,
    *,
    type_key: str | None,
    name: str | None,
    credentials: Any,
) -> AppAccountOut:
    if not type_key:
        raise InvalidParameter("appAccountTypeId", "Required")
    integration = registry.get(type_key)
    if integration is None:
        raise InvalidParameter(
            "appAccountTypeId", f"no integration {type_key!r}; GET /v3/integrations lists them"
        )
    creds = validate_credentials(integration.credentials_schema or {}, credentials or {})
    now = now_ms()
    account_id = new_id("aa")
    values = {
        "id": account_id,
        "workspace_id": scope.workspace_id,
        "integration": integration.key,
        "name": _check_name(name if name is not None else integration.display_name),
        "credentials": _seal(secret, account_id, scope.workspace_id, creds),
        "credential_keys": sorted(creds),
        "created_by": scope.actor.user_id,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }
    await repo.add(conn, values)
    return account_out(_Row(values))


async def list_accounts(
    conn: Connection, workspace_id: int, integration: str | None = None
) -> list[dict[str, Any]]:
    rows = await repo.list_for_workspace(conn, workspace_id, integration)
    return [account_row(r) for r in rows]


async def account_workspace(conn: Connection, account_id: str) -> int | None:
    return await repo.workspace_of(conn, account_id)


async def _row(conn: Connection, workspace_id: int, account_id: str) -> Any:
    row = await repo.get_live(conn, workspace_id, account_id)
    if row is None:
        raise NotFound("Connected account not found")
    return row


async def get_account(conn: Connection, scope: Scope, account_id: str) -> AppAccountOut:
    return account_out(await _row(conn, scope.workspace_id, account_id))


async def update_account(
    conn: Connection,
    scope: Scope,
    secret: str,
    account_id: str,
    *,
    name: str | None = None,
    credentials: Any = None,
) -> AppAccountOut:
    """Renames the account and/or replaces its credentials (the whole set)."""
    row = await _row(conn, scope.workspace_id, account_id)
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _check_name(name)
    if credentials is not None:
        integration = registry.get(row.integration)
        if integration is None:
            raise BadRequest(f"Integration {row.integration!r} is not installed on this server")
        creds = validate_credentials(integration.credentials_schema or {}, credentials)
        values["credentials"] = _seal(secret, row.id, row.workspace_id, creds)
        values["credential_keys"] = sorted(creds)
    if values:
        values["updated_at"] = now_ms()
        await repo.update_account(conn, row.id, **values)
    merged = {c: getattr(row, c) for c in row._fields}
    merged.update(values)
    return account_out(_Row(merged))


async def delete_account(conn: Connection, scope: Scope, account_id: str) -> None:
    row = await _row(conn, scope.workspace_id, account_id)
    # The ciphertext goes with the deletion; the row stays so old ids still explain themselves.
    await repo.update_account(conn, row.id, deleted_at=now_ms(), credentials="", credential_keys=[])


async def resolve_credentials(
    conn: Connection,
    workspace_id: int,
    account_id: str,
    integration_key: str,
    *,
    secret: str | None = None,
) -> dict[str, Any]:
    """The decrypted credentials of a connected account, for the run engine.

    Raises ``NotFound`` when the account does not exist, was deleted or belongs to another
    workspace, and ``BadRequest`` when it is for another integration or cannot be read.
    """
    row = await _row(conn, workspace_id, account_id)
    if row.integration != integration_key:
        raise BadRequest(
            f"Connected account {account_id} is for {row.integration!r}, not {integration_key!r}"
        )
    if secret is None:
        # The database's own secret, never a process-wide one: one process may serve several
        # databases (tests, the pytest plugin), and each keeps its secret in its instance row.
        secret = await accounts_repo.instance_value(conn, "secret_key")
    if not secret:
        raise RuntimeError("the database has no instance secret; start the server once")
    return _open(secret, row)


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
