"""Charts: Altair specs in the ``keurmerk`` house style, and the offline dashboard widget that draws them.

``theme``  -- the registered ``keurmerk`` Altair theme (colours, system fonts, Dutch locale) and ``to_spec``.
``widget`` -- ``ChartWidget`` / ``show``: vega-embed in the browser, runtime served locally once per page.
"""

from keurmerk.charts.theme import (
    BENCHMARK_COLOUR,
    CATEGORY_COLOURS,
    DIVERGING_COLOURS,
    INK,
    MUTED,
    NEUTRAL_COLOUR,
    NORM_COLOUR,
    PROVIDER_COLOUR,
    THEME_NAME,
    embed_options,
    to_spec,
)
from keurmerk.charts.widget import ChartWidget, show

__all__ = [
    "BENCHMARK_COLOUR",
    "CATEGORY_COLOURS",
    "DIVERGING_COLOURS",
    "INK",
    "MUTED",
    "NEUTRAL_COLOUR",
    "NORM_COLOUR",
    "PROVIDER_COLOUR",
    "THEME_NAME",
    "ChartWidget",
    "embed_options",
    "show",
    "to_spec",
]
