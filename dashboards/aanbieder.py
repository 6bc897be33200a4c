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

# %%
# Provider-independent work first: in a pre-heated kernel this runs before anyone opens the page.
from IPython.display import display

from keurmerk.dashboard import ProviderApp
from keurmerk.serve import query_params

app = ProviderApp.prepare()

# %%
# Blocks until the visitor's request arrives; the signed link decides what this page may show.
display(app.open(query_params()))
app.close()  # the page's data is in memory now
