"""The provider dashboard without a browser: access checks, every figure drawn, filters recompute, privacy."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import ipywidgets as widgets
import pytest

from keurmerk.access import QUERY_PARAMETER, make_token
from keurmerk.catalog import catalog
from keurmerk.charts import ChartWidget
from keurmerk.dashboard import Debouncer, ProviderApp
from keurmerk.dashboard.provider import CHARTS_IN_VIEW, FIRST_SCREEN, OPEN_LATER_DELAY_S
from keurmerk.metrics import registry
from keurmerk.synth import XSS_PROBE, XSS_PROVIDER

T = TypeVar("T")
PENDING = 'class="km-tiles km-tiles-pending"'  # the year over year tiles on their way (yoy.tiles_pending)

SECRET = "dashboard-test-secret"


@pytest.fixture(scope="module")
def app(tiny_db: Path) -> ProviderApp:
    return ProviderApp.prepare(tiny_db)


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEURMERK_SECRET", SECRET)


def _browser_asks(chart: ChartWidget) -> None:
    """What chart_widget.js sends when a deferred chart comes into view or the page is idle."""
    chart._on_custom_msg(chart, {"type": "keurmerk:spec?"}, [])


def _params(provider: str | None, role: str = "provider", days: float = 30, **extra: str) -> dict[str, str]:
    return {QUERY_PARAMETER: make_token(provider, role=role, days=days), **extra}


def _texts(widget: widgets.Widget) -> str:
    """All HTML shown by a widget tree."""
    return "".join(w.value for w in _widgets(widget) if isinstance(w, widgets.HTML))


def _in_a_kernel(work: Callable[[], T]) -> T:
    """``work()`` run as a kernel runs a cell: in a running event loop, whose callbacks (a debounced refresh,
    background work) run once it is done."""

    async def cell() -> T:
        result = work()
        await asyncio.sleep(0)
        return result

    return asyncio.run(cell())


def _hidden(dashboard) -> set[str]:
    """The figures hidden in runs of withheld figures: those the page's stylesheet of hidden figures names."""
    styles = "".join(style.value for style in dashboard.hidden_styles.values())
    return set(re.findall(r"\.km-figure\.km-(\w+)", styles))


def _tiles(page: widgets.Widget) -> widgets.HTML:
    """The year over year tiles of a provider page."""
    found = [w for w in _widgets(page) if isinstance(w, widgets.HTML) and "km-tiles" in w.value]
    assert len(found) == 1
    return found[0]


def _widgets(widget: widgets.Widget) -> list[widgets.Widget]:
    """A widget tree, in page order (each widget before its children)."""
    return [widget, *(w for child in getattr(widget, "children", ()) for w in _widgets(child))]


def _tabs(widget: widgets.Widget) -> widgets.Tab | None:
    """The chapter tabs in a page's widget tree."""
    return next((w for w in _widgets(widget) if isinstance(w, widgets.Tab)), None)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "alleen via uw persoonlijke link"),
        ({QUERY_PARAMETER: "vervalst.token"}, "ongeldig"),
        ("expired", "verlopen"),
        ("staff-without-provider", "Kies een aanbieder"),
        ("staff-naming-a-provider", "Kies een aanbieder"),
        ("unknown-provider", "geen gegevens"),
    ],
)
def test_refusals_show_no_data(app: ProviderApp, params, message: str) -> None:
    if params == "expired":
        params = {QUERY_PARAMETER: make_token("P0000", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=40))}
    elif params == "staff-without-provider":
        params = _params(None, role="staff")
    elif params == "staff-naming-a-provider":  # the old staff path: a staff token with aanbieder= opens nothing
        params = _params(None, role="staff", aanbieder="P0000")
    elif params == "unknown-provider":
        params = _params("P9999")
    shown = app.open(params)
    assert isinstance(shown, widgets.HTML)
    assert message in shown.value and 'data-km="refusal"' in shown.value
    assert "Partner in Werk" not in shown.value and 'data-km="table_1_1"' not in shown.value


def test_provider_link_ignores_a_provider_named_in_the_url(app: ProviderApp) -> None:
    page = app.open(_params("P0000", aanbieder="P0001"))
    assert "Partner in Werk" in _texts(page)


