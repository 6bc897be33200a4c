"""Chart builders of the staff page (benchmarkverkenner): how providers are spread on a figure, and the trends.

Each builder takes a frame of :mod:`keurmerk.metrics.status` and returns an Altair chart in the ``keurmerk``
theme (Dutch locale in the spec, house colours). As in :mod:`keurmerk.charts.figures`, numbers drawn from data are
formatted by d3 format strings inside the spec, texts fixed when the chart is built by :mod:`keurmerk.formatting`;
every mark has a Dutch tooltip, and a frame without numbers gives a small chart that says so.

- :func:`provider_distribution`: a histogram of providers on one figure (grade, response, promotor score,
  success rate), with the all-participants benchmark and reference lines (the norm 6,5 / 5,5, the publication
  limit, the results threshold);
- :func:`aspect_distribution`: per aspect the spread of providers' share satisfied (or aspect grade): the middle
  half as a bar, 10%–90% as a line, the median, and the benchmark.

The trends over the periods are small multiples, :func:`keurmerk.charts.trends.trend_panels`. The staff page's
figures are catalogue entries (``staff_figures``); :func:`staff_chart` draws one with its kind's builder.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import polars as pl

from keurmerk.catalog import StaffFigure, catalog
from keurmerk.charts.figures import BENCHMARK
from keurmerk.charts.theme import INK, MUTED, NORM_COLOUR, PROVIDER_COLOUR
from keurmerk.filters import Filters
from keurmerk.formatting import integer, number
from keurmerk.metrics.registry import figure_kind
from keurmerk.metrics.status import headline_form
from keurmerk.policy import Policy

__all__ = [
    "Reference",
    "aspect_distribution",
    "message",
    "provider_distribution",
    "references",
    "staff_chart",
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


REFERENCE_STYLE = {
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


def format_value(value: float, percent: bool) -> str:
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
                "range": f"{format_value(r['bin_start'], percent)} – {format_value(r['bin_end'], percent)}",
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
            {"x": ref.value / scale, "label": f"{ref.label}: {format_value(ref.value, percent)}", "kind": ref.kind}
            for ref in references
        ]
        domain_labels = [r["label"] for r in refs]
        colours = [REFERENCE_STYLE[r["kind"]][0] for r in refs]
        dashes = [REFERENCE_STYLE[r["kind"]][1] for r in refs]
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


# --- the staff page's figures: a catalogue entry (staff_figures) and its frame → its chart ---------------------
_REFERENCES = {  # name in the catalogue → (label, style, the policy's value, for client grades only)
    "norm_total": ("Norm totaal", "norm", lambda p: p.norm_total, False),
    "norm_service": ("Norm per dienst", "norm_service", lambda p: p.norm_service, True),
    "publication": ("Publicatiegrens", "limit", lambda p: p.publish_min_response_pct, True),
    "threshold": ("Drempel", "limit", lambda p: p.results_min_success_pct, False),
}
BENCH_LABEL = "Alle deelnemers"


def references(figure: StaffFigure, frame: pl.DataFrame, policy: Policy, commissioners: bool) -> list[Reference]:
    """The figure's reference lines: the policy's norms and limits (those for client grades not for
    commissioners) and the benchmark (the frame's ``bench``, when it has one)."""
    lines = []
    for name in figure.references:
        if name == "bench":
            value = frame["bench"][0] if "bench" in frame.columns and frame.height else None
            lines += [Reference(value, BENCH_LABEL, "bench")] if value is not None else []
            continue
        label, kind, value_of, clients_only = _REFERENCES[name]
        if not (clients_only and commissioners):
            lines.append(Reference(value_of(policy), label, kind))
    return lines


def staff_chart(figure: StaffFigure, frame: pl.DataFrame, policy: Policy, filters: Filters, **options: Any
                ) -> alt.TopLevelMixin:
    """The chart of a staff figure for its frame (:data:`keurmerk.metrics.registry.FIGURE_KINDS`: the kind's
    builder, here or in :mod:`keurmerk.charts.trends`), set up from its catalogue entry; ``options`` (such as the
    trend panels' ``services``) go to the builder when it takes them."""
    from keurmerk.charts import trends  # it builds on this module

    name = figure_kind(figure.chart).builder
    builder = getattr(trends, name, None) or globals()[name]
    commissioners = filters.audience == "commissioner"
    settings = {
        "axis_title": figure.axis,
        "percent": figure.percent,
        "step": figure.step,
        "domain": figure.domain,
        "min_n": policy.min_n if figure.min_n is None else figure.min_n,
        "title": figure.caption(catalog().form(headline_form(filters)).label, commissioners),
        "references": references(figure, frame, policy, commissioners),
        **options,
    }
    accepted = inspect.signature(builder).parameters
    return builder(frame, **{key: value for key, value in settings.items() if key in accepted})
