"""Demo data generator: fictional but realistic import files (DESIGN §4) for the Keurmerk survey.

``generate(scale, out_dir)`` writes ``invitations.<ext>`` and ``answers.<ext>``, exactly as a research bureau
would deliver them, and ``results.<ext>`` (the results norm: trajectories completed and completed successfully
per provider, dienst and period, as providers deliver them), for a population of fictional providers over
several periods. Every label, question id,
category, routing rule and aspect block comes from the catalogue; this module only adds the *model*: how
providers differ and how respondents answer.

The model, in short:

- Providers have a long-tailed size (a few large firms, many small ones), a mix of 1-4 diensten, a
  regional concentration in 1-3 home provinces, their own invitation habits (mode, reminders, data quality)
  and a latent quality that persists across periods (with a small drift and a common upward trend). The
  quality shows in every aspect: grades, satisfaction items, recommendation, commissioner aspect grades,
  complaints.
- Some providers fail the norm (role "weak", or one weak dienst); a few only fail because of a handful of
  very low grades (role "low outliers"), so the low-grade correction of DESIGN §5 decides for them. Some are
  inburgering providers.
- Each respondent has a latent satisfaction ``s`` on the grade scale; every answer is drawn from it.
- Response depends on mode (phone > email > post), reminders and the provider. Undeliverable, duplicate and
  incomplete-data invitations fall outside the net sample; some respondents stop half-way or skip an aspect
  (delivered, not completed).
- Results (trajectories) follow the invited clients of each provider and dienst: roughly as many completed
  trajectories as invited clients, a success rate that depends on the dienst (to-work diensten succeed less
  often) and on the provider's quality, so that weak providers and weak diensten fail the results norm.
- "Partner in Werk" (``P0000``) exists at every scale; its period 2021 reproduces table 1.1 of the seed
  report (see ``PARTNER_CLIENTS``).

Everything is vectorised with numpy per period (no loop per answer) and deterministic for a seed: the same
seed and scale give byte-identical files. Periods are generated and written one at a time, so memory stays
bounded at the ``x10`` scale.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl

from keurmerk.catalog import Catalog, Question, catalog

__all__ = [
    "PARTNER_CLIENTS",
    "PARTNER_COMMISSIONERS",
    "PARTNER_IN_WERK",
    "PARTNER_SATISFIED",
    "PartnerFront",
    "SCALES",
    "XSS_PROBE",
    "XSS_PROVIDER",
    "Scale",
    "cached_warehouse",
    "partner_unsatisfied",
    "generate",
]


# ----------------------------------------------------------------------------------------------------------
# Scales


@dataclass(frozen=True)
class Scale:
    """How much data a scale makes. ``clients_per_year`` counts invited clients over all providers."""

    name: str
    providers: int  # including Partner in Werk (P0000)
    periods: tuple[int, ...]
    clients_per_year: int
    commissioners_per_client: float = 0.8  # mean over providers of invited commissioners per invited client
    churn: float = 0.0  # share of providers that join late or leave early
    fmt: str = "csv"  # default file format


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", providers=8, periods=(2021, 2022), clients_per_year=200),
    "demo": Scale("demo", providers=60, periods=(2021, 2022, 2023), clients_per_year=8_000),
    "national": Scale(
        "national", providers=500, periods=tuple(range(2019, 2026)), clients_per_year=100_000, churn=0.25,
        fmt="parquet",
    ),
    "x10": Scale(
        "x10", providers=500, periods=tuple(range(2019, 2026)), clients_per_year=1_000_000, churn=0.25,
        fmt="parquet",
    ),
}

PARTNER_IN_WERK = ("P0000", "Partner in Werk")
PARTNER_PERIOD = 2021
XSS_PROBE = '<script>alert("xss")</script> & <b>vet</b>'
XSS_PROVIDER = "P0001"  # a completed client of this provider, first period, gives it as `reason_other`

# Codes of the import format (DESIGN §4); checked against the catalogue in _Setup.
FORM_CLIENT, FORM_COMMISSIONER, FORM_INBURGERING = "client", "commissioner", "inburgering"
MODES = ("email", "post", "phone")
STATUSES = ("delivered", "undeliverable", "duplicate", "incomplete_data")
DELIVERED, UNDELIVERABLE, DUPLICATE, INCOMPLETE = range(4)
NONE, PARTIAL, COMPLETE = 0, 1, 2
EMAIL, POST, PHONE = range(3)


# ----------------------------------------------------------------------------------------------------------
# Model parameters (the generator's own choices; labels and categories come from the catalogue)

# Relative popularity of each dienst among (non-inburgering) providers; unknown codes get _DEFAULT_POPULARITY.
_SERVICE_POPULARITY = {1: 6, 2: 5, 3: 10, 4: 3, 5: 10, 6: 9, 7: 10, 8: 17, 9: 18, 10: 6, 12: 3, 13: 3}
_DEFAULT_POPULARITY = 3
_N_SERVICES_P = (0.30, 0.35, 0.22, 0.13)  # chance of a provider offering 1, 2, 3, 4 diensten

_RESPONSE_BASE = {FORM_CLIENT: (0.40, 0.30, 0.62), FORM_COMMISSIONER: (0.22, 0.22, 0.22)}  # by mode
_REMINDER_BOOST = {FORM_CLIENT: 0.07, FORM_COMMISSIONER: 0.05}
_PARTIAL_SHARE = 0.11  # of those who respond, the share that does not finish the aspect block
_UNDELIVERABLE = (0.035, 0.030, 0.060)  # by mode
# Results norm: chance that a completed trajectory succeeds, per dienst (to work is harder than a course), and
# how much it moves per grade point of the provider's quality; unknown diensten get _DEFAULT_SUCCESS.
_SUCCESS_BASE = {1: 0.86, 2: 0.78, 3: 0.90, 4: 0.88, 5: 0.75, 6: 0.80, 7: 0.73, 8: 0.70, 9: 0.67, 10: 0.77,
                 11: 0.80, 12: 0.78, 13: 0.69}
_DEFAULT_SUCCESS = 0.76
_SUCCESS_PER_POINT = 0.12  # per grade point of (provider quality + dienst effect) above 7,7
_EXTRA_TRAJECTORIES = 0.25  # completed trajectories per invited client beyond one (not every client is invited)
_DUPLICATE, _INCOMPLETE = 0.012, 0.012


@dataclass(frozen=True)
class _FormModel:
    grade_decimal: float  # share of grades given with a decimal
    any_decimal: float  # of those, the share with any decimal rather than ,5
    grade_offset: float  # added to the respondent's latent satisfaction
    sd: float  # respondent spread around the mean (commissioners; clients use their provider's own)
    shock: float  # share of very unhappy respondents


_FORM_MODEL = {
    FORM_CLIENT: _FormModel(grade_decimal=0.06, any_decimal=0.0, grade_offset=0.0, sd=1.0, shock=0.025),
    FORM_INBURGERING: _FormModel(grade_decimal=0.04, any_decimal=0.0, grade_offset=0.25, sd=0.9, shock=0.02),
    FORM_COMMISSIONER: _FormModel(grade_decimal=0.45, any_decimal=0.2, grade_offset=0.0, sd=0.7, shock=0.02),
}


@dataclass(frozen=True)
class _Choice:
    """Answer model of a choice question; tuples are aligned with the catalogue's categories (in order)."""

    weights: tuple[float, ...]
    tilt: tuple[float, ...] | None = None  # change in each category's log-odds per point of the driver
    driver: str = "s"  # "s": satisfaction (grade points around 7,5); "work": labour-market outcome
    by_service: dict[int, tuple[float, ...]] = field(default_factory=dict)


