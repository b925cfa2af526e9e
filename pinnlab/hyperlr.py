"""Hyper-LR-PINN (Cho et al., NeurIPS 2023): a hypernetwork that writes the diagonals of a low-rank PINN.

Model (:class:`HyperLRPINN`): a hypernetwork maps the PDE parameters ``μ`` through
``depth`` tanh layers to one ReLU *head* per low-rank layer, ``sˡ(μ) = ReLU(Aˡ e(μ) + cˡ)``;
the solution network is a :class:`~pinnlab.lowrank.LowRankMLP` whose hidden weights are
``Uˡ diag(sˡ(μ)) Vˡᵀ``. A diagonal entry that the ReLU sets to exactly zero removes one
rank-1 term, so the rank of every layer adapts to ``μ`` (the paper calls the count of
non-zeros the rank).

Phase 1 (:func:`phase1`, offline): train the bases ``U, V``, the hidden biases, the dense
first/last layers and the hypernetwork on a set of training ``μ`` with the PINN loss plus the
orthogonality penalty ``Σ_l w (‖UˡᵀUˡ − I‖²_F + ‖VˡᵀVˡ − I‖²_F)``. All tasks go through *one*
batched forward/backward: the hypernetwork turns ``μ`` ``[T, p]`` into diagonals ``[T, r]``,
the weights ``U diag(s_t) Vᵀ`` stack to ``[T, w, w]`` and the derivative engine evaluates
every task with batched matmuls.

Phase 2 (:func:`phase2`, online, new ``μ``): freeze the bases and hidden biases, start the
diagonals at the hypernetwork's output, and train only the diagonals and the dense
first/last layers: ``(2+1)·50 + (50+1)·1 + Σ_l r_l`` = 201 + Σ r_l numbers, 351 at full rank.
*Full rank* trains all 50 entries per layer (the ones the ReLU zeroed may come back);
*adaptive rank* drops the zeroed entries (their rank-1 terms) for good, so the count is
201 + the number of non-zeros. Many new ``μ`` run as one batched model too (diagonals and
dense layers stacked per task, basis shared).

Implementation notes (ours, not the paper's): the hypernetwork input is normalised,
``(μ − center) / scale`` with the centre and half-width of the Phase-1 range (raw β ∈ [30, 40]
would saturate the first tanh layer); the loss averages the per-task mean squares over
tasks; the initial condition is fitted on a uniform x grid at t = 0, the periodic boundary on
pairs ``(0, t_k), (2π, t_k)``, the residual on uniformly drawn points per task.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from torch import nn

from .cdr_tasks import (Layers, Schedule, TaskPoints, cdr_points, epochs_to_reach, errors, eval_grid, every,
                        fit_cdr_tasks, module_load, module_state, predict_grid, reference, residual_spec, run_epochs,
                        slice_layers, stack_cdr, task_losses)
from .engine import mlp_forward
from .lowrank import LowRankMLP

Tensor = torch.Tensor

__all__ = ["HyperNetwork", "HyperLRPINN", "phase1", "phase2",
           # re-exported from pinnlab.cdr_tasks, where they live
           "Layers", "Schedule", "TaskPoints", "cdr_points", "epochs_to_reach", "errors", "eval_grid", "every",
           "fit_cdr_tasks", "predict_grid", "reference", "residual_spec", "run_epochs", "slice_layers", "stack_cdr",
           "task_losses"]


# ============================================================================ the model
def _uniform_linear(d_in: int, d_out: int, generator: Optional[torch.Generator]) -> nn.Linear:
    """``nn.Linear`` with PyTorch's default ``U(±1/√d_in)`` initialisation, drawn from ``generator``."""
    lin = nn.Linear(d_in, d_out)
    bound = 1.0 / math.sqrt(d_in)
    with torch.no_grad():
        lin.weight.copy_((torch.rand(d_out, d_in, generator=generator) * 2 - 1) * bound)
        lin.bias.copy_((torch.rand(d_out, generator=generator) * 2 - 1) * bound)
    return lin


