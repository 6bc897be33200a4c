"""Golden test: Partner in Werk 2021 reproduces the seed report's table 1.1 and promotor score exactly.

Built three ways: the hand-made sample inserted directly, the same sample delivered as import files (decimal
commas) through keurmerk.ingest, and the demo generator (`tiny`) through keurmerk.ingest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keurmerk.filters import Filters
from keurmerk.formatting import number
from keurmerk.metrics import CubeSource, WarehouseSource, compute_all
from keurmerk.metrics.sample import write_sample_import_files, write_sample_warehouse
from keurmerk.warehouse import open_readonly

# tabel 1.1 as printed: (block, dienst, netto steekproef, ingevuld, respons, rapportcijfer, publicatie)
TABLE_1_1 = [
    ("Cliënten", "Diagnose, onderzoek en loopbaanoriëntatie", 4, 1, "25,0", "9,0", "nee"),
    ("Cliënten", "Outplacement", 10, 2, "20,0", "8,3", "nee"),
    ("Cliënten", "Toeleiden van werk naar werk (eerste en tweede spoor)", 29, 15, "51,7", "7,9", "ja"),
    ("Cliënten", "Totaal", 43, 18, "41,9", "8,0", "ja"),
    ("Opdrachtgevers", "Totaal", 38, 9, "23,7", "8,2", "ja"),
]
PIW_2021 = Filters(provider="P0000", period=2021)


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_warehouse(tmp_path_factory.mktemp("golden") / "sample.duckdb")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from keurmerk.ingest import ingest

    directory = tmp_path_factory.mktemp("golden-files")
    report = ingest(directory / "sample.duckdb", write_sample_import_files(directory))
    assert report.quarantine.height == 0, report.quarantine.to_dicts()
    return directory / "sample.duckdb"


def _printed(frames: dict) -> list[tuple]:
    table = frames["table_1_1"]
    return [
        (r["block"], r["label"], r["net_sample"], r["completed"], number(r["response_pct"]), number(r["grade"]),
         "ja" if r["published"] else "nee")
        for r in table.iter_rows(named=True)
    ]


@pytest.mark.parametrize("warehouse", ["hand_made", "ingested", "tiny_db"])
@pytest.mark.parametrize("source", ["warehouse", "cube"])
def test_partner_in_werk_2021_table_1_1_and_promoter_score(warehouse: str, source: str,
                                                           request: pytest.FixtureRequest) -> None:
    con = open_readonly(request.getfixturevalue(warehouse))
    src = WarehouseSource(con) if source == "warehouse" else CubeSource.load(con, "P0000")
    frames = compute_all(src, PIW_2021)
    assert _printed(frames) == TABLE_1_1
    recommended = frames["fig_3_3"]
    assert number(recommended["promoter_score"][0]) == "44,4"
    assert recommended.filter(category="ja")[["n", "base_n"]].row(0) == (8, 18)
    assert frames["front_grade"]["grade"].to_list() == [8.0]
