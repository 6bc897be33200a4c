"""keurmerk.charts.speed: the two shortcuts around Altair's costs give exactly the spec Altair gives without them.

Every chart kind is built from the real frames of the `tiny` warehouse (Partner in Werk 2021), with and without
the skipped parameter copies, and turned into a dict by ``to_spec`` (data detached from Altair's walk) and by
Altair's own ``to_dict`` (data walked); the JSON must be the same, data included.
"""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import polars as pl
import pytest

from keurmerk.api import Filters, compute_all, open_warehouse, registry
from keurmerk.charts import speed
from keurmerk.charts.figures import TABLE_KINDS, chart_for
from keurmerk.charts.theme import THEME_NAME, to_spec

CHART_FIGURES = [(m.id, m.chart) for m in registry() if m.chart not in TABLE_KINDS]


@pytest.fixture(scope="module")
def frames(tiny_db: Path) -> dict[str, pl.DataFrame]:
    con = open_warehouse(tiny_db)
    try:
        return compute_all(con, Filters(provider="P0000", period=2021))
    finally:
        con.close()


def _altair_own(chart: alt.TopLevelMixin) -> str:
    with alt.theme.enable(THEME_NAME):
        return json.dumps(chart.to_dict(validate=False), sort_keys=True)


def test_shortcuts_are_installed() -> None:
    assert speed.install()  # idempotent, and True: the pinned Altair has the functions it replaces


@pytest.mark.parametrize(("figure_id", "kind"), CHART_FIGURES, ids=[f for f, _ in CHART_FIGURES])
def test_same_spec_with_and_without_shortcuts(frames: dict[str, pl.DataFrame], figure_id: str, kind: str) -> None:
    with speed.installed(False):
        slow = _altair_own(chart_for(kind, frames[figure_id], "Partner in Werk"))
    chart = chart_for(kind, frames[figure_id], "Partner in Werk")
    fast = json.dumps(to_spec(chart), sort_keys=True)
    assert fast == slow
    assert "keurmerk-data" not in fast  # every detached data set was put back
    assert _altair_own(chart) == slow  # and the chart itself was left as it was


VALUE_FIGURES = [("fig_3_3", "answer_shares"), ("front_provinces", "province_map"), ("front_strengths", "strengths")]


@pytest.mark.parametrize(("figure_id", "kind"), VALUE_FIGURES, ids=[f for f, _ in VALUE_FIGURES])
def test_value_parameters_give_the_spec_of_altairs_add_params(
    frames: dict[str, pl.DataFrame], monkeypatch: pytest.MonkeyPatch, figure_id: str, kind: str
) -> None:
    """figures._with_values sets the "km_…" parameters on the top level without Altair's copies of the layers:
    the same spec as ``add_params`` and Altair's own route."""
    from keurmerk.charts import figures

    fast = json.dumps(to_spec(chart_for(kind, frames[figure_id], "Partner in Werk")), sort_keys=True)
    assert '"km_' in fast
    monkeypatch.setattr(figures, "_with_values", lambda chart, values: chart.add_params(
        *(alt.param(name=name, value=value) for name, value in values.items())))
    with speed.installed(False):
        slow = _altair_own(chart_for(kind, frames[figure_id], "Partner in Werk"))
    assert fast == slow


def test_parameters_still_take_altairs_own_route() -> None:
    """A layered chart with a selection keeps Altair's renaming of parameters (the copies are needed there)."""
    data = alt.Data(values=[{"a": 1, "b": 2}])
    selection = alt.selection_point(name="pick")
    base = alt.Chart(data).mark_point().encode(x="a:Q", y="b:Q")
    with speed.installed(False):
        slow = _altair_own(alt.layer(base.add_params(selection), base.mark_line()))
    fast = json.dumps(to_spec(alt.layer(base.add_params(selection), base.mark_line())), sort_keys=True)
    assert fast == slow
    assert '"pick"' in fast


def test_shared_data_object_in_two_places_is_put_back_in_both() -> None:
    shared = alt.Data(values=[{"a": 1}, {"a": 2}])
    one = alt.Chart(shared).mark_tick().encode(x="a:Q")
    chart = alt.vconcat(one, alt.layer(one.mark_point(), alt.Chart(alt.Data(values=[{"a": 3}])).mark_rule()))
    spec = to_spec(chart)
    assert json.dumps(spec, sort_keys=True) == _altair_own(chart)
    assert json.dumps(spec).count('{"a": 2}') == 2
