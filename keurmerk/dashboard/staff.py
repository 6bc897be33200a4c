"""The staff page (benchmarkverkenner): every provider at once, for Blik op Werk staff only.

``StaffApp.prepare()`` runs in a pre-heated kernel before anyone asks: imports, the read-only warehouse connection,
and a warm-up of every code path on a small made-up data set (no warehouse data). ``StaffApp.open(params)`` then
verifies the signed link: only a *staff* token opens the page; anyone else gets a refusal, and the warehouse is
not read at all. After verification the kernel sums the provider view's cells into :class:`StatusCells` (once per
kernel) and builds the page; a filter change then recomputes all providers in one pass
(:func:`keurmerk.metrics.status.status_table`).

The page: the distribution of providers on every headline figure (grade, response, promotor score, share
satisfied per aspect, the results' success rate) against the benchmark and the norms — the catalogue's
``staff_figures``, each drawn by its kind (:data:`keurmerk.metrics.registry.FIGURE_KINDS`); a sortable, searchable
table of all providers whose names open each provider's dashboard (staff link); trends over the periods,
nationally and per dienst, with the providers that changed most; and the providers under or near a norm.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property, lru_cache
from html import escape
from pathlib import Path
from typing import Any

import anywidget
import duckdb
import ipywidgets as widgets
import polars as pl
import traitlets

from keurmerk import formatting, pieces
from keurmerk.access import OPENED_BY_STAFF_DAYS, QUERY_PARAMETER, AccessDenied, link_url, make_token, verify
from keurmerk.catalog import catalog
from keurmerk.charts import ChartWidget, to_spec
from keurmerk.charts.staff import staff_chart
from keurmerk.dashboard import controls, downloads, reactions, staff_extras
from keurmerk.filters import Filters
from keurmerk.metrics import texts
from keurmerk.metrics.registry import figure_kind
from keurmerk.metrics.status import (
    STATUS_LABELS,
    WATCH_LABELS,
    StaffView,
    StatusCells,
    headline_form,
    movers,
    search_key,
    status_table,
    watch_list,
)
from keurmerk.policy import Policy, load_policy
from keurmerk.warehouse import open_readonly

__all__ = ["StaffApp", "StaffExplorer", "StaffTable", "provider_link", "table_rows"]

DASHBOARD = "aanbieder"  # the provider dashboard notebook staff links open
STAFF_ONLY = "Deze pagina is alleen voor medewerkers van Blik op Werk. Open haar met uw medewerkerslink."
LINK_BASE = ""  # links relative to the server root: "/voila/render/aanbieder.ipynb?…", whatever the host

# Dutch formatting (Babel) costs ~50 µs a number; the table formats thousands of them per filter change, from few
# distinct values (one decimal): remember them.
number = lru_cache(maxsize=8192)(formatting.number)
percent = lru_cache(maxsize=8192)(formatting.percent)
integer = lru_cache(maxsize=8192)(formatting.integer)

# --- the sortable table (anywidget: sorting, searching and selecting happen in the browser) ---------------------

_STATIC = Path(__file__).resolve().parent / "static"


class StaffTable(anywidget.AnyWidget):
    """A sortable, searchable table of providers. The rows carry display texts and sort keys; sorting and the
    name search run in the browser (instant for 500 rows), the state is synced back (``sort_by``, ``descending``,
    ``query``, ``selected``). The kernel only reads ``selected``, and checks it against the provider ids it sent."""

    _esm = _STATIC / "staff_table.js"
    _css = _STATIC / "staff_table.css"

    columns = traitlets.List().tag(sync=True)
    rows = traitlets.List().tag(sync=True)
    sort_by = traitlets.Unicode("name").tag(sync=True)
    descending = traitlets.Bool(False).tag(sync=True)
    query = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)


# column key, label, alignment, hover text, sort descending on the first click
COLUMNS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("name", "Aanbieder", "left wrap", "Klik op de naam om het dashboard van de aanbieder te openen", False),
    ("completed", "Ingevuld", "right", "Volledig ingevulde vragenlijsten", True),
    ("response", "Respons", "right", "Ingevuld gedeeld door de netto steekproef", True),
    ("grade", "Cijfer", "right", "Gemiddeld rapportcijfer", True),
    (
        "corrected",
        "Gecorr.",
        "right",
        "Gecorrigeerd cijfer: elk cijfer onder de correctiegrens telt als die grens",
        True,
    ),
    ("diff", "Verschil", "right", "Verschil met alle deelnemers; * = significant (95%-interval)", True),
    ("trend", "Trend", "right", "Verandering van het cijfer ten opzichte van de vorige periode", True),
    ("norm", "Tevredenheid", "left wrap", "Voldoet aan de norm, en op welk gemiddelde", False),
    ("publication", "Publicatie (dienst)", "left wrap small", "Per dienst: wordt het cliëntcijfer gepubliceerd?", False),
    ("success", "Succes", "right", "Succesvol afgeronde trajecten als deel van de voltooide", True),
    ("results", "Resultaten", "left", "Elke dienst haalt de drempel voor succesvol afgeronde trajecten", False),
    ("status", "Keurmerk", "left wrap", "Beide normen samen", False),
    ("commissioner", "Opdrachtg.", "right", "Rapportcijfer van opdrachtgevers", True),
)

_STATUS_ORDER = {"not_met": 0, "incomplete": 1, "met": 2}
_STATUS_CLASS = {"met": "km-yes", "not_met": "km-no", "incomplete": "km-muted"}


def provider_link(token: str, provider_id: str) -> str:
    """A fresh, short-lived staff link bound to one provider's dashboard (read-only: staff cannot react in the
    provider's name): the staff ``token`` never goes into a URL that could be forwarded (it is not used here)."""
    fresh = make_token(provider_id, role="staff", days=OPENED_BY_STAFF_DAYS)
    return link_url(LINK_BASE, DASHBOARD, fresh)


