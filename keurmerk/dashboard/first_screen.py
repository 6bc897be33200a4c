"""The provider page's first screen as static HTML, drawn before Voilà's front end is ready (issue 15).

Voilà's front end (≈ 6 MB of scripts) has to be parsed and run, connect to the kernel and receive every widget
model before it draws a widget: about two seconds at national scale on the server's two cores, while the kernel
has the page's widgets ready a few hundred milliseconds after the request. :func:`snapshot` writes what those
widgets show at that moment (header, filters as they are set, status line, buttons, tiles, the tab bar and the
first tab with its charts' Vega-Lite specs) as HTML with the same classes the widgets get in the browser; the
``keurmerk`` template streams it raw (``MIME``) and ``static/first_screen.js`` draws it with the chart widget's
own front end, then lays the live widgets over it once their charts in view are drawn. Nothing is computed
twice: the HTML is read from the widgets' state.

Only the widget classes the first screen uses are written; any other widget becomes an empty box (its place is
kept by the live page, not by the snapshot).
"""

from __future__ import annotations

import json
from functools import cache
from html import escape
from typing import Any

import ipywidgets as widgets

from keurmerk.charts.widget import ChartWidget
from keurmerk.dashboard.controls import PageStyle

__all__ = ["MIME", "snapshot", "snapshot_bundle"]

MIME = "application/vnd.keurmerk.first-screen+html"
# the ipywidgets Layout traits, as the browser's widget manager writes them on the element (name → CSS property)
_LAYOUT = ("align_content", "align_items", "align_self", "border", "bottom", "display", "flex", "flex_flow",
           "height", "justify_content", "justify_items", "left", "margin", "max_height", "max_width",
           "min_height", "min_width", "object_fit", "object_position", "order", "overflow", "padding", "right",
           "top", "visibility", "width")


@cache
def _styles() -> str:
    # the stylesheets the live page gets from its anywidgets, as they load them (their _css files)
    return f"{PageStyle._css}\n{ChartWidget._css}"


def _style(widget: widgets.Widget) -> str:
    layout = getattr(widget, "layout", None)
    if layout is None:
        return ""
    rules = [f"{name.replace('_', '-')}: {value}" for name in _LAYOUT
             if isinstance(value := getattr(layout, name, None), str) and value]
    return f' style="{escape("; ".join(rules))}"' if rules else ""


def _classes(widget: widgets.Widget, *base: str) -> str:
    return escape(" ".join([*base, *getattr(widget, "_dom_classes", ())]))


