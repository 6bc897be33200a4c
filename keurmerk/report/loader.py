"""Batch loading for reports: every provider's own cube of one period in one read, next to one benchmark cube.

A dashboard kernel loads one provider's cube with :meth:`keurmerk.metrics.CubeSource.load` (one small read per
provider). :class:`ProviderCubes` reads the cells of many providers of one period at once and splits them by
``provider_id``. Both read :func:`keurmerk.metrics.source.provider_cells`: the per-provider cells a publication
stores, or the metrics' own cube queries grouped by provider when none are stored, so a report computed here
has the numbers of the dashboard (tests/test_report_batch.py checks every figure against
:class:`keurmerk.metrics.WarehouseSource`).

Privacy is that of :class:`~keurmerk.metrics.CubeSource`: :meth:`ProviderCubes.source` hands out one provider's
cells and free texts, and the benchmark cube, which has no provider and no free text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from keurmerk.filters import Filters
from keurmerk.metrics import Cube, CubeSource
from keurmerk.metrics.source import PROVIDER, provider_cells, provider_names

__all__ = ["ProviderCubes", "ProviderInfo", "providers_in_period"]


@dataclass(frozen=True)
class ProviderInfo:
    provider_id: str
    name: str


def providers_in_period(con: duckdb.DuckDBPyConnection, period: int) -> list[ProviderInfo]:
    """Every provider with invitations in ``period``, by id, with its name (the id when it has none)."""
    return [ProviderInfo(pid, name or pid) for pid, name in provider_names(con, period=period).items()]


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
        frames = provider_cells(con, filters, providers)  # own invitations, answers, texts
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
