"""The questionnaire catalogue: diensten, provinces, forms, questions, answer categories and report figures.

Loaded once from ``questionnaire.toml`` (the single source of truth) into frozen dataclasses. Every other layer
asks this module for labels, categories and figure definitions instead of spelling them itself.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

__all__ = [
    "Catalog",
    "Figure",
    "StaffFigure",
    "Form",
    "FrontList",
    "Province",
    "Question",
    "Service",
    "catalog",
]


@dataclass(frozen=True)
class Service:
    code: int
    label: str
    inburgering: bool = False
    last_period: int | None = None  # discontinued after this period

    def offered_in(self, period: int) -> bool:
        return self.last_period is None or period <= self.last_period


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    population: int
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Form:
    """The questionnaire a respondent answers, following from audience and questionnaire."""

    id: str
    label: str
    audience: str
    questionnaires: tuple[str, ...]
    by_service: bool = False  # table 1.1 and the public listing show it per dienst too


@dataclass(frozen=True)
class AskIf:
    question: str
    answer: str


@dataclass(frozen=True)
class Question:
    form: str
    id: str
    kind: str  # grade | aspect_grade | satisfaction | choice | text
    text: str
    categories: tuple[str, ...] = ()
    aspect: bool = False
    services: tuple[int, ...] = ()
    ask_if: AskIf | None = None
    parent: str | None = None

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("grade", "aspect_grade")


@dataclass(frozen=True)
class Figure:
    id: str
    section: str
    number: str
    title: str
    chart: str
    form: str | None = None
    questions: tuple[str, ...] = ()
    by_service: bool = False

    def caption(self, provider_name: str = "de aanbieder") -> str:
        prefix = f"fig. {self.number} " if self.number and self.id.startswith("fig") else ""
        if self.id.startswith("table"):
            prefix = f"tabel {self.number} "
        return prefix + self.title.replace("{aanbieder}", provider_name)


@dataclass(frozen=True)
class StaffFigure:
    """A figure of the staff page over every provider (``[[staff_figures]]``): its kind, title and what it
    draws (see the catalogue's comment)."""

    id: str
    section: str
    title: str
    chart: str
    axis: str = ""
    value: str | None = None
    n: str | None = None
    measure: str | None = None
    min_n: int | None = None
    percent: bool = False
    step: float | None = None
    domain: tuple[float, float] | None = None
    references: tuple[str, ...] = ()
    title_commissioner: str | None = None

    def caption(self, form_label: str, commissioners: bool = False) -> str:
        """The title, for the headline form (its label in ``{vragenlijst}``)."""
        title = self.title_commissioner if commissioners and self.title_commissioner else self.title
        return title.replace("{vragenlijst}", form_label)


@dataclass(frozen=True)
class FrontList:
    """One list of the front page: the items of one satisfaction figure, and the sentence's subject."""

    key: str
    figure: str
    subject: str

    def heading(self, provider_name: str, kind_label: str, count: int) -> str:
        """ "De medewerkers van X scoren relatief goed op het volgende punt:" (the seed's wording)."""
        what = "het volgende punt" if count == 1 else "de volgende punten"
        return f"{self.subject.replace('{aanbieder}', provider_name)} {kind_label} op {what}:"

    def none(self, provider_name: str, kind_label: str) -> str:
        """The sentence when no item qualifies."""
        return (f"{self.subject.replace('{aanbieder}', provider_name)} op geen enkel punt {kind_label} "
                "ten opzichte van alle deelnemers.")


@dataclass(frozen=True)
class Catalog:
    services: tuple[Service, ...]
    provinces: tuple[Province, ...]
    forms: tuple[Form, ...]
    questions: tuple[Question, ...]
    figures: tuple[Figure, ...]
    sections: dict[str, str]
    audiences: dict[str, str]
    questionnaires: dict[str, str]
    modes: dict[str, str]
    statuses: dict[str, str]
    satisfaction: tuple[str, ...]
    satisfied: tuple[str, ...]
    no_opinion: tuple[str, ...]
    not_applicable: str
    other_category: str
    front_lists: tuple[FrontList, ...] = ()
    staff_figures: tuple[StaffFigure, ...] = ()
    _questions_by_key: dict[tuple[str, str], Question] = field(repr=False, compare=False, default_factory=dict)

    # --- look-ups -------------------------------------------------------------------------------------
    def service(self, code: int) -> Service:
        return next(s for s in self.services if s.code == code)

    def service_label(self, code: int) -> str:
        return self.service(code).label

    def province(self, code: str) -> Province:
        return next(p for p in self.provinces if p.code == code)

    def province_code(self, code_or_name: str) -> str | None:
        """PV code for a code or a (case-insensitive) name or alias; None when unknown."""
        key = code_or_name.strip().casefold()
        for p in self.provinces:
            if key in (p.code.casefold(), p.name.casefold(), *(a.casefold() for a in p.aliases)):
                return p.code
        return None

    def form(self, form_id: str) -> Form:
        return next(f for f in self.forms if f.id == form_id)

    def form_of(self, audience: str, questionnaire: str) -> str | None:
        for f in self.forms:
            if f.audience == audience and questionnaire in f.questionnaires:
                return f.id
        return None

    def question(self, form: str, question_id: str) -> Question:
        return self._questions_by_key[(form, question_id)]

    def questions_of(self, form: str) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.form == form)

    def aspect_questions(self, form: str) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.form == form and q.aspect)

    def categories(self, form: str, question_id: str) -> tuple[str, ...]:
        q = self.question(form, question_id)
        return self.satisfaction if q.kind == "satisfaction" else q.categories

    def figure(self, figure_id: str) -> Figure:
        return next(f for f in self.figures if f.id == figure_id)

    def figures_in(self, section: str) -> tuple[Figure, ...]:
        return tuple(f for f in self.figures if f.section == section)


