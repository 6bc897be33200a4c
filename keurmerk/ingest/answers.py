"""Validating and loading an answers table inside DuckDB, set-based over the whole table (DESIGN §4, issue 17).

Answers are the bulk of a delivery (ten to a hundred million rows), so they are not validated in Python: the
delivered rows (a Parquet file, the batches a large CSV was streamed into, or a small table registered as a frame)
are read by DuckDB, normalised and checked against the rules of ``keurmerk.ingest.rules.answer_rules`` in a few
statements, and inserted with one ``INSERT … SELECT``. DuckDB spills joins, aggregates and the temporary tables to
disk beyond the writer's memory limit, so memory stays bounded whatever the size of the file; only the look-up of
the respondents grows with the warehouse (``_BYTES_PER_INVITATION``).

Steps (the few rows that need a closer look go into temporary tables, dropped at the end):

1. ``_ingest_dups``: the rows whose respondent and question repeat within the file: the same value (harmless, the
   first loads) or different values (a conflict, none loads). Candidates are found by grouping the rows per
   respondent (more rows than distinct questions); only their rows are then checked whole and compared exactly.
2. The rows that pass every rule, are not such a repeat and are new are inserted straight from the file (no
   temporary copy of the delivery: writing and re-reading it cost more than checking the rows): first the answers
   to questions that are not routed, then the routed ones (few; ``_ingest_routed``), flagged as they are written
   where the answer that routes to them is not among the loaded answers or says otherwise.
3. ``_ingest_fails``: the rows that fail a rule (few). When there were no repeats and every row loaded, there are
   none; otherwise the rows are checked again to find them. Their delivered values are read back from the source
   only for them, for the quarantine and a later retry.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import duckdb
import polars as pl

from keurmerk.catalog import catalog
from keurmerk.formatting import integer
from keurmerk.ingest.format import ANSWER_COLUMNS
from keurmerk.ingest.read import ROW, RawTable
from keurmerk.ingest.rules import TIMESTAMP_FORMATS, SqlRule, answer_rules, question_frame
from keurmerk.warehouse import polars_frame

__all__ = ["AnswersOutcome", "load_answers"]

# Unicode white space, which delivered text may carry around a value (what Python's str.strip removes).
_SPACE = " || ".join(f"chr({c})" for c in (*range(9, 14), 32, 133, 160, 5760, *range(8192, 8203), 8232, 8233, 8239,
                                           8287, 12288))
_TEMP_TABLES = ("_ingest_repeats", "_ingest_candidates", "_ingest_dups", "_ingest_changed", "_ingest_routed",
                "_ingest_loaded_routed", "_ingest_fails", "_ingest_questions", "_ingest_categories", "_ingest_rules",
                "_ingest_question_bits")
_FILE_LEVEL = "_conflict_in_file"  # the one rule that needs the whole file: from step 1


@dataclass
class AnswersOutcome:
    failed: pl.DataFrame  # _row, column_name, value, reason, record (the row's format fields as JSON)
    new: int
    notes: list[str]
    flagged: int
    conflicts_in_file: pl.DataFrame  # _row, _rows: the rows each conflicting row conflicts with
    conflicts_existing: pl.DataFrame  # _row, _existing_load


def _mask(rules: list[SqlRule], which: list[int]) -> str:
    """A BIGINT with bit k set when rule k fails (NULL counts as valid)."""
    terms = [f"CASE WHEN coalesce({rules[k].valid}, TRUE) THEN 0 ELSE {1 << k} END" for k in which]
    return " | ".join(terms) if terms else "0"


def _passes(rules: list[SqlRule], which: list[int]) -> str:
    """0 when every rule passes (NULL counts as valid), 1 otherwise."""
    terms = [f"coalesce({rules[k].valid}, TRUE)" for k in which]
    return f"CASE WHEN {' AND '.join(terms)} THEN 0 ELSE 1 END" if terms else "0"


def _catalogue(con: duckdb.DuckDBPyConnection, rules: list[SqlRule]) -> None:
    cat = catalog()
    questions = question_frame().with_columns(pl.col("form", "question_id_v").cast(pl.String))
    categories = pl.DataFrame(
        [(q.form, q.id, label.casefold(), label) for q in cat.questions for label in cat.categories(q.form, q.id)],
        schema=["form", "question_id", "key", "label"],
        orient="row",
    )
    rule_rows = pl.DataFrame(
        [(k, r.column, r.reason, ANSWER_COLUMNS.index(r.column)) for k, r in enumerate(rules)],
        schema={"rule": pl.Int64, "column_name": pl.String, "reason": pl.String, "column_order": pl.Int64},
        orient="row",
    )
    # A bit per question for step 1, in a UBIGINT: beyond 64 questions some share a bit, which only makes more
    # respondents candidates (compared exactly afterwards), never fewer.
    ids = questions["question_id_v"].unique().sort()
    bits = pl.DataFrame({"question_id_v": ids, "bit": [1 << (k % 64) for k in range(ids.len())]},
                        schema={"question_id_v": pl.String, "bit": pl.UInt64})
    for name, frame in (("_ingest_questions", questions), ("_ingest_categories", categories),
                        ("_ingest_rules", rule_rows), ("_ingest_question_bits", bits)):
        con.register("_frame", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _frame")  # our own names
        con.unregister("_frame")
    # Trimming with a set of characters is slow, and so is the regular expression that tells whether a value needs
    # it; most values have no white space at either end. Cheap tests come first: the white space the expression
    # looks for is either not ASCII or a character below '!' (first or last).
    cheap = "x < '!' OR x[-1] < '!' OR strlen(x) <> length(x)"
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO _ktrim(x) AS CASE WHEN ({cheap}) "
        r"AND regexp_matches(x, '^[\s\p{Z}\x{85}]|[\s\p{Z}\x{85}]$') "
        f"THEN trim(x, {_SPACE}) ELSE x END"
    )


def _source(con: duckdb.DuckDBPyConnection, table: RawTable) -> tuple[str, dict[str, str]]:
    """The FROM expression of the delivered rows, and the type of each column it has."""
    if table.source is not None:
        source = table.source
    else:
        con.register("_ingest_frame", table.frame)
        source = "_ingest_frame"
    empty = con.sql(f"SELECT * FROM {source} LIMIT 0")
    return source, dict(zip(empty.columns, map(str, empty.types), strict=True))


# Step 1 joins every delivered answer to its invitation; DuckDB needs that look-up in memory, about this much per
# invitation (it spills the rest). The writer's memory limit is raised to it when it is lower.
_BYTES_PER_INVITATION = 80
_INVITATIONS_PER_PASS = 4_000_000  # beyond this, step 1 runs in passes by respondent (x10: four)
_BASE_BYTES = 256 * 2**20
_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _memory_limit(con: duckdb.DuckDBPyConnection) -> int:
    amount, unit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0].split()
    return int(float(amount) * _UNITS[unit])


def load_answers(con: duckdb.DuckDBPyConnection, table: RawTable, load_id: int, replace: bool) -> AnswersOutcome:
    """Validate and load one answers table; see the module's docstring for the steps."""
    rules = answer_rules()
    _catalogue(con, rules)
    source, types = _source(con, table)
    limit = _memory_limit(con)
    invitations = con.execute("SELECT count(*) FROM invitations").fetchone()[0]
    needed = _BASE_BYTES + _BYTES_PER_INVITATION * invitations
    if needed > limit:  # kept for the rest of this writer: lowering it under the memory in use would fail
        con.execute(f"SET memory_limit = '{needed}B'")
    # Nothing reads the temporary tables or answers in the file's order (_row says it): without keeping that order
    # DuckDB writes them in parallel and buffers less.
    con.execute("SET preserve_insertion_order = false")
    try:
        outcome = _load(con, rules, source, types, load_id, replace, invitations)
    except Exception:
        with contextlib.suppress(duckdb.Error):  # the failed statement aborted the transaction: its rollback drops
            _clean_up(con, table)  # the tables
        raise
    _clean_up(con, table)
    return outcome


