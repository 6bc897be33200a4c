"""Reading delivered files into string tables, with structural problems sent to quarantine.

Every table that leaves here has only String columns plus ``_row`` (1 = the first data row after the header), so
that validation reports positions the way a person finds them in the file. A row that cannot be read at all
(wrong number of fields, bytes that are not UTF-8) becomes a ``Problem`` instead of being dropped.

Only columns of the import format leave here (data minimisation, DESIGN §4): other columns are dropped on read and
only their names are reported. A broken line keeps only the format fields that can be identified in it. A file
that cannot be read at all raises ``UnreadableFile`` with one Dutch sentence; the caller goes on with the others.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import polars.selectors as cs

from keurmerk.ingest.format import FORMAT_COLUMNS

__all__ = ["Problem", "RawTable", "read_file", "UnreadableFile"]

ROW = "_row"
_DELIMITERS = (";", ",", "\t")
# Memory bound (issue 17): answers are validated by DuckDB straight from the file (``RawTable.source``); another
# table larger than this (invitations) is spilled to Parquet and split by respondent into parts that are validated
# one at a time. Every invitation rule looks at one respondent's rows only, so the parts give the same result.
PART_ROWS = 3_000_000
PART_BYTES = 16 * 2**20  # of delivered text per part (long free texts)
_STREAM_BYTES = 96 * 2**20  # CSV files above this are read as a stream
_BATCH_BYTES = 16 * 2**20  # of text per batch written to Parquet while streaming


class UnreadableFile(ValueError):
    """The file as a whole cannot be read (unknown extension, corrupt workbook): one Dutch sentence, no data."""


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
    ignored_columns: tuple[str, ...] = ()  # names of columns outside the format: dropped, never their values
    header: tuple[str, ...] = ()  # every column name as delivered (normalised), to recognise the kind of table
    parts: tuple[Path, ...] = ()  # a large table: its rows, split by respondent, in spilled Parquet files
    source: str | None = None  # answers read by DuckDB: a FROM expression of the format columns plus _row

    def iter_parts(self) -> Iterator[RawTable]:
        """The table itself, or for a large one each part in turn (structural problems go with the first)."""
        if not self.parts:
            yield self
            return
        for i, part in enumerate(self.parts):
            # DuckDB may write a part as several files, in any order: sorted back to the file's order
            files = sorted(part.glob("*.parquet"))
            frame = _as_strings(pl.read_parquet(files).sort(ROW)) if files else self.frame.clear()
            yield RawTable(self.name, frame, frame.height, self.problems if i == 0 else [])


def _header_name(name: object) -> str:
    return str(name).strip().lstrip("\ufeff").strip().lower()


def _check_header(name: str, header: list[str]) -> None:
    doubles = sorted({h for h in header if h in FORMAT_COLUMNS and header.count(h) > 1})
    if doubles:
        raise UnreadableFile(f"{name}: kolom {', '.join(doubles)} staat meer dan één keer in de kop")


def _ignored(header: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(h if h else "(naamloos)" for h in header if h not in FORMAT_COLUMNS))


# Types that become text without loss; lists, structs and binary blobs are not the format's.
_PLAIN_TYPES = cs.numeric() | cs.string() | cs.boolean() | cs.temporal() | cs.categorical() | cs.enum()


def _string_frame(name: str, frame: pl.DataFrame, header: list[str] | None = None) -> RawTable:
    """Text columns of the format only, except timestamps that a typed file (Parquet) already delivers as such.

    ``header``: every column name of the file, when ``frame`` was read with the format's columns only."""
    if header is None:
        header = [_header_name(c) for c in frame.columns]
        _check_header(name, header)
    keep = {c: _header_name(c) for c in frame.columns if _header_name(c) in FORMAT_COLUMNS}
    height = frame.height
    if not keep:  # nothing of the format: only the row numbers, so that every row is accounted for
        frame = pl.DataFrame({ROW: pl.int_range(1, height + 1, eager=True, dtype=pl.Int64)})
        return RawTable(name, frame, height, ignored_columns=_ignored(header), header=tuple(header))
    frame = frame.select(list(keep)).rename(keep)
    _odd_types(name, dict(frame.schema))
    frame = _as_strings(frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64)))
    return RawTable(name, frame, frame.height, ignored_columns=_ignored(header), header=tuple(header))


