"""One pure function per chart kind: (Selection, figures of that kind, Policy) -> one tidy frame.

Each function takes every figure of its kind at once (one pass over the cells instead of one per figure) and
returns one frame with a ``figure_id`` column; :mod:`keurmerk.metrics.registry` splits it per figure. Every frame
carries the provider's value next to the benchmark's (``bench_*``), the n behind each, the 95% interval of both
(``ci_low``/``ci_high``), ``significant`` (the provider's interval excludes the benchmark value), and the
small-group columns ``suppressed`` / ``bench_suppressed`` / ``note``. Values are rounded half away from zero after
computing on unrounded values; ``diff`` is the difference of the displayed (rounded) values. Column lists per
kind are in docs/research-api.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import polars as pl

from keurmerk.catalog import Figure, catalog
from keurmerk.metrics import texts
from keurmerk.metrics.source import Selection
from keurmerk.metrics.stats import mean_interval, rounded, share_interval
from keurmerk.policy import Policy

__all__ = [
    "answer_shares",
    "aspect_scores",
    "funnel",
    "grade_bars",
    "grade_distribution",
    "keurmerk_table",
    "province_map",
    "satisfaction_items",
    "strengths",
]

OWN, BENCH = "own", "bench"
TOTAL = 0  # internal service key of a total row; null in the output
_ALL = ""  # internal mode key of a total row of fig. 1; null in the output

# --- named expressions over cells ---------------------------------------------------------------------------
side = pl.col("side")
cell_n = pl.col("n")
tenths = pl.col("tenths")
is_grade = tenths.is_not_null()
delivered = pl.col("status") == "delivered"
completed = pl.col("completed")



def grade_sums(rows: pl.Expr = is_grade) -> list[pl.Expr]:
    """Sufficient statistics of the grades (in tenths) in the cells where ``rows`` holds."""
    return [
        cell_n.filter(rows).sum().alias("n"),
        (cell_n * tenths).filter(rows).sum().alias("total"),
        (cell_n * tenths * tenths).filter(rows).sum().alias("squares"),
    ]


def _pair(grid: pl.DataFrame, cells: pl.DataFrame, keys: Sequence[str], measures: Sequence[str]) -> pl.DataFrame:
    """The grid's rows with the provider's measures and the benchmark's (``bench_``); absent cells count 0."""
    own = cells.filter(side == OWN).select(*keys, *measures)
    bench = cells.filter(side == BENCH).select(*keys, *(pl.col(m).alias(f"bench_{m}") for m in measures))
    return (
        grid.join(own, on=keys, how="left")
        .join(bench, on=keys, how="left")
        .with_columns(pl.col(m, f"bench_{m}").fill_null(0) for m in measures)
    )


def _compare(frame: pl.DataFrame, policy: Policy, value: str, low: str = "ci_low", high: str = "ci_high",
             diff: str = "diff", significant: str = "significant") -> pl.DataFrame:
    """Significance on unrounded values, then rounding, then the difference of the displayed values."""
    bench = pl.col(f"bench_{value}")
    columns = [value, low, high, f"bench_{value}", f"bench_{low}", f"bench_{high}"]
    return (
        frame.with_columns(((bench < pl.col(low)) | (bench > pl.col(high))).alias(significant))
        .with_columns(rounded(pl.col(c), policy.decimals) for c in columns)
        .with_columns(rounded(pl.col(value) - bench, policy.decimals).alias(diff))
    )


def _means(frame: pl.DataFrame, policy: Policy, value: str) -> pl.DataFrame:
    """Mean grade and interval of both sides from n/total/squares (in tenths), compared."""
    return _compare(
        frame.with_columns(
            *mean_interval("n", "total", "squares", policy, scale=10),
            *mean_interval("bench_n", "bench_total", "bench_squares", policy, prefix="bench_", scale=10),
        ).rename({"mean": value, "bench_mean": f"bench_{value}"}),
        policy, value,
    )


