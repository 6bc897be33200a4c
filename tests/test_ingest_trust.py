"""An import you can trust with personal data (issue 17): nothing private kept, every bad file its own clear error,
conflicts held back, routing problems flagged, quarantine retried, floats as whole numbers, provider name history,
crash clean-up. Every test starts from the small valid delivery of test_ingest_bad_input.py.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from keurmerk.cli import app
from keurmerk.ingest import ingest
from tests.test_ingest_bad_input import ANSWERS, BASE_ANSWERS, BASE_INVITATIONS, INVITATIONS, RESULTS, _counts, _write

PERSONAL = (
    "Jan Jansen",
    "jan.jansen@example.nl",
    "06-12345678",
    "Fatima El Amrani",
    "fatima@voorbeeld.nl",
    "0612349876",
)


def _rows(text: str) -> tuple[str, list[str]]:
    header, *rows = text.strip().split("\n")
    return header, rows


def _frame(text: str) -> pl.DataFrame:
    return pl.read_csv(text.encode(), separator=";", infer_schema=False)


def _all_text(db: Path) -> dict[str, str]:
    """Every text column of every table, as one string per table.column."""
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
        ).fetchall()
        return {
            f"{t}.{c}": "\x1f".join(v for (v,) in con.execute(f'SELECT "{c}" FROM "{t}"').fetchall() if v)
            for t, c in columns
        }


# --- 1. no personal data at rest ---------------------------------------------------------------------------------


def _personal_delivery(directory: Path) -> list[Path]:
    """The same delivery through every route, full of names, e-mail addresses and phone numbers."""
    import xlsxwriter as xw

    directory.mkdir()
    header, rows = _rows(INVITATIONS)
    # CSV with extra contact columns, a line with a stray comma-like delimiter and a truncated line.
    contact = ";naam;email;telefoon"
    csv_rows = [f"{row};Jan Jansen;jan.jansen@example.nl;06-12345678" for row in rows]
    csv_rows.append(
        "2024;P001;Voorbeeld; Re-integratie;R7;client;8;PV27;regular;email;true;delivered;Fatima El Amrani;fatima@voorbeeld.nl;0612349876"
    )
    csv_rows.append("2024;P001;Jan Jansen;jan.jansen@example.nl")
    (directory / "invitations.csv").write_text("\n".join([header + contact, *csv_rows]) + "\n", encoding="utf-8")
    # Answers without `value`, but with an e-mail column: an unknown table, every row to quarantine.
    (directory / "answers_zonder_value.csv").write_text(
        "respondent_id;question_id;email\nR1;grade;jan.jansen@example.nl\nR2;grade;fatima@voorbeeld.nl\n",
        encoding="utf-8",
    )
    # Quoted CSV whose contact column holds bytes that are not UTF-8.
    quoted = (
        b'respondent_id;question_id;value;answered_at;email\n"R1";"grade";"8";"";"jan.jansen@example.nl"\n'
        + b'"R2";"grade";"7,5";"";"fatima\xe9@voorbeeld.nl"\n'
    )
    (directory / "answers_quoted.csv").write_bytes(quoted)
    # Workbook: the delivery plus a contact column and an extra sheet of names and addresses.
    with xw.Workbook(directory / "levering.xlsx") as workbook:
        _frame(INVITATIONS).with_columns(email=pl.lit("jan.jansen@example.nl")).write_excel(workbook, "uitnodigingen")
        _frame(ANSWERS).write_excel(workbook, "antwoorden")
        pl.DataFrame(
            {"naam": ["Jan Jansen", "Fatima El Amrani"], "email": ["jan.jansen@example.nl", "fatima@voorbeeld.nl"]}
        ).write_excel(workbook, "contact")
    # Parquet with contact columns, one of them a list (a type the format does not know: dropped, not an error).
    _frame(INVITATIONS).with_columns(
        naam=pl.lit("Fatima El Amrani"), telefoons=pl.lit(["0612349876", "06-12345678"], pl.List(pl.String))
    ).write_parquet(directory / "invitations.parquet")
    _frame(ANSWERS).with_columns(email=pl.lit("fatima@voorbeeld.nl")).write_parquet(directory / "answers.parquet")
    # A routing problem and a conflict whose rows carry contact data next to them.
    (directory / "answers_more.csv").write_text(
        "respondent_id;question_id;value;answered_at;telefoon\nR4;provider_helped;ja;;06-12345678\n"
        "R4;grade;6;;0612349876\nR4;grade;7;;06-12345678\nR4,grade,8,Jan Jansen,jan.jansen@example.nl\n",
        encoding="utf-8",
    )
    return sorted(p for p in directory.iterdir())


def test_no_personal_data_in_any_table_or_in_the_cli_output(tmp_path: Path) -> None:
    files = _personal_delivery(tmp_path / "levering")
    db = tmp_path / "w.duckdb"
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "--db", str(db), *map(str, files)])
    assert result.exit_code == 0, result.output
    info = runner.invoke(app, ["info", "--db", str(db)])
    assert info.exit_code == 0, info.output
    assert _counts(db) == (BASE_INVITATIONS, BASE_ANSWERS + 1)  # the data did load (R4's provider_helped, flagged)
    text = _all_text(db)
    assert "quarantine.reason" in text and "answers.value" in text and "load_log.message" in text
    for secret in PERSONAL:
        assert secret not in result.output and secret not in info.output, secret
        leaks = [column for column, values in text.items() if secret.lower() in values.lower()]
        assert not leaks, f"{secret!r} stored in {leaks}"
    # The columns and sheets outside the format are named, so the deliverer knows what was dropped.
    assert "kolommen genegeerd (niet opgeslagen): naam, email, telefoon" in text["load_log.message"]
    assert "telefoons" in text["load_log.message"]
    with duckdb.connect(str(db), read_only=True) as con:
        contact_sheet = con.execute(
            "SELECT count(*), count(value) FROM quarantine WHERE file = 'levering.xlsx#contact'"
        ).fetchall()
        stray = con.execute("SELECT value FROM quarantine WHERE file = 'invitations.csv' AND row_number = 7").fetchall()
    assert contact_sheet == [(2, 0)]  # its rows are accounted for, none of their values kept
    # The line with a stray delimiter keeps the format fields whose place is certain (counted from both ends).
    assert stray == [('{"period": "2024", "provider_id": "P001"}',)], stray


def test_broken_line_keeps_only_the_fields_whose_place_is_certain(tmp_path: Path) -> None:
    from keurmerk.ingest.read import _identified

    header = ["respondent_id", "question_id", "value", "email"]
    # One field too many in `value`: respondent_id and question_id are certain, the address is not a format field.
    assert (
        _identified(["R1", "grade", "8", "5", "jan@x.nl"], header) == '{"respondent_id": "R1", "question_id": "grade"}'
    )
    # A comma in the free text: the fields before it and the timestamp after it are certain.
    header = ["respondent_id", "question_id", "value", "answered_at"]
    assert _identified(["R1", "reason_other", "via", " de huisarts", "2024-03-14"], header) == (
        '{"respondent_id": "R1", "question_id": "reason_other", "answered_at": "2024-03-14"}'
    )
    # An address with a comma in a contact column before the format's: nothing after it is certain.
    header = ["adres", "respondent_id", "question_id", "value"]
    assert _identified(["Dorpsstraat 1", " Utrecht", "R1", "grade", "8"], header) is None


# --- 2. every file its own outcome -------------------------------------------------------------------------------


def _valid_parquet(path: Path) -> bytes:
    _frame(ANSWERS).write_parquet(path)
    return path.read_bytes()


def _valid_xlsx(path: Path) -> bytes:
    _frame(ANSWERS).write_excel(path)
    return path.read_bytes()


@dataclass(frozen=True)
class BadFile:
    name: str
    file: str
    make: Callable[[Path], None]  # writes the bad input at the given path
    cause: str  # part of the one Dutch line


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


BAD_FILES = [
    BadFile("corrupt parquet", "kapot.parquet", _bytes(b"PAR1 dit is geen parquet" * 50), "geen geldig Parquet"),
    BadFile(
        "truncated parquet",
        "afgebroken.parquet",
        lambda p: p.write_bytes(_valid_parquet(p)[: len(_valid_parquet(p)) // 2]),
        "geen geldig Parquet",
    ),
    BadFile(
        "parquet list column in the format",
        "lijst.parquet",
        lambda p: pl.DataFrame(
            {"respondent_id": ["R1"], "question_id": ["grade"], "value": [["8", "9"]]}
        ).write_parquet(p),
        "kolom value heeft een type dat het importformaat niet kent",
    ),
    BadFile(
        "truncated workbook",
        "afgebroken.xlsx",
        lambda p: p.write_bytes(_valid_xlsx(p)[:300]),
        "werkmap kan niet worden gelezen",
    ),
    BadFile("not a workbook", "tekst.xlsx", _bytes(b"respondent_id;question_id\n"), "werkmap kan niet worden gelezen"),
    BadFile("binary csv", "binair.csv", _bytes(bytes(range(256)) * 4), "binaire inhoud"),
    BadFile(
        "duplicate header",
        "dubbel.csv",
        _bytes(b"respondent_id;question_id;value;value\nR1;grade;8;9\n"),
        "kolom value staat meer dan één keer in de kop",
    ),
    BadFile(
        "duplicate header, quoted",
        "dubbel_quoted.csv",
        _bytes(b'respondent_id;question_id;value;Value\n"R1";"grade";"8";"9"\n'),
        "kolom value staat meer dan één keer in de kop",
    ),
    BadFile("a directory", "map.csv", lambda p: p.mkdir(), "is een map"),
    BadFile("zero bytes", "leeg.csv", _bytes(b""), "leeg bestand"),
    BadFile("unknown extension", "levering.json", _bytes(b"{}"), "onbekend bestandstype"),
    BadFile("missing file", "bestaat_niet.csv", lambda p: None, "bestaat niet"),
]


@pytest.mark.parametrize("bad", BAD_FILES, ids=[b.name for b in BAD_FILES])
def test_unreadable_file_gets_one_line_and_the_others_load(tmp_path: Path, bad: BadFile) -> None:
    good = _write(tmp_path, INVITATIONS, ANSWERS)
    (tmp_path / "bad").mkdir()
    path = tmp_path / "bad" / bad.file
    bad.make(path)
    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(app, ["ingest", "--db", str(db), str(good[0]), str(path), str(good[1])])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and result.exception is None
    assert _counts(db) == (BASE_INVITATIONS, BASE_ANSWERS)
    lines = [line for line in result.output.splitlines() if bad.file in line and bad.cause in line]
    assert lines, result.output
    with duckdb.connect(str(db), read_only=True) as con:
        logged = con.execute("SELECT message FROM load_log WHERE file = ?", [bad.file]).fetchall()
    assert logged and bad.cause in logged[0][0]


# --- 3. conflicts are held back ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    name: str
    file: str  # invitations | answers | results
    line: str  # appended as row 7 (results: row 4)
    first_row: int  # the row it conflicts with
    reason: str


CONFLICTS = [
    Conflict("answer 8 and 6", "answers", "R1;grade;6;", 1, "meer dan eens beantwoord, met verschillende antwoorden"),
    # the same key once normalised (white space, case), and a value that fails its own rule too: still a conflict
    Conflict("answer 8 and ' 6 ' to ' GRADE '", "answers", " R1 ; GRADE ; 6 ;", 1, "meer dan eens beantwoord"),
    Conflict("answer 8 and an x", "answers", "R1;grade;x;", 1, "meer dan eens beantwoord, met verschillende"),
    Conflict(
        "invitation with other data",
        "invitations",
        "2024;P001;Voorbeeld Re-integratie;R1;client;7;PV27;regular;email;true;delivered",
        1,
        "komt vaker voor in dit bestand, met andere gegevens",
    ),
    Conflict("results with other counts", "results", "2024;P001;8;41;25", 1, "vaker voor in dit bestand"),
]


@pytest.mark.parametrize("case", CONFLICTS, ids=[c.name for c in CONFLICTS])
def test_conflict_in_one_file_quarantines_both_rows(tmp_path: Path, case: Conflict) -> None:
    invitations = INVITATIONS + (case.line + "\n" if case.file == "invitations" else "")
    answers = ANSWERS + (case.line + "\n" if case.file == "answers" else "")
    paths = _write(tmp_path, invitations, answers)
    (tmp_path / "results.csv").write_text(RESULTS + (case.line + "\n" if case.file == "results" else ""))
    report = ingest(tmp_path / "w.duckdb", [*paths, tmp_path / "results.csv"])
    last = 4 if case.file == "results" else 7
    hits = report.quarantine.filter(pl.col("reason").str.contains(case.reason, literal=True))
    assert sorted(hits["row_number"].to_list()) == [case.first_row, last]
    assert all(f"rijen {case.first_row} en {last}; geen ervan geladen" in r for r in hits["reason"])
    table = next(t for t in report.tables if t.kind == case.file)
    assert table.rows_read == table.rows_loaded + table.rows_quarantined
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        if case.file == "answers":
            assert con.execute(
                "SELECT count(*) FROM answers WHERE respondent_id = 'R1' AND question_id = 'grade'"
            ).fetchall() == [(0,)]
        if case.file == "invitations":
            assert con.execute("SELECT count(*) FROM invitations WHERE respondent_id = 'R1'").fetchall() == [(0,)]
        if case.file == "results":
            assert con.execute(
                "SELECT count(*) FROM results WHERE provider_id = 'P001' AND service = 8"
            ).fetchall() == [(0,)]


def test_the_same_row_twice_is_harmless(tmp_path: Path) -> None:
    report = ingest(tmp_path / "w.duckdb", _write(tmp_path, INVITATIONS, ANSWERS + "R1;grade;8;2024-03-14T10:12:00\n"))
    assert report.quarantine.height == 0 and _counts(tmp_path / "w.duckdb") == (BASE_INVITATIONS, BASE_ANSWERS)


def _grade(db: Path, respondent: str = "R1") -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        sql = "SELECT value FROM answers WHERE respondent_id = ? AND question_id = 'grade'"
        return [v for (v,) in con.execute(sql, [respondent]).fetchall()]


def test_later_change_is_held_back_unless_replaced(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    ingest(db, _write(tmp_path, INVITATIONS, ANSWERS))
    later = tmp_path / "later"
    later.mkdir()
    (later / "answers.csv").write_text("respondent_id;question_id;value\nR1;grade;6\n")
    held = ingest(db, [later / "answers.csv"])
    reason = held.quarantine["reason"].to_list()
    assert (
        len(reason) == 1 and "al een ander antwoord (geladen in laadronde 1" in reason[0] and "--replace" in reason[0]
    )
    assert _grade(db) == ["8.0"]
    # The operator accepts the held-back change: a retry with --replace, logged.
    replaced = ingest(db, [], replace=True)
    assert replaced.recovered == 1 and _grade(db) == ["6.0"]
    assert any("vervangen (--replace" in n for n in replaced.notes)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "SELECT kind, respondent_id, old_value, new_value, old_load_id FROM replacements"
        ).fetchall() == [("answers", "R1", "8.0", "6.0", 1)]
        assert con.execute("SELECT resolved_load_id FROM quarantine").fetchall() == [(3,)]
    # And a new delivery with --replace replaces at once.
    (later / "answers2.csv").write_text("respondent_id;question_id;value\nR1;grade;9\n")
    assert ingest(db, [later / "answers2.csv"], replace=True).quarantine.height == 0
    assert _grade(db) == ["9.0"]


# --- 4. routing problems are flagged, never lost -----------------------------------------------------------------


def _complete_answers(respondent: str) -> list[str]:
    from keurmerk.catalog import catalog

    return [f"{respondent};{q.id};tevreden;" for q in catalog().aspect_questions("client")]


ROUTING = [
    ("reason_other without 'anders, namelijk'", "R1;reason_other;Via de huisarts;", "reason"),
    ("the same, its id in capitals and spaces", "R1; REASON_OTHER ;Via de huisarts;", "reason"),
    ("reason_other with another reason", "R1;reason;UWV;\nR1;reason_other;Via de huisarts;", "reason"),
    ("provider_helped without led_to_work = ja", "R1;provider_helped;ja;", "led_to_work"),
    ("complaint_filed without complaint = ja", "R1;complaint;nee;\nR1;complaint_filed;ja;", "complaint"),
]


@pytest.mark.parametrize(("name", "lines", "opener"), ROUTING, ids=[r[0] for r in ROUTING])
def test_routing_problem_is_loaded_flagged_and_kept_out_of_the_base(
    tmp_path: Path, name: str, lines: str, opener: str
) -> None:
    from keurmerk.filters import Filters
    from keurmerk.metrics import figure_frame

    answers = "respondent_id;question_id;value;answered_at\n" + "\n".join([*_complete_answers("R1"), lines]) + "\n"
    db = tmp_path / "w.duckdb"
    report = ingest(db, _write(tmp_path, INVITATIONS, answers))
    assert report.quarantine.height == 0, report.quarantine.to_dicts()
    assert report.routing_flagged == 1
    assert any(n.startswith("routing: 1 antwoorden") for n in report.notes)
    question = lines.split("\n")[-1].split(";")[1].strip().lower()
    with duckdb.connect(str(db), read_only=True) as con:
        flags = con.execute("SELECT question_id, routing_flag FROM answers WHERE routing_flag IS NOT NULL").fetchall()
        assert flags == [(question, flags[0][1])] and f"volgt op {opener} =" in flags[0][1]
        figure = {"reason_other": "fig_3_5", "provider_helped": "fig_3_15", "complaint_filed": "fig_3_17"}[question]
        frame = figure_frame(con, figure, Filters(provider="P001", period=2024), suppress=False)
    if question == "reason_other":
        texts = frame.filter(pl.col("category") == "anders, namelijk")["texts"].to_list()
        assert texts == [["Via de huisarts"]]  # the text still shows in its figure's list
    else:
        assert frame.filter(pl.col("question_id") == question)["n"].sum() == 0  # not in the base


def test_a_routing_answer_counts_once_it_is_loaded(tmp_path: Path) -> None:
    """The routing answer is looked for among the loaded answers: one that is quarantined itself (here for its
    timestamp) does not count; one that is routed itself (complaint → complaint_filed → its text) does, from the
    same file."""
    lines = [
        *_complete_answers("R1"),
        "R1;reason;anders, namelijk;gisteren",  # quarantined: no valid timestamp
        "R1;reason_other;Via de huisarts;",  # flagged: its routing answer did not load
        "R1;complaint;ja;",
        "R1;complaint_filed;anders, namelijk;",  # routed itself, and routes the text below
        "R1;complaint_filed_other;Per brief;",
    ]
    answers = "respondent_id;question_id;value;answered_at\n" + "\n".join(lines) + "\n"
    db = tmp_path / "w.duckdb"
    report = ingest(db, _write(tmp_path, INVITATIONS, answers))
    assert report.quarantine.filter(pl.col("column_name") == "answered_at")["row_number"].to_list() == [
        len(lines) - 4
    ]
    with duckdb.connect(str(db), read_only=True) as con:
        flags = dict(con.execute(
            "SELECT question_id, routing_flag FROM answers WHERE respondent_id = 'R1' AND question_id IN "
            "('reason', 'reason_other', 'complaint_filed', 'complaint_filed_other')"
        ).fetchall())
    assert flags == {
        "reason_other": "volgt op reason = anders, namelijk, maar dat antwoord ontbreekt",
        "complaint_filed": None,
        "complaint_filed_other": None,
    }
    assert report.routing_flagged == 1


# --- 5. retry ----------------------------------------------------------------------------------------------------


def test_answers_before_their_invitations_are_recovered_and_never_doubled(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    invitations, answers = _write(tmp_path, INVITATIONS, ANSWERS)
    first = ingest(db, [answers])
    assert first.nothing_loaded and first.quarantine.height == BASE_ANSWERS
    again = ingest(db, [answers])  # the same rejected file again
    assert again.tables[0].skipped and again.quarantine.height == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(BASE_ANSWERS,)]
    recovered = ingest(db, [invitations])
    assert recovered.recovered == BASE_ANSWERS
    assert any(f"hersteld uit de quarantaine: {BASE_ANSWERS} rijen" in n for n in recovered.notes)
    assert _counts(db) == (BASE_INVITATIONS, BASE_ANSWERS)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*), count(resolved_load_id) FROM quarantine").fetchall() == [
            (BASE_ANSWERS, BASE_ANSWERS)
        ]
    # Nothing left to retry: a later ingest recovers nothing and loads nothing twice.
    assert ingest(db, [], retry=True).recovered == 0 and _counts(db) == (BASE_INVITATIONS, BASE_ANSWERS)


def test_cli_retry_and_purge(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    invitations, answers = _write(tmp_path, INVITATIONS, ANSWERS + "R4;grade;99;\n")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", "--db", str(db), str(answers)]).exit_code == 1
    assert runner.invoke(app, ["ingest", "--db", str(db), str(invitations)]).exit_code == 0
    retry = runner.invoke(app, ["ingest", "--db", str(db), "--retry"])
    assert retry.exit_code == 0 and "Traceback" not in retry.output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM quarantine WHERE resolved_load_id IS NULL").fetchall() == [(1,)]
    kept = runner.invoke(app, ["quarantine", "purge", "--db", str(db), "--before", "2000-01-01"])
    assert kept.exit_code == 0 and "0 quarantainerijen" in kept.output
    purged = runner.invoke(app, ["quarantine", "purge", "--db", str(db), "--before", "2999-01-01"])
    assert purged.exit_code == 0 and f"{BASE_ANSWERS + 1} quarantainerijen" in purged.output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(0,)]
    bad = runner.invoke(app, ["quarantine", "purge", "--db", str(db), "--before", "gisteren"])
    assert bad.exit_code != 0 and "geen datum" in bad.output


# --- 6. whole numbers delivered as floats ------------------------------------------------------------------------


def test_floats_that_are_whole_numbers_load_and_fractions_are_rejected(tmp_path: Path) -> None:
    invitations = _frame(INVITATIONS).with_columns(
        pl.col("period").cast(pl.Float64), pl.col("service").cast(pl.Float64)
    )
    fraction = invitations.tail(1).with_columns(period=pl.lit(2023.5), respondent_id=pl.lit("R7"))
    gap = invitations.tail(1).with_columns(period=pl.lit(None, pl.Float64), respondent_id=pl.lit("R8"))
    pl.concat([invitations, fraction, gap]).write_parquet(tmp_path / "invitations.parquet")
    _frame(ANSWERS).write_parquet(tmp_path / "answers.parquet")
    (tmp_path / "results.csv").write_text(RESULTS.replace(";40;25", ";40.0;25,0"))
    report = ingest(
        tmp_path / "w.duckdb",
        [tmp_path / "invitations.parquet", tmp_path / "answers.parquet", tmp_path / "results.csv"],
    )
    reasons = {(r["row_number"], r["column_name"]): r["reason"] for r in report.quarantine.iter_rows(named=True)}
    assert reasons == {
        (7, "period"): "periode is geen geheel jaartal (een getal met decimalen)",
        (8, "period"): "waarde ontbreekt",
    }
    assert _counts(tmp_path / "w.duckdb") == (BASE_INVITATIONS, BASE_ANSWERS)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT DISTINCT period FROM invitations").fetchall() == [(2024,)]
        assert con.execute("SELECT completed_trajectories FROM results WHERE service = 8").fetchall() == [(40,)]


# --- 7. provider name history ------------------------------------------------------------------------------------


def test_new_provider_name_is_a_warning_and_history(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    ingest(db, _write(tmp_path, INVITATIONS.replace("2024;", "2023;"), ANSWERS))
    later = tmp_path / "later"
    later.mkdir()
    renamed = "2024;P001;Nieuwe Naam BV;R9;client;8;PV27;regular;email;true;delivered\n"
    report = ingest(db, _write(later, _rows(INVITATIONS)[0] + "\n" + renamed, "respondent_id;question_id;value\n"))
    assert any("aanbieder P001 heeft een nieuwe naam: 'Nieuwe Naam BV' vanaf periode 2024" in n for n in report.notes)
    assert "'Voorbeeld Re-integratie'" in next(n for n in report.notes if "P001" in n)
    with duckdb.connect(str(db), read_only=True) as con:
        history = con.execute(
            "SELECT provider_name, valid_from, valid_until FROM v_provider_names WHERE provider_id = 'P001' ORDER BY valid_from"
        ).fetchall()
        per_period = con.execute(
            "SELECT DISTINCT period, provider_name FROM v_respondents WHERE provider_id = 'P001' ORDER BY period"
        ).fetchall()
        current = con.execute("SELECT provider_name FROM providers WHERE provider_id = 'P001'").fetchall()
    assert history == [("Voorbeeld Re-integratie", 2023, 2024), ("Nieuwe Naam BV", 2024, None)]
    assert per_period == [(2023, "Voorbeeld Re-integratie"), (2024, "Nieuwe Naam BV")]
    assert current == [("Nieuwe Naam BV",)]


# --- 8. crash hygiene --------------------------------------------------------------------------------------------

_SLOW_INGEST = """
import sys, time
from keurmerk.ingest import ingest
def step(message):
    print(message, flush=True)
    if message.startswith("valideren en laden: answers"):
        time.sleep(60)  # mid-load: the invitations are in the work file, the answers not yet