def _as_strings(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(cs.exclude(cs.datetime(), pl.col(ROW)).cast(pl.String))


def _odd_types(name: str, schema: dict[str, pl.DataType]) -> None:
    frame = pl.DataFrame(schema=schema)
    odd = [c for c, dtype in schema.items() if dtype != pl.Null and c not in frame.select(_PLAIN_TYPES).columns]
    if odd:
        kinds = sorted({str(schema[c]).split("(")[0] for c in odd})
        raise UnreadableFile(
            f"{name}: kolom {', '.join(odd)} heeft een type dat het importformaat niet kent ({', '.join(kinds)}); "
            "lever tekst, getallen of datums"
        )


def _sql_text(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


_ANSWER_HEADER = frozenset({"respondent_id", "question_id", "value"})


def _is_answers(columns) -> bool:
    """Answers are validated inside DuckDB, straight from the file (keurmerk.ingest.answers)."""
    return set(columns) >= _ANSWER_HEADER


def _partition(source_sql: str, columns: dict[str, str], rows: int, text_bytes: int, spill: Path) -> tuple[Path, ...]:
    """Split a large table by respondent into Parquet parts (one directory each) under ``spill``, streaming inside
    DuckDB, which spills to disk itself. ``source_sql`` yields the delivered columns plus ``_row``; ``columns``
    maps each delivered column name to its format name (both checked against the format: no data in the SQL)."""
    n = max(-(-rows // PART_ROWS), -(-text_bytes // PART_BYTES), 1)
    out = spill / "parts"
    spill.mkdir(parents=True, exist_ok=True)
    selected = ", ".join(f'"{_quoted(src)}" AS "{dst}"' for src, dst in columns.items())
    respondent = _source_of(columns, "respondent_id")
    config = {"memory_limit": "256MB", "threads": 1, "temp_directory": str(spill / "duckdb.tmp")}
    with duckdb.connect(config=config) as con:  # one thread: one open file per part, not one per part and thread
        con.execute("SET preserve_insertion_order = false")
        con.execute(
            f'COPY (SELECT {selected}, _row, hash(trim(CAST("{respondent}" AS VARCHAR))) % {n} AS _part '
            f"FROM {source_sql}) TO {_sql_text(out)} (FORMAT parquet, PARTITION_BY (_part))"
        )
    return tuple(out / f"_part={i}" for i in range(n))


def _quoted(name: str) -> str:
    return name.replace('"', '""')


def _source_of(columns: dict[str, str], target: str) -> str:
    return next(src for src, dst in columns.items() if dst == target)


# Columns where a stray delimiter is expected: free text, and every column outside the format (addresses, notes).
_TEXT_COLUMNS = frozenset({"provider_name", "value"})


def _identified(fields: list[str], header: list[str]) -> str | None:
    """The format fields of a broken line whose place is certain, as JSON; None when there are none.

    A stray delimiter sits in a text column (free text, a provider name, a column outside the format), so the
    fields before the first text column are in place, and with fields too many (not a truncated line) so are
    the fields after the last one, counted from the end. Values of columns outside the format are never kept,
    and nothing else is: an e-mail address that slid into a format column's place is not stored.
    """
    shift = len(fields) - len(header)
    text = [j for j, column in enumerate(header) if column in _TEXT_COLUMNS or column not in FORMAT_COLUMNS]
    first, last = (text[0], text[-1]) if text else (len(header), -1)
    known = {}
    for j, column in enumerate(header):
        if column not in FORMAT_COLUMNS or column in _TEXT_COLUMNS:
            continue
        if j < first and j < len(fields):
            known[column] = fields[j]
        elif j > last and shift > 0:
            known[column] = fields[j + shift]
    # A code or id with a delimiter in it is a line split the wrong way (mixed delimiters): not identified.
    known = {c: v for c, v in known.items() if not any(d in v for d in _DELIMITERS)}
    return json.dumps(known, ensure_ascii=False) if known else None


def _sniff_delimiter(header_line: str) -> str:
    return max(_DELIMITERS, key=header_line.count)


def _read_csv(path: Path) -> RawTable:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        return RawTable(path.name, pl.DataFrame(), 0)
    if b"\x00" in raw[:65536]:
        raise UnreadableFile(f"{path.name}: geen tekstbestand (binaire inhoud); lever CSV als UTF-8-tekst")
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
    _check_header(name, header)
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
        Problem(
            row, None, _identified(line.split(delimiter), header), _field_count_reason(line, n, len(header), delimiter)
        )
        for row, line, n in bad.select(ROW, "line", "_fields").iter_rows()
    ]
    good = frame.filter(pl.col("_fields") == len(header))
    fields = [f"_f{j}" for j in range(len(header))]  # by position: other columns may share a name
    columns = (
        good.select(
            ROW, pl.col("line").str.split_exact(delimiter, len(header) - 1).struct.rename_fields(fields).alias("s")
        )
        .unnest("s")
        .select(*(pl.col(f).alias(h) for f, h in zip(fields, header, strict=True) if h in FORMAT_COLUMNS), ROW)
    )
    return RawTable(name, columns, frame.height, problems, _ignored(header), tuple(header))


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


def _row_problem(
    row_number: int, fields: list[str], header: list[str], keep: list[int], delimiter: str
) -> Problem | None:
    if len(fields) != len(header):
        line = delimiter.join(fields)
        reason = _field_count_reason(line, len(fields), len(header), delimiter)
        return Problem(row_number, None, _identified(fields, header), reason)
    # Bytes that are not UTF-8 matter only in format columns; the others are dropped anyway.
    bad = [j for j in keep if any("\udc80" <= ch <= "\udcff" for ch in fields[j])]
    if bad:
        shown = fields[bad[0]].encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")
        return Problem(
            row_number, header[bad[0]], shown, "waarde bevat tekens die geen UTF-8 zijn (sla het bestand op als UTF-8)"
        )
    return None


def _format_rows(reader: Iterator[list[str]], header: list[str], keep: list[int], delimiter: str,
                 problems: list[Problem]) -> Iterator[list]:
    """The rows of a CSV reader (past its header) as [format values…, row number]; a structurally broken line goes
    to ``problems`` instead; blank lines are skipped."""
    for row_number, fields in enumerate(reader, start=1):
        if not any(f.strip() for f in fields):
            continue
        problem = _row_problem(row_number, fields, header, keep, delimiter)
        if problem:
            problems.append(problem)
        else:
            yield [*(fields[j] for j in keep), row_number]


def _read_quoted_csv(name: str, text: str, delimiter: str) -> RawTable:
    """Careful path: quoted fields (which may hold delimiters or newlines) and bytes that are not UTF-8."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [_header_name(h) for h in next(reader)]
    _check_header(name, header)
    keep = [j for j, h in enumerate(header) if h in FORMAT_COLUMNS]
    problems: list[Problem] = []
    rows = list(_format_rows(reader, header, keep, delimiter, problems))
    read = len(rows) + len(problems)
    columns = [header[j] for j in keep]
    frame = (
        pl.DataFrame(rows, schema=[*columns, ROW], orient="row", schema_overrides={ROW: pl.Int64})
        if rows
        else (pl.DataFrame(schema={**dict.fromkeys(columns, pl.String), ROW: pl.Int64}))
    )
    frame = frame.with_columns(pl.exclude(ROW).cast(pl.String))
    return RawTable(name, frame, read, problems, _ignored(header), tuple(header))


def _stream_csv(path: Path, spill: Path) -> RawTable:
    """A large CSV, read as a stream: rows checked as in ``_read_quoted_csv``, written in batches to Parquet; answers
    are then validated by DuckDB from those batches, another table is split by respondent (or read back whole when
    it has no respondents)."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        header_line = f.readline().rstrip("\r\n")
    delimiter = _sniff_delimiter(header_line)
    header = [_header_name(h) for h in next(csv.reader([header_line], delimiter=delimiter))]
    _check_header(path.name, header)
    keep = [j for j, h in enumerate(header) if h in FORMAT_COLUMNS]
    columns = [header[j] for j in keep]
    schema = {**dict.fromkeys(columns, pl.String), ROW: pl.Int64}
    batches = spill / "rows"
    batches.mkdir(parents=True, exist_ok=True)
    problems: list[Problem] = []
    rows: list[list] = []
    loaded = size = text_bytes = written = 0

    def flush() -> None:
        nonlocal rows, size, written
        pl.DataFrame(rows, schema=schema, orient="row").write_parquet(batches / f"{written:05d}.parquet")
        written += 1
        rows, size = [], 0

    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        next(reader)
        for row in _format_rows(reader, header, keep, delimiter, problems):
            loaded += 1
            rows.append(row)
            size += sum(map(len, row[:-1]))
            if size > min(_BATCH_BYTES, _STREAM_BYTES):
                text_bytes += size
                flush()
    read = loaded + len(problems)
    text_bytes += size
    if rows or not written:
        flush()
    if _is_answers(columns):
        source = f"read_parquet({_sql_text(batches / '*.parquet')})"
        return RawTable(path.name, pl.DataFrame(schema=schema), read, problems, _ignored(header), tuple(header),
                        source=source)
    if "respondent_id" in columns:
        parts = _partition(
            f"read_parquet({_sql_text(batches / '*.parquet')})", {c: c for c in columns}, read, text_bytes, spill
        )
        return RawTable(path.name, pl.DataFrame(schema=schema), read, problems, _ignored(header), tuple(header), parts)
    frame = pl.read_parquet(batches / "*.parquet")
    return RawTable(path.name, frame, read, problems, _ignored(header), tuple(header))


def _read_parquet(path: Path, spill: Path | None = None) -> RawTable:
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:  # pyarrow/polars raise many types for a damaged footer
        raise UnreadableFile(f"{path.name}: geen geldig Parquet-bestand (beschadigd of afgebroken)") from exc
    header = [_header_name(c) for c in schema]
    _check_header(path.name, header)
    wanted = [c for c, h in zip(schema, header, strict=True) if h in FORMAT_COLUMNS]
    try:
        height = pl.scan_parquet(path).select(pl.len()).collect().item()
        columns = {c: h for c, h in zip(schema, header, strict=True) if h in FORMAT_COLUMNS}
        if spill is not None and _is_answers(columns.values()):
            _odd_types(path.name, {columns[c]: schema[c] for c in wanted})
            selected = ", ".join(f'"{_quoted(c)}" AS "{columns[c]}"' for c in wanted)
            source = (
                f"(SELECT {selected}, CAST(file_row_number + 1 AS BIGINT) AS {ROW} "
                f"FROM read_parquet({_sql_text(path)}, file_row_number = true))"
            )
            empty = pl.DataFrame(schema={**{columns[c]: pl.String for c in wanted}, ROW: pl.Int64})
            return RawTable(
                path.name, empty, height, ignored_columns=_ignored(header), header=tuple(header), source=source
            )
        if spill is not None and height > PART_ROWS and "respondent_id" in columns.values():
            _odd_types(path.name, {columns[c]: schema[c] for c in wanted})
            parts = _partition(
                f"(SELECT *, file_row_number + 1 AS _row FROM read_parquet({_sql_text(path)}, file_row_number = true))",
                {c: columns[c] for c in wanted},
                height,
                0,
                spill,
            )
            empty = pl.DataFrame(schema={**{columns[c]: pl.String for c in wanted}, ROW: pl.Int64})
            return RawTable(
                path.name, empty, height, ignored_columns=_ignored(header), header=tuple(header), parts=parts
            )
        frame = pl.read_parquet(path, columns=wanted) if wanted else pl.DataFrame({c: [] for c in schema})
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(
            f"{path.name}: Parquet-bestand kan niet worden gelezen (beschadigd of afgebroken)"
        ) from exc
    height = frame.height if wanted else height
    if not wanted:  # only the row count is needed: every row goes to the quarantine without its values
        frame = pl.DataFrame({ROW: pl.int_range(1, height + 1, eager=True, dtype=pl.Int64)})
        return RawTable(path.name, frame, height, ignored_columns=_ignored(header), header=tuple(header))
    return _string_frame(path.name, frame, header)


def _read_workbook(path: Path) -> list[RawTable]:
    try:
        sheets = pl.read_excel(path, sheet_id=0, infer_schema_length=0, raise_if_empty=False)
    except Exception as exc:  # fastexcel raises its own error types for corrupt workbooks
        raise UnreadableFile(
            f"{path.name}: werkmap kan niet worden gelezen (beschadigd, afgebroken of versleuteld)"
        ) from exc
    return [_string_frame(f"{path.name}#{sheet}", frame) for sheet, frame in sheets.items()]


def read_file(path: Path, spill: Path | None = None) -> list[RawTable]:
    """The tables in a delivered file (one, or one per sheet of a workbook).

    ``spill``: an empty directory for the parts of a large table (see ``PART_ROWS``); without it, every table is
    read into memory whole."""
    if path.is_dir():
        raise UnreadableFile(f"{path.name}: is een map, geen bestand")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            if spill is not None and path.stat().st_size > _STREAM_BYTES:
                return [_stream_csv(path, spill)]
            return [_read_csv(path)]
        if suffix == ".parquet":
            return [_read_parquet(path, spill)]
        if suffix in (".xlsx", ".xlsm"):
            return _read_workbook(path)
    except PermissionError as exc:
        raise UnreadableFile(f"{path.name}: geen leesrechten") from exc
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{path.name}: de kopregel is geen UTF-8-tekst") from exc
    except csv.Error as exc:
        raise UnreadableFile(f"{path.name}: CSV kan niet worden gelezen (aanhalingstekens niet gesloten?)") from exc
    raise UnreadableFile(f"{path.name}: onbekend bestandstype '{path.suffix}' (gebruik .csv, .parquet of .xlsx)")
