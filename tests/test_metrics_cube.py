"""The stored cubes (benchmark, and every provider's own cells and free texts): read when current, ignored when
the warehouse changed after they were stored."""

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


def _same(a: dict[int, pl.DataFrame], b: dict[int, pl.DataFrame]) -> bool:
    """The same cells per period, whatever their row order."""
    return a.keys() == b.keys() and all(a[p].sort(pl.all()).equals(b[p].sort(pl.all())) for p in a)


def _undeliverable(cube: Cube) -> int:
    return cube.invitations[2021].filter(pl.col("status") == "undeliverable")["n"].sum()


def test_a_stored_cube_is_used_while_current_and_ignored_after_a_change(tmp_path: Path) -> None:
    db = write_sample_warehouse(tmp_path / "sample.duckdb")
    with open_readonly(db) as con:
        assert not _stored_cube_is_fresh(con)
        computed = Cube.load(con)
        computed_own = CubeSource.load(con, "P0000", computed)
    with writer(db) as con:
        store_cube(con)
    with open_readonly(db) as con:
        assert _stored_cube_is_fresh(con)
        stored = Cube.load(con)
        assert _answer_cells(stored) == _answer_cells(computed)
        assert _same(stored.invitations, computed.invitations)
        stored_own = CubeSource.load(con, "P0000", stored)  # read from metrics_provider_* tables
        assert _same(stored_own.own.answers, computed_own.own.answers)
        assert _same(stored_own.own.invitations, computed_own.own.invitations)
        assert stored_own.texts.equals(computed_own.texts) and stored_own.texts.height > 0
        stored_p0001 = Cube.load(con, Filters(provider="P0001"))
        frames = compute_all(CubeSource.load(con, "P0000", stored), PIW)
        assert all(frame.equals(compute_all(WarehouseSource(con), PIW)[fid]) for fid, frame in frames.items())
    with writer(db) as con:  # a later load without refreshing the cube
        con.execute("INSERT INTO invitations (respondent_id, period, provider_id, audience, service, province, "
                    "questionnaire, form, mode, reminded, status, completed, load_id) VALUES ('extra', 2021, "
                    "'P0001', 'client', 8, 'PV27', 'regular', 'client', 'post', false, 'undeliverable', false, 7)")
    with open_readonly(db) as con:
        assert not _stored_cube_is_fresh(con)
        assert _undeliverable(Cube.load(con)) == _undeliverable(computed) + 1
        # the stale stored cells of P0001 would miss its new invitation: they are not used
        assert _undeliverable(Cube.load(con, Filters(provider="P0001"))) == _undeliverable(stored_p0001) + 1


def test_the_cube_as_kept_in_memory_is_stored_at_publication(tmp_path: Path) -> None:
    """store_cube keeps the benchmark cube's parts (split by period, with the coarse sums) as a kernel holds them;
    Cube.load reads them back, equal to the cube computed from the warehouse. After a later load without a new
    publication they are stale with the other stored cells, and Cube.load computes the cube instead."""
    from keurmerk.warehouse.cells import FRAMES_TABLE, stored_cube_parts

    db = write_sample_warehouse(tmp_path / "sample.duckdb")
    with open_readonly(db) as con:
        assert stored_cube_parts(con) is None
        computed = Cube.load(con)
    with writer(db) as con:
        store_cube(con)
    with open_readonly(db) as con:
        parts = con.sql(f"SELECT part, count(*) FROM {FRAMES_TABLE} GROUP BY part ORDER BY part").fetchall()
        assert parts == [(part, len(computed.invitations)) for part in ("answers", "answers_coarse", "invitations")]
        stored = stored_cube_parts(con)
        for part in ("invitations", "answers", "answers_coarse"):
            assert _same(stored[part], getattr(computed, part)), part
            assert all(stored[part][p].schema == getattr(computed, part)[p].schema for p in stored[part])
        assert _same(Cube.load(con).answers_coarse, computed.answers_coarse)
    with writer(db) as con:
        con.execute("INSERT INTO invitations (respondent_id, period, provider_id, audience, service, province, "
                    "questionnaire, form, mode, reminded, status, completed, load_id) VALUES ('extra', 2021, "
                    "'P0001', 'client', 8, 'PV27', 'regular', 'client', 'post', false, 'undeliverable', false, 7)")
    with open_readonly(db) as con:
        assert stored_cube_parts(con) is not None and not _stored_cube_is_fresh(con)
        assert _undeliverable(Cube.load(con)) == _undeliverable(computed) + 1


def test_a_kernel_reads_the_fine_answer_cells_only_when_a_selection_needs_them(tmp_path: Path) -> None:
    """The benchmark's answers per province and questionnaire stay packed (their stored IPC bytes) while the
    selections use the coarse cells; a province filter reads the chosen period's part only, and the figures are
    those of the cube computed from the warehouse."""
    from keurmerk.warehouse.cells import PackedFrames

    db = write_sample_warehouse(tmp_path / "sample.duckdb")
    with open_readonly(db) as con:
        computed = Cube.load(con)
    with writer(db) as con:
        store_cube(con)
    with open_readonly(db) as con:
        stored = Cube.load(con)
        packed = stored.answers
        assert isinstance(packed, PackedFrames) and set(packed) == set(computed.answers)
        for filters in (PIW, PIW.replace(services=(8,))):
            frames = compute_all(CubeSource.load(con, "P0000", stored), filters)
            assert packed.unpacked == frozenset(), filters  # the coarse cells sufficed
            expected = compute_all(CubeSource.load(con, "P0000", computed), filters)
            assert all(frame.equals(expected[fid]) for fid, frame in frames.items())
        by_province = PIW.replace(provinces=("PV27",))
        frames = compute_all(CubeSource.load(con, "P0000", stored), by_province)
        assert packed.unpacked == frozenset({2021})
        expected = compute_all(CubeSource.load(con, "P0000", computed), by_province)
        assert all(frame.equals(expected[fid]) for fid, frame in frames.items())
        assert _same(dict(packed.items()), computed.answers)
