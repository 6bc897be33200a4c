"""keurmerk: the Blik op Werk Keurmerk satisfaction survey as a warehouse, metrics and dashboards.

The research API is re-exported here (see ``keurmerk.api`` and docs/research-api.md)::

    import keurmerk
    con = keurmerk.open_warehouse("var/demo.duckdb")
    frames = keurmerk.compute_all(con, keurmerk.Filters(provider="P0000", period=2021))
"""

from keurmerk.api import *  # noqa: F403
from keurmerk.api import __all__  # noqa: F401
