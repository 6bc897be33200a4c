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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from keurmerk.filters import Filters
from keurmerk.warehouse import catalog_frames, open_readonly, polars_frame
from keurmerk.warehouse import cells as _cells
from keurmerk.warehouse.cells import (
    ANSWER_KEYS,
    COARSE_KEYS,
    CUBE_KEYS,
    CUBE_QUERIES,
    PROVIDER,
    SPLITS,
    cell,
    cube_parts,
    per_provider_sql,
    stored_cube_parts,
)
from keurmerk.warehouse.cells import CUBE_TABLES as _CUBE_TABLES
from keurmerk.warehouse.cells import PROVIDER_TABLES as _PROVIDER_TABLES
from keurmerk.warehouse.cells import STAMP as _STAMP
from keurmerk.warehouse.cells import STAMP_TABLE as _STAMP_TABLE
from keurmerk.warehouse.cells import store_cells as store_cube

__all__ = [
    "ANSWER_KEYS",
    "COARSE_KEYS",
    "CUBE_KEYS",
    "INVITATION_KEYS",
    "Cube",
    "CubeSource",
    "Selection",
    "Source",
    "WarehouseSource",
    "OWN_CELLS",
    "per_provider_sql",
    "provider_cells",
    "provider_names",
    "provider_cells_sql",
    "select",
    "store_cube",
]

INVITATION_KEYS = ("form", "audience", "service", "province", "mode", "reminded", "status", "completed")

_INVITATION_SCHEMA = {
    "form": pl.String, "audience": pl.String, "service": pl.Int16, "province": pl.String, "mode": pl.String,
    "reminded": pl.Boolean, "status": pl.String, "completed": pl.Boolean, "n": pl.Int64, "bench_n": pl.Int64,
}
_ANSWER_SCHEMA = {
    "form": pl.String, "service": pl.Int16, "question_id": pl.String, "value": pl.String, "tenths": pl.Int32,
    "n": pl.Int64, "bench_n": pl.Int64,
}
_TEXT_SCHEMA = {"form": pl.String, "parent": pl.String, "question_id": pl.String, "value": pl.String}


# The cell a query counts in: every dimension a filter can select on (the cube, stored per provider), or for one
# selection only what its figures split by, with `own` marking the provider's rows ($own; NULL = all providers).
# Invitations are counted per answering mode too (fig. 1 splits by it).
_OWN = "coalesce(i.provider_id = $own, TRUE) AS own"
CELLS = {  # query name: (file in keurmerk/warehouse/sql/, its {cell})
    **CUBE_QUERIES,
    "select_invitations": ("invitation_cells", f"{_OWN}, {cell('form', 'audience', 'service', 'province', *SPLITS)}"),
    "select_answers": ("answer_cells", f"{_OWN}, {cell('form', 'service')}"),
}


def _sql(name: str) -> str:
    return _cells.cell_sql(*CELLS[name])  # looked up in the cell layer, so both sides read the same text


def _query(con: duckdb.DuckDBPyConnection, name: str, where: str, params: dict[str, Any]) -> pl.DataFrame:
    """Run the query ``name`` (:data:`CELLS`) with a WHERE clause made by Filters.to_sql (placeholders only)."""
    return polars_frame(con.sql(_sql(name).replace("{filters}", where), params=params))


