"""The per-user CLI config: ``$CLAYSTACK_CONFIG_DIR/config.json`` (else
``$XDG_CONFIG_HOME/claystack`` or ``~/.config/claystack``), mode 0600. It holds the base
URL and a session or API token, never a password."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson


def config_path() -> Path:
    base = os.environ.get("CLAYSTACK_CONFIG_DIR")
    if base:
        return Path(base).expanduser() / "config.json"
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "claystack" / "config.json"


def load() -> dict[str, Any]:
    path = config_path()
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except orjson.JSONDecodeError:
        raise ValueError(f"{path} is not valid JSON; delete it and run `claystack login`") from None
    return data if isinstance(data, dict) else {}


def save(data: dict[str, Any]) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    os.chmod(path, 0o600)  # an older file may have been created with wider permissions
    return path