def _signed(value: float | None) -> str:
    if value is None:
        return "–"
    text = number(abs(value))
    return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else text)


def _norm_cell(r: dict[str, Any], policy: Policy) -> tuple[str, str, str]:
    """(text, class, hover) of the satisfaction norm."""
    if r["norm_met"] is None:
        return "geen cijfers", "km-muted", ""
    basis = "cijfer" if r["norm_basis"] == "raw" else "gecorrigeerd"
    failing = "; ".join(
        f"{f['block']}, {f['label']}: {number(f['grade'])} (gecorrigeerd {number(f['corrected_grade'])}) "
        f"< {number(f['norm'])}"
        for f in (r["norm_failing"] or [])
    )
    if r["norm_met"]:
        return f"voldoet ({basis})", "km-yes", failing
    return "voldoet niet", "km-no", failing


def table_rows(status: pl.DataFrame, token: str, policy: Policy) -> list[dict[str, Any]]:
    """The staff table's rows: Dutch display texts, sort keys, classes and hover texts per column."""
    rows = []
    for r in status.iter_rows(named=True):
        norm_text, norm_class, norm_title = _norm_cell(r, policy)
        if r["norm_met"] and (r["n"] or 0) < policy.min_n:  # a verdict on a handful of questionnaires
            norm_text, norm_class = f"{norm_text} (n = {integer(r['n'] or 0)})", "km-muted"
            norm_title = f"{norm_title}; indicatief: minder dan {integer(policy.min_n)} ingevulde vragenlijsten"
        publication = r["publication"] or []
        success_title = "; ".join(
            f"{x['label']}: {percent(x['success_pct'])}{' *' if x['significant'] else ''} (alle deelnemers "
            f"{percent(x['bench_success_pct'])}; drempel {percent(x['threshold'], 0)}; "
            f"{integer(x['completed_trajectories'])} trajecten)"
            for x in (r["results"] or [])
        )
        results_text = {True: "voldoet", False: "voldoet niet", None: "geen gegevens"}[r["results_met"]]
        trend_text = {"up": "↑", "down": "↓", "flat": "→"}.get(r["trend"] or "", "")
        trend = f"{trend_text} {_signed(r['grade_change'])}" if r["grade_change"] is not None else "–"
        diff = _signed(r["grade_diff"]) + (" *" if r["grade_significant"] else "")
        diff_class = ""
        if r["grade_significant"] and r["grade_diff"]:
            diff_class = "km-sig " + ("km-up" if r["grade_diff"] > 0 else "km-down")
        name = r["provider_name"] or r["provider_id"]
        rows.append(
            {
                "id": r["provider_id"],
                "name": name,
                "link": provider_link(token, r["provider_id"]),
                "cells": {
                    "name": name,
                    "completed": integer(r["completed"]),
                    "response": percent(r["response_pct"]),
                    "grade": number(r["grade"]),
                    "corrected": number(r["corrected_grade"]),
                    "diff": diff if r["grade_diff"] is not None else "–",
                    "trend": trend,
                    "norm": norm_text,
                    "publication": " · ".join(
                        f"{p['service']} {p['label']}: {'ja' if p['published'] else 'nee'}" for p in publication
                    )
                    or "–",
                    "success": percent(r["success_pct"]),
                    "results": results_text,
                    "status": STATUS_LABELS[r["status"]],
                    "commissioner": number(r["commissioner_grade"]),
                },
                "sort": {
                    "name": search_key(name),
                    "completed": r["completed"],
                    "response": r["response_pct"],
                    "grade": r["grade"],
                    "corrected": r["corrected_grade"],
                    "diff": r["grade_diff"],
                    "trend": r["grade_change"],
                    "norm": None
                    if r["norm_met"] is None
                    else (2 if r["norm_met"] and r["norm_basis"] == "raw" else 1 if r["norm_met"] else 0),
                    "publication": r["unpublished_services"],
                    "success": r["success_pct"],
                    "results": None if r["results_met"] is None else int(r["results_met"]),
                    "status": _STATUS_ORDER[r["status"]],
                    "commissioner": r["commissioner_grade"],
                },
                "classes": {
                    "norm": norm_class,
                    "results": {True: "km-yes", False: "km-no", None: "km-muted"}[r["results_met"]],
                    "status": _STATUS_CLASS[r["status"]],
                    "diff": diff_class,
                    "trend": {"up": "km-up", "down": "km-down"}.get(r["trend"] or "", ""),
                },
                "titles": {
                    "norm": norm_title,
                    "publication": "; ".join(
                        f"{p['label']}: {'gepubliceerd' if p['published'] else 'niet gepubliceerd'} "
                        f"({integer(p['completed'])} ingevuld, respons {percent(p['response_pct'])})"
                        for p in publication
                    ),
                    "success": success_title,
                    "grade": f"95%-interval {number(r['ci_low'])} – {number(r['ci_high'])}; n = {integer(r['n'])}"
                    if r["ci_low"] is not None
                    else "",
                    "diff": f"alle deelnemers: {number(r['bench_grade'])}",
                },
            }
        )
    return rows


