"""PDF from the report's HTML with headless Chromium: A4, vector charts, page numbers, a table of contents.

The page is the same HTML file a provider opens in a browser. Chromium draws the charts (SVG, so they stay
vector in the PDF), prints with the report's print stylesheet (``@page``: A4, page numbers in the margin boxes)
and writes a document outline (bookmarks) from the headings. The table of contents gets its page numbers in a
second pass: a quick first PDF (untagged) tells on which page every heading landed (its named destinations,
which Chromium writes for the targets of the contents' links), the numbers are filled in on the page, and the
page is printed again, tagged (accessible) and with the outline. The numbers sit in boxes of fixed width, so
filling them in moves nothing.

The browser is Debian's Chromium (``/usr/bin/chromium``) or the one named by ``$KEURMERK_CHROMIUM``, else
Playwright's own. One :class:`PdfPrinter` keeps one browser for many reports.
"""

from __future__ import annotations

import re
from types import TracebackType

from keurmerk import chromium

__all__ = ["PdfPrinter", "named_destinations", "page_count"]

_READY = "document.documentElement.dataset.kmReady === '1'"
_FILL_TOC = """(pages) => {
  for (const el of document.querySelectorAll('.km-toc-page')) {
    const page = pages[el.dataset.for];
    el.textContent = page === undefined ? '' : String(page);
  }
}"""


# --- a little PDF reading: Chromium (Skia) writes plain objects, no object streams ---------------------------
_OBJECT = re.compile(rb"(?:^|[\r\n])(\d+) 0 obj\b")
_REF = rb"(\d+) 0 R"


def _objects(pdf: bytes) -> dict[int, bytes]:
    """Object number → its text up to ``endobj``, for objects that hold no stream."""
    objects = {}
    for match in _OBJECT.finditer(pdf):
        end = pdf.find(b"endobj", match.end())
        body = pdf[match.end() : end if end >= 0 else len(pdf)]
        if b"stream" not in body:
            objects[int(match.group(1))] = body
    return objects


def _pages(objects: dict[int, bytes]) -> list[int]:
    """Object numbers of the pages, in order (walking the page tree from its root)."""
    roots = [n for n, body in objects.items() if re.search(rb"/Type\s*/Pages\b", body) and b"/Parent" not in body]
    order: list[int] = []

    def walk(number: int, depth: int = 0) -> None:
        body = objects.get(number, b"")
        kids = re.search(rb"/Kids\s*\[([^\]]*)\]", body)
        if kids is None or depth > 32:
            order.append(number)
            return
        for kid in re.findall(_REF, kids.group(1)):
            walk(int(kid), depth + 1)

    for root in roots[:1]:
        walk(root)
    return order


def _name(raw: bytes) -> str:
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw).decode("utf-8", "replace")


def named_destinations(pdf: bytes) -> dict[str, int]:
    """Named destination → page number (1-based) of a PDF made by Chromium; {} when it has none."""
    objects = _objects(pdf)
    page_of = {number: i for i, number in enumerate(_pages(objects), start=1)}
    catalog = next((body for body in objects.values() if re.search(rb"/Type\s*/Catalog\b", body)), b"")
    ref = re.search(rb"/Dests\s+" + _REF, catalog)
    if ref is not None:
        dests = objects.get(int(ref.group(1)), b"")
    else:
        inline = re.search(rb"/Dests\s*<<(.*?)>>", catalog, re.S)
        dests = inline.group(1) if inline else b""
    found = {}
    for name, page in re.findall(rb"/([^\s/\[\]<>()]+)\s*\[\s*" + _REF, dests):
        if int(page) in page_of:
            found[_name(name)] = page_of[int(page)]
    return found


def page_count(pdf: bytes) -> int:
    """Pages of a PDF made by Chromium."""
    return len(_pages(_objects(pdf)))


class PdfPrinter:
    """Headless Chromium that prints report HTML to PDF; one browser for many reports (not thread-safe).

    ``with PdfPrinter() as printer: pdf = printer.print(html)``
    """

    def __init__(self, timeout_ms: int = 120_000):
        self.timeout_ms = timeout_ms
        self._playwright = None
        self._browser = None

    def __enter__(self) -> PdfPrinter:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        if self._browser is not None:
            return
        from playwright.sync_api import Error, sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(executable_path=chromium.executable(), args=chromium.ARGS)
        except Error as error:
            self.close()
            raise RuntimeError(
                f"Chromium kon niet starten voor de PDF ({error.message.splitlines()[0]}); installeer het "
                f"(apt-get install chromium) of wijs het aan met ${chromium.CHROMIUM_ENV}"
            ) from error

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None

    def print(self, html: str) -> bytes:
        """The report's PDF: A4, vector charts, page numbers, the contents with the page of each heading."""
        self.start()
        context = self._browser.new_context(offline=True)
        try:
            page = context.new_page()
            page.set_default_timeout(self.timeout_ms)
            page.set_content(html, wait_until="load")
            page.wait_for_function(_READY)
            layout = {"format": "A4", "print_background": True, "prefer_css_page_size": True}
            # a quick untagged pass to learn where the headings land, then the real one: tagged (accessible),
            # with the outline (bookmarks) and the contents filled in
            pages = named_destinations(page.pdf(**layout))
            pdf = b""
            for _ in range(3):  # once, unless filling in the numbers moved a heading
                page.evaluate(_FILL_TOC, pages)
                pdf = page.pdf(**layout, outline=True, tagged=True)
                printed = named_destinations(pdf)
                if printed == pages:
                    break
                pages = printed
            return pdf
        finally:
            context.close()
