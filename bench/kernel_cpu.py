"""CPU seconds of one provider dashboard kernel, as the fork server makes it: ipykernel's start in the forked child,
``ProviderApp.prepare`` (polars and keurmerk imports, the benchmark cube, the warm-up) and ``open`` for one link
(every chapter and the year-over-year tiles at once, as without an event loop). Steadier than the CPU seconds
``bench/dashboard.py`` reads from a served page, which also count Voilà's messages and a busy machine.

    .venv/bin/python bench/kernel_cpu.py [--scale national] [--runs 3] [--compare-with CHECKOUT]

Each run is a fresh process that imports what the fork server preloads (``keurmerk.kernel_fork.preload``, or
``PRELOAD`` of an older checkout) and forks; the child does the rest, with the kernel environment
(``keurmerk.serve.KERNEL_ENV`` when the checkout has it, read from its source: importing keurmerk would import
polars). ``--compare-with`` alternates run by run with another
checkout (its code on PYTHONPATH), on the warehouse cached by bench/dashboard.py.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VAR = REPO / "var" / "bench-dashboard"
STEPS = ("ipykernel", "prepare", "open")

CHILD = r"""
import importlib, json, os, sys, tempfile, time
root, db = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(root, "keurmerk"))
import kernel_fork
if hasattr(kernel_fork, "preload"):
    kernel_fork.preload()
else:
    for name in kernel_fork.PRELOAD:
        importlib.import_module(name)
    importlib.import_module("babel").Locale.parse(kernel_fork.NUMBER_LOCALE).number_symbols
sys.path.pop(0)
read, write = os.pipe()
if os.fork() == 0:  # the kernel: CPU times start at zero
    os.close(read)
    os.environ.update(json.loads(sys.argv[3]))  # before polars is imported
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1), os.dup2(null, 2)
    from ipykernel.kernelapp import IPKernelApp
    IPKernelApp.instance().initialize(["-f", os.path.join(tempfile.mkdtemp(), "kernel.json")])
    started = time.process_time()
    os.environ.setdefault("KEURMERK_SECRET", "bench-kernel-cpu-secret")
    from keurmerk.access import make_token
    from keurmerk.dashboard.provider import ProviderApp
    app = ProviderApp.prepare(db)
    prepared = time.process_time()
    app.open({"toegang": make_token("P0000")})
    app.close()
    opened = time.process_time()
    os.write(write, json.dumps([started, prepared - started, opened - prepared]).encode())
    os._exit(0)
os.close(write)
print(os.read(read, 1000).decode())
"""


def kernel_env(checkout: Path) -> dict[str, str]:
    for node in ast.parse((checkout / "keurmerk" / "serve.py").read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["KERNEL_ENV"]:
            return ast.literal_eval(node.value)
    return {}


def run(checkout: Path, db: Path) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    env.pop("POLARS_MAX_THREADS", None)  # the checkout's KERNEL_ENV decides
    done = subprocess.run([sys.executable, "-c", CHILD, str(checkout), str(db), json.dumps(kernel_env(checkout))],
                          env=env, capture_output=True, text=True, check=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="national", choices=("tiny", "demo", "national"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare-with", type=Path, help="another checkout, run alternately")
    args = parser.parse_args()
    from keurmerk.synth import cached_warehouse

    db = cached_warehouse(args.scale, VAR / args.scale / "files", VAR / args.scale / "warehouse.duckdb", echo=print)
    checkouts = {"hier": REPO, **({"daar": args.compare_with.resolve()} if args.compare_with else {})}
    results: dict[str, list[list[float]]] = {label: [] for label in checkouts}
    for _ in range(args.runs):
        for label, checkout in checkouts.items():
            results[label].append(run(checkout, db))
    print(f"Kernel-CPU per bezoek, schaal {args.scale}, {args.runs} runs, mediaan (min–max) CPU-s")
    print(f"{'stap':12}" + "".join(f"{f'{label} ({checkout.name})':>28}" for label, checkout in checkouts.items()))
    for i, step in enumerate((*STEPS, "totaal")):
        cells = []
        for label in checkouts:
            values = [sum(r) if step == "totaal" else r[i] for r in results[label]]
            cells.append(f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})")
        print(f"{step:12}" + "".join(f"{c:>28}" for c in cells))


if __name__ == "__main__":
    main()
