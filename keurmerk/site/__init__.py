"""The public search (zoekmachine) as a static, self-contained site: HTML, CSS, JavaScript and its data files.

Written at every publication (``keurmerk ingest``) and by ``keurmerk site --db PATH --out DIR``; ``keurmerk serve``
serves it at ``/zoeken/`` and nginx can serve the same directory (``deploy/``). No kernel, no CDN: the browser
searches the data itself.

The data is split so that a visitor's first request is small: ``data.json`` (the index: periods, the file of each
period's listing, the names of diensten and provinces, the reasons, the rule) and one listing per period,
``periode-<period>-<content hash>.json``; the page loads the latest period's listing and another one only when it
is chosen. A listing is ``{"period": 2021, "providers": [...]}``, one compact entry per provider:

- ``name``; ``s``: the diensten it was surveyed for (codes); ``p``: its work area (province codes);
- ``g``: published client grades, ``[what, grade, n]``; ``u``: grades not published, ``[what, reason]`` (no
  number at all). ``what`` is a dienst code, or the name of a form that is not split per dienst;
- ``t``: the client total, ``[grade, n]`` or the reason it is not shown (absent: no client total);
- ``c``: the commissioners' grade, ``[grade, n]`` or the reason it is not shown.

Grades are rounded as the page shows them (one decimal, half away from zero); reasons are keys of the index's
``reasons``. A listing's name changes with its content, so browsers may keep it; the index is revalidated.

What may be public is decided by the publication rule in :mod:`keurmerk.metrics.status` and nothing else:
:func:`~keurmerk.metrics.status.public_listing` gives the published client grades per dienst and the
commissioners' grade; the client total comes from the same :func:`~keurmerk.metrics.status.satisfaction_rows`
(its ``published`` flag). The total is left out, with its reason, when the diensten not shown rest on fewer grades
than ``Policy.public_total_min_hidden_n``: the total and the shown diensten with their n would give their mean
away. A grade that is not published is written as a label with the reason only, never with a number.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from keurmerk.catalog import catalog
from keurmerk.filters import Filters
from keurmerk.formatting import integer, percent, round_half_away
from keurmerk.metrics import norms
from keurmerk.metrics.status import StatusCells, public_listing, satisfaction_rows
from keurmerk.policy import Policy, load_policy

__all__ = ["DATA_FILE", "LISTING_PREFIX", "STATIC", "build_data", "default_site_dir", "listing_files", "write_site"]

STATIC = Path(__file__).resolve().parent / "static"
SITE_FILES = ("index.html", "zoeken.css", "zoeken.js")  # the search page; landing.html etc. belong to the server
DATA_FILE = "data.json"  # the index: periods, their listings' files, names of diensten and provinces, reasons
LISTING_PREFIX = "periode-"  # one listing per period: periode-2021-<content hash>.json


def default_site_dir(db: str | Path) -> Path:
    """Where a publication of ``db`` writes its public site: ``var/demo.duckdb`` → ``var/demo-site/zoeken/``, so
    that a web server's root ``var/demo-site`` serves it at ``/zoeken/`` (deploy/nginx)."""
    db = Path(db)
    return db.with_name(db.stem + "-site") / "zoeken"


def _reasons(policy: Policy) -> dict[str, str]:
    return {
        "completed": f"minder dan {integer(policy.publish_min_completed)} cliënten vulden de vragenlijst volledig in",
        "response": f"de respons was lager dan {percent(policy.publish_min_response_pct, 0)}",
        "few": f"te weinig respondenten (minder dan {integer(policy.min_n)})",
        "none": "geen cijfers in deze periode",
        "gives_away": "zou samen met de cijfers per dienst de niet-gepubliceerde cijfers verraden",
    }


def _why(row: dict[str, Any], policy: Policy) -> str:
    """The reason a grade of ``row`` (a :func:`satisfaction_rows` row) is not shown, as a key of :func:`_reasons`."""
    if not row["published"]:
        return "completed" if (row["completed"] or 0) < policy.publish_min_completed else "response"
    if row["grade"] is None:
        return "none"
    return "few"


def _grade(value: float, n: int) -> list[float | int]:
    # rounded as shown (formatting.number): the file holds no more precision than the page shows
    return [round_half_away(value, 1), n]


def rule_text(policy: Policy) -> str:
    return (
        f"Een rapportcijfer van cliënten wordt gepubliceerd als minstens {integer(policy.publish_min_completed)} "
        f"cliënten de vragenlijst volledig invulden en de respons minstens {percent(policy.publish_min_response_pct, 0)} "
        "was. Het cijfer van opdrachtgevers wordt altijd gepubliceerd, maar pas getoond vanaf "
        f"{integer(policy.min_n)} respondenten. n is het aantal cijfers waarop het gemiddelde rust. Het werkgebied "
        "zijn de provincies waar de cliënten van de aanbieder wonen."
    )