class HyperNetwork(nn.Module):
    """``μ [T, p] → e = tanh-MLP(normalised μ) → [ReLU(Aˡ e + cˡ) for each head]`` (each ``[T, r]``).

    Args:
        n_params: number of PDE parameters ``p`` (1 for β alone; 3 for (β, ν, ρ)).
        width, depth: the embedding MLP (Paper B: 3 tanh layers of 50).
        heads: output size of each head (one per low-rank layer; 50 = full rank).
        center, scale: the input is ``(μ − center) / scale`` (length ``p`` each).
        generator: ``torch.Generator`` for the initialisation (PyTorch's default uniform one).
    """

    def __init__(self, n_params: int = 1, width: int = 50, depth: int = 3, heads: Sequence[int] = (50, 50, 50),
                 center: Sequence[float] = (0.0,), scale: Sequence[float] = (1.0,),
                 generator: Optional[torch.Generator] = None):
        super().__init__()
        if len(center) != n_params or len(scale) != n_params or min(abs(s) for s in scale) == 0:
            raise ValueError(f"center and scale need {n_params} entries each (scale non-zero)")
        self.register_buffer("center", torch.tensor([float(c) for c in center]))
        self.register_buffer("scale", torch.tensor([float(s) for s in scale]))
        dims = [n_params] + [width] * depth
        self.embed = nn.ModuleList([_uniform_linear(a, b, generator) for a, b in zip(dims[:-1], dims[1:])])
        self.heads = nn.ModuleList([_uniform_linear(width, int(r), generator) for r in heads])

    def embedding(self, mu: Tensor) -> Tensor:
        e = (mu - self.center) / self.scale
        for lin in self.embed:
            e = torch.tanh(lin(e))
        return e

    def forward(self, mu: Tensor) -> list[Tensor]:
        e = self.embedding(mu)
        return [torch.relu(h(e)) for h in self.heads]


