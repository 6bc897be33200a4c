"""Chart builders: one small function per chart kind of the catalogue, from a metric frame to an Altair chart.

Each builder takes the tidy frame that :mod:`keurmerk.metrics` computes for a figure (its columns are in
docs/export-format.md) and returns an Altair chart that shows the provider next to the benchmark ("Alle
deelnemers"), in the colour roles of :mod:`keurmerk.charts.theme`. Builders do no I/O beyond reading the package's
own map file, hold no widgets and never raise on a frame without numbers: an empty frame, a frame whose rows are
all withheld by the small-group rule, or one with "geen respondenten", gives a small chart that says so.

Rules every builder keeps:

- labels come from the frame (and so from the catalogue); the few words of the charts themselves are the
  constants below;
- numbers drawn from data are formatted by d3 format strings (in marks, axes and tooltips, also inside Vega
  ``format()`` expressions), so they read Dutch ("8,0", "44,4%") through the locale that the ``keurmerk``
  theme puts in every spec; shares arrive as percentages 0-100 and are divided by 100 inside the spec before
  the ``%`` format. Only texts fixed when the chart is built (the n in a label, the promotor score in a title)
  are formatted in Python, by :mod:`keurmerk.formatting`;
- a null number (a withheld benchmark) reads "–" in a tooltip, never the "0,0" a bare ``format`` makes of it;
- a row with ``suppressed`` true puts none of its numbers into the chart's data: only its label and its note;
- the n behind a figure is visible (in an axis or legend label), and every mark has a Dutch tooltip;
- the figure caption is the dashboard's business; ``title`` adds a chart title when a caller wants one.

``chart_for(kind, frame, provider_name)`` picks the builder for a catalogue chart kind (None for tables).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from importlib.resources import files
from typing import Any

import altair as alt
import polars as pl

from keurmerk.catalog import catalog
from keurmerk.charts.theme import (
    BENCHMARK_COLOUR,
    CATEGORY_COLOURS,
    DIVERGING_COLOURS,
    INK,
    MUTED,
    NEUTRAL_COLOUR,
    NORM_COLOUR,
    PROVIDER_COLOUR,
    SEPARATOR,
    TRACK_COLOUR,
)
from keurmerk.formatting import integer, number
from keurmerk.metrics import texts
from keurmerk.metrics.registry import FIGURE_KINDS, figure_kind
from keurmerk.policy import Policy, load_policy

__all__ = [
    "BENCHMARK",
    "CHART_KINDS",
    "TABLE_KINDS",
    "WIDTH",
    "answer_shares",
    "aspect_scores",
    "chart_for",
    "funnel",
    "grade_bars",
    "grade_distribution",
    "grade_tile",
    "map_attribution",
    "province_map",
    "satisfaction_items",
    "strength_pie",
    "strengths",
]

# --- the charts' own words (everything else comes from the frame / catalogue) -------------------------------
BENCHMARK = "Alle deelnemers"
N_TITLE = "Aantal (n)"
SHARE_TITLE = "Aandeel"
INTERVAL_TITLE = "95%-interval"
DIFF_TITLE = "Verschil"
SIGNIFICANT_TITLE = "Significant"
NOTE_TITLE = "Opmerking"
NORM_TITLE = "Norm"
YES, NO, MISSING = "ja", "nee", "–"
GRADE_AXIS = "Rapportcijfer"
SCORE_AXIS = "Rapportcijfer (afgerond)"
SHARE_AXIS = "Aandeel van de antwoorden"
SERVICE_TITLE = "Dienst"
ANSWER_TITLE = "Antwoord"
ASPECT_TITLE = "Aspect"
PROVINCE_TITLE = "Provincie"
STAGE_TITLE = "Fase"
GROUP_TITLE = "Groep"
SATISFIED_SUFFIX = "tevreden"  # "94,4% tevreden": the share satisfied next to a stacked bar
SATISFIED_TITLE = "Aandeel tevreden (zonder geen mening)"
# two lines: in a half-width card one line ran past the chart's right edge
SATISFIED_DIFF_AXIS = ["Verschil met alle deelnemers", "in % tevreden (procentpunten)"]
PROMOTER = "Actuele promotor score"
NO_STANDOUTS = "geen aspecten die er duidelijk uitspringen"
INDICATIVE = "indicatief"  # fig. 3.1: a grade of fewer than min_n respondents, shown as table 1.1 shows it
REMINDED = {True: "met herinnering", False: "zonder herinnering"}

# --- layout ------------------------------------------------------------------------------------------------
WIDTH = 520  # the whole chart, labels included: one dashboard column
PLOT_WIDTH = 290  # the plotting area of a bar chart with category labels on the left
LABEL_WRAP = 30  # characters per line of a category label
ROW_STEP = 40  # height per category in grouped bar charts (two bars)
VALUE_COLUMN = 46  # px right of the plot for the column of values (right-aligned: "100,0%")
# A parameter whose value may change with a filter: the dashboard's widget sets it in the view that is there
# (chart_widget.js: parameters named "km_…" are values, like the data sets).
SUBTITLE_PARAM = "km_subtitle"

TABLE_KINDS = tuple(name for name, kind in FIGURE_KINDS.items() if kind.table)  # drawn as HTML (keurmerk.pieces)
_PROVIDER_KINDS = {name: kind for name, kind in FIGURE_KINDS.items() if kind.page == "provider"}


# --- small helpers -------------------------------------------------------------------------------------------
def _n_label(label: str, n: int | None) -> str:
    return label if n is None else f"{label} (n = {integer(n)})"


def _wrap(text: str, width: int = LABEL_WRAP, n: int | None = None) -> str:
    """A label broken into lines (joined by newline; the axes split on it), with "(n = 18)" kept whole at the
    end of the last line or on a line of its own."""
    lines = textwrap.wrap(text, width=width, break_long_words=False) or [text]
    if n is not None:
        count = f"(n = {integer(n)})"
        if len(lines[-1]) + 1 + len(count) <= width:
            lines[-1] += " " + count
        else:
            lines.append(count)
    return "\n".join(lines)


_SPLIT_LINES = "split(datum.label, '\\n')"
_LEGEND = alt.Legend(symbolOpacity=1)
LINE_HEIGHT = 15  # px per line of a 12 px label


def _step(order: list[str]) -> int:
    """Height per category: room for two bars, and for every line of the longest wrapped label."""
    lines = max((label.count("\n") + 1 for label in order), default=1)
    return max(ROW_STEP, lines * LINE_HEIGHT + 10)


def _band_axis(**kwargs: Any) -> alt.Axis:
    return alt.Axis(title=None, labelExpr=_SPLIT_LINES, labelLimit=0, **kwargs)


def _who_scale(provider: str, bench: str, extra: dict[str, str] | None = None) -> alt.Scale:
    extra = extra or {}
    return alt.Scale(domain=[provider, bench, *extra], range=[PROVIDER_COLOUR, BENCHMARK_COLOUR, *extra.values()])


def _with_data(chart: alt.TopLevelMixin, values: list[dict[str, Any]]) -> alt.TopLevelMixin:
    """The chart with its (inline) data set last: Altair deep-copies a chart's data on every chained call and
    every layer or concatenation, which made a builder spend most of its time copying rows."""
    chart.data = alt.Data(values=values)
    return chart


def _message(text: str, title: str | None = None) -> alt.Chart:
    """A small chart that only says why there is nothing to draw."""
    chart = (
        alt.Chart(alt.Data(values=[{"note": text}]), width=WIDTH - 20, height=32)
        .mark_text(align="left", baseline="middle", fontSize=13, fontStyle="italic", color=MUTED)
        .encode(text=alt.Text("note:N"), x=alt.XValue(0), y=alt.YValue(16))
    )
    return _titled(chart, title)


def _with_values(chart: alt.TopLevelMixin, values: dict[str, Any]) -> alt.TopLevelMixin:
    """The chart with top-level parameters for what changes with a filter (names "km_…": chart_widget.js sets
    them in the view that is drawn instead of embedding the chart anew).

    Set on the top level, where Altair's ``add_params`` ends up putting them for a layered or concatenated chart,
    but without its copies: it copies every layer with its rows several times (most of the cost of a chart)."""
    copy = chart.copy(deep=False)
    params = [] if copy.params is alt.Undefined else list(copy.params)
    copy.params = [*params, *(alt.param(name=name, value=value).param for name, value in values.items())]
    return copy


def _titled(chart: alt.TopLevelMixin, title: str | None, subtitle: str | None = None) -> alt.TopLevelMixin:
    if title is None and subtitle is None:
        return chart
    if title is None:  # a subtitle alone does not render: it becomes a quiet title
        params = alt.TitleParams(text=subtitle, fontSize=12, fontWeight="normal", color=MUTED)
    else:
        params = alt.TitleParams(text=title, subtitle=subtitle) if subtitle else alt.TitleParams(text=title)
    return chart.properties(title=params)


def _blocked(frame: pl.DataFrame, value: str, bench_visible: bool = False) -> str | None:
    """The message to show instead of a chart, or None when at least one row has a number to draw: the
    provider's own or, for charts that draw it alone (``bench_visible``: the paired bars), the benchmark's,
    which stays visible when only the provider's group is withheld (DESIGN §5)."""
    if frame.height == 0:
        return texts.no_respondents()
    records = _records(frame)
    if _drawable(records, value) or bench_visible and any(r.get(f"bench_{value}") is not None for r in records):
        return None
    notes = [r["note"] for r in records if r.get("note")]
    if not notes:
        return texts.no_respondents()
    return Counter(notes).most_common(1)[0][0]


