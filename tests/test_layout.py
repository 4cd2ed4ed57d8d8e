"""The layers hold: services, the engine and the enrichment package import no SQLAlchemy
(their SQL lives in ``storage/repositories``) and routes import no storage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parent.parent / "src" / "claystack" / "server"


def _imports(path: Path) -> list[str]:
    """The modules ``path`` imports, relative ones resolved against the server package."""
    package = path.parent.relative_to(SERVER.parent.parent).parts
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.append(module)
            found += [f"{module}.{alias.name}" for alias in node.names]
    return found


def _sql_importers(directory: str) -> set[str]:
    """The modules under ``directory`` (its subpackages too) that import SQLAlchemy."""
    return {
        str(path.relative_to(SERVER))
        for path in (SERVER / directory).rglob("*.py")
        if any(m == "sqlalchemy" or m.startswith("sqlalchemy.") for m in _imports(path))
    }


@pytest.mark.parametrize("directory", ["services", "engine", "enrichment"])
def test_import_no_sqlalchemy(directory: str) -> None:
    offenders = _sql_importers(directory)
    assert not offenders, f"modules with SQL (move it to storage/repositories): {offenders}"


def test_routes_import_no_storage() -> None:
    offenders = {
        path.stem: m
        for path in (SERVER / "routes").glob("*.py")
        for m in _imports(path)
        if m.startswith(("claystack.server.storage", "sqlalchemy"))
    }
    assert not offenders, f"routes reaching into storage (go through a service): {offenders}"
