"""One figure-kind registry (keurmerk.metrics.registry.FIGURE_KINDS): every figure of the catalogue, provider and
staff, has a kind there, and every kind's builder exists where its page says."""

from __future__ import annotations

import pytest

from keurmerk.catalog import catalog
from keurmerk.charts import figures as provider_charts
from keurmerk.charts import staff as staff_charts
from keurmerk.charts import trends
from keurmerk.charts.figures import CHART_KINDS, TABLE_KINDS, chart_for
from keurmerk.metrics.figures import Kind
from keurmerk.metrics.registry import FIGURE_KINDS


def test_every_catalogue_figure_has_a_kind_of_its_page() -> None:
    cat = catalog()
    assert {f.chart for f in cat.figures} <= {k for k, v in FIGURE_KINDS.items() if v.page == "provider"}
    assert cat.staff_figures
    assert {f.chart for f in cat.staff_figures} <= {k for k, v in FIGURE_KINDS.items() if v.page == "staff"}


@pytest.mark.parametrize("name", list(FIGURE_KINDS))
def test_every_kind_has_its_metric_and_builder(name: str) -> None:
    kind = FIGURE_KINDS[name]
    if kind.page == "provider":
        assert isinstance(kind.metric, Kind)
        assert kind.table or callable(getattr(provider_charts, kind.builder))
        assert (name in TABLE_KINDS) == kind.table and (name in CHART_KINDS) != kind.table
    else:
        assert callable(kind.metric) and not kind.table
        assert callable(getattr(staff_charts, kind.builder, None) or getattr(trends, kind.builder))


def test_a_staff_kind_is_no_provider_chart() -> None:
    import polars as pl

    with pytest.raises(KeyError, match="onbekende grafieksoort"):
        chart_for("provider_distribution", pl.DataFrame())
