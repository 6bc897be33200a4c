"""The finished product in a real Chromium (issue 13): phone widths, accessibility (axe-core), downloads, printing,
readable controls and the year-over-year tiles, on the provider page and the staff page of a served `tiny`
warehouse."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import openpyxl
import polars as pl
import pytest
from browser_support import ARTIFACTS, PageLog, axe_violations, chromium, served

from keurmerk.access import link_url, make_token
from keurmerk.catalog import catalog
from keurmerk.filters import Filters
from keurmerk.formatting import integer, number
from keurmerk.metrics import Cube, CubeSource, compute_all
from keurmerk.policy import load_policy
from keurmerk.serve import VoilaLaunch
from keurmerk.warehouse import open_readonly

SECRET = "finish-test-secret"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}
ALL_DRAWN = ("() => [...document.querySelectorAll('.km-figure .keurmerk-chart')]"
             ".every(c => c.querySelector('svg, .keurmerk-chart-error'))")
# the lab template scrolls inside #rendered_cells: that is the width that must fit, as well as the document's
PAGE_WIDTH = ("() => Math.max(document.documentElement.scrollWidth, "
              "document.querySelector('#rendered_cells')?.scrollWidth || 0)")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def voila(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaLaunch]:
    with served(tiny_db, tmp_path_factory.mktemp("voila-finish"), ("aanbieder.ipynb", "benchmark.ipynb"),
                SECRET) as launch:
        yield launch


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def _provider(voila: VoilaLaunch, **params: str) -> str:
    return link_url(voila.url, "aanbieder", make_token("P0000", secret=SECRET.encode()), **params)


def _staff(voila: VoilaLaunch) -> str:
    return link_url(voila.url, "benchmark", make_token(None, role="staff", secret=SECRET.encode()))


def _open(browser, url: str, viewport: dict, ready: str = ".km-tabs .lm-TabBar-tab"):
    context = browser.new_context(viewport=viewport, locale="nl-NL", accept_downloads=True)
    log = PageLog(context)
    page = context.new_page()
    log.attach(page)
    page.goto(url, wait_until="commit", timeout=90_000)
    page.wait_for_selector(ready, timeout=90_000)
    page.wait_for_function(ALL_DRAWN, timeout=90_000)
    return context, page, log


def _tabs(page) -> list:
    return page.locator(".km-tabs .lm-TabBar-tab").all()


def _show_tab(page, tab) -> None:
    tab.click()
    page.wait_for_timeout(300)
    page.wait_for_function(ALL_DRAWN, timeout=90_000)


def _expected_frames(db: Path, period: int, provider: str = "P0000") -> dict[str, pl.DataFrame]:
    with open_readonly(db) as con:
        source = CubeSource.load(con, provider, benchmark=Cube.load(con))
        return compute_all(source, Filters(provider=provider, period=period), load_policy(), suppress=True)


def _table_numbers(frames: dict[str, pl.DataFrame]) -> list[str]:
    """Table 1.1's totals as the page writes them: net sample, completed, response and grade per block."""
    totals = frames["table_1_1"].filter(pl.col("service").is_null())
    values = []
    for r in totals.iter_rows(named=True):
        values += [integer(r["net_sample"]), integer(r["completed"]), number(r["response_pct"]), number(r["grade"])]
    return values


def test_phone_no_page_is_wider_than_the_screen(voila: VoilaLaunch, browser) -> None:
    context, page, log = _open(browser, _provider(voila, periode="2021"), PHONE)
    widths = {}
    for i, tab in enumerate(_tabs(page)):
        _show_tab(page, tab)
        widths[tab.inner_text()] = page.evaluate(PAGE_WIDTH)
        page.screenshot(path=str(ARTIFACTS / f"finish_phone_tab{i}.png"))
    # table 1.1 scrolls sideways inside its card, with a visible cue
    page.locator(".km-tabs .lm-TabBar-tab", has_text="Respons").click()
    assert page.locator(".km-table_1_1 .km-scroll [data-km=table_1_1]").count() == 1
    assert page.locator(".km-table_1_1 .km-scroll-hint").is_visible()
    context.close()
    context, page, _ = _open(browser, _staff(voila), PHONE, ready=".km-staff-table table")
    widths["staff"] = page.evaluate(PAGE_WIDTH)
    page.screenshot(path=str(ARTIFACTS / "finish_phone_staff.png"))
    context.close()
    assert len(widths) >= 5
    assert all(width <= PHONE["width"] for width in widths.values()), widths
    assert log.external() == []


