"""Notebook 05: parameterized CDR (Paper B, Table 4) and the 2D Helmholtz equation (Paper B, Figure 7).

``cdr_helmholtz(cfg)`` runs (or reloads) every training of the notebook and returns a
:class:`CDRHelmholtz`:

* **Table 4** — relative errors ``‖u − û‖₂/‖u‖₂`` on the 256 × 100 grid, Gaussian initial condition
  ``exp(−(x − π)²/(2(π/2)²))``, for three families: convection (β ∈ {1, …, 5}, ν = ρ = 0), reaction
  (ρ ∈ {1, …, 5}, β = ν = 0) and convection–diffusion–reaction ((β, ν, ρ) triples from {1, …, 5}³).
  Methods: a PINN per task, PINN-P, PINN-S2S, first-order MAML and Reptile (full-rank
  LR-PINN, meta-trained per family, then fine-tuned per task) and Hyper-LR-PINN (Phase 1 per
  family on its tasks, Phase 2 per task, full rank). Every method trains all tasks of a family (the
  PINN and PINN-S2S: of all families) as one batched model.
* **Reaction failure** — the per-task PINN over ρ ∈ {1, …, 5} and beyond (ρ ≥ 5 is Paper B's failure mode).
* **Figure 7** — 2D Helmholtz ``u_xx + u_yy + k²u = q``, exact ``u = sin(aπx) sin(aπy)`` on [−1, 1]², k = 1:
  Phase 1 on a ∈ {2.0, 2.1, …, 3.0}; Phase 2 for 10 epochs against a PINN trained 2,000 epochs, at
  a = 2.5 and at an a that Phase 1 never saw.

Every run is cached in the experiment's :class:`~pinnlab.experiments.store.Store` (state dict +
history) and checkpointed while it trains, so a killed run resumes and a second call reloads.
"""
from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from .. import baselines
from ..baselines_p import (PDE_TYPES, PINNP, S2S, VARYING, cdr_fit, cdr_reference, family_tasks, fit_pinn_p,
                           fit_s2s, fit_stacked, param_range, phase1_mu, spec_for, stack_mu)
from ..cdr_tasks import Schedule, errors, eval_grid, predict_grid
from ..config import ROOT, Config
from ..engine import DerivSpec, mlp_forward, mlp_jet
from ..hyperlr import HyperLRPINN
from ..pdes.helmholtz import Helmholtz
from .store import Store

NAME = "05_parameterized_cdr_and_helmholtz"
METHODS = ("pinn", "pinn_p", "pinn_s2s", "maml", "reptile", "hyper_lr")
METHOD_LABELS = {"pinn": "PINN", "pinn_p": "PINN-P", "pinn_s2s": "PINN-S2S", "maml": "MAML (first-order)",
                 "reptile": "Reptile", "hyper_lr": "Hyper-LR-PINN"}
TYPE_LABELS = {"convection": "Convection", "reaction": "Reaction", "cdr": "Conv-Diff-Reac"}
#: Paper B, Table 4 (relative error, β, ν, ρ ∈ [1, 5], Gaussian IC)
PAPER_TABLE4 = {
    "convection": {"pinn": 0.0327, "pinn_p": 0.0217, "pinn_s2s": 0.2160, "maml": 0.1036, "reptile": 0.0347,
                   "hyper_lr": 0.0085},
    "reaction": {"pinn": 0.3907, "pinn_p": 0.2024, "pinn_s2s": 0.5907, "maml": 0.0057, "reptile": 0.0064,
                 "hyper_lr": 0.0045},
    "cdr": {"pinn": 0.2210, "pinn_p": 0.2308, "pinn_s2s": 0.5983, "maml": 0.0144, "reptile": 0.0701,
            "hyper_lr": 0.0329},
}
#: Paper B's set-up for Figure 7
PAPER_FIG7 = {"phase2_epochs": 10, "pinn_epochs": 2000, "a_train": "2.0, 2.1, …, 3.0", "a_show": 2.5}


def _grid3(values: Sequence[float]) -> list[tuple[float, float, float]]:
    return [(float(b), float(n), float(r)) for b in values for n in values for r in values]


