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
# ---

# %%
# Staff only. Prepared before anyone opens the page: imports and a warm-up on made-up data (no warehouse data).
from IPython.display import display

from keurmerk.dashboard import StaffApp
from keurmerk.serve import query_params

app = StaffApp.prepare()

# %%
# Blocks until the visitor's request arrives; only a verified staff link reads the warehouse and shows the page.
display(app.open(query_params()))
