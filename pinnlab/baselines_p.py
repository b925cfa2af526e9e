"""General CDR tasks and the full-rank baselines of Paper B's Table 4: PINN-P and PINN-S2S.

Paper B's Table 4 compares, for convection, reaction and convection–diffusion–reaction with
β, ν, ρ ∈ [1, 5] and the Gaussian initial condition, a PINN per task, **PINN-P**, **PINN-S2S**,
MAML, Reptile and Hyper-LR-PINN. :mod:`pinnlab.cdr_tasks` stacks convection speeds only; here
every coefficient may vary per task:

* :func:`stack_mu` — one :class:`~pinnlab.pdes.CDR` whose β, ν, ρ are ``[T, 1, 1]`` tensors, so
  the residual of a task-stacked jet ``[T, N, 1]`` uses each task's own coefficients;
* :func:`fit_stacked` — the one training loop used for every model of notebook 05: a loss
  function of the (task-stacked) layers returns per-task terms ``[T]``; Adam on the trainable
  parameters; history, evaluation and checkpoints through :func:`~pinnlab.cdr_tasks.run_epochs`;
* :func:`phase1_mu` — Hyper-LR-PINN's Phase 1 for a vector μ = (β, ν, ρ) (the convection-only
  :func:`pinnlab.hyperlr.phase1` is the special case μ = β, IC 1 + sin x);
* **PINN-P** (:class:`PINNP`, :func:`fit_pinn_p`) — one network ``u(x, t, μ̂)`` that takes the
  (normalised) PDE parameters as extra input coordinates, trained on all tasks of a family at once;
* **PINN-S2S** (:class:`S2S`, :func:`fit_s2s`) — "sequence to sequence" in time
  (Krishnapriyan et al.): ``[0, 1]`` is cut into ``K`` equal segments, a network per segment is
  trained in temporal order, segment ``k`` taking as its initial condition the prediction of
  segment ``k − 1`` at its start time (and warm-starting from its weights). Every task of a
  segment trains in one stacked pass.

Shapes: points are ``(x, t)`` columns, ``x`` ∈ [0, 2π) (periodic), ``t`` ∈ [0, 1]; μ is ``[T, 3]``
with columns (β, ν, ρ).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from torch import nn

from .baselines import load_finished_stage, save_finished_stage
from .cdr_tasks import (Layers, Schedule, TaskPoints, cdr_points, every, module_load, module_state, run_epochs,
                        task_losses)
from .engine import DerivSpec, mlp_forward, mlp_jet
from .models import MLP
from .pdes.cdr import CDR, TWO_PI

Tensor = torch.Tensor
Mu = Sequence[Sequence[float]]

#: the PDE types of Table 4 and which coefficients vary in each
PDE_TYPES = ("convection", "reaction", "cdr")
VARYING = {"convection": (0,), "reaction": (2,), "cdr": (0, 1, 2)}


def as_mu(mus: Mu) -> np.ndarray:
    """μ as a float64 array ``[T, 3]`` (β, ν, ρ); raises ``ValueError`` on another shape."""
    m = np.asarray(mus, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != 3:
        raise ValueError(f"mus must be a list of (beta, nu, rho) triples, shape [T, 3]; got {m.shape}")
    return m


def stack_mu(mus: Mu, ic: str = "gauss", device=None, dtype: torch.dtype = torch.float32) -> CDR:
    """One :class:`~pinnlab.pdes.CDR` with ``beta``, ``nu``, ``rho`` as ``[T, 1, 1]`` tensors (one row per task)."""
    m = as_mu(mus)
    pde = copy.copy(CDR(*m[0], ic=ic))
    for j, name in enumerate(("beta", "nu", "rho")):
        setattr(pde, name, torch.as_tensor(m[:, j], dtype=dtype, device=device).reshape(-1, 1, 1))
    pde.has_exact = False
    return pde


def spec_for(mus: Mu) -> DerivSpec:
    """Derivatives the CDR residual needs: ``u_x, u_t`` and ``u_xx`` when any task has ν > 0."""
    return DerivSpec(first=(0, 1), second=(0,)) if float(as_mu(mus)[:, 1].max()) > 0 else DerivSpec(first=(0, 1))


def cdr_reference(mus: Mu, nx: int = 256, nt: int = 100, ic: str = "gauss") -> np.ndarray:
    """Exact / Strang-splitting reference ``[T, nt, nx]`` on Paper B's grid for each (β, ν, ρ)."""
    return np.stack([CDR(*m, ic=ic).reference_grid(nx, nt)[2] for m in as_mu(mus)])


