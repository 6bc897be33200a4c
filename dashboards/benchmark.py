# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   title: Benchmarkverkenner — Blik op Werk Keurmerk
# ---

# %%
# Staff only. Prepared before anyone opens the page: imports and a warm-up on made-up data (no warehouse data).
from keurmerk.dashboard import StaffApp
from keurmerk.serve import query_params, show

app = StaffApp.prepare()

# %%
# Blocks until the visitor's request arrives; only a verified staff link reads the warehouse and shows the page.
show(app.open(query_params()))  # a refusal is shown without a widget: the kernel ends
