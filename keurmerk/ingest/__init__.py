"""Validated import of survey deliveries into the warehouse (DESIGN §4).

``ingest(db, paths)`` reads each file (CSV, Parquet or XLSX; the kind is told by its columns), validates every row
with the rules in ``keurmerk.ingest.rules``, loads the good rows and keeps every rejected row in ``quarantine``
with file, row, column, value and reason. For every table: rows read = rows loaded + rows quarantined. A file
whose bytes were offered before is skipped, and rows already present unchanged are not loaded twice, so loading
the same delivery again changes nothing. All files of one call are published together as one new snapshot.

The rules of turn 2 (README, import section): only the format's fields are kept; a file that cannot be read is
that file's problem (one Dutch line, the others load); conflicting values are held back, not guessed (``replace``
overrides, logged in ``replacements``); answers that break the routing are loaded with ``routing_flag``;
quarantined rows are retried at every ingest and marked resolved when they pass; a provider's new name is added
to its name history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from keurmerk.formatting import integer
from keurmerk.ingest.answers import load_answers
from keurmerk.ingest.format import ANSWER_COLUMNS, FORMAT_COLUMNS, INVITATION_COLUMNS, RESULT_COLUMNS
from keurmerk.ingest.read import ROW, RawTable, UnreadableFile, read_file
from keurmerk.ingest.rules import (
    CONFLICT_EXISTING,
    CONFLICT_IN_FILE,
    failures,
    invitation_rules,
    normalise_invitations,
    normalise_results,
    question_frame,
    result_rules,
)
from keurmerk.warehouse import polars_frame, refresh_completed, run_script, writer
from keurmerk.warehouse.cells import store_cells

__all__ = ["ingest", "purge_quarantine", "IngestReport", "TableReport"]

Progress = Callable[[str], None]

_COLUMNS = {"invitations": INVITATION_COLUMNS, "answers": ANSWER_COLUMNS, "results": RESULT_COLUMNS}
_REQUIRED = {
    "invitations": set(INVITATION_COLUMNS),
    "answers": set(ANSWER_COLUMNS) - {"answered_at"},
    "results": set(RESULT_COLUMNS),
}
_INVITATION_SIGNATURE = (
    "period_v",
    "provider_id_v",
    "audience_v",
    "service_v",
    "province_v",
    "questionnaire_v",
    "mode_v",
    "reminded_v",
    "status_v",
)
_QUARANTINE_SCHEMA = {
    "load_id": pl.Int32,
    "file": pl.String,
    "row_number": pl.Int64,
    "column_name": pl.String,
    "value": pl.String,
    "reason": pl.String,
    "kind": pl.String,
    "record": pl.String,
}
_FAILED_SCHEMA = {ROW: pl.Int64, "column_name": pl.String, "value": pl.String, "reason": pl.String}


@dataclass(frozen=True)
class TableReport:
    file: str
    kind: str
    rows_read: int
    rows_loaded: int
    rows_new: int
    rows_quarantined: int
    message: str = ""
    skipped: bool = False  # the same file was offered before
    unreadable: bool = False  # the file as a whole could not be read: message says why


@dataclass(frozen=True)
class IngestReport:
    db: Path
    load_id: int
    tables: tuple[TableReport, ...]
    quarantine: pl.DataFrame  # this load's quarantined rows: file, row_number, column_name, value, reason
    notes: tuple[str, ...] = ()  # warnings about the load as a whole (clean-up, retry, routing, names, --replace)
    recovered: int = 0  # quarantined rows of earlier loads that loaded now (retry)
    routing_flagged: int = 0  # answers loaded with a routing flag

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.tables)

    @property
    def nothing_loaded(self) -> bool:
        """True when files were offered and not one row of them could be loaded (the CLI then exits 1)."""
        fresh = [t for t in self.tables if not t.skipped]
        return bool(fresh) and all(t.rows_loaded == 0 for t in fresh) and not self.recovered


@dataclass
class _Outcome:
    failed: pl.DataFrame  # _row, column_name, value, reason
    new: int
    notes: list[str]
    flagged: int = 0


def _kind(columns: Sequence[str]) -> str:
    present = set(columns)
    for kind, required in _REQUIRED.items():
        if required <= present:
            return kind
    return "unknown"


def _signature(columns: Sequence[str]) -> pl.Expr:
    return pl.concat_str([pl.col(c).cast(pl.String).fill_null("∅") for c in columns], separator="\x1f")


def _ids(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, column: str) -> None:
    con.register("_ids", frame.select(pl.col(column).alias("respondent_id")))  # read by a SEMI JOIN: repeats are fine


def _rows_text(rows: list[int]) -> str:
    shown = [str(r) for r in rows[:5]] + (["…"] if len(rows) > 5 else [])
    return "rijen " + (", ".join(shown[:-1]) + " en " + shown[-1] if len(shown) > 1 else shown[0])


def _flag_duplicates(frame: pl.DataFrame, key: list[str], signature: pl.Expr) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Mark repeats of a key within the file: the same data (harmless: the first loads) or other data (a conflict:
    none loads, DESIGN §4). Returns the frame with two flags, and per conflicting row the rows it conflicts with.

    Repeats are rare, so the detail (``signature``: the row's data as one string) is computed on the repeated keys
    only; the full frame gets two flags.
    """
    has_key = pl.all_horizontal(pl.col(k).is_not_null() for k in key)
    repeated = frame.filter(has_key & pl.struct(key).is_duplicated())
    details = pl.DataFrame(schema={ROW: pl.Int64, "_detail": pl.String})
    same_rows: list[int] = []
    if repeated.height:
        repeated = repeated.select(ROW, *key, _sig=signature)
        groups = repeated.group_by(key).agg(
            _n_sig=pl.col("_sig").n_unique(), _rows=pl.col(ROW).sort(), _first=pl.col(ROW).min()
        )
        repeated = repeated.join(groups, on=key, how="left", nulls_equal=True)
        same_rows = repeated.filter((pl.col("_n_sig") == 1) & (pl.col(ROW) != pl.col("_first")))[ROW].to_list()
        details = pl.DataFrame(
            [
                (row, f"{_rows_text(rows)}; geen ervan geladen")
                for row, rows in repeated.filter(pl.col("_n_sig") > 1).select(ROW, "_rows").iter_rows()
            ],
            schema={ROW: pl.Int64, "_detail": pl.String},
            orient="row",
        )
    conflict_rows = details[ROW].to_list()
    return (
        frame.with_columns(
            _conflict_in_file=pl.col(ROW).is_in(conflict_rows), _repeat_same=pl.col(ROW).is_in(same_rows)
        ),
        details,
    )