def _question(raw: dict) -> Question:
    ask_if = raw.get("ask_if")
    return Question(
        form=raw["form"],
        id=raw["id"],
        kind=raw["kind"],
        text=raw["text"],
        categories=tuple(raw.get("categories", ())),
        aspect=raw.get("aspect", False),
        services=tuple(raw.get("services", ())),
        ask_if=AskIf(**ask_if) if ask_if else None,
        parent=raw.get("parent"),
    )


@cache
def catalog() -> Catalog:
    """The catalogue, parsed once per process."""
    raw = tomllib.loads(files("keurmerk").joinpath("questionnaire.toml").read_text(encoding="utf-8"))
    questions = tuple(_question(q) for q in raw["questions"])
    scales = raw["scales"]
    return Catalog(
        services=tuple(Service(**s) for s in raw["services"]),
        provinces=tuple(
            Province(code=p["code"], name=p["name"], population=p["population"], aliases=tuple(p.get("aliases", ())))
            for p in raw["provinces"]
        ),
        forms=tuple(
            Form(
                id=k,
                label=v["label"],
                audience=v["audience"],
                questionnaires=tuple(v["questionnaires"]),
                by_service=v.get("by_service", False),
            )
            for k, v in raw["forms"].items()
        ),
        questions=questions,
        figures=tuple(Figure(**{**f, "questions": tuple(f.get("questions", ()))}) for f in raw["figures"]),
        sections=raw["sections"],
        audiences=raw["audiences"],
        questionnaires=raw["questionnaires"],
        modes=raw["modes"],
        statuses=raw["statuses"],
        satisfaction=tuple(scales["satisfaction"]),
        satisfied=tuple(scales["satisfied"]),
        no_opinion=tuple(scales["no_opinion"]),
        not_applicable=scales["not_applicable"],
        other_category=scales["other_category"],
        front_lists=tuple(FrontList(key, **v) for key, v in raw.get("front_lists", {}).items()),
        staff_figures=tuple(
            StaffFigure(**{**f, "references": tuple(f.get("references", ())),
                           "domain": tuple(f["domain"]) if "domain" in f else None})
            for f in raw.get("staff_figures", ())
        ),
        _questions_by_key={(q.form, q.id): q for q in questions},
    )
