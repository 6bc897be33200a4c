"""Bad input: every kind of mistake a delivery can hold is quarantined with a clear reason, and nothing valid is lost.

Conflicts, routing, retry, unreadable files and personal data have their own tables in test_ingest_trust.py.

Each case starts from the same small, valid delivery (6 invitations, 6 answers), adds or changes one thing, and
checks the reason a person reads, where it points (file, row, column), and that every valid row still loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from keurmerk.ingest import ingest

INVITATIONS = """period;provider_id;provider_name;respondent_id;audience;service;province;questionnaire;mode;reminded;status
2024;P001;Voorbeeld Re-integratie;R1;client;8;PV27;regular;email;true;delivered
2024;P001;Voorbeeld Re-integratie;R2;client;3;Zuid-Holland;easy;post;false;delivered
2024;P001;Voorbeeld Re-integratie;R3;commissioner;8;;regular;email;false;delivered
2024;P001;Voorbeeld Re-integratie;R4;client;7;PV28;regular;email;true;delivered
2024;P001;Voorbeeld Re-integratie;R5;client;8;PV28;regular;post;true;undeliverable
2024;P002;Tweede Aanbieder;R6;client;11;Utrecht;inburgering;phone;false;delivered
"""
ANSWERS = """respondent_id;question_id;value;answered_at
R1;grade;8;2024-03-14T10:12:00
R1;recommended;ja;2024-03-14T10:12:00
R2;grade;7,5;
R2;diagnosis_type;medisch onderzoek;
R3;grade;8,2;
R3;aspect_reports;;
"""
BASE_INVITATIONS, BASE_ANSWERS = 6, 6


@dataclass(frozen=True)
class Case:
    name: str
    file: str  # which file gets the extra line: invitations | answers
    line: str  # appended as the last data row (row 7)
    column: str | None  # the column the reason points at (None: the whole row)
    reason: str  # part of the reason a person reads


CASES = [
    Case("unknown question id", "answers", "R1;favourite_colour;blauw;", "question_id", "onbekende vraag"),
    Case(
        "category not in the catalogue",
        "answers",
        "R1;contact_amount;veel te veel;",
        "value",
        "hoort niet bij deze vraag",
    ),
    Case("grade 0", "answers", "R4;grade;0;", "value", "cijfer buiten 1 tot en met 10"),
    Case("grade 11", "answers", "R4;grade;11;", "value", "cijfer buiten 1 tot en met 10"),
    Case("grade 'acht'", "answers", "R4;grade;acht;", "value", "geen getal"),
    Case("grade with two decimals", "answers", "R4;grade;7,25;", "value", "meer dan één decimaal"),
    Case("answer for an unknown respondent", "answers", "R99;grade;8;", "respondent_id", "onbekende respondent"),
    Case(
        "question not asked for this dienst",
        "answers",
        "R1;diagnosis_type;medisch onderzoek;",
        "question_id",
        "niet gesteld bij de dienst",
    ),
    Case(
        "client question on the commissioner form",
        "answers",
        "R3;contact_respect;tevreden;",
        "question_id",
        "onbekende vraag",
    ),
    Case("invalid timestamp", "answers", "R4;grade;7;gisteren", "answered_at", "ongeldig tijdstip"),
    Case("missing value", "answers", "R4;recommended;;", "value", "waarde ontbreekt"),
    Case("mixed delimiters", "answers", "R4,grade,8,2024-03-14", None, "andere scheidingstekens"),
    Case("truncated line", "answers", "R4;grade", None, "afgebroken regel"),
    Case(
        "commissioner with a province",
        "invitations",
        "2024;P001;Voorbeeld Re-integratie;R7;commissioner;8;PV27;regular;email;false;delivered",
        "province",
        "een opdrachtgever heeft geen provincie",
    ),
    Case(
        "client without a province",
        "invitations",
        "2024;P001;Voorbeeld Re-integratie;R7;client;8;;regular;email;false;delivered",
        "province",
        "provincie ontbreekt",
    ),
    Case(
        "unknown province",
        "invitations",
        "2024;P001;Voorbeeld Re-integratie;R7;client;8;PV99;regular;email;false;delivered",
        "province",
        "onbekende provincie",
    ),
    Case(
        "unknown dienst",
        "invitations",
        "2024;P001;Voorbeeld Re-integratie;R7;client;14;PV27;regular;email;false;delivered",
        "service",
        "onbekende dienst",
    ),
    Case(
        "discontinued dienst 12",
        "invitations",
        "2024;P001;Voorbeeld Re-integratie;R7;client;12;PV27;regular;email;false;delivered",
        "service",
        "niet meer aangeboden",
    ),
    Case(
        "period in the future",
        "invitations",
        "2099;P001;Voorbeeld Re-integratie;R7;client;8;PV27;regular;email;false;delivered",
        "period",
        "in de toekomst",
    ),
    Case(
        "period not a year",
        "invitations",
        "twintig;P001;Voorbeeld Re-integratie;R7;client;8;PV27;regular;email;false;delivered",
        "period",
        "geen jaartal",
    ),
    Case(
        "inburgering questionnaire for another dienst",
        "invitations",
        "2024;P001;Voorbeeld Re-integratie;R7;client;8;PV27;inburgering;email;false;delivered",
        "questionnaire",
        "dienst 11 (inburgering)",
    ),
    Case(
        "unknown status",
        "invitations",
        "2024;P001;Voorbeeld Re-integratie;R7;client;8;PV27;regular;email;false;bounced",
        "status",
        "onbekende status",
    ),
    Case(
        "reminder not yes/no",
        "invitations",
        "2024;P001;Voorbeeld Re-integratie;R7;client;8;PV27;regular;email;misschien;delivered",
        "reminded",
        "geen ja/nee",
    ),
    Case(
        "unknown audience",
        "invitations",
        "2024;P001;Voorbeeld Re-integratie;R7;klant;8;PV27;regular;email;false;delivered",
        "audience",
        "onbekende doelgroep",
    ),
    Case(
        "missing provider name",
        "invitations",
        "2024;P001;;R7;client;8;PV27;regular;email;false;delivered",
        "provider_name",
        "waarde ontbreekt",
    ),
]


def _write(directory: Path, invitations: str | bytes, answers: str | bytes) -> list[Path]:
    paths = []
    for name, content in (("invitations.csv", invitations), ("answers.csv", answers)):
        path = directory / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        paths.append(path)
    return paths


def _counts(db: Path) -> tuple[int, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return (
            con.execute("SELECT count(*) FROM invitations").fetchall()[0][0],
            con.execute("SELECT count(*) FROM answers").fetchall()[0][0],
        )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_row_is_quarantined_with_its_reason_and_valid_rows_load(tmp_path: Path, case: Case) -> None:
    invitations = INVITATIONS + (case.line + "\n" if case.file == "invitations" else "")
    answers = ANSWERS + (case.line + "\n" if case.file == "answers" else "")
    report = ingest(tmp_path / "w.duckdb", _write(tmp_path, invitations, answers))

    quarantine = report.quarantine
    assert quarantine.height >= 1
    hit = quarantine.filter(pl.col("reason").str.contains(case.reason, literal=True))
    assert hit.height == 1, quarantine.to_dicts()
    row = hit.row(0, named=True)
    assert row["file"] == f"{case.file}.csv"
    assert row["row_number"] == 7
    assert row["column_name"] == case.column
    print(f"\n{case.name}: {row['file']}, rij {row['row_number']}, kolom {row['column_name']}: {row['reason']}")

    for table in report.tables:
        assert table.rows_read == table.rows_loaded + table.rows_quarantined
    by_kind = {t.kind: t for t in report.tables}
    assert by_kind[case.file].rows_quarantined == 1
    assert _counts(tmp_path / "w.duckdb") == (BASE_INVITATIONS, BASE_ANSWERS)


def test_non_utf8_bytes_quarantine_the_row_only(tmp_path: Path) -> None:
    answers = ANSWERS.encode() + b"R4;grade;8\xe9;\n"
    report = ingest(tmp_path / "w.duckdb", _write(tmp_path, INVITATIONS, answers))
    row = report.quarantine.row(0, named=True)
    assert "geen UTF-8" in row["reason"] and row["row_number"] == 7
    assert "\\xe9" in row["value"]  # the bad byte is shown, not silently replaced
    assert _counts(tmp_path / "w.duckdb") == (BASE_INVITATIONS, BASE_ANSWERS)


def test_empty_file_loads_nothing_and_says_so(tmp_path: Path) -> None:
    report = ingest(tmp_path / "w.duckdb", _write(tmp_path, INVITATIONS, b""))
    answers = next(t for t in report.tables if t.file == "answers.csv")
    assert answers.rows_read == 0 and answers.message == "leeg bestand (geen rijen)"
    assert not report.nothing_loaded  # the invitations did load
    only_empty = ingest(tmp_path / "other.duckdb", [tmp_path / "answers.csv"])
    assert only_empty.nothing_loaded


def test_wrong_header_quarantines_every_row_keeping_no_values(tmp_path: Path) -> None:
    wrong = "respondent;vraag;waarde\nR1;grade;8\nR2;grade;7\n"
    report = ingest(tmp_path / "w.duckdb", _write(tmp_path, INVITATIONS, wrong))
    answers = next(t for t in report.tables if t.file == "answers.csv")
    assert (answers.kind, answers.rows_read, answers.rows_quarantined) == ("unknown", 2, 2)
    reasons = report.quarantine["reason"].unique().to_list()
    assert len(reasons) == 1 and "kolommen niet herkend" in reasons[0] and "question_id" in reasons[0]
    assert report.quarantine["value"].is_null().all()  # none of its columns is the format's: nothing kept
    assert _counts(tmp_path / "w.duckdb") == (BASE_INVITATIONS, 0)


def test_xlsx_with_an_extra_sheet(tmp_path: Path) -> None:
    import xlsxwriter as xw

    path = tmp_path / "levering.xlsx"
    invitations = pl.read_csv(INVITATIONS.encode(), separator=";", infer_schema=False)
    answers = pl.read_csv(ANSWERS.encode(), separator=";", infer_schema=False)
    notes = pl.DataFrame({"toelichting": ["Aangeleverd door het onderzoeksbureau", "Versie 2"]})

    with xw.Workbook(path) as workbook:
        invitations.write_excel(workbook, worksheet="uitnodigingen")
        answers.write_excel(workbook, worksheet="antwoorden")
        notes.write_excel(workbook, worksheet="Toelichting")
    report = ingest(tmp_path / "w.duckdb", [path])
    kinds = {t.file: (t.kind, t.rows_loaded, t.rows_quarantined) for t in report.tables}
    assert kinds == {
        "levering.xlsx#uitnodigingen": ("invitations", 6, 0),
        "levering.xlsx#antwoorden": ("answers", 6, 0),
        "levering.xlsx#Toelichting": ("unknown", 0, 2),
    }
    assert _counts(tmp_path / "w.duckdb") == (BASE_INVITATIONS, BASE_ANSWERS)


def test_html_in_free_text_is_stored_verbatim(tmp_path: Path) -> None:
    payload = '<script>alert("xss")</script> & <b>vet</b>'
    answers = ANSWERS + f"R1;reason;Anders, namelijk;\nR1;reason_other;{payload.replace(chr(34), '')};\n"
    ingest(tmp_path / "w.duckdb", _write(tmp_path, INVITATIONS, answers))
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        stored = con.execute("SELECT value FROM answers WHERE question_id = 'reason_other'").fetchall()[0][0]
        category = con.execute("SELECT value FROM answers WHERE question_id = 'reason'").fetchall()[0][0]
    assert stored == payload.replace('"', "")
    assert category == "anders, namelijk"  # labels are matched case-insensitively and stored canonically


def test_quoted_csv_with_comma_delimiter_and_decimal_comma(tmp_path: Path) -> None:
    invitations = INVITATIONS.replace(";", ",").replace("Voorbeeld Re-integratie", '"Voorbeeld, Re-integratie"')
    answers = "\ufeff" + ANSWERS.replace(";", ",").replace("R2,grade,7,5", 'R2,grade,"7,5"').replace(
        "R3,grade,8,2", 'R3,grade,"8,2"'
    )
    report = ingest(tmp_path / "w.duckdb", _write(tmp_path, invitations, answers))
    assert report.quarantine.height == 0
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        grades = dict(
            con.execute("SELECT respondent_id, value_num FROM answers WHERE question_id = 'grade'").fetchall()
        )
        name = con.execute("SELECT provider_name FROM providers WHERE provider_id = 'P001'").fetchall()[0][0]
    assert grades == {"R1": 8.0, "R2": 7.5, "R3": 8.2}
    assert name == "Voorbeeld, Re-integratie"


def test_parquet_input(tmp_path: Path) -> None:
    for name, text in (("invitations", INVITATIONS), ("answers", ANSWERS)):
        pl.read_csv(text.encode(), separator=";", infer_schema=False).write_parquet(tmp_path / f"{name}.parquet")
    report = ingest(tmp_path / "w.duckdb", [tmp_path / "invitations.parquet", tmp_path / "answers.parquet"])
    assert [t.rows_loaded for t in report.tables] == [6, 6]
    assert _counts(tmp_path / "w.duckdb") == (BASE_INVITATIONS, BASE_ANSWERS)


def test_same_file_twice_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    paths = _write(tmp_path, INVITATIONS, ANSWERS)
    ingest(db, paths)
    before = db.read_bytes()
    with duckdb.connect(str(db), read_only=True) as con:
        tables_before = {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("invitations", "answers", "providers", "quarantine")
        }
    second = ingest(db, paths)
    assert all(t.skipped for t in second.tables) and not second.nothing_loaded
    with duckdb.connect(str(db), read_only=True) as con:
        for table, rows in tables_before.items():
            assert con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() == rows
    assert before  # the file exists and was republished


def test_overlapping_delivery_loads_only_what_is_new(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    ingest(db, _write(tmp_path, INVITATIONS, ANSWERS))
    again = tmp_path / "again"
    again.mkdir()
    report = ingest(
        db,
        _write(
            again,
            INVITATIONS + "2024;P001;Voorbeeld Re-integratie;R7;client;8;PV27;regular;email;false;delivered\n",
            ANSWERS + "R4;grade;9;\n",
        ),
    )
    assert [(t.rows_loaded, t.rows_new) for t in report.tables] == [(7, 1), (7, 1)]
    assert _counts(db) == (7, 7)


def test_extra_columns_such_as_contact_data_are_not_stored(tmp_path: Path) -> None:
    header, *rows = INVITATIONS.strip().split("\n")
    invitations = "\n".join([header + ";email", *(row + ";a@b.nl" for row in rows)]) + "\n"
    report = ingest(tmp_path / "w.duckdb", _write(tmp_path, invitations, ANSWERS))
    table = next(t for t in report.tables if t.kind == "invitations")
    assert table.rows_loaded == 6 and "kolommen genegeerd (niet opgeslagen): email" in table.message
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        dump = str(con.execute("SELECT * FROM invitations").fetchall()) + str(
            con.execute("SELECT * FROM quarantine").fetchall()
        )
    assert "a@b.nl" not in dump


RESULTS = """period;provider_id;service;completed_trajectories;successful_trajectories
2024;P001;8;40;25
2024;P001;3;10;4
2024;P002;11;12;9
"""

RESULT_CASES = [
    Case("results: unknown provider", "results", "2024;P999;8;10;5", "provider_id", "onbekende aanbieder"),
    Case(
        "results: more successes than completions",
        "results",
        "2024;P001;7;10;11",
        "successful_trajectories",
        "meer succesvolle dan voltooide",
    ),
    Case("results: negative count", "results", "2024;P001;7;-3;0", "completed_trajectories", "geen geheel aantal"),
    Case("results: not a number", "results", "2024;P001;7;veel;0", "completed_trajectories", "geen geheel aantal"),
    Case("results: unknown dienst", "results", "2024;P001;15;10;5", "service", "onbekende dienst"),
    Case("results: discontinued dienst 12", "results", "2024;P001;12;10;5", "service", "niet meer aangeboden"),
    Case("results: period in the future", "results", "2099;P001;8;10;5", "period", "in de toekomst"),
]


@pytest.mark.parametrize("case", RESULT_CASES, ids=[c.name for c in RESULT_CASES])
def test_bad_results_row(tmp_path: Path, case: Case) -> None:
    paths = _write(tmp_path, INVITATIONS, ANSWERS)
    (tmp_path / "results.csv").write_text(RESULTS + case.line + "\n", encoding="utf-8")
    report = ingest(tmp_path / "w.duckdb", [*paths, tmp_path / "results.csv"])
    hit = report.quarantine.filter(pl.col("reason").str.contains(case.reason, literal=True))
    assert hit.height == 1, report.quarantine.to_dicts()
    assert (hit["file"][0], hit["row_number"][0], hit["column_name"][0]) == ("results.csv", 4, case.column)
    results = next(t for t in report.tables if t.kind == "results")
    assert (results.rows_read, results.rows_loaded, results.rows_quarantined) == (4, 3, 1)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT sum(completed_trajectories), count(*) FROM results").fetchall() == [(62, 3)]


def test_completed_definition_follows_the_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from keurmerk.catalog import catalog

    aspects = [q.id for q in catalog().aspect_questions("client")]
    rows = [f"R1;{q};{'geen mening' if i == 0 else 'tevreden'};" for i, q in enumerate(aspects)]
    rows += [f"R4;{q};tevreden;" for q in aspects[:-1]]  # one aspect question left out
    answers = "respondent_id;question_id;value;answered_at\n" + "\n".join(rows) + "\n"

    def completed(policy_toml: str | None) -> set[str]:
        db = tmp_path / f"w{len(list(tmp_path.iterdir()))}.duckdb"
        if policy_toml is None:
            monkeypatch.delenv("KEURMERK_POLICY", raising=False)
        else:
            (tmp_path / "policy.toml").write_text(policy_toml, encoding="utf-8")
            monkeypatch.setenv("KEURMERK_POLICY", str(tmp_path / "policy.toml"))
        directory = tmp_path / db.stem
        directory.mkdir()
        ingest(db, _write(directory, INVITATIONS, answers))
        with duckdb.connect(str(db), read_only=True) as con:
            return {r for (r,) in con.execute("SELECT respondent_id FROM invitations WHERE completed").fetchall()}

    assert completed(None) == {"R1"}  # default: every aspect answered, 'geen mening' counts
    assert completed("completed_no_opinion_answers = false\n") == set()
    assert completed("completed_aspect_share = 0.9\n") == {"R1", "R4"}


def test_completion_follows_later_deliveries_and_a_policy_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Completion is recomputed for the respondents a load touches, and for everyone when the policy's rule changes."""
    from keurmerk.catalog import catalog

    monkeypatch.delenv("KEURMERK_POLICY", raising=False)
    aspects = [q.id for q in catalog().aspect_questions("client")]
    header = "respondent_id;question_id;value;answered_at\n"
    first = [f"R1;{q};{'geen mening' if i == 0 else 'tevreden'};" for i, q in enumerate(aspects)]
    first += [f"R4;{q};tevreden;" for q in aspects[:-1]]  # one aspect question still to come
    db = tmp_path / "w.duckdb"

    def completed() -> set[str]:
        with duckdb.connect(str(db), read_only=True) as con:
            return {r for (r,) in con.execute("SELECT respondent_id FROM invitations WHERE completed").fetchall()}

    (tmp_path / "one").mkdir()
    ingest(db, _write(tmp_path / "one", INVITATIONS, header + "\n".join(first) + "\n"))
    assert completed() == {"R1"}
    later = tmp_path / "later.csv"
    later.write_text(header + f"R4;{aspects[-1]};tevreden;\n", encoding="utf-8")
    ingest(db, [later])  # touches R4 only
    assert completed() == {"R1", "R4"}
    (tmp_path / "policy.toml").write_text("completed_no_opinion_answers = false\n", encoding="utf-8")
    monkeypatch.setenv("KEURMERK_POLICY", str(tmp_path / "policy.toml"))
    ingest(db, [])  # no delivery at all: the new rule still applies to everyone
    assert completed() == {"R4"}