# --- small HTML pieces ------------------------------------------------------------------------------------------

# The page's own cards, tags and detail box, on top of pieces.STYLE.
STAFF_STYLE = "<style>\n" + (_STATIC / "staff.css").read_text("utf-8") + "</style>\n"


def _summary(status: pl.DataFrame, filters: Filters) -> str:
    counts = dict(status.group_by("status").len().iter_rows())
    parts = [f"<b>{integer(status.height)}</b> aanbieders in deze selectie"]
    for key in ("met", "not_met", "incomplete"):
        if counts.get(key):
            parts.append(f'<span class="{_STATUS_CLASS[key]}">{integer(counts[key])} {STATUS_LABELS[key]}</span>')
    form = catalog().form(headline_form(filters)).label.lower()
    return (
        f'<div class="km-page"><div class="km-summary" data-km="summary">{" · ".join(parts)}</div>'
        f'<div class="km-note">Cijfer, respons en promotor score zijn die van {escape(form)}; '
        "de Keurmerkstatus combineert de tevredenheidsnorm (alle groepen) en de resultatennorm.</div></div>"
    )


def _watch_html(status: pl.DataFrame, token: str, limit: int = 60) -> str:
    shown = watch_list(status)
    if shown.is_empty():
        return pieces.note("Geen aanbieders onder of dicht bij een norm in deze selectie.")
    rows = []
    for r in shown.head(limit).iter_rows(named=True):
        tag = f'<span class="km-tag km-tag-{r["watch"]}">{escape(WATCH_LABELS[r["watch"]])}</span>'
        name = escape(r["provider_name"] or r["provider_id"])
        link = escape(provider_link(token, r["provider_id"]), quote=True)
        rows.append(
            f'<tr><td><a href="{link}" target="_blank" rel="noopener noreferrer">{name}</a></td>'
            f'<td class="km-left">{tag}</td><td>{number(r["grade"])}</td><td>{number(r["corrected_grade"])}</td>'
            f'<td>{percent(r["success_pct"])}</td><td class="km-left">{escape("; ".join(r["watch_reasons"] or []))}'
            "</td></tr>"
        )
    more = (
        f"<div class='km-note'>En nog {integer(shown.height - limit)} aanbieders.</div>" if shown.height > limit else ""
    )
    return (
        '<table class="km-table" data-km="watch"><thead><tr><th>Aanbieder</th><th class="km-left">Signaal</th>'
        '<th>Cijfer</th><th>Gecorrigeerd</th><th>Succes</th><th class="km-left">Waarom</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
        + more
    )


