# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   keurmerk:
#     first_screen: true
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   title: Uw resultaten — Blik op Werk Keurmerk
# ---

# %%
# Provider-independent work first: in a pre-heated kernel this runs before anyone opens the page.
from keurmerk.dashboard import ProviderApp
from keurmerk.serve import query_params, show

app = ProviderApp.prepare()

# %%
# Blocks until the visitor's request arrives; the signed link decides what this page may show. A first screen
# kept from an earlier visit is shown at once: Voilà sends a cell's output when the cell ends.
params = query_params()
app.first_screen(params)

# %%
show(app.open(params), app.title)  # a refusal is shown without a widget: the kernel ends
app.close()  # the page's data is in memory now
