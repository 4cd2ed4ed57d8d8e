"""Free offline normalizers: domains, company names, emails, phone numbers, person names.

Each is a synchronous library call of microseconds, so it runs inline. Blank input gives
SUCCESS_NO_DATA; input the library rejects gives ERROR_INVALID_INPUT.
"""

from __future__ import annotations

import ipaddress
from functools import cache
from typing import TYPE_CHECKING, Any

from ....integrations import Action, ActionError, ActionResult, Integration, RunContext
from ....wire.cells import CellStatus

if TYPE_CHECKING:
    import tldextract

# The parsing libraries (about a tenth of a server's import time, with tldextract's
# requests) are imported by the first action that needs one, not by every process.


def _text(inputs: dict[str, Any], *names: str) -> str:
    for name in names:
        value = inputs.get(name)
        if value is not None and not isinstance(value, dict | list):
            text = str(value).strip()
            if text:
                return text
    return ""


_NO_DATA = ActionResult(value=None, full_value=None, has_data=False, credits=0)


def _invalid(message: str) -> ActionError:
    return ActionError(message, CellStatus.ERROR_INVALID_INPUT)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


@cache
def _extractor() -> tldextract.TLDExtract:
    import tldextract

    # The public suffix list snapshot bundled with tldextract: no fetch, no cache directory.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


async def domain(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    raw = _text(inputs, "url", "domain", "email")
    if not raw:
        return _NO_DATA
    host = raw.rsplit("@", 1)[1] if "@" in raw and "://" not in raw else raw
    parts = _extractor()(host)
    if _is_ip(parts.domain):
        raise _invalid(f"{raw!r} is an IP address, not a domain")
    registered = parts.top_domain_under_public_suffix.lower()
    if not parts.domain or not parts.suffix or not registered:
        raise _invalid(f"No domain with a public suffix in {raw!r}")
    full = {
        "domain": registered,
        "subdomain": parts.subdomain.lower(),
        "name": parts.domain.lower(),
        "suffix": parts.suffix.lower(),
        "fqdn": parts.fqdn.lower(),
    }
    return ActionResult(value=registered, full_value=full, credits=0)


async def company_name(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    raw = _text(inputs, "companyName", "name")
    if not raw:
        return _NO_DATA
    name = " ".join(raw.split())
    import cleanco

    for _ in range(3):  # "Acme Holdings Inc." loses one legal suffix per pass
        cleaned = cleanco.basename(name).strip(" ,.-&")
        if cleaned == name:
            break
        name = cleaned
    if not name:
        return ActionResult(value=None, full_value={"original": raw}, has_data=False, credits=0)
    return ActionResult(value=name, full_value={"name": name, "original": raw}, credits=0)


async def email(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    raw = _text(inputs, "email")
    if not raw:
        return _NO_DATA
    import email_validator

    try:
        found = email_validator.validate_email(raw, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise _invalid(f"Invalid email {raw!r}: {exc}") from None
    full = {
        "email": found.normalized,
        "localPart": found.local_part,
        "domain": found.domain,
        "asciiEmail": found.ascii_email,
        "valid": True,
    }
    return ActionResult(value=found.normalized, full_value=full, credits=0)


@cache
def _phone_types() -> dict[int, str]:
    import phonenumbers

    return {
        value: name.lower()
        for name, value in vars(phonenumbers.PhoneNumberType).items()
        if name.isupper()
    }


async def phone(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    raw = _text(inputs, "phone", "phoneNumber")
    if not raw:
        return _NO_DATA
    import phonenumbers

    region = _text(inputs, "defaultRegion", "countryCode").upper() or None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise _invalid(f"Invalid phone number {raw!r}: {exc._msg}") from None
    if not phonenumbers.is_valid_number(number):
        raise _invalid(f"Invalid phone number {raw!r}")
    fmt = phonenumbers.PhoneNumberFormat
    e164 = phonenumbers.format_number(number, fmt.E164)
    full = {
        "e164": e164,
        "international": phonenumbers.format_number(number, fmt.INTERNATIONAL),
        "national": phonenumbers.format_number(number, fmt.NATIONAL),
        "countryCode": number.country_code,
        "region": phonenumbers.region_code_for_number(number),
        "type": _phone_types().get(phonenumbers.number_type(number), "unknown"),
    }
    return ActionResult(value=e164, full_value=full, credits=0)


_NAME_PARTS = ("title", "first", "middle", "last", "suffix", "nickname")


async def person_name(inputs: dict[str, Any], ctx: RunContext) -> ActionResult:
    raw = _text(inputs, "name", "fullName")
    if not raw:
        return _NO_DATA
    from nameparser import HumanName

    parsed = HumanName(raw)
    full = {part: str(getattr(parsed, part)) for part in _NAME_PARTS}
    value = {part: text for part, text in full.items() if text}
    if not value:
        return ActionResult(value=None, full_value=full, has_data=False, credits=0)
    return ActionResult(value=value, full_value=full, credits=0)


def _schema(required: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {required: {"type": "string"}, **(extra or {})}
    return {"type": "object", "required": [required], "properties": props}


NORMALIZE_DOMAIN = Action(
    key="normalize-domain",
    display_name="Normalize domain",
    run=domain,
    input_schema=_schema("url", {"url": {"type": "string", "description": "URL, domain or email"}}),
    output_schema={
        "type": "string",
        "description": "value: the registered domain (acme.co.uk); fullValue: "
        "{domain, subdomain, name, suffix, fqdn}",
    },
)

ACTIONS = (
    NORMALIZE_DOMAIN,
    Action(
        key="normalize-company-name",
        display_name="Clean company name",
        run=company_name,
        input_schema=_schema("companyName"),
        output_schema={
            "type": "string",
            "description": "value: the name without legal suffixes; fullValue: {name, original}",
        },
    ),
    Action(
        key="validate-email",
        display_name="Validate email (syntax)",
        run=email,
        input_schema=_schema("email"),
        output_schema={
            "type": "string",
            "description": "value: the normalized email; fullValue: "
            "{email, localPart, domain, asciiEmail, valid}",
        },
    ),
    Action(
        key="normalize-phone",
        display_name="Normalize phone number (E.164)",
        run=phone,
        input_schema=_schema(
            "phone",
            {"defaultRegion": {"type": "string", "description": "ISO country code, e.g. US"}},
        ),
        output_schema={
            "type": "string",
            "description": "value: E.164 (+14155552671); fullValue: "
            "{e164, international, national, countryCode, region, type}",
        },
    ),
    Action(
        key="parse-name",
        display_name="Parse person name",
        run=person_name,
        input_schema=_schema("name"),
        output_schema={
            "type": "object",
            "properties": {part: {"type": "string"} for part in _NAME_PARTS},
            "description": "value: the non-empty parts; fullValue: every part",
        },
    ),
)

integration = Integration(
    key="normalize",
    display_name="Normalize (offline)",
    actions=ACTIONS,
    credentials_schema={"type": "object", "properties": {}, "secret": []},
)

domain_integration = Integration(
    key="normalize-domain",
    display_name="Normalize domain",
    actions=(NORMALIZE_DOMAIN,),
    credentials_schema={"type": "object", "properties": {}, "secret": []},
)