def settings(cfg: Config) -> dict:
    """Sizes per preset. ``full`` is Paper B's set-up (Adam lr 2.5e-4, 20k full-batch epochs, N_f = 1000,
    all of {1, …, 5} and {1, …, 5}³; Figure 7: Phase 1 on 11 values of a, Phase 2 10 epochs, PINN 2,000);
    ``medium`` keeps the models and losses with fewer tasks and epochs; ``quick`` runs every code path
    with tiny sizes (nothing converges)."""
    one_to_five = [1.0, 2.0, 3.0, 4.0, 5.0]
    corners = [(b, n, r) for b in (1.0, 5.0) for n in (1.0, 5.0) for r in (1.0, 5.0)] + [(3.0, 3.0, 3.0)]
    return {
        "n_collocation": cfg.pick(quick=200, medium=500, full=1000),
        "n_ic": cfg.pick(quick=128, medium=256, full=256),
        "n_bc": cfg.pick(quick=50, medium=100, full=100),
        "lr": cfg.pick(quick=2e-3, medium=1e-3, full=2.5e-4),
        "values": {"convection": cfg.pick(quick=[1.0, 3.0, 5.0], full=one_to_five),
                   "reaction": cfg.pick(quick=[1.0, 3.0, 5.0], full=one_to_five),
                   "cdr": cfg.pick(quick=[(1.0, 1.0, 1.0), (3.0, 3.0, 3.0), (5.0, 5.0, 5.0)], medium=corners,
                                   full=_grid3(one_to_five))},
        "reaction_sweep": cfg.pick(quick=[8.0], medium=[7.0, 10.0], full=[6.0, 7.0, 8.0, 10.0]),
        "scratch_epochs": cfg.pick(quick=500, medium=3000, full=20000),
        "phase1_epochs": cfg.pick(quick=800, medium=3000, full=20000),
        "phase2_epochs": cfg.pick(quick=150, medium=1000, full=10000),
        "meta_epochs": cfg.pick(quick=30, medium=300, full=5000),
        "inner_steps": cfg.pick(quick=3, medium=5, full=5),
        "inner_lr": 1e-3,
        "s2s_segments": cfg.pick(quick=2, medium=5, full=10),
        "failure_threshold": 0.1,
        # Figure 7
        "helm_k": 1.0,
        "helm_a_train": cfg.pick(quick=[2.0, 2.5, 3.0], full=[round(2.0 + 0.1 * i, 6) for i in range(11)]),
        "helm_a_show": 2.5,
        "helm_a_unseen": 2.75,
        "helm_collocation": cfg.pick(quick=400, medium=800, full=2000),
        "helm_bc_per_face": cfg.pick(quick=50, medium=100, full=100),
        "helm_phase1_epochs": cfg.pick(quick=600, medium=3000, full=20000),
        "helm_phase2_epochs": 10,
        "helm_pinn_epochs": cfg.pick(quick=500, medium=2000, full=2000),
        "helm_grid": 101,
        "eval_every": cfg.pick(quick=50, medium=250, full=500),
        "log_every": cfg.pick(quick=5, medium=20, full=20),
        "checkpoint_every": cfg.pick(quick=100, medium=500, full=1000),
    }


def _schedule(s: dict, epochs: int, n_collocation: Optional[int] = None) -> Schedule:
    return Schedule(epochs=epochs, lr=s["lr"], n_collocation=n_collocation or s["n_collocation"], n_ic=s["n_ic"],
                    n_bc=s["n_bc"], log_every=s["log_every"], eval_every=s["eval_every"],
                    checkpoint_every=s["checkpoint_every"])


def _mu_key(m) -> str:
    return "beta_{:g}_nu_{:g}_rho_{:g}".format(*m)


def _wall(h: dict) -> float:
    w = float(h.get("wall_time_s", 0.0) or 0.0)
    return w


# ============================================================================ Helmholtz tasks
def stack_helmholtz(a_values: Sequence[float], k: float = 1.0, device=None,
                    dtype: torch.dtype = torch.float32) -> Helmholtz:
    """One :class:`~pinnlab.pdes.Helmholtz` with ``a1 = a2 = a`` as ``[T, 1, 1]`` tensors."""
    pde = copy.copy(Helmholtz(float(a_values[0]), float(a_values[0]), k))
    a = torch.as_tensor([float(v) for v in a_values], dtype=dtype, device=device).reshape(-1, 1, 1)
    pde.a1, pde.a2 = a, a
    return pde


def helmholtz_exact(a: float, points: torch.Tensor) -> torch.Tensor:
    """``sin(aπx) sin(aπy)`` ``[..., N, 1]`` at points ``[..., N, 2]`` (a may be a ``[T, 1, 1]`` tensor)."""
    return torch.sin(a * math.pi * points[..., 0:1]) * torch.sin(a * math.pi * points[..., 1:2])


def helmholtz_grid(n: int = 101) -> tuple[np.ndarray, torch.Tensor]:
    """``(x [n], points [n·n, 2])`` on [−1, 1]², row-major ``[y, x]`` (values reshape to ``[n, n]``)."""
    x = np.linspace(-1.0, 1.0, n)
    Y, X = np.meshgrid(x, x, indexing="ij")
    return x, torch.tensor(np.stack([X.ravel(), Y.ravel()], 1))


