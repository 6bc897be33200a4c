"""Validated import of survey deliveries into the warehouse (DESIGN §4).

``ingest(db, paths)`` reads each file (CSV, Parquet or XLSX; the kind is told by its columns), validates every row
with the rules in ``keurmerk.ingest.rules``, loads the good rows and keeps every rejected row in ``quarantine``
with file, row, column, value and reason. For every table: rows read = rows loaded + rows quarantined. A file
whose bytes were loaded before is skipped, and rows already present unchanged are not loaded twice, so loading
the same delivery again changes nothing. All files of one call are published together as one new snapshot.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from keurmerk.catalog import catalog
from keurmerk.ingest.read import ROW, Problem, RawTable, UnreadableFile, read_file
from keurmerk.ingest.rules import (
    ANSWER_COLUMNS,
    INVITATION_COLUMNS,
    RESULT_COLUMNS,
    answer_rules,
    failures,
    invitation_rules,
    normalise_answers,
    normalise_invitations,
    normalise_results,
    result_rules,
)
from keurmerk.metrics import store_cube
from keurmerk.policy import load_policy
from keurmerk.warehouse import run_script, writer

__all__ = ["ingest", "IngestReport", "TableReport"]

Progress = Callable[[str], None]

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


@dataclass(frozen=True)
class TableReport:
    file: str
    kind: str
    rows_read: int
    rows_loaded: int
    rows_new: int
    rows_quarantined: int
    message: str = ""
    skipped: bool = False  # the same file was loaded before


@dataclass(frozen=True)
class IngestReport:
    db: Path
    load_id: int
    tables: tuple[TableReport, ...]
    quarantine: pl.DataFrame  # this load's quarantined rows: file, row_number, column_name, value, reason

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.tables)

    @property
    def nothing_loaded(self) -> bool:
        """True when files were offered and not one row of them could be loaded (the CLI then exits 1)."""
        fresh = [t for t in self.tables if not t.skipped]
        return bool(fresh) and all(t.rows_loaded == 0 for t in fresh)


def _kind(columns: Sequence[str]) -> str:
    present = set(columns)
    for kind, required in _REQUIRED.items():
        if required <= present:
            return kind
    return "unknown"


def _ignored_columns(columns: Sequence[str], kind: str) -> list[str]:
    """Columns outside the import format (contact data, notes): never stored, and said so."""
    known = {
        "invitations": set(INVITATION_COLUMNS),
        "answers": set(ANSWER_COLUMNS),
        "results": set(RESULT_COLUMNS),
    }.get(kind)
    return [] if known is None else [c for c in columns if c not in known and c != ROW]


def _signature(columns: Sequence[str]) -> pl.Expr:
    return pl.concat_str([pl.col(c).cast(pl.String).fill_null("∅") for c in columns], separator="\x1f")


def _ids(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, column: str) -> None:
    con.register("_ids", frame.select(pl.col(column).alias("respondent_id")).unique())


def _flag_duplicates(frame: pl.DataFrame, key: list[str], signature: pl.Expr) -> pl.DataFrame:
    """Mark repeats of a key within the file: same data (harmless) or other data (a conflict).

    Repeats are rare, so the detail (``signature``: the row's data as one string) is computed on the repeated keys
    only; the full frame gets two flags.
    """
    has_key = pl.all_horizontal(pl.col(k).is_not_null() for k in key)
    repeated = frame.filter(has_key & pl.struct(key).is_duplicated())
    conflict_rows: list[int] = []
    same_rows: list[int] = []
    if repeated.height:
        repeated = repeated.with_columns(_sig=signature)
        first_sig = pl.col("_sig").first().over(key)
        repeat = pl.col(ROW) != pl.col(ROW).min().over(key)
        flags = repeated.select(
            ROW, conflict=repeat & (pl.col("_sig") != first_sig), same=repeat & (pl.col("_sig") == first_sig)
        )
        conflict_rows = flags.filter("conflict")[ROW].to_list()
        same_rows = flags.filter("same")[ROW].to_list()
    return frame.with_columns(
        _conflict_in_file=pl.col(ROW).is_in(conflict_rows), _repeat_same=pl.col(ROW).is_in(same_rows)
    )


def _without(frame: pl.DataFrame, failed: pl.DataFrame) -> pl.DataFrame:
    if failed.height == 0:
        return frame
    return frame.filter(~pl.col(ROW).is_in(failed[ROW].unique().to_list()))


def _load_invitations(con: duckdb.DuckDBPyConnection, table: RawTable, load_id: int) -> tuple[pl.DataFrame, int]:
    frame = normalise_invitations(table.frame)
    signature = _signature(_INVITATION_SIGNATURE)
    frame = _flag_duplicates(frame, ["respondent_id_v"], signature).with_columns(_sig=signature)
    _ids(con, frame, "respondent_id_v")
    existing = con.sql(
        """SELECT respondent_id AS respondent_id_v, period AS period_v, provider_id AS provider_id_v,
                  audience AS audience_v, service AS service_v, province AS province_v,
                  questionnaire AS questionnaire_v, mode AS mode_v, reminded AS reminded_v, status AS status_v
           FROM invitations SEMI JOIN _ids USING (respondent_id)"""
    ).pl()
    existing = existing.select("respondent_id_v", _signature(_INVITATION_SIGNATURE).alias("_existing_sig"))
    frame = frame.join(existing, on="respondent_id_v", how="left").with_columns(
        _conflict_existing=pl.col("_existing_sig").is_not_null() & (pl.col("_existing_sig") != pl.col("_sig")),
        _already=pl.col("_existing_sig").is_not_null() & (pl.col("_existing_sig") == pl.col("_sig")),
    )
    failed = failures(frame, invitation_rules())
    good = _without(frame, failed)
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
    con.execute("INSERT INTO invitations SELECT * FROM _new")
    providers = good.select(provider_id="provider_id_v", provider_name="provider_name_v").unique(
        "provider_id", keep="last"
    )
    con.register("_providers", providers)
    con.execute("DELETE FROM providers WHERE provider_id IN (SELECT provider_id FROM _providers)")
    con.execute("INSERT INTO providers SELECT provider_id, provider_name FROM _providers")
    con.execute("INSERT INTO periods SELECT DISTINCT period FROM _new WHERE period NOT IN (SELECT period FROM periods)")
    return failed, new.height


def _load_answers(con: duckdb.DuckDBPyConnection, table: RawTable, load_id: int) -> tuple[pl.DataFrame, int]:
    frame = table.frame
    ids = frame.select(respondent_id_v=pl.col("respondent_id").str.strip_chars())
    _ids(con, ids, "respondent_id_v")
    respondents = con.sql(
        "SELECT respondent_id AS respondent_id_v, form, service AS service_v FROM invitations SEMI JOIN _ids USING (respondent_id)"
    ).pl()
    frame = normalise_answers(frame, respondents)
    frame = _flag_duplicates(frame, ["respondent_id_v", "question_id_v"], pl.col("value_v").fill_null("∅"))
    # Earlier answers of these respondents: for duplicates across deliveries and for routing.
    earlier = con.sql(
        "SELECT respondent_id AS respondent_id_v, question_id AS question_id_v, value AS value_v "
        "FROM answers SEMI JOIN _ids USING (respondent_id)"
    ).pl()
    earlier = earlier.with_columns(pl.col("respondent_id_v", "question_id_v").cast(pl.Categorical))
    if earlier.height:
        frame = frame.join(
            earlier.rename({"value_v": "_existing_value"}),
            on=["respondent_id_v", "question_id_v"],
            how="left",
        )
    else:  # the usual first delivery: nothing to compare with
        frame = frame.with_columns(_existing_value=pl.lit(None, pl.String))
    frame = frame.with_columns(
        _conflict_existing=pl.col("_existing_value").is_not_null() & (pl.col("_existing_value") != pl.col("value_v")),
        _already=pl.col("_existing_value").is_not_null() & (pl.col("_existing_value") == pl.col("value_v")),
    )
    # Routing: the answer that opens a question, from this file or an earlier delivery. Only the few questions
    # that are conditions, and the rows that depend on one, take part.
    condition_questions = frame["condition_question"].drop_nulls().unique().to_list()
    openers = (
        pl.concat(
            [
                earlier.filter(pl.col("question_id_v").cast(pl.String).is_in(condition_questions)),
                frame.filter(
                    pl.col("question_id_v").cast(pl.String).is_in(condition_questions)
                    & ~pl.col("_repeat_same")
                    & ~pl.col("_conflict_in_file")
                ).select("respondent_id_v", "question_id_v", "value_v"),
            ]
        )
        .unique(["respondent_id_v", "question_id_v"], keep="first")
        .with_columns(pl.col("question_id_v").cast(pl.String))
    )
    unopened = (
        frame.filter(pl.col("condition_question").is_not_null())
        .select(ROW, "respondent_id_v", "condition_question", "condition_answer")
        .join(
            openers.rename({"question_id_v": "condition_question", "value_v": "_opener"}),
            on=["respondent_id_v", "condition_question"],
            how="left",
        )
        .filter((pl.col("_opener") != pl.col("condition_answer")).fill_null(True))
    )
    frame = frame.with_columns(_unopened=pl.col(ROW).is_in(unopened[ROW].to_list()))
    failed = failures(frame, answer_rules())
    # Narrow first: copying ten million rows of forty working columns costs more than the checks themselves.
    new = _without(
        frame.select(
            ROW, "_repeat_same", "_already", "respondent_id_v", "question_id_v", "value_v", "value_num", "answered_at_v"
        ),
        failed,
    )
    new = new.filter(~pl.col("_repeat_same") & ~pl.col("_already")).select(
        respondent_id=pl.col("respondent_id_v").cast(pl.String),
        question_id=pl.col("question_id_v").cast(pl.String),
        value="value_v",
        value_num="value_num",
        answered_at="answered_at_v",
        load_id=pl.lit(load_id, pl.Int32),
    )
    con.register("_new", new)
    con.execute("INSERT INTO answers SELECT * FROM _new")
    return failed, new.height


def _load_results(con: duckdb.DuckDBPyConnection, table: RawTable, load_id: int) -> tuple[pl.DataFrame, int]:
    key = ["period_v", "provider_id_v", "service_v"]
    signature = _signature(["completed_v", "successful_v"])
    frame = _flag_duplicates(normalise_results(table.frame), key, signature).with_columns(_sig=signature)
    providers = con.sql("SELECT provider_id AS provider_id_v FROM providers").pl()
    existing = (
        con.sql(
            "SELECT period AS period_v, provider_id AS provider_id_v, service AS service_v, "
            "completed_trajectories AS completed_v, successful_trajectories AS successful_v FROM results"
        )
        .pl()
        .select(*key, _signature(["completed_v", "successful_v"]).alias("_existing_sig"))
    )
    frame = frame.join(existing, on=key, how="left").with_columns(
        _known_provider=pl.col("provider_id_v").is_in(providers["provider_id_v"].to_list()),
        _conflict_existing=pl.col("_existing_sig").is_not_null() & (pl.col("_existing_sig") != pl.col("_sig")),
        _already=pl.col("_existing_sig").is_not_null() & (pl.col("_existing_sig") == pl.col("_sig")),
    )
    failed = failures(frame, result_rules())
    new = (
        _without(frame, failed)
        .filter(~pl.col("_repeat_same") & ~pl.col("_already"))
        .select(
            period="period_v",
            provider_id="provider_id_v",
            service="service_v",
            completed_trajectories="completed_v",
            successful_trajectories="successful_v",
            load_id=pl.lit(load_id, pl.Int32),
        )
    )
    con.register("_new", new)
    con.execute("INSERT INTO results SELECT * FROM _new")
    return failed, new.height


def _unrecognised(table: RawTable) -> pl.DataFrame:
    """Every row of a table whose header fits no import kind goes to quarantine whole."""
    missing = {kind: sorted(required - set(table.frame.columns)) for kind, required in _REQUIRED.items()}
    reason = (
        "kolommen niet herkend; voor uitnodigingen ontbreekt: "
        + ", ".join(missing["invitations"])
        + "; voor antwoorden ontbreekt: "
        + ", ".join(missing["answers"])
        + "; voor resultaten ontbreekt: "
        + ", ".join(missing["results"])
    )
    data = table.frame.drop(ROW, strict=False)
    return pl.DataFrame(
        {
            ROW: table.frame[ROW] if ROW in table.frame.columns else [],
            "column_name": [None] * table.frame.height,
            "value": [json.dumps(row, ensure_ascii=False) for row in data.iter_rows(named=True)],
            "reason": [reason] * table.frame.height,
        },
        schema={ROW: pl.Int64, "column_name": pl.String, "value": pl.String, "reason": pl.String},
    )


def _quarantine_frame(table: RawTable, failed: pl.DataFrame, load_id: int) -> pl.DataFrame:
    structural = pl.DataFrame(
        [p.as_dict() for p in table.problems],
        schema={"row_number": pl.Int64, "column_name": pl.String, "value": pl.String, "reason": pl.String},
    )
    rows = pl.concat([structural, failed.rename({ROW: "row_number"})])
    return rows.select(
        pl.lit(load_id, pl.Int32).alias("load_id"),
        pl.lit(table.name).alias("file"),
        "row_number",
        "column_name",
        "value",
        "reason",
    ).sort("row_number", nulls_last=True)


def _read(path: Path) -> list[RawTable]:
    try:
        return read_file(path)
    except UnreadableFile as exc:
        return [RawTable(path.name, pl.DataFrame(), 0, [Problem(None, None, None, str(exc))])]


def ingest(db: str | Path, paths: Sequence[str | Path], progress: Progress | None = None) -> IngestReport:
    """Validate and load ``paths`` into the warehouse at ``db``, publishing one new snapshot."""
    db = Path(db)
    say = progress or (lambda _message: None)
    reports: list[TableReport] = []
    quarantined: list[pl.DataFrame] = []
    with writer(db) as con:
        load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_log").fetchall()[0][0]
        seen = {row[0] for row in con.sql("SELECT sha256 FROM load_log WHERE rows_loaded > 0").fetchall()}
        pending: list[tuple[str, RawTable, str]] = []
        for raw_path in paths:
            path = Path(raw_path)
            say(f"lezen: {path.name}")
            if not path.exists():
                reports.append(TableReport(path.name, "unknown", 0, 0, 0, 0, "bestand bestaat niet"))
                continue
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            if sha in seen:
                reports.append(TableReport(path.name, "-", 0, 0, 0, 0, "al eerder geladen; niets gewijzigd", True))
                continue
            seen.add(sha)
            pending += [(sha, table, _kind(table.frame.columns)) for table in _read(path)]
        # Invitations first, so that answers delivered in the same batch find their respondents.
        order = {"invitations": 0, "answers": 1, "results": 2, "unknown": 3}
        for sha, table, kind in sorted(pending, key=lambda item: order[item[2]]):
            say(f"valideren en laden: {table.name}")
            if kind == "invitations":
                failed, new = _load_invitations(con, table, load_id)
            elif kind == "answers":
                failed, new = _load_answers(con, table, load_id)
            elif kind == "results":
                failed, new = _load_results(con, table, load_id)
            else:
                failed, new = _unrecognised(table), 0
            rows = _quarantine_frame(table, failed, load_id)
            bad_rows = rows["row_number"].drop_nulls().n_unique()
            loaded = table.rows_read - bad_rows
            notes = [p.reason for p in table.problems if p.row is None]
            if table.rows_read == 0 and not table.problems:
                notes.append("leeg bestand (geen rijen)")
            if ignored := _ignored_columns(table.frame.columns, kind):
                notes.append("kolommen genegeerd (niet opgeslagen): " + ", ".join(ignored))
            message = "; ".join(notes)
            report = TableReport(table.name, kind, table.rows_read, loaded, new, bad_rows, message)
            reports.append(report)
            quarantined.append(rows)
            con.register("_quarantine", rows)
            con.execute("INSERT INTO quarantine SELECT * FROM _quarantine")
            con.execute(
                "INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    load_id,
                    table.name,
                    kind,
                    sha,
                    report.rows_read,
                    report.rows_loaded,
                    report.rows_new,
                    report.rows_quarantined,
                    message,
                    dt.datetime.now(),
                ],
            )
        say("voltooiing van vragenlijsten bepalen")
        policy = load_policy()
        cat = catalog()
        run_script(
            con,
            "refresh_completed.sql",
            {
                "min_share": policy.completed_aspect_share,
                "no_opinion_counts": policy.completed_no_opinion_answers,
                "no_opinion_values": [*cat.no_opinion, cat.not_applicable],
            },
        )
        say("kubussen voor de dashboards opslaan (benchmark, en per aanbieder)")
        store_cube(con)
        run_script(con, "record_publications.sql", {"now": dt.datetime.now(dt.UTC).replace(tzinfo=None)})
        say("publiceren")
    empty = pl.DataFrame(
        schema={
            "load_id": pl.Int32,
            "file": pl.String,
            "row_number": pl.Int64,
            "column_name": pl.String,
            "value": pl.String,
            "reason": pl.String,
        }
    )
    return IngestReport(db, load_id, tuple(reports), pl.concat([empty, *quarantined]))
