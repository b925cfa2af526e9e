"""Every notebook runs with ``SOLUTIONS = True``: the hidden solution cells execute in place and their
``assert exercises.check_...(...)`` lines must pass (issue 12).

The notebooks' experiments cache their results (``build/results/quick``, or ``PINNLAB_RESULTS``), so
when nbval has already run a notebook this run mostly reloads; run alone it trains the quick preset.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pinnlab.config import ROOT

papermill = pytest.importorskip("papermill")

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _solution_cells(nb_path: Path) -> list[dict]:
    cells = json.loads(nb_path.read_text())["cells"]
    return [c for c in cells if "solution" in c.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_solution_cells_are_hidden_and_guarded(nb):
    sols = _solution_cells(nb)
    assert sols, f"{nb.name} has no exercise solutions (cells tagged 'solution')"
    for c in sols:
        src = "".join(c["source"])
        assert src.startswith("if SOLUTIONS:"), f"{nb.name}: a solution cell must be guarded by `if SOLUTIONS:`"
        assert c["metadata"].get("jupyter", {}).get("source_hidden") is True, f"{nb.name}: solution not hidden"
        assert "check_" in src, f"{nb.name}: a solution cell should call its exercise check"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_with_solutions(nb, tmp_path):
    out = tmp_path / nb.name
    # papermill's command line in a subprocess: run inside pytest's process, its client stalled at widget cells
    cmd = [sys.executable, "-m", "papermill", str(nb), str(out), "--cwd", str(nb.parent), "-k", "python3",
           "-p", "MODE", "quick", "-p", "SOLUTIONS", "True", "--log-level", "WARNING", "--no-progress-bar"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    executed = json.loads(out.read_text())["cells"]
    ran = [c for c in executed if "solution" in c.get("metadata", {}).get("tags", [])]
    assert ran and all(c.get("execution_count") for c in ran)