def test_axe_no_serious_or_critical_violation_on_any_page_or_tab(voila: VoilaLaunch, browser) -> None:
    found = {}
    context, page, _ = _open(browser, _provider(voila, periode="2021"), DESKTOP)
    for tab in _tabs(page):
        _show_tab(page, tab)
        page.locator(".km-filter-services summary").click()  # the checkboxes open too
        found[tab.inner_text()] = axe_violations(page)
        page.locator(".km-filter-services summary").click()
    context.close()
    context, page, _ = _open(browser, _staff(voila), DESKTOP, ready=".km-staff-table table")
    found["staff"] = axe_violations(page)
    context.close()
    assert len(found) >= 5
    assert all(v == [] for v in found.values()), found


def test_charts_have_text_alternatives_and_controls_read_at_once(voila: VoilaLaunch, browser, tiny_db: Path) -> None:
    context, page, _ = _open(browser, _provider(voila, periode="2021"), DESKTOP)
    # period reads "2021", ranges "2021–2022"; empty pickers say "Alle …"; the status counts both audiences
    options = page.locator(".km-filter-period select option").all_text_contents()
    assert "2021" in options and "2021–2022" in options, options
    assert page.locator(".km-filter-period select").evaluate("s => s.selectedOptions[0].text") == "2021"
    assert page.locator(".km-filter-services summary").inner_text().endswith("Alle diensten")
    assert page.locator(".km-filter-provinces summary").inner_text().endswith("Alle provincies")
    frames = _expected_frames(tiny_db, 2021)
    totals = {r["form"]: r["completed"] for r in frames["table_1_1"].filter(pl.col("service").is_null()).to_dicts()}
    status = page.locator("[data-km=status]").inner_text()
    assert f"{totals['client']} cliënten" in status and f"{totals['commissioner']} opdrachtgevers" in status, status
    assert not re.search(r"\bms\b", status)
    # a chart's SVG is labelled with its caption, and its numbers are one click away as a table
    first = page.locator(".km-fig_3_1")
    first_tab = page.locator(".km-tabs .lm-TabBar-tab", has_text="Cliënten")
    first_tab.click()
    page.wait_for_function(ALL_DRAWN, timeout=90_000)
    # Vega labels the chart's container (role graphics-document) with the spec's description: the caption
    label = first.locator(".keurmerk-chart [role=graphics-document]").first.get_attribute("aria-label") or ""
    assert "3.1" in label, label
    first.locator("[data-km=datatable] summary").click()
    table = first.locator("[data-km=datatable] table").inner_text()
    grade = frames["fig_3_1"].filter(pl.col("service").is_null())["grade"][0]
    assert number(grade) in table
    # keyboard: a dienst is ticked with the space bar, the summary names it, and "Wis filters" clears it again
    page.locator(".km-filter-services summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.type") == "checkbox"
    outline = page.evaluate("() => getComputedStyle(document.activeElement.closest('label')).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Space")
    page.wait_for_function("() => !/Alle diensten/.test(document.querySelector('.km-filter-services summary').innerText)")
    page.get_by_role("button", name="Wis filters").click()
    page.wait_for_function("() => /Alle diensten/.test(document.querySelector('.km-filter-services summary').innerText)")
    context.close()


def test_year_over_year_tile_shows_the_change_since_the_previous_period(voila, browser, tiny_db: Path) -> None:
    before, now = _expected_frames(tiny_db, 2021), _expected_frames(tiny_db, 2022)

    def grade(frames):
        return frames["table_1_1"].filter((pl.col("form") == "client") & pl.col("service").is_null())["grade"][0]

    change = round(grade(now) - grade(before), 1)
    context, page, _ = _open(browser, _provider(voila, periode="2022"), DESKTOP)
    tile = page.locator("[data-km=tile-grade]")
    assert tile.locator("[data-km=value]").inner_text() == number(grade(now))
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    assert f"{sign}{number(abs(change))} sinds 2021" in tile.locator("[data-km=change]").inner_text()
    assert f"2021: {number(grade(before))}" in tile.inner_text()
    tile.screenshot(path=str(ARTIFACTS / "finish_tile_grade.png"))
    context.close()