# ============================================================================ the training loop
def fit_stacked(params: Sequence[nn.Parameter], losses: Callable[[], dict[str, Tensor]], sched: Schedule, *,
                reduce: str = "sum", penalty: Optional[Callable[[], Tensor]] = None,
                modules: Sequence[nn.Module] = (), eval_fn: Optional[Callable[[], dict]] = None,
                eval_at: Optional[Callable[[int], bool]] = None, checkpoint: Optional[str | Path] = None,
                progress: bool = True, desc: str = "") -> dict:
    """Full-batch Adam (lr ``sched.lr``) for ``sched.epochs`` epochs on ``losses()``.

    Args:
        params: the trainable parameters.
        losses: returns the loss terms, each ``[T]`` (one entry per task) or a scalar.
        reduce: ``"sum"`` over tasks (independent task-stacked models: each task gets its own full
            gradient) or ``"mean"`` (parameters shared by the tasks: Phase 1, PINN-P).
        penalty: an extra scalar added to the loss (the orthogonality penalty), logged as ``ortho``.
        modules: whose state dicts make the checkpoints (with the optimiser's).
        eval_fn, eval_at, checkpoint, progress, desc: as in :func:`~pinnlab.cdr_tasks.run_epochs`.

    Returns the history (``loss`` = mean over tasks of the summed terms, each term's task mean).
    """
    if reduce not in ("sum", "mean"):
        raise ValueError(f"reduce must be 'sum' or 'mean', got {reduce!r}")
    params = [p for p in params if p.requires_grad]
    opt = torch.optim.Adam(params, lr=sched.lr)

    def step(_e: int) -> dict[str, float]:
        terms = losses()
        per_task = sum(terms.values())
        loss = per_task.sum() if reduce == "sum" else per_task.mean()
        out = {}
        if penalty is not None:
            pen = penalty()
            loss = loss + pen
            out["ortho"] = pen.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": per_task.mean().item(), **{k: v.mean().item() for k, v in terms.items()}, **out}

    objs = (*modules, opt)
    return run_epochs(step, sched.epochs, state=module_state(*objs), load_state=module_load(*objs),
                      log_every=sched.log_every, eval_at=eval_at or every(sched.eval_every), eval_fn=eval_fn,
                      checkpoint=checkpoint, checkpoint_every=sched.checkpoint_every, progress=progress, desc=desc)


def cdr_fit(net: nn.Module, mus: Mu, sched: Schedule, *, ic: str = "gauss", layers: Optional[Callable[[], Layers]] = None,
            reduce: str = "sum", penalty: Optional[Callable[[], Tensor]] = None, device=None,
            dtype: torch.dtype = torch.float32, generator: Optional[torch.Generator] = None,
            checkpoint: Optional[str | Path] = None, progress: bool = True, desc: str = "") -> dict:
    """Train a task-stacked engine model (``net.layers()`` ``[T, …]``, or ``layers()``) on the CDR tasks ``mus``:
    per task residual + IC + periodic-BC mean squares on Paper B's data layout (:func:`~pinnlab.cdr_tasks.cdr_points`)."""
    net.to(device, dtype)
    pde = stack_mu(mus, ic, device, dtype)
    pts = cdr_points(len(as_mu(mus)), sched.n_collocation, sched.n_ic, sched.n_bc, ic=ic, generator=generator,
                     dtype=dtype, device=device)
    spec = spec_for(mus)
    get = layers or net.layers
    return fit_stacked(list(net.parameters()), lambda: task_losses(get(), pde, pts, spec), sched, reduce=reduce,
                       penalty=penalty, modules=(net,), checkpoint=checkpoint, progress=progress, desc=desc)


