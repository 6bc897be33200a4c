"""What the browser tests share: Debian's Chromium driven by Playwright, and a log of every request a page makes."""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from keurmerk.chromium import ARGS as CHROMIUM_ARGS
from keurmerk.chromium import DEBIAN_CHROMIUM
from keurmerk.serve import VoilaLaunch, running, voila_command
from keurmerk.site import write_site

CHROMIUM = DEBIAN_CHROMIUM  # ./dev test installs Debian's chromium
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"
LOCAL_HOSTS = {"127.0.0.1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(db: Path, work: Path, notebooks: tuple[str, ...], secret: str) -> Iterator[VoilaLaunch]:
    """Voilà as ``keurmerk serve`` runs it, on ``db``, with only ``notebooks`` of dashboards/ (one pre-heated
    kernel each) and links signed with ``secret``; its log in ``work/voila.log``."""
    assert CHROMIUM.exists(), "Chromium is not installed: apt-get install chromium (./dev test does it)"
    dashboards = work / "dashboards"
    dashboards.mkdir()
    for name in notebooks:
        shutil.copy(DASHBOARDS / name, dashboards / name)
    site = write_site(db, work / "zoeken")  # what a publication writes; `keurmerk serve` serves it at /zoeken/
    launch = voila_command(
        db,
        free_port(),
        dashboards_dir=dashboards,
        pool_size=1,
        site_dir=site,
        environ={**os.environ, "KEURMERK_SECRET": secret},
    )
    with (work / "voila.log").open("w") as log, running(launch, log=log, timeout=90):
        yield launch


@contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium through Playwright (``playwright install`` cannot download browsers here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def is_local(url: str) -> bool:
    if url.startswith("data:"):
        return True
    if url.startswith("blob:"):
        url = url[len("blob:") :]
    return urlsplit(url).hostname in LOCAL_HOSTS


class PageLog:
    """Every request and WebSocket a page opens; anything not aimed at 127.0.0.1 is recorded, then aborted."""

    def __init__(self, context) -> None:
        self.requests: list[str] = []
        self.websockets: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*$"), self._abort_external)

    def attach(self, page) -> None:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", lambda ws: self.websockets.append(ws.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    @staticmethod
    def _abort_external(route) -> None:
        url = route.request.url
        if url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            route.abort()

    def external(self) -> list[str]:
        return [url for url in self.requests + self.websockets if not is_local(url)]


AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations of the page as it is now, of the given impacts (``./dev test`` installs
    axe-core from the npm registry into tests/axe)."""
    assert AXE.exists(), "axe-core is not installed: cd tests/axe && npm ci (./dev test does it)"
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"][:5]]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]
