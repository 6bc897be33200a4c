"""Hoor en wederhoor: a provider's reactions to its published results, and Blik op Werk's answers (DESIGN §5).

Seed 004 §5: "In de eerste drie weken na publicatie van dit rapport kunt u tevens gebruik maken van de hoor- en
wederhoor functionaliteit". A provider may react for ``Policy.reaction_window_days`` after the results of a period
were published for it (the date each ingest records in the warehouse table ``publications``); staff record a
decision (in behandeling, toegekend, afgewezen) and an answer; granted reactions go into that period's report.

The warehouse is a read-only published snapshot, so reactions live in their own store: one SQLite file (standard
library ``sqlite3``), by default beside the warehouse (``var/demo.duckdb`` → ``var/demo.reactions.sqlite``), or
wherever ``$KEURMERK_REACTIONS`` points. No ingest or publication touches it. Many dashboard kernels write to it at
once: WAL mode (readers never wait for a writer), a busy timeout, and every write in a ``BEGIN IMMEDIATE``
transaction (the write lock is taken before the daily limit is counted, so concurrent sends cannot pass it).

History is append-only: a reaction is one row in ``reactions`` (never changed) and every change is a new row in
``events`` with when, the role and the provider id of the signed link that made it, the status and the answer.
Triggers refuse UPDATE and DELETE on both tables. The current status of a reaction is that of its latest event.

Who may do what is decided here, from the verified link (:class:`keurmerk.access.Access`), never from data the
browser sent: a provider link sends reactions for its own provider and reads only its own; only a staff link
reads all and decides. Viewing never creates the store: it is made by the first reaction sent.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import duckdb

from keurmerk.access import Access
from keurmerk.catalog import catalog
from keurmerk.formatting import integer
from keurmerk.policy import Policy, load_policy

__all__ = [
    "DECISIONS",
    "REACTIONS_ENV",
    "REPORT_SUBJECT",
    "STATUS_LABELS",
    "Event",
    "Reaction",
    "ReactionRefused",
    "ReactionStore",
    "Window",
    "local_time",
    "provider_names",
    "publication_windows",
    "store_path",
    "subject_choices",
    "subject_label",
    "write_list",
]

REACTIONS_ENV = "KEURMERK_REACTIONS"
REPORT_SUBJECT = "rapport"  # the subject "the report as a whole"; any other subject is a figure id
RECEIVED = "ontvangen"
STATUS_LABELS = {
    RECEIVED: "ontvangen",
    "in_behandeling": "in behandeling",
    "toegekend": "toegekend",
    "afgewezen": "afgewezen",
}
DECISIONS = ("in_behandeling", "toegekend", "afgewezen")
OPEN = (RECEIVED, "in_behandeling")  # not decided yet: "open" in the staff view and `keurmerk reactions list`
TIMEZONE = ZoneInfo("Europe/Amsterdam")  # dates shown and the calendar day of the daily limit
BUSY_TIMEOUT_SECONDS = 30.0
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reactions (
    reaction_id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,      -- shown to the provider: HW-<period>-<number>
    provider_id TEXT NOT NULL,           -- from the signed link that sent it
    period INTEGER NOT NULL,
    subject TEXT NOT NULL,               -- 'rapport' or a figure id of the catalogue
    text TEXT NOT NULL,
    created_at TEXT NOT NULL             -- ISO 8601, UTC
);
CREATE TABLE IF NOT EXISTS events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    reaction_id INTEGER NOT NULL REFERENCES reactions (reaction_id),
    at TEXT NOT NULL,                    -- ISO 8601, UTC
    role TEXT NOT NULL,                  -- provider | staff: the role of the link
    link_provider_id TEXT,               -- the provider id of the link (NULL for a staff link)
    action TEXT NOT NULL,                -- verstuurd | beslissing
    status TEXT NOT NULL,                -- ontvangen | in_behandeling | toegekend | afgewezen
    answer TEXT                          -- Blik op Werk's answer (decisions only)
);
CREATE INDEX IF NOT EXISTS reactions_by_provider ON reactions (provider_id, created_at);
CREATE INDEX IF NOT EXISTS events_by_reaction ON events (reaction_id, event_id);
CREATE TRIGGER IF NOT EXISTS reactions_no_update BEFORE UPDATE ON reactions
    BEGIN SELECT RAISE(ABORT, 'hoor en wederhoor: de geschiedenis wordt alleen aangevuld'); END;
CREATE TRIGGER IF NOT EXISTS reactions_no_delete BEFORE DELETE ON reactions
    BEGIN SELECT RAISE(ABORT, 'hoor en wederhoor: de geschiedenis wordt alleen aangevuld'); END;
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'hoor en wederhoor: de geschiedenis wordt alleen aangevuld'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'hoor en wederhoor: de geschiedenis wordt alleen aangevuld'); END;
"""