def _shares(frame: pl.DataFrame, policy: Policy, x: str, base: str, value: str = "share",
            low: str = "ci_low", high: str = "ci_high", diff: str = "diff",
            significant: str = "significant") -> pl.DataFrame:
    """Share x/base in % with its interval on both sides, compared."""
    renames = {"_share": value, "_ci_low": low, "_ci_high": high,
               "bench__share": f"bench_{value}", "bench__ci_low": f"bench_{low}", "bench__ci_high": f"bench_{high}"}
    return _compare(
        frame.with_columns(
            *share_interval(x, base, policy, prefix="_"),
            *share_interval(f"bench_{x}", f"bench_{base}", policy, prefix="bench__"),
        ).rename(renames),
        policy, value, low, high, diff, significant,
    )


def _guard(frame: pl.DataFrame, sel: Selection, policy: Policy, suppress: bool, base: str,
           own: Sequence[str], bench: Sequence[str], protect_own: bool = True) -> pl.DataFrame:
    """Small-group rule: below ``policy.min_n`` the provider's numbers make way for a note.

    The benchmark is withheld when its own base is below ``min_n``, or when the other providers add fewer than
    ``min_n`` respondents to it (else benchmark minus provider would reveal them). ``protect_own`` False keeps
    the provider's numbers (table 1.1). ``suppress`` False (staff views) keeps every number.
    """
    n, bench_n = pl.col(base), pl.col(f"bench_{base}")
    others = bench_n - n
    if suppress:
        own_small = n < policy.min_n if protect_own else pl.lit(False)
        bench_small = bench_n < policy.min_n
        if sel.filters.provider is not None:
            bench_small = bench_small | ((others > 0) & (others < policy.min_n))
    else:
        own_small = bench_small = pl.lit(False)
    note = (
        pl.when(n == 0).then(pl.lit(texts.no_respondents()))
        .when(own_small).then(pl.lit(texts.too_few(policy)))
        .when(bench_small).then(pl.lit(texts.bench_too_few(policy)))
    )
    return frame.with_columns(
        suppressed=own_small, bench_suppressed=bench_small, note=note.cast(pl.String)
    ).with_columns(
        pl.when(~pl.col("suppressed") & ~pl.col("bench_suppressed") if c in bench else ~pl.col("suppressed"))
        .then(pl.col(c)).alias(c)
        for c in own
    ).with_columns(
        pl.when(~pl.col("bench_suppressed")).then(pl.col(c)).alias(c) for c in bench if c not in own
    )


def _labels(column: str, mapping: dict, default: str | None = None) -> pl.Expr:
    return pl.col(column).replace_strict(mapping, default=default, return_dtype=pl.String)


def _order(column: str, keys) -> pl.Expr:
    """Position of the column's value in ``keys`` (catalogue order); unknown values last."""
    keys = list(keys)
    return pl.col(column).replace_strict({k: i for i, k in enumerate(keys)}, default=len(keys),
                                         return_dtype=pl.Int32)


def _service_label() -> pl.Expr:
    labels = {s.code: s.label for s in catalog().services} | {TOTAL: texts.TOTAL}
    return _labels("service", labels).alias("label")


def _total_last(column: str = "service") -> pl.Expr:
    return (pl.col(column) == TOTAL).alias("_total_last")


def _as_null_total(column: str = "service") -> pl.Expr:
    return pl.when(pl.col(column) != TOTAL).then(pl.col(column)).cast(pl.Int16).alias(column)


@cache
def _figure_items(figures: tuple[Figure, ...]) -> pl.DataFrame:
    """figure_id, figure_position, form, question_id, item (question text), item_position per figure question."""
    cat = catalog()
    rows = [
        (f.id, fpos, f.form, q, cat.question(f.form, q).text, qpos)
        for fpos, f in enumerate(figures) for qpos, q in enumerate(f.questions)
    ]
    return pl.DataFrame(rows, orient="row", schema={
        "figure_id": pl.String, "figure_position": pl.Int32, "form": pl.String, "question_id": pl.String,
        "item": pl.String, "item_position": pl.Int32,
    })


