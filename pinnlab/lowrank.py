"""Low-rank PINNs: hidden weights in an SVD-like factored form ``W = U diag(s) Vᵀ``.

:class:`LowRankMLP` is Hyper-LR-PINN's solution network (Cho et al., NeurIPS 2023)::

    h¹   = σ(W⁰ x + b⁰)                       dense first layer  (n_in → width)
    hˡ⁺¹ = σ(Uˡ diag(sˡ) Vˡᵀ hˡ + bˡ)          l = 1 … L low-rank hidden layers (width → width)
    u    = W^{L+1} h^{L+1} + b^{L+1}           dense last layer   (width → n_out)

``U``, ``V`` are ``width × r`` "basis" matrices and ``s`` the ``r`` diagonal entries
("singular values"; nothing forces them positive or the bases orthogonal except the
orthogonality penalty of :func:`orthogonality_penalty`). The rank is ``r ≤ width``.

Every parameter group may carry a leading task axis of length ``T`` (``n_tasks``), chosen
per group with ``per_task``: a Naive-LR-PINN batch stacks everything, Hyper-LR-PINN's
Phase 2 stacks only ``s`` and the dense layers and shares the frozen basis. The diagonal
entries can also be supplied from outside (:meth:`LowRankMLP.layers` ``s=``), which is how
the hypernetwork of :mod:`pinnlab.hyperlr` drives the network for ``T`` PDE parameters at
once. :meth:`layers` returns the effective ``(W, b)`` list — ``W = (U ⊙ s) Vᵀ`` shaped
``[T, width, width]`` where anything has a task axis — so the derivative engine evaluates
all tasks in one batched pass.
"""
from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

import torch
from torch import nn

from .engine import ACTIVATIONS
from .models import EngineModel

Tensor = torch.Tensor

#: the parameter groups of a :class:`LowRankMLP`
GROUPS = ("first", "basis", "s", "bias", "last")


def lowrank_weight(U: Tensor, s: Tensor, V: Tensor) -> Tensor:
    """``U diag(s) Vᵀ`` for ``U`` ``[(T,) out, r]``, ``s`` ``[(T,) r]``, ``V`` ``[(T,) in, r]`` → ``[(T,) out, in]``.

    Any of the three may carry the task axis; the result has it if one of them does.
    """
    return (U * s.unsqueeze(-2)) @ V.transpose(-1, -2)


def orthogonality_penalty(bases: Iterable[Tensor], weight: Optional[float] = None) -> Tensor:
    """Σ over the given basis matrices of ``w · ‖BᵀB − I‖²_F`` (Paper B, Eq. 2, with ``w1 = w2 = w``).

    Args:
        bases: matrices ``B`` of shape ``[(T,) n, r]`` (the ``U`` and ``V`` of every low-rank
            layer); their ``r`` columns should be orthonormal, so ``BᵀB`` (``r × r``) is compared
            with the identity. (``B Bᵀ`` would be ``n × n`` and cannot equal ``I`` when ``r < n``.)
        weight: ``w``; the default ``1 / r²`` makes each term the mean square entry of ``BᵀB − I``
            so the penalty does not grow with the rank. Task-stacked bases are summed over tasks.
    """
    total = None
    for B in bases:
        r = B.shape[-1]
        G = B.transpose(-1, -2) @ B
        eye = torch.eye(r, dtype=B.dtype, device=B.device)
        w = 1.0 / (r * r) if weight is None else float(weight)
        term = w * (G - eye).pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonality_penalty needs at least one basis matrix")
    return total


