"""Static reports: the seed's Partner in Werk 2021 as HTML and PDF, every figure of the registry, offline.

Partner in Werk (P0000) in the ``tiny`` warehouse reproduces the seed report's table 1.1; the report must print it
exactly, draw a chart or a clear notice for every figure of the registry, escape every data string, open in
Chromium without a single request leaving the machine, and print to an A4 PDF with page numbers and a table of
contents (checked with poppler's ``pdftotext``/``pdfinfo``, as a reader's tools would see it).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest
from browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PageLog, free_port

from keurmerk.catalog import catalog
from keurmerk.metrics import registry
from keurmerk.report import write_report
from keurmerk.report.document import _css_string, _json_for_script, n_line
from keurmerk.report.outline import CHAPTERS, SERVICES_TABLE, placed_figures, unplaced_figures
from keurmerk.report.pdf import named_destinations, page_count
from keurmerk.synth import XSS_PROBE, XSS_PROVIDER

DAY = date(2022, 2, 25)
SEED_TABLE_1_1 = [  # block, label, netto steekproef, ingevuld, respons, rapportcijfer, publicatie (seed report)
    ("Cliënten", "Diagnose, onderzoek en loopbaanoriëntatie", "4", "1", "25,0", "9,0", "nee"),
    ("Cliënten", "Outplacement", "10", "2", "20,0", "8,3", "nee"),
    ("Cliënten", "Toeleiden van werk naar werk (eerste en tweede spoor)", "29", "15", "51,7", "7,9", "ja"),
    ("Cliënten", "Totaal", "43", "18", "41,9", "8,0", "ja"),
    ("Opdrachtgevers", "Totaal", "38", "9", "23,7", "8,2", "ja"),
]


class _Tables(HTMLParser):
    """The rows (cell texts) of the table with data-km="table_1_1", and its header."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = self.in_cell = False
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table" and ("data-km", "table_1_1") in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif tag in ("td", "th"):
            self.in_cell = False

    def handle_data(self, data: str) -> None:
        if self.inside and self.in_cell:
            self.rows[-1][-1] += data


def table_1_1(html: str) -> list[tuple[str, ...]]:
    """(block, label, net, completed, response, grade, publicatie) per row of table 1.1 in the HTML."""
    parser = _Tables()
    parser.feed(html)
    header, *rows = parser.rows
    column = {name.strip(): i for i, name in enumerate(header)}
    picked, block = [], None
    for cells in rows:
        if len(cells) == 1:
            block = cells[0]
            continue
        picked.append(
            (
                block,
                cells[0],
                *(
                    cells[column[c]]
                    for c in ("Netto steekproef", "Ingevuld", "Respons (%)", "Rapportcijfer", "Publicatie")
                ),
            )
        )
    return picked