def _existing_details(frame: pl.DataFrame, held: bool = False) -> pl.DataFrame:
    """Per row held back for changing a loaded row: which load holds the current value. ``held``: ``frame`` has
    those rows only."""
    held = (frame if held else frame.filter(pl.col("_conflict_existing"))).select(ROW, "_existing_load")
    return held.select(
        ROW,
        _detail=pl.format(
            "geladen in laadronde {}; niet gewijzigd (vervangen kan met `keurmerk ingest --replace`)",
            pl.col("_existing_load"),
        ),
    )


def _with_details(failed: pl.DataFrame, reason: str, details: pl.DataFrame) -> pl.DataFrame:
    """Append to ``reason`` the rows or load it is about (a rule's reason is fixed text; the detail is per row)."""
    if failed.height == 0 or details.height == 0:
        return failed
    return (
        failed.join(details, on=ROW, how="left")
        .with_columns(
            reason=pl.when((pl.col("reason") == reason) & pl.col("_detail").is_not_null())
            .then(pl.format("{} ({})", pl.col("reason"), pl.col("_detail")))
            .otherwise(pl.col("reason"))
        )
        .drop("_detail")
    )


def _without(frame: pl.DataFrame, failed: pl.DataFrame) -> pl.DataFrame:
    if failed.height == 0:
        return frame
    return frame.filter(~pl.col(ROW).is_in(failed[ROW].unique().to_list()))


