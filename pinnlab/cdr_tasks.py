"""Many convection–diffusion–reaction tasks trained as one stacked model: data, losses, evaluation, epoch loop.

Shared by Hyper-LR-PINN (:mod:`pinnlab.hyperlr`) and its baselines (:mod:`pinnlab.baselines`).
A *task* is one value of β (ν, ρ fixed); ``T`` tasks are evaluated together:

* :func:`stack_cdr` — a :class:`~pinnlab.pdes.CDR` whose β is a ``[T, 1, 1]`` tensor, so the residual
  of a task-stacked jet ``[T, N, 1]`` uses each task's own speed;
* :func:`cdr_points` / :class:`TaskPoints` — Paper B's data layout (N_f collocation points per task,
  the initial condition on an x grid, periodic boundary pairs);
* :func:`task_losses` — per-task mean squares ``{"residual", "ic", "bc"}`` through the derivative engine;
* :func:`eval_grid`, :func:`reference`, :func:`predict_grid`, :func:`errors` — the 256 × 100 test grid
  and Paper B's absolute / relative errors;
* :func:`run_epochs` — the epoch loop (history, evaluation schedule, checkpoints, NaN guard) and
  :func:`fit_cdr_tasks`, which trains any task-stacked engine model on ``T`` tasks at once.
"""
from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from . import metrics
from .engine import DerivSpec, mlp_forward, mlp_jet
from .pdes.cdr import CDR, TWO_PI
from .train import _save_atomic, load_checkpoint

Tensor = torch.Tensor
Layers = list[tuple[Tensor, Tensor]]


# ============================================================================ tasks and data
def stack_cdr(betas: Sequence[float], nu: float = 0.0, rho: float = 0.0, ic: str = "sin",
              device=None, dtype: torch.dtype = torch.float32) -> CDR:
    """One :class:`~pinnlab.pdes.CDR` whose ``beta`` is a ``[T, 1, 1]`` tensor: its residual
    (broadcasting arithmetic) evaluates ``T`` convection speeds on a ``[T, N, 1]`` jet at once."""
    pde = copy.copy(CDR(float(betas[0]), nu, rho, ic))
    pde.beta = torch.as_tensor([float(b) for b in betas], dtype=dtype, device=device).reshape(-1, 1, 1)
    return pde


def residual_spec(nu: float) -> DerivSpec:
    """Derivatives the CDR residual needs: ``u_x, u_t`` and ``u_xx`` only when ``ν ≠ 0``."""
    return DerivSpec(first=(0, 1), second=(0,)) if nu else DerivSpec(first=(0, 1))


@dataclass
class TaskPoints:
    """Training points of ``T`` CDR tasks.

    Attributes:
        collocation: ``[T, N_f, 2]`` residual points (x, t), drawn per task.
        ic: ``[N_0, 2]`` points at t = 0 (shared by all tasks: the IC does not depend on β).
        ic_values: ``[N_0, 1]`` the initial condition there.
        bc: ``[2 N_b, 2]`` periodic pairs: rows ``k`` and ``N_b + k`` are ``(0, t_k)`` and ``(2π, t_k)``.
    """

    collocation: Tensor
    ic: Tensor
    ic_values: Tensor
    bc: Tensor

    def to(self, device=None, dtype=None) -> "TaskPoints":
        return TaskPoints(*(t.to(device=device, dtype=dtype) for t in
                            (self.collocation, self.ic, self.ic_values, self.bc)))

    def take(self, idx) -> "TaskPoints":
        """The points of the tasks ``idx`` (shared parts unchanged)."""
        return TaskPoints(self.collocation[idx], self.ic, self.ic_values, self.bc)


