"""What the browser tests share: Debian's Chromium driven by Playwright, and a log of every request a page makes."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")
# As root, without a sandbox; no background traffic (it would be refused by the closed network anyway).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LOCAL_HOSTS = {"127.0.0.1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