_CHOICES: dict[tuple[str, str], _Choice] = {
    # ja · nee, maar dat ga ik wel doen · nee
    (FORM_CLIENT, "recommended"): _Choice((45, 28, 27), (0.9, 0.0, -0.9)),
    # arbeidsdeskundig · psychologisch · capaciteiten/beroepskeuze · loopbaanoriëntatie · medisch · anders
    (FORM_CLIENT, "diagnosis_type"): _Choice((30, 12, 22, 22, 8, 6)),
    # eigen initiatief · werkgever · UWV · gemeente · verzekeraar · anders
    (FORM_CLIENT, "reason"): _Choice(
        (18, 25, 22, 22, 7, 6),
        by_service={
            1: (45, 20, 10, 15, 3, 7), 2: (15, 35, 10, 10, 25, 5), 3: (20, 30, 25, 15, 5, 5),
            4: (10, 75, 3, 7, 2, 3), 5: (8, 20, 45, 22, 2, 3), 6: (5, 60, 8, 2, 22, 3),
            7: (15, 75, 3, 2, 2, 3), 8: (8, 38, 28, 4, 18, 4), 9: (10, 3, 35, 45, 2, 5),
            10: (8, 2, 10, 72, 1, 7), 12: (15, 65, 5, 5, 5, 5), 13: (5, 5, 40, 45, 1, 4),
        },
    ),
    # minder dan 1 keer · 1 keer · 2 à 3 keer · 4 keer of vaker
    (FORM_CLIENT, "contact_frequency"): _Choice((14, 30, 36, 20), (-0.3, 0.0, 0.1, 0.15)),
    # te weinig · precies goed · te veel
    (FORM_CLIENT, "contact_amount"): _Choice((13, 79, 8), (-0.8, 0.5, -0.3)),
    # ja · nee
    (FORM_CLIENT, "same_coach"): _Choice((80, 20), (0.35, -0.35)),
    # beter dan verwacht · zoals verwacht · slechter dan verwacht · geen verwachting
    (FORM_CLIENT, "expectations"): _Choice((24, 46, 14, 16), (0.8, 0.2, -1.1, -0.1)),
    # ja, in loondienst · ja, als zelfstandige · nee
    (FORM_CLIENT, "working_now"): _Choice(
        (45, 7, 48), (0.9, 0.6, -0.9), driver="work",
        by_service={6: (75, 3, 22), 7: (58, 10, 32), 8: (55, 6, 39), 9: (38, 4, 58), 10: (15, 2, 83),
                    13: (45, 2, 53)},
    ),
    # ja · nee · nog niet, traject loopt nog
    (FORM_CLIENT, "led_to_work"): _Choice(
        (40, 33, 27), (1.0, -0.8, 0.0), driver="work",
        by_service={7: (48, 25, 27), 8: (42, 30, 28), 9: (33, 40, 27)},
    ),
    # ja · gedeeltelijk · nee
    (FORM_CLIENT, "provider_helped"): _Choice((55, 30, 15), (0.8, 0.0, -0.8)),
    # ja · nee
    (FORM_CLIENT, "complaint"): _Choice((6, 94), (-1.0, 0.0)),
    # ja · nee · anders
    (FORM_CLIENT, "complaint_filed"): _Choice((50, 40, 10)),
    # ja · gedeeltelijk · nee · nog in behandeling
    (FORM_CLIENT, "complaint_resolved"): _Choice((35, 25, 25, 15), (0.5, 0.0, -0.5, 0.0)),
    # man · vrouw · anders · zeg ik liever niet
    (FORM_CLIENT, "gender"): _Choice((48, 50, 1, 1)),
    # basisonderwijs of geen · vmbo/mavo · havo/vwo · mbo · hbo · wo · anders
    (FORM_CLIENT, "education"): _Choice(
        (5, 15, 9, 36, 24, 9, 2),
        by_service={7: (1, 6, 8, 25, 40, 19, 1), 9: (10, 25, 8, 38, 14, 3, 2), 10: (15, 30, 8, 35, 8, 2, 2),
                    13: (20, 35, 5, 35, 3, 0, 2)},
    ),
    # geen · WW · WIA/WGA/IVA · Ziektewet · bijstand · Wajong · anders
    (FORM_CLIENT, "benefit"): _Choice(
        (35, 15, 12, 10, 15, 5, 8),
        by_service={1: (45, 20, 8, 5, 12, 3, 7), 6: (35, 3, 5, 50, 2, 1, 4), 7: (50, 40, 3, 2, 1, 1, 3),
                    8: (28, 12, 25, 28, 2, 1, 4), 9: (8, 30, 10, 5, 38, 4, 5), 10: (5, 5, 10, 2, 63, 10, 5),
                    13: (5, 5, 15, 2, 20, 48, 5)},
    ),
    (FORM_COMMISSIONER, "recommended"): _Choice((58, 22, 20), (1.0, 0.0, -1.0)),
    (FORM_COMMISSIONER, "complaint"): _Choice((5, 95), (-1.1, 0.0)),
    (FORM_COMMISSIONER, "complaint_resolved"): _Choice((45, 25, 15, 15), (0.6, 0.0, -0.6, 0.0)),
    (FORM_INBURGERING, "recommended"): _Choice((55, 25, 20), (0.9, 0.0, -0.9)),
    (FORM_INBURGERING, "complaint"): _Choice((5, 95), (-1.0, 0.0)),
}

# Satisfaction items: mean offset (how well the item does in general) and chance of "geen mening".
_ITEM_MEAN = {
    "contact_respect": 0.5, "contact_expertise": 0.3, "contact_empathy": 0.2, "contact_listening": 0.1,
    "contact_clarity": 0.1, "contact_agreements": 0.2, "office_intake_speed": -0.3,
    "office_response_speed": -0.2, "office_phone": -0.4, "office_first_meeting": 0.2, "office_location": 0.3,
    "guidance_fit": -0.1, "guidance_information": -0.2, "guidance_pace": -0.2, "guidance_result": -0.3,
    "lesson_teacher": 0.4, "lesson_material": -0.2,
}
_NO_OPINION = {"office_phone": 0.08, "office_location": 0.05, "office_response_speed": 0.04,
               "guidance_pace": 0.04, "lesson_location": 0.04}
_DEFAULT_NO_OPINION = 0.025
_SATISFACTION_CUTS = (0.4, -1.6, -2.7)  # latent cut points between the ordered levels, best first
# Commissioner aspect grades: offset in grade points and chance of n.v.t.
_ASPECT_MEAN = {"aspect_expertise": 0.3, "aspect_agreements": 0.1, "aspect_reports": -0.2,
                "aspect_communication": -0.3, "aspect_speed": -0.2, "aspect_price_quality": -0.5,
                "aspect_results": -0.3}
_ASPECT_NA = {"aspect_reports": 0.12, "aspect_price_quality": 0.10, "aspect_results": 0.08}
_DEFAULT_ASPECT_NA = 0.03
_NA_AS_BLANK = 0.3  # share of n.v.t. delivered as an empty value
# Item non-response among otherwise complete questionnaires (never grade, recommended or aspects).
_ITEM_SKIP = {"gender": 0.02, "education": 0.03, "benefit": 0.04, "working_now": 0.01,
              "contact_frequency": 0.01, "expectations": 0.01}
_TEXT_GIVEN = 0.9  # share of "anders, namelijk" answers that come with a text

_TEXTS = {
    "reason_other": (
        "Via mijn huisarts", "Op advies van de bedrijfsarts", "Doorverwezen door het wijkteam",
        "Via mijn vakbond", "Mijn partner heeft mij aangemeld", "Op aanraden van een vriendin",
        "Via de arbodienst", "Via het sociaal team van de gemeente", "Mijn casemanager bij de verzekeraar",
        "Na een reorganisatie op mijn werk", "Via de schuldhulpverlening", "eigen idee, na lang twijfelen",
        'Via "Werkplein"; daarna de gemeente', "Mijn re-integratiebegeleider van het vorige bedrijf",
    ),
    "diagnosis_type_other": (
        "Neuropsychologisch onderzoek", "Arbeidsmogelijkhedenonderzoek", "Intelligentieonderzoek",
        "Persoonlijkheidsonderzoek", "Ergonomisch werkplekonderzoek", "Assessment voor een nieuwe functie",
        "Onderzoek naar mijn belastbaarheid", "Taaltoets en rekentoets",
    ),
    "complaint_filed_other": (
        "Ik heb het met mijn coach besproken", "Bij mijn werkgever gemeld", "Bij het UWV aangegeven",
        "Nog niet, ik twijfel nog", "Via de klachtencommissie", "Mondeling tegen de leidinggevende gezegd",
        "Mijn advocaat heeft een brief gestuurd", "Bij de gemeente, want die betaalt het traject",
    ),
    "benefit_other": (
        "IOAW", "WAO", "Nabestaandenuitkering", "Toeslagen", "Pensioen", "Studiefinanciering",
        "Alimentatie", "Uitkering uit het buitenland", "Weet ik niet, loopt via de gemeente", "IOW",
    ),
}
_GENERIC_TEXTS = ("Zie toelichting", "Weet ik niet meer", "Iets anders", "Combinatie van beide")