def test_downloads_hold_table_1_1_of_the_selection(voila: VoilaLaunch, browser, tiny_db: Path) -> None:
    expected = _table_numbers(_expected_frames(tiny_db, 2021))
    context, page, log = _open(browser, _provider(voila, periode="2021"), DESKTOP)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download gegevens (Excel)").click()
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
    assert "Tabel 1.1" in book.sheetnames and "Inhoud" in book.sheetnames
    cells = set()
    for row in book["Tabel 1.1"].iter_rows(values_only=True):
        for c in row:
            if isinstance(c, int | float) and not isinstance(c, bool):  # Excel keeps 8,0 as the number 8
                cells |= {number(float(c))} | ({integer(int(c))} if float(c).is_integer() else set())
    assert all(value in cells for value in expected), ([v for v in expected if v not in cells], sorted(cells))
    assert "periode 2021" in " ".join(str(c) for row in book["Inhoud"].iter_rows(values_only=True) for c in row if c)

    with page.expect_download(timeout=180_000) as download:
        page.get_by_role("button", name="Download rapport (PDF)").click()
    assert download.value.suggested_filename == "P0000-2021.pdf"
    text = subprocess.run(["pdftotext", "-layout", download.value.path(), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "selectie: periode 2021; alle diensten" in text
    table = text[text.index("tabel 1.1"):][:4000]
    assert all(re.search(rf"(^|\s){re.escape(v)}(\s|$)", table, re.M) for v in expected), (expected, table)
    assert log.external() == []
    context.close()


def test_printing_gives_every_chart_unclipped(voila: VoilaLaunch, browser) -> None:
    # A4 less the print margins is ~720 CSS px: the page is laid out at that width, in print media
    context, page, _ = _open(browser, _provider(voila, periode="2021"), {"width": 720, "height": 1000})
    page.evaluate("() => { window.print = () => { window.__printed = true; }; }")  # a function given is called
    page.get_by_role("button", name=re.compile("Afdrukken")).click()
    page.wait_for_function("() => window.__printed === true", timeout=180_000)
    page.emulate_media(media="print")
    figures = [m for m in catalog().figures if m.chart != "keurmerk_table" and m.section != "inburgering"]
    charts = page.evaluate("""() => [...document.querySelectorAll('.km-figure .keurmerk-chart')].map(c => {
        const svg = c.querySelector('svg'); const r = svg ? svg.getBoundingClientRect() : null;
        return {figure: c.closest('.km-figure').className, shown: !!r && r.width > 0 && r.height > 0,
                right: r ? r.right : null, left: r ? r.left : null, clipped: c.scrollWidth > c.clientWidth + 1};
    })""")
    # a run of withheld figures collapses into one notice (DESIGN §5): its figures count as shown by it
    notices = page.evaluate("() => [...document.querySelectorAll('.km-figure')].filter(f => "
                            "f.querySelector('[data-km=widen]') || getComputedStyle(f).display === 'none')"
                            ".map(f => f.className)")
    charts = [c for c in charts if c["figure"] not in notices]
    drawn = {f.id for f in figures if any(f" km-{f.id}" in c["figure"] for c in charts)}
    collapsed = {f.id for f in figures if any(f" km-{f.id}" in n for n in notices)}
    assert {f.id for f in figures} == drawn | collapsed, {f.id for f in figures} - drawn - collapsed
    assert len(collapsed) < len(figures) // 2, collapsed  # the selection of 2021 shows most figures
    assert all(c["shown"] for c in charts), [c["figure"] for c in charts if not c["shown"]]
    assert all(c["left"] >= 0 and c["right"] <= 720 + 0.5 and not c["clipped"] for c in charts), charts
    table = page.evaluate("() => { const t = document.querySelector('[data-km=table_1_1]'); "
                          "return [t.getBoundingClientRect().right, t.closest('.km-figure').getBoundingClientRect().right]; }")
    assert table[0] <= table[1] + 0.5, table  # table 1.1 whole, all nine columns
    pdf = page.pdf(format="A4", print_background=True)
    (ARTIFACTS / "finish_print.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    for figure in figures:
        if figure.number and figure.id in drawn:
            assert f"fig. {figure.number} " in text, figure.number
    context.close()


def test_staff_table_fits_searches_by_number_and_keeps_filters(voila: VoilaLaunch, browser) -> None:
    context, page, _ = _open(browser, _staff(voila), DESKTOP, ready=".km-staff-table table")
    widths = page.evaluate("() => { const w = document.querySelector('.km-table-wrap'); "
                           "return [w.scrollWidth, w.clientWidth, "
                           "[...w.querySelectorAll('thead th')].map(th => [th.innerText, th.offsetWidth])]; }")
    assert widths[0] <= widths[1] + 1, str(widths)  # the whole table at 1.400 px: no sideways scrolling
    rows = page.locator("[data-km=staff-table] tbody tr")
    page.locator(".km-search").fill("p0000")
    page.wait_for_function("() => document.querySelectorAll('[data-km=staff-table] tbody tr').length === 1")
    assert rows.first.locator("a").inner_text() == "Partner in Werk"
    href = rows.first.locator("a").get_attribute("href")
    token = parse_qs(urlparse(href).query)["toegang"][0]
    payload = json.loads(base64.urlsafe_b64decode(token.partition(".")[0] + "=="))  # signed by the server's secret
    assert payload["p"] == "P0000" and payload["r"] == "staff" and "periode=2022" in href  # a fresh link, on the staff page's period
    # commissioners have no province: the filter goes, with a word why
    page.locator(".km-filter-audience select").select_option(label="Opdrachtgevers")
    page.wait_for_selector("[data-km=no-province]", state="visible", timeout=30_000)
    assert page.locator(".km-filter-provinces").is_hidden()
    page.screenshot(path=str(ARTIFACTS / "finish_staff_commissioners.png"))
    context.close()


# every legend label of the charts on screen, SVG (Vega's) or HTML (a narrow card's), against its figure's card
LEGENDS_IN_CARDS = """() => [...document.querySelectorAll('.km-figure')].filter(f => f.getBoundingClientRect().width > 0)
  .flatMap(f => { const card = f.getBoundingClientRect();
    return [...f.querySelectorAll('.role-legend-label text, .keurmerk-legend li')]
      .filter(l => l.getBoundingClientRect().width > 0).map(l => {  // not a chart hidden under a notice
      const box = l.getBoundingClientRect();
      return {figure: f.querySelector('.km-caption')?.textContent?.slice(0, 40) || '', label: l.textContent,
              html: l.tagName === 'LI', out: Math.max(box.right - card.right, card.left - box.left)}; }); })"""


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_legends_stay_within_their_cards(voila: VoilaLaunch, browser, viewport: dict) -> None:
    context, page, _ = _open(browser, _provider(voila, periode="2021"), viewport)
    labels = []
    for tab in _tabs(page):
        _show_tab(page, tab)
        page.wait_for_function(ALL_DRAWN, timeout=90_000)
        page.wait_for_timeout(1500)  # a chart drawn while its tab was hidden is fitted when the page is idle
        labels += page.evaluate(LEGENDS_IN_CARDS)
    context.close()
    outside = [label for label in labels if label["out"] > 0.5]
    assert outside == []
    assert len(labels) >= 20  # legends were there to check: every tab's bar charts have one
    assert any(label["html"] for label in labels)  # and the fitted charts' legends of categories wrap as HTML


CHART_WIDTHS = """() => [...document.querySelectorAll('.km-figure .keurmerk-chart')]
  .filter(c => c.getBoundingClientRect().width > 0 && c.querySelector('svg'))
  .map(c => ({card: c.clientWidth, width: Number(c.querySelector('svg').getAttribute('width')),
              embeds: Number(c.dataset.embedCount || 0), resizes: Number(c.dataset.resizeCount || 0)}))"""
# the fitted charts (given by their index) are as wide as their cards again
FOLLOWED = f"""(fitted) => {{ const charts = ({CHART_WIDTHS})();
  return fitted.every(i => charts[i] && Math.abs(charts[i].width - charts[i].card) <= 1); }}"""


def test_charts_follow_their_card_when_the_window_is_resized(voila: VoilaLaunch, browser) -> None:
    context, page, _ = _open(browser, _provider(voila, periode="2021"), DESKTOP)
    page.locator(".km-tabs .lm-TabBar-tab", has_text="Cliënten").click()
    page.wait_for_function(f"() => ({CHART_WIDTHS})().length >= 3", timeout=90_000)  # the chapter is built
    page.wait_for_function(ALL_DRAWN, timeout=90_000)
    page.wait_for_timeout(500)
    wide = page.evaluate(CHART_WIDTHS)
    fitted = [i for i, c in enumerate(wide) if abs(c["width"] - c["card"]) <= 1]  # single views fill their card
    assert len(fitted) >= 2, wide
    page.set_viewport_size({"width": 900, "height": 900})
    page.wait_for_function(FOLLOWED, arg=fitted, timeout=30_000)
    narrow = page.evaluate(CHART_WIDTHS)
    page.set_viewport_size(DESKTOP)
    page.wait_for_function(FOLLOWED, arg=fitted, timeout=30_000)
    back = page.evaluate(CHART_WIDTHS)
    context.close()
    for i in fitted:
        # one column at 900 px: the card is wider than in the two columns at 1.400 px; the chart went along
        assert narrow[i]["card"] > wide[i]["card"] + 50 and abs(narrow[i]["width"] - narrow[i]["card"]) <= 1
        assert back[i]["width"] == wide[i]["width"]
        # by a new width in the view that is there, not a new embed
        assert back[i]["embeds"] == wide[i]["embeds"] and back[i]["resizes"] >= wide[i]["resizes"] + 2
