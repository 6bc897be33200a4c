"""The provider dashboard in a real Chromium against a served `tiny` warehouse (as `keurmerk serve` serves it)."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, PageLog, chromium, served

from keurmerk.access import link_url, make_token
from keurmerk.catalog import catalog
from keurmerk.metrics import registry
from keurmerk.serve import VoilaLaunch
from keurmerk.synth import XSS_PROBE, XSS_PROVIDER

SECRET = "browser-test-secret"
FIGURES_DRAWN = "n => document.querySelectorAll('.km-figure .keurmerk-chart svg').length >= n"
# charts drawn and on the page (a figure hidden in a collapsed run is not): a JS function of a section selector
VISIBLE_CHARTS = ("(section => [...document.querySelectorAll(`${section} .km-figure .keurmerk-chart svg`)]"
                  ".filter(e => e.getClientRects().length > 0).length)")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def voila(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaLaunch]:
    with served(tiny_db, tmp_path_factory.mktemp("voila-aanbieder"), ("aanbieder.ipynb",), SECRET) as launch:
        yield launch


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def _url(voila: VoilaLaunch, token: str, **params: str) -> str:
    return link_url(voila.url, "aanbieder", token, **params)


def _token(provider: str, **kwargs) -> str:
    return make_token(provider, secret=SECRET.encode(), **kwargs)


def _open(browser, url: str, expect_figures: int | None):
    context = browser.new_context(viewport={"width": 1250, "height": 1400}, locale="nl-NL")
    log = PageLog(context)
    page = context.new_page()
    log.attach(page)
    page.goto(url, wait_until="commit", timeout=90_000)
    if expect_figures is None:
        page.wait_for_selector("[data-km=refusal]", timeout=90_000)
    else:
        page.wait_for_selector(".km-dashboard", timeout=90_000)
        page.wait_for_function(FIGURES_DRAWN, arg=expect_figures, timeout=90_000)
    return context, page, log


def _expected(has_inburgering: bool, collapsed: frozenset[str] = frozenset()) -> dict[str, tuple[str, int, int]]:
    """Per chapter shown: (tab label, figures, charts on screen); ``collapsed``: figures in a run of withheld
    figures, which show one notice instead of their charts (DESIGN §5, issue 11)."""
    shown = {}
    for key, label in catalog().sections.items():
        if key == "inburgering" and not has_inburgering:
            continue
        figures = [m for m in registry() if m.figure.section == key]
        charts = [m for m in figures if m.chart != "keurmerk_table" and m.id not in collapsed]
        shown[key] = (label, len(figures), len(charts))
    return shown


def _collapsed(db: Path, provider: str, period: int | tuple[int, int]) -> frozenset[str]:
    """The figures the dashboard collapses into notices for this provider and period."""
    from keurmerk.filters import Filters
    from keurmerk.metrics import compute_all, withheld_runs
    from keurmerk.warehouse import open_readonly

    with open_readonly(db) as con:
        frames = compute_all(con, Filters(provider=provider, period=period))
    runs = [run for section in catalog().sections
            for run in withheld_runs(frames, [m.id for m in registry() if m.figure.section == section])]
    return frozenset(f for run in runs for f in run)


def _open_chapter(page, key: str, label: str, charts: int) -> None:
    """Click a chapter's tab, as a visitor does, and wait until all its charts are drawn."""
    page.locator(".km-tabs .lm-TabBar-tab", has_text=label).click()
    page.wait_for_function(f"([key, n]) => {VISIBLE_CHARTS}(`.km-section-${{key}}`) >= n", arg=[key, charts],
                           timeout=90_000)


def _fig_3_1_labels(page) -> list[str]:
    return page.locator(".km-fig_3_1 .keurmerk-chart svg text").all_text_contents()


