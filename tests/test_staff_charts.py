"""Chart builders of the staff page (keurmerk.charts.staff): valid Vega-Lite, Dutch, the reference lines, and a
message instead of an empty chart. Rendered through vl-convert to catch what only the Vega runtime notices."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import vl_convert

from keurmerk.charts.staff import Reference, aspect_distribution, provider_distribution
from keurmerk.charts.theme import LOCALE, NORM_COLOUR, to_spec
from keurmerk.charts.trends import trend_panels
from keurmerk.filters import Filters
from keurmerk.metrics.status import StatusCells, aspect_values, status_table, trend_frame
from keurmerk.policy import Policy
from keurmerk.warehouse import open_readonly


@pytest.fixture(scope="module")
def frames(tiny_db: Path) -> dict[str, pl.DataFrame]:
    with open_readonly(tiny_db) as con:
        cells = StatusCells.load(con, Policy())
    filters = Filters(period=(2021, 2022))
    return {
        "status": status_table(cells, filters, Policy()),
        "aspects": aspect_values(cells, filters, Policy()),
        "trend": trend_frame(cells, filters, Policy()),
    }


def _charts(frames: dict[str, pl.DataFrame]) -> dict[str, object]:
    status = frames["status"]
    return {
        "grade": provider_distribution(
            status.select("provider_name", value="grade", n="n"),
            axis_title="Rapportcijfer",
            min_n=5,
            references=[
                Reference(6.5, "Norm totaal"),
                Reference(5.5, "Norm per dienst", "norm_service"),
                Reference(7.7, "Alle deelnemers", "bench"),
            ],
        ),
        "response": provider_distribution(
            status.select("provider_name", value="response_pct", n="net_sample"),
            axis_title="Respons",
            percent=True,
            domain=(0, 100),
            references=[Reference(25.0, "Publicatiegrens", "limit")],
        ),
        "aspects": aspect_distribution(frames["aspects"], min_n=5),
        "trend": trend_panels(
            frames["trend"].filter(pl.col("measure") == "grade"),
            axis_title="Rapportcijfer",
            references=[Reference(6.5, "Norm totaal")],
        ),
    }


def _bar_values(spec: dict) -> list[dict]:
    """The data of the bar layer (Altair may lift a layer's data to the top)."""
    layer = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "bar")
    return (layer.get("data") or spec["data"])["values"]


def test_every_chart_is_valid_vega_lite_and_renders(frames) -> None:
    for name, chart in _charts(frames).items():
        spec = to_spec(chart, validate=True)
        svg = vl_convert.vegalite_to_svg(spec, format_locale=LOCALE)
        assert svg.startswith("<svg"), name


def test_distribution_counts_providers_and_draws_the_norms(frames) -> None:
    spec = to_spec(_charts(frames)["grade"])
    text = json.dumps(spec)
    bars = _bar_values(spec)
    status = frames["status"]
    expected = status.filter(pl.col("grade").is_not_null() & (pl.col("n") >= 5)).height
    assert sum(b["providers"] for b in bars) == expected
    assert all(b["range"].count(",") == 2 for b in bars)  # "7,4 – 7,6": Dutch decimals
    assert "Norm totaal: 6,5" in text and "Norm per dienst: 5,5" in text and NORM_COLOUR in text
    assert "aanbieders met minstens 5 respondenten" in text


def test_a_value_on_the_top_edge_joins_the_last_bin() -> None:
    frame = pl.DataFrame({"provider_name": ["a", "b"], "value": [100.0, 97.5], "n": [10, 10]})
    spec = to_spec(provider_distribution(frame, axis_title="Succes", percent=True, domain=(0, 100)))
    bars = _bar_values(spec)
    assert [(b["x0"], b["x1"], b["providers"]) for b in bars] == [(0.975, 1.0, 2)]


def test_aspects_show_the_spread_per_aspect(frames) -> None:
    spec = to_spec(_charts(frames)["aspects"])
    rows = spec["data"]["values"]
    assert [r["item"] for r in rows][:2] == ["Respectvolle houding", "Deskundigheid"]
    for r in rows:
        assert r["p10"] <= r["q1"] <= r["median"] <= r["q3"] <= r["p90"] <= 1.0


def test_nothing_to_draw_gives_a_message() -> None:
    empty = pl.DataFrame(schema={"provider_name": pl.String, "value": pl.Float64, "n": pl.Int64})
    spec = to_spec(provider_distribution(empty, axis_title="Rapportcijfer"))
    assert "Geen aanbieders" in json.dumps(spec)
    trend = pl.DataFrame(
        schema={
            "period": pl.Int32,
            "service": pl.Int16,
            "label": pl.String,
            "measure": pl.String,
            "value": pl.Float64,
            "n": pl.Int64,
            "providers": pl.Int64,
        }
    )
    assert "Geen gegevens" in json.dumps(to_spec(trend_panels(trend, axis_title="x")))