# Partner in Werk, period 2021 (seed table 1.1). Per dienst: grades of completed clients, their answer to
# `recommended` (index into its categories: 0 = ja), grades of partial questionnaires, delivered
# non-responders, and invitations outside the net sample.
_PiwGroup = tuple[tuple[float, ...], tuple[int, ...], tuple[float, ...], int, tuple[int, ...]]
PARTNER_CLIENTS: dict[int, _PiwGroup] = {
    3: ((9.0,), (0,), (4.0,), 2, (UNDELIVERABLE,)),
    7: ((8.0, 8.5), (1, 0), (5.0, 6.0), 6, (INCOMPLETE,)),
    8: ((10, 9, 9, 8, 8, 8, 8, 8, 8, 8, 7, 7, 7, 7, 6), (0, 0, 0, 0, 0, 0, 1, 1, 2, 1, 2, 1, 2, 1, 2),
        (3.0, 6.0, 7.0), 11, (UNDELIVERABLE, UNDELIVERABLE, DUPLICATE)),
}
PARTNER_COMMISSIONERS: _PiwGroup = (
    (8.5, 8.0, 9.0, 7.5, 8.0, 8.8, 8.0, 9.0, 7.0), (0, 0, 1, 0, 2, 0, 1, 0, 2), (5.5, 6.0), 27,
    (UNDELIVERABLE, DUPLICATE),
)
# The seed's front page (its answers wherever the seed fixes them): every completed client is 'tevreden' on
# respectvolle houding (the pie: 100% tevreden), the four office items are relatief goed in the seed's order,
# and no other satisfaction item stands out. How many are satisfied on an item depends on the benchmark, so it
# is chosen per item against the other providers' completed clients of the same period (_partner_front).
_PIW_ALL_SATISFIED = ("contact_respect",)
_PIW_STRONG = ("office_intake_speed", "office_response_speed", "office_first_meeting", "office_location")
_PIW_MIN_DIFF = 5.0  # Policy.strength_min_diff: the front page's threshold (percentage points)
PARTNER_SATISFIED = "tevreden"  # the seed's pie: 100% 'tevreden', 0% 'zeer tevreden'


def partner_unsatisfied() -> str:
    """The answer of Partner in Werk's clients who are not satisfied on an item: the first unsatisfied category."""
    cat = catalog()
    return next(c for c in cat.satisfaction if c not in cat.satisfied and c not in cat.no_opinion)
_PIW_MIX = {8: 0.62, 7: 0.25, 3: 0.13}
_PIW_PROVINCES = {"PV28": 0.82, "PV26": 0.07, "PV27": 0.06, "PV30": 0.05}

# Name parts for fictional providers.
_SURNAMES = (
    "De Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "De Boer", "Mulder", "De Groot", "Bos", "Vos",
    "Peters", "Hendriks", "Van Leeuwen", "Dekker", "Brouwer", "De Wit", "Dijkstra", "Smits", "De Graaf",
    "Van der Meer", "Van der Linden", "Kok", "Jacobs", "De Haan", "Vermeulen", "Van den Berg", "Van Dijk",
    "Schouten", "Hoekstra", "Koster", "Prins", "Huisman", "Post", "Kuipers", "Veenstra", "Van Beek",
    "Willems", "Timmermans", "Verhoeven", "Van Wijk", "Scholten", "Groen", "Molenaar", "Wouters", "Boersma",
)
_STEMS = ("Werk", "Loopbaan", "Talent", "Koers", "Baan", "Arbeids", "Vak", "Mens", "Kans", "Toekomst",
          "Stap", "Groei", "Route", "Vitaal", "Balans", "Kracht")
_SUFFIXES = ("kracht", "punt", "lijn", "wijzer", "brug", "plein", "kompas", "vizier", "sprong", "atelier",
             "huis", "groep", "pad", "poort", "baken", "zaken")
_ADJECTIVES = ("Nieuwe", "Tweede", "Volgende", "Groene", "Open", "Eerlijke", "Heldere", "Sterke", "Vrije")
_NOUNS = ("Koers", "Stap", "Brug", "Horizon", "Route", "Kans", "Weg", "Basis", "Wending", "Start")
_TRADES = ("Re-integratie", "Loopbaanadvies", "Coaching", "Arbeidsadvies", "Begeleiding", "Werkt",
           "Outplacement", "Jobcoaching", "Training & Advies")
_FORMS = ("", "", "", " B.V.", " B.V.", " & Partners", " Groep", " Nederland")
_REGIONS = {
    "PV20": ("Groningen", "Ommeland", "Hunze"), "PV21": ("Friesland", "Leeuwarden", "Waddenland", "Fryslân"),
    "PV22": ("Drenthe", "Assen", "Emmen"), "PV23": ("Twente", "Zwolle", "Salland", "Deventer"),
    "PV24": ("Almere", "Lelystad", "Flevo"), "PV25": ("Arnhem", "Nijmegen", "Veluwe", "Achterhoek", "Betuwe"),
    "PV26": ("Utrecht", "Amersfoort", "Heuvelrug", "Vecht"),
    "PV27": ("Amsterdam", "Haarlem", "Zaanstreek", "Kennemerland", "Gooi", "West-Friesland"),
    "PV28": ("Rijnmond", "Haaglanden", "Leiden", "Delft", "Drechtsteden", "Zoetermeer", "Holland Rijnland"),
    "PV29": ("Zeeland", "Middelburg", "Walcheren"),
    "PV30": ("Brabant", "Eindhoven", "Tilburg", "Breda", "Den Bosch", "Kempen", "Peel"),
    "PV31": ("Limburg", "Maastricht", "Venlo", "Heerlen", "Parkstad"),
}


# ----------------------------------------------------------------------------------------------------------
# Catalogue-derived setup


class _Vocab:
    """Strings by integer code, so that answers are built as integer arrays and turned into text once."""

    def __init__(self) -> None:
        self.strings: list[str | None] = [None]  # code 0 is a missing value
        self._codes: dict[str, int] = {}

    def code(self, s: str) -> int:
        c = self._codes.get(s)
        if c is None:
            c = self._codes[s] = len(self.strings)
            self.strings.append(s)
        return c

    def codes(self, strings: tuple[str, ...] | list[str]) -> np.ndarray:
        return np.array([self.code(s) for s in strings], dtype=np.int32)

    def series(self) -> pl.Series:
        return pl.Series(self.strings, dtype=pl.String)


class _Setup:
    """What the generator needs from the catalogue, checked once."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        for form in (FORM_CLIENT, FORM_COMMISSIONER, FORM_INBURGERING):
            cat.form(form)
        if set(MODES) != set(cat.modes) or set(STATUSES) != set(cat.statuses):
            raise ValueError("catalogue modes/statuses differ from the import format the generator writes")
        self.audiences = (cat.form(FORM_CLIENT).audience, cat.form(FORM_COMMISSIONER).audience)
        self.questionnaires = (*cat.form(FORM_CLIENT).questionnaires[:2],
                               cat.form(FORM_INBURGERING).questionnaires[0],
                               cat.form(FORM_COMMISSIONER).questionnaires[0])
        self.q_regular, self.q_easy, self.q_inburgering, self.q_commissioner = range(4)
        self.services = tuple(s.code for s in cat.services)
        self.service_pos = np.full(max(self.services) + 1, -1, dtype=np.int16)
        self.service_pos[list(self.services)] = np.arange(len(self.services))
        self.inburgering_services = tuple(s.code for s in cat.services if s.inburgering)
        self.provinces = tuple(p.code for p in cat.provinces)
        self.population = np.array([p.population for p in cat.provinces], dtype=float)
        self.ordinal = tuple(c for c in cat.satisfaction if c not in cat.no_opinion)
        self.forms = {f: cat.questions_of(f) for f in (FORM_CLIENT, FORM_COMMISSIONER, FORM_INBURGERING)}
        self.items = [(f, q.id) for f, qs in self.forms.items() for q in qs
                      if q.kind in ("satisfaction", "aspect_grade")]

    def choice(self, form: str, q: Question) -> _Choice:
        """The answer model of a choice question, or a flat one when the catalogue's categories changed."""
        k = len(self.cat.categories(form, q.id))
        spec = _CHOICES.get((form, q.id))
        if spec is None or len(spec.weights) != k or (spec.tilt is not None and len(spec.tilt) != k):
            return _Choice((1.0,) * k)
        if any(len(w) != k for w in spec.by_service.values()):
            return _Choice((1.0,) * k)
        return spec


