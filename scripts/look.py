"""Screenshots of every page and tab at 1400×900 and 390×844, and the provider page printed to PDF, into
artifacts/look/ (for a person to look at). Serves the given warehouse itself.

    .venv/bin/python scripts/look.py var/demo.duckdb
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser_support import chromium, served  # noqa: E402

from keurmerk.access import link_url, make_token  # noqa: E402

SECRET = "look-secret"
OUT = Path(__file__).resolve().parents[1] / "artifacts" / "look"
SIZES = {"desktop": (1400, 900), "phone": (390, 844)}
# the lab template scrolls inside #rendered_cells: let the page itself grow, so a full-page screenshot shows it all
UNCLIP = ("#main, #jp-main-content-panel, #rendered_cells, .lm-BoxPanel, .lm-BoxPanel-child { position: static !important;"
          " overflow: visible !important; height: auto !important; contain: none !important; }"
          " html, body { overflow: visible !important; height: auto !important; }")
DRAWN = ("() => [...document.querySelectorAll('.km-figure .keurmerk-chart')]"
         ".every(c => c.querySelector('svg, .keurmerk-chart-error'))")


def main(db: str) -> None:
    import tempfile

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work, served(Path(db), Path(work), ("aanbieder.ipynb", "benchmark.ipynb"),
                                                       SECRET) as voila, chromium() as browser:
        look(browser, voila.url)


def look(browser, base: str) -> None:
    if True:
        provider = link_url(base, "aanbieder", make_token("P0000", secret=SECRET.encode()))
        staff = link_url(base, "benchmark", make_token(None, role="staff", secret=SECRET.encode()))
        for size, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height}, locale="nl-NL")
            page = context.new_page()
            page.goto(provider, timeout=120_000)
            page.wait_for_selector(".km-tabs .lm-TabBar-tab", timeout=120_000)
            for i, tab in enumerate(page.locator(".km-tabs .lm-TabBar-tab").all()):
                tab.click()
                page.wait_for_timeout(1500)
                page.wait_for_function(DRAWN, timeout=120_000)
                style = page.add_style_tag(content=UNCLIP)
                page.screenshot(path=str(OUT / f"provider-{i}-{size}.png"), full_page=True)
                style.evaluate("s => s.remove()")
                print(size, i, page.evaluate("document.querySelector('#rendered_cells').scrollWidth"))
            if size == "desktop":
                page.evaluate("() => { window.print = () => { window.__printed = true; }; }")  # a function given is called
                page.get_by_role("button", name="Afdrukken (alle hoofdstukken)").click()
                page.wait_for_function("() => window.__printed === true", timeout=180_000)
                page.emulate_media(media="print")
                page.pdf(path=str(OUT / "provider-print.pdf"), format="A4", print_background=True)
                page.emulate_media(media="screen")
            page.goto(staff, timeout=120_000)
            page.wait_for_selector(".km-staff-table table", timeout=120_000)
            page.wait_for_timeout(3000)
            print(size, "staff", page.evaluate("document.querySelector('#rendered_cells').scrollWidth"))
            page.add_style_tag(content=UNCLIP)
            page.screenshot(path=str(OUT / f"staff-{size}.png"), full_page=True)
            context.close()


if __name__ == "__main__":
    os.environ.setdefault("KEURMERK_SECRET", SECRET)
    if os.environ.get("LOOK_URL"):  # a server that runs already (keurmerk serve with KEURMERK_SECRET=look-secret)
        OUT.mkdir(parents=True, exist_ok=True)
        with chromium() as browser:
            look(browser, os.environ["LOOK_URL"])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "var/demo.duckdb")