def _clean_up(con: duckdb.DuckDBPyConnection, table: RawTable) -> None:
    con.execute("RESET preserve_insertion_order")
    for name in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {name}")
    if table.source is None:
        con.unregister("_ingest_frame")


def _load(con: duckdb.DuckDBPyConnection, rules: list[SqlRule], source: str, types: dict[str, str], load_id: int,
          replace: bool, invitations: int) -> AnswersOutcome:
    cat = catalog()
    if "answered_at" not in types:
        answered_at, has_answered_at = "NULL::TIMESTAMP", "FALSE"
    elif "TIMESTAMP" in types["answered_at"] or types["answered_at"] == "DATE":
        answered_at, has_answered_at = "CAST(answered_at AS TIMESTAMP)", "answered_at IS NOT NULL"
    else:
        text = "_ktrim(CAST(answered_at AS VARCHAR))"
        formats = "[" + ", ".join(f"'{f}'" for f in TIMESTAMP_FORMATS) + "]"  # our own constants
        answered_at, has_answered_at = f"try_strptime({text}, {formats})", f"coalesce({text}, '') <> ''"
    in_row = [k for k, r in enumerate(rules) if _FILE_LEVEL not in r.valid]
    in_file = [k for k, r in enumerate(rules) if _FILE_LEVEL in r.valid]
    params = {"na": cat.not_applicable, "replace": replace}
    respondent = "nullif(_ktrim(CAST(respondent_id AS VARCHAR)), '')"
    question = "lower(_ktrim(CAST(question_id AS VARCHAR)))"
    # The look-up of the respondents runs in passes by respondent when the warehouse holds many invitations, so
    # that each pass's hash table fits in memory.
    passes = max(1, -(-invitations // _INVITATIONS_PER_PASS))

    def part(column: str) -> str:
        return f"hash({column}) % {passes} = $pass" if passes > 1 else "TRUE"

    def checked(where: str, which: bool = True, loaded: str = "answers") -> str:
        """Every delivered row that satisfies ``where`` (over the source's columns), normalised, looked up and
        checked against the rules of one row: ``_fails`` has a bit per failing rule, or with ``which=False`` is 0
        when every rule passes and 1 otherwise (cheaper: what the insert needs). ``loaded``: the loaded answers
        the rows are compared with (all, or a table of those to the questions ``where`` selects)."""
        return f"""
        WITH delivered AS (
            SELECT
                _row,
                {respondent} AS respondent_id_v,
                {question} AS question_id_v,
                _ktrim(CAST(value AS VARCHAR)) AS _value_text,
                {answered_at} AS answered_at_v,
                {has_answered_at} AS _has_answered_at
            FROM {source}
            WHERE {where}
        ),
        looked_up AS (
            SELECT
                d.*,
                i.form,
                i.service AS service_v,
                q.kind,
                q.services,
                q.condition_question,
                q.condition_answer,
                c.label AS category,
                TRY_CAST(replace(d._value_text, ',', '.') AS DOUBLE) AS _number,
                q.kind = 'aspect_grade'
                    AND (d._value_text IS NULL OR d._value_text = '' OR lower(d._value_text) = $na) AS _not_applicable,
                e.value AS _existing_value,
                e.load_id AS _existing_load
            FROM delivered AS d
            LEFT JOIN (SELECT respondent_id, form, service FROM invitations WHERE {part("respondent_id")}) AS i
                ON i.respondent_id = d.respondent_id_v
            LEFT JOIN _ingest_questions AS q ON q.form = i.form AND q.question_id_v = d.question_id_v
            LEFT JOIN _ingest_categories AS c
                ON c.form = i.form AND c.question_id = d.question_id_v AND c.key = lower(d._value_text)
            LEFT JOIN (SELECT * FROM {loaded} WHERE {part("respondent_id")}) AS e
                ON e.respondent_id = d.respondent_id_v AND e.question_id = d.question_id_v
        ),
        normalised AS (
            SELECT
                *,
                CASE WHEN kind IN ('grade', 'aspect_grade') AND NOT _not_applicable THEN _number END AS value_num,
                CASE
                    WHEN _not_applicable THEN $na
                    WHEN kind IN ('grade', 'aspect_grade') THEN CAST(_number AS VARCHAR)
                    WHEN kind = 'text' THEN _value_text
                    ELSE category
                END AS value_v,
                coalesce(question_id_v, '') <> '' AS _has_question,
                coalesce(_value_text, '') <> '' AS _has_value,
                FALSE AS {_FILE_LEVEL}
            FROM looked_up
        ),
        compared AS (
            SELECT
                *,
                _existing_value IS NOT NULL AND _existing_value <> value_v AS _changed,
                _changed AND NOT $replace AS _conflict_existing
            FROM normalised
        )
        SELECT
            _row, respondent_id_v, question_id_v, value_v, value_num, answered_at_v, condition_question,
            condition_answer, _existing_value, _existing_load, _changed,
            {_mask(rules, in_row) if which else _passes(rules, in_row)} AS _fails
        FROM compared
        """

    def run(statement: str, n: int = 0, extra: dict[str, object] | None = None) -> int:
        """Run ``statement`` for pass ``n`` with the parameters it names; the rows it changed."""
        values = {**params, **(extra or {}), **({"pass": n} if passes > 1 else {})}
        result = con.execute(statement, {k: v for k, v in values.items() if f"${k}" in statement}).fetchone()
        return result[0] if result else 0

    def each_pass(statement: str, extra: dict[str, object] | None = None) -> int:
        return sum(run(statement, n, extra) for n in range(passes))

    def materialise(table: str, select: str, when: bool = True) -> None:
        """The temporary ``table`` of the rows of ``select`` (our own names): none unless ``when``."""
        run(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM ({select}) LIMIT 0")
        if when:
            each_pass(f"INSERT INTO {table} {select}")

    # 1. Repeats of a respondent and question within the file (rare). Grouping every row by respondent is much
    # cheaper than by respondent and question: a respondent repeats a question when it has more rows than distinct
    # questions (a bit per catalogue question; a question outside the catalogue, or one delivered in another case
    # or with white space, has no bit and makes its respondent a candidate too). Only the rows of those
    # respondents are then checked whole and compared exactly.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ingest_repeats AS
            SELECT hash(d.respondent_id_v) AS _respondent
            FROM (SELECT {respondent} AS respondent_id_v, CAST(question_id AS VARCHAR) AS question_id FROM {source}) AS d
            LEFT JOIN _ingest_question_bits AS b ON b.question_id_v = d.question_id
            GROUP BY ALL HAVING count(*) > bit_count(coalesce(bit_or(b.bit), 0))"""
    )
    repeats = con.execute("SELECT count(*) FROM _ingest_repeats").fetchone()[0]
    materialise(
        "_ingest_candidates",
        checked(f"hash({respondent}) IN (SELECT _respondent FROM _ingest_repeats) AND {part(respondent)}"),
        when=repeats > 0,
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _ingest_dups AS
        WITH candidates AS (
            SELECT _row, respondent_id_v, question_id_v, coalesce(value_v, '∅') AS signature
            FROM _ingest_candidates WHERE respondent_id_v IS NOT NULL AND question_id_v IS NOT NULL
        ),
        grouped AS (
            SELECT respondent_id_v, question_id_v, count(DISTINCT signature) AS n_signatures,
                   list(_row ORDER BY _row) AS _rows, min(_row) AS _first
            FROM candidates GROUP BY ALL HAVING count(*) > 1
        )
        SELECT r._row, g.n_signatures > 1 AS _conflict_in_file, g.n_signatures = 1 AND r._row <> g._first AS
               _repeat_same, g._rows
        FROM candidates AS r JOIN grouped AS g USING (respondent_id_v, question_id_v)
        """
    )
    everything = checked(part(respondent))
    # A row loads when it passes the rules of one row and is neither a conflict nor a repeat within the file (step 1)
    # nor the answer already loaded.
    loads = """(a._fails = 0 AND NOT coalesce(d._conflict_in_file OR d._repeat_same, FALSE)
                AND NOT coalesce(a._existing_value = a.value_v, FALSE))"""
    notes = []
    if replace:  # (--replace) the answers this delivery changes: logged, then replaced
        materialise(
            "_ingest_changed",
            f"""SELECT a.respondent_id_v, a.question_id_v, a._existing_value, a.value_v, a._existing_load
                FROM ({everything}) AS a LEFT JOIN _ingest_dups AS d USING (_row) WHERE {loads} AND a._changed""",
        )
        replaced = con.execute(
            """INSERT INTO replacements
               SELECT $load, 'answers', respondent_id_v, question_id_v, _existing_value, value_v, _existing_load
               FROM _ingest_changed""",
            {"load": load_id},
        ).fetchone()[0]
        if replaced:
            con.execute(
                """DELETE FROM answers WHERE (respondent_id, question_id) IN
                   (SELECT (respondent_id_v, question_id_v) FROM _ingest_changed)"""
            )
            notes.append(f"{integer(replaced)} antwoorden vervangen (--replace; zie tabel replacements)")
    flagged_before = _flagged(con, load_id)  # an earlier table of this load may have flagged answers too
    # 2. Insert the rows that load, straight from the file: first the answers to questions that are not routed
    # (most of them, the routing answers among them), then the routed ones (few), each flagged where its routing
    # answer is not among the loaded answers (an earlier delivery's, or this one's) or says otherwise. A routed
    # question can route another (complaint → complaint_filed → its text): those are looked up among the routed
    # rows themselves. Flags are set as the rows are written: an UPDATE of many rows would be held in memory.
    routed = ", ".join(f"'{q}'" for q in _routed_questions())  # catalogue ids: [a-z_]
    # Which rows are routed: their question, normalised, is. Without candidates in step 1 every row delivered a
    # catalogue id exactly (one spelled otherwise, unknown or missing has no bit there), so the id as delivered
    # tells, which is cheaper and lets DuckDB skip the other rows while reading the file.
    # (list_contains for the rows that load first: DuckDB plans an IN list as a join, which costs more there)
    as_delivered = "CAST(question_id AS VARCHAR)"
    is_routed = f"list_contains([{routed}], {question if repeats else as_delivered})"
    is_routed_read = is_routed if repeats else f"{as_delivered} IN ({routed})"  # pushed into the reading of the file
    insert = "INSERT INTO answers (respondent_id, question_id, value, value_num, answered_at, load_id, routing_flag)"
    # the routed answers loaded before (few): what the routed rows are compared with, without a look-up of all
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _ingest_loaded_routed AS SELECT * FROM answers WHERE question_id IN ({routed})"
    )
    new = each_pass(
        f"""
        {insert}
        SELECT a.respondent_id_v, a.question_id_v, a.value_v, a.value_num, a.answered_at_v, $load, NULL
        FROM ({checked(f"NOT coalesce({is_routed}, FALSE) AND {part(respondent)}", which=False)}) AS a
        LEFT JOIN _ingest_dups AS d USING (_row)
        WHERE {loads}
        """,
        {"load": load_id},
    )
    materialise(
        "_ingest_routed",
        f"""SELECT a.* FROM ({checked(f"{is_routed_read} AND {part(respondent)}", False, "_ingest_loaded_routed")}) AS a
            LEFT JOIN _ingest_dups AS d USING (_row) WHERE {loads}""",
    )
    new += con.execute(
        f"""
        {insert}
        SELECT
            a.respondent_id_v, a.question_id_v, a.value_v, a.value_num, a.answered_at_v, $load,
            CASE WHEN a.condition_question IS NOT NULL
                      AND coalesce(coalesce(o.value, r.value_v) <> a.condition_answer, TRUE)
                 THEN format('volgt op {{}} = {{}}, maar dat antwoord {{}}', a.condition_question, a.condition_answer,
                             CASE WHEN coalesce(o.value, r.value_v) IS NULL THEN 'ontbreekt' ELSE 'is anders' END)
            END
        FROM _ingest_routed AS a
        LEFT JOIN answers AS o ON o.respondent_id = a.respondent_id_v AND o.question_id = a.condition_question
        LEFT JOIN _ingest_routed AS r
            ON r.respondent_id_v = a.respondent_id_v AND r.question_id_v = a.condition_question
        """,
        {"load": load_id},
    ).fetchone()[0]
    flagged = _flagged(con, load_id) - flagged_before
    # 3. The rows that fail a rule, with the rule of the whole file added. Nothing failed when there were no repeats
    # and every row loaded, as in most deliveries; otherwise the rows are checked again to find those that failed.
    fails = f"""
        SELECT a._row, a._fails | ({_mask(rules, in_file)}) AS _fails, a._changed, a._existing_load
        FROM ({everything}) AS a LEFT JOIN (SELECT _row, {_FILE_LEVEL} FROM _ingest_dups) AS d USING (_row)
        WHERE (a._fails | ({_mask(rules, in_file)})) <> 0
        """
    materialise("_ingest_fails", fails, when=repeats > 0 or new < _rows(con, source))
    failed = _failed(con, source, types)
    details = polars_frame(con.sql(
        """SELECT f._row, d._rows, CASE WHEN f._changed AND NOT $replace THEN f._existing_load END AS _existing_load
           FROM _ingest_fails AS f LEFT JOIN _ingest_dups AS d USING (_row)""",
        params={"replace": replace},
    ))
    return AnswersOutcome(
        failed,
        new,
        notes,
        flagged,
        details.filter(pl.col("_rows").is_not_null()).select(ROW, "_rows"),
        details.filter(pl.col("_existing_load").is_not_null()).select(ROW, "_existing_load"),
    )


def _routed_questions() -> list[str]:
    """The ids of the questions that a routing answer leads to (in some form)."""
    frame = question_frame().filter(pl.col("condition_question").is_not_null())
    return sorted(frame["question_id_v"].cast(pl.String).unique().to_list())


def _rows(con: duckdb.DuckDBPyConnection, source: str) -> int:
    return con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]


