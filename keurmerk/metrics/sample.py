"""A small hand-made warehouse whose numbers can be checked by hand, for tests, docs and notebooks.

Three providers, period 2021 (plus three 2020 questionnaires of the first):

- ``P0000`` Partner in Werk is the generator's (:data:`keurmerk.synth.PARTNER_CLIENTS`): the seed report's table
  1.1 (43/18/41,9/8,0; 4/1/25,0/9,0; 10/2/20,0/8,3; 29/15/51,7/7,9; commissioners 38/9/23,7/8,2), its promotor
  score 44,4 (8 of 18 'ja') and its front page by the generator's rule (:class:`keurmerk.synth.PartnerFront`)
  against this sample's benchmark: relatief goed on respectvolle houding (100% tevreden, the pie) and four office
  items. Its net sample also holds incomplete questionnaires whose grades must not count, and undeliverable,
  duplicate and incomplete-data invitations outside it.
- ``P0001`` Werkwijs: an ordinary provider, the mirror image on the front page (relatief minder goed; one
  'geen mening' on deskundigheid), with six
  completed inburgering questionnaires of ten (grades 6 to 9, mean 7,5; five of six satisfied on every lesson
  aspect; three of six recommend).
- ``P0002`` Laag en Hoog: fails the raw norm (5,9) and passes after the low-grade correction (7,1).

:func:`sample_frames` gives the rows as the warehouse tables hold them (``completed`` set by hand);
:func:`write_sample_warehouse` inserts them directly; :func:`write_sample_import_files` writes them in the
import format (semicolons, decimal commas) for ``keurmerk.ingest``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import cycle, islice
from pathlib import Path

import polars as pl

from keurmerk.catalog import catalog
from keurmerk.synth import (
    PARTNER_CLIENTS,
    PARTNER_COMMISSIONERS,
    PARTNER_SATISFIED,
    STATUSES,
    PartnerFront,
    partner_unsatisfied,
)
from keurmerk.warehouse import writer

__all__ = ["PROVIDERS", "sample_frames", "write_sample_import_files", "write_sample_warehouse"]

PROVIDERS = {"P0000": "Partner in Werk", "P0001": "Werkwijs", "P0002": "Laag en Hoog"}

# Items Werkwijs and Laag en Hoog answer apart (``strong``): the seed's front-page items of Partner in Werk.
_STRONG = ("contact_respect", "office_intake_speed", "office_response_speed", "office_first_meeting",
           "office_location")


def _take(values, k: int) -> list:
    return list(islice(cycle(values), k))


@dataclass
class _Rows:
    invitations: list[dict] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)

    def invite(self, provider: str, audience: str, service: int, k: int, *, status: str = "delivered",
               period: int = 2021, questionnaire: str = "regular", provinces=("PV28",), modes=("email",),
               reminded=(True,), answers: list[dict] | None = None, completed: bool = False) -> None:
        """k invitations; ``answers`` (one dict per respondent, cycled) are stored for each."""
        form = catalog().form_of(audience, questionnaire)
        for i, province, mode, remind in zip(range(k), _take(provinces, k), _take(modes, k), _take(reminded, k),
                                             strict=True):
            rid = f"{provider}-{period}-{len(self.invitations) + 1:04d}"
            self.invitations.append({
                "respondent_id": rid, "period": period, "provider_id": provider, "audience": audience,
                "service": service, "province": province if audience == "client" else None,
                "questionnaire": questionnaire, "form": form, "mode": mode, "reminded": remind,
                "status": status, "completed": completed,
            })
            for question, value in (answers[i % len(answers)] if answers else {}).items():
                number = value if isinstance(value, int | float) else None
                self.answers.append({
                    "respondent_id": rid, "question_id": question,
                    "value": str(float(number)) if number is not None else value,
                    "value_num": float(number) if number is not None else None,
                })


def _client(grade: float, i: int, *, service: int, strong: str = "tevreden", satisfied: bool = True,
            recommended: str = "nee", extra: dict | None = None) -> dict:
    """A completed client questionnaire; ``satisfied`` picks the answer on the ordinary items."""
    cat = catalog()
    answers: dict = {"grade": grade, "recommended": recommended}
    for q in cat.aspect_questions("client"):
        answers[q.id] = strong if q.id in _STRONG else ("tevreden" if satisfied else "ontevreden")
    answers |= {
        "reason": _take(["UWV", "werkgever", "eigen initiatief", "gemeente"], i + 1)[-1],
        "contact_frequency": _take(["1 keer", "2 à 3 keer", "minder dan 1 keer"], i + 1)[-1],
        "contact_amount": "precies goed" if i % 4 else "te weinig",
        "same_coach": "ja" if i % 3 else "nee",
        "expectations": _take(["zoals verwacht", "beter dan verwacht", "slechter dan verwacht"], i + 1)[-1],
        "working_now": _take(["ja, in loondienst", "nee", "ja, als zelfstandige"], i + 1)[-1],
        "complaint": "nee",
        "gender": "vrouw" if i % 2 else "man",
        "education": _take(["mbo", "hbo", "vmbo/mavo", "havo/vwo"], i + 1)[-1],
        "benefit": _take(["geen", "WW", "WIA/WGA/IVA"], i + 1)[-1],
    }
    if service in (7, 8, 9):
        answers["led_to_work"] = "ja" if i % 2 else "nog niet, traject loopt nog"
        if i % 2:
            answers["provider_helped"] = "ja" if i % 3 else "gedeeltelijk"
    if service == 3:
        answers["diagnosis_type"] = "loopbaanoriëntatie"
    return answers | (extra or {})


def _commissioner(grade: float, i: int) -> dict:
    aspects = {q.id: (7.5 if j % 2 else 8.0) for j, q in enumerate(catalog().aspect_questions("commissioner"))}
    if i % 3 == 0:
        aspects["aspect_price_quality"] = "n.v.t."
    return {"grade": grade, "recommended": "ja" if i % 2 else "nee", "complaint": "nee", **aspects}


def _inburgering(grade: float, i: int) -> dict:
    lessons = {q.id: ("tevreden" if (i + j) % 3 else "zeer tevreden") if i < 5 else "ontevreden"
               for j, q in enumerate(catalog().aspect_questions("inburgering"))}
    return {"grade": grade, "recommended": "ja" if i % 2 else "nee", "complaint": "nee", **lessons}


def _incomplete(grade: float) -> dict:
    """Answered the grade and one aspect, not the whole aspect block: not completed."""
    return {"grade": grade, "recommended": "nee", "contact_respect": "zeer ontevreden"}


def _rows() -> _Rows:
    rows = _Rows()
    piw = "P0000"
    cat = catalog()
    # Partner in Werk 2021 is the generator's (keurmerk.synth): the seed's groups per dienst, grades and
    # recommendations; its satisfaction answers are filled in below, once the benchmark is known.
    recommend = cat.categories("client", "recommended")
    k = 0
    for service, (grades, recs, partials, silent, outside) in PARTNER_CLIENTS.items():
        completed = []
        for grade, rec in zip(grades, recs, strict=True):
            extra = {}
            if k == 0:
                extra = {"reason": "anders, namelijk", "reason_other": "Via mijn huisarts"}
            if k == 5:
                extra = {"benefit": "anders, namelijk", "benefit_other": "Bijstand van de gemeente <b>Delft</b>"}
            if k == 6:
                extra = {"complaint": "ja", "complaint_filed": "ja", "complaint_resolved": "gedeeltelijk"}
            completed.append(_client(grade, k, service=service, recommended=recommend[rec], extra=extra))
            k += 1
        provinces = {3: ("PV28",), 7: ("PV27", "PV26"), 8: ("PV28", "PV28", "PV27")}[service]
        rows.invite(piw, "client", service, len(completed), answers=completed, completed=True,
                    provinces=provinces, modes=("email", "post"), questionnaire="regular")
        # the rest of the net sample: incomplete questionnaires (their grades must not count) and no response
        rows.invite(piw, "client", service, len(partials), answers=[_incomplete(g) for g in partials],
                    modes=("post",))
        rows.invite(piw, "client", service, silent, modes=("email", "post"), reminded=(True, False),
                    questionnaire="easy" if service == 8 else "regular")
        # outside the net sample, with answers that must not count either
        for status in outside:
            rows.invite(piw, "client", service, 1, status=STATUSES[status], reminded=(False,),
                        answers=[_client(1.0, 0, service=service)])
    # commissioners: 38 net, 9 completed, mean 8,2
    grades, recs, partials, silent, outside = PARTNER_COMMISSIONERS
    rows.invite(piw, "commissioner", 8, len(grades), completed=True,
                answers=[_commissioner(g, i) | {"recommended": recommend[r]}
                         for i, (g, r) in enumerate(zip(grades, recs, strict=True))])
    rows.invite(piw, "commissioner", 8, len(partials), answers=[{"grade": g, "recommended": "nee"} for g in partials])
    rows.invite(piw, "commissioner", 8, silent)
    for status in outside:
        rows.invite(piw, "commissioner", 8, 1, status=STATUSES[status])
    # the year before: must not enter 2021
    rows.invite(piw, "client", 8, 3, period=2020, completed=True,
                answers=[_client(2.0, i, service=8, recommended="ja") for i in range(3)])

    # Werkwijs: 20 completed clients, 70% satisfied on Partner in Werk's strong items, 80% on the rest.
    ww = "P0001"
    completed = [
        _client([7.0, 6.5, 8.0, 7.5][i % 4], i, service=[8, 9][i % 2], strong="tevreden" if i % 10 < 7 else "ontevreden",
                satisfied=i % 5 != 4, recommended=["ja", "nee"][i % 2],
                extra={"contact_expertise": "geen mening"} if i == 3 else None)
        for i in range(20)
    ]
    rows.invite(ww, "client", 8, 10, answers=completed[0::2], completed=True, provinces=("PV27", "PV26", "PV20"))
    rows.invite(ww, "client", 9, 10, answers=completed[1::2], completed=True, provinces=("PV27", "PV26", "PV20"),
                modes=("phone",), reminded=(False,))
    rows.invite(ww, "client", 8, 20, provinces=("PV27",))
    # and its inburgering clients (dienst 11, own questionnaire): grades 6 to 9, mean 7,5; 6 of 10 completed
    rows.invite(ww, "client", 11, 6, questionnaire="inburgering", completed=True, provinces=("PV27",),
                modes=("phone",), answers=[_inburgering(g, i) for i, g in enumerate([6, 7, 7, 8, 8, 9])])
    rows.invite(ww, "client", 11, 4, questionnaire="inburgering", provinces=("PV27",), modes=("phone",))
    rows.invite(ww, "commissioner", 9, 6, completed=True,
                answers=[_commissioner(g, i) for i, g in enumerate([7, 7.5, 6, 8, 7, 7])])
    rows.invite(ww, "commissioner", 9, 4)

    # Laag en Hoog: three fails among seven eights (raw 5,9; corrected 7,1), 80% satisfied everywhere.
    lh = "P0002"
    completed = [
        _client(g, i, service=9, strong="tevreden" if i < 8 else "zeer ontevreden", satisfied=i < 8,
                recommended="ja" if i < 5 else "nee")
        for i, g in enumerate([1.0, 1.0, 1.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0])
    ]
    rows.invite(lh, "client", 9, 10, answers=completed, completed=True, provinces=("PV30",))
    rows.invite(lh, "client", 9, 15, provinces=("PV30",))
    rows.invite(lh, "commissioner", 9, 5, completed=True, answers=[_commissioner(7.0, i) for i in range(5)])
    _partner_front(rows)
    return rows


def _partner_front(rows: _Rows) -> None:
    """Partner in Werk's 2021 satisfaction answers by the generator's rule (keurmerk.synth.PartnerFront) against
    this sample's benchmark, so that its front page is the seed's here too. The least satisfied are the clients
    with the lowest grades."""
    cat = catalog()
    done = {r["respondent_id"]: r for r in rows.invitations
            if r["completed"] and r["period"] == 2021 and r["form"] == "client"}
    grade = {a["respondent_id"]: a["value_num"] for a in rows.answers if a["question_id"] == "grade"}
    piw = sorted((rid for rid, r in done.items() if r["provider_id"] == "P0000"), key=lambda rid: (grade[rid], rid))
    answers = {(a["respondent_id"], a["question_id"]): a for a in rows.answers if a["respondent_id"] in done}
    front = PartnerFront()
    for q in cat.aspect_questions("client"):
        others = [answers[(rid, q.id)]["value"] for rid in done if rid not in piw and (rid, q.id) in answers]
        satisfied = front.satisfied(q.id, sum(v in cat.satisfied for v in others),
                                    sum(v not in cat.no_opinion for v in others), len(piw))
        for i, rid in enumerate(piw):
            answers[(rid, q.id)]["value"] = PARTNER_SATISFIED if i >= len(piw) - satisfied else partner_unsatisfied()


_INVITATION_SCHEMA = {
    "respondent_id": pl.String, "period": pl.Int32, "provider_id": pl.String, "audience": pl.String,
    "service": pl.Int16, "province": pl.String, "questionnaire": pl.String, "form": pl.String, "mode": pl.String,
    "reminded": pl.Boolean, "status": pl.String, "completed": pl.Boolean,
}
_ANSWER_SCHEMA = {"respondent_id": pl.String, "question_id": pl.String, "value": pl.String, "value_num": pl.Float64}


def sample_frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(invitations, answers, providers) with the columns of the warehouse tables."""
    rows = _rows()
    invitations = pl.DataFrame(rows.invitations, schema=_INVITATION_SCHEMA)
    answers = pl.DataFrame(rows.answers, schema=_ANSWER_SCHEMA)
    providers = pl.DataFrame({"provider_id": list(PROVIDERS), "provider_name": list(PROVIDERS.values())})
    return invitations, answers, providers


