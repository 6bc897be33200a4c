"""Dashboard interaction: every figure of one provider dashboard recomputed after a filter change.

    .venv/bin/python bench/interaction.py [--scale national] [--choices 20] [--seed 7]

Set-up, cached under var/bench/ (minutes the first time): the scale generated (var/bench/<scale>/, shared with
bench/ingest.py), ingested into var/bench/<scale>.duckdb, the benchmark cube stored with it
(``keurmerk.warehouse.cells.store_cells``, what a publication does once).

Then, in one run and for the same ``--choices`` random (provider, filter) choices — a period or a range, maybe a
dienst, a province, an audience — the time to recompute all figures of the provider's dashboard:

- keurmerk: a dashboard kernel (``CubeSource``: benchmark cube and the provider's own cube in memory, loaded
  before; not timed) → ``compute_all`` (all figures of the catalogue, benchmark, intervals, norm, suppression);
- keurmerk, pushdown: ``compute_all`` straight on the warehouse (``WarehouseSource``: SQL per filter change);
- pandas: the rows loaded once with DuckDB into pandas (invitations, and answers of completed questionnaires
  with their respondent's attributes), then per choice boolean masks and groupbys for the same figures
  (:func:`pandas_figures`; tests/test_metrics_bench.py checks that it computes the same numbers);
- floor: one DuckDB query that aggregates the same filtered answer rows once (the provider's and all
  providers' counts per form, dienst, question and answer: warehouse/sql/answer_cells.sql).

Prints one table (median, p90, max, ratio to keurmerk) and the process memory (RSS) after each set-up stage.
Targets (DESIGN §6): median ≤ 50 ms; ≥ 10× faster than pandas; ≤ 3× the floor.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import psutil
from rich.console import Console
from rich.table import Table

from keurmerk.catalog import catalog
from keurmerk.filters import Filters
from keurmerk.formatting import integer, number
from keurmerk.metrics import Cube, CubeSource, WarehouseSource, compute_all
from keurmerk.metrics.source import _sql
from keurmerk.metrics.stats import t_quantile, z_quantile
from keurmerk.policy import Policy
from keurmerk.warehouse import open_readonly

VAR = Path("var/bench")


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


# --- set-up ---------------------------------------------------------------------------------------------------

def warehouse(scale: str) -> Path:
    """var/bench/<scale>.duckdb: generated, ingested and with its benchmark cube stored (cached)."""
    from keurmerk.synth import cached_warehouse

    return cached_warehouse(scale, VAR / scale, VAR / f"{scale}.duckdb", echo=print)


def choices(con: duckdb.DuckDBPyConnection, k: int, seed: int) -> list[Filters]:
    """k random (provider, filter) choices a provider could make on its dashboard."""
    rng = random.Random(seed)
    units = con.sql(
        "SELECT provider_id, list(DISTINCT period ORDER BY period), list(DISTINCT service ORDER BY service), "
        "list(DISTINCT province ORDER BY province) FILTER (WHERE province IS NOT NULL) "
        "FROM invitations GROUP BY provider_id ORDER BY provider_id"
    ).fetchall()
    picked = []
    for _ in range(k):
        provider, periods, services, provinces = rng.choice(units)
        roll = rng.random()
        if roll < 0.6 or len(periods) == 1:
            period = rng.choice(periods)
        elif roll < 0.85:
            first = rng.randrange(len(periods) - 1)
            period = (periods[first], periods[min(len(periods) - 1, first + rng.randint(1, 2))])
        else:
            period = None
        picked.append(Filters(
            provider=provider, period=period,
            services=(rng.choice(services),) if rng.random() < 0.4 else (),
            provinces=(rng.choice(provinces),) if provinces and rng.random() < 0.3 else (),
            audience="client" if rng.random() < 0.15 else None,
        ))
    return picked


# --- pandas: what an analyst would write -----------------------------------------------------------------------

def pandas_rows(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Invitations, and answers of completed questionnaires with their respondent's attributes, in pandas."""
    invitations = con.sql(
        "SELECT period, provider_id, audience, form, service, province, questionnaire, mode, reminded, status, "
        "completed AND status = 'delivered' AS completed FROM invitations"
    ).df()
    answers = con.sql(
        "SELECT i.period, i.provider_id, i.audience, i.form, i.service, i.province, i.questionnaire, "
        "a.question_id, a.value, a.value_num FROM answers AS a JOIN invitations AS i USING (respondent_id) "
        "WHERE i.completed AND i.status = 'delivered'"
    ).df()
    return invitations, answers


