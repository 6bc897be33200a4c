"""Year over year: the headline figures per period, with the change since the previous period (issue 13).

Four tiles (client grade, response, promotor score, share satisfied), each with the value of the last year of the
selection, the change since the period before it (marked when significant) and a small trend line over every
period of the provider, under the selection's other filters (dienst, province, questionnaire). A range of
periods is thus shown per year here, while the chapters below merge it.

Significance of a change, at 95%: grades by the difference of two means, its standard error taken from each
year's t-interval; shares (response, promotor score, share satisfied) by a two-proportion z-test. The share
satisfied pools every answer with an opinion over the aspects of figures 3.9–3.11 (answers of one person are not
independent: the test is indicative, and says so).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

import polars as pl

from keurmerk.filters import Filters
from keurmerk.formatting import integer, number, percent
from keurmerk.metrics.stats import t_quantile, z_quantile

__all__ = ["FIGURES", "MEASURES", "Point", "headline", "tiles_html", "tiles_pending", "year_points"]

Z95 = z_quantile(0.95)
SATISFACTION_FIGURES = ("fig_3_9", "fig_3_10", "fig_3_11")


@dataclass(frozen=True)
class Point:
    """One headline figure in one period: its value, its base and what a test needs."""

    value: float | None
    n: int = 0  # respondents (grade) or base of the share
    se: float | None = None  # standard error of a mean; None for a share


def _client_total(frames: Mapping[str, pl.DataFrame]) -> dict | None:
    table = frames.get("table_1_1")
    if table is None or table.is_empty():
        return None
    rows = table.filter((pl.col("form") == "client") & pl.col("service").is_null()).to_dicts()
    return rows[0] if rows else None


def _grade(frames: Mapping[str, pl.DataFrame]) -> Point:
    row = _client_total(frames)
    if not row or row["grade"] is None or not row["n"]:
        return Point(None)
    se = None
    if row["n"] > 1 and row["ci_low"] is not None and row["ci_high"] is not None:
        se = (row["ci_high"] - row["ci_low"]) / (2 * t_quantile(row["n"] - 1))
    return Point(row["grade"], row["n"], se)


def _response(frames: Mapping[str, pl.DataFrame]) -> Point:
    row = _client_total(frames)
    if not row or not row["net_sample"]:
        return Point(None)
    return Point(row["response_pct"], row["net_sample"])


def _promoter(frames: Mapping[str, pl.DataFrame]) -> Point:
    frame = frames.get("fig_3_3")
    if frame is None or frame.is_empty() or ("suppressed" in frame.columns and frame["suppressed"].any()):
        return Point(None)
    row = frame.row(0, named=True)
    return Point(row["promoter_score"], row["base_n"] or 0)


def _satisfied(frames: Mapping[str, pl.DataFrame]) -> Point:
    satisfied = total = 0.0
    for figure_id in SATISFACTION_FIGURES:
        frame = frames.get(figure_id)
        if frame is None or frame.is_empty() or frame["suppressed"].any():
            continue
        items = frame.unique("question_id").filter(pl.col("opinion_n") > 0)
        for share, n in zip(items["share_satisfied"], items["opinion_n"], strict=True):
            if share is not None:
                satisfied += round(share * n / 100)  # the share is rounded to 0,1: the count comes back whole
                total += n
    return Point(100 * satisfied / total if total else None, int(total))


@dataclass(frozen=True)
class Measure:
    key: str
    name: str
    read: Callable[[Mapping[str, pl.DataFrame]], Point]
    is_share: bool
    base: str  # what n counts, for "(n = 11)"


MEASURES: tuple[Measure, ...] = (
    Measure("grade", "Rapportcijfer cliënten", _grade, False, "n = {}"),
    Measure("response", "Respons cliënten", _response, True, "netto steekproef {}"),
    Measure("promoter", "Promotorscore", _promoter, True, "n = {}"),
    Measure("satisfied", "Aandeel tevreden", _satisfied, True, "{} antwoorden"),
)
# the figures the measures read: a tile computes only these for each period, not the whole report
FIGURES: tuple[str, ...] = ("table_1_1", "fig_3_3", *SATISFACTION_FIGURES)


def year_points(compute: Callable[[Filters], Mapping[str, pl.DataFrame]], filters: Filters,
                periods: Sequence[int]) -> dict[int, dict[str, Point]]:
    """Per period of the provider (up to the last of the selection): every measure under the other filters."""
    last = filters.periods[1] if filters.periods else max(periods, default=None)
    points = {}
    for period in sorted(periods):
        if last is not None and period > last:
            continue
        frames = compute(filters.replace(period=period))
        points[period] = {m.key: m.read(frames) for m in MEASURES}
    return points


def significant(measure: Measure, now: Point, before: Point) -> bool:
    if now.value is None or before.value is None:
        return False
    if measure.is_share:
        if not now.n or not before.n:
            return False
        p1, p2 = before.value / 100, now.value / 100
        pooled = (p1 * before.n + p2 * now.n) / (before.n + now.n)
        se = math.sqrt(pooled * (1 - pooled) * (1 / before.n + 1 / now.n))
        return se > 0 and abs(p2 - p1) / se > Z95
    if now.se is None or before.se is None:
        return False
    se = math.hypot(now.se, before.se)
    return se > 0 and abs(now.value - before.value) / se > Z95


def headline(points: Mapping[int, Mapping[str, Point]], measure: Measure) -> dict:
    """The last period's value, the change since the period before it (displayed values) and its significance."""
    years = sorted(points)
    if not years:
        return {"year": None, "value": None, "previous_year": None, "change": None, "significant": False}
    year = years[-1]
    now = points[year][measure.key]
    previous = years[-2] if len(years) > 1 else None
    before = points[previous][measure.key] if previous is not None else None
    change = None
    if before is not None and now.value is not None and before.value is not None:
        change = round(round(now.value, 1) - round(before.value, 1), 1)
    return {"year": year, "value": now.value, "previous_year": previous, "change": change,
            "significant": bool(before is not None and significant(measure, now, before))}


