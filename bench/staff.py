"""Staff page: the table of all providers (both norms, trend, benchmark) recomputed after a filter change.

    .venv/bin/python bench/staff.py [--scale national] [--choices 20] [--seed 7]

Set-up, cached under var/bench-staff/ (a minute the first time): the scale generated with its results file
(var/bench-staff/<scale>/), ingested into var/bench-staff/<scale>.duckdb.

Then, for the same ``--choices`` random filter changes — a period or a range, maybe diensten, a province, an
audience — the time to recompute:

- the staff table: ``status_table`` for every provider (satisfaction norm as table 1.1, results norm, Keurmerk
  status, benchmark and significance, trend against the previous window, watch list) in one pass;
- the whole staff page in its kernel: ``StaffExplorer.refresh`` (the table above, the table's rows for the
  browser, the five distribution charts, the trends, the movers and the watch list), without a browser;
- for comparison, what looping over the providers would cost: ``compute_all`` (figure table 1.1 only) per
  provider on the warehouse, timed for a few providers and multiplied by the number of providers.

Prints one table (median, p90, max) and the one-off costs. Target: the staff table for all providers ≤ 1 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from keurmerk.filters import Filters
from keurmerk.formatting import integer, number
from keurmerk.metrics import WarehouseSource, compute_all
from keurmerk.metrics.status import StatusCells, status_table
from keurmerk.policy import Policy
from keurmerk.warehouse import open_readonly

VAR = Path("var/bench-staff")
TARGET_SECONDS = 1.0


def warehouse(scale: str) -> Path:
    """var/bench-staff/<scale>.duckdb: generated (with results) and ingested once, then reused."""
    from keurmerk.synth import cached_warehouse

    return cached_warehouse(scale, VAR / scale, VAR / f"{scale}.duckdb", echo=print)


def choices(cells: StatusCells, count: int, seed: int) -> list[Filters]:
    """Random filter changes a staff member could make."""
    rng = random.Random(seed)
    periods = list(cells.periods)
    services = sorted(set(cells.respondents["service"].unique().to_list()))
    provinces = sorted(p for p in cells.respondents["province"].unique().to_list() if p)
    picks = []
    for i in range(count):
        last = rng.choice(periods)
        first = last if rng.random() < 0.6 else rng.choice([p for p in periods if p <= last])
        picks.append(
            Filters(
                period=(first, last),
                services=tuple(rng.sample(services, rng.choice((1, 2, 3)))) if rng.random() < 0.35 else (),
                provinces=(rng.choice(provinces),) if rng.random() < 0.2 else (),
                audience=rng.choice((None, None, "client", "commissioner")) if i % 3 == 0 else None,
            )
        )
    return picks


def timed(action: Callable[[Filters], object], picks: list[Filters]) -> list[float]:
    seconds = []
    for f in picks:
        started = time.perf_counter()
        action(f)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="national")
    parser.add_argument("--choices", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--loop-sample", type=int, default=5, help="aanbieders voor de vergelijking per aanbieder")
    args = parser.parse_args()
    db = warehouse(args.scale)
    con = open_readonly(db)
    con.execute("SET enable_progress_bar = false")
    policy = Policy()

    started = time.perf_counter()
    cells = StatusCells.load(con, policy)
    load = time.perf_counter() - started
    picks = choices(cells, args.choices, args.seed)
    providers = cells.providers.height

    from keurmerk.dashboard.staff import StaffExplorer

    started = time.perf_counter()
    explorer = StaffExplorer(cells, "bench", policy)
    explorer.refresh()  # the first view (what a visitor waits for after the cells are loaded)
    first_view = time.perf_counter() - started

    def page(f: Filters) -> None:
        explorer.period.value = (f.periods[0], f.periods[1])  # widgets observe: outside an event loop the
        explorer.services.value = f.services  # debouncer recomputes at once, per change;
        explorer.provinces.value = f.provinces  # time only the final refresh below
        explorer.audience.value = f.audience

    def page_refresh(f: Filters) -> None:
        explorer.refresh()

    results: dict[str, list[float]] = {}
    results["staff-tabel: status_table, alle aanbieders"] = timed(lambda f: status_table(cells, f, policy), picks)
    refreshes = []
    for f in picks:
        explorer._debouncer.action = lambda: None  # set the widgets without recomputing per widget
        page(f)
        explorer._debouncer.action = explorer.refresh
        refreshes += timed(page_refresh, [f])
    results["hele staffpagina: StaffExplorer.refresh"] = refreshes

    rows = status_table(cells, picks[0], policy)
    sample = rows["provider_id"].head(args.loop_sample).to_list()
    source = WarehouseSource(con)
    per_provider = timed(
        lambda f: compute_all(source, f, policy, suppress=False, figure_ids=["table_1_1"]),
        [picks[0].replace(provider=p) for p in sample],
    )
    loop_total = statistics.mean(per_provider) * rows.height

    table = Table(
        title=f"Staffpagina na een filterwijziging, schaal {args.scale}: {integer(providers)} aanbieders, "
        f"{args.choices} keuzes, seed {args.seed}"
    )
    for column in ("Route", "Mediaan (ms)", "p90 (ms)", "Max (ms)"):
        table.add_column(column, justify="left" if column == "Route" else "right")
    for name, values in results.items():
        ordered = sorted(values)
        table.add_row(
            name,
            number(1000 * statistics.median(values), 1),
            number(1000 * ordered[int(0.9 * (len(ordered) - 1))], 1),
            number(1000 * ordered[-1], 1),
        )
    table.add_row(
        f"ter vergelijking: compute_all per aanbieder × {integer(rows.height)} (geschat)",
        number(1000 * loop_total, 0),
        "",
        "",
    )
    console = Console(width=130)
    console.print(table)
    worst = max(results["staff-tabel: status_table, alle aanbieders"])
    console.print(
        f"Doel: staff-tabel voor alle aanbieders ≤ {number(TARGET_SECONDS, 0)} s: "
        f"{'ja' if worst <= TARGET_SECONDS else 'nee'} (slechtste keuze {number(1000 * worst, 0)} ms)."
    )
    console.print(
        f"Eenmalig na een geldige medewerkerslink: cellen laden {number(load, 2)} s "
        f"({integer(cells.respondents.height)} respondentcellen, {integer(cells.aspects.height)} aspectcellen, "
        f"{number((cells.respondents.estimated_size() + cells.aspects.estimated_size()) / 1e6, 1)} MB); "
        f"eerste weergave {number(first_view, 2)} s; compute_all per aanbieder "
        f"{number(1000 * statistics.mean(per_provider), 0)} ms."
    )


if __name__ == "__main__":
    sys.exit(main())
