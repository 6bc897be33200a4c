"""The results norm and the Keurmerk status (keurmerk.metrics.status) on hand-checked fixtures, the same numbers
as table 1.1 for every provider of the `tiny` warehouse, the public listing, and the results file's bad input.

Hand-made warehouse (period 2024, clients unless said otherwise; grades of completed questionnaires):

| provider | dienst | grades | corrected (< 5 → 5) | satisfaction norm | trajectories | success | results norm | status |
|---|---|---|---|---|---|---|---|---|
| A | 8 | 8 7 9 6 → 7,5 | 7,5 | met (raw) | 10 / 7 | 70,0% | met | voldoet |
| B | 7 | 9 9 8 2 2 → 6,0 | 7,2 | met (corrected) | 20 / 9 | 45,0% | not met | voldoet niet |
| C | 9 | 5 5 6 → 5,3 | 5,3 | not met | 10 / 6 | 60,0% | met | voldoet niet |
| D | 8 | 8 8 → 8,0 | 8,0 | met (raw) | — | — | — | onvolledig |

A also has commissioners (8 and 9 → 8,5) and a period 2023 (clients 7 and 7 → 7,0: trend +0,5, up).
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import polars as pl
import pytest

from keurmerk.filters import Filters
from keurmerk.ingest import ingest
from keurmerk.metrics import compute_all, norms
from keurmerk.metrics.norms import combined_status
from keurmerk.metrics.status import (
    StatusCells,
    movers,
    previous_filters,
    public_listing,
    results_rows,
    satisfaction_rows,
    status_table,
    watch_list,
)
from keurmerk.policy import Policy, load_policy
from keurmerk.warehouse import open_readonly

NAMES = {"A": "Aanbieder Alfa", "B": "Bureau Bèta", "C": "Coaching Gamma", "D": "Dienst Delta"}


def _warehouse_frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    invitations, answers = [], []

    def respondent(
        provider: str,
        period: int,
        service: int,
        grade: float | None,
        *,
        audience: str = "client",
        status: str = "delivered",
        completed: bool = True,
        recommended: str | None = None,
    ) -> None:
        rid = f"{provider}{period}-{len(invitations):03d}"
        client = audience == "client"
        invitations.append(
            {
                "respondent_id": rid,
                "period": period,
                "provider_id": provider,
                "audience": audience,
                "service": service,
                "province": "PV28" if client else None,
                "questionnaire": "regular",
                "form": "client" if client else "commissioner",
                "mode": "email",
                "reminded": True,
                "status": status,
                "completed": completed,
            }
        )
        if grade is not None:
            answers.append({"respondent_id": rid, "question_id": "grade", "value": str(grade), "value_num": grade})
        if recommended is not None:
            answers.append(
                {"respondent_id": rid, "question_id": "recommended", "value": recommended, "value_num": None}
            )

    for grade, rec in zip((8, 7, 9, 6), ("ja", "ja", "nee", "nee"), strict=True):
        respondent("A", 2024, 8, grade, recommended=rec)
    respondent("A", 2024, 8, None, completed=False)  # delivered, did not finish: in the net sample only
    respondent("A", 2024, 8, None, status="undeliverable", completed=False)
    for grade in (8, 9):
        respondent("A", 2024, 8, grade, audience="commissioner")
    for grade in (7, 7):
        respondent("A", 2023, 8, grade)
    for grade in (9, 9, 8, 2, 2):
        respondent("B", 2024, 7, grade)
    for grade in (5, 5, 6):
        respondent("C", 2024, 9, grade)
    for grade in (8, 8):
        respondent("D", 2024, 8, grade)
    results = pl.DataFrame(
        [("A", 2024, 8, 10, 7), ("B", 2024, 7, 20, 9), ("C", 2024, 9, 10, 6)],
        schema=["provider_id", "period", "service", "completed_trajectories", "successful_trajectories"],
        orient="row",
    )
    providers = pl.DataFrame({"provider_id": list(NAMES), "provider_name": list(NAMES.values())})
    inv = pl.DataFrame(invitations).with_columns(pl.col("period").cast(pl.Int32), pl.col("service").cast(pl.Int16))
    ans = pl.DataFrame(
        answers,
        schema={"respondent_id": pl.String, "question_id": pl.String, "value": pl.String, "value_num": pl.Float64},
    )
    return inv, ans, results, providers


@pytest.fixture(scope="module")
def cells() -> StatusCells:
    return StatusCells.from_warehouse_frames(*_warehouse_frames(), policy=Policy())


@pytest.fixture(scope="module")
def table(cells: StatusCells) -> pl.DataFrame:
    return status_table(cells, Filters(period=2024), Policy())


def _row(table: pl.DataFrame, provider: str) -> dict:
    return table.filter(pl.col("provider_id") == provider).row(0, named=True)


# --- the results norm ------------------------------------------------------------------------------------------


def _results(*rows: tuple[str, int, int, int]) -> pl.DataFrame:
    return pl.DataFrame(
        [(p, 2024, s, c, k) for p, s, c, k in rows],
        schema={
            "provider_id": pl.String,
            "period": pl.Int32,
            "service": pl.Int16,
            "completed_trajectories": pl.Int64,
            "successful_trajectories": pl.Int64,
        },
        orient="row",
    )


def test_success_rate_per_dienst_against_the_benchmark() -> None:
    frame = results_rows(_results(("A", 7, 10, 6), ("A", 9, 8, 3), ("B", 7, 10, 4)), Policy())
    a7 = frame.filter((pl.col("provider_id") == "A") & (pl.col("service") == 7)).row(0, named=True)
    # 6 of 10 = 60,0%; the benchmark of dienst 7 pools A and B: 10 of 20 = 50,0%
    assert (a7["success_pct"], a7["bench_success_pct"], a7["diff"]) == (60.0, 50.0, 10.0)
    # Wilson 95%: centre (0,6 + 0,19208) / 1,38416, half √(0,24·0,38416 + 0,38416²/4) / 1,38416
    assert (a7["ci_low"], a7["ci_high"]) == (31.3, 83.2)
    assert a7["significant"] is False and a7["meets_threshold"] is True and a7["threshold"] == 50.0
    a9 = frame.filter((pl.col("provider_id") == "A") & (pl.col("service") == 9)).row(0, named=True)
    assert (a9["success_pct"], a9["meets_threshold"]) == (37.5, False)
    total = frame.filter((pl.col("provider_id") == "A") & pl.col("service").is_null()).row(0, named=True)
    assert (total["completed_trajectories"], total["successful_trajectories"], total["success_pct"]) == (18, 9, 50.0)
    assert total["results_met"] is False  # dienst 9 fails, so the provider fails
    b = frame.filter((pl.col("provider_id") == "B") & pl.col("service").is_null()).row(0, named=True)
    assert (b["success_pct"], b["results_met"]) == (40.0, False)


def test_the_displayed_rate_is_judged() -> None:
    """999 of 2000 is 49,95%, shown as 50,0%: it meets 50% (what a provider sees is what is judged)."""
    frame = results_rows(_results(("A", 8, 2000, 999), ("B", 8, 2000, 998)), Policy())
    totals = dict(frame.filter(pl.col("service").is_null()).select("provider_id", "results_met").iter_rows())
    assert totals == {"A": True, "B": False}
    shown = dict(frame.filter(pl.col("service").is_null()).select("provider_id", "success_pct").iter_rows())
    assert shown == {"A": 50.0, "B": 49.9}


def test_a_significant_difference_needs_the_interval_to_exclude_the_benchmark() -> None:
    frame = results_rows(_results(("A", 8, 200, 180), ("B", 8, 800, 400)), Policy())
    a = frame.filter((pl.col("provider_id") == "A") & (pl.col("service") == 8)).row(0, named=True)
    assert a["success_pct"] == 90.0 and a["bench_success_pct"] == 58.0 and a["significant"] is True


def test_no_trajectories_gives_no_verdict() -> None:
    frame = results_rows(_results(("A", 8, 0, 0)), Policy())
    assert frame["success_pct"].null_count() == frame.height
    assert frame["meets_threshold"].null_count() == frame.height
    assert frame.filter(pl.col("service").is_null())["results_met"].to_list() == [None]


def test_threshold_per_dienst_is_policy(tmp_path: Path) -> None:
    rows = _results(("A", 7, 10, 6), ("A", 9, 8, 3))
    assert results_rows(rows, Policy()).filter(pl.col("service").is_null())["results_met"].item() is False
    lenient = Policy(results_min_success_pct_per_service=((9, 35.0),))
    frame = results_rows(rows, lenient)
    assert frame.filter(pl.col("service") == 9)["threshold"].item() == 35.0
    assert frame.filter(pl.col("service") == 7)["threshold"].item() == 50.0
    assert frame.filter(pl.col("service").is_null())["results_met"].item() is True
    strict = results_rows(rows, Policy(results_min_success_pct=65.0))
    assert strict.filter(pl.col("service") == 7)["meets_threshold"].item() is False
    # the same from the policy file, as staff change it
    (tmp_path / "policy.toml").write_text(
        "results_min_success_pct = 55\n[results_min_success_pct_per_service]\n9 = 35.0\n", encoding="utf-8"
    )
    loaded = load_policy(tmp_path / "policy.toml")
    assert loaded.results_threshold(9) == 35.0 and loaded.results_threshold(7) == 55.0
    assert loaded.results_min_success_pct_per_service == ((9, 35.0),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("results_min_success_pct_per_service = [45]\n", "tabel"),
        ("[results_min_success_pct_per_service]\nzeven = 45.0\n", "tabel"),
        ("results_min_success_pct = 120\n", "tussen 0 en 100"),
    ],
)
def test_a_bad_results_threshold_is_an_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "policy.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_policy(tmp_path / "policy.toml")


# --- the Keurmerk status ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("norm_met", "results_met", "status"),
    [
        (True, True, "met"),
        (True, False, "not_met"),
        (False, True, "not_met"),
        (False, None, "not_met"),
        (None, False, "not_met"),
        (True, None, "incomplete"),
        (None, True, "incomplete"),
        (None, None, "incomplete"),
    ],
)
def test_status_combines_both_norms(norm_met: bool | None, results_met: bool | None, status: str) -> None:
    frame = pl.DataFrame({"n": [norm_met], "r": [results_met]}, schema={"n": pl.Boolean, "r": pl.Boolean})
    assert frame.select(combined_status(pl.col("n"), pl.col("r"))).item() == status


def test_status_table_on_the_hand_checked_warehouse(table: pl.DataFrame) -> None:
    assert table["provider_id"].to_list() == ["A", "B", "C", "D"]  # sorted by name
    expected = {
        # provider: (grade, corrected, norm_met, basis, success, results_met, status)
        "A": (7.5, 7.5, True, "raw", 70.0, True, "met"),
        "B": (6.0, 7.2, True, "corrected", 45.0, False, "not_met"),
        "C": (5.3, 5.3, False, "corrected", 60.0, True, "not_met"),
        "D": (8.0, 8.0, True, "raw", None, None, "incomplete"),
    }
    for provider, values in expected.items():
        r = _row(table, provider)
        got = (
            r["grade"],
            r["corrected_grade"],
            r["norm_met"],
            r["norm_basis"],
            r["success_pct"],
            r["results_met"],
            r["status"],
        )
        assert got == values, provider
    a = _row(table, "A")
    assert (a["net_sample"], a["completed"], a["response_pct"]) == (5, 4, 80.0)
    assert (a["commissioner_n"], a["commissioner_grade"]) == (2, 8.5)
    assert (a["promoter_base"], a["promoter_score"]) == (4, 50.0)
    # the benchmark: every client grade of 2024 pooled: (30 + 30 + 16 + 16) / 14 = 6,57
    assert a["bench_grade"] == 6.6 and a["grade_diff"] == 0.9
    # the status names the two norms it judges, not the Keurmerk as a whole (issue 11)
    assert a["status_label"] == "voldoet aan de tevredenheids- en resultatennorm"
    assert _row(table, "B")["status_label"] == "voldoet niet aan de tevredenheids- of resultatennorm"
    # C fails on dienst 9 (and on the total) whichever mean is used
    failing = {(f["label"], f["grade"], f["norm"]) for f in _row(table, "C")["norm_failing"]}
    assert ("Totaal", 5.3, 6.5) in failing
    assert a["norm_failing"] is None
    # publication per dienst: 4 completed (< 10) is not published
    assert [(p["service"], p["published"]) for p in a["publication"]] == [(8, False)]
    assert a["published_services"] == 0 and a["unpublished_services"] == 1
    # results per dienst next to the benchmark of that dienst (A is the only provider with dienst 8 results)
    assert [(x["service"], x["success_pct"], x["bench_success_pct"], x["meets_threshold"]) for x in a["results"]] == [
        (8, 70.0, 70.0, True)
    ]
    assert [(x["service"], x["success_pct"], x["threshold"]) for x in _row(table, "B")["results_failing"]] == [
        (7, 45.0, 50.0)
    ]


def test_trend_against_the_previous_period(table: pl.DataFrame, cells: StatusCells) -> None:
    a = _row(table, "A")
    assert (a["prev_grade"], a["grade_change"], a["trend"]) == (7.0, 0.5, "up")
    assert _row(table, "B")["trend"] is None  # no 2023
    assert previous_filters(Filters(period=(2020, 2022))).periods == (2017, 2019)
    assert previous_filters(Filters()) is None
    flat = status_table(cells, Filters(period=2024), Policy(trend_min_diff=0.6))
    assert _row(flat, "A")["trend"] == "flat"


def test_watch_list_puts_providers_under_a_norm_first(table: pl.DataFrame) -> None:
    watched = watch_list(table)
    assert watched["provider_id"].to_list()[:2] == ["C", "B"]  # under a norm, lowest grade first
    assert set(watched.filter(pl.col("watch") == "under")["provider_id"]) == {"B", "C"}
    b = _row(table, "B")
    assert "resultatennorm niet gehaald" in b["watch_reasons"]
    assert "tevredenheidsnorm alleen met het gecorrigeerde cijfer" in b["watch_reasons"]
    assert _row(table, "D")["watch"] == "incomplete"
    assert "geen resultaten aangeleverd" in _row(table, "D")["watch_reasons"]
    assert _row(table, "A")["watch"] is None


def test_movers_need_enough_respondents_in_both_periods(table: pl.DataFrame) -> None:
    assert movers(table, Policy()).is_empty()  # A has 2 grades in 2023, fewer than min_n
    assert movers(table, Policy(min_n=2))["provider_id"].to_list() == ["A"]


def test_filters_reach_both_norms(cells: StatusCells) -> None:
    only_8 = status_table(cells, Filters(period=2024, services=(8,)), Policy())
    assert only_8["provider_id"].to_list() == ["A", "D"]
    commissioners = status_table(cells, Filters(period=2024, audience="commissioner"), Policy())
    a = _row(commissioners, "A")
    assert (a["grade"], a["n"]) == (8.5, 2)  # the headline form follows the audience


def test_cells_refuse_a_policy_they_were_not_made_with(cells: StatusCells) -> None:
    with pytest.raises(ValueError, match="correctiegrens"):
        status_table(cells, Filters(period=2024), Policy(correction_floor=4.0))


# --- against the provider's own table 1.1, on the tiny warehouse ---------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tiny_db: Path) -> tuple[duckdb.DuckDBPyConnection, StatusCells]:
    con = open_readonly(tiny_db)
    return con, StatusCells.load(con, Policy())


TABLE_COLUMNS = [
    "form",
    "service",
    "invited",
    "net_sample",
    "completed",
    "response_pct",
    "n",
    "grade",
    "ci_low",
    "ci_high",
    "corrected_grade",
    "published",
    "norm",
    "meets_norm_raw",
    "meets_norm_corrected",
    "norm_met",
    "norm_basis",
]


@pytest.mark.parametrize(
    "filters",
    [
        Filters(period=2021),
        Filters(period=2022),
        Filters(period=(2021, 2022), services=(8,)),
        Filters(period=2021, audience="commissioner"),
        Filters(provinces=("PV28",)),
    ],
    ids=["2021", "2022", "both-dienst-8", "commissioners", "zuid-holland"],
)
def test_every_provider_gets_its_own_table_1_1(tiny, filters: Filters) -> None:
    """One pass for all providers gives, provider by provider, exactly the table 1.1 of the provider dashboard."""
    con, cells = tiny
    rows = satisfaction_rows(cells.select(filters).respondents, Policy())
    providers = rows["provider_id"].unique().to_list()
    assert len(providers) >= 4
    for provider in providers:
        own = compute_all(con, filters.replace(provider=provider), Policy(), suppress=False, figure_ids=["table_1_1"])[
            "table_1_1"
        ]
        expected = own.filter(pl.col("invited") > 0).select(TABLE_COLUMNS).sort("form", "service", nulls_last=True)
        got = (
            rows.filter(pl.col("provider_id") == provider)
            .select(TABLE_COLUMNS)
            .sort("form", "service", nulls_last=True)
        )
        assert got.equals(expected), provider


def test_partner_in_werk_2021(tiny) -> None:
    _, cells = tiny
    piw = _row(status_table(cells, Filters(period=2021), Policy()), "P0000")
    assert (piw["net_sample"], piw["completed"], piw["response_pct"], piw["grade"]) == (43, 18, 41.9, 8.0)
    assert (piw["commissioner_grade"], piw["norm_met"], piw["norm_basis"]) == (8.2, True, "raw")
    assert [(p["service"], p["published"]) for p in piw["publication"]] == [(3, False), (7, False), (8, True)]


def test_results_match_the_researcher_view(tiny) -> None:
    con, cells = tiny
    view = con.sql("SELECT provider_id, service, success_pct FROM v_results WHERE period = 2021").pl()
    ours = results_rows(cells.select(Filters(period=2021)).results, Policy()).filter(pl.col("service").is_not_null())
    joined = view.join(
        ours.select("provider_id", "service", pl.col("success_pct").alias("ours")), on=["provider_id", "service"]
    )
    assert joined.height == view.height > 10
    assert (joined["success_pct"] == joined["ours"]).all()
    columns = [c for (c, *_) in con.execute("DESCRIBE v_results").fetchall()]
    assert columns == [
        "period",
        "provider_id",
        "provider_name",
        "service",
        "service_label",
        "completed_trajectories",
        "successful_trajectories",
        "success_pct",
    ]


def test_tiny_has_providers_failing_each_norm(tiny) -> None:
    """The demo data carry results correlated with quality, a few failing (synth)."""
    _, cells = tiny
    both = status_table(cells, Filters(), Policy())
    assert both.filter(pl.col("results_met").eq(False)).height >= 1
    assert both.filter(pl.col("results_met").eq(True)).height >= 4
    assert both["trajectories"].null_count() == 0


# --- the public listing: what the publication rule allows, nothing else -------------------------------------------


def test_public_listing_shows_only_published_grades(tiny) -> None:
    con, cells = tiny
    policy = Policy()
    listing = public_listing(cells, 2021, policy)
    assert listing.height == cells.providers.height
    for r in listing.iter_rows(named=True):
        own = compute_all(
            con, Filters(provider=r["provider_id"], period=2021), policy, suppress=False, figure_ids=["table_1_1"]
        )["table_1_1"]
        published = {
            (x["form"], x["service"]): x["grade"]
            for x in own.filter(pl.col("published") & (pl.col("n") >= policy.min_n)).iter_rows(named=True)
            if x["audience"] == "client" and (x["service"] is not None or x["form"] != "client")
        }
        shown = {(g["form"], g["service"]): g["grade"] for g in r["grades"] or []}
        assert shown == {k: v for k, v in published.items() if v is not None}, r["provider_id"]
        hidden = {(u["form"], u["service"]) for u in r["unpublished"] or []}
        assert not hidden & set(shown)
    piw = listing.filter(pl.col("provider_id") == "P0000").row(0, named=True)
    assert [(g["service"], g["grade"], g["n"]) for g in piw["grades"]] == [(8, 7.9, 15)]
    assert [u["service"] for u in piw["unpublished"]] == [3, 7]
    assert (piw["commissioner_grade"], piw["commissioner_n"]) == (8.2, 9)
    assert "PV28" in piw["provinces"] and piw["services"] == [3, 7, 8]
    assert set(listing.columns) == {
        "provider_id",
        "provider_name",
        "period",
        "search_key",
        "services",
        "provinces",
        "grades",
        "unpublished",
        "commissioner_grade",
        "commissioner_n",
    }


def test_public_listing_hides_small_groups(cells: StatusCells) -> None:
    """A's commissioners (2) are published by the policy but fewer than min_n: not shown; with min_n 2 they are."""
    a = public_listing(cells, 2024, Policy()).filter(pl.col("provider_id") == "A").row(0, named=True)
    assert a["commissioner_grade"] is None and a["commissioner_n"] is None
    assert a["grades"] is None  # 4 completed clients: not published
    lenient = Policy(min_n=2, publish_min_completed=2, publish_min_response_pct=10.0)
    cells_lenient = StatusCells.from_warehouse_frames(*_warehouse_frames(), policy=lenient)
    a = public_listing(cells_lenient, 2024, lenient).filter(pl.col("provider_id") == "A").row(0, named=True)
    assert (a["commissioner_grade"], a["commissioner_n"]) == (8.5, 2)
    assert [(g["service"], g["grade"], g["n"]) for g in a["grades"]] == [(8, 7.5, 4)]


