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


class GeneratedMLP(EngineModel):
    """A task-stacked MLP whose weights were produced elsewhere (by a :class:`HyperNet`).

    It holds no parameters of its own: ``layers()`` returns the given ``[(W, b), ...]``
    (``W`` ``[T, out, in]``, ``b`` ``[T, out]`` or shared ``[out]``), still attached to the
    graph that made them, so a loss on its outputs trains the network that generated them.
    """

    def __init__(self, layers: Sequence[tuple[Tensor, Tensor]], activation: str = "tanh"):
        super().__init__()
        if not layers or layers[0][0].dim() != 3:
            raise ValueError("GeneratedMLP needs task-stacked layers: W of shape [T, out, in]")
        self._layers = list(layers)
        self.activation = activation
        self.n_tasks = int(layers[0][0].shape[0])

    def layers(self) -> list[tuple[Tensor, Tensor]]:
        return self._layers


class HyperNet(nn.Module):
    """Hypernetwork: a task vector → the weights of a PINN built on a frozen base network.

    An MLP ``[n_in, *hidden, n_out]`` (tanh; Paper A: hidden 512, 512, 256, 256, 128, 128)
    maps the normalised task vector ``(z − shift) / scale`` (Kovasznay: ``[Re]``, 2D Burgers:
    ``[ν]``, 1D Burgers: the 128 initial values) to one flat output row per task:

    * ``rank = r`` (LoRA HyperPINN): for every linear map ``k`` of the base, ``B_k``
      (``d_out · r`` numbers, row-major ``[d_out, r]``) then ``A_k`` (``r · d_in``, row-major
      ``[r, d_in]``); the predicted PINN has ``W_k = W0_k + B_k A_k`` and the base biases.
      ``n_out = r Σ (d_in + d_out)``.
    * ``rank = "*"``: every weight and bias of the PINN, ``W_k`` (row-major ``[d_out, d_in]``)
      then ``b_k``, per map; ``n_out = Σ (d_in + 1) d_out``.

    The output layer starts so that every task's predicted PINN *is* the base network (as a
    LoRA starts with ``B = 0``): for ``r`` the ``B`` rows of the last layer are zero and the
    ``A`` rows have a shared random bias ``A0 ~ N(0, 1/d_in)`` plus small weights; for ``"*"``
    the last layer's weights are zero and its bias is the base's flattened parameters.

    Args:
        n_in: length of the task vector.
        base: a trained single-task :class:`MLP` (copied into frozen buffers).
        rank: LoRA rank ``r >= 1`` or ``"*"``.
        hidden: hidden widths of the hypernetwork.
        shift, scale: task-vector normalisation (scalars or ``[n_in]``).
        generator: ``torch.Generator`` for the initialisation.

    Example:
        >>> base = MLP([2, 64, 64, 3])
        >>> hyper = HyperNet(1, base, rank=4, hidden=(32, 32))
        >>> [tuple(W.shape) for W, b in hyper.layers(torch.tensor([[40.0], [80.0]]))]
        [(2, 64, 2), (2, 64, 64), (2, 3, 64)]
    """

    HIDDEN = (512, 512, 256, 256, 128, 128)

    def __init__(self, n_in: int, base: MLP, rank: int | str = 4, hidden: Sequence[int] = HIDDEN,
                 shift: float | Tensor = 0.0, scale: float | Tensor = 1.0,
                 generator: Optional[torch.Generator] = None):
        super().__init__()
        if not isinstance(base, MLP) or base.n_tasks is not None:
            raise ValueError("base must be a single-task MLP (n_tasks=None)")
        if rank != "*" and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 1):
            raise ValueError(f"rank must be a positive integer or '*' (all weights), got {rank!r}")
        if int(n_in) < 1:
            raise ValueError(f"n_in must be a positive integer, got {n_in!r}")
        self.n_in, self.rank = int(n_in), rank
        self.widths, self.activation = list(base.widths), base.activation
        ref = base.weights[0]
        for k, (W, b) in enumerate(base.layers()):
            self.register_buffer(f"W0_{k}", W.detach().clone())
            self.register_buffer(f"b0_{k}", b.detach().clone())
        self.register_buffer("shift", torch.as_tensor(shift, dtype=ref.dtype).clone().reshape(-1))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=ref.dtype).clone().reshape(-1))
        if bool((self.scale <= 0).any()):
            raise ValueError("scale must be positive")
        self.n_out = self.output_size(self.widths, rank)
        self.net = MLP([self.n_in, *[int(h) for h in hidden], self.n_out], generator=generator)
        self._init_output(generator)
        self.to(ref.device, ref.dtype)

    # ------------------------------------------------------------------ layout
    @staticmethod
    def output_size(widths: Sequence[int], rank: int | str) -> int:
        """Outputs per task: ``r Σ (d_in + d_out)`` for a rank, ``Σ (d_in + 1) d_out`` for ``"*"``."""
        if rank == "*":
            return MLP.param_count_formula(widths)
        return LoRAMLP.param_count_formula(widths, rank)

    def blocks(self) -> list[tuple[str, int, tuple[int, int]]]:
        """``[(name, layer k, shape), ...]`` in the order of the flat output."""
        out = []
        for k, (d_in, d_out) in enumerate(zip(self.widths[:-1], self.widths[1:])):
            if self.rank == "*":
                out += [("W", k, (d_out, d_in)), ("b", k, (d_out, 1))]
            else:
                out += [("B", k, (d_out, self.rank)), ("A", k, (self.rank, d_in))]
        return out

    def split(self, flat: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Flat outputs ``[T, n_out]`` → per layer ``(B [T, d_out, r], A [T, r, d_in])`` or, for
        ``"*"``, ``(W [T, d_out, d_in], b [T, d_out])`` (views)."""
        if flat.dim() != 2 or flat.shape[1] != self.n_out:
            raise ValueError(f"flat outputs must be [T, {self.n_out}]; got {tuple(flat.shape)}")
        T, pos, parts = flat.shape[0], 0, []
        for name, _, (a, b) in self.blocks():
            blk = flat[:, pos:pos + a * b]
            parts.append(blk.reshape(T, a) if name == "b" else blk.reshape(T, a, b))
            pos += a * b
        return list(zip(parts[0::2], parts[1::2]))

    def frozen(self) -> list[tuple[Tensor, Tensor]]:
        return [(getattr(self, f"W0_{k}"), getattr(self, f"b0_{k}")) for k in range(len(self.widths) - 1)]

    def _init_output(self, generator: Optional[torch.Generator]) -> None:
        W, b = self.net.weights[-1], self.net.biases[-1]
        with torch.no_grad():
            W.zero_()
            pos = 0
            for name, k, (a, c) in self.blocks():
                n = a * c
                if name == "A":
                    A0 = torch.randn(a, c, generator=generator, dtype=torch.float64) / c**0.5
                    b[pos:pos + n] = A0.reshape(-1).to(b.dtype)
                    W[pos:pos + n] = 0.1 * torch.randn(n, W.shape[1], generator=generator, dtype=torch.float64
                                                       ).to(W.dtype) * (2.0 / (W.shape[1] + n)) ** 0.5
                elif name == "B":
                    b[pos:pos + n] = 0.0
                else:  # "*": start at the base network's own parameters
                    W0, b0 = self.frozen()[k]
                    b[pos:pos + n] = (W0 if name == "W" else b0).reshape(-1)
                pos += n

    # ------------------------------------------------------------------ forward
    def normalize(self, z: Tensor) -> Tensor:
        """Task vectors ``[T, n_in]`` (or one ``[n_in]``) → normalised ``[T, n_in]``."""
        z = torch.as_tensor(z, dtype=self.shift.dtype, device=self.shift.device)
        if z.dim() == 1:
            z = z.unsqueeze(0)
        if z.dim() != 2 or z.shape[1] != self.n_in:
            raise ValueError(f"task vectors must be [T, {self.n_in}] (or [{self.n_in}] for one task); "
                             f"got {tuple(z.shape)}")
        return (z - self.shift) / self.scale

    def forward(self, z: Tensor) -> Tensor:
        """Flat outputs ``[T, n_out]`` for task vectors ``z`` ``[T, n_in]``."""
        return self.net(self.normalize(z))

    def layers(self, z: Tensor) -> list[tuple[Tensor, Tensor]]:
        """The predicted PINNs' ``[(W [T, out, in], b), ...]`` for task vectors ``z`` ``[T, n_in]``."""
        parts = self.split(self(z))
        if self.rank == "*":
            return parts
        return [(torch.baddbmm(W0.expand(B.shape[0], -1, -1), B, A), b0)
                for (W0, b0), (B, A) in zip(self.frozen(), parts)]

    def generate(self, z: Tensor) -> GeneratedMLP:
        """The predicted PINNs of ``T`` tasks as one stacked engine model (still differentiable)."""
        return GeneratedMLP(self.layers(z), self.activation)

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, rank={self.rank!r}, pinn={self.widths}, n_out={self.n_out}"
