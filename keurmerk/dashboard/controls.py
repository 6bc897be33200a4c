"""The filter controls every dashboard shares, written to be read at once (issue 13).

- :func:`period_picker`: one list that reads "2021" or "2019–2021" (the slider read "2021-2021", handles stacked);
- :class:`CheckPicker`: diensten or provinces as checkboxes under a summary that says "Alle diensten" when none
  is ticked (empty selects everything, as in :class:`keurmerk.filters.Filters`);
- :class:`PageStyle`: loads ``static/dashboard.css`` (layout, phone, print, focus) and the page behaviours of
  ``static/page.js`` once per page, like the chart widget loads its own files;
- :func:`picker` / :func:`pickers`: the control of every filter dimension of :mod:`keurmerk.filters`, with its
  Dutch label, the same on every page (:func:`service_picker` and friends: one each);
- :func:`watch` and :class:`Debouncer`: one meaning of a change: a choice recomputes at once, a control that
  reports while dragged or typed in after a short pause;
- :func:`selection_status`: the status line, clients and commissioners counted apart, without timings.

The browser may write any widget value back, so the kernel keeps only values it offered (``CheckPicker.value``
is intersected with its options).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import anywidget
import ipywidgets as widgets
import polars as pl
import traitlets

from keurmerk.catalog import catalog
from keurmerk.filters import FILTER_DIMENSIONS, Dimension
from keurmerk.formatting import integer

__all__ = [
    "CheckPicker",
    "Debouncer",
    "PageStyle",
    "audience_picker",
    "choose",
    "clear_button",
    "filter_bar",
    "period_label",
    "period_options",
    "period_picker",
    "picker",
    "pickers",
    "province_picker",
    "questionnaire_picker",
    "select_period",
    "selection_status",
    "service_picker",
    "watch",
]

_STATIC = Path(__file__).resolve().parent / "static"
NO_PERIOD = (None, None)
DEBOUNCE_SECONDS = 0.3


def period_label(first: int, last: int) -> str:
    """'2021' for one year, '2019–2021' (en dash) for a range."""
    return str(first) if first == last else f"{first}–{last}"


def period_options(periods: Sequence[int]) -> list[tuple[str, tuple[int | None, int | None]]]:
    """Every single year (newest first), then every range of consecutive years in the data (longest first)."""
    years = sorted(periods)
    if not years:
        return [("–", NO_PERIOD)]
    singles = [(str(y), (y, y)) for y in reversed(years)]
    ranges = [
        (period_label(years[i], years[j]), (years[i], years[j]))
        for length in range(len(years), 1, -1)
        for i in range(len(years) - length + 1)
        for j in (i + length - 1,)
    ]
    return singles + ranges


def period_picker(periods: Sequence[int], width: str = "200px") -> widgets.Dropdown:
    """The period choice; its value is ``(first, last)`` (``(None, None)`` without periods), the latest year first."""
    options = period_options(periods)
    return widgets.Dropdown(options=options, value=options[0][1], description="Periode",
                            layout=widgets.Layout(width=width))


def select_period(picker: widgets.Dropdown, text: str | None) -> bool:
    """Choose the periods named in a link ("2021" or "2019-2021"), when the picker offers them."""
    if not text:
        return False
    try:
        first, _, last = text.replace("–", "-").partition("-")
        wanted = (int(first), int(last or first))
    except ValueError:
        return False
    if wanted in [value for _, value in picker.options]:
        picker.value = wanted
        return True
    return False


class CheckPicker(anywidget.AnyWidget):
    """A list of checkboxes under a summary ("Alle diensten" when none is ticked); ``value`` is a tuple of the
    ticked option values, in the options' order."""

    _esm = _STATIC / "check_picker.js"

    label = traitlets.Unicode("").tag(sync=True)  # "Diensten"
    all_label = traitlets.Unicode("").tag(sync=True)  # "Alle diensten"
    items = traitlets.List().tag(sync=True)  # [{"value": ..., "label": ..., "short": ...}]
    chosen = traitlets.List().tag(sync=True)  # written by the browser
    value = traitlets.Tuple()  # kernel side only: ``chosen`` checked against the options

    def __init__(self, label: str, all_label: str, options: Iterable[tuple[str, object, str]], **kwargs):
        """``options``: (label, value, short label for the summary) per option."""
        super().__init__(
            label=label,
            all_label=all_label,
            items=[{"label": text, "value": value, "short": short} for text, value, short in options],
            **kwargs,
        )
        self.observe(self._chosen, names="chosen")

    def _chosen(self, _change: object = None) -> None:
        wanted = set(self.chosen)
        self.value = tuple(o["value"] for o in self.items if o["value"] in wanted)

    @property
    def options(self) -> list[tuple[str, object]]:
        """(label, value) per option, as ipywidgets' selection widgets give them."""
        return [(o["label"], o["value"]) for o in self.items]

    def clear(self) -> None:
        self.chosen = []


def choose(picker: CheckPicker, text: str | None) -> None:
    """Tick the options named in a link ("7,8" or "PV26,PV27"); names the picker does not offer are ignored."""
    if not text:
        return
    wanted = {part.strip() for part in text.split(",")}
    picker.chosen = [value for _, value in picker.options if str(value) in wanted]


