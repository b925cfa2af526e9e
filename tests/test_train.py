"""The trainer: loss falls, NaN guard, resume from a checkpoint, L-BFGS, config and metrics."""
import json
import math
from functools import partial

import numpy as np
import pytest
import torch

import pinnlab
from pinnlab import metrics
from pinnlab.models import MLP
from pinnlab.pdes import CDR, Kovasznay
from pinnlab.train import fit, load_checkpoint, sample_points


@pytest.fixture
def cfg():
    return pinnlab.setup("quick", seed=0, device="cpu", progress=False)


def _small(pde, cfg, seed=0):
    return MLP([pde.dim, 20, 20, len(pde.outputs)], generator=torch.Generator().manual_seed(seed))


def test_tiny_pinn_loss_falls(cfg):
    pde = CDR(beta=1.0, ic="sin")
    model = _small(pde, cfg)
    res = fit(model, pde, cfg, epochs=300, lr=5e-3, decay_every=1000,
              n_points={"collocation": 256, "ic": 64, "bc": 32}, patience=None)
    h = res.history
    assert h["loss"][-1] < 0.2 * h["loss"][0]
    assert set(h) >= {"residual", "ic", "bc", "val_loss", "lr"}
    assert res.epochs == 300 and res.status == "max_epochs"


def test_lbfgs_polish_lowers_loss(cfg):
    pde = Kovasznay(40.0)
    model = _small(pde, cfg)
    pts = sample_points(pde, 200, 0, 80, cfg.generator(1))
    res = fit(model, pde, cfg, epochs=50, points=pts, patience=None, lbfgs_iters=60, lbfgs_float64=True)
    assert res.history["lbfgs_loss"][-1] < res.history["loss"][-1]
    assert next(model.parameters()).dtype == torch.float32  # back to the run dtype


def test_step_decay_schedule(cfg):
    pde = CDR(beta=1.0)
    res = fit(_small(pde, cfg), pde, cfg, epochs=30, decay_every=10, lr=1e-2, log_every=1,
              n_points={"collocation": 32, "ic": 8, "bc": 8}, patience=None)
    lrs = res.history["lr"]
    assert lrs[0] == pytest.approx(1e-2) and lrs[15] == pytest.approx(1e-3) and lrs[25] == pytest.approx(1e-4)


def test_early_stopping_restores_best(cfg):
    pde = CDR(beta=1.0)
    res = fit(_small(pde, cfg), pde, cfg, epochs=2000, lr=0.5, val_every=10, patience=50,
              n_points={"collocation": 32, "ic": 8, "bc": 8})
    assert res.status in ("early_stop", "nonfinite") and res.epochs < 2000


def test_nan_guard_stops_and_keeps_last_good(cfg, tmp_path):
    pde = CDR(beta=1.0)
    model = _small(pde, cfg)

    def poison(epoch, terms):
        if epoch == 40:
            with torch.no_grad():
                model.weights[0][0, 0] = float("nan")

    ckpt = tmp_path / "c.pt"
    with pytest.warns(RuntimeWarning, match="non-finite loss"):
        res = fit(model, pde, cfg, epochs=200, log_every=10, val_every=10, callback=poison, checkpoint=ckpt,
                  n_points={"collocation": 32, "ic": 8, "bc": 8}, patience=None)
    assert res.status == "nonfinite" and "epoch" in res.message
    assert all(torch.isfinite(p).all() for p in model.parameters())
    saved = load_checkpoint(ckpt)  # weights_only=True
    assert all(torch.isfinite(v).all() for v in saved["model"].values())


