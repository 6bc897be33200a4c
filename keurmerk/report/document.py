"""The report as one self-contained HTML document: the seed report's structure, the dashboard's figures.

Two steps, so that a batch can time them apart:

1. :func:`chart_specs` draws every figure with the dashboards' chart functions
   (:func:`keurmerk.charts.figures.chart_for`) and turns each into a Vega-Lite dict with the house theme and
   the Dutch locale (:func:`keurmerk.charts.to_spec`);
2. :func:`render_html` writes the page: title page with the highlights, table of contents, the chapters of
   :mod:`keurmerk.report.outline` (table 1.1 and the other HTML pieces from :mod:`keurmerk.pieces`),
   colophon. The Vega runtime (``keurmerk.charts.runtime.RUNTIME_PATH``) is inlined once; the specs travel as
   one JSON block; a small module script draws them as SVG. A Content-Security-Policy forbids every request,
   so the file opens offline and cannot call out even if a spec named a URL. The print stylesheet gives A4
   pages, a page break before every chapter, figures kept whole and page numbers in the margin.

Every string that comes from data (provider name, labels, free texts) is escaped: in HTML with
:func:`html.escape`, inside the JSON block with ``<`` written as ``\\u003c``, inside CSS strings with CSS escapes.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from html import escape
from typing import Any

import polars as pl
from altair.utils.schemapi import debug_mode
from babel.dates import format_date

from keurmerk import pieces
from keurmerk.catalog import Figure, catalog
from keurmerk.charts import embed_options, to_spec
from keurmerk.charts.figures import chart_for, map_attribution
from keurmerk.charts.runtime import runtime_code
from keurmerk.formatting import LOCALE, integer, number, percent
from keurmerk.metrics import registry
from keurmerk.metrics.registry import figure_kind, n_line, strengths_figure
from keurmerk.policy import Policy
from keurmerk.report import reactions
from keurmerk.report.outline import (
    CHAPTERS,
    SERVICES_TABLE,
    Chapter,
    Facts,
    Paragraph,
    Text,
    chapter_of_section,
    period_text,
    unplaced_figures,
)

__all__ = ["ReportData", "chart_specs", "n_line", "render_html"]

TITLE = "Tevredenheidsonderzoek Blik op Werk"
NOT_APPLICABLE = "Niet van toepassing."


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows: the provider, the period, every figure's frame and the policy."""

    provider_id: str
    provider_name: str
    period: int
    frames: dict[str, pl.DataFrame]
    policy: Policy
    generated: date = field(default_factory=date.today)
    reactions: tuple[Any, ...] = ()  # granted reactions of the period (keurmerk.reactions.Reaction): the appendix
    selection: str | None = None  # the dashboard's filters in words (a download of a selection), else None

    @property
    def facts(self) -> Facts:
        return Facts(self.provider_name, self.period, self.frames, self.policy)


def _shown_figures(data: ReportData) -> list[Figure]:
    """The registry's figures that the report draws as charts (tables and not-applicable chapters left out)."""
    sections = chapter_of_section()
    facts = data.facts
    shown = []
    for metric in registry():
        chapter = sections.get(metric.figure.section)
        if chapter is not None and chapter.applies is not None and not chapter.applies(facts):
            continue
        shown.append(metric.figure)
    return shown


