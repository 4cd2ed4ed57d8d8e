"""The layers hold: no module of the server outside ``storage/`` builds SQL (services, the
engine, the enrichment package, the job runner, lifecycle: their SQL lives in
``storage/repositories``) and routes import no storage."""

from __future__ import annotations

import ast
from pathlib import Path

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


# What a module outside storage/ may take from SQLAlchemy: the errors it maps to answers and
# the connection type it passes on; nothing that builds a statement.
_NOT_SQL = ("sqlalchemy.exc", "sqlalchemy.ext.asyncio")


def _builds_sql(module: str) -> bool:
    if module != "sqlalchemy" and not module.startswith("sqlalchemy."):
        return False
    return not any(module == ok or module.startswith(ok + ".") for ok in _NOT_SQL)


def test_only_storage_builds_sql() -> None:
    offenders = {
        str(path.relative_to(SERVER)): m
        for path in SERVER.rglob("*.py")
        # (the package's __init__ imports SQLAlchemy only to say which extra is missing)
        if path.relative_to(SERVER).parts[0] not in ("storage", "__init__.py")
        for m in _imports(path)
        if _builds_sql(m)
    }
    assert not offenders, f"modules with SQL (move it to storage/repositories): {offenders}"


def test_routes_import_no_storage() -> None:
    offenders = {
        path.stem: m
        for path in (SERVER / "routes").glob("*.py")
        for m in _imports(path)
        if m.startswith(("claystack.server.storage", "sqlalchemy"))
    }
    assert not offenders, f"routes reaching into storage (go through a service): {offenders}"