def phase1_mu(model, mus: Mu, sched: Schedule, *, ic: str = "gauss", device=None, dtype: torch.dtype = torch.float32,
              generator: Optional[torch.Generator] = None, checkpoint: Optional[str | Path] = None,
              progress: bool = True, desc: str = "Phase 1") -> dict:
    """Hyper-LR-PINN Phase 1 (:class:`~pinnlab.hyperlr.HyperLRPINN` with ``param_range`` of 3 entries) on
    the tasks ``mus``: mean over tasks of the PINN loss + the orthogonality penalty, one batched pass."""
    model.to(device, dtype)
    mu = model.as_mu(as_mu(mus))
    return cdr_fit(model, mus, sched, ic=ic, layers=lambda: model.layers(mu), reduce="mean",
                   penalty=lambda: model.orthogonality(sched.ortho_weight), device=device, dtype=dtype,
                   generator=generator, checkpoint=checkpoint, progress=progress, desc=desc)


# ============================================================================ PINN-P
class PINNP(MLP):
    """PINN-P: one tanh MLP ``u(x, t, μ̂)`` with the varying PDE parameters as extra inputs.

    Args:
        varying: indices into (β, ν, ρ) of the parameters that vary (:data:`VARYING`).
        param_range: ``(lo, hi)`` of each varying parameter; the input is ``μ̂ = (μ − centre) / half-width``.
        hidden: hidden widths (Paper B's PINN: five layers of 50).
    """

    def __init__(self, varying: Sequence[int], param_range: Sequence[tuple[float, float]],
                 hidden: Sequence[int] = (50, 50, 50, 50, 50), generator: Optional[torch.Generator] = None):
        if len(varying) != len(param_range):
            raise ValueError("one (lo, hi) per varying parameter")
        super().__init__([2 + len(varying), *hidden, 1], generator=generator)
        self.varying = [int(v) for v in varying]
        self.register_buffer("center", torch.tensor([(a + b) / 2 for a, b in param_range]))
        self.register_buffer("scale", torch.tensor([max((b - a) / 2, 1e-6) for a, b in param_range]))

    def inputs(self, points: Tensor, mus: Mu) -> Tensor:
        """``[T, N, 2 + p]``: the points ``[N, 2]`` or ``[T, N, 2]`` with each task's normalised μ appended."""
        m = torch.as_tensor(as_mu(mus)[:, self.varying], dtype=points.dtype, device=points.device)
        m = (m - self.center.to(points.dtype)) / self.scale.to(points.dtype)  # [T, p]
        T = m.shape[0]
        pts = points.expand(T, *points.shape[-2:]) if points.dim() == 2 else points
        return torch.cat([pts, m[:, None, :].expand(T, pts.shape[1], m.shape[1])], -1)

    @torch.no_grad()
    def predict(self, points: Tensor, mus: Mu, chunk: int = 8) -> np.ndarray:
        """Predictions ``[T, P]`` (float64 numpy) at shared points ``[P, 2]``."""
        W = self.weights[0]
        pts = points.to(W.device, W.dtype)
        out = []
        mus = as_mu(mus)
        for a in range(0, len(mus), chunk):
            out.append(mlp_forward(self.layers(), self.inputs(pts, mus[a:a + chunk]))[..., 0].double().cpu().numpy())
        return np.concatenate(out)


