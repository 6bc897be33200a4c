"""``ChartWidget``: an Altair chart in a dashboard, offline, with tooltips; the Vega runtime once per page.

Each widget instance carries only its Vega-Lite spec (JSON, through the ``spec`` traitlet) and a ~4 KB
front-end module. The Vega/Vega-Lite/vega-embed bundle (``RUNTIME_PATH``, made by
``vl_convert.javascript_bundle``) is a static file of the ``keurmerk`` Voilà template: the page preloads it
from the Voilà server itself and every chart on the page reuses the one module. Outside Voilà (JupyterLab)
the kernel sends it once over the widget comm.

    from keurmerk.charts import ChartWidget, show

    show(chart)                     # display, done
    w = ChartWidget(chart)          # keep a handle to update it
    display(w)
    w.chart = other_chart           # re-renders this chart in the browser
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import altair as alt
import anywidget
import traitlets
from IPython.display import display

from keurmerk.charts.runtime import MODULE_PATH, RUNTIME_EXPORTS, RUNTIME_PATH, runtime_code
from keurmerk.charts.theme import embed_options, to_spec

__all__ = ["RUNTIME_PATH", "ChartWidget", "build_runtime", "named_data", "runtime_code", "show"]

_STATIC = Path(__file__).resolve().parent / "static"
_TEMPLATE_STUB = """const meta = document.querySelector('meta[name="keurmerk-chart-module"]');
export default async () => (await import(new URL(meta.content, document.baseURI).href)).default;
"""


class ChartWidget(anywidget.AnyWidget):
    """A Vega-Lite chart rendered by vega-embed, Dutch locale, tooltips, SVG.

    ``chart`` is an Altair chart (converted with the ``keurmerk`` theme) or a ready Vega-Lite dict (used as
    is). Assigning ``widget.chart`` (or ``widget.spec``) redraws it. The browser can write these traits back,
    so the kernel never acts on them, except ``in_view``, which only orders its work; the only message it answers
    is the request for the public Vega runtime, once per widget.
    """

    # Served by keurmerk's Voilà template (``keurmerk serve`` sets $KEURMERK_CHART_MODULE), every chart's state
    # carries a stub that imports chart_widget.js from the template: one module per page, fetched while the
    # kernel runs, instead of its 18 kB in every chart's widget state, compiled again for every chart.
    _esm = _TEMPLATE_STUB if os.environ.get("KEURMERK_CHART_MODULE") == "template" else MODULE_PATH
    _css = _STATIC / "chart_widget.css"

    spec = traitlets.Dict().tag(sync=True)
    embed_options = traitlets.Dict().tag(sync=True)
    # A deferred chart (``defer``): the browser asks for its spec when the chart comes into view or the page is
    # idle; ``pending`` counts the charts deferred so far, so that a newer one is asked for again.
    pending = traitlets.Int(0).tag(sync=True)
    # Written by the browser: the chart is inside the viewport. Only an order of work: a filter change builds
    # the charts in view first (the dashboard's ``_in_view``).
    in_view = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        chart: alt.TopLevelMixin | dict[str, Any] | None = None,
        *,
        embed_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        options = _default_embed_options() if embed_options is None else embed_options
        super().__init__(embed_options=options, **kwargs)
        self._build: Callable[[], alt.TopLevelMixin | dict[str, Any] | None] | None = None
        self._asked = False  # the browser has asked for a deferred spec: later charts go out at once
        self._runtime_sent = False
        self.on_msg(self._on_custom_msg)
        if chart is not None:
            self.chart = chart

    @property
    def chart(self) -> dict[str, Any] | None:
        """The chart last assigned, as the Vega-Lite spec it was drawn from (None before the first). The chart
        object itself is not kept: its Altair objects would stay in the kernel's memory for every chart of a page."""
        return self.spec or None

    @chart.setter
    def chart(self, chart: alt.TopLevelMixin | dict[str, Any]) -> None:
        spec = named_data(to_spec(chart))
        self._build = None
        self.spec = spec

    def defer(self, build: Callable[[], alt.TopLevelMixin | dict[str, Any] | None], *, until_asked: bool = False,
              withdraw: bool = False) -> None:
        """Build the chart only when the browser asks for it (a chart below the first screen): the page's
        first widget state stays small and the kernel answers the visitor sooner. Once the browser has asked,
        later charts are built at once (a filter change redraws a page that is already there), unless
        ``until_asked``: then this one waits for the browser to ask again, which it does when the chart is in
        view or the page is idle (a filter change redraws what is on screen first). ``withdraw``: the chart
        drawn so far goes meanwhile (its numbers are not the selection's, and it is about to be shown again)."""
        if self._asked and not until_asked:
            chart = build()
            if chart is not None:
                self.chart = chart
            return
        self._build = build
        if withdraw:
            self.spec = {}
        self.pending += 1

    def _send_deferred(self) -> None:
        self._asked = True
        build, self._build = self._build, None
        if build is not None and (chart := build()) is not None:
            self.chart = chart
        elif self.spec:  # asked again: the browser missed the update, send the spec once more
            self.send_state("spec")

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "keurmerk:spec?":  # the browser may ask any time: it only gets this chart
            self._send_deferred()
            return
        if content.get("type") != "keurmerk:vega-runtime?":
            return
        if self._runtime_sent:  # one answer per widget: the browser cannot make the kernel resend 0.9 MB
            return
        self._runtime_sent = True
        self.send({"type": "keurmerk:vega-runtime", "code": runtime_code()})