def helmholtz_losses(get_layers: Callable, a_values: Sequence[float], n_collocation: int, per_face: int, k: float = 1.0,
                     generator: Optional[torch.Generator] = None, device=None,
                     dtype: torch.dtype = torch.float32) -> Callable[[], dict[str, torch.Tensor]]:
    """Per-task Helmholtz terms ``{"residual", "bc"}`` ``[T]`` of the layers ``get_layers()``.

    The residual is divided by ``√(π²(a1² + a2²) − k²)`` — our choice of loss weight, between two poor
    extremes: the raw residual is about 120 × the solution (the forcing's size) and drowns the boundary
    term; dividing by the full factor makes smooth interior errors (whose residual is small) almost
    free. No weighting makes this problem easy for a PINN (that is Figure 7's point). Collocation points
    ``[T, N_f, 2]`` are uniform per task; the Dirichlet data are the exact solution on ``per_face``
    uniformly spaced points of each of the four faces (shared by the tasks).
    """
    T = len(a_values)
    pde = stack_helmholtz(a_values, k, device, dtype)
    col = (torch.rand(T, n_collocation, 2, generator=generator, dtype=torch.float64) * 2 - 1).to(device, dtype)
    s = torch.linspace(-1.0, 1.0, per_face, dtype=torch.float64)
    one = torch.ones_like(s)
    bc = torch.cat([torch.stack([-one, s], 1), torch.stack([one, s], 1), torch.stack([s, -one], 1),
                    torch.stack([s, one], 1)]).to(device, dtype)
    a = pde.a1
    g = helmholtz_exact(a, bc.expand(T, *bc.shape))  # [T, 4 per_face, 1]
    scale = torch.sqrt(math.pi**2 * (a**2 + a**2) - k**2)
    spec = DerivSpec(first=(0, 1), second=(0, 1))

    def losses() -> dict[str, torch.Tensor]:
        layers = get_layers()
        jet = mlp_jet(layers, col, spec)
        res = (pde.residual_from_jet(jet, col) / scale).pow(2).mean(dim=(-2, -1))
        bcv = (mlp_forward(layers, bc) - g).pow(2).mean(dim=(-2, -1))
        res, bcv = torch.broadcast_tensors(res, bcv)
        return {"residual": res, "bc": bcv}

    return losses


def helmholtz_reference(a_values: Sequence[float], n: int = 101) -> np.ndarray:
    """Exact solutions ``[T, n·n]`` on :func:`helmholtz_grid`."""
    _, P = helmholtz_grid(n)
    return np.stack([helmholtz_exact(float(a), P)[:, 0].numpy() for a in a_values])


# ============================================================================ results
@dataclass
class CDRHelmholtz:
    """Results of :func:`cdr_helmholtz` (models on ``cfg.device``)."""

    cfg: Config
    settings: dict
    metrics: dict
    hyper: dict            # pde_type -> Phase-1 HyperLRPINN
    helm_hyper: HyperLRPINN
    models: dict = field(default_factory=dict)
    histories: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ maps for plots and sliders
    @torch.no_grad()
    def cdr_maps(self, beta: float, nu: float, rho: float, nx: int = 128, nt: int = 50) -> dict:
        """Reference and the Phase-1 Hyper-LR-PINN of the CDR family (hypernetwork output, no Phase 2) at
        (β, ν, ρ), on an ``nt × nx`` grid: ``{"mu", "x", "t", "ref", "pred", "abs_err", "rel_err", "ranks"}``."""
        mu = (float(beta), float(nu), float(rho))
        x, t, P = eval_grid(nx, nt)
        ref = cdr_reference([mu], nx, nt)[0]
        model = self.hyper["cdr"]
        pred = predict_grid(model.layers([list(mu)]), P)[0].reshape(ref.shape)
        e = errors(pred[None], ref[None])
        return {"mu": mu, "x": x, "t": t, "ref": ref, "pred": pred, "abs_err": e["abs_err"][0],
                "rel_err": e["rel_err"][0], "ranks": [int(r) for r in model.ranks([list(mu)])[0]],
                "label": "Hyper-LR-PINN, Phase 1 only"}

    @torch.no_grad()
    def helmholtz_maps(self, a: float, n: int = 61) -> dict:
        """Exact solution and the Phase-1 Hyper-LR-PINN (no Phase 2) at ``a`` on an ``n × n`` grid."""
        x, P = helmholtz_grid(n)
        ref = helmholtz_reference([a], n)[0].reshape(n, n)
        pred = predict_grid(self.helm_hyper.layers([float(a)]), P)[0].reshape(n, n)
        e = errors(pred[None], ref[None])
        return {"a": float(a), "x": x, "ref": ref, "pred": pred, "abs_err": e["abs_err"][0], "rel_err": e["rel_err"][0],
                "label": "Hyper-LR-PINN, Phase 1 only"}

    def fig7_maps(self) -> list[dict]:
        """For a = shown and unseen: exact, Hyper-LR-PINN after Phase 2, PINN (stored predictions ``[n, n]``)."""
        arr = self._cache.get("fig7")
        if arr is None:
            raise RuntimeError("no Figure-7 predictions in this result")
        f7 = self.metrics["fig7"]
        n = f7["grid"]
        out = []
        for i, a in enumerate(f7["a_eval"]):
            out.append({"a": a, "x": np.linspace(-1, 1, n), "ref": arr["ref"][i].reshape(n, n),
                        "hyper": arr["hyper"][i].reshape(n, n), "pinn": arr["pinn"][i].reshape(n, n),
                        "hyper_rel": f7["hyper_rel_err"][i], "pinn_rel": f7["pinn_rel_err"][i],
                        "phase1_rel": f7["phase1_rel_err"][i]})
        return out

    def table4_rows(self) -> list[dict]:
        """Rows ``{pde_type, method, ours, paper}`` (mean relative error over the family's tasks)."""
        rows = []
        for typ in PDE_TYPES:
            for m in METHODS:
                rows.append({"pde_type": typ, "method": m, "ours": self.metrics["table4"][typ][m]["mean_rel_err"],
                             "paper": PAPER_TABLE4[typ][m]})
        return rows


