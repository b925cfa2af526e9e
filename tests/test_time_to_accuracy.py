"""The pure helpers of benchmarks/time_to_accuracy.py (no training)."""
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import time_to_accuracy as tta  # noqa: E402

from pinnlab import train  # noqa: E402
from pinnlab.pdes import Kovasznay  # noqa: E402


def test_rel_errors_compare_p_up_to_a_constant():
    pde = Kovasznay(40.0)
    X, _ = pde.grid(21)
    ref = pde.solution(X).numpy()
    shifted = ref.copy()
    shifted[:, 2] += 3.7  # the pressure is defined up to a constant
    e = tta.rel_errors(shifted, ref)
    assert e["u"] == 0.0 and e["v"] == 0.0 and e["p"] < 1e-12 and e["mean"] < 1e-12
    wrong = ref.copy()
    wrong[:, 0] *= 1.1  # u off by 10 %: its relative error is 0.1, the mean a third of it
    e = tta.rel_errors(wrong, ref)
    assert e["u"] == pytest.approx(0.1) and e["v"] == 0.0 and e["mean"] == pytest.approx(0.1 / 3)
    assert tta.rel_errors(np.zeros_like(ref), ref)["mean"] == pytest.approx(1.0)


def test_first_crossing_takes_the_first_time_at_or_below_the_level():
    ts = [0.0, 1.0, 2.0, 3.0, 4.0]
    errs = [1.0, 0.2, 0.1, 0.05, 0.2]
    assert tta.first_crossing(ts, errs, 0.1) == 2.0  # at the level counts
    assert tta.first_crossing(ts, errs, 0.15) == 2.0
    assert tta.first_crossing(ts, errs, 1.0) == 0.0
    assert tta.first_crossing(ts, errs, 0.01) is None
    assert tta.first_crossing([0.0, 1.0], [float("nan"), 0.5], 0.9) == 1.0
    assert tta.first_crossing([], [], 0.1) is None


def test_verdict():
    assert tta.verdict(None, 100.0) == (False, "not met (pinnlab did not reach it)")
    assert tta.verdict(10.0, 30.0)[0] is True
    assert tta.verdict(10.0, 29.0)[0] is False
    assert tta.verdict(10.0, None, ref_ran_s=50.0)[0] is True  # the reference needs more than 5x
    met, words = tta.verdict(10.0, None, ref_ran_s=20.0)
    assert met is None and "undecided" in words
    assert tta.verdict(100.0, None, ref_ran_s=20.0, ref_finished=True)[0] is True


def test_pinnlab_lbfgs_options_are_the_trainers():
    """The benchmark's pinnlab L-BFGS is built like ``pinnlab.train._lbfgs``'s optimizer."""
    seen = {}

    class Stop(Exception):
        pass

    def fake(params, **kw):
        seen.update(kw)
        raise Stop

    net = torch.nn.Linear(2, 3)
    with mock.patch.object(torch.optim, "LBFGS", fake), pytest.raises(Stop):
        train._lbfgs(net, None, None, {}, 10, False, None, SimpleNamespace(progress=False), "x")
    seen.pop("max_iter")
    assert seen == tta.PINNLAB_LBFGS


def test_full_preset_is_the_issues_setting():
    assert set(tta.PRESETS["quick"]) == set(tta.PRESETS["full"])
    assert tta.PRESETS["full"] == dict(adam_steps=20_000, lbfgs_steps=5_000, budget_s=1800.0, eval_every=100)
