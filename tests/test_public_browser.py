"""The public search (the static site at /zoeken/) and the landing page in a real Chromium, served by `keurmerk
serve` on a `tiny` warehouse: no link and no kernel needed; search by name (accents, case, a typo), dienst,
province and period; sort; pages; only published grades; nothing leaves 127.0.0.1; phone and desktop."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, PageLog, chromium, served

from keurmerk.catalog import catalog
from keurmerk.serve import VoilaLaunch, kernel_pids

SECRET = "public-browser-secret"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def voila(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaLaunch]:
    # no dashboard notebook at all: the public pages must not need one
    with served(tiny_db, tmp_path_factory.mktemp("voila-zoeken"), (), SECRET) as launch:
        yield launch


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def _open(browser, url: str, viewport: dict = DESKTOP):
    context = browser.new_context(viewport=viewport, locale="nl-NL")
    log = PageLog(context)
    page = context.new_page()
    log.attach(page)
    page.goto(url, timeout=60_000)
    return context, page, log


def _count(page, pattern: str) -> str:
    page.wait_for_function(
        "p => new RegExp(p).test(document.querySelector('[data-km=count]')?.innerText || '')",
        arg=pattern,
        timeout=15_000,
    )
    return page.locator("[data-km=count]").inner_text()


def _lines(text: str) -> list[str]:
    return [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]


def test_landing_page(voila: VoilaLaunch, browser) -> None:
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context, page, log = _open(browser, voila.url, viewport)
        assert page.title() == "Tevredenheidsonderzoek — Blik op Werk Keurmerk"
        assert "Zoek een keurmerkhouder" in page.locator("body").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"landing_{name}.png"), full_page=True)
        if name == "phone":
            page.get_by_text("Zoek een keurmerkhouder").click()
            page.wait_for_url("**/zoeken/")
            _count(page, "keurmerkhouders gevonden")
        assert log.external() == [] and not log.errors
        context.close()


def test_unpublished_grades_stay_hidden_when_searched_by_name(voila: VoilaLaunch, browser) -> None:
    """Partner in Werk, 2021: dienst 8 (15 completed, 51,7%) is published with 7,9; diensten 3 (9,0: 1 completed)
    and 7 (8,3: 2 completed) are not, nor is the client total (8,0). The commissioners' 8,2 (n = 9) is."""
    context, page, log = _open(browser, f"{voila.url}zoeken/", PHONE)
    _count(page, "gevonden")
    page.locator("#periode").select_option("2021")
    page.locator("#naam").fill("PARTNÉR in werk")  # case and accents do not matter
    _count(page, r"^1 keurmerkhouder gevonden")
    card = page.locator("[data-km=result]")
    assert card.count() == 1
    lines = _lines(card.inner_text())
    assert "Partner in Werk" in lines and any(line.startswith("Meetperiode 2021") for line in lines)
    assert f"{catalog().service_label(8)} 7,9 n = 15" in lines, lines
    assert "Rapportcijfer 8,2 n = 9" in lines, lines
    assert sum("niet gepubliceerd" in line for line in lines) == 3  # diensten 3 and 7, and the total
    assert any(re.match(r"Totaal cliënten niet gepubliceerd: .*verraden", line) for line in lines), lines
    assert any(re.search(r"niet gepubliceerd: minder dan 10 cliënten", line) for line in lines), lines
    assert page.locator("#paginas").is_hidden()  # one result: no page buttons
    body = page.locator("body").inner_text()
    for hidden in ("9,0", "8,3", "8,0"):
        assert hidden not in body, hidden
    page.screenshot(path=str(ARTIFACTS / "public_search_phone.png"), full_page=True)
    assert log.external() == [] and not log.errors
    context.close()


def test_a_typo_still_finds_the_provider(voila: VoilaLaunch, browser) -> None:
    context, page, log = _open(browser, f"{voila.url}zoeken/?periode=2021")
    page.locator("#naam").fill("partnr in werk")
    _count(page, r"^1 keurmerkhouder gevonden")
    assert "Partner in Werk" in page.locator("[data-km=result] h2").inner_text()
    page.locator("#naam").fill("zzzzqqqq")
    _count(page, "Geen keurmerkhouders gevonden")
    context.close()


def test_dienst_province_sort_and_pages(voila: VoilaLaunch, browser) -> None:
    context, page, log = _open(browser, f"{voila.url}zoeken/")
    everyone = int(re.match(r"\d+", _count(page, r"keurmerkhouders? gevonden")).group())
    assert everyone == 8
    names = page.locator("[data-km=result] h2").all_inner_texts()
    assert names == sorted(names, key=str.casefold)
    page.locator("#sortering").select_option("opdrachtgevers")
    page.wait_for_function("() => location.search.includes('sortering=opdrachtgevers')")
    grades = [
        float(re.search(r"Rapportcijfer\s+(\d+,\d)", t).group(1).replace(",", "."))
        for t in page.locator("[data-km=result]").all_inner_texts()
        if re.search(r"Rapportcijfer\s+(\d+,\d)", t)
    ]
    assert grades and grades == sorted(grades, reverse=True)
    page.locator("#dienst").select_option(label=catalog().service_label(7))
    narrowed = int(re.match(r"\d+", _count(page, r"^[1-7] keurmerkhouders? gevonden")).group())
    assert narrowed < everyone
    page.locator("#provincie").select_option(label="Zuid-Holland")
    text = _count(page, "gevonden")
    cards = page.locator("[data-km=result]")
    assert cards.count() == int(re.match(r"\d+", text).group())
    for card in cards.all():
        assert "Zuid-Holland" in card.inner_text()
    page.screenshot(path=str(ARTIFACTS / "public_search_desktop.png"))
    assert log.external() == [] and not log.errors
    context.close()


def test_all_results_in_pages(voila: VoilaLaunch, browser, tmp_path: Path) -> None:
    """More providers than a page holds: every one is reachable through the pages (none cut off)."""
    context, page, log = _open(browser, f"{voila.url}zoeken/")
    _count(page, "gevonden")
    # 20 copies of the tiny listing through the page's own data files: the same code path as a national site
    context.route("**/zoeken/periode-*.json", lambda route: _many(route))
    page.reload()
    total = int(re.match(r"[\d.]+", _count(page, "gevonden")).group().replace(".", ""))
    seen = set(page.locator("[data-km=result] h2").all_inner_texts())
    assert page.locator("#pagina").inner_text().startswith("Pagina 1 van")
    while page.locator("#volgende").is_enabled():
        page.locator("#volgende").click()
        seen |= set(page.locator("[data-km=result] h2").all_inner_texts())
    assert len(seen) == total > 100
    assert "pagina=" in page.url
    context.close()


def _many(route) -> None:
    import json

    data = route.fetch().json()
    data["providers"] = [{**p, "name": f"{p['name']} {i}"} for i in range(20) for p in data["providers"]]
    route.fulfill(status=200, content_type="application/json", body=json.dumps(data))


def test_no_kernel_for_the_public_pages(voila: VoilaLaunch, browser) -> None:
    import psutil

    server = next(p for p in psutil.process_iter(["cmdline"]) if f"--port={voila.port}" in (p.info["cmdline"] or []))
    assert kernel_pids(server.pid) == []
    context, page, log = _open(browser, f"{voila.url}zoeken/?naam=partner")
    _count(page, "gevonden")
    assert kernel_pids(server.pid) == []
    context.close()