# ============================================================================ the experiment
def _hyper_model(mus, seed: int, cfg: Config) -> HyperLRPINN:
    rng = param_range("", mus)
    return HyperLRPINN(param_range=rng, generator=cfg.generator(seed))


def _table4(store: Store, s: dict, cfg: Config, models: dict, histories: dict) -> tuple[dict, dict, dict]:
    """Train (or reload) every Table-4 model; return ``(table4, reaction_failure, hyper models)``."""
    fam = {t: family_tasks(t, s["values"][t]) for t in PDE_TYPES}
    _, _, P = eval_grid()
    refs = {t: cdr_reference(fam[t]) for t in PDE_TYPES}
    sweep = family_tasks("reaction", s["reaction_sweep"])
    table: dict = {t: {} for t in PDE_TYPES}

    def record(method: str, typ: str, pred: np.ndarray) -> None:
        e = errors(pred, refs[typ])
        table[typ][method] = {"mean_rel_err": float(np.mean(e["rel_err"])), "mean_abs_err": float(np.mean(e["abs_err"])),
                              "per_task": {_mu_key(m): {"rel_err": r, "abs_err": a}
                                           for m, r, a in zip(fam[typ], e["rel_err"], e["abs_err"])}}

    # ---- PINN per task and PINN-S2S: every task of every family in one stacked model
    all_mus = [m for t in PDE_TYPES for m in fam[t]]
    pinn_mus = all_mus + sweep
    pinn = baselines.vanilla_pinn(len(pinn_mus), generator=cfg.generator(100))
    histories["pinn"] = store.trained("pinn", pinn, lambda checkpoint: cdr_fit(
        pinn, pinn_mus, _schedule(s, s["scratch_epochs"]), device=cfg.device, dtype=cfg.dtype,
        generator=cfg.generator(101), checkpoint=checkpoint, progress=cfg.progress, desc="PINN (every task)"))
    models["pinn"] = pinn
    pred = predict_grid(pinn.layers(), P)
    a = 0
    for t in PDE_TYPES:
        record("pinn", t, pred[a:a + len(fam[t])])
        a += len(fam[t])
    # the reaction failure: PINN error against ρ (Table-4 values and the sweep beyond)
    rho_mus = fam["reaction"] + sweep
    idx = [pinn_mus.index(m) for m in rho_mus]
    er = errors(pred[idx], cdr_reference(rho_mus))
    order = np.argsort([m[2] for m in rho_mus])
    reaction = {"rho": [rho_mus[i][2] for i in order], "rel_err": [er["rel_err"][i] for i in order],
                "abs_err": [er["abs_err"][i] for i in order], "threshold": s["failure_threshold"],
                "epochs": s["scratch_epochs"]}
    failing = [r for r, e in zip(reaction["rho"], reaction["rel_err"]) if e > s["failure_threshold"]]
    reaction["failure_rho"] = min(failing) if failing else None

    s2s = S2S(len(all_mus), s["s2s_segments"], generator=cfg.generator(110))
    sdir = store.dir / "s2s"
    sdir.mkdir(exist_ok=True)
    histories["pinn_s2s"] = store.trained("pinn_s2s", s2s, lambda checkpoint: fit_s2s(
        s2s, all_mus, _schedule(s, s["scratch_epochs"]), device=cfg.device, dtype=cfg.dtype,
        generator=cfg.generator(111), checkpoint_dir=sdir, progress=cfg.progress))
    models["pinn_s2s"] = s2s
    pred = s2s.predict(P)
    a = 0
    for t in PDE_TYPES:
        record("pinn_s2s", t, pred[a:a + len(fam[t])])
        a += len(fam[t])

    # ---- per family: PINN-P, MAML, Reptile, Hyper-LR-PINN
    hyper = {}
    for j, t in enumerate(PDE_TYPES):
        mus = fam[t]
        T = len(mus)
        rng = param_range(t, mus)
        pp = PINNP(VARYING[t], [rng[v] for v in VARYING[t]], generator=cfg.generator(120 + j))
        histories[f"pinn_p_{t}"] = store.trained(f"pinn_p_{t}", pp, lambda checkpoint, pp=pp, mus=mus, t=t: fit_pinn_p(
            pp, mus, _schedule(s, s["scratch_epochs"]), device=cfg.device, dtype=cfg.dtype,
            generator=cfg.generator(121 + j), checkpoint=checkpoint, progress=cfg.progress, desc=f"PINN-P ({t})"))
        models[f"pinn_p_{t}"] = pp
        record("pinn_p", t, pp.predict(P, mus))

        for method, label in (("fomaml", "maml"), ("reptile", "reptile")):
            init = baselines.naive_lr_pinn(50, generator=cfg.generator(130 + j))
            msched = _schedule(s, s["meta_epochs"])
            histories[f"{label}_{t}"] = store.trained(f"{label}_{t}", init,
                lambda checkpoint, init=init, msched=msched, method=method, mus=mus: baselines.meta_train(
                    init, [m[0] for m in mus], msched, method, inner_steps=s["inner_steps"], inner_lr=s["inner_lr"],
                    device=cfg.device, dtype=cfg.dtype, generator=cfg.generator(131 + j), checkpoint=checkpoint,
                    progress=cfg.progress, pde=stack_mu(mus, "gauss", cfg.device, cfg.dtype), ic="gauss",
                    spec=spec_for(mus)))
            ft = baselines.stacked_copies(init, T)
            histories[f"{label}_{t}_finetune"] = store.trained(f"{label}_{t}_finetune", ft, lambda checkpoint, ft=ft, mus=mus, label=label: cdr_fit(
                    ft, mus, _schedule(s, s["phase2_epochs"]), device=cfg.device, dtype=cfg.dtype,
                    generator=cfg.generator(132 + j), checkpoint=checkpoint, progress=cfg.progress,
                    desc=f"{label} fine-tune ({t})"))
            models[f"{label}_{t}"] = ft
            record(label, t, predict_grid(ft.layers(), P))

        model = _hyper_model(mus, 140 + j, cfg).to(cfg.device, cfg.dtype)
        histories[f"hyper_phase1_{t}"] = store.trained(f"hyper_phase1_{t}", model, lambda checkpoint, model=model, mus=mus:
                                                 phase1_mu(model, mus, _schedule(s, s["phase1_epochs"]),
                                                           device=cfg.device, dtype=cfg.dtype,
                                                           generator=cfg.generator(141 + j), checkpoint=checkpoint,
                                                           progress=cfg.progress, desc=f"Phase 1 ({t})"))
        hyper[t] = model
        net = model.phase2_model([list(m) for m in mus])
        histories[f"hyper_phase2_{t}"] = store.trained(f"hyper_phase2_{t}", net, lambda checkpoint, net=net, mus=mus:
                                                 cdr_fit(net, mus, _schedule(s, s["phase2_epochs"]), device=cfg.device,
                                                         dtype=cfg.dtype, generator=cfg.generator(142 + j),
                                                         checkpoint=checkpoint, progress=cfg.progress,
                                                         desc=f"Phase 2 ({t})"))
        models[f"hyper_lr_{t}"] = net
        record("hyper_lr", t, predict_grid(net.layers(), P))
        with torch.no_grad():
            e1 = errors(predict_grid(model.layers([list(m) for m in mus]), P), refs[t])
        table[t]["hyper_lr"]["phase1_mean_rel_err"] = float(np.mean(e1["rel_err"]))
        table[t]["hyper_lr"]["trainable_per_task"] = int(net.trainable_per_task()[0])
        table[t]["hyper_lr"]["phase1_ranks"] = model.ranks([list(m) for m in mus]).tolist()
    for t in PDE_TYPES:
        table[t]["tasks"] = [list(m) for m in fam[t]]
    reaction["pinn_tasks"] = [list(m) for m in pinn_mus]
    return table, reaction, hyper


