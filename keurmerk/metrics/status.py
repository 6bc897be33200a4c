"""The Keurmerk status of every provider at once: the two norms of the Keurmerk (seed 000) and what staff need
around them.

The satisfaction norm is table 1.1 (DESIGN §5: total ≥ 6,5 and every dienst ≥ 5,5, else the corrected means
decide); the results norm is the share of completed trajectories that were completed successfully, per dienst, at
least the *policy* threshold (default 50%). The Keurmerk status combines both. Where a provider dashboard computes
table 1.1 for one provider (:func:`keurmerk.metrics.keurmerk_table`), the functions here do it for *every*
provider of a selection in one pass of polars over small cells, so that a staff page recomputes 500 providers after
a filter change at once. The cells are the provider view's own (``keurmerk/warehouse/sql``, per provider), the rows
of table 1.1 and its rules (norm, correction, publication, results norm, status) are :mod:`keurmerk.metrics.norms`,
the intervals :mod:`keurmerk.metrics.stats`: the staff table equals the provider's table 1.1 by construction.

Flow::

    cells = StatusCells.load(con)                 # once per kernel: the provider view's cells, summed (DuckDB)
    status_table(cells, Filters(period=2021))     # one row per provider: the staff table
    satisfaction_rows(...), results_rows(...)     # table 1.1 / the results norm, per provider and dienst
    aspect_values, trend_frame, movers, watch_list, public_listing
    StaffView + distribution, staff_aspects, staff_trend  # the staff page's figures (kinds of the registry)

Everything after :meth:`StatusCells.load` is a pure function of frames. ``StatusCells`` holds counts per provider,
period, form and filter dimension (:data:`keurmerk.filters.FILTER_DIMENSIONS`) — never a respondent — plus the
results file's rows. The staff
views compute without the small-group rule (DESIGN §5: staff use); :func:`public_listing` applies the publication
rule and the small-group limit, and is the only function the public page reads.

Two choices of the policy are fixed when the cells are loaded (they shape the sums): the low-grade correction floor
and the promoter question and answers. :func:`status_table` and friends refuse a policy that differs in those.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cached_property

import duckdb
import polars as pl

from keurmerk.catalog import StaffFigure, catalog
from keurmerk.filters import FILTER_DIMENSIONS, Filters
from keurmerk.metrics import norms, texts
from keurmerk.metrics.source import (
    COARSE_KEYS,
    CUBE_KEYS,
    PROVIDER,
    WarehouseSource,
    provider_cells_sql,
    provider_names,
)
from keurmerk.metrics.stats import critical_value_vectorised, mean, mean_bounds, rounded, share, share_bounds
from keurmerk.policy import Policy, load_policy
from keurmerk.warehouse import polars_frame

__all__ = [
    "CELL_KEYS",
    "STATUS_LABELS",
    "TREND_LABELS",
    "WATCH_LABELS",
    "WORK_AREA_SHARE",
    "StaffView",
    "StatusCells",
    "StatusSelection",
    "aspect_values",
    "benchmark_success",
    "distribution",
    "staff_aspects",
    "staff_trend",
    "headline_form",
    "movers",
    "previous_filters",
    "public_listing",
    "results_rows",
    "satisfaction_rows",
    "search_key",
    "status_table",
    "trend_frame",
    "watch_list",
]

CELL_KEYS = (PROVIDER, *CUBE_KEYS)  # the cube's cell, per provider
_COARSE_KEYS = (PROVIDER, *COARSE_KEYS)
_RESPONDENT_SUMS = (
    "invited",
    "net_sample",
    "completed",
    "grade_n",
    "grade_total",
    "grade_squares",
    "grade_corrected",
    "promoter_base",
    "promoter_n",
)
_ASPECT_SUMS = ("opinion_n", "satisfied_n", "grade_total")

# what a status says: the two norms measured here, never the Keurmerk as a whole (the auditor's general
# indicators of seed 000, privacy, complaints and staff quality, are not in the data)
STATUS_LABELS = {
    "met": "voldoet aan de tevredenheids- en resultatennorm",
    "not_met": "voldoet niet aan de tevredenheids- of resultatennorm",
    "incomplete": "onvolledig",
}
TREND_LABELS = {"up": "gestegen", "down": "gedaald", "flat": "gelijk"}
WATCH_LABELS = {"under": "onder de norm", "near": "dicht bij de norm", "incomplete": "gegevens ontbreken"}
# table 1.1's columns, as the provider's table has them (keurmerk.metrics.keurmerk_table), per provider
TABLE_1_1_COLUMNS = (
    "form", "audience", "block", "service", "label", "invited", "net_sample", "completed", "response_pct", "n",
    "grade", "ci_low", "ci_high", "corrected_grade", "published", "norm", "meets_norm_raw", "meets_norm_corrected",
    "norm_met", "norm_basis",
)
WORK_AREA_SHARE = 0.10  # zoekmachine: a province is in a provider's work area from this share of its clients on

# --- loading (DuckDB) ---------------------------------------------------------------------------------------------
# The cells are the provider dashboard's own (keurmerk/warehouse/sql/invitation_cells.sql and answer_cells.sql, per
# provider: :func:`keurmerk.metrics.source.provider_cells_sql`, the stored cube when it is current), summed here to
# what the norms need, so that the staff table and the provider's table 1.1 count the same answers.
# {invitations} and {answers} are those queries; $floor is the correction floor in tenths.
_RESPONDENTS_SQL = """
WITH inv AS ({invitations}), ans AS ({answers})
SELECT {keys},
       CAST(coalesce(sum(invited), 0) AS BIGINT) AS invited, CAST(coalesce(sum(net_sample), 0) AS BIGINT) AS net_sample,
       CAST(coalesce(sum(completed), 0) AS BIGINT) AS completed, CAST(coalesce(sum(grade_n), 0) AS BIGINT) AS grade_n,
       CAST(coalesce(sum(grade_total), 0) AS BIGINT) AS grade_total, CAST(coalesce(sum(grade_squares), 0) AS BIGINT) AS grade_squares,
       CAST(coalesce(sum(grade_corrected), 0) AS BIGINT) AS grade_corrected, CAST(coalesce(sum(promoter_base), 0) AS BIGINT) AS promoter_base,
       CAST(coalesce(sum(promoter_n), 0) AS BIGINT) AS promoter_n