def test_no_client_total_leaks_an_unpublished_dienst(tiny) -> None:
    """A client total next to published diensten would give an unpublished one away: the listing has none."""
    _, cells = tiny
    listing = public_listing(cells, 2021, Policy())
    for r in listing.iter_rows(named=True):
        assert all(not (g["form"] == "client" and g["service"] is None) for g in r["grades"] or [])


# --- bad input in the results file (what tests/test_ingest_bad_input.py does not cover) ----------------------------

INVITATIONS = """period;provider_id;provider_name;respondent_id;audience;service;province;questionnaire;mode;reminded;status
2024;P001;Alfa Werk;R1;client;8;PV28;regular;email;true;delivered
2024;P002;Bèta Re-integratie;R2;client;7;PV27;regular;post;false;delivered
"""
ANSWERS = "respondent_id;question_id;value;answered_at\nR1;grade;8;\n"
RESULTS_HEADER = "period;provider_id;service;completed_trajectories;successful_trajectories\n"


def _load(tmp_path: Path, results: str, name: str = "results.csv", db: str = "w.duckdb"):
    for file, text in (("invitations.csv", INVITATIONS), ("answers.csv", ANSWERS), (name, results)):
        (tmp_path / file).write_text(text, encoding="utf-8")
    return ingest(tmp_path / db, [tmp_path / "invitations.csv", tmp_path / "answers.csv", tmp_path / name])


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        ("2024;P001;7;;3", "completed_trajectories", "waarde ontbreekt"),
        ("2024;;7;10;3", "provider_id", "waarde ontbreekt"),
        ("twintig;P001;7;10;3", "period", "geen jaartal"),
        ("2024;P001;7;10,5;3", "completed_trajectories", "geen geheel aantal"),
        ("2024;P001;7;10;-1", "successful_trajectories", "geen geheel aantal"),
        ("2024;P001;zeven;10;3", "service", "onbekende dienst"),
    ],
)
def test_bad_results_row_is_quarantined(tmp_path: Path, line: str, column: str, reason: str) -> None:
    report = _load(tmp_path, RESULTS_HEADER + "2024;P001;8;40;25\n" + line + "\n")
    hit = report.quarantine.filter(pl.col("reason").str.contains(reason, literal=True))
    assert hit.height >= 1, report.quarantine.to_dicts()
    assert (hit["row_number"][0], hit["column_name"][0]) == (2, column)
    table = next(t for t in report.tables if t.kind == "results")
    assert (table.rows_read, table.rows_loaded, table.rows_quarantined) == (2, 1, 1)


