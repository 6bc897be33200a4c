"""PDF from the report's HTML with headless Chromium: A4, vector charts, page numbers, a table of contents.

The page is the same HTML file a provider opens in a browser. Chromium draws the charts (SVG, so they stay
vector in the PDF), prints with the report's print stylesheet (``@page``: A4, page numbers in the margin boxes)
and writes a document outline (bookmarks) from the headings. The table of contents needs the page each heading
lands on, which this Chromium cannot write itself (it has no ``target-counter()``). So before printing, the page
is laid out once more as columns the size of a page's content box (print media, page breaks as column breaks,
and Chromium's own shrink for content wider than the page): Chromium's fragmentation places every box as printing
does, and the column a heading starts in is its page. The numbers are filled in and the page is printed once,
tagged (accessible: every chart one figure named by its caption) and with the outline; the PDF's named
destinations (which Chromium writes for the targets of the contents' links) are checked against them, and only
if a heading landed elsewhere are the numbers corrected and the page printed again. The numbers sit in boxes of fixed width, so filling them in moves nothing.

The browser is Debian's Chromium (``/usr/bin/chromium``) or the one named by ``$KEURMERK_CHROMIUM``, else
Playwright's own. One :class:`PdfPrinter` keeps one browser and one page for many reports.
"""

from __future__ import annotations

import re
from types import TracebackType

from keurmerk import chromium

__all__ = ["ARGS", "PdfPrinter", "named_destinations", "page_count"]

# The printer's browser: keurmerk.chromium's flags, and V8 collecting garbage on the page's own thread. A batch
# runs one worker, with its browser, per core: helper threads only take time from the other worker.
ARGS = [*chromium.ARGS, "--js-flags=--single-threaded-gc"]

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


def _offsets(pdf: bytes) -> dict[int, int] | None:
    """Object number → offset of its text after ``N 0 obj``, from the cross-reference table (Skia writes a plain
    one); None when there is none or it does not point at the objects it names."""
    at = pdf.rfind(b"startxref")
    found = re.match(rb"startxref\s+(\d+)", pdf[at : at + 40]) if at >= 0 else None
    table = int(found.group(1)) if found else -1
    end = pdf.find(b"trailer", table)
    if table < 0 or not pdf.startswith(b"xref", table) or end < 0:
        return None
    words, offsets, i = pdf[table + 4 : end].split(), {}, 0
    try:
        while i < len(words):
            first, count = int(words[i]), int(words[i + 1])
            entries, i = words[i + 2 : i + 2 + 3 * count], i + 2 + 3 * count
            for k in range(count):
                if entries[3 * k + 2] == b"n":
                    offsets[first + k] = int(entries[3 * k])
    except (IndexError, ValueError):
        return None
    for number, offset in offsets.items():
        head = f"{number} 0 obj".encode()
        if not pdf.startswith(head, offset):
            return None
        offsets[number] = offset + len(head)
    return offsets


