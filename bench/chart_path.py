"""Chart path: bytes a browser receives and time to the charts, ChartWidget vs ``alt.JupyterChart`` (offline).

    .venv/bin/python bench/chart_path.py [--repeat 3] [--pause 10]

One run serves two copies of ``dashboards/placeholder.ipynb`` with ``keurmerk.serve`` (pre-heated kernels,
the ``keurmerk`` template): the notebook as it is (``keurmerk.charts.ChartWidget``: the Vega runtime is one
static file per page, cacheable) and the same notebook with ``show``/``ChartWidget`` swapped for
``alt.JupyterChart`` in offline mode (each instance carries the runtime in its widget state). Chromium opens each
page with an empty cache ("cold") and again in the same browser context ("warm"). Measured through the Chrome
DevTools protocol: bytes over HTTP (encoded, headers included), bytes of WebSocket frames received (widget
state), copies of the Vega runtime received, and the time from navigation start to the first and to all three
charts drawn (an SVG or canvas of marks inside a vega-embed element). Medians over ``--repeat`` runs.
Target (DESIGN §6): first render of a dashboard ≤ 2 s with pre-started kernels.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import shutil
import socket
import statistics
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
from rich.console import Console
from rich.table import Table

from keurmerk.charts.widget import RUNTIME_PATH
from keurmerk.chromium import ARGS as CHROMIUM_ARGS
from keurmerk.chromium import DEBIAN_CHROMIUM
from keurmerk.formatting import integer, number
from keurmerk.serve import running, voila_command

REPO = Path(__file__).resolve().parents[1]
PLACEHOLDER = REPO / "tests" / "fixtures" / "chart_path_demo.ipynb"  # sample charts, not a product dashboard
CHROMIUM = str(DEBIAN_CHROMIUM)
CHARTS = 3
RUNTIME_MARKER = b"vega.github.io/editor"  # occurs once in the Vega runtime bundle (vega-embed's action link)
JUPYTERCHART_OVERRIDE = """

# bench/chart_path.py: the same charts through alt.JupyterChart, offline (runtime inside each instance).
from keurmerk.charts import embed_options as _embed_options

alt.JupyterChart.enable_offline()
alt.theme.enable("keurmerk")


def ChartWidget(chart):  # noqa: N802 - stands in for the class
    return alt.JupyterChart(chart, embed_options=_embed_options())


def show(chart):
    display(ChartWidget(chart))
