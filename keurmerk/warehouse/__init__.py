"""The DuckDB response warehouse: schema, atomic publication and read-only access.

Publication model (DESIGN §2, §8). The warehouse is one published DuckDB file. Readers (dashboards, notebooks)
open it read-only. A writer never opens the published file: it takes an exclusive lock file, copies the published
file to a private work file next to it, loads into the copy, checkpoints and closes it, and then swaps it into
place with ``os.replace`` (an atomic rename on POSIX). A reader that has the old file open keeps reading its
snapshot (the old inode stays alive until it closes); the next ``open_readonly`` sees the new data. So readers
never see half a load and never meet DuckDB's "could not set lock" error, and a failed load leaves the
published file untouched.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

import duckdb
import polars as pl

from keurmerk.catalog import catalog
from keurmerk.formatting import number
from keurmerk.policy import load_policy

__all__ = [
    "open_readonly",
    "snapshot_stamp",
    "polars_frame",
    "writer",
    "catalog_frames",
    "run_script",
    "remove_dead_work_files",
    "refresh_completed",
    "SQL_FILES",
]

SQL_FILES = ("010_catalog.sql", "020_tables.sql", "030_views.sql")


def _sql(name: str) -> str:
    return files("keurmerk.warehouse").joinpath("sql", name).read_text(encoding="utf-8")


def run_script(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> None:
    """Run one of the SQL files in ``keurmerk/warehouse/sql``, with bound ``$name`` parameters."""
    con.execute(_sql(name), params or {})


def snapshot_stamp(path: str | os.PathLike[str] | None) -> tuple[int, int, int] | None:
    """What identifies a published snapshot: a publication swaps in a new file (new inode) with os.replace."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def open_readonly(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published snapshot at ``path``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Geen warehouse gevonden op {path}. Maak er een met `keurmerk ingest --db {path} …`.")
    return duckdb.connect(str(path), read_only=True)


def polars_frame(relation: duckdb.DuckDBPyRelation) -> pl.DataFrame:
    """A query's result as a polars frame, read through the Arrow C stream interface. ``relation.pl()`` goes
    through pyarrow: importing it (and numpy) would add ~50 MB to every dashboard kernel that reads a frame."""
    return pl.DataFrame(relation)


def catalog_frames() -> dict[str, pl.DataFrame]:
    """The catalogue as the rows of the catalogue tables (010_catalog.sql)."""
    cat = catalog()
    return {
        "services": pl.DataFrame(
            [(s.code, s.label, s.last_period) for s in cat.services],
            schema={"service": pl.Int16, "label": pl.String, "last_period": pl.Int32},
            orient="row",
        ),
        "provinces": pl.DataFrame([(p.code, p.name) for p in cat.provinces], schema=["province", "name"], orient="row"),
        "forms": pl.DataFrame(
            [(f.id, f.label, f.audience) for f in cat.forms], schema=["form", "label", "audience"], orient="row"
        ),
        "questions": pl.DataFrame(
            [(q.form, q.id, q.kind, q.text, q.aspect, q.parent) for q in cat.questions],
            schema=["form", "question_id", "kind", "text", "aspect", "parent"],
            orient="row",
        ),
        "categories": pl.DataFrame(
            [
                (q.form, q.id, position, label)
                for q in cat.questions
                for position, label in enumerate(cat.categories(q.form, q.id), start=1)
            ],
            schema={"form": pl.String, "question_id": pl.String, "position": pl.Int16, "label": pl.String},
            orient="row",
        ),
        "figures": pl.DataFrame(
            [(f.id, i, f.section, f.number, f.title, f.chart, f.form) for i, f in enumerate(cat.figures, 1)],
            schema={
                "figure_id": pl.String,
                "position": pl.Int16,
                "section": pl.String,
                "number": pl.String,
                "title": pl.String,
                "chart": pl.String,
                "form": pl.String,
            },
            orient="row",
        ),
    }