def cdr_points(n_tasks: int, n_collocation: int = 1000, n_ic: int = 256, n_bc: int = 100, ic: str = "sin",
               generator: Optional[torch.Generator] = None, dtype: torch.dtype = torch.float32,
               device=None) -> TaskPoints:
    """Paper B's data layout: ``N_f`` collocation points per task (uniform in [0, 2π) × (0, 1]),
    the initial condition on ``n_ic`` grid points ``x_j = 2πj/n_ic`` and ``n_bc`` periodic pairs at
    ``t_k = k/(n_bc − 1)`` (the paper: 1000, 256 and 100)."""
    col = torch.rand(n_tasks, n_collocation, 2, generator=generator, dtype=torch.float64)
    col[..., 0] *= TWO_PI
    x0 = TWO_PI * torch.arange(n_ic, dtype=torch.float64) / n_ic
    ic_pts = torch.stack([x0, torch.zeros_like(x0)], 1)
    u0 = CDR(0.0, ic=ic).initial_condition(x0).unsqueeze(1)
    tb = torch.linspace(0.0, 1.0, n_bc, dtype=torch.float64)
    bc = torch.cat([torch.stack([torch.zeros_like(tb), tb], 1), torch.stack([torch.full_like(tb, TWO_PI), tb], 1)])
    return TaskPoints(col, ic_pts, u0, bc).to(device, dtype)


def task_losses(layers: Layers, pde: CDR, pts: TaskPoints, spec: Optional[DerivSpec] = None,
                method: str = "auto") -> dict[str, Tensor]:
    """Per-task mean squares ``{"residual", "ic", "bc"}`` (each ``[T]``) of the network ``layers``.

    ``layers`` may be task-stacked (``[T, …]`` weights) or a single network evaluated on every
    task's points; ``pde`` is a stacked CDR (:func:`stack_cdr`). With a single network, 2D
    collocation points ``[N, 2]`` and a plain CDR the terms are scalars. ``method``: how the
    derivatives are taken (:func:`pinnlab.engine.mlp_jet`; ``"auto"`` picks nested autograd for
    the first-order convection/reaction residuals, the forward engine when ``ν ≠ 0``).
    """
    spec = spec or residual_spec(float(pde.nu))
    x = pts.collocation
    jet = mlp_jet(layers, x, spec, method=method)
    res = pde.residual_from_jet(jet, x).pow(2).mean(dim=(-2, -1))
    n0 = pts.ic.shape[0]
    out = mlp_forward(layers, torch.cat([pts.ic, pts.bc]))  # [T, n0 + 2 nb, 1] or [n0 + 2 nb, 1]
    ic = (out[..., :n0, :] - pts.ic_values).pow(2).mean(dim=(-2, -1))
    nb = (out.shape[-2] - n0) // 2
    bc = (out[..., n0:n0 + nb, :] - out[..., n0 + nb:, :]).pow(2).mean(dim=(-2, -1))
    res, ic, bc = torch.broadcast_tensors(res, ic, bc)  # a shared network on stacked points: [T] each
    return {"residual": res, "ic": ic, "bc": bc}


# ============================================================================ evaluation
def eval_grid(nx: int = 256, nt: int = 100) -> tuple[np.ndarray, np.ndarray, Tensor]:
    """Paper B's test grid: ``x_j = 2πj/nx`` (j < nx), ``t = linspace(0, 1, nt)``; points ``[nt·nx, 2]``
    in row-major ``[t, x]`` order (float64), so values reshape to ``[nt, nx]``."""
    x = TWO_PI * np.arange(nx) / nx
    t = np.linspace(0.0, 1.0, nt)
    T, X = np.meshgrid(t, x, indexing="ij")
    return x, t, torch.tensor(np.stack([X.ravel(), T.ravel()], 1))


def reference(betas: Sequence[float], nx: int = 256, nt: int = 100, nu: float = 0.0, rho: float = 0.0,
              ic: str = "sin") -> np.ndarray:
    """Exact / reference solutions ``[T, nt, nx]`` on :func:`eval_grid` for each β."""
    return np.stack([CDR(float(b), nu, rho, ic).reference_grid(nx, nt)[2] for b in betas])


def slice_layers(layers: Layers, idx) -> Layers:
    """Task ``idx`` (int, slice or index tensor) of stacked layers; shared tensors are kept."""
    return [(W[idx] if W.dim() == 3 else W, b[idx] if b.dim() == 2 else b) for W, b in layers]


