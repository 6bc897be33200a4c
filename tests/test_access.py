"""Signed links: the right provider gets in, everything else gets a clear Dutch refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from keurmerk.access import AccessDenied, link_url, make_token, verify

SECRET = b"test-secret"
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def test_provider_token_round_trip() -> None:
    access = verify(make_token("P0000", secret=SECRET, now=NOW), secret=SECRET, now=NOW)
    assert (access.provider_id, access.role) == ("P0000", "provider")
    assert access.provider_allowed("P0000") and not access.provider_allowed("P0001")
    assert access.expires == NOW + dt.timedelta(days=30)


def test_staff_token_opens_any_provider() -> None:
    access = verify(make_token(None, role="staff", secret=SECRET, now=NOW), secret=SECRET, now=NOW)
    assert access.is_staff and access.provider_allowed("P0123")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "alleen via uw persoonlijke link"),
        ("", "alleen via uw persoonlijke link"),
        ("zomaar-iets", "ongeldig"),
        (make_token("P0000", secret=b"other-secret", now=NOW), "ongeldig"),  # signed with another secret
        (make_token("P0000", days=-1, secret=SECRET, now=NOW), "verlopen op 22-11-2026"),
    ],
    ids=["missing", "empty", "garbage", "forged", "expired"],
)
def test_refusals(token: str | None, message: str) -> None:
    with pytest.raises(AccessDenied, match=message):
        verify(token, secret=SECRET, now=NOW)


def test_payload_edited_to_other_provider_is_refused() -> None:
    import base64
    import json

    payload, signature = make_token("P0000", secret=SECRET, now=NOW).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["p"] = "P0001"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(AccessDenied, match="ongeldig"):
        verify(f"{forged}.{signature}", secret=SECRET, now=NOW)


def test_link_url_uses_its_own_query_parameter() -> None:
    url = link_url("http://127.0.0.1:8866/", "aanbieder", "abc.def")
    assert url == "http://127.0.0.1:8866/voila/render/aanbieder.ipynb?toegang=abc.def"
