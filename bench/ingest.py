"""Ingest throughput and memory: validated answer rows per second and peak RSS, per scale and for one large file.

    .venv/bin/python bench/ingest.py [--scale national x10] [--bigtext-mb 1140] [--repeat 1] [--no-floor]
                                     [--compare /work/main]

Generates each scale once (cached under var/bench/), then per input: (a) `keurmerk.ingest` into a fresh warehouse
(read, validate, quarantine, load, recompute completion, store the cubes, publish) in a child process, whose own
peak RSS (``VmHWM``) is what the memory target is about, and its CPU time (user + system: less disturbed
than the wall time when other work shares the machine); (b) the floor: DuckDB reading the same files straight
into tables with no checks at all. ``--bigtext-mb`` adds one CSV of long free-text answers of about that size (with
its invitations). ``--compare DIR`` runs the ingest of another checkout (e.g. main's worktree) on the same inputs
first, as the "voor" row of each input. Prints one table, so that one sees how time and memory grow with the data. Targets (DESIGN §6,
issue 17): ≥ 1 M answer rows/s validated at national; peak RSS ≤ 1 GB for the 1 GB file, ≤ 4 GB for x10.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

from keurmerk.formatting import integer, number
from keurmerk.synth import generate

_CHILD = """
import json, resource, sys, time
from keurmerk.ingest import ingest
started = time.perf_counter()
report = ingest(sys.argv[1], sys.argv[2:])
print(json.dumps({
    "seconds": time.perf_counter() - started,
    # VmHWM: the peak of this process's own memory. ru_maxrss starts at the bench's RSS at the fork, which
    # counts the CSV it mapped to count the rows (~1 GB for --bigtext-mb 1024)
    "rss_mb": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024,
    "cpu": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
    "quarantined": report.quarantine.height,
    "loaded": report.rows_loaded,
    "unreadable": [t.message for t in report.tables if t.unreadable],
}))
"""


def _files(scale: str) -> list[Path]:
    out = Path("var/bench") / scale
    done = out / ".done"
    if not done.exists():
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        generate(scale, out)
        print(f"generate --scale {scale}: {time.perf_counter() - started:.1f} s", flush=True)
        done.touch()
    return sorted(p for p in out.iterdir() if p.suffix in (".csv", ".parquet"))


_SENTENCE = (
    "de begeleiding was prima maar het duurde lang voordat er contact kwam met de coach die mij hielp bij het "
    "zoeken naar werk en het schrijven van brieven ook de gesprekken over mijn situatie thuis waren nuttig"
)
_WORDS = _SENTENCE.split()
_TEXT_QUESTIONS = ("reason_other", "benefit_other", "complaint_filed_other", "diagnosis_type_other")


def _bigtext(megabytes: int) -> list[Path]:
    """Invitations plus one answers CSV of long free texts (about 1 kB each) of ``megabytes`` MB."""
    out = Path("var/bench") / f"bigtext-{megabytes}"
    done = out / ".done"
    if done.exists():
        return sorted(p for p in out.iterdir() if p.suffix == ".csv")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rng = np.random.default_rng(17)
    per_respondent = len(_TEXT_QUESTIONS)
    respondents = megabytes * 1_000_000 // (1_050 * per_respondent) + 1
    ids = [f"T{i:08d}" for i in range(respondents)]
    pl.DataFrame(
        {
            "period": 2024,
            "provider_id": [f"P{i % 300:04d}" for i in range(respondents)],
            "provider_name": [f"Aanbieder {i % 300}" for i in range(respondents)],
            "respondent_id": ids,
            "audience": "client",
            "service": 3,  # dienst 3 is asked diagnosis_type
            "province": "PV27",
            "questionnaire": "regular",
            "mode": "email",
            "reminded": "true",
            "status": "delivered",
        }
    ).write_csv(out / "invitations.csv", separator=";")
    with open(out / "answers.csv", "w", encoding="utf-8") as f:
        f.write("respondent_id;question_id;value;answered_at\n")
        chunk = 20_000
        for start in range(0, respondents, chunk):
            lines = []
            for rid in ids[start : start + chunk]:
                for question in _TEXT_QUESTIONS:
                    text = " ".join(rng.choice(_WORDS, 160))
                    lines.append(f"{rid};{question};{text};2024-03-14T10:12:00\n")
            f.writelines(lines)
    done.touch()
    print(f"bigtext: {(out / 'answers.csv').stat().st_size / 1e6:.0f} MB", flush=True)
    return sorted(p for p in out.iterdir() if p.suffix == ".csv")


def _answer_rows(files: list[Path]) -> int:
    answers = next(p for p in files if p.stem == "answers")
    scan = (
        pl.scan_parquet(answers)
        if answers.suffix == ".parquet"
        else pl.scan_csv(answers, separator=";", quote_char=None)
    )
    return scan.select(pl.len()).collect().item()


def _validated(files: list[Path], workdir: Path, code: Path) -> dict:
    """One validated ingest with the keurmerk of checkout ``code``, in a child process: its time and its own peak
    RSS."""
    done = subprocess.run(
        # -P: without it `-c` puts the working directory first on sys.path, so "voor" would import this checkout
        [sys.executable, "-P", "-c", _CHILD, str(workdir / "validated.duckdb"), *map(str, files)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(code)},
    )
    if done.returncode:
        errors = [line for line in done.stderr.splitlines() if "Error" in line]  # the cause, not DuckDB's hint
        return {"seconds": float("nan"), "rss_mb": float("nan"), "error": errors[-3:] or done.stderr.splitlines()[-3:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _floor(files: list[Path], workdir: Path) -> float:
    started = time.perf_counter()
    with duckdb.connect(str(workdir / "floor.duckdb")) as con:
        for path in files:
            reader = (
                "read_parquet(?)"
                if path.suffix == ".parquet"
                else "read_csv(?, all_varchar = true, delim = ';', quote = '')"
            )
            con.execute(f"CREATE TABLE {path.stem} AS SELECT * FROM {reader}", [str(path)])
        con.execute("CHECKPOINT")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", nargs="*", default=["national"])
    parser.add_argument("--bigtext-mb", type=int, default=0, help="add a CSV of long free texts of this many MB")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-floor", action="store_true", help="skip the unvalidated DuckDB load")
    parser.add_argument("--compare", type=Path, help="another checkout whose ingest runs first, as 'voor'")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    codes = {"voor": args.compare.resolve(), "na": here} if args.compare else {"": here}
    inputs = {f"schaal {s}": _files(s) for s in args.scale}
    if args.bigtext_mb:
        inputs[f"CSV lange vrije teksten ({args.bigtext_mb} MB)"] = _bigtext(args.bigtext_mb)
    table = Table(title="Ingest: gevalideerd laden, per invoer (elke run een eigen proces)")
    for column in (
        "Invoer",
        "Antwoordrijen",
        "MB op schijf",
        "Beste tijd (s)",
        "Antwoordrijen/s",
        "CPU-tijd (s)",
        "Piek-RSS (MB)",
        "Vloer DuckDB (s)",
        "× vloer",
        "Geladen (alle tabellen)",
        "Quarantaine",
    ):
        table.add_column(column, justify="left" if column == "Invoer" else "right")
    Path("var").mkdir(exist_ok=True)
    for name, files in inputs.items():
        rows = _answer_rows(files)
        floors = []
        if not args.no_floor:
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory(dir="var") as tmp:
                    floors.append(_floor(files, Path(tmp)))
        for label, code in codes.items():
            runs = []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory(dir="var") as tmp:
                    runs.append(_validated(files, Path(tmp), code))
            _add_row(table, f"{name} ({label})" if label else name, files, rows, runs, floors)
    Console(width=200).print(table)
    load = ", ".join(number(x, 2) for x in os.getloadavg())
    print(f"Belasting van de machine (load average 1/5/15 min): {load} op {os.cpu_count()} kernen")
    if args.compare:
        print(f"voor: {args.compare}; na: {here}")


def _add_row(table: Table, name: str, files: list[Path], rows: int, runs: list[dict], floors: list[float]) -> None:
    best = min(runs, key=lambda r: r["seconds"])
    if "error" in best:
        print(f"{name}: mislukt: {best['error']}")
    for message in best.get("unreadable", []):  # a table that did not load makes its row meaningless
        print(f"{name}: niet geladen: {message}")
    floor = min(floors) if floors else float("nan")
    table.add_row(
        name,
        integer(rows),
        number(sum(p.stat().st_size for p in files) / 1e6, 0),
        number(best["seconds"], 2),
        integer(round(rows / best["seconds"])) if best["seconds"] == best["seconds"] else "–",
        number(best.get("cpu", float("nan")), 1),
        integer(round(max(r["rss_mb"] for r in runs))) if best["rss_mb"] == best["rss_mb"] else "–",
        number(floor, 2) if floors else "–",
        number(best["seconds"] / floor, 1) if floors else "–",
        integer(best["loaded"]) if "loaded" in best else "–",
        integer(best.get("quarantined", 0)),
    )


if __name__ == "__main__":
    main()