# Values with white space of every kind at either end, or none: the cheap tests in front of the answers' trim must
# let through every value the exact test (the regular expression) would trim, and change nothing else.
_SPACED = ["R1", "", " R1", "R1 ", "\tR1", "R1\t", "R1\n", "\rR1", "R1\f", "\u00a0R1", "R1\u00a0", "R1\u2003",
           "\u3000R1", "R1\u0085", "\u2028R1", " ", "\t\t", "R 1", "Ré", "é ", "\x0bR1", "R1\x1f", "!", "R1!"]


@pytest.mark.parametrize("value", _SPACED, ids=[repr(v) for v in _SPACED])
def test_the_answers_trim_is_the_exact_one(value: str) -> None:
    from keurmerk.ingest.answers import _SPACE, _catalogue
    from keurmerk.ingest.rules import answer_rules

    con = duckdb.connect()
    _catalogue(con, answer_rules())
    exact = rf"CASE WHEN regexp_matches($v, '^[\s\p{{Z}}\x{{85}}]|[\s\p{{Z}}\x{{85}}]$') THEN trim($v, {_SPACE}) ELSE $v END"
    got, expected = con.execute(f"SELECT _ktrim($v), {exact}", {"v": value}).fetchone()
    assert got == expected
    assert got == value.strip() or value[:1] in "\x0b\x1f" or value[-1:] in "\x0b\x1f"  # as Python trims, but VT/US
