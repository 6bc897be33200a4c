"""The staff page (benchmarkverkenner) in a real Chromium against a served `tiny` warehouse, as `keurmerk serve`
serves it: refused without a staff link, rendered with one, sortable, searchable, filterable, a name opens the
provider's dashboard, and no request leaves 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import ARTIFACTS, PageLog, chromium, served

from keurmerk.access import link_url, make_token, verify
from keurmerk.catalog import catalog
from keurmerk.serve import VoilaLaunch

SECRET = "staff-browser-secret"
CHARTS = 7  # five distributions, two trends
ROWS = "[data-km=staff-table] tbody tr"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def voila(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaLaunch]:
    with served(
        tiny_db, tmp_path_factory.mktemp("voila-staff"), ("benchmark.ipynb", "aanbieder.ipynb"), SECRET
    ) as launch:
        yield launch


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def _staff_token() -> str:
    return make_token(None, role="staff", secret=SECRET.encode())


def _open(browser, url: str, *, refused: bool = False):
    context = browser.new_context(viewport={"width": 1300, "height": 1100}, locale="nl-NL")
    log = PageLog(context)
    page = context.new_page()
    log.attach(page)
    page.goto(url, wait_until="commit", timeout=90_000)
    if refused:
        page.wait_for_selector("[data-km=refusal]", timeout=90_000)
    else:
        page.wait_for_selector(ROWS, timeout=90_000)
        page.wait_for_function(
            "n => document.querySelectorAll('.km-staff .keurmerk-chart svg').length >= n", arg=CHARTS, timeout=90_000
        )
    return context, page, log


def _number(text: str) -> float | None:
    match = re.search(r"[−-]?\d+(?:\.\d{3})*(?:,\d+)?", text)
    return None if match is None else float(match.group().replace("−", "-").replace(".", "").replace(",", "."))


def _column(page, key: str) -> list[str]:
    index = page.locator("[data-km=staff-table] thead th").evaluate_all(
        f"ths => ths.findIndex(th => th.dataset.key === '{key}')"
    )
    return page.locator(f"{ROWS} td:nth-child({index + 1})").all_inner_texts()


@pytest.mark.parametrize(
    ("name", "token"),
    [("no_link", None), ("provider_link", "provider"), ("forged_staff_link", "forged")],
)
def test_staff_page_refuses_without_a_staff_link(voila: VoilaLaunch, browser, name: str, token: str | None) -> None:
    if token == "provider":
        url = link_url(voila.url, "benchmark", make_token("P0000", secret=SECRET.encode()))
    elif token == "forged":
        url = link_url(voila.url, "benchmark", make_token(None, role="staff", secret=b"not-the-server-secret"))
    else:
        url = f"{voila.url}voila/render/benchmark.ipynb"
    context, page, log = _open(browser, url, refused=True)
    text = page.locator("body").inner_text()
    assert "Geen toegang" in text
    assert page.locator(".km-staff, .keurmerk-chart, [data-km=staff-table]").count() == 0
    assert "Partner in Werk" not in text and not re.search(r"\d+,\d", text)  # no name, no number
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"staff_refused_{name}.png"))
    assert log.external() == [], log.external()
    context.close()


def test_staff_page_renders_sorts_searches_and_filters(voila: VoilaLaunch, browser) -> None:
    context, page, log = _open(browser, link_url(voila.url, "benchmark", _staff_token()))
    rows = page.locator(ROWS)
    assert rows.count() == 8  # every provider of the tiny warehouse in the latest period
    assert page.locator(".km-page h2").all_inner_texts() == [
        "Hoor en wederhoor (0 open)",  # the reactions of providers (tests/test_reactions.py), under the summary
        "Verdeling van aanbieders",
        "Alle aanbieders",
        "Aandacht nodig vóór de audit",
        "Trends",
    ]
    assert page.locator(".km-staff .keurmerk-chart svg").count() == CHARTS
    assert "Partner in Werk" in page.locator("[data-km=staff-table]").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff_top.png"))

    # Sorting: a click on "Cijfer" sorts high to low, a second click low to high (empty cells last).
    header = page.locator("[data-km=staff-table] th[data-key=grade]")
    header.click()
    page.wait_for_selector("[data-km=staff-table] th[data-key=grade][aria-sort=descending]", timeout=10_000)
    grades = [_number(t) for t in _column(page, "grade")]
    shown = [g for g in grades if g is not None]
    assert shown == sorted(shown, reverse=True) and len(shown) >= 6
    assert grades[: len(shown)] == shown  # no grade after an empty one
    header.click()
    page.wait_for_selector("[data-km=staff-table] th[data-key=grade][aria-sort=ascending]", timeout=10_000)
    ascending = [g for g in (_number(t) for t in _column(page, "grade")) if g is not None]
    assert ascending == sorted(ascending)
    page.locator(".km-section-table").screenshot(path=str(ARTIFACTS / "staff_table_sorted.png"))

    # Search by name (in the browser): accents and case do not matter.
    search = page.locator(".km-search")
    search.fill("PARTNER")
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 1", timeout=10_000)
    assert rows.first.locator("td").first.inner_text() == "Partner in Werk"
    search.fill("")
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 8", timeout=10_000)

    # A filter change recomputes every provider in the kernel: only dienst 8.
    before = page.locator("[data-km=status]").inner_text()
    page.locator(".km-filter-services summary").click()
    page.locator(".km-filter-services label", has_text=f"8. {catalog().service_label(8)}").click()
    page.wait_for_function(
        "before => { const s = document.querySelector('[data-km=status]'); return s && s.innerText !== before; }",
        arg=before,
        timeout=60_000,
    )
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length < 8", timeout=60_000)
    assert 1 <= rows.count() < 8
    publication = _column(page, "publication")
    label = re.escape(catalog().service_label(8))  # the dienst's name beside its code
    assert all(re.fullmatch(rf"8 {label}: (ja|nee)", p) for p in publication), publication  # only dienst 8 counts
    page.locator(".km-section-distribution").screenshot(path=str(ARTIFACTS / "staff_distribution_dienst_8.png"))

    # A click on a row shows the provider, with a link to its dashboard.
    rows.first.locator("td").nth(2).click()
    page.wait_for_selector("[data-km=detail] [data-km=open-dashboard]", timeout=30_000)
    page.locator(".km-section-watch").screenshot(path=str(ARTIFACTS / "staff_watch.png"))
    page.locator(".km-section-trends").screenshot(path=str(ARTIFACTS / "staff_trends.png"))

    assert log.external() == [], log.external()
    assert not log.errors, log.errors
    context.close()


def test_a_name_opens_the_providers_dashboard(voila: VoilaLaunch, browser) -> None:
    context, page, log = _open(browser, link_url(voila.url, "benchmark", _staff_token()))
    page.locator(".km-search").fill("Partner in Werk")
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 1", timeout=10_000)
    link = page.locator(f"{ROWS} a").first
    href = link.get_attribute("href")
    assert href.startswith("/voila/render/aanbieder.ipynb?") and "aanbieder=" not in href  # a provider link
    assert verify(parse_qs(urlsplit(href).query)["toegang"][0], secret=SECRET.encode()).provider_id == "P0000"
    with context.expect_page(timeout=30_000) as opened:
        link.click()
    dashboard = opened.value
    log.attach(dashboard)
    dashboard.wait_for_selector(".km-dashboard", timeout=90_000)
    assert "Partner in Werk" in dashboard.locator(".km-page h1").first.inner_text()
    dashboard.locator(".km-tabs .lm-TabBar-tab", has_text="Respons en keurmerk").click()  # table 1.1's chapter
    dashboard.wait_for_selector("[data-km=table_1_1]", timeout=60_000)
    dashboard.screenshot(path=str(ARTIFACTS / "staff_opens_provider_dashboard.png"))
    assert log.external() == [], log.external()
    context.close()
