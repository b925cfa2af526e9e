"""Baselines of Paper B's convection study, all trained on the same data, loss and optimiser as Hyper-LR-PINN.

* :func:`vanilla_pinn` — the plain tanh MLP ``2-50-50-50-50-50-1`` (10,401 numbers: the count
  Paper B's Table 3 gives; 2-50-50-50-50-1 would have 7,851), trained from scratch per β.
* :func:`naive_lr_pinn` — the low-rank network of :class:`~pinnlab.lowrank.LowRankMLP` with a
  fixed rank r, every factor trainable, trained from scratch per β.
* :func:`curriculum` — Krishnapriyan et al.'s curriculum regularisation on Naive-LR-PINN: train
  at a small β, then raise β stage by stage to the target, warm-starting each stage.
* :func:`meta_train` — first-order MAML (FOMAML) and Reptile on Naive-LR-PINN: learn one
  initialisation over the training β, then :func:`finetune` it on each test β. We use the
  first-order variants (no second derivatives through the inner loop): the inner loop is
  ``k`` Adam steps from a fresh optimiser state, per task; FOMAML's outer gradient is the mean
  over tasks of the query-loss gradient at the adapted weights, Reptile's is the mean of
  ``θ − θ'_task``; both are applied with Adam.

Many tasks always run as *one* stacked model (a leading task axis on every weight), so the
per-task trainings, the inner loops of all tasks and the fine-tunings are single batched
passes through the derivative engine.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .cdr_tasks import (Schedule, cdr_points, errors, every, fit_cdr_tasks, module_load, module_state,
                        predict_grid, run_epochs, stack_cdr, task_losses)
from .lowrank import GROUPS, LowRankMLP
from .models import MLP
from .train import _save_atomic

Tensor = torch.Tensor

#: Paper B's vanilla PINN (10,401 parameters)
PINN_WIDTHS = [2, 50, 50, 50, 50, 50, 1]


def vanilla_pinn(n_tasks: Optional[int] = None, generator: Optional[torch.Generator] = None) -> MLP:
    """The 10,401-parameter tanh PINN, ``n_tasks`` independent copies stacked."""
    return MLP(PINN_WIDTHS, n_tasks=n_tasks, generator=generator)


def naive_lr_pinn(rank: int, n_tasks: Optional[int] = None, generator: Optional[torch.Generator] = None) -> LowRankMLP:
    """Naive-LR-PINN of rank ``rank``: every factor trainable, ``n_tasks`` independent copies."""
    return LowRankMLP(2, 1, 50, 3, rank=rank, n_tasks=n_tasks, generator=generator)


def stacked_copies(net: LowRankMLP, n_tasks: int) -> LowRankMLP:
    """``n_tasks`` copies of a single :class:`LowRankMLP` stacked on a task axis (every group per task)."""
    out = LowRankMLP(net.n_in, net.n_out, net.width, net.n_lowrank, net.ranks, n_tasks=n_tasks,
                     hidden_bias=net.hidden_bias, activation=net.activation)
    out.to(net.W_first.device, net.W_first.dtype)
    load_copies(out, net)
    return out


@torch.no_grad()
def load_copies(stacked: LowRankMLP, net: LowRankMLP) -> None:
    """Set every task of ``stacked`` to the weights of the single network ``net``."""
    src = dict(net.named_parameters())
    for name, p in stacked.named_parameters():
        p.copy_(src[name].expand_as(p))


# ----------------------------------------------------------------------------- finished stages
def load_finished_stage(net: torch.nn.Module, path: Optional[Path], device=None,
                        dtype: Optional[torch.dtype] = None) -> Optional[dict]:
    """The history of a finished training stage saved at ``path`` by :func:`save_finished_stage`, its
    weights loaded into ``net`` (moved to ``device``/``dtype``); ``None`` without ``path`` or before
    the stage has finished. A rerun of a staged fit skips the stages it finds."""
    if path is None or not path.exists():
        return None
    saved = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(saved["state"])
    net.to(device, dtype)
    return saved["history"]


def save_finished_stage(net: torch.nn.Module, history: dict, path: Path, checkpoint: Optional[Path] = None) -> None:
    """Save ``net``'s weights and the stage's ``history`` at ``path`` (atomically), then delete the
    stage's running ``checkpoint``."""
    _save_atomic({"state": {k: v.detach().cpu() for k, v in net.state_dict().items()}, "history": history}, path)
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- curriculum
def curriculum_betas(target: float, stages: int, start: float = 1.0) -> list[float]:
    """β of each stage: ``stages`` values from ``start`` to ``target``, evenly spaced (the last is the target)."""
    if stages < 1:
        raise ValueError("stages must be >= 1")
    if stages == 1:
        return [float(target)]
    return [float(b) for b in np.linspace(min(start, target), target, stages + 1)[1:]]


