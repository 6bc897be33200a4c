"""The research API: a small, documented surface for notebooks (docs/research-api.md).

    from keurmerk.api import open_warehouse, Filters, compute_all

    con = open_warehouse()                       # read-only; path from $KEURMERK_DB or var/demo.duckdb
    frames = compute_all(con, Filters(provider="P0000", period=2021), suppress=False)
    con.sql("SELECT mode, avg(value_num) FROM v_answers WHERE question_id = 'grade' GROUP BY mode").pl()

SQL users read the views in :data:`VIEWS` (one row per invitation, per answer of a completed questionnaire, and
the response counts); everything else in the warehouse may change without notice.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from keurmerk.catalog import catalog
from keurmerk.filters import Filters
from keurmerk.metrics import (
    Cube,
    CubeSource,
    Selection,
    WarehouseSource,
    answer_shares,
    aspect_scores,
    compute_all,
    figure_frame,
    funnel,
    grade_bars,
    grade_distribution,
    keurmerk_table,
    province_map,
    registry,
    satisfaction_items,
    select,
    strengths,
)
from keurmerk.metrics.stats import rounded, t_quantile, z_quantile
from keurmerk.policy import Policy, load_policy
from keurmerk.warehouse import open_readonly

__all__ = [
    # the warehouse
    "DB_ENV", "DEFAULT_DB", "VIEWS", "open_warehouse", "catalog",
    # selections and every figure at once (keurmerk.metrics)
    "Filters", "Policy", "load_policy", "Selection", "Cube", "CubeSource", "WarehouseSource", "select", "compute_all",
    "figure_frame", "registry",
    # one chart kind's frame
    "answer_shares", "aspect_scores", "funnel", "grade_bars", "grade_distribution", "keurmerk_table", "province_map",
    "satisfaction_items", "strengths",
    # statistics
    "rounded", "t_quantile", "z_quantile",
]

DB_ENV = "KEURMERK_DB"
DEFAULT_DB = Path("var/demo.duckdb")

# The documented SQL views (keurmerk/warehouse/sql/030_views.sql).
VIEWS = {
    "v_respondents": "one row per invitation, with labels, in_net_sample and completed",
    "v_answers": "one row per answer of a completed questionnaire, with the respondent's period, provider, "
                 "form, dienst, province, questionnaire and mode",
    "v_response": "net sample, completed and response per period, provider, audience and dienst",
}


def open_warehouse(path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse: ``path``, else ``$KEURMERK_DB``, else var/demo.duckdb."""
    return open_readonly(path or os.environ.get(DB_ENV) or DEFAULT_DB)
