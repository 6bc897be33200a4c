"""What a dashboard kernel loads: the provider dashboard prepared and opened for a provider reads its frames from
DuckDB without pyarrow (keurmerk.warehouse.polars_frame), which would add ~50 MB to every kernel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from keurmerk.access import QUERY_PARAMETER, make_token
from keurmerk.dashboard import ProviderApp

app = ProviderApp.prepare(sys.argv[1])
page = app.open({QUERY_PARAMETER: make_token("P0000", secret=b"footprint")})
assert "km-dashboard" in page._dom_classes, page
app.close()
print(sorted(name for name in ("pyarrow", "numpy", "pandas") if name in sys.modules))
"""


def test_a_dashboard_kernel_reads_its_frames_without_pyarrow(tiny_db: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tiny_db)],
        capture_output=True,
        text=True,
        env={"KEURMERK_SECRET": "footprint", "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert "leaked" not in done.stderr  # DuckDB 2.0.0's Arrow stream left nanobind objects behind at exit


def test_the_fork_server_reads_the_locale_the_numbers_are_formatted_in() -> None:
    from keurmerk.formatting import LOCALE
    from keurmerk.kernel_fork import NUMBER_LOCALE

    assert NUMBER_LOCALE == LOCALE


def test_forked_kernels_start_without_a_debugger() -> None:
    """The fork server's kernels have no debugpy: ipykernel finds no debugger to offer (kernel_info says so, debug
    requests get no answer), and no kernel pays for importing it."""
    script = """
import importlib, sys
from keurmerk.kernel_fork import BLOCKED, PRELOAD, preload
assert all(importlib.util.find_spec(name) is not None for name in BLOCKED)  # installed: blocked, not missing
preload()
try:
    import debugpy
except ImportError:
    blocked = True
else:
    blocked = False
from ipykernel import debugger
print(blocked, debugger._is_debugpy_available, "ipykernel.debugger" in PRELOAD)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "True"]


def test_a_fork_server_whose_voila_is_already_gone_ends_at_once(tmp_path: Path) -> None:
    """Voilà ending while its fork server still starts (before the parent-death signal is set) leaves no fork
    server behind: it checks that its parent is still the Voilà that started it, and ends with its folder."""
    from keurmerk import kernel_fork

    folder = tmp_path / "fork"
    folder.mkdir(mode=0o700)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    started = subprocess.Popen([sys.executable, kernel_fork.__file__, str(folder / "fork.sock"), gone.stdout.strip()])
    assert started.wait(timeout=60) == 0
    assert not folder.exists()
