"""Charts offline: the placeholder dashboard in a real Chromium, served as ``keurmerk serve`` serves it.

The browser tests start Voilà with ``keurmerk.serve.running`` on a free port of 127.0.0.1 and assert what
the privacy and locale rules demand: every chart draws, tooltips work, numbers and dates read Dutch, the Vega
runtime is fetched once per page, and no request leaves 127.0.0.1. The quick tests above them check the same
promises without a browser (theme, widget protocol, command line, template).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import altair as alt
import pytest
from browser_support import ARTIFACTS, CHROMIUM, PageLog, chromium, free_port

from keurmerk.charts import THEME_NAME, ChartWidget, to_spec
from keurmerk.charts.widget import RUNTIME_PATH
from keurmerk.serve import DB_ENV, TEMPLATE_ROOT, VoilaLaunch, running, voila_command

PLACEHOLDER = Path(__file__).resolve().parent / "fixtures" / "chart_path_demo.ipynb"  # sample charts with known values
RUNTIME_FILE = RUNTIME_PATH.name


def _bar_chart() -> alt.Chart:
    return alt.Chart(alt.Data(values=[{"a": "x", "b": 8.04}])).mark_bar().encode(x="b:Q", y="a:N")


# --- without a browser --------------------------------------------------------------------------------------


def test_theme_is_registered_and_carries_the_dutch_locale() -> None:
    assert THEME_NAME in alt.theme.names()
    spec = to_spec(_bar_chart())
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert spec["config"]["locale"]["number"]["thousands"] == "."
    assert "mrt" in spec["config"]["locale"]["time"]["shortMonths"]
    assert alt.theme.active != THEME_NAME  # to_spec applies the theme without enabling it globally


def test_static_export_reads_dutch() -> None:
    """The same spec through vl-convert (the static reports' path) formats numbers the Dutch way."""
    import vl_convert

    chart = _bar_chart().mark_text().encode(text=alt.Text("b:Q", format=",.1f"))
    svg = vl_convert.vegalite_to_svg(to_spec(chart))
    assert ">8,0<" in svg


def test_widget_updates_spec_and_sends_runtime_once() -> None:
    widget = ChartWidget(_bar_chart())
    first = widget.spec
    assert first["mark"]["type"] == "bar" and first["config"]["locale"]["number"]["decimal"] == ","
    assert widget.embed_options["formatLocale"]["decimal"] == ","
    assert widget.embed_options["timeFormatLocale"]["shortMonths"][2] == "mrt"

    widget.chart = _bar_chart().mark_point()
    assert widget.spec["mark"]["type"] == "point"

    sent: list[dict] = []
    widget.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    for _ in range(3):
        widget._on_custom_msg(widget, {"type": "keurmerk:vega-runtime?"}, [])
    assert len(sent) == 1 and "vegaEmbed" in sent[0]["code"]


def test_deferred_chart_is_built_when_the_browser_asks() -> None:
    built: list[str] = []

    def build(mark: str):
        built.append(mark)
        return _bar_chart().mark_point() if mark == "point" else _bar_chart()

    widget = ChartWidget()
    widget.defer(lambda: build("bar"))
    widget.defer(lambda: build("point"))  # a newer chart replaces the one not asked for yet
    assert (widget.spec, widget.pending, built) == ({}, 2, [])
    widget._on_custom_msg(widget, {"type": "keurmerk:spec?"}, [])
    assert widget.spec["mark"]["type"] == "point" and built == ["point"]
    widget.defer(lambda: build("bar"))  # asked for once: later charts go out at once
    assert widget.spec["mark"]["type"] == "bar" and widget.pending == 2
    resent: list[tuple] = []
    widget.send_state = lambda key=None: resent.append(key)  # type: ignore[method-assign]
    widget._on_custom_msg(widget, {"type": "keurmerk:spec?"}, [])  # asked again: resent, not rebuilt
    assert built == ["point", "bar"] and resent == ["spec"]


def test_runtime_bundle_is_self_contained() -> None:
    code = RUNTIME_PATH.read_text(encoding="utf-8")
    assert "export{" in code.replace(" ", "")[-200:]
    assert not re.search(r"""\bimport\s*\(?\s*["']https?:""", code)
    assert not re.search(r"""\bfrom\s*["']https?:""", code)


def test_voila_command_is_local_and_locked_down(tmp_path: Path) -> None:
    launch = voila_command(tmp_path / "w.duckdb", 9123, dashboards_dir=tmp_path, pool_size=2)
    argv = " ".join(launch.argv)
    for flag in (
        "--Voila.ip=127.0.0.1",
        "--port=9123",
        "--template=keurmerk",
        "--show_tracebacks=False",
        "--strip_sources=True",
        "--preheat_kernel=True",
        "--pool_size=2",
        "--MappingKernelManager.cull_idle_timeout=",
        "--MappingKernelManager.cull_interval=",
        "--VoilaConfiguration.allow_template_override=NO",
        "--Voila.port_retries=0",
        f"--Voila.config_file_paths={TEMPLATE_ROOT}",
    ):
        assert flag in argv
    assert launch.env[DB_ENV] == str((tmp_path / "w.duckdb").resolve())
    assert launch.env["JUPYTER_PATH"].split(os.pathsep)[0] == str(TEMPLATE_ROOT)
    assert launch.url == "http://127.0.0.1:9123/"
    csp = json.loads((TEMPLATE_ROOT / "voila.json").read_text())["Voila"]["tornado_settings"]["headers"]
    assert "default-src 'self'" in csp["Content-Security-Policy"]


def test_template_names_no_external_url() -> None:
    template = TEMPLATE_ROOT / "voila" / "templates" / "keurmerk"
    for path in template.glob("*.*"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href|import\()\s*=?\s*["']?(https?:)?//""", text), path


# --- in Chromium --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaLaunch]:
    assert CHROMIUM.exists(), "Chromium is not installed: apt-get install chromium (./dev test does it)"
    work = tmp_path_factory.mktemp("voila")
    db = work / "placeholder.duckdb"  # the placeholder dashboard reads no data; serve() wants a path
    db.touch()
    dashboards = work / "dashboards"  # only the placeholder: one pre-heated kernel, no other dashboard's needs
    dashboards.mkdir()
    shutil.copy(PLACEHOLDER, dashboards / "placeholder.ipynb")
    launch = voila_command(db, free_port(), dashboards_dir=dashboards, pool_size=1)
    with (work / "voila.log").open("w") as log, running(launch, log=log, timeout=60):
        yield launch


@pytest.fixture(scope="module")
def browser(voila: VoilaLaunch) -> Iterator[object]:
    with chromium() as launched:
        yield launched


def _chart_texts(page, index: int) -> list[str]:
    return page.locator(".keurmerk-chart").nth(index).locator("svg text").all_text_contents()


def _tooltip_after_hover(page, locator) -> str:
    locator.hover()
    tooltip = page.locator("#vg-tooltip-element.visible")
    tooltip.wait_for(state="visible", timeout=10_000)
    return tooltip.inner_text()


@pytest.mark.browser
@pytest.mark.slow
def test_placeholder_dashboard_in_chromium(voila: VoilaLaunch, browser) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 1300}, locale="nl-NL")
    log = PageLog(context)
    page = context.new_page()
    log.attach(page)
    started = time.monotonic()
    page.goto(voila.dashboard_url("placeholder.ipynb") + "?groet=Toets", wait_until="commit", timeout=90_000)

    # Voilà streams the page while a (pre-heated) kernel finishes; wait for the three charts to be drawn.
    drawn = "document.querySelectorAll('.keurmerk-chart svg :is(.mark-rect, .mark-line)').length >= 3"
    page.wait_for_function(drawn, timeout=90_000)
    first_chart_s = time.monotonic() - started
    charts = page.locator(".keurmerk-chart")
    assert charts.count() == 3
    for i in range(3):
        assert charts.nth(i).locator("svg").count() == 1, f"chart {i} has no SVG"
        assert charts.nth(i).locator("svg path").count() > 0, f"chart {i} has no marks"

    # Dutch numbers and dates, in the drawn SVG.
    grade_texts = _chart_texts(page, 0)
    assert "8,0" in grade_texts and "8,3" in grade_texts
    assert not any(re.fullmatch(r"\d\.\d", t) for t in grade_texts)
    assert "40%" in _chart_texts(page, 1)
    trend_texts = _chart_texts(page, 2)
    assert "1.200" in trend_texts
    assert any(t.startswith(("mrt", "mei", "okt")) for t in trend_texts), trend_texts

    # Tooltips, in Dutch.
    grade_tip = _tooltip_after_hover(page, charts.nth(0).locator(".mark-rect path").first)
    assert "Rapportcijfer" in grade_tip and re.search(r"\b\d,\d\b", grade_tip), grade_tip
    share_tip = _tooltip_after_hover(page, charts.nth(1).locator(".mark-rect path").first)
    assert re.search(r"\b\d{1,3},\d%", share_tip), share_tip
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "placeholder_tooltip.png"))

    # The query string reached the pre-heated kernel (voila.utils.get_query_string pattern).
    page.get_by_text("Welkom, Toets.").wait_for(timeout=30_000)

    # Updating the chart traitlet redraws that chart only.
    assert charts.nth(2).get_attribute("data-render-count") == "1"
    page.get_by_role("button", name="Opdrachtgevers").click()
    page.wait_for_function(
        "document.querySelectorAll('.keurmerk-chart')[2].dataset.renderCount === '2'", timeout=30_000
    )
    assert "1.200" not in _chart_texts(page, 2)
    assert charts.nth(0).get_attribute("data-render-count") == "1"

    page.mouse.move(0, 0)
    page.screenshot(path=str(ARTIFACTS / "placeholder_dashboard.png"), full_page=True)

    # Defence in depth: the page's Content-Security-Policy refuses anything from elsewhere, whatever a
    # dashboard author adds later (here: an image from another host, injected into the page).
    blocked = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation", (e) => resolve(e.blockedURI), { once: true });
            const img = document.createElement("img");
            img.src = "https://example.org/pixel.png";
            document.body.append(img);
            setTimeout(() => resolve(null), 5000);
        })"""
    )
    assert blocked == "https://example.org/pixel.png"
    log.requests = [url for url in log.requests if url != blocked]  # refused by the browser, never sent

    # Privacy: nothing but 127.0.0.1; the Vega runtime came once for three charts.
    assert log.external() == [], log.external()
    runtime_requests = [url for url in log.requests if RUNTIME_FILE in url]
    assert len(runtime_requests) == 1, runtime_requests
    assert not log.errors, log.errors
    assert first_chart_s < 60
    context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_index_and_error_pages_stay_local(voila: VoilaLaunch, browser) -> None:
    html = urllib.request.urlopen(voila.url, timeout=30).read().decode()  # noqa: S310 - local server
    assert not re.search(r"""(src|href)=["'](https?:)?//(?!127\.0\.0\.1)""", html)
    context = browser.new_context()
    log = PageLog(context)
    page = context.new_page()
    log.attach(page)
    page.goto(voila.url, wait_until="networkidle", timeout=60_000)
    page.get_by_text("Zoek een keurmerkhouder").first.wait_for(timeout=30_000)  # the Dutch landing page
    assert "placeholder.ipynb" not in page.content()  # no listing of the notebooks
    page.goto(voila.url + "voila/render/does-not-exist.ipynb", wait_until="networkidle", timeout=60_000)
    # A template override in the URL must not bring the stock template (and its CDN links) back.
    page.goto(voila.url + "voila/render/placeholder.ipynb?voila-template=lab", wait_until="commit")
    page.wait_for_selector(".keurmerk-chart svg", timeout=90_000)
    assert log.external() == [], log.external()
    context.close()