def test_dashboard_draws_every_figure_of_the_registry(app: ProviderApp, tiny_db: Path) -> None:
    access_params = _params("P0000")
    from keurmerk.access import verify

    dashboard = app.dashboard(verify(access_params[QUERY_PARAMETER]), "P0000")
    dashboard.period.value = (2021, 2021)  # the seed's period
    frames = dashboard.refresh()
    # only the first chapter is built with the page; the browser opens the others by their tabs
    assert list(dashboard.views) == [m.id for m in registry() if m.figure.section in FIRST_SCREEN]
    assert "wordt geladen" in _texts(dashboard.sections["clienten"])
    assert dashboard.tabs.titles == tuple(label for key, label in catalog().sections.items() if key != "inburgering")
    for index in range(len(dashboard.tabs.children)):
        dashboard.tabs.selected_index = index
    shown = [m.id for m in registry() if m.figure.section != "inburgering" or dashboard.options.has_inburgering]
    assert list(dashboard.views) == shown
    assert "wordt geladen" not in _texts(dashboard.widget)
    assert set(frames) == {m.id for m in registry()}
    charts = {fid: v.chart for fid, v in dashboard.views.items() if v.chart is not None}
    assert len(charts) == len([m for m in registry() if m.chart != "keurmerk_table" and m.id in shown])
    # built at once: every chart of the first chapter, and the first CHARTS_IN_VIEW of a chapter opened later;
    # the others wait until the browser asks for them
    eager = set()
    for key in dashboard.sections:
        ids = [m.id for m in registry() if m.figure.section == key and m.chart != "keurmerk_table"]
        eager |= set(ids if key in FIRST_SCREEN else ids[:CHARTS_IN_VIEW])
    assert all(charts[fid].spec for fid in eager)
    assert all(c.spec == {} and c.pending == 1 for fid, c in charts.items() if fid not in eager)
    for chart in charts.values():
        _browser_asks(chart)
    assert all(c.spec for c in charts.values())
    table = dashboard.table.value
    for cell in ("43", "18", "41,9", "8,0", "25,0", "9,0", "20,0", "8,3", "51,7", "7,9", "38", "23,7", "8,2"):
        assert f">{cell}<" in table
    assert "voldoet" in table


def test_filter_change_recomputes_with_other_numbers(app: ProviderApp) -> None:
    from keurmerk.access import verify

    dashboard = app.dashboard(verify(_params("P0000")[QUERY_PARAMETER]), "P0000")
    dashboard.period.value = (2021, 2021)
    before = dashboard.refresh()["fig_3_1"]
    dashboard.open_section("clienten")
    chart = dashboard.views["fig_3_1"].chart
    _browser_asks(chart)
    assert "Totaal (n = 18)" in json.dumps(chart.spec, ensure_ascii=False)
    dashboard.services.value = (8,)  # the widget's observer recomputes at once outside an event loop
    after = dashboard.frames["fig_3_1"]
    total = lambda f: f.filter(f["service"].is_null())["n"].item()  # noqa: E731
    assert (total(before), total(after)) == (18, 15)
    # its chapter is not the tab shown: the chart waits until the browser asks (in view, or the page idle)
    assert "Totaal (n = 18)" in json.dumps(chart.spec, ensure_ascii=False)
    _browser_asks(chart)
    assert "Totaal (n = 15)" in json.dumps(chart.spec, ensure_ascii=False)