def _drawable(records: list[dict[str, Any]], value: str) -> list[dict[str, Any]]:
    """Rows with a number of the provider's own: not suppressed and with a value. (Rows in Python: a frame
    holds a dozen rows, and a polars filter on it costs 0,2 ms, fifty times a Python loop.)"""
    return [r for r in records if not _is_withheld(r, value)]


def _is_withheld(row: dict[str, Any], value: str) -> bool:
    return bool(row.get("suppressed")) or row.get(value) is None


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows; list columns (free texts) stay out of charts (the dashboard lists them, escaped)."""
    nested = [c for c, t in frame.schema.items() if isinstance(t, pl.List | pl.Array | pl.Struct)]
    records = frame.to_dicts()
    for record in records if nested else ():
        for column in nested:
            del record[column]
    return records


def _bench_only(record: dict[str, Any], row: str, who: str, value: str) -> dict[str, Any]:
    """The benchmark's bar of a row whose own group is withheld: the benchmark's numbers only, none of the
    provider's."""
    keep = {k: v for k, v in record.items() if k.startswith("bench_") or k in ("label", "item", "category", "note")}
    return {**keep, "row": row, "who": who, "value": record[value], "low": None, "high": None}


def _note_row(row: dict[str, Any], key: str, label: str) -> dict[str, Any]:
    """What a withheld row may show: its label and its note, no numbers."""
    return {key: label, "note": row.get("note") or texts.no_respondents()}


# Vega expressions that format for tooltips and labels (the locale in the spec makes them Dutch). A withheld
# value (null) reads "–" instead of the "0,0" that a bare format() would make of it.
def _fmt(field: str, fmt: str = ",.1f", scale: float = 1.0) -> str:
    value = f"datum['{field}']" if scale == 1.0 else f"datum['{field}'] / {scale:g}"
    return f"isValid(datum['{field}']) ? format({value}, '{fmt}') : '{MISSING}'"


def _pct(field: str, fmt: str = ".1%") -> str:
    return _fmt(field, fmt, 100)


def _interval(low: str, high: str, share: bool) -> str:
    scale = " / 100" if share else ""
    fmt = ".1%" if share else ",.1f"
    lo, hi = f"format(datum['{low}']{scale}, '{fmt}')", f"format(datum['{high}']{scale}, '{fmt}')"
    return f"isValid(datum['{low}']) && isValid(datum['{high}']) ? {lo} + ' – ' + {hi} : '{MISSING}'"


def _yes_no(field: str) -> str:
    return f"datum['{field}'] === true ? '{YES}' : datum['{field}'] === false ? '{NO}' : '{MISSING}'"


def _note_expr() -> str:
    return f"isValid(datum['note']) ? datum['note'] : '{MISSING}'"


def _tooltip(fields: Iterable[tuple[str, str]]) -> list[alt.Tooltip]:
    return [alt.Tooltip(f"{name}:N", title=title) for name, title in fields]


