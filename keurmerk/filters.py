"""The selection a figure is computed over: provider, period(s), dienst(en), province(s), audience, questionnaire.

:class:`Filters` is frozen; a filter change makes a new object (``filters.replace(period=2022)``), so it can key
a cache. It renders itself two ways that select the same rows:

- :meth:`Filters.to_sql` for DuckDB: a WHERE clause with named placeholders plus the bound values (never a value
  pasted into SQL text);
- :meth:`Filters.to_polars` for frames already in memory.

Semantics. Every field left empty selects everything. ``provinces`` selects on the respondent's province, which
only clients have: a province filter therefore leaves no commissioners (as it should: they have no province).
The benchmark of a selection is the same filters without the provider (:meth:`Filters.benchmark`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from keurmerk.catalog import catalog

__all__ = ["Filters"]

Period = int | tuple[int, int]


def _as_tuple(value: Any) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str | int):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class Filters:
    """What a figure is computed over. Empty fields select everything.

    - ``provider``: a provider id, or None for all providers;
    - ``period``: one year (2021), an inclusive range ``(2019, 2021)``, or None for all periods;
    - ``services``: dienst codes (1–13); ``provinces``: PV codes (names and aliases are accepted and normalised);
    - ``audience``: client | commissioner; ``questionnaire``: regular | easy | inburgering.
    """

    provider: str | None = None
    period: Period | None = None
    services: tuple[int, ...] = ()
    provinces: tuple[str, ...] = ()
    audience: str | None = None
    questionnaire: str | None = None

    def __post_init__(self) -> None:
        cat = catalog()
        period = self.period
        if isinstance(period, list | tuple):
            start, end = (int(p) for p in period)
            if start > end:
                raise ValueError(f"periode {start}–{end}: het begin ligt na het einde")
            period = start if start == end else (start, end)
        elif period is not None:
            period = int(period)
        known_services = {s.code for s in cat.services}
        services = tuple(sorted({int(s) for s in _as_tuple(self.services)}))
        if unknown := [s for s in services if s not in known_services]:
            raise ValueError(f"onbekende dienst(en): {', '.join(map(str, unknown))}")
        provinces = []
        for given in _as_tuple(self.provinces):
            code = cat.province_code(str(given))
            if code is None:
                raise ValueError(f"onbekende provincie: {given!r}")
            provinces.append(code)
        if self.audience is not None and self.audience not in cat.audiences:
            raise ValueError(f"onbekende doelgroep: {self.audience!r} (kies uit {', '.join(cat.audiences)})")
        if self.questionnaire is not None and self.questionnaire not in cat.questionnaires:
            raise ValueError(
                f"onbekende vragenlijst: {self.questionnaire!r} (kies uit {', '.join(cat.questionnaires)})"
            )
        object.__setattr__(self, "period", period)
        object.__setattr__(self, "services", services)
        object.__setattr__(self, "provinces", tuple(sorted(set(provinces))))
        object.__setattr__(self, "provider", None if self.provider in (None, "") else str(self.provider))

    # --- derived selections ---------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> Filters:
        """A new Filters with these fields changed (validated again)."""
        return replace(self, **changes)

    def benchmark(self) -> Filters:
        """The benchmark's selection: the same filters over all providers (DESIGN §5)."""
        return replace(self, provider=None)

    @property
    def periods(self) -> tuple[int, int] | None:
        """The period filter as an inclusive (first, last) range, or None."""
        if self.period is None:
            return None
        return self.period if isinstance(self.period, tuple) else (self.period, self.period)

    def describe(self) -> str:
        """The selection in Dutch words, as the page, the PDF's title page and the Excel download name it:
        "periode 2019–2021; diensten 7 en 8; provincie Utrecht; alle vragenlijsten"."""
        cat = catalog()
        first, last = self.periods or (None, None)
        parts = ["alle perioden" if first is None else f"periode {first}" if first == last else f"periode {first}–{last}"]
        if not self.services:
            parts.append("alle diensten")
        else:
            names = [cat.service_label(s) for s in self.services]
            parts.append(("dienst " if len(names) == 1 else "diensten ") + ", ".join(names))
        if not self.provinces:
            parts.append("alle provincies")
        else:
            names = [cat.province(p).name for p in self.provinces]
            parts.append(("provincie " if len(names) == 1 else "provincies ") + ", ".join(names))
        if self.audience is not None:
            parts.append(f"doelgroep {cat.audiences[self.audience].lower()}")
        parts.append("alle vragenlijsten" if self.questionnaire is None
                     else f"vragenlijst {cat.questionnaires[self.questionnaire].lower()}")
        return "; ".join(parts)

    # --- rendering ------------------------------------------------------------------------------------------
    def _terms(self) -> Iterable[tuple[str, str, dict[str, Any]]]:
        """(column, SQL with placeholders, params) per active filter, in a fixed order."""
        if self.provider is not None:
            yield "provider_id", "{c} = $provider", {"provider": self.provider}
        if isinstance(self.period, tuple):
            yield "period", "{c} BETWEEN $period_from AND $period_to", {
                "period_from": self.period[0], "period_to": self.period[1]}
        elif self.period is not None:
            yield "period", "{c} = $period", {"period": self.period}
        for column, name, values in (("service", "service", self.services), ("province", "province", self.provinces)):
            if values:
                names = [f"{name}_{i}" for i in range(len(values))]
                yield column, "{c} IN (" + ", ".join(f"${n}" for n in names) + ")", dict(zip(names, values, strict=True))
        if self.audience is not None:
            yield "audience", "{c} = $audience", {"audience": self.audience}
        if self.questionnaire is not None:
            yield "questionnaire", "{c} = $questionnaire", {"questionnaire": self.questionnaire}

    def to_sql(self, alias: str | None = None) -> tuple[str, dict[str, Any]]:
        """(WHERE clause, named parameters) for DuckDB; ``alias`` qualifies the columns (``i`` → ``i.period``).

        The clause reads the columns provider_id, period, service, province, audience, questionnaire (table
        ``invitations`` and the views ``v_respondents`` / ``v_answers``). No filter gives ``TRUE``.
        """
        prefix = f"{alias}." if alias else ""
        clauses, params = [], {}
        for column, template, values in self._terms():
            clauses.append(template.format(c=prefix + column))
            params.update(values)
        return (" AND ".join(clauses) or "TRUE"), params

    def to_polars(self) -> pl.Expr:
        """The same selection as a polars predicate over the same column names."""
        terms = []
        if self.provider is not None:
            terms.append(pl.col("provider_id") == self.provider)
        if self.periods is not None:
            terms.append(pl.col("period").is_between(*self.periods))
        if self.services:
            terms.append(pl.col("service").is_in(self.services))
        if self.provinces:
            terms.append(pl.col("province").is_in(self.provinces))
        if self.audience is not None:
            terms.append(pl.col("audience") == self.audience)
        if self.questionnaire is not None:
            terms.append(pl.col("questionnaire") == self.questionnaire)
        return pl.all_horizontal(terms) if terms else pl.lit(True)
