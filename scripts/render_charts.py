"""Render every figure of one provider's report to PNG (and SVG) for a visual check of the chart builders.

    .venv/bin/python scripts/render_charts.py [--db PATH] [--provider P0000] [--period 2021] [--out artifacts/charts]

Without ``--db`` it builds the ``tiny`` warehouse (generator, seed 2021) in a temporary directory first. Writes
``<figure_id>.png`` / ``.svg`` with the Dutch locale, the same spec the dashboard draws (``to_spec``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import vl_convert

from keurmerk.api import Filters, compute_all, open_warehouse, registry
from keurmerk.charts.figures import chart_for
from keurmerk.charts.theme import LOCALE, to_spec


def _tiny_warehouse(directory: Path) -> Path:
    from keurmerk.ingest import ingest
    from keurmerk.synth import generate

    db = directory / "tiny.duckdb"
    ingest(db, generate("tiny", directory / "files", seed=2021))
    return db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--provider", default="P0000")
    parser.add_argument("--period", type=int, default=2021)
    parser.add_argument("--out", type=Path, default=Path("artifacts/charts"))
    parser.add_argument("--name", default=None, help="provider name shown in the charts (default: from the data)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or _tiny_warehouse(Path(tmp))
        con = open_warehouse(db)
        name = (
            args.name
            or con.execute(
                "SELECT any_value(provider_name) FROM v_respondents WHERE provider_id = ?", [args.provider]
            ).fetchall()[0][0]
        )
        frames = compute_all(con, Filters(provider=args.provider, period=args.period))
        con.close()

    args.out.mkdir(parents=True, exist_ok=True)
    for spec in registry():
        chart = chart_for(spec.chart, frames[spec.id], name)
        if chart is None:
            continue
        started = time.perf_counter()
        vl = to_spec(chart)
        (args.out / f"{spec.id}.png").write_bytes(vl_convert.vegalite_to_png(vl, scale=2, format_locale=LOCALE))
        (args.out / f"{spec.id}.svg").write_text(vl_convert.vegalite_to_svg(vl, format_locale=LOCALE), "utf-8")
        print(f"{spec.id:<16} {spec.chart:<20} {(time.perf_counter() - started) * 1000:6.0f} ms")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
