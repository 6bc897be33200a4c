"""Dutch number formatting for everything a person reads (8,0 · 41,9% · 10.000), via Babel."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import format_decimal

__all__ = ["round_half_away", "number", "percent", "integer"]

LOCALE = "nl_NL"


def round_half_away(value: float, decimals: int = 1) -> float:
    """Round half away from zero (8,25 → 8,3), as the report does; Python's round() rounds half to even."""
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def number(value: float | None, decimals: int = 1) -> str:
    """8.0 → '8,0'; None → '–'."""
    if value is None:
        return "–"
    pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
    return format_decimal(round_half_away(value, decimals), format=pattern, locale=LOCALE)


def percent(value: float | None, decimals: int = 1) -> str:
    """41.86 (already in %) → '41,9%'."""
    return "–" if value is None else f"{number(value, decimals)}%"


@lru_cache(maxsize=8192)  # charts label thousands of counts; Babel takes 0,1 ms each
def integer(value: int | None) -> str:
    """10000 → '10.000'."""
    return "–" if value is None else format_decimal(value, format="#,##0", locale=LOCALE)
