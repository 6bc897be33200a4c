"""Reports for every provider of a period, on all cores, with progress, an index page and a list of failures.

How the work is split (measured at ``national`` scale: bench/reports.py):

- the parent lists the providers of the period and deals them out in chunks of a few to worker processes
  (``spawn``: each worker imports once and starts no threads before it is ready);
- each worker loads the benchmark cube once (the stored one, ~0,3 s) and, per chunk, the own cubes of the
  chunk's providers in one query (:class:`~keurmerk.report.loader.ProviderCubes`), then per provider computes
  the frames, draws the charts, writes the HTML (the Vega runtime inlined once per file) and, for PDF, prints
  it with its own Chromium (:class:`~keurmerk.report.pdf.PdfPrinter`, started once per worker: one browser and
  one page, the Vega runtime loaded once, for all the worker's reports; one print per report);
- every provider is done inside its own ``try``: a failure is recorded with its reason and the batch goes on;
  a worker that dies breaks the pool, and the providers not yet done are retried in a new one until the one
  that kills its worker stands alone (only it fails);
- the parent follows progress per provider through a queue and writes ``index.html``: every provider with its
  key numbers and a link to its report, and the failures with their reasons.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import queue as queue_module
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import date
from html import escape
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any

from keurmerk.formatting import LOCALE, integer, number, percent
from keurmerk.policy import Policy, load_policy
from keurmerk.report.loader import ProviderInfo, providers_in_period
from keurmerk.report.single import FORMATS, report_filename

__all__ = ["STAGES", "BatchResult", "ProviderResult", "write_all", "write_all_with_bar"]

CRASHED = "het werkproces stopte onverwacht bij deze aanbieder"

# the stages timed per provider, in the order they run: CPU seconds of the worker, wall seconds for "pdf"
STAGES = ("load", "compute", "charts", "specs", "html", "write", "pdf")


@dataclass(frozen=True)
class ProviderResult:
    provider_id: str
    name: str
    path: Path | None = None
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)  # key numbers for the index page
    worker: int | None = None
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class BatchResult:
    period: int
    fmt: str
    out: Path
    index: Path
    results: list[ProviderResult]
    seconds: float
    workers: int
    setup: dict[int, float]  # worker pid → seconds to start (imports, benchmark cube)

    @property
    def failures(self) -> list[ProviderResult]:
        return [r for r in self.results if not r.ok]

    @property
    def written(self) -> list[ProviderResult]:
        return [r for r in self.results if r.ok]


# --- in the worker ---------------------------------------------------------------------------------------------
class _Worker:
    """What one worker process holds: the connection, the benchmark cube, the policy, its Chromium."""

    def __init__(
        self, db: str, period: int, fmt: str, out: str, policy: Policy, generated: date, queue: Any, pool_started: float
    ):
        from keurmerk.metrics import Cube
        from keurmerk.report import document  # noqa: F401  (imports Altair and the chart code once, up front)
        from keurmerk.report.reactions import granted_by_provider
        from keurmerk.warehouse import open_readonly

        _exit_with_parent()
        self.period, self.fmt, self.out, self.policy, self.generated = period, fmt, Path(out), policy, generated
        self.queue = queue
        self.con = open_readonly(db)
        Finalize(self, self.con.close, exitpriority=5)  # closed before the interpreter tears DuckDB down
        self.benchmark = Cube.load(self.con)
        self.granted = granted_by_provider(db, period)  # hoor en wederhoor: the report's appendix
        self.printer = None
        self.setup = time.time() - pool_started  # process start, imports, benchmark cube
        self.setup_reported = False

    def pdf_printer(self):
        if self.printer is None:
            from keurmerk.report.pdf import PdfPrinter

            self.printer = PdfPrinter()
            self.printer.start()
            Finalize(self.printer, self.printer.close, exitpriority=10)
        return self.printer

    def render(self, cubes, provider: ProviderInfo, load_seconds: float) -> ProviderResult:
        from keurmerk.report.document import chart_specs, render_html
        from keurmerk.report.single import report_data

        # CPU seconds of this process per stage (robust when other work shares the cores); the PDF stage is wall
        # time, since Chromium does that work in its own processes
        timings = {"load": load_seconds}
        clock, started = time.process_time(), time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.process_time()
            timings[stage] = timings.get(stage, 0.0) + now - clock
            clock = now

        data = report_data(cubes.source(provider.provider_id), provider, self.period, self.policy, self.generated)
        data = replace(data, reactions=self.granted.get(provider.provider_id, ()))
        lap("compute")
        specs = chart_specs(data, timings)
        clock = time.process_time()
        html = render_html(data, specs)
        lap("html")
        path = self.out / report_filename(provider.provider_id, self.period, self.fmt)
        if self.fmt == "pdf":
            printing, printer = time.perf_counter(), self.pdf_printer()
            passes, chromium_cpu = printer.passes, _descendants_cpu()
            content = printer.print(html)
            timings["pdf"] = time.perf_counter() - printing
            timings["pdf_passes"] = printer.passes - passes
            if chromium_cpu is not None and (now := _descendants_cpu()) is not None:
                timings["pdf_cpu"] = now - chromium_cpu  # Chromium's and Playwright's processes
            clock = time.process_time()
            path.write_bytes(content)
            size = len(content)
        else:
            encoded = html.encode("utf-8")
            path.write_bytes(encoded)
            size = len(encoded)
        lap("write")
        timings["wall"] = time.perf_counter() - started
        return ProviderResult(
            provider.provider_id, provider.name, path, None, timings, _summary(data.frames), os.getpid(), size
        )


def _descendants_cpu() -> float | None:
    """CPU seconds used so far by this worker's child processes (Playwright's driver, Chromium), or None without
    psutil: the PDF stage's cost on a machine where other work makes wall time say little."""
    try:
        import psutil
    except ImportError:
        return None
    # a process that ended and was reaped counts in its parent's children_* times, one still running in its own
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:  # gone in between
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def _summary(frames) -> dict[str, Any]:
    import polars as pl

    table = frames["table_1_1"]
    totals = {r["form"]: r for r in table.filter(pl.col("service").is_null()).iter_rows(named=True)}
    summary: dict[str, Any] = {}
    for form in ("client", "commissioner", "inburgering"):
        if form in totals:
            row = totals[form]
            summary[form] = {k: row[k] for k in ("net_sample", "completed", "response_pct", "grade", "norm_met")}
    return summary


