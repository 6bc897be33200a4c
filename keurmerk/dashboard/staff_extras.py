"""The staff page's finish (issue 13): the small-group flag in the attention list, provider links that keep the
page's filters, and the table as a download. Kept apart from :mod:`keurmerk.dashboard.staff` so that the page
module only wires them in."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from urllib.parse import urlencode

import polars as pl

from keurmerk.filters import Filters
from keurmerk.formatting import integer, number
from keurmerk.metrics.status import STATUS_LABELS
from keurmerk.policy import Policy

__all__ = ["export_frame", "keep_filters", "small_groups_html"]


def small_groups_html(status: pl.DataFrame, policy: Policy, link: Callable[[str], str]) -> str:
    """Providers that meet the norm on fewer questionnaires than the small-group limit: flagged, not trusted."""
    small = status.filter(pl.col("norm_met") & (pl.col("n").fill_null(0) < policy.min_n)).sort("n")
    if small.is_empty():
        return ""
    rows = "".join(
        f'<tr><td><a href="{escape(link(r["provider_id"]), quote=True)}" target="_blank" '
        f'rel="noopener noreferrer">{escape(r["provider_name"] or r["provider_id"])}</a></td>'
        f'<td class="km-left"><span class="km-tag km-tag-incomplete">kleine groep</span></td>'
        f"<td>{integer(r['n'] or 0)}</td><td>{number(r['grade'])}</td></tr>"
        for r in small.iter_rows(named=True)
    )
    return (
        f'<div class="km-caption">Voldoet, maar op minder dan {integer(policy.min_n)} ingevulde vragenlijsten '
        '(indicatief)</div><table class="km-table" data-km="watch-small"><thead><tr><th>Aanbieder</th>'
        f'<th class="km-left">Signaal</th><th>n</th><th>Cijfer</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def keep_filters(link: str, filters: Filters) -> str:
    """A provider's dashboard opens on the staff page's period, diensten and provinces."""
    params = {}
    if filters.periods:
        first, last = filters.periods
        params["periode"] = str(first) if first == last else f"{first}-{last}"
    if filters.services:
        params["diensten"] = ",".join(map(str, filters.services))
    if filters.provinces:
        params["provincies"] = ",".join(filters.provinces)
    return f"{link}&{urlencode(params)}" if params else link


def export_frame(status: pl.DataFrame) -> pl.DataFrame:
    """The staff table's figures with Dutch column names, one row per provider (the Excel/CSV download)."""
    if status.is_empty():
        return pl.DataFrame()
    columns = {
        "provider_id": "Nummer", "provider_name": "Aanbieder", "completed": "Ingevuld", "response_pct": "Respons (%)",
        "grade": "Cijfer", "corrected_grade": "Gecorrigeerd cijfer", "grade_diff": "Verschil met alle deelnemers",
        "grade_change": "Verandering sinds vorige periode", "norm_met": "Voldoet aan tevredenheidsnorm",
        "success_pct": "Succesvol afgerond (%)", "results_met": "Voldoet aan resultatennorm",
        "commissioner_grade": "Cijfer opdrachtgevers", "n": "n",
    }
    present = [c for c in columns if c in status.columns]
    frame = status.select(present).rename({c: columns[c] for c in present})
    labels = {True: "ja", False: "nee", None: "–"}
    status_text = status["status"].replace_strict(STATUS_LABELS, default=None) if "status" in status.columns else None
    frame = frame.with_columns(
        pl.col(columns[c]).replace_strict(labels, default=None, return_dtype=pl.String)
        for c in ("norm_met", "results_met") if c in present
    )
    if status_text is not None:
        frame = frame.with_columns(status_text.alias("Keurmerk"))
    if "publication" in status.columns:
        frame = frame.with_columns(pl.Series("Publicatie (dienst)", [
            " · ".join(f"{p['service']} {p['label']}: {'ja' if p['published'] else 'nee'}" for p in (pubs or []))
            for pubs in status["publication"].to_list()]))
    return frame
