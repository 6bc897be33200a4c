"""Reading delivered files into string tables, with structural problems sent to quarantine.

Every table that leaves here has only String columns plus ``_row`` (1 = the first data row after the header), so
that validation reports positions the way a person finds them in the file. A row that cannot be read at all
(wrong number of fields, bytes that are not UTF-8) becomes a ``Problem`` instead of being dropped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import polars.selectors as cs

__all__ = ["Problem", "RawTable", "read_file", "UnreadableFile"]

ROW = "_row"
_DELIMITERS = (";", ",", "\t")


class UnreadableFile(ValueError):
    """The file as a whole cannot be read (unknown extension, corrupt workbook)."""


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str | None
    value: str | None
    reason: str

    def as_dict(self) -> dict:
        return {"row_number": self.row, "column_name": self.column, "value": self.value, "reason": self.reason}


@dataclass
class RawTable:
    """One table of a delivered file: a CSV or Parquet file, or one sheet of a workbook."""

    name: str  # shown to users: file name, plus "#sheet" for workbooks
    frame: pl.DataFrame  # String columns (normalised header names) + _row
    rows_read: int  # data rows seen, readable or not
    problems: list[Problem] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()


def _header_name(name: object) -> str:
    return str(name).strip().lstrip("\ufeff").strip().lower()


def _string_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns, except timestamps that a typed file (Parquet) already delivers as timestamps."""
    frame = frame.rename({c: _header_name(c) for c in frame.columns})
    return (
        frame.with_columns(cs.exclude(cs.datetime()).cast(pl.String))
        .with_row_index(ROW, offset=1)
        .with_columns(pl.col(ROW).cast(pl.Int64))
    )


def _sniff_delimiter(header_line: str) -> str:
    return max(_DELIMITERS, key=header_line.count)


def _read_csv(path: Path) -> RawTable:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        return RawTable(path.name, pl.DataFrame(), 0)
    try:
        text = raw.decode("utf-8")
        valid_utf8 = True
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="surrogateescape")
        valid_utf8 = False
    header_line, _, body = text.partition("\n")
    header_line = header_line.rstrip("\r")
    delimiter = _sniff_delimiter(header_line)
    if valid_utf8 and '"' not in text:
        return _read_plain_csv(path.name, header_line, body, delimiter)
    return _read_quoted_csv(path.name, text, delimiter)


def _read_plain_csv(name: str, header_line: str, body: str, delimiter: str) -> RawTable:
    """Fast path for files without quotes: split lines and fields with vectorised string operations."""
    header = [_header_name(h) for h in header_line.split(delimiter)]
    lines = pl.Series("line", body.split("\n")).str.strip_suffix("\r")
    frame = (
        pl.DataFrame(lines)
        .with_row_index(ROW, offset=1)
        .with_columns(pl.col(ROW).cast(pl.Int64))
        .filter(pl.col("line").str.strip_chars() != "")  # blank lines (e.g. the final newline) are not rows
        .with_columns(_fields=pl.col("line").str.count_matches(delimiter, literal=True) + 1)
    )
    bad = frame.filter(pl.col("_fields") != len(header))
    problems = [
        Problem(row, None, line, _field_count_reason(line, n, len(header), delimiter))
        for row, line, n in bad.select(ROW, "line", "_fields").iter_rows()
    ]
    good = frame.filter(pl.col("_fields") == len(header))
    columns = (
        good.select(
            ROW, pl.col("line").str.split_exact(delimiter, len(header) - 1).struct.rename_fields(header).alias("s")
        )
        .unnest("s")
        .select(*header, ROW)
    )
    return RawTable(name, columns, frame.height, problems)


_DELIMITER_NAMES = {";": "puntkomma", ",": "komma", "\t": "tab"}


def _field_count_reason(line: str, found: int, expected: int, delimiter: str) -> str:
    others = [d for d in _DELIMITERS if d != delimiter and d in line]
    if others:
        hint = f"andere scheidingstekens in deze rij ({_DELIMITER_NAMES[others[0]]}) dan in de kop"
    elif found < expected:
        hint = "afgebroken regel?"
    else:
        hint = "een veld met het scheidingsteken erin, zonder aanhalingstekens?"
    return f"rij heeft {found} velden, de kop {expected} (scheidingsteken {_DELIMITER_NAMES[delimiter]}; {hint})"


def _read_quoted_csv(name: str, text: str, delimiter: str) -> RawTable:
    """Careful path: quoted fields (which may hold delimiters or newlines) and bytes that are not UTF-8."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [_header_name(h) for h in next(reader)]
    rows, problems, read = [], [], 0
    for row_number, fields in enumerate(reader, start=1):
        if not any(f.strip() for f in fields):
            continue
        read += 1
        line = delimiter.join(fields)
        if any("\udc80" <= ch <= "\udcff" for ch in line):
            shown = line.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")
            problems.append(
                Problem(row_number, None, shown, "rij bevat tekens die geen UTF-8 zijn (sla het bestand op als UTF-8)")
            )
        elif len(fields) != len(header):
            problems.append(
                Problem(row_number, None, line, _field_count_reason(line, len(fields), len(header), delimiter))
            )
        else:
            rows.append([*fields, row_number])
    frame = (
        pl.DataFrame(rows, schema=[*header, ROW], orient="row", schema_overrides={ROW: pl.Int64})
        if rows
        else (pl.DataFrame(schema={**dict.fromkeys(header, pl.String), ROW: pl.Int64}))
    )
    return RawTable(name, frame.with_columns(pl.exclude(ROW).cast(pl.String)), read, problems)


def read_file(path: Path) -> list[RawTable]:
    """The tables in a delivered file (one, or one per sheet of a workbook)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return [_read_csv(path)]
    if suffix == ".parquet":
        frame = pl.read_parquet(path)
        return [RawTable(path.name, _string_frame(frame), frame.height)]
    if suffix in (".xlsx", ".xlsm"):
        try:
            sheets = pl.read_excel(path, sheet_id=0, infer_schema_length=0, raise_if_empty=False)
        except Exception as exc:  # fastexcel raises its own error types for corrupt workbooks
            raise UnreadableFile(f"{path.name}: werkmap kan niet worden gelezen ({exc})") from exc
        return [RawTable(f"{path.name}#{sheet}", _string_frame(frame), frame.height) for sheet, frame in sheets.items()]
    raise UnreadableFile(f"{path.name}: onbekend bestandstype '{path.suffix}' (gebruik .csv, .parquet of .xlsx)")