def named_data(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with every inline data set (``"data": {"values": [...]}``, in layers, facets and lookups alike)
    moved to the top-level ``datasets`` under a name by position ("km-0", "km-1", …, in the order met).

    The charts' builders keep their rows inline (Altair would copy and walk them otherwise); in ``datasets`` the
    browser can tell a spec that differs only in its rows from the one it drew (``shapeOf`` in
    chart_widget.js) and give the rows to the Vega view that is there instead of embedding anew. Names by
    position, not by content: two filters of one figure give the same names. A data set that serves several
    places (one list) gets one name. The spec given is not changed.
    """
    datasets: dict[str, Any] = dict(spec.get("datasets") or {})
    names: dict[int, str] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "data" and isinstance(value, dict) and isinstance(value.get("values"), list):
                rows = value["values"]
                name = names.get(id(rows))
                if name is None:
                    name = names[id(rows)] = f"km-{len(names)}"
                    datasets[name] = rows
                out[key] = {"name": name, **{k: v for k, v in value.items() if k != "values"}}
            elif key == "datasets":
                continue
            else:
                out[key] = walk(value)
        return out

    named = walk(spec)
    if datasets:
        named["datasets"] = datasets
    return named


def show(chart: alt.TopLevelMixin | dict[str, Any]) -> None:
    """Display ``chart`` in the notebook or dashboard as a :class:`ChartWidget`.

    Returns nothing, so that ``show(chart)`` as the last line of a cell does not display it twice; to update a
    chart later, keep the widget: ``w = ChartWidget(chart); display(w); ...; w.chart = new``.
    """
    display(ChartWidget(chart))


@cache
def _default_embed_options() -> dict[str, Any]:
    return embed_options()


def build_runtime(path: Path = RUNTIME_PATH) -> Path:
    """(Re)build the runtime bundle with vl-convert, for the Vega-Lite version Altair emits.

    Run after upgrading altair or vl-convert-python: ``python -c "from keurmerk.charts.widget import
    build_runtime; build_runtime()"``. The output is deterministic for a given vl-convert version.
    """
    import vl_convert

    vl_version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    code = vl_convert.javascript_bundle(RUNTIME_EXPORTS, vl_version=vl_version)
    header = (
        f"/* Vega, Vega-Lite {vl_version}, vega-embed and vega-tooltip (BSD-3-Clause, the Vega project),"
        f" bundled by vl-convert-python {vl_convert.__version__} javascript_bundle().\n"
        f"   Rebuild: keurmerk.charts.widget.build_runtime(). sha256 of the code below:"
        f" {hashlib.sha256(code.encode()).hexdigest()} */\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + code, encoding="utf-8")
    runtime_code.cache_clear()
    return path