def _movers_html(status: pl.DataFrame, token: str, policy: Policy) -> str:
    moved = movers(status, policy)
    if moved.is_empty():
        return pieces.note(
            "Geen vorige periode om mee te vergelijken, of geen aanbieder met genoeg respondenten in beide periodes."
        )
    parts = []
    for direction, heading in (("up", "Grootste stijgers"), ("down", "Grootste dalers")):
        rows = []
        for r in moved.filter(pl.col("direction") == direction).iter_rows(named=True):
            link = escape(provider_link(token, r["provider_id"]), quote=True)
            rows.append(
                f'<tr><td><a href="{link}" target="_blank" rel="noopener noreferrer">'
                f"{escape(r['provider_name'] or r['provider_id'])}</a></td><td>{number(r['prev_grade'])}</td>"
                f"<td>{number(r['grade'])}</td><td class='{'km-yes' if direction == 'up' else 'km-no'}'>"
                f"{_signed(r['grade_change'])}</td><td>{integer(r['n'])}</td></tr>"
            )
        body = "".join(rows) or '<tr><td colspan="5" class="km-note">geen</td></tr>'
        parts.append(
            f'<div><div class="km-caption">{heading}</div><table class="km-table" data-km="movers-{direction}">'
            "<thead><tr><th>Aanbieder</th><th>Vorige periode</th><th>Nu</th><th>Verschil</th><th>n</th></tr></thead>"
            f"<tbody>{body}</tbody></table></div>"
        )
    return f'<div class="km-page km-grid">{"".join(parts)}</div>'


def _detail_html(status: pl.DataFrame, provider_id: str, token: str) -> str:
    rows = status.filter(pl.col("provider_id") == provider_id)
    if rows.is_empty():
        return ""
    r = rows.row(0, named=True)
    name = escape(r["provider_name"] or provider_id)
    link = escape(provider_link(token, provider_id), quote=True)
    results = (
        ", ".join(
            f"{escape(x['label'])} {percent(x['success_pct'])} (alle deelnemers {percent(x['bench_success_pct'])})"
            for x in (r["results"] or [])
        )
        or "geen resultaten aangeleverd"
    )
    reasons = escape("; ".join(r["watch_reasons"] or [])) or "geen bijzonderheden"
    return (
        f'<div class="km-page km-detail" data-km="detail"><b>{name}</b> — Keurmerk: '
        f'<span class="{_STATUS_CLASS[r["status"]]}">{STATUS_LABELS[r["status"]]}</span>. '
        f"Rapportcijfer {number(r['grade'])} (n = {integer(r['n'])}), gecorrigeerd {number(r['corrected_grade'])}; "
        f"succesvol afgerond: {results}. Signalen: {reasons}.<br>"
        f'<a href="{link}" target="_blank" rel="noopener noreferrer" data-km="open-dashboard">Open het dashboard van '
        f"{name} ↗</a></div>"
    )


