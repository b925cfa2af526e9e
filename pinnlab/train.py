"""One trainer for every PINN in the workbook.

``fit(model, pde, cfg)`` minimises a weighted sum of named loss terms::

    L = w_residual · mean(r²) + w_ic · mean((u − u0)²) + w_bc · mean(boundary mismatch²)

with Adam and a step-decay schedule (Paper A: lr 1e-3, ×0.1 every ``decay_every`` epochs,
floor 1e-7), early stopping on a validation loss (same terms on fresh points), an
optional L-BFGS polish (float64 if asked), a history of every term, a progress bar, a
NaN/inf guard that stops and restores the last good parameters, and checkpoints that let
an interrupted run resume where it stopped.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import torch
from tqdm.auto import tqdm

from .config import Config
from .engine import jet_autograd
from .pdes.base import PDE

Tensor = torch.Tensor
TERMS = ("residual", "ic", "bc")


# ----------------------------------------------------------------------------- points
@dataclass
class Points:
    """Training (or validation) points of one task.

    Attributes:
        collocation: ``[N_f, d]`` interior points for the residual.
        ic: ``(points [N_0, d], targets [N_0, m])`` or ``None`` (steady problems).
        bc: ``(points [N_b, d], targets [N_b, m] or None for periodic pairs)`` or ``None``.
    """

    collocation: Tensor
    ic: Optional[tuple[Tensor, Tensor]] = None
    bc: Optional[tuple[Tensor, Optional[Tensor]]] = None

    def to(self, device=None, dtype=None) -> "Points":
        def mv(t):
            return None if t is None else t.to(device=device, dtype=dtype)

        return Points(
            mv(self.collocation),
            None if self.ic is None else (mv(self.ic[0]), mv(self.ic[1])),
            None if self.bc is None else (mv(self.bc[0]), mv(self.bc[1])),
        )


def sample_points(
    pde: PDE,
    n_collocation: int,
    n_ic: int = 0,
    n_bc: int = 0,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Points:
    """Draw collocation, initial and boundary points of ``pde`` (counts of 0 skip a kind)."""
    col, _ = pde.sample(n_collocation, "collocation", generator, dtype)
    ic = pde.sample(n_ic, "ic", generator, dtype) if n_ic and "ic" in pde.kinds else None
    bc = pde.sample(n_bc, "bc", generator, dtype) if n_bc and "bc" in pde.kinds else None
    return Points(col, ic, bc).to(device)


# ----------------------------------------------------------------------------- losses
def loss_terms(model: torch.nn.Module, pde: PDE, pts: Points) -> dict[str, Tensor]:
    """The named loss terms (mean squares) of ``model`` on ``pts``.

    Models with a ``jet`` method (every :mod:`pinnlab.models` network) use the forward
    derivative engine; any other ``nn.Module`` falls back to nested autograd.
    """
    x = pts.collocation
    jet = model.jet(x, pde.spec) if hasattr(model, "jet") else jet_autograd(model, x, pde.spec)
    terms = {"residual": pde.residual_from_jet(jet, x).pow(2).mean()}
    if pts.ic is not None:
        terms["ic"] = (model(pts.ic[0]) - pts.ic[1]).pow(2).mean()
    if pts.bc is not None:
        terms["bc"] = pde.boundary_residual(model(pts.bc[0]), pts.bc[1]).pow(2).mean()
    return terms


def total_loss(terms: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    return sum(weights.get(k, 1.0) * v for k, v in terms.items())


# ----------------------------------------------------------------------------- result
@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        history: lists keyed by ``epoch``, ``lr``, ``loss``, each term name, and
            ``val_epoch`` / ``val_loss``; L-BFGS iterations continue the epoch count
            and are listed in ``lbfgs_epoch`` / ``lbfgs_loss``.
        epochs: Adam epochs run.
        status: ``"max_epochs"``, ``"early_stop"`` or ``"nonfinite"``.
        best_val: best validation loss seen.
        wall_time_s: training wall time (accumulated over resumed runs).
        adam_wall_time_s: the Adam part of it.
    """

    history: dict[str, list] = field(default_factory=dict)
    epochs: int = 0
    status: str = "max_epochs"
    best_val: float = math.inf
    wall_time_s: float = 0.0
    adam_wall_time_s: float = 0.0
    message: str = ""


