"""The cell layer: what the figures count, as SQL over the warehouse, and its copy stored at publication.

The cell queries (``sql/invitation_cells.sql``, ``sql/answer_cells.sql``, ``sql/texts.sql``) count invitations and
answers of completed questionnaires per cell; ``{cell}`` is the cell's key columns, ``{filters}`` a WHERE clause
made by ``keurmerk.filters.Filters.to_sql`` (placeholders only). ``keurmerk.metrics`` runs them for a selection.

At publication (:func:`store_cells`, called by ``keurmerk.ingest`` inside ``keurmerk.warehouse.writer``) the
warehouse stores every provider's own cells and free texts, sorted by provider, and the benchmark cube (the
provider cells summed), so that a dashboard kernel reads a few thousand rows instead of joining every answer.
Each table is one ``CREATE TABLE … AS`` that DuckDB spills to disk beyond the writer's memory limit. The
benchmark cube is also stored as a kernel holds it (:func:`cube_parts`, read back by :func:`stored_cube_parts`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files

import duckdb
import polars as pl

from keurmerk.filters import FILTER_DIMENSIONS
from keurmerk.warehouse import polars_frame

__all__ = [
    "CUBE_CELL",
    "CUBE_KEYS",
    "CUBE_QUERIES",
    "SPLITS",
    "cell",
    "ANSWER_KEYS",
    "COARSE_KEYS",
    "CUBE_PARTS",
    "CUBE_TABLES",
    "FRAMES_TABLE",
    "PackedFrames",
    "PROVIDER",
    "PROVIDER_TABLES",
    "STAMP",
    "STAMP_TABLE",
    "cell_sql",
    "per_provider_sql",
    "cube_parts",
    "store_cells",
    "stored_cube_parts",
]

# The cell of the stored cubes: every dimension a filter can select on (keurmerk.filters.FILTER_DIMENSIONS);
# invitations are counted per answering mode too (fig. 1 splits by it).
CUBE_KEYS = ("period", "form", *(d.column for d in FILTER_DIMENSIONS))
COARSE_KEYS = ("period", "form", *(d.column for d in FILTER_DIMENSIONS if d.coarse))  # what most selections need
ANSWER_KEYS = ("form", "service", "question_id", "value", "tenths")  # an answer cell beyond its invitation's
SPLITS = ("mode",)


def cell(*keys: str) -> str:
    """The ``{cell}`` of a cell query: the key columns of the invitation ``i``, each once."""
    return ", ".join(f"i.{key}" for key in dict.fromkeys(keys))


CUBE_CELL = cell(*CUBE_KEYS)
PROVIDER = "provider_id"
# Stored per provider (query name: table) and summed over providers (kind: table). Table names are our constants.
PROVIDER_TABLES = {
    "cube_invitations": "metrics_provider_invitations",
    "cube_answers": "metrics_provider_answers",
    "texts": "metrics_provider_texts",
}
CUBE_TABLES = {"invitations": "metrics_cube_invitations", "answers": "metrics_cube_answers"}
CUBE_QUERIES = {  # query name: (file in sql/, its {cell})
    "cube_invitations": ("invitation_cells", cell(*CUBE_KEYS, *SPLITS)),
    "cube_answers": ("answer_cells", CUBE_CELL),
    "texts": ("texts", CUBE_CELL),
}
STAMP_TABLE = "metrics_cube_stamp"
FRAMES_TABLE = "metrics_cube_frames"  # the benchmark cube as a kernel holds it (stored_cube_parts)
CUBE_PARTS = ("invitations", "answers", "answers_coarse")  # the fields of keurmerk.metrics.Cube
STAMP = """
SELECT (SELECT count(*) FROM invitations) AS invitations, (SELECT coalesce(max(load_id), 0) FROM invitations) AS
       invitation_load, (SELECT count(*) FROM answers) AS answers, (SELECT coalesce(max(load_id), 0) FROM answers)
       AS answer_load
"""


@cache
def cell_sql(file: str, cell: str) -> str:
    """The cell query ``sql/<file>.sql`` with ``cell`` as its key columns (``{filters}`` left in place)."""
    return files("keurmerk.warehouse").joinpath("sql", f"{file}.sql").read_text(encoding="utf-8").replace("{cell}", cell)


@cache
def per_provider_sql(name: str) -> str:
    """The cube query ``name`` (a key of :data:`PROVIDER_TABLES`) with ``i.provider_id`` as its first column:
    GROUP BY ALL then keeps the provider, so one scan yields every provider's own cells."""
    query = cell_sql(*CUBE_QUERIES[name])
    grouped, count = re.subn(r"^SELECT\b", "SELECT\n    i.provider_id,", query, count=1, flags=re.MULTILINE)
    if count != 1:  # the query changed shape: fail loudly rather than store something else
        raise RuntimeError(f"keurmerk/warehouse/sql/{CUBE_QUERIES[name][0]}.sql: geen SELECT aan het begin van een regel")
    return grouped