def _comparison(
    provider_name: str,
    value: str,
    bench_value: str,
    *,
    share: bool,
    n: str | None = "n",
    bench_n: str | None = "bench_n",
    low: str | None = "ci_low",
    high: str | None = "ci_high",
    diff: str | None = "diff",
    significant: str | None = "significant",
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The calculate expressions and tooltip fields that compare provider and benchmark on one row."""
    fmt = _pct if share else _fmt
    calc = {"_t_own": fmt(value), "_t_bench": fmt(bench_value)}
    tips = [("_t_own", provider_name), ("_t_bench", BENCHMARK)]
    if n:
        calc["_t_n"] = _fmt(n, ",d")
        tips.append(("_t_n", N_TITLE))
    if bench_n:
        calc["_t_bench_n"] = _fmt(bench_n, ",d")
        tips.append(("_t_bench_n", f"{N_TITLE} {BENCHMARK.lower()}"))
    if low and high:
        calc["_t_ci"] = _interval(low, high, share)
        tips.append(("_t_ci", INTERVAL_TITLE))
    if diff:
        calc["_t_diff"] = _fmt(diff, "+,.1f")
        tips.append(("_t_diff", DIFF_TITLE))
    if significant:
        calc["_t_sig"] = _yes_no(significant)
        tips.append(("_t_sig", SIGNIFICANT_TITLE))
    calc["_t_note"] = _note_expr()
    tips.append(("_t_note", NOTE_TITLE))
    return calc, tips


# --- grouped horizontal bars: provider and benchmark per row -------------------------------------------------
def _paired_bars(
    rows: list[dict[str, Any]],
    notes: list[dict[str, Any]],
    order: list[str],
    provider: str,
    bench: str,
    *,
    share: bool,
    calc: dict[str, str],
    tips: list[tuple[str, str]],
    x_title: str,
    x_domain: tuple[float, float],
    norms: list[dict[str, Any]] | None = None,
) -> alt.LayerChart:
    """Per row two bars (provider, benchmark) with the provider's interval, value labels, optional norm ticks
    and, for withheld rows, the note where the bars would be. ``rows`` are long (a ``who`` per bar) and carry
    ``row`` (the axis label), ``value``, ``low``, ``high``."""
    # What changes with a filter is data, so that the browser can give a drawn chart new rows (chart_widget.js):
    # the rows sort by their position and the bars by who they are, the legend's labels (with their n) come
    # from a data set of their own, and the spec names neither.
    rank = {row: i for i, row in enumerate(order)}
    for row in rows:
        own = row["who"] == provider
        row.update(row_order=rank[row["row"]], who_order=0 if own else 1, own=own)
    for note in notes:
        note["row_order"] = rank[note["row"]]
    y = alt.Y("row:N", sort=alt.EncodingSortField("row_order", op="min"), axis=_band_axis())
    step = _step(order)
    # the interval line has a legend entry of its own (what the line on a bar is: issue 11)
    keys = [provider, bench, texts.INTERVAL_LEGEND, *([NORM_TITLE] if norms else [])]
    # a chart with norms keeps their layer and colour when a selection has none to draw (all rows withheld):
    # the spec stays the same, only the data (and the legend's keys) change
    ranges = [PROVIDER_COLOUR, BENCHMARK_COLOUR, INK, *([NORM_COLOUR] if norms is not None else [])]
    who_scale = alt.Scale(range=ranges)
    who_sort = alt.EncodingSortField("who_order", op="min")
    colour = alt.Color("who:N", scale=who_scale, sort=who_sort, title=None, legend=_LEGEND)
    offset = alt.YOffset("who_order:N", sort=[0, 1], scale=alt.Scale(domain=[0, 1], paddingOuter=0.3))
    factor = 100.0 if share else 1.0
    x_scale = alt.Scale(domain=[x_domain[0] / factor, x_domain[1] / factor], nice=False)
    axis = alt.Axis(format=".0%" if share else ",.0f", grid=True, tickCount=5 if share else 10)
    x = alt.X("x:Q", title=x_title, scale=x_scale, axis=axis)
    # the transforms and the tooltip all bars, whiskers and labels share are the layer's own, once: a third of
    # the spec to build, send and run (layers with data of their own, norms and notes, start from their data)
    tooltip = _tooltip(tips)
    # every legend entry, also of a group without a bar (all withheld): invisible marks that only set the legend
    legend = (
        alt.Chart(alt.Data(values=[{"who": key, "who_order": i} for i, key in enumerate(keys)]))
        .mark_bar(opacity=0)
        .encode(color=colour, tooltip=alt.TooltipValue(None))
    )
    bars = alt.Chart().mark_bar(height={"band": 1}).encode(x=x, y=y, yOffset=offset, color=colour)
    # the interval on its own bar (yOffset by the bar's who_order), in the colour of its legend entry
    errors = (
        alt.Chart()
        .transform_filter("isValid(datum.low) && isValid(datum.high)")
        .mark_rule(strokeWidth=1.2, opacity=0.8, clip=True, aria=False)  # decorative: the numbers are in the table
        .encode(x=alt.X("x_low:Q"), x2=alt.X2("x_high:Q"), y=y, yOffset=offset, color=alt.ColorValue(INK))
    )
    # the values as a column right of the plot, clear of bars and intervals
    labels = (
        alt.Chart()
        .mark_text(align="right", baseline="middle", fontSize=11)
        .encode(
            x=alt.XValue({"expr": f"width + {VALUE_COLUMN}"}),  # right of the plot, however wide the card makes it
            y=y,
            yOffset=offset,
            text=alt.Text("_t_value:N"),
            color=alt.ColorValue(MUTED, condition={"test": "datum.own === true", "value": INK}),
        )
    )
    layers: list[alt.Chart] = [legend, bars, errors, labels]
    if norms is not None:
        layers.append(
            alt.Chart(alt.Data(values=[{**norm, "row_order": rank[norm["row"]], "who_order": 3} for norm in norms]))
            .transform_calculate(x=f"datum.norm / {factor:g}", _t_norm=_fmt("norm"))
            .mark_tick(thickness=2.5, size=step - 8, opacity=1)
            .encode(
                x=x,
                y=y,
                color=colour,
                tooltip=[alt.Tooltip("label:N", title=SERVICE_TITLE), alt.Tooltip("_t_norm:N", title=NORM_TITLE)],
            )
        )
    # the notes' layer is there without notes too: a row withheld under one filter and not under another
    # changes the data, not the spec
    layers.append(
        alt.Chart(alt.Data(values=notes))
        .mark_text(
            align="left", baseline="middle", dx=6, fontSize=12, fontStyle="italic", color=MUTED,
            limit=alt.ExprRef("max(40, width - 6)"),  # within the plot, also on a phone (the table has it whole)
        )
        .encode(
            x=alt.XDatum(x_domain[0] / factor, type="quantitative", scale=x_scale),
            y=y,
            text=alt.Text("note:N"),
            tooltip=alt.TooltipValue(None),  # a note has no numbers: not the layer's tooltip
        )
    )
    chart = (
        # the height by the step per row, not in pixels: a filter that shows more or fewer rows changes the data,
        # not the spec (the band's padding, inner 0,1 and outer half that, keeps the rows where they were)
        alt.layer(*layers, width=PLOT_WIDTH, height=alt.Step(step=step, **{"for": "position"}))
        .transform_filter("isValid(datum.value)")
        .transform_calculate(
            x=f"datum.value / {factor:g}",
            x_low=f"datum.low / {factor:g}",
            x_high=f"datum.high / {factor:g}",
            _t_value=f"({_pct('value') if share else _fmt('value')}) + ({_marker()})",
            **calc,
        )
        .encode(tooltip=tooltip)
    )
    return _with_data(chart, rows)


def _marker() -> str:
    """▲ / ▼ after the provider's value when it differs significantly from the benchmark (texts.significance_note)."""
    up, down = texts.SIGNIFICANT_MARKS["up"], texts.SIGNIFICANT_MARKS["down"]
    return (
        "datum.own === true && datum.significant === true "
        "&& (isValid(datum.bench_grade) || isValid(datum.bench_share)) ? "
        f"(datum.diff > 0 ? ' {up}' : datum.diff < 0 ? ' {down}' : '') : ''"
    )


def _grade_rows(
    frame: pl.DataFrame,
    provider_name: str,
    label: str,
    norm_for: Callable[[dict[str, Any]], float | None] | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], list[dict[str, Any]]]:
    rows, notes, order, norms = [], [], [], []
    for record in _records(frame):
        if _is_withheld(record, "grade"):
            row = _wrap(record[label])
            notes.append(_note_row(record, "row", row))
            if record.get("bench_grade") is not None:  # the benchmark stays visible (DESIGN §5)
                rows.append(_bench_only(record, row, BENCHMARK, "bench_grade"))
        else:
            # fig. 3.1 shows a small group as table 1.1 does, marked indicative
            text = f"{record[label]} ({INDICATIVE})" if record.get("indicative") else record[label]
            row = _wrap(text, n=record.get("n"))
            for who, value, low, high in (
                (provider_name, record["grade"], record.get("ci_low"), record.get("ci_high")),
                (BENCHMARK, record.get("bench_grade"), None, None),
            ):
                rows.append({**record, "row": row, "who": who, "value": value, "low": low, "high": high})
        order.append(row)
        norm = norm_for(record) if norm_for and not _is_withheld(record, "grade") else None
        if norm is not None:
            norms.append({"row": row, "who": NORM_TITLE, "norm": norm, "label": record[label]})
    return rows, notes, order, norms


def grade_bars(
    frame: pl.DataFrame,
    provider_name: str = "Aanbieder",
    *,
    title: str | None = None,
    policy: Policy | None = None,
) -> alt.TopLevelMixin:
    """Mean grade (rapportcijfer) per dienst and in total: provider and benchmark bars, the provider's 95%
    interval, and the norm of each row (policy: 6,5 for the total, 5,5 per dienst) as a red tick."""
    if message := _blocked(frame, "grade", bench_visible=True):
        return _message(message, title)
    policy = policy or load_policy()

    def norm_for(record: dict[str, Any]) -> float:
        return policy.norm_total if record.get("service") is None else policy.norm_service

    rows, notes, order, norms = _grade_rows(frame, provider_name, "label", norm_for)
    calc, tips = _comparison(provider_name, "grade", "bench_grade", share=False)
    calc["_t_label"] = "datum.label"
    tips.insert(0, ("_t_label", SERVICE_TITLE))
    chart = _paired_bars(
        rows,
        notes,
        order,
        provider_name,
        BENCHMARK,
        share=False,
        calc=calc,
        tips=tips,
        x_title=GRADE_AXIS,
        x_domain=(0, 10),
        norms=norms,
    )
    return _titled(chart, title)