@cache
def _category_grid(figures: tuple[Figure, ...]) -> pl.DataFrame:
    """Every (figure, question, category) in catalogue order: the rows of a shares figure."""
    cat = catalog()
    rows = [
        (f.id, q, category, position)
        for f in figures for q in f.questions
        for position, category in enumerate(cat.categories(f.form, q), start=1)
    ]
    grid = pl.DataFrame(rows, orient="row", schema={
        "figure_id": pl.String, "question_id": pl.String, "category": pl.String, "position": pl.Int32,
    })
    return _figure_items(figures).join(grid, on=["figure_id", "question_id"])


def _answer_counts(sel: Selection, items: pl.DataFrame) -> pl.DataFrame:
    """Category counts per side for the (form, question) pairs of ``items``."""
    return (
        sel.answers.filter(~is_grade)
        .join(items.select("form", "question_id").unique(), on=["form", "question_id"])
        .group_by("side", "form", "question_id", pl.col("value").alias("category"))
        .agg(cell_n.sum())
    )


# --- table 1.1 ----------------------------------------------------------------------------------------------

def keurmerk_table(sel: Selection, figures: Sequence[Figure], policy: Policy, suppress: bool = True) -> pl.DataFrame:
    """Table 1.1: per form (block) net sample, completed, response, grade, corrected grade, publication, norm.

    Blocks are the forms the provider has invitations for; forms whose grade figure splits per dienst get a
    row per dienst plus the total. Shown in full to the provider itself (never suppressed).
    """
    cat = catalog()
    split_forms = {f.form for f in cat.figures if f.chart == "grade_bars" and f.by_service}
    grade_questions = pl.DataFrame(
        [(q.form, q.id) for q in cat.questions if q.kind == "grade"], schema=["form", "question_id"], orient="row"
    )
    floor = round(policy.correction_floor * 10)
    counts = sel.invitations.group_by("side", "form", "service").agg(
        cell_n.sum().alias("invited"),
        cell_n.filter(delivered).sum().alias("net_sample"),
        cell_n.filter(completed).sum().alias("completed"),
    )
    grades = (
        sel.answers.filter(is_grade).join(grade_questions, on=["form", "question_id"])
        .group_by("side", "form", "service")
        .agg(*grade_sums(), (cell_n * pl.max_horizontal(tenths, pl.lit(floor))).sum().alias("corrected"))
    )
    measures = ["invited", "net_sample", "completed", "n", "total", "squares", "corrected"]
    cells = counts.join(grades, on=["side", "form", "service"], how="full", coalesce=True).fill_null(0)
    cells = pl.concat([
        cells.filter(pl.col("form").is_in(split_forms)),
        cells.group_by("side", "form").agg(pl.col(measures).sum()).with_columns(service=pl.lit(TOTAL, pl.Int16)),
    ], how="diagonal")

    own_rows = cells.filter((side == OWN) & (pl.col("invited") > 0)).select("form", "service")
    if own_rows.height == 0:  # nothing to show: one empty total row per form the filters admit
        f = sel.filters
        own_rows = pl.DataFrame({
            "form": [x.id for x in cat.forms if f.audience in (None, x.audience)
                     and f.questionnaire in (None, *x.questionnaires)],
        }).with_columns(service=pl.lit(TOTAL, pl.Int16))
    frame = _means(_pair(own_rows, cells, ["form", "service"], measures), policy, "grade")

    d = policy.decimals
    is_total = pl.col("service") == TOTAL
    frame = frame.with_columns(
        audience=_labels("form", {x.id: x.audience for x in cat.forms}),
        block=_labels("form", {x.id: x.label for x in cat.forms}),
        label=_service_label(),
        response_pct=rounded(100 * pl.col("completed") / pl.when(pl.col("net_sample") > 0).then("net_sample"), d),
        bench_response_pct=rounded(
            100 * pl.col("bench_completed") / pl.when(pl.col("bench_net_sample") > 0).then("bench_net_sample"), d),
        corrected_grade=rounded(pl.col("corrected") / (10 * pl.when(pl.col("n") > 0).then("n")), d),
        norm=pl.when(is_total).then(pl.lit(policy.norm_total)).otherwise(pl.lit(policy.norm_service)),
    ).with_columns(
        published=pl.col("audience").is_in(policy.publish_always)
        | ((pl.col("completed") >= policy.publish_min_completed)
           & (pl.col("response_pct") >= policy.publish_min_response_pct)).fill_null(False),
        meets_norm_raw=pl.col("grade") >= pl.col("norm"),
        meets_norm_corrected=pl.col("corrected_grade") >= pl.col("norm"),
    ).with_columns(
        # the norm of a block: the raw means decide when they meet it, else the corrected means do
        _raw_ok=pl.col("meets_norm_raw").all().over("form"),
        _corrected_ok=pl.col("meets_norm_corrected").all().over("form"),
        _graded=pl.col("grade").is_not_null().any().over("form"),
    ).with_columns(
        norm_met=pl.when(pl.col("_graded")).then(pl.col("_raw_ok") | pl.col("_corrected_ok")),
        norm_basis=pl.when(pl.col("_graded")).then(
            pl.when(pl.col("_raw_ok")).then(pl.lit("raw")).otherwise(pl.lit("corrected"))
        ),
    )
    frame = _guard(frame, sel, policy, suppress, "n", own=[], bench=["bench_grade"], protect_own=False)
    return frame.sort(_order("form", (x.id for x in cat.forms)), is_total, "service").select(
        pl.lit(figures[0].id if figures else None, pl.String).alias("figure_id"), "form", "audience", "block", _as_null_total(), "label", "invited", "net_sample", "completed",
        "response_pct", "n", "grade", "ci_low", "ci_high", "corrected_grade", "published", "norm",
        "meets_norm_raw", "meets_norm_corrected", "norm_met", "norm_basis",
        "bench_net_sample", "bench_completed", "bench_response_pct", "bench_n", "bench_grade",
        "bench_suppressed", "note",
    )


