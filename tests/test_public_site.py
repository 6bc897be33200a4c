"""The public search as a static site (keurmerk.site): its data files (the index and one listing per period) hold
published grades only, all providers of every period, and every publication writes them."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from keurmerk.catalog import catalog
from keurmerk.cli import app as cli
from keurmerk.filters import Filters
from keurmerk.formatting import round_half_away
from keurmerk.metrics.status import StatusCells, public_listing, satisfaction_rows
from keurmerk.policy import load_policy
from keurmerk.site import DATA_FILE, LISTING_PREFIX, STATIC, build_data, default_site_dir, listing_files, write_site
from keurmerk.warehouse import open_readonly


@pytest.fixture(scope="module")
def site(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site(tiny_db, tmp_path_factory.mktemp("site") / "zoeken")


def _read(site: Path) -> dict:
    """The index with every period's listing, as the page reads them: entries carry their period."""
    index = json.loads((site / DATA_FILE).read_text())
    providers = []
    for period in index["periods"]:
        listing = json.loads((site / index["files"][str(period)]).read_text())
        assert listing["period"] == period
        providers += [{**p, "period": period} for p in listing["providers"]]
    return {**index, "providers": providers}


@pytest.fixture(scope="module")
def data(site: Path) -> dict:
    return _read(site)


@pytest.fixture(scope="module")
def cells(tiny_db: Path) -> StatusCells:
    with open_readonly(tiny_db) as con:
        return StatusCells.load(con, load_policy(), aspects=False)


def test_the_site_is_self_contained(site: Path, data: dict) -> None:
    listings = sorted(data["files"].values())
    assert len(listings) == len(data["periods"]) and all(n.startswith(LISTING_PREFIX) for n in listings)
    names = ["data.json", "index.html", "zoeken.css", "zoeken.js", *listings]
    assert sorted(p.name for p in site.iterdir()) == sorted(names + [f"{n}.gz" for n in names])
    for name in names:  # the gzipped copies nginx serves (gzip_static) are the same files
        assert gzip.decompress((site / f"{name}.gz").read_bytes()) == (site / name).read_bytes()
    page = (site / "index.html").read_text()
    assert 'lang="nl"' in page and 'name="viewport"' in page
    for text in (page, (site / "zoeken.js").read_text(), (site / "zoeken.css").read_text()):
        assert not re.search(r"https?://", text), "nothing may come from another origin"
    assert (site / "zoeken.js").read_bytes() == (STATIC / "zoeken.js").read_bytes()


def test_a_first_visit_loads_the_index_and_one_period(site: Path, data: dict) -> None:
    """The index holds no provider; the latest period's listing is all a first visit needs, and it is a fraction of
    all periods together."""
    index = json.loads((site / DATA_FILE).read_text())
    assert "providers" not in index and set(index["files"]) == {str(p) for p in index["periods"]}
    sizes = {name: (site / name).stat().st_size for name in index["files"].values()}
    latest = index["files"][str(index["periods"][0])]
    assert sizes[latest] < sum(sizes.values()) and len(sizes) >= 2


def test_a_listing_is_named_by_its_content_and_older_ones_go(tiny_db: Path, tmp_path: Path) -> None:
    out = write_site(tiny_db, tmp_path / "zoeken")
    first = listing_files(out)
    stale = out / f"{LISTING_PREFIX}1999-000000000000.json"
    stale.write_text("{}")
    assert write_site(tiny_db, out) == out and listing_files(out) == first  # same content, same names
    assert not stale.exists()  # neither this publication's nor the previous one's
    for name in first:
        body = (out / name).read_bytes()
        assert name.endswith(f"-{hashlib.sha256(body).hexdigest()[:12]}.json")


def test_every_provider_of_every_period_is_in_it(data: dict, cells: StatusCells) -> None:
    assert data["periods"] == sorted(cells.periods, reverse=True)
    for period in cells.periods:
        listing = public_listing(cells, period)
        names = sorted(p["name"] for p in data["providers"] if p["period"] == period)
        assert names == sorted(listing["provider_name"].to_list())  # all of them: the page pages, never cuts


