"""Policy: DESIGN §5 defaults, one TOML file to override them, and every figure follows a change."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from keurmerk.filters import Filters
from keurmerk.metrics import compute_all, figure_frame
from keurmerk.metrics.sample import write_sample_warehouse
from keurmerk.policy import POLICY_ENV, Policy, load_policy
from keurmerk.warehouse import open_readonly


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    connection = open_readonly(write_sample_warehouse(tmp_path_factory.mktemp("policy") / "sample.duckdb"))
    yield connection
    connection.close()


def test_defaults_are_design_section_5() -> None:
    p = Policy()
    assert (p.norm_total, p.norm_service, p.correction_floor) == (6.5, 5.5, 5.0)
    assert (p.publish_min_completed, p.publish_min_response_pct, p.publish_always) == (10, 25.0, ("commissioner",))
    assert (p.promoter_question, p.promoter_answers) == ("recommended", ("ja",))
    assert (p.strength_min_diff, p.strength_min_n, p.strength_max_items) == (5.0, 5, 0)  # 0: uncapped (issue 11)
    assert (p.min_n, p.confidence, p.mean_interval, p.share_interval, p.decimals) == (5, 0.95, "t", "wilson", 1)


def test_lookup_order_argument_then_environment_then_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POLICY_ENV, raising=False)
    assert load_policy() == Policy()
    from_env = tmp_path / "env.toml"
    from_env.write_text("min_n = 3\n", encoding="utf-8")
    monkeypatch.setenv(POLICY_ENV, str(from_env))
    assert load_policy().min_n == 3
    argument = tmp_path / "arg.toml"
    argument.write_text('norm_total = 7\npublish_always = ["commissioner", "client"]\n', encoding="utf-8")
    chosen = load_policy(argument)
    assert (chosen.norm_total, chosen.min_n, chosen.publish_always) == (7.0, 5, ("commissioner", "client"))


@pytest.mark.parametrize(("text", "message"), [
    ("min_n = 'vijf'\n", "min_n"),
    ("norm_totaal = 6\n", "onbekende sleutel"),
    ("min_n = \n", "geen geldige TOML"),
    ("mean_interval = 'bootstrap'\n", "mean_interval"),
    ("publish_always = 'commissioner'\n", "publish_always"),
])
def test_a_bad_policy_file_is_an_error_naming_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as error:
        load_policy(path)
    assert "policy.toml" in str(error.value) or message == "mean_interval"


def test_a_missing_policy_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="bestaat niet"):
        load_policy(tmp_path / "nope.toml")


def test_the_norm_follows_the_policy(con) -> None:
    filters = Filters(provider="P0002", period=2021)
    strict = figure_frame(con, "table_1_1", filters, Policy(norm_total=7.5)).filter(pl.col("form") == "client", pl.col("service").is_null())
    assert (strict["norm_met"].item(), strict["norm_basis"].item()) == (False, "corrected")
    lenient = figure_frame(con, "table_1_1", filters, Policy(correction_floor=1.0, norm_total=5.9))
    assert lenient.filter(form="client")["norm_basis"].to_list() == ["raw", "raw"]


def test_publication_follows_the_policy(con) -> None:
    filters = Filters(provider="P0000", period=2021)
    published = figure_frame(con, "table_1_1", filters, Policy(publish_min_completed=1, publish_min_response_pct=20))
    assert published["published"].to_list() == [True] * 5
    never = figure_frame(con, "table_1_1", filters, Policy(publish_always=()))
    assert never.filter(form="commissioner")["published"].to_list() == [False]  # 9 completed < 10


def test_small_groups_and_promoter_follow_the_policy(con) -> None:
    filters = Filters(provider="P0000", period=2021)
    frames = compute_all(con, filters, Policy(min_n=1, promoter_answers=("ja", "nee, maar dat ga ik wel doen")))
    assert frames["fig_3_1"].filter(service=3)["grade"].to_list() == [9.0]
    assert frames["fig_3_3"]["promoter_score"][0] == 77.8  # 14 of 18
    decimals = compute_all(con, filters, Policy(decimals=2), figure_ids=["fig_3_1"])["fig_3_1"]
    # n = 2 < 5: fig 3.1 shows it as table 1.1 does, indicative (issue 11); two decimals: 8,25
    assert decimals.filter(service=7).select("grade", "indicative").row(0) == (8.25, True)
    # 7,9722 - 2,1098 · 0,9467 / √18 = 7,5014
    assert decimals.filter(pl.col("service").is_null())["ci_low"].to_list() == [7.5]


def test_the_interval_method_follows_the_policy(con) -> None:
    filters = Filters(provider="P0000", period=2021)
    t = figure_frame(con, "fig_3_3", filters).row(0, named=True)
    wald = figure_frame(con, "fig_3_3", filters, Policy(share_interval="wald")).row(0, named=True)
    assert (t["ci_low"], t["ci_high"]) == (24.6, 66.3)
    assert (wald["ci_low"], wald["ci_high"]) == (21.5, 67.4)  # 44,4 ± 1,96 · √(0,444 · 0,556 / 18)


# --- choices of Blik op Werk, not of the seeds (issue 11): each a setting, and changing it changes the verdict ------

def _norm_met(con, form: str, provider: str, policy: Policy) -> bool:
    table = figure_frame(con, "table_1_1", Filters(provider=provider, period=2021), policy)
    return table.filter((pl.col("form") == form) & pl.col("service").is_null())["norm_met"].item()


def test_the_commissioner_norm_is_a_setting(con) -> None:
    # Werkwijs' commissioners: 7, 7,5, 6, 8, 7, 7 → 7,1
    assert Policy().norm_total_of("commissioner") == 6.5
    assert _norm_met(con, "commissioner", "P0001", Policy()) is True
    assert _norm_met(con, "commissioner", "P0001", Policy(norm_total_commissioner=7.2)) is False
    assert _norm_met(con, "client", "P0001", Policy(norm_total_commissioner=7.2)) is True  # clients: the seed's 6,5


def test_the_inburgering_norm_is_a_setting(con) -> None:
    # Werkwijs' inburgering clients: 6, 7, 7, 8, 8, 9 → 7,5
    assert Policy().norm_total_of("inburgering") == 6.5
    assert _norm_met(con, "inburgering", "P0001", Policy()) is True
    assert _norm_met(con, "inburgering", "P0001", Policy(norm_total_inburgering=7.6)) is False


def test_the_benchmark_definition_is_a_setting(con) -> None:
    from keurmerk.metrics.status import StatusCells, status_table

    cells = StatusCells.load(con)

    def werkwijs(policy: Policy) -> dict:
        table = status_table(cells, Filters(period=2021), policy)
        return table.filter(pl.col("provider_id") == "P0001").row(0, named=True)

    # Werkwijs 7,25 → 7,3. pooled: (143,5 + 145 + 59) / 48 = 7,24 → 7,2; providers: (7,972 + 7,25 + 5,9) / 3 = 7,04
    pooled, providers = werkwijs(Policy()), werkwijs(Policy(benchmark="providers"))
    assert (pooled["bench_grade"], pooled["grade_diff"]) == (7.2, 0.1)
    assert (providers["bench_grade"], providers["grade_diff"]) == (7.0, 0.3)
    with pytest.raises(ValueError, match="benchmark"):
        Policy(benchmark="median")
