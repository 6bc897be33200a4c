"""deploy/nginx in front of two `keurmerk serve` workers, as in production but on loopback ports without TLS:
a provider dashboard opened through nginx in Chromium draws its charts and answers a filter change over the
proxied WebSocket; the public search comes from nginx itself and starts no kernel."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, DASHBOARDS, PageLog, chromium, free_port

from keurmerk.access import link_url, make_token
from keurmerk.catalog import catalog
from keurmerk.serve import kernel_pids, running, voila_command, wait_until_listening
from keurmerk.site import write_site

SECRET = "nginx-test-secret"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
LOCATIONS = Path(__file__).resolve().parents[1] / "deploy" / "nginx" / "keurmerk-locations.conf"
FIGURES_DRAWN = "n => document.querySelectorAll('.km-figure .keurmerk-chart svg').length >= n"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The production configuration's http-level parts for two workers on loopback ports without TLS, every path nginx
# writes in a temp dir (non-root); the locations are the production file itself.
CONFIG = (Path(__file__).resolve().parents[1] / "deploy" / "nginx" / "local.conf.in").read_text()


@pytest.fixture(scope="module")
def proxy(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    assert Path(NGINX).exists(), "nginx is not installed: apt-get install nginx (./dev test does it)"
    work = tmp_path_factory.mktemp("nginx")
    dashboards = work / "dashboards"
    dashboards.mkdir()
    shutil.copy(DASHBOARDS / "aanbieder.ipynb", dashboards / "aanbieder.ipynb")
    site = write_site(tiny_db, work / "root" / "zoeken")
    ports = [free_port(), free_port()]
    launches = [
        voila_command(
            tiny_db,
            ports[i],
            dashboards_dir=dashboards,
            pool_size=1,
            max_kernels=3,
            site_dir=site,
            base_url=f"/w{i + 1}/",
            environ={**os.environ, "KEURMERK_SECRET": SECRET},
        )
        for i in range(2)
    ]
    port = free_port()
    (work / "nginx.conf").write_text(
        CONFIG.format(
            # as root, nginx's workers would drop to www-data, which cannot read pytest's private temp dirs
            user="user root;" if os.geteuid() == 0 else "",
            work=work,
            port=port,
            port1=ports[0],
            port2=ports[1],
            root=work / "root",
            locations=LOCATIONS,
        )
    )
    with contextlib.ExitStack() as stack:
        workers = []
        for i, launch in enumerate(launches):
            log = stack.enter_context((work / f"worker{i + 1}.log").open("w"))
            workers.append(stack.enter_context(running(launch, log=log, timeout=90)))
        nginx = subprocess.Popen(
            [NGINX, "-p", str(work), "-c", str(work / "nginx.conf"), "-e", str(work / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        stack.callback(lambda: (nginx.terminate(), nginx.wait(10)))
        wait_until_listening(port, 30, nginx)
        yield {"url": f"http://127.0.0.1:{port}/", "workers": workers, "work": work}


def kernels(proxy: dict) -> int:
    return sum(len(kernel_pids(w.pid)) for w in proxy["workers"])


def test_public_search_from_nginx_without_a_kernel(proxy: dict) -> None:
    deadline = time.monotonic() + 90
    while kernels(proxy) < len(proxy["workers"]) and time.monotonic() < deadline:
        time.sleep(0.5)  # each worker's pool of one: started with the worker, later on a busy machine
    before = kernels(proxy)
    assert before == len(proxy["workers"])
    with urllib.request.urlopen(proxy["url"] + "zoeken/data.json", timeout=10) as response:
        listings = [f"zoeken/{name}" for name in json.loads(response.read())["files"].values()]
    assert listings
    for path in ("zoeken/", "zoeken/data.json", "zoeken/zoeken.js", "zoeken/zoeken.css", *listings):
        request = urllib.request.Request(proxy["url"] + path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=10) as response:
            kept = "public, max-age=31536000, immutable" if "periode-" in path else "no-cache"
            assert response.status == 200 and response.headers["Cache-Control"] == kept
            assert response.headers["Server"].startswith("nginx")  # from disk, not from a worker
            if path != "zoeken/":
                assert response.headers.get("Content-Encoding") == "gzip"
    assert kernels(proxy) <= before
    with urllib.request.urlopen(proxy["url"], timeout=30) as response:  # the landing page, from a worker
        assert "Zoek een keurmerkhouder" in response.read().decode()


def test_provider_dashboard_through_nginx(proxy: dict) -> None:
    url = link_url(proxy["url"], "aanbieder", make_token("P0000", secret=SECRET.encode()), periode="2021")
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1250, "height": 1100}, locale="nl-NL")
        log = PageLog(context)
        page = context.new_page()
        log.attach(page)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        wire: list[int] = []  # bytes as they came over the wire: headers and (compressed) bodies
        cdp.on("Network.loadingFinished", lambda event: wire.append(event["encodedDataLength"]))
        page.goto(url, wait_until="commit", timeout=90_000)
        page.wait_for_selector(".km-dashboard", timeout=90_000)
        page.wait_for_function(FIGURES_DRAWN, arg=3, timeout=90_000)
        page.wait_for_load_state("networkidle")
        print(f"provider page over the wire: {sum(wire) / 1e6:.2f} MB in {len(wire)} responses")
        assert sum(wire) <= 2_000_000, sum(wire)  # issue 15: <= 2 MB (6,2 MB of scripts uncompressed)
        assert page.url.startswith(proxy["url"] + "w")  # sent to one worker's prefix
        assert page.title().startswith("Partner in Werk — Uw resultaten")
        assert any(
            "/api/kernels/" in ws and ws.startswith(proxy["url"].replace("http", "ws") + "w") for ws in log.websockets
        )
        page.locator(".km-tabs .lm-TabBar-tab", has_text=catalog().sections["clienten"]).click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.km-fig_3_1 .keurmerk-chart svg text')].some(t => /n = 18/.test(t.textContent))",
            timeout=60_000,
        )
        # a filter change goes to the kernel over the proxied WebSocket and comes back as a redrawn chart
        page.locator(".km-filter-services summary").click()  # the dienst picker: checkboxes, only dienst 8
        page.locator(".km-filter-services label", has_text=catalog().service_label(8)).click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.km-fig_3_1 .keurmerk-chart svg text')]"
            ".some(t => /Totaal \\(n = 15\\)/.test(t.textContent))",
            timeout=60_000,
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "nginx_provider_dashboard.png"))
        assert log.external() == [], log.external()
        assert not log.errors, log.errors
        context.close()