# ----------------------------------------------------------------------------------------------------------
# Providers


@dataclass
class _Providers:
    ids: list[str]
    names: list[str]
    size: np.ndarray  # relative size (P0000: absolute expected clients)
    first: np.ndarray  # first and last active period
    last: np.ndarray
    mix: np.ndarray  # (n, services) dienst weights
    prov_w: np.ndarray  # (n, provinces) client province weights
    province_names: np.ndarray  # delivers province names instead of codes
    mu: np.ndarray  # mean client grade (latent)
    mu_c: np.ndarray  # mean commissioner grade (latent)
    sd: np.ndarray
    svc_eff: np.ndarray  # (n, services) grade effect of each dienst
    item_eff: dict[tuple[str, str], np.ndarray]
    resp_eff: np.ndarray
    easy: np.ndarray
    phone: np.ndarray  # share of clients called (0 without the phone option)
    email: np.ndarray  # share of e-mail among the others
    remind: np.ndarray
    comm_ratio: np.ndarray
    dq: np.ndarray  # data quality: multiplies undeliverable/duplicate/incomplete rates
    role: np.ndarray  # 0 normal, 1 weak, 2 low outliers, 3 inburgering


ROLE_NORMAL, ROLE_WEAK, ROLE_OUTLIERS, ROLE_INBURGERING = range(4)


def _providers(scale: Scale, su: _Setup, rng: np.random.Generator) -> _Providers:
    n = scale.providers
    if n < 2:
        raise ValueError("a scale needs at least two providers")
    n_svc, n_prov = len(su.services), len(su.provinces)

    size = rng.lognormal(0.0, 1.0, n)
    size[1] = max(size[1], float(np.median(size)))  # XSS_PROVIDER is never tiny

    # Roles: inburgering providers, weak providers, providers with a few very low grades.
    others = rng.permutation(np.arange(2, n))
    n_inb = max(1, round(0.06 * (n - 1)))
    n_weak = max(1, round(0.03 * (n - 1)))
    n_out = max(1, round(0.02 * (n - 1)))
    role = np.zeros(n, dtype=np.int8)
    role[others[:n_inb]] = ROLE_INBURGERING
    role[others[n_inb:n_inb + n_weak]] = ROLE_WEAK
    role[others[n_inb + n_weak:n_inb + n_weak + n_out]] = ROLE_OUTLIERS
    # Enough clients that a handful of very low grades, not one, decides (the low-grade correction matters).
    size[role == ROLE_OUTLIERS] = np.maximum(size[role == ROLE_OUTLIERS], float(np.median(size)))

    # Dienst mix.
    offered = [s for s in su.services if s not in su.inburgering_services]
    pop = np.array([_SERVICE_POPULARITY.get(s, _DEFAULT_POPULARITY) for s in offered], dtype=float)
    discontinued = {s.code for s in su.cat.services if s.last_period is not None}
    mix = np.zeros((n, n_svc))
    k_svc = rng.choice(4, size=n, p=_N_SERVICES_P) + 1
    dirichlet = rng.dirichlet(np.full(4, 1.5), size=n)
    for i in range(n):
        chosen = list(rng.choice(offered, size=k_svc[i], replace=False, p=pop / pop.sum()))
        if all(c in discontinued for c in chosen):
            chosen.append(offered[int(np.argmax(pop))])
        for j, c in enumerate(chosen):
            mix[i, su.service_pos[c]] = dirichlet[i, j % 4] + 0.05
        if role[i] == ROLE_INBURGERING:
            mix[i] *= 0.25 / mix[i].sum()
            for c in su.inburgering_services:
                mix[i, su.service_pos[c]] = 0.75 / len(su.inburgering_services)
    mix /= mix.sum(axis=1, keepdims=True)

    # Regional concentration: 1-3 home provinces (drawn by population), plus a national tail.
    popw = su.population / su.population.sum()
    prov_w = np.zeros((n, n_prov))
    k_home = rng.choice(3, size=n, p=(0.5, 0.35, 0.15)) + 1
    conc = rng.beta(8, 2, n)
    conc[size >= np.quantile(size, 0.97)] = 0.3  # the largest firms work nationally
    for i in range(n):
        homes = rng.choice(n_prov, size=k_home[i], replace=False, p=popw)
        prov_w[i, homes] = conc[i] * rng.dirichlet(np.full(k_home[i], 2.0))
        prov_w[i] += (1 - conc[i]) * popw

    z = rng.standard_normal(n)
    mu = np.clip(7.7 + 0.42 * z, 6.8, 8.8)
    mu[role == ROLE_WEAK] = rng.uniform(5.6, 6.2, int((role == ROLE_WEAK).sum()))
    mu[role == ROLE_OUTLIERS] = rng.uniform(7.3, 7.6, int((role == ROLE_OUTLIERS).sum()))
    mu[role == ROLE_INBURGERING] += 0.1
    mu_c = mu + 0.15 + rng.normal(0, 0.3, n)
    sd = np.where(role == ROLE_OUTLIERS, 0.6, 1.0)
    svc_eff = rng.normal(0, 0.25, (n, n_svc))
    # A weak dienst now and then (can fail the 5,5 per dienst while the total passes).
    weak_svc = (rng.random((n, n_svc)) < 0.02) & (mix > 0) & (k_svc[:, None] >= 2)
    svc_eff[weak_svc] = -2.3
    svc_eff[role == ROLE_OUTLIERS] *= 0.3
    item_eff = {key: rng.normal(0, 0.35, n) for key in su.items}
    resp_eff = rng.normal(0, 0.06, n) + 0.03 * (mu - 7.5)
    easy = np.clip(rng.beta(1.2, 6, n), 0, 0.6)
    phone = np.where(rng.random(n) < 0.15, rng.uniform(0.2, 0.7, n), 0.0)
    email = rng.beta(6, 2, n)
    remind = np.where(rng.random(n) < 0.7, 1.0, rng.uniform(0.3, 0.9, n))
    comm_ratio = np.clip(rng.gamma(4, scale.commissioners_per_client / 4, n), 0.05, 2.0)
    dq = rng.lognormal(0, 0.5, n)
    province_names = rng.random(n) < 0.1

    periods = np.array(scale.periods)
    first = np.full(n, periods[0])
    last = np.full(n, periods[-1])
    if scale.churn > 0 and len(periods) > 2:
        moving = rng.random(n) < scale.churn
        joins = moving & (rng.random(n) < 0.5)
        leaves = moving & ~joins
        first[joins] = rng.choice(periods[1:-1], int(joins.sum()))
        last[leaves] = rng.choice(periods[1:-1], int(leaves.sum()))
        first[:2], last[:2] = periods[0], periods[-1]

    # Partner in Werk: mostly Zuid-Holland, diensten 3/7/8, no phone, always reminded, ~45 clients a year.
    size[0] = 45.0
    role[0] = ROLE_NORMAL
    mix[0] = 0
    for c, w in _PIW_MIX.items():
        mix[0, su.service_pos[c]] = w
    prov_w[0] = 0
    for code, w in _PIW_PROVINCES.items():
        prov_w[0, su.provinces.index(code)] = w
    mu[0], mu_c[0], sd[0], svc_eff[0] = 8.0, 8.2, 0.9, 0.0
    phone[0], email[0], remind[0], comm_ratio[0], easy[0], dq[0] = 0.0, 0.7, 1.0, 0.88, 0.05, 1.0
    province_names[0] = False
    prov_w /= prov_w.sum(axis=1, keepdims=True)

    ids = [f"P{i:04d}" for i in range(n)]
    names = _provider_names(n, [su.provinces[int(np.argmax(w))] for w in prov_w], rng)
    return _Providers(ids, names, size, first, last, mix, prov_w, province_names, mu, mu_c, sd, svc_eff,
                      item_eff, resp_eff, easy, phone, email, remind, comm_ratio, dq, role)


