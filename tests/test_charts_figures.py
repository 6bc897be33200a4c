"""Chart builders (keurmerk.charts.figures): every figure of a provider's report as a valid, Dutch Vega-Lite spec.

The frames are the real ones: the `tiny` warehouse of conftest, Partner in Werk (P0000) in 2021. The checks are
on the spec's data and text, not on pixels; one test renders every chart through vl-convert (the static
report's path) to catch what only the Vega runtime would notice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import altair as alt
import jsonschema
import polars as pl
import pytest
import vl_convert
from altair.vegalite.v6.schema import load_schema

from keurmerk.api import Filters, compute_all, open_warehouse, registry
from keurmerk.charts.figures import (
    BENCHMARK,
    CHART_KINDS,
    NO_STANDOUTS,
    TABLE_KINDS,
    chart_for,
    map_attribution,
)
from keurmerk.charts.theme import BENCHMARK_COLOUR, LOCALE, NORM_COLOUR, PROVIDER_COLOUR, to_spec
from keurmerk.formatting import number
from keurmerk.metrics import texts
from keurmerk.policy import Policy, load_policy

PROVIDER = "P0000"
NAME = "Partner in Werk"
FIGURES = [(spec.id, spec.chart) for spec in registry()]
CHART_FIGURES = [(fid, kind) for fid, kind in FIGURES if kind not in TABLE_KINDS]
TOO_FEW = texts.too_few(load_policy())
LAYOUT = ("who_order", "row_order", "own")  # data fields that only place rows, bars and legend entries
BENCH_STAYS = ("grade_bars", "aspect_scores", "answer_shares")  # paired bars: the benchmark's bar stays alone

# the columns holding the provider's and the benchmark's value of a row, per chart kind
VALUES: dict[str, tuple[str, ...]] = {
    "grade_tile": ("grade", "bench_grade"),
    "grade_bars": ("grade", "bench_grade"),
    "aspect_scores": ("grade", "bench_grade"),
    "grade_distribution": ("share", "bench_share"),
    "answer_shares": ("share", "bench_share"),
    "satisfaction_items": ("share", "bench_share", "share_satisfied", "bench_share_satisfied"),
    "province_map": ("share", "bench_share"),
    "funnel": ("n", "share", "bench_share"),
    "strengths": ("share_satisfied", "bench_share_satisfied", "satisfied_diff"),
    "strength_pie": ("share",),
}
# the column whose null means "nothing of the provider's to draw" on a row
MAIN = {
    "grade_tile": "grade",
    "grade_bars": "grade",
    "aspect_scores": "grade",
    "grade_distribution": "share",
    "answer_shares": "share",
    "satisfaction_items": "share",
    "province_map": "share",
}


@pytest.fixture(scope="session")
def frames(tiny_db: Path) -> dict[str, pl.DataFrame]:
    con = open_warehouse(tiny_db)
    try:
        return compute_all(con, Filters(provider=PROVIDER, period=2021))
    finally:
        con.close()


def _data_records(spec: Any) -> Iterator[dict[str, Any]]:
    """Every inline data row anywhere in a spec (layers, facets, concatenations, lookups, datasets)."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "values" and isinstance(value, list):
                yield from (v for v in value if isinstance(v, dict))
            elif key == "datasets" and isinstance(value, dict):
                for rows in value.values():
                    yield from (v for v in rows if isinstance(v, dict))
            else:
                yield from _data_records(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from _data_records(item)


def _pairs(spec: dict[str, Any]) -> set[tuple[str, Any]]:
    return {(k, v) for record in _data_records(spec) for k, v in record.items() if not isinstance(v, dict | list)}


def _is_message(spec: dict[str, Any], text: str) -> bool:
    """The spec is the small chart that only says ``text``."""
    return spec.get("mark", {}).get("type") == "text" and any(r.get("note") == text for r in _data_records(spec))


@cache
def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(load_schema())


def _valid(spec: dict[str, Any]) -> None:
    """Valid against Altair's Vega-Lite schema (to_spec validates too; this checks the dict itself, quickly:
    ``alt.Root.from_dict`` takes most of a second per spec)."""
    errors = list(_validator().iter_errors(spec))
    assert not errors, [e.message[:200] for e in errors[:3]]


# --- every figure of the report -------------------------------------------------------------------------------


def test_chart_kinds_cover_the_catalogue() -> None:
    kinds = {kind for _, kind in FIGURES}
    assert kinds - set(TABLE_KINDS) == set(CHART_KINDS)
    assert chart_for("keurmerk_table", pl.DataFrame(), NAME) is None
    with pytest.raises(KeyError, match="onbekende grafieksoort"):
        chart_for("pie", pl.DataFrame(), NAME)


@pytest.mark.parametrize(("figure_id", "kind"), CHART_FIGURES, ids=[f for f, _ in CHART_FIGURES])
def test_figure_builds_a_valid_spec_with_provider_and_benchmark(
    frames: dict[str, pl.DataFrame], figure_id: str, kind: str
) -> None:
    frame = frames[figure_id]
    chart = chart_for(kind, frame, NAME)
    assert isinstance(chart, alt.TopLevelMixin)
    spec = to_spec(chart)
    _valid(spec)
    assert spec["config"]["locale"]["number"]["decimal"] == ","

    main = MAIN.get(kind)
    drawable = frame if main is None else frame.filter(~pl.col("suppressed") & pl.col(main).is_not_null())
    if kind in ("strengths", "strength_pie") and frame.height == 0 or main and drawable.height == 0:
        return  # a message chart: see the tests below
    pairs = _pairs(spec)
    for record in drawable.to_dicts():
        for column in VALUES[kind]:
            if record.get(column) is not None:
                assert (column, record[column]) in pairs, f"{figure_id}: {column}={record[column]} not in the data"
    text = json.dumps(spec, ensure_ascii=False)
    assert PROVIDER_COLOUR in text
    # the funnel compares in text (its bars are the provider's own counts by mode), strengths draw the difference
    # and satisfaction items colour the answer categories (the benchmark's bar is labelled)
    if kind not in ("funnel", "strengths", "satisfaction_items", "strength_pie"):
        assert BENCHMARK_COLOUR in text
        assert NAME in text and BENCHMARK in text
    titles = {"strengths": ("Aantal (n)", "Verschil", "Significant"), "strength_pie": ("Aantal (n)", "Antwoord")}
    for title in titles.get(kind, ("Aantal (n)", "Opmerking")):
        assert title in text, f"{figure_id}: tooltip {title!r} missing"


def test_figures_without_provider_numbers_say_why(frames: dict[str, pl.DataFrame]) -> None:
    """In tiny 2021 P0000 has no inburgering clients and too few respondents for 3.4, 3.17 and 3.18."""
    expected = {
        "fig_3_4": TOO_FEW,
        "fig_3_17": TOO_FEW,
        "fig_3_18": TOO_FEW,
        "fig_4_6": texts.no_respondents(),
        **{f"fig_5_{i}": texts.no_respondents() for i in range(1, 6)},
    }
    kinds = dict(FIGURES)
    for figure_id, message in expected.items():
        spec = to_spec(chart_for(kinds[figure_id], frames[figure_id], NAME))
        bench = frames[figure_id].get_column("bench_share") if "bench_share" in frames[figure_id].columns else None
        if kinds[figure_id] in BENCH_STAYS and message == TOO_FEW and bench is not None and bench.drop_nulls().len():
            # the note where the provider's bars would be, and the benchmark's bars alone (issue 11)
            assert TOO_FEW in json.dumps(spec, ensure_ascii=False), figure_id
            # (positions that order rows, bars and legend entries are no numbers of the provider's)
            numbered = [r for r in _data_records(spec)
                        if any(isinstance(v, int | float) for k, v in r.items() if k not in LAYOUT)]
            assert numbered and all(r["who"].startswith(BENCHMARK) for r in numbered), figure_id
            continue
        assert _is_message(spec, message), figure_id
        assert not any(isinstance(v, int | float) for r in _data_records(spec) for v in r.values())


# --- the small-group rule ----------------------------------------------------------------------------------------


def test_fig_3_1_shows_the_grades_of_table_1_1_small_groups_indicative(frames: dict[str, pl.DataFrame]) -> None:
    """fig. 3.1: diensten 3 and 7 have 1 and 2 respondents; shown as table 1.1 shows them, marked indicative (the
    small-group rule of DESIGN §5; before issue 11 they read "te weinig respondenten")."""
    frame, table = frames["fig_3_1"], frames["table_1_1"].filter(pl.col("form") == "client")
    assert frame.select("service", "n", "grade").rows() == table.select("service", "n", "grade").rows()
    assert frame.get_column("suppressed").sum() == 0
    assert set(frame.filter("indicative").get_column("n")) == {1, 2}
    text = json.dumps(to_spec(chart_for("grade_bars", frame, NAME)), ensure_ascii=False)
    assert text.count("(indicatief)") >= 2 and TOO_FEW not in text


SENTINEL_FLOAT, SENTINEL_INT = 77.77, 7777


def _leaky(frame: pl.DataFrame, rows: pl.Expr) -> pl.DataFrame:
    """The frame with some rows marked suppressed but (wrongly) still carrying numbers: sentinels."""
    numbers = [c for c, t in frame.schema.items() if t.is_numeric() and c not in ("position", "item_position")]
    # the benchmark's numbers stay: it is shown when only the provider's group is withheld (DESIGN §5, issue 11)
    numbers = [c for c in numbers if c not in ("score", "service") and not c.startswith("bench_")]
    return frame.with_columns(
        *(
            pl.when(rows).then(pl.lit(SENTINEL_FLOAT if frame.schema[c].is_float() else SENTINEL_INT)).otherwise(c)
            .cast(frame.schema[c]).alias(c)
            for c in numbers
        ),
        pl.when(rows).then(True).otherwise(pl.col("suppressed")).alias("suppressed"),
        pl.when(rows).then(pl.lit(TOO_FEW)).otherwise(pl.col("note")).alias("note"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("figure_id", "rows", "noted"),
    [
        ("fig_3_1", pl.col("service") == 8, True),
        ("fig_4_4", pl.col("position") <= 2, True),
        ("fig_3_2", pl.col("score") >= 9, True),
        ("fig_3_5", pl.col("position") == 2, True),
        ("fig_3_9", pl.col("item_position") == 1, True),
        ("fig_3_9", pl.col("category") == "tevreden", False),  # one segment of a bar: left out, no note
        ("front_provinces", pl.col("province") == "PV28", True),
        ("front_grade", pl.lit(True), True),
    ],
)
def test_a_suppressed_row_puts_none_of_its_numbers_into_the_spec(
    frames: dict[str, pl.DataFrame], figure_id: str, rows: pl.Expr, noted: bool
) -> None:
    kind = dict(FIGURES)[figure_id]
    frame = _leaky(frames[figure_id], rows)
    spec = to_spec(chart_for(kind, frame, NAME))
    _valid(spec)
    text = json.dumps(spec)
    assert str(SENTINEL_FLOAT) not in text and str(SENTINEL_INT) not in text
    assert (TOO_FEW in text) is noted


ONE_PER_KIND = list({kind: (fid, kind) for fid, kind in reversed(CHART_FIGURES)}.values())


@pytest.mark.parametrize(("figure_id", "kind"), ONE_PER_KIND, ids=[k for _, k in ONE_PER_KIND])
def test_empty_and_all_suppressed_frames_give_a_text_chart(
    frames: dict[str, pl.DataFrame], figure_id: str, kind: str
) -> None:
    frame = frames[figure_id]
    empty = to_spec(chart_for(kind, frame.clear(), NAME))
    _valid(empty)
    assert _is_message(empty, NO_STANDOUTS if kind in ("strengths", "strength_pie") else texts.no_respondents())
    if "suppressed" in frame.columns:
        nothing = frame.with_columns(suppressed=pl.lit(True), note=pl.lit(TOO_FEW))
        spec = to_spec(chart_for(kind, nothing, NAME))
        _valid(spec)
        if kind in BENCH_STAYS:  # the provider's bars make way for the note; the benchmark's stay (issue 11)
            assert TOO_FEW in json.dumps(spec, ensure_ascii=False) and BENCHMARK_COLOUR in json.dumps(spec)
            assert not _is_message(spec, TOO_FEW)
        else:
            assert _is_message(spec, TOO_FEW)


# --- particular charts ----------------------------------------------------------------------------------------


def test_grade_bars_draw_the_norms_of_the_policy(frames: dict[str, pl.DataFrame]) -> None:
    frame = frames["fig_3_1"]
    default = load_policy()
    pairs = _pairs(to_spec(chart_for("grade_bars", frame, NAME)))
    assert ("norm", default.norm_total) in pairs and ("norm", default.norm_service) in pairs
    custom = Policy(norm_total=7.25, norm_service=4.75)
    spec = to_spec(chart_for("grade_bars", frame, NAME, policy=custom))
    norms = {r["norm"] for r in _data_records(spec) if "norm" in r}
    assert norms == {7.25, 4.75}  # one total and one drawn dienst; suppressed diensten get no norm tick
    assert NORM_COLOUR in json.dumps(spec)


def test_answer_shares_show_the_promoter_score_on_recommend_figures(frames: dict[str, pl.DataFrame]) -> None:
    spec = to_spec(chart_for("answer_shares", frames["fig_3_3"], NAME))
    # in the dashboard the line is a parameter's value (a filter changes it in the view that is there)
    assert spec["title"]["text"] == {"expr": "km_subtitle"}
    assert spec["params"] == [{"name": "km_subtitle", "value": "Actuele promotor score: 44,4 (alle deelnemers: 40,5)"}]
    assert "Actuele promotor score: 44,4 (alle deelnemers: 40,5)</text>" in vl_convert.vegalite_to_svg(spec)
    titled = to_spec(chart_for("answer_shares", frames["fig_3_3"], NAME, title="fig. 3.3"))
    assert titled["title"] == {"text": "fig. 3.3", "subtitle": "Actuele promotor score: 44,4 (alle deelnemers: 40,5)"}
    assert "title" not in to_spec(chart_for("answer_shares", frames["fig_3_5"], NAME))


def test_n_is_visible_in_labels(frames: dict[str, pl.DataFrame]) -> None:
    shares = json.dumps(to_spec(chart_for("answer_shares", frames["fig_3_3"], NAME)), ensure_ascii=False)
    assert f"{NAME} (n = 18)" in shares and f"{BENCHMARK} (n = 74)" in shares
    bars = json.dumps(to_spec(chart_for("grade_bars", frames["fig_3_1"], NAME)), ensure_ascii=False)
    assert "Totaal (n = 18)" in bars


def test_province_map_joins_the_package_geometry_by_statcode(frames: dict[str, pl.DataFrame]) -> None:
    spec = to_spec(chart_for("province_map", frames["front_provinces"], NAME))
    features = [r for r in _data_records(spec) if r.get("type") == "Feature"]
    assert len({f["properties"]["statcode"] for f in features}) == 12
    text = json.dumps(spec, ensure_ascii=False)
    assert '"lookup": "properties.statcode"' in text and '"geoshape"' in text
    assert '"invalid": "show"' in text  # a withheld province is drawn grey, not dropped from the map
    assert map_attribution().startswith("Provinciegrenzen: CBS") and "CC BY 4.0" in map_attribution()
    assert spec["title"]["text"] == map_attribution() and spec["title"]["orient"] == "bottom"
    assert "Provincie" in text


def test_strengths_without_rows_say_that_nothing_stands_out(frames: dict[str, pl.DataFrame]) -> None:
    spec = to_spec(chart_for("strengths", frames["front_strengths"].clear(), NAME))
    assert _is_message(spec, NO_STANDOUTS)
    both = pl.concat([
        frames["front_strengths"],
        frames["front_strengths"].head(1).with_columns(
            kind=pl.lit("weakness"), kind_label=pl.lit("relatief minder goed"), satisfied_diff=pl.lit(-8.5)
        ),
    ])  # fmt: skip
    text = json.dumps(to_spec(chart_for("strengths", both, NAME)), ensure_ascii=False)
    assert "relatief goed" in text and "relatief minder goed" in text and "-8.5" in text


# --- rendered the way the static report renders ------------------------------------------------------------------


RENDERED = ("front_provinces", "front_grade", "front_strengths", "front_pie", "fig_1", "fig_3_1", "fig_3_2", "fig_3_3", "fig_3_9",
            "fig_4_4", "fig_5_1")  # fmt: skip


def test_every_chart_kind_renders_to_svg_in_dutch(frames: dict[str, pl.DataFrame]) -> None:
    """One figure of every kind (and a message chart) through vl-convert, the static report's renderer."""
    kinds = dict(FIGURES)
    assert {kinds[f] for f in RENDERED} == set(CHART_KINDS)
    svgs = {}
    for figure_id in RENDERED:
        kind = kinds[figure_id]
        svgs[figure_id] = vl_convert.vegalite_to_svg(
            to_spec(chart_for(kind, frames[figure_id], NAME)), format_locale=LOCALE
        )
        assert svgs[figure_id].startswith("<svg"), figure_id
    # total: provider and benchmark; 8,0 (7,5–8,4) is significantly above 7,3: ▲ (issue 11)
    assert ">8,0 ▲<" in svgs["fig_3_1"] and ">7,3<" in svgs["fig_3_1"]
    assert ">95%-interval<" in svgs["fig_3_1"]  # the interval line has a legend entry
    assert "(indicatief)" in svgs["fig_3_1"]  # diensten 3 and 7 as table 1.1 shows them
    assert ">44,4%<" in svgs["fig_3_3"] and "Actuele promotor score: 44,4" in svgs["fig_3_3"]
    assert "100,0% tevreden" in svgs["fig_3_9"]
    assert ">8,0<" in svgs["front_grade"]
    assert "Provinciegrenzen" in svgs["front_provinces"]
    # fig 1 names its shares: the clients' response is table 1.1's (completed of the net sample; issue 11)
    clients = frames["table_1_1"].filter(pl.col("service").is_null() & (pl.col("form") == "client")).row(0, named=True)
    assert f"18 · {number(clients['response_pct'])}% respons" in svgs["fig_1"]
    assert "alle deelnemers: 38,9%" in svgs["fig_1"]


def test_a_withheld_benchmark_draws_the_provider_alone(frames: dict[str, pl.DataFrame]) -> None:
    """bench_suppressed: the provider's bar stays, the benchmark's goes, the note explains; no '0,0' for a null."""
    note = texts.bench_too_few(load_policy())
    frame = frames["fig_3_1"].with_columns(
        bench_grade=pl.when(pl.col("service").is_null()).then(None).otherwise(pl.col("bench_grade")),
        bench_suppressed=pl.col("service").is_null(),
        note=pl.when(pl.col("service").is_null()).then(pl.lit(note)).otherwise(pl.col("note")),
    )
    spec = to_spec(chart_for("grade_bars", frame, NAME))
    _valid(spec)
    total = [r for r in _data_records(spec) if r.get("row") == "Totaal (n = 18)" and r.get("who") in (NAME, BENCHMARK)]
    assert {r["who"]: r["value"] for r in total} == {NAME: 8.0, BENCHMARK: None}
    assert all(r["note"] == note for r in total)
    svg = vl_convert.vegalite_to_svg(spec, format_locale=LOCALE)
    assert ">8,0<" in svg and ">7,3<" not in svg and ">0,0<" not in svg


def test_staff_frames_without_the_small_group_rule_build(tiny_db: Path) -> None:
    """suppress=False (staff, research): numbers on small groups, null where there are no respondents."""
    con = open_warehouse(tiny_db)
    try:
        frames = compute_all(con, Filters(provider=PROVIDER, period=2021), suppress=False)
    finally:
        con.close()
    for figure_id, kind in CHART_FIGURES:
        spec = to_spec(chart_for(kind, frames[figure_id], NAME))
        assert spec["config"]["locale"]["number"]["decimal"] == ","
    pairs = _pairs(to_spec(chart_for("grade_bars", frames["fig_3_1"], NAME)))
    assert ("grade", 9.0) in pairs  # dienst 3: one respondent, shown to staff
    assert _is_message(to_spec(chart_for("grade_bars", frames["fig_5_1"], NAME)), texts.no_respondents())


def test_significant_values_carry_a_marker_explained_once(frames: dict[str, pl.DataFrame]) -> None:
    """▲ / ▼ on the provider's value when its interval excludes the benchmark; nothing otherwise (issue 11)."""
    frame = frames["fig_3_1"].filter(pl.col("service").is_null())
    assert frame["significant"].item() is True and frame["diff"].item() > 0
    svg = vl_convert.vegalite_to_svg(to_spec(chart_for("grade_bars", frame, NAME)), format_locale=LOCALE)
    assert "8,0 ▲" in svg and "▼" not in svg
    lower = frame.with_columns(diff=-pl.col("diff"))
    assert "▼" in vl_convert.vegalite_to_svg(to_spec(chart_for("grade_bars", lower, NAME)), format_locale=LOCALE)
    same = frame.with_columns(significant=pl.lit(False))
    svg = vl_convert.vegalite_to_svg(to_spec(chart_for("grade_bars", same, NAME)), format_locale=LOCALE)
    assert "▲" not in svg and "▼" not in svg
    assert "▲" in texts.significance_note() and texts.INTERVAL_LEGEND in texts.significance_note()
