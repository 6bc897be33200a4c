"""The Vega runtime (Vega, Vega-Lite, vega-embed) as one ES module: served by the Voilà template, inlined in a
report. Kept apart from :mod:`keurmerk.charts.widget` so that a report worker imports no widget library."""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["MODULE_PATH", "RUNTIME_EXPORTS", "RUNTIME_PATH", "runtime_code"]

# The runtime is a static file of the Voilà template so that Voilà's template static handler serves it
# (cacheable, versioned URL); keurmerk/voila_template is a Jupyter data directory (voila/templates/<name>/).
RUNTIME_PATH = (
    Path(__file__).resolve().parent.parent
    / "voila_template"
    / "voila"
    / "templates"
    / "keurmerk"
    / "static"
    / "keurmerk-vega.js"
)
RUNTIME_EXPORTS = "export { vegaEmbed, vegaLite, vega };"
# ChartWidget's front end (anywidget ESM), a static file of the template too: a page imports it once by URL
MODULE_PATH = RUNTIME_PATH.with_name("chart_widget.js")


@cache
def runtime_code() -> str:
    """The Vega runtime module (ESM exporting ``vegaEmbed``, ``vegaLite``, ``vega``), as text."""
    return RUNTIME_PATH.read_text(encoding="utf-8")