class HyperLRPINN(nn.Module):
    """Hypernetwork + low-rank PINN with one shared basis (Paper B's Phase-1 model).

    Args:
        param_range: ``(lo, hi)`` of each PDE parameter in Phase 1 (sets the input normalisation),
            e.g. ``[(30, 40)]`` for β alone.
        width, n_lowrank: the solution network (50 and 3 in the paper; full rank ``r = width``).
        hyper_width, hyper_depth: the hypernetwork's embedding (50 and 3).
        generator: ``torch.Generator`` for every initialisation.

    ``mu`` is always ``[T, p]`` (T tasks). ``layers(mu)`` gives the engine's task-stacked
    ``(W, b)`` list, ``diagonals(mu)`` the hypernetwork output.
    """

    def __init__(self, param_range: Sequence[tuple[float, float]] = ((30.0, 40.0),), width: int = 50,
                 n_lowrank: int = 3, hyper_width: int = 50, hyper_depth: int = 3,
                 generator: Optional[torch.Generator] = None):
        super().__init__()
        self.param_range = [(float(a), float(b)) for a, b in param_range]
        center = [(a + b) / 2 for a, b in self.param_range]
        scale = [max((b - a) / 2, 1e-6) for a, b in self.param_range]
        self.net = LowRankMLP(2, 1, width, n_lowrank, rank=width, generator=generator)
        self.net.freeze(["s"])  # the diagonals come from the hypernetwork
        self.hyper = HyperNetwork(len(self.param_range), hyper_width, hyper_depth, [width] * n_lowrank,
                                  center, scale, generator)

    @property
    def n_params(self) -> int:
        return len(self.param_range)

    def as_mu(self, mu) -> Tensor:
        """``mu`` as a ``[T, p]`` tensor on this model's device and dtype (floats/lists accepted)."""
        ref = self.net.W_first
        m = torch.as_tensor(mu, dtype=ref.dtype, device=ref.device)
        return m.reshape(-1, self.n_params)

    def diagonals(self, mu) -> list[Tensor]:
        return self.hyper(self.as_mu(mu))

    def layers(self, mu) -> Layers:
        return self.net.layers(self.diagonals(mu))

    def forward(self, x: Tensor, mu) -> Tensor:
        return mlp_forward(self.layers(mu), x, self.net.activation)

    def orthogonality(self, weight: Optional[float] = None) -> Tensor:
        return self.net.orthogonality(weight)

    def ranks(self, mu) -> np.ndarray:
        """Non-zeros of each head, ``[T, n_lowrank]`` (the adaptive ranks)."""
        with torch.no_grad():
            return torch.stack([(s > 0).sum(-1) for s in self.diagonals(mu)], -1).cpu().numpy()

    def count_phase1(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    # ------------------------------------------------------------------ Phase 2
    def phase2_model(self, mu, adaptive: bool = False) -> LowRankMLP:
        """The Phase-2 network for the tasks ``mu`` ``[T, p]``: a :class:`LowRankMLP` with
        ``n_tasks = T`` whose diagonals and dense layers are per task (initialised from the
        hypernetwork and the Phase-1 dense layers) and whose bases and hidden biases are
        shared copies, frozen. ``adaptive=True`` masks the entries the ReLU set to zero
        (:meth:`LowRankMLP.mask_diagonals`): they stay exactly zero, i.e. their rank-1 terms
        are dropped, and are not counted as trainable."""
        m = self.as_mu(mu)
        T = m.shape[0]
        src = self.net
        net = LowRankMLP(src.n_in, src.n_out, src.width, src.n_lowrank, src.ranks, n_tasks=T,
                         per_task=("first", "s", "last"), hidden_bias=src.hidden_bias, activation=src.activation)
        net.to(src.W_first.device, src.W_first.dtype)
        with torch.no_grad():
            s = self.hyper(m)
            net.W_first.copy_(src.W_first.expand_as(net.W_first))
            net.b_first.copy_(src.b_first.expand_as(net.b_first))
            net.W_last.copy_(src.W_last.expand_as(net.W_last))
            net.b_last.copy_(src.b_last.expand_as(net.b_last))
            for l in range(src.n_lowrank):
                net.U[l].copy_(src.U[l])
                net.V[l].copy_(src.V[l])
                net.s[l].copy_(s[l])
                if src.hidden_bias:
                    net.b[l].copy_(src.b[l])
        net.freeze(["basis", "bias"])
        if adaptive:
            net.mask_diagonals([sl > 0 for sl in s])
        return net


# ============================================================================ Phase 1 and Phase 2
def phase1(model: HyperLRPINN, betas: Sequence[float], sched: Schedule, *, device=None,
           dtype: torch.dtype = torch.float32, generator: Optional[torch.Generator] = None,
           eval_points: Optional[Tensor] = None, eval_ref: Optional[np.ndarray] = None,
           checkpoint: Optional[str | Path] = None, progress: bool = True, desc: str = "Phase 1") -> dict:
    """Meta-train ``model`` on the convection speeds ``betas`` (ν = ρ = 0, IC 1 + sin x), in place.

    One epoch = one full-batch Adam step on
    ``mean_t [residual_t + ic_t + bc_t] + Σ_l w(‖UᵀU − I‖² + ‖VᵀV − I‖²)``, all tasks in one
    batched forward/backward. With ``eval_points`` ``[P, 2]`` and ``eval_ref`` ``[T, P]`` the
    hypernetwork's test errors (no Phase 2) are recorded every ``sched.eval_every`` epochs.

    Returns the history: ``loss``, ``pinn`` (the mean PINN loss), ``residual``, ``ic``, ``bc``,
    ``ortho`` per logged epoch, and ``eval_abs_err`` / ``eval_rel_err`` (task means).
    """
    model.to(device, dtype)
    betas = [float(b) for b in betas]
    pde = stack_cdr(betas, device=device, dtype=dtype)
    pts = cdr_points(len(betas), sched.n_collocation, sched.n_ic, sched.n_bc, generator=generator,
                     dtype=dtype, device=device)
    mu = model.as_mu(betas)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=sched.lr)

    def step(_e: int) -> dict[str, float]:
        terms = task_losses(model.layers(mu), pde, pts)
        pinn = sum(terms.values()).mean()
        ortho = model.orthogonality(sched.ortho_weight)
        loss = pinn + ortho
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "pinn": pinn.item(), "ortho": ortho.item(),
                **{k: v.mean().item() for k, v in terms.items()}}

    def evaluate() -> dict:
        e = errors(predict_grid(model.layers(mu), eval_points), eval_ref)
        return {"abs_err": float(np.mean(e["abs_err"])), "rel_err": float(np.mean(e["rel_err"]))}

    eval_fn = evaluate if eval_points is not None and eval_ref is not None else None

    return run_epochs(step, sched.epochs, state=module_state(model, opt), load_state=module_load(model, opt),
                      log_every=sched.log_every, eval_at=every(sched.eval_every), eval_fn=eval_fn,
                      checkpoint=checkpoint, checkpoint_every=sched.checkpoint_every, progress=progress, desc=desc)


def phase2(model: HyperLRPINN, betas: Sequence[float], sched: Schedule, *, adaptive: bool = False,
           device=None, dtype: torch.dtype = torch.float32, generator: Optional[torch.Generator] = None,
           eval_points: Optional[Tensor] = None, eval_ref: Optional[np.ndarray] = None,
           eval_at: Optional[Callable[[int], bool]] = None, checkpoint: Optional[str | Path] = None,
           progress: bool = True, desc: str = "Phase 2") -> tuple[LowRankMLP, dict]:
    """Fine-tune the diagonals and dense layers for new β (bases frozen), all tasks batched.

    Returns ``(net, history)``: the stacked Phase-2 :class:`LowRankMLP` (``net.trainable_per_task()``
    gives the counts) and the history of :func:`fit_cdr_tasks`.
    """
    model.to(device, dtype)
    net = model.phase2_model([float(b) for b in betas], adaptive=adaptive)
    hist = fit_cdr_tasks(net, betas, sched, device=device, dtype=dtype, generator=generator,
                             eval_points=eval_points, eval_ref=eval_ref, eval_at=eval_at,
                             checkpoint=checkpoint, progress=progress, desc=desc)
    return net, hist
