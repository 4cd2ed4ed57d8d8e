"""Sources (webhooks)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from .._base import M, Namespace, Op, api, req
from .._models import (
    Source,
)
from ._util import (
    WEBHOOK_SLUG_TEXT,
    _id,
    _q,
    _workspace_of,
)


class Sources(Namespace[M]):
    """Webhook sources: a URL per source; each JSON object POSTed to it becomes a row."""

    @api("PATCH /tables/{tableId}")
    def create(
        self,
        table_id: str,
        name: str = "Webhook",
        *,
        workspace_id: int | None = None,
        type_settings: dict[str, Any] | None = None,
        auth_token: bool = False,
    ) -> Op[Source]:
        """Adds a webhook source to a table; the returned ``url`` takes rows. With
        ``auth_token`` the source requires a token, returned once as ``authToken``."""
        t = _id(table_id)
        ws = yield from _workspace_of(t, workspace_id)
        settings = {"urlSlugText": WEBHOOK_SLUG_TEXT, **(type_settings or {})}
        if auth_token:
            settings["generateAuthToken"] = True
        source = {"name": name, "workspaceId": ws, "type": "webhook", "typeSettings": settings}
        body = {
            "tableSettings": {},
            "fieldGroupMap": {},
            "sourceSettings": {"addSource": {"name": name, "source": source}},
        }
        data = yield req("PATCH", f"/tables/{_q(t)}", body)
        return Source.model_validate(data["source"])

    @api("GET /tables/{tableId}/sources")
    def list(self, table_id: str) -> Op[builtins.list[Source]]:
        """The sources of a table."""
        data = yield req("GET", f"/tables/{_q(_id(table_id))}/sources")
        items = data if isinstance(data, list) else data.get("results", [])
        return [Source.model_validate(s) for s in items]

    @api("POST /sources/{sourceId}/auth-token")
    def new_auth_token(self, source_id: str) -> Op[Source]:
        """Gives a source a new auth token (the old one stops working); the returned
        source's ``authToken`` is the only copy."""
        return Source.model_validate(
            (yield req("POST", f"/sources/{_q(_id(source_id))}/auth-token", None))
        )

    @api("DELETE /sources/{sourceId}/auth-token")
    def remove_auth_token(self, source_id: str) -> Op[Source]:
        """Lets a source take rows without a token again."""
        return Source.model_validate(
            (yield req("DELETE", f"/sources/{_q(_id(source_id))}/auth-token"))
        )

    @api("GET /sources/{sourceId}")
    def get(self, source_id: str) -> Op[Source]:
        """One source."""
        return Source.model_validate((yield req("GET", f"/sources/{_q(_id(source_id))}")))

    @api("DELETE /sources/{sourceId}")
    def delete(self, source_id: str, *, delete_records: bool = False) -> Op[None]:
        """Deletes a source (and the rows it brought in, with ``delete_records``)."""
        body = {"deleteRecords": delete_records}
        yield req("DELETE", f"/sources/{_q(_id(source_id))}", body)

    @api("POST /sources/webhook/{slug}-{uuid}")
    def send(
        self,
        source: str | Source,
        payload: Mapping[str, Any],
        *,
        auth_token: str | None = None,
        idempotency_key: str | None = None,
    ) -> Op[Any]:
        """POSTs one JSON object (one row) to a source's webhook URL; ``source`` is a
        :class:`Source`, its id or the URL itself. No login is needed for this call.
        Returns ``{"success": true, "recordId": "r_…"}``; with ``idempotency_key``, sending
        the same key again returns the first row's id and adds nothing."""
        if isinstance(source, Source):
            url = source.url
        elif source.startswith(("http://", "https://", "/")):
            url = source
        else:
            url = yield from _source_url(source)
        if not url:
            raise ValueError("this source has no webhook URL")
        if url.startswith("/v3/"):
            url = url.removeprefix("/v3")
        headers = {"x-clay-webhook-auth": auth_token} if auth_token else {}
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        return (yield req("POST", url, dict(payload), auth=False, headers=headers or None))


def _source_url(source_id: str) -> Op[str | None]:
    return Source.model_validate((yield req("GET", f"/sources/{_q(source_id)}"))).url
