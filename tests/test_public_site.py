"""The public search as a static site (keurmerk.site): its data file holds published grades only, all providers
of every period, and every publication writes it."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from keurmerk.catalog import catalog
from keurmerk.cli import app as cli
from keurmerk.filters import Filters
from keurmerk.metrics.status import StatusCells, public_listing, satisfaction_rows
from keurmerk.policy import load_policy
from keurmerk.site import DATA_FILE, STATIC, default_site_dir, write_site
from keurmerk.warehouse import open_readonly


@pytest.fixture(scope="module")
def site(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site(tiny_db, tmp_path_factory.mktemp("site") / "zoeken")


@pytest.fixture(scope="module")
def data(site: Path) -> dict:
    return json.loads((site / DATA_FILE).read_text())


@pytest.fixture(scope="module")
def cells(tiny_db: Path) -> StatusCells:
    with open_readonly(tiny_db) as con:
        return StatusCells.load(con, load_policy(), aspects=False)


def test_the_site_is_self_contained(site: Path) -> None:
    names = ["data.json", "index.html", "zoeken.css", "zoeken.js"]
    assert sorted(p.name for p in site.iterdir()) == sorted(names + [f"{n}.gz" for n in names])
    for name in names:  # the gzipped copies nginx serves (gzip_static) are the same files
        assert gzip.decompress((site / f"{name}.gz").read_bytes()) == (site / name).read_bytes()
    page = (site / "index.html").read_text()
    assert 'lang="nl"' in page and 'name="viewport"' in page
    for text in (page, (site / "zoeken.js").read_text(), (site / "zoeken.css").read_text()):
        assert not re.search(r"https?://", text), "nothing may come from another origin"
    assert (site / "zoeken.js").read_bytes() == (STATIC / "zoeken.js").read_bytes()


def test_every_provider_of_every_period_is_in_it(data: dict, cells: StatusCells) -> None:
    assert data["periods"] == sorted(cells.periods, reverse=True)
    for period in cells.periods:
        listing = public_listing(cells, period)
        names = sorted(p["name"] for p in data["providers"] if p["period"] == period)
        assert names == sorted(listing["provider_name"].to_list())  # all of them: the page pages, never cuts


def test_nothing_unpublished_is_in_the_data_file(data: dict, cells: StatusCells) -> None:
    """Every number in the file is a grade the publication rule publishes (with n >= min_n); an unpublished one is
    there as a label and a reason only."""
    policy = load_policy()
    published = {}
    for period in cells.periods:
        sat = satisfaction_rows(cells.select(Filters(period=period)).respondents, policy)
        names = dict(cells.providers.select("provider_id", "provider_name").iter_rows())
        for r in sat.iter_rows(named=True):
            published[(period, names[r["provider_id"]], r["audience"], r["service"], r["form"])] = r
    checked = 0
    for p in data["providers"]:
        for g in p["grades"]:
            row = next(
                r
                for (period, name, audience, service, form), r in published.items()
                if (period, name, audience, service) == (p["period"], p["name"], "client", g["service"])
                and (g["service"] is not None or catalog().form(form).label == g["label"])
            )
            assert row["published"] and row["n"] >= policy.min_n and row["grade"] == g["grade"] and row["n"] == g["n"]
            checked += 1
        for u in p["unpublished"]:
            assert set(u) == {"label", "service", "reason"}, u  # no number at all
            assert u["reason"] in data["reasons"]
        if p["total"]:
            row = published[(p["period"], p["name"], "client", None, "client")]
            assert row["published"] and row["n"] >= policy.min_n and row["grade"] == p["total"]["grade"]
            checked += 1
        if p["commissioners"]:
            row = published[(p["period"], p["name"], "commissioner", None, "commissioner")]
            assert row["published"] and row["n"] >= policy.min_n and row["grade"] == p["commissioners"]["grade"]
    assert checked >= 5
    # no other field could carry a number: the entries have exactly these keys
    keys = {
        "name",
        "key",
        "period",
        "services",
        "provinces",
        "grades",
        "unpublished",
        "total",
        "totalReason",
        "commissioners",
        "commissionersReason",
    }
    grade_keys = {"grade", "text", "n", "nText"}
    for p in data["providers"]:
        assert set(p) == keys
        assert all(set(g) == grade_keys | {"label", "service"} for g in p["grades"])
        assert all(set(g) == grade_keys for g in (p["total"], p["commissioners"]) if g)


def test_partner_in_werk_2021(data: dict) -> None:
    """Dienst 8 (15 completed, 51,7%) is published with 7,9; diensten 3 (1 completed) and 7 (2 completed, 20%) are
    not, and neither is the client total 8,0: with dienst 8 and its n it would give away the mean of the other 3."""
    piw = next(p for p in data["providers"] if p["name"] == "Partner in Werk" and p["period"] == 2021)
    assert [(g["service"], g["text"], g["n"]) for g in piw["grades"]] == [(8, "7,9", 15)]
    assert [(u["service"], u["reason"]) for u in piw["unpublished"]] == [(3, "completed"), (7, "completed")]
    assert piw["total"] is None and piw["totalReason"] == "gives_away"
    assert (piw["commissioners"]["text"], piw["commissioners"]["n"]) == ("8,2", 9)
    for hidden in ("9,0", "8,3", "8,0"):
        assert f'"{hidden}"' not in json.dumps(piw)


def test_a_published_total_is_shown_with_its_n(data: dict) -> None:
    totals = [p for p in data["providers"] if p["total"]]
    assert totals, "the tiny warehouse has providers whose client total is published"
    for p in totals:
        assert re.fullmatch(r"\d+,\d", p["total"]["text"]) and p["total"]["n"] >= sum(g["n"] for g in p["grades"])


def test_cli_site_and_every_publication_write_it(tiny_files: list[Path], tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "w.duckdb"
    result = runner.invoke(cli, ["ingest", "--db", str(db), *map(str, tiny_files)])
    assert result.exit_code == 0, result.output
    assert (default_site_dir(db) / DATA_FILE).is_file()  # the publication wrote the public site beside it
    out = tmp_path / "elders"
    result = runner.invoke(cli, ["site", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    a = json.loads((out / DATA_FILE).read_text())
    b = json.loads((default_site_dir(db) / DATA_FILE).read_text())
    assert a["providers"] == b["providers"]


def test_no_grade_under_the_small_group_limit(data: dict) -> None:
    policy = load_policy()
    frame = pl.DataFrame(
        [g for p in data["providers"] for g in [*p["grades"], p["total"], p["commissioners"]] if g],
    )
    assert frame["n"].min() >= policy.min_n
