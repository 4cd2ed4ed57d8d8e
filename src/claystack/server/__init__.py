"""The claystack server: a Clay v3-compatible HTTP API (install with ``claystack[server]``)."""

try:
    import fastapi  # noqa: F401
    import sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the claystack server needs its extra dependencies: pip install 'claystack[server]'"
    ) from exc
