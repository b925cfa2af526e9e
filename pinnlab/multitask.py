"""Many tasks trained as one batched model: one forward and one backward for all of them.

``fit_tasks(model, pdes, cfg)`` trains ``T = len(pdes)`` tasks of one PDE family at once.
The model holds every task's trainable weights on a leading task axis (an ``MLP`` or
``LoRAMLP`` with ``n_tasks=T``), the points of the tasks are stacked to ``[T, N, d]``, and
each task's residual uses its own PDE parameter through a *stacked* PDE whose scalar
parameters became tensors of shape ``[T, 1, 1]`` (:func:`stack_pdes`). The loss is the sum
over tasks of each task's mean-square terms; task ``i``'s weights only enter task ``i``'s
terms and Adam works elementwise, so one step on the sum is exactly one independent Adam
step per task (``tests/test_lora.py`` checks this against :func:`pinnlab.train.fit`).

Every task keeps its own validation loss, best parameters, early stopping and history. A
stopped task is frozen: its gradient is zeroed and, because Adam's momentum would still
move it, its slice of every parameter is put back after each step. The conventions follow
:mod:`pinnlab.train`: step-decay learning rate, validation every ``val_every`` epochs, a
NaN guard (per task: the task stops and gets its last good parameters back), optional
L-BFGS polish (joint over tasks: one line search on the summed loss), checkpoints loaded
with ``weights_only=True`` that let a killed run resume, and a tqdm progress bar.
"""
from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
from tqdm.auto import tqdm

from .config import Config
from .engine import Jet, mlp_forward, mlp_jet
from .pdes.base import PDE
from .train import (NONFINITE_LBFGS, TERMS, Points, _save_atomic, check_schedule, lbfgs_polish, load_checkpoint, lr_at,
                    sample_points, total_loss)

Tensor = torch.Tensor


# ----------------------------------------------------------------------------- stacking
def stack_points(points: Sequence[Points]) -> Points:
    """Stack the points of ``T`` tasks: every ``[N, d]`` becomes ``[T, N, d]``.

    All tasks need the same counts of each kind (periodic boundary pairs keep ``None`` targets).
    """
    if not points:
        raise ValueError("stack_points needs at least one task")

    def st(ts):
        if any(t is None for t in ts):
            if not all(t is None for t in ts):
                raise ValueError("tasks disagree on which point kinds / targets they have")
            return None
        shapes = {tuple(t.shape) for t in ts}
        if len(shapes) > 1:
            raise ValueError(f"tasks have different point counts {sorted(shapes)}; sample equal counts per task")
        return torch.stack(list(ts))

    col = st([p.collocation for p in points])
    ic = None if points[0].ic is None else (st([p.ic[0] for p in points]), st([p.ic[1] for p in points]))
    bc = None if points[0].bc is None else (st([p.bc[0] for p in points]), st([p.bc[1] for p in points]))
    if any((p.ic is None) != (ic is None) or (p.bc is None) != (bc is None) for p in points):
        raise ValueError("tasks disagree on which point kinds they have")
    return Points(col, ic, bc)


def stack_pdes(pdes: Sequence[PDE], device: torch.device | str = "cpu",
               dtype: torch.dtype = torch.float32) -> PDE:
    """One PDE object whose residual evaluates ``T`` tasks of the same family at once.

    A shallow copy of ``pdes[0]`` in which every parameter (from :attr:`PDE.params`) that
    differs between the tasks becomes a tensor of shape ``[T, 1, 1]``; the residuals are
    written with broadcasting arithmetic, so ``residual_from_jet`` then takes a jet of shape
    ``[T, N, m]`` and points ``[T, N, d]``. Parameters equal in all tasks stay scalars (1D
    Burgers: ``nu`` is shared and the task is the initial condition, which lives in the IC
    targets of the stacked points). The result is checked against the tasks' own residuals
    on random data, so a PDE whose residual uses a derived attribute that was not updated
    raises here instead of training silently on the wrong equation.
    """
    pdes = list(pdes)
    if not pdes:
        raise ValueError("stack_pdes needs at least one task")
    kinds = {type(p) for p in pdes}
    if len(kinds) > 1:
        raise ValueError(f"all tasks must be the same PDE family; got {sorted(k.__name__ for k in kinds)}")
    stacked = copy.copy(pdes[0])
    T = len(pdes)
    for name in pdes[0].params:
        values = [float(p.params[name]) for p in pdes]
        if all(v == values[0] for v in values):
            continue
        if not hasattr(stacked, name):
            raise ValueError(f"{type(stacked).__name__} has no attribute {name!r} to stack; "
                             "its residual cannot be batched by stack_pdes")
        setattr(stacked, name, torch.tensor(values, device=device, dtype=dtype).reshape(T, 1, 1))
    with torch.device("cpu"):  # the check runs on the CPU in float64, whatever the default device
        _check_stacked(stacked, pdes)
    return stacked