def _provider_names(n: int, homes: list[str], rng: np.random.Generator) -> list[str]:
    """Unique, Dutch-sounding, fictional names; the first is Partner in Werk."""
    names = [PARTNER_IN_WERK[1]]
    seen = {names[0].casefold()}

    def pick(options: tuple[str, ...]) -> str:
        return options[int(rng.integers(len(options)))]

    while len(names) < n:
        region = pick(_REGIONS.get(homes[len(names)], ("Nederland",)))
        pattern = int(rng.integers(8))
        if pattern == 0:
            name = f"{pick(_SURNAMES)} {pick(_TRADES)}"
        elif pattern == 1:
            name = f"{pick(_SURNAMES)} & {pick(_SURNAMES)}"
        elif pattern == 2:
            name = f"Bureau {pick(_SURNAMES)}"
        elif pattern == 3:
            name = f"{pick(_STEMS)}{pick(_SUFFIXES)}{pick(_FORMS)}"
        elif pattern == 4:
            name = f"{pick(_STEMS)}{pick(_SUFFIXES)} {region}"
        elif pattern == 5:
            name = f"{region} {pick(_TRADES)}"
        elif pattern == 6:
            name = f"De {pick(_ADJECTIVES)} {pick(_NOUNS)}"
        else:
            name = f"{pick(_STEMS)}{pick(_SUFFIXES)} {pick(_TRADES)}"
        if name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names


# ----------------------------------------------------------------------------------------------------------
# Invitations of one period


@dataclass
class _Invitations:
    prov: np.ndarray
    audience: np.ndarray  # 0 client, 1 commissioner
    service: np.ndarray  # dienst code
    province: np.ndarray  # index into the catalogue's provinces, -1 for commissioners
    questionnaire: np.ndarray  # index into _Setup.questionnaires
    mode: np.ndarray
    reminded: np.ndarray
    status: np.ndarray
    outcome: np.ndarray
    s: np.ndarray  # latent satisfaction, grade points
    fixed_grade: np.ndarray  # tenths; 0 = not fixed
    fixed_rec: np.ndarray  # category index of `recommended`; -1 = not fixed

    @staticmethod
    def concat(parts: list[_Invitations]) -> _Invitations:
        return _Invitations(*(np.concatenate([getattr(p, f) for p in parts]) for f in _INV_FIELDS))

    def take(self, order: np.ndarray) -> _Invitations:
        return _Invitations(*(getattr(self, f)[order] for f in _INV_FIELDS))


_INV_FIELDS = ("prov", "audience", "service", "province", "questionnaire", "mode", "reminded", "status",
               "outcome", "s", "fixed_grade", "fixed_rec")


