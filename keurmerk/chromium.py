"""The headless Chromium every browser-driven part uses (PDF reports, browser tests, benches): which binary, which flags.

Debian's ``chromium`` package (``/usr/bin/chromium``), or the binary named by ``$KEURMERK_CHROMIUM``:
``playwright install`` cannot download browsers on a machine without internet access.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ARGS", "CHROMIUM_ENV", "DEBIAN_CHROMIUM", "executable"]

CHROMIUM_ENV = "KEURMERK_CHROMIUM"
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
# As root and without a sandbox (containers, CI); no background traffic (the network is closed anyway).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def executable() -> str | None:
    """The Chromium to launch: ``$KEURMERK_CHROMIUM``, else Debian's, else None (Playwright's own, if any)."""
    if os.environ.get(CHROMIUM_ENV):
        return os.environ[CHROMIUM_ENV]
    return str(DEBIAN_CHROMIUM) if DEBIAN_CHROMIUM.exists() else None
