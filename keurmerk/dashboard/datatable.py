"""The text alternative of a chart: "toon als tabel", the numbers a chart draws as a plain HTML table.

One function for every chart kind: the columns a person needs (what, n, value, all participants, difference,
significant) are taken from the figure's frame when present, in that order, with Dutch headers and formatting.
Suppressed groups show "te weinig respondenten", as the chart does.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import polars as pl

from keurmerk.formatting import integer, number

__all__ = ["COLUMNS", "data_table", "scrollable"]

_Format = Callable[[object], str]


def _yes(value: object) -> str:
    return "–" if value is None else ("ja" if value else "nee")


def _signed(value: object) -> str:
    if value is None:
        return "–"
    text = number(value)
    return text if text.startswith("-") or text == "0,0" else f"+{text}"


# (column, header, format) in the order shown; a column missing from a frame is left out
COLUMNS: tuple[tuple[str, str, _Format], ...] = (
    ("audience_label", "Doelgroep", str),
    ("stage_label", "Stap", str),
    ("mode_label", "Wijze", str),
    ("name", "Provincie", str),
    ("block", "Groep", str),
    ("label", "Groep", str),
    ("kind_label", "Lijst", str),
    ("item", "Onderdeel", str),
    ("category", "Antwoord", str),
    ("n", "Aantal", integer),
    ("completed", "Ingevuld", integer),
    ("response_pct", "Respons (%)", number),
    ("grade", "Cijfer", number),
    ("share", "Aandeel (%)", number),
    ("share_satisfied", "Tevreden (%)", number),
    ("promoter_score", "Promotorscore (%)", number),
    ("bench_grade", "Cijfer alle deelnemers", number),
    ("bench_share", "Aandeel alle deelnemers (%)", number),
    ("bench_share_satisfied", "Tevreden alle deelnemers (%)", number),
    ("diff", "Verschil", _signed),
    ("significant", "Significant", _yes),
)


def _cell(row: dict, column: str, fmt: _Format) -> str:
    value = row.get(column)
    if value is None:
        return "–"
    return fmt(value)


def data_table(frame: pl.DataFrame, caption: str) -> str:
    """A collapsed "Toon als tabel" with the chart's numbers; empty for an empty frame."""
    if frame.is_empty():
        return ""
    # 'label' and 'block' both read "Groep": table 1.1 has both, show the block only when there is no label
    columns = [(c, h, f) for c, h, f in COLUMNS if c in frame.columns]
    if "label" in frame.columns:
        columns = [col for col in columns if col[0] != "block"]
    if "item" in frame.columns and "share_satisfied" in frame.columns and "category" in frame.columns:
        columns = [col for col in columns if col[0] != "share_satisfied" and col[0] != "bench_share_satisfied"]
    if not columns:
        return ""
    head = "".join(f"<th scope=\"col\">{escape(h)}</th>" for _, h, _ in columns)
    suppressed = frame["suppressed"].to_list() if "suppressed" in frame.columns else [False] * frame.height
    rows = []
    for row, hidden in zip(frame.iter_rows(named=True), suppressed, strict=True):
        cells = []
        for i, (column, _, fmt) in enumerate(columns):
            text = "te weinig respondenten" if hidden and i > 0 and column in ("n", "grade", "share") else _cell(
                row, column, fmt)
            cells.append(f"<td>{escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        '<details class="km-datatable" data-km="datatable"><summary>Toon als tabel</summary>'
        f'<div class="km-scroll" role="region" tabindex="0" aria-label="{escape(caption)}, als tabel">'
        f'<table class="km-table"><caption class="km-visually-hidden">{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div></details>"
    )


def scrollable(table_html: str, label: str) -> str:
    """A wide table in a region that scrolls sideways with a visible cue (shadow, and a hint on a phone)."""
    return (
        '<div class="km-scroll-hint" aria-hidden="true">Schuif de tabel opzij voor alle kolommen →</div>'
        f'<div class="km-scroll" role="region" tabindex="0" aria-label="{escape(label)}">{table_html}</div>'
    )
