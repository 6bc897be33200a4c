"""The provider dashboard: the whole report, live, filterable, next to the benchmark (issue: provider dashboard).

``ProviderApp.prepare()`` does the slow, provider-independent work (imports, the read-only warehouse, the
benchmark cube) while a pre-heated kernel waits for a visitor; ``ProviderApp.open(params)`` then checks the
signed link and builds the dashboard for that provider only. The provider id comes from the verified token,
never from a widget (the browser can write widget state).

The report's chapters are tabs, in the report's order, under one set of filters. Only the first chapter is built
with the page (the page reaches the visitor with ~50 widget models instead of ~170, and the browser draws 3 charts
instead of 31 before the first screen is complete). The other chapters are built in the background once the
browser has drawn the first screen (``open_later``), and it draws their charts while it is idle: opening a tab then
only shows it. A tab opened before that builds its chapter at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import traceback
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import partial
from html import escape
from pathlib import Path

import duckdb
import ipywidgets as widgets
import polars as pl
from ipywidgets.widgets.widget_string import HTMLStyle

from keurmerk import pieces
from keurmerk.access import QUERY_PARAMETER, Access, AccessDenied, verify
from keurmerk.catalog import Figure, catalog
from keurmerk.charts import ChartWidget, to_spec
from keurmerk.charts.figures import chart_for
from keurmerk.dashboard import controls, datatable, downloads, reactions, yoy
from keurmerk.dashboard.first_screen import KeptScreens, bundle, snapshot
from keurmerk.filters import Filters
from keurmerk.metrics import Cube, CubeSource, compute_all, registry, texts, withheld_runs
from keurmerk.metrics.registry import figure_kind, strengths_figure
from keurmerk.metrics.source import provider_names
from keurmerk.policy import Policy, load_policy
from keurmerk.warehouse import open_readonly, snapshot_stamp

__all__ = ["ProviderApp", "ProviderDashboard", "FilterOptions"]

PERIOD_PARAMETER = "periode"  # optional first period shown: "2021" or "2019-2021"
# what a link may choose besides its provider (ProviderApp.open): part of a kept first screen's key
LINK_SELECTION = (PERIOD_PARAMETER, "diensten", "provincies")
KERNEL_DUCKDB_MEMORY = "64MB"  # per dashboard kernel (see ProviderApp.prepare)
FIRST_SCREEN = ("samenvatting",)  # the first tab: built, charts included, with the page; the others when opened
CHARTS_IN_VIEW = 4  # a chapter opened later builds its first charts at once (two rows of its grid): on screen
# the other chapters are built this long after the browser has drawn the first screen, in the background (see
# ProviderDashboard.open_later)
OPEN_LATER_DELAY_S = 0.2
SELECTIONS_KEPT = 16  # the figures of the last selections a page showed, kept (ProviderDashboard.refresh)
YEAR_SELECTIONS_KEPT = 64  # the year over year tiles' selections, one per period (ProviderDashboard._frames_of)


@dataclass(frozen=True)
class FilterOptions:
    """What a provider can filter on: only its own periods, diensten and provinces."""

    periods: tuple[int, ...]
    services: tuple[int, ...]
    provinces: tuple[str, ...]
    has_inburgering: bool

    @classmethod
    def for_provider(cls, con: duckdb.DuckDBPyConnection, provider_id: str) -> FilterOptions:
        rows = con.execute(
            "SELECT list(DISTINCT period ORDER BY period), list(DISTINCT service ORDER BY service), "
            "list(DISTINCT province ORDER BY province) FILTER (WHERE province IS NOT NULL), "
            "bool_or(form = 'inburgering') FROM invitations WHERE provider_id = $p",
            {"p": provider_id},
        ).fetchall()[0]
        return cls(tuple(rows[0] or ()), tuple(rows[1] or ()), tuple(rows[2] or ()), bool(rows[3]))


@dataclass
class _FigureView:
    figure: Figure
    caption: widgets.HTML
    chart: ChartWidget | None
    extra: widgets.HTML
    box: widgets.VBox
    eager: bool = False  # built with its chapter; otherwise when the browser asks (ChartWidget.defer)
    frame: pl.DataFrame | None = None  # what is drawn now: an unchanged frame is not drawn again
    collapsed: str | None = None  # "head" (says the run's notice) or "hidden" while in a run of withheld figures


COLLAPSED_CLASS = "km-collapsed"  # a chart under its run's notice (static/dashboard.css hides it)


def _short(figure: Figure) -> str:
    """How a notice names a figure: "fig. 3.4", or its title when it has no number."""
    return f"fig. {figure.number}" if figure.number else figure.title


class ProviderDashboard:
    """The widgets of one provider's dashboard and the one method that recomputes them: ``refresh``."""

    def __init__(
        self,
        source: CubeSource,
        provider_id: str,
        provider_name: str,
        options: FilterOptions,
        policy: Policy | None = None,
    ):
        self.source, self.provider_id, self.provider_name = source, provider_id, provider_name
        self.options, self.policy = options, policy or load_policy()
        # One Layout and one HTMLStyle for every widget that needs no layout of its own: ipywidgets makes both
        # per widget otherwise, 220 of the page's 373 widget models, each a message and a model in the browser.
        self._plain, self._html_style = widgets.Layout(), HTMLStyle()
        self._figure_box = widgets.Layout(margin="0 0 12px 0")
        # The figures hidden in a run of withheld figures (_collapse), hidden by a stylesheet per chapter: a filter
        # change that hides or shows twenty figures is then one message to the browser, not one per figure (the
        # browser handles each message in a task of its own, and the charts in view wait behind them).
        self._hidden: set[str] = set()
        self.hidden_styles: dict[str, widgets.HTML] = {}  # chapter → its <style>, the chapter's first widget
        self._no_box = widgets.Layout(display="none")
        # readable controls (keurmerk.dashboard.controls): "2021" or "2019–2021", checkboxes saying "Alle diensten"
        self.period = controls.period_picker(options.periods)
        # one control per filter dimension of this page (keurmerk.filters.FILTER_DIMENSIONS)
        self.pickers = controls.pickers("provider", {"services": options.services, "provinces": options.provinces})
        self.services, self.provinces, self.questionnaire = (
            self.pickers[f] for f in ("services", "provinces", "questionnaire"))
        self.tiles = self._html()  # year over year (keurmerk.dashboard.yoy)
        # tiles known for a selection without computing them (kept by a visit before: ProviderApp), and who is
        # told the tiles of a selection once they are computed
        self.kept_tiles: dict[Filters, str] = {}
        self.on_tiles: Callable[[Filters, str], None] | None = None
        # the figures of the last selections: a dienst ticked and unticked again, or two selections compared,
        # shows at once what was computed before (a selection's frames are a few tens of kB)
        self._selections: dict[Filters, dict[str, pl.DataFrame]] = {}
        self._year_frames: dict[Filters, dict[str, pl.DataFrame]] = {}
        self.status = widgets.HTML(value="", layout=widgets.Layout(min_height="20px"))
        self.progress = widgets.IntProgress(min=0, max=1, layout=widgets.Layout(width="300px", visibility="hidden"))
        self.table = self._html()
        self.views: dict[str, _FigureView] = {}  # the figures of the chapters opened so far
        self.sections: dict[str, widgets.VBox] = {}  # every chapter shown, opened or not
        self.opened: set[str] = set()  # the chapters whose figures are built
        self.frames: dict[str, pl.DataFrame] = {}
        self._debouncer = controls.watch({"period": self.period, **self.pickers}, self.refresh)
        self.widget = self._layout()

    # --- state --------------------------------------------------------------------------------------------
    def select_periods(self, text: str | None) -> None:
        """Show the periods named in a link ("2021" or "2019-2021"), as far as this provider has them."""
        controls.select_period(self.period, text)

    def filters(self) -> Filters:
        first, last = self.period.value
        return Filters(
            provider=self.provider_id,  # from the verified link, never from a widget
            period=None if first is None else (first, last),
            **{field: control.value for field, control in self.pickers.items()},
        )

    def refresh(self, tiles_later: bool = False) -> dict[str, pl.DataFrame]:
        """Recompute every figure for the current filters and redraw what changed. The year over year tiles (a
        computation per period) come after, in the background (``in_background``); ``tiles_later``: until then
        they say they are on their way (a new page)."""
        self.status.value = '<span class="km-status">Bezig met bijwerken…</span>'
        filters = self.filters()
        self.frames = _kept(self._selections, filters, SELECTIONS_KEPT,
                            lambda: compute_all(self.source, filters, self.policy, suppress=True))
        # which figures a run of withheld figures hides decides which charts are in view: the shown chapter's
        # layout goes first; the other chapters' after the charts in view (_redraw), since every figure hidden or
        # shown again is a message of its own, and the browser gets the messages in the order they were sent
        shown_again = self._collapse({self._shown_section()})
        try:
            self._redraw(filters, shown_again, tiles_later)
        except Exception:  # a figure out of its run is shown even when drawing it failed: else it stays hidden
            self._show(*shown_again)
            raise
        return self.frames

    def _redraw(self, filters: Filters, shown_again: list[str], tiles_later: bool) -> None:
        in_view = self._in_view()
        self.progress.max, self.progress.value = len(in_view) + 1, 0
        self.progress.layout.visibility = "visible"
        # the charts in view first, each to the browser as it is set (the browser draws it while the kernel makes
        # the next); then the status line says the selection is shown. Charts off screen (another tab, below the
        # first screen, under a notice) are built when the browser asks, which it does when they come into view
        # or the page is idle.
        for figure_id in in_view:
            self._draw(self.views[figure_id], self.frames[figure_id], at_once=True, texts=figure_id in shown_again)
            self.progress.value += 1
            flush_messages()  # the browser draws this chart while the kernel builds the next
        self._show(*(f for f in in_view if f in shown_again))
        self.table.value = datatable.scrollable(pieces.keurmerk_table(self.frames["table_1_1"]), "Tabel 1.1") + (
            pieces.norm_verdict(self.frames["table_1_1"], self.policy))
        self.progress.layout.visibility = "hidden"
        self.status.value = controls.selection_status(self.frames["table_1_1"])
        flush_messages()
        shown_again += self._collapse(set(self.sections) - {self._shown_section()})
        for figure_id, view in self.views.items():
            # a figure under a notice or hidden with its run keeps what it drew: nobody sees it, and a selection
            # that shows it again is often the one it was drawn for (a dienst ticked, then unticked)
            if figure_id not in in_view and view.collapsed is None:
                self._draw(view, self.frames[figure_id], wait=True, texts=figure_id in shown_again)
        self._show(*(f for f in shown_again if f not in in_view))
        if (kept := self.kept_tiles.get(filters)) is not None:
            self.tiles.value = kept
            return
        if tiles_later:
            self.tiles.value = yoy.tiles_pending()
        in_background(partial(self._fill_tiles, filters))

    def _in_view(self) -> list[str]:
        """The charts of the tab shown that are on screen, in page order: those the browser says it shows
        (``ChartWidget.in_view``), and the tab's first screen (all of the front page; the first CHARTS_IN_VIEW
        of another chapter), where a chart just shown again after a notice may be (the browser has not seen it
        on screen). A chart under a notice, or hidden with its run, is not in view; one shown again further down
        is withdrawn until the browser asks for it (``_draw``)."""
        shown = self._shown_section()
        charts = [f for f, view in self.views.items()
                  if view.figure.section == shown and view.chart is not None and view.collapsed is None]
        first = set(charts if shown in FIRST_SCREEN else charts[:CHARTS_IN_VIEW])
        return [f for f in charts if f in first or self.views[f].chart.in_view]

    def _fill_tiles(self, filters: Filters) -> None:
        if filters != self.filters():  # a later change draws its own tiles
            return
        tiles = yoy.tiles_html(yoy.year_points(self._frames_of, filters, self.options.periods))
        if filters == self.filters():
            self.tiles.value = tiles
        if self.on_tiles is not None:
            self.on_tiles(filters, tiles)

    def _frames_of(self, filters: Filters) -> dict[str, pl.DataFrame]:
        """The year-over-year tiles' figures for one selection, kept: each period is asked again at every change."""
        return _kept(self._year_frames, filters, YEAR_SELECTIONS_KEPT,
                     lambda: compute_all(self.source, filters, self.policy, suppress=True, figure_ids=yoy.FIGURES))

    def open_all(self) -> int:
        """Every chapter built and every chart drawn now (for printing the whole page); returns the charts' count."""
        for key in self.sections:
            self.open_section(key)
        for figure_id, view in self.views.items():
            if view.chart is not None and not view.eager:
                view.eager, view.frame = True, None
                self._draw(view, self.frames[figure_id])
        return sum(view.chart is not None for view in self.views.values())

    def _shown_section(self) -> str | None:
        index = self.tabs.selected_index if hasattr(self, "tabs") else 0
        return None if index is None else list(self.sections)[index]

    def _draw(self, view: _FigureView, frame: pl.DataFrame, wait: bool = False, at_once: bool = False,
              texts: bool = False) -> None:
        """Draw ``frame`` in its figure: at once (``at_once``, or a chart built with its chapter), or when the
        browser asks (``wait``: not before it asks again). ``texts``: the figure is shown again after a notice,
        its texts are written anew even when its numbers did not change."""
        if view.frame is not None and view.frame.equals(frame):
            if view.collapsed is None and (texts or figure_kind(view.figure.chart).front_lists):
                view.extra.value = self._extra(view, frame)  # lists read the strengths frame
            return  # building a chart costs tens of milliseconds; many figures do not change with a filter
        view.frame = frame
        if view.chart is not None and not (at_once or view.eager and not wait):
            # built when the browser asks: the page reaches the visitor sooner, and a filter change redraws
            # what is in view first; the chart's table ("Toon als tabel", most of the text's cost) comes with it
            # a chart shown again (texts) is withdrawn meanwhile: it never shows the numbers it had before its notice
            view.chart.defer(partial(self._build_deferred, view, frame), until_asked=wait, withdraw=texts)
            if view.collapsed is None:
                view.extra.value = self._extra(view, frame, table=False)
            return
        if view.chart is not None:
            view.chart.chart = chart_for(view.figure.chart, frame, self.provider_name)
        if view.collapsed is None:
            view.extra.value = self._extra(view, frame)

    def _build_deferred(self, view: _FigureView, frame: pl.DataFrame) -> object:
        if view.frame is frame and view.collapsed is None:
            view.extra.value = self._extra(view, frame)
        return chart_for(view.figure.chart, frame, self.provider_name)

    def _extra(self, view: _FigureView, frame: pl.DataFrame, table: bool = True) -> str:
        """The HTML under a chart: free texts, or on the front page the seed's lists."""
        if figure_kind(view.figure.chart).front_lists:
            extra = pieces.front_lists(view.figure.chart, self.frames, strengths_figure(), self.provider_name)
        else:
            extra = pieces.texts_list(frame)
        if view.chart is not None and table:  # the chart's text alternative: its numbers as a table
            extra += datatable.data_table(frame, view.figure.caption(self.provider_name))
        return extra

    def _collapse(self, sections: Collection[str | None] | None = None) -> list[str]:
        """A run of withheld figures in a chapter shows one notice that suggests widening the selection (DESIGN
        §5): the run's first figure says it, the others are hidden until the selection shows them again. Returns
        the figures to show again: each is shown by ``_show`` once drawn (``_draw`` writes its texts), so that it
        does not appear with its old numbers first. Only the chapters ``sections`` (None: all)."""
        chapters: dict[str, list[str]] = {}
        for figure_id, view in self.views.items():
            if sections is None or view.figure.section in sections:
                chapters.setdefault(view.figure.section, []).append(figure_id)
        runs = [run for ids in chapters.values() for run in withheld_runs(self.frames, ids)]
        state = {run[0]: "head" for run in runs} | {f: "hidden" for run in runs for f in run[1:]}
        notices = {run[0]: texts.widen_selection(self.policy, [_short(self.views[f].figure) for f in run])
                   for run in runs}
        shown_again: list[str] = []
        for figure_id, view in self.views.items():
            if view.figure.section not in chapters:
                continue
            wanted = state.get(figure_id)
            if wanted == view.collapsed and wanted != "head":
                continue
            previous, view.collapsed = view.collapsed, wanted
            if wanted is None:
                shown_again.append(figure_id)
                continue
            # hidden (a later figure of a run) or the notice (the run's first)
            if wanted == "hidden":
                self._hidden.add(figure_id)
            else:
                self._hidden.discard(figure_id)
            if view.chart is not None:
                # under the notice the chart stays in its box, hidden by a class (dashboard.css): a child taken
                # out and put back would be a new view in the browser, embedded anew at every such change
                if wanted == "head":
                    view.chart.add_class(COLLAPSED_CLASS)
                else:
                    view.chart.remove_class(COLLAPSED_CLASS)
            else:
                view.box.children = [view.caption, *([] if wanted == "head" else [self.table]), view.extra]
            if wanted == "head":
                view.extra.value = f'<div class="km-note" data-km="widen">{escape(notices[figure_id])}</div>'
            elif previous == "head":  # hidden now: no notice of its own (its table comes when shown again)
                view.extra.value = self._extra(view, self.frames[figure_id], table=False)
        self._write_hidden()
        return shown_again

    def _show(self, *figure_ids: str) -> None:
        """Figures out of their run of withheld figures: shown again, their charts and tables back."""
        for figure_id in figure_ids:
            view = self.views[figure_id]
            self._hidden.discard(figure_id)
            if view.chart is not None:
                view.chart.remove_class(COLLAPSED_CLASS)
            else:
                view.box.children = [view.caption, self.table, view.extra]
        self._write_hidden()

    def _write_hidden(self) -> None:
        for key, style in self.hidden_styles.items():
            rules = ",".join(f".km-figure.km-{figure_id}" for figure_id in sorted(self._hidden)
                             if self.views[figure_id].figure.section == key)
            style.value = f"<style>{rules} {{ display: none !important; }}</style>" if rules else ""

    # --- chapters -----------------------------------------------------------------------------------------
    def open_section(self, key: str) -> None:
        """Build one chapter's figures (once) and draw them for the current filters."""
        if key in self.opened:
            return
        self.opened.add(key)
        label = catalog().sections[key]
        views = [self._figure_view(m.figure) for m in registry() if m.figure.section == key]
        charts = [view for view in views if view.chart is not None]
        for view in charts if key in FIRST_SCREEN else charts[:CHARTS_IN_VIEW]:
            view.eager = True
        heading = self._html(f'<div class="km-page"><h2>{escape(label)}</h2></div>')
        for view in views:
            self.views[view.figure.id] = view
            if view.figure.id in self.frames:
                self._draw(view, self.frames[view.figure.id])
        # a grid of cards (static/dashboard.css), set before the cards arrive: charts take their card's width
        self.sections[key].add_class("km-chapter")
        self.hidden_styles[key] = widgets.HTML(layout=self._no_box, style=self._html_style)
        self.sections[key].children = [self.hidden_styles[key], heading, *(view.box for view in views)]
        if self.frames:
            self._show(*self._collapse())

    def open_later(self) -> None:
        """Build the chapters not opened yet in the background, one per turn of the kernel's event loop, once the
        browser has drawn the page: a click on a tab then only shows what is there (the browser draws a hidden
        chapter's charts while it is idle). The browser says the page is drawn when a chart of the first screen
        comes into view (``ChartWidget.in_view``); a widget made while it still sets up the page's widgets could
        leave the page without its dashboard. A click or a filter change is handled between two chapters; a
        chapter opened by its tab meanwhile is not built again. Without a running loop (a script, a test), at
        once."""
        waiting = [key for key in self.sections if key not in self.opened]

        def next_chapter() -> None:
            self.open_section(waiting.pop(0))  # nothing to do for a chapter opened by its tab meanwhile
            if waiting:
                loop.call_soon(next_chapter)

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            for key in waiting:
                self.open_section(key)
            return
        first_screen = [view.chart for view in self.views.values()
                        if view.chart is not None and view.figure.section in FIRST_SCREEN]

        def drawn(change: dict) -> None:
            if change["new"]:
                for chart in first_screen:  # once
                    chart.unobserve(drawn, names="in_view")
                if waiting:
                    loop.call_later(OPEN_LATER_DELAY_S, next_chapter)

        for chart in first_screen:
            chart.observe(drawn, names="in_view")

    def _tab_opened(self, change: dict) -> None:
        # the index comes from the browser, but ipywidgets' Tab only accepts one of its own children (or None):
        # it can only pick one of this provider's own chapters
        if change["new"] is not None:
            self.open_section(list(self.sections)[change["new"]])

    # --- layout -------------------------------------------------------------------------------------------
    def _downloads(self) -> list[widgets.Widget]:
        """Report (PDF) and data (Excel) of the current selection, and printing every chapter."""
        def pdf_html() -> tuple[str, str]:
            filters = self.filters()
            name = downloads.file_stem(self.provider_id, filters)
            return name, downloads.report_html(self.provider_id, self.provider_name, filters, self.frames, self.policy)

        def pdf(made: tuple[str, str]) -> tuple[str, str, bytes]:
            return f"{made[0]}.pdf", downloads.PDF, downloads.report_pdf(made[1])

        def xlsx() -> tuple[str, str, bytes]:
            filters = self.filters()
            content = downloads.figures_workbook(self.provider_name, filters, self.frames)
            return f"{downloads.file_stem(self.provider_id, filters)}.xlsx", downloads.XLSX, content

        return [
            downloads.DownloadButton("Download rapport (PDF)", pdf_html, slow=pdf),
            downloads.DownloadButton("Download gegevens (Excel)", xlsx),
            downloads.DownloadButton("Afdrukken (alle hoofdstukken)", self.open_all, action="print"),
        ]

    def _html(self, value: str = "") -> widgets.HTML:
        return widgets.HTML(value, layout=self._plain, style=self._html_style)

    def _figure_view(self, figure: Figure) -> _FigureView:
        caption = self._html(f'<div class="km-caption">{escape(figure.caption(self.provider_name))}</div>')
        chart = ChartWidget(layout=self._plain) if figure.chart != "keurmerk_table" else None
        extra = self._html()
        children = [caption, chart if chart is not None else self.table, extra]
        box = widgets.VBox(children, layout=self._figure_box)
        box.add_class("km-figure")
        box.add_class(f"km-{figure.id}")
        return _FigureView(figure, caption, chart, extra, box)

    def _layout(self) -> widgets.Widget:
        cat = catalog()
        header = self._html(
            f'{pieces.STYLE}<div class="km-page"><h1>Tevredenheidsonderzoek Blik op Werk — '
            f'{escape(self.provider_name)}</h1><div class="km-sub">Uw resultaten naast het gemiddelde van '
            f"alle deelnemers aan het onderzoek. Kies hieronder periode, diensten, provincies en vragenlijst.</div></div>"
        )
        filters = controls.filter_bar(self.period, self.pickers)
        actions = widgets.HBox(self._downloads())
        actions.add_class("km-actions")
        labels = {key: label for key, label in cat.sections.items()
                  if key != "inburgering" or self.options.has_inburgering}
        # what an unopened chapter shows until its figures arrive (one widget, shown in every such tab)
        loading = self._html('<div class="km-page"><div class="km-note">Dit hoofdstuk wordt geladen…</div></div>')
        for key in labels:
            self.sections[key] = widgets.VBox([loading], layout=self._plain)
            self.sections[key].add_class(f"km-section-{key}")
        self.tabs = widgets.Tab(children=list(self.sections.values()), titles=list(labels.values()))
        self.tabs.add_class("km-tabs")
        self.tabs.observe(self._tab_opened, names="selected_index")
        for key in FIRST_SCREEN:
            self.open_section(key)
        footer = self._html(
            '<div class="km-note" data-km="footer">Alleen volledig ingevulde vragenlijsten tellen mee. '
            f"{escape(texts.significance_note())} "
            f"{escape(texts.small_group_rule(self.policy))} Provinciegrenzen: CBS "
            "Gebiedsindelingen 2023 via PDOK (CC BY 4.0), vereenvoudigd door cartomap/nl.</div>"
        )
        page = widgets.VBox([controls.PageStyle(), header, filters, widgets.HBox([self.status, self.progress]),
                             actions, self.tiles, self.tabs, footer])
        page.add_class("km-dashboard")
        return page