def _apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    for name in SQL_FILES:
        con.execute(_sql(name))
    for table, frame in catalog_frames().items():
        con.register("_catalog_rows", frame)
        con.execute(f"INSERT INTO {table} SELECT * FROM _catalog_rows")  # table names come from our own dict
        con.unregister("_catalog_rows")


def refresh_completed(con: duckdb.DuckDBPyConnection, load_id: int) -> None:
    """Recompute ``invitations.completed`` for the respondents load ``load_id`` touched (refresh_completed.sql), or
    for everyone when the policy's completion rule differs from the one of the last refresh."""
    policy, cat = load_policy(), catalog()
    rule = [policy.completed_aspect_share, policy.completed_no_opinion_answers, [*cat.no_opinion, cat.not_applicable]]
    con.execute(
        "CREATE TABLE IF NOT EXISTS completion_rule (min_share DOUBLE, no_opinion_counts BOOLEAN, "
        "no_opinion_values VARCHAR[])"
    )
    last = con.execute("SELECT min_share, no_opinion_counts, no_opinion_values FROM completion_rule").fetchall()
    everyone = [list(row) for row in last] != [rule]
    run_script(
        con,
        "refresh_completed.sql",
        {
            "min_share": rule[0],
            "no_opinion_counts": rule[1],
            "no_opinion_values": rule[2],
            "load": load_id,
            "everyone": everyone,
        },
    )
    if everyone:
        con.execute("DELETE FROM completion_rule")
        con.execute("INSERT INTO completion_rule VALUES (?, ?, ?)", rule)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_dead_work_files(path: str | Path) -> list[str]:
    """Remove the work files (and their ``.wal``) of writers that died (SIGKILL, power loss) before publishing.

    Called with the writer lock held, so no live writer of this warehouse can be busy; the pid check is a second
    guard. Returns one Dutch line per file removed."""
    path = Path(path)
    pattern = re.compile(re.escape(path.name) + r"\.work-(\d+)(\.wal|\.spill|\.tmp)?$")
    removed = []
    for candidate in sorted(path.parent.glob(path.name + ".work-*")):
        match = pattern.fullmatch(candidate.name)
        if not match or int(match.group(1)) == os.getpid() or _alive(int(match.group(1))):
            continue
        if candidate.is_dir():  # parts of a large table spilled by ingest
            size = sum(f.stat().st_size for f in candidate.rglob("*") if f.is_file())
            shutil.rmtree(candidate, ignore_errors=True)
        else:
            size = candidate.stat().st_size
            candidate.unlink(missing_ok=True)
        removed.append(
            f"opgeruimd: {candidate.name} ({number(size / 1e6, 1)} MB), werkbestand van een afgebroken laadronde "
            f"(proces {match.group(1)} bestaat niet meer)"
        )
    return removed


@contextmanager
def writer(path: str | Path, on_cleanup: Callable[[str], None] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a private copy of the warehouse, published atomically on success.

    Only one writer at a time (an exclusive ``flock`` on ``<path>.lock``); readers are never blocked. Work files
    of writers that crashed are removed first; ``on_cleanup`` hears one line per file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = path.with_name(path.name + f".work-{os.getpid()}")
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for line in remove_dead_work_files(path):
            (on_cleanup or (lambda _line: None))(line)
        try:
            if path.exists():
                shutil.copyfile(path, work)
            con = duckdb.connect(str(work))
            con.execute("SET enable_progress_bar = false")  # the CLI shows its own progress
            # Memory bound of a load (issue 17): DuckDB spills joins, sorts and aggregates to <work>.tmp beyond this.
            con.execute("SET memory_limit = ?", [os.environ.get("KEURMERK_WRITER_MEMORY", "512MB")])
            try:
                _apply_schema(con)
                yield con
                con.execute("CHECKPOINT")
            finally:
                con.close()
            with open(work, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(work, path)
        finally:
            for leftover in (work, work.with_name(work.name + ".wal")):
                leftover.unlink(missing_ok=True)
