"""COVERAGE.md is generated from the spec and the app's routes, and cannot drift."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "claystack_coverage", ROOT / "scripts" / "coverage.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_coverage_md_is_current() -> None:
    gen = generator()
    expected = gen.render(
        gen.SPEC.read_text(encoding="utf-8"),
        gen.app_routes(),
        gen.LIVE.read_text(encoding="utf-8"),
    )
    current = (ROOT / "COVERAGE.md").read_text(encoding="utf-8")
    assert current == expected, "COVERAGE.md is out of date: run `python scripts/coverage.py`"


def test_every_foundation_endpoint_is_implemented() -> None:
    text = (ROOT / "COVERAGE.md").read_text(encoding="utf-8")
    sections = text.split("\n## ")
    for name in (
        "Auth and identity",
        "Workspaces, folders, resources, workbooks",
        "Tables, fields, views",
        "Records",
    ):
        [body] = [s for s in sections if s.startswith(name + "\n")]
        rows = [line for line in body.splitlines() if line.startswith("| ✅") or "❌" in line]
        assert len(rows) >= 3 and all("✅" in r for r in rows), name


SAMPLE = """
## 4. Before
| method | path | body |
|---|---|---|
| GET | `/v3/ignored` [seed] | |

## 5. Endpoints

### Things
| method | path | body → response |
|---|---|---|
| GET | `/v3/a/{x}` [seed] | text with `code` and [live] |
| PATCH/DELETE | `/v3/b/{id}/c` [live] | |
| GET | `/v3/d`, `/v3/e/{y}` [live] | |
| POST/PATCH | `/v3/f/{t}/views[/{gv}]` [live] | |
| GET | `/v3/g/{t}` [seed] and `/v3/g?tableId={t}` [live] | |
| POST | `/v3/hook/{slug}-{uuid}` [live] | |

### Other
| method | path [seed] | path [live] | response |
|---|---|---|---|
| GET | `/v3/h` | `/v3/i/{ws}/j?x[0]=1` | |
| GET | `/v3/k` | prose only, `not_a_path` | |

## 6. After
| GET | `/v3/also/ignored` | |
"""


def test_parser_and_matching() -> None:
    gen = generator()
    found = [(e.section, e.method, e.path, e.family) for e in gen.parse_spec(SAMPLE)]
    assert found == [
        ("Things", "GET", "/v3/a/{x}", "seed"),
        ("Things", "PATCH", "/v3/b/{id}/c", "live"),
        ("Things", "DELETE", "/v3/b/{id}/c", "live"),
        ("Things", "GET", "/v3/d", "live"),
        ("Things", "GET", "/v3/e/{y}", "live"),
        ("Things", "POST", "/v3/f/{t}/views[/{gv}]", "live"),
        ("Things", "PATCH", "/v3/f/{t}/views[/{gv}]", "live"),
        ("Things", "GET", "/v3/g/{t}", "seed"),
        ("Things", "GET", "/v3/g?tableId={t}", "live"),
        ("Things", "POST", "/v3/hook/{slug}-{uuid}", "live"),
        ("Other", "GET", "/v3/h", "seed"),
        ("Other", "GET", "/v3/i/{ws}/j?x[0]=1", "live"),
        ("Other", "GET", "/v3/k", "seed"),
    ]
    routes = {
        ("GET", "/v3/a/{anything}"),
        ("DELETE", "/v3/b/{bId}/c/"),
        ("PATCH", "/v3/f/{tableId}/views/{viewId}"),
        ("GET", "/v3/g"),
        ("POST", "/v3/hook/{hook}"),
        ("GET", "/v3/i/{workspaceId}/j"),
        ("GET", "/_ours/health"),
    }
    text = gen.render(SAMPLE, routes)
    status = {
        line.split("|")[2].strip() + " " + line.split("|")[3].strip(): "✅" in line
        for line in text.splitlines()
        if line.startswith("| ✅") or line.startswith("| ❌")
    }
    assert status == {
        "GET `/v3/a/{x}`": True,
        "PATCH `/v3/b/{id}/c`": False,
        "DELETE `/v3/b/{id}/c`": True,
        "GET `/v3/d`": False,
        "GET `/v3/e/{y}`": False,
        "POST `/v3/f/{t}/views[/{gv}]`": False,
        "PATCH `/v3/f/{t}/views[/{gv}]`": True,
        "GET `/v3/g/{t}`": False,
        "GET `/v3/g?tableId={t}`": True,
        "POST `/v3/hook/{slug}-{uuid}`": True,
        "GET `/v3/h`": False,
        "GET `/v3/i/{ws}/j?x[0]=1`": True,
        "GET `/v3/k`": False,
    }
    assert "**6 of 13 spec endpoints implemented** (seed 1/4, live 5/9, ours 0/0)" in text
    own = text.split("## Our own endpoints")[1]
    assert "| GET | `/_ours/health` |" in own and "/v3/a/" not in own