def pinn_p_losses(net: PINNP, pde: CDR, pts: TaskPoints, mus: Mu, spec: DerivSpec) -> Callable[[], dict[str, Tensor]]:
    """Per-task terms ``{"residual", "ic", "bc"}`` ``[T]`` of PINN-P (μ̂ appended to every point set)."""
    col = net.inputs(pts.collocation, mus)
    shared = net.inputs(torch.cat([pts.ic, pts.bc]), mus)
    n0 = pts.ic.shape[0]

    def losses() -> dict[str, Tensor]:
        jet = mlp_jet(net.layers(), col, spec)
        res = pde.residual_from_jet(jet, col).pow(2).mean(dim=(-2, -1))
        out = mlp_forward(net.layers(), shared)
        ic = (out[:, :n0] - pts.ic_values).pow(2).mean(dim=(-2, -1))
        nb = (out.shape[1] - n0) // 2
        bc = (out[:, n0:n0 + nb] - out[:, n0 + nb:]).pow(2).mean(dim=(-2, -1))
        return {"residual": res, "ic": ic, "bc": bc}

    return losses


def fit_pinn_p(net: PINNP, mus: Mu, sched: Schedule, *, ic: str = "gauss", device=None,
               dtype: torch.dtype = torch.float32, generator: Optional[torch.Generator] = None,
               checkpoint: Optional[str | Path] = None, progress: bool = True, desc: str = "PINN-P") -> dict:
    """Train PINN-P on all tasks ``mus`` at once (mean over tasks of residual + IC + BC)."""
    net.to(device, dtype)
    pde = stack_mu(mus, ic, device, dtype)
    pts = cdr_points(len(as_mu(mus)), sched.n_collocation, sched.n_ic, sched.n_bc, ic=ic, generator=generator,
                     dtype=dtype, device=device)
    return fit_stacked(list(net.parameters()), pinn_p_losses(net, pde, pts, mus, spec_for(mus)), sched,
                       reduce="mean", modules=(net,), checkpoint=checkpoint, progress=progress, desc=desc)


# ============================================================================ PINN-S2S
class S2S(nn.Module):
    """PINN-S2S: ``segments`` task-stacked MLPs, network ``k`` valid on ``t ∈ [k/K, (k+1)/K]``.

    Args:
        n_tasks: ``T`` tasks stacked in every segment's network.
        segments: ``K`` equal time segments of [0, 1].
        widths: each segment's MLP (Paper B's PINN: 2-50-50-50-50-50-1).
    """

    def __init__(self, n_tasks: int, segments: int = 5, widths: Sequence[int] = (2, 50, 50, 50, 50, 50, 1),
                 generator: Optional[torch.Generator] = None):
        super().__init__()
        if int(segments) < 1:
            raise ValueError(f"segments must be a positive integer, got {segments!r}")
        self.segments = int(segments)
        self.nets = nn.ModuleList([MLP(list(widths), n_tasks=n_tasks, generator=generator)
                                   for _ in range(self.segments)])

    def bounds(self, k: int) -> tuple[float, float]:
        return k / self.segments, (k + 1) / self.segments

    @torch.no_grad()
    def predict(self, points: Tensor) -> np.ndarray:
        """``[T, P]`` predictions at shared points ``[P, 2]``: each point from the segment holding its t."""
        W = self.nets[0].weights[0]
        pts = points.to(W.device, W.dtype)
        k = torch.clamp((pts[:, 1] * self.segments).floor().long(), 0, self.segments - 1)
        out = None
        for j, net in enumerate(self.nets):
            sel = torch.nonzero(k == j).reshape(-1)
            if sel.numel() == 0:
                continue
            val = mlp_forward(net.layers(), pts[sel])[..., 0]  # [T, n]
            if out is None:
                out = val.new_zeros(val.shape[0], pts.shape[0])
            out[:, sel] = val
        return out.double().cpu().numpy()