def aspect_scores(
    frame: pl.DataFrame, provider_name: str = "Aanbieder", *, title: str | None = None
) -> alt.TopLevelMixin:
    """Commissioners' grade per aspect (fig. 4.4): provider and benchmark bars with the provider's interval;
    the number of n.v.t. answers in the tooltip."""
    if message := _blocked(frame, "grade", bench_visible=True):
        return _message(message, title)
    rows, notes, order, _ = _grade_rows(frame, provider_name, "item", None)
    calc, tips = _comparison(provider_name, "grade", "bench_grade", share=False)
    calc["_t_label"] = "datum.item"
    tips.insert(0, ("_t_label", ASPECT_TITLE))
    not_applicable = catalog().not_applicable
    calc["_t_na"] = _fmt("not_applicable_n", ",d")
    calc["_t_bench_na"] = _fmt("bench_not_applicable_n", ",d")
    tips[-1:-1] = [
        ("_t_na", f"{N_TITLE} {not_applicable}"),
        ("_t_bench_na", f"{N_TITLE} {not_applicable} {BENCHMARK.lower()}"),
    ]
    chart = _paired_bars(
        rows,
        notes,
        order,
        provider_name,
        BENCHMARK,
        share=False,
        calc=calc,
        tips=tips,
        x_title=GRADE_AXIS,
        x_domain=(0, 10),
    )
    return _titled(chart, title)


def _base_n(records: list[dict[str, Any]], column: str) -> int | None:
    values = [r[column] for r in records if r.get(column) is not None]
    return max(values) if values else None


def answer_shares(
    frame: pl.DataFrame, provider_name: str = "Aanbieder", *, title: str | None = None
) -> alt.TopLevelMixin:
    """Share of each answer category (in catalogue order): provider and benchmark bars with the provider's 95%
    interval; on the recommend figures the actuele promotor score of both in the (sub)title."""
    if message := _blocked(frame, "share", bench_visible=True):
        return _message(message, title)
    frame = frame.sort("position")
    drawable = _drawable(_records(frame), "share")
    provider = _n_label(provider_name, _base_n(drawable, "base_n"))
    bench = _n_label(BENCHMARK, _base_n(drawable, "bench_base_n"))
    rows, notes, order = [], [], []
    for record in _records(frame):
        row = _wrap(record["category"])
        order.append(row)
        if _is_withheld(record, "share"):
            notes.append(_note_row(record, "row", row))
            if record.get("bench_share") is not None:  # the benchmark stays visible (DESIGN §5)
                rows.append(_bench_only(record, row, bench, "bench_share"))
            continue
        for who, value, low, high in (
            (provider, record["share"], record.get("ci_low"), record.get("ci_high")),
            (bench, record.get("bench_share"), None, None),
        ):
            rows.append({**record, "row": row, "who": who, "value": value, "low": low, "high": high})
    calc, tips = _comparison(provider_name, "share", "bench_share", share=True)
    calc["_t_label"] = "datum.category"
    tips.insert(0, ("_t_label", ANSWER_TITLE))
    chart = _paired_bars(
        rows,
        notes,
        order,
        provider,
        bench,
        share=True,
        calc=calc,
        tips=tips,
        x_title=SHARE_AXIS,
        x_domain=(0, 100),
    )
    if title is None and _is_recommend(frame):
        # a recommend figure in the dashboard: its quiet title (the promotor scores) is a parameter, so that a
        # filter changes the value, not the spec (chart_widget.js sets the view's signal); empty when there is none
        chart = _with_values(chart, {SUBTITLE_PARAM: _promoter_line(drawable) or ""})
        return chart.properties(
            title=alt.TitleParams(
                text=alt.ExprRef(SUBTITLE_PARAM),
                # no room taken when there is no score, as a chart without a title
                fontSize=alt.ExprRef(f"{SUBTITLE_PARAM} ? 12 : 0"),
                offset=alt.ExprRef(f"{SUBTITLE_PARAM} ? 10 : 0"),
                fontWeight="normal",
                color=MUTED,
            )
        )
    return _titled(chart, title, _promoter_line(drawable))


def _is_recommend(frame: pl.DataFrame) -> bool:
    """A recommend figure (the promoter question): a promotor score or count of the provider or of all
    participants, also when the provider's own is withheld."""
    columns = [c for c in ("promoter_score", "promoter_n", "bench_promoter_score", "bench_promoter_n") if c in frame.columns]
    return bool(columns) and any(frame.get_column(c).is_not_null().any() for c in columns)


def _promoter_line(records: list[dict[str, Any]]) -> str | None:
    """'Actuele promotor score: 44,4 (alle deelnemers: 40,5)' on the recommend figures, else None."""
    own = [r["promoter_score"] for r in records if r.get("promoter_score") is not None]
    if not own:
        return None
    bench = [r["bench_promoter_score"] for r in records if r.get("bench_promoter_score") is not None]
    line = f"{PROMOTER}: {number(own[0])}"
    if len(bench):
        line += f" ({BENCHMARK.lower()}: {number(bench[0])})"
    return line


def grade_distribution(
    frame: pl.DataFrame, provider_name: str = "Aanbieder", *, title: str | None = None
) -> alt.TopLevelMixin:
    """Spread of the grades (rounded to whole numbers): per grade the share of the provider's and of all
    participants' grades, side by side, with the provider's 95% interval."""
    if message := _blocked(frame, "share"):
        return _message(message, title)
    frame = frame.sort("score")
    drawable = _drawable(_records(frame), "share")
    provider = _n_label(provider_name, _base_n(drawable, "base_n"))
    bench = _n_label(BENCHMARK, _base_n(drawable, "bench_base_n"))
    order = [str(r["label"]) for r in _records(frame)]
    rows, notes = [], []
    for record in _records(frame):
        col = str(record["label"])
        if _is_withheld(record, "share"):
            notes.append(_note_row(record, "col", col))
            continue
        for who, value, low, high in (
            (provider, record["share"], record.get("ci_low"), record.get("ci_high")),
            (bench, record.get("bench_share"), None, None),
        ):
            rows.append(
                {
                    **record,
                    "col": col,
                    "who": who,
                    "value": value,
                    "low": low,
                    "high": high,
                    "who_order": 0 if who == provider else 1,
                }
            )
    calc, tips = _comparison(provider_name, "share", "bench_share", share=True)
    calc["_t_label"] = "datum.col"
    tips.insert(0, ("_t_label", GRADE_AXIS))
    x = alt.X("col:N", sort=order, scale=alt.Scale(domain=order), title=SCORE_AXIS, axis=alt.Axis(labelAngle=0))
    # the n of each group is in the legend's labels: data (a data set of their own), not the spec (as _paired_bars)
    offset = alt.XOffset("who_order:N", sort=[0, 1], scale=alt.Scale(domain=[0, 1]))
    colour = alt.Color(
        "who:N",
        scale=alt.Scale(range=[PROVIDER_COLOUR, BENCHMARK_COLOUR]),
        sort=alt.EncodingSortField("who_order", op="min"),
        title=None,
        legend=_LEGEND,
    )
    legend = (
        alt.Chart(alt.Data(values=[{"who": provider, "who_order": 0}, {"who": bench, "who_order": 1}]))
        .mark_bar(opacity=0)
        .encode(color=colour, tooltip=alt.TooltipValue(None))
    )
    y = alt.Y("y:Q", title=SHARE_AXIS, axis=alt.Axis(format=".0%", tickCount=5), scale=alt.Scale(domainMin=0))
    base = (
        alt.Chart()
        .transform_filter("isValid(datum.value)")
        .transform_calculate(y="datum.value / 100", y_low="datum.low / 100", y_high="datum.high / 100", **calc)
    )
    tooltip = _tooltip(tips)
    bars = base.mark_bar(width={"band": 1}).encode(x=x, xOffset=offset, y=y, color=colour, tooltip=tooltip)
    # whiskers only on grades given: ten whiskers from zero would drown the bars (the n is in the legend)
    errors = (
        base.transform_filter("isValid(datum.low) && isValid(datum.high) && datum.value > 0")
        .mark_rule(color=MUTED, strokeWidth=1, opacity=0.6)
        .encode(x=x, xOffset=offset, y=alt.Y("y_low:Q"), y2=alt.Y2("y_high:Q"), tooltip=tooltip)
    )
    layers: list[alt.Chart] = [legend, bars, errors]
    # a grade withheld on its own (rare: the base is shared) gets a mark that says so; the layer is there
    # without notes too (one spec for every filter)
    layers.append(
        alt.Chart(alt.Data(values=notes))
        .mark_text(angle=270, align="left", dy=0, fontSize=10, color=MUTED)
        .encode(x=x, y=alt.YDatum(0, type="quantitative"), text=alt.Text("note:N"))
    )
    chart = alt.layer(*layers, width=WIDTH - 80, height=220)
    return _titled(_with_data(chart, rows), title)


