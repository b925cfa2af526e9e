"""Experiments: same seed → same metrics; a killed run resumes; results reload instead of retraining."""
import importlib
import json

import pytest

import pinnlab
import pinnlab.train
pb = importlib.import_module("pinnlab.experiments.pinn_basics")
store_mod = importlib.import_module("pinnlab.experiments.store")

TINY = {"epochs": 40, "decay_every": 20, "patience": None, "lbfgs_iters": 5, "val_every": 10,
        "checkpoint_every": 10, "burgers_collocation": 64, "kovasznay_collocation": 64}


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    monkeypatch.setattr(pb, "schedule", lambda cfg: dict(TINY))
    monkeypatch.delenv("PINNLAB_MODE", raising=False)
    return tmp_path


def _run(monkeypatch, root):
    monkeypatch.setenv("PINNLAB_RESULTS", str(root))
    cfg = pinnlab.setup("quick", seed=0, device="cpu", progress=False)
    res = pb.pinn_basics(cfg)
    return res, json.loads((root / "quick" / pb.NAME / "metrics.json").read_text())


def _strip_times(obj):
    if isinstance(obj, dict):
        return {k: _strip_times(v) for k, v in obj.items() if "wall_time" not in k and k != "commit"}
    return obj


def test_same_seed_same_metrics(tiny, monkeypatch):
    _, a = _run(monkeypatch, tiny / "a")
    _, b = _run(monkeypatch, tiny / "b")
    assert a["preset"] == "quick" and a["seed"] == 0 and "torch" in a and "device" in a
    assert _strip_times(a) == _strip_times(b)


def test_interrupted_run_resumes_to_the_same_result(tiny, monkeypatch):
    _, ref = _run(monkeypatch, tiny / "ref")

    calls = {"n": 0}
    real = pinnlab.train.loss_terms

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 25:  # in the middle of the first training, after a checkpoint
            raise KeyboardInterrupt("simulated kill")
        return real(*args, **kwargs)

    monkeypatch.setattr(pinnlab.train, "loss_terms", dying)
    with pytest.raises(KeyboardInterrupt):
        _run(monkeypatch, tiny / "killed")
    assert list((tiny / "killed" / "quick" / pb.NAME).glob("*.ckpt"))
    monkeypatch.setattr(pinnlab.train, "loss_terms", real)
    _, resumed = _run(monkeypatch, tiny / "killed")
    a, b = _strip_times(ref["results"]), _strip_times(resumed["results"])
    for part in ("burgers1d", "kovasznay_adam", "kovasznay_lbfgs"):
        for k, v in a[part].items():
            expected = pytest.approx(v, rel=1e-4, abs=1e-7) if isinstance(v, float) else v
            assert b[part][k] == expected, (part, k)


def test_second_call_reloads(tiny, monkeypatch):
    _run(monkeypatch, tiny / "c")
    monkeypatch.setattr(store_mod, "fit", lambda *a, **k: pytest.fail("retrained instead of reloading"))
    res, _ = _run(monkeypatch, tiny / "c")
    assert res.metrics["params"]["kovasznay"] == 21187