def _load_invitations(con: duckdb.DuckDBPyConnection, table: RawTable, load_id: int, replace: bool = False) -> _Outcome:
    frame = normalise_invitations(table.frame)
    signature = _signature(_INVITATION_SIGNATURE)
    frame, in_file = _flag_duplicates(frame, ["respondent_id_v"], signature)
    _ids(con, frame, "respondent_id_v")
    existing = polars_frame(con.sql(
        """SELECT respondent_id AS respondent_id_v, period AS period_v, provider_id AS provider_id_v,
                  audience AS audience_v, service AS service_v, province AS province_v,
                  questionnaire AS questionnaire_v, mode AS mode_v, reminded AS reminded_v, status AS status_v,
                  load_id AS _existing_load
           FROM invitations SEMI JOIN _ids USING (respondent_id)"""
    ))
    existing = existing.select(
        "respondent_id_v", "_existing_load", _signature(_INVITATION_SIGNATURE).alias("_existing_sig")
    )
    # The row's data as one string, to compare with a loaded row: only needed when there is one (a first delivery
    # of ten million rows has none).
    frame = frame.with_columns(_sig=signature if existing.height else pl.lit(None, pl.String))
    changed = pl.col("_existing_sig").is_not_null() & (pl.col("_existing_sig") != pl.col("_sig"))
    frame = frame.join(existing, on="respondent_id_v", how="left").with_columns(
        _replace=changed & pl.lit(replace),
        _conflict_existing=changed & pl.lit(not replace),
        _already=pl.col("_existing_sig").is_not_null() & (pl.col("_existing_sig") == pl.col("_sig")),
    )
    failed = failures(frame, invitation_rules())
    failed = _with_details(failed, CONFLICT_IN_FILE["invitations"], in_file)
    failed = _with_details(failed, CONFLICT_EXISTING["invitations"], _existing_details(frame))
    good = _without(frame, failed)
    notes = []
    replaced = good.filter("_replace")
    if replaced.height:
        con.register("_replaced", replaced.select("respondent_id_v", "_existing_load", "_sig"))
        con.execute(
            """INSERT INTO replacements
               SELECT ?, 'invitations', respondent_id_v, NULL, NULL, NULL, _existing_load FROM _replaced""",
            [load_id],
        )
        con.execute("DELETE FROM invitations WHERE respondent_id IN (SELECT respondent_id_v FROM _replaced)")
        notes.append(f"{integer(replaced.height)} uitnodigingen vervangen (--replace; zie tabel replacements)")
    new = good.filter(~pl.col("_repeat_same") & ~pl.col("_already")).select(
        respondent_id="respondent_id_v",
        period="period_v",
        provider_id="provider_id_v",
        audience="audience_v",
        service="service_v",
        province="province_v",
        questionnaire="questionnaire_v",
        form="form",
        mode="mode_v",
        reminded="reminded_v",
        status="status_v",
        completed=pl.lit(False),
        load_id=pl.lit(load_id, pl.Int32),
    )
    con.register("_new", new)
    con.execute(
        "INSERT INTO invitations (respondent_id, period, provider_id, audience, service, province, questionnaire, "
        "form, mode, reminded, status, completed, load_id) SELECT * FROM _new"
    )
    notes += _record_provider_names(con, good, load_id)
    con.execute("INSERT INTO periods SELECT DISTINCT period FROM _new WHERE period NOT IN (SELECT period FROM periods)")
    return _Outcome(failed, new.height, notes)