# --- satisfaction items: a 100% stacked bar per item, provider above benchmark --------------------------------
def _category_colours(categories: list[str]) -> list[str]:
    """Diverging colours from the most positive to the most negative category (scale order of the catalogue),
    taken from both ends of the palette; 'geen mening' (and any other no-opinion answer) neutral."""
    neutral = set(catalog().no_opinion)
    ordered = [c for c in categories if c not in neutral]
    k, palette = len(ordered), list(DIVERGING_COLOURS)
    if k <= len(palette):
        half = (k + 1) // 2
        picks = palette[:half] + palette[len(palette) - (k - half) :] if k else []
    else:  # more categories than colours: repeat the ends
        picks = [palette[min(int(i * len(palette) / k), len(palette) - 1)] for i in range(k)]
    colour = dict(zip(ordered, picks, strict=True))
    return [colour.get(c, NEUTRAL_COLOUR) for c in categories]


_SATISFACTION_FIELDS = (
    "item", "category", "position", "n", "share", "ci_low", "ci_high", "bench_n", "bench_share", "diff",
    "significant", "share_satisfied", "bench_share_satisfied", "note",
)  # fmt: skip


def satisfaction_items(
    frame: pl.DataFrame, provider_name: str = "Aanbieder", *, title: str | None = None
) -> alt.TopLevelMixin:
    """Per item a 100% stacked bar of the answer categories in scale order (diverging colours, 'geen mening'
    neutral), the provider's bar above the benchmark's, with the share satisfied (without 'geen mening') at the
    end of each bar and in the tooltip."""
    if message := _blocked(frame, "share"):
        return _message(message, title)
    frame = frame.sort("item_position", "position")
    categories = list(dict.fromkeys(frame.get_column("category").to_list()))
    items = list(dict.fromkeys(frame.get_column("item").to_list()))
    rows: list[dict[str, Any]] = []
    for item in items:
        part = frame.filter(pl.col("item") == item)
        records = _records(part)
        if all(_is_withheld(r, "share") for r in records):
            note = next((r.get("note") for r in records if r.get("note")), None) or texts.no_respondents()
            rows.append({"item": item, "bar": provider_name, "layer": "note", "note": note})
            continue
        first = next(r for r in records if not _is_withheld(r, "share"))
        own_bar = _n_label(provider_name, first.get("base_n"))
        bench_bar = _n_label(BENCHMARK, first.get("bench_base_n"))
        for record in records:
            if _is_withheld(record, "share"):
                continue
            record = {k: record.get(k) for k in _SATISFACTION_FIELDS}
            for who, bar, value, n in (
                (provider_name, own_bar, record["share"], record.get("n")),
                (BENCHMARK, bench_bar, record.get("bench_share"), record.get("bench_n")),
            ):
                rows.append({**record, "who": who, "bar": bar, "value": value, "count": n, "layer": "bar"})
        for who, bar, key in (
            (provider_name, own_bar, "share_satisfied"),
            (BENCHMARK, bench_bar, "bench_share_satisfied"),
        ):
            rows.append({"item": item, "who": who, "bar": bar, "satisfied": first.get(key), "layer": "satisfied"})
    colour = alt.Color(
        "category:N",
        scale=alt.Scale(domain=categories, range=_category_colours(categories)),
        sort=categories,
        title=None,
        legend=alt.Legend(columns=min(3, len(categories)), symbolLimit=0, symbolOpacity=1),
    )
    y = alt.Y("bar:N", axis=alt.Axis(title=None, labelLimit=0), sort=alt.EncodingSortField("who_order"))
    calc, tips = _comparison(
        provider_name,
        "share",
        "bench_share",
        share=True,
        n=None,
        bench_n=None,
    )
    calc |= {
        "_t_count": _fmt("count", ",d"),
        "_t_sat": _pct("share_satisfied"),
        "_t_bench_sat": _pct("bench_share_satisfied"),
        "_t_item": "datum.item",
        "_t_category": "datum.category",
        "_t_who": "datum.who",
    }
    tips = [
        ("_t_item", ASPECT_TITLE),
        ("_t_who", GROUP_TITLE),
        ("_t_category", ANSWER_TITLE),
        ("_t_count", N_TITLE),
        *tips[:-1],
        ("_t_sat", f"{SATISFIED_TITLE}: {provider_name}"),
        ("_t_bench_sat", f"{SATISFIED_TITLE}: {BENCHMARK.lower()}"),
        tips[-1],
    ]
    base = alt.Chart().transform_calculate(who_order=f"datum.who === '{_js(provider_name)}' ? 0 : 1")
    bars = (
        base.transform_filter("datum.layer === 'bar' && isValid(datum.value)")
        .transform_calculate(**calc)
        .transform_stack(stack="value", groupby=["item", "bar"], sort=[alt.SortField("position")], as_=["v0", "v1"])
        .transform_calculate(x0="datum.v0 / 100", x1="datum.v1 / 100")
        .mark_bar(cornerRadiusEnd=0, **SEPARATOR)
        .encode(
            x=alt.X(
                "x0:Q",
                title=SHARE_AXIS,
                scale=alt.Scale(domain=[0, 1], nice=False),
                axis=alt.Axis(format=".0%", values=[0, 0.25, 0.5, 0.75, 1]),
            ),
            x2=alt.X2("x1:Q"),
            y=y,
            color=colour,  # the same full colours for both bars (a paler one would fall below 3:1): the label names it
            tooltip=_tooltip(tips),
        )
    )
    satisfied = (
        base.transform_filter("datum.layer === 'satisfied'")
        .transform_calculate(
            x="1",
            label=f"isValid(datum.satisfied) ? format(datum.satisfied / 100, '.1%') + ' {SATISFIED_SUFFIX}' : ''",
        )
        .mark_text(align="left", baseline="middle", dx=6, fontSize=11)
        .encode(
            x=alt.X("x:Q"),
            y=y,
            text=alt.Text("label:N"),
            color=alt.ColorValue(
                MUTED, condition={"test": f"datum.who === '{_js(provider_name)}'", "value": PROVIDER_COLOUR}
            ),
        )
    )
    notes = (
        base.transform_filter("datum.layer === 'note'")
        .transform_calculate(x="0")
        .mark_text(align="left", baseline="middle", fontSize=12, fontStyle="italic", color=MUTED)
        .encode(x=alt.X("x:Q"), y=y, text=alt.Text("note:N"))
    )
    layer = alt.layer(bars, satisfied, notes, width=PLOT_WIDTH - 80, height=48)
    chart = layer.facet(
        row=alt.Row(
            "item:N",
            sort=items,
            title=None,
            header=alt.Header(
                labelOrient="top",
                labelAnchor="start",
                labelAngle=0,
                labelFontWeight=600,
                labelPadding=4,
                labelLimit=WIDTH,
            ),
        ),
        spacing=6,
        data=alt.Data(values=rows),
    ).resolve_scale(y="independent")
    return _titled(chart, title)


