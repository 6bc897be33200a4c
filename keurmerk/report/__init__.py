"""Static reports: a provider's report as one self-contained HTML file or an A4 PDF, for one provider or all.

The report follows the seed report (title page with the highlights, Inleiding, Onderzoek with tables 1.1 and 1.2,
Cliënten, Opdrachtgevers, Inburgering, colophon) and draws every figure with the dashboards' chart functions
from the frames of :func:`keurmerk.metrics.compute_all` — the provider's own view, small groups suppressed.

    from keurmerk.report import write_report, write_all

    write_report("var/demo.duckdb", "P0000", 2021, out="rapporten")             # rapporten/P0000-2021.html
    write_report("var/demo.duckdb", "P0000", 2021, out="rapporten", fmt="pdf")  # rapporten/P0000-2021.pdf
    write_all("var/demo.duckdb", 2021, out="rapporten")                         # every provider, in parallel

Modules: :mod:`~keurmerk.report.outline` (chapters, paragraphs, texts), :mod:`~keurmerk.report.document` (the
HTML), :mod:`~keurmerk.report.pdf` (headless Chromium), :mod:`~keurmerk.report.loader` (all providers' cubes in
one query), :mod:`~keurmerk.report.batch` (all providers on all cores).
"""

from __future__ import annotations

from keurmerk.report.batch import BatchResult, ProviderResult, write_all
from keurmerk.report.document import ReportData, chart_specs, render_html
from keurmerk.report.loader import ProviderCubes, ProviderInfo, providers_in_period
from keurmerk.report.single import FORMATS, report_data, report_filename, write_report

__all__ = [
    "FORMATS",
    "BatchResult",
    "ProviderCubes",
    "ProviderInfo",
    "ProviderResult",
    "ReportData",
    "chart_specs",
    "providers_in_period",
    "render_html",
    "report_data",
    "report_filename",
    "write_all",
    "write_report",
]