@dataclass(frozen=True)
class Selection:
    """The cells behind every figure for one Filters, the provider's count ``n`` next to the benchmark's ``bench_n``.

    - ``invitations``: form, audience, service, province, mode, reminded, status, completed, n, bench_n
    - ``answers`` (completed questionnaires only, no free text): form, service, question_id, value (category
      label or 'n.v.t.'; null for a grade), tenths (a grade × 10; null otherwise), n, bench_n
    - ``texts``: the provider's own free-text answers, verbatim: form, parent, question_id, value

    The benchmark includes the provider (DESIGN §5); with no provider in the filters both counts are equal.
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
        """From the provider's and the benchmark's cells (each with the keys and ``n``), summed per key."""
        def wide(own: pl.DataFrame, bench: pl.DataFrame, keys: Sequence[str], schema: dict) -> pl.DataFrame:
            zero = pl.lit(0, pl.Int64)
            stacked = pl.concat([
                own.select(*keys, pl.col("n").cast(pl.Int64), zero.alias("bench_n")),
                bench.select(*keys, zero.alias("n"), pl.col("n").cast(pl.Int64).alias("bench_n")),
            ], how="vertical_relaxed")
            summed = stacked.group_by(keys).agg(pl.col("n", "bench_n").sum())
            return summed if summed.schema == schema else summed.cast(schema)

        return cls(
            filters=filters,
            invitations=wide(own_invitations, bench_invitations, INVITATION_KEYS, _INVITATION_SCHEMA),
            answers=wide(own_answers, bench_answers, ANSWER_KEYS, _ANSWER_SCHEMA),
            texts=texts.select(list(_TEXT_SCHEMA)).cast(_TEXT_SCHEMA),
        )

    @cached_property
    def category_counts(self) -> pl.DataFrame:
        """Answers per (form, question_id, category): n and bench_n (grades left out)."""
        return (
            self.answers.filter(pl.col("tenths").is_null())
            .group_by("form", "question_id", pl.col("value").alias("category"))
            .agg(pl.col("n", "bench_n").sum())
        )

    @cached_property
    def grades(self) -> pl.DataFrame:
        """The grade cells only: form, service, question_id, tenths, n, bench_n."""
        return self.answers.filter(pl.col("tenths").is_not_null()).drop("value")


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
            frame = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
            if name == "answers" and "routing_flag" not in frame.columns:  # frames made before routing flags
                frame = frame.with_columns(routing_flag=pl.lit(None, pl.String))
            con.register(name, frame)
        return cls(con)

    def select(self, filters: Filters) -> Selection:
        where, params = filters.benchmark().to_sql(alias="i")
        own_where, own_params = filters.to_sql(alias="i")
        flagged = {"own": filters.provider, **params}
        invitations = _query(self.con, "select_invitations", where, flagged)
        answers = _query(self.con, "select_answers", where, flagged)
        texts = _query(self.con, "texts", own_where, own_params)
        mine = pl.col("own")
        return Selection.from_cells(filters, invitations.filter(mine), invitations, answers.filter(mine), answers,
                                    texts)


# What a publication stores: ``keurmerk.warehouse.cells.store_cells`` (``store_cube`` here, for callers that
# build a warehouse by hand) stores every provider's own cells and the benchmark cube with the snapshot.


def _stored_cube_is_fresh(con: duckdb.DuckDBPyConnection) -> bool:
    tables = {t for (t,) in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not {*_CUBE_TABLES.values(), *_PROVIDER_TABLES.values(), _STAMP_TABLE} <= tables:
        return False
    stored = {c for (c,) in con.sql("SELECT column_name FROM duckdb_columns() WHERE table_name = $t",
                                    params={"t": _PROVIDER_TABLES["cube_answers"]}).fetchall()}
    if not set(CUBE_KEYS) <= stored:  # stored before a filter dimension was added: its cells lack the column
        return False
    return con.sql(f"SELECT * FROM {_STAMP_TABLE}").fetchall() == con.sql(_STAMP).fetchall()


OWN_CELLS = ("cube_invitations", "cube_answers", "texts")  # what a provider's own view is made of


def provider_cells_sql(con: duckdb.DuckDBPyConnection, filters: Filters, providers: Sequence[str] | None = None,
                       names: Sequence[str] = OWN_CELLS) -> tuple[list[str], dict[str, Any]]:
    """Per name, the query of its rows per provider (``provider_id`` first) under ``filters``, for ``providers``
    (default all), and the parameters they share: the stored tables while they are current, else the warehouse."""
    if stored := _stored_cube_is_fresh(con):  # checked once for all names
        where, params = filters.to_sql()  # the stored tables have the filter columns under the same names
    else:
        where, params = filters.to_sql(alias="i")
    if providers is not None:
        where += f" AND {PROVIDER} IN (SELECT unnest($cells_providers))"
        params = {**params, "cells_providers": list(providers)}
    queries = [f"SELECT * FROM {_PROVIDER_TABLES[n]} WHERE {{filters}}" if stored else per_provider_sql(n)
               for n in names]
    return [query.replace("{filters}", where) for query in queries], params


def provider_cells(con: duckdb.DuckDBPyConnection, filters: Filters, providers: Sequence[str] | None = None,
                   names: Sequence[str] = OWN_CELLS) -> list[pl.DataFrame]:
    """Per name, the rows of :func:`provider_cells_sql` as frames."""
    queries, params = provider_cells_sql(con, filters, providers, names)
    return [polars_frame(con.sql(query, params=params)) for query in queries]


def provider_names(con: duckdb.DuckDBPyConnection, providers: Sequence[str] | None = None, period: int | None = None,
                   invited: bool = False) -> dict[str, str | None]:
    """Provider id → its name, by id: every provider the warehouse names; with ``invited`` (or a ``period``) every
    provider with invitations (in that period) instead, its name None when the warehouse has none; only
    ``providers`` when given. The one place that reads the names (staff table, report batch, export, dashboards,
    reactions list)."""
    if invited or period is not None:
        where, params = Filters(period=period).to_sql(alias="i")
        query = ("SELECT i.provider_id, any_value(p.provider_name) FROM invitations AS i "
                 f"LEFT JOIN providers AS p USING (provider_id) WHERE {where}")
        column = "i.provider_id"
    else:
        query, params, column = "SELECT provider_id, any_value(provider_name) FROM providers WHERE TRUE", {}, PROVIDER
    if providers is not None:
        query += f" AND {column} IN (SELECT unnest($named_providers))"
        params = {**params, "named_providers": list(providers)}
    return dict(con.execute(query + " GROUP BY 1 ORDER BY 1", params).fetchall())


@dataclass(frozen=True)
class Cube:
    """Counts per cell at the grain where every filter still applies — no respondent, no provider column —
    kept per period so that a period filter only touches its own partitions.

    ``Cube.load(con)`` is the benchmark (all providers); ``Cube.load(con, Filters(provider=...))`` one
    provider's own cube.
    """

    invitations: Mapping[int, pl.DataFrame]
    answers: Mapping[int, pl.DataFrame]  # a kernel's benchmark keeps it packed until used (cells.PackedFrames)
    answers_coarse: Mapping[int, pl.DataFrame]  # summed over the dimensions not in COARSE_KEYS: most filters need none

    @classmethod
    def from_frames(cls, invitations: pl.DataFrame, answers: pl.DataFrame) -> Cube:
        return cls(**cube_parts(invitations, answers))

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> Cube:
        """The cube over ``filters`` (default: everything; read from the stored cube when it is fresh)."""
        filters = filters or Filters()
        if filters == Filters() and _stored_cube_is_fresh(con):
            if (parts := stored_cube_parts(con)) is not None:  # as a kernel holds it, stored at publication
                return cls(**parts)
            return cls.from_frames(*(polars_frame(con.sql(f"SELECT * FROM {t}")) for t in _CUBE_TABLES.values()))
        if filters.provider is not None and filters == Filters(provider=filters.provider):  # its own cells
            own = provider_cells(con, filters, names=("cube_invitations", "cube_answers"))
            return cls.from_frames(*(frame.drop(PROVIDER) for frame in own))
        where, params = filters.to_sql(alias="i")
        return cls.from_frames(_query(con, "cube_invitations", where, params),
                               _query(con, "cube_answers", where, params))

    def cells(self, filters: Filters) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(invitation cells, answer cells) under the filters, provider ignored (the cube has none)."""
        first, last = filters.periods or (-(10**9), 10**9)
        rest = filters.replace(provider=None, period=None).to_polars()

        def take(parts: Mapping[int, pl.DataFrame], empty: pl.DataFrame) -> pl.DataFrame:
            chosen = [parts[period] for period in parts if first <= period <= last]  # only these are read
            return pl.concat(chosen).filter(rest) if chosen else empty

        answers = self.answers if filters.active() - set(COARSE_KEYS) else self.answers_coarse
        return take(self.invitations, _EMPTY_INVITATIONS), take(answers, _EMPTY_ANSWERS)

    @property
    def estimated_size(self) -> int:
        """Bytes held, for the memory budget of a dashboard kernel."""
        parts = (self.invitations, self.answers, self.answers_coarse)
        return int(sum(f.estimated_size() for frames in parts for f in frames.values()))