def picker(dimension: Dimension, present: Iterable[object] | None = None) -> CheckPicker | widgets.Dropdown:
    """The control of a filter dimension (:data:`keurmerk.filters.FILTER_DIMENSIONS`) with its Dutch label, empty
    meaning all: checkboxes for several values, else a list with "Alle" first; only the values ``present`` when
    given."""
    options = dimension.options(catalog(), present)
    if dimension.many:
        return CheckPicker(dimension.label, dimension.everything or "Alle", options)
    return widgets.Dropdown(
        options=[("Alle", None), *((label, value) for label, value, _ in options)],
        index=0,  # "Alle": its value None would otherwise read as no selection and show an empty box
        description=dimension.label,
        layout=widgets.Layout(width="auto"),
    )


def pickers(page: str, present: Mapping[str, Iterable[object]] | None = None) -> dict[str, widgets.Widget]:
    """Filters field → its control, for every dimension the dashboard ``page`` offers (``provider`` | ``staff``),
    with the values ``present[field]`` where given."""
    present = present or {}
    return {d.field: picker(d, present.get(d.field)) for d in FILTER_DIMENSIONS if page in d.pages}


def _dimension(field: str) -> Dimension:
    return next(d for d in FILTER_DIMENSIONS if d.field == field)


def service_picker(codes: Iterable[int]) -> CheckPicker:
    """The diensten to choose from ("7. Re-integratie…"), empty meaning all."""
    return picker(_dimension("services"), codes)


def province_picker(codes: Iterable[str]) -> CheckPicker:
    """The provinces to choose from, by name, empty meaning all."""
    return picker(_dimension("provinces"), codes)


def questionnaire_picker() -> widgets.Dropdown:
    """The clients' questionnaire (regular, easy), "Alle" first."""
    return picker(_dimension("questionnaire"))


def audience_picker() -> widgets.Dropdown:
    """Clients or commissioners, "Alle" first."""
    return picker(_dimension("audience"))


class Debouncer:
    """Calls ``action`` once, ``delay`` seconds after the last ``trigger()``: a burst of changes from a control
    that reports while it is dragged or typed in recomputes the dashboard once. A discrete choice (``now()``)
    acts on the next turn of the event loop, without the wait; changes that arrive together still act once."""

    def __init__(self, action: Callable[[], object], delay: float = DEBOUNCE_SECONDS):
        self.action, self.delay = action, delay
        self._handle: asyncio.TimerHandle | asyncio.Handle | None = None

    def trigger(self, _change: object = None) -> None:
        self._schedule(self.delay)

    def now(self, _change: object = None) -> None:
        self._schedule(None)

    def _schedule(self, delay: float | None) -> None:
        if self._handle is not None:
            self._handle.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (plain Python, tests): act at once
            self.action()
            return
        self._handle = loop.call_soon(self._act) if delay is None else loop.call_later(delay, self._act)

    def _act(self) -> None:
        self._handle = None
        self.action()


def watch(named: Mapping[str, widgets.Widget], action: Callable[[], object]) -> Debouncer:
    """Call ``action`` when any of the ``named`` controls changes; each gets the class ``km-filter-<name>``."""
    debouncer = Debouncer(action)
    for name, control in named.items():
        control.add_class(f"km-filter-{name}")
        # only a control that reports while dragged or typed in waits; a choice made is drawn at once
        continuous = getattr(control, "continuous_update", False)
        control.observe(debouncer.trigger if continuous else debouncer.now, names="value")
    return debouncer


class PageStyle(anywidget.AnyWidget):
    """Nothing to see: carries the page's stylesheet and behaviours (scroll cues, keyboard tabs, print)."""

    _esm = _STATIC / "page.js"
    _css = _STATIC / "dashboard.css"


def clear_button(*pickers: widgets.Widget) -> widgets.Button:
    """ "Wis filters": every picker back to everything (the period back to the latest year)."""
    button = widgets.Button(description="Wis filters", tooltip="Alle diensten, alle provincies, laatste periode",
                            layout=widgets.Layout(width="auto"))
    button.add_class("km-clear")

    def clear(_button: object) -> None:
        for picker in pickers:
            if isinstance(picker, CheckPicker):
                picker.clear()
            elif isinstance(picker, widgets.Dropdown):
                picker.index = 0

    button.on_click(clear)
    return button


def filter_bar(period: widgets.Widget, pickers: Mapping[str, widgets.Widget], *extra: widgets.Widget) -> widgets.HBox:
    """The row of controls: the period, the lists, the checkboxes, ``extra`` and "Wis filters"."""
    chosen = sorted(pickers.values(), key=lambda control: isinstance(control, CheckPicker))
    bar = widgets.HBox([period, *chosen, *extra, clear_button(period, *chosen)])
    bar.add_class("km-filterbar")
    return bar


def selection_status(table_1_1: pl.DataFrame) -> str:
    """ "In deze selectie: 18 cliënten en 23 opdrachtgevers (volledig ingevulde vragenlijsten)." """
    if table_1_1.is_empty():
        return '<span class="km-status" data-km="status">Geen respondenten in deze selectie.</span>'
    totals = table_1_1.filter(pl.col("service").is_null())
    counts = {form: int(done or 0) for form, done in zip(totals["form"], totals["completed"], strict=True)}
    words = {"client": ("cliënt", "cliënten"), "commissioner": ("opdrachtgever", "opdrachtgevers"),
             "inburgering": ("inburgeraar", "inburgeraars")}
    parts = [f"{integer(counts[form])} {one if counts[form] == 1 else many}"
             for form, (one, many) in words.items() if form in counts]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " en " + parts[-1]
    return (f'<span class="km-status" data-km="status">In deze selectie: {listed} '
            "(volledig ingevulde vragenlijsten).</span>")
