"""Who may see what: signed, expiring links (DESIGN §7).

A link carries a token ``<payload>.<signature>``: the payload is base64url JSON with the provider id, the role
(``provider`` or ``staff``) and the expiry (Unix seconds); the signature is HMAC-SHA256 over the payload with the
server secret. The dashboard kernel verifies the token before it reads any data and then queries only that
provider's rows (staff may open any provider). Widget state can be written from the browser, so the provider id
comes from the verified token only, never from a widget.

The secret comes from ``KEURMERK_SECRET`` or, failing that, from the file named by ``KEURMERK_SECRET_FILE``
(default ``$XDG_CONFIG_HOME/keurmerk/secret``, i.e. ``~/.config/keurmerk/secret``), which is created with a random
secret on first use, readable by its owner only. The default does not depend on the working directory, so
`keurmerk link` and the dashboard kernels (which run in ``dashboards/``) use the same secret.

Rotating the secret (a new value in ``KEURMERK_SECRET``, or a new secret file, then restarting ``keurmerk serve``)
invalidates every link made before at once: their signatures no longer match.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

__all__ = [
    "OPENED_BY_STAFF_DAYS",
    "PROVIDER_DAYS",
    "QUERY_PARAMETER",
    "STAFF_DAYS",
    "Access",
    "AccessDenied",
    "link_url",
    "make_token",
    "server_secret",
    "verify",
]

QUERY_PARAMETER = "toegang"  # not "token": Jupyter server reads that one for its own authentication
ROLES = ("provider", "staff")


class AccessDenied(Exception):
    """The link does not give access; ``str(exc)`` is the Dutch message shown instead of any data."""


@dataclass(frozen=True)
class Access:
    provider_id: str | None  # None for staff links that are not bound to one provider
    role: str
    expires: dt.datetime

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"

    @property
    def is_staff_wide(self) -> bool:
        """A staff link for every provider; a staff link bound to one provider (made by the staff page to open that
        provider's dashboard) opens only that dashboard, read-only, and never the staff explorer."""
        return self.is_staff and self.provider_id is None

    def provider_allowed(self, provider_id: str) -> bool:
        return self.is_staff_wide or provider_id == self.provider_id


def server_secret() -> bytes:
    if env := os.environ.get("KEURMERK_SECRET"):
        return env.encode()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = Path(os.environ.get("KEURMERK_SECRET_FILE") or config / "keurmerk" / "secret")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


PROVIDER_DAYS = 30.0  # a provider's personal link
STAFF_DAYS = 0.5  # a staff link: 12 hours, so a forwarded or logged one soon stops working
OPENED_BY_STAFF_DAYS = 2 / 24  # the provider link the staff page makes (renewed at every refresh): 2 hours


def make_token(
    provider_id: str | None,
    role: str = "provider",
    days: float | None = None,
    *,
    secret: bytes | None = None,
    now: dt.datetime | None = None,
) -> str:
    if role not in ROLES:
        raise ValueError(f"onbekende rol {role!r}; kies uit {', '.join(ROLES)}")
    if role == "provider" and not provider_id:
        raise ValueError("een aanbiederslink hoort bij één aanbieder")
    if days is None:
        days = STAFF_DAYS if role == "staff" else PROVIDER_DAYS
    if not days > 0:
        raise ValueError("de geldigheid van een link moet groter zijn dan 0 dagen")
    now = now or dt.datetime.now(dt.UTC)
    expires = int((now + dt.timedelta(days=days)).timestamp())
    payload = _b64(json.dumps({"p": provider_id, "r": role, "exp": expires}, separators=(",", ":")).encode())
    return f"{payload}.{_sign(payload, secret or server_secret())}"


def verify(token: str | None, *, secret: bytes | None = None, now: dt.datetime | None = None) -> Access:
    """The access a token gives, or AccessDenied with the message to show."""
    if not token:
        raise AccessDenied("Deze pagina opent alleen via uw persoonlijke link. Vraag Blik op Werk om een link.")
    payload, _, signature = token.partition(".")
    # compare bytes: compare_digest refuses str with non-ASCII characters (a TypeError, not a refusal)
    expected = _sign(payload, secret or server_secret()).encode()
    if not signature or not hmac.compare_digest(signature.encode("utf-8", "surrogateescape"), expected):
        raise AccessDenied("Deze link is ongeldig. Gebruik de link zoals u die van Blik op Werk heeft gekregen.")
    try:
        claims = json.loads(_unb64(payload))
        expires = dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
        role, provider_id = claims["r"], claims["p"]
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise AccessDenied("Deze link is ongeldig.") from exc
    if role not in ROLES:
        raise AccessDenied("Deze link is ongeldig.")
    if (now or dt.datetime.now(dt.UTC)) >= expires:
        raise AccessDenied(f"Deze link is verlopen op {expires:%d-%m-%Y}. Vraag Blik op Werk om een nieuwe link.")
    return Access(provider_id, role, expires)


def link_url(base_url: str, dashboard: str, token: str, **params: str) -> str:
    """The personal URL of a dashboard notebook served by Voilà."""
    query = urlencode({QUERY_PARAMETER: token, **params})
    return f"{base_url.rstrip('/')}/voila/render/{dashboard}.ipynb?{query}"