ingest(sys.argv[1], sys.argv[2:], progress=step)
"""


def test_sigkill_mid_load_leaves_the_published_file_and_the_next_ingest_cleans_up(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    ingest(db, _write(tmp_path, INVITATIONS, ""))
    published = hashlib.sha256(db.read_bytes()).hexdigest()
    later = tmp_path / "later"
    later.mkdir()
    paths = _write(
        later,
        INVITATIONS + "2024;P001;Voorbeeld Re-integratie;R7;client;8;PV27;regular;email;true;delivered\n",
        ANSWERS,
    )
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_INGEST, str(db), *map(str, paths)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("valideren en laden: answers"):
            break
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    work = db.with_name(f"{db.name}.work-{process.pid}")
    assert work.exists()  # what a crash leaves behind
    assert hashlib.sha256(db.read_bytes()).hexdigest() == published  # the published snapshot is untouched
    assert _counts(db) == (BASE_INVITATIONS, 0)

    report = ingest(db, paths)
    cleaned = [n for n in report.notes if n.startswith("opgeruimd:")]
    assert cleaned and f"work-{process.pid}" in cleaned[0] and f"proces {process.pid} bestaat niet meer" in cleaned[0]
    assert not list(tmp_path.glob("w.duckdb.work-*"))
    assert _counts(db) == (BASE_INVITATIONS + 1, BASE_ANSWERS)


# --- 9. large tables: invitations in parts, answers validated inside DuckDB straight from the file ---------------


def _dump(db: Path) -> dict[str, list]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            "invitations": con.execute("SELECT * EXCLUDE (load_id) FROM invitations ORDER BY ALL").fetchall(),
            "answers": con.execute("SELECT * EXCLUDE (load_id) FROM answers ORDER BY ALL").fetchall(),
            "quarantine": con.execute(
                "SELECT file, row_number, column_name, value, reason, record FROM quarantine ORDER BY ALL"
            ).fetchall(),
        }


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_table_split_in_parts_gives_the_same_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """Invitations split in parts by respondent (forced tiny here) and a CSV streamed into batches that DuckDB
    validates (instead of a table in memory) must not change a single row or reason."""
    from keurmerk.ingest import read

    answers = (
        ANSWERS + "R1;grade;6;\nR4;provider_helped;ja;\nR2;grade;7,5;\nR99;grade;8;\nR4;grade\nR4;recommended;nee;\n"
    )
    paths = _write(tmp_path, INVITATIONS + "2024;P001;X;R1;client;7;PV27;regular;email;true;delivered\n", answers)
    if suffix == "parquet":
        for path in paths:
            pl.read_csv(path, separator=";", infer_schema=False, truncate_ragged_lines=True).write_parquet(
                path.with_suffix(".parquet")
            )
        paths = [p.with_suffix(".parquet") for p in paths]
    whole = ingest(tmp_path / "whole.duckdb", paths)
    monkeypatch.setattr(read, "PART_ROWS", 2)
    monkeypatch.setattr(read, "_STREAM_BYTES", 10)
    parted = ingest(tmp_path / "parted.duckdb", paths)
    assert [(t.rows_read, t.rows_loaded, t.rows_quarantined) for t in parted.tables] == [
        (t.rows_read, t.rows_loaded, t.rows_quarantined) for t in whole.tables
    ]
    assert whole.quarantine.height >= 5  # conflicts, routing and structure did take part
    assert _dump(tmp_path / "parted.duckdb") == _dump(tmp_path / "whole.duckdb")
    assert not list(tmp_path.glob("*.spill"))  # the parts are removed after the load


def test_long_values_skip_the_lookup_but_follow_the_same_rules(tmp_path: Path) -> None:
    long_text = "Via de huisarts, " + "en daarna via het UWV " * 20
    lines = [
        "R1;reason;anders, namelijk;",
        f"R1;reason_other;{long_text};",
        f"R4;grade;{'8' * 250};",
        f"R4;recommended;{'ja ' * 100};",
    ]
    report = ingest(tmp_path / "w.duckdb", _write(tmp_path, INVITATIONS, ANSWERS + "\n".join(lines) + "\n"))
    reasons = {r["row_number"]: r["reason"] for r in report.quarantine.iter_rows(named=True)}
    assert reasons == {
        9: "cijfer buiten 1 tot en met 10",
        10: "antwoord hoort niet bij deze vraag (niet in de catalogus)",
    }
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        stored = con.execute("SELECT value FROM answers WHERE question_id = 'reason_other'").fetchall()
    assert stored == [(long_text.strip(),)]


def test_routing_flag_is_cleared_when_the_routing_answer_arrives_later(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    first = ingest(db, _write(tmp_path, INVITATIONS, ANSWERS + "R1;reason_other;Via de huisarts;\n"))
    assert first.routing_flagged == 1
    later = tmp_path / "later"
    later.mkdir()
    (later / "answers.csv").write_text("respondent_id;question_id;value\nR1;reason;Anders, namelijk\n")
    report = ingest(db, [later / "answers.csv"])
    assert any("1 eerder gemarkeerde antwoorden" in n for n in report.notes)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(routing_flag) FROM answers").fetchall() == [(0,)]


def test_answers_in_passes_by_respondent_load_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warehouse with many invitations validates answers in passes by respondent (forced here: one invitation
    per pass): not a row, flag or reason changes."""
    from keurmerk.ingest import answers

    delivery = ANSWERS + "R1;reason_other;Via de huisarts;\nR4;grade;6;\nR4;grade;9;\nR99;grade;8;\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole = ingest(tmp_path / "whole.duckdb", _write(tmp_path / "a", INVITATIONS, delivery))
    monkeypatch.setattr(answers, "_INVITATIONS_PER_PASS", 1)
    passes = ingest(tmp_path / "passes.duckdb", _write(tmp_path / "b", INVITATIONS, delivery))
    assert whole.quarantine.height >= 3 and whole.routing_flagged == passes.routing_flagged == 1
    assert _dump(tmp_path / "passes.duckdb") == _dump(tmp_path / "whole.duckdb")