def _kept(cache: dict[Filters, dict[str, pl.DataFrame]], filters: Filters, limit: int,
          compute: Callable[[], dict[str, pl.DataFrame]]) -> dict[str, pl.DataFrame]:
    """``cache[filters]``, computed the first time; the selection used longest ago goes once ``limit`` are kept
    (a long session's memory stays bounded). The kernel's data do not change while it runs: nothing goes stale."""
    if filters in cache:
        cache[filters] = cache.pop(filters)  # the most recent last
    else:
        if len(cache) >= limit:
            del cache[next(iter(cache))]
        cache[filters] = compute()
    return cache[filters]


def in_background(work: Callable[[], object]) -> None:
    """Run ``work`` in a thread of its own once the running cell or message handler is done: the kernel's event
    loop stays free to answer the browser, which asks for the widgets' state (a page just streamed) or for the
    charts coming into view (a filter change) just then. Without a running loop (a script, a test), at once."""

    def run() -> None:
        try:
            work()
        except Exception:  # noqa: BLE001 - a thread's exception would vanish; the kernel's log shows it
            traceback.print_exc()

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        work()
    else:
        loop.call_soon(threading.Thread(target=run, name="keurmerk-background", daemon=True).start)


def flush_messages(timeout: float = 0.5) -> None:
    """Wait until the widget messages sent so far have left the kernel. ipykernel sends them from its IOPub
    thread, which gets the GIL only now and then while this thread computes: messages sent before a long
    computation would reach the browser after it. Outside a kernel (a script, a test), nothing to wait for."""
    from IPython import get_ipython

    iopub = getattr(getattr(get_ipython(), "kernel", None), "iopub_thread", None)
    if iopub is None:
        return
    sent = threading.Event()
    iopub.schedule(sent.set)  # run by the IOPub thread after every message scheduled before it
    sent.wait(timeout)


