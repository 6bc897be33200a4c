"""The public search page (zoekmachine) in a real Chromium against a served `tiny` warehouse: no link needed,
search by name, dienst and province, only published grades (also when a provider with unpublished grades is
searched by name), and no request leaves 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, PageLog, chromium, served

from keurmerk.access import make_token
from keurmerk.catalog import catalog
from keurmerk.serve import VoilaLaunch

SECRET = "public-browser-secret"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def voila(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaLaunch]:
    with served(tiny_db, tmp_path_factory.mktemp("voila-zoekmachine"), ("zoekmachine.ipynb",), SECRET) as launch:
        yield launch


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1200, "height": 1000}, locale="nl-NL")
    log = PageLog(context)
    page = context.new_page()
    log.attach(page)
    page.goto(url, wait_until="commit", timeout=90_000)
    page.wait_for_selector("[data-km=results]", timeout=90_000)
    return context, page, log


def _wait_for_count(page, pattern: str) -> str:
    page.wait_for_function(
        "p => { const c = document.querySelector('[data-km=count]'); return c && new RegExp(p).test(c.innerText); }",
        arg=pattern,
        timeout=30_000,
    )
    return page.locator("[data-km=count]").inner_text()


def _page_url(voila: VoilaLaunch, **query: str) -> str:
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{voila.url}voila/render/zoekmachine.ipynb" + (f"?{suffix}" if suffix else "")


def test_unpublished_grades_stay_hidden_when_searched_by_name(voila: VoilaLaunch, browser) -> None:
    """Partner in Werk, 2021: dienst 8 (15 completed, 51,7%) is published with 7,9; diensten 3 (9,0: 1 completed)
    and 7 (8,3: 2 completed, 20%) are not, nor is the client total (8,0). The commissioners' 8,2 (n = 9) is."""
    context, page, log = _open(browser, _page_url(voila))
    page.locator(".km-search-period select").select_option(label="2021")
    page.locator(".km-search-name input").fill("Partner in Werk")
    _wait_for_count(page, r"^1 keurmerkhouder gevonden")
    card = page.locator("[data-km=result]")
    assert card.count() == 1
    text = card.inner_text()
    assert "Partner in Werk" in text and "Meetperiode 2021" in text
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]
    assert any(re.fullmatch(rf"{re.escape(catalog().service_label(8))} 7,9 15", line) for line in lines), lines
    assert any(re.fullmatch(r"Opdrachtgevers 8,2 9", line) for line in lines), lines
    assert text.count("niet gepubliceerd") == 2
    body = page.locator("body").inner_text()
    for hidden in ("9,0", "8,3", "8,0"):
        assert hidden not in body, hidden
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "public_partner_in_werk_2021.png"))
    assert log.external() == [], log.external()
    assert not log.errors, log.errors
    context.close()


def test_search_by_dienst_and_province(voila: VoilaLaunch, browser) -> None:
    context, page, log = _open(browser, _page_url(voila))
    everyone = _wait_for_count(page, r"keurmerkhouders? gevonden")
    total = int(re.match(r"\d+", everyone).group())
    assert total == 8
    page.locator(".km-search-service select").select_option(label=catalog().service_label(7))
    narrowed = _wait_for_count(page, r"^[1-7] keurmerkhouders? gevonden")
    assert int(re.match(r"\d+", narrowed).group()) < total
    page.locator(".km-search-province select").select_option(label="Zuid-Holland")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-km=result]')].every(c => c.innerText.includes('Zuid-Holland'))",
        timeout=30_000,
    )
    text = _wait_for_count(page, r"gevonden")
    cards = page.locator("[data-km=result]")
    assert cards.count() == int(re.match(r"\d+", text).group())
    for card in cards.all():
        assert "Zuid-Holland" in card.inner_text()
    page.screenshot(path=str(ARTIFACTS / "public_search_dienst_province.png"))
    page.locator(".km-search-name input").fill("bestaat niet")
    page.wait_for_function("() => document.body.innerText.includes('Geen keurmerkhouders gevonden')", timeout=30_000)
    assert log.external() == [], log.external()
    context.close()


def test_a_link_token_changes_nothing(voila: VoilaLaunch, browser) -> None:
    """The public page is the same for everyone: a staff token in the URL shows no more."""
    context, page, log = _open(
        browser, _page_url(voila, toegang=make_token(None, role="staff", secret=SECRET.encode()))
    )
    page.locator(".km-search-period select").select_option(label="2021")
    page.locator(".km-search-name input").fill("partner")
    _wait_for_count(page, r"^1 keurmerkhouder gevonden")
    body = page.locator("body").inner_text()
    assert "7,9" in body and "9,0" not in body and "8,3" not in body
    assert log.external() == []
    context.close()