def _exit_with_parent(interval: float = 1.0) -> None:
    """A worker stops when the batch that started it is gone (killed, not interrupted): no orphans. The watch
    ends with the worker (a thread still running at exit makes DuckDB's bindings report leaks)."""
    parent = os.getppid()
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(interval):
            if os.getppid() != parent:
                os._exit(1)

    thread = threading.Thread(target=watch, name="keurmerk-parent-watch", daemon=True)
    thread.start()

    def end() -> None:
        stop.set()
        thread.join()

    Finalize(thread, end, exitpriority=20)


_WORKER: _Worker | None = None


def _init_worker(*args: Any) -> None:
    global _WORKER
    _WORKER = _Worker(*args)


def _failure(provider: ProviderInfo, error: BaseException) -> ProviderResult:
    where = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    at = f" ({Path(where[0].filename).name}:{where[0].lineno})" if where else ""
    return ProviderResult(
        provider.provider_id, provider.name, error=f"{type(error).__name__}: {error}{at}", worker=os.getpid()
    )


def _render_chunk(chunk: Sequence[ProviderInfo]) -> list[ProviderResult]:
    """Render a chunk of providers in this worker; never raises for one provider's failure."""
    from keurmerk.report.loader import ProviderCubes

    worker = _WORKER
    assert worker is not None, "worker not initialised"
    results = []
    try:
        started = time.process_time()
        cubes = ProviderCubes.load(worker.con, worker.period, [p.provider_id for p in chunk], worker.benchmark)
        load_seconds = (time.process_time() - started) / max(1, len(chunk))
    except Exception as error:  # the chunk's data could not be read: every provider in it failed
        results = [_failure(p, error) for p in chunk]
        for result in results:
            worker.queue.put((result.provider_id, result.ok, None))
        return results
    for provider in chunk:
        try:
            result = worker.render(cubes, provider, load_seconds)
        except Exception as error:  # one bad provider never stops the batch
            result = _failure(provider, error)
        setup = None
        if not worker.setup_reported:
            setup, worker.setup_reported = (os.getpid(), worker.setup), True
        results.append(result)
        worker.queue.put((result.provider_id, result.ok, setup))
    return results


# --- in the parent ---------------------------------------------------------------------------------------------
def _chunks(providers: Sequence[ProviderInfo], workers: int, size: int | None) -> list[list[ProviderInfo]]:
    # small enough that the cores stay busy to the end, large enough that one query serves several reports
    size = size or max(1, min(16, math.ceil(len(providers) / (workers * 4))))
    return [list(providers[i : i + size]) for i in range(0, len(providers), size)]


