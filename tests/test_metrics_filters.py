"""Filters: one table of cases for to_sql(), and the SQL and polars renderings select the same rows."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from keurmerk.filters import Filters

CASES = [
    # (filters, alias, where, params)
    (Filters(), None, "TRUE", {}),
    (Filters(provider="P0001"), None, "provider_id = $provider", {"provider": "P0001"}),
    (Filters(period=2021), None, "period = $period", {"period": 2021}),
    (Filters(period=(2019, 2021)), None, "period BETWEEN $period_from AND $period_to",
     {"period_from": 2019, "period_to": 2021}),
    (Filters(period=(2021, 2021)), None, "period = $period", {"period": 2021}),
    (Filters(services=(8,)), None, "service IN ($service_0)", {"service_0": 8}),
    (Filters(services=(9, 3, 9)), None, "service IN ($service_0, $service_1)", {"service_0": 3, "service_1": 9}),
    (Filters(provinces=("Zuid-Holland", "PV27")), None, "province IN ($province_0, $province_1)",
     {"province_0": "PV27", "province_1": "PV28"}),
    (Filters(provinces="friesland"), None, "province IN ($province_0)", {"province_0": "PV21"}),
    (Filters(audience="commissioner"), None, "audience = $audience", {"audience": "commissioner"}),
    (Filters(questionnaire="easy"), None, "questionnaire = $questionnaire", {"questionnaire": "easy"}),
    (Filters(provider="P0000", period=2021, services=(3, 7), provinces=("PV28",), audience="client",
             questionnaire="regular"), "i",
     "i.provider_id = $provider AND i.period = $period AND i.service IN ($service_0, $service_1) "
     "AND i.province IN ($province_0) AND i.audience = $audience AND i.questionnaire = $questionnaire",
     {"provider": "P0000", "period": 2021, "service_0": 3, "service_1": 7, "province_0": "PV28",
      "audience": "client", "questionnaire": "regular"}),
    # a value that looks like SQL stays a bound value
    (Filters(provider="x' OR 1=1 --"), None, "provider_id = $provider", {"provider": "x' OR 1=1 --"}),
]


@pytest.mark.parametrize(("filters", "alias", "where", "params"), CASES)
def test_to_sql(filters: Filters, alias: str | None, where: str, params: dict) -> None:
    assert filters.to_sql(alias) == (where, params)


ROWS = pl.DataFrame({
    "provider_id": ["P0000", "P0000", "P0001", "P0001", "P0002", "x' OR 1=1 --"],
    "period": [2020, 2021, 2021, 2022, 2019, 2021],
    "service": pl.Series([8, 3, 9, 7, 8, 8], dtype=pl.Int16),
    "province": ["PV28", "PV27", None, "PV21", "PV28", "PV28"],
    "audience": ["client", "client", "commissioner", "client", "client", "client"],
    "questionnaire": ["regular", "easy", "regular", "regular", "inburgering", "regular"],
})


@pytest.mark.parametrize(("filters", "alias", "where", "params"), CASES)
def test_sql_and_polars_select_the_same_rows(filters: Filters, alias: str | None, where: str, params: dict) -> None:
    con = duckdb.connect()
    con.register("rows", ROWS)
    where, params = filters.to_sql()
    by_sql = con.sql(f"SELECT * FROM rows WHERE {where} ORDER BY ALL", params=params).pl()
    by_polars = ROWS.filter(filters.to_polars()).sort(pl.all())
    assert by_sql.equals(by_polars)


def test_a_province_filter_leaves_no_commissioners() -> None:
    assert ROWS.filter(Filters(provinces=("PV28", "PV27", "PV21")).to_polars())["audience"].unique().to_list() == [
        "client"]


def test_filters_are_frozen_and_a_change_makes_a_new_object() -> None:
    f = Filters(provider="P0000", period=2021)
    g = f.replace(period=2022)
    assert (f.period, g.period) == (2021, 2022)
    assert f.benchmark() == Filters(period=2021)
    with pytest.raises(AttributeError):
        f.period = 2020  # type: ignore[misc]
    assert hash(f) != hash(g)
    assert Filters(services=[8, 3]) == Filters(services=(3, 8))  # normalised, so usable as a cache key


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"services": (14,)}, "onbekende dienst"),
    ({"provinces": ("Atlantis",)}, "onbekende provincie"),
    ({"audience": "public"}, "onbekende doelgroep"),
    ({"questionnaire": "short"}, "onbekende vragenlijst"),
    ({"period": (2022, 2020)}, "begin ligt na het einde"),
])
def test_invalid_filters_are_refused_in_dutch(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Filters(**kwargs)