# every reaction with the status and answer of its latest event
_CURRENT = """
SELECT r.reference, r.provider_id, r.period, r.subject, r.text, r.created_at, e.status, e.answer, e.at, e.action
FROM reactions AS r
JOIN events AS e ON e.event_id = (SELECT max(event_id) FROM events WHERE reaction_id = r.reaction_id)
"""


class ReactionRefused(Exception):
    """A reaction or decision that is not accepted; ``str(exc)`` is the Dutch message for the person."""


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local_time(value: dt.datetime, with_time: bool = True) -> str:
    """'30-11-2026 20:45' (or '30-11-2026') in Dutch time."""
    return _utc(value).astimezone(TIMEZONE).strftime("%d-%m-%Y %H:%M" if with_time else "%d-%m-%Y")


def store_path(warehouse: str | Path) -> Path:
    """The store: ``$KEURMERK_REACTIONS`` if set, else ``<warehouse name>.reactions.sqlite`` beside the warehouse."""
    if configured := os.environ.get(REACTIONS_ENV):
        return Path(configured)
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.reactions.sqlite")


# --- the window: when a provider may react ---------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """The days after the results of ``period`` were published for ``provider_id`` in which it may react."""

    provider_id: str
    period: int
    published_at: dt.datetime  # UTC
    days: int

    @property
    def closes(self) -> dt.datetime:
        return _utc(self.published_at) + dt.timedelta(days=self.days)

    def is_open(self, now: dt.datetime) -> bool:
        return _utc(self.published_at) <= _utc(now) < self.closes


def publication_windows(
    con: duckdb.DuckDBPyConnection, provider_id: str, policy: Policy | None = None
) -> dict[int, Window]:
    """Per period of the provider: its window, from the publication dates the warehouse records.

    A warehouse published before ingest recorded them has no ``publications`` table; then the first load of the
    provider's invitations of the period (``load_log``, local time) stands in for the publication.
    """
    days = (policy or load_policy()).reaction_window_days
    try:
        rows = con.execute(
            "SELECT period, min(published_at) FROM publications WHERE provider_id = $p GROUP BY period",
            {"p": provider_id},
        ).fetchall()
    except duckdb.CatalogException:
        rows = con.execute(
            "SELECT i.period, min(l.loaded_at) FROM invitations AS i JOIN load_log AS l USING (load_id) "
            "WHERE i.provider_id = $p GROUP BY i.period",
            {"p": provider_id},
        ).fetchall()
        rows = [(period, at.astimezone(dt.UTC)) for period, at in rows if at is not None]
    return {int(period): Window(provider_id, int(period), _utc(at), days) for period, at in sorted(rows) if at}