def test_a_selection_shown_before_is_not_computed_again(app: ProviderApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dienst ticked and unticked again shows the figures computed for that selection before, the same numbers
    as computed anew; only the last SELECTIONS_KEPT selections are kept."""
    from keurmerk.access import verify
    from keurmerk.dashboard import provider
    from keurmerk.metrics import compute_all

    computed: list[tuple[int, ...]] = []

    def counted(source, filters, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if kwargs.get("figure_ids") is None:  # not the year over year tiles'
            computed.append(filters.services)
        return compute_all(source, filters, *args, **kwargs)

    monkeypatch.setattr(provider, "compute_all", counted)
    monkeypatch.setattr(provider, "SELECTIONS_KEPT", 2)
    dashboard = app.dashboard(verify(_params("P0000")[QUERY_PARAMETER]), "P0000")
    dashboard.period.value = (2021, 2021)
    everything = dashboard.refresh()
    dashboard.services.value = (8,)
    dashboard.services.value = ()  # back: as shown before, not computed again
    assert computed == [(), (8,)]
    assert dashboard.frames is everything
    fresh = compute_all(dashboard.source, dashboard.filters(), app.policy, suppress=True)
    assert fresh.keys() == everything.keys() and all(fresh[f].equals(everything[f]) for f in fresh)
    dashboard.services.value = (3,)  # a third selection: the one used longest ago, (8,), goes
    dashboard.services.value = (8,)
    assert computed == [(), (8,), (3,), (8,)]
    total = lambda f: f.filter(f["service"].is_null())["n"].item()  # noqa: E731
    assert total(dashboard.frames["fig_3_1"]) == 15  # as test_filter_change_recomputes_with_other_numbers


def test_a_filter_change_redraws_the_charts_on_screen_first(app: ProviderApp) -> None:
    from keurmerk.access import verify

    dashboard = app.dashboard(verify(_params("P0000")[QUERY_PARAMETER]), "P0000")
    dashboard.period.value = (min(dashboard.options.periods),) * 2  # the first period
    dashboard.refresh()
    sections = list(dashboard.sections)
    dashboard.tabs.selected_index = sections.index("clienten")  # the visitor opens Cliënten
    shown = [v for v in dashboard.views.values() if v.chart is not None and v.figure.section == "clienten"]
    below = shown[CHARTS_IN_VIEW]  # under the chapter's first screen
    hidden = next(v for v in dashboard.views.values() if v.chart is not None and v.figure.section == "samenvatting")
    for view in (below, hidden):
        _browser_asks(view.chart)
    specs = {id(v): json.dumps(v.chart.spec) for v in (shown[0], below, hidden)}
    dashboard.services.value = (8,)
    # the chapter's first charts (on screen) are rebuilt at once; the rest wait for the browser to ask
    assert json.dumps(shown[0].chart.spec) != specs[id(shown[0])]
    for view in (below, hidden):
        assert json.dumps(view.chart.spec) == specs[id(view)]
        _browser_asks(view.chart)
        assert json.dumps(view.chart.spec) != specs[id(view)], view.figure.id


def test_a_filter_change_sends_the_charts_in_view_and_the_status_line_before_the_rest(app: ProviderApp) -> None:
    """The browser's view of a filter change: the charts in view (the chapter's first screen, and a chart further
    down that the browser says is on screen), then the status line; the charts off screen and the year over year
    tiles after it."""
    from keurmerk.access import verify

    dashboard = app.dashboard(verify(_params("P0000")[QUERY_PARAMETER]), "P0000")
    dashboard.period.value = (min(dashboard.options.periods),) * 2
    dashboard.refresh()
    dashboard.tabs.selected_index = list(dashboard.sections).index("clienten")
    charts = [v for v in dashboard.views.values() if v.chart is not None and v.figure.section == "clienten"]
    for view in charts:
        _browser_asks(view.chart)
    first, scrolled, below = charts[:CHARTS_IN_VIEW], charts[CHARTS_IN_VIEW + 1], charts[CHARTS_IN_VIEW + 3]
    scrolled.chart.in_view = True  # what chart_widget.js writes for a chart inside the viewport
    sent: list[tuple[str, str]] = []
    for view in charts:
        view.chart.observe(lambda _c, f=view.figure.id: sent.append(("spec", f)), names="spec")
        view.chart.observe(lambda _c, f=view.figure.id: sent.append(("later", f)), names="pending")
    dashboard.status.observe(lambda c: sent.append(("status", "")) if "selectie" in c["new"] else None, names="value")
    dashboard.tiles.observe(lambda _c: sent.append(("tiles", "")), names="value")
    before = {v.figure.id: v.frame for v in charts}
    dashboard.services.value = (8,)
    changed = {v.figure.id for v in charts if v.collapsed is None and not before[v.figure.id].equals(v.frame)}
    in_view = [v.figure.id for v in (*first, scrolled) if v.figure.id in changed]
    assert len(in_view) >= 3 and scrolled.figure.id in in_view and below.figure.id in changed
    status = sent.index(("status", ""))
    assert {("spec", f) for f in in_view} <= set(sent[:status])
    assert ("later", below.figure.id) in sent[status:] and ("spec", below.figure.id) not in sent
    assert ("tiles", "") in sent[status:]


def test_the_other_chapters_are_built_in_the_background_once_the_page_is_out(app: ProviderApp) -> None:
    """A click on a tab only shows a chapter that is there: the kernel builds the chapters not opened yet once the
    browser has drawn the page (on its event loop, after a pause for the first screen), and a filter change still
    reaches them."""
    import asyncio

    from keurmerk.access import verify

    dashboard = app.dashboard(verify(_params("P0000")[QUERY_PARAMETER]), "P0000")
    dashboard.period.value = (2021, 2021)
    dashboard.refresh()
    later = [key for key in dashboard.sections if key not in FIRST_SCREEN]
    built_by_click = later[-1]

    async def visit() -> None:
        dashboard.open_later()
        await asyncio.sleep(OPEN_LATER_DELAY_S + 0.5)
        assert dashboard.opened == set(FIRST_SCREEN)  # not before the browser has drawn the first screen
        first = next(v.chart for v in dashboard.views.values() if v.chart and v.figure.section in FIRST_SCREEN)
        first.in_view = True  # as chart_widget.js says once the chart is on screen
        await asyncio.sleep(0)
        assert dashboard.opened == set(FIRST_SCREEN)  # not at once: the browser draws the first screen
        dashboard.tabs.selected_index = list(dashboard.sections).index(built_by_click)  # a click meanwhile
        section = dashboard.sections[built_by_click].children
        await asyncio.sleep(OPEN_LATER_DELAY_S + 0.5)
        assert dashboard.sections[built_by_click].children == section  # not built again

    asyncio.run(visit())
    assert dashboard.opened >= set(later)
    assert "wordt geladen" not in _texts(dashboard.widget)
    shown = [m.id for m in registry() if m.figure.section != "inburgering" or dashboard.options.has_inburgering]
    assert sorted(dashboard.views) == sorted(shown)
    # the chapter's first screen is there with its numbers before its tab is opened
    chart = dashboard.views["fig_3_1"].chart
    assert "Totaal (n = 18)" in json.dumps(chart.spec, ensure_ascii=False)
    dashboard.services.value = (8,)  # the widget's observer recomputes at once outside an event loop
    _browser_asks(chart)  # a hidden tab's chart: the browser asks for it while the page is idle
    assert "Totaal (n = 15)" in json.dumps(chart.spec, ensure_ascii=False)


def test_widgets_offer_only_the_providers_own_choices(app: ProviderApp) -> None:
    from keurmerk.access import verify

    dashboard = app.dashboard(verify(_params("P0000")[QUERY_PARAMETER]), "P0000")
    assert [code for _, code in dashboard.services.options] == list(dashboard.options.services)
    every_option = str([w.options for w in (dashboard.period, dashboard.services, dashboard.provinces)])
    assert "P0001" not in every_option and "P0000" not in every_option  # no widget carries a provider id
    assert dashboard.filters().provider == "P0000"


def test_free_text_with_markup_is_escaped(app: ProviderApp) -> None:
    from keurmerk.access import verify

    dashboard = app.dashboard(verify(_params(XSS_PROVIDER)[QUERY_PARAMETER]), XSS_PROVIDER)
    dashboard.period.value = (min(dashboard.options.periods), max(dashboard.options.periods))
    dashboard.refresh()
    dashboard.open_section("clienten")
    shown = dashboard.views["fig_3_5"].extra.value
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert XSS_PROBE not in _texts(dashboard.widget)


def test_empty_selection_does_not_crash(app: ProviderApp) -> None:
    from keurmerk.access import verify

    dashboard = app.dashboard(verify(_params("P0000")[QUERY_PARAMETER]), "P0000")
    dashboard.provinces.value = (dashboard.provinces.options[0][1],)
    dashboard.services.value = (3,)
    dashboard.questionnaire.value = "easy"
    frames = dashboard.refresh()
    assert frames["fig_3_9"]["note"].drop_nulls().len() > 0
    assert "Geen respondenten in deze selectie" in dashboard.status.value or "0 cliënten" in dashboard.status.value


def test_debouncer_coalesces_a_burst() -> None:
    import asyncio

    calls: list[int] = []

    async def burst() -> None:
        debouncer = Debouncer(lambda: calls.append(1), delay=0.05)
        for _ in range(5):
            debouncer.trigger()
        await asyncio.sleep(0.15)

    asyncio.run(burst())
    assert calls == [1]


def test_a_discrete_choice_acts_on_the_next_turn_without_the_wait() -> None:
    import asyncio

    calls: list[int] = []

    async def choices() -> None:
        debouncer = Debouncer(lambda: calls.append(1), delay=3600)  # a wait would never end in this test
        for _ in range(3):  # changes that arrive together act once
            debouncer.now()
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.run(choices())
    assert calls == [1]


def test_a_filter_choice_redraws_without_the_debounce(app: ProviderApp) -> None:
    import asyncio

    from keurmerk.access import verify

    dashboard = app.dashboard(verify(_params("P0000")[QUERY_PARAMETER]), "P0000")
    dashboard.refresh()
    dashboard._debouncer.delay = 3600  # anything still debounced would not be redrawn in this test
    before = dashboard.frames["table_1_1"]
    service = dashboard.services.options[0][1]

    async def choose() -> None:
        dashboard.services.value = (service,)  # what the browser's change does, in the kernel's event loop
        assert dashboard.frames["table_1_1"] is before  # not inside the widget's change handler…
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.run(choose())
    after = dashboard.frames["table_1_1"]  # …but on the loop's next turn
    assert after is not before
    assert set(after["service"].drop_nulls()) == {service}


def test_figures_hidden_in_a_run_keep_their_chart_and_come_back_without_old_numbers(app: ProviderApp) -> None:
    """A figure hidden with its run is not redrawn while nobody sees it. Shown again for the numbers it was drawn
    for (a dienst ticked, then unticked) it is shown as it is, nothing sent; for other numbers its chart is
    withdrawn (an empty spec: the browser removes the drawing) until the browser asks for the new one, unless it is
    among the chapter's first charts, which are drawn at once."""
    from keurmerk.access import verify
    from keurmerk.dashboard.provider import CHARTS_IN_VIEW

    dashboard = app.dashboard(verify(_params("P0000")[QUERY_PARAMETER]), "P0000")
    dashboard.period.value = (2021, 2021)
    dashboard.refresh()
    dashboard.open_section("clienten")
    dashboard.tabs.selected_index = list(dashboard.sections).index("clienten")
    ids = [f for f, view in dashboard.views.items() if view.figure.section == "clienten"]
    charts = [f for f in ids if dashboard.views[f].chart is not None]
    for figure_id in charts[CHARTS_IN_VIEW:]:
        _browser_asks(dashboard.views[figure_id].chart)  # the whole chapter drawn, as the browser does when idle
    later = [f for f in charts[CHARTS_IN_VIEW:] if f not in ("fig_3_17", "fig_3_18")]  # small at every selection
    drawn = {f: (dashboard.views[f].chart.spec, dashboard.views[f].chart.pending) for f in later}
    assert later and all(spec for spec, _ in drawn.values())

    dashboard.services.value = (3,)  # one client: the chapter's figures hidden in one run…
    assert set(later) <= _hidden(dashboard)
    assert {f: (dashboard.views[f].chart.spec, dashboard.views[f].chart.pending) for f in later} == drawn  # …as drawn
    dashboard.services.value = ()  # back: the same numbers, shown as they were
    assert not set(later) & _hidden(dashboard)
    assert {f: (dashboard.views[f].chart.spec, dashboard.views[f].chart.pending) for f in later} == drawn

    dashboard.services.value = (3,)
    dashboard.period.value = (2022, 2022)  # other numbers while hidden
    dashboard.services.value = ()
    assert not set(later) & _hidden(dashboard)
    assert all(dashboard.views[f].chart.spec == {} and dashboard.views[f].chart.pending == drawn[f][1] + 1
               for f in later)  # withdrawn, asked for when in view
    first = charts[1:CHARTS_IN_VIEW]  # fig 3.1 is never hidden; the next ones are drawn at once, 2022's numbers
    assert all(dashboard.views[f].chart.spec and dashboard.views[f].frame is dashboard.frames[f] for f in first)
    chart = dashboard.views[later[0]].chart
    _browser_asks(chart)
    assert chart.spec and chart.spec != drawn[later[0]][0]


