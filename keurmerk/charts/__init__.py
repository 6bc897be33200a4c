"""Charts: Altair specs in the ``keurmerk`` house style, and the offline dashboard widget that draws them.

``theme``  -- the registered ``keurmerk`` Altair theme (colours, system fonts, Dutch locale) and ``to_spec``.
``widget`` -- ``ChartWidget`` / ``show``: vega-embed in the browser, runtime served locally once per page.
"""

# The colours stay in keurmerk.charts.theme, where the chart builders take them from.
from keurmerk.charts.theme import THEME_NAME, embed_options, to_spec
from keurmerk.charts.widget import ChartWidget, show

__all__ = ["THEME_NAME", "ChartWidget", "embed_options", "show", "to_spec"]
