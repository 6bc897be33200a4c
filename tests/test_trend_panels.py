"""The staff trends as small multiples (issue 13): a panel per dienst, the national line in each, no colour key."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from keurmerk.charts import to_spec
from keurmerk.charts.staff import Reference
from keurmerk.charts.trends import trend_panels
from keurmerk.filters import Filters
from keurmerk.metrics.status import StatusCells, trend_frame
from keurmerk.policy import load_policy
from keurmerk.warehouse import open_readonly


def _grades(tiny_db: Path) -> pl.DataFrame:
    policy = load_policy()
    with open_readonly(tiny_db) as con:
        cells = StatusCells.load(con, policy)
    frame = trend_frame(cells, Filters(), policy)
    return frame.filter(pl.col("measure") == "grade")


def test_one_panel_per_dienst_each_with_the_national_line(tiny_db: Path) -> None:
    grades = _grades(tiny_db)
    services = grades.filter(pl.col("service").is_not_null()).sort("service")["label"].unique(maintain_order=True)
    chart = trend_panels(grades, axis_title="Cijfer", references=[Reference(6.5, "Norm totaal")], title="T")
    chart.to_dict(validate=True)  # a valid Vega-Lite spec
    spec = to_spec(chart)
    rows = spec["datasets"][next(iter(spec["datasets"]))] if "datasets" in spec else spec["data"]["values"]
    panels = {r["panel"] for r in rows}
    assert panels == set(services)
    national = grades.filter(pl.col("service").is_null()).height
    for panel in panels:  # every panel repeats all diensten together, in grey
        assert sum(1 for r in rows if r["panel"] == panel and r["national"]) == national
    text = json.dumps(spec)
    assert '"color": {"field"' not in text and "tableau20" not in text  # no colour key to decode


def test_no_data_says_so(tiny_db: Path) -> None:
    empty = _grades(tiny_db).filter(pl.lit(False))
    assert "Geen gegevens" in json.dumps(to_spec(trend_panels(empty, axis_title="x")))