def test_link_may_name_the_periods_to_show(app: ProviderApp) -> None:
    page = app.open(_params("P0000", periode="2021"))
    _tabs(page).selected_index = 1  # Respons en keurmerk: table 1.1
    assert ">43<" in _texts(page) and ">41,9<" in _texts(page)
    page = app.open(_params("P0000", periode="1999"))  # not this provider's: the default (latest) stays
    _tabs(page).selected_index = 1
    assert 'data-km="table_1_1"' in _texts(page) and ">43<" not in _texts(page)


def test_a_run_of_withheld_figures_collapses_into_one_notice(app: ProviderApp) -> None:
    """DESIGN §5 (issue 11): under a narrow selection the withheld figures of a chapter that follow each other show
    one notice suggesting a wider selection, not a "te weinig respondenten" each; widening brings them back."""
    from keurmerk.access import verify
    from keurmerk.metrics import texts, withheld, withheld_runs

    dashboard = app.dashboard(verify(_params("P0000")[QUERY_PARAMETER]), "P0000")
    dashboard.period.value = (min(dashboard.options.periods),) * 2  # the first period
    dashboard.refresh()
    dashboard.open_section("clienten")
    dashboard.services.value = (3,)  # dienst 3: one completed client in 2021
    ids = [f for f, view in dashboard.views.items() if view.figure.section == "clienten"]
    runs = withheld_runs(dashboard.frames, ids)
    assert runs and all(len(run) >= 2 and all(withheld(dashboard.frames[f]) for f in run) for run in runs)
    for run in runs:
        head, *rest = (dashboard.views[f] for f in run)
        assert 'data-km="widen"' in head.extra.value and "ruimere selectie" in head.extra.value
        assert head.chart not in head.box.children or "km-collapsed" in head.chart._dom_classes  # not shown
        assert {view.figure.id for view in rest} <= _hidden(dashboard)
    notices = [f for f in ids if 'data-km="widen"' in dashboard.views[f].extra.value]
    assert notices == [run[0] for run in runs], (notices, runs)
    # fig 3.1 is not part of a run: it shows table 1.1's grade of one respondent, indicative
    assert not withheld(dashboard.frames["fig_3_1"]) and dashboard.frames["fig_3_1"]["indicative"].any()
    dashboard.services.value = ()  # wider again: the figures come back; only the complaint figures stay small
    wide = withheld_runs(dashboard.frames, ids)
    assert wide == [["fig_3_17", "fig_3_18"]]
    assert [f for f in ids if 'data-km="widen"' in dashboard.views[f].extra.value] == ["fig_3_17"]
    shown_again = [f for f in ids if f != "fig_3_17" and dashboard.views[f].chart is not None]
    assert not [f for f in shown_again if "km-collapsed" in dashboard.views[f].chart._dom_classes]
    assert _hidden(dashboard) == {"fig_3_18"}
    # the footer states the one rule
    assert texts.small_group_rule(dashboard.policy).split(";")[0] in _texts(dashboard.widget)