FROM (
    SELECT {keys}, n AS invited, CASE WHEN status = 'delivered' THEN n ELSE 0 END AS net_sample,
           CASE WHEN completed THEN n ELSE 0 END AS completed
    FROM inv
    UNION ALL BY NAME
    SELECT {keys}, n AS grade_n, n * tenths AS grade_total, n * tenths * tenths AS grade_squares,
           n * greatest(tenths, $floor) AS grade_corrected
    FROM ans
    WHERE tenths IS NOT NULL
      AND EXISTS (SELECT 1 FROM questions AS q WHERE q.form = ans.form AND q.question_id = ans.question_id
                                                 AND q.kind = 'grade')
    UNION ALL BY NAME
    SELECT {keys}, n AS promoter_base, CASE WHEN list_contains($promoter_answers, value) THEN n ELSE 0 END AS promoter_n
    FROM ans
    WHERE question_id = $promoter_question AND value IS NOT NULL
)
GROUP BY ALL
"""

# Per cell and aspect question: satisfaction items (answers with an opinion, satisfied answers) and
# commissioners' aspect grades (grades given, their sum in tenths).
_ASPECTS_SQL = """
WITH ans AS ({answers})
SELECT {aspect_keys}, a.question_id,
       CAST(coalesce(sum(a.n) FILTER (WHERE (q.kind = 'satisfaction' AND NOT list_contains($no_opinion, a.value))
                                          OR (q.kind = 'aspect_grade' AND a.tenths IS NOT NULL)), 0) AS BIGINT)
           AS opinion_n,
       CAST(coalesce(sum(a.n) FILTER (WHERE q.kind = 'satisfaction' AND list_contains($satisfied, a.value)), 0)
           AS BIGINT) AS satisfied_n,
       CAST(coalesce(sum(a.n * a.tenths), 0) AS BIGINT) AS grade_total