@torch.no_grad()
def predict_grid(layers: Layers, points: Tensor, chunk: int = 16) -> np.ndarray:
    """Predictions ``[T, P]`` (float64 numpy) of stacked ``layers`` at shared ``points`` ``[P, 2]``,
    ``chunk`` tasks at a time (memory). A single network gives ``[1, P]``."""
    W0 = layers[0][0]
    pts = points.to(W0.device, W0.dtype)
    T = next((W.shape[0] for W, _ in layers if W.dim() == 3), None)
    if T is None:
        return mlp_forward(layers, pts)[..., 0].double().cpu().numpy()[None]
    out = [mlp_forward(slice_layers(layers, slice(a, a + chunk)), pts)[..., 0].double().cpu().numpy()
           for a in range(0, T, chunk)]
    return np.concatenate(out)


def errors(pred: np.ndarray, ref: np.ndarray) -> dict[str, list[float]]:
    """Per task: Paper B's absolute error mean|u − û| and relative error ‖u − û‖₂/‖u‖₂, and the max error."""
    pred, ref = pred.reshape(ref.shape[0], -1), ref.reshape(ref.shape[0], -1)
    return {"abs_err": [metrics.mae(p, r) for p, r in zip(pred, ref)],
            "rel_err": [metrics.rel_l2(p, r) for p, r in zip(pred, ref)],
            "max_err": [metrics.max_err(p, r) for p, r in zip(pred, ref)]}


# ============================================================================ training loop
def run_epochs(step: Callable[[int], dict[str, float]], epochs: int, *, state: Callable[[], dict],
               load_state: Callable[[dict], None], log_every: int = 10,
               eval_at: Optional[Callable[[int], bool]] = None, eval_fn: Optional[Callable[[], dict]] = None,
               checkpoint: Optional[str | Path] = None, checkpoint_every: int = 500, progress: bool = True,
               desc: str = "") -> dict:
    """The epoch loop shared by Phase 1, Phase 2 and the baselines.

    ``step(epoch)`` does one optimisation step and returns the loss terms (floats). Every
    ``log_every`` epochs they are recorded (``history["epoch"]``, ``history[term]``).
    ``eval_fn()`` (test errors) runs *before* the step of every epoch ``e`` with ``eval_at(e)``
    — i.e. after ``e`` steps, ``e = 0`` being the initialisation — and once after the last step;
    its values go to ``history["eval_epoch"]`` and ``history["eval_" + key]``. ``state()`` /
    ``load_state()`` capture model and optimiser for checkpoints (saved every
    ``checkpoint_every`` epochs; an existing checkpoint is resumed). A non-finite loss stops
    the loop with a warning and restores the last checkpointed / initial state.
    """
    hist: dict = {"epoch": [], "eval_epoch": [], "wall_time_s": 0.0}
    start = 0
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.exists():
        saved = load_checkpoint(ckpt)
        load_state(saved["state"])
        hist, start = saved["history"], saved["epoch"]
    good = state()

    def evaluate(e: int) -> None:
        if eval_fn is None or (hist["eval_epoch"] and hist["eval_epoch"][-1] == e):
            return
        hist["eval_epoch"].append(e)
        for k, v in eval_fn().items():
            hist.setdefault("eval_" + k, []).append(v)

    t0, wall0 = time.perf_counter(), hist["wall_time_s"]
    bar = tqdm(total=epochs, initial=start, desc=desc, disable=not progress, leave=False, mininterval=0.5)
    try:
        for e in range(start, epochs):
            if eval_at is not None and eval_at(e):
                evaluate(e)
            terms = step(e)
            if not all(math.isfinite(v) for v in terms.values()):
                warnings.warn(f"{desc}: non-finite loss at epoch {e} ({terms}); stopped, last good state restored",
                              RuntimeWarning, stacklevel=2)
                load_state(good)
                break
            if e % log_every == 0 or e == epochs - 1:
                hist["epoch"].append(e)
                for k, v in terms.items():
                    hist.setdefault(k, []).append(v)
                bar.set_postfix(loss=f"{terms.get('loss', float('nan')):.3e}", refresh=False)
            if ckpt is not None and (e + 1) % checkpoint_every == 0 and e + 1 < epochs:
                hist["wall_time_s"] = wall0 + time.perf_counter() - t0
                good = state()
                _save_atomic({"state": good, "history": hist, "epoch": e + 1}, ckpt)
            bar.update(1)
        else:
            if eval_fn is not None:
                evaluate(epochs)
    finally:
        bar.close()
    hist["wall_time_s"] = wall0 + time.perf_counter() - t0
    return hist