def _js(text: str) -> str:
    """A string literal body for a Vega expression in single quotes."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


# --- the front page tile ------------------------------------------------------------------------------------
def grade_tile(
    frame: pl.DataFrame,
    provider_name: str = "Aanbieder",
    *,
    title: str | None = None,
    policy: Policy | None = None,
) -> alt.TopLevelMixin:
    """The front page's grade: the provider's mean grade large, the benchmark's beside it, the n of each, and a
    strip 0-10 with the provider's 95% interval, the benchmark and the norm for a total."""
    if message := _blocked(frame, "grade"):
        return _message(message, title)
    policy = policy or load_policy()
    totals = _drawable(_records(frame), "grade")
    total = [r for r in totals if r.get("service") is None]
    record = (total or totals)[0]
    who = [provider_name, BENCHMARK]
    cells = [
        {**record, "who": provider_name, "value": record["grade"], "count": record.get("n")},
        {**record, "who": BENCHMARK, "value": record.get("bench_grade"), "count": record.get("bench_n")},
    ]
    calc, tips = _comparison(provider_name, "grade", "bench_grade", share=False)
    x = alt.X("who:N", sort=who, scale=alt.Scale(domain=who, paddingOuter=0.1), axis=None)
    colour = alt.ColorValue(
        MUTED, condition={"test": f"datum.who === '{_js(provider_name)}'", "value": PROVIDER_COLOUR}
    )
    base = (
        alt.Chart(alt.Data(values=cells))
        .transform_filter("isValid(datum.value)")
        .transform_calculate(
            big=_fmt("value"),
            caption="datum.who",
            count="'n = ' + format(datum.count, ',d')",
            **calc,
        )
    )
    tooltip = _tooltip(tips)
    big = base.mark_text(fontSize=44, fontWeight="bold", baseline="alphabetic").encode(
        x=x, y=alt.YValue(48), text=alt.Text("big:N"), color=colour, tooltip=tooltip
    )
    caption = base.mark_text(fontSize=12, color=INK, baseline="top").encode(
        x=x, y=alt.YValue(58), text=alt.Text("caption:N"), tooltip=tooltip
    )
    count = base.mark_text(fontSize=11, color=MUTED, baseline="top").encode(
        x=x, y=alt.YValue(74), text=alt.Text("count:N"), tooltip=tooltip
    )
    numbers = alt.layer(big, caption, count, width=WIDTH - 220, height=90)

    norm = policy.norm_total
    strip_rows = [
        {"who": provider_name, "value": record["grade"], "low": record.get("ci_low"), "high": record.get("ci_high")},
        {"who": BENCHMARK, "value": record.get("bench_grade"), "low": None, "high": None},
        {"who": NORM_TITLE, "value": norm, "low": None, "high": None},
    ]
    strip_scale = alt.Scale(domain=[1, 10], nice=False)
    strip_axis = alt.Axis(values=list(range(1, 11)), title=None, grid=False, format="d", labelFontSize=10)
    strip_x = alt.X("value:Q", scale=strip_scale, axis=strip_axis)
    strip_colour = alt.Color(
        "who:N",
        scale=_who_scale(provider_name, BENCHMARK, {NORM_TITLE: NORM_COLOUR}),
        title=None,
        legend=alt.Legend(orient="bottom", symbolOpacity=1),
    )
    strip = (
        alt.Chart(alt.Data(values=strip_rows))
        .transform_filter("isValid(datum.value)")
        .transform_calculate(_t_value=_fmt("value"), _t_ci=_interval("low", "high", share=False))
    )
    strip_tip = [
        alt.Tooltip("who:N", title=GROUP_TITLE),
        alt.Tooltip("_t_value:N", title=GRADE_AXIS),
        alt.Tooltip("_t_ci:N", title=INTERVAL_TITLE),
    ]
    track = (
        alt.Chart(alt.Data(values=[{"a": 1, "b": 10}]))
        .mark_rule(color=TRACK_COLOUR, strokeWidth=6)
        .encode(x=alt.X("a:Q", scale=strip_scale, axis=strip_axis), x2=alt.X2("b:Q"))
    )
    interval = (
        strip.transform_filter("isValid(datum.low)")
        .mark_rule(strokeWidth=6, opacity=0.35, color=PROVIDER_COLOUR)
        .encode(x=alt.X("low:Q", scale=strip_scale, axis=strip_axis), x2=alt.X2("high:Q"), tooltip=strip_tip)
    )
    marks = strip.mark_tick(thickness=3, size=18, opacity=1).encode(x=strip_x, color=strip_colour, tooltip=strip_tip)
    strip_chart = alt.layer(track, interval, marks, width=WIDTH - 220, height=22)
    chart = alt.vconcat(numbers, strip_chart, spacing=4)
    return _titled(chart, title)


# --- the province map -----------------------------------------------------------------------------------------
@cache
def _provinces_geojson() -> dict[str, Any]:
    text = files("keurmerk").joinpath("data/nl_provinces.geojson").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def map_attribution() -> str:
    """The attribution line of the province boundaries (CC BY 4.0), from keurmerk/data/NL_PROVINCES_SOURCE.md."""
    source = files("keurmerk").joinpath("data/NL_PROVINCES_SOURCE.md").read_text(encoding="utf-8")
    match = re.search(r"\*\*Attribution line\*\*[^`]*`([^`]+)`", source)
    if not match:
        raise ValueError("NL_PROVINCES_SOURCE.md: geen attributieregel gevonden")
    return match.group(1)