def provider_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Provider id → name, from the warehouse (for the staff list and `keurmerk reactions list`)."""
    from keurmerk.metrics.source import provider_names as names  # the one look-up (polars only when asked)

    return names(con)


# --- subjects: the report as a whole, or one of its figures and tables ---------------------------------------
def subject_choices(provider_name: str, sections: Collection[str] | None = None) -> list[tuple[str, str]]:
    """(label, subject) for every subject a reaction can be about, in the report's order; ``sections``: only the
    figures of these chapters (those the provider's dashboard shows)."""
    return [("Het rapport als geheel", REPORT_SUBJECT)] + [
        (figure.caption(provider_name), figure.id)
        for figure in catalog().figures
        if sections is None or figure.section in sections
    ]


def subject_label(subject: str, provider_name: str) -> str:
    return dict((value, label) for label, value in subject_choices(provider_name)).get(subject, subject)


# --- the store ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reaction:
    """A reaction as it stands now: its latest status and Blik op Werk's latest answer."""

    reference: str
    provider_id: str
    period: int
    subject: str
    text: str
    created_at: dt.datetime
    status: str
    answer: str | None
    updated_at: dt.datetime

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def as_record(self) -> dict[str, object]:
        """Plain values for JSON and CSV (times in UTC, ISO 8601)."""
        return {
            "reference": self.reference,
            "provider_id": self.provider_id,
            "period": self.period,
            "subject": self.subject,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "status": self.status,
            "answer": self.answer,
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class Event:
    """One row of the history: who (role, the link's provider id), when, and what."""

    reference: str
    at: dt.datetime
    role: str
    link_provider_id: str | None
    action: str
    status: str
    answer: str | None


def _reaction(row: tuple) -> Reaction:
    reference, provider_id, period, subject, text, created, status, answer, updated, _action = row
    return Reaction(
        reference,
        provider_id,
        period,
        subject,
        text,
        dt.datetime.fromisoformat(created),
        status,
        answer,
        dt.datetime.fromisoformat(updated),
    )


def _apply_schema(con: sqlite3.Connection) -> None:
    """The tables and triggers, in the caller's open transaction (executescript() would commit it)."""
    for statement in _SCHEMA.split(";\n"):
        if statement.strip():
            con.execute(statement)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _sort_key(reaction: Reaction) -> tuple:
    # open ones first (not yet handled before in behandeling), then the oldest first: who waits longest comes first
    rank = {RECEIVED: 0, "in_behandeling": 1}.get(reaction.status, 2)
    return (rank, reaction.created_at if rank < 2 else -reaction.updated_at.timestamp(), reaction.reference)


class ReactionStore:
    """The reactions of one warehouse. ``clock`` gives the time (tests inject it; nobody waits three weeks)."""

    def __init__(self, path: str | Path, policy: Policy | None = None, clock: Callable[[], dt.datetime] | None = None):
        self.path = Path(path)
        self.policy = policy or load_policy()
        self.clock = clock or _now

    @classmethod
    def beside(cls, warehouse: str | Path, **options) -> ReactionStore:
        """The store that belongs to the warehouse at ``warehouse`` (see :func:`store_path`)."""
        return cls(store_path(warehouse), **options)

    # --- connections ------------------------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        # autocommit mode: transactions are opened explicitly (BEGIN IMMEDIATE for every write)
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA synchronous = FULL")  # a reaction acknowledged with a reference survives a power cut
        return con

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        if not self.path.exists():  # nothing sent yet; reading must not create the store
            yield None
            return
        with closing(self._open()) as con:
            if con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                yield None  # created by a writer that has not committed its schema yet
                return
            yield con

    def _create(self) -> None:
        # Several kernels may send the first reaction at the same moment. Switching a new file to WAL takes
        # locks that SQLite refuses at once, without waiting out the busy timeout ("database is locked"), when
        # two connections try it together. So the store is made whole (WAL, schema) under a private name and
        # linked into place; the loser of the race finds the winner's store and uses that one.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        draft = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")  # one per sender
        try:
            with closing(sqlite3.connect(draft, isolation_level=None)) as con:
                con.execute("PRAGMA journal_mode = WAL")  # persistent, in the file's header
                con.execute("BEGIN IMMEDIATE")
                _apply_schema(con)
                con.execute("COMMIT")
            with suppress(FileExistsError):  # the other sender's store is there: use that one
                os.link(draft, self.path)  # atomic, and never replaces a store that is there
        finally:
            draft.unlink(missing_ok=True)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        if not self.path.exists():
            self._create()
        with closing(self._open()) as con:
            if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                con.execute("PRAGMA journal_mode = WAL")  # a store from before WAL: switched by its next writer
            con.execute("BEGIN IMMEDIATE")  # the write lock now, before anything is counted or numbered
            try:
                if con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                    _apply_schema(con)
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # --- checks -----------------------------------------------------------------------------------------------
    def _check_link(self, access: Access, now: dt.datetime) -> None:
        # the page may stay open after its link expired: every action checks the link again
        if _utc(now) >= _utc(access.expires):
            raise ReactionRefused(
                f"Uw link is verlopen op {local_time(access.expires, False)}. Vraag Blik op Werk om een nieuwe link."
            )

    def _check_text(self, text: str, empty: str, what: str) -> str:
        text = (text or "").strip()
        if not text:
            raise ReactionRefused(empty)
        limit = self.policy.reaction_max_chars
        if len(text) > limit:
            raise ReactionRefused(
                f"{what} telt {integer(len(text))} tekens; het maximum is {integer(limit)}. "
                f"Maak de tekst {integer(len(text) - limit)} tekens korter en probeer het opnieuw."
            )
        return text

    # --- a provider sends --------------------------------------------------------------------------------------
    def submit(self, access: Access, window: Window, subject: str, text: str) -> Reaction:
        """Store a provider's reaction and return it with its reference; ReactionRefused says why not."""
        now = _utc(self.clock())
        if access.role != "provider" or not access.provider_id:
            raise ReactionRefused("Alleen de aanbieder zelf kan via zijn eigen link een reactie versturen.")
        self._check_link(access, now)
        if window.provider_id != access.provider_id:
            raise ReactionRefused("Deze link geeft geen toegang tot deze aanbieder.")
        if not window.is_open(now):
            if now < _utc(window.published_at):
                raise ReactionRefused(f"De resultaten van {window.period} zijn nog niet gepubliceerd.")
            raise ReactionRefused(
                f"De termijn voor hoor en wederhoor over {window.period} is gesloten sinds {local_time(window.closes)}."
            )
        if subject not in {value for _, value in subject_choices("")}:
            raise ReactionRefused("Kies waar uw reactie over gaat: het rapport als geheel, of één figuur of tabel.")
        text = self._check_text(text, "Schrijf eerst uw reactie in het veld ‘Uw reactie’.", "Uw reactie")
        day_start = now.astimezone(TIMEZONE).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
        stamp = now.isoformat()
        with self._writing() as con:
            sent_today = con.execute(
                "SELECT count(*) FROM reactions WHERE provider_id = ? AND created_at >= ?",
                (access.provider_id, day_start.isoformat()),
            ).fetchone()[0]
            if sent_today >= self.policy.reaction_daily_limit:
                raise ReactionRefused(
                    f"U heeft vandaag al {integer(sent_today)} reacties verstuurd, het maximum per dag. "
                    "Probeer het morgen opnieuw, of neem contact op met Blik op Werk."
                )
            # the write lock is held, so max + 1 is ours alone
            number = con.execute("SELECT coalesce(max(reaction_id), 0) + 1 FROM reactions").fetchone()[0]
            reference = f"HW-{window.period}-{number:05d}"
            con.execute(
                "INSERT INTO reactions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (number, reference, access.provider_id, window.period, subject, text, stamp),
            )
            con.execute(
                "INSERT INTO events (reaction_id, at, role, link_provider_id, action, status, answer) "
                "VALUES (?, ?, 'provider', ?, 'verstuurd', ?, NULL)",
                (number, stamp, access.provider_id, RECEIVED),
            )
        return Reaction(reference, access.provider_id, window.period, subject, text, now, RECEIVED, None, now)

    # --- staff decide ------------------------------------------------------------------------------------------
    def decide(self, access: Access, reference: str, status: str, answer: str) -> Reaction:
        """Record staff's decision and answer on a reaction (a new event); ReactionRefused says why not."""
        now = _utc(self.clock())
        if not access.is_staff_wide:
            raise ReactionRefused("Alleen medewerkers van Blik op Werk kunnen een reactie beantwoorden.")
        self._check_link(access, now)
        if status not in DECISIONS:
            raise ReactionRefused("Kies een beslissing: in behandeling, toegekend of afgewezen.")
        answer = (answer or "").strip()
        if status != "in_behandeling" or answer:
            answer = self._check_text(
                answer, "Schrijf een antwoord aan de aanbieder bij ‘toegekend’ of ‘afgewezen’.", "Het antwoord"
            )
        with self._writing() as con:
            found = con.execute("SELECT reaction_id FROM reactions WHERE reference = ?", (reference,)).fetchone()
            if found is None:
                raise ReactionRefused(f"Er is geen reactie met referentienummer {reference}.")
            con.execute(
                "INSERT INTO events (reaction_id, at, role, link_provider_id, action, status, answer) "
                "VALUES (?, ?, 'staff', ?, 'beslissing', ?, ?)",
                (found[0], now.isoformat(), access.provider_id, status, answer or None),
            )
            row = con.execute(_CURRENT + " WHERE r.reaction_id = ?", (found[0],)).fetchone()
        return _reaction(row)

    # --- reading -------------------------------------------------------------------------------------------
    def reactions(self, access: Access, *, status: str | None = None, provider_id: str | None = None) -> list[Reaction]:
        """What this link may read: a provider its own reactions, staff every one (or one provider's).

        ``status``: one of the statuses, or ``open`` (not decided yet). Open ones come first, oldest first.
        """
        now = _utc(self.clock())
        if _utc(access.expires) <= now:
            return []
        if access.provider_id or not access.is_staff:
            provider_id = access.provider_id  # a link bound to a provider reads that provider's, whatever was asked
            if not provider_id:
                return []
        return self._select(status=status, provider_id=provider_id)

    def backup(self, target: str | Path) -> Path:
        """A consistent copy of the store at ``target`` while kernels keep writing (SQLite's online backup: a
        plain file copy could miss what is still in the WAL file)."""
        target = Path(target)
        if not self.path.exists():
            raise FileNotFoundError(f"Er is nog geen reactiestore op {self.path}: er is nog niets om te bewaren.")
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._open()) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
        return target

    def listing(self, status: str | None = None) -> list[Reaction]:
        """Every reaction, open ones first, for tools on the server (the CLI, the reports): whoever can read the
        store's file can read it all, so no link is asked."""
        return self._select(status=status, provider_id=None)

    def granted(self, period: int, provider_id: str | None = None) -> list[Reaction]:
        """The granted reactions of ``period`` (for the reports, which run on the server without a link)."""
        found = self._select(status="toegekend", provider_id=provider_id)
        return sorted((r for r in found if r.period == period), key=lambda r: r.created_at)

    def history(self, access: Access, reference: str) -> list[Event]:
        """Every event of one reaction, oldest first (staff, or the provider it belongs to)."""
        with self._reading() as con:
            if con is None:
                return []
            rows = con.execute(
                "SELECT r.reference, e.at, e.role, e.link_provider_id, e.action, e.status, e.answer, r.provider_id "
                "FROM events AS e JOIN reactions AS r USING (reaction_id) WHERE r.reference = ? ORDER BY e.event_id",
                (reference,),
            ).fetchall()
        if rows and not access.provider_allowed(rows[0][7]):
            return []
        return [Event(r[0], dt.datetime.fromisoformat(r[1]), *r[2:7]) for r in rows]

    def _select(self, *, status: str | None, provider_id: str | None) -> list[Reaction]:
        if status is not None and status != "open" and status not in STATUS_LABELS:
            raise ValueError(f"onbekende status {status!r}; kies uit open, {', '.join(STATUS_LABELS)}")
        with self._reading() as con:
            if con is None:
                return []
            where, params = [], []
            if provider_id is not None:
                where.append("r.provider_id = ?")
                params.append(provider_id)
            sql = _CURRENT + (" WHERE " + " AND ".join(where) if where else "")
            found = [_reaction(row) for row in con.execute(sql, params).fetchall()]
        if status == "open":
            found = [r for r in found if r.is_open]
        elif status is not None:
            found = [r for r in found if r.status == status]
        return sorted(found, key=_sort_key)


# --- the list for staff (`keurmerk reactions list`) ----------------------------------------------------------
LIST_FORMATS = ("json", "csv")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> object:
    # a spreadsheet would run a text that starts like a formula: the provider wrote it, so it is shown as text
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_list(reactions: Sequence[Reaction], fmt: str, out: TextIO, names: dict[str, str] | None = None) -> None:
    """The reactions as JSON (a list of objects) or CSV (a header and one row each), with the provider's name."""
    if fmt not in LIST_FORMATS:
        raise ValueError(f"onbekend formaat {fmt!r}; kies uit {', '.join(LIST_FORMATS)}")
    names = names or {}
    records = [{**r.as_record(), "provider_name": names.get(r.provider_id)} for r in reactions]
    if fmt == "json":
        json.dump(records, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    columns = [*Reaction.__dataclass_fields__, "provider_name"]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _csv_cell(v) for k, v in record.items()} for record in records)
