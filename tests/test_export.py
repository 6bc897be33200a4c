"""keurmerk.export: every figure of one provider's view as JSON, CSV or Parquet (docs/export-format.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from keurmerk.catalog import catalog
from keurmerk.export import export
from keurmerk.metrics import registry
from keurmerk.metrics.sample import write_sample_warehouse

DOC = Path(__file__).resolve().parents[1] / "docs" / "export-format.md"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_warehouse(tmp_path_factory.mktemp("export") / "sample.duckdb")


@pytest.fixture(scope="module")
def exported(db: Path) -> dict:
    return json.loads(export(db, "P0000", 2021))


def test_json_keys_are_the_figure_ids_in_report_order(exported: dict) -> None:
    assert list(exported) == [f.id for f in catalog().figures]


def test_json_table_1_1_as_in_the_seed(exported: dict) -> None:
    rows = [(r["audience"], r["service"], r["net_sample"], r["completed"], r["response_pct"], r["grade"],
             r["published"]) for r in exported["table_1_1"]]
    assert rows == [
        ("client", 3, 4, 1, 25.0, 9.0, False),
        ("client", 7, 10, 2, 20.0, 8.3, False),
        ("client", 8, 29, 15, 51.7, 7.9, True),
        ("client", None, 43, 18, 41.9, 8.0, True),
        ("commissioner", None, 38, 9, 23.7, 8.2, True),
    ]
    assert all("corrected_grade" in r for r in exported["table_1_1"])


def test_json_recommend_figure_carries_the_promoter_score(exported: dict) -> None:
    assert {r["promoter_score"] for r in exported["fig_3_3"]} == {44.4}
    assert {r["bench_promoter_score"] for r in exported["fig_3_3"]} == {47.9}


def test_every_figure_row_carries_benchmark_value_and_n(exported: dict) -> None:
    for figure_id, rows in exported.items():
        for r in rows:
            assert any(k.startswith("bench_") and k.endswith("_n") or k == "bench_n" for k in r), figure_id
            assert any(k.startswith("bench_") and not k.endswith("_n") and k != "bench_suppressed" for k in r), \
                figure_id


def test_json_carries_free_text_verbatim_and_suppresses_small_groups(exported: dict) -> None:
    other = next(r for r in exported["fig_3_5"] if r["category"] == "anders, namelijk")
    assert other["texts"] == ["Via mijn huisarts"]
    outplacement = next(r for r in exported["fig_3_1"] if r["service"] == 7)
    # fig 3.1 shows table 1.1's grade of 2 respondents, indicative (issue 11); other figures withhold n < 5
    assert (outplacement["grade"], outplacement["indicative"]) == (8.3, True)


def test_json_to_a_file_with_a_dienst_and_province_filter(db: Path, tmp_path: Path) -> None:
    path = export(db, "P0000", 2021, service=8, province="PV28", out=tmp_path / "piw.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [r["label"] for r in data["table_1_1"] if r["audience"] == "client"] == [
        "Toeleiden van werk naar werk (eerste en tweede spoor)", "Totaal"]
    assert data["table_1_1"][-1]["completed"] == 10  # dienst 8 in Zuid-Holland: 10 of the 15


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_write_one_file_per_figure_and_an_index(db: Path, tmp_path: Path, fmt: str) -> None:
    directory = export(db, "P0000", 2021, fmt=fmt, out=tmp_path / fmt)
    read = pl.read_csv if fmt == "csv" else pl.read_parquet
    index = read(directory / f"index.{fmt}")
    assert index["figure_id"].to_list() == [s.id for s in registry()]
    assert index.filter(pl.col("figure_id") == "fig_3_3")["title"].item() == (
        "fig. 3.3 Heeft u Partner in Werk aangeraden bij anderen?")
    table = read(directory / f"table_1_1.{fmt}")
    assert table["net_sample"].to_list() == [4, 10, 29, 43, 38]
    reasons = read(directory / f"fig_3_5.{fmt}").filter(pl.col("category") == "anders, namelijk")["texts"]
    assert (json.loads(reasons.item()) if fmt == "csv" else reasons.item().to_list()) == ["Via mijn huisarts"]


def test_unknown_provider_and_format_are_clear_errors(db: Path) -> None:
    with pytest.raises(LookupError, match="onbekende aanbieder 'P9999'"):
        export(db, "P9999", 2021)
    with pytest.raises(ValueError, match="onbekend formaat"):
        export(db, "P0000", 2021, fmt="xlsx")


def test_the_format_document_names_every_column(db: Path) -> None:
    documented = set(re.findall(r"`([a-z_0-9]+)`", DOC.read_text(encoding="utf-8")))
    frames = json.loads(export(db, "P0000", 2021))
    missing = {(fid, c) for fid, rows in frames.items() for r in rows for c in r if c not in documented}
    assert not missing