def _record_provider_names(con: duckdb.DuckDBPyConnection, good: pl.DataFrame, load_id: int) -> list[str]:
    """Add the delivered names to each provider's name history; a new name is a warning, never a silent rename.

    A name holds from the first period it was delivered for; ``providers`` keeps the latest name for readers that
    want one name per provider."""
    delivered = (
        good.group_by(provider_id="provider_id_v", provider_name="provider_name_v")
        .agg(valid_from=pl.col("period_v").min())
        .drop_nulls()
    )
    if delivered.height == 0:
        return []
    con.register("_delivered", delivered)
    # A warehouse written before the history existed: its current names become the first entries.
    con.execute(
        """INSERT INTO provider_names
           SELECT p.provider_id, p.provider_name,
                  (SELECT min(period) FROM invitations AS i WHERE i.provider_id = p.provider_id), 0
           FROM providers AS p
           WHERE p.provider_id IN (SELECT provider_id FROM _delivered)
             AND p.provider_id NOT IN (SELECT provider_id FROM provider_names)"""
    )
    changes = con.execute(
        """SELECT d.provider_id, d.provider_name, d.valid_from,
                  (SELECT string_agg(DISTINCT '''' || n.provider_name || '''', ', ') FROM provider_names AS n
                   WHERE n.provider_id = d.provider_id) AS earlier
           FROM _delivered AS d
           WHERE NOT EXISTS (SELECT 1 FROM provider_names AS n
                             WHERE n.provider_id = d.provider_id AND n.provider_name = d.provider_name)
             AND (EXISTS (SELECT 1 FROM provider_names AS n WHERE n.provider_id = d.provider_id)
                  OR (SELECT count(*) FROM _delivered AS o WHERE o.provider_id = d.provider_id) > 1)
           ORDER BY d.provider_id, d.valid_from"""
    ).fetchall()
    con.execute(
        """UPDATE provider_names AS n SET valid_from = d.valid_from FROM _delivered AS d
           WHERE n.provider_id = d.provider_id AND n.provider_name = d.provider_name
             AND (n.valid_from IS NULL OR d.valid_from < n.valid_from)"""
    )
    con.execute(
        """INSERT INTO provider_names
           SELECT d.provider_id, d.provider_name, d.valid_from, ? FROM _delivered AS d
           WHERE NOT EXISTS (SELECT 1 FROM provider_names AS n
                             WHERE n.provider_id = d.provider_id AND n.provider_name = d.provider_name)""",
        [load_id],
    )
    con.execute("DELETE FROM providers WHERE provider_id IN (SELECT provider_id FROM _delivered)")
    con.execute(
        """INSERT INTO providers
           SELECT provider_id, arg_max(provider_name, (coalesce(valid_from, 0), load_id)) FROM provider_names
           WHERE provider_id IN (SELECT provider_id FROM _delivered) GROUP BY provider_id"""
    )
    return [
        f"aanbieder {pid} heeft een nieuwe naam: '{name}' vanaf periode {since}"
        + (f" (eerder: {earlier})" if earlier else "")
        for pid, name, since, earlier in changes
    ]


def _load_answers(con: duckdb.DuckDBPyConnection, table: RawTable, load_id: int, replace: bool = False) -> _Outcome:
    outcome = load_answers(con, table, load_id, replace)
    in_file = pl.DataFrame(
        [(row, f"{_rows_text(rows)}; geen ervan geladen") for row, rows in outcome.conflicts_in_file.iter_rows()],
        schema={ROW: pl.Int64, "_detail": pl.String},
        orient="row",
    )
    failed = _with_details(outcome.failed, CONFLICT_IN_FILE["answers"], in_file)
    failed = _with_details(
        failed, CONFLICT_EXISTING["answers"], _existing_details(outcome.conflicts_existing, held=True)
    )
    notes = outcome.notes
    if outcome.flagged:
        notes.append(
            f"{integer(outcome.flagged)} antwoorden met een routingprobleem geladen en gemarkeerd "
            "(answers.routing_flag); ze tellen niet mee in de basis van hun figuur"
        )
    return _Outcome(failed, outcome.new, notes, outcome.flagged)


