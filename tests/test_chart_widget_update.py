"""The chart widget's front end redraws a chart whose spec changed only in its data without a new embed.

``chart_widget.js`` runs in Chromium on a bare page with a stand-in for the anywidget model (``get``/``on``/
``off``/``send``): no Voilà needed. The specs are real ones (Altair with the house theme, through ``to_spec``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import altair as alt
import polars as pl
import pytest
from browser_support import chromium

from keurmerk.charts import ChartWidget, to_spec
from keurmerk.charts.runtime import MODULE_PATH
from keurmerk.charts.widget import runtime_code

ESM = MODULE_PATH.read_text(encoding="utf-8")

# A model as anywidget hands it to render(): traits, change events, messages to the kernel.
_HARNESS = """async ([runtime, esm, options]) => {
  const blob = (code) => URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  window.__keurmerkVegaRuntime = import(blob(runtime));
  const widget = (await import(blob(esm))).default;
  window.kmCharts = [];
  window.kmChart = (spec) => {
    const traits = { spec, embed_options: options, pending: 0 };
    const handlers = {};
    const model = {
      get: (name) => traits[name],
      on: (event, fn) => { (handlers[event] ||= []).push(fn); },
      off: (event, fn) => { handlers[event] = (handlers[event] || []).filter((h) => h !== fn); },
      send: () => {},
      set: (name, value) => { traits[name] = value; (handlers["change:" + name] || []).forEach((fn) => fn()); },
    };
    const el = document.createElement("div");
    document.body.append(el);
    widget.render({ model, el });
    window.kmCharts.push({ model, el });
    return window.kmCharts.length - 1;
  };
}"""


def _chart(rows: list[dict], title: str = "Rapportcijfer per dienst") -> dict:
    frame = pl.DataFrame(rows)
    chart = alt.Chart(frame, title=title).mark_bar().encode(
        x=alt.X("grade:Q", title="Rapportcijfer"), y=alt.Y("label:N", title=None), tooltip=["label", "grade"]
    )
    return to_spec(chart)


FIRST = _chart([{"label": "Re-integratie", "grade": 7.4}, {"label": "Outplacement", "grade": 8.1}])
NEW_ROWS = _chart([{"label": "Re-integratie", "grade": 6.2}, {"label": "Jobcoaching", "grade": 8.8},
                   {"label": "Outplacement", "grade": 7.0}])  # fmt: skip
NEW_TITLE = _chart([{"label": "Re-integratie", "grade": 6.2}], title="Rapportcijfer, alleen cliënten")


@pytest.fixture(scope="module")
def page() -> Iterator[object]:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 900, "height": 2000})
        page = context.new_page()
        # SVGs as blocks: inline, each sits on a text line whose fractional height puts the next chart on another
        # sub-pixel offset, and a chart compared with one drawn elsewhere differs in its anti-aliased edges
        page.set_content("<!DOCTYPE html><html><head><style>svg { display: block; }</style></head><body></body></html>")
        page.evaluate(_HARNESS, [runtime_code(), ESM, ChartWidget().embed_options])
        yield page
        context.close()


def _wait_rendered(page, index: int, count: int) -> None:
    page.wait_for_function(
        f"window.kmCharts[{index}].el.dataset.renderCount === '{count}'", timeout=30_000
    )


def _svg(page, index: int) -> str:
    return page.evaluate(f"window.kmCharts[{index}].el.querySelector('svg').outerHTML")


def _picture(page, index: int) -> tuple[bytes, list[str]]:
    """The chart as drawn (pixels) and what it says (texts, marks' labels), in any DOM order: an updated view
    appends new marks at the end of its scene graph."""
    chart = page.locator(".keurmerk-chart").nth(index)
    said = chart.evaluate("(el) => Array.from(el.querySelectorAll('svg text, svg [aria-label]'), "
                          "(n) => n.getAttribute('aria-label') || n.textContent)")  # fmt: skip
    return chart.screenshot(), sorted(said)


def _counts(page, index: int) -> tuple[str | None, str | None]:
    return tuple(page.evaluate(f"[window.kmCharts[{index}].el.dataset.embedCount, "
                               f"window.kmCharts[{index}].el.dataset.renderCount]"))  # fmt: skip


@pytest.mark.browser
def test_a_data_only_change_updates_the_view_without_a_new_embed(page) -> None:
    assert json.dumps({**FIRST, "datasets": None}) != json.dumps({**NEW_ROWS, "datasets": None})  # other names…
    assert FIRST["datasets"] != NEW_ROWS["datasets"]  # …and other rows, nothing else
    index = page.evaluate("(spec) => window.kmChart(spec)", FIRST)
    _wait_rendered(page, index, 1)
    assert _counts(page, index) == ("1", "1")

    page.evaluate("([i, spec]) => window.kmCharts[i].model.set('spec', spec)", [index, NEW_ROWS])
    _wait_rendered(page, index, 2)
    assert _counts(page, index) == ("1", "2")  # redrawn, not embedded again
    # the same picture as the new spec embedded from scratch
    fresh = page.evaluate("(spec) => window.kmChart(spec)", NEW_ROWS)
    _wait_rendered(page, fresh, 1)
    assert "Jobcoaching" in _svg(page, index)
    assert _picture(page, index) == _picture(page, fresh)

    # a change beyond the data (the title) embeds the chart anew
    page.evaluate("([i, spec]) => window.kmCharts[i].model.set('spec', spec)", [index, NEW_TITLE])
    _wait_rendered(page, index, 3)
    assert _counts(page, index) == ("2", "3")
    assert "alleen cliënten" in _svg(page, index)


@pytest.mark.browser
def test_going_back_to_the_previous_shape_updates_the_view_kept_aside(page) -> None:
    from keurmerk.charts.figures import _message

    message = to_spec(_message("Te weinig respondenten (n < 5)"))
    index = page.evaluate("(spec) => window.kmChart(spec)", FIRST)
    _wait_rendered(page, index, 1)
    page.evaluate("([i, spec]) => window.kmCharts[i].model.set('spec', spec)", [index, message])
    _wait_rendered(page, index, 2)
    assert _counts(page, index) == ("2", "2")  # a message is another chart: embedded
    assert "Te weinig respondenten" in _svg(page, index)
    page.evaluate("([i, spec]) => window.kmCharts[i].model.set('spec', spec)", [index, NEW_ROWS])
    _wait_rendered(page, index, 3)
    assert _counts(page, index) == ("2", "3")  # back to the bars: new rows in the view kept aside
    assert "Te weinig respondenten" not in _svg(page, index) and "Jobcoaching" in _svg(page, index)
    assert page.evaluate(f"window.kmCharts[{index}].el.querySelectorAll('svg').length") == 1
    fresh = page.evaluate("(spec) => window.kmChart(spec)", NEW_ROWS)
    _wait_rendered(page, fresh, 1)
    assert _picture(page, index) == _picture(page, fresh)


@pytest.mark.browser
def test_a_withdrawn_chart_leaves_its_card_until_its_new_rows_come(page) -> None:
    """``ChartWidget.defer(..., withdraw=True)`` empties the spec: the numbers drawn go at once (they are not the
    selection's), and the new spec of the same shape is new rows in the view kept aside, not a new embed."""
    index = page.evaluate("(spec) => window.kmChart(spec)", FIRST)
    _wait_rendered(page, index, 1)
    page.evaluate("([i]) => window.kmCharts[i].model.set('spec', {})", [index])
    assert page.evaluate(f"window.kmCharts[{index}].el.querySelectorAll('svg').length") == 0
    page.evaluate("([i, spec]) => window.kmCharts[i].model.set('spec', spec)", [index, NEW_ROWS])
    _wait_rendered(page, index, 2)
    assert _counts(page, index) == ("1", "2")  # the view kept aside, new rows
    assert "Jobcoaching" in _svg(page, index)
    assert page.evaluate(f"window.kmCharts[{index}].el.querySelectorAll('svg').length") == 1
    fresh = page.evaluate("(spec) => window.kmChart(spec)", NEW_ROWS)
    _wait_rendered(page, fresh, 1)
    assert _picture(page, index) == _picture(page, fresh)


@pytest.mark.browser
def test_the_kernel_learns_which_charts_are_in_the_viewport(page) -> None:
    """A filter change builds the charts in view first (ProviderDashboard._in_view): the browser says which."""
    place = """([spec, top]) => {
      const i = window.kmChart(spec);
      Object.assign(window.kmCharts[i].el.style, { position: "absolute", left: "0", top: top });
      return i;
    }"""
    shown, below = page.evaluate(place, [FIRST, "0px"]), page.evaluate(place, [FIRST, "20000px"])
    in_view = "(i) => window.kmCharts[i].model.get('in_view')"
    page.wait_for_function(f"({in_view})({shown}) === true && ({in_view})({below}) === false", timeout=30_000)
    page.evaluate(f"window.kmCharts[{below}].el.style.top = '100px'")  # scrolled into view
    page.wait_for_function(f"({in_view})({below}) === true", timeout=30_000)
    page.evaluate(f"window.kmCharts[{shown}].el.style.top = '20000px'")  # and out of it
    page.wait_for_function(f"({in_view})({shown}) === false", timeout=30_000)
    # out of the way of the other tests' pictures, kept in the page (charts are found by their position in it)
    page.evaluate(f"[{shown}, {below}].forEach((i) => {{ window.kmCharts[i].el.style.display = 'none'; }})")


@pytest.mark.browser
def test_a_chart_in_a_hidden_tab_is_drawn_at_the_width_of_the_charts_on_screen(page) -> None:
    """A chapter built in the background: its charts are drawn while their tab is hidden, at the width the charts
    on screen have, so that opening the tab shows them as they are (no new embed, no new width)."""
    shown = page.evaluate("(spec) => window.kmChart(spec)", FIRST)
    _wait_rendered(page, shown, 1)
    hidden = page.evaluate("""(spec) => {
      const tab = window.kmHiddenTab = document.createElement("div");
      tab.style.display = "none";  // as Lumino hides a tab that is not shown
      document.body.append(tab);
      const i = window.kmChart(spec);
      tab.append(window.kmCharts[i].el);
      return i;
    }""", NEW_ROWS)
    _wait_rendered(page, hidden, 1)  # drawn while hidden: the page is idle
    assert page.evaluate(f"window.kmCharts[{hidden}].el.clientWidth") == 0
    page.evaluate("window.kmHiddenTab.style.display = ''")  # the tab is opened
    page.wait_for_timeout(1500)  # idle moments: a chart drawn at another width would be embedded again by now
    assert _counts(page, hidden) == ("1", "1")
    assert page.evaluate(f"window.kmCharts[{hidden}].el.dataset.resizeCount") is None
    fresh = page.evaluate("(spec) => window.kmChart(spec)", NEW_ROWS)
    _wait_rendered(page, fresh, 1)
    assert _picture(page, hidden) == _picture(page, fresh)
    page.evaluate(f"[{shown}, {hidden}, {fresh}].forEach((i) => {{ window.kmCharts[i].el.style.display = 'none'; }})")


# --- the report's figures: a filter change of the same figure is new data for the view that is there -----------
# One figure of each chart kind of the Cliënten tab, for Partner in Werk in two selections (other n, other rows):
# two periods, or all diensten against one (fig 3.1: fewer rows, so another height); fig 3.3 has a promotor
# score in its subtitle (a parameter).
ALL_2021, ONE_SERVICE, PERIODS = "2021", "2021, dienst 3", "2021 → 2022"
CLIENT_FIGURES = {
    "grade_bars": ("grade_bars", "fig_3_1", PERIODS),
    "grade_distribution": ("grade_distribution", "fig_3_2", PERIODS),
    "answer_shares": ("answer_shares", "fig_3_4", PERIODS),
    "satisfaction_items": ("satisfaction_items", "fig_3_9", PERIODS),
    "grade_bars, fewer rows": ("grade_bars", "fig_3_1", ONE_SERVICE),
    "recommend, subtitle": ("answer_shares", "fig_3_3", PERIODS),
}
# The front page's map: the n in its titles and its colour scale's top are parameters; "relatief goed": other
# rows (another height), the x scale's ends and the legend's entries (parameters).
FRONT_FIGURES = {
    "province map": ("province_map", "front_provinces", PERIODS),
    "relatief goed": ("strengths", "front_strengths", PERIODS),
}


def shape_of(spec: dict) -> str:
    """``shapeOf`` of chart_widget.js in Python: the spec without its rows and without the values of its
    "km_…" parameters, data set names by position."""
    names = list(spec.get("datasets") or {})
    params = [{k: v for k, v in p.items() if k != "value"} if p.get("name", "").startswith("km_") else p
              for p in spec.get("params") or []]
    text = json.dumps({k: v for k, v in spec.items() if k not in ("datasets", "params")} | {"params": params})
    for i, name in enumerate(names):
        text = text.replace(json.dumps(name), json.dumps(f"\u0000dataset {i}"))
    return text


@pytest.fixture(scope="module")
def figure_specs(tiny_db: Path) -> dict[str, tuple[dict, dict]]:
    from keurmerk.api import Filters, compute_all, open_warehouse
    from keurmerk.charts.figures import chart_for

    con = open_warehouse(tiny_db)
    try:
        frames = {
            ALL_2021: compute_all(con, Filters(provider="P0000", period=2021)),
            ONE_SERVICE: compute_all(con, Filters(provider="P0000", period=2021, services=(3,))),
            "2022": compute_all(con, Filters(provider="P0000", period=2022)),
        }
    finally:
        con.close()
    pairs = {PERIODS: (ALL_2021, "2022"), ONE_SERVICE: (ALL_2021, ONE_SERVICE)}
    return {
        case: tuple(ChartWidget(chart_for(kind, frames[s][figure_id], "Partner in Werk")).spec for s in pairs[which])
        for case, (kind, figure_id, which) in (CLIENT_FIGURES | FRONT_FIGURES).items()
    }


@pytest.mark.parametrize("kind", list(CLIENT_FIGURES | FRONT_FIGURES))
def test_two_filters_of_a_figure_differ_only_in_their_rows(figure_specs, kind: str) -> None:
    first, second = figure_specs[kind]
    assert first["datasets"] != second["datasets"] or first["params"] != second["params"]  # other numbers, other n…
    assert shape_of(first) == shape_of(second)  # …and nothing else: no n, order or domain in the spec itself
    outside = json.dumps({k: v for k, v in first.items() if k not in ("datasets", "params")}, ensure_ascii=False)
    assert "(n = " not in outside  # the n are in the rows or in a parameter's value (the map's titles)
    assert "promotor score:" not in outside  # the subtitle is a parameter's value


@pytest.mark.browser
@pytest.mark.parametrize("kind", list(CLIENT_FIGURES))
def test_a_filter_change_of_a_figure_is_drawn_as_a_fresh_embed_would_draw_it(page, figure_specs, kind: str) -> None:
    _updated_as_embedded(page, *figure_specs[kind])


def _updated_as_embedded(page, first: dict, second: dict, tolerance: int = 3) -> None:
    index = page.evaluate("(spec) => window.kmChart(spec)", first)
    _wait_rendered(page, index, 1)
    page.evaluate("([i, spec]) => window.kmCharts[i].model.set('spec', spec)", [index, second])
    _wait_rendered(page, index, 2)
    assert _counts(page, index) == ("1", "2")  # new rows in the view, no new embed
    fresh = page.evaluate("(spec) => window.kmChart(spec)", second)
    _wait_rendered(page, fresh, 1)
    (updated, updated_said), (embedded, embedded_said) = _picture(page, index), _picture(page, fresh)
    assert updated_said == embedded_said
    # the same pixels, but for the last bits of a colour where translucent marks overlap in another order
    assert _largest_difference(page, updated, embedded) <= tolerance


@pytest.mark.browser
def test_a_subtitle_that_goes_away_is_drawn_as_a_fresh_embed_would_draw_it(page, figure_specs) -> None:
    first, _ = figure_specs["recommend, subtitle"]
    assert [p["name"] for p in first["params"]] == ["km_subtitle"] and first["params"][0]["value"]
    # the same rows without a promotor score (a selection without one): the parameter's value is empty
    second = {**first, "params": [{**first["params"][0], "value": ""}]}
    index = page.evaluate("(spec) => window.kmChart(spec)", first)
    _wait_rendered(page, index, 1)
    page.evaluate("([i, spec]) => window.kmCharts[i].model.set('spec', spec)", [index, second])
    _wait_rendered(page, index, 2)
    assert _counts(page, index) == ("1", "2")
    assert "promotor score" not in _svg(page, index)
    fresh = page.evaluate("(spec) => window.kmChart(spec)", second)
    _wait_rendered(page, fresh, 1)
    assert _picture(page, index) == _picture(page, fresh)  # no room left where the subtitle was


def _largest_difference(page, first: bytes, second: bytes) -> int:
    """The largest difference of one colour channel between two PNGs of the same size (decoded by Chromium)."""
    return page.evaluate("""async ([a, b]) => {
      const pixels = async (b64) => {
        const bitmap = await createImageBitmap(await (await fetch("data:image/png;base64," + b64)).blob());
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const context = canvas.getContext("2d");
        context.drawImage(bitmap, 0, 0);
        return context.getImageData(0, 0, bitmap.width, bitmap.height);
      };
      const [x, y] = [await pixels(a), await pixels(b)];
      if (x.width !== y.width || x.height !== y.height) return 255;
      let largest = 0;
      for (let i = 0; i < x.data.length; i++) largest = Math.max(largest, Math.abs(x.data[i] - y.data[i]));
      return largest;
    }""", [base64.b64encode(first).decode(), base64.b64encode(second).decode()])


@pytest.mark.browser
@pytest.mark.parametrize("kind", list(FRONT_FIGURES))
def test_a_filter_change_of_a_front_page_chart_is_new_values_in_the_view(page, figure_specs, kind: str) -> None:
    # the provinces' outlines are anti-aliased paths: their edge pixels differ by a few levels with where on the
    # page the chart lands, more than the bars' do (a wrong colour or a missing province differs by a hundred)
    _updated_as_embedded(page, *figure_specs[kind], tolerance=12 if kind == "province map" else 3)


@pytest.mark.browser
def test_the_first_screen_checks_its_charts_once_a_frame(page) -> None:
    """static/first_screen.js ``whenDrawn``: charts drawn in one frame are checked once, at that frame (the check
    measures boxes: a layout of its own per chart would hold up the next chart's drawing); it resolves once the
    check holds."""
    first_screen = (MODULE_PATH.parent / "first_screen.js").read_text(encoding="utf-8")
    context = page.context.browser.new_context()
    own = context.new_page()
    own.set_content("<!DOCTYPE html><html><body><div id='charts'></div></body></html>")
    calls = own.evaluate(
        """async (firstScreen) => {
          const module = await import(URL.createObjectURL(new Blob([firstScreen], { type: "text/javascript" })));
          const target = document.getElementById("charts"), frame = () => new Promise(requestAnimationFrame);
          const drawn = () => target.dispatchEvent(new CustomEvent("keurmerk-chart-rendered", { bubbles: true }));
          let calls = 0, ready = false, resolved = false;
          const done = module.whenDrawn(() => { calls += 1; return ready; }, target, 0).then(() => { resolved = true; });
          const counted = [calls];  // checked once at once
          for (let i = 0; i < 4; i++) drawn();  // four charts drawn in one frame
          counted.push(calls);
          await frame(); await frame();
          counted.push(calls, resolved);
          ready = true;
          drawn();
          await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
          counted.push(resolved);
          return counted;
        }""",
        first_screen,
    )
    context.close()
    assert calls == [1, 1, 2, False, True], calls


@pytest.mark.browser
def test_the_first_screen_warms_vega_with_one_chart_of_each_kind_out_of_sight(page) -> None:
    """static/first_screen.js ``warmUp``: while the page waits for the kernel's snapshot, one small chart of each
    kind the first screen draws is drawn by the chart widget out of sight, then removed; nothing is logged. Not
    when the snapshot is in the page already: drawing it warms Vega, and both at once compete; and no more charts
    once a snapshot came while it ran (one chart at a time: the page's parser goes on in between)."""
    first_screen = (MODULE_PATH.parent / "first_screen.js").read_text(encoding="utf-8")
    context = page.context.browser.new_context()  # a page of its own, in the harness's browser
    own = context.new_page()
    errors: list[str] = []
    own.on("pageerror", lambda error: errors.append(str(error)))
    own.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    own.set_content("<!DOCTYPE html><html><body></body></html>")
    kinds = own.evaluate(
        """async ([runtime, esm, firstScreen]) => {
          const blob = (code) => URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
          window.__keurmerkVegaRuntime = import(blob(runtime));
          const chart = await import(blob(esm)), module = await import(blob(firstScreen));
          const seen = new Set();
          new MutationObserver((records) => {
            for (const r of records) for (const n of r.addedNodes) {
              if (n.nodeType === 1) for (const g of n.querySelectorAll?.("g.role-mark") || []) {
                seen.add([...g.classList].find((c) => c.startsWith("mark-")));
              }
            }
          }).observe(document.body, { childList: true, subtree: true });
          await module.warmUp(chart);
          return [...seen].sort();
        }""",
        [runtime_code(), ESM, first_screen],
    )
    state = own.evaluate("window.__kmWarmUp")
    assert state["drawn"] == 4 and state["done"] is not None
    assert {"mark-rect", "mark-rule", "mark-text", "mark-arc", "mark-shape"} <= set(kinds), kinds
    assert own.evaluate("document.body.children.length") == 0  # out of sight, then gone
    # a snapshot streamed before the modules were there (kept from a visit before) warms Vega itself
    own.set_content('<!DOCTYPE html><html><body><div class="km-first-screen"></div></body></html>')
    skipped = own.evaluate(
        """async ([runtime, esm, firstScreen]) => {
          const blob = (code) => URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
          window.__keurmerkVegaRuntime = import(blob(runtime));
          const chart = await import(blob(esm)), module = await import(blob(firstScreen));
          await module.warmUp(chart);
          return [window.__kmWarmUp.drawn, document.body.children.length];
        }""",
        [runtime_code(), ESM, first_screen],
    )
    assert skipped == [0, 1]
    # one streamed while the warm-up runs (the parser goes on between its charts): the rest is not drawn
    own.set_content("<!DOCTYPE html><html><body></body></html>")
    stopped = own.evaluate(
        """async ([runtime, esm, firstScreen]) => {
          const blob = (code) => URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
          window.__keurmerkVegaRuntime = import(blob(runtime));
          const chart = await import(blob(esm)), module = await import(blob(firstScreen));
          document.addEventListener("keurmerk-chart-rendered", () => {
            const box = document.createElement("div");
            box.className = "km-first-screen";
            document.body.append(box);
          }, { once: true });
          await module.warmUp(chart);
          return [window.__kmWarmUp.drawn, document.body.children.length];
        }""",
        [runtime_code(), ESM, first_screen],
    )
    assert stopped == [1, 1]  # the first chart, then the snapshot's box alone
    assert not errors, errors
    context.close()