def _flagged(con: duckdb.DuckDBPyConnection, load_id: int) -> int:
    return con.execute("SELECT count(*) FROM answers WHERE load_id = ? AND routing_flag IS NOT NULL", [load_id]
                       ).fetchone()[0]


def _failed(con: duckdb.DuckDBPyConnection, source: str, types: dict[str, str]) -> pl.DataFrame:
    """One row per (row, failing rule): _row, column_name, value (as delivered), reason, record.

    The delivered values are read back from the source for the failing rows only."""
    columns = [c for c in ANSWER_COLUMNS if c in types]
    as_text = {c: f"CAST({c} AS VARCHAR)" for c in columns}
    record = "json_object(" + ", ".join(f"'{c}', {as_text[c]}" for c in columns) + ")"
    value = "CASE r.column_name " + " ".join(f"WHEN '{c}' THEN s.{c}" for c in columns) + " END"
    return polars_frame(con.sql(
        f"""
        WITH s AS (
            SELECT _row, {", ".join(f"{as_text[c]} AS {c}" for c in columns)}, {record} AS record
            FROM {source} SEMI JOIN _ingest_fails USING (_row)
        )
        SELECT f._row AS {ROW}, r.column_name, {value} AS value, r.reason, s.record
        FROM _ingest_fails AS f
        JOIN _ingest_rules AS r ON (f._fails >> r.rule) & 1 = 1
        JOIN s USING (_row)
        ORDER BY f._row, r.column_order, r.rule
        """
    ))
