"""The stored benchmark cube: read when current, ignored when the warehouse changed after it was stored."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from keurmerk.filters import Filters
from keurmerk.metrics import Cube, CubeSource, WarehouseSource, compute_all, store_cube
from keurmerk.metrics.sample import write_sample_warehouse
from keurmerk.metrics.source import _stored_cube_is_fresh
from keurmerk.warehouse import open_readonly, writer

PIW = Filters(provider="P0000", period=2021)


def _answer_cells(cube: Cube) -> int:
    return int(sum(frame["n"].sum() for frame in cube.answers.values()))


def test_a_stored_cube_is_used_while_current_and_ignored_after_a_change(tmp_path: Path) -> None:
    db = write_sample_warehouse(tmp_path / "sample.duckdb")
    with open_readonly(db) as con:
        assert not _stored_cube_is_fresh(con)
        computed = Cube.load(con)
    with writer(db) as con:
        store_cube(con)
    with open_readonly(db) as con:
        assert _stored_cube_is_fresh(con)
        stored = Cube.load(con)
        assert _answer_cells(stored) == _answer_cells(computed)
        frames = compute_all(CubeSource.load(con, "P0000", stored), PIW)
        assert all(frame.equals(compute_all(WarehouseSource(con), PIW)[fid]) for fid, frame in frames.items())
    with writer(db) as con:  # a later load without refreshing the cube
        con.execute("INSERT INTO invitations (respondent_id, period, provider_id, audience, service, province, "
                    "questionnaire, form, mode, reminded, status, completed, load_id) VALUES ('extra', 2021, "
                    "'P0001', 'client', 8, 'PV27', 'regular', 'client', 'post', false, 'undeliverable', false, 7)")
    with open_readonly(db) as con:
        assert not _stored_cube_is_fresh(con)
        invited = Cube.load(con).invitations[2021].filter(pl.col("status") == "undeliverable")["n"].sum()
        assert invited == computed.invitations[2021].filter(pl.col("status") == "undeliverable")["n"].sum() + 1
