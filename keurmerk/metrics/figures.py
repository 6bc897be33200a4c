"""The metric of every chart kind, as three pure steps over a :class:`~keurmerk.metrics.source.Selection`.

1. ``rows``: the kind's rows with the counts behind them, provider (``n``…) next to benchmark (``bench_n``…):
   a share (``stat`` = "share": n of base_n) or a mean grade (``stat`` = "mean": n, total, squares in tenths).
2. :func:`measure`: one pass over the rows of *every* kind at once — values, 95% intervals, significance,
   rounding, differences and the small-group rule. (One pass instead of one per figure is what keeps a whole
   dashboard under the time budget: polars costs per expression, not per row, on frames this small.)
3. ``finish``: the kind's columns and order (and its own extras: the norm, the ranking of strengths).

:func:`compute` runs the three for one kind; :func:`keurmerk.metrics.registry.compute_all` runs step 1 once per
rows function (kinds built on the same counts share one), step 2 once, and step 3 per kind. The public functions (``grade_bars(sel, figures, policy)`` …) are
:func:`compute` for one kind. Column lists per kind are in docs/export-format.md.

Conventions of every frame: ``bench_*`` is the benchmark (all providers under the same filters, the provider
included); ``ci_low``/``ci_high`` the provider's 95% interval; ``significant`` whether that interval excludes the
benchmark value; ``diff`` the difference of the displayed (rounded) values; ``suppressed`` /
``bench_suppressed`` / ``note`` the small-group rule. Values are rounded half away from zero to
``policy.decimals`` after computing on unrounded values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import polars as pl

from keurmerk.catalog import Figure, catalog
from keurmerk.metrics import norms, texts
from keurmerk.metrics.source import Selection
from keurmerk.metrics.stats import (
    critical_value,
    mean,
    mean_bounds,
    rounded,
    share,
    share_bounds_of,
    share_centre_half,
    share_terms,
)
from keurmerk.policy import Policy

__all__ = [
    "KINDS",
    "Kind",
    "answer_shares",
    "aspect_scores",
    "compute",
    "funnel",
    "grade_bars",
    "grade_distribution",
    "keurmerk_table",
    "measure",
    "province_map",
    "satisfaction_items",
    "strength_pie",
    "strengths",
    "withheld",
    "withheld_runs",
]

TOTAL = 0  # internal service key of a total row; null in the output
_ALL = ""  # internal mode key of a total row of fig. 1; null in the output

# --- named expressions over cells -----------------------------------------------------------------------------
n, bench_n = pl.col("n"), pl.col("bench_n")
tenths = pl.col("tenths")
delivered = pl.col("status") == "delivered"
completed = pl.col("completed")
is_total = pl.col("service") == TOTAL


def both(expr: Callable[[pl.Expr], pl.Expr], name: str) -> list[pl.Expr]:
    """The same aggregate of the provider's ``n`` and the benchmark's ``bench_n``, as name / bench_name."""
    return [expr(n).alias(name), expr(bench_n).alias(f"bench_{name}")]


def grade_sums() -> list[pl.Expr]:
    """Sufficient statistics of grade cells (in tenths): n, total, squares, for both sides."""
    return [
        *both(lambda c: c.sum(), "n"),
        *both(lambda c: (c * tenths).sum(), "total"),
        *both(lambda c: (c * tenths * tenths).sum(), "squares"),
    ]


def _labels(column: str, mapping: dict, default: str | None = None) -> pl.Expr:
    """The Dutch label of the column's code (expressions are immutable: built once per mapping)."""
    return _labels_of(column, tuple(mapping.items()), default)


@cache
def _labels_of(column: str, pairs: tuple, default: str | None) -> pl.Expr:
    return pl.col(column).replace_strict(dict(pairs), default=default, return_dtype=pl.String)


def _order(column: str, keys) -> pl.Expr:
    """Position of the column's value in ``keys`` (catalogue order); unknown values last."""
    return _order_of(column, tuple(keys))


@cache
def _order_of(column: str, keys: tuple) -> pl.Expr:
    return pl.col(column).replace_strict({k: i for i, k in enumerate(keys)}, default=len(keys), return_dtype=pl.Int32)


@cache
def _service_label() -> pl.Expr:
    labels = {s.code: s.label for s in catalog().services} | {TOTAL: texts.TOTAL}
    return _labels("service", labels).alias("label")


