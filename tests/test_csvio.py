"""claystack.csvio: encodings, delimiters, header and row checks, streaming."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from claystack.csvio import CsvError, CsvReport, infer_type, read_csv

ROWS = [
    {"Name": "Zoë Ångström", "City": "Malmö", "Note": "a, b; c"},
    {"Name": "José", "City": "São Paulo", "Note": 'say "hi"'},
]


def _write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _read(source: Any, **kwargs: Any) -> tuple[list[dict[str, str]], CsvReport]:
    with read_csv(source, **kwargs) as reader:
        return list(reader), reader.report


TEXT = 'Name,City,Note\r\nZoë Ångström,Malmö,"a, b; c"\r\nJosé,São Paulo,"say ""hi"""\r\n'


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),
        ("latin-1", None),
        ("cp1252", None),
    ],
)
def test_detects_the_encoding(tmp_path: Path, encoding: str, expected: str | None) -> None:
    path = _write(tmp_path / "f.csv", TEXT, encoding)
    rows, report = _read(path)
    assert rows == ROWS
    if expected is not None:
        assert report.encoding == expected
    assert report.columns == ["Name", "City", "Note"]
    assert report.rows == 2


def test_utf16_big_endian_without_a_bom_needs_the_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path / "f.csv", TEXT, "utf-16-be")
    rows, report = _read(path, encoding="utf-16-be")
    assert rows == ROWS and report.encoding == "utf-16-be"


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_detects_the_delimiter(tmp_path: Path, delimiter: str) -> None:
    text = (
        f"Name{delimiter}City{delimiter}Note\n"
        f'Zoë Ångström{delimiter}Malmö{delimiter}"a, b; c"\n'
        f'José{delimiter}São Paulo{delimiter}"say ""hi"""\n'
    )
    rows, report = _read(_write(tmp_path / "f.csv", text, "utf-8"))
    assert rows == ROWS
    assert report.delimiter == delimiter


def test_single_column_and_free_text(tmp_path: Path) -> None:
    text = 'Comment\nHello there; how are you\n"Fine, thanks"\n'
    rows, report = _read(_write(tmp_path / "f.csv", text, "utf-8"))
    assert report.columns == ["Comment"] and report.delimiter == ","
    assert rows == [{"Comment": "Hello there; how are you"}, {"Comment": "Fine, thanks"}]


def test_overrides(tmp_path: Path) -> None:
    text = "a;b\n1;2\n"
    rows, _ = _read(_write(tmp_path / "f.csv", text, "latin-1"), delimiter=",")
    assert rows == [{"a;b": "1;2"}]
    rows, _ = _read(_write(tmp_path / "g.tsv", "a\tb\n1\t2\n", "utf-8"), delimiter="\\t")
    assert rows == [{"a": "1", "b": "2"}]
    with pytest.raises(CsvError, match="unknown encoding 'nope'"):
        read_csv(tmp_path / "f.csv", encoding="nope")
    with pytest.raises(CsvError, match="one character"):
        read_csv(tmp_path / "f.csv", delimiter=";;")


def test_duplicate_and_empty_headers_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CsvError) as dup:
        read_csv(_write(tmp_path / "d.csv", "Email,Name,Email\nx,y,z\n", "utf-8"))
    assert str(dup.value) == "line 1: the header names 'Email' twice (columns 1 and 3)"
    with pytest.raises(CsvError) as empty:
        read_csv(_write(tmp_path / "e.csv", "\n\nName,,Email\nx,y,z\n", "utf-8"))
    assert str(empty.value) == "line 3: column 2 of the header has no name"


def test_ragged_rows_are_refused_with_their_line(tmp_path: Path) -> None:
    text = 'a,b\n1,2\n"multi\nline",3\n\n4\n5,6,7\n8,9\n'
    path = _write(tmp_path / "r.csv", text, "utf-8")
    with read_csv(path) as reader, pytest.raises(CsvError) as bad:
        list(reader)
    assert bad.value.line == 6
    assert "1 cells, the header has 2" in str(bad.value) and "--skip-bad-rows" in str(bad.value)