def _format(measure: Measure, value: float | None) -> str:
    return percent(value) if measure.is_share else number(value)


def _sparkline(measure: Measure, series: list[tuple[int, float | None]]) -> str:
    known = [(year, value) for year, value in series if value is not None]
    words = "; ".join(f"{year}: {_format(measure, value)}" for year, value in series)
    if len(known) < 2:
        return ""
    width, height, pad = 140, 30, 4
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = (high - low) or 1.0
    first, last = known[0][0], known[-1][0]
    step = (width - 2 * pad) / max(1, last - first)
    xy = [(pad + (year - first) * step, height - pad - (value - low) / span * (height - 2 * pad))
          for year, value in known]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#005a8c"/>' for x, y in xy)
    return (f'<svg class="km-spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="Verloop per jaar: {escape(words)}"><polyline points="{line}" fill="none" '
            f'stroke="#005a8c" stroke-width="2"/>{dots}</svg>')


def tiles_pending() -> str:
    """The tiles' place while they are computed: as high as the tiles, so the page does not move when they come."""
    tiles = "".join(f'<div class="km-tile"><div class="km-tile-name">{escape(m.name)}</div>'
                    '<div class="km-tile-value">…</div></div>' for m in MEASURES)
    return (f'<div class="km-tiles km-tiles-pending" aria-busy="true">{tiles}</div>'
            '<div class="km-note">De vergelijking met vorige jaren wordt berekend…</div>')


def tiles_html(points: Mapping[int, Mapping[str, Point]]) -> str:
    """The four tiles; a year without a value shows "–" (too few respondents or none)."""
    tiles = []
    for measure in MEASURES:
        head = headline(points, measure)
        series = [(year, points[year][measure.key].value) for year in sorted(points)]
        if head["change"] is None:
            change = ("geen vorige periode om mee te vergelijken" if head["previous_year"] is None
                      else f"geen vergelijking met {head['previous_year']}")
            change_html = f'<div class="km-tile-change">{escape(change)}</div>'
        else:
            delta = head["change"]
            sign = "+" if delta > 0 else "−" if delta < 0 else "±"
            unit = " procentpunt" if measure.is_share else ""
            direction = "km-up" if delta > 0 else "km-down" if delta < 0 else ""
            mark = " · significant" if head["significant"] else " · niet significant"
            change_html = (
                f'<div class="km-tile-change{" km-sig" if head["significant"] else ""}" data-km="change">'
                f'<span class="{direction}">{sign}{number(abs(delta))}{unit}</span> sinds '
                f"{head['previous_year']}{mark}</div>"
            )
        years = " · ".join(f"{year}: {_format(measure, value)}" for year, value in series)
        base = points[head["year"]][measure.key].n if head["year"] is not None else 0
        tiles.append(
            f'<div class="km-tile" data-km="tile-{measure.key}">'
            f'<div class="km-tile-name">{escape(measure.name)} {head["year"] or ""}</div>'
            f'<div class="km-tile-value" data-km="value">{_format(measure, head["value"])}</div>'
            f"{change_html}{_sparkline(measure, series)}"
            f'<div class="km-tile-years">{escape(years)} ({measure.base.format(integer(base))})</div></div>'
        )
    note = ('<div class="km-note">Per jaar, onder de gekozen diensten, provincies en vragenlijst. Significant: '
            "het verschil met de vorige periode is groter dan het toeval verklaart (95%). Het aandeel tevreden "
            "telt alle antwoorden met een mening op de aspecten van figuur 3.9–3.11 (indicatief).</div>")
    return f'<div class="km-tiles" data-km="tiles">{"".join(tiles)}</div>{note}'