def _draw_rows(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category index per row of a (rows, k) probability matrix."""
    cum = np.cumsum(p, axis=1)
    u = rng.random(len(p)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), p.shape[1] - 1)


def _period_invitations(period: int, scale: Scale, P: _Providers, su: _Setup, rng: np.random.Generator,
                        mu_t: np.ndarray, mu_c_t: np.ndarray) -> _Invitations:
    n = len(P.ids)
    active = (P.first <= period) & (P.last >= period)
    weight = np.where(active, P.size, 0.0)
    weight[0] = 0.0
    expected = weight / weight.sum() * max(scale.clients_per_year - P.size[0], 1.0)
    expected[0] = P.size[0] if active[0] else 0.0
    n_cli = np.where(active, np.maximum(rng.poisson(expected * rng.lognormal(0, 0.1, n)), 3), 0)
    n_com = np.where(active, np.maximum(rng.poisson(n_cli * P.comm_ratio), 1), 0)
    special = period == PARTNER_PERIOD and active[0]
    if special:
        n_cli[0] = n_com[0] = 0

    mix = P.mix.copy()
    for s in su.cat.services:
        if not s.offered_in(period):
            mix[:, su.service_pos[s.code]] = 0.0
    mix[mix.sum(axis=1) == 0, su.service_pos[max(_SERVICE_POPULARITY, key=_SERVICE_POPULARITY.get)]] = 1.0
    services = np.array(su.services, dtype=np.int16)
    inb = np.array(su.inburgering_services, dtype=np.int16)

    # Clients.
    prov = np.repeat(np.arange(n, dtype=np.int32), n_cli)
    m = len(prov)
    service = services[_draw_rows(mix[prov], rng)]
    province = _draw_rows(P.prov_w[prov], rng).astype(np.int8)
    is_inb = np.isin(service, inb)
    questionnaire = np.where(is_inb, su.q_inburgering,
                             np.where(rng.random(m) < P.easy[prov], su.q_easy, su.q_regular)).astype(np.int8)
    u = rng.random(m)
    phone_share = np.where(is_inb, np.maximum(P.phone[prov], 0.35), P.phone[prov])
    mode = np.where(u < phone_share, PHONE,
                    np.where(rng.random(m) < P.email[prov], EMAIL, POST)).astype(np.int8)
    reminded = (mode != PHONE) & (rng.random(m) < P.remind[prov])
    s = (mu_t[prov] + P.svc_eff[prov, su.service_pos[service]]
         + _respondent_noise(P.sd[prov], _FORM_MODEL[FORM_CLIENT].shock, rng))
    s = np.where(is_inb, s + _FORM_MODEL[FORM_INBURGERING].grade_offset, s)
    clients = _Invitations(prov, np.zeros(m, np.int8), service, province, questionnaire, mode, reminded,
                           *_status_outcome(FORM_CLIENT, prov, mode, reminded, P, rng), s,
                           np.zeros(m, np.int16), np.full(m, -1, np.int8))

    # Commissioners: e-mail, the regular questionnaire, no province.
    prov = np.repeat(np.arange(n, dtype=np.int32), n_com)
    m = len(prov)
    service = services[_draw_rows(mix[prov], rng)]
    mode = np.full(m, EMAIL, np.int8)
    reminded = rng.random(m) < P.remind[prov]
    cm = _FORM_MODEL[FORM_COMMISSIONER]
    s = mu_c_t[prov] + _respondent_noise(np.full(m, cm.sd), cm.shock, rng)
    commissioners = _Invitations(prov, np.ones(m, np.int8), service, np.full(m, -1, np.int8),
                                 np.full(m, su.q_commissioner, np.int8), mode, reminded,
                                 *_status_outcome(FORM_COMMISSIONER, prov, mode, reminded, P, rng), s,
                                 np.zeros(m, np.int16), np.full(m, -1, np.int8))

    parts = [clients, commissioners]
    if special:
        parts.insert(0, _partner_2021(P, su, rng, mu_t[0], mu_c_t[0]))
    inv = _Invitations.concat(parts)
    inv = inv.take(np.argsort(inv.prov, kind="stable"))  # grouped per provider, clients first
    _low_outliers(inv, P, su, rng)
    return inv


def _respondent_noise(sd: np.ndarray, shock: float, rng: np.random.Generator) -> np.ndarray:
    m = len(sd)
    e = sd * rng.standard_normal(m)
    unhappy = rng.random(m) < shock
    return e - unhappy * rng.uniform(2.0, 5.0, m)


def _status_outcome(form: str, prov: np.ndarray, mode: np.ndarray, reminded: np.ndarray, P: _Providers,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    m = len(prov)
    dq = P.dq[prov]
    scale = 1.0 if form == FORM_CLIENT else 0.6
    p_und = np.array(_UNDELIVERABLE)[mode] * dq * scale
    p_dup = _DUPLICATE * dq * scale
    p_inc = _INCOMPLETE * dq * scale * (1.0 if form == FORM_CLIENT else 0.5)
    u = rng.random(m)
    status = np.select([u < p_und, u < p_und + p_dup, u < p_und + p_dup + p_inc],
                       [UNDELIVERABLE, DUPLICATE, INCOMPLETE], DELIVERED).astype(np.int8)
    p = np.array(_RESPONSE_BASE[form])[mode] + _REMINDER_BOOST[form] * reminded + P.resp_eff[prov]
    responded = (status == DELIVERED) & (rng.random(m) < np.clip(p, 0.03, 0.95))
    partial = responded & (rng.random(m) < _PARTIAL_SHARE)
    outcome = np.where(partial, PARTIAL, np.where(responded, COMPLETE, NONE)).astype(np.int8)
    return status, outcome


def _partner_2021(P: _Providers, su: _Setup, rng: np.random.Generator, mu: float,
                  mu_c: float) -> _Invitations:
    """Partner in Werk's invitations of 2021, reproducing table 1.1 of the seed report."""
    rows: list[tuple[int, int, int, int, float, int]] = []  # audience, service, status, outcome, grade, rec
    for service, (grades, recs, partials, silent, outside) in PARTNER_CLIENTS.items():
        rows += [(0, service, DELIVERED, COMPLETE, g, r) for g, r in zip(grades, recs, strict=True)]
        rows += [(0, service, DELIVERED, PARTIAL, g, -1) for g in partials]
        rows += [(0, service, DELIVERED, NONE, 0.0, -1)] * silent
        rows += [(0, service, st, NONE, 0.0, -1) for st in outside]
    n_cli = len(rows)
    grades, recs, partials, silent, outside = PARTNER_COMMISSIONERS
    rows += [(1, 0, DELIVERED, COMPLETE, g, r) for g, r in zip(grades, recs, strict=True)]
    rows += [(1, 0, DELIVERED, PARTIAL, g, -1) for g in partials]
    rows += [(1, 0, DELIVERED, NONE, 0.0, -1)] * silent
    rows += [(1, 0, st, NONE, 0.0, -1) for st in outside]

    audience, service, status, outcome, grade, rec = (np.array(c) for c in zip(*rows, strict=True))
    m = len(rows)
    order = np.concatenate([rng.permutation(n_cli), n_cli + rng.permutation(m - n_cli)])
    audience, service, status, outcome, grade, rec = (a[order] for a in (audience, service, status, outcome,
                                                                         grade, rec))
    client = audience == 0
    codes = np.array(list(_PIW_MIX), dtype=np.int16)
    service = np.where(client, service, codes[rng.choice(len(codes), m, p=list(_PIW_MIX.values()))])
    province = np.where(client, _draw_rows(np.tile(P.prov_w[0], (m, 1)), rng), -1).astype(np.int8)
    questionnaire = np.where(client, np.where(rng.random(m) < P.easy[0], su.q_easy, su.q_regular),
                             su.q_commissioner).astype(np.int8)
    mode = np.where(client & (rng.random(m) >= P.email[0]), POST, EMAIL).astype(np.int8)
    noise = rng.normal(0, 1.0, m)
    s = np.where(grade > 0, grade, np.where(client, mu, mu_c) + noise)
    return _Invitations(np.zeros(m, np.int32), audience.astype(np.int8), service.astype(np.int16),
                        province, questionnaire, mode, np.ones(m, bool), status.astype(np.int8),
                        outcome.astype(np.int8), s, np.round(grade * 10).astype(np.int16),
                        rec.astype(np.int8))


def _low_outliers(inv: _Invitations, P: _Providers, su: _Setup, rng: np.random.Generator) -> None:
    """Providers with the outlier role get a handful of very low grades (about 20% of completed clients)."""
    target = ((P.role[inv.prov] == ROLE_OUTLIERS) & (inv.outcome == COMPLETE) & (inv.audience == 0)
              & (inv.questionnaire != su.q_inburgering))
    idx = np.flatnonzero(target)
    if len(idx) == 0:
        return
    idx = idx[np.lexsort((rng.random(len(idx)), inv.prov[idx]))]
    prov = inv.prov[idx]
    starts = np.flatnonzero(np.r_[True, prov[1:] != prov[:-1]])
    counts = np.diff(np.r_[starts, len(idx)])
    rank = np.arange(len(idx)) - np.repeat(starts, counts)
    k = np.maximum(1, np.floor(0.2 * counts + 0.5)).astype(int)
    low = idx[rank < np.repeat(k, counts)]
    inv.fixed_grade[low] = rng.choice((10, 20), len(low), p=(0.7, 0.3))
    inv.s[low] = rng.uniform(1.5, 3.5, len(low))


# ----------------------------------------------------------------------------------------------------------
# Answers


@dataclass
class _Answers:
    rows: list[np.ndarray] = field(default_factory=list)  # invitation index
    pos: list[np.ndarray] = field(default_factory=list)  # question position in its form (answer order)
    qcode: list[np.ndarray] = field(default_factory=list)
    vcode: list[np.ndarray] = field(default_factory=list)

    def add(self, rows: np.ndarray, pos: int, qcode: int, vcode: np.ndarray) -> None:
        self.rows.append(rows.astype(np.int64))
        self.pos.append(np.full(len(rows), pos, np.int64))
        self.qcode.append(np.full(len(rows), qcode, np.int32))
        self.vcode.append(vcode.astype(np.int32))

    def sorted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.rows:
            empty = np.zeros(0, np.int64)
            return empty, empty.astype(np.int32), empty.astype(np.int32)
        rows, pos = np.concatenate(self.rows), np.concatenate(self.pos)
        order = np.argsort(rows * 256 + pos, kind="stable")
        return rows[order], np.concatenate(self.qcode)[order], np.concatenate(self.vcode)[order]


@dataclass
class _Codes:
    """Vocabularies of question ids and values, with grade strings in the output's decimal mark."""

    questions: _Vocab
    values: _Vocab
    grade: np.ndarray  # value code of a grade in tenths (index 10..100)

    @staticmethod
    def make(decimal_mark: str) -> _Codes:
        values = _Vocab()
        grade = np.zeros(101, np.int32)
        for t in range(10, 101):
            grade[t] = values.code(str(t // 10) if t % 10 == 0 else f"{t // 10}{decimal_mark}{t % 10}")
        return _Codes(_Vocab(), values, grade)


def _tenths(x: np.ndarray, decimal: np.ndarray, any_decimal: np.ndarray) -> np.ndarray:
    """Grades in tenths, 1-10: whole numbers, or halves, or (rarely) any decimal."""
    whole = np.floor(x + 0.5) * 10
    half = np.floor(x * 2 + 0.5) * 5
    tenth = np.floor(x * 10 + 0.5)
    t = np.where(decimal, np.where(any_decimal, tenth, half), whole)
    return np.clip(t, 10, 100).astype(np.int64)


def _round1(x: float) -> float:
    """One decimal, half away from zero (as every displayed figure)."""
    return math.copysign(math.floor(abs(x) * 10 + 0.5 + 1e-9) / 10, x)


class PartnerFront:
    """How many of Partner in Werk's completed clients of 2021 are satisfied on each satisfaction item, so that its
    front page is the seed's whatever the benchmark (the rest answer 'ontevreden'; nobody 'geen mening').

    Call :meth:`satisfied` item by item in questionnaire order. The difference judged is the front page's: the
    displayed share minus the displayed benchmark, pooled over every completed client, Partner in Werk's own
    included. The pie's item gets everyone satisfied; the items of the seed's organisation list reach at least
    ``_PIW_MIN_DIFF`` and at most the previous one's difference (the list comes out in the seed's order); every
    other item stays as close to the benchmark as n allows. The generator and the hand-made sample
    (keurmerk.metrics.sample) both use it: one Partner in Werk.
    """

    def __init__(self) -> None:
        self.ceilings: dict[str, float] = {}  # per list (contact_*, office_*): the last strong item's difference

    def satisfied(self, item: str, others_satisfied: int, others_opinion: int, n: int) -> int:
        def diff(k: int) -> float:
            bench = 100 * (others_satisfied + k) / max(others_opinion + n, 1)
            return _round1(_round1(100 * k / n) - _round1(bench))

        group = item.split("_")[0]
        if item in _PIW_ALL_SATISFIED:
            return n
        if item in _PIW_STRONG:
            ceiling = self.ceilings.get(group, math.inf)
            fits = [k for k in range(n, -1, -1) if _PIW_MIN_DIFF <= diff(k) <= ceiling]
            k = fits[0] if fits else n
            self.ceilings[group] = diff(k)
            return k
        return min(range(n + 1), key=lambda k: (abs(diff(k)), -k))


def _partner_front(q: Question, rows: np.ndarray, inv: _Invitations, outcome: np.ndarray, vcode: np.ndarray,
                   asked: np.ndarray, codes: _Codes, su: _Setup, front: PartnerFront) -> None:
    """Partner in Werk's answers on satisfaction item ``q`` in the seed's period (in place; see PartnerFront)."""
    cat = su.cat
    piw = np.flatnonzero((inv.prov[rows] == 0) & (outcome == COMPLETE))
    if len(piw) == 0:
        return
    others = asked & (outcome == COMPLETE) & (inv.prov[rows] != 0)
    satisfied = np.isin(vcode, codes.values.codes(cat.satisfied))
    opinion = ~np.isin(vcode, codes.values.codes(cat.no_opinion))
    k = front.satisfied(q.id, int((others & satisfied).sum()), int((others & opinion).sum()), len(piw))
    # the least satisfied clients (lowest latent satisfaction) give the 'ontevreden' answers
    order = piw[np.argsort(inv.s[rows[piw]], kind="stable")]
    vcode[order] = codes.values.code(PARTNER_SATISFIED)
    vcode[order[: len(piw) - k]] = codes.values.code(partner_unsatisfied())
    asked[piw] = True


def _form_answers(form: str, rows: np.ndarray, inv: _Invitations, P: _Providers, su: _Setup,
                  codes: _Codes, rng: np.random.Generator, out: _Answers,
                  force_other: tuple[int, str, str] | None, partner: bool = False) -> None:
    """Answers of the respondents `rows` (invitation indices, ascending) to questionnaire `form`."""
    cat, fm = su.cat, _FORM_MODEL[form]
    m = len(rows)
    if m == 0:
        return
    qs = su.forms[form]
    aspect_pos = np.array([i for i, q in enumerate(qs) if q.aspect], dtype=np.int64)
    outcome, svc, prov = inv.outcome[rows], inv.service[rows], inv.prov[rows]
    x = inv.s[rows] - 7.5
    work = 0.5 * x + rng.standard_normal(m)

    # Partial questionnaires: stop inside the aspect block, or skip one aspect.
    stop = np.full(m, len(qs), np.int64)
    skip = np.full(m, -1, np.int64)
    if len(aspect_pos):
        partial = outcome == PARTIAL
        dropout = partial & (rng.random(m) < 0.6)
        j = aspect_pos[rng.integers(0, len(aspect_pos), m)]
        stop[dropout] = j[dropout]
        skip[partial & ~dropout] = j[partial & ~dropout]

    forced = -1
    if force_other is not None:
        hit = np.flatnonzero(rows == force_other[0])
        forced = int(hit[0]) if len(hit) else -1

    given: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    front = PartnerFront()
    for pos, q in enumerate(qs):
        asked = (stop > pos) & (skip != pos)
        if q.services:
            asked &= np.isin(svc, q.services)
        if q.ask_if is not None:
            if q.ask_if.question not in given:
                continue
            p_asked, p_idx = given[q.ask_if.question]
            answer = cat.categories(form, q.ask_if.question).index(q.ask_if.answer)
            asked &= p_asked & (p_idx == answer)
        if q.parent is not None:
            if q.parent not in given:
                continue
            p_asked, p_idx = given[q.parent]
            other = cat.categories(form, q.parent).index(cat.other_category)
            asked &= p_asked & (p_idx == other)
        skip_p = _ITEM_SKIP.get(q.id, 0.0)
        if skip_p:
            asked &= rng.random(m) >= skip_p

        idx = np.full(m, -1, np.int64)
        if q.kind == "grade":
            t = _tenths(x + 7.5, rng.random(m) < fm.grade_decimal, rng.random(m) < fm.any_decimal)
            fixed = inv.fixed_grade[rows]
            t = np.where(fixed > 0, fixed, t)
            vcode = codes.grade[t]
        elif q.kind == "aspect_grade":
            a = x + 7.5 + _ASPECT_MEAN.get(q.id, 0.0) + P.item_eff[(form, q.id)][prov] + rng.normal(0, 0.6, m)
            vcode = codes.grade[_tenths(a, rng.random(m) < 0.3, np.zeros(m, bool))]
            na = rng.random(m) < _ASPECT_NA.get(q.id, _DEFAULT_ASPECT_NA)
            blank = rng.random(m) < _NA_AS_BLANK
            vcode = np.where(na, np.where(blank, 0, codes.values.code(cat.not_applicable)), vcode)
        elif q.kind == "satisfaction":
            lat = 0.9 * x + _ITEM_MEAN.get(q.id, 0.0) + P.item_eff[(form, q.id)][prov] + rng.normal(0, 0.8, m)
            n_lev = len(su.ordinal)
            cuts = (np.array(_SATISFACTION_CUTS) if n_lev == 4 else np.linspace(0.4, -2.7, n_lev - 1))
            level = (lat[:, None] < cuts[None, :]).sum(axis=1)
            labels = codes.values.codes(su.ordinal)
            vcode = labels[level]
            if cat.no_opinion:
                none = rng.random(m) < _NO_OPINION.get(q.id, _DEFAULT_NO_OPINION)
                vcode = np.where(none, codes.values.code(cat.no_opinion[0]), vcode)
            if partner and form == FORM_CLIENT:
                _partner_front(q, rows, inv, outcome, vcode, asked, codes, su, front)
        elif q.kind == "choice":
            spec = su.choice(form, q)
            k = len(spec.weights)
            w = np.tile(np.log(np.array(spec.weights, float) + 1e-9), (m, 1))
            for code, sw in spec.by_service.items():
                hit = svc == code
                if hit.any():
                    w[hit] = np.log(np.array(sw, float) + 1e-9)
            if spec.tilt is not None:
                driver = work if spec.driver == "work" else x
                w += np.outer(driver, spec.tilt)
            idx = np.argmax(w + rng.gumbel(size=(m, k)), axis=1)
            if q.id == "recommended":
                fixed = inv.fixed_rec[rows]
                idx = np.where(fixed >= 0, fixed, idx)
            if forced >= 0 and force_other is not None and q.id == force_other[1]:
                idx[forced] = cat.categories(form, q.id).index(cat.other_category)
            vcode = codes.values.codes(cat.categories(form, q.id))[idx]
        elif q.kind == "text":
            pool = _TEXTS.get(q.id, _GENERIC_TEXTS)
            vcode = codes.values.codes(pool)[rng.integers(0, len(pool), m)]
            asked &= rng.random(m) < _TEXT_GIVEN
            if forced >= 0 and force_other is not None and q.parent == force_other[1]:
                vcode[forced] = codes.values.code(force_other[2])
                asked[forced] = True
        else:
            raise ValueError(f"unknown question kind {q.kind!r} for {form}.{q.id}")
        given[q.id] = (asked, idx)
        sel = np.flatnonzero(asked)
        out.add(rows[sel], pos, codes.questions.code(q.id), vcode[sel])


def _period_answers(period: int, inv: _Invitations, P: _Providers, su: _Setup, codes: _Codes,
                    rng: np.random.Generator, force_other: tuple[int, str, str] | None) -> _Answers:
    out = _Answers()
    responded = inv.outcome > NONE
    form_rows = {
        FORM_CLIENT: responded & (inv.audience == 0) & (inv.questionnaire != su.q_inburgering),
        FORM_INBURGERING: responded & (inv.questionnaire == su.q_inburgering),
        FORM_COMMISSIONER: responded & (inv.audience == 1),
    }
    for form, mask in form_rows.items():
        _form_answers(form, np.flatnonzero(mask), inv, P, su, codes, rng, out, force_other,
                      partner=period == PARTNER_PERIOD)
    return out


# ----------------------------------------------------------------------------------------------------------
# Results (the results norm)


def _period_results(period: int, inv: _Invitations, P: _Providers, su: _Setup, level: np.ndarray,
                    rng: np.random.Generator) -> pl.DataFrame:
    """Completed and successful trajectories per provider and dienst that had invited clients this period."""
    clients = inv.audience == 0
    n_svc = len(su.services)
    cell = inv.prov[clients].astype(np.int64) * n_svc + su.service_pos[inv.service[clients]]
    keys, invited = np.unique(cell, return_counts=True)
    prov, pos = keys // n_svc, keys % n_svc
    service = np.array(su.services)[pos]
    completed = invited + rng.poisson(_EXTRA_TRAJECTORIES * invited)
    base = np.array([_SUCCESS_BASE.get(int(c), _DEFAULT_SUCCESS) for c in service])
    quality = P.mu[prov] + level[prov] + P.svc_eff[prov, pos] - 7.7
    p = np.clip(base + _SUCCESS_PER_POINT * quality + rng.normal(0, 0.05, len(keys)), 0.05, 0.97)
    successful = rng.binomial(completed, p)
    return pl.DataFrame({
        "period": pl.Series(np.full(len(keys), period, np.int32)),
        "provider_id": pl.Series(P.ids, dtype=pl.String).gather(prov),
        "service": pl.Series(service.astype(np.int32)),
        "completed_trajectories": pl.Series(completed.astype(np.int64)),
        "successful_trajectories": pl.Series(successful.astype(np.int64)),
    })


# ----------------------------------------------------------------------------------------------------------
# Frames and writers


def _frames(period: int, inv: _Invitations, answers: _Answers, P: _Providers, su: _Setup, codes: _Codes,
            rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    m = len(inv.prov)
    seq = pl.int_range(1, m + 1, eager=True).cast(pl.String).str.zfill(7)
    respondent = (f"R{period}" + seq).alias("respondent_id")

    province_strings = pl.Series(
        [*su.provinces, *(p.name for p in su.cat.provinces), None], dtype=pl.String)
    n_prov = len(su.provinces)
    province = np.where(inv.province < 0, 2 * n_prov,
                        inv.province + n_prov * P.province_names[inv.prov]).astype(np.int64)
    audience = np.where(inv.audience == 0, 0, 1)
    invitations = pl.DataFrame({
        "period": pl.Series(np.full(m, period, np.int32)),
        "provider_id": pl.Series(P.ids, dtype=pl.String).gather(inv.prov),
        "provider_name": pl.Series(P.names, dtype=pl.String).gather(inv.prov),
        "respondent_id": respondent,
        "audience": pl.Series(su.audiences, dtype=pl.String).gather(audience),
        "service": pl.Series(inv.service.astype(np.int32)),
        "province": province_strings.gather(province),
        "questionnaire": pl.Series(su.questionnaires, dtype=pl.String).gather(inv.questionnaire),
        "mode": pl.Series(MODES, dtype=pl.String).gather(inv.mode),
        "reminded": pl.Series(inv.reminded.astype(bool)),
        "status": pl.Series(STATUSES, dtype=pl.String).gather(inv.status),
    })

    # One timestamp per respondent, within the period, during the day; paper forms carry none.
    start = np.datetime64(datetime(period, 1, 1), "s").astype(np.int64)
    days = 366 if calendar.isleap(period) else 365
    seconds = start + rng.integers(0, days, m) * 86_400 + rng.integers(8 * 3600, 22 * 3600, m)
    stamp = pl.Series("answered_at", seconds * 1_000_000).cast(pl.Datetime("us"))
    stamp = stamp.scatter(np.flatnonzero(inv.mode == POST), None)

    rows, qcode, vcode = answers.sorted()
    answer_frame = pl.DataFrame({
        "respondent_id": respondent.gather(rows),
        "question_id": codes.questions.series().gather(qcode),
        "value": codes.values.series().gather(vcode),
        "answered_at": stamp.gather(rows),
    })
    return invitations, answer_frame


class _Writer:
    """Appends frames to one CSV (`;`, UTF-8) or Parquet file."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self._fh: IO[bytes] | None = None
        self._pq: Any = None
        self._schema: Any = None

    def write(self, frame: pl.DataFrame) -> None:
        if self.fmt == "csv":
            first = self._fh is None
            if self._fh is None:
                self._fh = self.path.open("wb")
            frame.write_csv(self._fh, include_header=first, separator=";",
                            datetime_format="%Y-%m-%dT%H:%M:%S", null_value="")
        else:
            import pyarrow.parquet as pq

            table = frame.to_arrow()
            if self._pq is None:
                self._schema = table.schema
                self._pq = pq.ParquetWriter(self.path, self._schema, compression="zstd")
            self._pq.write_table(table.cast(self._schema), row_group_size=1 << 20)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self._pq is not None:
            self._pq.close()


def _chunks(frame: pl.DataFrame, size: int = 2_000_000) -> Iterator[pl.DataFrame]:
    for start in range(0, max(frame.height, 1), size):
        yield frame.slice(start, size)


# ----------------------------------------------------------------------------------------------------------
# Entry point


def generate(scale: str, out_dir: Path, seed: int = 2021, fmt: str | None = None,
             progress: Callable[[str, float], None] | None = None) -> list[Path]:
    """Write ``invitations.<ext>``, ``answers.<ext>`` and ``results.<ext>`` for `scale` into `out_dir`; return
    their paths (in that order).

    `fmt` is "csv" (semicolon, decimal comma, UTF-8, as Dutch Excel writes it) or "parquet"; by default the
    scale's own format (CSV for tiny/demo, Parquet for national/x10). Same seed and scale, same bytes.
    `progress(step, fraction_done)` is called now and then when given.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    sc = SCALES[scale]
    fmt = fmt or sc.fmt
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown format {fmt!r}; choose csv or parquet")
    report = progress or (lambda step, fraction: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    su = _Setup(catalog())
    report("aanbieders", 0.0)
    P = _providers(sc, su, np.random.default_rng([seed, 0]))
    codes = _Codes.make("," if fmt == "csv" else ".")
    paths = [out_dir / f"invitations.{fmt}", out_dir / f"answers.{fmt}", out_dir / f"results.{fmt}"]
    writers = [_Writer(path, fmt) for path in paths]
    # Drift of each provider's quality per period (a random walk around its level), with a common trend.
    walk = np.cumsum(np.random.default_rng([seed, 1]).normal(0, 0.07, (len(sc.periods), len(P.ids))), axis=0)
    try:
        for i, period in enumerate(sc.periods):
            report(f"periode {period}", i / len(sc.periods))
            rng = np.random.default_rng([seed, 2, period])
            trend = 0.04 * (period - PARTNER_PERIOD)
            level = trend + walk[i]
            inv = _period_invitations(period, sc, P, su, rng, P.mu + level, P.mu_c + level)
            force = None
            if i == 0:
                hit = np.flatnonzero((inv.prov == 1) & (inv.outcome == COMPLETE) & (inv.audience == 0)
                                     & (inv.questionnaire != su.q_inburgering))
                if len(hit):
                    force = (int(hit[0]), "reason", XSS_PROBE)
            answers = _period_answers(period, inv, P, su, codes, rng, force)
            invitations, answer_frame = _frames(period, inv, answers, P, su, codes, rng)
            writers[0].write(invitations)
            for chunk in _chunks(answer_frame):
                writers[1].write(chunk)
            writers[2].write(_period_results(period, inv, P, su, level, np.random.default_rng([seed, 3, period])))
    finally:
        for w in writers:
            w.close()
    report("klaar", 1.0)
    return paths


def cached_warehouse(scale: str, files_dir: Path, db: Path, echo: Callable[[str], None] = print) -> Path:
    """A published warehouse of `scale` at `db` for benchmarks: the files generated into `files_dir` once, ingested
    once (through the real ingest), the benchmark cube current; later calls reuse what is there."""
    import shutil
    import time

    from keurmerk.formatting import integer
    from keurmerk.ingest import ingest  # imported here: generating files needs none of the warehouse stack
    from keurmerk.metrics import store_cube
    from keurmerk.metrics.source import _stored_cube_is_fresh
    from keurmerk.warehouse import open_readonly, writer

    if not (files_dir / ".done").exists():
        shutil.rmtree(files_dir, ignore_errors=True)
        db.unlink(missing_ok=True)  # made from other files
        started = time.perf_counter()
        generate(scale, files_dir)
        (files_dir / ".done").touch()
        echo(f"generate --scale {scale}: {time.perf_counter() - started:.1f} s")
    if not db.exists():  # the writer publishes with os.replace: a db that exists is complete
        started = time.perf_counter()
        report = ingest(db, sorted(p for p in files_dir.iterdir() if p.suffix in (".csv", ".parquet")))
        if report.quarantine.height:
            db.unlink(missing_ok=True)
            raise RuntimeError(f"ingest zette {report.quarantine.height} rijen in quarantaine: {report.quarantine.head(3)}")
        echo(f"ingest: {time.perf_counter() - started:.1f} s, {integer(report.rows_loaded)} rijen")
    with open_readonly(db) as con:
        fresh = _stored_cube_is_fresh(con)
    if not fresh:
        with writer(db) as con:
            store_cube(con)
    return db
