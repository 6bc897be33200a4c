"""Where the rows come from: one step, :func:`select`, turns (source, Filters) into a :class:`Selection`.

A Selection holds the provider's cells and the benchmark's cells, already filtered and aggregated to the grain
the figures need, as small polars frames. Every metric is a pure function of a Selection, so the same numbers come
out whichever source made it:

- :class:`WarehouseSource` pushes filtering and aggregation down to DuckDB: one scan of the invitations and one of
  the answers per selection (the provider's rows flagged, the benchmark summed over all rows). Good for one-off
  work: exports, static reports, notebooks.
- :class:`CubeSource` is the dashboard kernel: it loads the benchmark cube (counts per period, form, dienst,
  province, questionnaire, question and answer — no provider, no respondent) once, before it knows the provider,
  and the provider's own cube after; a filter change then only filters and sums small frames in memory.

Privacy: a Selection carries the provider's own aggregates, the benchmark's aggregates and the provider's own
free-text answers; it never holds another provider's rows or words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from keurmerk.filters import Filters
from keurmerk.warehouse import catalog_frames, open_readonly

__all__ = [
    "ANSWER_KEYS",
    "INVITATION_KEYS",
    "BenchmarkCube",
    "CubeSource",
    "Selection",
    "Source",
    "WarehouseSource",
    "select",
]

INVITATION_KEYS = ("form", "audience", "service", "province", "mode", "reminded", "status", "completed")
ANSWER_KEYS = ("form", "service", "question_id", "value", "tenths")

_INVITATION_SCHEMA = {
    "side": pl.String, "form": pl.String, "audience": pl.String, "service": pl.Int16, "province": pl.String,
    "mode": pl.String, "reminded": pl.Boolean, "status": pl.String, "completed": pl.Boolean, "n": pl.Int64,
}
_ANSWER_SCHEMA = {
    "side": pl.String, "form": pl.String, "service": pl.Int16, "question_id": pl.String, "value": pl.String,
    "tenths": pl.Int32, "n": pl.Int64,
}
_TEXT_SCHEMA = {"form": pl.String, "parent": pl.String, "question_id": pl.String, "value": pl.String}


@cache
def _sql(name: str) -> str:
    return files("keurmerk.metrics").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def _query(con: duckdb.DuckDBPyConnection, name: str, where: str, params: dict[str, Any]) -> pl.DataFrame:
    """Run metrics/sql/<name>.sql with a WHERE clause made by Filters.to_sql (placeholders only)."""
    return con.sql(_sql(name).replace("{filters}", where), params=params).pl()


@dataclass(frozen=True)
class Selection:
    """The cells behind every figure for one Filters: ``side`` is ``own`` (the provider) or ``bench``.

    - ``invitations``: side, form, audience, service, province, mode, reminded, status, completed, n
    - ``answers`` (completed questionnaires only, no free text): side, form, service, question_id, value
      (category label or 'n.v.t.'; null for a grade), tenths (a grade × 10; null otherwise), n
    - ``texts``: the provider's own free-text answers, verbatim: form, parent, question_id, value
    """

    filters: Filters
    invitations: pl.DataFrame
    answers: pl.DataFrame
    texts: pl.DataFrame

    @classmethod
    def from_cells(
        cls, filters: Filters, own_invitations: pl.DataFrame, bench_invitations: pl.DataFrame,
        own_answers: pl.DataFrame, bench_answers: pl.DataFrame, texts: pl.DataFrame,
    ) -> Selection:
        def sides(own: pl.DataFrame, bench: pl.DataFrame, keys: Sequence[str], schema: dict) -> pl.DataFrame:
            summed = [
                frame.group_by(keys).agg(pl.col("n").sum()).select(pl.lit(side).alias("side"), *keys, "n")
                for side, frame in (("own", own), ("bench", bench))
            ]
            return pl.concat(summed).cast(schema)

        return cls(
            filters=filters,
            invitations=sides(own_invitations, bench_invitations, INVITATION_KEYS, _INVITATION_SCHEMA),
            answers=sides(own_answers, bench_answers, ANSWER_KEYS, _ANSWER_SCHEMA),
            texts=texts.select(list(_TEXT_SCHEMA)).cast(_TEXT_SCHEMA),
        )

    @property
    def own_completed(self) -> int:
        """Completed questionnaires of the provider in this selection."""
        own = self.invitations.filter((pl.col("side") == "own") & pl.col("completed"))
        return int(own["n"].sum())


class WarehouseSource:
    """Select straight from a warehouse: filtering and aggregation run in DuckDB, one scan per table."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    @classmethod
    def open(cls, path: str | Path) -> WarehouseSource:
        """A read-only source on the published warehouse at ``path``."""
        return cls(open_readonly(path))

    @classmethod
    def from_frames(cls, invitations: pl.DataFrame | pl.LazyFrame, answers: pl.DataFrame | pl.LazyFrame) -> WarehouseSource:
        """A source over frames with the columns of the warehouse tables ``invitations`` and ``answers``."""
        con = duckdb.connect()
        for name, frame in (("invitations", invitations), ("answers", answers),
                            ("questions", catalog_frames()["questions"])):
            con.register(name, frame.collect() if isinstance(frame, pl.LazyFrame) else frame)
        return cls(con)

    def select(self, filters: Filters) -> Selection:
        where, params = filters.benchmark().to_sql(alias="i")
        own_where, own_params = filters.to_sql(alias="i")
        flagged = {"own": filters.provider, **params}
        invitations = _query(self.con, "select_invitations", where, flagged)
        answers = _query(self.con, "select_answers", where, flagged)
        texts = _query(self.con, "texts", own_where, own_params)
        mine = pl.col("own")
        return Selection.from_cells(
            filters,
            invitations.filter(mine), invitations, answers.filter(mine), answers, texts,
        )


