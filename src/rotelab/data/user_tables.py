"""A user's own table (TSV, JSONL or Parquet) read as text columns, strictly.

Every error names the file and the 1-based line (TSV, JSONL) or data row (Parquet) it found,
before any model sees the data. The rules, the same for every format:

- the file is UTF-8; a byte-order mark at its start is dropped; any other undecodable byte is
  an error;
- a value is non-empty text: no null, no number, no NUL character, at most ``MAX_CHARS``
  characters (a longer one is almost always a file read with the wrong separator);
- values are kept as written: "NA", "None" or "null" are text (sodium is "Na");
- TSV: the first line is a header when it holds the column names, in any order (extra columns
  allowed); a table that makes the header optional reads a first line without the names as
  data, in the columns' order; every line has the header's number of fields; blank lines are
  skipped.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd

FILE_FORMATS = ("tsv", "jsonl", "parquet")
MAX_CHARS = 100_000


class CorpusError(ValueError):
    """A data file or row that cannot be read; the message names the file and line."""


def read_user_table(path: str | Path, kind: str, columns: list[str], header_optional: bool = False) -> pd.DataFrame:
    """The ``columns`` of the user table at ``path`` (format ``kind``) as text, in file order."""
    file = Path(path)
    if not file.is_file():
        raise CorpusError(f"file {path} does not exist")
    if kind == "tsv":
        rows = _tsv_rows(file, columns, header_optional)
    elif kind == "jsonl":
        rows = _jsonl_rows(file, columns)
    elif kind == "parquet":
        rows = _parquet_rows(file, columns)
    else:
        raise CorpusError(f"{file}: unknown table format {kind!r}; one of {', '.join(FILE_FORMATS)}")
    return pd.DataFrame(rows, columns=columns, dtype=object)


def text_value(value, where: str, column: str) -> str:
    """``value`` if it is usable text, else an error naming ``where`` and the column."""
    if not isinstance(value, str):
        raise CorpusError(f"{where}: column {column!r} must be text, got {value!r}")
    if not value.strip():
        raise CorpusError(f"{where}: column {column!r} is empty")
    if "\0" in value:
        raise CorpusError(f"{where}: column {column!r} holds a NUL character")
    if len(value) > MAX_CHARS:
        raise CorpusError(
            f"{where}: column {column!r} holds {len(value):,} characters, more than the {MAX_CHARS:,} allowed"
        )
    return value


def _lines(file: Path):
    """(line number, text) of every non-blank line, decoded as UTF-8 one line at a time so
    that an encoding error names its line; a BOM at the start is dropped."""
    with open(file, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise CorpusError(
                    f"{file}, line {number}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                ) from None
            if line.strip():
                yield number, line


def _tsv_rows(file: Path, columns: list[str], header_optional: bool):
    lines = _lines(file)
    first = next(lines, None)
    if first is None:
        return []
    number, line = first
    fields = line.split("\t")
    rows = []
    if set(columns) <= set(fields):
        positions = [fields.index(c) for c in columns]
        width = len(fields)
    elif header_optional:
        positions, width = list(range(len(columns))), len(columns)
        lines = itertools.chain([first], lines)  # the first line is data
    else:
        missing = [c for c in columns if c not in fields]
        raise CorpusError(
            f"{file}, line {number}: missing column(s) {', '.join(missing)} in the header (the first line "
            f"names the columns, tab-separated, in any order); found {fields[:6]}"
        )
    for number, line in lines:
        fields = line.split("\t")
        if len(fields) != width:
            raise CorpusError(f"{file}, line {number}: {len(fields)} tab-separated fields, expected {width}")
        where = f"{file}, line {number}"
        rows.append([text_value(fields[p], where, c) for p, c in zip(positions, columns)])
    return rows


def _jsonl_rows(file: Path, columns: list[str]):
    rows = []
    for number, line in _lines(file):
        where = f"{file}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise CorpusError(f"{where}: expected a JSON object with keys {', '.join(columns)}")
        missing = [c for c in columns if c not in record]
        if missing:
            raise CorpusError(f"{where}: missing key(s) {', '.join(missing)}")
        rows.append([text_value(record[c], where, c) for c in columns])
    return rows


def _parquet_rows(file: Path, columns: list[str]):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(file)
    except (pa.ArrowException, OSError) as exc:
        raise CorpusError(f"{file}: not a readable Parquet file ({exc})") from None
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise CorpusError(f"{file}: missing column(s) {', '.join(missing)}")
    try:
        values = [table.column(c).to_pylist() for c in columns]
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{file}: a text column is not UTF-8 ({exc.reason})") from None
    return [
        [text_value(value, f"{file}, row {row}", c) for value, c in zip(record, columns)]
        for row, record in enumerate(zip(*values), start=1)
    ]
