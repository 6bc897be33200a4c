"""Named statistical expressions: rounding, shares, means from sufficient statistics, 95% intervals.

Means are computed from sufficient statistics (n, sum, sum of squares) so that the benchmark can be summed from
aggregated cells. Grades carry at most one decimal, so cells count them in tenths as integers: sums are exact and
a mean like 8,25 is one division of exact integers, not 8,2499999 rounded the wrong way.
"""

from __future__ import annotations

import math
from functools import cache
from statistics import NormalDist

import polars as pl

from keurmerk.policy import Policy

__all__ = [
    "critical_value",
    "critical_value_vectorised",
    "mean",
    "mean_bounds",
    "rounded",
    "share",
    "share_bounds",
    "share_bounds_of",
    "share_centre_half",
    "share_terms",
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
    """Continued fraction of the incomplete beta function (modified Lentz)."""
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
    if policy.mean_interval == "normal":
        z = z_quantile(policy.confidence)
        table = {k: z for k in n.unique().drop_nulls() if k >= 2}
    else:
        table = {k: t_quantile(k - 1, policy.confidence) for k in n.unique().drop_nulls() if k >= 2}
    return n.replace_strict(table, default=None, return_dtype=pl.Float64)


def critical_value(n: str, policy: Policy) -> pl.Expr:
    """Per row, the quantile for the interval of a mean of ``n`` observations (t or normal; null below 2)."""
    return pl.col(n).map_batches(lambda s: _critical_values(s, policy), return_dtype=pl.Float64)


def share(x: str, n: str) -> pl.Expr:
    """x / n in %; null when n is 0."""
    return 100 * pl.col(x) / pl.when(pl.col(n) > 0).then(pl.col(n))


def mean(n: str, total: str, scale: int = 10) -> pl.Expr:
    """total / (scale · n): one division of exact integers when the values are kept in 1/scale units."""
    return pl.col(total) / (scale * pl.when(pl.col(n) > 0).then(pl.col(n)))


def mean_bounds(n: str, total: str, squares: str, critical: str, scale: int = 10) -> tuple[pl.Expr, pl.Expr]:
    """mean ± critical · s / √n from n, sum and sum of squares (in 1/scale units); null below 2 observations."""
    count = pl.when(pl.col(n) > 1).then(pl.col(n)).cast(pl.Float64)
    centre = pl.col(total) / (scale * count)
    total_ = pl.col(total).cast(pl.Float64)
    variance = ((pl.col(squares) - total_ * total_ / count) / (scale * scale * (count - 1))).clip(lower_bound=0.0)
    half = pl.col(critical) * (variance / count).sqrt()
    return centre - half, centre + half


_EXACT_T_UP_TO = 100  # degrees of freedom computed exactly; above, the expansion below is exact to 1e-10


@cache
def _exact_t(confidence: float) -> dict[int, float]:
    """n → the two-sided t quantile for the mean of n observations, for small n (computed once per process)."""
    return {n: t_quantile(n - 1, confidence) for n in range(2, _EXACT_T_UP_TO + 2)}


def critical_value_vectorised(n: str, policy: Policy) -> pl.Expr:
    """The quantile for the interval of a mean of ``n`` observations, as :func:`critical_value` but vectorised: 500 providers have hundreds of distinct n, and the exact t quantile costs
    milliseconds each. Exact up to 100 degrees of freedom; above, the Cornish-Fisher expansion of t in z
    (Abramowitz & Stegun 26.7.5), whose error there is below 1e-10. Null below two observations."""
    z = z_quantile(policy.confidence)
    count = pl.col(n)
    if policy.mean_interval == "normal":
        return pl.when(count >= 2).then(pl.lit(z))
    df = (count - 1).cast(pl.Float64)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    expansion = z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4
    exact = count.replace_strict(_exact_t(policy.confidence), default=None, return_dtype=pl.Float64)
    return pl.when(count < 2).then(None).when(count <= _EXACT_T_UP_TO + 1).then(exact).otherwise(expansion)


def share_terms(x: str, n: str, policy: Policy) -> tuple[pl.Expr, pl.Expr]:
    """p = x/n and c = z²/n, what a share's interval is made of (null when n is 0)."""
    z = z_quantile(policy.confidence)
    count = pl.when(pl.col(n) > 0).then(pl.col(n)).cast(pl.Float64)
    return pl.col(x) / count, z * z / count


def share_centre_half(p: pl.Expr, c: pl.Expr, policy: Policy) -> tuple[pl.Expr, pl.Expr]:
    """The centre and half width of the interval (as a fraction) from :func:`share_terms`: Wilson or Wald, as the
    policy says."""
    if policy.share_interval == "wilson":
        return (p + c / 2) / (1 + c), (p * (1 - p) * c + c * c / 4).sqrt() / (1 + c)
    return p, (p * (1 - p) * c).sqrt()


def share_bounds_of(centre: pl.Expr, half: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The interval in %, within 0–100, from :func:`share_centre_half`."""
    return 100 * (centre - half).clip(0.0, 1.0), 100 * (centre + half).clip(0.0, 1.0)


def share_bounds(x: str, n: str, policy: Policy) -> tuple[pl.Expr, pl.Expr]:
    """The interval of the share x/n in % (Wilson or Wald, as the policy says). The three steps apart serve a
    caller that keeps each as columns for many shares in one pass (:func:`keurmerk.metrics.figures.measure`)."""
    return share_bounds_of(*share_centre_half(*share_terms(x, n, policy), policy))