class LowRankMLP(EngineModel):
    """Dense → ``n_lowrank`` × low-rank (``U diag(s) Vᵀ + b``) → dense tanh network.

    Args:
        n_in, n_out: input and output sizes (2 and 1 for ``u(x, t)``).
        width: hidden width (Paper B: 50).
        n_lowrank: number of low-rank hidden maps (Paper B: 3).
        rank: ``r`` (``1 ≤ r ≤ width``); an int or one per low-rank layer.
        n_tasks: ``None`` for one network, else ``T`` task copies of the groups in ``per_task``.
        per_task: which of :data:`GROUPS` carry the task axis (default: all of them when
            ``n_tasks`` is set). ``"first"`` = W⁰, b⁰; ``"basis"`` = every U, V; ``"s"`` = the
            diagonals; ``"bias"`` = the hidden biases bˡ; ``"last"`` = W^{L+1}, b^{L+1}.
        hidden_bias: include the hidden biases bˡ (the paper's equations have them).
        activation: ``"tanh"`` (default) or ``"sin"``.
        generator: ``torch.Generator`` for the initialisation.

    Initialisation: dense layers Glorot-normal with zero bias (like :class:`~pinnlab.models.MLP`);
    ``U``, ``V`` Gaussian with standard deviation ``1/√width`` (columns of unit length on
    average but *not* orthogonal, so the orthogonality penalty has work to do); ``s = 1``.

    Example:
        >>> net = LowRankMLP(rank=10)
        >>> [tuple(W.shape) for W, _ in net.layers()]
        [(50, 2), (50, 50), (50, 50), (50, 50), (1, 50)]
    """

    def __init__(self, n_in: int = 2, n_out: int = 1, width: int = 50, n_lowrank: int = 3,
                 rank: int | Sequence[int] = 50, n_tasks: Optional[int] = None,
                 per_task: Optional[Iterable[str]] = None, hidden_bias: bool = True,
                 activation: str = "tanh", generator: Optional[torch.Generator] = None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; allowed: {', '.join(ACTIVATIONS)}")
        if n_tasks is not None and int(n_tasks) < 1:
            raise ValueError(f"n_tasks must be None or a positive integer, got {n_tasks!r}")
        ranks = [int(rank)] * n_lowrank if isinstance(rank, (int,)) else [int(r) for r in rank]
        if len(ranks) != n_lowrank or not all(1 <= r <= width for r in ranks):
            raise ValueError(f"rank must be in [1, width={width}] (one int or {n_lowrank} ints), got {rank!r}")
        per_task = set(GROUPS if per_task is None else per_task) if n_tasks is not None else set()
        unknown = per_task - set(GROUPS)
        if unknown:
            raise ValueError(f"unknown per_task groups {sorted(unknown)}; allowed: {', '.join(GROUPS)}")
        self.n_in, self.n_out, self.width, self.n_lowrank = int(n_in), int(n_out), int(width), int(n_lowrank)
        self.ranks = ranks
        self.activation = activation
        self.n_tasks = None if n_tasks is None else int(n_tasks)
        self.per_task = frozenset(per_task)
        self.hidden_bias = bool(hidden_bias)

        def lead(group):
            return (self.n_tasks,) if group in self.per_task else ()

        def glorot(d_out, d_in, group):
            return torch.randn(*lead(group), d_out, d_in, generator=generator) * math.sqrt(2.0 / (d_in + d_out))

        w = self.width
        self.W_first = nn.Parameter(glorot(w, self.n_in, "first"))
        self.b_first = nn.Parameter(torch.zeros(*lead("first"), w))
        self.U = nn.ParameterList(
            [nn.Parameter(torch.randn(*lead("basis"), w, r, generator=generator) / math.sqrt(w)) for r in ranks])
        self.V = nn.ParameterList(
            [nn.Parameter(torch.randn(*lead("basis"), w, r, generator=generator) / math.sqrt(w)) for r in ranks])
        self.s = nn.ParameterList([nn.Parameter(torch.ones(*lead("s"), r)) for r in ranks])
        if self.hidden_bias:
            self.b = nn.ParameterList([nn.Parameter(torch.zeros(*lead("bias"), w)) for _ in ranks])
        self.W_last = nn.Parameter(glorot(self.n_out, w, "last"))
        self.b_last = nn.Parameter(torch.zeros(*lead("last"), self.n_out))

    # ------------------------------------------------------------------ weights
    def hidden_biases(self) -> list[Tensor]:
        if self.hidden_bias:
            return list(self.b)
        return [self.W_first.new_zeros(self.width) for _ in self.ranks]

    def layers(self, s: Optional[Sequence[Tensor]] = None) -> list[tuple[Tensor, Tensor]]:
        """``[(W⁰, b⁰), (U¹ diag(s¹) V¹ᵀ, b¹), …, (W^{L+1}, b^{L+1})]``.

        Args:
            s: optional diagonals to use instead of the stored ``self.s`` — one tensor per
                low-rank layer, ``[r_l]`` or ``[T, r_l]`` (a hypernetwork's output).
        """
        s = list(self.s) if s is None else list(s)
        if len(s) != self.n_lowrank:
            raise ValueError(f"need {self.n_lowrank} diagonals, got {len(s)}")
        out = [(self.W_first, self.b_first)]
        for U, V, sl, b in zip(self.U, self.V, s, self.hidden_biases()):
            out.append((lowrank_weight(U, sl, V), b))
        out.append((self.W_last, self.b_last))
        return out

    def bases(self) -> list[Tensor]:
        """Every ``U`` and ``V`` (for :func:`orthogonality_penalty`)."""
        return [*self.U, *self.V]

    def orthogonality(self, weight: Optional[float] = None) -> Tensor:
        """:func:`orthogonality_penalty` of this network's bases."""
        return orthogonality_penalty(self.bases(), weight)

    # ------------------------------------------------------------------ counts
    def count_by_group(self) -> dict[str, int]:
        """Trainable scalars per group (summed over tasks)."""
        groups = {"first": [self.W_first, self.b_first], "basis": [*self.U, *self.V], "s": list(self.s),
                  "bias": list(self.b) if self.hidden_bias else [], "last": [self.W_last, self.b_last]}
        return {g: sum(p.numel() for p in ps if p.requires_grad) for g, ps in groups.items()}

    def count_trainable(self) -> int:
        """Trainable scalars *per task* (a stacked model's total divided by ``T`` for stacked groups)."""
        T = self.n_tasks or 1
        return sum(n // T if g in self.per_task else n for g, n in self.count_by_group().items())

    @staticmethod
    def param_count_formula(rank: int | Sequence[int], width: int = 50, n_in: int = 2, n_out: int = 1,
                            n_lowrank: int = 3, groups: Iterable[str] = GROUPS, hidden_bias: bool = True) -> int:
        """Scalars in the given groups of one network: dense ``(n_in+1)·w + (w+1)·n_out``, basis
        ``2·w·r`` per layer, ``s`` ``r`` per layer, hidden biases ``w`` per layer.

        Paper B's Table 3 (Naive-LR-PINN 381 … 501 for r = 10 … 50) counts ``first, s, bias, last``
        (= 351 + 3r); Hyper-LR-PINN's Phase 2 trains ``first, s, last`` (= 201 + Σ r_l, 351 at full rank).
        """
        ranks = [int(rank)] * n_lowrank if isinstance(rank, int) else [int(r) for r in rank]
        groups = set(groups)
        per = {"first": (n_in + 1) * width, "last": (width + 1) * n_out, "basis": sum(2 * width * r for r in ranks),
               "s": sum(ranks), "bias": width * len(ranks) if hidden_bias else 0}
        return sum(v for g, v in per.items() if g in groups)

    # ------------------------------------------------------------------ tasks
    def task(self, i: int) -> "LowRankMLP":
        """A single-task copy holding task ``i``'s slice of every stacked group."""
        if self.n_tasks is None:
            raise ValueError("task(i) needs a model with n_tasks set")
        one = LowRankMLP(self.n_in, self.n_out, self.width, self.n_lowrank, self.ranks,
                         hidden_bias=self.hidden_bias, activation=self.activation)
        src = dict(self.named_parameters())
        with torch.no_grad():
            for name, p in one.named_parameters():
                q = src[name]
                p.copy_(q[i] if q.dim() > p.dim() else q)
                p.requires_grad_(q.requires_grad)
        return one.to(self.W_first.device, self.W_first.dtype)

    def freeze(self, groups: Iterable[str]) -> "LowRankMLP":
        """Stop training the given groups (``requires_grad=False``); returns ``self``."""
        groups = set(groups)
        table = {"first": [self.W_first, self.b_first], "basis": [*self.U, *self.V], "s": list(self.s),
                 "bias": list(self.b) if self.hidden_bias else [], "last": [self.W_last, self.b_last]}
        for g in groups:
            for p in table[g]:
                p.requires_grad_(False)
        return self

    # ------------------------------------------------------------------ adaptive rank
    def mask_diagonals(self, masks: Sequence[Tensor]) -> "LowRankMLP":
        """Keep the diagonal entries where ``masks`` is False at exactly zero: they are zeroed now and
        their gradients masked (Adam then never moves them). The same function as deleting the
        matching columns of ``U`` and ``V`` (:meth:`truncated`). Masks are stored as buffers
        ``s_mask_<l>`` shaped like ``s``; returns ``self``."""
        if len(masks) != self.n_lowrank:
            raise ValueError(f"need {self.n_lowrank} masks, got {len(masks)}")
        for l, (p, m) in enumerate(zip(self.s, masks)):
            m = m.to(p.device, torch.bool).expand_as(p).clone()
            self.register_buffer(f"s_mask_{l}", m)
            with torch.no_grad():
                p.mul_(m)
            p.register_hook(self._mask_hook(l))
        return self

    def _mask_hook(self, l: int):
        def hook(g: Tensor) -> Tensor:  # looks the buffer up at call time (follows .to(device))
            return g * getattr(self, f"s_mask_{l}").to(g.dtype)
        return hook

    def diagonal_masks(self) -> Optional[list[Tensor]]:
        """The masks of :meth:`mask_diagonals` (``None`` for a full-rank model)."""
        if not hasattr(self, "s_mask_0"):
            return None
        return [getattr(self, f"s_mask_{l}") for l in range(self.n_lowrank)]

    def ranks_per_task(self) -> list[list[int]]:
        """``[T][n_lowrank]`` ranks in use: non-zero diagonal entries (masked ones count as zero)."""
        T = self.n_tasks or 1
        out = []
        for p in self.s:
            nz = (p.detach() != 0).reshape(-1, p.shape[-1]).sum(-1)
            out.append(nz.expand(T).tolist() if nz.numel() == 1 else nz.tolist())
        return [list(r) for r in zip(*out)]

    def trainable_per_task(self) -> list[int]:
        """Trainable numbers of each task; masked diagonal entries are not counted.

        For a Phase-2 model (bases and hidden biases frozen) this is 201 + Σ_l r_l with the
        paper's sizes: 351 at full rank.
        """
        T = self.n_tasks or 1
        by = self.count_by_group()
        fixed = sum(n // T if g in self.per_task else n for g, n in by.items() if g != "s")
        masks = self.diagonal_masks()
        if not self.s[0].requires_grad:
            return [fixed] * T
        if masks is None:
            return [fixed + sum(self.ranks)] * T
        counts = sum(m.reshape(-1, m.shape[-1]).sum(-1) for m in masks)
        counts = counts.expand(T) if counts.numel() == 1 else counts
        return [fixed + int(c) for c in counts.tolist()]

    def truncated(self, i: int = 0) -> "LowRankMLP":
        """Task ``i`` as one network that keeps only its non-zero diagonal entries: ranks
        ``r_l = nnz(sˡ)``, ``U``/``V`` cut to the matching columns, bases and hidden biases frozen.
        The same function as the full-width network, with fewer numbers."""
        one = self.task(i) if self.n_tasks is not None else self
        keep = [torch.nonzero(s.detach() != 0).reshape(-1) for s in one.s]
        ranks = [max(1, int(k.numel())) for k in keep]
        out = LowRankMLP(one.n_in, one.n_out, one.width, one.n_lowrank, ranks, hidden_bias=one.hidden_bias,
                         activation=one.activation).to(one.W_first.device, one.W_first.dtype)
        with torch.no_grad():
            for name in ("W_first", "b_first", "W_last", "b_last"):
                getattr(out, name).copy_(getattr(one, name))
            for l, k in enumerate(keep):
                if k.numel() == 0:  # an all-zero layer: one zero term keeps the shapes valid
                    k = torch.zeros(1, dtype=torch.long, device=one.W_first.device)
                    out.s[l].zero_()
                else:
                    out.s[l].copy_(one.s[l][k])
                out.U[l].copy_(one.U[l][:, k])
                out.V[l].copy_(one.V[l][:, k])
                if one.hidden_bias:
                    out.b[l].copy_(one.b[l])
        return out.freeze(["basis", "bias"])

    def extra_repr(self) -> str:
        tasks = "" if self.n_tasks is None else f", n_tasks={self.n_tasks}, per_task={sorted(self.per_task)}"
        return f"{self.n_in}→{self.width}→{self.n_out}, low-rank layers {self.ranks}{tasks}"