Progress = Callable[[int, int, str, bool], None]  # (done, total, provider id, ok)


class _Tracker:
    """Progress per provider, from the workers' queue messages (each provider counted once)."""

    def __init__(self, queue: Any, total: int, progress: Progress | None):
        self.queue, self.total, self.progress = queue, total, progress
        self.seen: set[str] = set()
        self.setup: dict[int, float] = {}

    def mark(self, provider_id: str, ok: bool) -> None:
        if provider_id in self.seen:
            return
        self.seen.add(provider_id)
        if self.progress:
            self.progress(len(self.seen), self.total, provider_id, ok)

    def drain(self, timeout: float) -> None:
        try:
            while True:
                provider_id, ok, started = self.queue.get(timeout=timeout)
                timeout = 0
                if started:
                    self.setup[started[0]] = started[1]
                self.mark(provider_id, ok)
        except queue_module.Empty:
            return


def _run_pool(
    chunks: list[list[ProviderInfo]], workers: int, initargs: tuple, tracker: _Tracker
) -> tuple[dict[str, ProviderResult], list[ProviderInfo]]:
    """Run the chunks; returns the results, and the providers whose worker died before it answered."""
    results: dict[str, ProviderResult] = {}
    lost: list[ProviderInfo] = []
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context("spawn"),
        initializer=_init_worker,
        initargs=(*initargs, time.time()),
    ) as pool:
        futures: dict[Future, list[ProviderInfo]] = {pool.submit(_render_chunk, chunk): chunk for chunk in chunks}
        pending = set(futures)
        while pending:
            tracker.drain(0.1)
            for future in [f for f in pending if f.done()]:
                pending.discard(future)
                try:
                    results |= {r.provider_id: r for r in future.result()}
                except BrokenProcessPool:
                    lost += futures[future]
                except Exception as error:  # a chunk failed outside the per-provider guard
                    results |= {p.provider_id: _failure(p, error) for p in futures[future]}
        tracker.drain(0.1)
    return results, [p for p in lost if p.provider_id not in results]


def write_all(
    db: str | Path,
    period: int,
    out: str | Path = "rapporten",
    fmt: str = "html",
    workers: int | None = None,
    providers: Sequence[str] | None = None,
    policy: Policy | None = None,
    progress: Progress | None = None,
    chunk_size: int | None = None,
    generated: date | None = None,
) -> BatchResult:
    """Write the report of every provider of ``period`` (or of ``providers``) to ``out`` and an index page.

    ``workers`` defaults to the number of cores available to this process. Never raises for a provider's
    failure: see :attr:`BatchResult.failures`. The workers are started with ``spawn``: a script that calls
    this must do so under ``if __name__ == "__main__":``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"onbekend formaat {fmt!r}; kies uit {', '.join(FORMATS)}")
    from keurmerk.warehouse import open_readonly

    started = time.perf_counter()
    policy = policy or load_policy()
    generated = generated or date.today()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open_readonly(db) as con:
        listed = providers_in_period(con, period)
    results: dict[str, ProviderResult] = {}
    if providers is not None:
        known = {p.provider_id: p for p in listed}
        missing = [pid for pid in dict.fromkeys(providers) if pid not in known]
        results |= {
            pid: ProviderResult(pid, pid, error=f"LookupError: geen uitnodigingen in periode {period}")
            for pid in missing
        }
        listed = [known[pid] for pid in dict.fromkeys(providers) if pid in known]
    workers = max(1, min(workers or len(os.sched_getaffinity(0)), max(1, len(listed))))
    queue = mp.get_context("spawn").Queue()
    tracker = _Tracker(queue, len(listed) + len(results), progress)
    for pid in results:
        tracker.mark(pid, False)
    if listed:
        initargs = (str(db), period, fmt, str(out), policy, generated, queue)
        found, lost = _run_pool(_chunks(listed, workers, chunk_size), workers, initargs, tracker)
        results |= found
        # A worker that dies (a crash, not an exception) breaks the pool: whatever was not done is lost. Retry
        # those one per task; if the pool breaks again, the first provider it lost is run alone, so that only
        # the culprit fails, and the rest go on. Every round settles at least one provider.
        while lost:
            retried, lost = _run_pool([[p] for p in lost], workers, initargs, tracker)
            results |= retried
            if not lost:
                break
            first, lost = lost[0], lost[1:]
            alone, gone = _run_pool([[first]], 1, initargs, tracker)
            results |= alone
            for p in gone:
                results[p.provider_id] = ProviderResult(p.provider_id, p.name, error=CRASHED)
                tracker.mark(p.provider_id, False)
    ordered = sorted(results.values(), key=lambda r: r.provider_id)
    index = write_index(out, period, fmt, ordered, generated)
    return BatchResult(period, fmt, out, index, ordered, time.perf_counter() - started, workers, tracker.setup)


# --- the index page --------------------------------------------------------------------------------------------
_INDEX_CSS = """<style>
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; color: #1f2933; margin: 24px auto;
       max-width: 1100px; padding: 0 20px; font-size: 14px; }