def test_provider_dashboard_renders_filters_and_stays_local(voila: VoilaLaunch, browser, tiny_db: Path) -> None:
    chapters = _expected(has_inburgering=False, collapsed=_collapsed(tiny_db, "P0000", 2021))
    first_charts = chapters["samenvatting"][2]
    context, page, log = _open(browser, _url(voila, _token("P0000"), periode="2021"), first_charts)
    # the report's chapters, then hoor en wederhoor (tests/test_reactions_browser.py)
    tabs = [c[0] for c in chapters.values()] + ["Hoor en wederhoor"]
    assert page.locator(".km-tabs .lm-TabBar-tab").all_text_contents() == tabs
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard_provider_top.png"))
    # every chapter is built when its tab is first opened; together they draw every figure of the registry
    for key, (label, figures, charts) in chapters.items():
        _open_chapter(page, key, label, charts)
        assert page.locator(f".km-section-{key} .km-page h2").all_text_contents() == [label]
        assert page.locator(f".km-section-{key} .km-figure").count() == figures
        assert page.evaluate(f"{VISIBLE_CHARTS}('.km-section-{key}')") == charts
    assert page.locator(".km-figure").count() == sum(c[1] for c in chapters.values())
    page.locator(".km-tabs .lm-TabBar-tab", has_text=chapters["respons"][0]).click()
    table = page.locator("[data-km=table_1_1]").inner_text()
    for value in ("43", "18", "41,9", "8,0", "9,0", "8,3", "7,9", "38", "23,7", "8,2"):
        assert re.search(rf"(^|\s){re.escape(value)}(\s|$)", table), value
    page.screenshot(path=str(ARTIFACTS / "dashboard_provider_respons.png"))
    page.locator(".km-tabs .lm-TabBar-tab", has_text=chapters["clienten"][0]).click()
    labels = _fig_3_1_labels(page)
    assert any(re.search(r"\bn = 18\b", t) for t in labels), labels

    # A filter change (only dienst 8) recomputes: the total of fig 3.1 now rests on 15 questionnaires.
    page.locator(".km-filter-services summary").click()
    page.locator(".km-filter-services label", has_text=catalog().service_label(8)).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.km-fig_3_1 .keurmerk-chart svg text')]"
        ".some(t => /Totaal \\(n = 15\\)/.test(t.textContent))",
        timeout=60_000,
    )
    labels = _fig_3_1_labels(page)
    assert not any(re.search(r"\bn = 18\b", t) for t in labels), [t for t in labels if "n =" in t]
    page.locator(".km-fig_3_1").screenshot(path=str(ARTIFACTS / "dashboard_provider_filtered_fig_3_1.png"))

    assert log.external() == [], log.external()
    assert not log.errors, log.errors
    context.close()


def test_free_text_with_a_script_is_shown_as_text(voila: VoilaLaunch, browser, tiny_db: Path) -> None:
    chapters = _expected(has_inburgering=False, collapsed=_collapsed(tiny_db, XSS_PROVIDER, (2021, 2022)))
    context, page, log = _open(browser, _url(voila, _token(XSS_PROVIDER), periode="2021-2022"), 1)
    _open_chapter(page, "clienten", *chapters["clienten"][::2])
    texts = page.locator(".km-fig_3_5 [data-km=texts]")
    texts.wait_for(timeout=30_000)
    assert XSS_PROBE in texts.inner_text()  # the markup is visible as characters
    assert texts.locator("script, b").count() == 0  # and was never parsed into elements
    assert log.dialogs == []  # the alert() never ran
    texts.screenshot(path=str(ARTIFACTS / "dashboard_free_text_escaped.png"))
    context.close()


@pytest.mark.parametrize(
    ("name", "token", "message"),
    [
        ("forged", make_token("P0000", secret=b"not-the-server-secret"), "ongeldig"),
        ("expired", None, "verlopen"),
        ("missing", "", "persoonlijke link"),
    ],
)
def test_bad_links_are_refused_without_data(
    voila: VoilaLaunch, browser, name: str, token: str | None, message: str
) -> None:
    if token is None:
        token = _token("P0000", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=31))
    context, page, log = _open(browser, _url(voila, token), None)
    text = page.locator("body").inner_text()
    assert message in text
    assert page.locator(".km-dashboard, .keurmerk-chart, [data-km=table_1_1]").count() == 0
    assert "Partner in Werk" not in text and not re.search(r"\d+,\d", text)  # no name, no numbers
    page.screenshot(path=str(ARTIFACTS / f"dashboard_refused_{name}.png"))
    assert log.external() == []
    context.close()


def _widget_method(payload: str | bytes) -> str | None:
    """The widget method (``content.data.method``) of a message the page sent its kernel: JSON text, or Jupyter's
    binary v1 WebSocket protocol (read by Jupyter Server's own reader: header, parent header, metadata, content)."""
    from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1

    if isinstance(payload, str):
        content = json.loads(payload).get("content", {})
    else:
        parts = deserialize_msg_from_ws_v1(payload)[1]
        content = json.loads(parts[3]) if len(parts) > 3 else {}
    data = content.get("data") if isinstance(content, dict) else None
    return data.get("method") if isinstance(data, dict) else None


def test_the_page_gets_every_widgets_state_in_one_message(voila: VoilaLaunch, browser) -> None:
    """The forked kernel answers the widget manager's "request_states" (keurmerk.kernel_fork registers
    ipywidgets' comm targets, imported before there was a kernel): the page gets every widget's state in one
    message instead of asking widget by widget, each a message there and back and a busy and an idle."""
    context = browser.new_context(viewport={"width": 1250, "height": 1400}, locale="nl-NL")
    page = context.new_page()
    sent: list[str | None] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(_widget_method(payload))))
    page.goto(_url(voila, _token("P0000")), wait_until="commit", timeout=90_000)
    page.wait_for_selector(".km-dashboard", timeout=90_000)
    page.wait_for_function(FIGURES_DRAWN, arg=1, timeout=90_000)
    assert sent.count("request_states") == 1, sent
    assert "request_state" not in sent, sent
    context.close()