# --- the page -----------------------------------------------------------------------------------------------------


class StaffExplorer:
    """The widgets of the staff page and ``refresh``, which recomputes everything for the current filters."""

    def __init__(self, cells: StatusCells, token: str, policy: Policy | None = None):
        self.cells, self.token, self.policy = cells, token, policy or load_policy()
        # the controls every dashboard shares (keurmerk.dashboard.controls)
        self.period = controls.period_picker(cells.periods)
        present = set(cells.respondents["service"].unique().to_list()) | set(cells.results["service"].to_list())
        # one control per filter dimension of this page (keurmerk.filters.FILTER_DIMENSIONS)
        self.pickers = controls.pickers("staff", {"services": present})
        self.services, self.provinces, self.audience = (self.pickers[f] for f in ("services", "provinces", "audience"))
        # commissioners have no province: the filter is hidden for them, with a word why
        self.no_province = widgets.HTML(
            '<div class="km-note" data-km="no-province">Opdrachtgevers hebben geen provincie: het filter op '
            "provincie geldt niet voor hen.</div>", layout=widgets.Layout(display="none"))
        self.audience.observe(self._audience_changed, names="value")
        self.status_line = widgets.HTML(layout=widgets.Layout(min_height="20px"))
        self.summary = widgets.HTML()
        self.table = StaffTable(
            columns=[
                {"key": k, "label": label, "align": align, "title": title, "descending_first": first}
                for k, label, align, title, first in COLUMNS
            ],
            sort_by="status",
            descending=False,
        )
        self.detail = widgets.HTML()
        self.charts = {figure.id: ChartWidget() for figure in catalog().staff_figures}  # the catalogue's
        self.watch = widgets.HTML()
        self.movers = widgets.HTML()
        self.status: pl.DataFrame | None = None
        self._debouncer = controls.watch({"period": self.period, **self.pickers}, self.refresh)
        self.table.observe(self._select, names="selected")
        self.widget = self._layout()

    def filters(self) -> Filters:
        first, last = self.period.value
        return Filters(
            period=None if first is None else (first, last),
            **{field: control.value for field, control in self.pickers.items()},
        )

    def refresh(self) -> pl.DataFrame:
        """Recompute every provider, every chart and list for the current filters."""
        self.status_line.value = '<span class="km-status">Bezig met bijwerken…</span>'
        filters = self.filters()
        policy = self.policy
        status = status_table(self.cells, filters, policy)
        self.status = status
        self.summary.value = _summary(status, filters)
        self.table.rows = [{**row, "link": staff_extras.keep_filters(row["link"], filters)}
                           for row in table_rows(status, self.token, policy)]
        self.watch.value = _watch_html(status, self.token) + staff_extras.small_groups_html(status, policy, lambda p: provider_link(self.token, p))
        self.movers.value = _movers_html(status, self.token, policy)
        self._draw(StaffView(self.cells, filters, policy, status))
        if self.table.selected:
            self._select()
        self.status_line.value = (
            f'<span class="km-status" data-km="status">{integer(status.height)} aanbieders in deze selectie '
            f"({escape(filters.describe())}).</span>"
        )
        return status

    def _draw(self, view: StaffView) -> None:
        """Every staff figure of the catalogue: its kind's metric (keurmerk.metrics.registry), then its chart."""
        for figure in catalog().staff_figures:
            frame = figure_kind(figure.chart).metric(view, figure)
            self.charts[figure.id].chart = staff_chart(
                figure, frame, view.policy, view.filters, services=view.trend_services  # the same panels on each
            )

    def _audience_changed(self, change: dict) -> None:
        commissioners = change["new"] == "commissioner"
        if commissioners:
            self.provinces.clear()
        self.provinces.layout.display = "none" if commissioners else None
        self.no_province.layout.display = None if commissioners else "none"

    def _download(self, fmt: str) -> tuple[str, str, bytes]:
        """The table as shown (every provider of the selection), for Excel or as CSV."""
        filters = self.filters()
        frame = staff_extras.export_frame(self.status if self.status is not None else pl.DataFrame())
        first, last = filters.periods or ("alle", "perioden")
        stem = f"aanbieders-{first}" + (f"-{last}" if last != first else "")
        if fmt == "csv":
            return f"{stem}.csv", downloads.CSV, downloads.table_csv(frame)
        return f"{stem}.xlsx", downloads.XLSX, downloads.table_workbook(
            frame, "Benchmarkverkenner — alle aanbieders", filters.describe())

    def _select(self, _change: object = None) -> None:
        chosen = self.table.selected  # written by the browser: only ever looked up among the rows sent
        if self.status is None or not chosen:
            self.detail.value = ""
            return
        self.detail.value = _detail_html(self.status, chosen, self.token)

    # --- layout -------------------------------------------------------------------------------------------
    def _section(self, title: str, *children: widgets.Widget, key: str) -> widgets.Widget:
        heading = widgets.HTML(f'<div class="km-page"><h2>{escape(title)}</h2></div>')
        box = widgets.VBox([heading, *children])
        box.add_class(f"km-section-{key}")
        return box

    def _layout(self) -> widgets.Widget:
        header = widgets.HTML(
            f'{pieces.STYLE}{STAFF_STYLE}<div class="km-page"><h1>Benchmarkverkenner — alle aanbieders</h1>'
            '<div class="km-sub">Voor medewerkers van Blik op Werk. Kies periode, diensten, provincies en doelgroep; '
            "alle aanbieders worden opnieuw berekend. Klik op een naam om het dashboard van die aanbieder te "
            "openen.</div></div>"
        )
        filters = controls.filter_bar(self.period, self.pickers, self.no_province)
        table_downloads = widgets.HBox([
            downloads.DownloadButton("Download tabel (Excel)", lambda: self._download("xlsx")),
            downloads.DownloadButton("Download tabel (CSV)", lambda: self._download("csv")),
        ])
        table_downloads.add_class("km-actions")
        def charts(section: str) -> list[widgets.Widget]:
            return [self.charts[f.id] for f in catalog().staff_figures if f.section == section]

        grid = widgets.HBox(charts("distribution"), layout=widgets.Layout(flex_flow="row wrap", grid_gap="8px 24px"))
        note = widgets.HTML(
            '<div class="km-note">Elke balk telt aanbieders; de lijnen zijn het gemiddelde van alle deelnemers en '
            "de normen. Aanbieders met minder dan "
            f"{integer(self.policy.min_n)} respondenten tellen in deze verdelingen niet mee (wel in de tabel).</div>"
        )
        table_note = widgets.HTML(
            '<div class="km-note">Klik op een kolomkop om te sorteren, op een rij voor details, op een naam om het '
            "dashboard te openen (nieuw tabblad). * Het verschil met alle deelnemers is significant: het "
            "95%-interval van de aanbieder sluit het gemiddelde van alle deelnemers uit.</div>"
        )
        page = widgets.VBox(
            [
                controls.PageStyle(),
                header,
                filters,
                self.status_line,
                self.summary,
                self._section("Verdeling van aanbieders", grid, *charts("aspects"), note, key="distribution"),
                self._section("Alle aanbieders", table_downloads, self.table, table_note, self.detail, key="table"),
                self._section("Aandacht nodig vóór de audit", self.watch, key="watch"),
                self._section(
                    "Trends",
                    widgets.HBox(charts("trends"), layout=widgets.Layout(flex_flow="row wrap")),
                    self.movers,
                    key="trends",
                ),
                widgets.HTML(
                    f'<div class="km-note">{escape(texts.TOTAL)}: alle deelnemers aan het onderzoek onder '
                    "dezelfde filters. Staffweergave: geen onderdrukking van kleine groepen.</div>"
                ),
            ]
        )
        page.add_class("km-dashboard")
        page.add_class("km-staff")
        return page


