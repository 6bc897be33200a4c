"""The public search page (zoekmachine): keurmerkhouders with their *published* grades only, no link needed.

Search by name, dienst and province, per period. For each provider the page shows what the publication rule
allows and nothing else: the published client grade of each dienst with its n, the commissioners' grade (always
published, shown from ``min_n`` grades on) and the period. An unpublished grade never reaches this module:
:func:`keurmerk.metrics.status.public_listing` drops it, and this module only formats what that function returns.
There is no respondent-level row anywhere on the page.

``PublicApp.prepare()`` aggregates the warehouse in the pre-heated kernel (the page is the same for everyone);
``PublicApp.open(params)`` builds the page (the link's parameters are not needed, and ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb
import ipywidgets as widgets
import polars as pl

from keurmerk.catalog import catalog
from keurmerk.dashboard import html
from keurmerk.dashboard.provider import Debouncer
from keurmerk.formatting import integer, number, percent
from keurmerk.metrics.status import StatusCells, public_listing, search_key
from keurmerk.policy import Policy, load_policy
from keurmerk.warehouse import open_readonly

__all__ = ["MAX_RESULTS", "PublicApp", "PublicSearch", "result_cards", "search"]

MAX_RESULTS = 25  # cards shown at once; more asks the visitor to narrow the search

PUBLIC_STYLE = """
<style>
.km-results { display: flex; flex-direction: column; gap: 10px; max-width: 900px; }
.km-result { border: 1px solid #e4e7eb; border-radius: 4px; padding: 10px 14px; }
.km-result h3 { font-size: 17px; margin: 0 0 2px; color: #005a8c; }
.km-result .km-table { width: 100%; }
.km-result td.km-grade { font-weight: 600; font-size: 15px; }
.km-count { color: #52606d; font-size: 13px; margin: 6px 0; }
</style>
"""


def search(
    listing: pl.DataFrame, name: str | None = None, service: int | None = None, province: str | None = None
) -> pl.DataFrame:
    """The providers of a :func:`public_listing` whose name contains ``name`` (case and accents ignored), that
    were surveyed for dienst ``service`` and work in ``province`` (PV code)."""
    keep = pl.lit(True)
    if name and (key := search_key(name.strip())):
        keep = keep & pl.col("search_key").str.contains(key, literal=True)
    if service is not None:
        keep = keep & pl.col("services").list.contains(int(service))
    if province is not None:
        keep = keep & pl.col("provinces").list.contains(province)
    return listing.filter(keep)


def result_cards(found: pl.DataFrame, policy: Policy, limit: int = MAX_RESULTS) -> str:
    """One card per provider with its published grades (escaped; numbers in Dutch)."""
    cat = catalog()
    if found.is_empty():
        return html.note("Geen keurmerkhouders gevonden. Probeer een andere naam, dienst of provincie.")
    cards = []
    for r in found.head(limit).iter_rows(named=True):
        provinces = ", ".join(cat.province(p).name for p in r["provinces"]) or "–"
        lines = []
        for g in r["grades"] or []:
            label = g["label"] if g["form"] == "client" else g["block"]
            lines.append(
                f"<tr><td>{html.escape(label)}</td><td class='km-grade'>{number(g['grade'])}</td>"
                f"<td>{integer(g['n'])}</td></tr>"
            )
        for u in r["unpublished"] or []:
            label = u["label"] if u["form"] == "client" else u["block"]
            lines.append(
                f"<tr><td>{html.escape(label)}</td><td colspan='2' class='km-note'>niet gepubliceerd</td></tr>"
            )
        if r["commissioner_grade"] is not None:
            lines.append(
                f"<tr><td>Opdrachtgevers</td><td class='km-grade'>{number(r['commissioner_grade'])}</td>"
                f"<td>{integer(r['commissioner_n'])}</td></tr>"
            )
        else:
            lines.append("<tr><td>Opdrachtgevers</td><td colspan='2' class='km-note'>te weinig respondenten</td></tr>")
        cards.append(
            f'<div class="km-result" data-km="result"><h3>{html.escape(r["provider_name"])}</h3>'
            f'<div class="km-sub">Meetperiode {r["period"]} · werkgebied: {html.escape(provinces)}</div>'
            '<table class="km-table"><thead><tr><th>Cliënten per dienst</th><th>Rapportcijfer</th>'
            f"<th>Aantal (n)</th></tr></thead><tbody>{''.join(lines)}</tbody></table></div>"
        )
    count = f"{integer(found.height)} keurmerkhouder{'s' if found.height != 1 else ''} gevonden"
    if found.height > limit:
        count += f"; de eerste {integer(limit)} staan hieronder. Verfijn uw zoekopdracht om de rest te zien"
    return (
        f'<div class="km-count" data-km="count">{count}.</div>'
        f'<div class="km-results" data-km="results">{"".join(cards)}</div>'
    )


def _rule(policy: Policy) -> str:
    return (
        f"Een rapportcijfer van cliënten wordt gepubliceerd als minstens {integer(policy.publish_min_completed)} "
        f"cliënten de vragenlijst volledig invulden en de respons minstens {percent(policy.publish_min_response_pct, 0)} "
        "was. Het cijfer van opdrachtgevers wordt altijd gepubliceerd, maar pas getoond vanaf "
        f"{integer(policy.min_n)} respondenten. n is het aantal cijfers waarop het gemiddelde rust. Het werkgebied "
        "zijn de provincies waar de cliënten van de aanbieder wonen."
    )


class PublicSearch:
    """The widgets of the search page and ``refresh``."""

    def __init__(self, cells: StatusCells, policy: Policy | None = None):
        self.cells, self.policy = cells, policy or load_policy()
        cat = catalog()
        periods = sorted({p for p in cells.respondents["period"].unique().to_list()}, reverse=True)
        self.period = widgets.Dropdown(
            options=[(str(p), p) for p in periods], description="Periode", layout=widgets.Layout(width="200px")
        )
        self.name = widgets.Text(
            placeholder="bijvoorbeeld: Partner in Werk",
            description="Naam",
            continuous_update=True,
            layout=widgets.Layout(width="360px"),
        )
        surveyed = set(cells.respondents.filter(pl.col("audience") == "client")["service"].unique().to_list())
        self.service = widgets.Dropdown(
            options=[("Alle diensten", None), *((s.label, s.code) for s in cat.services if s.code in surveyed)],
            description="Dienst",
            layout=widgets.Layout(width="460px"),
        )
        self.province = widgets.Dropdown(
            options=[("Alle provincies", None), *((p.name, p.code) for p in cat.provinces)],
            description="Provincie",
            layout=widgets.Layout(width="300px"),
        )
        self.results = widgets.HTML()
        self._listings: dict[int, pl.DataFrame] = {}
        self._debouncer = Debouncer(self.refresh)
        for key, control in (
            ("period", self.period),
            ("name", self.name),
            ("service", self.service),
            ("province", self.province),
        ):
            control.add_class(f"km-search-{key}")
            control.observe(self._debouncer.trigger, names="value")
        self.widget = self._layout()

    def listing(self, period: int) -> pl.DataFrame:
        """The period's published listing (computed once per period)."""
        if period not in self._listings:
            self._listings[period] = public_listing(self.cells, period, self.policy)
        return self._listings[period]

    def refresh(self) -> pl.DataFrame:
        if self.period.value is None:
            self.results.value = html.note("Nog geen gegevens.")
            return pl.DataFrame()
        found = search(self.listing(self.period.value), self.name.value, self.service.value, self.province.value)
        self.results.value = result_cards(found, self.policy)
        return found

    def _layout(self) -> widgets.Widget:
        header = widgets.HTML(
            f'{html.STYLE}{PUBLIC_STYLE}<div class="km-page"><h1>Zoek een keurmerkhouder</h1>'
            '<div class="km-sub">De tevredenheid van cliënten en opdrachtgevers over dienstverleners met het '
            "Blik op Werk Keurmerk, zoals gemeten in het onafhankelijke tevredenheidsonderzoek.</div></div>"
        )
        controls = widgets.HBox(
            [widgets.VBox([self.name, self.service]), widgets.VBox([self.province, self.period])],
            layout=widgets.Layout(flex_flow="row wrap"),
        )
        footer = widgets.HTML(
            f'<div class="km-page"><div class="km-note">{html.escape(_rule(self.policy))}</div></div>'
        )
        page = widgets.VBox([header, controls, self.results, footer])
        page.add_class("km-dashboard")
        page.add_class("km-public")
        return page


class PublicApp:
    """One per search page kernel; everything is prepared before the visitor arrives."""

    def __init__(self, con: duckdb.DuckDBPyConnection, cells: StatusCells, policy: Policy):
        self.con, self.cells, self.policy = con, cells, policy

    @classmethod
    def prepare(cls, db: str | Path | None = None) -> PublicApp:
        from keurmerk.serve import database_path

        con = open_readonly(db or database_path())
        policy = load_policy()
        app = cls(con, StatusCells.load(con, policy, aspects=False), policy)
        if app.cells.periods:
            public_listing(app.cells, max(app.cells.periods), policy)  # warm-up: polars' first-use costs
        return app

    def open(self, params: Mapping[str, str] | None = None) -> widgets.Widget:
        """The search page (no link needed; parameters are ignored)."""
        page = PublicSearch(self.cells, self.policy)
        page.refresh()
        return page.widget