def _load_results(con: duckdb.DuckDBPyConnection, table: RawTable, load_id: int, replace: bool = False) -> _Outcome:
    key = ["period_v", "provider_id_v", "service_v"]
    signature = _signature(["completed_v", "successful_v"])
    frame, in_file = _flag_duplicates(normalise_results(table.frame), key, signature)
    frame = frame.with_columns(_sig=signature)
    providers = polars_frame(con.sql("SELECT provider_id AS provider_id_v FROM providers"))
    existing = (
        polars_frame(con.sql(
            "SELECT period AS period_v, provider_id AS provider_id_v, service AS service_v, "
            "completed_trajectories AS completed_v, successful_trajectories AS successful_v, "
            "load_id AS _existing_load FROM results"
        ))
        .select(*key, "_existing_load", _signature(["completed_v", "successful_v"]).alias("_existing_sig"))
    )
    changed = pl.col("_existing_sig").is_not_null() & (pl.col("_existing_sig") != pl.col("_sig"))
    frame = frame.join(existing, on=key, how="left").with_columns(
        _known_provider=pl.col("provider_id_v").is_in(providers["provider_id_v"].to_list()),
        _replace=changed & pl.lit(replace),
        _conflict_existing=changed & pl.lit(not replace),
        _already=pl.col("_existing_sig").is_not_null() & (pl.col("_existing_sig") == pl.col("_sig")),
    )
    failed = failures(frame, result_rules())
    failed = _with_details(failed, CONFLICT_IN_FILE["results"], in_file)
    failed = _with_details(failed, CONFLICT_EXISTING["results"], _existing_details(frame))
    good = _without(frame, failed)
    notes = []
    replaced = good.filter("_replace")
    if replaced.height:
        con.register("_replaced", replaced.select(*key, "_existing_load"))
        con.execute(
            "INSERT INTO replacements SELECT ?, 'results', NULL, NULL, NULL, NULL, _existing_load FROM _replaced",
            [load_id],
        )
        con.execute(
            """DELETE FROM results WHERE (period, provider_id, service) IN
               (SELECT (period_v, provider_id_v, service_v) FROM _replaced)"""
        )
        notes.append(f"{integer(replaced.height)} resultaatrijen vervangen (--replace; zie tabel replacements)")
    new = good.filter(~pl.col("_repeat_same") & ~pl.col("_already")).select(
        period="period_v",
        provider_id="provider_id_v",
        service="service_v",
        completed_trajectories="completed_v",
        successful_trajectories="successful_v",
        load_id=pl.lit(load_id, pl.Int32),
    )
    con.register("_new", new)
    con.execute("INSERT INTO results SELECT * FROM _new")
    return _Outcome(failed, new.height, notes)


_LOADERS = {"invitations": _load_invitations, "answers": _load_answers, "results": _load_results}


def _unrecognised(table: RawTable) -> pl.DataFrame:
    """Every row of a table whose header fits no import kind goes to quarantine, keeping only the format fields
    it has (often none: a sheet of names and addresses keeps nothing but its row numbers)."""
    missing = {kind: sorted(required - set(table.frame.columns)) for kind, required in _REQUIRED.items()}
    reason = (
        "kolommen niet herkend; voor uitnodigingen ontbreekt: "
        + ", ".join(missing["invitations"])
        + "; voor antwoorden ontbreekt: "
        + ", ".join(missing["answers"])
        + "; voor resultaten ontbreekt: "
        + ", ".join(missing["results"])
    )
    known = [c for c in table.frame.columns if c in FORMAT_COLUMNS]
    value = pl.struct(known).struct.json_encode() if known else pl.lit(None, pl.String)
    if ROW not in table.frame.columns:
        return pl.DataFrame(schema=_FAILED_SCHEMA)
    return table.frame.select(ROW, column_name=pl.lit(None, pl.String), value=value, reason=pl.lit(reason))


def _quarantine_frame(table: RawTable, kind: str, failed: pl.DataFrame, load_id: int) -> pl.DataFrame:
    structural = pl.DataFrame(
        [p.as_dict() for p in table.problems],
        schema={"row_number": pl.Int64, "column_name": pl.String, "value": pl.String, "reason": pl.String},
    )
    rows = pl.concat([structural, failed.select(pl.col(ROW).alias("row_number"), "column_name", "value", "reason")])
    record = pl.lit(None, pl.String)
    if "record" in failed.columns:  # validated in DuckDB: the record came with the failures
        records = failed.select(pl.col(ROW).alias("row_number"), _record="record").unique("row_number")
        rows = rows.join(records, on="row_number", how="left")
        record = pl.col("_record")
    elif kind in _COLUMNS and failed.height:
        # The row's format fields, so that a later ingest can retry it (their invitations may arrive later).
        columns = [c for c in _COLUMNS[kind] if c in table.frame.columns]
        records = table.frame.filter(pl.col(ROW).is_in(failed[ROW].unique().to_list())).select(
            pl.col(ROW).alias("row_number"),
            _record=pl.struct(pl.col(columns).cast(pl.String)).struct.json_encode(),
        )
        rows = rows.join(records, on="row_number", how="left")
        record = pl.col("_record")
    return rows.select(
        pl.lit(load_id, pl.Int32).alias("load_id"),
        pl.lit(table.name).alias("file"),
        "row_number",
        "column_name",
        "value",
        "reason",
        pl.lit(kind).alias("kind"),
        record.alias("record"),
    ).sort("row_number", nulls_last=True, maintain_order=True)


