"""The public search (zoekmachine) as a static, self-contained site: HTML, CSS, JavaScript and one data file.

Written at every publication (``keurmerk ingest``) and by ``keurmerk site --db PATH --out DIR``; ``keurmerk serve``
serves it at ``/zoeken/`` and nginx can serve the same directory (``deploy/``). No kernel, no CDN: the browser
searches ``data.json`` itself.

What may be public is decided by the publication rule in :mod:`keurmerk.metrics.status` and nothing else:
:func:`~keurmerk.metrics.status.public_listing` gives the published client grades per dienst and the
commissioners' grade; the client total comes from the same :func:`~keurmerk.metrics.status.satisfaction_rows`
(its ``published`` flag). The total is left out, with its reason, when the diensten not shown rest on fewer grades
than a published grade needs: the total and the shown diensten with their n would give their mean away. A grade
that is not published is written as a label with the reason only, never with a number.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from keurmerk.catalog import catalog
from keurmerk.filters import Filters
from keurmerk.formatting import integer, number, percent
from keurmerk.metrics.status import StatusCells, public_listing, satisfaction_rows
from keurmerk.policy import Policy, load_policy

__all__ = ["DATA_FILE", "STATIC", "build_data", "default_site_dir", "write_site"]

STATIC = Path(__file__).resolve().parent / "static"
SITE_FILES = ("index.html", "zoeken.css", "zoeken.js")  # the search page; landing.html etc. belong to the server
DATA_FILE = "data.json"


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


def _grade(value: float, n: int) -> dict[str, Any]:
    return {"grade": value, "text": number(value), "n": n, "nText": integer(n)}


def rule_text(policy: Policy) -> str:
    return (
        f"Een rapportcijfer van cliënten wordt gepubliceerd als minstens {integer(policy.publish_min_completed)} "
        f"cliënten de vragenlijst volledig invulden en de respons minstens {percent(policy.publish_min_response_pct, 0)} "
        "was. Het cijfer van opdrachtgevers wordt altijd gepubliceerd, maar pas getoond vanaf "
        f"{integer(policy.min_n)} respondenten. n is het aantal cijfers waarop het gemiddelde rust. Het werkgebied "
        "zijn de provincies waar de cliënten van de aanbieder wonen."
    )


def _period_entries(cells: StatusCells, period: int, policy: Policy) -> list[dict[str, Any]]:
    cat = catalog()
    split_forms = {f.form for f in cat.figures if f.chart == "grade_bars" and f.by_service}
    listing = public_listing(cells, period, policy)
    # the same selection public_listing judges, so the total is judged by the same rule on the same cells
    sat = satisfaction_rows(cells.select(Filters(period=period)).respondents, policy)
    client = sat.filter(pl.col("audience") == "client")
    rows_by_key = {(r["provider_id"], r["form"], r["service"]): r for r in client.iter_rows(named=True)}
    entries = []
    for r in listing.iter_rows(named=True):
        pid = r["provider_id"]
        grades = [
            {
                "label": g["label"] if g["form"] in split_forms else g["block"],
                "service": g["service"],
                **_grade(g["grade"], g["n"]),
            }
            for g in (r["grades"] or [])
        ]
        unpublished = []
        hidden_n: dict[str, int] = {}  # per form: grades behind the diensten that are not shown
        for u in r["unpublished"] or []:
            row = rows_by_key.get((pid, u["form"], u["service"]))
            unpublished.append(
                {
                    "label": u["label"] if u["form"] in split_forms else u["block"],
                    "service": u["service"],
                    "reason": _why(row, policy) if row else "none",
                }
            )
            if u["service"] is not None and row is not None:
                hidden_n[u["form"]] = hidden_n.get(u["form"], 0) + (row["n"] or 0)
        total, total_reason = None, None
        for form in sorted(split_forms):
            row = rows_by_key.get((pid, form, None))
            if row is None:
                continue
            if not (row["published"] and row["grade"] is not None and row["n"] >= policy.min_n):
                total_reason = _why(row, policy)
            elif 0 < hidden_n.get(form, 0) < policy.publish_min_completed:
                # the total and the shown diensten with their n give the mean of the hidden ones away: only
                # when those rest on as many grades as a published grade may the total be shown
                total_reason = "gives_away"
            else:
                total = _grade(row["grade"], row["n"])
        commissioners = None
        if r["commissioner_grade"] is not None:
            commissioners = _grade(r["commissioner_grade"], r["commissioner_n"])
        entries.append(
            {
                "name": r["provider_name"],
                "key": r["search_key"],
                "period": period,
                "services": list(r["services"]),
                "provinces": list(r["provinces"]),
                "grades": grades,
                "unpublished": unpublished,
                "total": total,
                "totalReason": total_reason,
                "commissioners": commissioners,
                "commissionersReason": None if commissioners else "few",
            }
        )
    return entries


def build_data(cells: StatusCells, policy: Policy | None = None) -> dict[str, Any]:
    """Everything the public site shows, for every period: published grades only (see the module docstring)."""
    policy = policy or load_policy()
    cat = catalog()
    periods = sorted(cells.periods, reverse=True)
    providers = [entry for period in periods for entry in _period_entries(cells, period, policy)]
    surveyed = {s for p in providers for s in p["services"]}
    return {
        "version": 1,
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "periods": periods,
        "services": [{"code": s.code, "label": s.label} for s in cat.services if s.code in surveyed],
        "provinces": [{"code": p.code, "name": p.name} for p in cat.provinces],
        "reasons": _reasons(policy),
        "rule": rule_text(policy),
        "providers": providers,
    }


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


def write_site(db: str | Path, out: str | Path | None = None, policy: Policy | None = None) -> Path:
    """Write the public site of the published snapshot ``db`` into ``out`` (default :func:`default_site_dir`)."""
    from keurmerk.warehouse import open_readonly

    policy = policy or load_policy()
    out = Path(out) if out is not None else default_site_dir(db)
    out.mkdir(parents=True, exist_ok=True)
    with open_readonly(db) as con:
        cells = StatusCells.load(con, policy, aspects=False)
    data = build_data(cells, policy)
    for name in SITE_FILES:
        target = out / name
        if not target.exists() or target.read_bytes() != (STATIC / name).read_bytes():
            _write(target, (STATIC / name).read_bytes())
    # the data last: the page and its data of one publication are all in place before the data switches
    _write(out / DATA_FILE, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
    return out


def _write(path: Path, data: bytes) -> None:
    """The file and a gzipped copy beside it (nginx ``gzip_static``: a national data.json is ~1,5 MB, compressed
    once per publication instead of on every request)."""
    _replace(path.with_name(path.name + ".gz"), gzip.compress(data, compresslevel=9, mtime=0))
    _replace(path, data)