def test_whole_number_with_decimal_zero_is_accepted_and_zero_trajectories_load(tmp_path: Path) -> None:
    report = _load(tmp_path, RESULTS_HEADER + "2024;P001;8;40.0;25.0\n2024;P002;7;0;0\n")
    assert report.quarantine.height == 0
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT provider_id, completed_trajectories, successful_trajectories, success_pct "
            "FROM v_results ORDER BY provider_id"
        ).fetchall()
    assert rows == [("P001", 40, 25, 62.5), ("P002", 0, 0, None)]


def test_repeated_results_row_loads_once_and_a_second_delivery_changes_nothing(tmp_path: Path) -> None:
    text = RESULTS_HEADER + "2024;P001;8;40;25\n2024;P001;8;40;25\n"
    report = _load(tmp_path, text)
    assert report.quarantine.height == 0
    table = next(t for t in report.tables if t.kind == "results")
    assert (table.rows_read, table.rows_loaded, table.rows_new) == (2, 2, 1)
    # the same row again in another file: nothing new; other counts for the same key: held back (issue 17)
    (tmp_path / "again.csv").write_text(RESULTS_HEADER + "2024;P001;8;40;25\n2024;P002;8;41;25\n", encoding="utf-8")
    (tmp_path / "changed.csv").write_text(RESULTS_HEADER + "2024;P001;8;41;25\n", encoding="utf-8")
    again = ingest(tmp_path / "w.duckdb", [tmp_path / "again.csv", tmp_path / "changed.csv"])
    table = next(t for t in again.tables if t.file == "again.csv")
    assert (table.rows_read, table.rows_new) == (2, 1)
    changed = next(t for t in again.tables if t.file == "changed.csv")
    assert (changed.rows_read, changed.rows_new, changed.rows_quarantined) == (1, 0, 1)
    assert again.quarantine["reason"].str.contains("staan al in het warehouse").any()
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute(
            "SELECT count(*), sum(completed_trajectories) FROM results WHERE provider_id = 'P001'"
        ).fetchall() == [(1, 40)]