def _null_total() -> pl.Expr:
    return pl.when(~is_total).then(pl.col("service")).cast(pl.Int16).alias("service")


def _fill(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Counts absent from the cells are 0, on both sides."""
    return frame.with_columns(pl.col(*columns, *(f"bench_{c}" for c in columns)).fill_null(0))


def _spec(figures: Sequence[Figure]) -> pl.DataFrame:
    """figure_id, figure_position, form, question_id (the first question), by_service per figure."""
    return pl.DataFrame(
        [(f.id, i, f.form, f.questions[0] if f.questions else None, f.by_service) for i, f in enumerate(figures)],
        orient="row", schema={"figure_id": pl.String, "figure_position": pl.Int32, "form": pl.String,
                              "question_id": pl.String, "by_service": pl.Boolean},
    )


@cache
def _items(figures: tuple[Figure, ...]) -> pl.DataFrame:
    """figure_id, figure_position, form, question_id, item (question text), item_position per figure question."""
    cat = catalog()
    rows = [(f.id, fpos, f.form, q, cat.question(f.form, q).text, qpos + 1)
            for fpos, f in enumerate(figures) for qpos, q in enumerate(f.questions)]
    return pl.DataFrame(rows, orient="row", schema={
        "figure_id": pl.String, "figure_position": pl.Int32, "form": pl.String, "question_id": pl.String,
        "item": pl.String, "item_position": pl.Int32,
    })


@cache
def _categories(figures: tuple[Figure, ...]) -> pl.DataFrame:
    """Every (figure, question, category) in catalogue order: the rows of a shares figure."""
    cat = catalog()
    rows = [(f.id, q, category, position)
            for f in figures for q in f.questions
            for position, category in enumerate(cat.categories(f.form, q), start=1)]
    grid = pl.DataFrame(rows, orient="row", schema={
        "figure_id": pl.String, "question_id": pl.String, "category": pl.String, "position": pl.Int32})
    return _items(figures).join(grid, on=["figure_id", "question_id"])


def _category_rows(sel: Selection, figures: Sequence[Figure]) -> pl.DataFrame:
    """Category grid of the figures with the counts of the selection."""
    grid = _categories(tuple(figures))
    return _fill(grid.join(sel.category_counts, on=["form", "question_id", "category"], how="left"), "n")


# --- step 2: one pass for every kind ---------------------------------------------------------------------------

# Share families: (prefix of the output, numerator, denominator). The main value is ``value``.
_FAMILIES = {
    "": ("n", "base_n"),
    "satisfied_": ("satisfied_n", "opinion_n"),
    "promoter_": ("promoter_n", "base_n"),
}
_COUNTS = ["n", "base_n", "total", "squares", "satisfied_n", "opinion_n", "promoter_n"]


def _names(prefix: str) -> tuple[str, str, str, str, str, str]:
    """value, low, high, bench value, diff, significant of a family."""
    value = {"": "value", "satisfied_": "share_satisfied", "promoter_": "promoter_score"}[prefix]
    return (value, f"{prefix}ci_low", f"{prefix}ci_high", f"bench_{value}", f"{prefix}diff",
            f"{prefix}significant")


def measure(rows: pl.DataFrame, sel: Selection, policy: Policy, suppress: bool = True) -> pl.DataFrame:
    """Values, intervals, significance, rounding, differences and the small-group rule, for rows of any kind.

    Needs ``stat`` ("share" | "mean"), ``protect_own`` / ``protect_bench`` (whether the small-group rule
    applies to each side) and the counts of :data:`_COUNTS` with their ``bench_`` twins (absent ones are null).
    """
    missing = [c for c in (*_COUNTS, *(f"bench_{c}" for c in _COUNTS)) if c not in rows.columns]
    rows = rows.with_columns(pl.lit(None, pl.Int64).alias(c) for c in missing)
    if "texts" not in rows.columns:
        rows = rows.with_columns(texts=pl.lit(None, pl.List(pl.String)))
    is_mean = pl.col("stat") == "mean"

    # unrounded values; an interval is centre ± half (keurmerk.metrics.stats: Wilson or Wald for a share, t or
    # normal for a mean), each step kept as columns so that the three share families take one pass each
    parts = [critical_value("n", policy).alias("_critical")]
    for prefix, (x, base) in _FAMILIES.items():
        bench_value = _names(prefix)[3]
        p, c = share_terms(x, base, policy)
        parts += [p.alias(f"_{prefix}p"), c.alias(f"_{prefix}c"), share(f"bench_{x}", f"bench_{base}").alias(bench_value)]
    rows = rows.with_columns(parts)
    halves = []
    for prefix in _FAMILIES:
        p = pl.col(f"_{prefix}p")
        centre, half = share_centre_half(p, pl.col(f"_{prefix}c"), policy)
        halves += [centre.alias(f"_{prefix}centre"), half.alias(f"_{prefix}half"), (100 * p).alias(_names(prefix)[0])]
    rows = rows.with_columns(halves)
    lo_mean, hi_mean = mean_bounds("n", "total", "squares", "_critical")
    bounds = []
    for prefix in _FAMILIES:
        _, low, high, _, _, _ = _names(prefix)
        lo, hi = share_bounds_of(pl.col(f"_{prefix}centre"), pl.col(f"_{prefix}half"))
        if prefix == "":  # the main value of a mean row is a mean grade
            lo, hi = pl.when(is_mean).then(lo_mean).otherwise(lo), pl.when(is_mean).then(hi_mean).otherwise(hi)
        bounds += [lo.alias(low), hi.alias(high)]
    bounds += [
        pl.when(is_mean).then(mean("n", "total")).otherwise(pl.col("value")).alias("value"),
        pl.when(is_mean).then(mean("bench_n", "bench_total")).otherwise(pl.col("bench_value")).alias("bench_value"),
    ]
    rows = rows.with_columns(bounds)

    d = policy.decimals
    compared = []
    for prefix in _FAMILIES:
        value, low, high, bench_value, diff, significant = _names(prefix)
        bench = pl.col(bench_value)
        compared += [
            ((bench < pl.col(low)) | (bench > pl.col(high))).alias(significant),
            rounded(rounded(pl.col(value), d) - rounded(bench, d), d).alias(diff),
            *(rounded(pl.col(c), d) for c in (value, low, high, bench_value)),
        ]
    rows = rows.with_columns(compared)

    # the small-group rule (DESIGN §5): below min_n the numbers make way for a note; the benchmark is withheld
    # when its base is below min_n or when the other providers add fewer than min_n to it (benchmark minus
    # provider would reveal them).
    base, bench_base = pl.col("base_n"), pl.col("bench_base_n")
    others = bench_base - base
    if suppress:
        own_small = pl.col("protect_own") & (base < policy.min_n)
        bench_small = bench_base < policy.min_n
        if sel.filters.provider is not None:
            bench_small = bench_small | ((others > 0) & (others < policy.min_n))
        bench_small = pl.col("protect_bench") & bench_small
    else:
        own_small = bench_small = pl.lit(False)
    rows = rows.with_columns(
        suppressed=own_small,
        bench_suppressed=bench_small,
        note=pl.when(base == 0).then(pl.lit(texts.no_respondents()))
        .when(own_small).then(pl.lit(texts.too_few(policy)))
        .when(bench_small).then(pl.lit(texts.bench_too_few(policy))).cast(pl.String),
    )
    own_only = ["value", "ci_low", "ci_high", "share_satisfied", "satisfied_ci_low", "satisfied_ci_high",
                "opinion_n", "satisfied_n", "promoter_score", "promoter_ci_low", "promoter_ci_high", "promoter_n",
                "texts"]
    bench_only = ["bench_value", "bench_share_satisfied", "bench_opinion_n", "bench_satisfied_n",
                  "bench_promoter_score", "bench_promoter_n"]
    joint = [c for prefix in _FAMILIES for c in _names(prefix)[4:]]
    keep_own, keep_bench = ~pl.col("suppressed"), ~pl.col("bench_suppressed")
    is_share = pl.col("stat") == "share"
    return rows.with_columns(
        *(pl.when(keep_own).then(pl.col(c)).alias(c) for c in own_only),
        *(pl.when(keep_bench).then(pl.col(c)).alias(c) for c in bench_only),
        *(pl.when(keep_own & keep_bench).then(pl.col(c)).alias(c) for c in joint),
        pl.when(keep_own | ~is_share).then(n).alias("n"),  # a category count shows an answer; a grade n does not
        pl.when(keep_bench | ~is_share).then(bench_n).alias("bench_n"),
    )


# --- the kinds ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    """A chart kind's metric: rows(sel, figures, policy) → measure → finish(frame, policy).

    Kinds built on the same counts share their ``rows`` function, which then takes the figures of all of them.
    """

    name: str
    rows: Callable[[Selection, Sequence[Figure], Policy], pl.DataFrame]
    finish: Callable[[pl.DataFrame, Policy], pl.DataFrame]


def compute(kind: Kind, sel: Selection, figures: Sequence[Figure], policy: Policy, suppress: bool = True
            ) -> pl.DataFrame:
    """One kind's frame for these figures (with a ``figure_id`` column)."""
    return kind.finish(measure(kind.rows(sel, figures, policy), sel, policy, suppress), policy)


def _rows(frame: pl.DataFrame, stat: str, protect_own: bool = True, protect_bench: bool = True,
          **columns: pl.Expr) -> pl.DataFrame:
    """Mark rows with their stat and small-group protection, and add ``columns``, in one step."""
    base = {"base_n": n, "bench_base_n": bench_n} if stat == "mean" else {}
    return frame.with_columns(
        stat=pl.lit(stat), protect_own=pl.lit(protect_own), protect_bench=pl.lit(protect_bench), **base, **columns,
    )


# table 1.1 ------------------------------------------------------------------------------------------------------

@cache
def _grade_questions() -> pl.DataFrame:
    """(form, question_id) of the overall grade of each form."""
    return pl.DataFrame([(q.form, q.id) for q in catalog().questions if q.kind == "grade"], orient="row",
                        schema=["form", "question_id"])


def _table_rows(sel: Selection, figures: Sequence[Figure], policy: Policy) -> pl.DataFrame:
    cat = catalog()
    floor = round(policy.correction_floor * 10)
    counts = sel.invitations.group_by("form", "service").agg(
        *both(lambda c: c.sum(), "invited"),
        *both(lambda c: c.filter(delivered).sum(), "net_sample"),
        *both(lambda c: c.filter(completed).sum(), "completed"),
    )
    grades = sel.grades.join(_grade_questions(), on=["form", "question_id"]).group_by("form", "service").agg(
        *grade_sums(), *both(lambda c: (c * pl.max_horizontal(tenths, pl.lit(floor))).sum(), "corrected"))
    cells = counts.join(grades, on=["form", "service"], how="full", coalesce=True)
    measures = [c for c in cells.columns if c not in ("form", "service")]
    cells = norms.table_rows(cells, measures, total=TOTAL).with_columns(pl.col(measures).fill_null(0))
    shown = cells.filter(pl.col("invited") > 0)
    if shown.height == 0:  # nothing to show: one empty total row per form the filters admit
        f = sel.filters
        forms = [x.id for x in cat.forms if f.audience in (None, x.audience) and f.questionnaire in (None, *x.questionnaires)]
        grid = pl.DataFrame({"form": forms}).with_columns(service=pl.lit(TOTAL, pl.Int16))
        shown = grid.join(cells, on=["form", "service"], how="left").with_columns(pl.col(measures).fill_null(0))
    return _rows(shown, "mean", protect_own=False, figure_id=pl.lit(figures[0].id if figures else "table_1_1"),
                 figure_position=pl.lit(0, pl.Int32))


def _table_finish(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Response, corrected grade, publication and the norm (:mod:`keurmerk.metrics.norms`)."""
    cat = catalog()
    d = policy.decimals
    frame = frame.with_columns(
        audience=_labels("form", {x.id: x.audience for x in cat.forms}),
        block=_labels("form", {x.id: x.label for x in cat.forms}),
        label=_service_label(),
        bench_response_pct=rounded(share("bench_completed", "bench_net_sample"), d),
    )
    frame = norms.judge_satisfaction(frame, policy, grade="value", is_total=is_total)
    return frame.sort(_order("form", (x.id for x in cat.forms)), is_total, "service").select(
        "figure_id", "form", "audience", "block", _null_total(), "label", "invited", "net_sample", "completed",
        "response_pct", "n", pl.col("value").alias("grade"), "ci_low", "ci_high", "corrected_grade", "published",
        "norm", "meets_norm_raw", "meets_norm_corrected", "norm_met", "norm_basis", "bench_net_sample",
        "bench_completed", "bench_response_pct", "bench_n", pl.col("bench_value").alias("bench_grade"),
        "bench_suppressed", "note",
    )


# fig. 1 -----------------------------------------------------------------------------------------------------------

def _funnel_rows(sel: Selection, figures: Sequence[Figure], policy: Policy) -> pl.DataFrame:
    cat = catalog()
    stage_sums = [
        *both(lambda c: c.sum(), "invited"),
        *both(lambda c: c.filter(delivered).sum(), "net_sample"),
        *both(lambda c: c.filter(completed).sum(), "completed"),
    ]
    keys = ["audience", "mode", "reminded"]
    detail = sel.invitations.group_by(keys).agg(stage_sums)
    totals = sel.invitations.group_by("audience").agg(stage_sums).with_columns(
        mode=pl.lit(_ALL), reminded=pl.lit(None, pl.Boolean))
    cells = pl.concat([detail, totals.select(detail.columns)])
    shown = cells.filter(pl.col("invited") > 0)
    if shown.height == 0:
        shown = pl.DataFrame({"audience": list(cat.audiences)}).with_columns(
            mode=pl.lit(_ALL), reminded=pl.lit(None, pl.Boolean),
            **{c: pl.lit(0, pl.Int64) for c in cells.columns if c not in keys})
    # each stage's share is of the stage its label names: completed of the net sample is the response of table
    # 1.1 (DESIGN §5: one definition of response), the net sample of the invited
    stages = pl.concat([
        shown.select(*keys, stage=pl.lit(stage), position=pl.lit(i, pl.Int32), n=pl.col(stage),
                     bench_n=pl.col(f"bench_{stage}"), base_n=pl.col(texts.STAGE_BASES[stage]),
                     bench_base_n=pl.col(f"bench_{texts.STAGE_BASES[stage]}"))
        for i, stage in enumerate(texts.STAGES, start=1)
    ])
    return _rows(stages, "share", protect_own=False, protect_bench=False,
                 figure_id=pl.lit(figures[0].id if figures else "fig_1"), figure_position=pl.lit(0, pl.Int32))


def _funnel_finish(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    cat = catalog()
    total = pl.col("mode") == _ALL
    return frame.sort(_order("audience", cat.audiences), total, _order("mode", cat.modes), "reminded",
                      "position").select(
        "figure_id", "audience", _labels("audience", cat.audiences).alias("audience_label"),
        pl.when(~total).then(pl.col("mode")).alias("mode"),
        _labels("mode", cat.modes, default=texts.TOTAL).alias("mode_label"), "reminded", "stage",
        _labels("stage", texts.STAGES).alias("stage_label"), "position", "n", pl.col("value").alias("share"),
        _labels("stage", texts.STAGE_SHARES).alias("share_label"),
        "bench_n", pl.col("bench_value").alias("bench_share"), "note",
    )


# front page -------------------------------------------------------------------------------------------------------

@cache
def _province_grid(figures: tuple[Figure, ...]) -> pl.DataFrame:
    cat = catalog()
    provinces = pl.DataFrame({
        "province": [p.code for p in cat.provinces], "name": [p.name for p in cat.provinces],
        "position": list(range(1, len(cat.provinces) + 1)),
    }, schema={"province": pl.String, "name": pl.String, "position": pl.Int32})
    return _spec(figures).select("figure_id", "figure_position", "form").join(provinces, how="cross")


def _province_rows(sel: Selection, figures: Sequence[Figure], policy: Policy) -> pl.DataFrame:
    counts = sel.invitations.filter(completed).group_by("form", "province").agg(pl.col("n", "bench_n").sum())
    frame = _fill(_province_grid(tuple(figures)).join(counts, on=["form", "province"], how="left"), "n")
    return _rows(frame, "share", base_n=n.sum().over("figure_id"), bench_base_n=bench_n.sum().over("figure_id"))


def _province_finish(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    return frame.sort("figure_position", "position").select(
        "figure_id", "province", "name", "position", *_share_columns(),
        "suppressed", "bench_suppressed", "note",
    )


def _share_columns() -> list:
    return ["n", pl.col("value").alias("share"), "ci_low", "ci_high", "base_n", "bench_n",
            pl.col("bench_value").alias("bench_share"), "bench_base_n", "diff", "significant"]


def _standouts(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """The items that stand out (DESIGN §5, *relatief goed*): |diff| ≥ ``strength_min_diff`` percentage points
    of share satisfied from the benchmark, n ≥ ``strength_min_n`` with an opinion, not suppressed; ``kind``
    strength or weakness, ``rank`` per list and kind, largest difference first (then the figure's order).
    The front page's lists and its pie both read this one rule."""
    diff = pl.col("satisfied_diff")
    ranked = frame.filter(
        (pl.col("opinion_n") >= policy.strength_min_n) & diff.is_not_null() & ~pl.col("suppressed")
    ).with_columns(
        kind=pl.when(diff >= policy.strength_min_diff).then(pl.lit("strength"))
        .when(diff <= -policy.strength_min_diff).then(pl.lit("weakness")),
    ).filter(pl.col("kind").is_not_null()).sort(
        "figure_id", diff.abs(), "item_position", descending=[False, True, False]
    )
    group = ["figure_id", "kind", *(["list"] if "list" in frame.columns else [])]
    return ranked.with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over(group))


def _strength_finish(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Per front-page list (staff, organisation) its strengths and weaknesses, all of them unless
    ``strength_max_items`` caps them (0: no cap, as the seed)."""
    ranked = _standouts(frame, policy)
    if policy.strength_max_items:
        ranked = ranked.filter(pl.col("rank") <= policy.strength_max_items)
    lists = [fl.key for fl in catalog().front_lists]
    return ranked.sort("figure_id", _order("list", lists), pl.col("kind") == "weakness", "rank").select(
        "figure_id", "list", "kind", _labels("kind", texts.STRENGTH_KINDS).alias("kind_label"), "rank",
        "source_figure", "question_id", "item", "opinion_n", "share_satisfied", "satisfied_ci_low",
        "satisfied_ci_high", "bench_opinion_n", "bench_share_satisfied", "satisfied_diff", "satisfied_significant",
    )


def _pie_finish(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """The answer shares of the item that heads the first front-page list (seed: respectvolle houding, 100%
    tevreden); no rows when nothing on that list is relatief goed."""
    first = _standouts(frame, policy).filter((pl.col("kind") == "strength") & (pl.col("rank") == 1))
    return frame.join(first.select("figure_id", "question_id"), on=["figure_id", "question_id"]).sort(
        "figure_id", "position").select(
        "figure_id", "source_figure", "question_id", "item", "category", "position", *_share_columns(),
        "suppressed", "bench_suppressed", "note",
    )


# grades -----------------------------------------------------------------------------------------------------------

@cache
def _mean_items(figures: tuple[Figure, ...]) -> pl.DataFrame:
    """The items of grade and aspect figures, with whether their figure splits per dienst."""
    split = pl.DataFrame({"figure_id": [f.id for f in figures], "by_service": [f.by_service for f in figures]},
                         schema={"figure_id": pl.String, "by_service": pl.Boolean})
    return _items(figures).join(split, on="figure_id")


def _mean_rows(sel: Selection, figures: Sequence[Figure], policy: Policy) -> pl.DataFrame:
    """Mean grade per item (grade figures, aspect grades): a total row, and per dienst where the figure splits;
    'n.v.t.' answers counted apart."""
    items = _mean_items(tuple(figures))
    keys = ["form", "question_id"]
    wanted = items.select(keys).unique()
    per_service = sel.grades.join(wanted, on=keys).group_by(*keys, "service").agg(grade_sums())
    measures = [c for c in per_service.columns if c not in (*keys, "service")]
    cells = pl.concat([
        per_service,
        per_service.group_by(keys).agg(pl.col(measures).sum()).with_columns(service=pl.lit(TOTAL, pl.Int16))
        .select(per_service.columns),
    ])
    not_applicable = sel.category_counts.join(wanted, on=keys).group_by(keys).agg(
        *both(lambda c: c.sum(), "not_applicable_n"))
    own_services = sel.invitations.filter(n > 0).select("form", "service").unique()
    grid = pl.concat([
        items.with_columns(service=pl.lit(TOTAL, pl.Int16)),
        items.filter("by_service").join(own_services, on="form"),
    ])
    frame = grid.join(cells, on=[*keys, "service"], how="left").join(not_applicable, on=keys, how="left")
    # the small-group rule (DESIGN §5): a figure split per dienst (fig. 3.1) shows the grades of table 1.1, the
    # official result, in full to the provider itself (marked indicative below min_n); every other grade figure
    # withholds a small group
    return _rows(_fill(frame, "n", "total", "squares", "not_applicable_n"), "mean").with_columns(
        protect_own=~pl.col("by_service"))


def _grade_finish(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    return frame.sort("figure_position", is_total, "service").select(
        "figure_id", _null_total(), _service_label(), "n", pl.col("value").alias("grade"), "ci_low", "ci_high",
        "bench_n", pl.col("bench_value").alias("bench_grade"), "diff", "significant", "suppressed",
        "bench_suppressed", "note",
        # shown although the group is small (fig. 3.1 as table 1.1): indicative
        ((n > 0) & (n < policy.min_n) & ~pl.col("suppressed")).alias("indicative"),
    )


def withheld(frame: pl.DataFrame) -> bool:
    """Whether a figure's frame shows nothing of the provider's own: every row withheld by the small-group rule."""
    return "suppressed" in frame.columns and frame.height > 0 and bool(frame["suppressed"].fill_null(False).all())


def withheld_runs(frames: dict[str, pl.DataFrame], figure_ids: Sequence[str], min_run: int = 2
                  ) -> list[list[str]]:
    """Runs of at least ``min_run`` consecutive figures (in ``figure_ids`` order) that are all withheld: the
    dashboard shows one notice for each run instead of a notice per figure (DESIGN §5)."""
    runs: list[list[str]] = [[]]
    for figure_id in figure_ids:
        if figure_id in frames and withheld(frames[figure_id]):
            runs[-1].append(figure_id)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if len(run) >= min_run]


@cache
def _score_grid(figures: tuple[Figure, ...]) -> pl.DataFrame:
    scores = pl.DataFrame({"score": list(range(1, 11))}, schema={"score": pl.Int32})
    return _spec(figures).select("figure_id", "figure_position", "form", "question_id").join(scores, how="cross")


def _distribution_rows(sel: Selection, figures: Sequence[Figure], policy: Policy) -> pl.DataFrame:
    counts = sel.grades.group_by(
        "form", "question_id", ((tenths + 5) // 10).cast(pl.Int32).alias("score")  # tenths > 0: half away from 0
    ).agg(pl.col("n", "bench_n").sum())
    frame = _fill(_score_grid(tuple(figures)).join(counts, on=["form", "question_id", "score"], how="left"), "n")
    return _rows(frame, "share", base_n=n.sum().over("figure_id"), bench_base_n=bench_n.sum().over("figure_id"))


def _distribution_finish(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    return frame.sort("figure_position", "score").select(
        "figure_id", "score", pl.col("score").cast(pl.String).alias("label"), *_share_columns(),
        "suppressed", "bench_suppressed", "note",
    )


def _aspect_finish(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    return frame.sort("figure_position", "item_position").select(
        "figure_id", "question_id", "item", pl.col("item_position").alias("position"), "n", "not_applicable_n",
        pl.col("value").alias("grade"), "ci_low", "ci_high", "bench_n", "bench_not_applicable_n",
        pl.col("bench_value").alias("bench_grade"), "diff", "significant", "suppressed", "bench_suppressed", "note",
    )


# answer categories ------------------------------------------------------------------------------------------------

@cache
def _category_plan(figures: tuple[Figure, ...]) -> tuple[tuple[Figure, ...], tuple[str, ...], pl.DataFrame,
                                                          pl.DataFrame]:
    """(figures whose categories to count, ids of those shown as such, strengths figure per source figure with
    its front-page list, pie figure per source figure)."""
    cat = catalog()
    front = ("strengths", "strength_pie")
    shown = tuple(f for f in figures if f.chart not in front)
    lists = cat.front_lists
    links = [(fl.figure, f.id, fl.key) for f in figures if f.chart == "strengths" for fl in lists]
    pies = [(lists[0].figure, f.id) for f in figures if f.chart == "strength_pie" and lists]
    needed = {f.id for f in shown} | {source for source, *_ in links} | {source for source, _ in pies}
    sources = tuple(f for f in cat.figures if f.id in needed)
    link = pl.DataFrame(links, orient="row",
                        schema={"source_figure": pl.String, "figure_id": pl.String, "list": pl.String})
    pie = pl.DataFrame(pies, orient="row", schema={"source_figure": pl.String, "figure_id": pl.String})
    return sources, tuple(f.id for f in shown), link, pie


def _category_rows_of(sel: Selection, figures: Sequence[Figure], policy: Policy) -> pl.DataFrame:
    """Answer shares, satisfaction items and strengths, from one count of the answer categories.

    A row per (figure, item, category) with the item's base; satisfaction items add the share satisfied
    (satisfied / answers except no opinion), the promoter question the promoter count, the 'anders, namelijk'
    row the provider's own free texts. A strengths figure gets the first row of each item of its form's
    satisfaction figures (``source_figure``, its front-page ``list``); a pie figure every row of the first
    list's items (its finish keeps the item that heads that list).
    """
    cat = catalog()
    sources, shown, link, pie = _category_plan(tuple(figures))
    item = ["figure_id", "question_id"]
    satisfied = pl.col("category").is_in(cat.satisfied)
    opinion = ~pl.col("category").is_in(cat.no_opinion)
    promoter = pl.col("category").is_in(policy.promoter_answers)
    is_promoter = pl.col("question_id") == policy.promoter_question
    written = (
        sel.texts.group_by("form", pl.col("parent").alias("question_id")).agg(pl.col("value").sort().alias("texts"))
        .with_columns(category=pl.lit(cat.other_category))
    )
    frame = _rows(
        _category_rows(sel, sources).join(written, on=["form", "question_id", "category"], how="left"), "share",
        base_n=n.sum().over(item), bench_base_n=bench_n.sum().over(item),
        opinion_n=n.filter(opinion).sum().over(item), bench_opinion_n=bench_n.filter(opinion).sum().over(item),
        satisfied_n=n.filter(satisfied).sum().over(item),
        bench_satisfied_n=bench_n.filter(satisfied).sum().over(item),
        promoter_n=pl.when(is_promoter).then(n.filter(promoter).sum().over(item)),
        bench_promoter_n=pl.when(is_promoter).then(bench_n.filter(promoter).sum().over(item)),
        texts=pl.col("texts").fill_null(pl.lit([], pl.List(pl.String))),
    )
    parts = [frame if len(shown) == len(sources) else frame.filter(pl.col("figure_id").is_in(shown))]
    if link.height:
        parts.append(frame.filter(pl.col("position") == 1).rename({"figure_id": "source_figure"}).join(
            link, on="source_figure"))
    if pie.height:
        parts.append(frame.rename({"figure_id": "source_figure"}).join(pie, on="source_figure"))
    return pl.concat(parts, how="diagonal")


def _share_finish(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    return frame.sort("figure_position", "position").select(
        "figure_id", "question_id", "category", "position", *_share_columns(), "texts",
        "promoter_score", "promoter_ci_low", "promoter_ci_high", "bench_promoter_score", "promoter_diff",
        "promoter_significant", "suppressed", "bench_suppressed", "note",
    )


def _satisfaction_finish(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    return frame.sort("figure_position", "item_position", "position").select(
        "figure_id", "question_id", "item", "item_position", "category", "position", *_share_columns(),
        "opinion_n", "share_satisfied", "satisfied_ci_low", "satisfied_ci_high", "bench_opinion_n",
        "bench_share_satisfied", "satisfied_diff", "satisfied_significant", "suppressed", "bench_suppressed", "note",
    )


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("keurmerk_table", _table_rows, _table_finish),
    Kind("funnel", _funnel_rows, _funnel_finish),
    Kind("province_map", _province_rows, _province_finish),
    Kind("strengths", _category_rows_of, _strength_finish),
    Kind("strength_pie", _category_rows_of, _pie_finish),
    Kind("grade_bars", _mean_rows, _grade_finish),
    Kind("grade_distribution", _distribution_rows, _distribution_finish),
    Kind("aspect_scores", _mean_rows, _aspect_finish),
    Kind("answer_shares", _category_rows_of, _share_finish),
    Kind("satisfaction_items", _category_rows_of, _satisfaction_finish),
)}


def _public(kind: Kind) -> Callable[..., pl.DataFrame]:
    def metric(sel: Selection, figures: Sequence[Figure], policy: Policy, suppress: bool = True) -> pl.DataFrame:
        return compute(kind, sel, figures, policy, suppress)

    metric.__name__ = metric.__qualname__ = kind.name
    metric.__doc__ = f"The ``{kind.name}`` frame of these figures (see :func:`compute`)."
    return metric


keurmerk_table = _public(KINDS["keurmerk_table"])
funnel = _public(KINDS["funnel"])
province_map = _public(KINDS["province_map"])
strengths = _public(KINDS["strengths"])
strength_pie = _public(KINDS["strength_pie"])
grade_bars = _public(KINDS["grade_bars"])
grade_distribution = _public(KINDS["grade_distribution"])
aspect_scores = _public(KINDS["aspect_scores"])
answer_shares = _public(KINDS["answer_shares"])
satisfaction_items = _public(KINDS["satisfaction_items"])