"""
# Records performance.now() (ms since navigation start) each time another chart's marks appear.
CHART_CLOCK = """
window.__chartTimes = [];
new MutationObserver(() => {
  const drawn = document.querySelectorAll('.vega-embed svg.marks, .vega-embed canvas.marks').length;
  while (window.__chartTimes.length < drawn) window.__chartTimes.push(performance.now());
}).observe(document, { childList: true, subtree: true });
"""


_GZIP_RATIO: dict[str, float] = {}


@dataclass
class Load:
    http_bytes: int
    http_gzip_bytes: int  # the same responses gzip-compressed (as a reverse proxy would send them); estimate
    ws_bytes: int
    runtime_copies: int
    first_ms: float
    all_ms: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dashboards(directory: Path) -> dict[str, str]:
    """The two notebooks to compare, written to ``directory``: {label: notebook file name}."""
    shutil.copy(PLACEHOLDER, directory / "placeholder.ipynb")
    notebook = nbformat.read(PLACEHOLDER, as_version=4)
    renderer = next(c for c in notebook.cells if "renderer" in c.metadata.get("tags", []))
    renderer.source += JUPYTERCHART_OVERRIDE
    nbformat.write(notebook, directory / "placeholder_jupyterchart.ipynb")
    return {"ChartWidget": "placeholder.ipynb", "JupyterChart offline": "placeholder_jupyterchart.ipynb"}


def _load(context, url: str, *, count_preloaded_runtime: bool) -> Load:
    """Open ``url`` in a new page of ``context``; count bytes until all charts are drawn (and 1 s more).

    ``count_preloaded_runtime=False`` leaves out the runtime the ``keurmerk`` template preloads on every page,
    for the JupyterChart path, which does not use it (aborting it instead would switch off the HTTP cache).
    """
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    urls: dict[str, str] = {}  # requestId -> url
    received: dict[str, int] = {}  # requestId -> bytes over the network (0 from cache, headers on a 304)
    ws = {"bytes": 0, "runtime": 0}
    document: list[str] = []

    def response(event: dict) -> None:
        urls[event["requestId"]] = event["response"]["url"]
        if event.get("type") == "Document":
            document.append(event["requestId"])

    def finished(event: dict) -> None:
        received[event["requestId"]] = int(event.get("encodedDataLength", 0))

    def frame(event: dict) -> None:
        message = event["response"]
        # Jupyter's v1 kernel protocol sends binary frames; CDP hands those over base64-encoded.
        data = base64.b64decode(message["payloadData"]) if message["opcode"] == 2 else message["payloadData"].encode()
        ws["bytes"] += len(data)
        # Widget states may arrive together (ipywidgets 8 sends all of them in one reply): count bundles inside.
        ws["runtime"] += data.count(RUNTIME_MARKER)

    cdp.on("Network.responseReceived", response)
    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.webSocketFrameReceived", frame)
    cdp.send("Network.enable")
    page.add_init_script(CHART_CLOCK)
    page.goto(url, wait_until="commit", timeout=120_000)
    page.wait_for_function(f"window.__chartTimes.length >= {CHARTS}", timeout=120_000)
    page.wait_for_load_state("load")
    page.wait_for_timeout(1000)  # let trailing requests and widget messages arrive before counting
    times = page.evaluate("window.__chartTimes")
    body = cdp.send("Network.getResponseBody", {"requestId": document[0]})
    html = base64.b64decode(body["body"]) if body["base64Encoded"] else body["body"].encode()
    page.close()

    http = gzipped = runtime = 0
    for request, size in received.items():
        address = urls.get(request, "")
        if not address.startswith("http"):
            continue
        if RUNTIME_PATH.name in address:
            if not count_preloaded_runtime:
                continue
            runtime += size > RUNTIME_PATH.stat().st_size // 2
        http += size
        # What a gzip-ing reverse proxy would send: each response shrunk by its file's gzip ratio.
        ratio = _gzip_ratio(html) if request == document[0] else _gzip_ratio_of(address)
        gzipped += round(size * ratio)
    return Load(http, gzipped, ws["bytes"], runtime + ws["runtime"], times[0], times[CHARTS - 1])


def _gzip_ratio(data: bytes) -> float:
    return len(gzip.compress(data, compresslevel=6)) / len(data) if data else 1.0


def _gzip_ratio_of(url: str) -> float:
    """gzip -6 ratio of a static file of the local server (cached; API answers count as is)."""
    if "/api/" in url:
        return 1.0
    if url not in _GZIP_RATIO:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - our own 127.0.0.1 server
            _GZIP_RATIO[url] = _gzip_ratio(answer.read())
    return _GZIP_RATIO[url]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3, help="page loads per path and cache state")
    parser.add_argument("--pause", type=float, default=10.0, help="seconds for the kernel pools to refill")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    results: dict[tuple[str, str], list[Load]] = {}
    with tempfile.TemporaryDirectory(prefix="keurmerk-bench-") as tmp:
        work = Path(tmp)
        paths = _dashboards(work)
        db = work / "empty.duckdb"
        db.touch()
        launch = voila_command(db, _free_port(), dashboards_dir=work, pool_size=2)
        with (work / "voila.log").open("w") as log, running(launch, log=log), sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            time.sleep(args.pause)  # both pools full before the first load
            for run in range(args.repeat):
                for label, notebook in paths.items():
                    context = browser.new_context(viewport={"width": 1200, "height": 1300})
                    for state in ("cold", "warm"):  # warm: same context, so the HTTP cache is filled
                        ours = notebook == "placeholder.ipynb"
                        load = _load(context, launch.dashboard_url(notebook), count_preloaded_runtime=ours)
                        results.setdefault((label, state), []).append(load)
                    context.close()
                if run + 1 < args.repeat:
                    time.sleep(args.pause)
            browser.close()

    columns = {
        "http": "HTTP kB",
        "gzip": "HTTP kB gzip (est.)",
        "ws": "WebSocket kB",
        "total": "total kB",
        "total_gzip": "total kB, gzip proxy",
        "runtime": "runtime copies",
        "first": "1st chart ms",
        "all": "all charts ms",
    }
    table = Table(title=f"Chart path: placeholder dashboard, {CHARTS} charts, Chromium, median of {args.repeat}")
    table.add_column("path")
    table.add_column("cache")
    for title in columns.values():
        table.add_column(title, justify="right")
    medians: dict[tuple[str, str], dict[str, float]] = {}
    for (label, state), loads in results.items():
        m = {
            "http": statistics.median(x.http_bytes for x in loads) / 1000,
            "gzip": statistics.median(x.http_gzip_bytes for x in loads) / 1000,
            "ws": statistics.median(x.ws_bytes for x in loads) / 1000,
            "total": statistics.median(x.http_bytes + x.ws_bytes for x in loads) / 1000,
            "total_gzip": statistics.median(x.http_gzip_bytes + x.ws_bytes for x in loads) / 1000,
            "runtime": statistics.median(x.runtime_copies for x in loads),
            "first": statistics.median(x.first_ms for x in loads),
            "all": statistics.median(x.all_ms for x in loads),
        }
        medians[(label, state)] = m
        table.add_row(label, state, *(integer(m[key]) for key in columns))
    ours, theirs = paths
    for state in ("cold", "warm"):
        a, b = medians[(ours, state)], medians[(theirs, state)]
        ratios = {
            key: f"{number(b[key] / a[key], 2)}×" if a[key] else "" for key in ("total", "total_gzip", "first", "all")
        }
        table.add_row("ratio JupyterChart/ChartWidget", state, *(ratios.get(key, "") for key in columns))
    Console(width=180).print(table)


if __name__ == "__main__":
    main()
