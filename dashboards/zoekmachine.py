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
# Public: no link needed. Prepared before anyone opens the page: the published grades of every keurmerkhouder.
from IPython.display import display

from keurmerk.dashboard import PublicApp
from keurmerk.serve import query_params

app = PublicApp.prepare()

# %%
# Blocks until the visitor's request arrives (the page is the same for everyone).
display(app.open(query_params()))
