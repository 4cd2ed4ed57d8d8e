"""The import job's CSV reader: encoding (byte-order mark, UTF-8, else Windows-1252 /
Latin-1), delimiter sniffing, header checks, and malformed rows reported by line."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

_SAMPLE = 256 * 1024
_DELIMITERS = ",;\t|"
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class CsvError(ValueError):
    """A CSV that cannot be read."""


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


def _encoding(sample: bytes) -> str:
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if sample[:4096].count(b"\x00") > len(sample[:4096]) // 4:
        return "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A sample cut inside a multi-byte character is still UTF-8.
        if exc.start >= len(sample) - 3 and len(sample) >= _SAMPLE:
            return "utf-8"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


class CsvReader:
    """Data rows as ``{column: value}``; rows whose cell count differs from the header's
    are left out and listed in ``bad_rows``."""

    def __init__(self, fh: IO[str], delimiter: str, has_header: bool) -> None:
        self._fh = fh
        self.bad_rows: list[BadRow] = []
        self._reader = csv.reader(fh, delimiter=delimiter, strict=True)
        self._first: list[str] | None = None
        first = self._next()
        if first is None:
            self.columns: list[str] = []
        elif has_header:
            self.columns = self._header(first)
        else:
            self.columns = [f"column_{i}" for i in range(1, len(first) + 1)]
            self._first = first

    def _header(self, row: list[str]) -> list[str]:
        names = [c.strip() for c in row]
        if any(not n for n in names):
            raise CsvError("line 1: the header has an empty column name")
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise CsvError(f'line 1: the header names "{dup}" twice')
        return names

    def _next(self) -> list[str] | None:
        while True:
            try:
                row = next(self._reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                self.bad_rows.append(BadRow(self._reader.line_num, str(exc)))
                continue
            if any(cell.strip() for cell in row):
                return row

    def __iter__(self) -> Iterator[dict[str, str]]:
        width = len(self.columns)
        if not width:
            return
        if self._first is not None:
            first, self._first = self._first, None
            yield dict(zip(self.columns, first, strict=True))
        while (row := self._next()) is not None:
            if len(row) != width:
                self.bad_rows.append(
                    BadRow(self._reader.line_num, f"{len(row)} cells, the header has {width}")
                )
                continue
            yield dict(zip(self.columns, row, strict=True))

    def __enter__(self) -> CsvReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._fh.close()


def open_csv(path: Path, *, delimiter: str | None = None, has_header: Any = True) -> CsvReader:
    """Opens a CSV file for streaming, detecting what is not given."""
    if delimiter in ("\\t", "tab", "TAB"):
        delimiter = "\t"
    with open(path, "rb") as raw:
        sample = raw.read(_SAMPLE)
    encoding = _encoding(sample)
    fh = open(path, encoding=encoding, newline="", errors="replace")  # noqa: SIM115
    try:
        if delimiter is None:
            delimiter = _delimiter(sample.decode(encoding, errors="ignore"))
        return CsvReader(fh, delimiter, has_header is not False)
    except BaseException:
        fh.close()
        raise
