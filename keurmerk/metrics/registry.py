"""The figure registry: figure id → metric function → chart kind, in report order, driven by the catalogue.

The dashboard, the static report and the export all iterate over :func:`registry` (or call :func:`compute_all`),
so they show the same figures from the same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from keurmerk.catalog import Figure, catalog
from keurmerk.filters import Filters
from keurmerk.metrics import figures as kinds
from keurmerk.metrics.source import Selection, Source, select
from keurmerk.policy import Policy, load_policy

__all__ = ["METRICS", "FigureMetric", "Metric", "compute_all", "figure_frame", "registry"]

Metric = Callable[[Selection, Sequence[Figure], Policy, bool], pl.DataFrame]

# chart kind (catalogue `chart`) → the metric function that computes its frame
METRICS: dict[str, Metric] = {
    "province_map": kinds.province_map,
    "grade_tile": kinds.grade_bars,
    "strengths": kinds.strengths,
    "keurmerk_table": kinds.keurmerk_table,
    "funnel": kinds.funnel,
    "grade_bars": kinds.grade_bars,
    "grade_distribution": kinds.grade_distribution,
    "answer_shares": kinds.answer_shares,
    "satisfaction_items": kinds.satisfaction_items,
    "aspect_scores": kinds.aspect_scores,
}


@dataclass(frozen=True)
class FigureMetric:
    """One figure of the report: its catalogue entry, the function that computes it and its chart kind."""

    figure: Figure
    metric: Metric

    @property
    def id(self) -> str:
        return self.figure.id

    @property
    def chart(self) -> str:
        return self.figure.chart


def registry() -> tuple[FigureMetric, ...]:
    """Every figure of the catalogue in report order, with its metric function."""
    missing = sorted({f.chart for f in catalog().figures} - set(METRICS))
    if missing:
        raise LookupError(f"geen metriek voor grafieksoort(en): {', '.join(missing)}")
    return tuple(FigureMetric(f, METRICS[f.chart]) for f in catalog().figures)


def compute_all(
    source: Source | duckdb.DuckDBPyConnection | Selection,
    filters: Filters,
    policy: Policy | None = None,
    suppress: bool = True,
    figure_ids: Iterable[str] | None = None,
) -> dict[str, pl.DataFrame]:
    """Every figure's frame (or those in ``figure_ids``) for one selection, keyed by figure id in report order.

    ``suppress`` applies the small-group rule (provider and public views); staff views pass False.
    """
    policy = policy or load_policy()
    wanted = set(figure_ids) if figure_ids is not None else None
    specs = [s for s in registry() if wanted is None or s.id in wanted]
    if wanted is not None and (unknown := wanted - {s.id for s in specs}):
        raise KeyError(f"onbekende figuur: {', '.join(sorted(unknown))}")
    sel = select(source, filters)
    by_metric: dict[Metric, list[Figure]] = {}
    for spec in specs:
        by_metric.setdefault(spec.metric, []).append(spec.figure)
    frames: dict[str, pl.DataFrame] = {}
    for metric, figs in by_metric.items():
        frame = metric(sel, figs, policy, suppress)
        parts = frame.partition_by("figure_id", as_dict=True, include_key=False, maintain_order=True)
        for fig in figs:
            frames[fig.id] = parts.get((fig.id,), frame.clear().drop("figure_id"))
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
