"""The layers point one way (docs/architecture.md): a lower layer never imports a higher one.

Each check runs in a fresh interpreter, since this test process has imported everything already."""

import subprocess
import sys

import pytest

# (module imported, module that must stay unloaded): why
LAYERS = [
    # a report worker needs no widgets: ipywidgets, anywidget and the dashboard apps stay out of it
    ("keurmerk.report", "keurmerk.dashboard"),
    ("keurmerk.pieces", "keurmerk.dashboard"),
    ("keurmerk.metrics", "keurmerk.charts"),
    ("keurmerk.charts", "keurmerk.dashboard"),
]


@pytest.mark.parametrize(("module", "absent"), LAYERS)
def test_lower_layer_does_not_import_higher(module, absent):
    code = f"import {module}, sys; assert not any(m == {absent!r} or m.startswith({absent + '.'!r}) for m in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"{module} imports {absent}:\n{result.stderr}"
