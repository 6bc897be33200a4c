"""Chart builders of the staff page (benchmarkverkenner): how providers are spread on a figure, and the trends.

Each builder takes a frame of :mod:`keurmerk.metrics.status` and returns an Altair chart in the ``keurmerk``
theme (Dutch locale in the spec, house colours). As in :mod:`keurmerk.charts.figures`, numbers drawn from data are
formatted by d3 format strings inside the spec, texts fixed when the chart is built by :mod:`keurmerk.formatting`;
every mark has a Dutch tooltip, and a frame without numbers gives a small chart that says so.

- :func:`provider_distribution`: a histogram of providers on one figure (grade, response, promotor score,
  success rate), with the all-participants benchmark and reference lines (the norm 6,5 / 5,5, the publication
  limit, the results threshold);
- :func:`aspect_distribution`: per aspect the spread of providers' share satisfied (or aspect grade): the middle
  half as a bar, 10%–90% as a line, the median, and the benchmark;
- :func:`trend_chart`: a figure over the periods, nationally and per dienst.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import polars as pl

from keurmerk.charts.figures import BENCHMARK
from keurmerk.charts.theme import INK, MUTED, NORM_COLOUR, PROVIDER_COLOUR
from keurmerk.formatting import integer, number

__all__ = [
    "Reference",
    "aspect_distribution",
    "message",
    "provider_distribution",
    "trend_chart",
]

PROVIDERS_TITLE = "Aantal aanbieders"
PROVIDERS = "Aanbieders"
EXAMPLES = "Onder meer"
MIDDLE_HALF = "Middelste helft van de aanbieders"
SPREAD = "10% – 90% van de aanbieders"
MEDIAN = "Mediaan"
NATIONAL = "Totaal"
PERIOD_TITLE = "Periode"
SERVICE_TITLE = "Dienst"
N_TITLE = "Aantal (n)"
WIDTH = 470
THRESHOLD_COLOUR = "#b7791f"
LIGHT_PROVIDER = "#9cc3e4"  # the middle half of the providers (the median drawn over it in the provider colour)


@dataclass(frozen=True)
class Reference:
    """A reference line: a norm (red; ``norm_service`` dashed red), the benchmark (dark, dashed) or another limit
    (ochre, dotted)."""

    value: float
    label: str
    kind: str = "norm"  # norm | norm_service | bench | limit


_REFERENCE_STYLE = {
    "norm": (NORM_COLOUR, []),
    "norm_service": (NORM_COLOUR, [6, 3]),
    "bench": (INK, [5, 3]),
    "limit": (THRESHOLD_COLOUR, [2, 2]),
}


def message(text: str, title: str | None = None) -> alt.Chart:
    """A small chart that only says why there is nothing to draw."""
    chart = (
        alt.Chart(alt.Data(values=[{"note": text}]))
        .mark_text(align="left", baseline="middle", fontSize=13, fontStyle="italic", color=MUTED)
        .encode(text=alt.Text("note:N"), x=alt.XValue(0), y=alt.YValue(16))
        .properties(width=WIDTH, height=32)
    )
    return chart.properties(title=title) if title else chart


def _fmt(field: str, fmt: str) -> str:
    return f"isValid(datum['{field}']) ? format(datum['{field}'], '{fmt}') : '–'"


def _format_value(value: float, percent: bool) -> str:
    return f"{number(value)}%" if percent else number(value)


def provider_distribution(
    frame: pl.DataFrame,
    *,
    axis_title: str,
    percent: bool = False,
    step: float | None = None,
    references: Sequence[Reference] = (),
    min_n: int = 1,
    title: str | None = None,
    domain: tuple[float, float] | None = None,
) -> alt.TopLevelMixin:
    """How many providers have which value: a histogram of ``value`` (one row per provider, with
    ``provider_name`` and ``n``; rows with ``n`` below ``min_n`` or without a value are left out and counted in
    the subtitle), with vertical ``references``. ``percent``: values are 0–100. ``step``: bin width (default 0,2
    for grades, 2,5 points for percentages)."""
    step = step or (2.5 if percent else 0.2)
    usable = frame.filter(pl.col("value").is_not_null() & (pl.col("n") >= min_n))
    left_out = frame.height - usable.height
    if usable.height == 0:
        return message("Geen aanbieders met genoeg respondenten in deze selectie.", title)
    ticks = round(step * 10)  # values carry one decimal: bin on integer tenths, exact at the edges
    last_bin = None if domain is None else round((domain[1] - step) * 10)  # the maximum joins the last bin
    binned = (
        usable.with_columns(_t=(pl.col("value") * 10).round(0).cast(pl.Int64))
        .with_columns(bin_start=(pl.col("_t") // ticks * ticks).clip(upper_bound=last_bin) / 10)
        .group_by("bin_start")
        .agg(
            providers=pl.len(),
            examples=pl.col("provider_name").sort_by("value", descending=True).head(3),
        )
        .with_columns(bin_end=pl.col("bin_start") + step)
        .sort("bin_start")
    )
    rows: list[dict[str, Any]] = []
    for r in binned.iter_rows(named=True):
        names = ", ".join(r["examples"]) + (" …" if r["providers"] > len(r["examples"]) else "")
        rows.append(
            {
                "x0": r["bin_start"] / (100 if percent else 1),
                "x1": r["bin_end"] / (100 if percent else 1),
                "providers": r["providers"],
                "range": f"{_format_value(r['bin_start'], percent)} – {_format_value(r['bin_end'], percent)}",
                "examples": names,
            }
        )
    most = max(r["providers"] for r in rows)  # whole numbers on the count axis: at most this many ticks
    values = [v for v in usable["value"].to_list()] + [ref.value for ref in references]
    lo, hi = domain or (min(values), max(values) + step)
    if domain is None:  # whole bins, and one empty bin of air on either side
        lo = math.floor(lo / step) * step - step
        hi = math.ceil(hi / step) * step + step
    scale = 100 if percent else 1
    x_scale = alt.Scale(domain=[lo / scale, hi / scale], nice=False, zero=False)
    x_axis = alt.Axis(format=".0%" if percent else ",.1f", grid=False, tickCount=8, labelOverlap=True, labelFlush=True)
    bars = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(color=PROVIDER_COLOUR, opacity=0.85, binSpacing=1, cornerRadiusEnd=0)
        .encode(
            x=alt.X("x0:Q", title=axis_title, scale=x_scale, axis=x_axis),
            x2=alt.X2("x1:Q"),
            y=alt.Y(
                "providers:Q", title=PROVIDERS_TITLE, axis=alt.Axis(tickMinStep=1, tickCount=min(5, most), format=",d")
            ),
            y2=alt.Y2Datum(0),
            tooltip=[
                alt.Tooltip("range:N", title=axis_title),
                alt.Tooltip("providers:Q", title=PROVIDERS, format=",d"),
                alt.Tooltip("examples:N", title=EXAMPLES),
            ],
        )
    )
    layers: list[alt.Chart] = [bars]
    if references:
        refs = [
            {"x": ref.value / scale, "label": f"{ref.label}: {_format_value(ref.value, percent)}", "kind": ref.kind}
            for ref in references
        ]
        domain_labels = [r["label"] for r in refs]
        colours = [_REFERENCE_STYLE[r["kind"]][0] for r in refs]
        dashes = [_REFERENCE_STYLE[r["kind"]][1] for r in refs]
        layers.append(
            alt.Chart(alt.Data(values=refs))
            .mark_rule(strokeWidth=2)
            .encode(
                x=alt.X("x:Q", scale=x_scale),
                color=alt.Color(
                    "label:N",
                    scale=alt.Scale(domain=domain_labels, range=colours),
                    title=None,
                    legend=alt.Legend(orient="bottom", symbolType="stroke", columns=2),
                ),
                strokeDash=alt.StrokeDash("label:N", scale=alt.Scale(domain=domain_labels, range=dashes), legend=None),
                tooltip=[alt.Tooltip("label:N", title="Referentie")],
            )
        )
    subtitle = f"{integer(usable.height)} aanbieders"
    if min_n > 1:
        subtitle += f" met minstens {integer(min_n)} respondenten"
    if left_out:
        subtitle += f"; {integer(left_out)} niet getoond"
    chart = alt.layer(*layers).properties(width=WIDTH, height=190)
    params = (
        alt.TitleParams(text=title, subtitle=subtitle)
        if title
        else alt.TitleParams(text=subtitle, fontSize=12, fontWeight="normal", color=MUTED)
    )
    return chart.properties(title=params)


def aspect_distribution(frame: pl.DataFrame, *, min_n: int = 1, title: str | None = None) -> alt.TopLevelMixin:
    """Per aspect (rows in catalogue order) how providers score: the middle half of the providers as a bar, 10%
    to 90% as a line, the median as a tick and the all-participants benchmark as a diamond. ``frame``:
    :func:`keurmerk.metrics.status.aspect_values` (share satisfied in %, or a mean aspect grade)."""
    usable = frame.filter(pl.col("value").is_not_null() & (pl.col("n") >= min_n))
    if usable.height == 0:
        return message("Geen aanbieders met genoeg respondenten in deze selectie.", title)
    percent = usable["measure"][0] != "grade"
    stats = (
        usable.group_by("question_id", "item", "position")
        .agg(
            providers=pl.len(),
            p10=pl.col("value").quantile(0.1, "linear"),
            q1=pl.col("value").quantile(0.25, "linear"),
            median=pl.col("value").median(),
            q3=pl.col("value").quantile(0.75, "linear"),
            p90=pl.col("value").quantile(0.9, "linear"),
            bench=pl.col("bench_value").first(),
        )
        .sort("position")
    )
    scale = 100 if percent else 1
    rows = [
        {
            **{k: (r[k] / scale if r[k] is not None else None) for k in ("p10", "q1", "median", "q3", "p90", "bench")},
            "item": r["item"],
            "providers": r["providers"],
        }
        for r in stats.iter_rows(named=True)
    ]
    order = [r["item"] for r in rows]
    fmt = ".1%" if percent else ",.1f"
    calc = {f"_t_{k}": _fmt(k, fmt) for k in ("p10", "q1", "median", "q3", "p90", "bench")}
    tooltip = [
        alt.Tooltip("item:N", title="Aspect"),
        alt.Tooltip("providers:Q", title=PROVIDERS, format=",d"),
        alt.Tooltip("_t_p10:N", title="10%"),
        alt.Tooltip("_t_q1:N", title="25%"),
        alt.Tooltip("_t_median:N", title=MEDIAN),
        alt.Tooltip("_t_q3:N", title="75%"),
        alt.Tooltip("_t_p90:N", title="90%"),
        alt.Tooltip("_t_bench:N", title=BENCHMARK),
    ]
    y = alt.Y("item:N", sort=order, title=None, axis=alt.Axis(labelLimit=300))
    lo = min(r["p10"] for r in rows if r["p10"] is not None)
    lo = min(lo, *(r["bench"] for r in rows if r["bench"] is not None))
    domain = [max(0.0, math.floor((lo - 0.02) * 10) / 10), 1.0] if percent else [max(1.0, math.floor(lo - 0.2)), 10.0]
    x = alt.X(
        "p10:Q",
        title="Aandeel tevreden" if percent else "Gemiddeld cijfer",
        scale=alt.Scale(domain=domain, nice=False),
        axis=alt.Axis(format=".0%" if percent else ",.1f"),
    )
    who = alt.Color(
        "who:N",
        title=None,
        scale=alt.Scale(
            domain=[MIDDLE_HALF, SPREAD, MEDIAN, BENCHMARK], range=[LIGHT_PROVIDER, MUTED, PROVIDER_COLOUR, INK]
        ),
        legend=alt.Legend(orient="bottom", columns=2),
    )
    base = alt.Chart().transform_calculate(**calc)
    spread = (
        base.transform_calculate(who=f"'{SPREAD}'")
        .mark_rule(strokeWidth=1.5)
        .encode(x=x, x2="p90:Q", y=y, color=who, tooltip=tooltip)
    )
    middle = (
        base.transform_calculate(who=f"'{MIDDLE_HALF}'")
        .mark_bar(height=12, opacity=0.8, stroke=PROVIDER_COLOUR, strokeWidth=1)  # a light fill: its outline 3:1
        .encode(x=alt.X("q1:Q"), x2="q3:Q", y=y, color=who, tooltip=tooltip)
    )
    median = (
        base.transform_calculate(who=f"'{MEDIAN}'")
        .mark_tick(thickness=2.5, size=14)
        .encode(x=alt.X("median:Q"), y=y, color=who, tooltip=tooltip)
    )
    bench = (
        base.transform_filter("isValid(datum.bench)")
        .transform_calculate(who=f"'{BENCHMARK}'")
        .mark_point(shape="diamond", filled=True, size=70, opacity=1)
        .encode(x=alt.X("bench:Q"), y=y, color=who, tooltip=tooltip)
    )
    chart = alt.layer(spread, middle, median, bench).properties(width=WIDTH + 80, height=len(order) * 22)
    chart.data = alt.Data(values=rows)
    subtitle = f"per aspect; aanbieders met minstens {integer(min_n)} antwoorden" if min_n > 1 else "per aspect"
    params = (
        alt.TitleParams(text=title, subtitle=subtitle)
        if title
        else alt.TitleParams(text=subtitle, fontSize=12, fontWeight="normal", color=MUTED)
    )
    return chart.properties(title=params)


def trend_chart(
    frame: pl.DataFrame,
    *,
    axis_title: str,
    percent: bool = False,
    references: Sequence[Reference] = (),
    title: str | None = None,
    services: Sequence[str] | None = None,
) -> alt.TopLevelMixin:
    """A figure over the periods: the national line (``service`` null, bold) and one thin line per dienst.
    ``frame``: :func:`keurmerk.metrics.status.trend_frame` for one measure. ``services``: the dienst labels of
    the colour scale (pass the same list to charts shown side by side, so a dienst has one colour on both)."""
    usable = frame.filter(pl.col("value").is_not_null())
    if usable.height == 0:
        return message("Geen gegevens in deze selectie.", title)
    scale = 100 if percent else 1
    rows = [
        {**r, "y": r["value"] / scale, "period": str(r["period"]), "national": r["service"] is None}
        for r in usable.sort("period").iter_rows(named=True)
    ]
    periods = sorted({r["period"] for r in rows})
    if services is None:
        services = usable.filter(pl.col("service").is_not_null()).sort("service")["label"].unique(maintain_order=True)
    fmt = ".1%" if percent else ",.1f"
    tooltip = [
        alt.Tooltip("label:N", title=SERVICE_TITLE),
        alt.Tooltip("period:N", title=PERIOD_TITLE),
        alt.Tooltip("y:Q", title=axis_title, format=fmt),
        alt.Tooltip("n:Q", title=N_TITLE, format=",d"),
        alt.Tooltip("providers:Q", title=PROVIDERS, format=",d"),
    ]
    x = alt.X("period:O", title=PERIOD_TITLE, sort=periods, axis=alt.Axis(labelAngle=0))
    values = [r["y"] for r in rows] + [ref.value / scale for ref in references]
    y_scale = alt.Scale(
        domain=[min(values) - 0.02 * (1 if percent else 10), max(values) + 0.02 * (1 if percent else 10)],
        nice=True,
        zero=False,
    )
    y = alt.Y("y:Q", title=axis_title, scale=y_scale, axis=alt.Axis(format=".0%" if percent else ",.1f"))
    per_service = (
        alt.Chart()
        .transform_filter("!datum.national")
        .mark_line(point=alt.OverlayMarkDef(size=25), strokeWidth=1.3, opacity=0.75)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "label:N",
                title=SERVICE_TITLE,
                sort=list(services),
                scale=alt.Scale(domain=list(services), scheme="tableau20"),
                legend=alt.Legend(orient="right", labelLimit=260, symbolType="stroke"),
            ),
            tooltip=tooltip,
        )
    )
    national = (
        alt.Chart()
        .transform_filter("datum.national")
        .mark_line(point=alt.OverlayMarkDef(size=60, color=INK), strokeWidth=3.5, color=INK)
        .encode(x=x, y=y, tooltip=tooltip)
    )
    layers: list[alt.Chart] = [per_service, national]
    for ref in references:
        colour, dash = _REFERENCE_STYLE[ref.kind]
        layers.append(
            alt.Chart(
                alt.Data(
                    values=[{"y": ref.value / scale, "label": f"{ref.label}: {_format_value(ref.value, percent)}"}]
                )
            )
            .mark_rule(color=colour, strokeDash=dash, strokeWidth=1.5)
            .encode(y=alt.Y("y:Q", scale=y_scale), tooltip=[alt.Tooltip("label:N", title="Referentie")])
        )
    chart = alt.layer(*layers).properties(width=max(260, 70 * len(periods)), height=240)
    chart.data = alt.Data(values=rows)
    subtitle = f"Dik en donker: {NATIONAL.lower()} (alle deelnemers); dun: per dienst"
    params = (
        alt.TitleParams(text=title, subtitle=subtitle)
        if title
        else alt.TitleParams(text=subtitle, fontSize=12, fontWeight="normal", color=MUTED)
    )
    return chart.properties(title=params)