def test_results_file_without_a_column_is_not_recognised(tmp_path: Path) -> None:
    report = _load(tmp_path, "period;provider_id;service;completed_trajectories\n2024;P001;8;40\n")
    table = next(t for t in report.tables if t.file == "results.csv")
    assert table.kind == "unknown" and table.rows_quarantined == 1
    assert "voor resultaten ontbreekt: successful_trajectories" in report.quarantine["reason"][0]


def test_results_as_parquet_and_delivered_before_the_invitations(tmp_path: Path) -> None:
    """Order of the files does not matter: invitations load first, so results find their providers."""
    pl.DataFrame(
        {
            "period": [2024],
            "provider_id": ["P002"],
            "service": [7],
            "completed_trajectories": [12],
            "successful_trajectories": [9],
        }
    ).write_parquet(tmp_path / "results.parquet")
    (tmp_path / "invitations.csv").write_text(INVITATIONS, encoding="utf-8")
    (tmp_path / "answers.csv").write_text(ANSWERS, encoding="utf-8")
    report = ingest(
        tmp_path / "w.duckdb", [tmp_path / "results.parquet", tmp_path / "invitations.csv", tmp_path / "answers.csv"]
    )
    assert report.quarantine.height == 0
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT success_pct FROM v_results").fetchall() == [(75.0,)]


