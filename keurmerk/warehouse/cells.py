"""The cell layer: what the figures count, as SQL over the warehouse, and its copy stored at publication.

The cell queries (``sql/invitation_cells.sql``, ``sql/answer_cells.sql``, ``sql/texts.sql``) count invitations and
answers of completed questionnaires per cell; ``{cell}`` is the cell's key columns, ``{filters}`` a WHERE clause
made by ``keurmerk.filters.Filters.to_sql`` (placeholders only). ``keurmerk.metrics`` runs them for a selection.

At publication (:func:`store_cells`, called by ``keurmerk.ingest`` inside ``keurmerk.warehouse.writer``) the
warehouse stores every provider's own cells and free texts, sorted by provider, and the benchmark cube (the
provider cells summed), so that a dashboard kernel reads a few thousand rows instead of joining every answer.
Each table is one ``CREATE TABLE … AS`` that DuckDB spills to disk beyond the writer's memory limit.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

import duckdb

from keurmerk.filters import FILTER_DIMENSIONS

__all__ = [
    "CUBE_CELL",
    "CUBE_KEYS",
    "CUBE_QUERIES",
    "SPLITS",
    "cell",
    "CUBE_TABLES",
    "PROVIDER",
    "PROVIDER_TABLES",
    "STAMP",
    "STAMP_TABLE",
    "cell_sql",
    "per_provider_sql",
    "store_cells",
]

# The cell of the stored cubes: every dimension a filter can select on (keurmerk.filters.FILTER_DIMENSIONS);
# invitations are counted per answering mode too (fig. 1 splits by it).
CUBE_KEYS = ("period", "form", *(d.column for d in FILTER_DIMENSIONS))
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