FROM ans AS a
JOIN questions AS q ON q.form = a.form AND q.question_id = a.question_id
WHERE q.kind IN ('satisfaction', 'aspect_grade')
GROUP BY ALL
"""

_RESULTS_SQL = """
SELECT provider_id, period, service, completed_trajectories, successful_trajectories FROM results
"""

_CELL_TYPES = {
    "provider_id": pl.String, "period": pl.Int32, "form": pl.String, **{d.column: d.dtype for d in FILTER_DIMENSIONS},
}  # the types of CELL_KEYS
_SCHEMAS = {
    "respondents": {**_CELL_TYPES, **dict.fromkeys(_RESPONDENT_SUMS, pl.Int64)},
    "aspects": {**_CELL_TYPES, "question_id": pl.String, **dict.fromkeys(_ASPECT_SUMS, pl.Int64)},
    "results": {
        "provider_id": pl.String,
        "period": pl.Int32,
        "service": pl.Int16,
        "completed_trajectories": pl.Int64,
        "successful_trajectories": pl.Int64,
    },
    "providers": {"provider_id": pl.String, "provider_name": pl.String},
}


def _typed(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """The frame in the schema of its kind; a cell key it lacks (hand-made cells) is null: every value."""
    schema = _SCHEMAS[kind]
    missing = [pl.lit(None).alias(k) for k in CELL_KEYS if k in schema and k not in frame.columns]
    return frame.with_columns(missing).select(list(schema)).cast(schema)


@dataclass(frozen=True)
class StatusSelection:
    """The cells of one selection (see :meth:`StatusCells.select`)."""

    filters: Filters
    respondents: pl.DataFrame
    aspects: pl.DataFrame
    results: pl.DataFrame


@dataclass(frozen=True)
class StatusCells:
    """Counts per provider and cell, for every provider: what every function of this module starts from.

    - ``respondents``: per provider, period, form, audience, service, province, questionnaire: ``invited``,
      ``net_sample``, ``completed``, and over completed questionnaires the overall grade (``grade_n``,
      ``grade_total``, ``grade_squares`` in tenths; ``grade_corrected``: with every grade below the floor counted
      as the floor) and the promoter question (``promoter_base`` answers, ``promoter_n`` promoters);
    - ``aspects``: the same keys plus ``question_id``: ``opinion_n`` (satisfaction answers other than no opinion,
      or aspect grades given), ``satisfied_n``, ``grade_total`` (aspect grades, tenths);
    - ``results``: the results file (provider, period, dienst, completed and successful trajectories);
    - ``providers``: provider_id, provider_name.
    """

    respondents: pl.DataFrame
    aspects: pl.DataFrame
    results: pl.DataFrame
    providers: pl.DataFrame
    correction_floor: float
    promoter_question: str
    promoter_answers: tuple[str, ...]

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, policy: Policy | None = None, aspects: bool = True) -> StatusCells:
        """Sum the provider view's cells of every provider (the stored cube when current) into the cells here; do
        it once per kernel.
        ``aspects=False`` skips the aspect cells (the public page does not need them)."""
        policy = policy or load_policy()
        cat = catalog()
        (invitations, answers), params = provider_cells_sql(con, Filters(), names=("cube_invitations", "cube_answers"))
        keys = ", ".join(CELL_KEYS)
        respondents = polars_frame(con.sql(
            _RESPONDENTS_SQL.format(invitations=invitations, answers=answers, keys=keys),
            params={
                **params,
                "floor": round(policy.correction_floor * 10),
                "promoter_question": policy.promoter_question,
                "promoter_answers": list(policy.promoter_answers),
            },
        ))
        if aspects:
            aspect_cells = polars_frame(con.sql(
                _ASPECTS_SQL.format(answers=answers, aspect_keys=", ".join(f"a.{k}" for k in CELL_KEYS)),
                params={**params, "no_opinion": list(cat.no_opinion), "satisfied": list(cat.satisfied)},
            ))
        else:
            aspect_cells = pl.DataFrame(schema=_SCHEMAS["aspects"])
        names = provider_names(con)
        providers = pl.DataFrame({"provider_id": list(names), "provider_name": list(names.values())},
                                 schema=_SCHEMAS["providers"])
        return cls.from_frames(respondents, aspect_cells, polars_frame(con.sql(_RESULTS_SQL)), providers, policy)

    @classmethod
    def from_warehouse_frames(
        cls,
        invitations: pl.DataFrame,
        answers: pl.DataFrame,
        results: pl.DataFrame,
        providers: pl.DataFrame,
        policy: Policy | None = None,
    ) -> StatusCells:
        """Cells computed from frames with the columns of the warehouse tables (hand-made test fixtures)."""
        con = WarehouseSource.from_frames(invitations, answers).con
        con.register("results", results)
        con.register("providers", providers)
        return cls.load(con, policy)

    @classmethod
    def from_frames(
        cls,
        respondents: pl.DataFrame,
        aspects: pl.DataFrame,
        results: pl.DataFrame,
        providers: pl.DataFrame,
        policy: Policy,
    ) -> StatusCells:
        return cls(
            respondents=_typed(respondents, "respondents"),
            aspects=_typed(aspects, "aspects"),
            results=_typed(results, "results"),
            providers=_typed(providers, "providers"),
            correction_floor=policy.correction_floor,
            promoter_question=policy.promoter_question,
            promoter_answers=tuple(policy.promoter_answers),
        )

    # --- derived ----------------------------------------------------------------------------------------------
    @cached_property
    def _respondents_coarse(self) -> pl.DataFrame:
        return self.respondents.group_by(_COARSE_KEYS).agg(pl.col(_RESPONDENT_SUMS).sum())

    @cached_property
    def _aspects_coarse(self) -> pl.DataFrame:
        return self.aspects.group_by(*_COARSE_KEYS, "question_id").agg(pl.col(_ASPECT_SUMS).sum())

    @cached_property
    def periods(self) -> tuple[int, ...]:
        """Every period with invitations or results, ascending."""
        found = set(self.respondents["period"].unique().to_list()) | set(self.results["period"].unique().to_list())
        return tuple(sorted(found))

    def check(self, policy: Policy) -> None:
        """Refuse a policy whose correction floor or promoter definition differs from the one the cells hold."""
        loaded = (self.correction_floor, self.promoter_question, self.promoter_answers)
        asked = (policy.correction_floor, policy.promoter_question, tuple(policy.promoter_answers))
        if loaded != asked:
            raise ValueError(
                "deze cellen zijn geladen met een andere correctiegrens of promotorvraag dan het beleid; "
                "laad ze opnieuw (StatusCells.load)"
            )

    def select(self, filters: Filters) -> StatusSelection:
        """The cells under ``filters`` (provider included when set). Results have neither province, audience nor
        questionnaire: for them only provider, period and dienst apply."""
        fine = bool(filters.active() - set(_COARSE_KEYS))
        respondents = self.respondents if fine else self._respondents_coarse
        aspects = self.aspects if fine else self._aspects_coarse
        keep = filters.to_polars()
        results = Filters(provider=filters.provider, period=filters.period, services=filters.services).to_polars()
        return StatusSelection(filters, respondents.filter(keep), aspects.filter(keep), self.results.filter(results))


# --- helpers --------------------------------------------------------------------------------------------------


def headline_form(filters: Filters) -> str:
    """The form whose grade, response and promoter score headline a provider: clients, unless only
    commissioners are selected."""
    return "commissioner" if filters.audience == "commissioner" else "client"


def previous_filters(filters: Filters) -> Filters | None:
    """The same selection one window earlier: 2021 → 2020, 2020–2021 → 2018–2019; None without a period."""
    if filters.periods is None:
        return None
    first, last = filters.periods
    length = last - first + 1
    return filters.replace(period=(first - length, last - length))


def search_key(text: str | None) -> str:
    """Lower case without accents, for searching names ("Fryslân" matches "fryslan")."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _labels(column: str, mapping: dict, default: str | None = None) -> pl.Expr:
    return pl.col(column).replace_strict(mapping, default=default, return_dtype=pl.String)


def _service_labels() -> dict[int, str]:
    return {s.code: s.label for s in catalog().services}


# --- the satisfaction norm: table 1.1 for every provider ---------------------------------------------------------