class _Writer:
    def __init__(self) -> None:
        self.specs: list[dict[str, Any]] = []

    def html(self, widget: widgets.Widget) -> str:  # noqa: PLR0911 - one branch per widget class
        if isinstance(widget, ChartWidget):
            if not widget.spec:  # deferred: the live page draws it when it comes into view
                return f'<div class="{_classes(widget, "lm-Widget")}"{_style(widget)}></div>'
            self.specs.append({"spec": widget.spec, "embed_options": widget.embed_options})
            return (f'<div class="{_classes(widget, "lm-Widget")}"{_style(widget)} '
                    f'data-km-chart="{len(self.specs) - 1}"></div>')
        if isinstance(widget, widgets.Tab):
            return self._tab(widget)
        if isinstance(widget, widgets.Box):
            kind = "widget-vbox" if isinstance(widget, widgets.VBox) else (
                "widget-hbox" if isinstance(widget, widgets.HBox) else "")
            inner = "".join(self.html(child) for child in widget.children)
            return (f'<div class="{_classes(widget, "lm-Widget lm-Panel jupyter-widgets widget-container widget-box", kind)}"'
                    f'{_style(widget)}>{inner}</div>')
        if isinstance(widget, widgets.HTML):
            return (f'<div class="{_classes(widget, "lm-Widget jupyter-widgets widget-inline-hbox widget-html")}"'
                    f'{_style(widget)}><div class="widget-html-content">{widget.value}</div></div>')
        if isinstance(widget, widgets.Dropdown):
            return self._dropdown(widget)
        if isinstance(widget, widgets.Button):
            return (f'<button class="{_classes(widget, "lm-Widget jupyter-widgets jupyter-button widget-button")}"'
                    f' title="{escape(widget.tooltip or "")}"{_style(widget)}>{escape(widget.description)}</button>')
        if isinstance(widget, widgets.IntProgress):
            return (f'<div class="{_classes(widget, "lm-Widget jupyter-widgets widget-hprogress widget-inline-hbox")}"'
                    f'{_style(widget)}><div class="progress"></div></div>')
        name = type(widget).__name__
        if name == "CheckPicker":
            return self._picker(widget)
        if name == "DownloadButton":
            return (f'<div class="{_classes(widget, "lm-Widget km-download")}"><button type="button" '
                    f'class="km-button">{escape(widget.label)}</button><span class="km-download-status"></span></div>')
        return f'<div class="{_classes(widget, "lm-Widget")}"{_style(widget)}></div>'

    def _dropdown(self, widget: widgets.Dropdown) -> str:
        label = (f'<label class="widget-label">{escape(widget.description)}</label>' if widget.description
                 else '<label class="widget-label" style="display: none;"></label>')
        options = "".join(
            f'<option{" selected" if i == widget.index else ""}>{escape(str(text))}</option>'
            for i, text in enumerate(widget._options_labels)  # noqa: SLF001 - the labels the browser shows
        )
        return (f'<div class="{_classes(widget, "lm-Widget jupyter-widgets widget-inline-hbox widget-dropdown")}"'
                f'{_style(widget)}>{label}<select>{options}</select></div>')

    def _picker(self, widget: widgets.Widget) -> str:
        chosen = {str(value) for value in widget.chosen}
        picked = [item for item in widget.items if str(item["value"]) in chosen]
        summary = (widget.all_label if not picked else ", ".join(item["short"] for item in picked)
                   if len(picked) <= 2 else f"{len(picked)} gekozen")  # as check_picker.js writes it
        return (f'<div class="{_classes(widget, "lm-Widget km-picker")}"><details><summary>'
                f'<span class="km-picker-label">{escape(widget.label)}: </span>'
                f'<span class="km-picker-value">{escape(summary)}</span></summary></details></div>')

    def _tab(self, widget: widgets.Tab) -> str:
        selected = widget.selected_index or 0
        tabs = "".join(
            f'<li role="tab" class="lm-TabBar-tab{" lm-mod-current" if i == selected else ""}" '
            f'style="z-index: {len(widget.titles) - i};"><div class="lm-TabBar-tabIcon"></div>'
            f'<div class="lm-TabBar-tabLabel">{escape(title)}</div></li>'
            for i, title in enumerate(widget.titles)
        )
        shown = self.html(widget.children[selected]) if widget.children else ""
        return (f'<div class="{_classes(widget, "lm-Widget jupyter-widget-TabPanel jupyter-widgets widget-container jupyter-widget-tab widget-tab")}"{_style(widget)}>'
                f'<div class="lm-Widget lm-TabBar jupyter-widget-TabPanel-tabBar widget-tab-bar" '
                f'data-orientation="horizontal"><ul role="tablist" class="lm-TabBar-content">{tabs}</ul></div>'
                f'<div class="lm-Widget lm-Panel jupyter-widget-TabPanel-tabContents widget-tab-contents">'
                f"{shown}</div></div>")


def snapshot(page: widgets.Widget) -> str:
    """The page's widgets as HTML (in a ``<template>``) with its charts' specs (JSON): what
    ``static/first_screen.js`` draws."""
    writer = _Writer()
    body = writer.html(page)
    specs = json.dumps(writer.specs, separators=(",", ":")).replace("</", "<\\/")
    return (f'<template data-km="first-screen"><style>{_styles()}</style>{body}</template>'
            f'<script type="application/json" data-km="first-screen-specs">{specs}</script>')


def snapshot_bundle(page: widgets.Widget) -> dict[str, str]:
    """A display bundle for ``IPython.display.display(..., raw=True)``: the snapshot for the ``keurmerk``
    template, nothing elsewhere (JupyterLab shows the empty text)."""
    return {MIME: snapshot(page), "text/plain": ""}
