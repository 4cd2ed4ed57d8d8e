#!/usr/bin/env python3
"""Writes COVERAGE.md: every endpoint in the tables of section 5 of the spec
(docs/spec/clay-v3.md), in both path families, marked implemented or missing by matching it
against the routes the app serves; then the app's routes the spec does not list.

Purely mechanical, so it stays right as routes are added: run it after changing routes.
``{…}`` placeholders match any placeholder; trailing slashes and query strings are ignored.
With --check, exits non-zero when COVERAGE.md is not current instead of writing it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "docs" / "spec" / "clay-v3.md"
LIVE = ROOT / "docs" / "spec" / "clay-v3-live.md"
TARGET = ROOT / "COVERAGE.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_TOKEN = re.compile(r"`([^`]*)`|\[(seed|live|ours)[^\]]*\]")
_OPTIONAL = re.compile(r"\[(/[^\]]*)\]")
_VERB = "(?:GET|POST|PUT|PATCH|DELETE)"
_INLINE = re.compile(rf"`({_VERB}(?:/{_VERB})*) (/v3/[^`\s]*)")


@dataclass(frozen=True)
class Endpoint:
    section: str
    method: str
    path: str  # as the spec writes it
    family: str  # seed, live, ours, or "" when the spec gives no tag
    inline: bool = False  # written as `METHOD /path` in prose or a table without a method column

    def variants(self) -> list[str]:
        """The concrete paths: ``/views[/{gv}]`` is both ``/views`` and ``/views/{gv}``."""
        path = self.path.split("?", 1)[0]
        match = _OPTIONAL.search(path)
        if match is None:
            return [path]
        without = path[: match.start()] + path[match.end() :]
        with_ = path[: match.start()] + match.group(1) + path[match.end() :]
        return [without, with_]


def shape(path: str) -> tuple[str, ...]:
    """A path's segments with every placeholder segment as ``*``."""
    return tuple("*" if "{" in seg else seg for seg in path.strip("/").split("/"))


def _serves(route: tuple[str, tuple[str, ...]], spec: tuple[str, tuple[str, ...]]) -> bool:
    """A route serves a spec path when the segments agree; a placeholder segment of the route
    also serves a literal one of the spec (``{type}`` serves ``.../workspace``)."""
    (method, segs), (spec_method, spec_segs) = route, spec
    return (
        method == spec_method
        and len(segs) == len(spec_segs)
        and all(a == b or a == "*" for a, b in zip(segs, spec_segs, strict=True))
    )


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


class _Relative:
    """Expands part 2's ``…/views/{v}/sort`` against the last full path of the table: the
    ``…`` stands for what came before the same segment there."""

    def __init__(self) -> None:
        self.last = ""
        self.base = ""

    def __call__(self, path: str) -> str | None:
        if path.startswith("/"):
            self.last = path
            return path
        if not path.startswith("…/") or not self.last:
            return None
        first = "/" + path[2:].split("/", 1)[0].split("[", 1)[0]
        at = self.last.find(first + "/")
        if at < 0 and self.last.endswith(first):
            at = len(self.last) - len(first)
        if at >= 0:
            self.base = self.last[:at]
        elif "/" in path[2:] or "{" in path:
            pass
        else:  # a sibling of the last path's final segment: ``…/column`` after ``…/time``
            self.base = self.last.split("?", 1)[0].rsplit("/", 1)[0]
        return self.base + path[1:] if self.base else None


def _paths(
    cell: str, default_family: str, expand: _Relative | None = None
) -> list[tuple[str, str]]:
    """The (path, family) pairs of a table cell; a tag applies to the paths before it."""
    found: list[tuple[str, str]] = []
    pending: list[str] = []
    for m in _TOKEN.finditer(cell):
        if m.group(1) is not None:
            path = expand(m.group(1)) if expand else m.group(1)
            if path and path.startswith("/"):
                pending.append(path)
        else:
            found += [(p, m.group(2)) for p in pending]
            pending = []
    return found + [(p, default_family) for p in pending]


def _inline(section: str, line: str) -> list[Endpoint]:
    """Endpoints written ```METHOD /v3/…``` in prose or in a table without a method column
    (part 2's imports, shared tables, long tail)."""
    found = []
    for m in _INLINE.finditer(line):
        path = m.group(2).rstrip(".,;:")
        family = "live" if "[live" in line else ("ours" if "[ours" in line else "")
        found += [Endpoint(section, meth, path, family, True) for meth in m.group(1).split("/")]
    return found


