"""The demo data generator: determinism, the seed's table 1.1 for Partner in Werk, routing, catalogue codes.

Reads the generated files with polars only (independent of keurmerk.ingest).
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from keurmerk.catalog import catalog
from keurmerk.synth import PARTNER_IN_WERK, SCALES, XSS_PROBE, XSS_PROVIDER, generate

CAT = catalog()


def round1(x: float) -> float:
    """Half away from zero on one decimal (DESIGN §5)."""
    return math.copysign(math.floor(abs(x) * 10 + 0.5 + 1e-9) / 10, x)


def read(paths: list[Path]) -> tuple[pl.DataFrame, pl.DataFrame]:
    inv_path, ans_path = paths[:2]
    if inv_path.suffix == ".csv":
        # Everything as text, as an importer would see it.
        inv = pl.read_csv(inv_path, separator=";", infer_schema=False)
        ans = pl.read_csv(ans_path, separator=";", infer_schema=False)
        inv = inv.with_columns(pl.col("period", "service").cast(pl.Int64))
    else:
        inv, ans = pl.read_parquet(inv_path), pl.read_parquet(ans_path)
    return inv, ans


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], pl.DataFrame, pl.DataFrame]:
    paths = generate("tiny", tmp_path_factory.mktemp("tiny"))
    return (paths, *read(paths))


@pytest.fixture(scope="module")
def respondents(tiny) -> pl.DataFrame:
    """One row per invitation with its form and whether it is completed (DESIGN §5)."""
    _, inv, ans = tiny
    forms = pl.DataFrame(
        [(f.audience, q, f.id) for f in CAT.forms for q in f.questionnaires],
        schema=["audience", "questionnaire", "form"], orient="row",
    )
    aspects = pl.DataFrame(
        [(q.form, q.id) for q in CAT.questions if q.aspect], schema=["form", "question_id"], orient="row"
    )
    n_aspects = aspects.group_by("form").len("n_aspects")
    answered = (
        ans.join(inv.select("respondent_id", "audience", "questionnaire"), on="respondent_id")
        .join(forms, on=["audience", "questionnaire"])
        .join(aspects, on=["form", "question_id"])
        .group_by("respondent_id")
        .agg(pl.col("question_id").n_unique().alias("aspects_answered"))
    )
    return (
        inv.join(forms, on=["audience", "questionnaire"], how="left")
        .join(n_aspects, on="form", how="left")
        .join(answered, on="respondent_id", how="left")
        .with_columns(
            completed=(pl.col("status") == "delivered")
            & (pl.col("aspects_answered").fill_null(0) == pl.col("n_aspects"))
        )
    )


def grades(ans: pl.DataFrame) -> pl.DataFrame:
    return ans.filter(pl.col("question_id") == "grade").select(
        "respondent_id", grade=pl.col("value").str.replace(",", ".").cast(pl.Float64)
    )


def test_same_seed_same_bytes(tmp_path: Path, tiny) -> None:
    again = generate("tiny", tmp_path / "again")
    for a, b in zip(tiny[0], again, strict=True):
        assert a.name == b.name
        assert a.read_bytes() == b.read_bytes()
    other = generate("tiny", tmp_path / "other", seed=7)
    assert other[1].read_bytes() != again[1].read_bytes()


def test_columns_as_import_format(tiny) -> None:
    paths, inv, ans = tiny
    assert [p.name for p in paths] == ["invitations.csv", "answers.csv", "results.csv"]
    assert inv.columns == ["period", "provider_id", "provider_name", "respondent_id", "audience", "service",
                           "province", "questionnaire", "mode", "reminded", "status"]
    assert ans.columns == ["respondent_id", "question_id", "value", "answered_at"]
    assert paths[0].read_text(encoding="utf-8").startswith("period;provider_id;")
    assert inv["respondent_id"].is_unique().all()
    assert set(ans["respondent_id"]) <= set(inv["respondent_id"])
    stamps = ans["answered_at"].drop_nulls().str.to_datetime("%Y-%m-%dT%H:%M:%S")
    assert stamps.len() > 0
    assert not ans.select(pl.struct("respondent_id", "question_id").is_duplicated().any()).item()


def test_partner_in_werk_2021_reproduces_table_1_1(tiny, respondents) -> None:
    _, inv, ans = tiny
    pid, name = PARTNER_IN_WERK
    piw = respondents.filter((pl.col("provider_id") == pid) & (pl.col("period") == 2021))
    assert set(piw["provider_name"]) == {name}
    net = piw.filter(pl.col("status") == "delivered")
    done = net.filter("completed").join(grades(ans), on="respondent_id", how="left")
    assert done["grade"].null_count() == 0

    clients = net.filter(pl.col("audience") == "client")
    expected = {3: (4, 1, 9.0), 7: (10, 2, 8.3), 8: (29, 15, 7.9)}
    assert set(clients["service"]) == set(expected)
    for service, (n_net, n_done, mean) in expected.items():
        got = done.filter((pl.col("audience") == "client") & (pl.col("service") == service))
        assert clients.filter(pl.col("service") == service).height == n_net, service
        assert got.height == n_done, service
        assert round1(got["grade"].mean()) == mean, service
    done_clients = done.filter(pl.col("audience") == "client")
    assert (clients.height, done_clients.height) == (43, 18)
    assert round1(100 * 18 / 43) == 41.9
    assert round1(done_clients["grade"].mean()) == 8.0
    assert sorted(done_clients.filter(pl.col("service") == 7)["grade"]) == [8.0, 8.5]

    commissioners = net.filter(pl.col("audience") == "commissioner")
    done_comm = done.filter(pl.col("audience") == "commissioner")
    assert (commissioners.height, done_comm.height) == (38, 9)
    assert round1(100 * 9 / 38) == 23.7
    assert round1(done_comm["grade"].mean()) == 8.2

    # Promotor score 44,4: 8 of the 18 completed clients answered "ja".
    yes = CAT.categories("client", "recommended")[0]
    rec = ans.filter(pl.col("question_id") == "recommended").join(
        done_clients.select("respondent_id"), on="respondent_id")
    assert rec.height == 18
    assert (rec["value"] == yes).sum() == 8
    assert round1(100 * 8 / 18) == 44.4

    # Outside the net sample, partial questionnaires, no phone, reminders, mostly Zuid-Holland.
    assert {"undeliverable", "duplicate"} <= set(piw["status"])
    partial = net.filter(~pl.col("completed") & pl.col("aspects_answered").is_not_null())
    assert partial.filter(pl.col("audience") == "client").height >= 3
    assert set(piw["mode"]) <= {"email", "post"}
    assert piw.filter(pl.col("audience") == "client")["reminded"].eq("true").all()
    provinces = piw.filter(pl.col("audience") == "client")["province"].value_counts(sort=True)
    assert provinces["province"][0] == "PV28"


def test_partner_in_werk_exists_in_every_period(tiny) -> None:
    _, inv, _ = tiny
    piw = inv.filter(pl.col("provider_id") == PARTNER_IN_WERK[0])
    assert sorted(piw["period"].unique()) == list(SCALES["tiny"].periods)


def test_codes_and_values_are_in_the_catalogue(tiny, respondents) -> None:
    _, inv, ans = tiny
    assert set(inv["audience"]) == set(CAT.audiences)
    assert set(inv["mode"]) <= set(CAT.modes)
    assert set(inv["status"]) == set(CAT.statuses)
    assert set(inv["questionnaire"]) <= set(CAT.questionnaires)
    assert set(inv["service"]) <= {s.code for s in CAT.services}
    for period, service in inv.select("period", "service").unique().iter_rows():
        assert CAT.service(service).offered_in(period)
    clients = inv.filter(pl.col("audience") == "client")
    assert all(CAT.province_code(p) for p in clients["province"])
    commissioners = inv.filter(pl.col("audience") == "commissioner")
    assert commissioners["province"].null_count() == commissioners.height
    assert set(commissioners["questionnaire"]) == {"regular"} and set(commissioners["mode"]) == {"email"}
    inburgering = {s.code for s in CAT.services if s.inburgering}
    q = clients.with_columns(inb=pl.col("service").is_in(list(inburgering)))
    assert (q["inb"] == (q["questionnaire"] == "inburgering")).all()
    assert q["inb"].any(), "tiny has an inburgering provider"

    forms = respondents.select("respondent_id", "form")
    merged = ans.join(forms, on="respondent_id")
    assert merged.height == ans.height
    for (form, qid), group in merged.group_by("form", "question_id"):
        question = CAT.question(form, qid)  # KeyError when unknown
        values = set(group["value"].drop_nulls())
        if question.kind in ("satisfaction", "choice"):
            unknown = values - set(CAT.categories(form, qid))
            assert not unknown, (form, qid, unknown)
        elif question.is_numeric:
            numbers = [v for v in values if v != CAT.not_applicable]
            assert numbers
            for v in numbers:
                x = float(v.replace(",", "."))
                assert 1 <= x <= 10 and round(x, 1) == x, (form, qid, v)
            if question.kind == "grade":
                assert CAT.not_applicable not in values
        else:
            assert question.kind == "text" and values


def test_routing(tiny, respondents) -> None:
    _, _, ans = tiny
    wide = respondents.select("respondent_id", "form", "service").join(
        ans.pivot(on="question_id", index="respondent_id", values="value"), on="respondent_id")
    other = CAT.other_category
    for question in CAT.questions:
        if question.id not in wide.columns:
            continue
        asked = wide.filter((pl.col("form") == question.form) & pl.col(question.id).is_not_null())
        if question.services:
            assert asked["service"].is_in(list(question.services)).all(), question.id
        if question.ask_if is not None:
            assert (asked[question.ask_if.question] == question.ask_if.answer).all(), question.id
        if question.parent is not None:
            assert (asked[question.parent] == other).all(), question.id
    # The conditional questions do occur.
    for qid in ("diagnosis_type", "led_to_work", "provider_helped", "complaint_filed", "reason_other"):
        assert qid in wide.columns, qid
    # Not asked outside its diensten.
    client = wide.filter(pl.col("form") == "client")
    assert client.filter(pl.col("service") != 3)["diagnosis_type"].null_count() == client.filter(
        pl.col("service") != 3).height


def test_answers_look_like_a_survey(tiny, respondents) -> None:
    _, _, ans = tiny
    values = set(ans["value"].drop_nulls())
    assert CAT.no_opinion[0] in values
    assert CAT.not_applicable in values
    commissioner_grades = grades(ans).join(
        respondents.filter(pl.col("audience") == "commissioner").select("respondent_id"), on="respondent_id")
    assert (commissioner_grades["grade"] % 1 != 0).any(), "commissioners give decimals"
    assert XSS_PROBE in values
    probe = ans.filter(pl.col("value") == XSS_PROBE).join(respondents, on="respondent_id")
    assert probe["provider_id"].to_list() == [XSS_PROVIDER]
    assert probe["completed"].all()

    net = respondents.filter(pl.col("status") == "delivered")
    response = net["completed"].mean()
    assert 0.25 < response < 0.5
    # Not completed but answered something: partial questionnaires exist at every scale.
    assert net.filter(~pl.col("completed") & pl.col("aspects_answered").is_not_null()).height > 5


def test_norms_have_failures(tiny, respondents) -> None:
    """Some provider-periods fail the norm; at least one only because of a few very low grades."""
    _, _, ans = tiny
    done = respondents.filter(pl.col("completed") & (pl.col("form") == "client")).join(
        grades(ans), on="respondent_id")
    per = done.group_by("provider_id", "period").agg(
        raw=pl.col("grade").mean(), corrected=pl.col("grade").clip(lower_bound=5).mean(), n=pl.len())
    per = per.with_columns(
        raw=pl.col("raw").map_elements(round1, pl.Float64),
        corrected=pl.col("corrected").map_elements(round1, pl.Float64),
    )
    assert per.filter(pl.col("raw") < 6.5).height >= 2
    assert per.filter((pl.col("raw") < 6.5) & (pl.col("corrected") >= 6.5)).height >= 1
    assert per.filter(pl.col("raw") >= 7.0).height >= 3


def test_tiny_shape(tiny) -> None:
    _, inv, ans = tiny
    scale = SCALES["tiny"]
    assert inv["provider_id"].n_unique() == scale.providers
    assert inv.group_by("provider_id").agg(pl.col("provider_name").n_unique())["provider_name"].max() == 1
    assert inv["provider_name"].n_unique() == scale.providers
    assert sorted(inv["period"].unique()) == list(scale.periods)
    assert 2_000 <= ans.height <= 12_000
    assert inv.filter(pl.col("status") != "delivered").height > 0


def test_parquet_has_the_same_content(tmp_path: Path, tiny) -> None:
    paths, inv_csv, ans_csv = tiny
    inv, ans = read(generate("tiny", tmp_path, fmt="parquet"))
    assert [c for c in inv.columns] == inv_csv.columns
    assert inv["respondent_id"].to_list() == inv_csv["respondent_id"].to_list()
    assert inv["reminded"].dtype == pl.Boolean
    assert ans.height == ans_csv.height
    assert ans["answered_at"].dtype == pl.Datetime("us")
    as_text = ans["value"].str.replace(r"^(\d+)\.(\d)$", "$1,$2")
    assert as_text.to_list() == ans_csv["value"].to_list()


def test_unknown_scale_and_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate("huge", tmp_path)
    with pytest.raises(ValueError, match="format"):
        generate("tiny", tmp_path, fmt="xlsx")


def test_choice_models_match_the_catalogue() -> None:
    """A changed category list in the catalogue makes the generator fall back to flat answers: notice it."""
    from keurmerk.synth import _CHOICES

    for (form, qid), spec in _CHOICES.items():
        k = len(CAT.categories(form, qid))
        assert len(spec.weights) == k, (form, qid)
        assert spec.tilt is None or len(spec.tilt) == k, (form, qid)
        assert all(len(w) == k for w in spec.by_service.values()), (form, qid)
        assert set(spec.by_service) <= {s.code for s in CAT.services}


def test_demo_scale(tmp_path: Path) -> None:
    """Demo: ~60 providers, long-tailed sizes, regional concentration, dienst mixes, the XSS probe."""
    paths = generate("demo", tmp_path)
    inv, ans = read(paths)
    scale = SCALES["demo"]
    assert inv["provider_id"].n_unique() == scale.providers == inv["provider_name"].n_unique()
    assert sorted(inv["period"].unique()) == list(scale.periods)
    assert XSS_PROBE in set(ans.filter(pl.col("question_id") == "reason_other")["value"])

    clients = inv.filter(pl.col("audience") == "client")
    sizes = clients.group_by("provider_id", "period").len()["len"]
    assert sizes.max() > 5 * sizes.median(), "a few large firms, many small ones"
    mix = clients.group_by("provider_id").agg(pl.col("service").n_unique())["service"]
    assert mix.min() >= 1 and mix.max() <= 5 and (mix >= 2).any()
    inburgering = {s.code for s in CAT.services if s.inburgering}
    assert clients.filter(pl.col("service").is_in(list(inburgering)))["provider_id"].n_unique() >= 2
    coded = clients.with_columns(
        code=pl.col("province").map_elements(CAT.province_code, pl.String, skip_nulls=True))
    top = coded.group_by("provider_id", "code").len().group_by("provider_id").agg(
        share=pl.col("len").max() / pl.col("len").sum())
    assert top["share"].median() > 0.4, "providers serve mostly their own region"
    assert set(coded["code"].unique()) == {p.code for p in CAT.provinces}
    assert {"email", "post", "phone"} == set(clients["mode"])

    # Results follow quality: providers with better client grades complete more trajectories successfully.
    results = read_results(paths[2])
    success = results.group_by("provider_id").agg(
        rate=pl.col("successful_trajectories").sum() / pl.col("completed_trajectories").sum())
    quality = (
        ans.filter(pl.col("question_id") == "grade")
        .join(clients.select("respondent_id", "provider_id"), on="respondent_id")
        .group_by("provider_id")
        .agg(grade=pl.col("value").str.replace(",", ".").cast(pl.Float64).mean())
    )
    both = success.join(quality, on="provider_id")
    assert both.select(pl.corr("rate", "grade", method="spearman")).item() > 0.3
    failing = results.group_by("provider_id", "period").agg(
        fail=(100 * pl.col("successful_trajectories") / pl.col("completed_trajectories")).lt(50).any())
    assert 0.02 < failing["fail"].mean() < 0.2, "a few provider-periods fail the results norm, most pass"


def test_discontinued_dienst_only_in_old_periods(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from keurmerk import synth

    monkeypatch.setitem(synth.SCALES, "test-2019", synth.Scale(
        "test-2019", providers=80, periods=(2019, 2020), clients_per_year=3_000))
    inv, _ = read(generate("test-2019", tmp_path))
    old = {s.code for s in CAT.services if s.last_period is not None}
    assert old
    used = inv.group_by("period").agg(pl.col("service").unique())
    by_period = {row["period"]: set(row["service"]) for row in used.iter_rows(named=True)}
    assert old <= by_period[2019]
    assert not old & by_period[2020]


def read_results(path: Path) -> pl.DataFrame:
    if path.suffix == ".csv":
        return pl.read_csv(path, separator=";", infer_schema=False).with_columns(
            pl.col("period", "service", "completed_trajectories", "successful_trajectories").cast(pl.Int64))
    return pl.read_parquet(path)


def test_results_for_every_provider_dienst_and_period(tiny) -> None:
    """The results file: one row per provider × dienst × period with invited clients, as the import format."""
    paths, inv, _ = tiny
    assert paths[2].read_text(encoding="utf-8").startswith(
        "period;provider_id;service;completed_trajectories;successful_trajectories\n")
    results = read_results(paths[2])
    assert results.columns == ["period", "provider_id", "service", "completed_trajectories",
                               "successful_trajectories"]
    cells = inv.filter(pl.col("audience") == "client").select("period", "provider_id", "service").unique()
    assert sorted(results.select("period", "provider_id", "service").rows()) == sorted(cells.rows())
    assert (results["successful_trajectories"] <= results["completed_trajectories"]).all()
    assert (results["successful_trajectories"] >= 0).all() and (results["completed_trajectories"] >= 1).all()
    # at least as many completed trajectories as invited clients (every invited client had a trajectory)
    invited = inv.filter(pl.col("audience") == "client").group_by("period", "provider_id", "service").len()
    joined = results.join(invited, on=["period", "provider_id", "service"])
    assert (joined["completed_trajectories"] >= joined["len"]).all()
    rate = 100 * results["successful_trajectories"] / results["completed_trajectories"]
    assert (rate < 50).any() and (rate >= 50).mean() > 0.7


def test_results_parquet_has_the_same_content(tmp_path: Path, tiny) -> None:
    paths = generate("tiny", tmp_path, fmt="parquet")
    assert paths[2].name == "results.parquet"
    assert read_results(paths[2]).equals(read_results(tiny[0][2]))
