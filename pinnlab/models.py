"""Networks whose weights may stack on a leading task axis.

Every model here exposes ``layers() -> [(W, b), ...]``: the effective weights of each
linear map, shaped ``[out, in]`` / ``[out]`` for one task or ``[T, out, in]`` / ``[T, out]``
for ``T`` tasks. The derivative engine (:mod:`pinnlab.engine`) evaluates such a list for
all tasks in one batched pass, so LoRA, low-rank and hypernetwork-generated networks
reuse the same code for values and PDE derivatives.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from .engine import ACTIVATIONS, DerivSpec, Jet, mlp_forward, mlp_jet

Tensor = torch.Tensor


class EngineModel(nn.Module):
    """Base for models evaluated by the derivative engine through :meth:`layers`."""

    activation: str = "tanh"
    n_tasks: Optional[int] = None

    def layers(self) -> list[tuple[Tensor, Tensor]]:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """Outputs ``[N, m]`` (or ``[T, N, m]`` for stacked tasks) at points ``x``."""
        return mlp_forward(self.layers(), x, self.activation)

    def jet(self, x: Tensor, spec: DerivSpec) -> Jet:
        """Outputs and the input derivatives named by ``spec``, by forward propagation."""
        return mlp_jet(self.layers(), x, spec, self.activation)

    def count_params(self, trainable_only: bool = True) -> int:
        """Number of (trainable) scalar parameters, summed over tasks."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)


class MLP(EngineModel):
    """Fully connected network ``widths[0] → … → widths[-1]`` with an activation between layers.

    Args:
        widths: layer widths including input and output, e.g. ``[2, 64, 64, 3]``.
        activation: ``"tanh"`` (default) or ``"sin"``.
        n_tasks: ``None`` for one network; an integer ``T`` stacks ``T`` independent
            networks on a leading axis (weights ``[T, out, in]``), trained as one model.
        generator: optional ``torch.Generator`` for the Glorot-normal initialisation.

    Example:
        >>> net = MLP([2, 64, 64, 3])
        >>> net.count_params()
        4547
    """

    def __init__(
        self,
        widths: Sequence[int],
        activation: str = "tanh",
        n_tasks: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__()
        widths = [int(w) for w in widths]
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"widths needs at least two positive entries (input, output); got {widths}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; allowed: {', '.join(ACTIVATIONS)}")
        if n_tasks is not None and int(n_tasks) < 1:
            raise ValueError(f"n_tasks must be None or a positive integer, got {n_tasks!r}")
        self.widths = widths
        self.activation = activation
        self.n_tasks = None if n_tasks is None else int(n_tasks)
        lead = () if self.n_tasks is None else (self.n_tasks,)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in zip(widths[:-1], widths[1:]):
            std = (2.0 / (d_in + d_out)) ** 0.5
            W = torch.randn(*lead, d_out, d_in, generator=generator) * std
            self.weights.append(nn.Parameter(W))
            self.biases.append(nn.Parameter(torch.zeros(*lead, d_out)))

    def layers(self) -> list[tuple[Tensor, Tensor]]:
        return list(zip(self.weights, self.biases))

    def extra_repr(self) -> str:
        tasks = "" if self.n_tasks is None else f", n_tasks={self.n_tasks}"
        return f"widths={self.widths}, activation={self.activation!r}{tasks}"

    @staticmethod
    def param_count_formula(widths: Sequence[int]) -> int:
        """Σ (d_in + 1) · d_out over the linear maps — the count of one network."""
        return sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))

    def task(self, i: int) -> "MLP":
        """A single-task copy of task ``i`` of a stacked model."""
        if self.n_tasks is None:
            raise ValueError("task(i) needs a model with n_tasks set")
        single = MLP(self.widths, self.activation)
        with torch.no_grad():
            for dst, src in zip(single.parameters(), self.parameters()):
                dst.copy_(src[i])
        return single.to(self.weights[0].device, self.weights[0].dtype)

    @classmethod
    def stack(cls, models: Sequence["MLP"]) -> "MLP":
        """Stack single-task MLPs of equal widths into one ``n_tasks`` model (copies)."""
        first = models[0]
        out = cls(first.widths, first.activation, n_tasks=len(models))
        with torch.no_grad():
            for k, p in enumerate(out.parameters()):
                p.copy_(torch.stack([list(m.parameters())[k] for m in models]))
        return out.to(first.weights[0].device, first.weights[0].dtype)