def module_state(*objs) -> Callable[[], dict]:
    """``state()`` for :func:`run_epochs`: deep copies of the modules' / optimisers' state dicts."""
    return lambda: {str(i): copy.deepcopy(o.state_dict()) for i, o in enumerate(objs)}


def module_load(*objs) -> Callable[[dict], None]:
    def load(st: dict) -> None:
        for i, o in enumerate(objs):
            o.load_state_dict(st[str(i)])
    return load


def every(n: int, first: int = 0) -> Callable[[int], bool]:
    """``eval_at`` predicate: epochs ``0, n, 2n, …`` and every epoch below ``first``."""
    return lambda e: e < first or (n > 0 and e % n == 0)


@dataclass
class Schedule:
    """Sizes of one training run."""

    epochs: int = 20000
    lr: float = 2.5e-4
    n_collocation: int = 1000
    n_ic: int = 256
    n_bc: int = 100
    ortho_weight: Optional[float] = None  # None: 1/r² (mean square entry)
    log_every: int = 10
    eval_every: int = 100
    checkpoint_every: int = 500


def fit_cdr_tasks(net: torch.nn.Module, betas: Sequence[float], sched: Schedule, *, device=None,
                  dtype: torch.dtype = torch.float32, generator: Optional[torch.Generator] = None,
                  eval_points: Optional[Tensor] = None, eval_ref: Optional[np.ndarray] = None,
                  eval_at: Optional[Callable[[int], bool]] = None, ortho: bool = False,
                  checkpoint: Optional[str | Path] = None, progress: bool = True, desc: str = "") -> dict:
    """Train a task-stacked engine model (``net.layers()`` ``[T, …]``) on ``T = len(betas)`` convection
    tasks at once: loss = Σ_t [residual_t + ic_t + bc_t] (+ the orthogonality penalty of the
    bases when ``ortho``), Adam on the trainable parameters. Task ``t``'s parameters only enter
    task ``t``'s terms, so this is ``T`` independent trainings in one batched pass.

    Records the per-task test errors (``eval_abs_err``/``eval_rel_err`` lists of ``T``) at ``eval_at``.
    """
    net.to(device, dtype)
    pde = stack_cdr(betas, device=device, dtype=dtype)
    pts = cdr_points(len(betas), sched.n_collocation, sched.n_ic, sched.n_bc, generator=generator,
                     dtype=dtype, device=device)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=sched.lr)

    def step(_e: int) -> dict[str, float]:
        terms = task_losses(net.layers(), pde, pts)
        per_task = sum(terms.values())
        loss = per_task.sum()
        if ortho:
            loss = loss + net.orthogonality(sched.ortho_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": per_task.mean().item(), **{k: v.mean().item() for k, v in terms.items()}}

    def evaluate() -> dict:
        return {k: v for k, v in errors(predict_grid(net.layers(), eval_points), eval_ref).items()
                if k != "max_err"}

    eval_fn = evaluate if eval_points is not None and eval_ref is not None else None

    return run_epochs(step, sched.epochs, state=module_state(net, opt), load_state=module_load(net, opt),
                      log_every=sched.log_every, eval_at=eval_at or every(sched.eval_every), eval_fn=eval_fn,
                      checkpoint=checkpoint, checkpoint_every=sched.checkpoint_every, progress=progress, desc=desc)


def epochs_to_reach(hist: dict, threshold: float, key: str = "eval_abs_err") -> list[Optional[int]]:
    """Per task, the first evaluated epoch whose error is below ``threshold`` (``None`` if never)."""
    ep, errs = hist["eval_epoch"], np.asarray(hist[key])  # [n_eval, T]
    out = []
    for t in range(errs.shape[1]):
        below = np.nonzero(errs[:, t] < threshold)[0]
        out.append(int(ep[below[0]]) if below.size else None)
    return out
