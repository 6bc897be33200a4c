"""Export every figure of one provider's report as data: JSON, CSV or Parquet (format: docs/export-format.md).

The export is the provider's own view: the small-group rule applies (table 1.1 is always complete), free texts
are the provider's own, and the benchmark is the aggregate of all providers under the same filters.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from keurmerk.catalog import catalog
from keurmerk.filters import Filters
from keurmerk.metrics import WarehouseSource, compute_all
from keurmerk.metrics.source import provider_names
from keurmerk.policy import Policy
from keurmerk.warehouse import open_readonly

__all__ = ["FORMATS", "export", "export_frames"]

FORMATS = ("json", "csv", "parquet")


def _provider_view(db_path: str | Path, provider_id: str, period: int, service: int | None,
                   province: str | None, policy: Policy | None) -> tuple[str, dict[str, pl.DataFrame]]:
    """(provider name, every figure's frame of the provider's view)."""
    with open_readonly(db_path) as con:
        found = provider_names(con, [provider_id], invited=True)
        if not found:
            raise LookupError(f"onbekende aanbieder {provider_id!r}: geen uitnodigingen in {db_path}")
        filters = Filters(provider=provider_id, period=period, services=() if service is None else (service,),
                          provinces=() if province is None else (province,))
        return found[provider_id] or provider_id, compute_all(WarehouseSource(con), filters, policy)


def export_frames(db_path: str | Path, provider_id: str, period: int, service: int | None = None,
                  province: str | None = None, policy: Policy | None = None) -> dict[str, pl.DataFrame]:
    """Every figure's frame of the provider's view, keyed by figure id in report order."""
    return _provider_view(db_path, provider_id, period, service, province, policy)[1]


def _json(frames: dict[str, pl.DataFrame]) -> str:
    return json.dumps({figure_id: frame.to_dicts() for figure_id, frame in frames.items()}, ensure_ascii=False,
                      indent=1)


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV has no lists: a list column (free texts) becomes a JSON array in one cell."""
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    return frame.with_columns(
        pl.col(c).map_elements(lambda v: json.dumps(list(v), ensure_ascii=False), return_dtype=pl.String)
        for c in lists
    )


def export(db_path: str | Path, provider_id: str, period: int, service: int | None = None,
           province: str | None = None, fmt: str = "json", out: str | Path | None = None,
           policy: Policy | None = None) -> Path | str:
    """Write every figure's frame of ``provider_id`` in ``period`` (optionally one dienst / province).

    - ``json``: one object whose keys are the figure ids, each a list of rows; written to ``out``, or returned
      as text when ``out`` is None.
    - ``csv`` / ``parquet``: a directory ``out`` (default ``export-<provider>-<period>``) with one file per
      figure (``table_1_1.csv`` …) and ``index.<ext>`` listing figure, number, title, chart kind, file and rows.

    Returns the path written (or the JSON text).
    """
    if fmt not in FORMATS:
        raise ValueError(f"onbekend formaat {fmt!r}; kies uit {', '.join(FORMATS)}")
    provider_name, frames = _provider_view(db_path, provider_id, period, service, province, policy)
    if fmt == "json":
        text = _json(frames)
        if out is None:
            return text
        Path(out).write_text(text + "\n", encoding="utf-8")
        return Path(out)
    directory = Path(out) if out is not None else Path(f"export-{provider_id}-{period}")
    directory.mkdir(parents=True, exist_ok=True)
    name = catalog().figure
    index = []
    for figure_id, frame in frames.items():
        path = directory / f"{figure_id}.{fmt}"
        if fmt == "csv":
            _flat(frame).write_csv(path)
        else:
            frame.write_parquet(path)
        figure = name(figure_id)
        index.append({"figure_id": figure_id, "number": figure.number, "title": figure.caption(provider_name),
                      "chart": figure.chart, "file": path.name, "rows": frame.height})
    index_frame = pl.DataFrame(index)
    if fmt == "csv":
        index_frame.write_csv(directory / "index.csv")
    else:
        index_frame.write_parquet(directory / "index.parquet")
    return directory