class LoRAMLP(EngineModel):
    """Low-rank adaptation of a trained MLP: ``W_k = W0_k + B_k A_k`` on every linear map.

    The base weights ``W0_k`` and biases ``b0_k`` are frozen (stored as buffers); only the
    factors are trained: ``B_k`` (``d_out × r``, zero at the start, so the adapted network
    *is* the base network until training moves it) and ``A_k`` (``r × d_in``, Gaussian with
    standard deviation ``1/sqrt(d_in)``). Per task that is ``r · Σ (d_in + d_out)`` trainable
    numbers, against ``Σ (d_in + 1) d_out`` for the full network.

    Args:
        base: a trained single-task :class:`MLP` (copied; later changes to it do not leak in).
        rank: ``r >= 1``. A rank above ``min(d_in, d_out)`` is allowed (Paper A uses r = 64
            with 2 inputs); it only adds redundant parameters.
        n_tasks: ``None`` for one adapted network; ``T`` stacks ``T`` independent ``(A, B)``
            sets on a leading axis that share the frozen base (``layers()`` then returns
            ``W0 + B @ A`` of shape ``[T, out, in]`` and shared biases ``[out]``).
        generator: ``torch.Generator`` for the initialisation of ``A``.

    Example:
        >>> base = MLP([2, 64, 64, 1])
        >>> LoRAMLP(base, rank=4).count_trainable()  # 4 · ((2+64) + (64+64) + (64+1))
        1036
    """

    def __init__(self, base: MLP, rank: int, n_tasks: Optional[int] = None,
                 generator: Optional[torch.Generator] = None):
        super().__init__()
        if not isinstance(base, MLP) or base.n_tasks is not None:
            raise ValueError("base must be a single-task MLP (n_tasks=None)")
        if isinstance(rank, bool) or int(rank) != rank or int(rank) < 1:
            raise ValueError(f"rank must be a positive integer, got {rank!r}")
        if n_tasks is not None and int(n_tasks) < 1:
            raise ValueError(f"n_tasks must be None or a positive integer, got {n_tasks!r}")
        self.widths = list(base.widths)
        self.activation = base.activation
        self.rank = int(rank)
        self.n_tasks = None if n_tasks is None else int(n_tasks)
        ref = base.weights[0]
        lead = () if self.n_tasks is None else (self.n_tasks,)
        self.A = nn.ParameterList()
        self.B = nn.ParameterList()
        for k, (W, b) in enumerate(base.layers()):
            d_out, d_in = W.shape
            self.register_buffer(f"W0_{k}", W.detach().clone())
            self.register_buffer(f"b0_{k}", b.detach().clone())
            A = torch.randn(*lead, self.rank, d_in, generator=generator, dtype=torch.float64) / d_in**0.5
            self.A.append(nn.Parameter(A.to(ref.device, ref.dtype)))
            self.B.append(nn.Parameter(torch.zeros(*lead, d_out, self.rank, device=ref.device, dtype=ref.dtype)))

    def frozen(self) -> list[tuple[Tensor, Tensor]]:
        """The base network's ``[(W0, b0), ...]`` (buffers, never trained)."""
        return [(getattr(self, f"W0_{k}"), getattr(self, f"b0_{k}")) for k in range(len(self.A))]

    def layers(self) -> list[tuple[Tensor, Tensor]]:
        return [(W0 + B @ A, b0) for (W0, b0), A, B in zip(self.frozen(), self.A, self.B)]

    def count_trainable(self) -> int:
        """Trainable numbers *per task*: ``r · Σ (d_in + d_out)``."""
        return self.count_params() // (self.n_tasks or 1)

    @staticmethod
    def param_count_formula(widths: Sequence[int], rank: int) -> int:
        """``rank · Σ (d_in + d_out)`` over the linear maps of ``widths``."""
        return int(rank) * sum(a + b for a, b in zip(widths[:-1], widths[1:]))

    def extra_repr(self) -> str:
        tasks = "" if self.n_tasks is None else f", n_tasks={self.n_tasks}"
        return f"widths={self.widths}, rank={self.rank}, activation={self.activation!r}{tasks}"

    def base(self) -> MLP:
        """The frozen base network as an :class:`MLP` (a copy)."""
        net = MLP(self.widths, self.activation)
        with torch.no_grad():
            for k, (W0, b0) in enumerate(self.frozen()):
                net.weights[k].copy_(W0)
                net.biases[k].copy_(b0)
        return net.to(self.A[0].device, self.A[0].dtype)

    def task(self, i: int) -> "LoRAMLP":
        """A single-task copy of task ``i`` of a stacked model (same base)."""
        if self.n_tasks is None:
            raise ValueError("task(i) needs a model with n_tasks set")
        single = LoRAMLP(self.base(), self.rank)
        with torch.no_grad():
            for dst, src in zip([*single.A, *single.B], [*self.A, *self.B]):
                dst.copy_(src[i])
        return single

    def merged(self) -> MLP:
        """An :class:`MLP` with the adapted weights ``W0 + B A`` (stacked like this model)."""
        net = MLP(self.widths, self.activation, n_tasks=self.n_tasks)
        with torch.no_grad():
            for k, (W, b) in enumerate(self.layers()):
                net.weights[k].copy_(W)
                net.biases[k].copy_(b.expand_as(net.biases[k]))
        return net.to(self.A[0].device, self.A[0].dtype)
