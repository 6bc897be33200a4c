"""Ingest throughput: validated answer rows per second, side by side with an unvalidated DuckDB load.

    .venv/bin/python bench/ingest.py [--scale national] [--repeat 2]

Generates the scale once (cached under var/bench/), then in one run: (a) `keurmerk.ingest` into a fresh
warehouse (read, validate with pandera, quarantine, load, recompute completion, publish), and (b) the floor:
DuckDB reading the same files straight into tables with no checks at all. Prints one table; the ratio is what
validation costs. Target (DESIGN §6): ≥ 1 M answer rows/s validated.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl
from rich.console import Console
from rich.table import Table

from keurmerk.formatting import integer, number
from keurmerk.ingest import ingest
from keurmerk.synth import generate


def _files(scale: str) -> list[Path]:
    out = Path("var/bench") / scale
    done = out / ".done"
    if not done.exists():
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        generate(scale, out)
        print(f"generate --scale {scale}: {time.perf_counter() - started:.1f} s")
        done.touch()
    return sorted(p for p in out.iterdir() if p.suffix in (".csv", ".parquet"))


def _answer_rows(files: list[Path]) -> int:
    answers = next(p for p in files if p.stem == "answers")
    scan = pl.scan_parquet(answers) if answers.suffix == ".parquet" else pl.scan_csv(answers, separator=";")
    return scan.select(pl.len()).collect().item()


def _validated(files: list[Path], workdir: Path, stages: dict[str, list[float]]) -> float:
    """One validated ingest; the time between its progress messages goes into ``stages``."""
    started = time.perf_counter()
    mark = [started, "starten"]

    def step(message: str) -> None:
        now = time.perf_counter()
        stages.setdefault(mark[1], []).append(now - mark[0])
        mark[:] = [now, message]

    report = ingest(workdir / "validated.duckdb", files, progress=step)
    step("einde")
    assert not report.nothing_loaded
    return time.perf_counter() - started


def _floor(files: list[Path], workdir: Path) -> float:
    started = time.perf_counter()
    with duckdb.connect(str(workdir / "floor.duckdb")) as con:
        for path in files:
            reader = "read_parquet(?)" if path.suffix == ".parquet" else "read_csv(?, all_varchar = true)"
            con.execute(f"CREATE TABLE {path.stem} AS SELECT * FROM {reader}", [str(path)])
        con.execute("CHECKPOINT")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="national")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    files = _files(args.scale)
    rows = _answer_rows(files)
    timings: dict[str, list[float]] = {"keurmerk ingest (gevalideerd)": [], "DuckDB zonder validatie (vloer)": []}
    stages: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(dir="var") as tmp:
            timings["keurmerk ingest (gevalideerd)"].append(_validated(files, Path(tmp), stages))
            timings["DuckDB zonder validatie (vloer)"].append(_floor(files, Path(tmp)))
    floor = min(timings["DuckDB zonder validatie (vloer)"])
    table = Table(
        title=f"Ingest, schaal {args.scale}: {integer(rows)} antwoordrijen ({', '.join(p.name for p in files)})"
    )
    for column in ("Route", "Beste tijd (s)", "Mediaan (s)", "Antwoordrijen/s", "× vloer"):
        table.add_column(column, justify="left" if column == "Route" else "right")
    for name, values in timings.items():
        best = min(values)
        table.add_row(
            name,
            number(best, 2),
            number(sorted(values)[len(values) // 2], 2),
            integer(round(rows / best)),
            number(best / floor, 1),
        )
    Console().print(table)
    breakdown = Table(title="Waar de tijd van de gevalideerde ingest heen gaat (mediaan per stap)")
    breakdown.add_column("Stap")
    breakdown.add_column("Seconden", justify="right")
    for stage, values in stages.items():
        breakdown.add_row(stage, number(sorted(values)[len(values) // 2], 2))
    Console().print(breakdown)
    load = ", ".join(number(x, 2) for x in os.getloadavg())
    print(f"Belasting van de machine (load average 1/5/15 min): {load} op {os.cpu_count()} kernen")


if __name__ == "__main__":
    main()
