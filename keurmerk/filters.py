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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from keurmerk.catalog import Catalog, catalog

__all__ = ["FILTER_DIMENSIONS", "Dimension", "Filters"]

Period = int | tuple[int, int]


def _as_tuple(value: Any) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str | int):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class Dimension:
    """A respondent attribute a selection filters on, declared once. :class:`Filters` validates, describes and
    renders it (SQL and polars), the cells carry its ``column`` (:data:`keurmerk.warehouse.cells.CUBE_KEYS`), the
    dashboards build its control from it (:func:`keurmerk.dashboard.controls.picker`).

    - ``field``: the :class:`Filters` field; ``column``: the column in the invitations and every cell;
    - ``names``: its values and their Dutch names, from the catalogue; ``parse``: a value as given → its code
      (None when unknown; default: the value itself);
    - ``many``: several values (checkboxes, a tuple) or one (a list with "Alle" first, a value or None);
    - ``label``: the control's label; ``everything``: what no choice means ("Alle diensten"), or None when the
      description leaves it out; ``word``/``words``: the description's noun for one value / several;
    - ``pages``: the dashboards that offer it; ``coarse``: kept in the coarse cells most selections read;
      ``dtype``: the column's type.
    """

    field: str
    column: str
    names: Callable[[Catalog], dict[Any, str]]
    label: str
    word: str
    words: str
    everything: str | None
    many: bool = True
    parse: Callable[[Catalog, Any], Any] | None = None
    short: Callable[[Any, str], str] | None = None  # a ticked value in the checkboxes' summary (default: its name)
    offered: Callable[[Catalog], Iterable[Any]] | None = None  # what the control offers (default: every value)
    option: Callable[[Any, str], str] | None = None  # a value in the control (default: its name)
    pages: tuple[str, ...] = ("provider", "staff")
    coarse: bool = False
    dtype: type[pl.DataType] = pl.String  # the column's type in the cells

    def code(self, cat: Catalog, given: Any) -> Any:
        return self.parse(cat, given) if self.parse else given

    def options(self, cat: Catalog, present: Iterable[Any] | None = None) -> list[tuple[str, Any, str]]:
        """(label, value, short label) per value, in catalogue order; only those ``present`` when given."""
        if present is None and self.offered is not None:
            present = self.offered(cat)
        wanted = None if present is None else set(present)
        return [
            ((self.option or (lambda v, n: n))(value, name), value, (self.short or (lambda v, n: n))(value, name))
            for value, name in self.names(cat).items()
            if wanted is None or value in wanted
        ]

    def describe(self, cat: Catalog, value: Any) -> str | None:
        values = _as_tuple(value)
        if not values:
            return None if self.everything is None else self.everything.lower()
        names = self.names(cat)
        if not self.many:
            return f"{self.word} {names[values[0]].lower()}"
        return f"{self.word if len(values) == 1 else self.words} " + ", ".join(names[v] for v in values)


def _province(cat: Catalog, given: Any) -> str | None:
    return cat.province_code(str(given))


def _service(cat: Catalog, given: Any) -> int | None:
    try:
        return int(given)
    except (TypeError, ValueError):
        return None


# The dimensions in the order of their terms in SQL (after provider and period) and in the description.
FILTER_DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("services", "service", lambda cat: {s.code: s.label for s in cat.services}, "Diensten", "dienst",
              "diensten", "Alle diensten", parse=_service, option=lambda code, name: f"{code}. {name}",
              short=lambda code, name: str(code), coarse=True, dtype=pl.Int16),
    Dimension("provinces", "province", lambda cat: {p.code: p.name for p in cat.provinces}, "Provincies",
              "provincie", "provincies", "Alle provincies", parse=_province),
    Dimension("audience", "audience", lambda cat: dict(cat.audiences), "Doelgroep", "doelgroep", "doelgroepen",
              None, many=False, pages=("staff",), coarse=True),
    Dimension("questionnaire", "questionnaire", lambda cat: dict(cat.questionnaires), "Vragenlijst", "vragenlijst",
              "vragenlijsten", "Alle vragenlijsten", many=False, pages=("provider",),
              offered=lambda cat: cat.form("client").questionnaires),  # the clients' questionnaires
)


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
        object.__setattr__(self, "period", period)
        object.__setattr__(self, "provider", None if self.provider in (None, "") else str(self.provider))
        for dim in FILTER_DIMENSIONS:
            known = dim.names(cat)
            given = getattr(self, dim.field)
            if dim.many:
                codes = [(value, dim.code(cat, value)) for value in _as_tuple(given)]
                if unknown := [str(value) for value, code in codes if code not in known]:
                    raise ValueError(f"onbekende {dim.word}: {', '.join(unknown)}")
                object.__setattr__(self, dim.field, tuple(sorted({code for _, code in codes})))
            elif given is not None and dim.code(cat, given) not in known:
                raise ValueError(f"onbekende {dim.word}: {given!r} (kies uit {', '.join(map(str, known))})")
            elif given is not None:
                object.__setattr__(self, dim.field, dim.code(cat, given))

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
        parts += [d.describe(cat, getattr(self, d.field)) for d in FILTER_DIMENSIONS]
        return "; ".join(p for p in parts if p)

    def active(self) -> set[str]:
        """The columns of the dimensions this selection filters on (provider and period not included)."""
        return {d.column for d in FILTER_DIMENSIONS if _as_tuple(getattr(self, d.field))}

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
        for dim in FILTER_DIMENSIONS:
            values, column = _as_tuple(getattr(self, dim.field)), dim.column
            if not values:
                continue
            if dim.many:
                names = [f"{column}_{i}" for i in range(len(values))]
                yield column, "{c} IN (" + ", ".join(f"${n}" for n in names) + ")", dict(zip(names, values, strict=True))
            else:
                yield column, f"{{c}} = ${column}", {column: values[0]}

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
        for dim in FILTER_DIMENSIONS:
            values = _as_tuple(getattr(self, dim.field))
            if values:
                terms.append(pl.col(dim.column).is_in(values) if dim.many else pl.col(dim.column) == values[0])
        return pl.all_horizontal(terms) if terms else pl.lit(True)