def curriculum(net: torch.nn.Module, targets: Sequence[float], sched: Schedule, stages: int, *, start: float = 1.0,
               device=None, dtype=torch.float32, generator: Optional[torch.Generator] = None,
               checkpoint_dir: Optional[Path] = None, progress: bool = True, **eval_kw) -> dict:
    """Curriculum training of a task-stacked ``net`` (one task per target β).

    Stage ``k`` trains every task at ``β_k = start + (target − start)·k/stages`` for
    ``sched.epochs // stages`` epochs (fresh Adam, new collocation draw), continuing from the
    previous stage; the final stage is the target itself. Evaluation keywords
    (``eval_points``, ``eval_ref``, ``eval_at``) apply to the final stage. With
    ``checkpoint_dir`` each finished stage is saved and a rerun skips it.
    """
    schedule = [curriculum_betas(t, stages, start) for t in targets]  # [T][stages]
    hist_all: dict = {"stage_betas": schedule, "stages": []}
    per = copy.copy(sched)
    per.epochs = max(1, sched.epochs // stages)
    for k in range(stages):
        betas = [s[k] for s in schedule]
        done = None if checkpoint_dir is None else Path(checkpoint_dir) / f"curriculum_stage{k}.pt"
        saved = load_finished_stage(net, done, device, dtype)
        if saved is not None:
            hist_all["stages"].append(saved)
            continue
        kw = eval_kw if k == stages - 1 else {}
        ckpt = None if checkpoint_dir is None else Path(checkpoint_dir) / f"curriculum_stage{k}.ckpt"
        g = None if generator is None else torch.Generator().manual_seed(int(generator.initial_seed()) + 101 * k)
        h = fit_cdr_tasks(net, betas, per, device=device, dtype=dtype, generator=g, checkpoint=ckpt,
                          progress=progress, desc=f"curriculum {k + 1}/{stages}", **kw)
        hist_all["stages"].append(h)
        if done is not None:
            save_finished_stage(net, h, done, ckpt)
    return hist_all


# ----------------------------------------------------------------------------- MAML / Reptile
def meta_train(net: LowRankMLP, betas: Sequence[float], sched: Schedule, method: str, *, inner_steps: int = 5,
               inner_lr: float = 1e-3, device=None, dtype=torch.float32, generator: Optional[torch.Generator] = None,
               eval_points: Optional[Tensor] = None, eval_ref: Optional[np.ndarray] = None,
               checkpoint: Optional[str | Path] = None, progress: bool = True, pde=None, ic: str = "sin",
               spec=None) -> dict:
    """First-order MAML (``method="fomaml"``) or Reptile (``"reptile"``) for the single network ``net``.

    One epoch = one outer step over all training tasks (meta-batch = every task): copy θ to a
    task-stacked model, take ``inner_steps`` Adam steps (lr ``inner_lr``, fresh state) on every
    task's PINN loss at once (support points), then

    * FOMAML: gradient of the tasks' mean loss on fresh *query* points at the adapted weights θ'_t,
      averaged over tasks, is θ's gradient;
    * Reptile: θ's gradient is ``θ − mean_t θ'_t``;

    and an outer Adam step (lr ``sched.lr``) updates θ. History: ``loss`` = mean task loss at θ
    (before adaptation; Figure 3's train loss), ``adapted`` = after the inner loop, and the
    test errors of θ itself (``eval_abs_err``/``eval_rel_err``, means over the training β).

    General CDR tasks (Paper B's Table 4): pass ``pde``, a CDR whose coefficients are ``[T, 1, 1]``
    tensors (:func:`pinnlab.baselines_p.stack_mu`; ``betas`` then only sets ``T``), the initial
    condition ``ic`` and the derivative ``spec`` (with ``u_xx`` when any ν > 0).
    """
    if method not in ("fomaml", "reptile"):
        raise ValueError(f"unknown method {method!r}; allowed: 'fomaml', 'reptile'")
    net.to(device, dtype)
    betas = [float(b) for b in betas]
    T = len(betas)
    pde = stack_cdr(betas, device=device, dtype=dtype) if pde is None else pde
    support = cdr_points(T, sched.n_collocation, sched.n_ic, sched.n_bc, ic=ic, generator=generator, dtype=dtype,
                         device=device)
    query = cdr_points(T, sched.n_collocation, sched.n_ic, sched.n_bc, ic=ic, generator=generator, dtype=dtype,
                       device=device)
    task_net = stacked_copies(net, T)
    theta = [p for p in net.parameters() if p.requires_grad]
    names = [n for n, p in net.named_parameters() if p.requires_grad]
    outer = torch.optim.Adam(theta, lr=sched.lr)

    def step(_e: int) -> dict[str, float]:
        load_copies(task_net, net)
        inner = torch.optim.Adam(task_net.parameters(), lr=inner_lr)
        before = after = float("nan")
        for k in range(inner_steps):
            per_task = sum(task_losses(task_net.layers(), pde, support, spec).values())
            if k == 0:
                before = per_task.mean().item()
            inner.zero_grad(set_to_none=True)
            per_task.sum().backward()
            inner.step()
        adapted = dict(task_net.named_parameters())
        if method == "fomaml":
            per_task = sum(task_losses(task_net.layers(), pde, query, spec).values())
            after = per_task.mean().item()
            task_net.zero_grad(set_to_none=True)
            per_task.sum().backward()
            for n, p in zip(names, theta):
                p.grad = adapted[n].grad.mean(0).clone()
        else:
            with torch.no_grad():
                per_task = sum(task_losses(task_net.layers(), pde, query, spec).values())
                after = per_task.mean().item()
                for n, p in zip(names, theta):
                    p.grad = p.detach() - adapted[n].detach().mean(0)
        outer.step()
        outer.zero_grad(set_to_none=True)
        return {"loss": before, "adapted": after}

    def evaluate() -> dict:
        pred = np.repeat(predict_grid(net.layers(), eval_points), len(eval_ref), 0)
        e = errors(pred, eval_ref)
        return {"abs_err": float(np.mean(e["abs_err"])), "rel_err": float(np.mean(e["rel_err"]))}

    eval_fn = evaluate if eval_points is not None and eval_ref is not None else None

    return run_epochs(step, sched.epochs, state=module_state(net, outer), load_state=module_load(net, outer),
                      log_every=sched.log_every, eval_at=every(sched.eval_every), eval_fn=eval_fn,
                      checkpoint=checkpoint, checkpoint_every=sched.checkpoint_every, progress=progress,
                      desc=f"{method} meta-training")


def finetune(init: LowRankMLP, targets: Sequence[float], sched: Schedule, **kw) -> tuple[LowRankMLP, dict]:
    """Train copies of the meta-learned ``init`` on each target β (every factor trainable, batched)."""
    net = stacked_copies(init, len(targets))
    return net, fit_cdr_tasks(net, targets, sched, **kw)


def paper_count(rank: int) -> int:
    """Paper B's Table-3 count for Naive-LR-PINN: dense layers, hidden biases and diagonals (351 + 3r)."""
    return LowRankMLP.param_count_formula(rank, groups=("first", "s", "bias", "last"))


def all_factors_count(rank: int) -> int:
    """Every trainable number of our Naive-LR-PINN (the bases U, V included)."""
    return LowRankMLP.param_count_formula(rank, groups=GROUPS)