def test_nothing_unpublished_is_in_the_data_file(data: dict, cells: StatusCells) -> None:
    """Every number in the files is a grade the publication rule publishes (with n >= min_n), rounded as shown; an
    unpublished one is there as a label and a reason only."""
    policy = load_policy()
    services = {s["code"]: s["label"] for s in data["services"]}
    published = {}
    names = dict(cells.providers.select("provider_id", "provider_name").iter_rows())
    for period in cells.periods:
        sat = satisfaction_rows(cells.select(Filters(period=period)).respondents, policy)
        for r in sat.iter_rows(named=True):
            published[(period, names[r["provider_id"]], r["audience"], r["service"], r["form"])] = r

    def shown(row: dict, value: list) -> bool:
        return (
            row["published"]
            and row["n"] >= policy.min_n
            and len(value) == 2
            and round_half_away(row["grade"], 1) == value[0]
            and row["n"] == value[1]
        )

    checked = 0
    for p in data["providers"]:
        for what, *value in p["g"]:
            assert isinstance(what, str) or what in services
            row = next(
                r
                for (period, name, audience, service, form), r in published.items()
                if (period, name, audience) == (p["period"], p["name"], "client")
                and (
                    service == what if isinstance(what, int) else service is None and catalog().form(form).label == what
                )
            )
            assert shown(row, value), (p["name"], what, value)
            checked += 1
        for u in p["u"]:
            assert len(u) == 2 and isinstance(u[1], str) and u[1] in data["reasons"]  # no number at all
        if isinstance(p.get("t"), list):
            assert shown(published[(p["period"], p["name"], "client", None, "client")], p["t"])
            checked += 1
        elif "t" in p:
            assert p["t"] in data["reasons"]
        if isinstance(p["c"], list):
            assert shown(published[(p["period"], p["name"], "commissioner", None, "commissioner")], p["c"])
        else:
            assert p["c"] in data["reasons"]
    assert checked >= 5
    # no other field could carry a number: the entries have exactly these keys, the index no grades at all
    for p in data["providers"]:
        assert set(p) - {"t"} == {"name", "period", "s", "p", "g", "u", "c"}, p
        assert all(isinstance(x, int) for x in p["s"]) and all(isinstance(x, str) for x in p["p"])
    assert set(data) == {
        "version",
        "written",
        "periods",
        "files",
        "services",
        "provinces",
        "reasons",
        "rule",
        "providers",
    }


def test_partner_in_werk_2021(data: dict) -> None:
    """Dienst 8 (15 completed, 51,7%) is published with 7,9; diensten 3 (1 completed) and 7 (2 completed, 20%) are
    not, and neither is the client total 8,0: with dienst 8 and its n it would give away the mean of the other 3."""
    piw = next(p for p in data["providers"] if p["name"] == "Partner in Werk" and p["period"] == 2021)
    assert piw["g"] == [[8, 7.9, 15]]
    assert piw["u"] == [[3, "completed"], [7, "completed"]]
    assert piw["t"] == "gives_away"
    assert piw["c"] == [8.2, 9]
    for hidden in ("9.0", "8.3", "8.0", "9,0", "8,3", "8,0"):
        assert hidden not in json.dumps(piw)


def test_the_total_beside_hidden_diensten_follows_the_policy(cells: StatusCells) -> None:
    """Partner in Werk 2021: the hidden diensten 3 and 7 rest on 3 grades. With the default
    (public_total_min_hidden_n = 10) the total 8,0 stays hidden; a policy that allows 3 shows it."""
    policy = load_policy()
    assert policy.public_total_min_hidden_n == policy.publish_min_completed == 10

    def piw(chosen) -> dict:
        _, listings = build_data(cells, chosen)
        return next(p for p in listings[2021]["providers"] if p["name"] == "Partner in Werk")

    assert piw(policy)["t"] == "gives_away"
    assert piw(policy.replace(public_total_min_hidden_n=4))["t"] == "gives_away"
    assert piw(policy.replace(public_total_min_hidden_n=3))["t"] == [8.0, 18]


def test_a_published_total_is_shown_with_its_n(data: dict) -> None:
    totals = [p for p in data["providers"] if isinstance(p.get("t"), list)]
    assert totals, "the tiny warehouse has providers whose client total is published"
    for p in totals:
        assert p["t"][1] >= sum(g[2] for g in p["g"])


def test_cli_site_and_every_publication_write_it(tiny_files: list[Path], tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "w.duckdb"
    result = runner.invoke(cli, ["ingest", "--db", str(db), *map(str, tiny_files)])
    assert result.exit_code == 0, result.output
    assert (default_site_dir(db) / DATA_FILE).is_file()  # the publication wrote the public site beside it
    out = tmp_path / "elders"
    result = runner.invoke(cli, ["site", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _read(out)["providers"] == _read(default_site_dir(db))["providers"]


def test_no_grade_under_the_small_group_limit(data: dict) -> None:
    policy = load_policy()
    values = [g[1:] for p in data["providers"] for g in p["g"]]
    values += [p[k] for p in data["providers"] for k in ("t", "c") if isinstance(p.get(k), list)]
    frame = pl.DataFrame(values, schema=["grade", "n"], orient="row")
    assert frame.height > 5 and frame["n"].min() >= policy.min_n
