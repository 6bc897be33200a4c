"""The provider dashboard in Chromium, served as ``keurmerk serve`` serves it: first render, filter change, bytes,
kernel memory and concurrent sessions.

    .venv/bin/python bench/dashboard.py [--scale demo|national] [--repeat 3] [--changes 3] [--sessions 20] [--pool 4]
                                        [--skip-cold | --pre-heated-only]
                                        [--voila-arg=--VoilaExecutor.iopub_timeout=60 ...]

Set-up, cached under var/bench-dashboard/<scale>/: the scale generated (``files/``) and ingested (the benchmark
cube stored with it, as every publication does) into ``warehouse.duckdb``. Voilà is started with
``keurmerk.serve.voila_command`` + ``running`` on a dashboards directory holding only ``aanbieder.ipynb`` (so only
that notebook has a pool of pre-heated kernels), with ``cull_idle_timeout=--cull`` and any ``--voila-arg`` appended
(to try a setting before it goes into ``voila_command``). Links are signed with ``$KEURMERK_SECRET`` (set here for
the server and the links when it is not set). Voilà's logs of the last run stay in var/bench-dashboard/<scale>/.

Then, in one run, one Chromium (Playwright; every page in a fresh browser context, so with an empty cache):

1. cold: Voilà with ``--preheat_kernel=False --pool_size=0`` (``voila_command`` cannot switch pre-heating off, so
   those flags are replaced in its command line): the kernel starts when the page is requested;
1b. the floor: the same Voilà command on a notebook that only shows one widget (``.km-dashboard``), pre-heated:
   what Voilà and its front end cost before our dashboard does anything;
2. pre-heated: ``--pool_size=N`` (``voila_command`` as is); each page is opened once the pool is full and its
   kernels idle (their notebook waits in ``query_params()``). Voilà refills the pool ``fill_delay`` (5 s in
   ``voila_command``) after a request, as in production. Also timed: page fully streamed (the notebook ran), the
   dashboard in the page, the first chart drawn, the first screen complete (drawn: the snapshot the page
   streams, ``keurmerk.dashboard.first_screen``, or the live widgets, whichever is first) and the first screen
   live (the widgets' own charts in view drawn: interactive);
3. on each pre-heated page: the Cliënten tab clicked, timed in the page from the pointer pressed on the tab until
   its charts in view are drawn and until all its charts are drawn (chapters are built in the background once
   the first screen is drawn, or when their tab is opened); then ``--changes`` filter changes (one dienst in
   ``.km-filter-services select``), timed in the browser from the ``change`` event until the status line
   (``[data-km=status]``) and the fig 3.1 chart and every chart inside the viewport have been redrawn (a choice
   is not debounced), and how the charts were redrawn (a new embed, or new data in the view that was there);
4. per page: HTTP bytes over the wire (CDP ``Network.loadingFinished`` encodedDataLength, headers included), the
   same as a gzip-ing proxy would send them (estimate: every body gzip -6), WebSocket bytes received (widget
   state), the number of HTTP requests, and every URL not aimed at 127.0.0.1 (all pages);
5. kernel memory: RSS (psutil, /proc) of the page's kernel after render and after the filter changes, of the
   kernel of a cold render, and of the pool's kernels waiting for a visitor; CPU seconds one visit costs (a
   pool kernel's preparation, the page's kernel opening the link, Voilà, Chromium), and from them a lower bound
   for the concurrent sessions on this machine's cores;
6. ``--sessions`` pages for as many different providers opened at once, each in its own browser context: how
   many complete (a page that finishes streaming without the dashboard's output fails at once), first render
   p50/p95 from the moment its navigation is issued, peak total RSS of the kernels (sampled every 0,5 s) and the
   largest one; then the pages are closed (``beforeunload`` runs: Voilà's shutdown beacon), the kernels still
   running are counted once only the pool is left or after 20 s, and once Voilà is stopped (``running``), that
   no kernel process of the run is left. ``--cull`` (default 600 s, as ``keurmerk serve``) must stay longer
   than a page takes to load: Voilà culls a kernel whose page has not connected yet.

First render = navigation issued → every chart of the page's first tab (Samenvatting) drawn by the live widgets
(``.km-figure .keurmerk-chart svg``, as the browser tests wait for it), recorded in the page by a
MutationObserver (which also watches the snapshot's shadow root, handed over by ``static/first_screen.js``). Charts
outside the viewport draw when the page is idle (``chart_widget.js``), so the table also gives the first screen:
every figure inside the 1250×1400 viewport drawn. Prints one table with the targets of
DESIGN §6 (≤ 2 s first render with pre-started kernels, ≤ 400 MB per kernel) and saves a screenshot of the first
pre-heated page to artifacts/bench_dashboard.png. Timings on a shared 2-core machine are noisy: the load average
is printed under the table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import gzip
import os
import re
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil
from rich.console import Console
from rich.table import Table

from keurmerk.access import link_url, make_token
from keurmerk.catalog import catalog
from keurmerk.chromium import ARGS as CHROMIUM_ARGS
from keurmerk.chromium import DEBIAN_CHROMIUM
from keurmerk.dashboard.first_screen import KeptScreens
from keurmerk.dashboard.provider import FIRST_SCREEN
from keurmerk.formatting import integer, number
from keurmerk.metrics import registry
from keurmerk.serve import VoilaLaunch, descendants, kernel_pids, running, voila_command

REPO = Path(__file__).resolve().parents[1]
VAR = REPO / "var" / "bench-dashboard"
NOTEBOOK = REPO / "dashboards" / "aanbieder.ipynb"
SCREENSHOT = REPO / "artifacts" / "bench_dashboard.png"
CHROMIUM = str(DEBIAN_CHROMIUM)
VIEWPORT = {"width": 1250, "height": 1400}
DEFAULT_SECRET = "bench-dashboard-secret"
CLOSE_WAIT_S = 20  # how long closed pages' kernels get to go away before they are counted
PROVIDER = "P0000"  # Partner in Werk: exists at every scale
CHAPTER = "clienten"  # the chapter opened by its tab after the first render (holds fig 3.1, the filter check)
TARGET_RENDER_S = 2.0
TARGET_KERNEL_MB = 400.0
KERNEL_ID = re.compile(r"kernel-([0-9a-f-]{36})\.json")
CPU_PARTS = {  # CPU seconds one visit costs, by process
    "cold": "kernel, koud (starten, voorbereiden, openen)",
    "prepare": "kernel voorbereiden in de pool (import, kubus, warm_up)",
    "open": "kernel openen voor de bezoeker (link, eigen kubus, refresh)",
    "voila": "Voilà-server en forkserver (pagina, statische bestanden, berichten, fork)",
    "chromium": "Chromium (scripts, widgets, Vega)",
    "floor": "Voilà-vloer: pagina met één widget (kernel heel, Voilà-server en forkserver)",
}
MILESTONES = {  # on the way to the first render: what the page clock records
    "loaded": "pagina volledig ontvangen (notebook gedraaid)",
    "dashboard": "dashboard in de pagina",
    "first": "eerste grafiek getekend",
    "screen": "eerste scherm compleet (elke grafiek in beeld getekend)",
    "live": "eerste scherm live (widgets, elke grafiek in beeld getekend: interactief)",
}
SCREEN_ORIGINS = {  # where a visit's first screen came from (keurmerk.dashboard.first_screen)
    "made": "gemaakt door de kernel van de pagina (eerste bezoek na publicatie)",
    "kept": "bewaard van het bezoek ervoor (zelfde aanbieder en selectie)",
}
TARGET_FIRST_SCREEN_S = 1.0  # issue 15
# The floor: what Voilà itself costs with our template and a pre-heated kernel, for a page with one widget.
# Voilà's own wait for the request (what keurmerk.serve.query_params calls), without importing keurmerk (and polars).
FLOOR_CELLS = (
    "import ipywidgets as widgets\nfrom IPython.display import display\nfrom voila.utils import get_query_string",
    "get_query_string()\ndisplay(widgets.HTML('<div class=\"km-dashboard\">Voilà-vloer</div>'))",
)
SETTINGS = ("--pool_size", "--preheat", "--MappingKernelManager.cull", "--VoilaExecutor.", "--VoilaKernelManager.")
TARGET_CHANGE_MS = 250  # DESIGN §6: a filter change seen in the browser, median
WS_KERNEL_ID = re.compile(r"/api/kernels/([0-9a-f-]{36})/channels")

# Installed before any page script: records when all charts are drawn, and (once armed) when the status line
# and the fig 3.1 chart change after a filter change. Times are epoch milliseconds (timeOrigin + now).
PAGE_CLOCK = """
(() => {
  const expected = %d;
  const now = () => performance.timeOrigin + performance.now();
  const statusText = () => { const el = document.querySelector('[data-km=status]'); return el ? el.textContent : null; };
  const figText = () => [...document.querySelectorAll('.km-fig_3_1 .keurmerk-chart svg text')]
    .map(t => t.textContent).join('|');
  const km = window.__km = { loaded: null, dashboard: null, first: null, screen: null, live: null, drawn: null,
                             watch: null };
  // the first screen is complete when every chart box inside the viewport holds its drawing: the live widgets'
  // (document) or the snapshot's drawn before them (a closed shadow root: static/first_screen.js hands it over)
  const snapshot = () => window.__kmFirstScreen && window.__kmFirstScreen.root;
  const screenDone = (root) => {
    const inView = [...root.querySelectorAll('.km-figure')].filter((el) => {
      const r = el.getBoundingClientRect();  // the figure's box: its caption has a height before the chart does
      return r.bottom > 0 && r.top < innerHeight && r.height > 0 && el.querySelector('.keurmerk-chart');
    });
    return inView.length > 0 && inView.every((el) => el.querySelector('.keurmerk-chart svg'));
  };
  document.addEventListener('readystatechange', () => {
    if (document.readyState === 'complete') km.loaded = now();  // the whole page streamed: the notebook ran
  });
  km.arm = () => {
    const w = km.watch = { t0: null, status: statusText(), fig: figText(), statusAt: null, figAt: null, text: null,
                           viewAt: null, lastAt: null, embeds: 0, updates: 0 };
    document.querySelector('.km-filter-services')
      .addEventListener('change', () => { w.t0 = now(); }, { once: true, capture: true });
  };
  // every chart redrawn after the change: when the last one inside the viewport was, and how (embed or data)
  document.addEventListener('keurmerk-chart-rendered', (event) => {
    const w = km.watch;
    if (!w || w.t0 === null) return;
    const r = event.target.getBoundingClientRect();
    w.lastAt = now();
    if (r.bottom > 0 && r.top < innerHeight && r.height > 0) w.viewAt = w.lastAt;
    if (event.detail && event.detail.how === 'data') w.updates += 1; else w.embeds += 1;
  });
  const check = () => {
    if (km.drawn === null) {
      if (km.dashboard === null && document.querySelector('.km-dashboard')) km.dashboard = now();
      const charts = document.querySelectorAll('.km-figure .keurmerk-chart svg').length;
      const shot = snapshot();
      if (km.first === null && (charts > 0 || (shot && shot.querySelector('.km-figure .keurmerk-chart svg')))) {
        km.first = now();
      }
      const live = km.first !== null && screenDone(document);
      if (km.screen === null && km.first !== null && (live || (shot && screenDone(shot)))) km.screen = now();
      if (km.live === null && live) km.live = now();
      if (charts >= expected) km.drawn = now();
    }
    const w = km.watch;
    if (w && w.t0 !== null) {
      const s = statusText();
      if (w.statusAt === null && s !== null && s !== w.status) { w.statusAt = now(); w.text = s; }
      const f = figText();
      if (w.figAt === null && f && f !== w.fig) w.figAt = now();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true, characterData: true });
  document.addEventListener('keurmerk-first-screen', () => {
    observer.observe(snapshot(), { childList: true, subtree: true, characterData: true });
  });
})();
"""


# --- set-up -----------------------------------------------------------------------------------------------------


def warehouse(scale: str) -> Path:
    """var/bench-dashboard/<scale>/warehouse.duckdb, generated and ingested once (cached)."""
    from keurmerk.synth import cached_warehouse

    return cached_warehouse(scale, VAR / scale / "files", VAR / scale / "warehouse.duckdb", echo=print)


@dataclass(frozen=True)
class Provider:
    id: str
    charts: int  # chart widgets of the first tab: what the page draws before anyone opens another chapter
    services: int
    chapter_charts: int  # chart widgets of the chapter CHAPTER (opened by a click, timed)


def providers(db: Path, count: int) -> list[Provider]:
    """``PROVIDER`` first, then the next providers by id with invitations, ``count`` in all."""
    from keurmerk.dashboard.provider import FilterOptions
    from keurmerk.warehouse import open_readonly

    con = open_readonly(db)
    try:
        ids = [
            pid
            for (pid,) in con.execute(
                "SELECT DISTINCT provider_id FROM invitations ORDER BY provider_id = $p DESC, provider_id",
                {"p": PROVIDER},
            ).fetchall()
        ][:count]
        found = []
        def charts(sections: tuple[str, ...]) -> int:
            return len([m for m in registry() if m.chart != "keurmerk_table" and m.figure.section in sections])

        for pid in ids:
            options = FilterOptions.for_provider(con, pid)
            found.append(Provider(pid, charts(FIRST_SCREEN), len(options.services), charts((CHAPTER,))))
        return found
    finally:
        con.close()


def forget_first_screens(db: Path) -> None:
    """Remove the first screens kept beside ``db`` by earlier visits (KeptScreens): the next one makes its own."""
    shutil.rmtree(KeptScreens.root_beside(db), ignore_errors=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def without_preheat(launch: VoilaLaunch) -> VoilaLaunch:
    """The same command line with pre-heating off (``voila_command`` always turns it on)."""
    argv = list(launch.argv)
    flags = [i for i, arg in enumerate(argv) if arg.startswith(("--preheat_kernel=", "--pool_size="))]
    if len(flags) != 2:
        raise SystemExit(f"voila_command: --preheat_kernel/--pool_size niet gevonden in {argv}")
    for i in flags:
        argv[i] = "--preheat_kernel=False" if argv[i].startswith("--preheat") else "--pool_size=0"
    return dataclasses.replace(launch, argv=tuple(argv))


# --- kernels (/proc via psutil) ---------------------------------------------------------------------------------


SEEN_KERNELS: set[int] = set()  # every kernel pid met, to check at the end that none outlives its Voilà


def kernels(voila: psutil.Process) -> dict[str, psutil.Process]:
    """Voilà's kernel processes by kernel id (from the connection file on their command line)."""
    found = {}
    for pid in kernel_pids(voila.pid):  # forked kernels (keurmerk.kernel_fork) are the fork server's children
        try:
            child = psutil.Process(pid)
            match = KERNEL_ID.search(" ".join(child.cmdline()))
        except psutil.Error:
            continue
        if match:
            found[match.group(1)] = child
    SEEN_KERNELS.update(k.pid for k in found.values())
    return found