def _objects(pdf: bytes) -> dict[int, bytes]:
    """Object number → its text up to ``endobj``, for objects that hold no stream. Found through the
    cross-reference table (else by scanning the file: the bytes of streams make that the slow way)."""
    offsets = _offsets(pdf)
    found = offsets.items() if offsets is not None else ((int(m.group(1)), m.end()) for m in _OBJECT.finditer(pdf))
    objects = {}
    for number, start in found:
        end = pdf.find(b"endobj", start)
        end = end if end >= 0 else len(pdf)
        if pdf.find(b"stream", start, end) < 0:
            objects[number] = pdf[start:end]
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
    """Headless Chromium that prints report HTML to PDF; one browser and one page for many reports (not
    thread-safe).

    ``with PdfPrinter() as printer: pdf = printer.print(html)``

    The page loads the Vega runtime once; every report then replaces the page's document (head and body) and
    runs the report's own drawing code, so the ~1 MB runtime is not parsed again for every report, and each
    chart's Vega-Lite is compiled and parsed once per shape (and checked once), without what only a screen shows
    (tooltips, a description per mark; see ``_LOAD_RUNTIME``). Swapping, drawing, measuring and filling in the
    contents is one call to the browser (``_swap_and_measure``), printing another. The document is shown only
    while it is measured (without what the charts draw inside their boxes) and printed (``_PRINT_EVENTS``). The
    page is replaced every ``reuse`` reports (what a long-lived page may keep). Every ``collect_every`` reports
    the page's garbage is collected: Chromium lets the documents of reports gone pile up to several hundred MB
    before it does so itself (left to V8, one national batch peaked at 4,1 GB instead of 2,6 for a few percent
    less CPU: a collection also drops compiled code).
    """

    def __init__(self, timeout_ms: int = 120_000, reuse: int = 200, collect_every: int = 10):
        self.timeout_ms, self.reuse, self.collect_every = timeout_ms, reuse, collect_every
        self._playwright = None
        self._browser = None
        self._context = None
        self._page = None
        self._devtools = None  # the page's DevTools session: a garbage collection now and then
        self._printed = 0  # reports printed on the current page
        self.passes = 0  # PDFs printed so far: one per report, unless a heading landed off its measured page
        self.reprinted = 0  # reports printed more than once

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
            self._browser = self._playwright.chromium.launch(executable_path=chromium.executable(), args=ARGS)
        except Error as error:
            self.close()
            raise RuntimeError(
                f"Chromium kon niet starten voor de PDF ({error.message.splitlines()[0]}); installeer het "
                f"(apt-get install chromium) of wijs het aan met ${chromium.CHROMIUM_ENV}"
            ) from error

    def close(self) -> None:
        self._drop_page()
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None

    def _drop_page(self) -> None:
        if self._context is not None:
            self._context.close()
        self._context = self._page = self._devtools = None
        self._printed = 0

    def _new_page(self):
        """A page of its own context (offline), laid out as printed: the contents' numbers are measured on it."""
        self.start()
        context = self._browser.new_context(offline=True)
        page = context.new_page()
        page.set_default_timeout(self.timeout_ms)
        page.emulate_media(media="print")
        return context, page

    def _shell(self):
        """The page reports are drawn in, with the Vega runtime loaded (a new one every ``reuse`` reports)."""
        if self._page is not None and self._printed < self.reuse:
            return self._page
        from keurmerk.charts.runtime import runtime_code

        self._drop_page()
        self._context, self._page = self._new_page()
        self._page.set_content(_SHELL, wait_until="load")
        self._page.evaluate(_LOAD_RUNTIME, runtime_code())
        self._page.evaluate(_PRINT_EVENTS)
        self._devtools = self._context.new_cdp_session(self._page)
        return self._page

    def print(self, html: str) -> bytes:
        """The report's PDF: A4, vector charts, page numbers, the contents with the page of each heading."""
        split = _split(html)
        if split is None:  # not a page this printer knows how to split: load it as it is
            return self._print_alone(html)
        page = self._shell()
        self._printed += 1
        try:
            # one call swaps the document in, draws the charts, shows the page, measures and fills the contents
            pages = page.evaluate(_swap_and_measure(), [*split, self.timeout_ms])
            pdf = self._print_pages(page, pages)
            if self._printed % self.collect_every == 0:
                self._devtools.send("HeapProfiler.collectGarbage")
            return pdf
        except Exception:
            self._drop_page()  # a page in an unknown state is not used again
            raise

    def _print_alone(self, html: str) -> bytes:
        context, page = self._new_page()
        try:
            page.set_content(html, wait_until="load")
            page.wait_for_function(_READY)
            return self._print_pages(page, page.evaluate(_measure()))
        finally:
            context.close()

    def _print_pages(self, page, pages: dict[str, int]) -> bytes:
        # One tagged print with the contents' numbers measured (and filled in) on the page as laid out for print;
        # its named destinations say where the headings really landed (again only if they differ).
        layout = {"format": "A4", "print_background": True, "prefer_css_page_size": True}
        pdf = b""
        for attempt in range(4):  # once, unless a heading landed off its measured page
            if attempt:
                page.evaluate(_FILL_TOC, pages)  # the print shows the document again (beforeprint)
            pdf = page.pdf(**layout, outline=True, tagged=True)
            self.passes += 1
            printed = named_destinations(pdf)
            if printed == pages:
                break
            if attempt == 0:
                self.reprinted += 1
            pages = printed
        return pdf


