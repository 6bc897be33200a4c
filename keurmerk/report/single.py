"""One provider's report: the frames, the charts, the HTML, and the PDF when asked."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

from keurmerk.filters import Filters
from keurmerk.metrics import Cube, CubeSource, compute_all
from keurmerk.policy import Policy, load_policy
from keurmerk.report.document import ReportData, chart_specs, render_html
from keurmerk.report.loader import ProviderCubes, ProviderInfo, providers_in_period
from keurmerk.report.reactions import granted_by_provider
from keurmerk.warehouse import open_readonly

__all__ = ["FORMATS", "provider_info", "report_data", "report_filename", "write_report"]

FORMATS = ("html", "pdf")


def report_filename(provider_id: str, period: int, fmt: str) -> str:
    """'P0000-2021.html'; anything but letters, digits, '-' and '_' in the id becomes '_' (ids are data)."""
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', provider_id)}-{period}.{fmt}"


def report_data(
    source: CubeSource, provider: ProviderInfo, period: int, policy: Policy, generated: date | None = None
) -> ReportData:
    """Every figure's frame of the provider's own view of ``period`` (small groups suppressed)."""
    frames = compute_all(source, Filters(provider=provider.provider_id, period=period), policy, suppress=True)
    return ReportData(provider.provider_id, provider.name, period, frames, policy, generated or date.today())


def provider_info(con, provider_id: str, period: int) -> ProviderInfo:
    """The provider's id and name; an error when it has no invitations in ``period``."""
    found = [p for p in providers_in_period(con, period) if p.provider_id == provider_id]
    if not found:
        raise LookupError(f"aanbieder {provider_id!r} heeft geen uitnodigingen in periode {period}")
    return found[0]


def write_report(
    db: str | Path,
    provider_id: str,
    period: int,
    out: str | Path = "rapporten",
    fmt: str = "html",
    policy: Policy | None = None,
    generated: date | None = None,
) -> Path:
    """Write one provider's report to ``out/<provider>-<period>.<fmt>`` and return the path."""
    if fmt not in FORMATS:
        raise ValueError(f"onbekend formaat {fmt!r}; kies uit {', '.join(FORMATS)}")
    policy = policy or load_policy()
    with open_readonly(db) as con:
        provider = provider_info(con, provider_id, period)
        cubes = ProviderCubes.load(con, period, [provider_id], benchmark=Cube.load(con))
    data = report_data(cubes.source(provider_id), provider, period, policy, generated)
    data = replace(data, reactions=granted_by_provider(db, period).get(provider_id, ()))  # hoor en wederhoor
    html = render_html(data, chart_specs(data))
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / report_filename(provider_id, period, fmt)
    if fmt == "html":
        path.write_text(html, encoding="utf-8")
    else:
        from keurmerk.report.pdf import PdfPrinter

        with PdfPrinter() as printer:
            path.write_bytes(printer.print(html))
    return path