def _insert_quarantine(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> None:
    con.register("_quarantine", rows)
    con.execute(
        "INSERT INTO quarantine (load_id, file, row_number, column_name, value, reason, kind, record) "
        "SELECT * FROM _quarantine"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _log(con: duckdb.DuckDBPyConnection, load_id: int, report: TableReport, sha: str | None) -> None:
    con.execute(
        "INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            report.file,
            report.kind,
            sha,
            report.rows_read,
            report.rows_loaded,
            report.rows_new,
            report.rows_quarantined,
            report.message,
            dt.datetime.now(),
        ],
    )


def _cause(exc: BaseException) -> str:
    """A Dutch cause for an unexpected error, without the error's text (it may quote a delivered value)."""
    return f"kon niet worden geladen (onverwachte fout: {type(exc).__name__}); niets uit dit bestand geladen"


def _load_table(
    con: duckdb.DuckDBPyConnection, table: RawTable, kind: str, load_id: int, replace: bool
) -> tuple[TableReport, pl.DataFrame, _Outcome | None]:
    """Validate and load one table in its own transaction: an unexpected error undoes that table only. A large
    table comes in parts by respondent, validated and committed one after the other (memory bound)."""
    con.execute("BEGIN TRANSACTION")
    try:
        total = _Outcome(pl.DataFrame(schema=_FAILED_SCHEMA), 0, [])
        parts = []
        done_parts = 0
        for part in table.iter_parts():
            outcome = (
                _LOADERS[kind](con, part, load_id, replace)
                if kind in _LOADERS
                else _Outcome(_unrecognised(part), 0, [])
            )
            rows = _quarantine_frame(part, kind, outcome.failed, load_id)
            _insert_quarantine(con, rows)
            parts.append(rows)
            if table.parts:  # DuckDB holds an open transaction's appends in memory: one per part
                con.execute("COMMIT")
                con.execute("BEGIN TRANSACTION")
                done_parts += 1
            total.new += outcome.new
            total.flagged += outcome.flagged
            total.notes += [n for n in outcome.notes if n not in total.notes]
        con.execute("COMMIT")
    except Exception as exc:  # noqa: BLE001 - one bad table must not stop the others (DESIGN §4)
        con.execute("ROLLBACK")
        message = _cause(exc)
        if done_parts:  # a large table: its first parts are in; offering the file again loads the rest once
            message = (
                f"kon niet volledig worden geladen (onverwachte fout: {type(exc).__name__}); {done_parts} van "
                f"{len(table.parts)} delen geladen, lever het bestand opnieuw aan voor de rest"
            )
        return TableReport(table.name, kind, table.rows_read, 0, 0, 0, message, unreadable=True), _empty(), None
    rows = pl.concat([_empty(), *parts])
    bad_rows = rows["row_number"].drop_nulls().n_unique()
    notes = [p.reason for p in table.problems if p.row is None]
    if table.rows_read == 0 and not table.problems:
        notes.append("leeg bestand (geen rijen)")
    if table.ignored_columns:
        notes.append("kolommen genegeerd (niet opgeslagen): " + ", ".join(table.ignored_columns))
    notes += total.notes
    report = TableReport(
        table.name, kind, table.rows_read, table.rows_read - bad_rows, total.new, bad_rows, "; ".join(notes)
    )
    return report, rows, total


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=_QUARANTINE_SCHEMA)


