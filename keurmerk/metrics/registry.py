"""The figure registry: figure id → metric (chart kind) in report order, driven by the catalogue's figure list.

The dashboard, the static report and the export all iterate over :func:`registry` or call :func:`compute_all`,
so they show the same figures from the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import polars as pl

from keurmerk.catalog import Figure, catalog
from keurmerk.filters import Filters
from keurmerk.metrics.figures import KINDS, Kind, measure
from keurmerk.metrics.source import Selection, Source, select
from keurmerk.policy import Policy, load_policy

__all__ = ["METRICS", "FigureMetric", "compute_all", "figure_frame", "registry"]

# chart kind (the catalogue's `chart`) → the metric that computes its frame
METRICS: dict[str, Kind] = {**KINDS, "grade_tile": KINDS["grade_bars"]}


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
