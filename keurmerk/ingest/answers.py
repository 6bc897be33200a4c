"""Validating and loading an answers table inside DuckDB, set-based over the whole table (DESIGN §4, issue 17).

Answers are the bulk of a delivery (ten to a hundred million rows), so they are not validated in Python: the
delivered rows (a Parquet file, the batches a large CSV was streamed into, or a small table registered as a frame)
are read by DuckDB, normalised and checked against the rules of ``keurmerk.ingest.rules.answer_rules`` in a few
statements, and inserted with one ``INSERT … SELECT``. DuckDB spills joins, aggregates and the temporary tables to
disk beyond the writer's memory limit, so memory stays bounded whatever the size of the file; only the look-up of
the respondents grows with the warehouse (``_BYTES_PER_INVITATION``).

Steps (temporary tables, dropped at the end):

1. ``_ingest_a``: one narrow row per delivered row: the canonical values, the respondent's form and dienst, the
   value already loaded for this question (changes across deliveries) and the answer that routes to it, and a
   bit mask of the rules that fail (bit k = rule k of ``answer_rules``).
2. ``_ingest_dups``: the rows whose respondent and question repeat within the file: the same value (harmless, the
   first loads) or different values (a conflict, none loads).
3. ``_ingest_fails``: the rows that fail a rule (few); their delivered values are read back from the source only
   for them, for the quarantine and a later retry.
4. The rows that pass and are new are inserted, with a routing flag where the answer that leads to the question is
   missing or says otherwise.
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

__all__ = ["AnswersOutcome", "load_answers"]

# Unicode white space, which delivered text may carry around a value (what Python's str.strip removes).
_SPACE = " || ".join(f"chr({c})" for c in (*range(9, 14), 32, 133, 160, 5760, *range(8192, 8203), 8232, 8233, 8239,
                                           8287, 12288))
_TEMP_TABLES = ("_ingest_a", "_ingest_dups", "_ingest_fails", "_ingest_openers", "_ingest_questions",
                "_ingest_categories", "_ingest_rules")
_FILE_LEVEL = "_conflict_in_file"  # the one rule that needs the whole file: evaluated in step 3


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
    for name, frame in (("_ingest_questions", questions), ("_ingest_categories", categories),
                        ("_ingest_rules", rule_rows)):
        con.register("_frame", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _frame")  # our own names
        con.unregister("_frame")
    # Trimming with a set of characters is slow, and so is the regular expression that tells whether a value needs
    # it; most values have no white space at either end. Cheap byte tests come first: the white space the
    # expression looks for starts with a byte below '!', or is not ASCII, or ends a value in one of five ASCII
    # characters.
    cheap = " OR ".join(["x < '!'", "strlen(x) <> length(x)", *(f"suffix(x, chr({c}))" for c in (9, 10, 12, 13, 32))])
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
    # 1. Normalise, look up and check every row (the rules of one row); in passes by respondent when the warehouse
    # holds many invitations, so that each pass's look-up fits in memory.
    passes = max(1, -(-invitations // _INVITATIONS_PER_PASS))

    def part(column: str) -> str:
        return f"hash({column}) % {passes} = $pass" if passes > 1 else "TRUE"

    body = f"""
        WITH delivered AS (
            SELECT * FROM (
            SELECT
                _row,
                nullif(_ktrim(CAST(respondent_id AS VARCHAR)), '') AS respondent_id_v,
                lower(_ktrim(CAST(question_id AS VARCHAR))) AS question_id_v,
                _ktrim(CAST(value AS VARCHAR)) AS _value_text,
                {answered_at} AS answered_at_v,
                {has_answered_at} AS _has_answered_at
            FROM {source}
            ) WHERE {part("respondent_id_v")}
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
                e.load_id AS _existing_load,
                o.value AS _earlier_opener
            FROM delivered AS d
            LEFT JOIN (SELECT respondent_id, form, service FROM invitations WHERE {part("respondent_id")}) AS i
                ON i.respondent_id = d.respondent_id_v
            LEFT JOIN _ingest_questions AS q ON q.form = i.form AND q.question_id_v = d.question_id_v
            LEFT JOIN _ingest_categories AS c
                ON c.form = i.form AND c.question_id = d.question_id_v AND c.key = lower(d._value_text)
            LEFT JOIN (SELECT * FROM answers WHERE {part("respondent_id")}) AS e
                ON e.respondent_id = d.respondent_id_v AND e.question_id = d.question_id_v
            LEFT JOIN (SELECT * FROM answers WHERE {part("respondent_id")}) AS o
                ON o.respondent_id = d.respondent_id_v AND o.question_id = q.condition_question
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
            _row, respondent_id_v, question_id_v, value_v, value_num, answered_at_v, kind, condition_question,
            condition_answer, _existing_value, _existing_load, _earlier_opener, _changed,
            {_mask(rules, in_row)} AS _fails,
            hash(respondent_id_v, question_id_v) AS _key  -- for step 2: hashed once, on the normalised values
        FROM compared
        """
    for n in range(passes):
        start = "CREATE OR REPLACE TEMP TABLE _ingest_a AS" if n == 0 else "INSERT INTO _ingest_a"
        con.execute(f"{start} {body}", {**params, "pass": n} if passes > 1 else params)
    # 2. Repeats of a respondent and question within the file (rare: found on the keys first, then detailed).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _ingest_dups AS
        WITH keys AS (  -- grouped on a hash of the key (cheaper than two strings); collisions drop out below
            SELECT _key FROM _ingest_a
            WHERE respondent_id_v IS NOT NULL AND question_id_v IS NOT NULL
            GROUP BY ALL HAVING count(*) > 1
        ),
        candidates AS (
            SELECT _row, respondent_id_v, question_id_v, coalesce(value_v, '∅') AS signature
            FROM _ingest_a
            WHERE respondent_id_v IS NOT NULL AND question_id_v IS NOT NULL
              AND _key IN (SELECT _key FROM keys)
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
    # 3. The rows that fail a rule, with the rule of the whole file added.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _ingest_fails AS
        SELECT _row, _fails FROM (
            SELECT a._row, a._fails | ({_mask(rules, in_file)}) AS _fails
            FROM _ingest_a AS a LEFT JOIN (SELECT _row, {_FILE_LEVEL} FROM _ingest_dups) AS d USING (_row)
        )
        WHERE _fails <> 0
        """
    )
    failed = _failed(con, source, types)
    details = con.sql(
        """SELECT f._row, d._rows, CASE WHEN a._changed AND NOT $replace THEN a._existing_load END AS _existing_load
           FROM _ingest_fails AS f JOIN _ingest_a AS a USING (_row) LEFT JOIN _ingest_dups AS d USING (_row)""",
        params={"replace": replace},
    ).pl()
    notes = []
    good = """FROM _ingest_a AS a LEFT JOIN _ingest_dups AS d USING (_row)
              WHERE NOT EXISTS (SELECT 1 FROM _ingest_fails AS f WHERE f._row = a._row)"""
    if replace:
        replaced = con.execute(
            f"""INSERT INTO replacements
                SELECT $load, 'answers', a.respondent_id_v, a.question_id_v, a._existing_value, a.value_v,
                       a._existing_load {good} AND a._changed""",
            {"load": load_id},
        ).fetchone()[0]
        if replaced:
            con.execute(
                f"""DELETE FROM answers WHERE (respondent_id, question_id) IN
                    (SELECT (a.respondent_id_v, a.question_id_v) {good} AND a._changed)"""
            )
            notes.append(f"{integer(replaced)} antwoorden vervangen (--replace; zie tabel replacements)")
    flagged_before = _flagged(con, load_id)  # an earlier table of this load may have flagged answers too
    # 4. Insert the new rows; an answer whose routing answer is missing or says otherwise is flagged.
    # Without repeats and conflicts (step 2) a respondent answers each question once: no grouping needed.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _ingest_openers AS
        SELECT a.respondent_id_v, a.question_id_v, a.value_v
        FROM _ingest_a AS a LEFT JOIN _ingest_dups AS d USING (_row)
        WHERE a.question_id_v IN (SELECT condition_question FROM _ingest_questions) AND a.respondent_id_v IS NOT NULL
          AND NOT coalesce(d._repeat_same, FALSE) AND NOT coalesce(d._conflict_in_file, FALSE)
        """
    )
    new = con.execute(
        """
        INSERT INTO answers (respondent_id, question_id, value, value_num, answered_at, load_id, routing_flag)
        SELECT
            a.respondent_id_v, a.question_id_v, a.value_v, a.value_num, a.answered_at_v, $load,
            CASE WHEN a.condition_question IS NOT NULL AND a.kind IS NOT NULL
                      AND coalesce(coalesce(a._earlier_opener, o.value_v) <> a.condition_answer, TRUE)
                 THEN format('volgt op {} = {}, maar dat antwoord {}', a.condition_question, a.condition_answer,
                             CASE WHEN coalesce(a._earlier_opener, o.value_v) IS NULL THEN 'ontbreekt'
                                  ELSE 'is anders' END)
            END
        FROM _ingest_a AS a
        LEFT JOIN _ingest_dups AS d USING (_row)
        LEFT JOIN _ingest_openers AS o
            ON o.respondent_id_v = a.respondent_id_v AND o.question_id_v = a.condition_question
        WHERE NOT EXISTS (SELECT 1 FROM _ingest_fails AS f WHERE f._row = a._row)
          AND NOT coalesce(d._repeat_same, FALSE)
          AND NOT coalesce(a._existing_value = a.value_v, FALSE)
        """,
        {"load": load_id},
    ).fetchone()[0]
    flagged = _flagged(con, load_id) - flagged_before
    return AnswersOutcome(
        failed,
        new,
        notes,
        flagged,
        details.filter(pl.col("_rows").is_not_null()).select(ROW, "_rows"),
        details.filter(pl.col("_existing_load").is_not_null()).select(ROW, "_existing_load"),
    )


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
    return con.sql(
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
    ).pl()