def test_samenvatting_shows_the_seed_front_page_in_its_order(app: ProviderApp) -> None:
    """Issue 11: the staff list, the pie of its first item, then the organisation list, each in the seed's words."""
    from keurmerk.access import verify

    dashboard = app.dashboard(verify(_params("P0000")[QUERY_PARAMETER]), "P0000")
    dashboard.period.value = (min(dashboard.options.periods),) * 2  # the first period
    dashboard.refresh()
    text = _texts(dashboard.sections["samenvatting"])
    staff = text.index("De medewerkers van Partner in Werk scoren relatief goed op het volgende punt:")
    pie = text.index("Antwoorden op het eerste punt waarop de medewerkers van Partner in Werk relatief goed scoren")
    organisation = text.index("Partner in Werk scoort relatief goed op de volgende punten:")
    assert staff < pie < organisation
    assert "✓ Respectvolle houding" in text[staff:pie]
    assert [item in text[organisation:] for item in ("Snelheid van kennismaking", "De eerste kennismaking")] == [True] * 2
    assert dashboard.frames["front_pie"]["item"].unique().to_list() == ["Respectvolle houding"]


def test_a_prepared_kernel_hands_back_what_duckdb_cached_while_preparing(tmp_path: Path) -> None:
    """Reading the stored cube leaves its blocks in DuckDB's cache; a pool kernel waits for its visitor without
    them, on the same open connection and with the kernel's memory limit back."""
    import duckdb

    db = tmp_path / "blocks.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE blocks AS SELECT range AS i, range::VARCHAR AS s FROM range(2000000)")
    con = duckdb.connect(str(db), read_only=True)

    def cached() -> int:
        return con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]

    def limit() -> str:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    app = ProviderApp(con, benchmark=None, policy=None)
    app.drop_cache()
    kernel_limit = limit()
    con.execute("SELECT sum(i), max(s) FROM blocks").fetchall()  # blocks read, as the stored cube's are
    before = cached()
    app.drop_cache()
    assert before > 8 * 2**20 and cached() <= 2**20  # ≥ 8 MB cached, at most a block or so left
    assert limit() == kernel_limit
    assert con.execute("SELECT count(*) FROM blocks").fetchone()[0] == 2000000  # the same snapshot still reads
    app.close()