def fit_s2s(model: S2S, mus: Mu, sched: Schedule, *, ic: str = "gauss", device=None,
            dtype: torch.dtype = torch.float32, generator: Optional[torch.Generator] = None,
            checkpoint_dir: Optional[str | Path] = None, progress: bool = True) -> dict:
    """Train the segments in temporal order, ``sched.epochs // K`` epochs each, every task batched.

    Segment ``k`` draws its collocation points in ``[0, 2π) × [t_k, t_{k+1}]`` (``N_f / K`` of them),
    fits the periodic BC on its time window and, as initial condition at ``t_k``, the exact IC
    (``k = 0``) or the trained segment ``k − 1``'s prediction there; it starts from segment
    ``k − 1``'s weights. With ``checkpoint_dir`` each finished segment is saved and a rerun skips it.
    """
    model.to(device, dtype)
    m = as_mu(mus)
    T, K = len(m), model.segments
    pde = stack_mu(m, ic, device, dtype)
    spec = spec_for(m)
    per = copy.copy(sched)
    per.epochs = max(1, sched.epochs // K)
    n_col = max(8, sched.n_collocation // K)
    hist: dict = {"segments": [], "wall_time_s": 0.0}
    for k, net in enumerate(model.nets):
        t0, t1 = model.bounds(k)
        done = None if checkpoint_dir is None else Path(checkpoint_dir) / f"s2s_segment{k}.pt"
        saved = load_finished_stage(net, done, device, dtype)
        if saved is not None:
            hist["segments"].append(saved)
            hist["wall_time_s"] += saved.get("wall_time_s", 0.0)
            continue
        g = None if generator is None else torch.Generator().manual_seed(int(generator.initial_seed()) + 31 * k)
        pts = cdr_points(T, n_col, sched.n_ic, sched.n_bc, ic=ic, generator=g, dtype=dtype, device=device)
        pts.collocation[..., 1] = t0 + (t1 - t0) * pts.collocation[..., 1]
        pts.bc[:, 1] = t0 + (t1 - t0) * pts.bc[:, 1]
        pts.ic[:, 1] = t0
        if k > 0:
            prev = model.nets[k - 1]
            with torch.no_grad():
                net.load_state_dict(prev.state_dict())
                pts.ic_values = mlp_forward(prev.layers(), pts.ic)  # [T, N0, 1], one start profile per task
        h = fit_stacked(list(net.parameters()), lambda net=net, pts=pts: task_losses(net.layers(), pde, pts, spec),
                        per, reduce="sum", modules=(net,),
                        checkpoint=None if checkpoint_dir is None else Path(checkpoint_dir) / f"s2s_segment{k}.ckpt",
                        progress=progress, desc=f"PINN-S2S segment {k + 1}/{K}")
        hist["segments"].append(h)
        hist["wall_time_s"] += h["wall_time_s"]
        if done is not None:
            save_finished_stage(net, h, done, Path(checkpoint_dir) / f"s2s_segment{k}.ckpt")
    return hist


def family_tasks(pde_type: str, values: Sequence[float] | Sequence[Sequence[float]]) -> list[tuple[float, float, float]]:
    """(β, ν, ρ) triples of a Table-4 family: ``convection`` β = v (ν = ρ = 0), ``reaction`` ρ = v
    (β = ν = 0), ``cdr`` the given (β, ν, ρ) triples."""
    if pde_type == "convection":
        return [(float(v), 0.0, 0.0) for v in values]
    if pde_type == "reaction":
        return [(0.0, 0.0, float(v)) for v in values]
    if pde_type == "cdr":
        out = [tuple(float(c) for c in v) for v in values]
        if any(len(v) != 3 for v in out):
            raise ValueError("cdr tasks are (beta, nu, rho) triples")
        return out
    raise ValueError(f"unknown pde_type {pde_type!r}; allowed: {', '.join(PDE_TYPES)}")


def param_range(pde_type: str, mus: Mu) -> list[tuple[float, float]]:
    """``(lo, hi)`` of each parameter of ``mus`` (all three; constant ones give lo = hi)."""
    m = as_mu(mus)
    return [(float(m[:, j].min()), float(m[:, j].max())) for j in range(3)]