def rss_mb(process: psutil.Process) -> float:
    try:
        return process.memory_info().rss / 1e6
    except psutil.Error:
        return 0.0


def uss_mb(process: psutil.Process) -> float:
    """Memory only this process holds (no shared library pages): what one more kernel really costs."""
    try:
        return process.memory_full_info().uss / 1e6
    except psutil.Error:
        return 0.0


def cpu_s(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def server_cpu_s(voila: psutil.Process) -> float:
    """CPU seconds of Voilà and of the fork server (keurmerk.kernel_fork) under it: the server side of a visit
    that is not its kernel's."""
    kernel_set = set(kernel_pids(voila.pid))
    total = cpu_s(voila)
    for pid in descendants(voila.pid):
        if pid not in kernel_set:
            with contextlib.suppress(psutil.Error):
                total += cpu_s(psutil.Process(pid))
    return total


def chromium_cpu_s() -> float:
    """CPU seconds used so far by the Chromium processes this script started (through Playwright's driver)."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.name().startswith(("chromium", "chrome", "headless_shell")):
                total += cpu_s(child)
    return total


async def wait_for_pool(
    voila: psutil.Process, size: int, log: Path, timeout: float, served: set[str], min_cpu_s: float = 0.3
) -> list[psutil.Process]:
    """Wait until Voilà logged a full pool and ``size`` kernels that served no page yet have started and gone
    idle (their notebook waits in ``query_params()``): none used more than 3 % CPU over the last second and
    each used at least ``min_cpu_s`` (its preparation ran). Kernels of closed pages are left out: they live on until culled."""
    deadline = time.monotonic() + timeout
    before: dict[int, float] = {}
    while time.monotonic() < deadline:
        pool = [k for kid, k in kernels(voila).items() if kid not in served]
        now = {k.pid: cpu_s(k) for k in pool}
        filled = "Kernel pool of" in log.read_text(errors="replace")
        idle = all(pid in before and now[pid] - before[pid] < 0.03 and now[pid] >= min_cpu_s for pid in now)
        if filled and len(pool) >= size and idle:
            return pool
        before = now
        await asyncio.sleep(1.0)
    raise TimeoutError(f"kernelpool niet gevuld na {timeout:.0f} s (zie {log})")


async def wait_for_kernels(voila: psutil.Process, at_most: int, timeout: float) -> int:
    """Wait until at most ``at_most`` kernels run; return how many run then."""
    deadline = time.monotonic() + timeout
    while (count := len(kernels(voila))) > at_most and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
    return count


class MemorySampler:
    """Total and largest RSS of Voilà's kernels (less ``exclude``), sampled every 0,5 s in a thread."""

    def __init__(self, voila: psutil.Process, exclude: set[str]) -> None:
        self.voila, self.exclude = voila, set(exclude)
        self.peak_total = self.peak_single = 0.0
        self.peak_count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            found = kernels(self.voila)
            sizes = [rss_mb(k) for kid, k in found.items() if kid not in self.exclude]
            self.peak_total = max(self.peak_total, sum(sizes))
            self.peak_single = max([self.peak_single, *sizes])
            self.peak_count = max(self.peak_count, len(sizes))
            self._stop.wait(0.5)

    @contextmanager
    def sampling(self) -> Iterator[MemorySampler]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


# --- pages ------------------------------------------------------------------------------------------------------


def is_local(url: str) -> bool:
    if url.startswith(("data:", "about:")):
        return True
    if url.startswith("blob:"):
        url = url[len("blob:") :]
    return urlsplit(url).hostname == "127.0.0.1"


# What a page came to: all charts drawn, a refusal, or a finished page without the dashboard's output (Voilà
# streams the page while the notebook runs; a cell whose output arrives after nbclient's iopub_timeout stays
# empty).
PAGE_STATE = """() => {
  if (window.__km && window.__km.drawn !== null) return 'drawn';
  if (document.querySelector('[data-km=refusal]')) return 'refused';
  if (document.readyState === 'complete' && !document.querySelector('.jp-OutputArea-child')) return 'empty';
  return false;
}"""


@dataclass
class Visit:
    provider: Provider
    issued: float = 0.0  # epoch ms when the navigation was issued
    render_ms: float | None = None
    milestones_ms: dict[str, float] = field(default_factory=dict)  # loaded, dashboard, first (from issued)
    kernel_id: str | None = None
    urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    http_bytes: int = 0
    http_gzip_bytes: int = 0  # estimate: every response gzip -6 compressed, as a proxy could send it
    ws_bytes: int = 0
    requests: int = 0
    failure: str | None = None

    def external(self) -> list[str]:
        return [url for url in self.urls if not is_local(url)]


def _gzipped(body: bytes) -> int:
    return min(len(body), len(gzip.compress(body, compresslevel=6)))


class Browser:
    """One Chromium; each visit in a fresh context (empty cache), optionally with CDP byte counting."""

    def __init__(self, chromium) -> None:
        self.chromium = chromium

    async def open(self, url: str, provider: Provider, timeout_s: float, *, count_bytes: bool = False):
        context = await self.chromium.new_context(viewport=VIEWPORT, locale="nl-NL")
        page = await context.new_page()
        visit = Visit(provider)
        page.on("request", lambda request: visit.urls.append(request.url))
        page.on("pageerror", lambda error: visit.errors.append(str(error)))

        def websocket(ws) -> None:
            visit.urls.append(ws.url)
            if match := WS_KERNEL_ID.search(ws.url):
                visit.kernel_id = match.group(1)

        page.on("websocket", websocket)
        received: dict[str, int] = {}
        if count_bytes:
            cdp = await context.new_cdp_session(page)

            def sent(event: dict) -> None:
                if event["request"]["url"].startswith("http"):
                    visit.requests += 1

            def finished(event: dict) -> None:
                received[event["requestId"]] = int(event.get("encodedDataLength", 0))

            def frame(event: dict) -> None:
                # binary frames (Jupyter's v1 protocol) arrive base64-encoded: count their decoded size
                data = event["response"]["payloadData"]
                visit.ws_bytes += len(data) * 3 // 4 if event["response"]["opcode"] == 2 else len(data.encode())

            cdp.on("Network.requestWillBeSent", sent)
            cdp.on("Network.loadingFinished", finished)
            cdp.on("Network.webSocketFrameReceived", frame)
            await cdp.send("Network.enable")
        await page.add_init_script(PAGE_CLOCK % provider.charts)
        try:
            visit.issued = time.time() * 1000
            await page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
            state = await (await page.wait_for_function(PAGE_STATE, timeout=timeout_s * 1000)).json_value()
            if state != "drawn":
                visit.failure = {"empty": "pagina zonder dashboard", "refused": "link geweigerd"}[state]
                return context, page, visit
            clock = await page.evaluate("window.__km")
            visit.render_ms = clock["drawn"] - visit.issued
            visit.milestones_ms = {k: clock[k] - visit.issued for k in MILESTONES if clock.get(k) is not None}
            if count_bytes:
                await page.wait_for_timeout(1000)  # trailing requests and widget messages
                # a copy: CDP events (a late script, a revalidation) may still arrive while the bodies are read
                arrived = dict(received)
                visit.http_bytes = sum(arrived.values())
                for request_id, size in arrived.items():
                    try:
                        body = await cdp.send("Network.getResponseBody", {"requestId": request_id})
                    except Exception:  # no body (redirect, 204): count as is
                        visit.http_gzip_bytes += size
                        continue
                    raw = base64.b64decode(body["body"]) if body["base64Encoded"] else body["body"].encode()
                    visit.http_gzip_bytes += max(size - len(raw), 0) + _gzipped(raw)
        except Exception as exc:  # a session that does not complete is counted, not fatal
            visit.failure = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        return context, page, visit

    @staticmethod
    async def close(context, page) -> None:
        """Close like a visitor closing the tab: ``beforeunload`` runs (Voilà's shutdown beacon)."""
        try:
            await page.close(run_before_unload=True)
            await asyncio.sleep(0.5)  # let the beacon leave before the context goes
        finally:
            await context.close()


CHAPTER_SCREEN = """key => {
  const inView = [...document.querySelectorAll(`.km-section-${key} .km-figure`)].filter((el) => {
    const r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight && r.height > 0 && el.querySelector('.keurmerk-chart');
  });
  return inView.length > 0 && inView.every((el) => el.querySelector('.keurmerk-chart svg'));
}"""


CHAPTER_CLOCK = """([key, n]) => {
  // from the pointer pressed on the chapter's tab (the tab bar switches on pointerdown) to its charts in view
  // drawn, and to all its charts drawn, checked at every frame: times in the page, as the filter change's
  const clock = window.__kmChapter = { t0: null, screen: null, all: null };
  const isScreen = IS_SCREEN;
  const all = () => {
    const section = document.querySelector(`.km-section-${key}`);
    const charts = section ? [...section.querySelectorAll('.km-figure .keurmerk-chart')] : [];
    // every figure there and every chart among them drawn (a figure without numbers may hold no chart)
    return section.querySelectorAll('.km-figure').length >= n && charts.length > 0
      && charts.every((el) => el.querySelector('svg'));
  };
  const tick = () => {
    const t = performance.now();
    if (clock.screen === null && isScreen(key)) clock.screen = t - clock.t0;
    if (clock.all === null && all()) clock.all = t - clock.t0;
    if (clock.screen === null || clock.all === null) requestAnimationFrame(tick);
  };
  document.querySelector('.km-tabs .lm-TabBar').addEventListener('pointerdown', () => {
    clock.t0 = performance.now();
    requestAnimationFrame(tick);
  }, { once: true, capture: true });
}""".replace("IS_SCREEN", CHAPTER_SCREEN)


async def open_chapter(page, provider: Provider, timeout_s: float) -> tuple[float, float]:
    """Click the tab of ``CHAPTER``; return the ms until its charts in view are drawn, and until all are, timed in
    the page from the pointer pressed on the tab (``CHAPTER_CLOCK``)."""
    await page.evaluate(CHAPTER_CLOCK, [CHAPTER, provider.chapter_charts])
    await page.locator(".km-tabs .lm-TabBar-tab", has_text=catalog().sections[CHAPTER]).click()
    clock = await (await page.wait_for_function(
        "window.__kmChapter.all !== null && window.__kmChapter", timeout=timeout_s * 1000)).json_value()
    return clock["screen"], clock["all"]


async def filter_change(page, option: str, timeout_s: float) -> tuple[float, dict]:
    """Tick or untick one dienst, return (browser ms until the status line, fig 3.1 and every chart in
    view redrawn, {"embeds": n, "updates": n} of the charts redrawn)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    await page.evaluate("window.__km.arm()")
    picker = page.locator(".km-filter-services")
    if not await picker.locator("details").evaluate("d => d.open"):
        await picker.locator("summary").click()
    await picker.locator("label", has_text=option).click()  # one checkbox: a discrete change
    await page.wait_for_function("window.__km.watch.statusAt !== null", timeout=timeout_s * 1000)
    # the chart's text changes after the status line, when its svg is redrawn; it may not change at all
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_function("window.__km.watch.figAt !== null", timeout=5000)
    # the redraws are over once no chart has been drawn for a second (charts outside the view draw when idle)
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_function(
            "(() => { const w = window.__km.watch, t = performance.timeOrigin + performance.now();"
            " return t - Math.max(w.lastAt || 0, w.statusAt) > 1000; })()",
            timeout=15000,
        )
    watch = await page.evaluate("window.__km.watch")
    done = max(watch["statusAt"], watch["figAt"] or 0, watch["viewAt"] or 0)
    how = {"embeds": watch.get("embeds", 0), "updates": watch.get("updates", 0)}
    return done - watch["t0"], how


# --- the run ----------------------------------------------------------------------------------------------------


@dataclass
class Results:
    cold_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)  # Voilà's floor: a page with one widget, pre-heated
    warm_ms: list[float] = field(default_factory=list)
    warm_milestones: dict[str, list[float]] = field(default_factory=dict)
    # the first screen complete, by where it came from: made by the page's kernel, or kept from the visit before
    screen_by_origin: dict[str, list[float]] = field(default_factory=dict)
    chapter_screen_ms: list[float] = field(default_factory=list)  # a chapter's tab clicked → its charts in view
    chapter_ms: list[float] = field(default_factory=list)  # a chapter's tab clicked → all its charts drawn
    change_ms: list[float] = field(default_factory=list)
    change_redraws: dict[str, int] = field(default_factory=dict)  # charts redrawn after the changes: embeds/updates
    http_kb: list[float] = field(default_factory=list)
    http_gzip_kb: list[float] = field(default_factory=list)
    ws_kb: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    kernel_mb: list[float] = field(default_factory=list)  # the page's kernel right after render
    kernel_filtered_mb: list[float] = field(default_factory=list)  # the same after the filter changes
    kernel_uss_mb: list[float] = field(default_factory=list)  # unique memory of the page's kernel after the changes
    cold_kernel_mb: list[float] = field(default_factory=list)
    pool_kernel_mb: list[float] = field(default_factory=list)  # pre-heated kernels waiting in the pool
    cpu: dict[str, list[float]] = field(default_factory=dict)  # CPU seconds per page, by process (CPU_PARTS)
    open_cpu_by_origin: dict[str, list[float]] = field(default_factory=dict)  # cpu["open"] by SCREEN_ORIGINS
    sessions: int = 0
    sessions_s: float = 0.0
    sessions_done: list[float] = field(default_factory=list)
    sessions_failed: list[str] = field(default_factory=list)
    peak_total_mb: float = 0.0
    peak_single_mb: float = 0.0
    peak_kernels: int = 0
    kernels_after: int = 0
    kernels_after_s: float = 0.0
    kernels_left: int = 0  # kernel processes still alive after Voilà was stopped
    beacons_refused: int = 0
    kernel_restarts: int = 0
    iopub_timeouts: int = 0
    load: list[tuple[str, tuple[float, float, float]]] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)  # the pool server's Voilà arguments that bear on timings


def record(visit: Visit, results: Results) -> None:
    results.external += visit.external()
    results.page_errors += visit.errors


def read_log(log: Path, results: Results) -> None:
    text = log.read_text(errors="replace")
    results.beacons_refused += len(re.findall(r"403 POST /voila/api/shutdown/\S+ \(127\.0\.0\.1\) [\d.]+ms", text))
    results.iopub_timeouts += text.count("Timeout waiting for IOPub output")
    results.kernel_restarts += text.count("restarting kernel")


async def run(args: argparse.Namespace, db: Path, everyone: list[Provider], work: Path) -> Results:
    from playwright.async_api import async_playwright

    results = Results()
    main = everyone[0]
    secret = os.environ["KEURMERK_SECRET"].encode()

    def url(launch: VoilaLaunch, provider: Provider) -> str:
        return link_url(launch.url, "aanbieder", make_token(provider.id, secret=secret))

    def command(pool_size: int) -> VoilaLaunch:
        launch = voila_command(
            db,
            free_port(),
            dashboards_dir=dashboards,
            pool_size=pool_size,
            cull_idle_timeout=args.cull,
            environ=os.environ,
        )
        return dataclasses.replace(launch, argv=launch.argv + tuple(args.voila_arg))

    dashboards = work / "dashboards"
    dashboards.mkdir()
    shutil.copy(NOTEBOOK, dashboards / NOTEBOOK.name)
    timeout = args.timeout
    async with async_playwright() as playwright:
        browser = Browser(await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS))
        results.load.append(("start", os.getloadavg()))

        # 1. cold: no pre-heated kernels; the kernel starts with the request
        if not (args.pre_heated_only or args.skip_cold):
            cold = without_preheat(command(1))
            log = work / "voila-cold.log"
            with log.open("w") as out, running(cold, log=out, timeout=120) as process:
                voila = psutil.Process(process.pid)
                for i in range(0 if args.pre_heated_only else args.repeat):
                    forget_first_screens(db)  # cold: nothing of a visit before
                    context, page, visit = await browser.open(url(cold, main), main, timeout)
                    if visit.failure:
                        raise SystemExit(f"koude weergave mislukt: {visit.failure} (zie {log})")
                    results.cold_ms.append(visit.render_ms)
                    if (kernel := kernels(voila).get(visit.kernel_id)) is not None:
                        results.cold_kernel_mb.append(rss_mb(kernel))
                        results.cpu.setdefault("cold", []).append(cpu_s(kernel))
                    record(visit, results)
                    await browser.close(context, page)
                    print(f"koud {i + 1}/{args.repeat}: {integer(round(visit.render_ms))} ms", flush=True)
            read_log(log, results)

        # 1b. the floor: Voilà with our template and a pre-heated kernel, a page that shows one widget
        import nbformat

        floor_dir = work / "floor"
        floor_dir.mkdir()
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in FLOOR_CELLS])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, floor_dir / "vloer.ipynb")
        floor = voila_command(db, free_port(), dashboards_dir=floor_dir, pool_size=1, environ=os.environ)
        floor = dataclasses.replace(floor, argv=floor.argv + tuple(args.voila_arg))
        log = work / "voila-floor.log"
        with log.open("w") as out, running(floor, log=out, timeout=120) as process:
            voila = psutil.Process(process.pid)
            served_floor: set[str] = set()
            for i in range(0 if args.pre_heated_only else args.repeat):
                pool = await wait_for_pool(voila, 1, log, timeout, served_floor, min_cpu_s=0.03)  # it prepares nothing
                before = {k.pid: cpu_s(k) for k in pool} | {"voila": server_cpu_s(voila)}
                context = await browser.chromium.new_context(viewport=VIEWPORT, locale="nl-NL")
                page = await context.new_page()
                issued = time.time()
                await page.goto(f"{floor.url}voila/render/vloer.ipynb", wait_until="commit", timeout=timeout * 1000)
                await page.wait_for_selector(".km-dashboard", timeout=timeout * 1000)
                results.floor_ms.append((time.time() - issued) * 1000)
                await page.wait_for_timeout(1000)  # the page's trailing requests and widget messages
                # the whole kernel (started and readied in the pool, then the visit) and Voilà's part of the visit
                kernel = next((k for k in kernels(voila).values() if k.pid in before), None)
                if kernel is not None:
                    results.cpu.setdefault("floor", []).append(
                        cpu_s(kernel) + server_cpu_s(voila) - before["voila"])
                served_floor.update(kernels(voila))  # before the refill starts (fill_delay after the request)
                await context.close()
                print(f"vloer {i + 1}/{args.repeat}: {integer(round(results.floor_ms[-1]))} ms", flush=True)

        # 2.-6. pre-heated pool
        launch = command(args.pool)
        results.settings = [a for a in launch.argv if a.startswith(SETTINGS)]
        log = work / "voila-pool.log"
        served: set[str] = set()
        with log.open("w") as out, running(launch, log=out, timeout=120) as process:
            voila = psutil.Process(process.pid)
            started = time.perf_counter()
            pool = await wait_for_pool(voila, args.pool, log, timeout, served)
            print(f"pool van {args.pool} gevuld en stil na {number(time.perf_counter() - started, 1)} s", flush=True)
            results.pool_kernel_mb += [rss_mb(k) for k in pool]
            results.cpu["prepare"] = [cpu_s(k) for k in pool]
            for i in range(args.repeat):
                if i:
                    pool = await wait_for_pool(voila, args.pool, log, timeout, served)
                origin = "kept" if i % 2 else "made"  # every other visit: the first screen of the visit before
                if origin == "made":
                    forget_first_screens(db)
                before = {k.pid: cpu_s(k) for k in pool} | {"voila": server_cpu_s(voila), "chromium": chromium_cpu_s()}
                context, page, visit = await browser.open(url(launch, main), main, timeout, count_bytes=True)
                results.cpu.setdefault("voila", []).append(server_cpu_s(voila) - before["voila"])
                results.cpu.setdefault("chromium", []).append(chromium_cpu_s() - before["chromium"])
                if (kernel := kernels(voila).get(visit.kernel_id)) is not None and kernel.pid in before:
                    results.cpu.setdefault("open", []).append(cpu_s(kernel) - before[kernel.pid])
                    results.open_cpu_by_origin.setdefault(origin, []).append(results.cpu["open"][-1])
                if visit.failure:
                    raise SystemExit(f"voorverwarmde weergave mislukt: {visit.failure} (zie {log})")
                served.add(visit.kernel_id)
                results.warm_ms.append(visit.render_ms)
                for key, value in visit.milestones_ms.items():
                    results.warm_milestones.setdefault(key, []).append(value)
                if "screen" in visit.milestones_ms:
                    results.screen_by_origin.setdefault(origin, []).append(visit.milestones_ms["screen"])
                results.http_kb.append(visit.http_bytes / 1000)
                results.http_gzip_kb.append(visit.http_gzip_bytes / 1000)
                results.ws_kb.append(visit.ws_bytes / 1000)
                results.requests.append(visit.requests)
                if (kernel := kernels(voila).get(visit.kernel_id)) is not None:
                    results.kernel_mb.append(rss_mb(kernel))
                if i == 0:
                    SCREENSHOT.parent.mkdir(exist_ok=True)
                    await page.screenshot(path=str(SCREENSHOT))
                screen_ms, all_ms = await open_chapter(page, main, timeout)  # fig 3.1 is in it
                results.chapter_screen_ms.append(screen_ms)
                results.chapter_ms.append(all_ms)
                labels = await page.locator(".km-filter-services label").all_text_contents()
                for k in range(args.changes):
                    option = labels[(k // 2) % len(labels)]  # ticked, then unticked again
                    browser_ms, how = await filter_change(page, option, timeout)
                    results.change_ms.append(browser_ms)
                    for key, value in how.items():
                        results.change_redraws[key] = results.change_redraws.get(key, 0) + value
                if (kernel := kernels(voila).get(visit.kernel_id)) is not None:
                    results.kernel_filtered_mb.append(rss_mb(kernel))
                    results.kernel_uss_mb.append(uss_mb(kernel))
                record(visit, results)
                await browser.close(context, page)
                print(
                    f"voorverwarmd {i + 1}/{args.repeat}: {integer(round(visit.render_ms))} ms, "
                    f"filter {', '.join(integer(round(x)) for x in results.change_ms[-args.changes :])} ms",
                    flush=True,
                )

            # 6. concurrent sessions, each for another provider
            await wait_for_pool(voila, args.pool, log, timeout, served)
            results.load.append(("voor sessies", os.getloadavg()))
            chosen = [everyone[i % len(everyone)] for i in range(args.sessions)]
            results.sessions = len(chosen)
            sampler = MemorySampler(voila, exclude=served)  # the single pages' kernels wait to be culled
            started = time.perf_counter()
            with sampler.sampling():
                opened = await asyncio.gather(*(browser.open(url(launch, p), p, timeout) for p in chosen))
                results.sessions_s = time.perf_counter() - started
                results.load.append(("na sessies", os.getloadavg()))
            print(f"{len(chosen)} sessies in {number(results.sessions_s, 1)} s", flush=True)
            for _, _, visit in opened:
                record(visit, results)
                if visit.failure:
                    results.sessions_failed.append(f"{visit.provider.id}: {visit.failure}")
                else:
                    results.sessions_done.append(visit.render_ms)
            results.peak_total_mb, results.peak_single_mb = sampler.peak_total, sampler.peak_single
            results.peak_kernels = sampler.peak_count
            await asyncio.gather(*(browser.close(context, page) for context, page, _ in opened))
            # closed tabs: Voilà's unload beacon should shut their kernels down (culling only after --cull s)
            started = time.perf_counter()
            results.kernels_after = await wait_for_kernels(voila, args.pool, CLOSE_WAIT_S)
            results.kernels_after_s = time.perf_counter() - started
            kernels(voila)
        read_log(log, results)
        await asyncio.sleep(1)
        results.kernels_left = sum(psutil.pid_exists(pid) for pid in SEEN_KERNELS)
        await browser.chromium.close()
    return results


# --- the table --------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]  # nearest rank


def print_table(args: argparse.Namespace, results: Results, rows: int, provider: Provider) -> None:
    extra = f"; extra Voilà-argumenten: {' '.join(args.voila_arg)}" if args.voila_arg else ""
    table = Table(
        title=f"Aanbiedersdashboard in Chromium via Voilà (keurmerk serve{extra}), schaal {args.scale} "
        f"({integer(rows)} antwoordrijen), aanbieder {provider.id} ({provider.charts} grafieken op het eerste tabblad)",
        caption_justify="left",
    )
    for column in ("Meting", "min", "mediaan", "p95", "max", "n", "Doel (DESIGN §6)", "Gehaald"):
        table.add_column(column, justify="left" if column in ("Meting", "Doel (DESIGN §6)") else "right")

    def verdict(ok: bool | None) -> str:
        return "" if ok is None else ("ja" if ok else "nee")

    def row(label: str, values: list[float], fmt, target: str = "", ok: bool | None = None, p95: bool = False):
        if not values:
            table.add_row(label, "–", "–", "–", "–", "0", target, verdict(False if target else None))
            return
        p95_text = fmt(percentile(values, 95)) if p95 else ""
        middle = fmt(statistics.median(values))
        table.add_row(
            label, fmt(min(values)), middle, p95_text, fmt(max(values)), integer(len(values)), target, verdict(ok)
        )

    def single(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
        table.add_row(label, "", value, "", "", "", target, verdict(ok))

    def seconds(ms: float) -> str:
        return number(ms / 1000, 2)

    def whole(x: float) -> str:
        return integer(round(x))

    def under(values: list[float]) -> bool:
        return bool(values) and max(values) <= TARGET_KERNEL_MB

    target_s, target_mb = f"≤ {number(TARGET_RENDER_S, 0)} s", f"≤ {integer(TARGET_KERNEL_MB)} MB"
    row("Eerste weergave, koud (geen voorverwarmde kernel), s", results.cold_ms, seconds)
    warm_ok = bool(results.warm_ms) and statistics.median(results.warm_ms) <= TARGET_RENDER_S * 1000
    row(f"Eerste weergave, voorverwarmd (pool {args.pool}), s", results.warm_ms, seconds, target_s, warm_ok)
    for key, label in MILESTONES.items():
        row(f"  waarvan tot {label}, s", results.warm_milestones.get(key, []), seconds)
        if key == "screen":
            for origin, how in SCREEN_ORIGINS.items():
                values = results.screen_by_origin.get(origin, [])
                row(f"    {how}, s", values, seconds, "≤ 1,0 s (mediaan)",
                    bool(values) and statistics.median(values) <= TARGET_FIRST_SCREEN_S * 1000)
    row("Voilà-vloer: pagina met één widget, voorverwarmd (zelfde template), s", results.floor_ms, seconds)
    row(f"Tab {catalog().sections[CHAPTER]} openen → grafieken in beeld getekend, ms", results.chapter_screen_ms, whole)
    row(f"  … → alle {provider.chapter_charts} grafieken getekend, ms", results.chapter_ms, whole)
    change_ok = bool(results.change_ms) and statistics.median(results.change_ms) <= TARGET_CHANGE_MS
    row("Filterwijziging (1 dienst) → grafieken bijgewerkt, ms¹", results.change_ms, whole,
        f"≤ {integer(TARGET_CHANGE_MS)} ms (mediaan)", change_ok)  # fmt: skip
    if results.change_redraws:
        single(
            "  grafieken opnieuw getekend: nieuw ingebed / nieuwe data in de bestaande view",
            f"{integer(results.change_redraws.get('embeds', 0))} / {integer(results.change_redraws.get('updates', 0))}",
        )
    row("HTTP per pagina, over de lijn (incl. headers), kB", results.http_kb, whole)
    row("HTTP per pagina als een proxy gzip doet (schatting), kB", results.http_gzip_kb, whole)
    row("WebSocket ontvangen per pagina (widgetstatus), kB", results.ws_kb, whole)
    row("HTTP-verzoeken per pagina", [float(x) for x in results.requests], whole)
    single("Verzoeken buiten 127.0.0.1 (alle pagina's)", integer(len(results.external)), "0", not results.external)
    row("Kernel-RSS na weergave, voorverwarmd, MB", results.kernel_mb, whole, target_mb, under(results.kernel_mb))
    row(
        "  na de filterwijzigingen, MB", results.kernel_filtered_mb, whole, target_mb, under(results.kernel_filtered_mb)
    )
    row("  eigen geheugen (USS: zonder gedeelde bibliotheken), MB", results.kernel_uss_mb, whole)
    row("Kernel-RSS na weergave, koud, MB", results.cold_kernel_mb, whole, target_mb, under(results.cold_kernel_mb))
    row("Kernel-RSS wachtend in de pool, MB", results.pool_kernel_mb, whole, target_mb, under(results.pool_kernel_mb))
    for key, label in CPU_PARTS.items():
        row(f"CPU-s per pagina: {label}", results.cpu.get(key, []), lambda x: number(x, 2))
        if key == "open":  # a kept first screen comes with the year over year tiles kept: not computed again
            for origin, values in results.open_cpu_by_origin.items():
                row(f"  eerste scherm {SCREEN_ORIGINS[origin]}", values, lambda x: number(x, 2))
    median = {key: statistics.median(values) for key, values in results.cpu.items() if values}
    if {"prepare", "open", "voila", "chromium"} <= median.keys():
        server = median["prepare"] + median["open"] + median["voila"]
        single("  per bezoek op de server (voorbereiden + openen + Voilà), CPU-s", number(server, 2))
        if results.sessions:
            # the pool's kernels were prepared before; every other session's kernel is prepared while it waits
            n, cores = results.sessions, os.cpu_count() or 1
            work = (
                n * (median["open"] + median["voila"] + median["chromium"]) + max(n - args.pool, 0) * median["prepare"]
            )
            single(
                f"  ondergrens voor {n} sessies tegelijk op {cores} kernen (CPU-s / kernen), s", number(work / cores, 0)
            )
    if results.sessions:
        done, total = len(results.sessions_done), results.sessions
        single(
            f"{total} sessies tegelijk (pool {args.pool}): voltooid",
            f"{done}/{total}",
            "alle",
            done == total,
        )
        row("  eerste weergave (vanaf navigatie), s", results.sessions_done, seconds, p95=True)
        single("  alle sessies klaar of opgegeven na, s", number(results.sessions_s, 1))
        single("  piek totaal kernel-RSS, MB", whole(results.peak_total_mb))
        single("  piek aantal kernels", integer(results.peak_kernels))
        single(
            "  grootste kernel, MB",
            whole(results.peak_single_mb),
            target_mb,
            results.peak_single_mb <= TARGET_KERNEL_MB,
        )
        single(
            f"  kernels {number(results.kernels_after_s, 0)} s na sluiten van de pagina's (cull na {args.cull} s)",
            integer(results.kernels_after),
            f"≤ {args.pool} (pool)",
            results.kernels_after <= args.pool,
        )
        single(
            "  kernelprocessen over na stoppen van Voilà", integer(results.kernels_left), "0", not results.kernels_left
        )
    loads = "; ".join(f"{label} {' '.join(number(x, 2) for x in load)}" for label, load in results.load)
    notes = [
        f"Voilà (voorverwarmd): {' '.join(results.settings)}.",
        f"Load average (1/5/15 min), {os.cpu_count()} kernen: {loads}. Andere processen (tests, benchmarks) "
        "draaiden tegelijk: de tijden zijn ruisgevoelig.",
        "Eerste weergave: navigatie gestart → alle grafieken getekend, elke pagina in een nieuwe browsercontext "
        "(lege cache). Voorverwarmd: Voilà vult de pool bij na fill_delay (5 s in keurmerk serve) na het verzoek. "
        "Voilà-vloer: dezelfde Voilà en template, een notebook dat alleen één widget toont.",
        "¹ Van het change-event tot statusregel, fig 3.1 en elke grafiek in beeld opnieuw getekend (geen debounce "
        "na een keuze).",
        "RSS telt gedeelde pagina's per kernel mee: het totaal overschat het geheugen iets. Kernels van eerder "
        "gesloten pagina's tellen niet mee in de piek.",
    ]
    if results.beacons_refused:
        notes.append(
            f"Voilà weigerde {results.beacons_refused}× het afsluitbaken van een gesloten pagina (403, '_xsrf' "
            "ontbreekt): kernels van gesloten tabbladen blijven tot cull_idle_timeout bestaan."
        )
    if results.kernel_restarts:
        notes.append(
            f"Voilà herstartte {results.kernel_restarts}× een kernel die niet opstartte (bij gelijktijdig starten: "
            "'Address already in use', jupyter_client kiest willekeurige poorten)."
        )
    if results.iopub_timeouts:
        notes.append(
            f"Voilà meldde {results.iopub_timeouts}× 'Timeout waiting for IOPub output' (nbclient iopub_timeout, "
            "standaard 4 s): de uitvoer van die cel ontbreekt dan op de pagina."
        )
    if results.sessions_failed:
        reasons = Counter(f.split(": ", 1)[1] for f in results.sessions_failed)
        notes.append("Niet voltooid: " + "; ".join(f"{n}× {reason}" for reason, n in reasons.most_common(3)))
    if results.page_errors:
        errors = Counter(e.strip()[:120] for e in results.page_errors)
        notes.append("Paginafouten: " + "; ".join(f"{n}× {e}" for e, n in errors.most_common(3)))
    if results.external:
        notes.append(f"Buiten 127.0.0.1: {', '.join(sorted(set(results.external))[:5])}")
    table.caption = "\n".join(notes)
    Console(width=180).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="demo", choices=("tiny", "demo", "national", "x10"))
    parser.add_argument("--repeat", type=int, default=3, help="first renders per mode (cold, pre-heated)")
    parser.add_argument("--changes", type=int, default=3, help="filter changes on each pre-heated page")
    parser.add_argument(
        "--pre-heated-only", action="store_true", help="skip the cold renders and the floor (1, 1b): a quicker A/B"
    )
    parser.add_argument(
        "--skip-cold", action="store_true", help="skip the cold renders (1) only: the floor and the rest run"
    )
    parser.add_argument("--sessions", type=int, default=20, help="pages opened at once, one provider each")
    parser.add_argument("--pool", type=int, default=4, help="pre-heated kernels (pool_size)")
    parser.add_argument(
        "--cull",
        type=int,
        default=600,
        help="cull_idle_timeout (s), as keurmerk serve; shorter culls kernels whose page is still loading",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one page may take")
    parser.add_argument(
        "--voila-arg",
        action="append",
        default=[],
        help="extra Voilà argument, e.g. --voila-arg=--VoilaExecutor.iopub_timeout=60 (repeatable)",
    )
    args = parser.parse_args()
    os.environ.setdefault("KEURMERK_SECRET", DEFAULT_SECRET)  # the server's kernels and our links share it

    started = time.perf_counter()
    db = warehouse(args.scale)
    everyone = providers(db, max(args.sessions, 1))
    from keurmerk.warehouse import open_readonly

    con = open_readonly(db)
    try:
        rows = con.execute("SELECT count(*) FROM answers").fetchone()[0]
    finally:
        con.close()
    with tempfile.TemporaryDirectory(prefix="run-", dir=VAR / args.scale) as tmp:
        try:
            results = asyncio.run(run(args, db, everyone, Path(tmp)))
        finally:
            for log in Path(tmp).glob("*.log"):  # Voilà's logs of the last run stay for reading
                shutil.copy(log, VAR / args.scale / log.name)
    print_table(args, results, rows, everyone[0])
    print(
        f"Totale looptijd {number(time.perf_counter() - started, 0)} s. Schermafdruk: "
        f"{SCREENSHOT.relative_to(REPO)}; Voilà-logs: {(VAR / args.scale).relative_to(REPO)}/voila-*.log"
    )


if __name__ == "__main__":
    main()