def _mask(frame: pd.DataFrame, f: Filters) -> pd.Series:
    keep = pd.Series(True, index=frame.index)
    if f.periods:
        keep &= frame["period"].between(*f.periods)
    if f.services:
        keep &= frame["service"].isin(f.services)
    if f.provinces:
        keep &= frame["province"].isin(f.provinces)
    if f.audience:
        keep &= frame["audience"] == f.audience
    if f.questionnaire:
        keep &= frame["questionnaire"] == f.questionnaire
    return keep


def _wilson(x: pd.Series, n: pd.Series, z: float) -> tuple[pd.Series, pd.Series]:
    n = n.where(n > 0)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * (centre - half).clip(0, 1), 100 * (centre + half).clip(0, 1)


def _t_interval(mean: pd.Series, sd: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    t = n.map(lambda k: t_quantile(int(k) - 1) if k > 1 else np.nan)
    half = t * sd / np.sqrt(n)
    return mean - half, mean + half


def _r(values: pd.Series) -> pd.Series:
    """Half away from zero to one decimal, as the report rounds."""
    return np.sign(values) * np.floor(np.abs(values) * 10 + 0.5 + 1e-9) / 10


def pandas_figures(invitations: pd.DataFrame, answers: pd.DataFrame, f: Filters,
                   policy: Policy | None = None) -> dict[str, pd.DataFrame]:
    """The numbers of every figure for one (provider, filter) choice, computed with pandas on the loaded rows."""
    cat = catalog()
    policy = policy or Policy()
    z = z_quantile(policy.confidence)
    inv = invitations[_mask(invitations, f)]
    ans = answers[_mask(answers, f)]
    sides = {"bench": (inv, ans), "own": (inv[inv["provider_id"] == f.provider], ans[ans["provider_id"] == f.provider])}
    kinds = {(q.form, q.id): q.kind for q in cat.questions}
    kind = pd.Series([kinds.get(k, "") for k in zip(ans["form"], ans["question_id"], strict=True)], index=ans.index)
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for side, (i, a) in sides.items():
        k = kind.loc[a.index]
        grades = a[k == "grade"]
        numeric = a[a["value_num"].notna()]
        categorical = a[(k != "text") & a["value_num"].isna()]
        r: dict[str, pd.DataFrame] = {}
        # table 1.1 and fig. 1
        i = i.assign(delivered=i["status"] == "delivered")
        by_service = i.groupby(["form", "service"]).agg(invited=("status", "size"), net_sample=("delivered", "sum"),
                                                        completed=("completed", "sum"))
        totals = i.groupby("form").agg(invited=("status", "size"), net_sample=("delivered", "sum"),
                                       completed=("completed", "sum")).assign(service=0).set_index("service",
                                                                                                   append=True)
        g = grades.assign(corrected=grades["value_num"].clip(lower=policy.correction_floor))
        g_service = g.groupby(["form", "service"]).agg(n=("value_num", "size"), grade=("value_num", "mean"),
                                                       sd=("value_num", "std"), corrected=("corrected", "mean"))
        g_total = g.groupby("form").agg(n=("value_num", "size"), grade=("value_num", "mean"), sd=("value_num", "std"),
                                        corrected=("corrected", "mean")).assign(service=0).set_index("service",
                                                                                                     append=True)
        table = pd.concat([by_service, totals]).join(pd.concat([g_service, g_total]), how="left")
        table["response_pct"] = _r(100 * table["completed"] / table["net_sample"].where(table["net_sample"] > 0))
        table["ci_low"], table["ci_high"] = _t_interval(table["grade"], table["sd"], table["n"])
        r["table"] = table
        r["funnel"] = i.groupby(["audience", "mode", "reminded"]).agg(
            invited=("status", "size"), net_sample=("delivered", "sum"), completed=("completed", "sum"))
        r["provinces"] = i[i["completed"]].groupby(["form", "province"]).size().rename("n").to_frame()
        # grades per question (3.1, 4.1, 5.1, 4.4) and their distribution (3.2, 4.2, 5.2)
        per_question = numeric.groupby(["form", "question_id"])["value_num"].agg(["size", "mean", "std"])
        per_question["ci_low"], per_question["ci_high"] = _t_interval(per_question["mean"], per_question["std"],
                                                                      per_question["size"])
        r["grades"] = per_question
        scores = np.floor(grades["value_num"] + 0.5).astype(int)
        r["distribution"] = grades.assign(score=scores).groupby(["form", "score"]).size().rename("n").to_frame()
        # answer categories (3.3-3.21, 4.3-4.6, 5.3-5.5) and satisfaction items (3.9-3.11, 5.4)
        counts = categorical.groupby(["form", "question_id", "value"]).size().rename("n").to_frame()
        counts["base_n"] = counts.groupby(level=["form", "question_id"])["n"].transform("sum")
        counts["share"] = 100 * counts["n"] / counts["base_n"]
        counts["ci_low"], counts["ci_high"] = _wilson(counts["n"], counts["base_n"], z)
        r["categories"] = counts
        values = categorical["value"]
        items = categorical.assign(satisfied=values.isin(cat.satisfied), opinion=~values.isin(cat.no_opinion))
        items = items[(kind.loc[items.index] == "satisfaction")]
        satisfaction = items.groupby(["form", "question_id"]).agg(satisfied=("satisfied", "sum"),
                                                                  opinion=("opinion", "sum"))
        satisfaction["share_satisfied"] = 100 * satisfaction["satisfied"] / satisfaction["opinion"]
        satisfaction["ci_low"], satisfaction["ci_high"] = _wilson(satisfaction["satisfied"], satisfaction["opinion"], z)
        r["satisfaction"] = satisfaction
        out[side] = r
    # provider next to benchmark, and the front page's strengths
    result = {name: out["own"][name].join(out["bench"][name], how="outer", suffixes=("", "_bench"))
              for name in out["own"]}
    s = result["satisfaction"]
    diff = _r(s["share_satisfied"]) - _r(s["share_satisfied_bench"])
    candidates = s[(s["opinion"] >= policy.strength_min_n) & (diff.abs() >= policy.strength_min_diff)]
    result["strengths"] = candidates.assign(diff=diff).sort_values("diff", key=abs, ascending=False).groupby(
        np.sign(diff)).head(policy.strength_max_items or len(candidates))  # 0: no cap (the seed's lists)
    return result


# --- the run ----------------------------------------------------------------------------------------------------

def timed(run: Callable[[Filters], object], picks: list[Filters], before: Callable[[Filters], None] | None = None
          ) -> list[float]:
    times = []
    for f in picks:
        if before:
            before(f)
        started = time.perf_counter()
        run(f)
        times.append(time.perf_counter() - started)
    return times


def kernel_memory(db: Path, provider: str) -> float:
    """RSS (MB) of a fresh process doing what a dashboard kernel does: load the benchmark cube, then the
    provider's cube, close the warehouse, compute every figure for each period and for all periods."""
    script = (
        "import sys, psutil\n"
        "from keurmerk.filters import Filters\n"
        "from keurmerk.metrics import Cube, CubeSource, compute_all\n"
        "from keurmerk.warehouse import open_readonly\n"
        "con = open_readonly(sys.argv[1])\n"
        "source = CubeSource.load(con, sys.argv[2], Cube.load(con))\n"
        "periods = [p for (p,) in con.sql('SELECT DISTINCT period FROM invitations').fetchall()]\n"
        "con.close()\n"
        "for period in [*periods, None]:\n"
        "    compute_all(source, Filters(provider=sys.argv[2], period=period))\n"
        "print(psutil.Process().memory_info().rss / 1e6)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(db), provider], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="national")
    parser.add_argument("--choices", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    db = warehouse(args.scale)
    memory = {"na imports": rss_mb()}
    con = open_readonly(db)
    con.execute("SET enable_progress_bar = false")
    picks = choices(con, args.choices, args.seed)
    policy = Policy()

    largest = con.sql("SELECT provider_id FROM invitations GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchall()[0][0]
    kernel_mb = kernel_memory(db, largest)
    started = time.perf_counter()
    benchmark = Cube.load(con)
    load_benchmark = time.perf_counter() - started
    memory["keurmerk: benchmarkkubus geladen"] = rss_mb()
    kernels: dict[str, CubeSource] = {}
    provider_loads: list[float] = []

    def kernel(f: Filters) -> None:  # a dashboard kernel of this provider, warmed by its first view
        if f.provider not in kernels:
            started = time.perf_counter()
            kernels[f.provider] = CubeSource.load(con, f.provider, benchmark)
            provider_loads.append(time.perf_counter() - started)
            compute_all(kernels[f.provider], Filters(provider=f.provider), policy)

    results = {"keurmerk (kubus in het geheugen)": timed(lambda f: compute_all(kernels[f.provider], f, policy),
                                                         picks, before=kernel)}
    memory["keurmerk: na alle keuzes"] = rss_mb()
    pushdown = WarehouseSource(con)
    results["keurmerk, pushdown (SQL per filter)"] = timed(lambda f: compute_all(pushdown, f, policy), picks)

    floor_sql = _sql("select_answers")

    def floor(f: Filters) -> None:
        where, params = f.benchmark().to_sql(alias="i")
        con.sql(floor_sql.replace("{filters}", where), params={"own": f.provider, **params}).fetchall()

    results["vloer: één DuckDB-aggregatie"] = timed(floor, picks)

    started = time.perf_counter()
    invitations, answers = pandas_rows(con)
    load_pandas = time.perf_counter() - started
    memory["pandas: rijen geladen"] = rss_mb()
    results["pandas (rijen in het geheugen)"] = timed(lambda f: pandas_figures(invitations, answers, f, policy), picks)

    ours = statistics.median(results["keurmerk (kubus in het geheugen)"])
    table = Table(title=f"Alle {len(catalog().figures)} figuren van één dashboard herberekenen, schaal {args.scale}: "
                        f"{args.choices} keuzes (aanbieder, filter), seed {args.seed}")
    for column in ("Route", "Mediaan (ms)", "p90 (ms)", "Max (ms)", "Mediaan × keurmerk"):
        table.add_column(column, justify="left" if column == "Route" else "right")
    for name, values in results.items():
        ordered = sorted(values)
        table.add_row(name, number(1000 * statistics.median(values), 1),
                      number(1000 * ordered[int(0.9 * (len(ordered) - 1))], 1), number(1000 * ordered[-1], 1),
                      number(statistics.median(values) / ours, 1))
    console = Console(width=130)
    console.print(table)
    pandas_ratio = statistics.median(results["pandas (rijen in het geheugen)"]) / ours
    floor_ratio = ours / statistics.median(results["vloer: één DuckDB-aggregatie"])
    console.print(
        f"Doelen: mediaan {number(1000 * ours, 1)} ms (≤ 50: {'ja' if ours <= 0.05 else 'nee'}); "
        f"pandas / keurmerk {number(pandas_ratio, 1)}× (≥ 10: {'ja' if pandas_ratio >= 10 else 'nee'}); "
        f"keurmerk / vloer {number(floor_ratio, 2)}× (≤ 3: {'ja' if floor_ratio <= 3 else 'nee'})."
    )
    console.print(
        f"Eenmalig: benchmarkkubus laden {number(load_benchmark, 2)} s "
        f"({integer(sum(f.height for f in benchmark.answers.values()))} antwoordcellen, "
        f"{number(benchmark.estimated_size / 1e6, 1)} MB); eigen kubus per aanbieder mediaan "
        f"{number(1000 * statistics.median(provider_loads), 0)} ms; pandas-rijen laden {number(load_pandas, 1)} s "
        f"({integer(len(answers))} antwoordrijen)."
    )
    console.print(f"Geheugen van een dashboardkernel (apart proces, grootste aanbieder {largest}, alle figuren voor elke "
                  f"periode): {integer(round(kernel_mb))} MB (doel ≤ 400 MB).")
    console.print("Geheugen van dit benchproces (RSS): "
                  + "; ".join(f"{stage} {integer(round(mb))} MB" for stage, mb in memory.items()))


if __name__ == "__main__":
    main()
