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

:class:`KeptScreens` keeps each snapshot on disk, for the link's provider and selection: the next visit with that
selection gets it in a cell of its own, streamed as soon as the link is checked, before the kernel builds the page.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from keurmerk.charts.widget import ChartWidget
from keurmerk.dashboard.controls import PageStyle
from keurmerk.warehouse import snapshot_stamp

__all__ = ["MIME", "KeptScreens", "bundle", "snapshot"]

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


def bundle(html: str) -> dict[str, str]:
    """A display bundle for ``IPython.display.display(..., raw=True)``: the snapshot ``html`` for the ``keurmerk``
    template, nothing elsewhere (JupyterLab shows the empty text)."""
    return {MIME: html, "text/plain": ""}


KEPT_SCREENS_MAX = 5000  # first screens kept per publication: ~0,1 MB each at national scale


@cache
def _code_version() -> str:
    # what wrote a snapshot: the package's files as installed (a deployment changes them)
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in {".py", ".js", ".css", ".toml", ".json"} and "__pycache__" not in path.parts:
            stat = path.stat()
            digest.update(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


class KeptScreens:
    """The first screens of provider pages opened before, kept on disk so that the next visit with the same
    link's selection is streamed at once, before the kernel builds the page (``ProviderApp.first_screen``).

    A first screen is a function of the published warehouse, the policy, the code and the link's provider and
    selection: one folder per warehouse publication and code version holds one file per provider and selection,
    named by a digest of them. A publication or a deployment starts afresh (other folders are removed when a new
    one is made), so a kept screen is never stale. Only what the page shows its provider after the link was
    checked is kept (aggregates, small groups suppressed), readable by the server's user only. Losing a file
    costs a visit the time to build its first screen, nothing else: every error here is ignored.
    """

    def __init__(self, warehouse: Path, stamp: object):
        self.warehouse, self.stamp = warehouse, stamp
        version = hashlib.sha256(f"{stamp}:{_code_version()}".encode()).hexdigest()[:16]
        self.root = self.root_beside(warehouse)
        self.folder = self.root / version

    @classmethod
    def beside(cls, warehouse: str | Path, stamp: object) -> KeptScreens:
        """The screens of the warehouse at ``warehouse`` as published (``stamp``: keurmerk.warehouse.snapshot_stamp,
        taken when it was opened), beside it (:meth:`root_beside`)."""
        return cls(Path(warehouse), stamp)

    @staticmethod
    def root_beside(warehouse: str | Path) -> Path:
        """Where the screens of the warehouse at ``warehouse`` are kept: ``<warehouse name>.first-screens``."""
        warehouse = Path(warehouse)
        return warehouse.with_name(f"{warehouse.stem}.first-screens")

    def _path(self, key: Mapping[str, object]) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
        return self.folder / f"{digest[:32]}.html"

    def get(self, key: Mapping[str, object]) -> str | None:
        """The screen kept for ``key`` (the provider, its selection and the policy), or None."""
        try:
            return self._path(key).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def put(self, key: Mapping[str, object], html: str) -> None:
        """Keep ``html`` for ``key`` (written whole or not at all); drop the folders of other versions. A folder
        holds at most ``KEPT_SCREENS_MAX`` screens (the disk a publication's screens take stays bounded). Nothing is
        written once another publication came in: a kernel still on the one before would make its folder again
        and remove the new one's, with the screens its visits kept."""
        if snapshot_stamp(self.warehouse) != self.stamp:
            return
        with contextlib.suppress(OSError):
            if not self.folder.is_dir():
                self.root.mkdir(mode=0o700, exist_ok=True)
                self.folder.mkdir(mode=0o700, exist_ok=True)
                for other in self.root.iterdir():
                    if other != self.folder:
                        shutil.rmtree(other, ignore_errors=True)
            elif len(os.listdir(self.folder)) >= KEPT_SCREENS_MAX:
                return
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")  # mode 0600
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(html)
                os.replace(tmp, self._path(key))
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
