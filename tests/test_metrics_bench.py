"""bench/interaction.py compares like with like: its pandas implementation computes the same numbers."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from keurmerk.filters import Filters
from keurmerk.metrics import compute_all
from keurmerk.warehouse import open_readonly

BENCH = Path(__file__).resolve().parents[1] / "bench" / "interaction.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_interaction", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and b is None
    return abs(a - b) < 0.051


@pytest.mark.parametrize("filters", [
    Filters(provider="P0000", period=2021),
    Filters(provider="P0003", period=(2021, 2022), services=(8,)),
    Filters(provider="P0003", provinces=("PV28",), audience="client"),
])
def test_pandas_implementation_computes_the_same_figures(bench, tiny_db: Path, filters: Filters) -> None:
    with open_readonly(tiny_db) as con:
        invitations, answers = bench.pandas_rows(con)
        ours = compute_all(con, filters, suppress=False)
    theirs = bench.pandas_figures(invitations, answers, filters)
    table = theirs["table"]
    for r in ours["table_1_1"].iter_rows(named=True):
        key = (r["form"], r["service"] or 0)
        assert (table.loc[key, "net_sample"], table.loc[key, "completed"]) == (r["net_sample"], r["completed"])
        assert close(bench._r(table.loc[[key], "grade"]).iloc[0], r["grade"]), key
        assert close(bench._r(table.loc[[key], "grade_bench"]).iloc[0], r["bench_grade"]), key
    categories = theirs["categories"]
    for r in ours["fig_3_3"].iter_rows(named=True):
        key = ("client", "recommended", r["category"])
        if key in categories.index:
            assert close(bench._r(categories.loc[[key], "share"]).iloc[0], r["share"])
            assert close(bench._r(categories.loc[[key], "ci_low"]).iloc[0], r["ci_low"])
    satisfaction = theirs["satisfaction"]
    for r in ours["fig_3_9"].filter(position=1).iter_rows(named=True):
        key = ("client", r["question_id"])
        if key in satisfaction.index:
            assert close(bench._r(satisfaction.loc[[key], "share_satisfied"]).iloc[0], r["share_satisfied"])
            assert close(bench._r(satisfaction.loc[[key], "share_satisfied_bench"]).iloc[0],
                         r["bench_share_satisfied"])
    grades = theirs["grades"]
    for r in ours["fig_4_4"].iter_rows(named=True):
        key = ("commissioner", r["question_id"])
        if key in grades.index:
            assert close(bench._r(grades.loc[[key], "mean"]).iloc[0], r["grade"])