# --- fig. 1 -------------------------------------------------------------------------------------------------

def funnel(sel: Selection, figures: Sequence[Figure], policy: Policy, suppress: bool = True) -> pl.DataFrame:
    """Fig. 1: invited → net sample → completed per audience, mode and reminder, plus a total per audience
    (mode and reminded null). ``share`` is the % of the group's invited. Counts of invitations, like table 1.1:
    never suppressed."""
    cat = catalog()
    stage_sums = [
        cell_n.sum().alias("invited"),
        cell_n.filter(delivered).sum().alias("net_sample"),
        cell_n.filter(completed).sum().alias("completed"),
    ]
    keys = ["audience", "mode", "reminded"]
    detail = sel.invitations.group_by("side", *keys).agg(*stage_sums)
    totals = sel.invitations.group_by("side", "audience").agg(*stage_sums).with_columns(
        mode=pl.lit(_ALL), reminded=pl.lit(False))  # join keys must not be null; undone below
    cells = pl.concat([detail, totals.select(detail.columns)]).unpivot(
        index=["side", *keys], on=list(texts.STAGES), variable_name="stage", value_name="n")
    grid = cells.filter(side == OWN).select(*keys, "stage").unique()
    if grid.height == 0:
        grid = pl.DataFrame({"audience": list(cat.audiences)}).with_columns(
            mode=pl.lit(_ALL), reminded=pl.lit(False)).join(pl.DataFrame({"stage": list(texts.STAGES)}), how="cross")
    frame = _pair(grid, cells, [*keys, "stage"], ["n"])
    invited = pl.col("n").filter(pl.col("stage") == "invited").first().over(keys)
    bench_invited = pl.col("bench_n").filter(pl.col("stage") == "invited").first().over(keys)
    is_total = pl.col("mode") == _ALL
    return frame.with_columns(
        share=rounded(100 * pl.col("n") / pl.when(invited > 0).then(invited), policy.decimals),
        bench_share=rounded(100 * pl.col("bench_n") / pl.when(bench_invited > 0).then(bench_invited),
                            policy.decimals),
        note=pl.when(invited == 0).then(pl.lit(texts.no_respondents())),
        audience_label=_labels("audience", cat.audiences),
        mode_label=_labels("mode", cat.modes, default=texts.TOTAL),
        stage_label=_labels("stage", texts.STAGES),
        position=_order("stage", texts.STAGES) + 1,
    ).sort(_order("audience", cat.audiences), is_total, _order("mode", cat.modes), "reminded", "position").select(
        pl.lit(figures[0].id if figures else None, pl.String).alias("figure_id"),
        "audience", "audience_label", pl.when(~is_total).then(pl.col("mode")).alias("mode"), "mode_label",
        pl.when(~is_total).then(pl.col("reminded")).alias("reminded"), "stage", "stage_label", "position",
        "n", "share", "bench_n", "bench_share", "note",
    )


