"""Named statistical expressions: rounding, shares, means from sufficient statistics, 95% intervals.

Means are computed from sufficient statistics (n, sum, sum of squares) so that the benchmark can be summed from
aggregated cells. Grades carry at most one decimal, so cells count them in tenths as integers: sums are exact and
a mean like 8,25 is not rounded from 8,2499999.
"""

from __future__ import annotations

import math
from functools import cache
from statistics import NormalDist

import polars as pl

from keurmerk.policy import Policy

__all__ = [
    "mean_interval",
    "rounded",
    "share_interval",
    "t_quantile",
    "z_quantile",
]


def rounded(expr: pl.Expr, decimals: int = 1) -> pl.Expr:
    """Half away from zero (8,25 → 8,3), like :func:`keurmerk.formatting.round_half_away`."""
    return expr.round(decimals, mode="half_away_from_zero")


def z_quantile(confidence: float) -> float:
    """Two-sided normal quantile: 1,95996… for 95%."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (Lentz), as in Numerical Recipes."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _t_upper_tail(t: float, df: float) -> float:
    """P(T > t) for t ≥ 0."""
    return 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))


@cache
def t_quantile(df: int, confidence: float = 0.95) -> float:
    """Two-sided Student t quantile (12,706 for df 1, 2,228 for df 10 at 95%), by bisection on the tail."""
    tail = (1.0 - confidence) / 2.0
    lo, hi = 0.0, 1.0
    while _t_upper_tail(hi, df) > tail:
        hi *= 2.0
    for _ in range(100):
        mid = (lo + hi) / 2.0
        if _t_upper_tail(mid, df) > tail:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def _critical_values(n: pl.Series, policy: Policy) -> pl.Series:
    """Per row: the quantile for a mean of n observations (null for n < 2)."""
    if policy.mean_interval == "normal":
        z = z_quantile(policy.confidence)
        return pl.Series([z if k is not None and k >= 2 else None for k in n], dtype=pl.Float64)
    table = {k: t_quantile(k - 1, policy.confidence) for k in n.unique().drop_nulls() if k >= 2}
    return n.replace_strict(table, default=None, return_dtype=pl.Float64)


def mean_interval(
    n: str, total: str, squares: str, policy: Policy, prefix: str = "", scale: int = 1
) -> list[pl.Expr]:
    """Mean and its interval from the columns (n, sum, sum of squares), unrounded.

    ``total`` and ``squares`` may be kept in units of 1/``scale`` (grades in tenths: scale 10), which keeps
    them exact integers; the mean is then one division, total / (scale · n).
    Gives ``{prefix}mean``, ``{prefix}ci_low``, ``{prefix}ci_high`` (interval null below two observations).
    """
    count = pl.col(n).cast(pl.Float64)
    total_ = pl.col(total).cast(pl.Float64)
    mean = pl.when(count > 0).then(total_ / (scale * count))
    variance = pl.when(count > 1).then(
        ((pl.col(squares).cast(pl.Float64) - total_**2 / count) / (scale * scale * (count - 1))).clip(lower_bound=0.0)
    )
    critical = pl.col(n).map_batches(lambda s: _critical_values(s, policy), return_dtype=pl.Float64)
    half = critical * (variance / count).sqrt()
    return [
        mean.alias(f"{prefix}mean"),
        (mean - half).alias(f"{prefix}ci_low"),
        (mean + half).alias(f"{prefix}ci_high"),
    ]


def share_interval(x: str, n: str, policy: Policy, prefix: str = "") -> list[pl.Expr]:
    """Share x/n in % and its interval (Wilson or Wald per policy), unrounded; null when n = 0.

    Gives ``{prefix}share``, ``{prefix}ci_low``, ``{prefix}ci_high``.
    """
    z = z_quantile(policy.confidence)
    count = pl.col(n).cast(pl.Float64)
    p = pl.when(count > 0).then(pl.col(x) / count)
    if policy.share_interval == "wilson":
        centre = (p + z * z / (2 * count)) / (1 + z * z / count)
        half = z * (p * (1 - p) / count + z * z / (4 * count * count)).sqrt() / (1 + z * z / count)
    else:
        centre = p
        half = z * (p * (1 - p) / count).sqrt()
    return [
        (100 * p).alias(f"{prefix}share"),
        (100 * (centre - half).clip(0.0, 1.0)).alias(f"{prefix}ci_low"),
        (100 * (centre + half).clip(0.0, 1.0)).alias(f"{prefix}ci_high"),
    ]
