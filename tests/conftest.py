"""Shared test helpers: an experiment run in the quick preset with its results in a temporary folder,
and a training run killed midway."""
import json

import pytest

import pinnlab


class QuickRun:
    """The quick preset on the CPU (seed 0, no progress bars, no ``PINNLAB_MODE`` from the environment)
    with the experiments' results under ``root`` (``PINNLAB_RESULTS``)."""

    def __init__(self, monkeypatch, root):
        self.monkeypatch, self.root = monkeypatch, root
        monkeypatch.delenv("PINNLAB_MODE", raising=False)
        monkeypatch.setenv("PINNLAB_RESULTS", str(root))
        self.cfg = pinnlab.setup("quick", seed=0, device="cpu", progress=False)

    def metrics(self, name: str) -> dict:
        """The results in experiment ``name``'s ``metrics.json``, after checking its preset and wall time."""
        meta = json.loads((self.root / "quick" / name / "metrics.json").read_text())
        assert meta["preset"] == "quick" and "wall_time_s" in meta
        return meta["results"]

    def forbid_training(self, module, *names: str) -> None:
        """Make each training function ``module.<name>`` fail the test if it is called (a rerun must reload)."""
        for name in names:
            self.monkeypatch.setattr(module, name, lambda *a, **k: pytest.fail("retrained instead of reloading"))


@pytest.fixture
def quick_run(monkeypatch, tmp_path) -> QuickRun:
    return QuickRun(monkeypatch, tmp_path)


@pytest.fixture
def killed_at():
    """``killed_at(run, epoch)`` calls ``run(callback=...)`` with a callback that raises ``KeyboardInterrupt``
    at ``epoch``, as if the process were killed there; the test fails if the run is not interrupted."""

    def run_killed(run, epoch: int) -> None:
        def kill(e, terms):
            if e == epoch:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run(callback=kill)

    return run_killed