# --- front page -----------------------------------------------------------------------------------------------

def province_map(sel: Selection, figures: Sequence[Figure], policy: Policy, suppress: bool = True) -> pl.DataFrame:
    """Front page: completed questionnaires of the figure's form per province (all twelve), with shares."""
    cat = catalog()
    frames = []
    for figure in figures:
        counts = (
            sel.invitations.filter(completed & (pl.col("form") == figure.form) & pl.col("province").is_not_null())
            .group_by("side", "province").agg(cell_n.sum())
        )
        grid = pl.DataFrame({
            "province": [p.code for p in cat.provinces], "name": [p.name for p in cat.provinces],
            "position": list(range(1, len(cat.provinces) + 1)),
        }).with_columns(pl.col("position").cast(pl.Int32))
        frame = _pair(grid, counts, ["province"], ["n"]).with_columns(
            base_n=pl.col("n").sum(), bench_base_n=pl.col("bench_n").sum(), figure_id=pl.lit(figure.id))
        frames.append(frame)
    frame = _shares(pl.concat(frames), policy, "n", "base_n")
    frame = _guard(frame, sel, policy, suppress, "base_n",
                   own=["n", "share", "ci_low", "ci_high", "diff", "significant"],
                   bench=["bench_n", "bench_share", "bench_ci_low", "bench_ci_high", "diff", "significant"])
    return frame.sort("figure_id", "position").select(
        "figure_id", "province", "name", "position", "n", "share", "ci_low", "ci_high", "base_n",
        "bench_n", "bench_share", "bench_ci_low", "bench_ci_high", "bench_base_n", "diff", "significant",
        "suppressed", "bench_suppressed", "note",
    )


def strengths(sel: Selection, figures: Sequence[Figure], policy: Policy, suppress: bool = True) -> pl.DataFrame:
    """Front page: aspects where the share satisfied is ≥ 5 points above (strength) or below (weakness) the benchmark.

    Candidates are the items of every satisfaction figure of the figure's form with n ≥ ``strength_min_n``
    (and not suppressed); at most ``strength_max_items`` per kind, largest difference first.
    """
    cat = catalog()
    frames = []
    for figure in figures:
        sources = tuple(f for f in cat.figures if f.chart == "satisfaction_items" and f.form == figure.form)
        if not sources:
            continue
        items = _satisfaction(sel, sources, policy, suppress).filter(pl.col("position") == 1)
        min_n = max(policy.strength_min_n, policy.min_n if suppress else 1)
        candidates = items.filter(
            (pl.col("opinion_n") >= min_n) & pl.col("share_satisfied").is_not_null()
            & pl.col("bench_share_satisfied").is_not_null()
        ).with_columns(
            kind=pl.when(pl.col("satisfied_diff") >= policy.strength_min_diff).then(pl.lit("strength"))
            .when(pl.col("satisfied_diff") <= -policy.strength_min_diff).then(pl.lit("weakness")),
        ).filter(pl.col("kind").is_not_null())
        ranked = candidates.sort(
            pl.col("satisfied_diff").abs(), "figure_position", "item_position", descending=[True, False, False]
        ).with_columns(rank=pl.int_range(1, pl.len() + 1).over("kind").cast(pl.Int32)).filter(
            pl.col("rank") <= policy.strength_max_items)
        frames.append(ranked.with_columns(source_figure=pl.col("figure_id"), figure_id=pl.lit(figure.id)))
    schema = {
        "figure_id": pl.String, "kind": pl.String, "kind_label": pl.String, "rank": pl.Int32,
        "source_figure": pl.String, "question_id": pl.String, "item": pl.String, "opinion_n": pl.Int64,
        "share_satisfied": pl.Float64, "bench_opinion_n": pl.Int64, "bench_share_satisfied": pl.Float64,
        "satisfied_diff": pl.Float64, "satisfied_significant": pl.Boolean,
    }
    if not frames:
        return pl.DataFrame(schema=schema)
    frame = pl.concat(frames).with_columns(kind_label=_labels("kind", texts.STRENGTH_KINDS))
    return frame.sort("figure_id", pl.col("kind") == "weakness", "rank").select(list(schema)).cast(schema)