def _kernel_status(voila: VoilaLaunch, kernel_id: str) -> int:
    try:
        with urllib.request.urlopen(f"{voila.url}api/kernels/{kernel_id}", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_closing_the_tab_shuts_its_kernel_down(voila: VoilaLaunch, browser) -> None:
    """Voilà's closing beacon passes the XSRF check (the template sets the cookie it posts), so the kernel of a
    closed tab goes at once instead of living on until the cull (600 s)."""
    context, page, _ = _open(browser, _url(voila, _token("P0000")), 1)
    kernel_id = json.loads(page.locator("#jupyter-config-data").text_content())["kernelId"]
    assert _kernel_status(voila, kernel_id) == 200
    page.close(run_before_unload=True)
    deadline = time.monotonic() + 30
    while _kernel_status(voila, kernel_id) == 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _kernel_status(voila, kernel_id) == 404
    context.close()


# the first screen's figures, header, status line and tabs: texts and chart texts (each figure by its km-<id>)
FIRST_SCREEN_TEXTS = """root => {
  const text = (sel) => [...root.querySelectorAll(sel)].map((e) => e.textContent.trim());
  const figures = {};
  for (const figure of root.querySelectorAll('.km-section-samenvatting .km-figure')) {
    const id = [...figure.classList].find((c) => c.startsWith('km-') && c !== 'km-figure');
    figures[id] = { caption: [...figure.querySelectorAll('.km-caption')].map((e) => e.textContent.trim()),
                    chart: [...figure.querySelectorAll('.keurmerk-chart svg text')].map((t) => t.textContent) };
  }
  const tops = ['.km-page h1', '.km-filterbar', '.km-actions'].map((sel) => root.querySelector(sel))
    .map((e) => Math.round(e.getBoundingClientRect().top));
  return { tops, h1: text('.km-page h1'), status: text('[data-km=status]'), tabs: text('.lm-TabBar-tab'),
           period: [...root.querySelectorAll('.km-filter-period select')].map((s) => s.selectedOptions[0].text),
           figures };
}"""


def _cells(html: str) -> tuple[int, int]:
    """In which of the served page's cells the first screen and the live page's widget are."""
    cells = html.split('class="jp-Cell ')
    return (next(i for i, cell in enumerate(cells) if 'data-km="first-screen"' in cell),
            next(i for i, cell in enumerate(cells) if "application/vnd.jupyter.widget-view+json" in cell))


@pytest.mark.parametrize("kept", [False, True], ids=["made", "kept-from-a-visit-before"])
def test_first_screen_is_drawn_from_the_page_then_the_live_widgets_take_its_place(
    voila: VoilaLaunch, browser, tiny_db: Path, kept: bool
) -> None:
    """The page draws its first screen from the streamed HTML (static/first_screen.js) before Voilà's widgets
    exist; the live widgets then replace it, showing the same: header, period, status line, tabs and every chart
    of the first tab with the same texts (numbers), at the same place (``tops``: what lies above the year over
    year tiles, which are filled in the background and may have grown meanwhile). Made by the page's own cell, or
    kept from a visit before (keurmerk.dashboard.first_screen.KeptScreens) and streamed in a cell before it."""
    import shutil

    from keurmerk.dashboard.first_screen import KeptScreens

    url = _url(voila, _token("P0000"), periode="2021")
    shutil.rmtree(KeptScreens.root_beside(tiny_db), ignore_errors=True)  # none kept by other tests
    if kept:
        context, _, _ = _open(browser, url, expect_figures=1)  # the visit before, which keeps its first screen
        context.close()
    context = browser.new_context(viewport={"width": 1250, "height": 1400}, locale="nl-NL")
    log = PageLog(context)
    page = context.new_page()
    log.attach(page)
    response = page.goto(url, wait_until="commit", timeout=90_000)
    page.wait_for_function("window.__kmFirstScreen && window.__kmFirstScreen.drawn", timeout=90_000)
    snapshot_cell, live_cell = _cells(response.text())
    assert (snapshot_cell < live_cell) if kept else (snapshot_cell == live_cell)
    snapshot = page.evaluate(f"({FIRST_SCREEN_TEXTS})(window.__kmFirstScreen.root)")
    # invisible to the page's selectors (a closed shadow root), inert: the live widgets are the page
    assert page.locator(".km-first-screen-host .km-figure").count() == 0
    page.wait_for_function("window.__kmFirstScreen.live", timeout=90_000)
    assert page.evaluate("document.querySelector('.km-first-screen-host')") is None
    live = page.evaluate(f"({FIRST_SCREEN_TEXTS})(document)")
    assert snapshot["figures"] and all(f["chart"] for f in snapshot["figures"].values()), snapshot
    assert snapshot == live
    assert page.locator(".km-dashboard").is_visible()
    clock = page.evaluate("[window.__kmFirstScreen.drawn, window.__kmFirstScreen.live]")
    assert clock[0] <= clock[1]
    assert not log.errors, log.errors
    context.close()
