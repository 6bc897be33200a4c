"""A writer process for tests/test_reactions.py: imports only the store, as little as a kernel's write needs."""

from __future__ import annotations

import datetime as dt
from contextlib import suppress

from keurmerk.access import Access
from keurmerk.policy import Policy
from keurmerk.reactions import ReactionRefused, ReactionStore, Window

PUBLISHED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def send_many(path: str, provider_id: str, count: int, start, limit: int) -> list[str]:
    """Send ``count`` reactions as ``provider_id`` once every process is ready; the references acknowledged."""
    store = ReactionStore(path, Policy(reaction_daily_limit=limit), clock=lambda: PUBLISHED + dt.timedelta(hours=1))
    access = Access(provider_id, "provider", PUBLISHED + dt.timedelta(days=60))
    window = Window(provider_id, 2021, PUBLISHED, 21)
    start.wait()  # every process writes at the same moment
    sent = []
    for i in range(count):
        with suppress(ReactionRefused):  # the daily limit: counted by the test
            sent.append(store.submit(access, window, "rapport", f"{provider_id} {i}").reference)
    return sent
