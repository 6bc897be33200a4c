"""Dutch texts the metrics put into frames that the catalogue does not (yet) hold.

Labels of questions, categories, diensten, provinces, audiences and modes come from :mod:`keurmerk.catalog`;
only the few words below are the metrics' own. Kept in one place so that they can move into the catalogue.
"""

from __future__ import annotations

from keurmerk.policy import Policy

__all__ = ["NORM_BASIS", "STAGES", "STAGE_BASES", "STAGE_SHARES", "STRENGTH_KINDS", "TOTAL", "bench_too_few", "no_respondents",
           "INTERVAL_LEGEND", "SIGNIFICANT_MARKS", "significance_note", "small_group_rule", "too_few",
           "widen_selection"]

TOTAL = "Totaal"

# fig. 1: the stages of the invitation funnel, in order
STAGES = {"invited": "Uitgenodigd", "net_sample": "Netto steekproef", "completed": "Ingevuld"}
# the stage each share is of, and what the share is called (completed ÷ net sample is the response of table 1.1)
STAGE_BASES = {"invited": "invited", "net_sample": "invited", "completed": "net_sample"}
STAGE_SHARES = {"invited": "", "net_sample": "van uitgenodigd", "completed": "respons"}

# front page: relatief goed / relatief minder goed
STRENGTH_KINDS = {"strength": "relatief goed", "weakness": "relatief minder goed"}

# table 1.1: which mean decided the norm
NORM_BASIS = {"raw": "rapportcijfer", "corrected": "gecorrigeerd rapportcijfer"}


def no_respondents() -> str:
    return "geen respondenten"


def too_few(policy: Policy) -> str:
    return f"te weinig respondenten (n < {policy.min_n})"


def bench_too_few(policy: Policy) -> str:
    return f"vergelijking niet getoond: te weinig respondenten in de vergelijkingsgroep (n < {policy.min_n})"


def small_group_rule(policy: Policy) -> str:
    """The small-group rule (DESIGN §5), stated once: the dashboard's footer and the report say exactly this."""
    n = policy.min_n
    return (
        f"Tabel 1.1 en de rapportcijfers per dienst in figuur 3.1 tonen uw volledige resultaat, zoals het "
        f"officiële rapport; rust een cijfer op minder dan {n} respondenten, dan is het indicatief. Elke andere "
        f"figuur die bij de gekozen selectie op minder dan {n} respondenten zou rusten, toont "
        f"'{too_few(policy)}'; het gemiddelde van alle deelnemers blijft dan zichtbaar. Volgen meerdere van zulke "
        "figuren elkaar op, dan staat er één melding met het voorstel de selectie te verruimen. Het gemiddelde van "
        f"alle deelnemers wordt weggelaten als het op minder dan {n} respondenten rust of als de andere deelnemers "
        f"er samen minder dan {n} aan bijdragen."
    )


def widen_selection(policy: Policy, captions: list[str]) -> str:
    """The one notice for a run of withheld figures."""
    # a run is consecutive: its first and last figure name it
    names = " en ".join(captions) if len(captions) <= 2 else f"{captions[0]} t/m {captions[-1]}"
    return (
        f"Te weinig respondenten (n < {policy.min_n}) in deze selectie voor {len(captions)} figuren ({names}). "
        "Kies een ruimere selectie (meer perioden, diensten of provincies) om ze te zien."
    )


# significance (DESIGN §5, uncertainty): the marker on a value and the one sentence that explains it
SIGNIFICANT_MARKS = {"up": "▲", "down": "▼"}
INTERVAL_LEGEND = "95%-interval"


def significance_note() -> str:
    """Explained once per page and in the report (2.2 Leeswijzer)."""
    return (
        f"De dunne lijn bij een staaf is het {INTERVAL_LEGEND}: de marge waarbinnen de uitkomst met 95% zekerheid "
        f"ligt. {SIGNIFICANT_MARKS['up']} of {SIGNIFICANT_MARKS['down']} achter een waarde: significant hoger of "
        "lager dan alle deelnemers (het interval sluit het gemiddelde van alle deelnemers uit)."
    )