def chart_specs(data: ReportData, timings: dict[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """Figure id → Vega-Lite dict of every chart the report shows, drawn by the dashboards' chart functions.

    Altair's debug mode (jsonschema validation of every object as it is built) is off while drawing: it costs
    about a third of the time, and the chart builders' own tests validate every kind. ``timings`` (when given)
    accumulates CPU seconds of this process under ``charts`` (building the Altair charts), ``specs`` (turning
    them into dicts with the theme) and ``kind:<chart kind>`` (both, per chart kind; ``count:<chart kind>``
    counts the charts).
    """
    with debug_mode(False):
        return _chart_specs(data, timings)


def _chart_specs(data: ReportData, timings: dict[str, float] | None) -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    clock = time.process_time
    for figure in _shown_figures(data):
        started = clock()
        chart = chart_for(figure.chart, data.frames[figure.id], data.provider_name, policy=data.policy)
        built = clock()
        if chart is None:  # a table (keurmerk_table): drawn as HTML
            continue
        specs[figure.id] = to_spec(chart)
        if timings is not None:
            done = clock()
            for key, seconds in (
                ("charts", built - started),
                ("specs", done - built),
                (f"kind:{figure.chart}", done - started),
            ):
                timings[key] = timings.get(key, 0.0) + seconds
            timings[f"count:{figure.chart}"] = timings.get(f"count:{figure.chart}", 0) + 1
    return specs


# --- HTML helpers -------------------------------------------------------------------------------------------
def _on_cover(figure: Figure) -> bool:
    return figure_kind(figure.chart).cover


def _text(text: Text, data: ReportData) -> str | None:
    value = text(data.facts) if callable(text) else text
    return None if value is None else value.replace("{aanbieder}", data.provider_name)


def _paragraphs(texts: Iterable[Text], data: ReportData) -> str:
    return "".join(f"<p>{escape(t)}</p>" for t in (_text(x, data) for x in texts) if t)


def _json_for_script(value: Any) -> str:
    """JSON that can sit inside a <script> element: no '<' at all, so no '</script>' can close it early."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _css_string(text: str) -> str:
    """A CSS string literal for ``text``: everything but letters, digits and spaces as a CSS escape."""
    return '"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in text) + '"'


def _anchor(kind: str, number: str) -> str:
    return f"{kind}-{number.replace('.', '-')}"


@cache
def _runtime_module() -> str:
    """The Vega runtime as a module body whose exports become one local object, ``__kmVega``.

    The bundle ends in ``export{a as vegaEmbed,b as vegaLite,c as vega};``; inlined in the page, nothing can
    import it, so the export list becomes ``const __kmVega = {vegaEmbed: a, ...};``.
    """
    code = runtime_code()
    match = re.search(r"export\s*\{([^{}]*)\}\s*;?\s*$", code)
    if match is None:
        raise RuntimeError("de Vega-runtime eindigt niet op een export-lijst; bouw hem opnieuw (build_runtime)")
    names = []
    for item in match.group(1).split(","):
        local, _, exported = (part.strip() for part in item.partition(" as "))
        names.append(f"{exported or local}: {local}")
    body = code[: match.start()] + "const __kmVega = {" + ", ".join(names) + "};\n"
    if "</script" in body.lower():
        raise RuntimeError("de Vega-runtime bevat '</script' en kan niet inline")
    return body


_DRAW = """
const kmCharts = JSON.parse(document.getElementById("km-charts").textContent);
async function kmDraw(el) {
  const spec = kmCharts.specs[el.dataset.kmChart];
  if (!spec.config) spec.config = kmCharts.config;
  try {
    await __kmVega.vegaEmbed(el, spec, kmCharts.embed);
    el.dataset.kmRendered = "1";
  } catch (error) {
    el.textContent = "Deze figuur kon niet worden getekend (" + error.message + ").";
    el.classList.add("km-chart-error");
  }
}
Promise.all(Array.from(document.querySelectorAll("[data-km-chart]"), kmDraw)).then(() => {
  document.documentElement.dataset.kmReady = "1";
});
"""

# Only inline code and data: no request can leave the page (Vega compiles expressions, hence 'unsafe-eval').
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
)

_CSS = """
<style>
:root { --ink: #1f2933; --muted: #52606d; --blue: #005a8c; --line: #e4e7eb; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 780px; padding: 24px 28px 48px; font-size: 14px; line-height: 1.5; }
h1, h2, h3, h4 { line-height: 1.25; }
h2 { font-size: 22px; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 2px solid var(--blue); }
h3 { font-size: 17px; margin: 22px 0 8px; color: var(--blue); }
h4 { font-size: 14px; margin: 16px 0 4px; }
p { margin: 6px 0 10px; orphans: 3; widows: 3; }
.km-cover { display: flex; flex-direction: column; padding-top: 40px; }
.km-cover .km-figure { margin-top: 36px; }
.km-kicker { font-size: 15px; letter-spacing: .04em; text-transform: uppercase; color: var(--blue); font-weight: 600; }
.km-cover h1 { font-size: 36px; margin: 10px 0 6px; }
.km-period { font-size: 16px; color: var(--muted); margin-bottom: 28px; }
.km-keys { display: grid; grid-template-columns: auto 1fr; gap: 6px 20px; margin: 0; font-size: 15px; }
.km-keys dt { color: var(--muted); }
.km-keys dd { margin: 0; font-weight: 600; }
.km-cover-foot { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
.km-figure { margin: 14px 0 20px; break-inside: avoid; page-break-inside: avoid; }
.km-keep { break-inside: avoid; page-break-inside: avoid; }
.km-front, .km-toc, .km-chapter { margin-top: 56px; }
.km-figure figcaption { font-weight: 600; font-size: 14px; margin: 0 0 6px; }
.km-chart { min-height: 40px; }
.km-chart .vega-embed { max-width: 100%; }
.km-chart svg { max-width: 100%; height: auto; }
.km-chart-error, .km-notice { color: var(--muted); font-style: italic; border-left: 3px solid #d5d9dd; padding: 4px 10px; }
.km-n { color: var(--muted); font-size: 12px; margin-top: 2px; }
.km-subhead { font-size: 14px; font-weight: 600; margin: 16px 0 4px; break-after: avoid; }
.km-toc ol { list-style: none; padding: 0; margin: 0; }
.km-toc li { display: flex; align-items: baseline; gap: 6px; margin: 3px 0; }
.km-toc li.km-toc-chapter { font-weight: 600; margin-top: 10px; }
.km-toc li.km-toc-paragraph { padding-left: 28px; }
.km-toc a { color: inherit; text-decoration: none; }
.km-toc .km-toc-fill { flex: 1; border-bottom: 1px dotted #9aa3ab; transform: translateY(-4px); }
.km-toc .km-toc-page { min-width: 2.2em; text-align: right; font-variant-numeric: tabular-nums; }
.km-colophon dl { display: grid; grid-template-columns: 11em 1fr; gap: 4px 16px; }
.km-colophon dt { color: var(--muted); }
.km-colophon dd { margin: 0; }
table.km-table { font-size: 12px; }
.km-table th, .km-table td { padding: 4px 6px; }
.km-services th:last-child, .km-services td:last-child { text-align: left; }
table[data-km="table_1_1"] { width: 100%; }
table[data-km="table_1_1"] td:first-child { min-width: 13em; }
@page { size: A4; margin: 16mm 15mm 18mm 15mm;
  @bottom-left { content: FOOTER; font-family: system-ui, sans-serif; font-size: 8pt; color: #52606d; }
  @bottom-right { content: "pagina " counter(page) " van " counter(pages); font-family: system-ui, sans-serif;
                  font-size: 8pt; color: #52606d; } }
@page :first { @bottom-left { content: none; } @bottom-right { content: none; } }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  .km-cover { height: 255mm; padding-top: 40mm; box-sizing: border-box; }
  .km-cover-foot { margin-top: auto; }
  .km-front, .km-toc, .km-chapter { break-before: page; page-break-before: always; margin-top: 0; }
  h2, h3, h4, .km-subhead { break-after: avoid; page-break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  .km-screen-only { display: none; }
}
</style>
"""


def _services_table(period: int) -> str:
    cat = catalog()
    rows = "".join(f"<tr><td>dienst {s.code}</td><td>{escape(s.label)}</td></tr>" for s in cat.services)
    notes = "".join(
        f'<div class="km-note">NB dienst {s.code} ({escape(s.label)}) wordt na {s.last_period} niet meer '
        "aangeboden.</div>"
        for s in cat.services
        if s.last_period is not None and s.last_period < period
    )
    return (
        f'<figure class="km-figure" id="{SERVICES_TABLE}" data-figure="{SERVICES_TABLE}">'
        "<figcaption>tabel 1.2 Diensten</figcaption>"
        '<table class="km-table km-services"><thead><tr><th>Dienst</th><th>Benaming</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>{notes}</figure>"
    )


class _Page:
    """Writes the body of one report; collects the table of contents on the way."""

    def __init__(self, data: ReportData, specs: dict[str, dict[str, Any]]):
        self.data, self.specs = data, specs
        self.toc: list[tuple[str, str, str]] = []  # (level, anchor, text)
        self.figures = {f.id: f for f in catalog().figures}

    # figures ----------------------------------------------------------------------------------------------
    def figure(self, figure_id: str, notice: str | None = None) -> str:
        data = self.data
        if figure_id == SERVICES_TABLE:
            return _services_table(data.period)
        figure = self.figures[figure_id]
        frame = data.frames.get(figure_id, pl.DataFrame())
        caption = f"<figcaption>{escape(figure.caption(data.provider_name))}</figcaption>"
        attributes = f'id="{figure_id}" data-figure="{figure_id}" data-kind="{escape(figure.chart)}"'
        if notice is not None:
            body = f'<div class="km-notice" data-km="notice">{escape(notice)}</div>'
        elif figure_kind(figure.chart).table:
            body = pieces.keurmerk_table(frame) + pieces.norm_verdict(frame, data.policy)
        elif figure_id in self.specs:
            body = f'<div class="km-chart" data-km-chart="{figure_id}" role="img"></div>'
            if line := n_line(figure.chart, frame, data.policy):
                body += f'<div class="km-n" data-km="n">{escape(line)}</div>'
            body += pieces.texts_list(frame)
            if figure_kind(figure.chart).front_lists:  # the seed's order: staff list, pie, organisation
                body += pieces.front_lists(figure.chart, data.frames, strengths_figure(), data.provider_name)
        else:
            body = f'<div class="km-notice" data-km="notice">{escape("Geen figuur voor deze gegevens.")}</div>'
        return f'<figure class="km-figure" {attributes}>{caption}{body}</figure>'

    # structure --------------------------------------------------------------------------------------------
    def cover(self) -> str:
        data = self.data
        name = escape(data.provider_name)
        keys = []
        totals = data.facts.totals()
        for form, word in (("client", "cliënten"), ("commissioner", "opdrachtgevers"), ("inburgering", "inburgeraars")):
            row = totals.get(form)
            if not row:
                continue
            grade = number(row["grade"]) if row["grade"] is not None else "–"
            bench = f" (alle deelnemers {number(row['bench_grade'])})" if row.get("bench_grade") is not None else ""
            keys.append((f"Rapportcijfer {word}", f"{grade}{bench}"))
            keys.append(
                (
                    f"Respons {word}",
                    f"{integer(row['completed'])} van {integer(row['net_sample'])} ({percent(row['response_pct'])})",
                )
            )
        met = [row["norm_met"] for row in totals.values() if row.get("norm_met") is not None]
        if met:
            keys.append(("Norm tevredenheid klanten", "gehaald" if all(met) else "niet gehaald"))
        items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in keys)
        stamp = format_date(data.generated, "full", locale=LOCALE)
        period_line = (
            f'<div class="km-period" data-km="selection">selectie: {escape(data.selection)}</div>'
            if data.selection  # a dashboard's download: its filters, which may span periods
            else f'<div class="km-period">meetperiode: {escape(period_text(data.period))}</div>'
        )
        return (
            '<header class="km-cover" id="titel">'
            f'<div class="km-kicker">{escape(TITLE)}</div><h1>{name}</h1>'
            f"{period_line}"
            f'<dl class="km-keys" data-km="keys">{items}</dl>'
            f"{''.join(self.figure(f.id) for f in catalog().figures if f.section == 'samenvatting' and _on_cover(f))}"
            f'<div class="km-cover-foot">Rapport voor {name} ({escape(data.provider_id)}) · gemaakt op '
            f"{escape(stamp)}</div></header>"
        )

    def front(self) -> str:
        figures = [f for f in catalog().figures if f.section == "samenvatting" and not _on_cover(f)]
        self.toc.append(("chapter", "samenvatting", "In het kort"))
        body = "".join(self.figure(f.id) for f in figures)
        return (
            f'<section class="km-front" id="samenvatting"><h2>In het kort</h2>'
            f"{_paragraphs(('De belangrijkste uitkomsten voor {aanbieder} op een rij, naast die van alle deelnemers aan het onderzoek.',), self.data)}"
            f"{body}</section>"
        )

    def paragraph(self, paragraph: Paragraph, applicable: bool) -> str:
        data = self.data
        anchor = _anchor("par", paragraph.number)
        title = f"{paragraph.number} {_text(paragraph.title, data)}"
        self.toc.append(("paragraph", anchor, title))
        texts = (lambda x: _paragraphs(x, data)) if applicable else (lambda x: "")  # no words about no data
        # a heading, the words that introduce a figure and the figure stay on one page: one unbreakable unit
        head = f'<h3 id="{anchor}">{escape(title)}</h3>' + texts(paragraph.intro)
        if not paragraph.blocks:
            return head
        parts = []
        for block in paragraph.blocks:
            unit = head
            head = ""
            if block in paragraph.subheads:
                unit += f'<div class="km-subhead">{escape(paragraph.subheads[block])}</div>'
            unit += texts(paragraph.before.get(block, ()))
            unit += self.figure(block, None if applicable else NOT_APPLICABLE)
            parts.append(f'<div class="km-keep">{unit}</div>' + texts(paragraph.after.get(block, ())))
        return "".join(parts)

    def chapter(self, chapter: Chapter, extra: list[str]) -> str:
        data = self.data
        anchor = _anchor("ch", chapter.number)
        title = f"{chapter.number} {chapter.title}"
        self.toc.append(("chapter", anchor, title))
        applicable = chapter.applies is None or chapter.applies(data.facts)
        parts = [
            f'<section class="km-chapter" id="{anchor}" data-chapter="{chapter.key}"><h2>{escape(title)}</h2>',
            _paragraphs(chapter.intro, data),
        ]
        if not applicable:
            parts.append(
                f'<div class="km-notice" data-km="notice">{escape(_text(chapter.not_applicable, data) or "")}</div>'
            )
        parts += [self.paragraph(p, applicable) for p in chapter.paragraphs]
        if extra:  # figures a later catalogue added and the outline does not name yet
            parts.append("".join(self.figure(f, None if applicable else NOT_APPLICABLE) for f in extra))
        parts.append("</section>")
        return "".join(parts)

    def colophon(self, number_: str) -> str:
        data, p = self.data, self.data.policy
        anchor = _anchor("ch", number_)
        title = f"{number_} Contact en colofon"
        self.toc.append(("chapter", anchor, title))
        facts = [
            ("Aanbieder", f"{data.provider_name} ({data.provider_id})"),
            ("Meetperiode", period_text(data.period)),
            ("Gemaakt op", format_date(data.generated, "full", locale=LOCALE)),
            ("Vergelijking", "alle deelnemers aan het onderzoek in dezelfde meetperiode, deze aanbieder inbegrepen"),
            ("Norm", f"gemiddeld minstens {number(p.norm_total)} in totaal en {number(p.norm_service)} per dienst"),
            ("Kleine groepen", f"niet getoond onder {integer(p.min_n)} respondenten"),
            (
                "Onzekerheid",
                f"{percent(p.confidence * 100, 0)}-intervallen (t voor gemiddelden, "
                f"{'Wilson' if p.share_interval == 'wilson' else 'Wald'} voor aandelen)",
            ),
            ("Kaart", map_attribution()),
            ("Contact", f"{p.contact_organisation}, {p.contact_details}"),
        ]
        items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
        texts = (
            f"Voor vragen over dit onderzoek kunt u contact opnemen met {p.contact_organisation} "
            f"({p.contact_details}). In de eerste drie weken na publicatie van dit rapport kunt u gebruikmaken van "
            "hoor en wederhoor.",
            "Bij dit onderzoek is veel zorg besteed aan het beschermen van de anonimiteit van de cliënten. Het is "
            "niet toegestaan om op basis van dit rapport cliënten te benaderen over de door hen ingevulde "
            "vragenlijst. Het gebruik van cijfers of teksten uit dit rapport als toelichting of ondersteuning is "
            "toegestaan mits de bron duidelijk wordt vermeld. Aan de resultaten kunnen geen rechten worden "
            "ontleend.",
        )
        return (
            f'<section class="km-chapter km-colophon" id="{anchor}" data-chapter="colofon">'
            f"<h2>{escape(title)}</h2>{_paragraphs(texts, data)}<dl>{items}</dl></section>"
        )

    def table_of_contents(self) -> str:
        rows = []
        for level, anchor, text in self.toc:
            rows.append(
                f'<li class="km-toc-{level}"><a href="#{anchor}">{escape(text)}</a>'
                f'<span class="km-toc-fill"></span><span class="km-toc-page" data-for="{anchor}"></span></li>'
            )
        return f'<nav class="km-toc" id="inhoud"><h2>Inhoudsopgave</h2><ol>{"".join(rows)}</ol></nav>'

    def body(self) -> str:
        cover, front = self.cover(), self.front()
        extra = unplaced_figures()
        by_section = chapter_of_section()
        chapters = [
            self.chapter(ch, [f for s, ids in extra.items() if by_section.get(s) is ch for f in ids]) for ch in CHAPTERS
        ]
        colophon = self.colophon(str(len(CHAPTERS) + 1))
        if appendix := reactions.appendix(self.data.reactions, self.data.provider_name, self.data.period):
            self.toc.append(("chapter", reactions.ANCHOR, reactions.TITLE))
        return cover + front + self.table_of_contents() + "".join(chapters) + colophon + appendix


def _shared_config(specs: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The specs with the theme's config (locale, fonts, colours) written once instead of in every spec."""
    shared: dict[str, Any] | None = None
    lean: dict[str, Any] = {}
    for figure_id, spec in specs.items():
        config = spec.get("config")
        if shared is None and config is not None:
            shared = config
        if config is not None and config == shared:
            spec = {k: v for k, v in spec.items() if k != "config"}
        lean[figure_id] = spec
    return lean, shared


def render_html(data: ReportData, specs: dict[str, dict[str, Any]]) -> str:
    """The whole report as one self-contained HTML page (see the module docstring)."""
    page = _Page(data, specs)
    body = page.body()
    lean, config = _shared_config(specs)
    charts = _json_for_script({"specs": lean, "config": config, "embed": embed_options()})
    footer = f"{TITLE} · {data.provider_name} · {data.period}"
    css = _CSS.replace("FOOTER", _css_string(footer))
    title = f"{TITLE} — {data.provider_name} — {data.period}"
    return (
        '<!DOCTYPE html>\n<html lang="nl"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="keurmerk report"><title>{escape(title)}</title>'
        f'{pieces.STYLE}{css}</head><body data-km-provider="{escape(data.provider_name)}">'
        '<noscript><div class="km-notice">De figuren van dit rapport worden met JavaScript getekend; zet '
        "JavaScript aan om ze te zien.</div></noscript>"
        f"{body}"
        f'<script type="application/json" id="km-charts">{charts}</script>'
        f'<script type="module">{_runtime_module()}\n{_DRAW}</script>'
        "</body></html>\n"
    )