def test_resume_gives_the_same_result(cfg, tmp_path, killed_at):
    pde = CDR(beta=2.0)
    kw = dict(epochs=120, log_every=5, val_every=20, patience=None, n_points={"collocation": 64, "ic": 16, "bc": 16})
    ref = _small(pde, cfg)
    fit(ref, pde, cfg, **kw)

    # interrupted run: stop at epoch 70 by raising from the callback (last checkpoint: epoch 60), then resume
    model = _small(pde, cfg)
    ckpt = tmp_path / "run.pt"
    killed_at(partial(fit, model, pde, cfg, checkpoint=ckpt, checkpoint_every=20, **kw), 70)
    assert load_checkpoint(ckpt)["epoch"] == 60
    resumed = _small(pde, cfg, seed=99)  # different init: everything must come from the checkpoint
    res = fit(resumed, pde, cfg, checkpoint=ckpt, checkpoint_every=20, **kw)
    assert res.epochs == 120
    for a, b in zip(ref.parameters(), resumed.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    again = fit(_small(pde, cfg, seed=5), pde, cfg, checkpoint=ckpt, **kw)  # finished: returns at once
    assert again.epochs == 120


def test_autograd_fallback_for_plain_modules(cfg):
    pde = CDR(beta=1.0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    res = fit(net, pde, cfg, epochs=100, n_points={"collocation": 64, "ic": 16, "bc": 16}, patience=None)
    assert res.history["loss"][-1] < res.history["loss"][0]


def test_bad_arguments(cfg, monkeypatch):
    monkeypatch.delenv("PINNLAB_MODE", raising=False)
    pde = CDR(beta=1.0)
    with pytest.raises(ValueError, match="residual, ic, bc"):
        fit(_small(pde, cfg), pde, cfg, epochs=1, weights={"physics": 1.0})
    with pytest.raises(ValueError, match="quick"):
        pinnlab.setup(mode="fast")
    with pytest.raises(ValueError, match="cpu"):
        pinnlab.setup(device="tpu")


def test_pick_and_env_override(monkeypatch):
    monkeypatch.setenv("PINNLAB_MODE", "medium")
    cfg = pinnlab.setup("full", progress=False)
    assert cfg.mode == "medium" and cfg.pick(quick=1, full=3) == 3 and cfg.pick(quick=1, medium=2, full=3) == 2
    monkeypatch.setenv("PINNLAB_MODE", "huge")
    with pytest.raises(ValueError, match="PINNLAB_MODE"):
        pinnlab.setup("quick")
    monkeypatch.delenv("PINNLAB_MODE")
    monkeypatch.setenv("PINNLAB_DEVICE", "cpu")
    assert pinnlab.setup("quick", device="auto", progress=False).device.type == "cpu"
    monkeypatch.setenv("PINNLAB_DEVICE", "tpu")
    with pytest.raises(ValueError, match="PINNLAB_DEVICE"):
        pinnlab.setup("quick")


def test_metrics():
    ref = np.array([1.0, 2.0, 3.0])
    assert metrics.mse(ref, ref) == 0 and metrics.rel_l2(ref + 0.1, ref) == pytest.approx(0.1 * math.sqrt(3) / math.sqrt(14))
    assert metrics.mae(ref + 1, ref) == pytest.approx(1.0) and metrics.max_err(ref * 2, ref) == pytest.approx(3.0)
    assert metrics.explained_variance(ref + 5, ref) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        metrics.mse(ref, ref[:2])
    json.dumps(metrics.all_metrics(torch.tensor(ref), ref))


def test_lbfgs_chunks_go_on_when_a_chunk_runs_out_of_evaluations():
    """Short chunks end on their function-evaluation budget (strong-Wolfe line searches spend
    several); that is not convergence: L-BFGS must go on to the minimum of the Rosenbrock function."""
    from pinnlab.train import lbfgs_chunks

    x = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    steps = list(lbfgs_chunks([x], lambda: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2, 200,
                              desc="rosenbrock", progress=False, chunk=3))
    assert steps[-1][1] < 1e-12 and torch.allclose(x.detach(), torch.ones(2, dtype=torch.float64), atol=1e-6)
    assert len(steps) > 3 and all(b[0] > a[0] for a, b in zip(steps, steps[1:]))


def test_lbfgs_polish_restores_the_start_on_a_non_finite_loss():
    """A loss that turns to NaN mid-polish: ``lbfgs_polish`` reports it and puts back the parameters
    from before L-BFGS (float32 again after a float64 polish)."""
    from pinnlab.train import Points, lbfgs_polish

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    pts = Points(collocation=torch.rand(64, 2))
    calls, seen = [], []

    def loss_of(p: Points) -> torch.Tensor:  # a fit that takes more than one chunk; NaN after the first
        calls.append(p.collocation.dtype)
        x = p.collocation
        loss = (model(x)[:, 0] - torch.sin(6 * x[:, 0]) * torch.cos(6 * x[:, 1])).pow(2).mean()
        return loss * float("nan") if seen else loss

    ok = lbfgs_polish(model, loss_of, pts, 200, float64=True, desc="nan", progress=False,
                      record=lambda done, loss: seen.append(loss))
    assert not ok and calls[0] == torch.float64 and seen and all(math.isfinite(v) for v in seen)
    assert all(torch.equal(v, start[k]) for k, v in model.state_dict().items())
    assert next(model.parameters()).dtype == torch.float32
