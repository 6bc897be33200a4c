"""Dutch texts the metrics put into frames that the catalogue does not (yet) hold.

Labels of questions, categories, diensten, provinces, audiences and modes come from :mod:`keurmerk.catalog`;
only the few words below are the metrics' own. Kept in one place so that they can move into the catalogue.
"""

from __future__ import annotations

from keurmerk.policy import Policy

__all__ = ["NORM_BASIS", "STAGES", "STAGE_BASES", "STAGE_SHARES", "STRENGTH_KINDS", "TOTAL", "bench_too_few", "no_respondents", "too_few"]

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
