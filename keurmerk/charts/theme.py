"""The ``keurmerk`` Altair theme: house colours, system fonts and the Dutch number and date locale.

The locale travels *inside* every spec (``config.locale``), so a chart reads "8,0" and "41,9%" wherever it
is rendered: in a dashboard through :class:`keurmerk.charts.ChartWidget`, and in a static report through
``vl_convert`` (which honours ``config.locale`` as well). ``to_spec`` is the one way a chart becomes a
Vega-Lite dict: with the theme applied, whatever theme happens to be enabled globally.

Colours are roles, not categories: the provider against the benchmark, the norm line, and an ordered diverging
palette that chart functions map onto the catalogue's answer categories (this module never names a category).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import altair as alt
import vl_convert

from keurmerk.charts.speed import detached_data, install, reattach

__all__ = [
    "BENCHMARK_COLOUR",
    "CATEGORY_COLOURS",
    "DIVERGING_COLOURS",
    "FONT",
    "INK",
    "LOCALE",
    "MUTED",
    "NEUTRAL_COLOUR",
    "NORM_COLOUR",
    "PROVIDER_COLOUR",
    "SEPARATOR",
    "THEME_NAME",
    "TRACK_COLOUR",
    "embed_options",
    "format_locale",
    "keurmerk_theme",
    "time_format_locale",
    "to_spec",
]

THEME_NAME = "keurmerk"
install()  # Altair builds our layered charts without copying them twice (keurmerk.charts.speed)
LOCALE = "nl-NL"

# --- colours (roles) -------------------------------------------------------------------------------------
# Every colour that marks data has at least 3:1 contrast against the white background (WCAG 1.4.11; tested in
# tests/test_finish_units.py). Segments that touch (stacked bars, the pie) are parted by a white line
# (SEPARATOR), so each boundary has 3:1 as well, whatever the two neighbours are (WCAG technique G209).
PROVIDER_COLOUR = "#005a8c"  # the provider's own figures: deep blue
BENCHMARK_COLOUR = "#868e96"  # all participants: cool grey, lighter than the provider and than the text
NORM_COLOUR = "#c0392b"  # norm lines (6,5 total, 5,5 per dienst)
NEUTRAL_COLOUR = "#7b8794"  # "geen mening", "n.v.t.", withheld: grey, apart from the blue-orange answer scale
TRACK_COLOUR = "#d5d9dd"  # decoration only (the 1-10 track under a grade): carries no data
SEPARATOR = {"stroke": "white", "strokeWidth": 1}  # between touching segments
INK = "#1f2933"  # text
MUTED = "#52606d"  # secondary text, axis domain
GRID = "#e4e7eb"
# Ordered from the most positive to the most negative answer (e.g. zeer tevreden .. zeer ontevreden); chart
# functions take as many as the catalogue's scale has, from both ends. Blue-orange: safe for colour blindness;
# dark at the ends, lighter towards the middle, and even the middle tints 3:1 against white.
DIVERGING_COLOURS = ("#005a8c", "#4a8cc4", "#d9781f", "#a63d11")
# Unordered categories (reasons, education, ...): distinguishable, colour-blind safe: Okabe-Ito, its light
# colours darkened to 3:1 against white (orange, sky blue, reddish purple; yellow became olive).
CATEGORY_COLOURS = ("#005a8c", "#b86e00", "#009e73", "#c0669a", "#3a88c0", "#d55e00", "#7f7f7f", "#857700")

# System fonts only: no web font is ever requested (privacy, offline). vl-convert resolves the same stack.
FONT = (
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Noto Sans', "
    "'Liberation Sans', 'DejaVu Sans', sans-serif"
)


@cache
def format_locale() -> dict[str, Any]:
    """d3 number locale for nl-NL as a dict (decimal ",", thousands "."); vega-embed ignores a bare string."""
    return vl_convert.get_format_locale(LOCALE)


@cache
def time_format_locale() -> dict[str, Any]:
    """d3 time locale for nl-NL as a dict (month and day names in Dutch)."""
    return vl_convert.get_time_format_locale(LOCALE)


def embed_options() -> dict[str, Any]:
    """vega-embed options for the dashboards: Dutch locale as dicts, SVG, tooltips on, no action menu."""
    return {
        "formatLocale": format_locale(),
        "timeFormatLocale": time_format_locale(),
        "renderer": "svg",
        "actions": False,
        "tooltip": {"theme": "light"},
    }


@alt.theme.register(THEME_NAME, enable=False)
def keurmerk_theme() -> alt.theme.ThemeConfig:
    """House style; registered with Altair as ``keurmerk`` (``alt.theme.enable("keurmerk")``)."""
    label = {"labelFont": FONT, "labelFontSize": 12, "labelColor": INK}
    title = {"titleFont": FONT, "titleFontSize": 12, "titleFontWeight": 600, "titleColor": INK}
    return {
        "config": {
            "locale": {"number": format_locale(), "time": time_format_locale()},
            "font": FONT,
            "background": "white",
            "padding": 8,
            "view": {"stroke": None, "continuousWidth": 480, "continuousHeight": 260},
            "title": {
                "font": FONT,
                "fontSize": 15,
                "fontWeight": 600,
                "color": INK,
                "anchor": "start",
                "offset": 10,
                "subtitleFont": FONT,
                "subtitleFontSize": 12,
                "subtitleColor": MUTED,
            },
            "axis": {
                **label,
                **title,
                "labelLimit": 280,
                "gridColor": GRID,
                "domainColor": MUTED,
                "tickColor": MUTED,
            },
            "axisBand": {"grid": False, "ticks": False},
            "legend": {**label, **title, "orient": "bottom", "symbolType": "square", "labelLimit": 280},
            "header": {
                "labelFont": FONT,
                "labelFontSize": 12,
                "labelColor": INK,
                "titleFont": FONT,
                "titleFontSize": 12,
                "titleColor": INK,
            },
            "mark": {"color": PROVIDER_COLOUR, "font": FONT},
            "bar": {"color": PROVIDER_COLOUR, "cornerRadiusEnd": 2},
            "rule": {"color": NORM_COLOUR, "strokeWidth": 1.5},
            "text": {"font": FONT, "fontSize": 12, "color": INK},
            "range": {
                "category": list(CATEGORY_COLOURS),
                "diverging": list(DIVERGING_COLOURS),
                "ordinal": list(DIVERGING_COLOURS),
            },
        }
    }


def to_spec(chart: alt.TopLevelMixin | dict[str, Any], *, validate: bool = False) -> dict[str, Any]:
    """The Vega-Lite dict of a chart with the ``keurmerk`` theme applied (a dict passes through unchanged).

    Used by the dashboard widget and meant for the static reports, so both draw the same spec. Schema
    validation is off by default: it costs ~0.15 s per chart (jsonschema), a dashboard draws thirty-odd charts
    per filter change, and the chart builders' tests validate every kind (``validate=True``). Without validation
    the data sets are left out of Altair's walk and put back afterwards (:mod:`keurmerk.charts.speed`).
    """
    if isinstance(chart, dict):
        return chart
    if validate:  # the validator must see the data as well
        with alt.theme.enable(THEME_NAME):
            return chart.to_dict(validate=True)
    with detached_data(chart) as tokens, alt.theme.enable(THEME_NAME):
        spec = chart.to_dict(validate=False)
    return reattach(spec, tokens)