def test_generated_results_load_without_quarantine(tiny_db: Path) -> None:
    with open_readonly(tiny_db) as con:
        loaded = con.execute("SELECT count(*), min(completed_trajectories) FROM results").fetchall()[0]
        kinds = dict(con.execute("SELECT kind, sum(rows_quarantined) FROM load_log GROUP BY kind").fetchall())
    assert loaded[0] > 20 and loaded[1] >= 1
    assert kinds.get("results") == 0


def test_wilson_by_hand() -> None:
    """The interval in test_success_rate_per_dienst_against_the_benchmark, worked out."""
    z = 1.959963984540054
    p, n = 0.6, 10
    c = z * z / n
    centre, half = (p + c / 2) / (1 + c), math.sqrt(p * (1 - p) * c + c * c / 4) / (1 + c)
    assert (round(100 * (centre - half), 1), round(100 * (centre + half), 1)) == (31.3, 83.2)


def test_one_rulebook_judges_both_tables(tiny, monkeypatch) -> None:
    """By construction: a rule changed in keurmerk.metrics.norms changes the provider's table 1.1 and the staff
    table alike (here: publication of every grade)."""
    con, cells = tiny
    filters = Filters(period=2021)
    assert not satisfaction_rows(cells.select(filters).respondents, Policy())["published"].all()
    monkeypatch.setattr(norms, "published", lambda policy: pl.lit(True))
    staff = satisfaction_rows(cells.select(filters).respondents, Policy())
    provider = staff["provider_id"][0]
    own = compute_all(con, filters.replace(provider=provider), Policy(), suppress=False, figure_ids=["table_1_1"])
    assert staff["published"].all()
    assert own["table_1_1"]["published"].all()


