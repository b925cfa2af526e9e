"""Notebook 01: one PINN on a 1D Burgers GRF task and one on Kovasznay flow.

Both use Paper A's base network (tanh MLP, six hidden layers of width 64, which is what
its parameter counts 21,057 / 21,187 imply), Adam with step decay and an L-BFGS polish.
The Kovasznay run is saved after Adam and after L-BFGS so the two can be compared.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import metrics
from ..config import Config
from ..models import MLP
from ..pdes import Burgers1D, Burgers2D, Kovasznay, grf
from ..train import sample_points
from .store import Store

NAME = "01_pinn_basics"
HIDDEN = [64] * 6


def base_widths(n_in: int, n_out: int) -> list[int]:
    """Paper A's base PINN: ``[n_in, 64, 64, 64, 64, 64, 64, n_out]``."""
    return [n_in, *HIDDEN, n_out]


def schedule(cfg: Config) -> dict:
    """Adam/L-BFGS sizes per preset (Paper A: 30k Adam epochs max, ×0.1 every 10k)."""
    epochs = cfg.pick(quick=1000, medium=10000, full=30000)
    return {
        "epochs": epochs,
        "decay_every": cfg.pick(quick=500, medium=4000, full=10000),
        "patience": cfg.pick(quick=None, medium=1000, full=1000),
        "lbfgs_iters": cfg.pick(quick=200, medium=2000, full=5000),
        "val_every": cfg.pick(quick=50, medium=100, full=100),
        "checkpoint_every": cfg.pick(quick=250, medium=500, full=500),
        "burgers_collocation": cfg.pick(quick=1000, medium=10000, full=10000),
        "kovasznay_collocation": cfg.pick(quick=1000, medium=2601, full=2601),
    }


@dataclass
class PinnBasics:
    """Results of :func:`pinn_basics` (models on ``cfg.device``, arrays in numpy)."""

    cfg: Config
    burgers: Burgers1D
    burgers_model: MLP
    burgers_history: dict
    kovasznay: Kovasznay
    kovasznay_adam: MLP
    kovasznay_model: MLP
    kovasznay_history: dict
    kovasznay_lbfgs_history: dict
    metrics: dict

    def predict(self, model: torch.nn.Module, points: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return model(points.to(self.cfg.device, self.cfg.dtype)).double().cpu().numpy()


def _eval_burgers(model, pde: Burgers1D, cfg: Config) -> dict:
    x, t, U = pde.reference_grid()
    X, T = np.meshgrid(x, t, indexing="xy")
    pts = torch.tensor(np.stack([X.ravel(), T.ravel()], 1), dtype=cfg.dtype, device=cfg.device)
    with torch.no_grad():
        pred = model(pts).double().cpu().numpy().reshape(U.shape)
    return metrics.all_metrics(pred, U)


def _eval_kovasznay(model, pde: Kovasznay, cfg: Config) -> dict:
    X, _ = pde.grid(101)
    ref = pde.solution(X).numpy()
    with torch.no_grad():
        pred = model(X.to(cfg.device, cfg.dtype)).double().cpu().numpy()
    out = {name: metrics.rel_l2(pred[:, i], ref[:, i]) for i, name in enumerate(pde.outputs)}
    out["mean_rel_l2"] = float(np.mean([out[k] for k in pde.outputs]))
    out["mse"] = metrics.mse(pred, ref)
    return out


def burgers2d_sign_check(nu: float = 0.01, n: int = 41) -> dict:
    """Residuals of the corrected exact 2D Burgers solution and of Paper A's printed one.

    Returns max |residual| of each on an ``n³`` float64 grid of (x, y, t) and the
    residual maps at t = 0.5 (``[n, n]`` per output) for plotting.
    """
    pde = Burgers2D(nu)
    pts, shape = pde.grid(n)
    fixed, fshape = pde.grid(n, fixed={"t": 0.5})
    out = {"nu": nu}
    for key, fn in (("corrected", pde.solution), ("paper", pde.paper_solution)):
        out[f"{key}_max_residual"] = pde.residual(fn, pts).abs().max().item()
        out[f"{key}_map"] = pde.residual(fn, fixed).detach().numpy().reshape(*fshape, 2)
    return out


def pinn_basics(cfg: Config) -> PinnBasics:
    """Train (or reload) notebook 01's PINNs for ``cfg``'s preset; write ``metrics.json``.

    1D Burgers: GRF initial condition number 0 (seed 0) on 128 grid points, ν = 0.01,
    128 IC points, periodic boundary pairs, collocation points (10k in the paper).
    Kovasznay: Re = 40, 2601 collocation and 320 boundary points (80 per face).
    """
    store = Store(cfg, NAME)
    sch = schedule(cfg)
    common = dict(epochs=sch["epochs"], decay_every=sch["decay_every"], patience=sch["patience"],
                  val_every=sch["val_every"], checkpoint_every=sch["checkpoint_every"], desc="")

    # 1D Burgers, one GRF task
    burgers = Burgers1D(grf(1, 128, seed=cfg.seed)[0], nu=0.01)
    n_col = sch["burgers_collocation"]
    pts = sample_points(burgers, n_col, 128, 256, cfg.generator(10), cfg.dtype)
    val = sample_points(burgers, n_col, 128, 256, cfg.generator(11), cfg.dtype)
    bmodel = MLP(base_widths(2, 1), generator=cfg.generator(12))
    bres = store.fit("burgers1d", bmodel, burgers, points=pts, val_points=val,
                     lbfgs_iters=sch["lbfgs_iters"], **{**common, "desc": "Burgers 1D"})

    # Kovasznay: Adam, then L-BFGS from the Adam state
    kov = Kovasznay(40.0)
    n_col = sch["kovasznay_collocation"]
    pts = sample_points(kov, n_col, 0, 320, cfg.generator(20), cfg.dtype)
    val = sample_points(kov, n_col, 0, 320, cfg.generator(21), cfg.dtype)
    kadam = MLP(base_widths(2, 3), generator=cfg.generator(22))
    kres = store.fit("kovasznay_adam", kadam, kov, points=pts, val_points=val, **{**common, "desc": "Kovasznay"})
    kmodel = MLP(base_widths(2, 3)).to(cfg.device, cfg.dtype)
    kmodel.load_state_dict(kadam.state_dict())
    kl = store.fit("kovasznay_lbfgs", kmodel, kov, points=pts, val_points=val, epochs=0,
                   lbfgs_iters=sch["lbfgs_iters"], desc="Kovasznay L-BFGS")

    results = {
        "schedule": sch,
        "params": {"burgers1d": bmodel.count_params(), "kovasznay": kadam.count_params()},
        "burgers1d": {**_eval_burgers(bmodel, burgers, cfg), "epochs": bres.epochs, "status": bres.status,
                      "wall_time_s": bres.wall_time_s, "adam_wall_time_s": bres.adam_wall_time_s},
        "kovasznay_adam": {**_eval_kovasznay(kadam, kov, cfg), "epochs": kres.epochs,
                           "wall_time_s": kres.wall_time_s, "status": kres.status},
        "kovasznay_lbfgs": {**_eval_kovasznay(kmodel, kov, cfg), "wall_time_s": kl.wall_time_s,
                            "lbfgs_iters": (kl.history["lbfgs_epoch"] or [0])[-1]},
    }
    wall = bres.wall_time_s + kres.wall_time_s + kl.wall_time_s
    store.write_metrics(results, wall_time_s=wall)
    return PinnBasics(cfg, burgers, bmodel, bres.history, kov, kadam, kmodel, kres.history, kl.history, results)