def test_skip_bad_rows_reports_them(tmp_path: Path) -> None:
    text = 'a,b\n1,2\n"multi\nline",3\n\n4\n5,6,7\n8,9\n'
    rows, report = _read(_write(tmp_path / "r.csv", text, "utf-8"), skip_bad_rows=True)
    assert rows == [{"a": "1", "b": "2"}, {"a": "multi\nline", "b": "3"}, {"a": "8", "b": "9"}]
    assert [(b.line, b.reason) for b in report.bad_rows] == [
        (6, "1 cells, the header has 2"),
        (7, "3 cells, the header has 2"),
    ]
    assert report.skipped == 2 and report.rows == 3


def test_unparseable_row(tmp_path: Path) -> None:
    text = 'a,b\n1,"2"x\n3,4\n'
    with pytest.raises(CsvError, match="^line 2: unreadable row"):
        _read(_write(tmp_path / "q.csv", text, "utf-8"))
    rows, report = _read(_write(tmp_path / "q.csv", text, "utf-8"), skip_bad_rows=True)
    assert rows == [{"a": "3", "b": "4"}] and report.skipped == 1


def test_no_header(tmp_path: Path) -> None:
    rows, report = _read(_write(tmp_path / "n.csv", "1;2\n3;4\n", "utf-8"), has_header=False)
    assert report.columns == ["column_1", "column_2"]
    assert rows == [{"column_1": "1", "column_2": "2"}, {"column_1": "3", "column_2": "4"}]


def test_empty_file(tmp_path: Path) -> None:
    rows, report = _read(_write(tmp_path / "x.csv", "", "utf-8"))
    assert rows == [] and report.columns == []


def test_late_bytes_in_another_encoding_name_their_line(tmp_path: Path) -> None:
    # 300 KiB of ASCII looks like UTF-8; a Latin-1 byte after the detection sample is an
    # error naming its exact line, not garbage.
    lines = ["name"] + [f"row{i:06d}" for i in range(30_000)] + ["Malm\xf6"]
    path = tmp_path / "late.csv"
    path.write_bytes("\n".join(lines).encode("latin-1") + b"\n")
    with read_csv(path) as reader, pytest.raises(CsvError) as bad:
        list(reader)
    assert bad.value.line == 30_002 and "--encoding" in str(bad.value)
    rows, _ = _read(path, encoding="latin-1")
    assert rows[-1] == {"name": "Malmö"}


def test_streams_and_text_streams() -> None:
    rows, report = _read(io.BytesIO(TEXT.encode("cp1252")))
    assert rows == ROWS
    rows, report = _read(io.StringIO(TEXT.replace(",", ";").replace('"a; b; c"', '"a, b; c"')))
    assert rows == ROWS and report.delimiter == ";"


def test_a_large_file_is_not_held_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    # Wide rows: the file is large, yet tracemalloc (slow per allocation) sees few rows.
    note = "x" * 300
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,name,email\n")
        for i in range(10_000):
            f.write(f"{i},name {i} {note},user{i}@example.com\n")
    assert path.stat().st_size > 3_000_000
    tracemalloc.start()
    try:
        count = 0
        with read_csv(path) as reader:
            for row in reader:
                count += 1
                last = row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 10_000 and last["email"] == "user9999@example.com"
    assert peak < 2_000_000, peak


def test_the_file_is_closed(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.csv", "a\n1\n", "utf-8")
    reader = read_csv(path)
    assert list(reader) == [{"a": "1"}]
    assert reader._owns is None  # closed at the end of iteration
    with pytest.raises(CsvError, match="no such file"):
        read_csv(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "2.5", "-3e2", ""], "number"),
        (["true", "No", " "], "boolean"),
        (["2024-01-02", "2024-01-02T03:04:05Z"], "date"),
        (["a@b.co", "c.d@e.org"], "email"),
        (["https://x.io/a", "http://y.org"], "url"),
        (["1", "x"], "text"),
        (["", ""], "text"),
    ],
)
def test_infer_type(values: list[str], expected: str) -> None:
    assert infer_type(values) == expected
