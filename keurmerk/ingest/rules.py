"""Validation rules of the import format (DESIGN §4): invitations and results as polars expressions run in one
pass over the table (``failures``), answers (the bulk of a delivery) as SQL inside DuckDB (``keurmerk.ingest.answers``).

A rule names the import column it is about, the reason a person reads in the quarantine (Dutch), and a polars
expression (or for answers a SQL expression) that is true for a valid row. Rules are data: each kind of file has one list of them, built from the
catalogue. Normalisation (trimming, case, decimal comma, province names) happens first, in plain expressions;
an expression that is null counts as valid, so a rule only speaks when its own question applies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from keurmerk.catalog import catalog
from keurmerk.ingest.format import ANSWER_COLUMNS, INVITATION_COLUMNS, OPTIONAL_COLUMNS, RESULT_COLUMNS
from keurmerk.ingest.read import ROW

__all__ = [
    "Rule",
    "INVITATION_COLUMNS",
    "ANSWER_COLUMNS",
    "RESULT_COLUMNS",
    "normalise_results",
    "result_rules",
    "normalise_invitations",
    "invitation_rules",
    "SqlRule",
    "answer_rules",
    "question_frame",
    "TIMESTAMP_FORMATS",
    "failures",
    "CONFLICT_IN_FILE",
    "CONFLICT_EXISTING",
]

FIRST_PERIOD = 2009  # the survey has run since 2009 (seed report §1.2)

# Conflicts are held back, never guessed (DESIGN §4); ingest appends which rows or which earlier load.
CONFLICT_IN_FILE = {
    "invitations": "respondent_id komt vaker voor in dit bestand, met andere gegevens",
    "answers": "deze vraag is in dit bestand meer dan eens beantwoord, met verschillende antwoorden",
    "results": "deze aanbieder, dienst en periode komen vaker voor in dit bestand, met andere aantallen",
}
CONFLICT_EXISTING = {
    "invitations": "respondent_id bestaat al in het warehouse, met andere gegevens",
    "answers": "deze vraag heeft in het warehouse al een ander antwoord",
    "results": "deze aanbieder, dienst en periode staan al in het warehouse, met andere aantallen",
}

_TRUE = ("true", "ja", "1", "yes", "waar", "y", "j")
_FALSE = ("false", "nee", "0", "no", "onwaar", "n")


@dataclass(frozen=True)
class Rule:
    column: str
    reason: str
    valid: pl.Expr


def _text(column: str) -> pl.Expr:
    """Trimmed text, with the empty string read as missing."""
    trimmed = pl.col(column).str.strip_chars()
    return pl.when(trimmed == "").then(None).otherwise(trimmed)


def _code(column: str, allowed: dict[str, object], dtype: pl.DataType = pl.String) -> pl.Expr:
    """Case-insensitive look-up of a code; null when missing or unknown."""
    return _text(column).str.to_lowercase().replace_strict(allowed, default=None, return_dtype=dtype)


def _present(column: str) -> pl.Expr:
    """Whether the delivered value is there: a column added by ``_per_value``."""
    return pl.col(f"_present_{column}")


def _not_whole(column: str) -> pl.Expr:
    """True for a number with a fraction (2023.5): rejected with its own reason instead of "no number". A column
    added by ``_per_value``."""
    return pl.col(f"_not_whole_{column}")


def _number(column: str) -> pl.Expr:
    return _text(column).str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)


def _whole(column: str, dtype: pl.DataType = pl.Int64) -> pl.Expr:
    """A whole number, also when delivered as a float (2023.0, as pandas writes an integer column with a gap);
    null for 2023.5 or text, which the rules then reject."""
    number = _number(column)
    return pl.when(number == number.round(0)).then(number).cast(dtype, strict=False)


def _checks(column: str, number: bool = False) -> dict[str, pl.Expr]:
    """What the rules ask of a delivered value itself (see ``_present``, ``_not_whole``)."""
    checks = {f"_present_{column}": _text(column).is_not_null()}
    if number:
        value = _number(column)
        checks[f"_not_whole_{column}"] = (value != value.round(0)).fill_null(False)
    return checks


def _per_value(
    frame: pl.DataFrame, derived: dict[str, dict[str, pl.Expr]], numbers: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Add the columns ``derived`` from each delivered column (expressions of that column only) and its
    ``_checks`` (``numbers``: the columns that hold a number), computed once per distinct value and joined back: a
    delivered column holds few distinct values (periods, codes, names), and trimming and parsing them per row cost
    most of a large file's check."""
    for column, columns in derived.items():
        checks = _checks(column, number=column in numbers)
        values = frame.select(pl.col(column).unique()).with_columns(**columns, **checks)
        frame = frame.join(values, on=column, how="left", nulls_equal=True, maintain_order="left")
    return frame


