"""The claystack server: a Clay v3-compatible HTTP API (install with ``claystack[server]``)."""

from importlib.util import find_spec

# Looked up, not imported: the modules that need them import them, and a command that only
# reads the settings (``serve`` refusing a port in use) need not load them (~0.4 s of CPU).
if find_spec("fastapi") is None or find_spec("sqlalchemy") is None:  # pragma: no cover
    raise ImportError(
        "the claystack server needs its extra dependencies: pip install 'claystack[server]'"
    )
