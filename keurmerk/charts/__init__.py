"""Charts: Altair specs in the ``keurmerk`` house style, and the offline dashboard widget that draws them.

``theme``  -- the registered ``keurmerk`` Altair theme (colours, system fonts, Dutch locale) and ``to_spec``.
``widget`` -- ``ChartWidget`` / ``show``: vega-embed in the browser, runtime served locally once per page.
"""

# The colours stay in keurmerk.charts.theme, where the chart builders take them from.
from keurmerk.charts.theme import THEME_NAME, embed_options, to_spec

__all__ = ["THEME_NAME", "ChartWidget", "embed_options", "show", "to_spec"]


def __getattr__(name: str) -> object:
    # the widget needs ipywidgets and anywidget: imported on first use, so that a report worker never loads them
    if name in ("ChartWidget", "show"):
        from keurmerk.charts import widget

        return getattr(widget, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
