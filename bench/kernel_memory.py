"""Where a provider dashboard kernel's memory and CPU go: RSS, anonymous memory (the kernel's own) and CPU seconds
after each step of its preparation, in one fresh interpreter, as in a pre-heated pool kernel.

    .venv/bin/python bench/kernel_memory.py [--scale national]

RSS counts the shared libraries' pages in every kernel; the anonymous memory is what one more kernel costs the
machine. The last row is taken after a few idle seconds, when polars' allocator has handed freed pages back.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

VAR = Path(__file__).resolve().parents[1] / "var" / "bench-dashboard"  # shared with bench/dashboard.py


def memory() -> tuple[float, float, float]:
    """RSS and anonymous memory of this process in MB, and the CPU seconds it has used so far (all threads)."""
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        key, *value = line.split()
        if key in ("Rss:", "Anonymous:"):
            fields[key] = int(value[0]) / 1024
    return fields["Rss:"], fields["Anonymous:"], time.process_time()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="national", choices=("tiny", "demo", "national"))
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before the last row")
    parser.add_argument("--db", help=argparse.SUPPRESS)  # the measuring child: nothing imported before it starts
    args = parser.parse_args()
    if args.db is None:
        from keurmerk.synth import cached_warehouse

        db = cached_warehouse(args.scale, VAR / args.scale / "files", VAR / args.scale / "warehouse.duckdb", echo=print)
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--db", str(db)], check=True)
        return
    db = args.db
    rows = [("python", *memory())]
    import ipykernel.ipkernel  # noqa: F401  what every kernel runs

    rows.append(("+ ipykernel", *memory()))
    import altair  # noqa: F401
    import duckdb  # noqa: F401
    import polars  # noqa: F401

    rows.append(("+ duckdb, polars, altair", *memory()))
    from keurmerk.dashboard import ProviderApp

    rows.append(("+ keurmerk.dashboard (ipywidgets, anywidget)", *memory()))
    app = ProviderApp.prepare(db, warm_up=False)
    rows.append(("+ warehouse open, benchmark cube", *memory()))
    app.warm_up()
    rows.append(("+ warm-up", *memory()))
    time.sleep(args.idle)
    rows.append((f"idle {args.idle:g} s (a kernel in the pool)", *memory()))

    print(f"Pool kernel, {args.scale}: MB")
    print(f"{'stap':48} {'RSS':>6} {'eigen':>6} {'CPU-s':>6}")
    cpu_before = 0.0
    for name, rss, anonymous, cpu in rows:
        print(f"{name:48} {rss:6.0f} {anonymous:6.0f} {cpu - cpu_before:6.2f}")
        cpu_before = cpu


if __name__ == "__main__":
    main()