h1 { font-size: 24px; } h2 { font-size: 18px; margin-top: 28px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e4e7eb; text-align: right; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
thead th { background: #f5f7fa; vertical-align: bottom; }
.ok { color: #1e7b34; } .fail { color: #c0392b; font-weight: 600; }
.note { color: #52606d; }
</style>"""


def write_all_with_bar(console: Any, label: str, db: str | Path, period: int, **options: Any) -> BatchResult:
    """``write_all`` with a rich progress bar on ``console`` (per provider, elapsed and remaining time); the
    bar's text is ``label`` and the provider being done. For ``keurmerk report --all`` and bench/reports.py."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn()]  # fmt: skip
    with Bar(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def step(done: int, total: int, provider_id: str, ok: bool) -> None:
            bar.update(task, completed=done, total=total, description=f"{label}: {provider_id}")

        return write_all(db, period, progress=step, **options)


def write_index(out: Path, period: int, fmt: str, results: Sequence[ProviderResult], generated: date) -> Path:
    """``out/index.html``: every provider with its key numbers and a link to its report; then the failures."""
    from babel.dates import format_date

    rows = []
    for r in results:
        if not r.ok:
            continue
        client, commissioner = r.summary.get("client", {}), r.summary.get("commissioner", {})
        met = [v.get("norm_met") for v in r.summary.values() if v.get("norm_met") is not None]
        norm = "–" if not met else ('<span class="ok">ja</span>' if all(met) else '<span class="fail">nee</span>')
        link = escape(r.path.name) if r.path else ""
        rows.append(
            f'<tr><td>{escape(r.provider_id)}</td><td><a href="{link}">{escape(r.name)}</a></td>'
            f"<td>{integer(client.get('completed'))}</td><td>{percent(client.get('response_pct'))}</td>"
            f"<td>{number(client.get('grade'))}</td><td>{integer(commissioner.get('completed'))}</td>"
            f"<td>{number(commissioner.get('grade'))}</td><td>{norm}</td></tr>"
        )
    failures = [r for r in results if not r.ok]
    failed = "".join(
        f"<tr><td>{escape(r.provider_id)}</td><td>{escape(r.name)}</td>"
        f'<td class="fail" style="text-align:left">{escape(r.error or "")}</td></tr>'
        for r in failures
    )
    failure_block = (
        f"<h2>Mislukt ({integer(len(failures))})</h2><table><thead><tr><th>Id</th><th>Aanbieder</th>"
        f'<th style="text-align:left">Reden</th></tr></thead><tbody>{failed}</tbody></table>'
        if failures
        else '<p class="note">Alle rapporten zijn gemaakt.</p>'
    )
    stamp = format_date(generated, "full", locale=LOCALE)
    page = (
        '<!DOCTYPE html>\n<html lang="nl"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>Rapporten tevredenheidsonderzoek {period}</title>{_INDEX_CSS}</head><body>"
        f"<h1>Rapporten tevredenheidsonderzoek Blik op Werk — {period}</h1>"
        f'<p class="note">{integer(len(results) - len(failures))} van {integer(len(results))} rapporten '
        f"({fmt.upper()}), gemaakt op {escape(stamp)}.</p>{failure_block}"
        "<h2>Rapporten</h2><table><thead><tr><th>Id</th><th>Aanbieder</th><th>Ingevuld cliënten</th>"
        "<th>Respons cliënten</th><th>Rapportcijfer cliënten</th><th>Ingevuld opdrachtgevers</th>"
        "<th>Rapportcijfer opdrachtgevers</th><th>Norm gehaald</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></body></html>\n"
    )
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
