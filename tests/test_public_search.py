"""The public search page (zoekmachine) without a browser: search by name, dienst and province, and never an
unpublished grade, a small group or a respondent-level row."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import polars as pl
import pytest

from keurmerk.dashboard import PublicApp
from keurmerk.dashboard.public import PublicSearch, result_cards, search
from keurmerk.policy import Policy

NOTEBOOK = Path(__file__).resolve().parents[1] / "dashboards" / "zoekmachine.ipynb"


@pytest.fixture(scope="module")
def app(tiny_db: Path) -> PublicApp:
    return PublicApp.prepare(tiny_db)


@pytest.fixture()
def page(app: PublicApp) -> PublicSearch:
    page = PublicSearch(app.cells, app.policy)
    page.refresh()
    return page


def test_notebook_and_its_text_pair_hold_the_same_cells() -> None:
    paired = jupytext.read(NOTEBOOK.with_suffix(".py"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert [(c.cell_type, c.source) for c in paired.cells] == [(c.cell_type, c.source) for c in notebook.cells]


def test_opens_without_a_link(app: PublicApp) -> None:
    shown = app.open({})
    assert "km-public" in shown._dom_classes


def test_search_by_name_ignores_case_and_accents(page: PublicSearch) -> None:
    listing = page.listing(2021)
    assert search(listing, "partner in werk")["provider_name"].to_list() == ["Partner in Werk"]
    assert search(listing, "  PARTNER ")["provider_name"].to_list() == ["Partner in Werk"]
    accented = listing.with_columns(search_key=pl.lit("frysla werk"))  # names are keyed without accents
    assert search(accented, "Fryslâ").height == accented.height
    assert search(listing, "bestaat niet").is_empty()
    assert search(listing, "").height == listing.height


def test_search_by_dienst_and_province(page: PublicSearch) -> None:
    listing = page.listing(2021)
    by_service = search(listing, service=7)
    assert "Partner in Werk" in by_service["provider_name"].to_list()
    assert all(7 in s for s in by_service["services"])
    by_province = search(listing, province="PV28")
    assert "Partner in Werk" in by_province["provider_name"].to_list()
    assert all("PV28" in p for p in by_province["provinces"])
    assert search(listing, "partner", service=1).is_empty()  # Partner in Werk offers 3, 7 and 8


def test_partner_in_werk_2021_shows_only_its_published_grade(page: PublicSearch) -> None:
    page.period.value = 2021
    page.name.value = "Partner in Werk"  # outside an event loop the debouncer refreshes at once
    shown = page.results.value
    assert shown.count('data-km="result"') == 1
    assert ">7,9<" in shown and ">15<" in shown  # dienst 8: published, 15 grades
    assert ">8,2<" in shown and ">9<" in shown  # commissioners: always published, 9 grades
    assert shown.count("niet gepubliceerd") == 2  # diensten 3 and 7
    for unpublished in ("9,0", "8,3", "8,0"):  # dienst 3, dienst 7, and the client total
        assert unpublished not in re.sub(r"<[^>]+>", " ", shown), unpublished
    assert "Meetperiode 2021" in shown and "Zuid-Holland" in shown


def test_no_card_ever_holds_an_unpublished_grade(page: PublicSearch, app: PublicApp) -> None:
    """Every number on the page is a published grade, its n, or the period."""
    for period in app.cells.periods:
        listing = page.listing(period)
        html = result_cards(listing, app.policy, limit=1000)
        allowed = {str(period)}
        for r in listing.iter_rows(named=True):
            for g in r["grades"] or []:
                allowed |= {f"{g['grade']:.1f}".replace(".", ","), str(g["n"])}
            if r["commissioner_grade"] is not None:
                allowed |= {f"{r['commissioner_grade']:.1f}".replace(".", ","), str(r["commissioner_n"])}
        numbers = set(re.findall(r">\s*(\d+(?:,\d)?)\s*<", html))
        assert numbers <= allowed, numbers - allowed


def test_a_withheld_commissioner_grade_says_so(page: PublicSearch) -> None:
    """public_listing leaves out commissioner grades under min_n (tests/test_results_norm.py); the card says why."""
    listing = (
        page.listing(2021)
        .filter(pl.col("provider_id") == "P0000")
        .with_columns(commissioner_grade=pl.lit(None, pl.Float64), commissioner_n=pl.lit(None, pl.Int64))
    )
    html = result_cards(listing, Policy())
    assert "te weinig respondenten" in html and "8,2" not in html


def test_names_are_escaped(page: PublicSearch) -> None:
    listing = page.listing(2021).with_columns(provider_name=pl.lit("<script>alert(1)</script>"))
    html = result_cards(listing.head(1), Policy())
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_too_many_results_ask_to_narrow_the_search(page: PublicSearch) -> None:
    listing = page.listing(2021)
    html = result_cards(listing, Policy(), limit=3)
    assert html.count('data-km="result"') == 3 and "Verfijn uw zoekopdracht" in html
