"""The figure registry: every chart kind declared once, and figure id → its kind in report order, driven by the
catalogue's figure list.

A :class:`FigureKind` says what a kind is: its metric (:class:`~keurmerk.metrics.figures.Kind`), its builder (a
function of :mod:`keurmerk.charts.figures` by name, or none for a table drawn as HTML by :mod:`keurmerk.pieces`),
whether the builder takes the policy, how the n under it is counted (:class:`Count`, :func:`n_line`) and where
it stands (on the report's title page, with the front page's lists). The dashboards, the report, the export and
the chart dispatch read these fields instead of naming kinds. The dashboard, the static report and the export
all iterate over :func:`registry` or call :func:`compute_all`, so they show the same figures from the same
functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from keurmerk.catalog import Figure, StaffFigure, catalog
from keurmerk.filters import Filters
from keurmerk.formatting import integer
from keurmerk.metrics import status
from keurmerk.metrics.figures import KINDS, Kind, measure
from keurmerk.metrics.source import Selection, Source, select
from keurmerk.metrics.status import StaffView
from keurmerk.policy import Policy, load_policy

__all__ = [
    "FIGURE_KINDS",
    "METRICS",
    "Count",
    "FigureKind",
    "FigureMetric",
    "compute_all",
    "figure_frame",
    "figure_kind",
    "n_line",
    "registry",
    "strengths_figure",
]


@dataclass(frozen=True)
class Count:
    """How the n under a figure is counted from its frame: the provider's ``column`` and the benchmark's
    ``bench_<column>``, leaving out rows whose ``hidden`` / ``bench_<hidden>`` flag is set, over ``rows``:
    ``largest`` (the base of the figure: its largest count), ``all`` (a range, ``per`` item), ``total`` (the
    total row, else the first) or ``invited`` (the funnel: who was invited). ``required``: no line at all
    without a count of the provider's own."""

    column: str = "base_n"
    hidden: str = "suppressed"
    rows: str = "largest"
    per: str = ""
    required: bool = False


@dataclass(frozen=True)
class FigureKind:
    """One chart kind of the catalogue (its figures' ``chart``).

    A provider figure's kind (``page`` provider: the catalogue's ``figures``) has a :class:`Kind` as its metric
    and its builder in :mod:`keurmerk.charts.figures`; a staff figure's kind (``page`` staff: ``staff_figures``)
    a function of (:class:`~keurmerk.metrics.status.StaffView`, figure) and its builder in
    :mod:`keurmerk.charts.staff` (:func:`~keurmerk.charts.staff.staff_chart`).
    """

    name: str
    metric: Kind | Callable[[StaffView, StaffFigure], pl.DataFrame]
    builder: str | None  # its function in keurmerk.charts (see above); None: a table (keurmerk.pieces draws it)
    policy: bool = False  # the builder takes the policy (the norm line)
    count: Count = field(default_factory=Count)
    cover: bool = False  # drawn on the report's title page itself
    front_lists: bool = False  # shown with the front page's lists of strengths and weaknesses
    page: str = "provider"  # provider | staff

    @property
    def table(self) -> bool:
        return self.builder is None


_GRADES = Count("n", rows="total")
_PER_ASPECT = Count("base_n", rows="all", per=" per aspect")
FIGURE_KINDS: dict[str, FigureKind] = {k.name: k for k in (
    FigureKind("keurmerk_table", KINDS["keurmerk_table"], None),
    FigureKind("funnel", KINDS["funnel"], "funnel", count=Count(rows="invited")),
    FigureKind("province_map", KINDS["province_map"], "province_map"),
    FigureKind("strengths", KINDS["strengths"], "strengths", front_lists=True,
               count=Count("opinion_n", hidden="_", rows="all", per=" per aspect", required=True)),
    FigureKind("strength_pie", KINDS["strength_pie"], "strength_pie", front_lists=True),
    FigureKind("grade_tile", KINDS["grade_bars"], "grade_tile", policy=True, count=_GRADES, cover=True),
    FigureKind("grade_bars", KINDS["grade_bars"], "grade_bars", policy=True, count=_GRADES),
    FigureKind("grade_distribution", KINDS["grade_distribution"], "grade_distribution"),
    FigureKind("aspect_scores", KINDS["aspect_scores"], "aspect_scores",
               count=Count("n", rows="all", per=" per aspect")),
    FigureKind("answer_shares", KINDS["answer_shares"], "answer_shares"),
    FigureKind("satisfaction_items", KINDS["satisfaction_items"], "satisfaction_items", count=_PER_ASPECT),
    # the staff page: every provider at once
    FigureKind("provider_distribution", status.distribution, "provider_distribution", page="staff"),
    FigureKind("aspect_distribution", status.staff_aspects, "aspect_distribution", page="staff"),
    FigureKind("trend_panels", status.staff_trend, "trend_panels", page="staff"),
)}
# chart kind of a provider figure (the catalogue's `chart`) → the metric that computes its frame
METRICS: dict[str, Kind] = {name: kind.metric for name, kind in FIGURE_KINDS.items() if kind.page == "provider"}


def figure_kind(name: str) -> FigureKind:
    """The kind ``name``; an unknown kind is an error that names the known ones."""
    try:
        return FIGURE_KINDS[name]
    except KeyError:
        raise KeyError(f"onbekende grafieksoort: {name!r} (bekend: {', '.join(FIGURE_KINDS)})") from None


def strengths_figure() -> str | None:
    """The id of the catalogue's figure that holds the front page's strengths (its lists are read by the figures
    shown with them)."""
    return next((f.id for f in catalog().figures if f.chart == "strengths"), None)


