"""Three ways around Altair's cost of building a chart, with the same Vega-Lite as a result.

Profiling the report batch (bench/reports.py) showed that building ~30 charts per report spent its time in three
places that do no useful work for our charts:

1. **Copies of layers.** Every ``LayerChart``/``VConcatChart``/``HConcatChart`` that Altair constructs (also each
   shallow copy inside ``.properties()`` and ``to_dict()``) deep-copies all its subcharts twice, once in
   ``_remove_duplicate_params`` and once in ``_combine_subchart_params``, so that it may rename selection
   parameters on the copies. Our charts have no selections, and the copies were 60% of the time.
   :func:`install` makes both return the subcharts as they are when no subchart has parameters and the top
   level holds none or only value parameters (the originals run otherwise); Altair's methods copy before they
   change anything, so sharing the subcharts is safe.
2. **Walking the data.** ``to_dict`` visits every value of every inline data set and checks each one against a
   runtime protocol (``SchemaLike``), which costs more than the rest of the spec. :func:`detached_data` takes the
   ``values`` out before ``to_dict`` and :func:`reattach` puts the same lists back in the dict afterwards.
3. **Strings and numbers of the spec itself** go through the same protocol check (``isinstance`` on a runtime
   ``Protocol`` is slow on Python 3.11) before Altair returns them unchanged; :func:`install` returns them at once.

``tests/test_chart_speed.py`` checks that every chart kind gives exactly the spec it gave without any of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import altair as alt
from altair.utils import schemapi as _schemapi
from altair.utils.schemapi import SchemaBase, Undefined
from altair.vegalite.v6 import api as _api

__all__ = ["detached_data", "install", "installed", "reattach"]

_ORIGINALS: dict[str, Any] = {}
_CONTAINERS = ("layer", "vconcat", "hconcat", "concat", "spec")
_TOKEN = "\x00keurmerk-data:"


def _has_params(chart: Any) -> bool:
    if not isinstance(chart, SchemaBase):
        return False
    params = chart._kwds.get("params", Undefined)
    if params is not Undefined and params:
        return True
    for key in _CONTAINERS:
        sub = chart._kwds.get(key, Undefined)
        if sub is Undefined:
            continue
        if any(_has_params(s) for s in (sub if isinstance(sub, list | tuple) else [sub])):
            return True
    return False


def _remove_duplicate_params(layer: list[Any]) -> list[Any]:
    if any(_has_params(chart) for chart in layer):
        return _ORIGINALS["_remove_duplicate_params"](layer)
    return list(layer)


def _combine_subchart_params(params: Any, subcharts: list[Any]) -> tuple[Any, list[Any]]:
    if any(_has_params(chart) for chart in subcharts):
        return _ORIGINALS["_combine_subchart_params"](params, subcharts)
    if params is Undefined or not params:
        return params, list(subcharts)
    if all(isinstance(p, _VARIABLE) for p in params):  # values only (figures._with_values): nothing to rename
        return list(params), list(subcharts)
    return _ORIGINALS["_combine_subchart_params"](params, subcharts)


_VARIABLE = alt.VariableParameter


_PRIMITIVES = (str, int, float, bool, type(None))


def _todict(obj: Any, context: Any, np_opt: Any, pd_opt: Any) -> Any:
    if type(obj) in _PRIMITIVES:  # exactly these types: Altair returns them as they are, after its checks
        return obj
    return _ORIGINALS["_todict"](obj, context, np_opt, pd_opt)


_REPLACEMENTS = {
    (_api, "_remove_duplicate_params"): _remove_duplicate_params,
    (_api, "_combine_subchart_params"): _combine_subchart_params,
    (_schemapi, "_todict"): _todict,
}


def install() -> bool:
    """Skip Altair's parameter copies for charts without parameters, and its checks on plain strings and numbers;
    True when installed (idempotent).

    Altair is pinned exactly (pyproject.toml); should a later version lack these functions, nothing is changed
    and charts are merely slower.
    """
    if _ORIGINALS:
        return True
    if not all(callable(getattr(module, name, None)) for module, name in _REPLACEMENTS):
        return False
    for (module, name), replacement in _REPLACEMENTS.items():
        _ORIGINALS[name] = getattr(module, name)
        setattr(module, name, replacement)
    return True


@contextmanager
def installed(active: bool) -> Iterator[None]:
    """Run a block with the shortcuts (``active``) or with Altair's own functions; for tests and benches."""
    saved = {(module, name): getattr(module, name) for module, name in _REPLACEMENTS}
    try:
        if not active:
            for module, name in _REPLACEMENTS:
                setattr(module, name, _ORIGINALS[name])
        yield
    finally:
        for (module, name), function in saved.items():
            setattr(module, name, function)


# Where a chart can hold data: its own ``data``, its subcharts, and lookups in its transforms.
_DATA_PATHS = ("data", *_CONTAINERS, "transform", "from", "from_")
_DATA_TYPES = (alt.Data, alt.InlineData)


def _inline_data(obj: Any, found: list[SchemaBase]) -> None:
    """Every inline data object (``alt.Data(values=...)``, also inside lookups) in a chart tree."""
    if isinstance(obj, list | tuple):
        for item in obj:
            _inline_data(item, found)
        return
    if not isinstance(obj, SchemaBase):
        return
    if isinstance(obj, _DATA_TYPES) and isinstance(obj._kwds.get("values"), list | dict):
        if not any(obj is seen for seen in found):  # one data object may serve several layers
            found.append(obj)
        return
    kwds = obj._kwds
    for key in _DATA_PATHS:
        value = kwds.get(key, Undefined)
        if value is not Undefined:
            _inline_data(value, found)


@contextmanager
def detached_data(chart: alt.TopLevelMixin) -> Iterator[dict[str, Any]]:
    """Inside the block the chart's inline data sets hold a token instead of their values; yields token →
    values for :func:`reattach`. The chart is restored on exit."""
    found: list[SchemaBase] = []
    _inline_data(chart, found)
    tokens: dict[str, Any] = {}
    for index, data in enumerate(found):
        token = f"{_TOKEN}{index}"
        tokens[token] = data._kwds["values"]
        data._kwds["values"] = token
    try:
        yield tokens
    finally:
        for data, values in zip(found, tokens.values(), strict=True):
            data._kwds["values"] = values


def reattach(spec: Any, tokens: dict[str, Any]) -> Any:
    """``spec`` with every token that :func:`detached_data` left put back as its values (in place)."""
    if not tokens:
        return spec
    if isinstance(spec, dict):
        for key, value in spec.items():
            if isinstance(value, str):
                if value.startswith(_TOKEN):
                    spec[key] = tokens[value]
            else:
                reattach(value, tokens)
    elif isinstance(spec, list):
        for value in spec:
            reattach(value, tokens)
    return spec
