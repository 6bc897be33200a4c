"""The metrics engine: every figure and table of the report as a tidy polars frame, provider next to benchmark.

Flow: ``select(source, filters)`` gathers the cells (in DuckDB or in memory), then one pure function per chart
kind turns them into frames; :func:`compute_all` does both for every figure of the catalogue. See
docs/export-format.md for the frame of each chart kind, docs/research-api.md for the public surface.
"""

from keurmerk.filters import Filters
from keurmerk.metrics.figures import (
    KINDS,
    Kind,
    answer_shares,
    aspect_scores,
    funnel,
    grade_bars,
    grade_distribution,
    keurmerk_table,
    measure,
    province_map,
    satisfaction_items,
    strength_pie,
    strengths,
    withheld,
    withheld_runs,
)
from keurmerk.metrics.registry import METRICS, FigureMetric, compute_all, figure_frame, registry
from keurmerk.metrics.source import Cube, CubeSource, Selection, Source, WarehouseSource, select, store_cube
from keurmerk.policy import Policy, load_policy

__all__ = [
    "KINDS",
    "METRICS",
    "Cube",
    "CubeSource",
    "FigureMetric",
    "Kind",
    "Filters",
    "Policy",
    "Selection",
    "Source",
    "WarehouseSource",
    "answer_shares",
    "aspect_scores",
    "compute_all",
    "figure_frame",
    "funnel",
    "grade_bars",
    "grade_distribution",
    "keurmerk_table",
    "load_policy",
    "measure",
    "province_map",
    "registry",
    "satisfaction_items",
    "select",
    "store_cube",
    "strength_pie",
    "strengths",
    "withheld",
    "withheld_runs",
]
