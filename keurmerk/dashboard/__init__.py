"""Dashboards: widgets wired to the metrics and charts. The notebooks in ``dashboards/`` only call these."""

import altair.utils.schemapi

from keurmerk.dashboard.controls import Debouncer
from keurmerk.dashboard.provider import FilterOptions, ProviderApp, ProviderDashboard
from keurmerk.dashboard.staff import StaffApp, StaffExplorer

# Altair validates every schema object as it is built ("debug mode"); in a dashboard kernel that is seconds of
# jsonschema per filter change. The chart builders' tests validate every chart kind instead.
altair.utils.schemapi.disable_debug_mode()

__all__ = [
    "Debouncer",
    "FilterOptions",
    "ProviderApp",
    "ProviderDashboard",
    "StaffApp",
    "StaffExplorer",
]