class StaffApp:
    """One per staff page kernel: prepared before the visitor arrives, opened for a verified staff link only."""

    def __init__(self, con: duckdb.DuckDBPyConnection, policy: Policy):
        self.con, self.policy = con, policy

    @classmethod
    def prepare(cls, db: str | Path | None = None, warm_up: bool = True) -> StaffApp:
        from keurmerk.serve import database_path

        app = cls(open_readonly(db or database_path()), load_policy())
        if warm_up:
            app.warm_up()
        return app

    def warm_up(self) -> None:
        """Run every computation and chart once on a tiny made-up warehouse (no real data is read), so that the
        visitor does not pay polars', Altair's and the t table's first-use costs."""
        explorer = StaffExplorer(_practice_cells(self.policy), "warm-up", self.policy)
        explorer.refresh()
        for chart in explorer.charts.values():
            to_spec(chart.chart)

    @cached_property
    def cells(self) -> StatusCells:
        """The warehouse aggregated per provider and cell: read once, and only after a staff link was verified."""
        return StatusCells.load(self.con, self.policy)

    def open(self, params: Mapping[str, str]) -> widgets.Widget:
        """The staff page for the link in ``params``, or a refusal without data (the warehouse is not read)."""
        token = params.get(QUERY_PARAMETER)
        try:
            access = verify(token)
            if not access.is_staff_wide:  # a staff link bound to one provider opens only that provider
                raise AccessDenied(STAFF_ONLY)
        except AccessDenied as denied:
            message = str(denied)
            if "persoonlijke link" in message:
                message = STAFF_ONLY
            return widgets.HTML(pieces.refusal(message))
        explorer = StaffExplorer(self.cells, token, self.policy)
        explorer.refresh()
        reactions.add_to_staff_page(explorer, access, self.con)  # hoor en wederhoor, under the summary
        return explorer.widget