def test_the_first_screen_snapshot_holds_the_widgets_as_they_are(app: ProviderApp) -> None:
    """The HTML streamed before Voilà's front end runs (keurmerk.dashboard.first_screen) is the page's widgets as
    the kernel holds them: the same texts, the filters as set, the tab titles, and every drawn chart's spec."""
    import re
    from html import unescape

    from keurmerk.dashboard.first_screen import MIME, bundle, snapshot

    page = app.open(_params("P0000", periode="2021"))
    html = bundle(snapshot(page))[MIME]
    assert page.first_screen == html  # keurmerk.serve.show streams the snapshot of this page
    body, specs = re.fullmatch(
        r'<template data-km="first-screen">(.*)</template><script type="application/json" '
        r'data-km="first-screen-specs">(.*)</script>', html, re.S).groups()
    assert "</script" not in specs
    tabs = _tabs(page)
    first = tabs.children[0]
    charts = [w for w in first.children for w in getattr(w, "children", ()) if isinstance(w, ChartWidget) and w.spec]
    assert charts, "the first tab draws its charts with the page"
    assert [s["spec"] for s in json.loads(specs.replace("<\\/", "</"))] == [c.spec for c in charts]
    assert body.count("data-km-chart=") == len(charts)
    # every HTML widget's text, the period as chosen, the tab titles: as the live widgets show them
    for part in re.findall(r"<h1>(.*?)</h1>|data-km=\"status\">(.*?)</span>", _texts(page)):
        assert any(p and p in body for p in part), part
    assert "<option selected>2021</option>" in body
    for title in tabs.titles:
        assert f'<div class="lm-TabBar-tabLabel">{title}</div>' in unescape(body)
    figures = [w for w in first.children if "km-figure" in w._dom_classes]
    assert len(re.findall(r'class="[^"]*\bkm-figure\b', body)) == len(figures) > 0
    # a refusal is no dashboard: nothing to snapshot
    assert not getattr(app.open({}), "first_screen", None)


