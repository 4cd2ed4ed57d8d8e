from __future__ import annotations

import threading
from typing import Any

import pytest

from claystack.server.enrichment import formulas
from claystack.server.enrichment.formulas import FormulaError, evaluate, evaluate_many


@pytest.mark.parametrize(
    ("text", "cells", "expected"),
    [
        ("{{f_a}} + {{f_b}} * 2", {"f_a": 1, "f_b": 2.5}, 6),
        ("({{f_a}} - 1) / 4", {"f_a": 9}, 2),
        ('{{f_a}} + " " + {{f_b}}', {"f_a": "Ada", "f_b": "Lovelace"}, "Ada Lovelace"),
        ("{{f_x}}.toUpperCase()", {"f_x": "acme"}, "ACME"),
        ("`${{{f_x}}}!`", {"f_x": "hi"}, "hi!"),
        ("{{f_src}}?.email", {"f_src": {"email": "a@b.co"}}, "a@b.co"),
        ("{{f_src}}?.email", {"f_src": None}, None),
        ("{{f_src}}?.email", {}, None),
        ("{{f_src}}?.a?.b ?? 'none'", {"f_src": {"a": None}}, "none"),
        ("{{ f_a }}.length > 3 ? 'long' : 'short'", {"f_a": "abcd"}, "long"),
        ("{{f_list}}.map(x => x * 2)", {"f_list": [1, 2]}, [2, 4]),
        ("({n: {{f_a}}, d: new Date(0)})", {"f_a": 1}, {"n": 1, "d": "1970-01-01T00:00:00.000Z"}),
        ("const x = {{f_a}}; return x * 2", {"f_a": 21}, 42),
        ("undefined", {}, None),
        ("0 / 0", {}, None),
        ("true && {{f_a}}", {"f_a": False}, False),
    ],
)
def test_evaluate(text: str, cells: dict[str, Any], expected: Any) -> None:
    assert evaluate(text, cells) == expected


def test_render_plain_template() -> None:
    cells = {"f_a": "Acme", "f_n": 3, "f_o": {"x": True}, "f_b": None}
    text = "About {{f_a}} ({{ f_n }}): {{f_o}} {{f_b}}{{f_missing}}."
    assert formulas.render(text, cells) == 'About Acme (3): {"x":true} .'


def test_references_and_blanks() -> None:
    text = "{{f_a}} + {{ f_b }} + {{f_a}} + {{f_c}}"
    assert formulas.references(text) == ["f_a", "f_b", "f_c"]
    assert formulas.references("no refs") == []
    for blank in (None, "", "   ", [], {}):
        assert formulas.is_blank(blank)
    for value in (0, False, "x", [0], {"a": 1}):
        assert not formulas.is_blank(value)
    cells = {"f_a": "x", "f_b": " "}
    assert formulas.blank_references(text, cells) == ["f_b", "f_c"]


@pytest.mark.parametrize(
    ("text", "kind", "fragment"),
    [
        ("1 +", "syntax", "SyntaxError"),
        ("", "syntax", "empty"),
        ("{{f_a}}.x.y", "runtime", "TypeError"),
        ("throw 'boom'", "runtime", "boom"),
        ("notDefined + 1", "runtime", "ReferenceError"),
        ("function r() { return r() + 1 }; return r()", "runtime", "stack overflow"),
        ("10n", "runtime", "bigint"),
    ],
)
def test_errors(text: str, kind: str, fragment: str) -> None:
    with pytest.raises(FormulaError) as info:
        evaluate(text, {"f_a": {}})
    assert info.value.kind == kind
    assert fragment in info.value.message
    assert "\n" not in info.value.message


def test_infinite_loop_hits_time_limit() -> None:
    with pytest.raises(FormulaError) as info:
        evaluate("while (true) {}", {}, time_limit=0.05)
    assert info.value.kind == "timeout"
    assert evaluate("1 + 1", {}) == 2


@pytest.mark.parametrize("text", ["'x'.repeat(1e9)", "new Array(1e9).fill(0)"])
def test_huge_allocation_hits_memory_limit(text: str) -> None:
    with pytest.raises(FormulaError) as info:
        evaluate(text, {})
    assert info.value.kind == "memory"
    assert evaluate("'still ' + 'fine'", {}) == "still fine"


@pytest.mark.parametrize(
    "name", ["require", "fetch", "std", "os", "process", "XMLHttpRequest", "print", "console"]
)
def test_no_host_access(name: str) -> None:
    assert evaluate(f"typeof {name}", {}) == "undefined"


def test_no_module_loader() -> None:
    probe = "(() => { let r = 'pending'; import('os').then(() => { r = 'loaded' }); return r })()"
    assert evaluate(probe, {}) == "pending"


def test_formulas_cannot_affect_each_other() -> None:
    evaluate("String.prototype.toUpperCase = () => 'hacked'; return 1", {})
    evaluate("Object.prototype.polluted = 1; globalThis.leak = 2; leak2 = 3; return 1", {})
    assert evaluate("'a'.toUpperCase()", {}) == "A"
    assert evaluate("[({}).polluted, typeof leak, typeof leak2]", {}) == [
        None,
        "undefined",
        "undefined",
    ]


def test_evaluate_many() -> None:
    rows = [{"f_a": i} for i in range(5000)] + [{}]
    out = evaluate_many("{{f_a}} * 2", rows)
    assert out[:3] == [0, 2, 4] and out[4999] == 9998 and out[5000] is None

    out = evaluate_many("{{f_a}}.x.y", [{"f_a": {"x": {"y": 1}}}, {"f_a": {}}])
    assert out[0] == 1
    assert isinstance(out[1], FormulaError) and out[1].kind == "runtime"

    out = evaluate_many("1 +", [{}, {}])
    assert all(isinstance(v, FormulaError) and v.kind == "syntax" for v in out)
    assert evaluate_many("{{f_a}}", []) == []


def test_evaluate_many_isolates_slow_and_huge_rows() -> None:
    rows = [{"f_a": i} for i in range(6)]
    text = (
        "{{f_a}} === 2 ? (() => { while (true) {} })() : {{f_a}} === 4 ? 'x'.repeat(1e9) : {{f_a}}"
    )
    out = evaluate_many(text, rows, time_limit=0.05)
    assert [v for i, v in enumerate(out) if i not in (2, 4)] == [0, 1, 3, 5]
    assert isinstance(out[2], FormulaError) and out[2].kind == "timeout"
    assert isinstance(out[4], FormulaError) and out[4].kind == "memory"


def test_evaluate_many_gives_up_after_repeated_timeouts() -> None:
    out = evaluate_many("while (true) {}", [{}] * 10, time_limit=0.02)
    assert len(out) == 10
    assert all(isinstance(v, FormulaError) and v.kind == "timeout" for v in out)
    assert "skipped" in out[-1].message


def test_threads_each_get_their_own_runtime() -> None:
    results: list[Any] = []

    def work(n: int) -> None:
        results.append(evaluate_many("{{f_a}} + 1", [{"f_a": n}] * 200))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r[0] for r in results) == [1, 2, 3, 4]
