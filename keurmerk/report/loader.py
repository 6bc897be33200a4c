"""Batch loading for reports: every provider's own cube of one period in one scan, next to one benchmark cube.

A dashboard kernel loads one provider's cube with :meth:`keurmerk.metrics.CubeSource.load` (one query per
provider). A batch of 500 reports would then scan the answers 500 times; :class:`ProviderCubes` scans them once
per period, grouped by provider as well, and splits the result by ``provider_id``. The cells are those of the
metrics' own cube queries (``keurmerk/metrics/sql/cube_*.sql`` and ``texts.sql``, read from the package and
grouped by provider too), so a report computed here has the numbers of the dashboard
(tests/test_report_loader.py checks every figure against :class:`keurmerk.metrics.WarehouseSource`).

Privacy is that of :class:`~keurmerk.metrics.CubeSource`: :meth:`ProviderCubes.source` hands out one provider's
cells and free texts, and the benchmark cube, which has no provider and no free text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import duckdb
import polars as pl

from keurmerk.filters import Filters
from keurmerk.metrics import Cube, CubeSource

__all__ = ["ProviderCubes", "ProviderInfo", "providers_in_period"]

PROVIDER = "provider_id"


@cache
def _per_provider_sql(name: str) -> str:
    """``keurmerk/metrics/sql/<name>.sql`` with ``i.provider_id`` as its first column (GROUP BY ALL keeps it)."""
    sql = files("keurmerk.metrics").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    grouped, count = re.subn(r"^SELECT\b", "SELECT\n    i.provider_id,", sql, count=1, flags=re.MULTILINE)
    if count != 1:  # the metrics' query changed shape: fail loudly rather than load something else
        raise RuntimeError(f"keurmerk/metrics/sql/{name}.sql: geen SELECT aan het begin van een regel")
    return grouped


def _query(
    con: duckdb.DuckDBPyConnection, name: str, filters: Filters, providers: Sequence[str] | None
) -> pl.DataFrame:
    where, params = filters.to_sql(alias="i")
    if providers is not None:
        where += " AND i.provider_id IN (SELECT unnest($report_providers))"
        params = {**params, "report_providers": list(providers)}
    return con.sql(_per_provider_sql(name).replace("{filters}", where), params=params).pl()


@dataclass(frozen=True)
class ProviderInfo:
    provider_id: str
    name: str


def providers_in_period(con: duckdb.DuckDBPyConnection, period: int) -> list[ProviderInfo]:
    """Every provider with invitations in ``period``, by id, with its name (the id when it has none)."""
    rows = con.execute(
        "SELECT i.provider_id, any_value(p.provider_name) FROM invitations AS i "
        "LEFT JOIN providers AS p USING (provider_id) WHERE i.period = $period "
        "GROUP BY i.provider_id ORDER BY i.provider_id",
        {"period": period},
    ).fetchall()
    return [ProviderInfo(pid, name or pid) for pid, name in rows]


class ProviderCubes:
    """The own cubes and free texts of many providers for one period, loaded with one query per table.

    ``ProviderCubes.load(con, 2021)`` takes every provider; ``providers=[...]`` a subset. ``source(pid)`` gives
    the :class:`~keurmerk.metrics.CubeSource` of one provider, with the shared ``benchmark`` cube.
    """

    def __init__(
        self,
        period: int,
        benchmark: Cube,
        invitations: dict[str, pl.DataFrame],
        answers: dict[str, pl.DataFrame],
        texts: dict[str, pl.DataFrame],
        empty: tuple[pl.DataFrame, ...],
    ):
        self.period, self.benchmark = period, benchmark
        self._invitations, self._answers, self._texts = invitations, answers, texts
        self._empty = empty

    @classmethod
    def load(
        cls,
        con: duckdb.DuckDBPyConnection,
        period: int,
        providers: Sequence[str] | None = None,
        benchmark: Cube | None = None,
    ) -> ProviderCubes:
        benchmark = benchmark or Cube.load(con)
        filters = Filters(period=period)
        frames = [_query(con, name, filters, providers) for name in ("cube_invitations", "cube_answers", "texts")]
        split = [
            {pid: part for (pid,), part in frame.partition_by(PROVIDER, as_dict=True, include_key=False).items()}
            for frame in frames
        ]
        empty = tuple(frame.clear().drop(PROVIDER) for frame in frames)
        return cls(period, benchmark, *split, empty)

    @property
    def provider_ids(self) -> list[str]:
        return sorted(self._invitations)

    def __contains__(self, provider_id: str) -> bool:
        return provider_id in self._invitations

    def source(self, provider_id: str) -> CubeSource:
        """One provider's source: its own cells of this period, its own free texts, the shared benchmark."""
        empty_invitations, empty_answers, empty_texts = self._empty
        own = Cube.from_frames(
            self._invitations.get(provider_id, empty_invitations), self._answers.get(provider_id, empty_answers)
        )
        return CubeSource(self.benchmark, own, self._texts.get(provider_id, empty_texts), provider_id)