def _check_stacked(stacked: PDE, pdes: list[PDE]) -> None:
    """Compare the stacked residual with each task's own on random float64 data."""
    g = torch.Generator().manual_seed(0)
    T, n, m, d = len(pdes), 3, len(pdes[0].outputs), pdes[0].dim
    spec = pdes[0].spec

    def rnd(*shape):
        return torch.rand(*shape, generator=g, dtype=torch.float64)

    jet = Jet(rnd(T, n, m), {i: rnd(T, n, m) for i in spec.first}, {i: rnd(T, n, m) for i in spec.second},
              rnd(T, n, m) if spec.laplacian else None)
    pts = torch.stack([p.sample(n, "collocation", generator=g, dtype=torch.float64)[0] for p in pdes])
    cast = copy.copy(stacked)
    for name, value in vars(stacked).items():
        if isinstance(value, torch.Tensor) and value.dim() == 3:
            setattr(cast, name, value.detach().to("cpu", torch.float64))
    got = cast.residual_from_jet(jet, pts)
    for i, p in enumerate(pdes):
        ji = Jet(jet.u[i], {k: v[i] for k, v in jet.d1.items()}, {k: v[i] for k, v in jet.d2.items()},
                 None if jet.lap is None else jet.lap[i])
        want = p.residual_from_jet(ji, pts[i])
        if got.shape[0] != T or not torch.allclose(got[i], want, rtol=1e-5, atol=1e-8):
            raise ValueError(f"stacking {type(p).__name__} tasks changed the residual of task {i}: its residual "
                             "uses an attribute that is not one of `params`; give the class a batched form")


# ----------------------------------------------------------------------------- loss
def task_loss_terms(model: torch.nn.Module, pde: PDE, pts: Points) -> dict[str, Tensor]:
    """Mean-square loss terms per task, each of shape ``[T]``.

    ``pde`` is a stacked PDE (:func:`stack_pdes`) and ``pts`` stacked points
    (:func:`stack_points`); the effective weights are formed once (``model.layers()``) and
    used for the residual jet and for one plain forward pass over the IC and BC points.
    """
    x = pts.collocation
    layers = model.layers()
    act = model.activation
    jet = mlp_jet(layers, x, pde.spec, act)
    terms = {"residual": pde.residual_from_jet(jet, x).pow(2).mean(dim=(-2, -1))}
    extra = [p for p in (pts.ic, pts.bc) if p is not None]
    if extra:
        out = mlp_forward(layers, torch.cat([p[0] for p in extra], dim=-2), act)
        parts = torch.split(out, [p[0].shape[-2] for p in extra], dim=-2)
        k = 0
        if pts.ic is not None:
            terms["ic"] = (parts[k] - pts.ic[1]).pow(2).mean(dim=(-2, -1))
            k += 1
        if pts.bc is not None:
            terms["bc"] = pde.boundary_residual(parts[k], pts.bc[1]).pow(2).mean(dim=(-2, -1))
    return terms


# ----------------------------------------------------------------------------- result
@dataclass
class MultiFitResult:
    """What :func:`fit_tasks` returns (JSON-friendly: lists and numbers only).

    Attributes:
        histories: one dict per task with the keys of :class:`pinnlab.train.FitResult`'s
            history (``epoch``, ``lr``, ``loss``, each term, ``val_epoch``, ``val_loss``);
            a stopped task's history ends where it stopped.
        epochs: Adam epochs each task trained for.
        status: per task ``"max_epochs"``, ``"early_stop"`` or ``"nonfinite"``.
        best_val: best validation loss of each task.
        final_loss: each task's training loss with the returned parameters.
        loop_epochs: epochs the batched loop ran (the longest task's count).
        wall_time_s / adam_wall_time_s: training time for all tasks together (accumulated
            over resumed runs), with and without the L-BFGS polish.
        s_per_epoch: Adam seconds per batched epoch (all ``T`` tasks in one step).
        lbfgs: joint L-BFGS record ``{"iter": [...], "loss": [...]}`` (loss summed over tasks).
    """

    histories: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    status: list = field(default_factory=list)
    best_val: list = field(default_factory=list)
    final_loss: list = field(default_factory=list)
    loop_epochs: int = 0
    wall_time_s: float = 0.0
    adam_wall_time_s: float = 0.0
    s_per_epoch: float = 0.0
    lbfgs: dict = field(default_factory=lambda: {"iter": [], "loss": []})
    message: str = ""

    @property
    def n_tasks(self) -> int:
        return len(self.epochs)