# In the tagged PDF every chart is one figure whose alternative text is its caption. As Vega draws it, every mark
# has its own aria-label ("who: ...; big: 6,5"), which Chromium tags as ~800 nested figures per report: a
# screen reader reads them one by one, the structure tree triples the file and tagging costs more than the
# print itself. What is drawn stays as it is.
_CHARTS_AS_IMAGES = """() => {
  for (const svg of document.querySelectorAll("[data-km-chart] > svg")) {
    const caption = svg.closest("figure")?.querySelector("figcaption")?.textContent;
    svg.setAttribute("role", "img");
    if (caption) svg.setAttribute("aria-label", caption);
    for (const child of svg.children) child.setAttribute("aria-hidden", "true");
  }
}"""
_MEASURE = """() => {
  // The page each contents entry's target starts on (null: the page has no @page rule of a known size): the body
  // as columns the size of a page's content box (print media emulated), so that Chromium's own fragmentation
  // (forced breaks, break-inside: avoid, orphans and widows) places every box as printing would.
  const entries = Array.from(document.querySelectorAll(".km-toc-page[data-for]"), (el) => el.dataset.for);
  let rule = null;
  for (const sheet of document.styleSheets) {
    for (const r of sheet.cssRules) if (r instanceof CSSPageRule && !r.selectorText) rule = r;
  }
  if (!entries.length || rule === null) return null;
  const size = rule.style.getPropertyValue("size").trim().toLowerCase();
  const sizes = { a4: ["210mm", "297mm"], "a4 portrait": ["210mm", "297mm"] };
  if (!(size in sizes)) return null;
  const [pageWidth, pageHeight] = sizes[size];
  const m = (side) => rule.style.getPropertyValue("margin-" + side) || "0px";
  const width = `calc(${pageWidth} - ${m("left")} - ${m("right")})`;
  const height = `calc(${pageHeight} - ${m("top")} - ${m("bottom")})`;
  // page breaks become column breaks while measuring
  const body = document.body, saved = body.getAttribute("style"), forced = new Map();
  for (const el of body.getElementsByTagName("*")) {
    if (el instanceof SVGElement) continue;
    const style = getComputedStyle(el);
    const before = style.breakBefore === "page", after = style.breakAfter === "page";
    if (!before && !after) continue;
    forced.set(el, el.getAttribute("style"));
    if (before) el.style.breakBefore = "column";
    if (after) el.style.breakAfter = "column";
  }
  const restore = (el, style) => (style === null ? el.removeAttribute("style") : el.setAttribute("style", style));
  // Content wider than the page makes Chromium lay the pages out larger by that factor and print them shrunk
  // (Blink's CalculateOverflowShrinkForPrinting: the widest overflow of any page; at most 1.5 here, its maximum
  // shrink 2 over its minimum 4/3): lay out at the page's size first, find that overflow, then again larger.
  const columns = (factor) => {
    body.style.cssText = (saved ?? "") + `;margin:0;padding:0;max-width:none;box-sizing:content-box;` +
      `width:calc(${width} * ${factor});height:calc(${height} * ${factor});column-width:calc(${width} * ${factor});` +
      "column-gap:0;column-fill:auto;overflow:visible";
    const box = body.getBoundingClientRect();
    return [box.left, box.width];
  };
  let [origin, column] = columns(1);
  let widest = column;
  for (const el of body.getElementsByTagName("*")) {
    if (el instanceof SVGElement && !(el instanceof SVGSVGElement)) continue;  // inside a chart: its svg's box
    for (const rect of el.getClientRects()) {
      const left = origin + column * Math.floor((rect.left - origin) / column + 0.01);
      widest = Math.max(widest, rect.right - left);
    }
  }
  const shrink = Math.min(1.5, widest / column);
  if (shrink > 1) [origin, column] = columns(shrink);
  const pages = {};
  for (const anchor of entries) {
    const target = document.getElementById(anchor);
    const rects = target ? target.getClientRects() : [];
    if (rects.length) pages[anchor] = 1 + Math.floor((rects[0].left - origin) / column + 0.01);
  }
  restore(body, saved);
  forced.forEach((style, el) => restore(el, style));
  return pages;
}"""
# The document is shown only while it is measured and printed: between the two (and once printed) Chromium would
# otherwise lay it out and paint it at the window's size, and the print would reuse that paint, drawing the
# contents' dotted leaders once more on every page, outside the page's clip (a third of the PDF and of its
# writing). Printing shows it (beforeprint), and whatever was measured is undone by then. While measuring, what
# the charts draw is not laid out (data-km-measuring): an svg's box is set by its own width and height, and the
# print lays out and styles the document anew anyway.
_PRINT_EVENTS = """() => {
  const measuring = new CSSStyleSheet();
  measuring.replaceSync("html[data-km-measuring] [data-km-chart] svg > * { display: none !important; }");
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, measuring];
  const root = document.documentElement;
  addEventListener("beforeprint", () => {
    delete root.dataset.kmMeasuring;
    root.style.removeProperty("display");
  });
  addEventListener("afterprint", () => { root.style.display = "none"; });
}"""
_SHELL = '<!DOCTYPE html>\n<html lang="nl"><head><meta charset="utf-8"></head><body></body></html>'
# The runtime, loaded once per page, with a vegaEmbed that does once per shape what reports share: reports share
# their charts' specs but for the data, the provider's name (the body's data-km-provider), the values of a few
# top-level parameters (settings such as a subtitle or the bounds of a scale) and sizes that follow the data. A spec
# is keyed by its JSON with its inline data and settings out and the name as a token. The first chart of a key is
# compiled to Vega (and parsed) the usual way and kept as a template; the second is compiled and parsed again,
# which checks the template against the usual way (else the key is always drawn the usual way); later ones are
# drawn from what Vega parsed (its runtime spec) with this chart's data, settings and name put back, so that
# neither Vega-Lite nor Vega's parser runs. That is exact while Vega-Lite and Vega copy strings, data arrays and
# parameter values as they are: a name with quotes or backslashes (escaped differently in expressions) or shorter
# than 3 characters, and data copied or merged, draw the usual way. Views also share the functions Vega compiles
# for their expressions (``printView``). The views of a document are finalized when the next report replaces it.
_LOAD_RUNTIME = """async (code) => {
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  let runtime;
  try { runtime = await import(url); } finally { URL.revokeObjectURL(url); }
  const embed = runtime.vegaEmbed, shapes = new Map(), TOKEN = "\u2063km-provider\u2063";
  const stats = { compiled: 0, checked: 0, reused: 0, runtime: 0, plain: 0, shared: 0 }, views = [];
  const drawn = {};  // figure → how its chart was drawn, in the report shown
  const tally = (el, how) => {
    stats[how]++;
    if (el.dataset.kmChart) drawn[el.dataset.kmChart] = how;
  };
  const setting = (p) => !!p && typeof p === "object" && typeof p.name === "string" && "value" in p &&
    Object.keys(p).every((k) => k === "name" || k === "value");
  const split = (spec, name) => {
    const values = [], settings = [], params = Array.isArray(spec.params) ? spec.params : [];
    let key = JSON.stringify(spec, function (k, v) {
      if (k === "data" && v && typeof v === "object" && Array.isArray(v.values)) {
        values.push(v.values);
        return { ...v, values: values.length - 1 };
      }
      if (k === "value" && params.includes(this) && setting(this)) {
        settings.push([this.name, v]);
        return settings.length - 1;
      }
      return v;
    });
    if (name) key = key.split(name).join(TOKEN);
    return [key, values, settings];
  };
  // What only a reader at a screen gets is left out of the printed charts: tooltips, and the description Vega
  // would otherwise compute for every mark and write into its aria-label (the PDF tags each chart as one image
  // named by its caption, see _CHARTS_AS_IMAGES). What is drawn stays the same.
  const forPrint = (vg) => {
    const visit = (node) => {
      for (const part of ["marks", "axes", "legends"]) {
        for (const item of node[part] || []) {
          item.aria = false;
          for (const set of Object.values(item.encode || {})) {
            if (set && typeof set === "object") { delete set.tooltip; delete set.description; }
          }
          if (part === "marks") visit(item);
        }
      }
    };
    visit(vg);
    return vg;
  };
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  // The compiled Vega spec as a template: the data sets' values and the settings' signal values out, the name as a
  // token; null when they are not found there as they were given.
  const template = (vg, values, settings, name) => {
    const slots = [], signals = [];
    (vg.data || []).forEach((d, to) => { if ("values" in d) slots.push([values.indexOf(d.values), to]); });
    const from = new Set(slots.map(([i]) => i));
    if (from.has(-1) || from.size !== slots.length || slots.length !== values.length) return null;
    for (const [i, [param, value]] of settings.entries()) {
      const at = (vg.signals || []).findIndex((s) => s.name === param && same(s.value, value) &&
        Object.keys(s).every((k) => k === "name" || k === "value"));
      if (at < 0) return null;
      signals.push([i, at]);
    }
    const held = new Set(signals.map(([, at]) => vg.signals[at]));
    let json = JSON.stringify(vg, function (k, v) {
      return (k === "values" && vg.data.includes(this)) || (k === "value" && held.has(this)) ? null : v;
    });
    if (name) json = json.split(name).join(TOKEN);
    return { json, slots, signals, checked: false, runtime: undefined };
  };
  const fill = (json, name) => JSON.parse(name ? json.split(TOKEN).join(name) : json);
  const compiledFrom = (entry, values, settings, name) => {
    const vg = fill(entry.json, name);
    for (const [from, to] of entry.slots) vg.data[to].values = values[from];
    for (const [i, at] of entry.signals) vg.signals[at].value = settings[i][1];
    return vg;
  };
  // What Vega parsed (its runtime spec, plain data) as a template the same way: the data in the collect operators
  // of the data sets, the settings in their signals' operators; null when they are found anywhere else.
  const parsedTemplate = (parsed, vg, entry, name) => {
    if (vg.usermeta !== undefined) return null;  // vegaEmbed reads options from it, in the spec it is given
    const data = new Map(entry.slots.map(([from, to]) => [vg.data[to].values, from]));
    const set = new Map(entry.signals.map(([i, at]) => [vg.signals[at].name, i]));
    const holders = new Set(), slots = [], signals = [];
    (parsed.operators || []).forEach((op, at) => {
      if (op && op.value && typeof op.value === "object" && data.has(op.value.$ingest)) {
        holders.add(op.value);
        slots.push([at, data.get(op.value.$ingest)]);
      } else if (op && set.has(op.signal)) {
        holders.add(op);
        signals.push([at, set.get(op.signal)]);
      }
    });
    let found = slots.length === data.size && signals.length === set.size;
    let json = JSON.stringify(parsed, function (k, v) {
      if (holders.has(this) && (k === "$ingest" || (k === "value" && "signal" in this))) return null;
      if (Array.isArray(v) && data.has(v)) found = false;
      return v;
    });
    if (!found) return null;
    if (name) json = json.split(name).join(TOKEN);
    return { json, slots, signals, checked: false };
  };
  // keeps what Vega parsed for a shape (compiled as vg), or checks it against the one kept
  const keep = (entry, vg, parsed, name) => {
    if (entry.runtime !== null) {
      const made = parsedTemplate(parsed, vg, entry, name), kept = entry.runtime;
      if (!made || (kept !== undefined && made.json !== kept.json)) entry.runtime = null;
      else entry.runtime = kept === undefined ? made : { ...kept, checked: true };
    }
    return parsed;
  };
  const parsedFrom = (template, values, settings, name) => {
    const parsed = fill(template.json, name);
    for (const [at, from] of template.slots) parsed.operators[at].value.$ingest = values[from];
    for (const [at, i] of template.signals) parsed.operators[at].value = settings[i][1];
    return parsed;
  };
  // Vega compiles every expression of a view to a function of its own; views here share them (each bound to its
  // view's own function context, as Vega binds them), so that each is compiled, and optimized, once. PrintView,
  // the views' class, also gives a view the runtime spec a patch left for it (``pending``: vegaEmbed calls the
  // patch, parses and makes the view in one go). False when this Vega has no code generator of the known form.
  const functions = new Map();
  const shared = (ctx, key, make) => {
    let fn = functions.get(key);
    if (fn === undefined) functions.set(key, (fn = make()));
    else stats.shared++;
    return ctx && ctx.functions ? fn.bind(ctx.functions) : fn;
  };
  let PrintView = null, pending = null;
  const printView = (view) => {
    const base = view && view._runtime && view._runtime.expr;
    const kinds = ["operator", "parameter", "event", "handler"];
    if (!base || typeof base.encode !== "function" || kinds.some((k) => typeof base[k] !== "function")) return false;
    const expr = { ...base };
    for (const kind of kinds) expr[kind] = (ctx, e) => shared(ctx, `${kind}:${e.code}`, () => base[kind](null, e));
    expr.encode = (ctx, e) =>
      shared(ctx, `encode:${e.marktype}:${JSON.stringify(e.channels)}`, () => base.encode(null, e));
    return class extends view.constructor {
      constructor(spec, options) {
        const job = pending;
        pending = null;
        super(job ? job(spec) : spec, { ...options, expr });
      }
    };
  };
  // vegaEmbed with the views' class; ``job`` (with that class only) gets the parsed spec and returns the one to use
  const embedded = async (el, spec, opts, job) => {
    if (PrintView) {
      const patch = opts.patch;
      // every patch sets pending, so that one left by a spec Vega failed to parse is never taken by another view
      const patched = (vg) => {
        const out = patch ? patch(vg) : vg;
        pending = job || null;
        return out;
      };
      opts = { ...opts, viewClass: PrintView, patch: patched };
    }
    const result = await embed(el, spec, opts);
    if (PrintView === null) PrintView = printView(result.view);
    return result;
  };
  const plain = (el, spec, opts) => {
    tally(el, "plain");
    return embedded(el, spec, opts.patch ? opts : { ...opts, patch: forPrint });
  };
  async function vegaEmbed(target, spec, opts = {}) {
    // drawn apart from the document and put in at once: a chart drawn in place makes the page lay itself out
    // again while the others draw
    const el = target.cloneNode(false);
    const result = await draw(el, spec, { ...opts, tooltip: false });
    for (const { name, value } of el.attributes) target.setAttribute(name, value);
    target.replaceChildren(...el.childNodes);
    return result;
  }
  async function draw(el, spec, opts) {
    const name = document.body.dataset.kmProvider || "";
    if (!spec || typeof spec !== "object" || "datasets" in spec || opts.mode || opts.patch || opts.config ||
        name.length < 3 || /["'\\\\\\u0000-\\u001f\\u2063]/.test(name)) return plain(el, spec, opts);
    const [key, values, settings] = split(spec, name);
    const entry = shapes.get(key);
    let result;
    if (entry === null) {
      result = await plain(el, spec, opts);
    } else if (entry === undefined) {
      tally(el, "compiled");
      let vg = null;
      const patch = (compiled) => {  // the compiled spec, before Vega parses it
        vg = forPrint(compiled);
        shapes.set(key, template(vg, values, settings, name));
        return vg;
      };
      result = await embedded(el, spec, { ...opts, patch }, (parsed) => {
        const made = shapes.get(key);
        return made ? keep(made, vg, parsed, name) : parsed;
      });
      if (!shapes.has(key)) shapes.set(key, null);
    } else if (!entry.checked) {
      tally(el, "checked");
      let vg = null;
      const patch = (compiled) => {
        vg = forPrint(compiled);
        if (same(vg, compiledFrom(entry, values, settings, name))) entry.checked = true;
        else shapes.set(key, null);
        return vg;
      };
      const job = (parsed) => (entry.checked ? keep(entry, vg, parsed, name) : parsed);
      result = await embedded(el, spec, { ...opts, patch }, job);
    } else if (entry.runtime && entry.runtime.checked) {
      stats.reused++;
      tally(el, "runtime");
      const parsed = parsedFrom(entry.runtime, values, settings, name);
      result = await embedded(el, {}, { ...opts, mode: "vega" }, () => parsed);
    } else {
      tally(el, "reused");
      const vg = compiledFrom(entry, values, settings, name);
      const job = entry.runtime === null ? undefined : (parsed) => keep(entry, vg, parsed, name);
      result = await embedded(el, vg, { ...opts, mode: "vega" }, job);
    }
    views.push(result);
    return result;
  }
  window.__kmVega = { ...runtime, vegaEmbed };
  window.__kmVegaStats = stats;
  window.__kmVegaDrawn = drawn;
  window.__kmFinalize = () => {
    for (const view of views.splice(0)) view.finalize();
    for (const figure of Object.keys(drawn)) delete drawn[figure];
  };
}"""
# The report's document (without its module script) in place of the one shown, then its drawing code with the
# runtime already loaded. The CSP meta is left out: it would only block what this printer does itself. The page
# is not displayed while the charts draw (they draw apart from it; Chromium would lay it out at every frame).
_SWAP = """([html, draw]) => {
  window.__kmFinalize();
  const doc = new DOMParser().parseFromString(html, "text/html");
  for (const el of doc.querySelectorAll("meta[http-equiv]")) el.remove();
  document.documentElement.style.display = "none";
  delete document.documentElement.dataset.kmReady;
  document.documentElement.lang = doc.documentElement.lang;
  document.head.replaceWith(document.adoptNode(doc.head));
  document.body.replaceWith(document.adoptNode(doc.body));
  new Function("__kmVega", draw)(window.__kmVega);
}"""


