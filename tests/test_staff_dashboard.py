"""The staff page (benchmarkverkenner) without a browser: only a staff link opens it, the warehouse is not read
before, the table carries every provider with working links, filters recompute, selection shows details."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import ipywidgets as widgets
import jupytext
import nbformat
import polars as pl
import pytest

from keurmerk.access import QUERY_PARAMETER, make_token, verify
from keurmerk.catalog import catalog
from keurmerk.dashboard import StaffApp
from keurmerk.dashboard.staff import COLUMNS, StaffExplorer, provider_link
from keurmerk.metrics.status import STATUS_LABELS, StatusCells

SECRET = "staff-test-secret"
NOTEBOOK = Path(__file__).resolve().parents[1] / "dashboards" / "benchmark.ipynb"


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEURMERK_SECRET", SECRET)


@pytest.fixture(scope="module")
def app(tiny_db: Path) -> StaffApp:
    return StaffApp.prepare(tiny_db)


def _staff(**extra: str) -> dict[str, str]:
    return {QUERY_PARAMETER: make_token(None, role="staff"), **extra}


def _texts(widget: widgets.Widget) -> str:
    if isinstance(widget, widgets.HTML):
        return widget.value
    return "".join(_texts(child) for child in getattr(widget, "children", ()))


def test_notebook_and_its_text_pair_hold_the_same_cells() -> None:
    paired = jupytext.read(NOTEBOOK.with_suffix(".py"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert [(c.cell_type, c.source) for c in paired.cells] == [(c.cell_type, c.source) for c in notebook.cells]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "alleen voor medewerkers"),
        ("provider", "alleen voor medewerkers"),
        ("staff-bound", "alleen voor medewerkers"),
        ({QUERY_PARAMETER: "vervalst.token"}, "ongeldig"),
        ("forged-staff", "ongeldig"),
        ("expired", "verlopen"),
    ],
    ids=["no-link", "provider-link", "staff-link-bound-to-a-provider", "garbage", "forged-staff", "expired-staff"],
)
def test_refusals_read_no_data(tiny_db: Path, params, message: str) -> None:
    app = StaffApp.prepare(tiny_db, warm_up=False)
    if params == "provider":
        params = {QUERY_PARAMETER: make_token("P0000")}
    elif params == "staff-bound":  # the staff page's link to one provider must not open the explorer
        params = {QUERY_PARAMETER: make_token("P0000", role="staff")}
    elif params == "forged-staff":
        params = {QUERY_PARAMETER: make_token(None, role="staff", secret=b"not-the-server-secret")}
    elif params == "expired":
        params = {QUERY_PARAMETER: make_token(None, role="staff", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=40))}
    shown = app.open(params)
    assert isinstance(shown, widgets.HTML)
    assert message in shown.value and 'data-km="refusal"' in shown.value
    assert "Partner in Werk" not in shown.value
    assert "cells" not in app.__dict__  # the warehouse was never aggregated for this visitor


def test_staff_link_opens_every_provider(app: StaffApp) -> None:
    page = app.open(_staff())
    assert "km-staff" in page._dom_classes
    explorer_table = next(w for w in _walk(page) if w.__class__.__name__ == "StaffTable")
    providers = app.cells.providers.height
    latest = max(app.cells.periods)
    active = app.cells.respondents.filter(pl.col("period") == latest)["provider_id"].n_unique()
    assert len(explorer_table.rows) == active == providers
    assert [c["key"] for c in explorer_table.columns] == [c[0] for c in COLUMNS]
    row = next(r for r in explorer_table.rows if r["id"] == "P0000")
    assert row["name"] == "Partner in Werk"
    query = parse_qs(urlsplit(row["link"]).query)
    assert urlsplit(row["link"]).path == "/voila/render/aanbieder.ipynb"
    opened = verify(query[QUERY_PARAMETER][0])  # a fresh link bound to P0000: not the staff token
    assert "aanbieder" not in query and not opened.is_staff_wide and opened.provider_id == "P0000"
    texts = _texts(page)
    assert "Benchmarkverkenner" in texts and 'data-km="watch"' in texts


def _walk(widget: widgets.Widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


@pytest.fixture()
def explorer(app: StaffApp) -> StaffExplorer:
    token = _staff()[QUERY_PARAMETER]
    explorer = StaffExplorer(app.cells, token, app.policy)
    explorer.refresh()
    return explorer


def test_every_chart_is_drawn(explorer: StaffExplorer) -> None:
    assert all(chart.spec for chart in explorer.charts.values())
    # the catalogue's staff figures, and among them the page's headline figures
    assert list(explorer.charts) == [f.id for f in catalog().staff_figures]
    assert set(explorer.charts) >= {"grade", "response", "promoter", "success", "aspects", "trend_grade", "trend_success"}
    assert "Bezig" not in explorer.status_line.value and "aanbieders in deze selectie" in explorer.status_line.value
    assert " ms" not in explorer.status_line.value  # no timings for staff to read


def test_a_filter_change_recomputes_all_providers(explorer: StaffExplorer) -> None:
    explorer.period.value = (2021, 2021)  # outside an event loop the debouncer recomputes at once
    first = {r["id"]: r["cells"]["grade"] for r in explorer.table.rows}
    explorer.services.value = (8,)
    only_8 = {r["id"]: r["cells"]["grade"] for r in explorer.table.rows}
    assert set(only_8) < set(first)
    assert only_8["P0000"] == "7,9" and first["P0000"] == "8,0"  # Partner in Werk 2021: dienst 8 vs all
    explorer.audience.value = "commissioner"
    assert {r["id"]: r["cells"]["grade"] for r in explorer.table.rows}["P0000"] != "7,9"


def test_rows_carry_sort_keys_and_dutch_texts(explorer: StaffExplorer) -> None:
    explorer.period.value = (2021, 2021)
    row = next(r for r in explorer.table.rows if r["id"] == "P0000")
    assert row["cells"]["response"] == "41,9%" and row["cells"]["completed"] == "18"
    assert row["sort"]["grade"] == 8.0 and row["sort"]["response"] == 41.9
    labels = {code: catalog().service_label(code) for code in (3, 7, 8)}  # dienst names beside the codes
    assert row["cells"]["publication"] == f"3 {labels[3]}: nee · 7 {labels[7]}: nee · 8 {labels[8]}: ja"
    assert row["cells"]["norm"] == "voldoet (cijfer)" and row["classes"]["norm"] == "km-yes"
    assert "Outplacement: niet gepubliceerd" in row["titles"]["publication"]
    assert "alle deelnemers" in row["titles"]["success"] and "drempel 50%" in row["titles"]["success"]
    assert row["cells"]["status"] in STATUS_LABELS.values()  # the wording: keurmerk.metrics.status (issue 11)
    # sort keys of every column exist on every row, so the browser can sort on any of them
    assert all(set(r["sort"]) == {c[0] for c in COLUMNS} for r in explorer.table.rows)


def test_selecting_a_row_shows_the_provider_with_its_link(explorer: StaffExplorer) -> None:
    explorer.table.selected = "P0000"
    assert "Partner in Werk" in explorer.detail.value and 'data-km="open-dashboard"' in explorer.detail.value
    href = re.search(r'href="([^"]+)"[^>]*data-km="open-dashboard"', explorer.detail.value).group(1)
    query = parse_qs(urlsplit(html_unescape(href)).query)
    assert "aanbieder" not in query and verify(query[QUERY_PARAMETER][0]).provider_id == "P0000"
    explorer.table.selected = "P9999"  # the browser may write anything: an unknown id shows nothing
    assert explorer.detail.value == ""


def test_provider_names_are_escaped(app: StaffApp) -> None:
    cells = app.cells
    evil = cells.providers.with_columns(
        provider_name=pl.when(pl.col("provider_id") == "P0001")
        .then(pl.lit("<b>Vet</b> & Co"))
        .otherwise(pl.col("provider_name"))
    )
    tricked = StatusCells(
        cells.respondents,
        cells.aspects,
        cells.results,
        evil,
        cells.correction_floor,
        cells.promoter_question,
        cells.promoter_answers,
    )
    explorer = StaffExplorer(tricked, "t", app.policy)
    explorer.period.value = (2021, 2022)
    explorer.refresh()
    assert "<b>Vet</b>" not in explorer.watch.value + explorer.movers.value
    explorer.table.selected = "P0001"
    assert "&lt;b&gt;Vet&lt;/b&gt; &amp; Co" in explorer.detail.value
    # the table widget sets names as text in the browser (textContent), never as markup
    assert any(r["name"] == "<b>Vet</b> & Co" for r in explorer.table.rows)


def test_staff_link_helper() -> None:
    """Staff open a provider through a fresh link for that provider only, valid for hours, never the staff token."""
    link = provider_link("staff.token", "P0042")
    assert urlsplit(link).path == "/voila/render/aanbieder.ipynb" and "staff.token" not in link
    access = verify(parse_qs(urlsplit(link).query)[QUERY_PARAMETER][0])
    assert (access.role, access.provider_id) == ("staff", "P0042")  # bound to one provider, read-only
    hours = (access.expires - dt.datetime.now(dt.UTC)).total_seconds() / 3600
    assert 1 < hours <= 2
