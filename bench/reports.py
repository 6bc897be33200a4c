"""Static reports for every provider: wall time, time per provider and where it goes, HTML and PDF.

    .venv/bin/python bench/reports.py [--scale national] [--period 2020] [--workers 2] [--pdf-sample 0]
                                      [--pdf-compare 12 --compare-with ../main-export]

Set-up, cached under var/bench-reports/ (minutes the first time): the scale generated (var/bench-reports/<scale>/),
ingested into var/bench-reports/<scale>.duckdb with its benchmark cube stored (what a publication does).

Then, in one run:

1. HTML for every provider of the period: ``keurmerk.report.write_all`` (worker processes, one batch query per
   chunk of providers, the benchmark cube shared, the Vega runtime inlined once per file) — wall time, reports
   per second, and per provider the time of each stage, summed over all providers (CPU seconds in the workers)
   and as a median;
2. the chart stage per chart kind (what a report's ~30 charts cost, and which kinds dominate);
3. PDF for every provider of the period (the whole batch, as ``keurmerk report --all --format pdf``: one
   Chromium and one page per worker, each chart shape compiled once per worker, the contents' page numbers
   measured before the one print), with the prints per report and the range of page counts; ``--pdf-sample N``
   prints N providers only and extrapolates (labelled as such); the CPU seconds of Chromium's processes per
   report, and the wall time on idle cores expected from all CPU seconds (robust when other work shares the
   machine); then a summary: wall time, per PDF, peak RSS of all the batch's processes together (sampled), workers,
   and the target for 500;
3b. with ``--compare-with CHECKOUT`` (for example an export of main): ``--pdf-compare N`` reports printed by this
   checkout's printer and by that checkout's ``keurmerk/report/pdf.py``, alternating report by report (the same
   load for both): wall and CPU per report, their ratio, file size, and whether both give the same text and pages;
3c. ``--pdf-profile N`` (and nothing else): where a PDF's CPU goes, step by step (drawing, measuring, the print,
   garbage collection and, for comparison, the print without tags and outline) and process by process (Python,
   Playwright's driver, Chromium's browser, the renderer's main thread and its other threads, the print compositor
   Chromium starts for every print, GPU), for N reports printed as ``PdfPrinter.print`` prints them; with
   ``--compare-with``, that checkout's printer too, alternating report by report;
4. the alternatives the design chose against, measured on one provider: loading one provider's cube per query
   (``CubeSource.load``) instead of one query per chunk, the charts with Altair's own code paths instead of
   :mod:`keurmerk.charts.speed` (same specs; the ratio in one run), and drawing the charts as SVG in Python
   (``vl_convert.vegalite_to_svg``) instead of in the reader's browser.

Targets (DESIGN §6): HTML for all providers ≤ 60 s and PDF for 500 ≤ 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from keurmerk.formatting import integer, number
from keurmerk.report.batch import STAGES, BatchResult, write_all_with_bar

VAR = Path("var/bench-reports")
STAGE_LABELS = {
    "load": "eigen cubes laden (één query per groep aanbieders)",
    "compute": "cijfers berekenen (compute_all)",
    "charts": "grafieken bouwen (Altair, chart_for)",
    "specs": "grafieken naar Vega-Lite (to_spec)",
    "html": "HTML samenstellen",
    "write": "bestand schrijven",
    "pdf": "PDF tekenen en printen (Chromium)",
}
console = Console(width=None if os.isatty(1) else 150)


def warehouse(scale: str) -> Path:
    """var/bench-reports/<scale>.duckdb: generated, ingested and with its benchmark cube stored (cached)."""
    from keurmerk.synth import cached_warehouse

    return cached_warehouse(scale, VAR / scale, VAR / f"{scale}.duckdb", echo=console.print)


@contextmanager
def _peak_memory(every: float = 0.5):
    """Samples the memory of this process and all its descendants (workers, Playwright's drivers, Chromium),
    summed; yields a dict with the largest sums seen: "rss" (bytes; pages shared between processes, such as
    Chromium's, count once per process) and "pss" (shared pages divided among the processes that share them)."""
    import psutil

    found = {"rss": 0, "pss": 0}
    stop = threading.Event()

    def sample() -> None:
        me = psutil.Process()
        while True:
            rss = pss = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    memory = process.memory_full_info()
                except psutil.Error:  # ended in between
                    continue
                rss, pss = rss + memory.rss, pss + getattr(memory, "pss", memory.rss)
            found["rss"], found["pss"] = max(found["rss"], rss), max(found["pss"], pss)
            if stop.wait(every):
                return

    thread = threading.Thread(target=sample, name="bench-memory", daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join()


def _run(
    db: Path, period: int, out: Path, fmt: str, workers: int, providers: list[str] | None = None, label: str = ""
) -> tuple[BatchResult, dict[str, int]]:
    """The batch, and the peak memory of all its processes together (see _peak_memory)."""
    label = label or f"{fmt.upper()}-rapporten"
    with _peak_memory() as memory:
        result = write_all_with_bar(console, label, db, period, out=out, fmt=fmt, workers=workers, providers=providers)
    return result, memory


def _stage_table(result: BatchResult, title: str, extrapolate_to: int | None = None) -> Table:
    """Per stage: seconds summed over all reports (CPU of the workers; wall for the PDF stage), median per
    report, share; then wall times: measured, and what the CPU seconds give on idle cores."""
    ok = result.written
    table = Table(title=title)
    for column in ("stap", "totaal (s)", "per rapport, mediaan (ms)", "aandeel"):
        table.add_column(column, justify="left" if column == "stap" else "right")
    totals = {s: sum(r.timings.get(s, 0.0) for r in ok) for s in STAGES}
    grand = sum(totals.values()) or 1.0
    for stage in STAGES:
        if not totals[stage]:
            continue
        median = statistics.median(r.timings.get(stage, 0.0) for r in ok) * 1000
        label = STAGE_LABELS[stage] + (" [wand]" if stage == "pdf" else " [CPU]")
        table.add_row(label, number(totals[stage], 1), number(median, 0), f"{number(100 * totals[stage] / grand, 0)}%")
    per_report = [sum(r.timings.get(s, 0.0) for s in STAGES) for r in ok]
    table.add_row("[bold]samen[/]", number(grand, 1), number(statistics.median(per_report) * 1000, 0), "100%")
    setup = max(result.setup.values(), default=0.0)
    table.add_section()
    table.add_row("opstart per worker (proces, imports, benchmarkcube) [wand]", number(setup, 1), "", "")
    table.add_row(
        f"wandtijd gemeten ({result.workers} workers; machine gedeeld met andere processen)",
        number(result.seconds, 1),
        number(1000 * result.seconds / max(1, len(ok)), 0),
        "",
    )
    expected = setup + grand / result.workers
    table.add_row(
        f"[bold]wandtijd verwacht op {result.workers} vrije cores (samen / workers + opstart)[/]",
        f"[bold]{number(expected, 1)}[/]",
        "",
        "",
    )
    chromium_cpu = [r.timings["pdf_cpu"] for r in ok if "pdf_cpu" in r.timings]
    if chromium_cpu:
        python_cpu = grand - totals["pdf"]
        table.add_row(
            "PDF: CPU van Chromium en Playwright (hun processen) [CPU]",
            number(sum(chromium_cpu), 1),
            number(statistics.median(chromium_cpu) * 1000, 0),
            "",
        )
        cpu_expected = setup + (python_cpu + sum(chromium_cpu)) / result.workers
        table.add_row(
            f"[bold]wandtijd verwacht op {result.workers} vrije cores uit CPU (Python + Chromium) / workers + "
            "opstart[/]",
            f"[bold]{number(cpu_expected, 1)}[/]",
            "",
            "",
        )
    table.add_row("rapporten gemaakt / mislukt", f"{integer(len(ok))} / {integer(len(result.failures))}", "", "")
    sizes = [r.bytes for r in ok]
    if sizes:
        table.add_row("bestandsgrootte, mediaan (kB)", "", number(statistics.median(sizes) / 1000, 0), "")
    if extrapolate_to and ok:
        estimate = setup + grand / len(ok) * extrapolate_to / result.workers
        table.add_row(
            f"[italic]geëxtrapoleerd naar {integer(extrapolate_to)} rapporten ({result.workers} workers)[/]",
            f"[italic]≈ {number(estimate, 0)}[/]",
            "",
            "",
        )
    return table


def _kind_table(result: BatchResult) -> Table:
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    for r in result.written:
        for key, value in r.timings.items():
            kind = key.partition(":")[2]
            if key.startswith("kind:"):
                seconds[kind] = seconds.get(kind, 0.0) + value
            elif key.startswith("count:"):
                counts[kind] = counts.get(kind, 0) + int(value)
    reports = max(1, len(result.written))
    table = Table(title="Grafieken per soort (chart_for + to_spec, CPU), over alle rapporten")
    for column in ("soort", "grafieken per rapport", "totaal (s)", "per grafiek (ms)"):
        table.add_column(column, justify="left" if column == "soort" else "right")
    for kind, total in sorted(seconds.items(), key=lambda kv: -kv[1]):
        count = counts.get(kind, 0)
        table.add_row(kind, number(count / reports, 1), number(total, 1), number(1000 * total / max(1, count), 1))
    return table


def _printer_of(checkout: Path):
    """The ``keurmerk.report.pdf`` module of another checkout (for example one of main), loaded beside this one's:
    the same HTML printed by its printer."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("keurmerk_other_pdf", checkout / "keurmerk" / "report" / "pdf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report_pages(db: Path, period: int, ids: list[str], count: int) -> list[str]:
    """The HTML reports of ``count`` providers spread over ``ids``, as the batch makes them."""
    from keurmerk.metrics import Cube
    from keurmerk.policy import load_policy
    from keurmerk.report import chart_specs, render_html, report_data
    from keurmerk.report.loader import ProviderCubes, providers_in_period
    from keurmerk.warehouse import open_readonly

    chosen = ids[:: max(1, len(ids) // count)][:count]
    with open_readonly(db) as con:
        known = {p.provider_id: p for p in providers_in_period(con, period)}
        cubes = ProviderCubes.load(con, period, chosen, Cube.load(con))
    pages = []
    for provider_id in chosen:
        data = report_data(cubes.source(provider_id), known[provider_id], period, load_policy())
        pages.append(render_html(data, chart_specs(data)))
    return pages


def _pdf_compared(db: Path, period: int, ids: list[str], count: int, checkout: Path) -> Table:
    """The same reports printed by this checkout's printer and by the one of ``checkout``, each in its own browser
    started with its own flags (``ARGS`` of its module, if it has them, else ``keurmerk.chromium.ARGS``),
    alternating report by report, so that both see the same load: wall and CPU (this process and Chromium's), file
    size, and whether the PDFs read the same (pages, the page of every heading, pdftotext)."""
    from keurmerk import chromium
    from keurmerk.report.batch import _descendants_cpu
    from keurmerk.report.pdf import PdfPrinter, named_destinations, page_count

    pages = _report_pages(db, period, ids, count)
    spent = {"hier": [0.0, 0.0], "daar": [0.0, 0.0]}  # wall, CPU (this process and Chromium's)
    printed: dict[str, list[bytes]] = {"hier": [], "daar": []}
    with PdfPrinter() as here:  # one Playwright for both (its sync API drives one per thread), a browser each
        other = _printer_of(checkout)
        there = other.PdfPrinter()
        there._playwright = here._playwright
        there._browser = here._playwright.chromium.launch(
            executable_path=chromium.executable(), args=getattr(other, "ARGS", chromium.ARGS)
        )
        here.print(pages[-1]), there.print(pages[-1])  # started and warm
        for html in pages:
            for label, printer in (("daar", there), ("hier", here)):
                wall, cpu = time.perf_counter(), time.process_time() + (_descendants_cpu() or 0.0)
                printed[label].append(printer.print(html))
                spent[label][0] += time.perf_counter() - wall
                spent[label][1] += time.process_time() + (_descendants_cpu() or 0.0) - cpu
        there._drop_page()
        there._browser.close()
    same_pages = all(page_count(a) == page_count(b) and named_destinations(a) == named_destinations(b)
                     for a, b in zip(printed["hier"], printed["daar"], strict=True))  # fmt: skip
    same_text = None
    if shutil.which("pdftotext"):

        def text(pdf: bytes) -> str:
            return subprocess.run(
                ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
            ).stdout.decode()

        same_text = all(text(a) == text(b) for a, b in zip(printed["hier"], printed["daar"], strict=True))
    table = Table(title=f"PDF per rapport, deze checkout en {checkout}, om en om op dezelfde {len(pages)} rapporten")
    for column in ("printer", "wand (ms)", "CPU (ms)", "CPU t.o.v. de andere", "bestand (kB)"):
        table.add_column(column, justify="left" if column == "printer" else "right")
    for label, text_ in (("daar", f"die van {checkout}"), ("hier", "deze checkout")):
        wall, cpu = (1000 * x / len(pages) for x in spent[label])
        size = statistics.mean(len(p) for p in printed[label]) / 1000
        table.add_row(
            text_, number(wall, 0), number(cpu, 0), f"×{number(spent[label][1] / spent['daar'][1], 2)}",
            number(size, 0),
        )  # fmt: skip
    table.add_section()
    table.add_row(
        "zelfde pagina's en koppen per pagina (named destinations)", "ja" if same_pages else "[red]nee[/]", "", ""
    )
    table.add_row(
        "zelfde tekst (pdftotext)", {True: "ja", False: "[red]nee[/]", None: "niet gemeten"}[same_text], "", ""
    )
    return table


def _process_kind(process) -> str | None:
    """What a process below this one is, from its command line (None: gone)."""
    import psutil

    try:
        line = process.cmdline()
    except psutil.Error:
        return None
    kind = next((a.split("=", 1)[1] for a in line if a.startswith("--type=")), None)
    if line and "node" in Path(line[0]).name:
        return "Playwright"
    if kind is None:
        return "browser"
    if kind == "utility":
        return next((a.rsplit(".", 1)[-1] for a in line if a.startswith("--utility-sub-type=")), "utility")
    return {"zygote": "zygote (printcompositor)", "gpu-process": "gpu"}.get(kind, kind)


def _cpu_by_kind(browser) -> dict[str, float]:
    """CPU seconds so far of this process, Playwright's driver, and each kind of process of one ``browser``'s tree; a
    renderer's main thread apart from its other threads (V8's compilers and garbage collection helpers, raster,
    compositor). A process that ended counts in its parent's children_* times: the print compositor, started for
    every print, in the zygote's."""
    import psutil

    me = psutil.Process()
    found = {"Python": sum(me.cpu_times()[:2])}
    drivers = [p for p in me.children() if _process_kind(p) == "Playwright"]
    for process in [*drivers, browser, *browser.children(recursive=True)]:
        kind = _process_kind(process)
        try:
            times = process.cpu_times()
            threads = process.threads() if kind == "renderer" else []
        except psutil.Error:
            continue
        if kind is None:
            continue
        if kind == "renderer":
            main = sum(t.user_time + t.system_time for t in threads if t.id == process.pid)
            found["renderer: hoofdthread"] = found.get("renderer: hoofdthread", 0.0) + main
            found["renderer: andere threads"] = (
                found.get("renderer: andere threads", 0.0) + times.user + times.system - main
            )
            continue
        own = times.user + times.system + (0.0 if kind == "Playwright" else times.children_user + times.children_system)
        found[kind] = found.get(kind, 0.0) + own
    return found


_PROFILE_STEPS = (
    "tekenen",
    "meten",
    "printen (tags, outline)",
    "garbage collection",
    "ter vergelijking: printen zonder tags/outline",
)


def _pdf_profile(db: Path, period: int, ids: list[str], count: int, checkout: Path | None = None) -> list[Table]:
    """Where one report's PDF costs CPU, step by step, in each kind of process: ``count`` reports printed as
    ``PdfPrinter.print`` prints them (after two to warm up), each step its own call to the browser, followed by a
    pause in which the browser finishes what the step left (its CPU counts with the step): drawing (the document
    swapped in, the charts drawn), measuring the contents' page numbers, the print (tagged, with outline), the
    page's garbage collection (every ``collect_every`` reports; per report), and, for comparison only, the same
    document printed again without tags and outline (alternately before and after the real print). With
    ``checkout``, its printer too, in its own browser, alternating report by report; a printer without ``_draw``
    draws and measures in one step, and one that does not show its document for a print is not printed again."""
    import psutil

    from keurmerk import chromium
    from keurmerk.report import pdf as pdf_module

    pages = _report_pages(db, period, ids, count + 2)
    layout = {"format": "A4", "print_background": True, "prefer_css_page_size": True}
    settle = 0.15
    here = pdf_module.PdfPrinter()
    here.start()
    try:
        driver = next(p for p in psutil.Process().children() if _process_kind(p) == "Playwright")
        profiles = [("deze checkout", pdf_module, here, driver.children()[0])]
        if checkout is not None:
            other = _printer_of(checkout)
            there = other.PdfPrinter()
            there._playwright = here._playwright
            before = {p.pid for p in driver.children()}
            there._browser = here._playwright.chromium.launch(
                executable_path=chromium.executable(), args=getattr(other, "ARGS", chromium.ARGS)
            )
            browser = next(p for p in driver.children() if p.pid not in before)
            profiles.append((f"die van {checkout}", other, there, browser))
        spent = {label: {step: {} for step in _PROFILE_STEPS} for label, *_ in profiles}
        idle = {}
        for label, _, printer, browser in profiles:
            for html in pages[-2:]:
                printer.print(html)
            start = _cpu_by_kind(browser)
            time.sleep(1.0)
            idle[label] = sum(_cpu_by_kind(browser).values()) - sum(start.values())

        def one(label: str, module, printer, browser, html: str, index: int) -> None:
            def step(name: str, call):
                before = _cpu_by_kind(browser)
                result = call()
                time.sleep(settle)
                for kind, seconds in _cpu_by_kind(browser).items():
                    spent[label][name][kind] = spent[label][name].get(kind, 0.0) + seconds - before.get(kind, 0.0)
                return result

            page, split = printer._shell(), module._split(html)
            printer._printed += 1
            if hasattr(module, "_draw") and hasattr(module, "_measure_shown"):
                step("tekenen", lambda: page.evaluate(module._draw(), [*split, 120_000]))
                measured = step("meten", lambda: page.evaluate(module._measure_shown()))
            else:  # one call draws and measures
                measured = step("tekenen", lambda: page.evaluate(module._swap_and_measure(), [*split, 120_000]))
            prints = [("printen (tags, outline)", lambda: printer._print_pages(page, measured))]
            if hasattr(module, "_PRINT_EVENTS"):  # a print shows the document
                prints.append((_PROFILE_STEPS[4], lambda: page.pdf(**layout, outline=False, tagged=False)))
            for name, call in prints if index % 2 == 0 else prints[::-1]:
                step(name, call)
            if printer._printed % printer.collect_every == 0:
                step("garbage collection", lambda: printer._devtools.send("HeapProfiler.collectGarbage"))

        for index, html in enumerate(pages[:count]):
            for label, module, printer, browser in profiles if index % 2 == 0 else profiles[::-1]:
                one(label, module, printer, browser, html, index)
        if checkout is not None:
            there._drop_page()
            there._browser.close()
    finally:
        here.close()
    tables = []
    for label, *_ in profiles:
        by_step = spent[label]
        kinds = sorted({kind for seconds in by_step.values() for kind in seconds},
                       key=lambda kind: -sum(seconds.get(kind, 0.0) for seconds in by_step.values()))  # fmt: skip
        table = Table(title=f"PDF, {label}: CPU per rapport (ms) per stap en per proces, {count} rapporten ({settle} s "
                            f"pauze na elke stap, meegeteld; stil {number(1000 * idle[label], 0)} ms/s)")  # fmt: skip
        table.add_column("proces")
        for header in (*_PROFILE_STEPS[:4], "samen", _PROFILE_STEPS[4]):
            table.add_column(header, justify="right")
        totals = [0.0] * 6
        for kind in kinds:
            row = [by_step[name].get(kind, 0.0) for name in _PROFILE_STEPS[:4]]
            row += [sum(row), by_step[_PROFILE_STEPS[4]].get(kind, 0.0)]
            totals = [a + b for a, b in zip(totals, row, strict=True)]
            table.add_row(kind, *(number(1000 * x / count, 0) for x in row))
        table.add_section()
        table.add_row("[bold]samen[/]", *(f"[bold]{number(1000 * x / count, 0)}[/]" for x in totals))
        tables.append(table)
    return tables


def _pdf_summary(result: BatchResult) -> str:
    """Pages per PDF (range over all of them) and how often a report was printed more than once."""
    from keurmerk.report.pdf import page_count

    ok = result.written
    pages = [page_count(r.path.read_bytes()) for r in ok]
    passes = [r.timings.get("pdf_passes", 0) for r in ok]
    if not ok:
        return "Geen PDF's gemaakt."
    return (
        f"Pagina's per PDF: {min(pages)}–{max(pages)} (mediaan {number(statistics.median(pages), 0)}); "
        f"prints per rapport: gemiddeld {number(statistics.mean(passes), 2)}, "
        f"{integer(sum(p > 1 for p in passes))} van {integer(len(ok))} rapporten opnieuw geprint omdat een kop "
        "niet op de gemeten pagina viel"
    )


def _batch_summary(result: BatchResult, memory: dict[str, int], sample: bool) -> Table:
    """The PDF batch in one table: wall time, per PDF, peak RSS, workers, and the target for 500 PDFs."""
    ok = result.written
    per_pdf = result.seconds / max(1, len(ok))
    python = sum(sum(r.timings.get(s, 0.0) for s in STAGES if s != "pdf") for r in ok)
    chromium_cpu = sum(r.timings.get("pdf_cpu", 0.0) for r in ok)
    setup = max(result.setup.values(), default=0.0)
    idle = setup + (python + chromium_cpu) / result.workers
    table = Table(title="PDF-batch, samengevat" + (" (steekproef)" if sample else ""))
    for column in ("wat", "waarde"):
        table.add_column(column, justify="left" if column == "wat" else "right")
    table.add_row("PDF's gemaakt / mislukt", f"{integer(len(ok))} / {integer(len(result.failures))}")
    table.add_row("workers (elk één Chromium, hergebruikt)", integer(result.workers))
    table.add_row("wandtijd totaal (s), gemeten", number(result.seconds, 1))
    table.add_row("per PDF (ms), wandtijd / aantal", number(1000 * per_pdf, 0))
    table.add_row("wandtijd verwacht op vrije cores uit CPU (s)", number(idle, 1))
    table.add_row("piekgeheugen, alle processen samen: RSS (MB; gedeelde pagina's per proces geteld)",
                  number(memory["rss"] / 1e6, 0))  # fmt: skip
    table.add_row(
        "piekgeheugen, alle processen samen: PSS (MB; gedeelde pagina's verdeeld)", number(memory["pss"] / 1e6, 0)
    )
    for label, seconds in (("gemeten", per_pdf * 500), ("verwacht op vrije cores", idle / max(1, len(ok)) * 500)):
        verdict = "ja" if seconds <= 180 else "nee"
        table.add_row(f"500 PDF's ≤ 3 minuten? ({label}: per PDF × 500)", f"{verdict} ({number(seconds, 0)} s)")
    return table


def _alternatives(db: Path, period: int, provider_id: str) -> Table:
    """One provider: per-provider cube query vs chunk query; charts with and without keurmerk.charts.speed; SVG in
    Python vs the browser."""
    import vl_convert

    from keurmerk.metrics import Cube, CubeSource
    from keurmerk.policy import load_policy
    from keurmerk.report import chart_specs, report_data
    from keurmerk.report.loader import ProviderCubes, providers_in_period
    from keurmerk.warehouse import open_readonly

    table = Table(title=f"Alternatieven, gemeten op één aanbieder ({provider_id})")
    for column in ("wat", "tijd (ms)"):
        table.add_column(column, justify="left" if column == "wat" else "right")
    with open_readonly(db) as con:
        benchmark = Cube.load(con)
        ids = [p.provider_id for p in providers_in_period(con, period)]
        started = time.perf_counter()
        CubeSource.load(con, provider_id, benchmark=benchmark)
        table.add_row(
            "eigen cube per aanbieder (CubeSource.load, alle perioden)",
            number(1000 * (time.perf_counter() - started), 0),
        )
        chunk = ids[:16]
        started = time.perf_counter()
        cubes = ProviderCubes.load(con, period, chunk, benchmark)
        table.add_row(
            f"eigen cubes van {len(chunk)} aanbieders in één query, per aanbieder",
            number(1000 * (time.perf_counter() - started) / len(chunk), 0),
        )
        provider = next(p for p in providers_in_period(con, period) if p.provider_id == provider_id)
        if provider_id not in cubes:
            cubes = ProviderCubes.load(con, period, [provider_id], benchmark)
        data = report_data(cubes.source(provider_id), provider, period, load_policy())
    specs = chart_specs(data)
    # the same charts with and without keurmerk.charts.speed, alternating, best of 5 each (CPU time)
    from keurmerk.charts.speed import installed

    best = {True: float("inf"), False: float("inf")}
    for _ in range(5):
        for active in (True, False):
            with installed(active):
                started = time.process_time()
                chart_specs(data)
                best[active] = min(best[active], time.process_time() - started)
    table.add_row(
        f"{len(specs)} grafieken met Altairs eigen code (zonder keurmerk.charts.speed)", number(1000 * best[False], 0)
    )
    table.add_row(
        f"dezelfde met keurmerk.charts.speed (zoals de rapporten), ×{number(best[False] / best[True], 1)} sneller",
        number(1000 * best[True], 0),
    )
    vl_convert.vegalite_to_svg(next(iter(specs.values())))  # first call starts the engine
    started = time.perf_counter()
    for spec in specs.values():
        vl_convert.vegalite_to_svg(spec)
    svg = time.perf_counter() - started
    table.add_row(f"{len(specs)} grafieken als SVG in Python (vl_convert), per rapport", number(1000 * svg, 0))
    table.add_row("dezelfde grafieken: Vega-runtime inline, getekend in de browser van de lezer", "0")
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="national")
    parser.add_argument("--period", type=int, default=None, help="standaard: de periode met de meeste aanbieders")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--pdf-sample", type=int, default=0, help="0: alle aanbieders (standaard)")
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--pdf-compare", type=int, default=12, help="rapporten om en om met --compare-with (0: niet)")
    parser.add_argument(
        "--compare-with", type=Path, default=None, help="een andere checkout (bijvoorbeeld van main): zijn PDF-printer"
    )
    parser.add_argument("--keep", type=Path, default=None, help="schrijf de rapporten hierheen (anders tijdelijk)")
    parser.add_argument(
        "--pdf-profile", type=int, default=0, help="alleen: waar de CPU van N PDF's heen gaat, per stap en proces"
    )
    args = parser.parse_args()

    db = warehouse(args.scale)
    from keurmerk.warehouse import open_readonly

    with open_readonly(db) as con:
        per_period = con.execute(
            "SELECT period, count(DISTINCT provider_id) FROM invitations GROUP BY period ORDER BY 2 DESC, 1 DESC"
        ).fetchall()
        load = os.getloadavg()[0]
    period = args.period or per_period[0][0]
    providers = dict(per_period)[period]
    console.print(
        f"Schaal {args.scale}, periode {period}: {integer(providers)} aanbieders; {args.workers} workers; "
        f"{os.cpu_count()} cores; belasting vooraf {number(load, 1)}"
    )
    if args.pdf_profile:
        from keurmerk.report.loader import providers_in_period

        with open_readonly(db) as con:
            ids = [p.provider_id for p in providers_in_period(con, period)]
        for table in _pdf_profile(db, period, ids, args.pdf_profile, args.compare_with):
            console.print(table)
        return
    with tempfile.TemporaryDirectory(dir=VAR) as tmp:
        out = args.keep or Path(tmp)
        html, _ = _run(db, period, out / "html", "html", args.workers, label="HTML")
        console.print(_stage_table(html, f"HTML voor alle {integer(providers)} aanbieders (doel ≤ 60 s op 2 cores)"))
        console.print(_kind_table(html))
        for failure in html.failures[:10]:
            console.print(f"[red]mislukt[/] {failure.provider_id}: {failure.error}")
        if not args.no_pdf:
            ids = [r.provider_id for r in html.written]
            sample = ids[:: max(1, len(ids) // args.pdf_sample)][: args.pdf_sample] if args.pdf_sample else ids
            pdf, memory = _run(db, period, out / "pdf", "pdf", args.workers, providers=sample, label="PDF")
            title = (
                f"PDF voor alle {integer(len(sample))} aanbieders (doel ≤ 3 minuten voor 500 op 2 cores)"
                if not args.pdf_sample
                else f"PDF voor {integer(len(sample))} aanbieders (steekproef)"
            )
            console.print(_stage_table(pdf, title, extrapolate_to=providers if args.pdf_sample else None))
            console.print(_pdf_summary(pdf))
            console.print(_batch_summary(pdf, memory, bool(args.pdf_sample)))
            for failure in pdf.failures[:10]:
                console.print(f"[red]mislukt[/] {failure.provider_id}: {failure.error}")
        if args.pdf_compare and args.compare_with:
            ids = [r.provider_id for r in html.written]
            console.print(_pdf_compared(db, period, ids, args.pdf_compare, args.compare_with))
        console.print(_alternatives(db, period, html.written[len(html.written) // 2].provider_id))
    console.print(f"Belasting van de machine na afloop: {number(os.getloadavg()[0], 1)} (andere processen tellen mee)")


if __name__ == "__main__":
    main()
