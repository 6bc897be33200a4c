"""Every metric on the hand-made sample (keurmerk.metrics.sample), numbers checked by hand.

Partner in Werk (P0000) 2021: 18 completed clients (dienst 3: 9; dienst 7: 8 and 8,5; dienst 8: nine 8s, three 7s,
two 9s, one 7,5), 11 incomplete questionnaires in the net sample with a grade 1 each, 6 invitations outside it.
Werkwijs (P0001): 20 completed clients. Laag en Hoog (P0002): 10 completed clients, grades three 1s and seven 8s.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import polars as pl
import pytest

from keurmerk.catalog import catalog
from keurmerk.filters import Filters
from keurmerk.metrics import CubeSource, Selection, WarehouseSource, compute_all, figure_frame, registry, select
from keurmerk.metrics.sample import sample_frames, write_sample_import_files, write_sample_warehouse
from keurmerk.metrics.stats import rounded, t_quantile
from keurmerk.policy import Policy
from keurmerk.warehouse import open_readonly

PIW = Filters(provider="P0000", period=2021)
FEW = "te weinig respondenten (n < 5)"
NONE = "geen respondenten"


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    connection = open_readonly(write_sample_warehouse(tmp_path_factory.mktemp("figures") / "sample.duckdb"))
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def piw(con) -> dict[str, pl.DataFrame]:
    return compute_all(con, PIW)


def where(**equal) -> pl.Expr:
    """Column equal to value, None meaning null."""
    return pl.all_horizontal(pl.col(k).is_null() if v is None else pl.col(k) == v for k, v in equal.items())


def row(frame: pl.DataFrame, **equal) -> dict:
    matches = frame.filter(where(**equal))
    assert matches.height == 1, (equal, matches)
    return matches.row(0, named=True)


# --- which questionnaires count -----------------------------------------------------------------------------

def test_incomplete_questionnaires_are_excluded(piw) -> None:
    total = row(piw["fig_3_1"], label="Totaal")
    assert (total["n"], total["grade"]) == (18, 8.0)  # with the eleven incomplete 1s it would be 5,4
    assert row(piw["fig_3_2"], score=1)["n"] == 0


def test_undeliverable_and_duplicate_invitations_are_outside_the_net_sample(piw) -> None:
    clients = row(piw["table_1_1"], form="client", label="Totaal")
    # the generator's Partner in Werk (issue 11: one Partner in Werk): 48 invited, 5 outside the net sample
    assert (clients["invited"], clients["net_sample"], clients["completed"]) == (48, 43, 18)
    funnel = piw["fig_1"].filter(where(audience="client", mode=None))
    assert funnel["n"].to_list() == [48, 43, 18]
    # fig 1 shows response as table 1.1 does: completed of the net sample (issue 11; was 18 of the invited)
    assert funnel["share"].to_list() == [100.0, 89.6, 41.9]  # 43 / 48 of the invited; 18 / 43 response


def test_comma_decimals_arrive_as_value_num(tmp_path: Path) -> None:
    from keurmerk.ingest import ingest

    files = write_sample_import_files(tmp_path)
    assert "P0000-2021-0007;grade;8,5" in files[1].read_text(encoding="utf-8")
    ingest(tmp_path / "w.duckdb", files)
    with open_readonly(tmp_path / "w.duckdb") as ingested:
        assert ingested.sql(
            "SELECT value_num FROM answers WHERE respondent_id = 'P0000-2021-0007' AND question_id = 'grade'"
        ).fetchall() == [(8.5,)]
        outplacement = row(figure_frame(ingested, "fig_3_1", PIW, suppress=False), service=7)
    assert outplacement["grade"] == 8.3  # 8 and 8,5: the seed's 8,3 needs the decimal


def test_a_period_filter_keeps_other_years_out(con) -> None:
    assert row(figure_frame(con, "fig_3_1", PIW), label="Totaal")["n"] == 18
    both_years = row(figure_frame(con, "fig_3_1", PIW.replace(period=(2020, 2021))), label="Totaal")
    assert (both_years["n"], both_years["grade"]) == (21, 7.1)  # three 2s of 2020: (143,5 + 6) / 21


# --- table 1.1: norm and publication ------------------------------------------------------------------------

def test_a_provider_that_fails_the_raw_norm_and_passes_after_the_correction(con) -> None:
    table = figure_frame(con, "table_1_1", Filters(provider="P0002", period=2021))
    total = row(table, form="client", label="Totaal")
    assert (total["grade"], total["corrected_grade"]) == (5.9, 7.1)
    assert (total["meets_norm_raw"], total["meets_norm_corrected"]) == (False, True)
    assert (total["norm_met"], total["norm_basis"]) == (True, "corrected")
    assert total["published"] is True  # 10 completed, 10 / 25 = 40%


def test_the_raw_grades_decide_when_they_meet_the_norm(piw) -> None:
    assert piw["table_1_1"]["norm_basis"].to_list() == ["raw"] * 5
    assert piw["table_1_1"]["norm_met"].to_list() == [True] * 5
    assert piw["table_1_1"]["norm"].to_list() == [5.5, 5.5, 5.5, 6.5, 6.5]


def test_table_1_1_is_shown_in_full_to_the_provider_even_for_one_respondent(piw) -> None:
    diagnosis = row(piw["table_1_1"], service=3)
    assert (diagnosis["completed"], diagnosis["grade"], diagnosis["published"]) == (1, 9.0, False)
    assert diagnosis["bench_grade"] is None  # the benchmark of one respondent is withheld
    # fig 3.1 shows the per-dienst grades of table 1.1, marked indicative below 5 (issue 11; was withheld)
    assert (row(piw["fig_3_1"], service=3)["grade"], row(piw["fig_3_1"], service=3)["indicative"]) == (9.0, True)


# --- small groups and empty selections -----------------------------------------------------------------------

def test_suppression_under_a_narrow_filter(con) -> None:
    narrow = compute_all(con, PIW.replace(provinces=("Utrecht",)))  # one completed client of P0000 in PV26
    total = row(narrow["fig_3_1"], label="Totaal")  # as table 1.1 (issue 11): in full, indicative
    assert (total["n"], total["grade"], total["suppressed"], total["indicative"]) == (1, 8.5, False, True)
    spread = narrow["fig_3_2"]  # every other figure withholds the provider's small group
    assert set(spread["suppressed"]) == {True} and set(spread["note"]) == {FEW}
    assert spread["bench_share"].drop_nulls().len() > 0  # 6 respondents of Werkwijs there: the benchmark stays
    shares = narrow["fig_3_3"]
    assert shares["n"].to_list() == [None] * 3 and shares["base_n"].to_list() == [1] * 3
    assert shares["promoter_score"].to_list() == [None] * 3
    assert set(shares["note"]) == {FEW}
    assert narrow["front_strengths"].height == 0
    assert row(narrow["table_1_1"], label="Totaal", form="client")["grade"] == 8.5  # in full to the provider


def test_staff_views_are_not_suppressed(con) -> None:
    staff = compute_all(con, Filters(period=2021), suppress=False)
    diagnosis = row(staff["fig_3_1"], service=3)
    assert (diagnosis["n"], diagnosis["grade"], diagnosis["suppressed"]) == (1, 9.0, False)
    assert staff["fig_3_1"]["n"].to_list() == staff["fig_3_1"]["bench_n"].to_list()


def test_the_benchmark_is_withheld_when_the_other_providers_add_fewer_than_five(con) -> None:
    # Laag en Hoog: 10 clients in PV30; Werkwijs has 3 clients of dienst 9 in PV20
    frame = figure_frame(con, "fig_3_1", Filters(provider="P0002", period=2021, services=(9,),
                                                 provinces=("PV30", "PV20")))
    total = row(frame, label="Totaal")
    assert (total["n"], total["bench_n"], total["bench_grade"], total["bench_suppressed"]) == (10, 13, None, True)
    assert total["grade"] == 5.9 and total["significant"] is None
    assert total["note"].startswith("vergelijking niet getoond")


def test_an_empty_selection_says_geen_respondenten(con) -> None:
    empty = compute_all(con, Filters(provider="P0000", period=2019))
    for figure_id, frame in empty.items():
        if figure_id in ("front_strengths", "front_pie"):
            assert frame.height == 0
            continue
        assert frame.height > 0, figure_id
        assert set(frame["note"]) == {NONE}, figure_id
    assert row(empty["table_1_1"], form="client")["net_sample"] == 0


# --- grades ----------------------------------------------------------------------------------------------------

def test_grade_bars_per_dienst_and_total_with_t_interval(piw) -> None:
    frame = piw["fig_3_1"]
    assert frame["label"].to_list()[-1] == "Totaal"
    assert frame["service"].to_list() == [3, 7, 8, None]
    grades = [9.0, 8.0, 8.5, 10, 9, 9, *[8.0] * 7, *[7.0] * 4, 6]  # keurmerk.synth.PARTNER_CLIENTS
    mean = sum(grades) / len(grades)  # 143,5 / 18 = 7,972
    half = t_quantile(17) * statistics.stdev(grades) / len(grades) ** 0.5
    assert round(t_quantile(17), 4) == 2.1098
    total = row(frame, label="Totaal")
    assert (total["ci_low"], total["ci_high"]) == (round(mean - half, 1), round(mean + half, 1)) == (7.5, 8.4)
    # benchmark: (143,5 + 145 + 59) / 48 = 7,24
    assert (total["bench_n"], total["bench_grade"], total["diff"], total["significant"]) == (48, 7.2, 0.8, True)
    dienst8 = row(frame, service=8)
    assert (dienst8["grade"], dienst8["bench_grade"], dienst8["significant"]) == (7.9, 7.7, False)


def test_grade_distribution_rounds_half_away_from_zero(piw) -> None:
    counts = dict(piw["fig_3_2"].select("score", "n").iter_rows())
    assert {k: v for k, v in counts.items() if v} == {6: 1, 7: 4, 8: 8, 9: 4, 10: 1}  # 8,5 → 9
    assert row(piw["fig_3_2"], score=8)["share"] == 44.4  # 8 of 18


def test_aspect_scores_leave_not_applicable_out(piw) -> None:
    price = row(piw["fig_4_4"], question_id="aspect_price_quality")
    assert (price["n"], price["not_applicable_n"], price["grade"]) == (6, 3, 8.0)
    assert row(piw["fig_4_1"], label="Totaal")["grade"] == 8.2


# --- answer categories -------------------------------------------------------------------------------------------

def test_answer_shares_with_wilson_interval_and_promoter_score(piw) -> None:
    frame = piw["fig_3_3"]
    assert frame["category"].to_list() == list(catalog().categories("client", "recommended"))
    yes = row(frame, category="ja")
    assert (yes["n"], yes["base_n"], yes["share"], yes["ci_low"], yes["ci_high"]) == (8, 18, 44.4, 24.6, 66.3)
    assert (yes["promoter_score"], yes["bench_promoter_score"]) == (44.4, 47.9)  # 23 of 48
    assert piw["fig_3_5"]["promoter_score"].is_null().all()  # only the promoter question has a score


def test_free_texts_are_returned_verbatim_and_only_to_their_own_provider(con, piw) -> None:
    assert row(piw["fig_3_5"], category="anders, namelijk")["texts"] == ["Via mijn huisarts"]
    assert row(piw["fig_3_21"], category="anders, namelijk")["texts"] == ["Bijstand van de gemeente <b>Delft</b>"]
    assert row(piw["fig_3_5"], category="UWV")["texts"] == []
    other = compute_all(con, Filters(provider="P0001", period=2021))
    for frame in other.values():
        if "texts" in frame.columns:
            assert frame["texts"].list.len().sum() == 0


def test_satisfaction_items_share_satisfied_leaves_geen_mening_out(con) -> None:
    werkwijs = compute_all(con, Filters(provider="P0001", period=2021), figure_ids=["fig_3_9"])["fig_3_9"]
    expertise = werkwijs.filter(question_id="contact_expertise")
    assert dict(expertise.select("category", "n").iter_rows()) == {
        "zeer tevreden": 0, "tevreden": 15, "ontevreden": 4, "zeer ontevreden": 0, "geen mening": 1}
    first = expertise.row(0, named=True)
    assert (first["base_n"], first["opinion_n"], first["share_satisfied"]) == (20, 19, 78.9)  # 15 / 19
    assert row(expertise, category="tevreden")["share"] == 75.0  # 15 / 20
    # all participants: 14 of Partner in Werk's 18, 15 of Werkwijs' 19, 8 of Laag en Hoog's 10 → 37 / 47
    assert (first["bench_opinion_n"], first["bench_share_satisfied"], first["satisfied_diff"]) == (47, 78.7, 0.2)


def test_relative_strengths_of_partner_in_werk_as_on_the_seed_front_page(piw) -> None:
    frame = piw["front_strengths"]
    assert frame["kind"].to_list() == ["strength"] * 5
    assert frame["item"].to_list() == ["Respectvolle houding", "Snelheid van kennismaking",
                                       "Snelheid van reageren op e-mails en terugbellen", "De eerste kennismaking",
                                       "De plaats waar de gesprekken plaatsvonden"]
    assert frame["source_figure"].to_list() == ["fig_3_9"] + ["fig_3_10"] * 4
    assert frame["list"].to_list() == ["staff"] + ["organisation"] * 4  # the seed's two lists
    pie = piw["front_pie"]  # the answers on the staff list's first item, as the seed's pie
    assert dict(pie.select("category", "share").iter_rows()) == {
        "zeer tevreden": 0.0, "tevreden": 100.0, "ontevreden": 0.0, "zeer ontevreden": 0.0, "geen mening": 0.0}
    assert set(frame["satisfied_diff"]) == {16.7}  # 100 against 40 of 48


def test_relative_weaknesses_and_the_limits_of_the_list(con) -> None:
    werkwijs = Filters(provider="P0001", period=2021)
    frame = figure_frame(con, "front_strengths", werkwijs)
    assert frame["kind"].to_list() == ["weakness"] * 5
    assert frame["kind_label"].to_list() == ["relatief minder goed"] * 5
    assert set(frame["satisfied_diff"]) == {-13.3}  # 70 against 83,3
    # a cap applies per list (issue 11: two lists, uncapped by default): 1 staff item + 2 of the organisation's 4
    assert figure_frame(con, "front_strengths", werkwijs, Policy(strength_max_items=2)).height == 3
    assert figure_frame(con, "front_strengths", werkwijs, Policy(strength_min_diff=14)).height == 0


def test_province_counts_of_completed_clients(piw) -> None:
    counts = {r["province"]: r["n"] for r in piw["front_provinces"].iter_rows(named=True) if r["n"]}
    assert counts == {"PV26": 1, "PV27": 6, "PV28": 11}
    assert piw["front_provinces"].height == 12
    assert row(piw["front_provinces"], province="PV28")["share"] == 61.1


def test_inburgering_section_without_inburgering_clients(piw) -> None:
    assert row(piw["fig_5_1"], label="Totaal")["note"] == NONE
    assert "inburgering" not in piw["table_1_1"]["form"].to_list()


def test_inburgering_is_reported_apart_from_the_other_clients(con) -> None:
    werkwijs = compute_all(con, Filters(provider="P0001", period=2021))
    block = row(werkwijs["table_1_1"], form="inburgering")
    assert (block["block"], block["net_sample"], block["completed"], block["response_pct"]) == ("Inburgering", 10, 6,
                                                                                                 60.0)
    assert (block["grade"], block["published"]) == (7.5, False)  # 6 completed < 10
    assert row(werkwijs["table_1_1"], form="client", label="Totaal")["completed"] == 20  # without the six
    assert (row(werkwijs["fig_5_1"], label="Totaal")["n"], row(werkwijs["fig_5_1"], label="Totaal")["grade"]) == (6, 7.5)
    assert row(werkwijs["fig_5_3"], category="ja")["promoter_score"] == 50.0
    lessons = werkwijs["fig_5_4"].filter(pl.col("position") == 1)
    assert lessons["share_satisfied"].to_list() == [83.3] * 5  # five of six
    assert row(werkwijs["fig_3_1"], label="Totaal")["n"] == 20


# --- sources, registry, rounding --------------------------------------------------------------------------------

def test_every_figure_of_the_catalogue_has_a_frame_in_report_order(piw) -> None:
    assert list(piw) == [f.id for f in catalog().figures] == [s.id for s in registry()]


def test_warehouse_and_cube_sources_give_identical_frames(con) -> None:
    cube = CubeSource.load(con, "P0001")
    for filters in (Filters(provider="P0001", period=2021), Filters(provider="P0001", services=(9,)),
                    Filters(provider="P0001", provinces=("PV27", "PV20"), period=(2020, 2022)),
                    Filters(provider="P0001", audience="commissioner"), Filters(provider="P0001", period=2019)):
        expected = compute_all(WarehouseSource(con), filters)
        for figure_id, frame in compute_all(cube, filters).items():
            assert frame.equals(expected[figure_id]), (filters, figure_id)


def test_a_cube_source_refuses_another_provider(con) -> None:
    with pytest.raises(PermissionError):
        CubeSource.load(con, "P0001").select(PIW)


def test_a_source_over_frames(con) -> None:
    invitations, answers, _ = sample_frames()
    frames = compute_all(WarehouseSource.from_frames(invitations.lazy(), answers), PIW)
    assert frames["table_1_1"].equals(compute_all(con, PIW)["table_1_1"])


def test_metric_functions_are_pure_functions_of_a_selection(con, piw) -> None:
    from keurmerk.metrics import grade_bars

    sel = select(con, PIW)
    assert isinstance(sel, Selection)
    figures = [catalog().figure("fig_3_1")]
    once = grade_bars(sel, figures, Policy())
    assert once.equals(grade_bars(sel, figures, Policy()))
    assert once.drop("figure_id").equals(piw["fig_3_1"])


@pytest.mark.parametrize(("value", "expected"), [(8.25, 8.3), (8.249, 8.2), (6.45, 6.5), (-0.05, -0.1), (7.95, 8.0)])
def test_rounding_is_half_away_from_zero(value: float, expected: float) -> None:
    assert pl.select(rounded(pl.lit(value))).item() == expected


def test_withheld_runs_are_consecutive_withheld_figures() -> None:
    from keurmerk.metrics import withheld_runs

    def frame(*suppressed: bool) -> pl.DataFrame:
        return pl.DataFrame({"suppressed": list(suppressed)})

    frames = {"a": frame(True), "b": frame(True, True), "c": frame(True, False), "d": frame(True), "e": frame(True),
              "f": frame(True), "g": pl.DataFrame({"x": [1]}), "h": frame(True)}
    assert withheld_runs(frames, list("abcdefgh")) == [["a", "b"], ["d", "e", "f"]]
    assert withheld_runs(frames, list("abcdefgh"), min_run=3) == [["d", "e", "f"]]