# --- grades ---------------------------------------------------------------------------------------------------

def grade_bars(sel: Selection, figures: Sequence[Figure], policy: Policy, suppress: bool = True) -> pl.DataFrame:
    """Mean grade (figs 3.1, 4.1, 5.1 and the front-page tile): a total row (service null) and, for a figure
    with ``by_service``, a row per dienst the provider has invitations for."""
    spec = pl.DataFrame(
        [(f.id, i, f.form, f.questions[0], f.by_service) for i, f in enumerate(figures)], orient="row",
        schema={"figure_id": pl.String, "figure_position": pl.Int32, "form": pl.String,
                "question_id": pl.String, "by_service": pl.Boolean},
    )
    per_service = (
        sel.answers.filter(is_grade).join(spec.select("form", "question_id").unique(), on=["form", "question_id"])
        .group_by("side", "form", "question_id", "service").agg(*grade_sums())
    )
    measures = ["n", "total", "squares"]
    cells = pl.concat([
        per_service,
        per_service.group_by("side", "form", "question_id").agg(pl.col(measures).sum())
        .with_columns(service=pl.lit(TOTAL, pl.Int16)).select(per_service.columns),
    ])
    own_services = sel.invitations.filter(side == OWN).select("form", "service").unique()
    grid = pl.concat([
        spec.with_columns(service=pl.lit(TOTAL, pl.Int16)),
        spec.filter("by_service").join(own_services, on="form"),
    ])
    frame = _means(_pair(grid, cells, ["form", "question_id", "service"], measures), policy, "grade")
    frame = _guard(frame, sel, policy, suppress, "n",
                   own=["grade", "ci_low", "ci_high", "diff", "significant"],
                   bench=["bench_grade", "bench_ci_low", "bench_ci_high", "diff", "significant"])
    return frame.with_columns(label=_service_label()).sort("figure_position", _total_last(), "service").select(
        "figure_id", _as_null_total(), "label", "n", "grade", "ci_low", "ci_high",
        "bench_n", "bench_grade", "bench_ci_low", "bench_ci_high", "diff", "significant",
        "suppressed", "bench_suppressed", "note",
    )


