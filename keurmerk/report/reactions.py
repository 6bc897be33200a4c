"""The report's appendix "Hoor en wederhoor": the period's granted reactions of the provider, with the answer.

A reaction that Blik op Werk granted (keurmerk.reactions) belongs with the results it is about: the report of that
period lists it after the colophon, with the provider's text and Blik op Werk's answer, both escaped. A report
without granted reactions has no appendix. The reactions are read once per report run, from the store beside the
warehouse (or ``$KEURMERK_REACTIONS``); the store is only read, and a missing store means no reactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from keurmerk.reactions import Reaction, ReactionStore, local_time, subject_label

__all__ = ["ANCHOR", "TITLE", "appendix", "granted_by_provider"]

TITLE = "Bijlage: Hoor en wederhoor"
ANCHOR = "bijlage-hoor-en-wederhoor"


def granted_by_provider(db: str | Path, period: int) -> dict[str, tuple[Reaction, ...]]:
    """Provider id → its granted reactions of ``period``, oldest first."""
    found: dict[str, list[Reaction]] = {}
    for reaction in ReactionStore.beside(db).granted(period):
        found.setdefault(reaction.provider_id, []).append(reaction)
    return {provider_id: tuple(reactions) for provider_id, reactions in found.items()}


def appendix(reactions: Sequence[Reaction], provider_name: str, period: int) -> str:
    """The appendix as an HTML section ('' when there is nothing to list)."""
    if not reactions:
        return ""
    items = "".join(
        f'<div class="km-keep km-reaction" data-km="reaction" data-reference="{escape(r.reference)}">'
        f"<h3>{escape(r.reference)}: {escape(subject_label(r.subject, provider_name))}</h3>"
        f'<p class="km-n">Reactie van {escape(provider_name)}, verstuurd op {escape(local_time(r.created_at))}; '
        f"toegekend op {escape(local_time(r.updated_at))}.</p>"
        f'<h4>Reactie van {escape(provider_name)}</h4><p style="white-space: pre-wrap">{escape(r.text)}</p>'
        f'<h4>Antwoord van Blik op Werk</h4><p style="white-space: pre-wrap">{escape(r.answer or "")}</p></div>'
        for r in reactions
    )
    intro = (
        f"In de eerste drie weken na publicatie van de resultaten van {period} kon {provider_name} reageren op dit "
        "rapport (hoor en wederhoor). Blik op Werk heeft de volgende reacties toegekend; ze staan hieronder met het "
        "antwoord van Blik op Werk."
    )
    return (
        f'<section class="km-chapter" id="{ANCHOR}" data-chapter="hoor-en-wederhoor">'
        f"<h2>{escape(TITLE)}</h2><p>{escape(intro)}</p>{items}</section>"
    )
