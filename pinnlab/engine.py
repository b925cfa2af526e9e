"""The derivative engine: values and the PDE's derivatives of a network, in one pass.

A PDE residual needs the network output ``u`` and a few of its derivatives with respect
to the input coordinates: first derivatives (``u_x``, ``u_t``) and pure second
derivatives (``u_xx``, ``u_yy``). This module computes them two ways:

* :func:`jet_autograd` — nested ``torch.autograd.grad`` on any callable. Slow, general,
  the checked reference.
* :func:`mlp_jet` — forward propagation of value, first and second derivatives through
  the layers of a tanh/sin MLP whose weights are given explicitly. For a layer
  ``z = W h + b`` the derivative rows are transformed by ``W`` alone; for ``a = σ(z)``
  the chain rule gives ``a_i = σ'(z) z_i`` and ``a_ii = σ''(z) z_i² + σ'(z) z_ii``.
  All rows go through one matmul per layer, and a single ordinary backward pass then
  gives the parameter gradients (no double backward).

Weights may carry a leading task axis: ``W`` of shape ``[T, out, in]`` with points
``[T, N, d]`` (or ``[N, d]`` shared by every task) evaluates ``T`` networks with batched
matmuls in one pass. LoRA, low-rank and hypernetwork-generated networks all reduce to
such a list of ``(W, b)`` pairs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch

Tensor = torch.Tensor


@dataclass
class Jet:
    """Network output and selected input derivatives at a set of points.

    Attributes:
        u: outputs, shape ``[..., N, m]``.
        d1: ``{coordinate index: ∂u/∂x_i}``, each ``[..., N, m]``.
        d2: ``{coordinate index: ∂²u/∂x_i²}``, each ``[..., N, m]``.
    """

    u: Tensor
    d1: dict[int, Tensor] = field(default_factory=dict)
    d2: dict[int, Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class DerivSpec:
    """Which derivatives a PDE needs: coordinate indices for first and pure second derivatives."""

    first: tuple[int, ...] = ()
    second: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        missing = set(self.second) - set(self.first)
        if missing:
            raise ValueError(f"second derivatives {sorted(missing)} also need first derivatives in `first`")


def jet_autograd(u_fn: Callable[[Tensor], Tensor], points: Tensor, spec: DerivSpec) -> Jet:
    """Reference derivatives by nested autograd.

    Args:
        u_fn: maps points ``[N, d]`` to outputs ``[N, m]``.
        points: ``[N, d]``; a copy with ``requires_grad`` is made if needed.
        spec: the derivatives to compute.

    Returns:
        a :class:`Jet` whose tensors keep the graph (so a loss built on them trains).
    """
    if not points.requires_grad:
        points = points.detach().clone().requires_grad_(True)
    u = u_fn(points)
    if u.dim() != 2 or u.shape[0] != points.shape[0]:
        raise ValueError(f"u_fn must return shape [N, m] for points [N, d]; got {tuple(u.shape)}")
    m = u.shape[1]
    d1 = {i: [] for i in spec.first}
    d2 = {i: [] for i in spec.second}
    for k in range(m):
        (g,) = torch.autograd.grad(u[:, k].sum(), points, create_graph=True)
        for i in spec.first:
            d1[i].append(g[:, i])
        for i in spec.second:
            (gg,) = torch.autograd.grad(g[:, i].sum(), points, create_graph=True)
            d2[i].append(gg[:, i])
    return Jet(u, {i: torch.stack(v, -1) for i, v in d1.items()}, {i: torch.stack(v, -1) for i, v in d2.items()})


# --------------------------------------------------------------------------- activations
def _tanh(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    a = torch.tanh(z)
    a1 = 1.0 - a * a
    return a, a1, -2.0 * a * a1


def _sin(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s = torch.sin(z)
    return s, torch.cos(z), -s


#: activation name -> function returning (σ(z), σ'(z), σ''(z))
ACTIVATIONS: dict[str, Callable[[Tensor], tuple[Tensor, Tensor, Tensor]]] = {"tanh": _tanh, "sin": _sin}


def _linear(h: Tensor, W: Tensor) -> Tensor:
    """``h @ Wᵀ`` for shared or task-stacked weights: h ``[..., R, in]``, W ``[out, in]`` or ``[T, out, in]``."""
    if W.dim() == 2:
        return h @ W.transpose(0, 1)
    if h.dim() == 2:
        h = h.unsqueeze(0).expand(W.shape[0], -1, -1)
    return torch.bmm(h, W.transpose(1, 2))


def _bias(b: Tensor) -> Tensor:
    """Bias ``[out]`` or ``[T, out]`` shaped to broadcast against ``[..., N, out]``."""
    return b if b.dim() == 1 else b.unsqueeze(-2)


def mlp_forward(layers: Sequence[tuple[Tensor, Tensor]], x: Tensor, activation: str = "tanh") -> Tensor:
    """Plain forward pass of an MLP given as ``[(W, b), ...]`` (activation between layers)."""
    act = ACTIVATIONS[activation]
    h = x
    for k, (W, b) in enumerate(layers):
        h = _linear(h, W) + _bias(b)
        if k < len(layers) - 1:
            h = act(h)[0]
    return h


def mlp_jet(
    layers: Sequence[tuple[Tensor, Tensor]], x: Tensor, spec: DerivSpec, activation: str = "tanh"
) -> Jet:
    """Value and derivatives of an MLP by forward propagation (see module docstring).

    Args:
        layers: ``[(W, b), ...]`` with ``W`` ``[out, in]`` / ``b`` ``[out]``, or task-stacked
            ``W`` ``[T, out, in]`` / ``b`` ``[T, out]``.
        x: points ``[N, d]`` (shared) or ``[T, N, d]``.
        spec: derivatives to propagate.
        activation: ``"tanh"`` or ``"sin"``.

    Returns:
        :class:`Jet` with tensors of shape ``[N, m]`` or ``[T, N, m]``.
    """
    act = ACTIVATIONS[activation]
    first, second = spec.first, spec.second
    n = x.shape[-2]
    W, b = layers[0]
    # First layer: the derivative of z = W x + b along x_i is the column W[:, i] for every point.
    z = _linear(x, W) + _bias(b)
    cols = [(W[..., :, i].unsqueeze(-2)) for i in first]  # each [1, out] or [T, 1, out]
    if len(layers) == 1:
        return Jet(z, {i: c.expand_as(z) for i, c in zip(first, cols)}, {i: torch.zeros_like(z) for i in second})
    a, a1, a2 = act(z)
    blocks = [a] + [a1 * c for c in cols] + [a2 * cols[first.index(i)] ** 2 for i in second]
    for k in range(1, len(layers)):
        W, b = layers[k]
        H = torch.cat(blocks, dim=-2)  # all rows through one matmul
        Z = _linear(H, W)
        zs = list(torch.split(Z, n, dim=-2))
        zs[0] = zs[0] + _bias(b)
        if k == len(layers) - 1:
            blocks = zs
            break
        a, a1, a2 = act(zs[0])
        z1 = zs[1 : 1 + len(first)]
        z2 = zs[1 + len(first) :]
        blocks = (
            [a]
            + [a1 * zi for zi in z1]
            + [a2 * z1[first.index(i)] ** 2 + a1 * z2[j] for j, i in enumerate(second)]
        )
    u = blocks[0]
    return Jet(
        u,
        {i: blocks[1 + j] for j, i in enumerate(first)},
        {i: blocks[1 + len(first) + j] for j, i in enumerate(second)},
    )