def store_cells(con: duckdb.DuckDBPyConnection) -> None:
    """Store the per-provider cells, the benchmark cube and their stamp in the warehouse being written.

    The stamp records the tables they were computed from; readers ignore stale cells and run the queries instead.
    """
    for name, table in PROVIDER_TABLES.items():
        query = per_provider_sql(name).replace("{filters}", "TRUE")
        order = "provider_id, parent, value" if name == "texts" else "provider_id"
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM ({query}) ORDER BY {order}")
    for kind, table in CUBE_TABLES.items():
        source = PROVIDER_TABLES[f"cube_{kind}"]
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * EXCLUDE (n, provider_id), "
                    f"CAST(sum(n) AS BIGINT) AS n FROM {source} GROUP BY ALL")  # count(*)'s type
    con.execute(f"CREATE OR REPLACE TABLE {STAMP_TABLE} AS " + STAMP)
    parts = cube_parts(*(polars_frame(con.sql(f"SELECT * FROM {table}")) for table in CUBE_TABLES.values()))
    con.execute(f"CREATE OR REPLACE TABLE {FRAMES_TABLE} (part VARCHAR, period INTEGER, ipc BLOB)")
    for part, frames in parts.items():
        for period, frame in frames.items():
            ipc = io.BytesIO()
            frame.write_ipc(ipc, compression="lz4")
            con.execute(f"INSERT INTO {FRAMES_TABLE} VALUES (?, ?, ?)", (part, period, ipc.getvalue()))


def cube_parts(invitations: pl.DataFrame, answers: pl.DataFrame) -> dict[str, dict[int, pl.DataFrame]]:
    """The benchmark cube as a dashboard kernel holds it (``keurmerk.metrics.Cube``): split by period, so that a
    period filter only touches its own parts, and the answers also summed over the dimensions not in
    COARSE_KEYS, which most selections do not filter on."""

    def split(frame: pl.DataFrame) -> dict[int, pl.DataFrame]:
        return {p: part for (p,), part in frame.partition_by("period", as_dict=True).items()}

    coarse = answers.group_by(*dict.fromkeys((*COARSE_KEYS, *ANSWER_KEYS))).agg(pl.col("n").sum())
    return dict(zip(CUBE_PARTS, map(split, (invitations, answers, coarse)), strict=True))


class PackedFrames(Mapping[int, pl.DataFrame]):
    """Frames per period kept as their stored Arrow IPC bytes (lz4) and read on first use, each period once.

    The benchmark's fine answer cells are needed only when a selection filters on a dimension outside
    COARSE_KEYS (a province, a questionnaire), which most visits never do; packed they take a small part of the
    memory of the frames. Asking for the keys reads nothing."""

    def __init__(self, packed: Mapping[int, bytes]):
        self._packed = dict(packed)
        self._frames: dict[int, pl.DataFrame] = {}

    def __getitem__(self, period: int) -> pl.DataFrame:
        if period not in self._frames:
            self._frames[period] = pl.read_ipc(io.BytesIO(self._packed[period]))
        return self._frames[period]

    def __iter__(self) -> Iterator[int]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)

    @property
    def unpacked(self) -> frozenset[int]:
        """The periods read so far."""
        return frozenset(self._frames)


PACKED_PARTS = ("answers",)  # the cube parts a kernel keeps packed until a selection needs them


def stored_cube_parts(con: duckdb.DuckDBPyConnection) -> dict[str, Mapping[int, pl.DataFrame]] | None:
    """The cube's parts as :func:`store_cells` keeps them (Arrow IPC per part and period): a kernel reads them as
    they are instead of splitting and summing the cube tables again; the parts in PACKED_PARTS stay packed until
    used. None in a warehouse published before."""
    try:
        rows = con.sql(f"SELECT part, period, ipc FROM {FRAMES_TABLE} ORDER BY part, period").fetchall()
    except duckdb.CatalogException:
        return None
    stored: dict[str, dict[int, bytes]] = {part: {} for part in CUBE_PARTS}
    for part, period, ipc in rows:
        stored[part][period] = ipc
    return {part: PackedFrames(frames) if part in PACKED_PARTS
            else {period: pl.read_ipc(io.BytesIO(ipc)) for period, ipc in frames.items()}
            for part, frames in stored.items()}