def _period_entries(cells: StatusCells, period: int, policy: Policy) -> list[dict[str, Any]]:
    split_forms = set(norms.split_forms())
    listing = public_listing(cells, period, policy)
    # the same selection public_listing judges, so the total is judged by the same rule on the same cells
    sat = satisfaction_rows(cells.select(Filters(period=period)).respondents, policy)
    client = sat.filter(pl.col("audience") == "client")
    rows_by_key = {(r["provider_id"], r["form"], r["service"]): r for r in client.iter_rows(named=True)}

    def what(g: dict[str, Any]) -> int | str:  # a dienst by its code; a form not split per dienst by its name
        return g["service"] if g["form"] in split_forms and g["service"] is not None else g["block"]

    entries = []
    for r in listing.iter_rows(named=True):
        pid = r["provider_id"]
        entry: dict[str, Any] = {
            "name": r["provider_name"],
            "s": list(r["services"]),
            "p": list(r["provinces"]),
            "g": [[what(g), *_grade(g["grade"], g["n"])] for g in (r["grades"] or [])],
            "u": [],
        }
        hidden_n: dict[str, int] = {}  # per form: grades behind the diensten that are not shown
        for u in r["unpublished"] or []:
            row = rows_by_key.get((pid, u["form"], u["service"]))
            entry["u"].append([what(u), _why(row, policy) if row else "none"])
            if u["service"] is not None and row is not None:
                hidden_n[u["form"]] = hidden_n.get(u["form"], 0) + (row["n"] or 0)
        for form in sorted(split_forms):
            row = rows_by_key.get((pid, form, None))
            if row is None:
                continue
            if not (row["published"] and row["grade"] is not None and row["n"] >= policy.min_n):
                entry["t"] = _why(row, policy)
            elif 0 < hidden_n.get(form, 0) < policy.public_total_min_hidden_n:
                entry["t"] = "gives_away"  # see Policy.public_total_min_hidden_n
            else:
                entry["t"] = _grade(row["grade"], row["n"])
        if r["commissioner_grade"] is not None:
            entry["c"] = _grade(r["commissioner_grade"], r["commissioner_n"])
        else:
            entry["c"] = "few"
        entries.append(entry)
    return entries


def build_data(cells: StatusCells, policy: Policy | None = None) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """Everything the public site shows (see the module docstring): the index and one listing per period."""
    policy = policy or load_policy()
    cat = catalog()
    periods = sorted(cells.periods, reverse=True)
    listings = {period: {"period": period, "providers": _period_entries(cells, period, policy)} for period in periods}
    surveyed = {s for listing in listings.values() for p in listing["providers"] for s in p["s"]}
    index = {
        "version": 2,
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "periods": periods,
        "files": {},  # period -> its listing's file name, filled in by write_site
        "services": [{"code": s.code, "label": s.label} for s in cat.services if s.code in surveyed],
        "provinces": [{"code": p.code, "name": p.name} for p in cat.provinces],
        "reasons": _reasons(policy),
        "rule": rule_text(policy),
    }
    return index, listings


def _encode(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _replace(path: Path, data: bytes) -> None:
    """Write ``path`` atomically: a reader gets the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def listing_files(out: Path) -> set[str]:
    """The period listings ``out/data.json`` names (none when there is no index yet)."""
    try:
        return set(json.loads((out / DATA_FILE).read_bytes())["files"].values())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


def write_site(db: str | Path, out: str | Path | None = None, policy: Policy | None = None) -> Path:
    """Write the public site of the published snapshot ``db`` into ``out`` (default :func:`default_site_dir`)."""
    from keurmerk.warehouse import open_readonly

    policy = policy or load_policy()
    out = Path(out) if out is not None else default_site_dir(db)
    out.mkdir(parents=True, exist_ok=True)
    with open_readonly(db) as con:
        cells = StatusCells.load(con, policy, aspects=False)
    index, listings = build_data(cells, policy)
    for name in SITE_FILES:
        target = out / name
        if not target.exists() or target.read_bytes() != (STATIC / name).read_bytes():
            _write(target, (STATIC / name).read_bytes())
    previous = listing_files(out)
    for period, listing in listings.items():
        body = _encode(listing)
        # named by content: a listing never changes under its name, so browsers may keep it (deploy/nginx)
        name = f"{LISTING_PREFIX}{period}-{hashlib.sha256(body).hexdigest()[:12]}.json"
        index["files"][str(period)] = name
        if not (out / name).exists():
            _write(out / name, body)
    # the index last: a page of this publication finds every listing it names in place
    _write(out / DATA_FILE, _encode(index))
    # listings of older publications go, except the previous one's: a page that loaded its index a moment ago
    # may still ask for them
    keep = set(index["files"].values()) | previous
    for path in out.glob(f"{LISTING_PREFIX}*.json"):
        if path.name not in keep:
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".gz").unlink(missing_ok=True)
    return out


def _write(path: Path, data: bytes) -> None:
    """The file and a gzipped copy beside it (nginx ``gzip_static``: compressed once per publication instead of
    on every request)."""
    _replace(path.with_name(path.name + ".gz"), gzip.compress(data, compresslevel=9, mtime=0))
    _replace(path, data)
