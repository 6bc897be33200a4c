"""The staff trends as small multiples: one small panel per dienst, each with the national line for reference.

Twelve coloured lines in one chart could not be told apart (nor by colour-blind readers, nor in print); a panel
per dienst needs no colour key at all: the dienst's line in the house blue, all diensten together in grey, the
norm or threshold as a rule, and the dienst's name as the panel's title.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from keurmerk.charts.staff import (
    N_TITLE,
    NATIONAL,
    PERIOD_TITLE,
    PROVIDERS,
    REFERENCE_STYLE,
    SERVICE_TITLE,
    Reference,
    format_value,
    message,
)
from keurmerk.charts.theme import BENCHMARK_COLOUR, MUTED, PROVIDER_COLOUR

__all__ = ["trend_panels"]

COLUMNS = 3  # panels per row: two such charts side by side fit 1.400 px; on a phone the SVG shrinks with the page


def trend_panels(
    frame: pl.DataFrame,
    *,
    axis_title: str,
    percent: bool = False,
    references: Sequence[Reference] = (),
    title: str | None = None,
    services: Sequence[str] | None = None,
) -> alt.TopLevelMixin:
    """``frame``: :func:`keurmerk.metrics.status.trend_frame` for one measure; ``services``: the dienst labels,
    one panel each (default: those in the frame)."""
    usable = frame.filter(pl.col("value").is_not_null())
    if usable.filter(pl.col("service").is_not_null()).height == 0:
        return message("Geen gegevens in deze selectie.", title)
    scale = 100 if percent else 1
    labels = list(services) if services is not None else (
        usable.filter(pl.col("service").is_not_null()).sort("service")["label"].unique(maintain_order=True).to_list())
    national = [r for r in usable.sort("period").iter_rows(named=True) if r["service"] is None]
    rows = []
    for label in labels:  # every panel carries its dienst and, in grey, all diensten together
        own = usable.filter(pl.col("label") == label).sort("period").iter_rows(named=True)
        rows += [{**r, "panel": label, "y": r["value"] / scale, "period": str(r["period"]), "national": False}
                 for r in own]
        rows += [{**r, "panel": label, "y": r["value"] / scale, "period": str(r["period"]), "national": True,
                  "label": NATIONAL} for r in national]
    periods = sorted({r["period"] for r in rows})
    fmt = ".1%" if percent else ",.1f"
    values = [r["y"] for r in rows] + [ref.value / scale for ref in references]
    y_scale = alt.Scale(domain=[min(values), max(values)], nice=True, zero=False)
    x = alt.X("period:O", title=None, sort=periods, axis=alt.Axis(labelAngle=0))
    y = alt.Y("y:Q", title=None, scale=y_scale, axis=alt.Axis(format=".0%" if percent else ",.1f", tickCount=3))
    tooltip = [
        alt.Tooltip("label:N", title=SERVICE_TITLE),
        alt.Tooltip("period:N", title=PERIOD_TITLE),
        alt.Tooltip("y:Q", title=axis_title, format=fmt),
        alt.Tooltip("n:Q", title=N_TITLE, format=",d"),
        alt.Tooltip("providers:Q", title=PROVIDERS, format=",d"),
    ]
    all_line = (alt.Chart().transform_filter("datum.national")
                .mark_line(color=BENCHMARK_COLOUR, strokeWidth=2, point=alt.OverlayMarkDef(color=BENCHMARK_COLOUR))
                .encode(x=x, y=y, tooltip=tooltip))
    own_line = (alt.Chart().transform_filter("!datum.national")
                .mark_line(color=PROVIDER_COLOUR, strokeWidth=2.5, point=alt.OverlayMarkDef(color=PROVIDER_COLOUR))
                .encode(x=x, y=y, tooltip=tooltip))
    layers = [all_line, own_line]
    for ref in references:
        colour, dash = REFERENCE_STYLE[ref.kind]
        # a rule with only a datum has no description of its own: Vega would then leave its mark group a
        # graphics-symbol without a name (axe: svg-img-alt); the description names the line for screen readers
        layers.append(alt.Chart().mark_rule(color=colour, strokeDash=dash, strokeWidth=1.2)
                      .encode(y=alt.datum(ref.value / scale),
                              description=alt.value(f"{ref.label}: {format_value(ref.value, percent)}")))
    panel = alt.layer(*layers).properties(width=150, height=80)
    chart = alt.FacetChart(
        data=alt.Data(values=rows),
        spec=panel,
        facet=alt.Facet("panel:N", title=None, sort=labels,
                        header=alt.Header(labelLimit=185, labelFontSize=11, labelAnchor="start")),
        columns=COLUMNS,
    ).resolve_scale(y="shared")
    reference_words = "; ".join(f"{ref.label} (lijn)" for ref in references)
    subtitle = (f"Blauw: de dienst; grijs: {NATIONAL.lower()} (alle diensten){'; ' + reference_words if reference_words else ''}. "
                f"{axis_title} per periode.")
    return chart.properties(title=alt.TitleParams(text=title or axis_title, subtitle=subtitle, subtitleColor=MUTED))
