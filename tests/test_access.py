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
        (make_token("P0000", days=1, secret=SECRET, now=NOW - dt.timedelta(days=2)), "verlopen op 22-11-2026"),
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


@pytest.mark.parametrize(
    "token",
    [
        "abc.é€😀",  # a signature with non-ASCII characters: a refusal, not a TypeError
        "é.é",
        "\x00.\x00",
        "a" * 5000 + ".b",
        "bnVsbA.x",  # payload "null"
        ".",
        "..",
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(AccessDenied):
        verify(token, secret=SECRET, now=NOW)


@pytest.mark.parametrize("payload", [b"null", b"[]", b'{"p": "P1", "r": "provider", "exp": 1e400}', b"\xff"])
def test_signed_but_malformed_payloads_are_refused(payload: bytes) -> None:
    """A payload signed with the right secret that is not a proper claim set is still refused, never an error."""
    from keurmerk.access import _b64, _sign

    body = _b64(payload)
    with pytest.raises(AccessDenied):
        verify(f"{body}.{_sign(body, SECRET)}", secret=SECRET, now=NOW)


def test_staff_links_last_12_hours_and_days_must_be_positive() -> None:
    staff = verify(make_token(None, role="staff", secret=SECRET, now=NOW), secret=SECRET, now=NOW)
    assert staff.expires == NOW + dt.timedelta(hours=12)
    for days in (0, -1, float("nan")):
        with pytest.raises(ValueError):
            make_token("P0000", days=days, secret=SECRET, now=NOW)


def test_rotating_the_secret_invalidates_every_link() -> None:
    token = make_token("P0000", secret=SECRET, now=NOW)
    with pytest.raises(AccessDenied):
        verify(token, secret=b"the-new-secret", now=NOW)


def test_the_cli_refuses_days_0() -> None:
    from typer.testing import CliRunner

    from keurmerk.cli import app

    runner = CliRunner()
    for days in ("0", "-2"):
        result = runner.invoke(app, ["link", "--provider", "P0000", "--days", days])
        assert result.exit_code == 2 and "--days" in result.output and "toegang=" not in result.output
    assert "toegang=" in runner.invoke(app, ["link", "--staff"], env={"KEURMERK_SECRET": "x"}).output


def test_serve_prints_how_to_get_links_never_a_token(tiny_db, monkeypatch) -> None:
    from typer.testing import CliRunner

    import keurmerk.serve
    from keurmerk.cli import app

    monkeypatch.setattr(keurmerk.serve, "serve", lambda *args, **kwargs: None)  # only what serve prints first
    result = CliRunner().invoke(
        app, ["serve", "--db", str(tiny_db), "--max-kernels", "4"], env={"KEURMERK_SECRET": "x"}
    )
    assert result.exit_code == 0, result.output
    assert "toegang=" not in result.output and "keurmerk link --staff" in result.output
    assert "/zoeken/" in result.output