def test_answers_from_parquet_load_as_from_csv(tmp_path: Path) -> None:
    """A Parquet file of answers is validated by DuckDB straight from the file (not read into memory first): the
    same rows, values, flags and quarantine (reasons and records) as the same answers from a CSV."""
    tricky = (
        "R1;grade; 8,5 ;\n"  # decimal comma and spaces
        "R4;recommended;\u00a0JA\u00a0;\n"  # non-breaking spaces and case
        "R2;grade;7.25;\n"  # two decimals
        "R1;reason_other;Via de huisarts;\n"  # routing flag: no 'anders, namelijk'
        "R4;grade;6;\nR4;grade;9;\n"  # a conflict within the file
        "R99;grade;8;\n"  # unknown respondent
        "R2;recommended;ja;14-03-2024 10:12\n"  # another timestamp format
        "R2;provider_helped;ja;gisteren\n"  # not a timestamp
    )
    csv_dir, parquet_dir = tmp_path / "csv", tmp_path / "parquet"
    csv_dir.mkdir()
    parquet_dir.mkdir()
    paths = _write(csv_dir, INVITATIONS, ANSWERS + tricky)
    answers = pl.read_csv(paths[1], separator=";", infer_schema=False, quote_char=None).with_columns(
        pl.col("answered_at").fill_null("")  # as the CSV delivers an empty field
    )
    answers.write_parquet(parquet_dir / "answers.csv.parquet")
    from keurmerk.ingest.read import read_file

    assert read_file(parquet_dir / "answers.csv.parquet", tmp_path / "spill")[0].source is not None  # not in memory
    assert read_file(paths[1], tmp_path / "spill")[0].source is None  # a small CSV: in memory
    from_csv = ingest(tmp_path / "csv.duckdb", paths)
    from_parquet = ingest(tmp_path / "parquet.duckdb", [paths[0], parquet_dir / "answers.csv.parquet"])
    assert from_csv.routing_flagged == from_parquet.routing_flagged >= 1
    assert from_csv.quarantine.height >= 5
    from_parquet, from_csv = _dump(tmp_path / "parquet.duckdb"), _dump(tmp_path / "csv.duckdb")
    from_parquet["quarantine"] = [(f.removesuffix(".parquet"), *rest) for f, *rest in from_parquet["quarantine"]]
    assert from_parquet == from_csv
