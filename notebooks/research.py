# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Onderzoek op het warehouse
#
# Twee vragen, beantwoord met de onderzoeks-API (`keurmerk.api`, zie `docs/research-api.md`) en de SQL-views
# `v_respondents`, `v_answers` en `v_response`:
#
# 1. Hangt de manier van benaderen (e-mail, post, telefoon) samen met het rapportcijfer?
# 2. Op welke aspecten verschillen aanbieders die de norm halen van aanbieders die hem niet halen?
#
# Het warehouse komt uit `$KEURMERK_DB` (standaard `var/demo.duckdb`); `$KEURMERK_PERIOD` kiest het jaar.

# %%
import os

import polars as pl
from IPython.display import display

from keurmerk.api import Filters, catalog, figure_frame, open_warehouse, rounded, t_quantile

con = open_warehouse()
PERIOD = int(os.environ.get("KEURMERK_PERIOD", "2021"))
cat = catalog()


def with_interval(frame: pl.DataFrame) -> pl.DataFrame:
    """Mean grade ± t · sd / √n from the columns n, grade, sd, rounded as the report rounds."""
    critical = pl.col("n").map_elements(lambda k: t_quantile(k - 1) if k > 1 else None, return_dtype=pl.Float64)
    half = critical * pl.col("sd") / pl.col("n").sqrt()
    return frame.with_columns(
        rounded(pl.col("grade") - half).alias("ci_low"), rounded(pl.col("grade") + half).alias("ci_high"),
        rounded(pl.col("grade")).alias("grade"),
    ).drop("sd")


# %% [markdown]
# ## 1. Manier van benaderen en rapportcijfer
#
# Eerst het gemiddelde cijfer van cliënten per manier van benaderen. Aanbieders kiezen zelf hoe ze benaderen, dus
# een verschil kan ook een verschil tussen aanbieders zijn. Daarom daarna hetzelfde *binnen* aanbieders: het cijfer
# min het gemiddelde van de eigen aanbieder.

# %%
by_mode = con.sql(
    """
    SELECT mode, count(*) AS n, avg(value_num) AS grade, stddev_samp(value_num) AS sd
    FROM v_answers
    WHERE form = 'client' AND question_id = 'grade' AND period = $period
    GROUP BY mode ORDER BY mode
    """,
    params={"period": PERIOD},
).pl()
within = con.sql(
    """
    WITH graded AS (
        SELECT provider_id, mode, value_num - avg(value_num) OVER (PARTITION BY provider_id) AS deviation
        FROM v_answers
        WHERE form = 'client' AND question_id = 'grade' AND period = $period
    )
    SELECT mode, avg(deviation) AS within_provider
    FROM graded GROUP BY mode ORDER BY mode
    """,
    params={"period": PERIOD},
).pl()
mode_table = with_interval(by_mode).join(within, on="mode").with_columns(
    pl.col("mode").replace_strict(cat.modes).alias("benadering"), rounded(pl.col("within_provider"), 2))
display(mode_table)

# %%
best, worst = mode_table.sort("grade", descending=True)["benadering"][[0, -1]]
overlap = mode_table["ci_low"].max() <= mode_table["ci_high"].min()
print(f"{PERIOD}: hoogste gemiddelde cijfer bij {best}, laagste bij {worst}; "
      + ("de 95%-intervallen overlappen allemaal." if overlap else "niet alle 95%-intervallen overlappen."))

# %% [markdown]
# ## 2. Aspecten die aanbieders met en zonder norm onderscheiden
#
# Per aanbieder de norm uit tabel 1.1 (`keurmerk_table`, met de correctie voor lage cijfers en de afronding van het
# rapport), daarna per aspect het aandeel tevreden (zeer tevreden + tevreden, zonder geen mening) in beide groepen.

# %%
providers = [p for (p,) in con.sql(
    "SELECT DISTINCT provider_id FROM v_respondents WHERE period = $period AND form = 'client' ORDER BY 1",
    params={"period": PERIOD}).fetchall()]


def client_norm(provider: str) -> bool | None:
    table = figure_frame(con, "table_1_1", Filters(provider=provider, period=PERIOD), suppress=False)
    total = table.filter((pl.col("form") == "client") & pl.col("service").is_null())
    return total["norm_met"].item() if total.height else None


norms = pl.DataFrame({"provider_id": providers, "norm_met": [client_norm(p) for p in providers]},
                     schema={"provider_id": pl.String, "norm_met": pl.Boolean}).drop_nulls()
display(norms.group_by("norm_met").len().sort("norm_met"))

# %%
satisfied, no_opinion = list(cat.satisfied), list(cat.no_opinion)
aspects = [q.id for q in cat.aspect_questions("client")]
shares = con.sql(
    """
    SELECT provider_id, question_id,
           count(*) FILTER (WHERE list_contains($satisfied, value)) AS satisfied,
           count(*) FILTER (WHERE NOT list_contains($no_opinion, value)) AS opinion
    FROM v_answers
    WHERE form = 'client' AND period = $period AND list_contains($aspects, question_id)
    GROUP BY ALL
    """,
    params={"period": PERIOD, "satisfied": satisfied, "no_opinion": no_opinion, "aspects": aspects},
).pl()
by_group = (
    shares.join(norms, on="provider_id")
    .group_by("question_id", "norm_met")
    .agg((100 * pl.col("satisfied").sum() / pl.col("opinion").sum()).alias("share_satisfied"))
    .pivot(on="norm_met", index="question_id", values="share_satisfied")
    .rename({"true": "norm_gehaald", "false": "norm_niet_gehaald"}, strict=False)
)
if {"norm_gehaald", "norm_niet_gehaald"} <= set(by_group.columns):
    separating = by_group.with_columns(
        pl.col("question_id").replace_strict({q.id: q.text for q in cat.questions_of("client")}).alias("aspect"),
        rounded(pl.col("norm_gehaald") - pl.col("norm_niet_gehaald")).alias("verschil"),
        rounded(pl.col("norm_gehaald")), rounded(pl.col("norm_niet_gehaald")),
    ).sort("verschil", descending=True).select("aspect", "norm_gehaald", "norm_niet_gehaald", "verschil")
else:  # every provider in the same group: nothing to compare
    separating = pl.DataFrame(schema={"aspect": pl.String, "verschil": pl.Float64})
display(separating)

# %%
if separating.height:
    top = separating.head(3)["aspect"].to_list()
    print(f"{PERIOD}: het grootste verschil in aandeel tevreden tussen aanbieders met en zonder norm zit in: "
          + ", ".join(top) + ".")
else:
    print(f"{PERIOD}: alle aanbieders zitten in dezelfde groep; er valt niets te vergelijken.")
