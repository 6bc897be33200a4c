"""Hoor en wederhoor without a browser: the store under concurrent writers, the window (time injected), who may
read and write what, the provider's tab and the staff section, the CLI list and the report's appendix."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import sqlite3
from pathlib import Path

import ipywidgets as widgets
import pytest
from reactions_writers import PUBLISHED, send_many
from typer.testing import CliRunner

from keurmerk.access import QUERY_PARAMETER, Access, make_token
from keurmerk.catalog import catalog
from keurmerk.dashboard import ProviderApp, StaffApp
from keurmerk.dashboard.reactions import TITLE, ProviderReactions, StaffReactions
from keurmerk.policy import Policy
from keurmerk.reactions import ReactionRefused, ReactionStore, Window, publication_windows, store_path
from keurmerk.report import write_report
from keurmerk.warehouse import open_readonly

SECRET = "reactions-test-secret"
PROBE = '<script>alert("hw")</script> & <b>vet</b>'


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEURMERK_SECRET", SECRET)


@pytest.fixture
def store_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh store for this test, also for the dashboards' and reports' default lookup."""
    path = tmp_path / "reactions.sqlite"
    monkeypatch.setenv("KEURMERK_REACTIONS", str(path))
    return path


@pytest.fixture(scope="module")
def app(tiny_db: Path) -> ProviderApp:
    return ProviderApp.prepare(tiny_db, warm_up=False)


@pytest.fixture(scope="module")
def staff_app(tiny_db: Path) -> StaffApp:
    return StaffApp.prepare(tiny_db, warm_up=False)


