"""HTML pieces shared by the dashboards and the reports that are not charts: table 1.1, notes, free texts, refusals.

Pure functions from metric frames to HTML strings. Everything that comes from data is escaped here (free-text
answers may hold markup or script: they are shown as text, never interpreted).
"""

from __future__ import annotations

from html import escape
from importlib.resources import files

import polars as pl

from keurmerk.catalog import catalog
from keurmerk.formatting import integer, number, percent
from keurmerk.metrics import norms
from keurmerk.metrics.texts import STRENGTH_KINDS
from keurmerk.policy import Policy

__all__ = [
    "STYLE",
    "keurmerk_table",
    "norm_verdict",
    "note",
    "refusal",
    "front_lists",
    "strengths_list",
    "texts_list",
]

# One small stylesheet for every dashboard and report (system fonts, no web fonts: nothing leaves the machine).
STYLE = "<style>\n" + files("keurmerk").joinpath("static", "pieces.css").read_text("utf-8") + "</style>\n"


def note(text: str) -> str:
    return f'<div class="km-note">{escape(text)}</div>'


def refusal(message: str) -> str:
    """What a visitor without a valid link sees: the reason, and no data."""
    return f'{STYLE}<div class="km-page"><div class="km-refusal" data-km="refusal"><h2>Geen toegang</h2><p>{escape(message)}</p></div></div>'


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "–"
    return '<span class="km-yes">ja</span>' if value else '<span class="km-no">nee</span>'


def keurmerk_table(frame: pl.DataFrame) -> str:
    """Tabel 1.1 Resultaten voor het keurmerk, with the benchmark beside it (the provider's own view: in full)."""
    if frame.is_empty():
        return note("Geen respondenten in deze selectie.")
    head = (
        "<thead><tr><th></th><th>Netto steekproef</th><th>Ingevuld</th><th>Respons (%)</th>"
        "<th>Rapportcijfer</th><th>Gecorrigeerd cijfer</th><th>Publicatie</th>"
        '<th class="km-bench">Respons alle deelnemers (%)</th><th class="km-bench">Rapportcijfer alle deelnemers</th>'
        "</tr></thead>"
    )
    rows = []
    for block, part in frame.group_by("block", maintain_order=True):
        rows.append(f'<tr class="km-block"><td colspan="9">{escape(str(block[0]))}</td></tr>')
        for r in part.iter_rows(named=True):
            total = r["service"] is None
            label = "Totaal" if total else r["label"]
            rows.append(
                f'<tr class="{"km-total" if total else ""}">'
                f"<td>{escape(label)}</td><td>{integer(r['net_sample'])}</td><td>{integer(r['completed'])}</td>"
                f"<td>{number(r['response_pct'])}</td><td>{number(r['grade'])}</td>"
                f"<td>{number(r['corrected_grade'])}</td><td>{_yes_no(r['published'])}</td>"
                f'<td class="km-bench">{number(r["bench_response_pct"])}</td>'
                f'<td class="km-bench">{number(r["bench_grade"])}</td></tr>'
            )
    return f'<table class="km-table" data-km="table_1_1">{head}<tbody>{"".join(rows)}</tbody></table>'


def norm_verdict(frame: pl.DataFrame, policy: Policy) -> str:
    """Per block: does the provider meet the satisfaction norm, and which mean decided (DESIGN §5)."""
    if frame.is_empty():
        return ""
    lines = []
    for r in frame.filter(pl.col("service").is_null()).iter_rows(named=True):
        if r["grade"] is None:
            lines.append(f"<li>{escape(r['block'])}: geen rapportcijfers in deze selectie.</li>")
            continue
        met, basis = r["norm_met"], r["norm_basis"]
        verdict = '<span class="km-yes">voldoet</span>' if met else '<span class="km-no">voldoet niet</span>'
        how = "op de gewone gemiddelden" if basis == "raw" else norms.correction_text(policy)
        lines.append(f"<li>{escape(r['block'])}: {verdict} aan de norm, {how}.</li>")
    rule = norms.norm_text(policy)
    return f'<ul class="km-list" data-km="norm">{"".join(lines)}</ul><div class="km-note">{escape(rule)}</div>'


def texts_list(frame: pl.DataFrame) -> str:
    """The provider's own "anders, namelijk" answers of one figure, escaped."""
    if "texts" not in frame.columns:
        return ""
    texts = [t for texts in frame["texts"].to_list() if texts for t in texts]
    if not texts:
        return ""
    items = "".join(f"<li>{escape(t)}</li>" for t in texts)
    return f'<div class="km-note">Anders, namelijk:</div><ul class="km-texts" data-km="texts">{items}</ul>'


def strengths_list(frame: pl.DataFrame, provider_name: str, lists: tuple[str, ...] | None = None) -> str:
    """The front page's lists as the seed words them: per list (the staff's items of fig. 3.9, the organisation's
    of fig. 3.10) "… scoren/scoort relatief goed op de volgende punten:", then the mirror list "relatief minder
    goed"; a sentence when nothing qualifies. ``lists``: only these lists (keys of the catalogue's
    ``front_lists``), so that a page can put the pie between them as the seed does."""
    parts = []
    for front in catalog().front_lists:
        if lists is not None and front.key not in lists:
            continue
        for kind, label in STRENGTH_KINDS.items():
            rows = frame.filter((pl.col("list") == front.key) & (pl.col("kind") == kind)) if frame.height else frame
            if rows.is_empty():
                parts.append(f'<div class="km-note" data-km="{front.key}-{kind}-none">'
                             f"{escape(front.none(provider_name, label))}</div>")
                continue
            mark = "✓" if kind == "strength" else "!"
            items = "".join(
                f"<li>{mark} {escape(r['item'])} <span class=\"km-bench\">({percent(r['share_satisfied'])} tevreden; "
                f"alle deelnemers {percent(r['bench_share_satisfied'])})</span></li>"
                for r in rows.iter_rows(named=True)
            )
            parts.append(
                f'<div class="km-caption">{escape(front.heading(provider_name, label, rows.height))}</div>'
                f'<ul class="km-list" data-km="{front.key}-{kind}">{items}</ul>'
            )
    return "".join(parts)


def front_lists(figure_chart: str, frames: dict[str, pl.DataFrame], strengths_id: str, provider_name: str) -> str:
    """The lists a front-page figure shows under it, in the seed's order: the first list (staff) under the
    strengths chart, the pie of its first item next, then the other lists (organisation) under the pie."""
    keys = tuple(f.key for f in catalog().front_lists)
    frame = frames.get(strengths_id, pl.DataFrame())
    if figure_chart == "strengths":
        return strengths_list(frame, provider_name, keys[:1])
    if figure_chart == "strength_pie":
        return strengths_list(frame, provider_name, keys[1:])
    return ""