def test_a_first_screen_is_kept_for_the_next_visit_of_the_same_link(
    tiny_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next visit with the same provider and selection gets the first screen an earlier visit made, before
    the page is built (``ProviderApp.first_screen``, a cell of its own); the page then streams no snapshot of its
    own. Any other provider, selection, a refused link or a new publication gets none; kept files are private."""
    import os
    import shutil
    import stat

    import IPython.display

    from keurmerk.dashboard import yoy
    from keurmerk.dashboard.first_screen import MIME, KeptScreens, snapshot

    real_year_points = yoy.year_points
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_db, db)
    shown: list[dict] = []
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw=False: shown.append(bundle))
    link = _params("P0000", periode="2021")

    def visit(params: dict[str, str]) -> tuple[list[dict], widgets.Widget]:
        shown.clear()
        app = ProviderApp.prepare(db, warm_up=False)
        app.first_screen(params)
        before = list(shown)
        page = app.open(params)
        app.close()
        return before, page

    before, first = visit(link)
    assert before == [] and isinstance(first.first_screen, str)  # the first visit streams its own snapshot
    folder = KeptScreens.root_beside(db)
    assert folder == tmp_path / "warehouse.first-screens"
    kept = sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    tiles = _tiles(first).value  # computed at once here (no event loop): in the first screen, and kept beside it
    assert PENDING not in tiles and tiles in first.first_screen
    assert [p.read_text(encoding="utf-8") for p in kept] == [tiles, first.first_screen]
    assert {stat.S_IMODE(p.stat().st_mode) for p in kept} == {0o600}
    assert {stat.S_IMODE(p.stat().st_mode) for p in (folder, kept[0].parent)} == {0o700}

    computed: list[object] = []  # the year over year points computed (a computation per period)
    monkeypatch.setattr(yoy, "year_points", lambda *args: computed.append(args) or real_year_points(*args))
    # another link of the same provider, same selection (in a kernel: its period choice is acted on after open)
    before, second = _in_a_kernel(lambda: visit(_params("P0000", periode="2021")))
    assert before == [{MIME: first.first_screen, "text/plain": ""}]
    assert second.first_screen is None  # shown already: not streamed twice
    assert snapshot(second) == first.first_screen  # what the live page shows
    assert computed == [] and _tiles(second).value == tiles  # the kept tiles, not computed again

    for other in (_params("P0000", periode="2022"), _params("P0001", periode="2021"), {}, _params(None, role="staff")):
        assert visit(other)[0] == [], other

    # a publication swaps in a new file: the screens kept for the old one are not shown, and go
    os.replace(shutil.copy(db, tmp_path / "new.duckdb"), db)
    before, third = visit(link)
    assert before == [] and isinstance(third.first_screen, str)
    assert kept[0].parent.exists() is False and len([p for p in folder.rglob("*") if p.is_file()]) == 2


def test_tiles_computed_after_the_page_are_kept_and_the_first_screen_again_with_them(
    tiny_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a kernel the year over year tiles are computed after the page was made (a thread, once the cell is
    done): the snapshot the page streams says they are on their way. Once they are there, they are kept, and so
    is the first screen again, now with them: the next visit shows them in its first screen and computes no
    year over year points."""
    import shutil
    import time

    import IPython.display

    from keurmerk.dashboard import yoy
    from keurmerk.dashboard.first_screen import MIME, KeptScreens, snapshot

    db = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_db, db)
    shown: list[dict] = []
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw=False: shown.append(bundle))
    link = _params("P0000", periode="2021")

    def visit() -> widgets.Widget:
        app = ProviderApp.prepare(db, warm_up=False)
        app.first_screen(link)
        return app.open(link)

    page = _in_a_kernel(visit)
    assert shown == [] and PENDING in page.first_screen  # streamed before the tiles were there
    deadline = time.monotonic() + 60
    while PENDING in _tiles(page).value and time.monotonic() < deadline:
        time.sleep(0.05)
    tiles = _tiles(page).value
    assert PENDING not in tiles
    time.sleep(0.2)  # the thread keeps them after showing them
    folder = KeptScreens.root_beside(db)
    kept = {p.read_text(encoding="utf-8") for p in folder.rglob("*.html")}
    assert kept == {tiles, snapshot(page)} and tiles in snapshot(page)

    computed: list[object] = []
    monkeypatch.setattr(yoy, "year_points", lambda *args: computed.append(args))
    second = _in_a_kernel(visit)
    assert shown == [{MIME: snapshot(page), "text/plain": ""}]  # the first screen, with the tiles
    assert computed == [] and _tiles(second).value == tiles