def _retry(con: duckdb.DuckDBPyConnection, load_id: int, replace: bool, say: Progress) -> tuple[int, list[str]]:
    """Offer every unresolved quarantined row (of a kind we know) to the rules again; mark those that load now.

    A row that still fails stays as it is, with its first reason: retrying never adds quarantine rows."""
    pending = polars_frame(con.sql(
        """SELECT kind, load_id, file, row_number, any_value(record) AS record FROM quarantine
           WHERE resolved_load_id IS NULL AND record IS NOT NULL AND load_id < $load
           GROUP BY ALL ORDER BY load_id, file, row_number""",
        params={"load": load_id},
    ))
    recovered, notes = 0, []
    for kind in ("invitations", "answers", "results"):
        part = (
            pending.filter(pl.col("kind") == kind)
            .with_row_index(ROW, offset=1)
            .with_columns(pl.col(ROW).cast(pl.Int64))
        )
        if part.height == 0:
            continue
        say(f"quarantaine opnieuw proberen: {integer(part.height)} {kind}")
        fields = pl.Struct({c: pl.String for c in _COLUMNS[kind]})
        frame = part.select(ROW, pl.col("record").str.json_decode(fields).alias("r")).unnest("r")
        table = RawTable(f"quarantaine ({kind})", frame, part.height)
        con.execute("BEGIN TRANSACTION")
        try:
            outcome = _LOADERS[kind](con, table, load_id, replace)
            passed = part.filter(~pl.col(ROW).is_in(outcome.failed[ROW].unique().to_list()))
            con.register("_passed", passed.select("load_id", "file", "row_number"))
            con.execute(
                """UPDATE quarantine AS q SET resolved_load_id = ? FROM _passed AS p
                   WHERE q.load_id = p.load_id AND q.file = p.file AND q.row_number = p.row_number""",
                [load_id],
            )
            con.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - a failed retry leaves the quarantine as it was
            con.execute("ROLLBACK")
            notes.append(f"quarantaine ({kind}) opnieuw proberen mislukt: {_cause(exc)}")
            continue
        recovered += passed.height
        notes += outcome.notes
    if recovered:
        notes.insert(0, f"hersteld uit de quarantaine: {integer(recovered)} rijen van eerdere laadrondes geladen")
    return recovered, notes


def ingest(
    db: str | Path,
    paths: Sequence[str | Path],
    progress: Progress | None = None,
    replace: bool = False,
    retry: bool = True,
) -> IngestReport:
    """Validate and load ``paths`` into the warehouse at ``db``, publishing one new snapshot.

    ``replace``: a delivered row that changes a loaded one replaces it (logged in ``replacements``) instead of
    being held back. ``retry``: quarantined rows of earlier loads are offered to the rules again."""
    db = Path(db)
    say = progress or (lambda _message: None)
    notes: list[str] = []
    try:
        return _ingest(db, paths, say, replace, retry, notes)
    finally:  # the parts of large tables, spilled next to the warehouse
        shutil.rmtree(db.with_name(f"{db.name}.work-{os.getpid()}.spill"), ignore_errors=True)