def parse_spec(text: str, *, part2: bool = False) -> list[Endpoint]:
    """Endpoints of every table under ``## 5.``, in the spec's order; with ``part2``
    (``clay-v3-live.md``), of every table with a method and a path column, in any section."""
    endpoints: list[Endpoint] = []
    in_section5 = False
    section = ""
    header: list[str] = []
    expand = _Relative() if part2 else None
    for line in text.splitlines():
        if line.startswith("## "):
            in_section5 = line.startswith("## 5.") or part2
            if part2:
                section, header = "Part 2 §" + line[3:].strip(), []
            continue
        if not in_section5:
            continue
        if line.startswith("### "):
            section, header = ("Part 2 §" if part2 else "") + line[4:].strip(), []
            continue
        if not line.startswith("|"):
            header = []
            expand = _Relative() if part2 else None
            if part2:
                endpoints += _inline(section, line)
            continue
        cells = _cells(line)
        if not header:
            header = [c.lower() for c in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        row = dict(zip(header, cells, strict=False))
        if part2 and "method" not in row:
            endpoints += _inline(section, line)
            continue
        methods = [m for m in row.get("method", "").upper().split("/") if m in METHODS]
        for column, cell in row.items():
            if not column.startswith("path"):
                continue
            tag = re.search(r"\[(seed|live|ours)\]", column)
            for path, family in _paths(cell, tag.group(1) if tag else "", expand):
                endpoints += [Endpoint(section, m, path, family) for m in methods]
    return endpoints


# Endpoints the spec marks "nothing" offline: they stay 404 ``NoMatchingURL``.
NOTHING = frozenset({("POST", "/v3/{ws}/ai-generation/chat-conversation")})


def audit_calls(endpoints: Iterable[Endpoint]) -> dict[tuple[str, str], list[str]]:
    """The distinct endpoints ``tests/test_coverage.py`` calls over HTTP, (method, path as
    the spec writes it) → the concrete paths to try (``/views[/{gv}]`` is served when one
    of ``/views`` and ``/views/{gv}`` is), each with its query when the query names an id."""
    calls: dict[tuple[str, str], list[str]] = {}
    for ep in endpoints:
        query = ep.path.partition("?")[2]
        keep = "?" + query if "{" in query and "…" not in query else ""
        calls.setdefault((ep.method, ep.path), [v + keep for v in ep.variants()])
    return calls


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route in the app's OpenAPI document."""
    import tempfile

    from claystack.server.app import create_app
    from claystack.server.config import Settings

    with tempfile.TemporaryDirectory() as tmp:  # never connected to; routes only
        app = create_app(Settings(data_dir=Path(tmp), database_url=""))
        paths = app.openapi()["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method.upper() in METHODS
    }


def render(spec_text: str, routes: Iterable[tuple[str, str]], live_text: str | None = None) -> str:
    routes = set(routes)
    shapes = {(m, shape(p)) for m, p in routes}
    endpoints = parse_spec(spec_text)
    if live_text is not None:
        endpoints += parse_spec(live_text, part2=True)
    used: set[tuple[str, tuple[str, ...]]] = set()
    lines: list[str] = []
    done = {"seed": [0, 0], "live": [0, 0], "ours": [0, 0], "": [0, 0]}
    section = None
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for ep in endpoints:
        forms = {(ep.method, shape(v)) for v in ep.variants()}
        if ep.inline and forms & seen:
            continue  # already listed where the spec describes it
        seen |= forms
        keys = [k for v in ep.variants() for k in shapes if _serves(k, (ep.method, shape(v)))]
        hit = bool(keys)
        used.update(keys)
        done[ep.family][0] += hit
        done[ep.family][1] += 1
        if ep.section != section:
            section = ep.section
            lines += ["", f"## {section}", "", "| status | method | path | family |"]
            lines.append("|---|---|---|---|")
        status = "✅ implemented" if hit else "❌ missing"
        lines.append(f"| {status} | {ep.method} | `{ep.path}` | {ep.family or '—'} |")
    extra = sorted((p, m) for m, p in routes if (m, shape(p)) not in used)
    lines += ["", "## Our own endpoints", ""]
    lines += ["Routes the app serves that the spec's tables do not list.", ""]
    lines += ["| method | path |", "|---|---|"]
    lines += [f"| {m} | `{p}` |" for p, m in extra]
    total = sum(v[0] for v in done.values()), sum(v[1] for v in done.values())
    families = ", ".join(f"{f} {done[f][0]}/{done[f][1]}" for f in ("seed", "live", "ours"))
    audited = len([c for c in audit_calls(endpoints) if c not in NOTHING])
    head_audit = [
        "",
        f"**Audit: {audited} of {audited} spec endpoints answer over HTTP** "
        "(`tests/test_coverage.py::test_every_spec_endpoint_answers` calls each method and",
        "path of both parts on a seeded workspace: none is a 404 `NoMatchingURL`, a 405 or a",
        f'500; the {len(NOTHING)} the spec marks "nothing" stay 404 `NoMatchingURL`).',
    ]
    head = [
        "# Coverage of the Clay v3 API",
        "",
        "Generated by `python scripts/coverage.py` from the endpoint tables of section 5 of",
        "`docs/spec/clay-v3.md`, the endpoint tables of `docs/spec/clay-v3-live.md` (part 2)",
        "and the routes of `create_app()`; do not edit by hand",
        "(`tests/test_coverage.py` fails when this file is out of date).",
        "",
        f"**{total[0]} of {total[1]} spec endpoints implemented** ({families}).",
        *(head_audit if live_text is not None else []),
    ]
    return "\n".join(head + lines) + "\n"


def main() -> int:
    live = LIVE.read_text(encoding="utf-8") if LIVE.exists() else None
    text = render(SPEC.read_text(encoding="utf-8"), app_routes(), live)
    if "--check" in sys.argv[1:]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date; run python scripts/coverage.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