def charts_json(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="km-charts">(.*?)</script>', html, re.S)
    assert block, "no chart data in the page"
    return json.loads(block.group(1))


@pytest.fixture(scope="module")
def reports(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    write_report(tiny_db, "P0000", 2021, out=out, generated=DAY)
    write_report(tiny_db, XSS_PROVIDER, 2021, out=out, generated=DAY)
    return out


@pytest.fixture(scope="module")
def piw(reports: Path) -> str:
    return (reports / "P0000-2021.html").read_text(encoding="utf-8")


# --- outline ---------------------------------------------------------------------------------------------------
def test_outline_places_every_figure_of_the_registry_once() -> None:
    placed = placed_figures()
    assert len(placed) == len(set(placed))
    front = [f.id for f in catalog().figures if f.section == "samenvatting"]
    assert set(placed) | set(front) == {m.id for m in registry()} | {SERVICES_TABLE}
    assert unplaced_figures() == {}
    assert [c.number for c in CHAPTERS] == ["1", "2", "3", "4", "5"]


# --- the HTML --------------------------------------------------------------------------------------------------
def test_table_1_1_is_printed_as_in_the_seed(piw: str) -> None:
    assert table_1_1(piw) == SEED_TABLE_1_1


def test_structure_follows_the_seed(piw: str) -> None:
    body = piw.split('<script type="application/json"')[0]  # the runtime has its own markup templates
    titles = re.findall(r"<h2>([^<]*)</h2>", body)
    assert titles == [
        "In het kort",
        "Inhoudsopgave",
        "1 Inleiding",
        "2 Onderzoek",
        "3 Onderzoek onder cliënten",
        "4 Opdrachtgevers",
        "5 Inburgering",
        "6 Contact en colofon",
    ]
    for paragraph in (
        "2.1 Opzet en uitvoering",
        "2.3 Respons",
        "3.1 Oordeel van cliënten over Partner in Werk",
        "3.5 Tevredenheid over Partner in Werk",
        "3.7 Klachtafhandeling",
        "4.1 Totaaloordeel",
    ):
        assert f">{paragraph}</h3>" in piw
    assert "meetperiode: 1 januari 2021 tot en met 31 december 2021" in piw
    assert "vrijdag 25 februari 2022" in piw
    # tabel 1.2 lists every dienst; table 1.1's norm verdict and the method text follow the data
    assert piw.count("<td>dienst ") == len(catalog().services)
    assert "Partner in Werk heeft geen gebruikgemaakt van de telefonische optie." in piw
    assert "Voor uw bedrijf zijn in totaal 43 cliënten en 38 opdrachtgever(s) benaderd" in piw
    assert "actuele promotor score van 44,4" in piw
    assert 'data-km="norm"' in piw


def test_every_figure_has_a_chart_or_a_notice(piw: str) -> None:
    charts = charts_json(piw)
    # without inburgering clients the chapter says so and shows a notice per figure (P0000 has none)
    without_inburgering = "geen inburgeringscliënten aangeleverd" in piw
    inburgering = {f.id for f in catalog().figures if f.section == "inburgering"}
    for metric in registry():
        block = re.search(rf'<figure class="km-figure" id="{metric.id}".*?</figure>', piw, re.S)
        assert block, metric.id
        body = block.group(0)
        if metric.chart == "keurmerk_table":
            assert 'data-km="table_1_1"' in body
        elif metric.id in inburgering and without_inburgering:
            assert 'data-km="notice"' in body and "Niet van toepassing." in body
        else:
            assert f'data-km-chart="{metric.id}"' in body and metric.id in charts["specs"], metric.id
    # figures the small-group rule blanks out say so in the chart (fig. 3.4: one diagnosis client)
    assert "te weinig respondenten (n < 5)" in json.dumps(charts["specs"]["fig_3_4"], ensure_ascii=False)


def test_n_under_every_chart(piw: str) -> None:
    for figure_id in charts_json(piw)["specs"]:
        block = re.search(rf'<figure class="km-figure" id="{figure_id}".*?</figure>', piw, re.S).group(0)
        assert 'data-km="n"' in block, figure_id
    fig_3_1 = re.search(r'id="fig_3_1".*?</figure>', piw, re.S).group(0)
    assert re.search(r'data-km="n">n = 18; alle deelnemers: n = \d', fig_3_1)
    assert 'data-km="n">n &lt; 5</div>' in re.search(r'id="fig_3_4".*?</figure>', piw, re.S).group(0)


def test_dutch_numbers_and_the_runtime_inlined_once(piw: str) -> None:
    charts = charts_json(piw)
    assert charts["config"]["locale"]["number"]["decimal"] == ","
    assert charts["embed"]["formatLocale"]["decimal"] == ","
    assert all("config" not in spec for spec in charts["specs"].values())  # the theme travels once
    assert piw.count("const __kmVega = {") == 1 and piw.count("vega.github.io/editor") == 1
    assert "41,9%" in piw and "8,0 (alle deelnemers" in piw
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", piw)  # no external resource at all
    assert "default-src 'none'" in piw


def test_data_strings_are_escaped(reports: Path) -> None:
    html = (reports / f"{XSS_PROVIDER}-2021.html").read_text(encoding="utf-8")
    assert XSS_PROBE not in html
    assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt; &amp; &lt;b&gt;vet&lt;/b&gt;" in html
    assert "<script>alert" not in html.replace('<script type="application/json"', "")
    assert _json_for_script({"a": "</script><b>"}) == '{"a":"\\u003c/script>\\u003cb>"}'
    assert _css_string('Bureau "X" \\ <b>') == '"Bureau \\22 X\\22  \\5c  \\3c b\\3e "'


def test_n_line_rules() -> None:
    from keurmerk.policy import Policy

    policy = Policy()
    shares = pl.DataFrame(
        {"base_n": [3, 3], "bench_base_n": [40, 40], "suppressed": [True, True], "bench_suppressed": [False, False]}
    )
    assert n_line("answer_shares", shares, policy) == "n < 5"
    shown = shares.with_columns(base_n=pl.lit(12), suppressed=pl.lit(False))
    assert n_line("answer_shares", shown, policy) == "n = 12; alle deelnemers: n = 40"
    items = pl.DataFrame(
        {"base_n": [17, 18], "bench_base_n": [70, 73], "suppressed": [False, False], "bench_suppressed": [False, True]}
    )
    assert n_line("satisfaction_items", items, policy) == "n = 17–18 per aspect; alle deelnemers: n = 70"
    assert n_line("answer_shares", shares.clear(), policy) == "n = 0"


def test_unknown_provider_or_period_is_an_error(tiny_db: Path, tmp_path: Path) -> None:
    with pytest.raises(LookupError):
        write_report(tiny_db, "P9999", 2021, out=tmp_path)
    with pytest.raises(LookupError):
        write_report(tiny_db, "P0000", 1999, out=tmp_path)
    with pytest.raises(ValueError):
        write_report(tiny_db, "P0000", 2021, out=tmp_path, fmt="docx")


# --- in Chromium ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(reports: Path) -> Iterator[str]:
    """The report directory over HTTP on 127.0.0.1 (PageLog lets only that host through)."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), functools.partial(Quiet, directory=str(reports)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


@pytest.mark.browser
def test_html_opens_offline_and_draws_every_chart(served: str, piw: str) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Chromium is not installed: apt-get install chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 900, "height": 1200})
            log = PageLog(context)
            page = context.new_page()
            log.attach(page)
            page.goto(f"{served}/P0000-2021.html")
            page.wait_for_function("document.documentElement.dataset.kmReady === '1'", timeout=60_000)
            expected = len(charts_json(piw)["specs"])
            assert page.locator("[data-km-rendered]").count() == expected
            assert page.locator(".km-chart-error").count() == 0
            assert page.locator(".km-chart svg.marks").count() == expected
            fig_3_1 = page.locator("#fig_3_1 svg").first.text_content()
            assert "8,0" in fig_3_1 and "7,9" in fig_3_1  # numbers in the chart read Dutch
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report-P0000-2021.png"), full_page=False)
            assert log.external() == [], log.external()
            assert log.errors == []
            assert log.requests == [f"{served}/P0000-2021.html"]  # the page, nothing else
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.slow
def test_pdf_is_a4_with_page_numbers_contents_and_the_table(tiny_db: Path, tmp_path: Path) -> None:
    for tool in ("pdftotext", "pdfinfo"):
        assert shutil.which(tool), f"{tool} is missing: apt-get install poppler-utils"
    path = write_report(tiny_db, "P0000", 2021, out=tmp_path, fmt="pdf", generated=DAY)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 14 <= pages <= 26, pages
    assert re.search(r"Page size:\s+59[45]\.\d+ x 841\.\d+ pts \(A4\)", info)
    pdf = path.read_bytes()
    assert page_count(pdf) == pages
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    # table 1.1 as in the seed (the PDF adds the corrected grade and the benchmark after the grade)
    for label, *values in [
        ("Diagnose, onderzoek en", "4", "1", "25,0", "9,0"),
        ("Outplacement", "10", "2", "20,0", "8,3"),
        ("Totaal", "43", "18", "41,9", "8,0"),
        ("Totaal", "38", "9", "23,7", "8,2"),
    ]:
        assert re.search(re.escape(label) + r"\s+" + r"\s+".join(map(re.escape, values)) + r"\s", text), label
    assert re.search(r"spoor\)?\s+29\s+15\s+51,7\s+7,9", text) or re.search(r"\s29\s+15\s+51,7\s+7,9\s", text)
    # page numbers in the margin, not on the title page; the contents with the page of each chapter
    assert f"pagina 2 van {pages}" in text and f"pagina {pages} van {pages}" in text
    assert "pagina 1 van" not in text
    dests = named_destinations(pdf)
    assert {"ch-1", "ch-3", "ch-4", "par-3-1"} <= set(dests)
    contents = text.split("Inhoudsopgave", 1)[1]
    assert re.search(rf"3 Onderzoek onder cliënten\s*\.*\s*{dests['ch-3']}\n", contents)
    assert re.search(rf"4 Opdrachtgevers\s*\.*\s*{dests['ch-4']}\n", contents)
    first = subprocess.run(
        ["pdftotext", "-layout", "-f", str(dests["ch-3"]), "-l", str(dests["ch-3"]), str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "3 Onderzoek onder cliënten" in first  # the number points at the chapter's page
    if shutil.which("pdftoppm"):  # a look at the pages for the artifacts
        ARTIFACTS.mkdir(exist_ok=True)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "50",
                "-png",
                "-f",
                "1",
                "-l",
                "3",
                str(path),
                str(ARTIFACTS / "report-P0000-2021-page"),
            ],
            check=True,
        )


def _pdf_text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def _contents_match_headings(pdf: bytes) -> None:
    """Every entry of the contents names the page its heading is on."""
    dests = named_destinations(pdf)
    contents = _pdf_text(pdf).split("Inhoudsopgave", 1)[1]
    for anchor, title in (("ch-3", "3 Onderzoek onder cliënten"), ("ch-4", "4 Opdrachtgevers")):
        assert re.search(rf"{re.escape(title)}\s*\.*\s*{dests[anchor]}\n", contents), (anchor, dests[anchor])


@pytest.mark.browser
@pytest.mark.slow
def test_one_printer_prints_many_reports_as_each_would_alone(tiny_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The printer reuses its page (the runtime loaded once, each chart shape compiled and parsed once, checked
    once, then drawn from what Vega parsed) and measures the contents' page numbers before its one print: every
    chart is the SVG the page loaded on its own draws (but for the accessibility attributes, which the printer
    leaves out: the PDF tags each chart as one image), every PDF the one it prints, with the right numbers in its
    contents; a wrong measurement is found out in the PDF and corrected by a second print."""
    from keurmerk.report import pdf as pdf_module
    from keurmerk.report.pdf import PdfPrinter

    # the third report has every setting of its charts given (subtitles, bounds), and other values than the first
    pages = [_report_pages(tiny_db, 4)[i] for i in (0, 1, 3)]
    charts = (
        "() => Array.from(document.querySelectorAll('[data-km-chart]'), (el) => [el.dataset.kmChart, el.innerHTML])"
    )
    # as printed: each chart's SVG one image named by its caption, its marks hidden (what the page alone draws
    # once that is undone)
    printed_charts = """() => Array.from(document.querySelectorAll('[data-km-chart]'), (el) => {
      const svg = el.querySelector(':scope > svg');
      const caption = el.closest('figure').querySelector('figcaption').textContent;
      if (svg.getAttribute('role') !== 'img' || svg.getAttribute('aria-label') !== caption) return [el.dataset.kmChart, ''];
      const copy = el.cloneNode(true), bare = copy.querySelector(':scope > svg');
      bare.removeAttribute('role'), bare.removeAttribute('aria-label');
      for (const child of bare.children) child.removeAttribute('aria-hidden');
      return [el.dataset.kmChart, copy.innerHTML];
    })"""
    ids = re.compile(r"(clip|gradient|pattern)[_-]?\d+")  # Vega numbers these per page
    accessibility = re.compile(r' (?:aria-[a-z]+|role)="[^"]*"')  # Vega's per-mark descriptions, on screen only

    def labelled(svg: str) -> list[str]:
        return re.findall(r'<[^>]*\baria-label="[^"]*"[^>]*>', svg)

    def drawing(svg: str) -> str:
        return accessibility.sub("", ids.sub(r"\1", svg))

    with PdfPrinter() as printer:
        shared, drawn = [], []
        for html in pages:
            shared.append(printer.print(html))
            printed = dict(printer._shell().evaluate(printed_charts))
            # no mark has a description (titles aside): the printer left out what Vega computes per mark for a
            # screen reader
            assert not [tag for svg in printed.values() for tag in labelled(svg) if "role-title" not in tag]
            drawn.append({k: drawing(v) for k, v in printed.items()})
            assert shared[-1].count(b"/Alt") == len(drawn[-1])  # the tagged PDF: one named figure per chart
        assert (printer.passes, printer.reprinted) == (3, 0)  # every number measured right: one print each
        # the second report's charts were checked against their shapes compiled and parsed for the first, most of
        # the third's were drawn from what Vega parsed (no Vega-Lite, no parser), every view sharing the expression
        # functions compiled before
        stats = printer._shell().evaluate("window.__kmVegaStats")
        assert stats["checked"] >= len(drawn[1]) * 3 // 4 and stats["runtime"] >= len(drawn[2]) // 2, stats
        assert stats["shared"] > 1000, stats
        monkeypatch.setattr(pdf_module, "_MEASURE", '() => ({"ch-3": 99, "ch-4": 1})')
        corrected = printer.print(pages[-1])  # a wrong measurement is found out and corrected
        assert (printer.passes, printer.reprinted) == (5, 1)
    with PdfPrinter() as alone:
        own_pdfs, own_drawn = [], []
        for html in pages:  # each page loaded as the file it is: its own runtime, every chart compiled
            context, page = alone._new_page()
            page.set_content(html, wait_until="load")
            page.wait_for_function("document.documentElement.dataset.kmReady === '1'")
            on_screen = dict(page.evaluate(charts))
            assert all(any("role-title" not in tag for tag in labelled(svg)) for svg in on_screen.values())
            own_drawn.append({k: drawing(v) for k, v in on_screen.items()})
            context.close()
            own_pdfs.append(alone._print_alone(html))
    assert drawn == own_drawn  # the same SVG, chart by chart
    for pdf, own in zip(shared, own_pdfs, strict=True):
        assert _pdf_text(pdf) == _pdf_text(own)
        assert page_count(pdf) == page_count(own) and named_destinations(pdf) == named_destinations(own)
        _contents_match_headings(pdf)
    assert _pdf_text(corrected) == _pdf_text(shared[-1])
    _contents_match_headings(corrected)


@pytest.mark.browser
@pytest.mark.slow
def test_a_shape_that_compiles_otherwise_is_drawn_the_usual_way(tiny_db: Path) -> None:
    """A chart shape is checked once against the usual way (compiled and parsed again) before later charts are
    drawn from it. Vega-Lite merges inline data sets that are equal: the same shape with equal layers compiles to
    another spec, which the check finds, and that shape is drawn the usual way from then on, as the page alone
    draws it."""
    from keurmerk.report.pdf import PdfPrinter

    def layered(first: list[dict], second: list[dict]) -> dict:
        encoding = {"x": {"field": "x", "type": "nominal"}, "y": {"field": "y", "type": "quantitative"}}
        return {"layer": [{"data": {"values": first}, "mark": "bar", "encoding": encoding},
                          {"data": {"values": second}, "mark": "tick", "encoding": encoding}]}  # fmt: skip

    layers = [  # apart, equal (merged by Vega-Lite), apart
        ([{"x": "a", "y": 1}], [{"x": "a", "y": 2}]),
        ([{"x": "b", "y": 3}], [{"x": "b", "y": 3}]),
        ([{"x": "c", "y": 4}], [{"x": "c", "y": 5}]),
    ]
    pages = []
    for html, (first, second) in zip(_report_pages(tiny_db, 3), layers, strict=True):
        charts = charts_json(html)
        figure = next(iter(charts["specs"]))
        charts["specs"][figure] = layered(first, second)
        block = re.search(r'<script type="application/json" id="km-charts">.*?</script>', html, re.S)
        new = f'<script type="application/json" id="km-charts">{_json_for_script(charts)}</script>'
        pages.append(html[: block.start()] + new + html[block.end() :])
    chart = f"() => document.querySelector('[data-km-chart=\"{figure}\"] > svg').outerHTML"
    bare = re.compile(r' (?:aria-[a-z]+|role)="[^"]*"|(clip|gradient)[_-]?\d+')
    with PdfPrinter() as printer:
        drawn, how = [], []
        for html in pages:
            printer.print(html)
            drawn.append(bare.sub(r"\1", printer._shell().evaluate(chart)))
            how.append(printer._shell().evaluate(f"window.__kmVegaDrawn['{figure}']"))
        alone = []
        for html in pages:
            context, page = printer._new_page()
            page.set_content(html, wait_until="load")
            page.wait_for_function("document.documentElement.dataset.kmReady === '1'")
            alone.append(bare.sub(r"\1", page.evaluate(chart)))
            context.close()
    assert drawn == alone
    assert how == ["compiled", "checked", "plain"]  # the check found another spec: drawn the usual way since


@pytest.mark.browser
def test_printer_pages_collect_their_garbage_on_their_own_thread() -> None:
    """The printer's pages run V8 without garbage collection helper threads: a batch runs one worker per core."""
    import psutil

    from keurmerk.report.pdf import PdfPrinter

    with PdfPrinter() as printer:
        printer._shell()
        renderers = [p.cmdline() for p in psutil.Process().children(recursive=True) if "--type=renderer" in p.cmdline()]
    assert renderers and all("--js-flags=--single-threaded-gc" in line for line in renderers)


def _page_contents(pdf: bytes) -> list[bytes]:
    """Each page's content stream, inflated, in page order (Chromium writes one per page)."""
    import zlib

    from keurmerk.report.pdf import _objects, _pages

    objects, streams = _objects(pdf), []
    for number in _pages(objects):
        ref = re.search(rb"/Contents\s+(\d+) 0 R", objects[number]).group(1)
        head = re.search(rb"(?:^|[\r\n])" + ref + rb" 0 obj\s*<<(.*?)>>\s*stream\r?\n", pdf, re.S)
        length = int(re.search(rb"/Length (\d+)", head.group(1)).group(1))
        streams.append(zlib.decompress(pdf[head.end() : head.end() + length]))
    return streams


@pytest.mark.browser
@pytest.mark.slow
def test_report_is_shown_only_to_be_measured_and_printed(tiny_db: Path) -> None:
    """Between measuring and printing, and once printed, a report's document is hidden: Chromium would otherwise
    lay it out and paint it at the window's size, and the print would reuse that paint (the contents' dotted
    leaders drawn again, clipped away, on every page). While measured, the charts' contents are not laid out. The
    print shows it whole; so does a second print of the same report (the contents corrected)."""
    from keurmerk.report.pdf import PdfPrinter, _split, _swap_and_measure

    pages = _report_pages(tiny_db, 2)
    shown = "getComputedStyle(document.documentElement).display"
    with PdfPrinter() as printer:
        texts = []
        for html in pages:
            pdf = printer.print(html)
            assert printer._shell().evaluate(shown) == "none"
            texts.append(_pdf_text(pdf))
            # the leaders (1 x 1 squares) are drawn on the contents' page alone
            squares = [len(re.findall(rb"\n\S+ \S+ 1 1 re\nf", page)) for page in _page_contents(pdf)]
            contents = named_destinations(pdf)["ch-1"] - 1  # the page before chapter 1
            assert squares[contents - 1] > 100 and sum(squares) == squares[contents - 1], squares
        page = printer._shell()
        measured = page.evaluate(_swap_and_measure(), [*_split(pages[0]), 60_000])
        assert measured and page.evaluate(shown) == "none"
        assert page.evaluate("document.documentElement.dataset.kmMeasuring") == ""
        again = printer._print_pages(page, {"ch-3": 99})  # a wrong number: printed a second time
        assert page.evaluate(shown) == "none"
        assert page.evaluate("document.documentElement.dataset.kmMeasuring") is None
    assert all("Inhoudsopgave" in text and "3 Onderzoek onder cliënten" in text for text in texts)
    assert _pdf_text(again) == texts[0]  # the charts' contents too (their labels)
    _contents_match_headings(again)


_MEASURED_PAGE = """<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><style>
@page { size: A4; margin: 20mm 15mm 25mm 15mm; }
body { font: 11pt sans-serif; } section { break-before: page; } .keep { break-inside: avoid; height: 70mm; }
p { orphans: 3; widows: 3; } table { border-collapse: collapse; } td { padding: 2px 8px; white-space: nowrap; }
</style></head><body><nav><h2>Inhoud</h2><ol>ENTRIES</ol></nav>SECTIONS
<script>document.documentElement.dataset.kmReady = "1";</script></body></html>"""


@pytest.mark.browser
@pytest.mark.parametrize("wide", [0, 9, 16], ids=["fits", "wider-than-the-page", "wider-than-chromium-shrinks"])
def test_contents_numbers_are_measured_as_printed(wide: int) -> None:
    """The page numbers measured before printing are those the print gives: forced breaks, boxes that may not
    break, paragraphs split across pages, and content wider than the page (which Chromium prints shrunk)."""
    from keurmerk.report.pdf import PdfPrinter

    entries, sections = [], []
    for i in range(8):
        entries.append(f'<li><a href="#s{i}">Deel {i}</a><span class="km-toc-page" data-for="s{i}"></span></li>')
        body = [f'<h2 id="s{i}">Deel {i}</h2>']
        for j in range(1 + i % 4):
            body.append(
                f'<h3 id="s{i}-{j}">Stuk {i}.{j}</h3>'
                + "<p>"
                + "Een zin over niets in het bijzonder. " * (40 + 25 * j)
                + "</p>"
            )
            entries.append(
                f'<li><a href="#s{i}-{j}">Stuk {i}.{j}</a><span class="km-toc-page" data-for="s{i}-{j}"></span></li>'
            )
            body.append(f'<div class="keep" id="k{i}-{j}">vast blok</div>')
            entries.append(
                f'<li><a href="#k{i}-{j}">Blok {i}.{j}</a><span class="km-toc-page" data-for="k{i}-{j}"></span></li>'
            )
        if wide and i == 3:
            body.append("<table><tr>" + "".join(f"<td>kolom nummer {k}</td>" for k in range(wide)) + "</tr></table>")
        sections.append(f"<section>{''.join(body)}</section>")
    html = _MEASURED_PAGE.replace("ENTRIES", "".join(entries)).replace("SECTIONS", "".join(sections))
    with PdfPrinter() as printer:
        pdf = printer.print(html)
        assert (printer.passes, printer.reprinted) == (1, 0)
    dests = named_destinations(pdf)
    assert len(dests) == len(entries) and max(dests.values()) >= 12, dests
    text = _pdf_text(pdf)
    if wide:  # printed shrunk: the wide row is on one page
        assert "kolom nummer 0" in text
    assert "Blok 7.3" in text


@pytest.mark.browser
def test_pdf_objects_are_found_through_the_cross_reference_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PDF's objects are found through its cross-reference table, as scanning the whole file finds them; a table
    that does not point at its objects is not used."""
    from keurmerk.report import pdf as pdf_module
    from keurmerk.report.pdf import PdfPrinter

    links = "".join(f'<p><a href="#s{i}">Deel {i}</a></p>' for i in range(4))
    sections = "".join(f'<section style="break-before: page"><h2 id="s{i}">Deel {i}</h2></section>' for i in range(4))
    with PdfPrinter() as printer:
        context, page = printer._new_page()
        page.set_content(f"<!DOCTYPE html><html><body>{links}{sections}</body></html>")
        pdf = page.pdf(format="A4", tagged=True, outline=True)
        context.close()
    assert pdf_module._offsets(pdf) is not None
    found = pdf_module._objects(pdf)
    assert named_destinations(pdf) == {"s0": 2, "s1": 3, "s2": 4, "s3": 5} and page_count(pdf) == 5
    table = int(re.search(rb"startxref\s+(\d+)", pdf).group(1))
    moved = pdf.replace(b"startxref\n%d" % table, b"startxref\n%d" % (table - 1))
    assert moved != pdf and pdf_module._offsets(moved) is None and pdf_module._objects(moved) == found
    monkeypatch.setattr(pdf_module, "_offsets", lambda pdf: None)  # scanned
    assert pdf_module._objects(pdf) == found


def test_report_page_splits_into_document_and_drawing_code(piw: str) -> None:
    """The printer takes a report's module script (the runtime, then the drawing code) out of the page; a page with
    another module script is printed as it is."""
    from keurmerk.report.document import _runtime_module
    from keurmerk.report.pdf import _split

    document, drawing = _split(piw)
    assert '<script type="module">' not in document and _runtime_module() not in document
    assert document.endswith("</body></html>\n") and 'id="km-charts"' in document
    assert drawing.lstrip().startswith("const kmCharts") and "kmReady" in drawing and "</script" not in drawing
    assert _split(piw.replace("</body>", '<script type="module">1</script></body>')) is None
    assert _split(piw.replace('<script type="module">', '<script type="module">//', 1)) is None


def test_contact_chapter_follows_the_policy(tiny_db: Path, tmp_path: Path) -> None:
    """Who answers questions is a setting (the seed names the research bureau's helpdesk), escaped like data."""
    from keurmerk.policy import Policy

    policy = Policy(contact_organisation="Bureau <Onderzoek>", contact_details="helpdesk@bureau.nl, 079 – 322 29 97")
    html = write_report(tiny_db, "P0000", 2021, out=tmp_path, policy=policy, generated=DAY).read_text(encoding="utf-8")
    colophon = html[html.index('data-chapter="colofon"') :]
    assert "contact opnemen met Bureau &lt;Onderzoek&gt; (helpdesk@bureau.nl, 079 – 322 29 97)" in colophon
    assert "Bureau <Onderzoek>" not in html
    assert "Stichting Blik op Werk" not in colophon


def test_front_page_lists_and_the_rules_as_the_seed_words_them(piw: str) -> None:
    """Issue 11: the seed's two lists (and their mirror sentences), the pie, the correction's wording, and the
    significance marker and the small-group rule explained once."""
    from html import escape

    from keurmerk.metrics import texts
    from keurmerk.policy import load_policy

    assert "De medewerkers van Partner in Werk scoren relatief goed op het volgende punt:" in piw
    assert "Partner in Werk scoort relatief goed op de volgende punten:" in piw
    assert "scoort op geen enkel punt relatief minder goed ten opzichte van alle deelnemers." in piw
    assert "front_pie" in charts_json(piw)["specs"]
    assert "ongeacht of het om een 1 gaat of om een 5" in piw
    assert piw.count(escape(texts.significance_note(), quote=False)) == 1
    assert escape(texts.small_group_rule(load_policy())) in piw


def _report_pages(db: Path, count: int) -> list[str]:
    """The HTML reports of the first ``count`` providers of 2021, as the PDF batch renders them."""
    from keurmerk.metrics import Cube
    from keurmerk.policy import load_policy
    from keurmerk.report import chart_specs, render_html, report_data
    from keurmerk.report.loader import ProviderCubes, providers_in_period
    from keurmerk.warehouse import open_readonly

    with open_readonly(db) as con:
        providers = providers_in_period(con, 2021)[:count]
        cubes = ProviderCubes.load(con, 2021, [p.provider_id for p in providers], Cube.load(con))
        sources = [cubes.source(p.provider_id) for p in providers]
    return [render_html(data, chart_specs(data)) for data in (
        report_data(source, p, 2021, load_policy(), DAY) for source, p in zip(sources, providers, strict=True))]