def province_map(
    frame: pl.DataFrame, provider_name: str = "Aanbieder", *, title: str | None = None
) -> alt.TopLevelMixin:
    """Where the clients come from: two choropleth maps side by side, the share of the provider's completed
    client questionnaires per province and that of all participants; name, n, both shares, difference and
    significance in the tooltip; the map's source as the footer."""
    if message := _blocked(frame, "share"):
        return _message(message, title)
    records = _records(frame)
    drawable = _drawable(records, "share")
    lookup_rows = []
    for record in records:
        if _is_withheld(record, "share"):
            lookup_rows.append({"province": record["province"], "name": record["name"], "note": record.get("note")})
        else:
            lookup_rows.append(record)
    fields = sorted({k for r in lookup_rows for k in r} - {"province"})
    features = _provinces_geojson()["features"]
    top = max([r[c] for r in drawable for c in ("share", "bench_share") if r.get(c) is not None] + [1.0])
    # what changes with a filter (the colour scale's top, the n in the titles) are parameters: the browser gives
    # the map that is drawn new values instead of projecting both maps anew (chart_widget.js)
    values = {
        "km_map_top": top / 100,
        "km_map_own": _n_label(provider_name, _base_n(drawable, "base_n")),
        "km_map_bench": _n_label(BENCHMARK, _base_n(drawable, "bench_base_n")),
    }
    calc, tips = _comparison(provider_name, "share", "bench_share", share=True, n="n", bench_n="bench_n")
    calc["_t_name"] = "datum.name"
    tooltip = _tooltip([("_t_name", PROVINCE_TITLE), *tips])

    def one_map(value: str, who: str, ramp: list[str]) -> alt.Chart:
        colour = alt.Color(
            "fill:Q",
            condition={"test": "!isValid(datum.fill)", "value": TRACK_COLOUR},  # withheld or unknown: light grey
            scale=alt.Scale(domainMin=0, domainMax=alt.ExprRef("km_map_top"), range=ramp, nice=False),
            legend=alt.Legend(
                format=".0%", title=None, orient="bottom", gradientLength=180, tickCount=3,
                # not read out: Vega names the legend once ("… from 0% to 83%") and keeps that name when the
                # scale's top changes with a filter; the shares per province are in the chart's table
                aria=False,
            ),
        )
        return (
            alt.Chart()
            .transform_lookup(
                lookup="properties.statcode", from_=alt.LookupData(alt.Data(values=lookup_rows), "province", fields)
            )
            .transform_calculate(fill=f"isValid(datum['{value}']) ? datum['{value}'] / 100 : null", **calc)
            # a withheld province stays, grey; a dark outline gives every province, the lightest too, 3:1 against the
            # page and its neighbours (WCAG 1.4.11)
            .mark_geoshape(stroke=MUTED, strokeWidth=0.6, invalid="show")
            .encode(
                color=colour,
                tooltip=tooltip,
            )
            .project("mercator")
            .properties(
                width=(WIDTH - 40) // 2,
                height=290,
                title=alt.TitleParams(alt.ExprRef(who), fontSize=12, fontWeight=600, anchor="middle"),
            )
        )

    own = one_map("share", "km_map_own", ["#eef4f9", "#7fb0d3", PROVIDER_COLOUR])
    bench = one_map("bench_share", "km_map_bench", ["#f4f5f6", BENCHMARK_COLOUR, MUTED])
    footer = alt.TitleParams(
        map_attribution(), orient="bottom", anchor="start", fontSize=10, fontWeight="normal", color=MUTED, offset=6
    )
    maps = alt.hconcat(own, bench, spacing=16, title=footer, description=map_attribution())
    maps = _with_values(maps, values)
    maps = _with_data(maps.resolve_scale(color="independent"), features)
    if title is None:
        return maps
    return alt.vconcat(maps, title=alt.TitleParams(title))


# --- the invitation funnel -------------------------------------------------------------------------------------
def _segment(record: dict[str, Any]) -> str:
    mode = record.get("mode_label") or record.get("mode") or ""
    reminded = record.get("reminded")
    return f"{mode}, {REMINDED[reminded]}" if reminded in REMINDED else mode


def funnel(frame: pl.DataFrame, provider_name: str = "Aanbieder", *, title: str | None = None) -> alt.TopLevelMixin:
    """The invitation funnel per audience: invited, net sample and completed as bars stacked by mode and
    reminder, with the count and its share at the end of each: the net sample of the invited, completed of the
    net sample (the response of table 1.1), each labelled, and that of all participants."""
    if frame.height == 0 or frame.get_column("n").drop_nulls().sum() == 0:
        notes = [n for n in frame.get_column("note").to_list() if n] if "note" in frame.columns else []
        return _message(notes[0] if notes else texts.no_respondents(), title)
    modes = list(catalog().modes)
    segments_all = sorted(
        {
            _segment(r): (modes.index(r["mode"]) if r["mode"] in modes else 99, not r.get("reminded"))
            for r in _records(frame.filter(pl.col("mode").is_not_null()))
        }.items(),
        key=lambda kv: kv[1],
    )
    segment_order = [s for s, _ in segments_all]
    colour = alt.Color(
        "segment:N",
        scale=alt.Scale(domain=segment_order, range=list(CATEGORY_COLOURS[: len(segment_order)])),
        sort=segment_order,
        title=None,
        legend=alt.Legend(columns=2, symbolLimit=0, symbolOpacity=1),
    )
    charts = []
    audiences = list(dict.fromkeys(frame.get_column("audience").to_list()))
    for audience in audiences:
        part = frame.filter(pl.col("audience") == audience).sort("position")
        label = part.get_column("audience_label")[0]
        stages = list(dict.fromkeys(part.get_column("stage_label").to_list()))
        first_stage = stages[0] if stages else None
        largest = int(part.get_column("n").drop_nulls().max() or 1)
        count_axis = alt.Axis(format=",d", tickMinStep=1, tickCount=max(1, min(largest, 8)))  # no 0,5 with few
        rows = []
        for record in _records(part):
            layer = "segment" if record.get("mode") is not None else "total"
            rows.append({**record, "segment": _segment(record) if layer == "segment" else None, "layer": layer})
        y = alt.Y("stage_label:N", sort=stages, title=None, axis=alt.Axis(labelLimit=0))
        base = alt.Chart(alt.Data(values=rows)).transform_calculate(
            _t_n=_fmt("n", ",d"),
            _t_share=_pct("share"),
            _t_bench=_pct("bench_share"),
            _t_bench_n=_fmt("bench_n", ",d"),
            _t_note=_note_expr(),
        )
        tips = [
            ("stage_label", STAGE_TITLE),
            ("_t_n", N_TITLE),
            ("share_label", SHARE_TITLE),
            ("_t_share", provider_name),
            ("_t_bench", BENCHMARK),
            ("_t_bench_n", f"{N_TITLE} {BENCHMARK.lower()}"),
            ("_t_note", NOTE_TITLE),
        ]
        bars = (
            base.transform_filter("datum.layer === 'segment'")
            .mark_bar(**SEPARATOR)
            .encode(
                x=alt.X("sum(n):Q", title=N_TITLE, axis=count_axis),
                y=y,
                color=colour,
                order=alt.Order("segment_order:Q"),
                tooltip=_tooltip([("segment", GROUP_TITLE), *tips]),
            )
            .transform_calculate(
                segment_order="indexof(" + json.dumps(segment_order) + ", datum.segment)",
            )
        )
        totals_rows = [r for r in rows if r["layer"] == "total"]
        # at the end of each stage: its count, then (after the first stage) its share named for what it is ("41,9%
        # respons": completed of the net sample, as table 1.1) and, on a second line, that of all participants
        first = f"datum.stage_label === '{_js(first_stage or '')}'"
        totals = base.transform_filter("datum.layer === 'total'").transform_calculate(
            own=f"format(datum.n, ',d') + ({first} ? '' : ' · ' + ({_pct('share')}) + ' ' + datum.share_label)",
            bench=f"{first} ? '' : '{BENCHMARK.lower()}: ' + ({_pct('bench_share')})",
        )
        text = totals.mark_text(align="left", dx=5, dy=0, fontSize=11, color=INK).encode(
            x=alt.X("n:Q", title=N_TITLE, axis=count_axis), y=y, text=alt.Text("own:N"), tooltip=_tooltip(tips)
        )
        own_text = text.transform_filter(first).mark_text(align="left", baseline="middle", dx=5, fontSize=11, color=INK)
        own_later = text.transform_filter(f"!({first})").mark_text(
            align="left", baseline="bottom", dx=5, dy=-1, fontSize=11, color=INK
        )
        bench_text = (
            totals.transform_filter(f"!({first})")
            .mark_text(align="left", baseline="top", dx=5, dy=1, fontSize=11, color=MUTED)
            .encode(
                x=alt.X("n:Q", title=N_TITLE, axis=count_axis), y=y, text=alt.Text("bench:N"), tooltip=_tooltip(tips)
            )
        )
        layers = [bars, own_text, own_later, bench_text] if totals_rows else [bars]
        charts.append(
            alt.layer(
                *layers,
                width=PLOT_WIDTH - 40,
                height=len(stages) * 42,
                title=alt.TitleParams(label, fontSize=13, fontWeight=600, anchor="start"),
            )
        )
    chart = alt.vconcat(*charts, spacing=14).resolve_scale(x="independent")
    return _titled(chart, title)


