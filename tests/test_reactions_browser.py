"""Hoor en wederhoor in a real Chromium, as `keurmerk serve` serves it: a provider sends a reaction, staff answer
it on the benchmark page, and the provider sees the answer on its next visit. Screenshots (1400×900 and 390×844)
go to artifacts/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from browser_support import ARTIFACTS, PageLog, chromium, served

from keurmerk.access import link_url, make_token
from keurmerk.reactions import ReactionStore, store_path, subject_label
from keurmerk.serve import VoilaLaunch

SECRET = "reactions-browser-secret"
PROBE = "Fig. 3.1 klopt niet <script>document.title='gehackt'</script>: dienst 8 had 16 respondenten."
ANSWER = "Terecht: het aantal is nagekeken en fig. 3.1 is aangepast <b>(niet vet)</b>."
WIDE, NARROW = {"width": 1400, "height": 900}, {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def warehouse(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny warehouse in a directory of its own: the store beside it belongs to this test only."""
    copy = tmp_path_factory.mktemp("hoor-en-wederhoor") / "tiny.duckdb"
    shutil.copy(tiny_db, copy)
    with duckdb.connect(str(copy)) as con:  # P0001's results were published 30 days ago: its window is closed
        con.execute("UPDATE publications SET published_at = published_at - INTERVAL 30 DAY WHERE provider_id = 'P0001'")
    return copy


@pytest.fixture(scope="module")
def voila(warehouse: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module) -> Iterator[VoilaLaunch]:
    work = tmp_path_factory.mktemp("voila-reactions")
    with served(warehouse, work, ("aanbieder.ipynb", "benchmark.ipynb"), SECRET) as launch:
        yield launch


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("KEURMERK_REACTIONS", raising=False)  # the default place: beside the served warehouse
        yield patch


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def _open(browser, url: str, viewport: dict[str, int]):
    context = browser.new_context(viewport=viewport, locale="nl-NL")
    log = PageLog(context)
    page = context.new_page()
    log.attach(page)
    page.goto(url, wait_until="commit", timeout=90_000)
    page.wait_for_selector(".km-dashboard", timeout=120_000)
    return context, page, log


def _provider_tab(browser, voila: VoilaLaunch, viewport: dict[str, int], provider: str = "P0000"):
    url = link_url(voila.url, "aanbieder", make_token(provider, secret=SECRET.encode()))
    context, page, log = _open(browser, url, viewport)
    page.locator(".km-tabs .lm-TabBar-tab", has_text="Hoor en wederhoor").click()
    page.wait_for_selector(".km-section-hoor_en_wederhoor [data-km=reactions]", state="visible", timeout=30_000)
    return context, page, log


def test_provider_sends_staff_answer_provider_sees_the_answer(voila: VoilaLaunch, browser, warehouse: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    store = ReactionStore(store_path(warehouse))

    # 1. the provider writes and sends
    context, page, log = _provider_tab(browser, voila, WIDE)
    tab = page.locator(".km-section-hoor_en_wederhoor")
    assert "U kunt reageren op de resultaten van 2021" in tab.locator("[data-km=window-open]").inner_text()
    tab.locator(".widget-dropdown", has_text="Onderwerp").locator("select").select_option(
        label=subject_label("fig_3_1", "Partner in Werk")
    )
    page.get_by_label("Uw reactie").fill(PROBE)
    page.wait_for_function(
        "n => document.querySelector('[data-km=counter]').textContent.startsWith(n)", arg=f"{len(PROBE)} van"
    )
    page.screenshot(path=str(ARTIFACTS / "reactions_provider_form.png"))
    page.get_by_role("button", name="Reactie versturen").click()
    confirmation = tab.locator("[data-km=reaction-message]")
    confirmation.wait_for(timeout=30_000)
    (sent,) = store.listing()
    assert f"Uw reactie is ontvangen onder referentienummer {sent.reference}." in confirmation.inner_text()
    assert (sent.provider_id, sent.subject, sent.text) == ("P0000", "fig_3_1", PROBE)
    card = tab.locator(f"[data-km=reaction][data-reference='{sent.reference}']")
    assert PROBE in card.inner_text() and "ontvangen" in card.inner_text()  # shown as text, not run
    assert page.title() != "gehackt" and page.get_by_label("Uw reactie").input_value() == ""
    confirmation.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "reactions_provider_sent.png"))
    assert log.external() == [] and not log.errors, (log.external(), log.errors)
    context.close()

    # 2. staff see it first, with the count, and answer it
    staff_url = link_url(voila.url, "benchmark", make_token(None, role="staff", secret=SECRET.encode()))
    context, page, log = _open(browser, staff_url, WIDE)
    section = page.locator(".km-staff .km-section-hoor_en_wederhoor")
    section.wait_for(timeout=60_000)
    assert section.locator("[data-km=open-count]").inner_text() == "(1 open)"
    row = section.locator(f"[data-km=staff-reactions] tr[data-reference='{sent.reference}']")
    assert "Partner in Werk" in row.inner_text() and PROBE in row.inner_text()
    section.locator(".widget-dropdown", has_text="Beslissing").locator("select").select_option(label="toegekend")
    page.get_by_label("Antwoord aan de aanbieder").fill(ANSWER)
    section.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "reactions_staff.png"))
    page.get_by_role("button", name="Beslissing opslaan").click()
    page.wait_for_function(
        "() => (document.querySelector('.km-staff [data-km=open-count]') || {}).textContent === '(0 open)'",
        timeout=30_000,
    )
    assert "Beslissing opgeslagen" in section.locator("[data-km=reaction-message]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "reactions_staff_answered.png"))
    assert store.listing()[0].status == "toegekend" and store.listing()[0].answer == ANSWER
    assert log.external() == [] and not log.errors, (log.external(), log.errors)
    context.close()

    # 3. the provider's next visit shows the decision and the answer, also on a phone
    for viewport, name in ((WIDE, "reactions_provider_answer.png"), (NARROW, "reactions_provider_answer_phone.png")):
        context, page, log = _provider_tab(browser, voila, viewport)
        if viewport is NARROW:
            page.screenshot(path=str(ARTIFACTS / "reactions_provider_phone_tab.png"))
        card = page.locator(f"[data-km=reaction][data-reference='{sent.reference}']")
        assert "toegekend" in card.inner_text()
        assert ANSWER in card.locator("[data-km=answer]").inner_text()
        card.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / name))
        assert log.external() == [] and not log.errors, (log.external(), log.errors)
        context.close()


def test_a_closed_window_says_since_when_and_offers_no_form(voila: VoilaLaunch, browser) -> None:
    context, page, log = _provider_tab(browser, voila, WIDE, provider="P0001")
    tab = page.locator(".km-section-hoor_en_wederhoor")
    note = tab.locator("[data-km=window-closed]").inner_text()
    assert "De termijn voor hoor en wederhoor is gesloten sinds" in note and "resultaten van 2021 en 2022" in note
    assert tab.locator("textarea").count() == 0 and tab.get_by_role("button").count() == 0
    assert "U heeft nog geen reacties verstuurd." in tab.inner_text()
    page.screenshot(path=str(ARTIFACTS / "reactions_provider_closed.png"))
    assert log.external() == [] and not log.errors, (log.external(), log.errors)
    context.close()
