"""The layers point one way (docs/architecture.md): a lower layer never imports a higher one.

Each check runs in a fresh interpreter, since this test process has imported everything already."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import keurmerk

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


# Checked on the import statements, since `import keurmerk` itself loads the research API (keurmerk.api, which
# imports the metrics): (package, package it must not reach through its own imports).
STATIC_LAYERS = [
    # publication (the per-provider cells and cubes) is the warehouse's: ingest never calls the metrics
    ("keurmerk.ingest", "keurmerk.metrics"),
    ("keurmerk.warehouse", "keurmerk.metrics"),
]


def _imports(module: str) -> set[str]:
    """The keurmerk modules that ``module`` (a module or package) imports, directly or through each other."""
    root = Path(keurmerk.__file__).parent

    def source(name: str) -> Path | None:
        path = root.joinpath(*name.split(".")[1:])
        for candidate in (path / "__init__.py", path.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    seen, todo = set(), [module]
    if (package := source(module)) and package.name == "__init__.py":
        todo += [f"{module}.{p.stem}" for p in package.parent.glob("*.py") if p.stem != "__init__"]
    while todo:
        name = todo.pop()
        if name in seen or name == "keurmerk" or (path := source(name)) is None:
            continue
        seen.add(name)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                todo += [a.name for a in node.names if a.name.startswith("keurmerk.")]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("keurmerk"):
                todo += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return seen


@pytest.mark.parametrize(("module", "absent"), STATIC_LAYERS)
def test_lower_layer_imports_no_higher_one(module, absent):
    reached = sorted(m for m in _imports(module) if m == absent or m.startswith(absent + "."))
    assert not reached, f"{module} imports {reached}"


def test_the_static_check_sees_imports():
    """The check above would see the old call into the metrics: the report reaches them."""
    assert "keurmerk.metrics" in _imports("keurmerk.report")