@dataclass(frozen=True)
class BenchmarkCube:
    """All providers' cells at the grain where every filter still applies (no provider, no respondent)."""

    invitations: pl.DataFrame
    answers: pl.DataFrame

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> BenchmarkCube:
        """The cube over ``filters`` (default: everything). A provider in ``filters`` gives that provider's cube."""
        where, params = (filters or Filters()).to_sql(alias="i")
        return cls(
            invitations=_query(con, "cube_invitations", where, params),
            answers=_query(con, "cube_answers", where, params),
        )

    def cells(self, filters: Filters) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(invitation cells, answer cells) under the filters, provider ignored (the cube has none)."""
        predicate = filters.benchmark().to_polars()
        return self.invitations.filter(predicate), self.answers.filter(predicate)

    @property
    def estimated_size(self) -> int:
        """Bytes held, for the memory budget of a dashboard kernel."""
        return int(self.invitations.estimated_size() + self.answers.estimated_size())


class CubeSource:
    """A dashboard kernel's source: the benchmark cube plus one provider's own cube and free texts, in memory.

    ``provider`` None makes a staff source over all providers (own = benchmark). Selecting for another provider
    than the one loaded is refused: a kernel never computes a figure for someone else.
    """

    def __init__(self, benchmark: BenchmarkCube, own: BenchmarkCube, texts: pl.DataFrame, provider: str | None):
        self.benchmark, self.own, self.texts, self.provider = benchmark, own, texts, provider

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, provider: str | None,
             benchmark: BenchmarkCube | None = None) -> CubeSource:
        """Load ``provider``'s cube and texts; ``benchmark`` may be loaded earlier (it does not depend on them)."""
        benchmark = benchmark or BenchmarkCube.load(con)
        mine = Filters(provider=provider)
        own = BenchmarkCube.load(con, mine) if provider is not None else benchmark
        where, params = mine.to_sql(alias="i")
        return cls(benchmark, own, _query(con, "texts", where, params), provider)

    def select(self, filters: Filters) -> Selection:
        if filters.provider != self.provider:
            raise PermissionError(
                f"deze bron is geladen voor aanbieder {self.provider!r}, niet voor {filters.provider!r}"
            )
        own_invitations, own_answers = self.own.cells(filters)
        bench_invitations, bench_answers = self.benchmark.cells(filters)
        texts = self.texts.filter(filters.benchmark().to_polars())
        return Selection.from_cells(filters, own_invitations, bench_invitations, own_answers, bench_answers, texts)


Source = WarehouseSource | CubeSource


def select(source: Source | duckdb.DuckDBPyConnection | Selection, filters: Filters) -> Selection:
    """The cells for ``filters`` from any source (a bare connection is taken as a :class:`WarehouseSource`)."""
    if isinstance(source, Selection):
        if source.filters != filters:
            raise ValueError("deze selectie hoort bij andere filters")
        return source
    if isinstance(source, duckdb.DuckDBPyConnection):
        source = WarehouseSource(source)
    return source.select(filters)