_EMPTY_INVITATIONS = pl.DataFrame(schema={k: v for k, v in _INVITATION_SCHEMA.items() if k != "bench_n"})
_EMPTY_ANSWERS = pl.DataFrame(schema={k: v for k, v in _ANSWER_SCHEMA.items() if k != "bench_n"})


class CubeSource:
    """A dashboard kernel's source: the benchmark cube plus one provider's own cube and free texts, in memory.

    Load the benchmark first (it does not depend on the provider: before the signed link is read), then the
    provider's part. ``provider`` None makes a staff source over all providers (own = benchmark). Selecting for
    another provider than the one loaded is refused: a kernel never computes a figure for someone else.
    """

    def __init__(self, benchmark: Cube, own: Cube, texts: pl.DataFrame, provider: str | None):
        self.benchmark, self.own, self.texts, self.provider = benchmark, own, texts, provider

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, provider: str | None, benchmark: Cube | None = None) -> CubeSource:
        """Load ``provider``'s cube and texts next to ``benchmark`` (loaded here when not given)."""
        benchmark = benchmark or Cube.load(con)
        mine = Filters(provider=provider)
        if provider is None:
            where, params = mine.to_sql(alias="i")
            return cls(benchmark, benchmark, _query(con, "texts", where, params), None)
        invitations, answers, texts = (frame.drop(PROVIDER) for frame in provider_cells(con, mine))
        return cls(benchmark, Cube.from_frames(invitations, answers), texts, provider)

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
