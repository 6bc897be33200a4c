"""Issue 13's pieces without a browser: controls, chart tables, the selection in words, year over year, downloads."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from keurmerk.dashboard import controls, datatable, downloads, yoy
from keurmerk.filters import Filters
from keurmerk.metrics import Cube, CubeSource, compute_all
from keurmerk.policy import load_policy
from keurmerk.warehouse import open_readonly


@pytest.mark.parametrize(
    ("periods", "labels"),
    [
        ((2021,), ["2021"]),
        ((2021, 2022), ["2022", "2021", "2021–2022"]),
        ((2019, 2020, 2021), ["2021", "2020", "2019", "2019–2021", "2019–2020", "2020–2021"]),
        ((), ["–"]),
    ],
)
def test_period_choices_read_as_years(periods, labels) -> None:
    assert [label for label, _ in controls.period_options(periods)] == labels
    assert controls.period_picker(periods).value == controls.period_options(periods)[0][1]  # the latest year


@pytest.mark.parametrize(("text", "value"), [("2021", (2021, 2021)), ("2021-2022", (2021, 2022)),
                                            ("2021–2022", (2021, 2022)), ("2030", (2022, 2022)), ("x", (2022, 2022))])
def test_a_link_chooses_a_period_the_picker_offers(text, value) -> None:
    picker = controls.period_picker((2021, 2022))
    controls.select_period(picker, text)
    assert picker.value == value


def test_check_picker_keeps_only_offered_values() -> None:
    picker = controls.CheckPicker("Diensten", "Alle diensten", [("7. Outplacement", 7, "7"), ("8. X", 8, "8")])
    picker.chosen = [8, 99, 7]  # the browser may write anything
    assert picker.value == (7, 8)
    controls.choose(picker, "8,13")
    assert picker.value == (8,)
    picker.clear()
    assert picker.value == ()


def test_selection_in_words() -> None:
    assert Filters(period=2021).describe() == "periode 2021; alle diensten; alle provincies; alle vragenlijsten"
    text = Filters(period=(2019, 2021), services=(7,), provinces=("PV26", "PV27"), questionnaire="easy").describe()
    assert text.startswith("periode 2019–2021; dienst Outplacement; provincies ")
    assert text.endswith("vragenlijst laagdrempelig")


@pytest.fixture(scope="module")
def frames(tiny_db: Path) -> dict[int, dict[str, pl.DataFrame]]:
    with open_readonly(tiny_db) as con:
        source = CubeSource.load(con, "P0000", benchmark=Cube.load(con))
    policy = load_policy()
    return {p: compute_all(source, Filters(provider="P0000", period=p), policy, suppress=True) for p in (2021, 2022)}


def test_status_counts_clients_and_commissioners_without_timings(frames) -> None:
    status = controls.selection_status(frames[2021]["table_1_1"])
    assert "18 cliënten en 9 opdrachtgevers" in status and " ms" not in status


def test_every_chart_has_its_numbers_as_a_table(frames) -> None:
    table = datatable.data_table(frames[2021]["fig_3_1"], "fig. 3.1 Gemiddeld rapportcijfer")
    assert "Toon als tabel" in table and ">8,0<" in table and "<caption" in table
    assert datatable.data_table(pl.DataFrame(), "x") == ""


def test_year_over_year_change_and_significance(frames) -> None:
    points = {p: {m.key: m.read(f) for m in yoy.MEASURES} for p, f in frames.items()}
    grade = yoy.headline(points, yoy.MEASURES[0])
    client = {p: f["table_1_1"].filter((pl.col("form") == "client") & pl.col("service").is_null())["grade"][0]
              for p, f in frames.items()}
    assert grade["year"] == 2022 and grade["previous_year"] == 2021
    assert grade["change"] == round(client[2022] - client[2021], 1)
    html = yoy.tiles_html(points)
    assert html.count('data-km="tile-') == 4 and "sinds 2021" in html
    # a difference far outside both intervals is significant, one inside them is not
    big, small = yoy.Point(8.0, 50, 0.1), yoy.Point(6.0, 50, 0.1)
    assert yoy.significant(yoy.MEASURES[0], big, small) and not yoy.significant(yoy.MEASURES[0], big, big)
    assert yoy.significant(yoy.MEASURES[1], yoy.Point(60.0, 400), yoy.Point(40.0, 400))
    assert not yoy.significant(yoy.MEASURES[1], yoy.Point(45.0, 20), yoy.Point(40.0, 20))


def test_excel_holds_every_figure_and_the_selection(frames) -> None:
    content = downloads.figures_workbook("Partner in Werk", Filters(provider="P0000", period=2021), frames[2021])
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    assert book.sheetnames[0] == "Inhoud" and len(book.sheetnames) == len(frames[2021]) + 1
    assert "Tabel 1.1" in book.sheetnames and "Figuur 3.21" in book.sheetnames
    first = [c for row in book["Inhoud"].iter_rows(values_only=True) for c in row if c]
    assert "Selectie: periode 2021; alle diensten; alle provincies; alle vragenlijsten" in first


def test_staff_table_downloads(tiny_db: Path) -> None:
    from keurmerk.dashboard.staff import StaffApp, StaffExplorer

    app = StaffApp.prepare(tiny_db, warm_up=False)
    explorer = StaffExplorer(app.cells, "t", app.policy)
    explorer.period.value = (2021, 2021)
    name, mime, content = explorer._download("csv")
    assert name == "aanbieders-2021.csv" and mime == downloads.CSV
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    partner = next(r for r in rows if r["Nummer"] == "P0000")
    assert partner["Cijfer"] == "8,0" and partner["Respons (%)"] == "41,9" and partner["Ingevuld"] == "18"
    name, _, content = explorer._download("xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True)["Aanbieders"]
    values = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "P0000" in values and "Selectie: periode 2021; alle diensten; alle provincies; alle vragenlijsten" in values
