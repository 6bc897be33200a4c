"""A reader in another process never fails and never sees half a load while an ingest runs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from keurmerk.catalog import catalog
from keurmerk.ingest import ingest
from keurmerk.warehouse import open_readonly


def _delivery(directory: Path, first: int, count: int) -> list[Path]:
    """`count` completed client questionnaires (every aspect answered), respondents R{first}…"""
    ids = [f"R{n:07d}" for n in range(first, first + count)]
    pl.DataFrame(
        {
            "period": 2024,
            "provider_id": "P001",
            "provider_name": "Voorbeeld",
            "respondent_id": ids,
            "audience": "client",
            "service": 8,
            "province": "PV27",
            "questionnaire": "regular",
            "mode": "email",
            "reminded": "true",
            "status": "delivered",
        }
    ).write_csv(directory / "invitations.csv", separator=";")
    questions = [q.id for q in catalog().aspect_questions("client")]
    pl.DataFrame({"respondent_id": ids}).join(pl.DataFrame({"question_id": questions}), how="cross").with_columns(
        value=pl.lit("tevreden"), answered_at=pl.lit("")
    ).write_csv(directory / "answers.csv", separator=";")
    return [directory / "invitations.csv", directory / "answers.csv"]


def _snapshot(db: Path) -> tuple[int, int, int]:
    with open_readonly(db) as con:
        return con.execute(
            "SELECT (SELECT count(*) FROM invitations), (SELECT count(*) FROM answers), "
            "(SELECT count(*) FROM invitations WHERE completed)"
        ).fetchall()[0]


def test_reader_sees_old_or_new_snapshot_during_ingest(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    ingest(db, _delivery(tmp_path / "first", 0, 1_000))
    before = _snapshot(db)
    second = _delivery(tmp_path / "second", 1_000, 40_000)
    after = (41_000, 41_000 * 16, 41_000)
    assert before == (1_000, 16_000, 1_000)

    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from keurmerk.ingest import ingest; ingest(sys.argv[1], sys.argv[2:])",
            str(db),
            *map(str, second),
        ],
    )
    seen, reads_during = set(), 0
    deadline = time.monotonic() + 120
    while writer.poll() is None and time.monotonic() < deadline:
        seen.add(_snapshot(db))  # raises if the file is locked or half-written
        reads_during += 1
    assert writer.wait(timeout=120) == 0
    seen.add(_snapshot(db))

    assert reads_during >= 3, "the ingest finished before the reader could look"
    assert seen <= {before, after}, seen
    assert _snapshot(db) == after


def test_reader_keeps_its_snapshot_until_it_reopens(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    ingest(db, _delivery(tmp_path / "first", 0, 10))
    with open_readonly(db) as reader:
        ingest(db, _delivery(tmp_path / "second", 10, 5))  # same process, while the reader is open
        assert reader.execute("SELECT count(*) FROM invitations").fetchall()[0][0] == 10
    assert _snapshot(db)[0] == 15