def test_one_cell_layer_counts_for_both_tables(tiny, monkeypatch) -> None:
    """By construction: the staff cells are the provider view's cells (keurmerk/warehouse/sql), so a change to what
    a cell counts (here: grades of 8 or more left out) changes the provider's table 1.1 and the staff table alike."""
    from keurmerk.metrics import source
    from keurmerk.warehouse import cells as cell_layer

    con, _ = tiny
    filters = Filters(period=2021)
    original = cell_layer.cell_sql

    def fewer_grades(file: str, cell: str) -> str:
        sql = original(file, cell)
        return sql.replace("a.routing_flag IS NULL", "a.routing_flag IS NULL AND coalesce(a.value_num, 0) < 8")

    monkeypatch.setattr(cell_layer, "cell_sql", fewer_grades)  # the one place both sides read their cell SQL from
    cell_layer.per_provider_sql.cache_clear()
    monkeypatch.setattr(source, "_stored_cube_is_fresh", lambda con: False)  # the stored cube predates the change
    try:
        cells = StatusCells.load(con, Policy())
        staff = satisfaction_rows(cells.select(filters).respondents, Policy())
        for provider in staff["provider_id"].unique().to_list()[:3]:
            own = compute_all(con, filters.replace(provider=provider), Policy(), suppress=False,
                              figure_ids=["table_1_1"])["table_1_1"]
            expected = own.filter(pl.col("invited") > 0).select(TABLE_COLUMNS).sort("form", "service", nulls_last=True)
            got = staff.filter(pl.col("provider_id") == provider).select(TABLE_COLUMNS).sort(
                "form", "service", nulls_last=True)
            assert got.equals(expected), provider
        assert staff["grade"].drop_nulls().max() < 8  # the change reached both
    finally:
        source.per_provider_sql.cache_clear()