def _service() -> pl.Expr:
    """The dienst as its catalogue code (Int16); null when it is no whole number or not a dienst."""
    codes = {str(s.code): s.code for s in catalog().services}
    return _whole("service").cast(pl.String).replace_strict(codes, default=None, return_dtype=pl.Int16)


# --- invitations ------------------------------------------------------------------------------------------------


def normalise_invitations(frame: pl.DataFrame) -> pl.DataFrame:
    cat = catalog()
    provinces = {}
    for p in cat.provinces:
        for key in (p.code, p.name, *p.aliases):
            provinces[key.casefold()] = p.code
    forms = pl.DataFrame(
        [(f.audience, q, f.id) for f in cat.forms for q in f.questionnaires],
        schema=["audience_v", "questionnaire_v", "form"],
        orient="row",
    )
    last_period = {s.code: s.last_period for s in cat.services if s.last_period}
    inburgering_services = [s.code for s in cat.services if s.inburgering]
    # The respondent is different on every row: computed per row; every other column per distinct value.
    frame = frame.with_columns(respondent_id_v=_text("respondent_id"), **_checks("respondent_id"))
    frame = _per_value(
        frame,
        {
            "period": {"period_v": _whole("period", pl.Int32)},
            "provider_id": {"provider_id_v": _text("provider_id")},
            "provider_name": {"provider_name_v": _text("provider_name")},
            "audience": {"audience_v": _code("audience", {a: a for a in cat.audiences})},
            "service": {"service_v": _service()},
            "province": {"province_v": _text("province").str.to_lowercase().replace_strict(provinces, default=None)},
            "questionnaire": {"questionnaire_v": _code("questionnaire", {q: q for q in cat.questionnaires})},
            "mode": {"mode_v": _code("mode", {m: m for m in cat.modes})},
            "reminded": {
                "reminded_v": _code("reminded", {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}, pl.Boolean)
            },
            "status": {"status_v": _code("status", {s: s for s in cat.statuses})},
        },
        numbers=("period", "service"),
    )
    frame = frame.join(forms, on=["audience_v", "questionnaire_v"], how="left", nulls_equal=False)
    return frame.with_columns(
        _last_period=pl.col("service_v").replace_strict(last_period, default=None, return_dtype=pl.Int32),
        _inburgering_service=pl.col("service_v").is_in(inburgering_services),
    )


def invitation_rules() -> list[Rule]:
    this_year = dt.date.today().year
    rules = [Rule(c, "waarde ontbreekt", _present(c)) for c in INVITATION_COLUMNS if c not in OPTIONAL_COLUMNS]
    client = pl.col("audience_v") == "client"
    return rules + [
        Rule("period", "periode is geen geheel jaartal (een getal met decimalen)", ~_not_whole("period")),
        Rule("service", "dienst is geen geheel getal (een getal met decimalen)", ~_not_whole("service")),
        Rule(
            "period",
            "periode is geen jaartal",
            ~_present("period") | _not_whole("period") | pl.col("period_v").is_not_null(),
        ),
        Rule(
            "period", f"periode ligt vóór {FIRST_PERIOD}, toen het onderzoek begon", pl.col("period_v") >= FIRST_PERIOD
        ),
        Rule("period", "periode ligt in de toekomst", pl.col("period_v") <= this_year),
        Rule(
            "audience",
            "onbekende doelgroep (client of commissioner)",
            ~_present("audience") | pl.col("audience_v").is_not_null(),
        ),
        Rule(
            "service",
            "onbekende dienst (1 tot en met 13)",
            ~_present("service") | _not_whole("service") | pl.col("service_v").is_not_null(),
        ),
        Rule(
            "service",
            "deze dienst wordt in deze periode niet meer aangeboden",
            pl.col("_last_period").is_null() | (pl.col("period_v") <= pl.col("_last_period")),
        ),
        Rule("province", "provincie ontbreekt (verplicht voor cliënten)", ~client | _present("province")),
        Rule(
            "province",
            "onbekende provincie (PV20–PV31 of de naam)",
            ~_present("province") | pl.col("province_v").is_not_null(),
        ),
        Rule("province", "een opdrachtgever heeft geen provincie", client | ~_present("province")),
        Rule(
            "questionnaire",
            "onbekende vragenlijst (regular, easy of inburgering)",
            ~_present("questionnaire") | pl.col("questionnaire_v").is_not_null(),
        ),
        Rule(
            "questionnaire",
            "deze vragenlijst hoort niet bij deze doelgroep",
            pl.col("audience_v").is_null() | pl.col("questionnaire_v").is_null() | pl.col("form").is_not_null(),
        ),
        Rule(
            "questionnaire",
            "cliënten van dienst 11 (inburgering) krijgen de inburgeringsvragenlijst, en alleen zij",
            ~client
            | pl.col("service_v").is_null()
            | pl.col("questionnaire_v").is_null()
            | (pl.col("_inburgering_service") == (pl.col("questionnaire_v") == "inburgering")),
        ),
        Rule(
            "mode",
            "onbekende benaderingswijze (email, post of phone)",
            ~_present("mode") | pl.col("mode_v").is_not_null(),
        ),
        Rule(
            "reminded",
            "herinnering is geen ja/nee (true/false)",
            ~_present("reminded") | pl.col("reminded_v").is_not_null(),
        ),
        Rule(
            "status",
            "onbekende status (delivered, undeliverable, duplicate of incomplete_data)",
            ~_present("status") | pl.col("status_v").is_not_null(),
        ),
        Rule("respondent_id", CONFLICT_IN_FILE["invitations"], ~pl.col("_conflict_in_file")),
        Rule("respondent_id", CONFLICT_EXISTING["invitations"], ~pl.col("_conflict_existing")),
    ]