def grade_distribution(sel: Selection, figures: Sequence[Figure], policy: Policy,
                       suppress: bool = True) -> pl.DataFrame:
    """Spread of grades (figs 3.2, 4.2, 5.2): whole grades 1–10 (rounded half away from zero), count and share."""
    spec = _figure_items(tuple(figures)).select("figure_id", "figure_position", "form", "question_id")
    counts = (
        sel.answers.filter(is_grade).join(spec, on=["form", "question_id"])
        .with_columns(score=((tenths + 5) // 10).cast(pl.Int32))  # tenths > 0: half away from zero
        .group_by("side", "figure_id", "score").agg(cell_n.sum())
    )
    grid = spec.select("figure_id", "figure_position").join(
        pl.DataFrame({"score": list(range(1, 11))}, schema={"score": pl.Int32}), how="cross")
    frame = _pair(grid, counts, ["figure_id", "score"], ["n"]).with_columns(
        base_n=pl.col("n").sum().over("figure_id"), bench_base_n=pl.col("bench_n").sum().over("figure_id"))
    frame = _guard(_shares(frame, policy, "n", "base_n"), sel, policy, suppress, "base_n",
                   own=["n", "share", "ci_low", "ci_high", "diff", "significant"],
                   bench=["bench_n", "bench_share", "bench_ci_low", "bench_ci_high", "diff", "significant"])
    return frame.sort("figure_position", "score").select(
        "figure_id", "score", pl.col("score").cast(pl.String).alias("label"), "n", "share", "ci_low", "ci_high",
        "base_n", "bench_n", "bench_share", "bench_ci_low", "bench_ci_high", "bench_base_n", "diff",
        "significant", "suppressed", "bench_suppressed", "note",
    )


def aspect_scores(sel: Selection, figures: Sequence[Figure], policy: Policy, suppress: bool = True) -> pl.DataFrame:
    """Aspect grades (fig. 4.4): mean grade per aspect over those who gave one; 'n.v.t.' counted apart."""
    items = _figure_items(tuple(figures))
    rows = sel.answers.join(items.select("form", "question_id").unique(), on=["form", "question_id"])
    cells = rows.group_by("side", "form", "question_id").agg(
        *grade_sums(),
        cell_n.filter(~is_grade).sum().alias("not_applicable_n"),
    )
    measures = ["n", "total", "squares", "not_applicable_n"]
    frame = _means(_pair(items, cells, ["form", "question_id"], measures), policy, "grade")
    frame = _guard(frame, sel, policy, suppress, "n",
                   own=["grade", "ci_low", "ci_high", "diff", "significant"],
                   bench=["bench_grade", "bench_ci_low", "bench_ci_high", "diff", "significant"])
    return frame.sort("figure_position", "item_position").select(
        "figure_id", "question_id", "item", pl.col("item_position").alias("position") + 1, "n",
        "not_applicable_n", "grade", "ci_low", "ci_high", "bench_n", "bench_not_applicable_n", "bench_grade",
        "bench_ci_low", "bench_ci_high", "diff", "significant", "suppressed", "bench_suppressed", "note",
    )


# --- answer categories ----------------------------------------------------------------------------------------

def answer_shares(sel: Selection, figures: Sequence[Figure], policy: Policy, suppress: bool = True) -> pl.DataFrame:
    """Shares of the answer categories of one question (figs 3.3–3.8, 3.12–3.21, 4.3, 4.5, 4.6, 5.3, 5.5).

    The base is everyone who answered the question. The 'anders, namelijk' row carries the provider's own
    free-text answers verbatim in ``texts``. A figure of the promoter question carries ``promoter_score``
    (% of ``policy.promoter_answers``) with its interval and benchmark.
    """
    cat = catalog()
    grid = _category_grid(tuple(figures))
    counts = _answer_counts(sel, grid)
    frame = _pair(grid, counts, ["form", "question_id", "category"], ["n"]).with_columns(
        base_n=pl.col("n").sum().over("figure_id"), bench_base_n=pl.col("bench_n").sum().over("figure_id"),
        _promoter=(pl.col("question_id") == policy.promoter_question)
        & pl.col("category").is_in(policy.promoter_answers),
    ).with_columns(
        promoter_n=pl.col("n").filter("_promoter").sum().over("figure_id"),
        bench_promoter_n=pl.col("bench_n").filter("_promoter").sum().over("figure_id"),
    )
    frame = _shares(frame, policy, "n", "base_n")
    frame = _shares(frame, policy, "promoter_n", "base_n", value="promoter_score", low="promoter_ci_low",
                    high="promoter_ci_high", diff="promoter_diff", significant="promoter_significant")
    written = (
        sel.texts.join(grid.select("form", pl.col("question_id").alias("parent")).unique(), on=["form", "parent"])
        .group_by("form", "parent").agg(pl.col("value").sort().alias("texts"))
        .rename({"parent": "question_id"}).with_columns(category=pl.lit(cat.other_category))
    )
    frame = frame.join(written, on=["form", "question_id", "category"], how="left").with_columns(
        pl.col("texts").fill_null(pl.lit([], pl.List(pl.String))))
    promoter = ["promoter_score", "promoter_ci_low", "promoter_ci_high", "promoter_diff", "promoter_significant"]
    frame = frame.with_columns(  # a promoter score only on the promoter question's figure
        pl.when(pl.col("question_id") == policy.promoter_question).then(pl.col(c)).alias(c)
        for c in [*promoter, "bench_promoter_score", "bench_promoter_ci_low", "bench_promoter_ci_high"]
    )
    frame = _guard(frame, sel, policy, suppress, "base_n",
                   own=["n", "share", "ci_low", "ci_high", "diff", "significant", "texts", *promoter],
                   bench=["bench_n", "bench_share", "bench_ci_low", "bench_ci_high", "bench_promoter_score",
                          "bench_promoter_ci_low", "bench_promoter_ci_high", "diff", "significant",
                          "promoter_diff", "promoter_significant"])
    return frame.sort("figure_position", "position").select(
        "figure_id", "question_id", "category", "position", "n", "share", "ci_low", "ci_high", "base_n",
        "bench_n", "bench_share", "bench_ci_low", "bench_ci_high", "bench_base_n", "diff", "significant",
        "texts", *promoter[:3], "bench_promoter_score", "bench_promoter_ci_low", "bench_promoter_ci_high",
        *promoter[3:], "suppressed", "bench_suppressed", "note",
    )


def _satisfaction(sel: Selection, figures: tuple[Figure, ...], policy: Policy, suppress: bool) -> pl.DataFrame:
    """Category shares per item and, per item, the share satisfied (satisfied / answers except no opinion)."""
    cat = catalog()
    grid = _category_grid(figures)
    counts = _answer_counts(sel, grid)
    frame = _pair(grid, counts, ["form", "question_id", "category"], ["n"])
    item = ["figure_id", "question_id"]
    satisfied = pl.col("category").is_in(cat.satisfied)
    opinion = ~pl.col("category").is_in(cat.no_opinion)
    frame = frame.with_columns(
        base_n=pl.col("n").sum().over(item), bench_base_n=pl.col("bench_n").sum().over(item),
        opinion_n=pl.col("n").filter(opinion).sum().over(item),
        bench_opinion_n=pl.col("bench_n").filter(opinion).sum().over(item),
        satisfied_n=pl.col("n").filter(satisfied).sum().over(item),
        bench_satisfied_n=pl.col("bench_n").filter(satisfied).sum().over(item),
    )
    frame = _shares(frame, policy, "n", "base_n")
    frame = _shares(frame, policy, "satisfied_n", "opinion_n", value="share_satisfied", low="satisfied_ci_low",
                    high="satisfied_ci_high", diff="satisfied_diff", significant="satisfied_significant")
    satisfied_cols = ["share_satisfied", "satisfied_ci_low", "satisfied_ci_high", "satisfied_diff",
                      "satisfied_significant"]
    return _guard(frame, sel, policy, suppress, "base_n",
                  own=["n", "share", "ci_low", "ci_high", "diff", "significant", "opinion_n", "satisfied_n",
                       *satisfied_cols],
                  bench=["bench_n", "bench_share", "bench_ci_low", "bench_ci_high", "bench_opinion_n",
                         "bench_satisfied_n", "bench_share_satisfied", "bench_satisfied_ci_low",
                         "bench_satisfied_ci_high", "diff", "significant", "satisfied_diff",
                         "satisfied_significant"])


def satisfaction_items(sel: Selection, figures: Sequence[Figure], policy: Policy,
                       suppress: bool = True) -> pl.DataFrame:
    """Satisfaction per item (figs 3.9–3.11, 5.4): a row per (item, category) with the category's share of all
    answers, and per item (repeated on its rows) the share satisfied with interval and benchmark."""
    frame = _satisfaction(sel, tuple(figures), policy, suppress)
    return frame.sort("figure_position", "item_position", "position").select(
        "figure_id", "question_id", "item", (pl.col("item_position") + 1).alias("item_position"), "category",
        "position", "n", "share", "ci_low", "ci_high", "base_n", "bench_n", "bench_share", "bench_ci_low",
        "bench_ci_high", "bench_base_n", "diff", "significant",
        "opinion_n", "share_satisfied", "satisfied_ci_low", "satisfied_ci_high",
        "bench_opinion_n", "bench_share_satisfied", "bench_satisfied_ci_low", "bench_satisfied_ci_high",
        "satisfied_diff", "satisfied_significant", "suppressed", "bench_suppressed", "note",
    )