def _measure() -> str:
    """The page drawn and shown: its charts tagged as images, the contents' page numbers measured and filled in;
    returns them ({} when they cannot be measured). Put together at each call, from the pieces as they are then."""
    return f"""() => {{
  ({_CHARTS_AS_IMAGES})();
  const pages = ({_MEASURE})() || {{}};
  ({_FILL_TOC})(pages);
  return pages;
}}"""


def _draw() -> str:
    """``_SWAP``, resolved once the report's drawing code says it is ready (its charts drawn); the document stays
    hidden."""
    return f"""async ([html, draw, timeout]) => {{
  const root = document.documentElement;
  const ready = new Promise((resolve, reject) => {{
    const late = setTimeout(() => {{
      observer.disconnect();
      reject(new Error(`de figuren waren na ${{timeout}} ms niet getekend`));
    }}, timeout);
    const observer = new MutationObserver(() => {{
      if ({_READY}) {{ observer.disconnect(); clearTimeout(late); resolve(); }}
    }});
    observer.observe(root, {{ attributes: true, attributeFilter: ["data-km-ready"] }});
  }});
  ({_SWAP})([html, draw]);
  await ready;
}}"""


def _measure_shown() -> str:
    """The drawn document shown (the charts' contents not laid out) for ``_measure()``, then hidden until it is
    printed (``_PRINT_EVENTS``); returns the contents' page numbers."""
    return f"""() => {{
  const root = document.documentElement;
  root.dataset.kmMeasuring = "";
  root.style.removeProperty("display");
  const pages = ({_measure()})();
  root.style.display = "none";
  return pages;
}}"""


def _swap_and_measure() -> str:
    """``_draw()``, then ``_measure_shown()``: one round trip to the browser instead of one per step."""
    return f"""async (args) => {{
  await ({_draw()})(args);
  return ({_measure_shown()})();
}}"""


_MODULE = '<script type="module">'


def _split(html: str) -> tuple[str, str] | None:
    """(the page without its module script, the module's code without the inlined runtime: what draws the
    charts); None when the page has not exactly one module script that starts with the runtime."""
    try:
        from keurmerk.report.document import _runtime_module
    except ImportError:  # the page is made another way now: print it as it is
        return None
    runtime = _runtime_module()
    start = html.find(_MODULE)
    code = start + len(_MODULE)
    # the runtime holds no "</script": the module's code ends at the first one after it
    end = html.find("</script>", code + len(runtime)) if start >= 0 and html.startswith(runtime, code) else -1
    if end < 0 or html.find(_MODULE, code) >= 0:
        return None
    return html[:start] + html[end + len("</script>") :], html[code + len(runtime) : end]
