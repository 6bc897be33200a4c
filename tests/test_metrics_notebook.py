"""The research notebook runs against the `tiny` warehouse and stays paired with its py:percent text."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "research.ipynb"


def test_notebook_and_its_text_pair_hold_the_same_cells() -> None:
    paired = jupytext.read(NOTEBOOK.with_suffix(".py"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert [(c.cell_type, c.source) for c in paired.cells] == [(c.cell_type, c.source) for c in notebook.cells]


@pytest.mark.slow
def test_research_notebook_answers_both_questions(tiny_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEURMERK_DB", str(tiny_db))
    monkeypatch.setenv("KEURMERK_PERIOD", "2021")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
                   ).execute()
    printed = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert "2021: hoogste gemiddelde cijfer bij" in printed
    assert "het grootste verschil in aandeel tevreden" in printed
