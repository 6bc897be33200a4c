"""Every number the seed report prints about Partner in Werk 2021, against the demo warehouse's export.

The expected values are copied by hand from ``shared/seeds/004_cfcb646764459ef1.txt`` (the report the product
is specified by); the actual ones come from ``keurmerk export`` (JSON) on a warehouse built the way a user builds
the demo: ``keurmerk generate --scale demo`` then ``keurmerk ingest``. Numbers are compared as the report prints
them (Dutch, one decimal).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keurmerk.export import export
from keurmerk.formatting import number

# tabel 1.1 Resultaten voor het keurmerk: (block, label, netto steekproef, ingevuld, respons, rapportcijfer, publicatie)
TABLE_1_1 = [
    ("Cliënten", "Diagnose, onderzoek en loopbaanoriëntatie", 4, 1, "25,0", "9,0", "nee"),
    ("Cliënten", "Outplacement", 10, 2, "20,0", "8,3", "nee"),
    ("Cliënten", "Toeleiden van werk naar werk (eerste en tweede spoor)", 29, 15, "51,7", "7,9", "ja"),
    ("Cliënten", "Totaal", 43, 18, "41,9", "8,0", "ja"),
    ("Opdrachtgevers", "Totaal", 38, 9, "23,7", "8,2", "ja"),
]
# §2.3: "in totaal 43 cliënten benaderd en 38 opdrachtgever(s) ... 41,9% voor cliënten en 23,7% voor opdrachtgever(s)"
SECTION_2_3 = {"client": (43, "41,9"), "commissioner": (38, "23,7")}
PROMOTER_SCORE = "44,4"  # §3.1: "een actuele promotor score van 44,4"
GRADE_TILE = "8,0"  # front page: "Gemiddeld tevredenheidscijfer van cliënten" (tabel 1.1's Totaal)
COMMISSIONER_GRADE = "8,2"  # fig. 4.1 Gemiddeld rapportcijfer (tabel 1.1's Totaal opdrachtgevers)
# front page: "De medewerkers van Partner in Werk scoren relatief goed op het volgende punt:"
STAFF = ["Respectvolle houding"]
# "Partner in Werk scoort relatief goed op de volgende punten:"
ORGANISATION = [
    "Snelheid van kennismaking",
    "Snelheid van reageren op e-mails en terugbellen",
    "De eerste kennismaking",
    "De plaats waar de gesprekken plaatsvonden",
]
# the pie under the staff list
PIE = {"geen mening": 0, "zeer tevreden": 0, "tevreden": 100, "ontevreden": 0, "zeer ontevreden": 0}


@pytest.fixture(scope="module")
def seed_export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    from keurmerk.ingest import ingest
    from keurmerk.synth import generate

    root = tmp_path_factory.mktemp("demo")
    files = generate("demo", root / "files", seed=2021)
    db = root / "demo.duckdb"
    report = ingest(db, files)
    assert report.quarantine.height == 0
    out = Path(export(db, "P0000", 2021, fmt="json", out=root / "piw.json"))
    return json.loads(out.read_text(encoding="utf-8"))


def _yes_no(value: bool) -> str:
    return "ja" if value else "nee"


def test_table_1_1_as_the_seed_prints_it(seed_export) -> None:
    rows = [
        (r["block"], r["label"], r["net_sample"], r["completed"], number(r["response_pct"]), number(r["grade"]),
         _yes_no(r["published"]))
        for r in seed_export["table_1_1"]
    ]
    assert rows == TABLE_1_1


def test_section_2_3_response_and_the_promoter_score(seed_export) -> None:
    totals = {r["form"]: r for r in seed_export["table_1_1"] if r["service"] is None}
    assert {form: (r["net_sample"], number(r["response_pct"])) for form, r in totals.items()} == SECTION_2_3
    # fig 1 says the same response as table 1.1 (completed of the net sample)
    funnel = {(r["audience"], r["stage"]): r for r in seed_export["fig_1"] if r["mode"] is None}
    assert number(funnel[("client", "completed")]["share"]) == SECTION_2_3["client"][1]
    assert number(funnel[("commissioner", "completed")]["share"]) == SECTION_2_3["commissioner"][1]
    scores = {r["promoter_score"] for r in seed_export["fig_3_3"]}
    assert {number(s) for s in scores} == {PROMOTER_SCORE}


def test_the_grade_tile_and_fig_4_1(seed_export) -> None:
    (tile,) = seed_export["front_grade"]
    assert number(tile["grade"]) == GRADE_TILE
    total = next(r for r in seed_export["fig_4_1"] if r["service"] is None)
    assert number(total["grade"]) == COMMISSIONER_GRADE


def test_both_front_page_lists_and_nothing_else(seed_export) -> None:
    rows = seed_export["front_strengths"]

    def items(list_: str, kind: str) -> list[str]:
        return [r["item"] for r in sorted(rows, key=lambda r: r["rank"]) if r["list"] == list_ and r["kind"] == kind]

    assert items("staff", "strength") == STAFF
    assert items("organisation", "strength") == ORGANISATION
    # the seed prints no "relatief minder goed" list: nothing qualifies
    assert items("staff", "weakness") == [] and items("organisation", "weakness") == []
    assert all(r["satisfied_diff"] >= 5 for r in rows)


def test_the_pie_of_the_staff_list_first_item(seed_export) -> None:
    pie = seed_export["front_pie"]
    assert {r["item"] for r in pie} == set(STAFF[:1])
    assert {r["category"]: r["share"] for r in pie} == PIE