def write_sample_warehouse(path: str | Path, invitations: pl.DataFrame | None = None,
                           answers: pl.DataFrame | None = None, providers: pl.DataFrame | None = None) -> Path:
    """Publish a warehouse at ``path`` holding these rows (default: :func:`sample_frames`), inserted directly."""
    default = sample_frames()
    frames = {
        "invitations": default[0] if invitations is None else invitations,
        "answers": default[1] if answers is None else answers,
        "providers": default[2] if providers is None else providers,
    }
    with writer(path) as con:
        for table, frame in frames.items():
            con.register("_rows", frame)
            columns = ", ".join(frame.columns)  # our own column names, not data
            con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _rows")
            con.unregister("_rows")
        con.execute("INSERT INTO periods SELECT DISTINCT period FROM invitations")
    return Path(path)


def write_sample_import_files(directory: str | Path) -> tuple[Path, Path]:
    """The sample as a delivery in the import format: semicolons and decimal commas, as Dutch Excel writes."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    invitations, answers, providers = sample_frames()
    invitation_file, answer_file = directory / "invitations.csv", directory / "answers.csv"
    (
        invitations.join(providers, on="provider_id")
        .select("period", "provider_id", "provider_name", "respondent_id", "audience", "service", "province",
                "questionnaire", "mode", pl.col("reminded").cast(pl.String).str.to_lowercase(), "status")
        .write_csv(invitation_file, separator=";")
    )
    comma = pl.col("value_num").map_elements(lambda v: f"{v:g}".replace(".", ","), return_dtype=pl.String)
    (
        answers.select("respondent_id", "question_id",
                       pl.when(pl.col("value_num").is_not_null()).then(comma).otherwise("value").alias("value"))
        .write_csv(answer_file, separator=";")
    )
    return invitation_file, answer_file