class ProviderApp:
    """One per dashboard kernel: prepared before the visitor arrives, opened for the visitor's link."""

    def __init__(self, con: duckdb.DuckDBPyConnection, benchmark: Cube, policy: Policy,
                 screens: KeptScreens | None = None):
        self.con, self.benchmark, self.policy, self.screens = con, benchmark, policy, screens
        self.title: str | None = None  # the browser tab's title once a link opened a dashboard
        self.shown_kept_screen = False  # first_screen showed this link's kept first screen
        self.page: widgets.Widget | None = None  # the dashboard open() made, once it is done

    @classmethod
    def prepare(cls, db: str | Path | None = None, warm_up: bool = True) -> ProviderApp:
        from keurmerk.serve import database_path

        path = Path(db or database_path())
        stamp = snapshot_stamp(path)
        con = open_readonly(path)
        # A kernel asks DuckDB for small aggregates only; without a limit DuckDB keeps every block the
        # provider's cube query scanned (≈ 55 MB of answers at national scale) cached until the kernel ends.
        con.execute(f"SET memory_limit = '{KERNEL_DUCKDB_MEMORY}'")
        # first screens are kept for the publication this connection reads: none if one came in meanwhile
        screens = KeptScreens.beside(path, stamp) if stamp and stamp == snapshot_stamp(path) else None
        app = cls(con, Cube.load(con), load_policy(), screens)  # as stored at publication (metrics.store_cube)
        if warm_up:
            app.warm_up()
        app.drop_cache()
        return app

    def drop_cache(self) -> None:
        """Hand back the blocks DuckDB cached while the kernel was prepared (the stored cube's, mostly): lowering
        the memory limit evicts them. The connection stays open on the snapshot the kernel was prepared on; the
        visitor's own cells are a few blocks read then."""
        with contextlib.suppress(duckdb.OutOfMemoryException):  # blocks still held by a query stay cached
            self.con.execute("SET memory_limit = '1MB'")
        self.con.execute(f"SET memory_limit = '{KERNEL_DUCKDB_MEMORY}'")

    def warm_up(self) -> None:
        """Compute every figure once for a provider without rows (the benchmark's side in full, the provider's
        side empty) and draw one chart of each kind, so that the visitor's first render does not pay Altair's
        and polars' first-use costs. Runs in the pre-heated kernel. First use is per code path, not per row:
        computing the whole benchmark as if it were one provider's own data, or drawing every figure, would cost
        the server several times as much and spare the visitor nothing more."""
        latest = max(self.benchmark.invitations, default=None)
        nobody = CubeSource.load(self.con, "\x00", benchmark=self.benchmark)  # no such provider: no own rows
        frames = compute_all(nobody, Filters(provider=nobody.provider, period=latest), self.policy, suppress=True)
        drawn: set[str] = set()
        for metric in registry():
            if metric.chart not in drawn and (chart := chart_for(metric.chart, frames[metric.id], "Aanbieder")):
                to_spec(chart)
                drawn.add(metric.chart)

    def close(self) -> None:
        """Close the warehouse connection once the visitor's dashboard is built: everything it shows is in memory
        then, and DuckDB's cache of what the provider's query scanned goes with the connection (≈ 70 MB of a
        kernel at national scale; bench/dashboard.py)."""
        self.con.close()

    def provider_name(self, provider_id: str) -> str | None:
        return provider_names(self.con, [provider_id]).get(provider_id)

    def dashboard(self, access: Access, provider_id: str) -> ProviderDashboard:
        if not access.provider_allowed(provider_id):
            raise AccessDenied("Deze link geeft geen toegang tot deze aanbieder.")
        name = self.provider_name(provider_id)
        if name is None:
            raise AccessDenied("Voor deze aanbieder zijn geen gegevens gevonden.")
        source = CubeSource.load(self.con, provider_id, benchmark=self.benchmark)
        return ProviderDashboard(
            source, provider_id, name, FilterOptions.for_provider(self.con, provider_id), self.policy
        )

    def _screen_key(self, provider_id: str, params: Mapping[str, str]) -> dict[str, str]:
        # everything a provider page's first screen depends on besides the publication and the code (KeptScreens)
        return {"provider": provider_id, "policy": repr(self.policy),
                **{name: params.get(name, "") for name in LINK_SELECTION}}

    @staticmethod
    def _access(params: Mapping[str, str]) -> Access:
        access = verify(params.get(QUERY_PARAMETER))
        if not access.provider_id:
            # the staff page opens a provider through a fresh link for that provider only: a staff token in a
            # provider URL could be forwarded with another provider's id
            raise AccessDenied(
                "Deze link opent geen aanbieder. Kies een aanbieder in de benchmarkverkenner: die opent het "
                "dashboard met een eigen link."
            )
        return access

    def first_screen(self, params: Mapping[str, str]) -> None:
        """Show the first screen kept for this link's provider and selection (keurmerk.dashboard.first_screen), if
        a visit made one since the data were published; nothing for any other link. Called in a cell of its own
        before :meth:`open`: Voilà streams a cell's output when the cell ends, so the page gets it at once."""
        from IPython.display import display

        try:
            access = self._access(params)
        except AccessDenied:
            return  # open() shows the refusal
        if self.screens is not None and (html := self.screens.get(self._screen_key(access.provider_id, params))):
            display(bundle(html), raw=True)
            self.shown_kept_screen = True

    def open(self, params: Mapping[str, str]) -> widgets.Widget:
        """The dashboard for the link in ``params`` (the page's query string), or a refusal without data.

        The page's ``first_screen`` is the snapshot ``keurmerk.serve.show`` streams before it (kept for the next
        visit), or None when :meth:`first_screen` showed the kept one already."""
        try:
            access = self._access(params)
            dashboard = self.dashboard(access, access.provider_id)
        except AccessDenied as denied:
            return widgets.HTML(pieces.refusal(str(denied)))
        dashboard.select_periods(params.get(PERIOD_PARAMETER))
        controls.choose(dashboard.services, params.get("diensten"))  # a staff link keeps the staff page's filters
        controls.choose(dashboard.provinces, params.get("provincies"))
        key = self._screen_key(access.provider_id, params)
        self._keep_tiles(dashboard, key)
        dashboard.refresh(tiles_later=True)
        reactions.add_to_provider_page(dashboard, access, self.con)  # hoor en wederhoor: a tab of its own
        dashboard.open_later()
        self.title = f"{dashboard.provider_name} — Uw resultaten — Blik op Werk Keurmerk"
        page = dashboard.widget
        page.first_screen = None
        if not self.shown_kept_screen:
            try:
                page.first_screen = snapshot(page)
            except Exception:  # noqa: BLE001 - the snapshot only hastens the page: without it, the live widgets
                traceback.print_exc()  # draw it as before (the kernel's log says why)
            else:
                if self.screens is not None:
                    self.screens.put(key, page.first_screen)
        self.page = page
        return page

    def _keep_tiles(self, dashboard: ProviderDashboard, key: dict[str, str]) -> None:
        """The year over year tiles of the link's selection, a computation per period: those a visit before kept
        are shown at once; else, once computed, they are kept for the next visit, with the first screen kept
        again to show them (it was written while they were on their way; filled in, the tabs below them are
        where the live page has them)."""
        if self.screens is None:
            return
        screens, tiles_key, linked = self.screens, {**key, "part": "tiles"}, dashboard.filters()
        if (kept := screens.get(tiles_key)) is not None:
            dashboard.kept_tiles[linked] = kept
            return

        def keep(filters: Filters, tiles: str) -> None:
            if filters != linked:
                return
            dashboard.on_tiles = None
            screens.put(tiles_key, tiles)
            # the front page as this link shows it, once open() is done (tiles computed at once, without an event
            # loop, are in its own snapshot), and not after the visitor chose another tab or selection
            if self.page is not None and dashboard.filters() == linked and not dashboard.tabs.selected_index:
                screens.put(key, snapshot(self.page))

        dashboard.on_tiles = keep