def _fig7(store: Store, s: dict, cfg: Config, models: dict, histories: dict) -> tuple[dict, HyperLRPINN, dict]:
    """Helmholtz: Phase 1 on the training a, Phase 2 (10 epochs) and a PINN at the shown and unseen a."""
    a_train = list(s["helm_a_train"])
    a_eval = [float(s["helm_a_show"]), float(s["helm_a_unseen"])]
    k, n = s["helm_k"], s["helm_grid"]
    _, P = helmholtz_grid(n)
    ref = helmholtz_reference(a_eval, n)
    _, Pc = helmholtz_grid(41)
    refc = helmholtz_reference(a_eval, 41)
    sched = _schedule(s, s["helm_phase1_epochs"])
    model = HyperLRPINN(param_range=[(min(a_train), max(a_train))], generator=cfg.generator(200)).to(cfg.device, cfg.dtype)
    mu = model.as_mu(a_train)

    def train1(checkpoint):
        losses = helmholtz_losses(lambda: model.layers(mu), a_train, s["helm_collocation"], s["helm_bc_per_face"], k,
                                  cfg.generator(201), cfg.device, cfg.dtype)
        return fit_stacked(list(model.parameters()), losses, sched, reduce="mean",
                           penalty=lambda: model.orthogonality(sched.ortho_weight), modules=(model,),
                           checkpoint=checkpoint, progress=cfg.progress, desc="Helmholtz Phase 1")

    histories["helm_phase1"] = store.trained("helm_phase1", model, train1)

    def eval_fn(get_layers):
        return lambda: {k_: v for k_, v in errors(predict_grid(get_layers(), Pc), refc).items() if k_ != "max_err"}

    net = model.phase2_model(a_eval)
    s2 = copy.copy(sched)
    s2.epochs = s["helm_phase2_epochs"]

    def train2(checkpoint):
        losses = helmholtz_losses(net.layers, a_eval, s["helm_collocation"], s["helm_bc_per_face"], k,
                                  cfg.generator(202), cfg.device, cfg.dtype)
        return fit_stacked(list(net.parameters()), losses, s2, reduce="sum", modules=(net,),
                           eval_fn=eval_fn(net.layers), eval_at=lambda e: True, checkpoint=checkpoint,
                           progress=cfg.progress, desc="Helmholtz Phase 2")

    histories["helm_phase2"] = store.trained("helm_phase2", net, train2)
    pinn = baselines.vanilla_pinn(len(a_eval), generator=cfg.generator(210)).to(cfg.device, cfg.dtype)
    sp = copy.copy(sched)
    sp.epochs = s["helm_pinn_epochs"]
    sp.eval_every = max(1, s["helm_pinn_epochs"] // 40)

    def trainp(checkpoint):
        losses = helmholtz_losses(pinn.layers, a_eval, s["helm_collocation"], s["helm_bc_per_face"], k,
                                  cfg.generator(211), cfg.device, cfg.dtype)
        return fit_stacked(list(pinn.parameters()), losses, sp, reduce="sum", modules=(pinn,),
                           eval_fn=eval_fn(pinn.layers), checkpoint=checkpoint, progress=cfg.progress,
                           desc="Helmholtz PINN")

    histories["helm_pinn"] = store.trained("helm_pinn", pinn, trainp)
    models["helm_phase2"], models["helm_pinn"] = net, pinn
    with torch.no_grad():
        p1 = predict_grid(model.layers(a_eval), P)
    ph = predict_grid(net.layers(), P)
    pp = predict_grid(pinn.layers(), P)
    e1, eh, ep = errors(p1, ref), errors(ph, ref), errors(pp, ref)
    h2, hp = histories["helm_phase2"], histories["helm_pinn"]
    fig7 = {"a_train": a_train, "a_eval": a_eval, "k": k, "grid": n,
            "phase2_epochs": s["helm_phase2_epochs"], "pinn_epochs": s["helm_pinn_epochs"],
            "phase1_epochs": s["helm_phase1_epochs"],
            "phase1_loss_first": histories["helm_phase1"]["loss"][0], "phase1_loss_last": histories["helm_phase1"]["loss"][-1],
            "phase1_rel_err": e1["rel_err"], "hyper_rel_err": eh["rel_err"], "pinn_rel_err": ep["rel_err"],
            "hyper_abs_err": eh["abs_err"], "pinn_abs_err": ep["abs_err"],
            "hyper_curve": {"epoch": h2["eval_epoch"], "rel_err": h2["eval_rel_err"]},
            "pinn_curve": {"epoch": hp["eval_epoch"], "rel_err": hp["eval_rel_err"]},
            "hyper_phase2_s": _wall(h2), "pinn_s": _wall(hp), "phase1_s": _wall(histories["helm_phase1"]),
            "trainable_phase2": int(net.trainable_per_task()[0]), "trainable_pinn": pinn.count_params() // len(a_eval)}
    return fig7, model, {"ref": ref, "hyper": ph, "pinn": pp}


def cdr_helmholtz(cfg: Config) -> CDRHelmholtz:
    """Train (or reload) everything notebook 05 shows, for ``cfg``'s preset; write ``metrics.json``."""
    store = Store(cfg, NAME)
    s = settings(cfg)
    old = store.load_json("settings")
    if old is not None and old != json.loads(json.dumps(s)):  # other sizes: start afresh
        for p in store.dir.glob("*"):
            if p.is_file():
                p.unlink()
        for p in (store.dir / "s2s").glob("*") if (store.dir / "s2s").exists() else []:
            p.unlink()
    store.save_json("settings", s)
    models: dict = {}
    histories: dict = {}
    table4, reaction, hyper = _table4(store, s, cfg, models, histories)
    fig7, helm_hyper, arrays = _fig7(store, s, cfg, models, histories)
    times = {k: _wall(h) for k, h in histories.items()}
    pinn_tasks = reaction.pop("pinn_tasks")
    results = {"settings": s, "table4": table4, "reaction_failure": reaction, "fig7": fig7, "pinn_tasks": pinn_tasks,
               "train_wall_time_s": times, "per_task_s": _per_task_times(s, times)}
    meta = store.write_metrics(results, wall_time_s=sum(times.values()))
    out = CDRHelmholtz(cfg, s, meta["results"], hyper, helm_hyper, models, histories)
    out._cache["fig7"] = arrays
    return out


def _per_task_times(s: dict, times: dict) -> dict:
    """Training seconds per task of each method (all tasks trained together, so wall time / tasks)."""
    n = {t: len(s["values"][t]) for t in PDE_TYPES}
    total = sum(n.values())
    out = {"pinn": times["pinn"] / (total + len(s["reaction_sweep"])), "pinn_s2s": times["pinn_s2s"] / total}
    for t in PDE_TYPES:
        out[f"pinn_p_{t}"] = times[f"pinn_p_{t}"] / n[t]
        for m in ("maml", "reptile"):
            out[f"{m}_{t}_finetune"] = times[f"{m}_{t}_finetune"] / n[t]
        out[f"hyper_phase2_{t}"] = times[f"hyper_phase2_{t}"] / n[t]
    return out


# ============================================================================ the two papers side by side
NOTEBOOKS = {"02": "LoRA rank study (Paper A, Table 1)", "03": "hypernetwork benchmarks (Paper A, Tables 2–3)",
             "04": "failure modes and Hyper-LR-PINN (Paper B, Tables 2–3)",
             "05": "parameterized CDR and Helmholtz (Paper B, Table 4, Figure 7)"}


def _result_dirs(prefix: str, cfg: Config) -> list[tuple[str, Path]]:
    """Candidate ``(preset, folder)`` for notebook ``prefix``'s results, best preset first (full, medium, quick),
    looking in ``figures/`` (committed runs), ``build/results/quick`` and ``PINNLAB_RESULTS``."""
    out = []
    base = os.environ.get("PINNLAB_RESULTS")
    for mode in ("full", "medium", "quick"):
        roots = []
        if base:
            roots.append(Path(base) / mode)
        roots.append(ROOT / "build" / "results" / "quick" if mode == "quick" else None)
        for d in sorted((ROOT / "figures").glob(f"{prefix}_*")):
            out.append((mode, d / mode))
        for r in roots:
            if r is not None and r.exists():
                out.extend((mode, d) for d in sorted(r.glob(f"{prefix}_*")))
    return out


def stored_metrics(prefix: str, cfg: Config) -> Optional[dict]:
    """The best stored ``metrics.json`` of notebook ``prefix`` (``"02"``…``"05"``), or ``None`` when none exists
    yet. Adds ``"_path"``; never trains anything."""
    for mode, d in _result_dirs(prefix, cfg):
        p = d / "metrics.json"
        if p.exists():
            try:
                meta = json.loads(p.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            meta["_path"] = str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)
            return meta
    return None


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def paper_comparison(cfg: Config) -> dict:
    """What notebooks 02–05 measured, read from their stored ``metrics.json`` (never recomputed).

    Returns ``{"02": {...} | None, …}``: per notebook the preset, path and rows ``{what, trainable, error,
    metric, seconds}`` — trainable numbers per new task, accuracy and training seconds — ``None`` where no
    results are stored yet. A file whose layout is not understood gives one explanatory row, never an error.
    """
    out: dict = {}
    for nb in NOTEBOOKS:
        meta = stored_metrics(nb, cfg)
        if meta is None:
            out[nb] = None
            continue
        entry = {"preset": meta.get("preset"), "path": meta.get("_path"), "wall_time_s": meta.get("wall_time_s")}
        try:
            entry["rows"] = _ROWS[nb](meta.get("results", {}))
        except (KeyError, TypeError, AttributeError, ValueError, IndexError, ZeroDivisionError) as err:
            entry["rows"] = [_row(f"stored, but not in a layout this summary reads ({type(err).__name__})")]
        out[nb] = entry
    return out


def _row(what: str, trainable=None, error=None, metric: str = "", seconds=None) -> dict:
    return {"what": what, "trainable": trainable, "error": error, "metric": metric, "seconds": seconds}


def _rows02(r: dict) -> list[dict]:
    rows = []
    for pde, v in r.items():
        lo = _get(v, "lora", "rank_4")
        if lo is not None:
            n = max(1, len(lo.get("epochs") or [1]))  # tasks trained together
            sec = lo["wall_time_s"] / n if lo.get("wall_time_s") is not None else None
            rows.append(_row(f"{pde}: LoRA rank 4 on a trained base (per task)", lo.get("trainable_params"),
                             lo.get("test_mse"), "test MSE", sec))
        base = _get(v, "base")
        if isinstance(base, dict):
            rows.append(_row(f"{pde}: base PINN (task 0), on the test tasks", base.get("trainable_params"),
                             base.get("test_mse"), "test MSE", base.get("wall_time_s")))
    return rows


def _rows03(r: dict) -> list[dict]:
    rows = []
    for pde, v in r.items():
        t3 = _get(v, "table3")
        if not isinstance(t3, dict):
            continue
        h = t3.get("hyper", {})
        ms = h.get("inference_ms")
        rows.append(_row(f"{pde}: LoRA HyperPINN ({h.get('key', 'B4')}), one forward pass", 0, h.get("test_mse"),
                         "test MSE", ms / 1000 if ms is not None else None))
        for m, label in (("lora_r4", "LoRA rank 4, trained for the task"), ("pinn", "PINN from scratch")):
            if isinstance(t3.get(m), dict):
                rows.append(_row(f"{pde}: {label}", t3[m].get("trainable_params"), t3[m].get("test_mse"), "test MSE",
                                 t3[m].get("wall_time_s")))
    return rows


def _rows04(r: dict) -> list[dict]:
    rows = []
    counts = _get(r, "table3", "hyper_lr_phase2_adaptive") or {}
    for b, v in (_get(r, "table2", "hyper_lr_adaptive", "rank_adaptive") or {}).items():
        rows.append(_row(f"convection {b.replace('beta_', 'β=')}: Hyper-LR-PINN, adaptive rank",
                         _get(counts, b, "trainable"), v.get("rel_err"), "rel. L2"))
    for b, v in (_get(r, "table2", "pinn", "rank_full") or {}).items():
        rows.append(_row(f"convection {b.replace('beta_', 'β=')}: vanilla PINN", _get(r, "table3", "pinn"),
                         v.get("rel_err"), "rel. L2"))
    return rows


def _rows05(r: dict) -> list[dict]:
    rows = []
    t4, pt = r.get("table4", {}), r.get("per_task_s", {})
    for t in PDE_TYPES:
        h, p = _get(t4, t, "hyper_lr"), _get(t4, t, "pinn")
        if h:
            rows.append(_row(f"{TYPE_LABELS[t]}: Hyper-LR-PINN Phase 2 (per task)", h.get("trainable_per_task"),
                             h.get("mean_rel_err"), "rel. L2", pt.get(f"hyper_phase2_{t}")))
        if p:
            rows.append(_row(f"{TYPE_LABELS[t]}: PINN from scratch (per task)", 10401, p.get("mean_rel_err"), "rel. L2",
                             pt.get("pinn")))
    f7 = r.get("fig7")
    if f7:
        n = len(f7["a_eval"])
        for i, a in enumerate(f7["a_eval"]):
            rows.append(_row(f"Helmholtz a={a:g}: Hyper-LR-PINN, {f7['phase2_epochs']} Phase-2 epochs",
                             f7["trainable_phase2"], f7["hyper_rel_err"][i], "rel. L2", f7["hyper_phase2_s"] / n))
            rows.append(_row(f"Helmholtz a={a:g}: PINN, {f7['pinn_epochs']} epochs", f7["trainable_pinn"],
                             f7["pinn_rel_err"][i], "rel. L2", f7["pinn_s"] / n))
    return rows


_ROWS = {"02": _rows02, "03": _rows03, "04": _rows04, "05": _rows05}