class Clock:
    """Time that the test moves (nobody waits three weeks)."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _provider(provider_id: str, now: dt.datetime = PUBLISHED) -> Access:
    return Access(provider_id, "provider", now + dt.timedelta(days=60))


def _staff(now: dt.datetime = PUBLISHED) -> Access:
    return Access(None, "staff", now + dt.timedelta(days=60))


def _window(provider_id: str, period: int = 2021) -> Window:
    return Window(provider_id, period, PUBLISHED, 21)


def _texts(widget: widgets.Widget) -> str:
    if isinstance(widget, widgets.HTML):
        return widget.value
    return "".join(_texts(child) for child in getattr(widget, "children", ()))


def _find(widget: widgets.Widget, kind: type) -> list[widgets.Widget]:
    found = [widget] if isinstance(widget, kind) else []
    for child in getattr(widget, "children", ()):
        found += _find(child, kind)
    return found


def _reaction_tab(page: widgets.Widget) -> widgets.Widget:
    """The tab "Hoor en wederhoor", opened as a visitor opens it (its widgets are made then)."""
    tabs = _find(page, widgets.Tab)[0]
    assert tabs.titles[-1] == TITLE
    assert tabs.children[-1].panel is None and not _find(tabs.children[-1], widgets.Button)  # not with the page
    tabs.selected_index = len(tabs.children) - 1
    return tabs.children[-1]


# --- the store: many writers ---------------------------------------------------------------------------------
def _run_writers(path: Path, providers: list[str], count: int, limit: int) -> list[str]:
    context = mp.get_context("spawn")  # fresh interpreters, as separate dashboard kernels are
    with context.Manager() as manager:
        start = manager.Barrier(len(providers))
        with context.Pool(len(providers)) as pool:
            results = pool.starmap(send_many, [(str(path), p, count, start, limit) for p in providers])
    return [reference for sent in results for reference in sent]


def test_twenty_processes_writing_at_once_lose_none(tmp_path: Path) -> None:
    path = tmp_path / "reactions.sqlite"
    providers = [f"P{n:04d}" for n in range(20)]
    references = _run_writers(path, providers, count=5, limit=100)
    assert len(references) == 100 and len(set(references)) == 100  # every send acknowledged, each number once
    stored = ReactionStore(path, clock=lambda: PUBLISHED).listing()
    assert sorted(r.reference for r in stored) == sorted(references)
    assert {(r.provider_id, r.text) for r in stored} == {(p, f"{p} {i}") for p in providers for i in range(5)}
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT count(*) FROM events WHERE action = 'verstuurd'").fetchone()[0] == 100
    assert not list(tmp_path.glob(".*.new"))  # each sender's draft of the new store is gone, winner's or not


def test_the_daily_limit_holds_against_concurrent_sends(tmp_path: Path) -> None:
    path = tmp_path / "reactions.sqlite"
    references = _run_writers(path, ["P0001"] * 8, count=2, limit=7)
    assert len(references) == 7
    assert len(ReactionStore(path).listing()) == 7


def test_history_is_append_only_with_who_and_when(tmp_path: Path) -> None:
    clock = Clock(PUBLISHED + dt.timedelta(days=1))
    store = ReactionStore(tmp_path / "r.sqlite", clock=clock)
    sent = store.submit(_provider("P0001"), _window("P0001"), "fig_3_1", "Het cijfer klopt niet.")
    clock.now += dt.timedelta(hours=2)
    store.decide(_staff(), sent.reference, "in_behandeling", "")
    clock.now += dt.timedelta(days=2)
    store.decide(_staff(), sent.reference, "toegekend", "U heeft gelijk.")
    events = store.history(_staff(), sent.reference)
    assert [(e.role, e.link_provider_id, e.action, e.status, e.answer) for e in events] == [
        ("provider", "P0001", "verstuurd", "ontvangen", None),
        ("staff", None, "beslissing", "in_behandeling", None),
        ("staff", None, "beslissing", "toegekend", "U heeft gelijk."),
    ]
    assert [e.at for e in events] == sorted(e.at for e in events) and events[-1].at == clock.now
    with sqlite3.connect(tmp_path / "r.sqlite") as con:
        for statement in (
            "UPDATE reactions SET text = 'anders'",
            "DELETE FROM events",
            "UPDATE events SET answer = ''",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="alleen aangevuld"):
                con.execute(statement)
    assert store.reactions(_provider("P0001"))[0].answer == "U heeft gelijk."


# --- the window ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("after", "accepted"),
    [
        (dt.timedelta(seconds=-1), False),  # not published yet
        (dt.timedelta(0), True),
        (dt.timedelta(days=20, hours=23, minutes=59), True),
        (dt.timedelta(days=21), False),  # three weeks after publication: closed
        (dt.timedelta(days=400), False),
    ],
)
def test_window_open_and_closed(tmp_path: Path, after: dt.timedelta, accepted: bool) -> None:
    store = ReactionStore(tmp_path / "r.sqlite", clock=lambda: PUBLISHED + after)
    access = _provider("P0001", PUBLISHED + after)  # a link valid at that moment: only the window decides
    if accepted:
        assert store.submit(access, _window("P0001"), "rapport", "Reactie").reference == "HW-2021-00001"
    else:
        with pytest.raises(ReactionRefused, match="gesloten sinds 23-03-2026 10:00|nog niet gepubliceerd"):
            store.submit(access, _window("P0001"), "rapport", "Reactie")
        assert store.listing() == []


def test_closed_window_says_since_when_and_the_list_stays_readable(tmp_path: Path) -> None:
    clock = Clock(PUBLISHED + dt.timedelta(days=3))
    store = ReactionStore(tmp_path / "r.sqlite", clock=clock)
    windows = {2021: _window("P0001")}
    panel = ProviderReactions(store, _provider("P0001"), "P0001", "Aanbieder Een", windows)
    assert "tot 23-03-2026 10:00" in panel.window_note.value and _find(panel.widget, widgets.Textarea)
    panel.text.value = "Graag een toelichting op tabel 1.1."
    panel.send()
    clock.now = PUBLISHED + dt.timedelta(days=22)  # the next visit, after the window closed
    later = ProviderReactions(store, _provider("P0001", clock.now), "P0001", "Aanbieder Een", windows)
    assert not _find(later.widget, widgets.Textarea) and not _find(later.widget, widgets.Button)
    assert "gesloten sinds 23-03-2026 10:00 (resultaten van 2021," in later.window_note.value
    together = {p: Window("P0001", p, PUBLISHED, 21) for p in (2021, 2022, 2023)}  # one ingest published all three
    note = ProviderReactions(store, _provider("P0001", clock.now), "P0001", "Een", together).window_note.value
    assert "gesloten sinds 23-03-2026 10:00 (resultaten van 2021, 2022 en 2023," in note
    assert "Graag een toelichting op tabel 1.1." in later.listing.value
    assert later.send() is None and len(store.listing()) == 1


def test_the_publication_date_is_recorded_at_ingest(tiny_db: Path) -> None:
    with open_readonly(tiny_db) as con:
        pairs = set(con.execute("SELECT DISTINCT period, provider_id FROM invitations").fetchall())
        recorded = con.execute("SELECT period, provider_id, published_at FROM publications").fetchall()
        windows = publication_windows(con, "P0000", Policy(reaction_window_days=10))
    assert {(period, provider) for period, provider, _ in recorded} == pairs and len(recorded) == len(pairs)
    ages = {dt.datetime.now(dt.UTC) - at.replace(tzinfo=dt.UTC) for *_, at in recorded}
    assert all(dt.timedelta(0) <= age < dt.timedelta(hours=6) for age in ages)  # UTC, at this session's ingest
    assert set(windows) == {p for p, provider in pairs if provider == "P0000"}
    assert all(w.closes - w.published_at == dt.timedelta(days=10) for w in windows.values())


# --- who may read and write --------------------------------------------------------------------------------------
def test_a_provider_sees_only_its_own_reactions(tmp_path: Path) -> None:
    store = ReactionStore(tmp_path / "r.sqlite", clock=lambda: PUBLISHED)
    mine = store.submit(_provider("P0001"), _window("P0001"), "rapport", "Van aanbieder een")
    theirs = store.submit(_provider("P0002"), _window("P0002"), "rapport", "Van aanbieder twee")
    assert [r.reference for r in store.reactions(_provider("P0001"))] == [mine.reference]
    assert [r.reference for r in store.reactions(_provider("P0001"), provider_id="P0002")] == [mine.reference]
    assert store.history(_provider("P0001"), theirs.reference) == []
    assert {r.reference for r in store.reactions(_staff())} == {mine.reference, theirs.reference}
    # a window of another provider does not let a link write for it
    with pytest.raises(ReactionRefused, match="geen toegang"):
        store.submit(_provider("P0001"), _window("P0002"), "rapport", "Namens een ander")


def test_only_staff_answer_and_only_providers_send(tmp_path: Path) -> None:
    store = ReactionStore(tmp_path / "r.sqlite", clock=lambda: PUBLISHED)
    sent = store.submit(_provider("P0001"), _window("P0001"), "rapport", "Reactie")
    with pytest.raises(ReactionRefused, match="Alleen medewerkers"):
        store.decide(_provider("P0001"), sent.reference, "toegekend", "Zelf toegekend")
    with pytest.raises(ReactionRefused, match="Alleen de aanbieder zelf"):
        store.submit(_staff(), _window("P0001"), "rapport", "Namens de aanbieder")
    expired = Access("P0001", "provider", PUBLISHED - dt.timedelta(seconds=1))
    with pytest.raises(ReactionRefused, match="verlopen"):
        store.submit(expired, _window("P0001"), "rapport", "Met een verlopen link")
    assert store.reactions(expired) == []
    with pytest.raises(ReactionRefused, match="antwoord"):
        store.decide(_staff(), sent.reference, "afgewezen", "   ")
    assert [r.status for r in store.listing()] == ["ontvangen"]


def test_forged_expired_and_missing_links_cannot_read_or_write(app: ProviderApp, store_file: Path) -> None:
    real = make_token("P0000")
    payload, _, signature = real.partition(".")
    other = make_token("P0001").partition(".")[0]
    for params in (
        {},
        {QUERY_PARAMETER: f"{other}.{signature}"},  # another provider's payload with this signature
        {QUERY_PARAMETER: f"{payload}.{'A' * len(signature)}"},
        {QUERY_PARAMETER: make_token("P0000", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=31))},
        {QUERY_PARAMETER: make_token("P0000", secret=b"guessed")},
    ):
        shown = app.open(params)
        assert isinstance(shown, widgets.HTML) and 'data-km="refusal"' in shown.value
        assert TITLE not in shown.value
    assert not store_file.exists()  # nothing was written, nothing was even created


def test_provider_sends_staff_answers_provider_sees_it_next_visit(
    app: ProviderApp, staff_app: StaffApp, store_file: Path
) -> None:
    params = {QUERY_PARAMETER: make_token("P0000")}
    tab = _reaction_tab(app.open(params))
    assert "U kunt reageren op de resultaten van 2021" in _texts(tab)
    text = _find(tab, widgets.Textarea)[0]
    subject = [d for d in _find(tab, widgets.Dropdown) if d.description == "Onderwerp"][0]
    send = _find(tab, widgets.Button)[0]
    assert (text.description, send.description) == ("Uw reactie", "Reactie versturen")
    assert subject.options[0] == ("Het rapport als geheel", "rapport")
    inburgering = {f.id for f in catalog().figures if f.section == "inburgering"}  # P0000 has no such clients
    assert inburgering and not inburgering & {value for _, value in subject.options}
    subject.value = "fig_3_1"
    text.value = PROBE
    send.click()
    shown = _texts(tab)
    (stored,) = ReactionStore(store_file).listing()
    assert (stored.provider_id, stored.subject, stored.text) == ("P0000", "fig_3_1", PROBE)
    assert f"Uw reactie is ontvangen onder referentienummer {stored.reference}." in shown
    assert PROBE not in shown and "&lt;script&gt;alert(&quot;hw&quot;)&lt;/script&gt;" in shown
    assert text.value == ""
    # the staff page: open first, with a count; the provider's text escaped
    staff_page = staff_app.open({QUERY_PARAMETER: make_token(None, role="staff")})
    section = [w for w in staff_page.children if "km-reactions" in w._dom_classes][0]
    assert "(1 open)" in _texts(section) and "Partner in Werk" in _texts(section)
    assert PROBE not in _texts(section) and "&lt;script&gt;" in _texts(section)
    choice, decision = (d for d in _find(section, widgets.Dropdown))
    answer = _find(section, widgets.Textarea)[0]
    reference = choice.value
    decision.value = "toegekend"
    answer.value = "Terecht: <i>fig. 3.1</i> is aangepast."
    _find(section, widgets.Button)[0].click()
    assert "(0 open)" in _texts(section) and "Beslissing opgeslagen" in _texts(section)
    # the provider's next visit shows the decision and the answer, escaped
    again = _texts(_reaction_tab(app.open(params)))
    assert reference in again and "toegekend" in again
    assert "Terecht: &lt;i&gt;fig. 3.1&lt;/i&gt; is aangepast." in again
    # another provider sees none of it
    other = _texts(_reaction_tab(app.open({QUERY_PARAMETER: make_token("P0001")})))
    assert reference not in other and "Terecht" not in other and "U heeft nog geen reacties verstuurd" in other


def test_staff_opening_a_provider_reads_but_cannot_send(app: ProviderApp, store_file: Path) -> None:
    ReactionStore(store_file, clock=lambda: PUBLISHED).submit(
        _provider("P0000"), _window("P0000"), "rapport", "Eigen tekst"
    )
    # the staff page opens a provider with a staff link bound to that provider
    tab = _reaction_tab(app.open({QUERY_PARAMETER: make_token("P0000", role="staff")}))
    assert "Eigen tekst" in _texts(tab) and "alleen de aanbieder zelf kan hier reageren" in _texts(tab)
    assert not _find(tab, widgets.Button)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Schrijf eerst uw reactie in het veld ‘Uw reactie’."),
        ("   \n ", "Schrijf eerst uw reactie in het veld ‘Uw reactie’."),
        ("x" * 4001, "Uw reactie telt 4.001 tekens; het maximum is 4.000."),
    ],
)
def test_empty_and_over_long_reactions_get_a_dutch_message(tmp_path: Path, text: str, message: str) -> None:
    store = ReactionStore(tmp_path / "r.sqlite", clock=lambda: PUBLISHED)
    panel = ProviderReactions(store, _provider("P0001"), "P0001", "Aanbieder Een", {2021: _window("P0001")})
    panel.text.value = text
    assert panel.send() is None
    assert message in panel.message.value and "km-error" in panel.message.value
    assert store.listing() == []
    panel.text.value = "x" * 4000  # exactly the maximum is accepted
    assert panel.send() is not None


def test_the_daily_limit_gives_a_dutch_message_and_resets_the_next_day(tmp_path: Path) -> None:
    clock = Clock(PUBLISHED + dt.timedelta(hours=1))
    store = ReactionStore(tmp_path / "r.sqlite", Policy(reaction_daily_limit=2), clock=clock)
    for i in range(2):
        store.submit(_provider("P0001"), _window("P0001"), "rapport", f"Reactie {i}")
    with pytest.raises(ReactionRefused, match="vandaag al 2 reacties verstuurd"):
        store.submit(_provider("P0001"), _window("P0001"), "rapport", "Nog een")
    store.submit(_provider("P0002"), _window("P0002"), "rapport", "Een ander heeft eigen ruimte")
    clock.now += dt.timedelta(days=1)
    assert store.submit(_provider("P0001"), _window("P0001"), "rapport", "De volgende dag").status == "ontvangen"


def test_staff_list_puts_open_reactions_first(tmp_path: Path) -> None:
    clock = Clock(PUBLISHED)
    store = ReactionStore(tmp_path / "r.sqlite", clock=clock)
    sent = []
    for provider in ("P0001", "P0002", "P0003"):
        clock.now += dt.timedelta(minutes=5)
        sent.append(store.submit(_provider(provider), _window(provider), "rapport", f"Van {provider}").reference)
    store.decide(_staff(), sent[0], "afgewezen", "Nee.")
    store.decide(_staff(), sent[2], "in_behandeling", "")
    panel = StaffReactions(store, _staff(), {"P0001": "Een", "P0002": "Twee", "P0003": "Drie"})
    assert [r.reference for r in panel.reactions] == [sent[1], sent[2], sent[0]]
    assert "(2 open)" in panel.heading.value
    assert [value for _, value in panel.choice.options] == [sent[1], sent[2], sent[0]]


# --- the CLI and the report --------------------------------------------------------------------------------------
def test_cli_lists_reactions_as_json_and_csv(tiny_db: Path, store_file: Path) -> None:
    from keurmerk.cli import app as cli

    store = ReactionStore(store_file, clock=lambda: PUBLISHED)
    first = store.submit(_provider("P0000"), _window("P0000"), "rapport", '=HYPERLINK("x")')
    second = store.submit(_provider("P0001"), _window("P0001"), "rapport", "Tweede")
    store.decide(_staff(), first.reference, "toegekend", "Akkoord")
    runner = CliRunner()
    result = runner.invoke(cli, ["reactions", "list", "--db", str(tiny_db), "--status", "open"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [(r["reference"], r["status"]) for r in records] == [(second.reference, "ontvangen")]
    result = runner.invoke(cli, ["reactions", "list", "--db", str(tiny_db), "--format", "csv"])
    lines = result.output.splitlines()
    assert lines[0].startswith("reference,provider_id,period,subject,text") and len(lines) == 3
    assert "'=HYPERLINK" in result.output and "Partner in Werk" in result.output  # no formula runs in a spreadsheet
    assert store_path(tiny_db) == store_file


def test_the_report_lists_granted_reactions_in_an_appendix(tiny_db: Path, store_file: Path, tmp_path: Path) -> None:
    store = ReactionStore(store_file, clock=lambda: PUBLISHED)
    granted = store.submit(_provider("P0000"), _window("P0000"), "fig_3_1", PROBE)
    refused = store.submit(_provider("P0000"), _window("P0000"), "rapport", "Afgewezen reactie")
    later = store.submit(_provider("P0000"), _window("P0000", 2022), "rapport", "Over 2022")
    for reference, status in (
        (granted.reference, "toegekend"),
        (refused.reference, "afgewezen"),
        (later.reference, "toegekend"),
    ):
        store.decide(_staff(), reference, status, f"Antwoord op {reference} <ok>")
    html = write_report(tiny_db, "P0000", 2021, out=tmp_path / "rapporten").read_text(encoding="utf-8")
    appendix = html[html.index('id="bijlage-hoor-en-wederhoor"') :]
    assert "Bijlage: Hoor en wederhoor" in appendix and 'href="#bijlage-hoor-en-wederhoor"' in html
    assert granted.reference in appendix and f"Antwoord op {granted.reference} &lt;ok&gt;" in appendix
    assert "fig. 3.1" in appendix and "&lt;script&gt;alert(&quot;hw&quot;)&lt;/script&gt;" in appendix
    assert PROBE not in html
    assert refused.reference not in html and later.reference not in html
    other = write_report(tiny_db, "P0001", 2021, out=tmp_path / "rapporten").read_text(encoding="utf-8")
    assert "bijlage-hoor-en-wederhoor" not in other


def test_backup_copies_every_reaction_while_the_store_is_in_use(
    tiny_db: Path, store_file: Path, tmp_path: Path
) -> None:
    from keurmerk.cli import app as cli

    store = ReactionStore(store_file, clock=lambda: PUBLISHED)
    sent = [store.submit(_provider("P0000"), _window("P0000"), "rapport", f"Reactie {i}").reference for i in range(3)]
    reader = sqlite3.connect(store_file)  # a kernel that has the store open
    reader.execute("SELECT count(*) FROM reactions").fetchone()
    result = CliRunner().invoke(cli, ["reactions", "backup", "--db", str(tiny_db), "--out", str(tmp_path / "b.sqlite")])
    reader.close()
    assert result.exit_code == 0, result.output
    copy = ReactionStore(tmp_path / "b.sqlite")
    assert [r.reference for r in copy.listing()] == sent
    assert len(copy.history(_staff(), sent[0])) == 1


@pytest.mark.slow
def test_the_batch_of_reports_has_the_appendix_too(tiny_db: Path, store_file: Path, tmp_path: Path) -> None:
    from keurmerk.report import write_all

    store = ReactionStore(store_file, clock=lambda: PUBLISHED)
    granted = store.submit(_provider("P0000"), _window("P0000"), "rapport", "Over het hele rapport")
    store.decide(_staff(), granted.reference, "toegekend", "Toegekend in de batch")
    result = write_all(tiny_db, 2021, out=tmp_path, workers=1, providers=["P0000", "P0001"])
    pages = {r.provider_id: r.path.read_text(encoding="utf-8") for r in result.written}
    assert "Toegekend in de batch" in pages["P0000"] and 'id="bijlage-hoor-en-wederhoor"' in pages["P0000"]
    assert "bijlage-hoor-en-wederhoor" not in pages["P0001"]


def test_a_double_click_sends_once_and_keeps_the_confirmation(tmp_path: Path) -> None:
    store = ReactionStore(tmp_path / "r.sqlite", clock=lambda: PUBLISHED)
    panel = ProviderReactions(store, _provider("P0001"), "P0001", "Aanbieder Een", {2021: _window("P0001")})
    panel.text.value = "Eén reactie"
    panel.send_button.click()
    panel.send_button.click()  # handled after the first: the field is empty by then
    assert len(store.listing()) == 1 and "ontvangen onder referentienummer" in panel.message.value