class NonFiniteLoss(RuntimeError):
    """Raised inside the training loop when a loss term becomes NaN or inf."""


def _state(model: torch.nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _save_atomic(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    """Load a trainer checkpoint safely (``weights_only=True``)."""
    return torch.load(path, map_location="cpu", weights_only=True)


# ----------------------------------------------------------------------------- fit
def fit(
    model: torch.nn.Module,
    pde: PDE,
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
    points: Optional[Points] = None,
    val_points: Optional[Points] = None,
    n_points: Optional[dict[str, int]] = None,
    lbfgs_iters: int = 0,
    lbfgs_float64: bool = False,
    checkpoint: Optional[str | Path] = None,
    checkpoint_every: int = 500,
    log_every: int = 10,
    desc: str = "train",
    callback: Optional[Callable[[int, dict[str, float]], None]] = None,
) -> FitResult:
    """Train ``model`` on ``pde`` in place and return its history.

    Args:
        model: a network mapping points ``[N, d]`` to ``[N, m]``.
        pde: the problem (:class:`~pinnlab.pdes.base.PDE`).
        cfg: run configuration (device, dtype, seed, progress, compile).
        epochs: maximum Adam epochs (full-batch steps).
        lr: initial learning rate; multiplied by ``gamma`` every ``decay_every`` epochs
            (default ``epochs // 3``), never below ``min_lr``.
        patience: stop when the validation loss has not improved for this many epochs
            (``None`` disables early stopping); the best parameters are restored.
        val_every: epochs between validation evaluations.
        weights: loss weights per term name (default 1 each).
        points / val_points: training and validation points; drawn from ``n_points``
            (keys ``collocation``, ``ic``, ``bc``) with ``cfg``'s seed when omitted.
        lbfgs_iters: L-BFGS iterations after Adam (0 = none); ``lbfgs_float64`` runs them
            in float64.
        checkpoint: file to save progress to every ``checkpoint_every`` epochs; when it
            exists, training resumes from it (and returns at once if it had finished).
        log_every: epochs between history records.
        callback: called as ``callback(epoch, terms)`` at every history record.
    """
    weights = check_schedule(weights, epochs, lbfgs_iters)
    decay_every = decay_every or max(1, epochs // 3)
    device, dtype = cfg.device, cfg.dtype
    model.to(device, dtype)
    n_points = {"collocation": 2000, "ic": 200, "bc": 200, **(n_points or {})}
    if points is None:
        points = sample_points(pde, n_points["collocation"], n_points["ic"], n_points["bc"], cfg.generator(1), dtype)
    if val_points is None:
        val_points = sample_points(pde, n_points["collocation"], n_points["ic"], n_points["bc"], cfg.generator(2), dtype)
    points, val_points = points.to(device, dtype), val_points.to(device, dtype)

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    res = FitResult(history={k: [] for k in ("epoch", "lr", "loss", *TERMS, "val_epoch", "val_loss",
                                              "lbfgs_epoch", "lbfgs_loss")})
    best_state, since_best, start, phase = _state(model), 0, 0, "adam"
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.exists():
        c = load_checkpoint(ckpt)
        model.load_state_dict(c["model"])
        opt.load_state_dict(c["optimizer"])
        best_state, since_best, start, phase = c["best_state"], c["since_best"], c["epoch"], c["phase"]
        res.history, res.best_val, res.status = c["history"], c["best_val"], c["status"]
        res.wall_time_s, res.adam_wall_time_s, res.epochs = c["wall_time_s"], c["adam_wall_time_s"], c["epoch"]
        if phase == "done":
            return res

    def step_loss(pts: Points) -> tuple[Tensor, dict[str, Tensor]]:
        terms = loss_terms(model, pde, pts)
        return total_loss(terms, weights), terms

    compiled = torch.compile(step_loss) if cfg.compile else step_loss

    def save(epoch: int, phase_: str) -> None:
        if ckpt is None:
            return
        _save_atomic({"model": _state(model), "optimizer": opt.state_dict(), "best_state": best_state,
                      "since_best": since_best, "epoch": epoch, "phase": phase_, "history": res.history,
                      "best_val": res.best_val, "status": res.status, "wall_time_s": res.wall_time_s,
                      "adam_wall_time_s": res.adam_wall_time_s}, ckpt)

    t0 = time.perf_counter()
    wall0 = res.wall_time_s
    epoch = start
    if phase == "adam":
        bar = tqdm(total=epochs, initial=start, desc=desc, disable=not cfg.progress, leave=False,
                   mininterval=0.5)
        good_state = _state(model)
        try:
            for epoch in range(start, epochs):
                cur_lr = lr_at(epoch, lr, gamma, decay_every, min_lr)
                for g in opt.param_groups:
                    g["lr"] = cur_lr
                loss, terms = compiled(points)
                value = loss.item()
                if not math.isfinite(value):
                    bad = ", ".join(f"{k}={v.item():.3g}" for k, v in terms.items())
                    raise NonFiniteLoss(f"non-finite loss at epoch {epoch} ({bad})")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if epoch % log_every == 0:
                    rec = {k: v.item() for k, v in terms.items()}
                    for k, v in (("epoch", epoch), ("lr", cur_lr), ("loss", value), *rec.items()):
                        res.history[k].append(v)
                    if callback:
                        callback(epoch, rec)
                    bar.set_postfix(loss=f"{value:.3e}", refresh=False)
                if (epoch + 1) % val_every == 0 or epoch + 1 == epochs:
                    val = step_loss(val_points)[0].item()
                    res.history["val_epoch"].append(epoch + 1)
                    res.history["val_loss"].append(val)
                    if val < res.best_val:
                        res.best_val, best_state, since_best = val, _state(model), 0
                    else:
                        since_best += val_every
                    if math.isfinite(val):
                        good_state = _state(model)
                    if patience is not None and since_best >= patience:
                        res.status = "early_stop"
                        epoch += 1
                        break
                if ckpt is not None and (epoch + 1) % checkpoint_every == 0:
                    res.wall_time_s = wall0 + time.perf_counter() - t0
                    res.adam_wall_time_s = res.wall_time_s
                    save(epoch + 1, "adam")
                bar.update(1)
            else:
                epoch = epochs
        except NonFiniteLoss as err:
            model.load_state_dict(good_state)
            res.status, res.message = "nonfinite", f"{err}; training stopped, last good parameters restored"
            warnings.warn(res.message, RuntimeWarning, stacklevel=2)
        finally:
            bar.close()
        if res.status != "nonfinite" and math.isfinite(res.best_val):
            model.load_state_dict(best_state)
        res.epochs = epoch
        res.wall_time_s = res.adam_wall_time_s = wall0 + time.perf_counter() - t0
        save(epoch, "lbfgs")
    if lbfgs_iters and res.status != "nonfinite":
        t1 = time.perf_counter()
        _lbfgs(model, pde, points, weights, lbfgs_iters, lbfgs_float64, res, cfg, desc)
        res.wall_time_s += time.perf_counter() - t1
    save(res.epochs, "done")
    return res


def lbfgs_chunks(params, loss_fn: Callable[[], Tensor], iters: int, *, desc: str, progress: bool,
                 chunk: int = 50) -> Iterator[tuple[int, float]]:
    """L-BFGS (strong Wolfe line search, history 50) in chunks of ``chunk`` iterations.

    Yields ``(iterations done, loss)`` after each chunk (a tqdm bar shows progress); stops
    after ``iters`` iterations, when a chunk ends early by a tolerance (converged), or right after
    yielding a non-finite loss — the caller restores its parameters then. A chunk that ends
    because its function evaluations ran out (``max_eval`` = 1.25 × its iterations, torch's
    default; the strong-Wolfe line search spends several on hard steps) is *not* converged: the
    next chunk goes on.
    """
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=chunk, history_size=50, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-12, tolerance_change=1e-15)

    def closure():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        return loss

    done = 0
    group = opt.param_groups[0]
    with tqdm(total=iters, desc=f"{desc} L-BFGS", disable=not progress, leave=False) as bar:
        while done < iters:
            group["max_iter"] = min(chunk, iters - done)
            group["max_eval"] = max(2, group["max_iter"] * 5 // 4)
            state = opt.state[opt._params[0]]
            evals0 = state.get("func_evals", 0)
            loss = opt.step(closure).item()
            n_iter, evals = state.get("n_iter", 0), state.get("func_evals", 0) - evals0  # LBFGS fills `state`
            step = max(1, n_iter - done)
            done += step
            yield done, loss
            if not math.isfinite(loss):
                return
            bar.update(step)
            bar.set_postfix(loss=f"{loss:.3e}", refresh=False)
            if step < group["max_iter"] and evals < group["max_eval"]:  # a tolerance was met: converged
                return


def check_schedule(weights: Optional[dict[str, float]], epochs: int, lbfgs_iters: int) -> dict[str, float]:
    """The loss weights as a dict, after checking the term names and the step counts (``ValueError``)."""
    weights = dict(weights or {})
    unknown = set(weights) - set(TERMS)
    if unknown:
        raise ValueError(f"unknown loss terms {sorted(unknown)}; allowed: {', '.join(TERMS)}")
    if epochs < 0 or lbfgs_iters < 0:
        raise ValueError("epochs and lbfgs_iters must be non-negative")
    return weights


def lr_at(epoch: int, lr: float, gamma: float, decay_every: int, min_lr: float) -> float:
    """Step decay: ``lr · gamma^(epoch // decay_every)``, never below ``min_lr``."""
    return max(min_lr, lr * gamma ** (epoch // decay_every))


NONFINITE_LBFGS = "L-BFGS hit a non-finite loss; parameters from before L-BFGS restored"


def lbfgs_polish(model: torch.nn.Module, loss_of: Callable[[Points], Tensor], points: Points, iters: int, *,
                 float64: bool, desc: str, progress: bool,
                 record: Callable[[int, float], None]) -> bool:
    """L-BFGS on ``loss_of(points)`` over ``model``'s trainable parameters (:func:`lbfgs_chunks`).

    With ``float64`` the model and points are promoted for the polish and the model is cast back
    afterwards. ``record(iterations done, loss)`` is called after each finite chunk. Returns
    ``False`` when a loss turned non-finite: the parameters from before L-BFGS are restored.
    """
    dtype = next(model.parameters()).dtype
    if float64:
        model.double()
        points = points.to(dtype=torch.float64)
    start_state = _state(model)
    ok = True
    params = [p for p in model.parameters() if p.requires_grad]
    for done, loss in lbfgs_chunks(params, lambda: loss_of(points), iters, desc=desc, progress=progress):
        if not math.isfinite(loss):
            model.load_state_dict(start_state)
            ok = False
            break
        record(done, loss)
    if float64:
        model.to(dtype)
    return ok


def _lbfgs(model, pde, points, weights, iters, float64, res, cfg, desc) -> None:
    """L-BFGS polish of :func:`fit` (:func:`lbfgs_polish`); restores the start on NaN."""
    def record(done: int, loss: float) -> None:
        res.history["lbfgs_epoch"].append(res.epochs + done)
        res.history["lbfgs_loss"].append(loss)

    if not lbfgs_polish(model, lambda pts: total_loss(loss_terms(model, pde, pts), weights), points, iters,
                        float64=float64, desc=desc, progress=cfg.progress, record=record):
        res.message = NONFINITE_LBFGS
        warnings.warn(res.message, RuntimeWarning, stacklevel=3)