def test_kept_first_screens_are_bounded_and_each_publication_starts_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from keurmerk.dashboard import first_screen
    from keurmerk.warehouse import snapshot_stamp

    monkeypatch.setattr(first_screen, "KEPT_SCREENS_MAX", 2)
    warehouse = tmp_path / "w.duckdb"
    warehouse.write_bytes(b"published")
    published = first_screen.KeptScreens.beside(warehouse, snapshot_stamp(warehouse))
    for i in range(3):
        published.put({"provider": i}, f"<p>{i}</p>")
    assert [published.get({"provider": i}) for i in range(3)] == ["<p>0</p>", "<p>1</p>", None]
    (tmp_path / "new").write_bytes(b"published again")
    os.replace(tmp_path / "new", warehouse)  # a publication: another inode, mtime and size
    republished = first_screen.KeptScreens.beside(warehouse, snapshot_stamp(warehouse))
    assert republished.get({"provider": 0}) is None
    republished.put({"provider": 0}, "<p>new</p>")
    assert republished.get({"provider": 0}) == "<p>new</p>" and published.get({"provider": 0}) is None
    assert [p.name for p in first_screen.KeptScreens.root_beside(warehouse).iterdir()] == [republished.folder.name]
    # a kernel still on the publication before writes nothing: its folder would take the new one's place
    published.put({"provider": 2}, "<p>old</p>")
    assert published.get({"provider": 2}) is None and republished.get({"provider": 0}) == "<p>new</p>"