# --- results (the results norm: trajectories completed and completed successfully) ------------------------------


def normalise_results(frame: pl.DataFrame) -> pl.DataFrame:
    last_period = {s.code: s.last_period for s in catalog().services if s.last_period}
    frame = _per_value(
        frame,
        {
            "period": {"period_v": _whole("period", pl.Int32)},
            "provider_id": {"provider_id_v": _text("provider_id")},
            "service": {"service_v": _service()},
            "completed_trajectories": {"completed_v": _whole("completed_trajectories")},
            "successful_trajectories": {"successful_v": _whole("successful_trajectories")},
        },
        numbers=("period", "service"),
    )
    return frame.with_columns(
        _last_period=pl.col("service_v").replace_strict(last_period, default=None, return_dtype=pl.Int32)
    )


def result_rules() -> list[Rule]:
    this_year = dt.date.today().year
    counts = ("completed_trajectories", "successful_trajectories")
    return [Rule(c, "waarde ontbreekt", _present(c)) for c in RESULT_COLUMNS] + [
        Rule("period", "periode is geen geheel jaartal (een getal met decimalen)", ~_not_whole("period")),
        Rule(
            "period",
            "periode is geen jaartal",
            ~_present("period") | _not_whole("period") | pl.col("period_v").is_not_null(),
        ),
        Rule("period", "periode ligt in de toekomst", pl.col("period_v") <= this_year),
        Rule(
            "provider_id",
            "onbekende aanbieder (staat niet in de uitnodigingen)",
            ~_present("provider_id") | pl.col("_known_provider"),
        ),
        Rule("service", "onbekende dienst (1 tot en met 13)", ~_present("service") | pl.col("service_v").is_not_null()),
        Rule(
            "service",
            "deze dienst wordt in deze periode niet meer aangeboden",
            pl.col("_last_period").is_null() | (pl.col("period_v") <= pl.col("_last_period")),
        ),
        *(
            Rule(c, "geen geheel aantal van 0 of meer", ~_present(c) | (pl.col(v) >= 0).fill_null(False))
            for c, v in zip(counts, ("completed_v", "successful_v"), strict=True)
        ),
        Rule(
            "successful_trajectories",
            "meer succesvolle dan voltooide trajecten",
            pl.col("successful_v") <= pl.col("completed_v"),
        ),
        Rule("service", CONFLICT_IN_FILE["results"], ~pl.col("_conflict_in_file")),
        Rule("service", CONFLICT_EXISTING["results"], ~pl.col("_conflict_existing")),
    ]


# --- answers ----------------------------------------------------------------------------------------------------


def question_frame() -> pl.DataFrame:
    """Per (form, question): its kind, the diensten it is asked for, and the answer that opens it."""
    cat = catalog()
    rows = []
    for q in cat.questions:
        condition = (
            (q.ask_if.question, q.ask_if.answer)
            if q.ask_if
            else (q.parent, cat.other_category)
            if q.parent
            else (None, None)
        )
        rows.append((q.form, q.id, q.kind, list(q.services), *condition))
    return pl.DataFrame(
        rows,
        orient="row",
        schema={
            "form": pl.Categorical,
            "question_id_v": pl.Categorical,
            "kind": pl.String,
            "services": pl.List(pl.Int16),
            "condition_question": pl.String,
            "condition_answer": pl.String,
        },
    )


@dataclass(frozen=True)
class SqlRule:
    """A rule run inside DuckDB (answers: the bulk of a delivery, validated set-based so that DuckDB can spill)."""

    column: str
    reason: str
    valid: str  # a boolean SQL expression over the columns of ``keurmerk.ingest.answers``' checked rows


TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",  # a Parquet timestamp as text (retry of a quarantined row)
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
)


def answer_rules() -> list[SqlRule]:
    """The rules for answers, as SQL over the normalised row (``keurmerk.ingest.answers``). A rule that is NULL
    counts as valid, so a rule only speaks when its own question applies."""
    known_question = "kind IS NOT NULL"
    numeric = "(kind IN ('grade', 'aspect_grade') AND NOT _not_applicable)"
    return [
        SqlRule("respondent_id", "waarde ontbreekt", "respondent_id_v IS NOT NULL"),
        SqlRule("question_id", "waarde ontbreekt", "_has_question"),
        SqlRule(
            "respondent_id",
            "onbekende respondent (staat niet in de uitnodigingen)",
            "respondent_id_v IS NULL OR form IS NOT NULL",
        ),
        SqlRule(
            "question_id",
            "onbekende vraag voor de vragenlijst van deze respondent",
            f"form IS NULL OR NOT _has_question OR {known_question}",
        ),
        SqlRule(
            "question_id",
            "deze vraag wordt niet gesteld bij de dienst van deze respondent",
            f"NOT {known_question} OR len(services) = 0 OR list_contains(services, service_v)",
        ),
        SqlRule("value", "waarde ontbreekt", f"NOT {known_question} OR _not_applicable OR _has_value"),
        SqlRule(
            "value",
            "geen getal (een cijfer van 1 tot en met 10)",
            f"NOT {numeric} OR NOT _has_value OR value_num IS NOT NULL",
        ),
        SqlRule("value", "cijfer buiten 1 tot en met 10", f"NOT {numeric} OR value_num BETWEEN 1 AND 10"),
        SqlRule(
            "value",
            "cijfer met meer dan één decimaal",
            f"NOT {numeric} OR round(value_num * 10, 6) = round(value_num * 10, 0)",
        ),
        SqlRule(
            "value",
            "antwoord hoort niet bij deze vraag (niet in de catalogus)",
            "kind NOT IN ('choice', 'satisfaction') OR NOT _has_value OR category IS NOT NULL",
        ),
        SqlRule(
            "answered_at",
            "ongeldig tijdstip (gebruik bijvoorbeeld 2024-03-14T10:12:00)",
            "NOT _has_answered_at OR answered_at_v IS NOT NULL",
        ),
        SqlRule("value", CONFLICT_IN_FILE["answers"], "NOT _conflict_in_file"),
        SqlRule("value", CONFLICT_EXISTING["answers"], "NOT _conflict_existing"),
    ]


# --- running the rules ------------------------------------------------------------------------------------------


def failures(frame: pl.DataFrame, rules: list[Rule]) -> pl.DataFrame:
    """One row per (row, rule) that fails: _row, column_name, value (as delivered), reason.

    Every rule is one column of a single pass over the frame, so the normalisation they share is computed once.
    A row's failures come by column (in the order the rules first name each column), then in the rules' order."""
    empty = pl.DataFrame(schema={ROW: pl.Int64, "column_name": pl.String, "value": pl.String, "reason": pl.String})
    if frame.height == 0:
        return empty
    columns = list(dict.fromkeys(rule.column for rule in rules))
    ordered = sorted(rules, key=lambda rule: columns.index(rule.column))  # a stable sort: rules' order per column
    flags = (
        frame.lazy()
        .select(ROW, *(~rule.valid.fill_null(True).alias(f"_fails{k}") for k, rule in enumerate(ordered)))
        .filter(pl.any_horizontal(pl.exclude(ROW)))
        .collect()
    )
    if flags.height == 0:
        return empty
    reasons = pl.DataFrame(
        {
            "_rule": [f"_fails{k}" for k in range(len(ordered))],
            "_order": range(len(ordered)),
            "column_name": [rule.column for rule in ordered],
            "reason": [rule.reason for rule in ordered],
        }
    )
    failed = (
        flags.unpivot(index=ROW, variable_name="_rule", value_name="_failed")
        .filter("_failed")
        .join(reasons, on="_rule")
        .sort(ROW, "_order")
    )
    named = [c for c in columns if c in failed["column_name"].unique().to_list()]
    raw_values = (
        frame.filter(pl.col(ROW).is_in(failed[ROW].unique().to_list()))
        .select(ROW, *(pl.col(c).cast(pl.String) for c in named))
        .unpivot(index=ROW, variable_name="column_name", value_name="value")
    )
    return failed.join(raw_values, on=[ROW, "column_name"], how="left", maintain_order="left").select(empty.columns)
