"""Downloads from a dashboard: the report of the current selection as PDF, every figure as an Excel sheet, the
staff table as Excel or CSV, and "Afdrukken" (every chapter built, then the browser's print).

:class:`DownloadButton` is a real button; the kernel makes the file when it is clicked and sends the bytes over
the widget's comm, the browser saves them (nothing leaves the machine, no file is left on the server). The PDF is
the report of ``keurmerk report`` (:mod:`keurmerk.report.document`, printed by :class:`keurmerk.report.pdf.PdfPrinter`)
drawn from the dashboard's own frames, so it shows exactly the selection, named on its title page.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import anywidget
import polars as pl
import traitlets

from keurmerk.catalog import catalog
from keurmerk.filters import Filters
from keurmerk.metrics.registry import figure_kind
from keurmerk.policy import Policy

__all__ = [
    "CSV",
    "PDF",
    "XLSX",
    "DownloadButton",
    "figures_workbook",
    "file_stem",
    "report_pdf",
    "table_csv",
    "table_workbook",
]

_STATIC = Path(__file__).resolve().parent / "static"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
MadeFile = tuple[str, str, bytes]  # (filename, mime type, content)


class DownloadButton(anywidget.AnyWidget):
    """``make`` returns (filename, mime, bytes); slow work (``slow=True``: the PDF's Chromium) runs in a thread,
    so the kernel keeps answering the page meanwhile. ``action="print"``: ``make`` prepares the page and
    returns the number of charts on it; the browser prints once that many are drawn."""

    _esm = _STATIC / "download.js"

    label = traitlets.Unicode("").tag(sync=True)
    action = traitlets.Unicode("download").tag(sync=True)

    def __init__(self, label: str, make: Callable[[], Any], *, slow: Callable[[Any], MadeFile] | None = None,
                 action: str = "download", **kwargs: Any):
        super().__init__(label=label, action=action, **kwargs)
        self._make, self._slow = make, slow
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "keurmerk:file?":
            return
        try:
            made = self._make()
        except Exception as error:  # noqa: BLE001 - the visitor gets a Dutch line, not a traceback
            self._failed(error)
            return
        if self.action == "print":  # ``made``: how many charts the page will show, all to be drawn first
            self.send({"type": "keurmerk:print", "charts": int(made or 0)})
            return
        if self._slow is None:
            self._deliver(made)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # plain Python (tests): at once
            self._deliver(self._slow(made))
            return
        future = loop.run_in_executor(None, self._slow, made)
        future.add_done_callback(self._done)

    def _done(self, future: asyncio.Future) -> None:
        if (error := future.exception()) is not None:
            self._failed(error)
        else:
            self._deliver(future.result())

    def _deliver(self, made: MadeFile) -> None:
        filename, mime, content = made
        self.send({"type": "keurmerk:file", "filename": filename, "mime": mime}, buffers=[content])

    def _failed(self, error: BaseException) -> None:
        self.send({"type": "keurmerk:error", "message": "Het bestand kon niet worden gemaakt. Probeer het later opnieuw."})
        import logging

        logging.getLogger(__name__).exception("download", exc_info=error)


def file_stem(provider_id: str, filters: Filters) -> str:
    """'P0000-2019-2021' (ids are data: anything but letters, digits, '-' and '_' becomes '_')."""
    first, last = filters.periods or ("alle", "perioden")
    period = str(first) if first == last else f"{first}-{last}"
    extra = "-selectie" if filters.active() else ""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{provider_id}-{period}{extra}")


# --- the report of the selection -------------------------------------------------------------------------------
def report_html(provider_id: str, provider_name: str, filters: Filters, frames: Mapping[str, pl.DataFrame],
                policy: Policy) -> str:
    """The report's HTML (the code of ``keurmerk report``) for the dashboard's frames, the selection on its title
    page. Runs in the kernel's own thread: Altair's theme switch is process-wide."""
    from keurmerk.report.document import ReportData, chart_specs, render_html

    first, last = filters.periods or (None, None)
    data = ReportData(provider_id, provider_name, last or date.today().year, dict(frames), policy,
                      selection=filters.describe())
    return render_html(data, chart_specs(data))


def report_pdf(html: str) -> bytes:
    """Print the report's HTML with Debian's Chromium (thread-safe: one browser per call)."""
    from keurmerk.report.pdf import PdfPrinter

    with PdfPrinter() as printer:
        return printer.print(html)


# --- every figure as a sheet -----------------------------------------------------------------------------------
def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Excel has no lists: free texts become one cell, separated by ' | '."""
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    return frame.with_columns(pl.col(c).list.join(" | ") for c in lists)


def figures_workbook(provider_name: str, filters: Filters, frames: Mapping[str, pl.DataFrame]) -> bytes:
    """One sheet per figure (as ``keurmerk export`` writes one file per figure) after a sheet "Inhoud" that names
    the provider, the selection and every sheet."""
    import xlsxwriter

    buffer = io.BytesIO()
    figures = {f.id: f for f in catalog().figures}
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as book:
        bold = book.add_format({"bold": True})
        index = book.add_worksheet("Inhoud")
        index.write(0, 0, f"Tevredenheidsonderzoek Blik op Werk — {provider_name}", bold)
        index.write(1, 0, f"Selectie: {filters.describe()}")
        index.write(2, 0, "Kleine groepen (minder dan het minimum aantal respondenten) zijn leeg gelaten.")
        index.write_row(4, 0, ["Blad", "Figuur", "Titel", "Rijen"], bold)
        for row, (figure_id, frame) in enumerate(frames.items(), start=5):
            figure = figures[figure_id]
            sheet = (figure.number and f"{'Tabel' if figure_kind(figure.chart).table else 'Figuur'} {figure.number}"
                     or figure_id)[:31]
            index.write_row(row, 0, [sheet, figure.number or "", figure.caption(provider_name), frame.height])
            flat = _flat(frame)
            flat.write_excel(workbook=book, worksheet=sheet, position="A3", autofit=False,
                             table_style="Table Style Light 1", float_precision=1)
            book.get_worksheet_by_name(sheet).write(0, 0, figure.caption(provider_name), bold)
        index.set_column(0, 0, 16)
        index.set_column(2, 2, 90)
    return buffer.getvalue()


# --- the staff table -------------------------------------------------------------------------------------------
def table_csv(frame: pl.DataFrame) -> bytes:
    """CSV for Excel in a Dutch locale: ';' between fields, ',' as decimal mark, UTF-8 with BOM."""
    text = frame.write_csv(separator=";", decimal_comma=True)
    return ("\ufeff" + text).encode("utf-8")


def table_workbook(frame: pl.DataFrame, title: str, selection: str) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as book:
        frame.write_excel(workbook=book, worksheet="Aanbieders", position="A4", autofit=True, float_precision=1)
        sheet = book.get_worksheet_by_name("Aanbieders")
        sheet.write(0, 0, title, book.add_format({"bold": True}))
        sheet.write(1, 0, f"Selectie: {selection}")
    return buffer.getvalue()