# --- relatief goed / relatief minder goed -------------------------------------------------------------------
def strengths(frame: pl.DataFrame, provider_name: str = "Aanbieder", *, title: str | None = None) -> alt.TopLevelMixin:
    """Relatief goed / relatief minder goed: per aspect the difference in share satisfied with all participants,
    diverging from zero, strengths above weaknesses; or a note that no aspect stands out."""
    if frame.height == 0 or frame.get_column("satisfied_diff").drop_nulls().len() == 0:
        return _message(NO_STANDOUTS, title)
    frame = frame.filter(pl.col("satisfied_diff").is_not_null()).sort(pl.col("kind") != "strength", pl.col("rank"))
    kinds = set(frame.get_column("kind").to_list())
    # What changes with a filter is data or a "km_…" parameter (chart_widget.js gives the drawn view new values):
    # the rows sort by their position, the height goes by a step per row, the x scale's ends are parameters and
    # each row carries its kind's colour (the legend lists the kinds there are, each in its own colour).
    colours = {"strength": DIVERGING_COLOURS[0], "weakness": DIVERGING_COLOURS[-1]}
    rows, order = [], []
    for position, record in enumerate(_records(frame)):
        row = _wrap(record["item"], 34, n=record.get("opinion_n"))
        order.append(row)
        rows.append({**record, "row": row, "row_order": position, "colour": colours.get(record["kind"], MUTED)})
    calc, tips = _comparison(
        provider_name,
        "share_satisfied",
        "bench_share_satisfied",
        share=True,
        n="opinion_n",
        bench_n="bench_opinion_n",
        low="satisfied_ci_low",
        high="satisfied_ci_high",
        diff="satisfied_diff",
        significant="satisfied_significant",
    )
    calc.pop("_t_note")
    tips = [("item", ASPECT_TITLE), *[t for t in tips if t[0] != "_t_note"]]
    y = alt.Y("row:N", sort=alt.EncodingSortField("row_order", op="min"), axis=_band_axis())
    top = max(abs(v) for v in frame.get_column("satisfied_diff").to_list()) * 1.25
    values = {
        "km_diff_low": -top if "weakness" in kinds else 0,
        "km_diff_high": top if "strength" in kinds else 0,
    }
    x = alt.X(
        "satisfied_diff:Q",
        title=SATISFIED_DIFF_AXIS,
        scale=alt.Scale(domainMin=alt.ExprRef("km_diff_low"), domainMax=alt.ExprRef("km_diff_high")),
        axis=alt.Axis(format=",.0f", tickCount=5, labelExpr="datum.value > 0 ? '+' + datum.label : datum.label"),
    )
    colour = alt.Color(
        "kind_label:N",
        sort=alt.EncodingSortField("row_order", op="min"),  # strengths first, as the rows
        scale=alt.Scale(range=alt.FieldRange("colour")),
        title=None,
        legend=_LEGEND,
    )

    def base() -> alt.Chart:
        # each layer its own list of the rows: one data set for all three would take their common calculation
        # as a transform of its own in Vega, and chart_widget.js gives new rows only to a data set without one
        return alt.Chart(alt.Data(values=list(rows))).transform_calculate(
            _t_value=_fmt("satisfied_diff", "+,.1f"), **calc)

    tooltip = _tooltip(tips)
    bars = base().mark_bar(height={"band": 0.7}).encode(x=x, y=y, color=colour, tooltip=tooltip)
    right = (
        base().transform_filter("datum.satisfied_diff >= 0")
        .mark_text(align="left", dx=4, fontSize=11, color=INK)
        .encode(x=x, y=y, text=alt.Text("_t_value:N"), tooltip=tooltip)
    )
    left = (
        base().transform_filter("datum.satisfied_diff < 0")
        .mark_text(align="right", dx=-4, fontSize=11, color=INK)
        .encode(x=x, y=y, text=alt.Text("_t_value:N"), tooltip=tooltip)
    )
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color=MUTED, strokeWidth=1).encode(x=alt.X("zero:Q"))
    step = max(30, max(label.count("\n") + 1 for label in order) * LINE_HEIGHT + 6)
    chart = alt.layer(bars, right, left, zero, width=PLOT_WIDTH - 30, height=alt.Step(step=step))
    chart = _with_values(chart, values)
    return _titled(chart, title)


def strength_pie(
    frame: pl.DataFrame, provider_name: str = "Aanbieder", *, title: str | None = None
) -> alt.TopLevelMixin:
    """The front page's pie: the provider's answer shares on the item that heads the staff list (seed:
    respectvolle houding), every category in the legend with its share, 0% included, as the seed prints it."""
    if frame.height == 0:
        return _message(NO_STANDOUTS, title)
    if message := _blocked(frame, "share"):
        return _message(message, title)
    records = _drawable(_records(frame.sort("position")), "share")
    item = records[0]["item"]
    domain = [f"{r['category'][:1].upper()}{r['category'][1:]}: {number(r['share'], 0)}%" for r in records]
    rows = [{**r, "label": label} for r, label in zip(records, domain, strict=True)]
    positive = [c for c in catalog().satisfaction if c not in catalog().no_opinion]
    shades = dict(zip(positive, DIVERGING_COLOURS[: len(positive)], strict=False))
    colours = [shades.get(r["category"], NEUTRAL_COLOUR) for r in records]
    chart = (
        alt.Chart(alt.Data(values=rows), width=180, height=180)
        .transform_filter("datum.share > 0")  # a 0% slice would draw a stray line; the legend still lists it
        .transform_calculate(_t_share=_pct("share"))
        .mark_arc(**SEPARATOR)
        .encode(
            theta=alt.Theta("share:Q", stack=True),
            color=alt.Color(
                "label:N",
                sort=domain,
                scale=alt.Scale(domain=domain, range=colours),
                title=None,
                legend=alt.Legend(symbolOpacity=1, orient="bottom", direction="vertical", labelLimit=0),
            ),
            order=alt.Order("position:Q"),
            tooltip=_tooltip([("category", ANSWER_TITLE), ("_t_share", SHARE_TITLE), ("n", N_TITLE)]),
        )
    )
    n = records[0].get("base_n")
    return _titled(chart, title, _n_label(item, n))


# --- dispatch -------------------------------------------------------------------------------------------------
# the builder of every chart kind, by the name its kind declares (keurmerk.metrics.registry.FIGURE_KINDS)
CHART_KINDS: tuple[str, ...] = tuple(name for name, kind in _PROVIDER_KINDS.items() if not kind.table)


def chart_for(
    kind: str, frame: pl.DataFrame, provider_name: str = "Aanbieder", policy: Policy | None = None, **options: Any
) -> alt.TopLevelMixin | None:
    """The chart of a catalogue chart kind for its frame; None for a kind that is a table (``keurmerk_table``).

    ``options`` go to the builder (``title``); ``policy`` only to the kinds that declare they take it (the norm
    line). An unknown kind is an error.
    """
    spec = figure_kind(kind)
    if spec.page != "provider":
        raise KeyError(f"onbekende grafieksoort: {kind!r} (bekend: {', '.join(_PROVIDER_KINDS)})")
    if spec.table:
        return None
    if spec.policy and policy is not None:
        options["policy"] = policy
    return globals()[spec.builder](frame, provider_name, **options)