# --- the n under each figure -----------------------------------------------------------------------------------
def _values(frame: pl.DataFrame, column: str, hidden: str) -> list[int]:
    if column not in frame.columns or frame.is_empty():
        return []
    shown = frame.filter(~pl.col(hidden).fill_null(False)) if hidden in frame.columns else frame
    return [int(v) for v in shown.get_column(column).to_list() if v is not None]


def _count(values: list[int], per: str = "") -> str | None:
    if not values:
        return None
    low, high = min(values), max(values)
    if low == high:
        return f"n = {integer(high)}"
    return f"n = {integer(low)}–{integer(high)}{per}"


def n_line(kind: str, frame: pl.DataFrame, policy: Policy) -> str | None:
    """'n = 18; alle deelnemers: n = 1.234' under a figure: the respondents behind it, counted as its kind's
    :class:`Count` says (None: nothing to say). A base withheld by the small-group rule reads 'n < 5', never its
    number."""
    if frame.is_empty():
        return "n = 0"
    count = figure_kind(kind).count
    if count.rows == "invited":
        totals = frame.filter(pl.col("mode").is_null() & (pl.col("stage") == "invited"))
        parts = [f"{integer(r['n'])} {r['audience_label'].lower()}" for r in totals.iter_rows(named=True) if r["n"]]
        return "Uitgenodigd: " + " en ".join(parts) if parts else "n = 0"
    if count.rows == "total":
        total = frame.filter(pl.col("service").is_null()) if "service" in frame.columns else frame
        frame = total if total.height else frame.head(1)
    bench_hidden = count.hidden if count.hidden == "_" else f"bench_{count.hidden}"
    own = _values(frame, count.column, count.hidden)
    bench = _values(frame, f"bench_{count.column}", bench_hidden)
    if count.required and not own:
        return None
    if count.rows == "largest":
        own, bench = own and [max(own)], bench and [max(bench)]
    if not own:
        everyone = _values(frame, "base_n" if "base_n" in frame.columns else "n", "_")
        return "n = 0" if not any(everyone) else f"n < {integer(policy.min_n)}"
    line = _count(own, count.per)
    if bench:
        line += f"; alle deelnemers: {_count(bench, count.per)}"
    return line


@dataclass(frozen=True)
class FigureMetric:
    """One figure of the report: its catalogue entry, its metric and its chart kind."""

    figure: Figure
    metric: Kind

    @property
    def id(self) -> str:
        return self.figure.id

    @property
    def chart(self) -> str:
        return self.figure.chart

    @property
    def kind(self) -> FigureKind:
        return FIGURE_KINDS[self.figure.chart]


def registry() -> tuple[FigureMetric, ...]:
    """Every figure of the catalogue in report order, with its metric."""
    figures = catalog().figures
    missing = sorted({f.chart for f in figures} - set(METRICS))
    if missing:
        raise LookupError(f"geen metriek voor grafieksoort(en): {', '.join(missing)}")
    return tuple(FigureMetric(f, METRICS[f.chart]) for f in figures)


def compute_all(
    source: Source | duckdb.DuckDBPyConnection | Selection,
    filters: Filters,
    policy: Policy | None = None,
    suppress: bool = True,
    figure_ids: Iterable[str] | None = None,
) -> dict[str, pl.DataFrame]:
    """Every figure's frame (or those in ``figure_ids``) for one selection, keyed by figure id in report order.

    ``suppress`` applies the small-group rule (provider and public views); staff views pass False. The rows of
    all kinds go through one :func:`~keurmerk.metrics.figures.measure` pass.
    """
    policy = policy or load_policy()
    specs = registry()
    if figure_ids is not None:
        wanted = set(figure_ids)
        if unknown := wanted - {s.id for s in specs}:
            raise KeyError(f"onbekende figuur: {', '.join(sorted(unknown))}")
        specs = tuple(s for s in specs if s.id in wanted)
    sel = select(source, filters)
    by_kind: dict[str, list[Figure]] = {}
    by_rows: dict[object, list[Figure]] = {}  # kinds that share their rows are counted together
    for spec in specs:
        by_kind.setdefault(spec.metric.name, []).append(spec.figure)
        by_rows.setdefault(spec.metric.rows, []).append(spec.figure)
    kind_of = {spec.id: spec.metric.name for spec in specs}
    rows = [
        rows_of(sel, figs, policy).with_columns(kind=pl.col("figure_id").replace_strict(kind_of, return_dtype=pl.String))
        for rows_of, figs in by_rows.items()
    ]
    measured = measure(pl.concat(rows, how="diagonal"), sel, policy, suppress)
    frames: dict[str, pl.DataFrame] = {}
    for (kind,), part in measured.partition_by("kind", as_dict=True).items():
        finished = KINDS[kind].finish(part, policy)
        frames |= {fid: f for (fid,), f in finished.partition_by("figure_id", as_dict=True, include_key=False).items()}
        empty = finished.clear().drop("figure_id")
        frames |= {f.id: empty for f in by_kind[kind] if f.id not in frames}
    return {s.id: frames[s.id] for s in specs}


def figure_frame(
    source: Source | duckdb.DuckDBPyConnection | Selection,
    figure_id: str,
    filters: Filters,
    policy: Policy | None = None,
    suppress: bool = True,
) -> pl.DataFrame:
    """One figure's frame (see :func:`compute_all`)."""
    return compute_all(source, filters, policy, suppress, figure_ids=[figure_id])[figure_id]
