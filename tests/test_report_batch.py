"""Reports for all providers: the batch loader computes the dashboard's numbers, the batch survives failures.

The loader reads every provider's own cube of a period in one query; every figure it gives must equal the figure
computed straight on the warehouse. The batch runs in worker processes, reports progress per provider, writes an
index page, and lists failures without stopping (an unknown provider, or one whose report raises).
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keurmerk.cli import app
from keurmerk.filters import Filters
from keurmerk.metrics import Cube, WarehouseSource, compute_all
from keurmerk.report import ProviderCubes, providers_in_period, write_all
from keurmerk.report import batch as batch_module
from keurmerk.report.loader import ProviderInfo
from keurmerk.warehouse import open_readonly

DAY = date(2022, 2, 25)


@pytest.mark.parametrize("period", [2021, 2022])
def test_batch_loader_gives_the_numbers_of_the_warehouse(tiny_db: Path, period: int) -> None:
    with open_readonly(tiny_db) as con:
        providers = providers_in_period(con, period)
        cubes = ProviderCubes.load(con, period, benchmark=Cube.load(con))
        assert cubes.provider_ids == [p.provider_id for p in providers]
        for provider in providers:
            filters = Filters(provider=provider.provider_id, period=period)
            batched = compute_all(cubes.source(provider.provider_id), filters)
            direct = compute_all(WarehouseSource(con), filters)
            for figure_id, frame in direct.items():
                assert batched[figure_id].equals(frame), (provider.provider_id, figure_id)


def test_batch_loader_keeps_providers_apart(tiny_db: Path) -> None:
    with open_readonly(tiny_db) as con:
        subset = ProviderCubes.load(con, 2021, ["P0000", "P0001"])
    assert subset.provider_ids == ["P0000", "P0001"]
    source = subset.source("P0000")
    assert source.provider == "P0000"
    with pytest.raises(PermissionError):  # a source answers for its own provider only
        source.select(Filters(provider="P0001", period=2021))
    assert subset.source("P0001").texts.height >= 1  # P0001 has the XSS probe as a free text
    assert source.texts.filter(source.texts["value"].str.contains("xss")).height == 0


@pytest.mark.slow
def test_write_all_in_parallel_with_progress_index_and_failures(tiny_db: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int, str, bool]] = []
    result = write_all(
        tiny_db,
        2021,
        out=tmp_path,
        workers=2,
        providers=["P0000", "P0001", "P0002", "NOPE"],
        progress=lambda *step: seen.append(step),
        generated=DAY,
        chunk_size=2,
    )
    assert [r.provider_id for r in result.written] == ["P0000", "P0001", "P0002"]
    assert [(f.provider_id, f.error) for f in result.failures] == [
        ("NOPE", "LookupError: geen uitnodigingen in periode 2021")
    ]
    assert sorted(s[2] for s in seen) == ["NOPE", "P0000", "P0001", "P0002"]
    assert [s[0] for s in seen] == [1, 2, 3, 4] and {s[1] for s in seen} == {4}
    assert len({r.worker for r in result.written}) >= 1 and result.workers == 2
    for r in result.written:
        assert r.path == tmp_path / f"{r.provider_id}-2021.html" and r.path.stat().st_size == r.bytes
        assert {"load", "compute", "charts", "specs", "html", "write"} <= set(r.timings)
    index = result.index.read_text(encoding="utf-8")
    assert '<a href="P0000-2021.html">Partner in Werk</a>' in index
    assert re.search(r"<td>18</td><td>41,9%</td><td>8,0</td><td>9</td><td>8,2</td>", index)
    assert "Mislukt (1)" in index and "NOPE" in index


def crashing_chunk(chunk):
    """Runs in a worker instead of ``_render_chunk`` (the parent pickles it by name): P0001 kills its worker."""
    if any(p.provider_id == "P0001" for p in chunk):
        os._exit(3)
    return batch_module._render_chunk(chunk)


@pytest.mark.slow
def test_a_worker_that_dies_fails_only_its_provider(
    tiny_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_module, "_render_chunk", crashing_chunk)
    result = write_all(
        tiny_db,
        2021,
        out=tmp_path,
        workers=2,
        providers=["P0000", "P0001", "P0002", "P0003"],
        chunk_size=2,
        generated=DAY,
    )
    assert [r.provider_id for r in result.written] == ["P0000", "P0002", "P0003"]
    assert [(f.provider_id, f.error) for f in result.failures] == [("P0001", batch_module.CRASHED)]


class _Breaking:
    """A worker whose report of one provider raises: the rest of its chunk must still be written."""

    def __init__(self, real: batch_module._Worker):
        self.real, self.queue = real, real.queue
        self.con, self.period, self.benchmark = real.con, real.period, real.benchmark
        self.setup, self.setup_reported = real.setup, True

    def render(self, cubes, provider: ProviderInfo, load_seconds: float):
        if provider.provider_id == "P0001":
            raise ZeroDivisionError("kapot")
        return self.real.render(cubes, provider, load_seconds)


def test_one_failing_provider_does_not_stop_its_chunk(
    tiny_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import queue

    from keurmerk.policy import load_policy

    real = batch_module._Worker(str(tiny_db), 2021, "html", str(tmp_path), load_policy(), DAY, queue.Queue(), 0.0)
    monkeypatch.setattr(batch_module, "_WORKER", _Breaking(real))
    chunk = [
        ProviderInfo("P0000", "Partner in Werk"),
        ProviderInfo("P0001", "Bureau Kok"),
        ProviderInfo("P0002", "Baangroep Leiden"),
    ]
    results = batch_module._render_chunk(chunk)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error.startswith("ZeroDivisionError: kapot (")
    assert (tmp_path / "P0002-2021.html").exists() and not (tmp_path / "P0001-2021.html").exists()
    assert real.queue.qsize() == 3


@pytest.mark.slow
def test_cli_report_one_and_all(tiny_db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    one = runner.invoke(
        app, ["report", "--db", str(tiny_db), "--provider", "P0000", "--period", "2021", "--out", str(tmp_path / "een")]
    )
    assert one.exit_code == 0, one.output
    assert (tmp_path / "een" / "P0000-2021.html").exists()
    missing = runner.invoke(app, ["report", "--db", str(tiny_db), "--provider", "P9999", "--period", "2021"])
    assert missing.exit_code == 1 and "geen uitnodigingen" in missing.output
    both = runner.invoke(app, ["report", "--db", str(tiny_db), "--period", "2021", "--all", "--provider", "P0000"])
    assert both.exit_code != 0
    everyone = runner.invoke(
        app,
        [
            "report",
            "--db",
            str(tiny_db),
            "--period",
            "2022",
            "--all",
            "--workers",
            "2",
            "--out",
            str(tmp_path / "alle"),
        ],
    )
    assert everyone.exit_code == 0, everyone.output
    with open_readonly(tiny_db) as con:
        expected = {f"{p.provider_id}-2022.html" for p in providers_in_period(con, 2022)}
    assert {p.name for p in (tmp_path / "alle").iterdir()} == expected | {"index.html"}
    assert "rapporten geschreven" in everyone.output
    # P0007 has an inburgering client: its chapter 5 draws the figures (here: too few respondents to show)
    inburgering = (tmp_path / "alle" / "P0007-2022.html").read_text(encoding="utf-8")
    assert 'data-km-chart="fig_5_1"' in inburgering and "geen inburgeringscliënten" not in inburgering