def _ingest(
    db: Path, paths: Sequence[str | Path], say: Progress, replace: bool, retry: bool, notes: list[str]
) -> IngestReport:
    reports: list[TableReport] = []
    quarantined: list[pl.DataFrame] = []
    recovered = flagged = 0
    with writer(db, on_cleanup=notes.append) as con:
        load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_log").fetchall()[0][0]
        seen = dict(con.sql("SELECT sha256, min(load_id) FROM load_log WHERE sha256 IS NOT NULL GROUP BY 1").fetchall())
        pending: list[tuple[str, RawTable, str]] = []
        for number, raw_path in enumerate(paths):
            path = Path(raw_path)
            say(f"lezen: {path.name}")
            try:
                if not path.exists():
                    raise UnreadableFile(f"{path.name}: bestand bestaat niet")
                if path.is_dir():
                    raise UnreadableFile(f"{path.name}: is een map, geen bestand")
                sha = _sha256(path)
                if sha in seen:
                    reports.append(
                        TableReport(
                            path.name,
                            "-",
                            0,
                            0,
                            0,
                            0,
                            f"al eerder aangeleverd (laadronde {seen[sha]}); niets gewijzigd. Afgekeurde rijen "
                            "staan in de quarantaine en worden bij elke laadronde opnieuw geprobeerd",
                            skipped=True,
                        )
                    )
                    continue
                spill = db.with_name(f"{db.name}.work-{os.getpid()}.spill") / f"{number:04d}"
                tables = read_file(path, spill)
            except UnreadableFile as exc:
                reports.append(TableReport(path.name, "-", 0, 0, 0, 0, str(exc), unreadable=True))
                _log(con, load_id, reports[-1], None)
                continue
            except Exception as exc:  # noqa: BLE001 - any input gets one line, never a traceback
                reports.append(
                    TableReport(
                        path.name,
                        "-",
                        0,
                        0,
                        0,
                        0,
                        f"{path.name}: kan niet worden gelezen ({type(exc).__name__})",
                        unreadable=True,
                    )
                )
                _log(con, load_id, reports[-1], None)
                continue
            seen[sha] = load_id
            pending += [(sha, table, _kind(table.frame.columns)) for table in tables]
        # Invitations first, so that answers delivered in the same batch find their respondents.
        order = {"invitations": 0, "answers": 1, "results": 2, "unknown": 3}
        for sha, table, kind in sorted(pending, key=lambda item: order[item[2]]):
            say(f"valideren en laden: {table.name}")
            report, rows, outcome = _load_table(con, table, kind, load_id, replace)
            # Loaded rows stay in memory until a checkpoint writes them to the work file: the next table (answers
            # after their invitations) then has the writer's memory to itself.
            con.execute("CHECKPOINT")
            reports.append(report)
            quarantined.append(rows)
            flagged += outcome.flagged if outcome else 0
            _log(con, load_id, report, None if report.unreadable else sha)
        if retry:
            recovered, retry_notes = _retry(con, load_id, replace, say)
            notes += retry_notes
        if cleared := _clear_routing_flags(con):
            notes.append(f"routing: {integer(cleared)} eerder gemarkeerde antwoorden hebben nu hun voorgaande antwoord")
        if flagged:
            notes.append(
                f"routing: {integer(flagged)} antwoorden zonder het antwoord dat naar hun vraag leidt, geladen met "
                "een markering (answers.routing_flag)"
            )
        notes += [f"{r.file}: {n}" for r in reports for n in r.message.split("; ") if n.startswith("aanbieder ")]
        say("voltooiing van vragenlijsten bepalen")
        refresh_completed(con, load_id)
        say("kubussen voor de dashboards opslaan (benchmark, en per aanbieder)")
        store_cells(con)
        run_script(con, "record_publications.sql", {"now": dt.datetime.now(dt.UTC).replace(tzinfo=None)})
        say("publiceren")
    return IngestReport(
        db, load_id, tuple(reports), pl.concat([_empty(), *quarantined]), tuple(notes), recovered, flagged
    )


def _clear_routing_flags(con: duckdb.DuckDBPyConnection) -> int:
    """Clear the flag of answers whose routing answer arrived in a later delivery.

    One statement inside DuckDB: flagged answers can be every free text of a large file, too many to fetch."""
    conditions = question_frame().select(
        pl.col("form").cast(pl.String),
        pl.col("question_id_v").cast(pl.String).alias("question_id"),
        "condition_question",
        "condition_answer",
    )
    con.register("_conditions", conditions)
    try:
        return con.execute(
            """UPDATE answers SET routing_flag = NULL
               WHERE routing_flag IS NOT NULL AND (respondent_id, question_id) IN (
                   SELECT (a.respondent_id, a.question_id)
                   FROM answers AS a
                   JOIN invitations AS i USING (respondent_id)
                   JOIN _conditions AS c ON c.form = i.form AND c.question_id = a.question_id
                   JOIN answers AS o ON o.respondent_id = a.respondent_id AND o.question_id = c.condition_question
                                    AND o.value = c.condition_answer
                   WHERE a.routing_flag IS NOT NULL)"""
        ).fetchone()[0]
    finally:
        con.unregister("_conditions")


def purge_quarantine(db: str | Path, before: dt.date) -> int:
    """Remove quarantine rows of loads made before ``before`` (retention, README); returns how many."""
    with writer(db) as con:
        count = con.execute(
            """SELECT count(*) FROM quarantine
               WHERE load_id IN (SELECT load_id FROM load_log WHERE loaded_at < ?)""",
            [before],
        ).fetchall()[0][0]
        con.execute(
            "DELETE FROM quarantine WHERE load_id IN (SELECT load_id FROM load_log WHERE loaded_at < ?)", [before]
        )
    return count
