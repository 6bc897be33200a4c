"""The rules of the Keurmerk, once (DESIGN §5): table 1.1's norm with its correction, publication, the results
norm and the combined status.

Functions over cells: polars frames of counts, one row per block (form) and dienst or per block total. The provider's
table 1.1 (:mod:`keurmerk.metrics.figures`), the staff table and the public listing (:mod:`keurmerk.metrics.status`)
judge their rows here, so they cannot drift apart. Each rule comes with the Dutch sentence that explains it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import polars as pl

from keurmerk.catalog import catalog
from keurmerk.formatting import integer, number, percent
from keurmerk.metrics.stats import mean, rounded, share
from keurmerk.policy import Policy

__all__ = [
    "combined_status",
    "correction_text",
    "judge_satisfaction",
    "norm_explained",
    "norm_text",
    "publication_explained",
    "publication_threshold",
    "published",
    "results_met",
    "split_forms",
    "table_rows",
]


@cache
def split_forms() -> tuple[str, ...]:
    """The forms that table 1.1 (and the public listing) show per dienst as well as in total (catalogue:
    ``by_service`` of the form)."""
    return tuple(f.id for f in catalog().forms if f.by_service)


def table_rows(cells: pl.DataFrame, measures: Sequence[str], keys: Sequence[str] = (), total: int | None = None
               ) -> pl.DataFrame:
    """Table 1.1's rows from cells per ``keys``, form and dienst: a row per dienst for the forms split per dienst
    (:func:`split_forms`) and a total row per form (``service`` = ``total``), ``measures`` summed. The provider's
    table (keys: none) and the staff table (keys: the provider) both take their rows from here."""
    per_service = cells.group_by(*keys, "form", "service").agg(pl.col(measures).sum())
    totals = per_service.group_by(*keys, "form").agg(pl.col(measures).sum())
    return pl.concat([
        per_service.filter(pl.col("form").is_in(split_forms())),
        totals.with_columns(service=pl.lit(total, pl.Int16)).select(per_service.columns),
    ])


def _norm(is_total: pl.Expr, policy: Policy) -> pl.Expr:
    """The norm of a row: the block's total norm on its total row, the dienst norm on a dienst's row."""
    totals = {f.id: policy.norm_total_of(f.id) for f in catalog().forms}
    total_norm = pl.col("form").replace_strict(totals, default=None, return_dtype=pl.String).cast(pl.Float64)
    return pl.when(is_total).then(total_norm).otherwise(pl.lit(policy.norm_service))


def published(policy: Policy) -> pl.Expr:
    """Is the row's grade published: always for the audiences the policy names (commissioners), else from
    ``publish_min_completed`` completed questionnaires and a (displayed) response of ``publish_min_response_pct``.
    Needs ``audience``, ``completed`` and ``response_pct``."""
    enough = (pl.col("completed") >= policy.publish_min_completed) & (
        pl.col("response_pct") >= policy.publish_min_response_pct
    )
    return pl.col("audience").is_in(policy.publish_always) | enough.fill_null(False)


def judge_satisfaction(
    rows: pl.DataFrame, policy: Policy, *, grade: str, is_total: pl.Expr, block: tuple[str, ...] = ("form",)
) -> pl.DataFrame:
    """Table 1.1's verdicts, judged on the displayed (rounded) values of ``rows``.

    ``rows`` holds per row ``form``, ``audience``, ``completed``, ``net_sample``, the displayed mean ``grade``, the
    count and sum of the corrected grades (``n``, ``corrected`` in tenths: every grade under the correction floor
    counted as the floor). Adds ``response_pct``, ``corrected_grade``, ``norm``, ``published``, ``meets_norm_raw``,
    ``meets_norm_corrected`` and per ``block`` ``norm_met`` and ``norm_basis``: the raw means decide when they all
    meet the norm (``raw``), else the corrected means do (``corrected``); null for a block without grades.
    """
    d = policy.decimals
    rows = rows.with_columns(
        response_pct=rounded(share("completed", "net_sample"), d),
        corrected_grade=rounded(mean("n", "corrected"), d),
        norm=_norm(is_total, policy),
    ).with_columns(
        published=published(policy),
        meets_norm_raw=pl.col(grade) >= pl.col("norm"),
        meets_norm_corrected=pl.col("corrected_grade") >= pl.col("norm"),
    )
    raw_ok = pl.col("meets_norm_raw").all().over(block)
    corrected_ok = pl.col("meets_norm_corrected").all().over(block)
    graded = pl.col(grade).is_not_null().any().over(block)
    return rows.with_columns(
        norm_met=pl.when(graded).then(raw_ok | corrected_ok),
        norm_basis=pl.when(graded).then(pl.when(raw_ok).then(pl.lit("raw")).otherwise(pl.lit("corrected"))),
    )


def results_met(policy: Policy) -> pl.Expr:
    """In an aggregation over a provider's diensten: every dienst with completed trajectories reaches its
    ``threshold`` with its displayed success rate; null without any trajectories."""
    rate = rounded(share("successful_trajectories", "completed_trajectories"), policy.decimals)
    with_trajectories = pl.col("completed_trajectories") > 0
    return pl.when(pl.col("completed_trajectories").sum() > 0).then(
        (rate >= pl.col("threshold")).filter(with_trajectories).all()
    )


def combined_status(norm_met: pl.Expr, results_met: pl.Expr) -> pl.Expr:
    """The Keurmerk status: ``not_met`` when either norm is missed, ``met`` when both are met, else
    ``incomplete``."""
    return (
        pl.when(norm_met.eq(False) | results_met.eq(False))
        .then(pl.lit("not_met"))
        .when(norm_met.eq(True) & results_met.eq(True))
        .then(pl.lit("met"))
        .otherwise(pl.lit("incomplete"))
    )


# --- the sentences that explain the rules -------------------------------------------------------------------------


def correction_text(policy: Policy) -> str:
    """How the corrected mean counts the grades."""
    floor = number(policy.correction_floor, 0)
    return f"na correctie voor zeer lage cijfers (elk cijfer onder {floor} telt als {floor})"


def publication_threshold(policy: Policy) -> str:
    """What a client grade needs to be published."""
    return (
        f"minstens {integer(policy.publish_min_completed)} ingevulde vragenlijsten en een respons van minstens "
        f"{percent(policy.publish_min_response_pct, 0)}"
    )


def norm_text(policy: Policy) -> str:
    """The satisfaction norm, its correction and publication, in one paragraph (under a dashboard's table 1.1)."""
    floor = number(policy.correction_floor, 0)
    return (
        f"De norm: gemiddeld minstens {number(policy.norm_total)} in totaal en minstens {number(policy.norm_service)} "
        f"per dienst. Haalt een aanbieder dat niet, dan telt elk cijfer onder {floor} "
        f"als {floor} (alle onvoldoendes even zwaar). Publicatie van een cliëntcijfer: "
        f"{publication_threshold(policy)}; het cijfer van opdrachtgevers wordt altijd gepubliceerd."
    )


def norm_explained(policy: Policy) -> str:
    """The satisfaction norm and why grades are corrected, as the report explains them (the seed's wording)."""
    p = policy
    floor = number(p.correction_floor, 0)
    return (
        f"Voor het behalen van het keurmerk is, bij totaal, een gemiddeld rapportcijfer van {number(p.norm_total)} "
        f"de norm. Per dienst moet er dan wel een gemiddeld rapportcijfer van {number(p.norm_service)} of hoger "
        "worden gehaald. Bij bedrijven die deze score niet halen, is ook gekeken naar de spreiding van de scores: "
        "de beoordeling is dan gecorrigeerd voor erg lage rapportcijfers. Bij kleine aantallen ingevulde "
        "vragenlijsten kan een rapportcijfer 1 namelijk een ongewenst grote invloed hebben op het gemiddelde. "
        f"In dat geval telt elk cijfer onder de {floor} als een {floor}: alle onvoldoendes wegen even zwaar, "
        f"ongeacht of het om een 1 gaat of om een {floor}. Voor het totaal van de opdrachtgevers geldt een "
        f"gemiddeld rapportcijfer van {number(p.norm_total_commissioner)}, voor dat van de inburgeraars "
        f"{number(p.norm_total_inburgering)}: die normen zijn een keuze van Blik op Werk."
    )


def publication_explained(policy: Policy) -> str:
    """Publication, as the report explains it under table 1.1 (the seed's wording)."""
    return (
        "In de kolom 'Publicatie' staat of u voor de betreffende dienst voldoende respons heeft behaald om het "
        f"rapportcijfer gepubliceerd te krijgen op de website van Blik op Werk: {publication_threshold(policy)}. "
        "Bij de opdrachtgevers staat 'ja', omdat dat cijfer altijd "
        "gepubliceerd wordt. Aan deze cijfers kunnen geen rechten worden ontleend met betrekking tot het "
        "behalen of behouden van het keurmerk."
    )