def _trainable(model: torch.nn.Module, T: int) -> dict[str, torch.nn.Parameter]:
    params = {k: p for k, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("the model has no trainable parameters")
    bad = [k for k, p in params.items() if p.dim() == 0 or p.shape[0] != T]
    if bad:
        raise ValueError(f"every trainable parameter needs a leading task axis of size {T} (n_tasks={T}); "
                         f"these do not: {bad}")
    return params


def _copy(params: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in params.items()}


def _put(dst: dict[str, Tensor], src: dict[str, Tensor], mask: Tensor) -> None:
    """``dst[k][mask] = src[k][mask]`` for every parameter (in place, no autograd)."""
    with torch.no_grad():
        for k in dst:
            dst[k][mask] = src[k][mask]


# ----------------------------------------------------------------------------- fit
def fit_tasks(
    model: torch.nn.Module,
    pdes: Sequence[PDE],
    cfg: Config,
    *,
    epochs: int = 1000,
    lr: float = 1e-3,
    decay_every: Optional[int] = None,
    gamma: float = 0.1,
    min_lr: float = 1e-7,
    patience: Optional[int] = 1000,
    val_every: int = 50,
    weights: Optional[dict[str, float]] = None,
    points: Optional[Sequence[Points] | Points] = None,
    val_points: Optional[Sequence[Points] | Points] = None,
    n_points: Optional[dict[str, int]] = None,
    lbfgs_iters: int = 0,
    lbfgs_float64: bool = False,
    checkpoint: Optional[str | Path] = None,
    checkpoint_every: int = 500,
    log_every: int = 10,
    desc: str = "tasks",
    callback: Optional[Callable[[int, dict[str, list[float]]], None]] = None,
) -> MultiFitResult:
    """Train the ``T`` tasks ``pdes`` as one batched model, in place.

    Args:
        model: an engine model with ``n_tasks == len(pdes)`` whose every trainable
            parameter has the task axis first (``MLP(..., n_tasks=T)``, ``MLP.stack``,
            ``LoRAMLP(base, r, n_tasks=T)``).
        pdes: one PDE object per task, all of one family.
        cfg: run configuration (device, dtype, progress, compile).
        points / val_points: per-task :class:`~pinnlab.train.Points` (a list, stacked here)
            or already stacked points; drawn from ``n_points`` with ``cfg``'s seed (task
            ``i`` uses generators ``100 i + 1`` / ``100 i + 2``) when omitted.
        The other arguments are those of :func:`pinnlab.train.fit`; ``patience`` and the
        learning-rate schedule apply to every task separately, in epochs.
        callback: ``callback(epoch, {term: [value per task]})`` at every history record.

    Returns:
        :class:`MultiFitResult`. The model holds each task's best-validation parameters
        (then L-BFGS-polished if asked).
    """
    pdes = list(pdes)
    T = len(pdes)
    weights = check_schedule(weights, epochs, lbfgs_iters)
    if getattr(model, "n_tasks", None) != T:
        raise ValueError(f"model.n_tasks is {getattr(model, 'n_tasks', None)!r} but {T} tasks were given")
    decay_every = decay_every or max(1, epochs // 3)
    device, dtype = cfg.device, cfg.dtype
    model.to(device, dtype)
    params = _trainable(model, T)
    spde = stack_pdes(pdes, device, dtype)

    n_points = {"collocation": 2000, "ic": 200, "bc": 200, **(n_points or {})}

    def prepare(pts, offset: int) -> Points:
        if pts is None:
            pts = [sample_points(p, n_points["collocation"], n_points["ic"], n_points["bc"],
                                 cfg.generator(100 * i + offset), dtype) for i, p in enumerate(pdes)]
        if not isinstance(pts, Points):
            pts = stack_points(list(pts))
        if pts.collocation.dim() != 3 or pts.collocation.shape[0] != T:
            raise ValueError(f"stacked points must be [T={T}, N, d]; got {tuple(pts.collocation.shape)}")
        return pts.to(device, dtype)

    points, val_points = prepare(points, 1), prepare(val_points, 2)

    opt = torch.optim.Adam(list(params.values()), lr=lr)
    hist_keys = ("epoch", "lr", "loss", *TERMS, "val_epoch", "val_loss")
    res = MultiFitResult(histories=[{k: [] for k in hist_keys} for _ in range(T)], epochs=[0] * T,
                         status=["max_epochs"] * T, best_val=[math.inf] * T)
    active = torch.ones(T, dtype=torch.bool, device=device)
    since_best = [0] * T
    best, good, hold = _copy(params), _copy(params), _copy(params)
    start, phase = 0, "adam"
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.exists():
        c = load_checkpoint(ckpt)
        model.load_state_dict(c["model"])
        opt.load_state_dict(c["optimizer"])
        best, good, hold = ({k: v.to(device, dtype) for k, v in c[n].items()} for n in ("best", "good", "hold"))
        active = c["active"].to(device)
        since_best, start, phase = c["since_best"], c["epoch"], c["phase"]
        for k in ("histories", "epochs", "status", "best_val", "final_loss", "loop_epochs", "wall_time_s",
                  "adam_wall_time_s", "s_per_epoch", "lbfgs", "message"):
            setattr(res, k, c[k])
        if phase == "done":
            return res

    def step_terms(pts: Points) -> tuple[Tensor, dict[str, Tensor]]:
        terms = task_loss_terms(model, spde, pts)
        return total_loss(terms, weights), terms

    compiled = torch.compile(step_terms) if cfg.compile else step_terms

    def save(epoch: int, phase_: str) -> None:
        if ckpt is None:
            return
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        _save_atomic({"model": state, "optimizer": opt.state_dict(), "best": best, "good": good, "hold": hold,
                      "active": active.cpu(), "since_best": since_best, "epoch": epoch, "phase": phase_,
                      **{k: getattr(res, k) for k in ("histories", "epochs", "status", "best_val", "final_loss",
                                                       "loop_epochs", "wall_time_s", "adam_wall_time_s",
                                                       "s_per_epoch", "lbfgs", "message")}}, ckpt)

    def stop(mask: Tensor, source: dict[str, Tensor], status: str, epoch: int) -> None:
        """Freeze the tasks in ``mask`` with the parameters of ``source``."""
        _put(params, source, mask)
        _put(hold, source, mask)
        for i in mask.nonzero().flatten().tolist():
            res.status[i], res.epochs[i] = status, epoch
        active[mask] = False

    t0 = time.perf_counter()
    wall0 = res.wall_time_s
    epoch = start
    if phase == "adam":
        bar = tqdm(total=epochs, initial=start, desc=desc, disable=not cfg.progress, leave=False, mininterval=0.5)
        try:
            for epoch in range(start, epochs):
                if not bool(active.any()):
                    break
                cur_lr = lr_at(epoch, lr, gamma, decay_every, min_lr)
                for g in opt.param_groups:
                    g["lr"] = cur_lr
                task_loss, terms = compiled(points)
                values = task_loss.detach()
                bad = active & ~torch.isfinite(values)
                any_bad = bool(bad.any())
                if any_bad:
                    names = ", ".join(str(i) for i in bad.nonzero().flatten().tolist())
                    msg = f"non-finite loss at epoch {epoch} for task(s) {names}; they stop with their last good parameters"
                    res.message = (res.message + "; " if res.message else "") + msg
                    warnings.warn(msg, RuntimeWarning, stacklevel=2)
                training = active & ~bad
                if not bool(training.any()):
                    stop(bad, good, "nonfinite", epoch)
                    break
                opt.zero_grad(set_to_none=True)
                torch.where(training, task_loss, torch.zeros_like(task_loss)).sum().backward()
                frozen = ~training
                any_frozen = bool(frozen.any())
                if any_frozen:  # stopped tasks get no gradient (this also clears a NaN task's)
                    with torch.no_grad():
                        for p in params.values():
                            if p.grad is not None:
                                p.grad[frozen] = 0.0
                opt.step()
                if any_bad:  # only now: the graph of this step used the parameters as they were
                    stop(bad, good, "nonfinite", epoch)
                if any_frozen:  # Adam's momentum would still move them
                    _put(params, hold, frozen)
                if epoch % log_every == 0:
                    vals = values.tolist()
                    rec = {k: v.detach().tolist() for k, v in terms.items()}
                    for i in active.nonzero().flatten().tolist():
                        h = res.histories[i]
                        h["epoch"].append(epoch)
                        h["lr"].append(cur_lr)
                        h["loss"].append(vals[i])
                        for k, v in rec.items():
                            h[k].append(v[i])
                    if callback:
                        callback(epoch, rec)
                    bar.set_postfix(active=int(active.sum()), loss=f"{sum(vals) / T:.3e}", refresh=False)
                if (epoch + 1) % val_every == 0 or epoch + 1 == epochs:
                    with torch.no_grad():
                        val = step_terms(val_points)[0].tolist()
                    improved = torch.zeros(T, dtype=torch.bool, device=device)
                    finite = torch.zeros(T, dtype=torch.bool, device=device)
                    for i in active.nonzero().flatten().tolist():
                        res.histories[i]["val_epoch"].append(epoch + 1)
                        res.histories[i]["val_loss"].append(val[i])
                        if val[i] < res.best_val[i]:
                            res.best_val[i], since_best[i] = val[i], 0
                            improved[i] = True
                        else:
                            since_best[i] += val_every
                        finite[i] = math.isfinite(val[i])
                    _put(best, params, improved)
                    _put(good, params, finite)
                    if patience is not None:
                        done = torch.tensor([since_best[i] >= patience for i in range(T)], device=device) & active
                        if bool(done.any()):
                            stop(done, best, "early_stop", epoch + 1)
                if ckpt is not None and (epoch + 1) % checkpoint_every == 0:
                    res.wall_time_s = res.adam_wall_time_s = wall0 + time.perf_counter() - t0
                    res.loop_epochs = epoch + 1
                    save(epoch + 1, "adam")
                bar.update(1)
            else:
                epoch = epochs
        finally:
            bar.close()
        loop_epochs = epoch  # epochs the batched loop ran (a break happens before running `epoch`)
        for i in active.nonzero().flatten().tolist():
            res.epochs[i] = loop_epochs
        # every task that did not blow up ends with its best-validation parameters
        restore = torch.tensor([s != "nonfinite" and math.isfinite(b) for s, b in zip(res.status, res.best_val)],
                               device=device)
        _put(params, best, restore)
        active[:] = False
        res.loop_epochs = loop_epochs
        res.wall_time_s = res.adam_wall_time_s = wall0 + time.perf_counter() - t0
        res.s_per_epoch = res.adam_wall_time_s / max(loop_epochs, 1)
        save(loop_epochs, "lbfgs")
    if lbfgs_iters and any(s != "nonfinite" for s in res.status):
        t1 = time.perf_counter()
        _lbfgs_joint(model, spde, points, weights, lbfgs_iters, lbfgs_float64, res, cfg, desc)
        res.wall_time_s += time.perf_counter() - t1
    with torch.no_grad():
        res.final_loss = step_terms(points)[0].tolist()
    save(res.loop_epochs, "done")
    return res


def _lbfgs_joint(model, spde, points, weights, iters, float64, res, cfg, desc) -> None:
    """L-BFGS on the loss summed over tasks (:func:`pinnlab.train.lbfgs_polish`); restores the
    start on a non-finite loss. Tasks that ended in ``"nonfinite"`` keep their parameters (their
    terms are left out).
    """
    keep = torch.tensor([s != "nonfinite" for s in res.status], device=points.collocation.device)

    def loss_of(pts: Points) -> torch.Tensor:
        per_task = total_loss(task_loss_terms(model, spde, pts), weights)
        return torch.where(keep, per_task, torch.zeros_like(per_task)).sum()

    def record(done: int, loss: float) -> None:
        res.lbfgs["iter"].append(res.loop_epochs + done)
        res.lbfgs["loss"].append(loss)

    if not lbfgs_polish(model, loss_of, points, iters, float64=float64, desc=desc, progress=cfg.progress,
                        record=record):
        res.message = (res.message + "; " if res.message else "") + NONFINITE_LBFGS
        warnings.warn(res.message, RuntimeWarning, stacklevel=3)