def satisfaction_rows(respondents: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Table 1.1 of every provider in the cells, the same rules as :func:`keurmerk.metrics.keurmerk_table`.

    One row per provider × form × dienst for forms split per dienst (clients) plus a total row (``service``
    null) per provider × form: invited, net_sample, completed, response_pct, n, grade, ci_low, ci_high,
    corrected_grade, published, norm, meets_norm_raw, meets_norm_corrected, and per block norm_met and norm_basis
    (``raw`` when the raw means all meet the norm, else ``corrected``). Values are rounded (policy.decimals) and
    judged as displayed. Also ``_grade`` / ``_low`` / ``_high``: the unrounded grade and interval, for comparisons.
    """
    cat = catalog()
    d = policy.decimals
    sums = [c for c in _RESPONDENT_SUMS if c not in ("promoter_base", "promoter_n")]
    rows = norms.table_rows(respondents, sums, keys=("provider_id",)).filter(pl.col("invited") > 0)

    low, high = mean_bounds("grade_n", "grade_total", "grade_squares", "_critical")
    is_total = pl.col("service").is_null()
    rows = (
        rows.with_columns(
            critical_value_vectorised("grade_n", policy).alias("_critical"),
            audience=_labels("form", {f.id: f.audience for f in cat.forms}),
            block=_labels("form", {f.id: f.label for f in cat.forms}),
            label=pl.when(is_total).then(pl.lit(texts.TOTAL)).otherwise(_labels("service", _service_labels())),
            n=pl.col("grade_n"),
            corrected=pl.col("grade_corrected"),
        )
        .with_columns(
            _grade=mean("grade_n", "grade_total"),
            _low=low,
            _high=high,
        )
        .with_columns(
            grade=rounded(pl.col("_grade"), d),
            ci_low=rounded(pl.col("_low"), d),
            ci_high=rounded(pl.col("_high"), d),
        )
    )
    rows = norms.judge_satisfaction(rows, policy, grade="grade", is_total=is_total, block=("provider_id", "form"))
    form_order = {f.id: i for i, f in enumerate(cat.forms)}
    return rows.sort(
        "provider_id", _labels("form", {k: str(v) for k, v in form_order.items()}), is_total, "service"
    ).select("provider_id", *TABLE_1_1_COLUMNS, "_grade", "_low", "_high")


def _provider_norm(rows: pl.DataFrame) -> pl.DataFrame:
    """Per provider: the satisfaction norm over every graded block, which mean decided, the rows that fail."""
    blocks = rows.filter(pl.col("norm_met").is_not_null())
    # a row fails on the deciding basis: the raw mean when the block passed on it, else the corrected mean
    failing = blocks.filter(
        pl.when(pl.col("norm_basis") == "raw")
        .then(~pl.col("meets_norm_raw"))
        .otherwise(~pl.col("meets_norm_corrected"))
        .fill_null(False)
        | (~pl.col("norm_met") & ~pl.col("meets_norm_raw").fill_null(True))
    )
    fail_list = failing.group_by("provider_id").agg(
        norm_failing=pl.struct("block", "label", "grade", "corrected_grade", "norm", "meets_norm_corrected")
    )
    per_provider = (
        blocks.filter(pl.col("service").is_null())
        .group_by("provider_id")
        .agg(
            norm_met=pl.col("norm_met").all(),
            norm_basis=pl.when((pl.col("norm_basis") == "raw").all())
            .then(pl.lit("raw"))
            .otherwise(pl.lit("corrected")),
        )
    )
    return per_provider.join(fail_list, on="provider_id", how="left")


# --- the results norm --------------------------------------------------------------------------------------------


def results_rows(results: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """The results norm per provider × dienst, plus a total row per provider (``service`` null).

    ``completed_trajectories``, ``successful_trajectories`` (summed over the selected periods), ``success_pct``
    (successful / completed, %), its interval (``ci_low``, ``ci_high``), the benchmark ``bench_success_pct`` (all
    providers' trajectories of that dienst pooled; on a total row: of the provider's own diensten, weighted by
    the provider's trajectories), ``diff``, ``significant`` (the interval excludes the benchmark), ``threshold``
    (policy, per dienst), ``meets_threshold`` (the displayed rate reaches it; null without trajectories) and, on
    the total row, ``results_met``: every dienst with trajectories meets its threshold.
    """
    d = policy.decimals
    per = results.group_by("provider_id", "service").agg(
        pl.col("completed_trajectories", "successful_trajectories").sum()
    )
    bench = per.group_by("service").agg(
        bench_completed=pl.col("completed_trajectories").sum(),
        bench_successful=pl.col("successful_trajectories").sum(),
    )
    thresholds = {s.code: policy.results_threshold(s.code) for s in catalog().services}
    per = per.join(bench, on="service", how="left").with_columns(
        label=_labels("service", _service_labels()),
        threshold=pl.col("service").replace_strict(
            thresholds, default=policy.results_min_success_pct, return_dtype=pl.Float64
        ),
        _bench_rate=pl.col("bench_successful") / pl.when(pl.col("bench_completed") > 0).then(pl.col("bench_completed")),
    )
    # the total row's benchmark: each dienst's benchmark rate weighted by the provider's own trajectories
    totals = (
        per.group_by("provider_id")
        .agg(
            pl.col("completed_trajectories", "successful_trajectories").sum(),
            _bench_weighted=(pl.col("_bench_rate") * pl.col("completed_trajectories")).sum(),
            results_met=norms.results_met(policy),
        )
        .with_columns(
            service=pl.lit(None, pl.Int16),
            label=pl.lit(texts.TOTAL),
            threshold=pl.lit(None, pl.Float64),
            _bench_rate=pl.col("_bench_weighted")
            / pl.when(pl.col("completed_trajectories") > 0).then(pl.col("completed_trajectories")),
        )
    )
    rows = pl.concat([per.with_columns(results_met=pl.lit(None, pl.Boolean)), totals], how="diagonal_relaxed")
    low, high = share_bounds("successful_trajectories", "completed_trajectories", policy)
    bench_pct = 100 * pl.col("_bench_rate")
    rows = (
        rows.with_columns(_pct=share("successful_trajectories", "completed_trajectories"), _low=low, _high=high)
        .with_columns(
            success_pct=rounded(pl.col("_pct"), d),
            ci_low=rounded(pl.col("_low"), d),
            ci_high=rounded(pl.col("_high"), d),
            bench_success_pct=rounded(bench_pct, d),
            significant=(bench_pct < pl.col("_low")) | (bench_pct > pl.col("_high")),
        )
        .with_columns(
            diff=rounded(pl.col("success_pct") - pl.col("bench_success_pct"), d),
            meets_threshold=pl.col("success_pct") >= pl.col("threshold"),
        )
    )
    return rows.sort("provider_id", pl.col("service").is_null(), "service").select(
        "provider_id", "service", "label", "completed_trajectories", "successful_trajectories", "success_pct",
        "ci_low", "ci_high", "bench_success_pct", "diff", "significant", "threshold", "meets_threshold", "results_met",
    )


# --- the staff table --------------------------------------------------------------------------------------------


def _headline(sel: StatusSelection, form: str, policy: Policy) -> tuple[pl.DataFrame, dict[str, float | None]]:
    """Per provider the headline form's promoter score; and the benchmark's (unrounded) grade, response and
    promoter score."""
    own = sel.respondents.filter(pl.col("form") == form)
    per = (
        own.group_by("provider_id")
        .agg(pl.col("promoter_base", "promoter_n").sum())
        .with_columns(promoter_score=rounded(share("promoter_n", "promoter_base"), policy.decimals))
    )
    if policy.benchmark == "providers":  # every provider weighs the same: the mean of the providers' means
        means = own.group_by("provider_id").agg(pl.col(_RESPONDENT_SUMS).sum()).select(
            grade=pl.col("grade_total") / (10 * pl.when(pl.col("grade_n") > 0).then(pl.col("grade_n"))),
            response_pct=share("completed", "net_sample"),
            promoter_score=share("promoter_n", "promoter_base"),
        ).mean().row(0, named=True)
        return per, means
    # pooled: every respondent weighs the same (the default, as every provider view)
    total = own.select(pl.col(_RESPONDENT_SUMS).sum()).row(0, named=True)
    bench = {
        "grade": total["grade_total"] / (10 * total["grade_n"]) if total["grade_n"] else None,
        "response_pct": 100 * total["completed"] / total["net_sample"] if total["net_sample"] else None,
        "promoter_score": 100 * total["promoter_n"] / total["promoter_base"] if total["promoter_base"] else None,
    }
    return per, bench


def _core(cells: StatusCells, filters: Filters, policy: Policy) -> tuple[pl.DataFrame, dict]:
    """One row per provider with data in the selection: headline numbers, both norms and the status."""
    sel = cells.select(filters)
    form = headline_form(filters)
    d = policy.decimals
    sat = satisfaction_rows(sel.respondents, policy)
    norm = _provider_norm(sat)
    head = sat.filter((pl.col("form") == form) & pl.col("service").is_null()).select(
        "provider_id", "net_sample", "completed", "response_pct", "n", "grade", "ci_low", "ci_high", "corrected_grade",
        "_grade", "_low", "_high",
    )
    promoters, bench = _headline(sel, form, policy)
    commissioners = sat.filter((pl.col("form") == "commissioner") & pl.col("service").is_null()).select(
        "provider_id", commissioner_n="n", commissioner_grade="grade"
    )
    publication = (
        sat.filter(pl.col("service").is_not_null())
        .group_by("provider_id")
        .agg(
            publication=pl.struct("service", "label", "published", "completed", "response_pct").sort_by("service"),
            published_services=pl.col("published").sum().cast(pl.Int32),
            unpublished_services=(~pl.col("published")).sum().cast(pl.Int32),
        )
    )
    near_service = (
        sat.filter(
            pl.col("service").is_not_null()
            & (pl.col("grade") >= policy.norm_service)
            & (pl.col("grade") < policy.norm_service + policy.watch_grade_margin)
        )
        .select("provider_id")
        .unique()
        .with_columns(near_service_norm=pl.lit(True))
    )
    res = results_rows(sel.results, policy)
    res_total = res.filter(pl.col("service").is_null()).select(
        "provider_id",
        trajectories="completed_trajectories",
        successful_trajectories="successful_trajectories",
        success_pct="success_pct",
        success_ci_low="ci_low",
        success_ci_high="ci_high",
        bench_success_pct="bench_success_pct",
        success_diff="diff",
        success_significant="significant",
        results_met="results_met",
    )
    res_failing = (
        res.filter(pl.col("service").is_not_null() & pl.col("meets_threshold").eq(False))
        .group_by("provider_id")
        .agg(results_failing=pl.struct("service", "label", "success_pct", "threshold"))
    )
    res_services = (
        res.filter(pl.col("service").is_not_null())
        .group_by("provider_id")
        .agg(
            results=pl.struct(
                "service",
                "label",
                "completed_trajectories",
                "success_pct",
                "bench_success_pct",
                "significant",
                "threshold",
                "meets_threshold",
            ).sort_by("service")
        )
    )
    # providers surveyed in the selection; with no province filter also those that only delivered results
    surveyed = sat.select("provider_id")
    ids = (surveyed if filters.provinces else pl.concat([surveyed, res.select("provider_id")])).unique()
    bench_grade = pl.lit(bench["grade"], pl.Float64)
    frame = (
        ids.join(cells.providers, on="provider_id", how="left")
        .join(head, on="provider_id", how="left")
        .join(promoters.select("provider_id", "promoter_base", "promoter_score"), on="provider_id", how="left")
        .join(commissioners, on="provider_id", how="left")
        .join(norm, on="provider_id", how="left")
        .join(publication, on="provider_id", how="left")
        .join(res_total, on="provider_id", how="left")
        .join(res_failing, on="provider_id", how="left")
        .join(res_services, on="provider_id", how="left")
        .join(near_service, on="provider_id", how="left")
        .with_columns(
            bench_grade=rounded(bench_grade, d),
            bench_response_pct=rounded(pl.lit(bench["response_pct"], pl.Float64), d),
            bench_promoter_score=rounded(pl.lit(bench["promoter_score"], pl.Float64), d),
            grade_diff=rounded(pl.col("grade") - rounded(bench_grade, d), d),
            grade_significant=pl.when(pl.col("_low").is_not_null() & bench_grade.is_not_null()).then(
                (bench_grade < pl.col("_low")) | (bench_grade > pl.col("_high"))
            ),
            status=norms.combined_status(pl.col("norm_met"), pl.col("results_met")),
        )
        .drop("_grade", "_low", "_high")
    )
    return frame, bench


def status_table(cells: StatusCells, filters: Filters, policy: Policy | None = None) -> pl.DataFrame:
    """The staff table: one row per provider with data under ``filters`` (the provider field is ignored).

    Columns: provider_id, provider_name; the headline form (clients; commissioners when only they are selected):
    net_sample, completed, response_pct, n (grades), grade, ci_low, ci_high, corrected_grade, promoter_base,
    promoter_score; commissioner_n, commissioner_grade; the satisfaction norm: norm_met, norm_basis (``raw`` |
    ``corrected``), norm_failing (rows that fail: block, label, grade, corrected_grade, norm); publication per
    dienst (list of service, label, published, completed, response_pct), published_services,
    unpublished_services; the results norm: trajectories, successful_trajectories, success_pct, success_ci_low,
    success_ci_high, bench_success_pct, success_diff, success_significant, results_met, results_failing, results
    (per dienst: success_pct against bench_success_pct, significant, threshold, meets_threshold); the benchmark: bench_grade, bench_response_pct, bench_promoter_score, grade_diff,
    grade_significant; the Keurmerk status: status (``met`` | ``not_met`` | ``incomplete``), status_label; the
    trend against :func:`previous_filters`: prev_n, prev_grade, grade_change, trend (``up`` | ``down`` | ``flat``),
    prev_status; and the watch list: watch (``under`` | ``near`` | null), watch_reasons.

    Every provider is computed in one pass over the cells (no loop per provider). Staff view: no small-group rule.
    """
    policy = policy or load_policy()
    cells.check(policy)
    filters = filters.replace(provider=None)
    frame, _ = _core(cells, filters, policy)
    previous = previous_filters(filters)
    if previous is not None and previous.periods[1] >= min(cells.periods, default=previous.periods[1] + 1):
        before, _ = _core(cells, previous, policy)
        before = before.select("provider_id", prev_n="n", prev_grade="grade", prev_status="status")
    else:
        before = pl.DataFrame(
            schema={"provider_id": pl.String, "prev_n": pl.Int64, "prev_grade": pl.Float64, "prev_status": pl.String}
        )
    change = rounded(pl.col("grade") - pl.col("prev_grade"), policy.decimals)
    frame = (
        frame.join(before, on="provider_id", how="left")
        .with_columns(grade_change=change)
        .with_columns(
            trend=pl.when(pl.col("grade_change").is_not_null()).then(
                pl.when(pl.col("grade_change") >= policy.trend_min_diff)
                .then(pl.lit("up"))
                .when(pl.col("grade_change") <= -policy.trend_min_diff)
                .then(pl.lit("down"))
                .otherwise(pl.lit("flat"))
            ),
            status_label=_labels("status", STATUS_LABELS),
        )
    )
    frame = _watch(frame, policy)
    return frame.sort("provider_name", "provider_id")


def benchmark_success(status: pl.DataFrame) -> float | None:
    """The success rate of all providers in the staff table, to one decimal: each provider's benchmark weighted by
    its trajectories (as a results total row weighs its diensten); None for an empty table."""
    if not status.height:
        return None
    value = status.select(
        (pl.col("bench_success_pct") * pl.col("trajectories")).sum() / pl.col("trajectories").sum()
    ).item()
    return None if value is None else round(value, 1)


def _watch(frame: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Mark providers under a norm (``under``), near one (``near``: a total grade less than
    ``watch_grade_margin`` above 6,5, a dienst less than that above 5,5, a success rate less than
    ``watch_success_margin`` above its threshold, or the satisfaction norm met only with the corrected mean) or
    without the data for one (``incomplete``), with the reasons as short Dutch phrases."""
    margin = policy.watch_grade_margin
    near_total = ((pl.col("grade") >= policy.norm_total) & (pl.col("grade") < policy.norm_total + margin)).fill_null(
        False
    )
    element = pl.element().struct.field
    near_success = (
        pl.col("results")
        .list.eval(
            (element("success_pct") >= element("threshold"))
            & (element("success_pct") < element("threshold") + policy.watch_success_margin)
        )
        .list.any()
        .fill_null(False)
    )
    near_service = pl.col("near_service_norm").fill_null(False)
    only_corrected = (pl.col("norm_met").eq(True) & (pl.col("norm_basis") == "corrected")).fill_null(False)
    reasons = pl.concat_list(
        pl.when(pl.col("norm_met").eq(False)).then(pl.lit("tevredenheidsnorm niet gehaald")),
        pl.when(pl.col("results_met").eq(False)).then(pl.lit("resultatennorm niet gehaald")),
        pl.when(only_corrected).then(pl.lit("tevredenheidsnorm alleen met het gecorrigeerde cijfer")),
        pl.when(near_total).then(pl.lit("rapportcijfer dicht bij de norm")),
        pl.when(near_service).then(pl.lit("een dienst dicht bij de norm")),
        pl.when(near_success).then(pl.lit("succespercentage dicht bij de drempel")),
        pl.when(pl.col("norm_met").is_null()).then(pl.lit("geen rapportcijfers")),
        pl.when(pl.col("results_met").is_null()).then(pl.lit("geen resultaten aangeleverd")),
    ).list.drop_nulls()
    return frame.with_columns(
        watch=pl.when(pl.col("status") == "not_met")
        .then(pl.lit("under"))
        .when(near_total | near_service | near_success | only_corrected)
        .then(pl.lit("near"))
        .when(pl.col("status") == "incomplete")
        .then(pl.lit("incomplete")),
        watch_reasons=reasons,
    ).drop("near_service_norm")


def watch_list(status: pl.DataFrame) -> pl.DataFrame:
    """Providers under a norm first, then those near one, then those with data missing; within each, the lowest
    grade first."""
    order = {"under": 0, "near": 1, "incomplete": 2}
    return status.filter(pl.col("watch").is_not_null()).sort(
        pl.col("watch").replace_strict(order, return_dtype=pl.Int8),
        pl.col("grade"),
        pl.col("success_pct"),
        nulls_last=True,
    )


def movers(status: pl.DataFrame, policy: Policy | None = None, k: int = 5) -> pl.DataFrame:
    """The providers whose grade changed most against the previous window: at most ``k`` risers (``direction``
    ``up``) and ``k`` fallers (``down``), largest change first; both windows need at least ``min_n`` grades."""
    policy = policy or load_policy()
    both = status.filter(
        pl.col("grade_change").is_not_null() & (pl.col("n") >= policy.min_n) & (pl.col("prev_n") >= policy.min_n)
    )
    up = both.filter(pl.col("grade_change") > 0).sort("grade_change", "provider_name", descending=[True, False])
    down = both.filter(pl.col("grade_change") < 0).sort("grade_change", "provider_name")
    return pl.concat(
        [
            up.head(k).with_columns(direction=pl.lit("up")),
            down.head(k).with_columns(direction=pl.lit("down")),
        ]
    )


# --- distributions and trends -------------------------------------------------------------------------------------


def aspect_values(cells: StatusCells, filters: Filters, policy: Policy | None = None) -> pl.DataFrame:
    """Per provider × aspect of the headline form: the share satisfied (satisfaction items, %) or the mean aspect
    grade (commissioners), with its base ``n``, next to the benchmark (all providers pooled).

    Columns: provider_id, question_id, item (the aspect's text), position, measure (``share_satisfied`` |
    ``grade``), value, n, bench_value, bench_n.
    """
    policy = policy or load_policy()
    cat = catalog()
    form = headline_form(filters)
    sel = cells.select(filters.replace(provider=None))
    questions = [q for q in cat.aspect_questions(form) if q.kind in ("satisfaction", "aspect_grade")]
    items = pl.DataFrame(
        [
            (q.id, q.text, i, "grade" if q.kind == "aspect_grade" else "share_satisfied")
            for i, q in enumerate(questions, start=1)
        ],
        schema={"question_id": pl.String, "item": pl.String, "position": pl.Int32, "measure": pl.String},
        orient="row",
    )
    own = sel.aspects.filter(pl.col("form") == form)
    per = own.group_by("provider_id", "question_id").agg(pl.col(_ASPECT_SUMS).sum())
    bench = own.group_by("question_id").agg(
        bench_n=pl.col("opinion_n").sum(),
        _bench_hits=pl.col("satisfied_n").sum(),
        _bench_total=pl.col("grade_total").sum(),
    )
    d = policy.decimals

    def value(hits: str, total: str, base: str) -> pl.Expr:
        return pl.when(pl.col("measure") == "grade").then(mean(base, total)).otherwise(share(hits, base))

    return (
        per.join(items, on="question_id")
        .join(bench, on="question_id", how="left")
        .with_columns(
            n=pl.col("opinion_n"),
            value=rounded(value("satisfied_n", "grade_total", "opinion_n"), d),
            bench_value=rounded(value("_bench_hits", "_bench_total", "bench_n"), d),
        )
        .sort("position", "provider_id")
        .select("provider_id", "question_id", "item", "position", "measure", "value", "n", "bench_value", "bench_n")
    )


def _per_period(frame: pl.DataFrame, counts: list[str], measure: str, value: pl.Expr, d: int) -> pl.DataFrame:
    """Per period and dienst, and per period nationally (``service`` null): the ``counts`` summed, ``value``
    rounded, n (the first count) and the number of providers behind it."""
    sums = (pl.col(counts).sum(), pl.col("provider_id").n_unique().alias("providers"))
    per_service = frame.group_by("period", "service").agg(*sums)
    national = frame.group_by("period").agg(*sums).with_columns(service=pl.lit(None, pl.Int16))
    return pl.concat([per_service, national.select(per_service.columns)]).select(
        "period", "service", measure=pl.lit(measure), value=rounded(value, d), n=counts[0], providers="providers"
    )


def trend_frame(cells: StatusCells, filters: Filters, policy: Policy | None = None) -> pl.DataFrame:
    """The benchmark over every period (the period filter ignored, the others kept), nationally (``service``
    null, label "Totaal") and per dienst: the headline form's mean grade (``measure`` = ``grade``) and the results'
    success rate (``success_pct``), with the n behind each and the number of providers.

    Columns: period, service, label, measure, value, n, providers.
    """
    policy = policy or load_policy()
    d = policy.decimals
    form = headline_form(filters)
    sel = cells.select(filters.replace(provider=None, period=None))
    grades = sel.respondents.filter((pl.col("form") == form) & (pl.col("grade_n") > 0))
    grade_rows = _per_period(grades, ["grade_n", "grade_total"], "grade", mean("grade_n", "grade_total"), d)
    results = sel.results.filter(pl.col("completed_trajectories") > 0)
    success = share("successful_trajectories", "completed_trajectories")
    result_rows = _per_period(results, ["completed_trajectories", "successful_trajectories"], "success_pct", success, d)
    labels = _service_labels()
    return (
        pl.concat([grade_rows, result_rows], how="vertical_relaxed")
        .with_columns(
            label=pl.when(pl.col("service").is_null()).then(pl.lit(texts.TOTAL)).otherwise(_labels("service", labels)),
            n=pl.col("n").cast(pl.Int64),
            providers=pl.col("providers").cast(pl.Int64),
        )
        .sort("measure", pl.col("service").is_not_null(), "service", "period")
        .select("period", "service", "label", "measure", "value", "n", "providers")
    )


# --- the staff page's figures (catalogue: staff_figures; kinds: keurmerk.metrics.registry) -------------------------


@dataclass
class StaffView:
    """One refresh of the staff page: the selection, its staff table, and what its figures read (computed once
    for the figures that share it)."""

    cells: StatusCells
    filters: Filters
    policy: Policy
    status: pl.DataFrame

    @cached_property
    def trends(self) -> pl.DataFrame:
        return trend_frame(self.cells, self.filters, self.policy)

    @cached_property
    def trend_services(self) -> list[str]:
        """The diensten of every trend, in code order: the panels of each trend figure, the same on all."""
        rows = self.trends.filter(pl.col("service").is_not_null()).sort("service")
        return rows["label"].unique(maintain_order=True).to_list()

    @cached_property
    def aspects(self) -> pl.DataFrame:
        return aspect_values(self.cells, self.filters, self.policy)


def distribution(view: StaffView, figure: StaffFigure) -> pl.DataFrame:
    """Per provider the figure's ``value`` and ``n`` (columns of the staff table), with ``bench``: the value of all
    participants (the results' success rate weighted by trajectories, :func:`benchmark_success`)."""
    status = view.status
    column = f"bench_{figure.value}"  # the staff table's benchmark of the value, where it has one
    if figure.value == "success_pct":
        bench = benchmark_success(status)
    else:
        bench = status[column][0] if column in status.columns and status.height else None
    return status.select("provider_name", value=pl.col(figure.value), n=pl.col(figure.n)).with_columns(
        bench=pl.lit(bench, pl.Float64)
    )


def staff_aspects(view: StaffView, figure: StaffFigure) -> pl.DataFrame:
    """Per provider and aspect of the headline form (:func:`aspect_values`)."""
    return view.aspects


def staff_trend(view: StaffView, figure: StaffFigure) -> pl.DataFrame:
    """The figure's ``measure`` over the periods (:func:`trend_frame`)."""
    return view.trends.filter(pl.col("measure") == figure.measure)


# --- the public page (zoekmachine) ---------------------------------------------------------------------------------


def public_listing(cells: StatusCells, period: int, policy: Policy | None = None) -> pl.DataFrame:
    """What the public search page may show for one period: one row per provider that took part.

    Columns: provider_id, provider_name, period, search_key (the name for searching), services (the client
    diensten the provider was surveyed for), provinces (its work area: provinces with at least
    :data:`WORK_AREA_SHARE` of its invited clients, or else its largest one), grades (the *published* client grades
    only — one per dienst for forms split per dienst, one per form otherwise: form, block, service, label, grade,
    n), unpublished (the diensten whose grade is not published: form, block, service, label — no numbers),
    commissioner_grade and commissioner_n (published by the policy, and shown only with at least ``min_n``
    grades; otherwise both null).

    A grade that is not published, or rests on fewer than ``min_n`` grades, never leaves this function; there is no
    respondent-level row in it. The client total is not part of the listing: with the published diensten and their
    n beside it, it gives away the mean of the diensten not shown. The public site (:mod:`keurmerk.site`) adds a
    published total only when those hidden diensten rest on none or at least ``policy.public_total_min_hidden_n``
    grades, so that what it gives away is a mean of as many grades as a published grade needs.
    """
    policy = policy or load_policy()
    cells.check(policy)
    split_forms = norms.split_forms()
    sel = cells.select(Filters(period=period))
    sat = satisfaction_rows(sel.respondents, policy)
    client_rows = sat.filter(
        (pl.col("audience") == "client")
        & pl.when(pl.col("form").is_in(split_forms))
        .then(pl.col("service").is_not_null())
        .otherwise(pl.col("service").is_null())
    )
    shown = client_rows.filter(pl.col("published") & pl.col("grade").is_not_null() & (pl.col("n") >= policy.min_n))
    hidden = client_rows.join(
        shown.select("provider_id", "form", "service"),
        on=["provider_id", "form", "service"],
        how="anti",
        nulls_equal=True,
    )
    grades = shown.group_by("provider_id").agg(
        grades=pl.struct("form", "block", "service", "label", "grade", "n").sort_by("service")
    )
    unpublished = hidden.group_by("provider_id").agg(
        unpublished=pl.struct("form", "block", "service", "label").sort_by("service")
    )
    commissioners = sat.filter(
        (pl.col("audience") == "commissioner")
        & pl.col("service").is_null()
        & pl.col("published")
        & (pl.col("n") >= policy.min_n)
        & pl.col("grade").is_not_null()
    ).select("provider_id", commissioner_grade="grade", commissioner_n="n")
    clients = cells.respondents.filter((pl.col("period") == period) & (pl.col("audience") == "client"))
    services = clients.group_by("provider_id").agg(services=pl.col("service").unique().sort())
    by_province = (
        clients.filter(pl.col("province").is_not_null())
        .group_by("provider_id", "province")
        .agg(pl.col("invited").sum())
        .with_columns(share=pl.col("invited") / pl.col("invited").sum().over("provider_id"))
    )
    provinces = (
        by_province.filter(
            (pl.col("share") >= WORK_AREA_SHARE) | (pl.col("share") == pl.col("share").max().over("provider_id"))
        )
        .group_by("provider_id")
        .agg(provinces=pl.col("province").unique().sort())
    )
    ids = sel.respondents.filter(pl.col("invited") > 0).select("provider_id").unique()
    listing = (
        ids.join(cells.providers, on="provider_id", how="left")
        .join(services, on="provider_id", how="left")
        .join(provinces, on="provider_id", how="left")
        .join(grades, on="provider_id", how="left")
        .join(unpublished, on="provider_id", how="left")
        .join(commissioners, on="provider_id", how="left")
    )
    keys = [search_key(name) for name in listing["provider_name"].to_list()]
    return (
        listing.with_columns(
            period=pl.lit(period, pl.Int32),
            search_key=pl.Series(keys, dtype=pl.String),
            services=pl.col("services").fill_null(pl.lit([], pl.List(pl.Int16))),
            provinces=pl.col("provinces").fill_null(pl.lit([], pl.List(pl.String))),
        )
        .sort("search_key", "provider_id")
        .select(
            "provider_id",
            "provider_name",
            "period",
            "search_key",
            "services",
            "provinces",
            "grades",
            "unpublished",
            "commissioner_grade",
            "commissioner_n",
        )
    )
