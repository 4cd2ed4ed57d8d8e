"""Reading CSV files people actually have: any common encoding, any common delimiter,
streamed row by row, with every malformed row either refused or reported by line number.

    with read_csv("leads.csv") as rows:
        for row in rows:            # {"Name": "Ada", "Email": "ada@example.com"}
            ...
    rows.report                     # encoding, delimiter, columns, row count, bad rows

Used by ``claystack import`` and by the server's import job.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

__all__ = [
    "BadRow",
    "CsvError",
    "CsvReader",
    "CsvReport",
    "infer_type",
    "read_csv",
]

SAMPLE_BYTES = 256 * 1024
DELIMITERS = ",;\t|"
SNIFF_LINES = 200  # lines of the sample the delimiter is guessed from
MAX_REPORTED_BAD_ROWS = 1000

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class CsvError(ValueError):
    """A CSV that cannot be read as asked; ``line`` is the 1-based line it starts on, if any."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
        self.reason = message


@dataclass(frozen=True)
class BadRow:
    """A row left out with ``skip_bad_rows=True``: where it starts and why."""

    line: int
    reason: str


@dataclass
class CsvReport:
    """What was read: the detected (or given) encoding and delimiter, the column names, the
    number of rows yielded so far and the rows skipped (the first 1,000 are kept in
    ``bad_rows``; ``skipped`` counts all of them)."""

    encoding: str
    delimiter: str
    columns: list[str]
    rows: int = 0
    skipped: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)


