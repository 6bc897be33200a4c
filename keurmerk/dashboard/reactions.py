"""Hoor en wederhoor in the dashboards: the provider's tab and the staff section (rules in keurmerk.reactions).

``add_to_provider_page`` gives a provider dashboard its tab "Hoor en wederhoor": while a window is open, a subject,
the field "Uw reactie" and the button "Reactie versturen"; always, the provider's own reactions with their status
and Blik op Werk's answer. ``add_to_staff_page`` gives the staff page the list of every reaction (open ones first,
with a count) and the form to record a decision and an answer.

Both get the verified link (:class:`keurmerk.access.Access`) from the app that checked it; the provider id comes
from it, never from a widget. The browser can only choose among the options these widgets were given, and the
store checks every action again. Every text from the store is escaped.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Collection
from functools import cache
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb
import ipywidgets as widgets

from keurmerk import pieces
from keurmerk.access import Access
from keurmerk.formatting import integer
from keurmerk.policy import Policy, load_policy
from keurmerk.reactions import (
    DECISIONS,
    STATUS_LABELS,
    Reaction,
    ReactionRefused,
    ReactionStore,
    Window,
    local_time,
    provider_names,
    publication_windows,
    subject_choices,
    subject_label,
)

__all__ = ["ProviderReactions", "StaffReactions", "TITLE", "add_to_provider_page", "add_to_staff_page"]

TITLE = "Hoor en wederhoor"
SECTION_KEY = "hoor_en_wederhoor"
BUSY = "Dit kon nu niet worden opgeslagen. Probeer het over een minuut opnieuw; uw tekst staat nog in het veld."
STAFF_VIEW_NOTE = (
    "U bekijkt deze pagina als medewerker: alleen de aanbieder zelf kan hier reageren. Beantwoorden doet u in de "
    "benchmarkverkenner, onder Hoor en wederhoor."
)


@cache
def _style() -> str:
    return "<style>" + files("keurmerk.dashboard").joinpath("static", "reactions.css").read_text("utf-8") + "</style>"


def warehouse_file(con: duckdb.DuckDBPyConnection) -> Path:
    """The file of the warehouse this connection reads (the store's default place is beside it)."""
    return Path(
        con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    )


def _message(text: str, ok: bool) -> str:
    kind = "km-ok" if ok else "km-error"
    return f'<div class="km-message {kind}" role="status" data-km="reaction-message">{escape(text)}</div>'


def _badge(reaction: Reaction) -> str:
    return f'<span class="km-badge km-st-{escape(reaction.status)}">{escape(reaction.status_label)}</span>'


def _reaction_card(reaction: Reaction, provider_name: str) -> str:
    if reaction.answer:
        answer = (
            f'<div class="km-answer" data-km="answer"><strong>Antwoord van Blik op Werk</strong> '
            f'<span class="km-meta">({escape(local_time(reaction.updated_at))})</span>\n{escape(reaction.answer)}</div>'
        )
    else:
        answer = '<div class="km-meta">Blik op Werk heeft nog niet geantwoord.</div>'
    return (
        f'<div class="km-reaction" data-km="reaction" data-reference="{escape(reaction.reference)}">'
        f'<div class="km-meta"><strong>{escape(reaction.reference)}</strong> · verstuurd op '
        f"{escape(local_time(reaction.created_at))} · resultaten {reaction.period} · over: "
        f"{escape(subject_label(reaction.subject, provider_name))} · status: {_badge(reaction)}</div>"
        f'<div class="km-text">{escape(reaction.text)}</div>{answer}</div>'
    )


def _attempt(button: widgets.Button, message: widgets.HTML, action: Callable[[], Reaction]) -> Reaction | None:
    """Run ``action`` on the store with ``button`` disabled (no second reaction from a double click); a refusal or
    a busy store is said in ``message`` and gives None."""
    button.disabled = True
    try:
        return action()
    except ReactionRefused as refused:
        message.value = _message(str(refused), ok=False)
    except sqlite3.Error:
        message.value = _message(BUSY, ok=False)
    finally:
        button.disabled = False
    return None


class ProviderReactions:
    """The tab of one provider: the form while a window is open, and its own reactions."""

    def __init__(
        self,
        store: ReactionStore,
        access: Access,
        provider_id: str,
        provider_name: str,
        windows: dict[int, Window],
        policy: Policy | None = None,
        sections: Collection[str] | None = None,
    ):
        self.store, self.access, self.provider_name = store, access, provider_name
        self.provider_id = provider_id  # from the verified link (or the provider a staff link opened)
        self.windows, self.policy = windows, policy or load_policy()
        now = store.clock()
        self.open_windows = [w for w in windows.values() if w.is_open(now)]
        self.can_send = access.role == "provider" and access.provider_id == provider_id and bool(self.open_windows)
        self.window_note = widgets.HTML(self._window_text(now))
        self.message = widgets.HTML()
        self.listing = widgets.HTML()
        children: list[widgets.Widget] = [
            widgets.HTML(
                f'{_style()}<div class="km-page"><h2>{TITLE}</h2><div class="km-sub">Bent u het niet eens met (een '
                f"deel van) uw resultaten? In de eerste {integer(self.policy.reaction_window_days)} dagen na "
                "publicatie van de resultaten van een periode kunt u hier reageren. Blik op Werk beoordeelt uw "
                "reactie en antwoordt op deze pagina; een toegekende reactie komt als bijlage bij het rapport van "
                "die periode.</div></div>"
            ),
            self.window_note,
        ]
        if self.can_send:
            latest = max(self.open_windows, key=lambda w: w.period)
            self.period = widgets.Dropdown(
                options=[
                    (f"Resultaten {w.period}", w.period) for w in sorted(self.open_windows, key=lambda w: w.period)
                ],
                value=latest.period,
                description="Over de resultaten van",
                layout=widgets.Layout(display="" if len(self.open_windows) > 1 else "none"),
            )
            self.subject = widgets.Dropdown(options=subject_choices(provider_name, sections), description="Onderwerp")
            self.text = widgets.Textarea(
                description="Uw reactie",
                placeholder=f"Uw reactie, maximaal {integer(self.policy.reaction_max_chars)} tekens",
                layout=widgets.Layout(width="100%"),
            )
            self.counter = widgets.HTML(self._count(""))
            self.text.observe(self._typed, "value")
            self._just_sent = False
            self.send_button = widgets.Button(description="Reactie versturen", button_style="primary", icon="")
            self.send_button.layout.width = "auto"
            self.send_button.on_click(self.send)
            form = widgets.VBox([self.period, self.subject, self.text, self.counter, self.send_button])
            form.add_class("km-reaction-form")
            children.append(form)
        elif access.is_staff:
            children.append(widgets.HTML(f'<div class="km-page">{pieces.note(STAFF_VIEW_NOTE)}</div>'))
        children += [self.message, self.listing]
        self.widget = widgets.VBox(children)
        self.widget.add_class("km-reactions")
        self.widget.add_class(f"km-section-{SECTION_KEY}")
        self.reload()

    def _typed(self, change: dict) -> None:
        self.counter.value = self._count(change["new"])
        if change["new"]:
            self._just_sent = False

    def _count(self, text: str) -> str:
        return (
            f'<div class="km-counter" data-km="counter">{integer(len(text or ""))} van '
            f"{integer(self.policy.reaction_max_chars)} tekens</div>"
        )

    def _window_text(self, now: dt.datetime) -> str:
        if self.open_windows:
            lines = [
                f"U kunt reageren op de resultaten van {w.period} (gepubliceerd op {local_time(w.published_at, False)}) "
                f"tot {local_time(w.closes)}."
                for w in sorted(self.open_windows, key=lambda w: w.period)
            ]
            return f'<div class="km-window" data-km="window-open">{"<br>".join(escape(x) for x in lines)}</div>'
        closed = [w for w in self.windows.values() if w.closes <= now]
        if closed:
            last = max(closed, key=lambda w: w.closes)
            periods = [
                str(p) for p in sorted(w.period for w in closed if w.closes == last.closes)
            ]  # published together
            named = periods[0] if len(periods) == 1 else f"{', '.join(periods[:-1])} en {periods[-1]}"
            text = (
                f"De termijn voor hoor en wederhoor is gesloten sinds {local_time(last.closes)} (resultaten van "
                f"{named}, gepubliceerd op {local_time(last.published_at, False)}). Uw reacties en de "
                "antwoorden van Blik op Werk blijven hieronder leesbaar."
            )
        else:
            text = "Er zijn nog geen gepubliceerde resultaten waarop u kunt reageren."
        return f'<div class="km-window km-closed" data-km="window-closed">{escape(text)}</div>'

    def reload(self) -> list[Reaction]:
        """Show the provider's own reactions as the store has them now."""
        own = self.store.reactions(self.access, provider_id=self.provider_id)
        own = [r for r in own if r.provider_id == self.provider_id]  # staff viewing one provider: that one only
        own.sort(key=lambda r: r.created_at, reverse=True)
        if own:
            cards = "".join(_reaction_card(r, self.provider_name) for r in own)
            body = f'<div class="km-caption">Uw reacties ({integer(len(own))})</div>{cards}'
        else:
            body = pieces.note("U heeft nog geen reacties verstuurd.")
        self.listing.value = f'<div class="km-page" data-km="reactions">{body}</div>'
        return own

    def send(self, _button: object = None) -> Reaction | None:
        """Send the text in "Uw reactie" about the chosen subject; the confirmation or the reason shows above."""
        if not self.can_send:
            return None
        if self._just_sent and not self.text.value.strip():
            return None  # a second click of a double click: the confirmation stays
        window = next((w for w in self.open_windows if w.period == self.period.value), None)

        def submit() -> Reaction:
            if window is None:
                raise ReactionRefused("Kies de periode waarover uw reactie gaat.")
            return self.store.submit(self.access, window, self.subject.value, self.text.value)

        reaction = _attempt(self.send_button, self.message, submit)
        if reaction is None:
            return None
        self.text.value = ""
        self._just_sent = True
        self.message.value = _message(
            f"Uw reactie is ontvangen onder referentienummer {reaction.reference}. Blik op Werk beoordeelt haar "
            "en antwoordt op deze pagina.",
            ok=True,
        )
        self.reload()
        return reaction


def add_to_provider_page(
    dashboard: Any, access: Access, con: duckdb.DuckDBPyConnection, store: ReactionStore | None = None
) -> widgets.VBox:
    """Give a provider dashboard (keurmerk.dashboard.ProviderDashboard) its tab "Hoor en wederhoor".

    The publication dates are read from ``con`` now (the app closes the warehouse once the page is built); the
    tab's widgets are made when it is first opened, like the report's chapters, so that the first screen does not
    carry them. Returns the tab; ``tab.panel`` is the :class:`ProviderReactions` once opened.
    """
    policy = dashboard.policy
    store = store or ReactionStore.beside(warehouse_file(con), policy=policy)
    windows = publication_windows(con, dashboard.provider_id, policy)
    style = dashboard._html(_style())  # with the page: it also lets the tab bar wrap on a phone
    tab = widgets.VBox([style], layout=dashboard._plain)
    tab.panel = None
    tabs = dashboard.tabs
    # counts as opened: the dashboard builds figures only for the report's chapters
    dashboard.sections[SECTION_KEY] = tab
    dashboard.opened.add(SECTION_KEY)
    tabs.children = [*tabs.children, tab]
    tabs.set_title(len(tabs.children) - 1, TITLE)
    index = len(tabs.children) - 1

    def opened(change: dict) -> None:
        if change["new"] == index and tab.panel is None:
            chapters = set(dashboard.sections) - {SECTION_KEY}  # figures of the chapters this provider has
            tab.panel = ProviderReactions(
                store, access, dashboard.provider_id, dashboard.provider_name, windows, policy, chapters
            )
            tab.children = [style, tab.panel.widget]

    tabs.observe(opened, names="selected_index")
    return tab


# --- staff ----------------------------------------------------------------------------------------------------
class StaffReactions:
    """Every reaction for staff, open ones first, and the form that records a decision and an answer."""

    def __init__(
        self,
        store: ReactionStore,
        access: Access,
        names: dict[str, str],
        policy: Policy | None = None,
    ):
        self.store, self.access, self.names = store, access, names
        self.policy = policy or load_policy()
        self.heading = widgets.HTML()
        self.listing = widgets.HTML()
        self.choice = widgets.Dropdown(description="Reactie", options=[])
        self.decision = widgets.Dropdown(
            description="Beslissing", options=[(STATUS_LABELS[s], s) for s in DECISIONS], value="in_behandeling"
        )
        self.answer = widgets.Textarea(
            description="Antwoord aan de aanbieder",
            placeholder=f"Het antwoord dat de aanbieder ziet, maximaal {integer(self.policy.reaction_max_chars)} tekens",
            layout=widgets.Layout(width="100%"),
        )
        self.save_button = widgets.Button(description="Beslissing opslaan", button_style="primary")
        self.refresh_button = widgets.Button(description="Vernieuwen")
        for button in (self.save_button, self.refresh_button):
            button.layout.width = "auto"
        self.save_button.on_click(self.save)
        self.refresh_button.on_click(lambda _button: self.reload())
        self.message = widgets.HTML()
        self.form = widgets.VBox(
            [self.choice, self.decision, self.answer, widgets.HBox([self.save_button, self.refresh_button])]
        )
        self.form.add_class("km-decision-form")
        self.widget = widgets.VBox([self.heading, self.listing, self.form, self.message])
        self.widget.add_class("km-reactions")
        self.widget.add_class(f"km-section-{SECTION_KEY}")
        self.reactions: list[Reaction] = []
        self.reload()

    def _name(self, provider_id: str) -> str:
        return self.names.get(provider_id, provider_id)

    def reload(self) -> list[Reaction]:
        """Read every reaction again (new ones arrive while the page is open)."""
        self.reactions = self.store.reactions(self.access)
        open_count = sum(r.is_open for r in self.reactions)
        self.heading.value = (
            f'{_style()}<div class="km-page"><h2>{TITLE} <span class="km-count" data-km="open-count">'
            f'({integer(open_count)} open)</span></h2><div class="km-sub">Reacties van aanbieders op hun gepubliceerde '
            "resultaten, de open reacties eerst. Een toegekende reactie komt als bijlage bij het rapport van die "
            "periode; de aanbieder ziet uw beslissing en antwoord bij zijn volgende bezoek.</div></div>"
        )
        if self.reactions:
            head = "".join(
                f"<th>{h}</th>"
                for h in (
                    "Referentie",
                    "Aanbieder",
                    "Periode",
                    "Onderwerp",
                    "Reactie",
                    "Verstuurd",
                    "Status",
                    "Antwoord",
                )
            )
            rows = "".join(
                f'<tr data-reference="{escape(r.reference)}"><td>{escape(r.reference)}</td>'
                f"<td>{escape(self._name(r.provider_id))} ({escape(r.provider_id)})</td><td>{r.period}</td>"
                f"<td>{escape(subject_label(r.subject, self._name(r.provider_id)))}</td>"
                f'<td class="km-text">{escape(r.text)}</td><td>{escape(local_time(r.created_at))}</td>'
                f'<td>{_badge(r)}</td><td class="km-text">{escape(r.answer or "")}</td></tr>'
                for r in self.reactions
            )
            self.listing.value = (
                '<div class="km-page km-table-wrap"><table class="km-table" data-km="staff-reactions">'
                f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
            )
        else:
            self.listing.value = f'<div class="km-page">{pieces.note("Er zijn nog geen reacties.")}</div>'
        chosen = self.choice.value
        self.choice.options = [
            (f"{r.reference} — {self._name(r.provider_id)} ({r.status_label})", r.reference) for r in self.reactions
        ]
        references = [r.reference for r in self.reactions]
        # the one chosen before stays chosen; otherwise the first, the reaction that waits longest
        self.choice.value = chosen if chosen in references else (references[0] if references else None)
        self.form.layout.display = "" if self.reactions else "none"
        return self.reactions

    def save(self, _button: object = None) -> Reaction | None:
        """Record the chosen decision and answer on the chosen reaction."""
        if self.choice.value is None:
            self.message.value = _message("Kies eerst een reactie.", ok=False)
            return None
        reaction = _attempt(
            self.save_button,
            self.message,
            lambda: self.store.decide(self.access, self.choice.value, self.decision.value, self.answer.value),
        )
        if reaction is None:
            return None
        self.answer.value = ""
        self.reload()
        self.choice.value = reaction.reference
        self.message.value = _message(
            f"Beslissing opgeslagen: {reaction.reference} is {reaction.status_label}. De aanbieder ziet het bij "
            "zijn volgende bezoek.",
            ok=True,
        )
        return reaction


def add_to_staff_page(
    explorer: Any, access: Access, con: duckdb.DuckDBPyConnection, store: ReactionStore | None = None
) -> StaffReactions:
    """Put the reactions on the staff page (keurmerk.dashboard.StaffExplorer), right under its summary."""
    policy = explorer.policy
    store = store or ReactionStore.beside(warehouse_file(con), policy=policy)
    panel = StaffReactions(store, access, provider_names(con), policy)
    children = list(explorer.widget.children)
    at = children.index(explorer.summary) + 1 if explorer.summary in children else len(children)
    explorer.widget.children = [*children[:at], panel.widget, *children[at:]]
    return panel
