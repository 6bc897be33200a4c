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


# --- marks: 3:1 against the white background (WCAG 1.4.11) -----------------------------------------------------


def _luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_ratio_matches_the_wcag_examples() -> None:
    assert _contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert _contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic "just below 4,5:1"


def test_every_mark_colour_of_the_theme_has_3_to_1_against_white() -> None:
    from keurmerk.charts import theme

    marks = {
        "provider": theme.PROVIDER_COLOUR,
        "benchmark": theme.BENCHMARK_COLOUR,
        "norm": theme.NORM_COLOUR,
        "neutral": theme.NEUTRAL_COLOUR,
        **{f"diverging {i}": c for i, c in enumerate(theme.DIVERGING_COLOURS)},
        **{f"category {i}": c for i, c in enumerate(theme.CATEGORY_COLOURS)},
    }
    config = theme.keurmerk_theme()["config"]
    marks |= {f"range {name} {i}": c for name, cs in config["range"].items() for i, c in enumerate(cs)}
    low = {name: round(_contrast(c, "#ffffff"), 2) for name, c in marks.items() if _contrast(c, "#ffffff") < 3}
    assert low == {}
    # the benchmark stays apart from the provider's blue and from the text
    assert theme.BENCHMARK_COLOUR not in (theme.PROVIDER_COLOUR, theme.INK, theme.MUTED)
    assert _contrast(theme.BENCHMARK_COLOUR, theme.INK) >= 3
    # the separator between touching segments is the background itself: 3:1 against every fill above
    assert theme.SEPARATOR["stroke"] == "white" and theme.SEPARATOR["strokeWidth"] >= 1


def _marks(spec) -> list[dict]:
    found = []
    if isinstance(spec, dict):
        if isinstance(spec.get("mark"), dict):
            found.append(spec["mark"])
        for value in spec.values():
            found += _marks(value)
    elif isinstance(spec, list):
        for item in spec:
            found += _marks(item)
    return found


def _partner_frames(tiny_db: Path) -> dict:
    con = open_readonly(tiny_db)
    try:
        return compute_all(con, Filters(provider="P0000", period=2021))
    finally:
        con.close()


def test_touching_segments_are_parted_by_the_separator(tiny_db: Path) -> None:
    from keurmerk.api import registry
    from keurmerk.charts.figures import chart_for
    from keurmerk.charts.theme import SEPARATOR, to_spec

    frames = _partner_frames(tiny_db)
    kinds = {"satisfaction_items": "bar", "funnel": "bar", "strength_pie": "arc"}
    checked = set()
    for figure in registry():
        if figure.chart not in kinds:
            continue
        spec = to_spec(chart_for(figure.chart, frames[figure.id], "Partner in Werk"))
        fills = [m for m in _marks(spec) if m.get("type") == kinds[figure.chart]]
        if not fills:
            continue  # a message instead of a chart
        assert all(m.get("stroke") == SEPARATOR["stroke"] and m.get("strokeWidth") == SEPARATOR["strokeWidth"]
                   for m in fills), (figure.id, fills)
        checked.add(figure.chart)
    assert checked == set(kinds)


def test_every_province_has_a_3_to_1_outline(tiny_db: Path) -> None:
    """The map's lightest shares are near white: the provinces' outline, not their fill, sets them apart."""
    from keurmerk.charts.figures import chart_for
    from keurmerk.charts.theme import to_spec

    frames = _partner_frames(tiny_db)
    spec = to_spec(chart_for("province_map", frames["front_provinces"], "Partner in Werk"))
    shapes = [m for m in _marks(spec) if m.get("type") == "geoshape"]
    assert len(shapes) == 2  # the provider's map and all participants'
    assert all(_contrast(m["stroke"], "#ffffff") >= 3 for m in shapes), shapes