class CsvReader:
    """Iterates a CSV's data rows as ``{column: value}`` dicts (values are strings).

    Blank lines are ignored. A row with more or fewer cells than the header, or one the
    csv module cannot parse, raises :class:`CsvError` naming its line, or with
    ``skip_bad_rows=True`` is left out and recorded in :attr:`report`. Close it (or use it
    as a context manager) when done; a path opened here is closed at the end of iteration.
    """

    def __init__(
        self,
        text: Iterable[str],
        *,
        encoding: str,
        delimiter: str,
        has_header: bool,
        skip_bad_rows: bool,
        owns: IO[Any] | None,
    ) -> None:
        self._text = text
        self._owns = owns
        self._skip = skip_bad_rows
        self._encoding = encoding
        self._reader = csv.reader(self._checked(text), delimiter=delimiter, strict=True)
        self._first: list[str] | None = None
        self._first_line = 0
        self._line = 0  # the last physical line read
        try:
            columns = self._read_header(has_header)
        except BaseException:
            self.close()
            raise
        self.columns = columns
        self.report = CsvReport(encoding=encoding, delimiter=delimiter, columns=list(columns))

    def _read_header(self, has_header: bool) -> list[str]:
        first = self._next_nonblank()
        if first is None:
            return []
        if has_header:
            return _check_header(first[1], first[0])
        self._first_line, self._first = first
        return [f"column_{i}" for i in range(1, len(first[1]) + 1)]

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
        if self._owns is not None:
            self._owns.close()
            self._owns = None

    def __iter__(self) -> Iterator[dict[str, str]]:
        try:
            if not self.columns:
                return
            if self._first is not None:
                row, self._first = self._first, None
                yield self._row(self._first_line, row)
            while True:
                got = self._next_nonblank()
                if got is None:
                    return
                start, row = got
                if len(row) != len(self.columns):
                    self._bad(start, f"{len(row)} cells, the header has {len(self.columns)}")
                    continue
                yield self._row(start, row)
        finally:
            self.close()

    def _row(self, start: int, row: list[str]) -> dict[str, str]:
        self.report.rows += 1
        return dict(zip(self.columns, row, strict=True))

    def _bad(self, line: int, reason: str) -> None:
        if not self._skip:
            raise CsvError(f"{reason} (fix the file, or skip such rows with --skip-bad-rows)", line)
        self.report.skipped += 1
        if len(self.report.bad_rows) < MAX_REPORTED_BAD_ROWS:
            self.report.bad_rows.append(BadRow(line, reason))

    def _checked(self, lines: Iterable[str]) -> Iterator[str]:
        # Undecodable bytes arrive as lone surrogates (surrogateescape), so the error can
        # name its line; a strict decoder would fail a whole 8 KiB chunk earlier.
        number = 0
        for line in lines:
            number += line.count("\n") or 1
            if _UNDECODED.search(line):
                raise CsvError(
                    f"not valid {self._encoding} text; give the file's encoding "
                    "(--encoding, e.g. latin-1, cp1252 or utf-16)",
                    number,
                )
            yield line

    def _next_nonblank(self) -> tuple[int, list[str]] | None:
        while True:
            start = self._line + 1
            try:
                row = next(self._reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                self._line = self._reader.line_num
                self._bad(start, f"unreadable row: {exc}")
                # The reader may be stuck mid-field; it resumes at the next line.
                continue
            self._line = self._reader.line_num
            if row and any(cell.strip() for cell in row):
                return start, row


def read_csv(
    source: str | os.PathLike[str] | IO[bytes] | IO[str],
    encoding: str | None = None,
    delimiter: str | None = None,
    has_header: bool = True,
    skip_bad_rows: bool = False,
) -> CsvReader:
    """Opens a CSV for streaming: a path, a binary stream or a text stream.

    ``encoding`` defaults to detection: a byte-order mark, else UTF-8 when the first
    256 KiB decode as UTF-8, else the best guess of charset-normalizer. ``delimiter``
    defaults to detection among ``, ; TAB |``. With ``has_header=False`` columns are named
    ``column_1``, ``column_2``…. Header problems (an empty or duplicate name) always raise
    :class:`CsvError`; malformed rows raise it unless ``skip_bad_rows``.
    """
    if delimiter is not None and len(delimiter) != 1:
        if delimiter in ("\\t", "tab", "TAB"):
            delimiter = "\t"
        else:
            raise CsvError(f"the delimiter must be one character, not {delimiter!r}")
    owns: IO[Any] | None = None
    if isinstance(source, str | os.PathLike):
        try:
            binary: IO[bytes] = open(source, "rb")  # closed by CsvReader
        except FileNotFoundError:
            raise CsvError(f"no such file: {os.fspath(source)}") from None
        owns = binary
    elif isinstance(source, io.TextIOBase):
        lines: list[str] = []
        size = 0
        while size < SAMPLE_BYTES:
            line = source.readline()
            if not line:
                break
            lines.append(line)
            size += len(line)
        sample_text = "".join(lines)
        return CsvReader(
            itertools.chain(lines, source),
            encoding=encoding or getattr(source, "encoding", None) or "utf-8",
            delimiter=delimiter or _sniff_delimiter(sample_text),
            has_header=has_header,
            skip_bad_rows=skip_bad_rows,
            owns=None,
        )
    else:
        binary = source  # type: ignore[assignment]
    try:
        sample = binary.read(SAMPLE_BYTES)
        if encoding is None:
            encoding = detect_encoding(sample, complete=len(sample) < SAMPLE_BYTES)
        else:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise CsvError(f"unknown encoding {encoding!r}") from None
        raw = _PrefixedRaw(sample, binary)
        text = io.TextIOWrapper(
            io.BufferedReader(raw, 1 << 16), encoding=encoding, errors="surrogateescape", newline=""
        )
        if delimiter is None:
            delimiter = _sniff_delimiter(_decode_sample(sample, encoding))
    except BaseException:
        if owns is not None:
            owns.close()
        raise
    return CsvReader(
        text,
        encoding=encoding,
        delimiter=delimiter,
        has_header=has_header,
        skip_bad_rows=skip_bad_rows,
        owns=owns or None,
    )


def detect_encoding(sample: bytes, complete: bool = False) -> str:
    """The encoding of a file that starts with ``sample`` (all of it when ``complete``)."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is None or best.encoding in ("ascii", "utf_8"):
        return "cp1252"  # bytes no detector can place: the usual spreadsheet export
    # A short sample fits several code pages equally well; the spreadsheet default wins ties.
    tied = {m.encoding for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence}
    return "cp1252" if "cp1252" in tied else str(best.encoding)


def _decode_sample(sample: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)


def _sniff_delimiter(sample: str) -> str:
    # Only whole lines: a cut-off last line would skew the counts.
    cut = max(sample.rfind("\n"), sample.rfind("\r"))
    text = sample[:cut] if cut > 0 else sample
    head = re.split(r"\r\n|\r|\n", text)[:SNIFF_LINES]
    try:
        # The sniffer's work grows with its text times the characters it tries: on 256 KiB
        # of one column it took seconds. The first lines decide as well.
        found = csv.Sniffer().sniff("\n".join(head), delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = None
    lines = [line for line in head if line.strip()][:50]
    if not lines:
        return ","
    if found is not None and _columns(lines, found) > 1:
        return found
    # The sniffer gives up on files with free text; take the delimiter that splits the header.
    best = max(DELIMITERS, key=lambda d: _columns(lines[:1], d))
    return best if _columns(lines[:1], best) > 1 else ","


def _columns(lines: list[str], delimiter: str) -> int:
    try:
        counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
    except csv.Error:
        return 0
    return min(counts) if counts else 0


def _check_header(row: list[str], line: int) -> list[str]:
    names = [cell.strip() for cell in row]
    seen: dict[str, int] = {}
    for number, name in enumerate(names, 1):
        if not name:
            raise CsvError(f"column {number} of the header has no name", line)
        if name in seen:
            raise CsvError(
                f"the header names {name!r} twice (columns {seen[name]} and {number})", line
            )
        seen[name] = number
    return names


_UNDECODED = re.compile("[\udc80-\udcff]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_BOOLEAN = frozenset({"true", "false", "yes", "no"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


def infer_type(values: Iterable[str]) -> str:
    """The narrowest claystack field type every non-blank value fits: ``number``,
    ``boolean``, ``date``, ``email``, ``url``, else ``text`` (also when all are blank)."""
    candidates = {"number", "boolean", "date", "email", "url"}
    seen = False
    for value in values:
        value = value.strip()
        if not value:
            continue
        seen = True
        if "number" in candidates and not _NUMBER.match(value):
            candidates.discard("number")
        if "boolean" in candidates and value.lower() not in _BOOLEAN:
            candidates.discard("boolean")
        if "date" in candidates and not _DATE.match(value):
            candidates.discard("date")
        if "email" in candidates and not _EMAIL.match(value):
            candidates.discard("email")
        if "url" in candidates and not _URL.match(value):
            candidates.discard("url")
        if not candidates:
            return "text"
    if not seen:
        return "text"
    for name in ("number", "boolean", "date", "email", "url"):
        if name in candidates:
            return name
    return "text"


class _PrefixedRaw(io.RawIOBase):
    """The bytes already read for detection, then the rest of the stream."""

    def __init__(self, prefix: bytes, rest: IO[bytes]) -> None:
        self._prefix = memoryview(prefix)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._rest.read(len(view))
        if not data:
            return 0
        view[: len(data)] = data
        return len(data)