def _practice_cells(policy: Policy) -> StatusCells:
    """A made-up data set of two providers for the warm-up (the shapes of the real cells, none of its data)."""
    rows = []
    for provider, grade in (("X1", 78), ("X2", 61)):
        for period in (2000, 2001):
            for form, audience, service, province in (
                ("client", "client", 8, "PV28"),
                ("commissioner", "commissioner", 8, None),
            ):
                rows.append(
                    {
                        "provider_id": provider,
                        "period": period,
                        "form": form,
                        "audience": audience,
                        "service": service,
                        "province": province,
                        "questionnaire": "regular",
                        "invited": 12,
                        "net_sample": 11,
                        "completed": 6,
                        "grade_n": 6,
                        "grade_total": 6 * grade,
                        "grade_squares": 6 * grade * grade + 60,
                        "grade_corrected": 6 * max(grade, 50),
                        "promoter_base": 6,
                        "promoter_n": 3,
                    }
                )
    aspects = [
        {
            **{k: r[k] for k in ("provider_id", "period", "form", "audience", "service", "province", "questionnaire")},
            "question_id": q.id,
            "opinion_n": 6,
            "satisfied_n": 5,
            "grade_total": 0,
        }
        for r in rows
        if r["form"] == "client"
        for q in catalog().aspect_questions("client")
    ]
    results = [
        {"provider_id": p, "period": y, "service": 8, "completed_trajectories": 10, "successful_trajectories": s}
        for p, s in (("X1", 8), ("X2", 4))
        for y in (2000, 2001)
    ]
    providers = [
        {"provider_id": "X1", "provider_name": "Oefenaanbieder 1"},
        {"provider_id": "X2", "provider_name": "Oefenaanbieder 2"},
    ]
    return StatusCells.from_frames(
        pl.DataFrame(rows), pl.DataFrame(aspects), pl.DataFrame(results), pl.DataFrame(providers), policy
    )
