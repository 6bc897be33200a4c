"""Shared fixtures: a `tiny` warehouse built the way users build one (generator → files → validated ingest)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from keurmerk.synth import generate

    return generate("tiny", tmp_path_factory.mktemp("tiny"), seed=2021)


@pytest.fixture(scope="session")
def tiny_db(tiny_files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published warehouse of the `tiny` scale (read-only use: tests must not write to it)."""
    from keurmerk.ingest import ingest

    db = tmp_path_factory.mktemp("warehouse") / "tiny.duckdb"
    report = ingest(db, tiny_files)
    assert report.quarantine.height == 0, report.quarantine.head(5).to_dicts()
    return db
