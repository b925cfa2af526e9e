"""The derivative engine: values and the PDE's derivatives of a network, in one pass.

A PDE residual needs the network output ``u`` and a few of its derivatives with respect
to the input coordinates: first derivatives (``u_x``, ``u_t``), pure second derivatives
(``u_xx``, ``u_yy``) and, for many equations, only their sum, the Laplacian. This module
computes them two ways:

* :func:`jet_autograd` — nested ``torch.autograd.grad`` on any callable. Slow, general,
  the checked reference.
* :func:`mlp_jet` — forward propagation of value, first and second derivatives through
  the layers of a tanh/sin MLP whose weights are given explicitly. For a layer
  ``z = W h + b`` the derivative rows are transformed by ``W`` alone; for ``a = σ(z)``
  the chain rule gives ``a_i = σ'(z) z_i`` and ``a_ii = σ''(z) z_i² + σ'(z) z_ii``, and
  for the Laplacian over coordinates L, ``Δa = σ''(z) Σ_{i∈L} z_i² + σ'(z) Δz``, one
  block of rows instead of one per coordinate. All rows go through one matmul per layer,
  and a single ordinary backward pass then gives the parameter gradients (no double backward).

Weights may carry a leading task axis: ``W`` of shape ``[T, out, in]`` with points
``[T, N, d]`` (or ``[N, d]`` shared by every task) evaluates ``T`` networks in one call.
LoRA, low-rank and hypernetwork-generated networks all reduce to such a list of ``(W, b)`` pairs.

How it is made fast on a CPU (measured in ``benchmarks/pinn_step.py`` and ``multitask.py``):

* Row-stacked blocks. The rows of all derivative blocks of a layer live in one tensor
  ``[value; ∂_1; …; ∂_11; …; Δ]`` (each block ``N`` rows): one matmul per layer and direction.
* Fused layers. Each hidden layer is one :class:`torch.autograd.Function` whose forward
  writes the chain-rule blocks straight into that tensor (no ``torch.cat``/``split``, bias
  inside the GEMM) and whose hand-written backward is three matmuls and about twenty
  elementwise passes, instead of a hundred-odd autograd nodes. ``tanh`` runs through numpy
  (torch's CPU ``tanh`` measured 7× slower here, at the same accuracy).
* Task after task. Stacked tasks are processed one after another *inside* each layer, so a
  task's blocks are still in cache when the elementwise work follows its matmul (a batched
  ``bmm`` plus whole-tensor elementwise ops streamed 20 tasks' activations through memory
  and lost to a plain Python loop over tasks).
* Under ``torch.compile`` the plain op-by-op version (:func:`_mlp_jet_ops`) is traced
  instead, which Inductor fuses itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import torch

Tensor = torch.Tensor


@dataclass
class Jet:
    """Network output and selected input derivatives at a set of points.

    Attributes:
        u: outputs, shape ``[..., N, m]``.
        d1: ``{coordinate index: ∂u/∂x_i}``, each ``[..., N, m]``.
        d2: ``{coordinate index: ∂²u/∂x_i²}``, each ``[..., N, m]``.
        lap: ``Σ_{i ∈ spec.laplacian} ∂²u/∂x_i²``, ``[..., N, m]``, or ``None`` when the
            spec asks for no Laplacian.
    """

    u: Tensor
    d1: dict[int, Tensor] = field(default_factory=dict)
    d2: dict[int, Tensor] = field(default_factory=dict)
    lap: Optional[Tensor] = None

    def laplacian(self, coords: Sequence[int] = (0, 1)) -> Tensor:
        """``Σ_{i ∈ coords} ∂²u/∂x_i²``: the Laplacian block when the jet has one, else the sum of the
        pure second derivatives (a jet from a spec with ``second=coords``, e.g. nested autograd)."""
        if self.lap is not None:
            return self.lap
        out = self.d2[coords[0]]
        for i in coords[1:]:
            out = out + self.d2[i]
        return out


@dataclass(frozen=True)
class DerivSpec:
    """Which derivatives a PDE needs.

    Attributes:
        first: coordinate indices of the first derivatives.
        second: coordinate indices of the pure second derivatives (each also in ``first``).
        laplacian: coordinate indices whose second derivatives are needed only as their
            sum (``Jet.lap``; each also in ``first``). One block of rows instead of
            ``len(laplacian)``: a PDE that uses ``u_xx + u_yy`` only should ask for this
            (Kovasznay: 4 row blocks instead of 5, a fifth fewer FLOPs per step).
    """

    first: tuple[int, ...] = ()
    second: tuple[int, ...] = ()
    laplacian: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        missing = set(self.second) - set(self.first)
        if missing:
            raise ValueError(f"second derivatives {sorted(missing)} also need first derivatives in `first`")
        missing = set(self.laplacian) - set(self.first)
        if missing:
            raise ValueError(f"Laplacian coordinates {sorted(missing)} also need first derivatives in `first`")


def jet_autograd(u_fn: Callable[[Tensor], Tensor], points: Tensor, spec: DerivSpec) -> Jet:
    """Reference derivatives by nested autograd.

    Args:
        u_fn: maps points ``[..., N, d]`` to outputs ``[..., N, m]`` (each output row depending
            only on its own point, as for an MLP; leading task axes allowed).
        points: ``[..., N, d]``; a copy with ``requires_grad`` is made if needed.
        spec: the derivatives to compute.

    Returns:
        a :class:`Jet` whose tensors keep the graph (so a loss built on them trains).
    """
    if not points.requires_grad:
        points = points.detach().clone().requires_grad_(True)
    u = u_fn(points)
    if u.dim() != points.dim() or u.shape[:-1] != points.shape[:-1]:
        raise ValueError(f"u_fn must return shape [..., N, m] for points {tuple(points.shape)}; got {tuple(u.shape)}")
    m = u.shape[-1]
    d1 = {i: [] for i in spec.first}
    dd = {i: [] for i in dict.fromkeys((*spec.second, *spec.laplacian))}
    for k in range(m):
        (g,) = torch.autograd.grad(u[..., k].sum(), points, create_graph=True)
        for i in spec.first:
            d1[i].append(g[..., i])
        for i in dd:
            (gg,) = torch.autograd.grad(g[..., i].sum(), points, create_graph=True)
            dd[i].append(gg[..., i])
    d2 = {i: torch.stack(dd[i], -1) for i in spec.second}
    lap = sum(torch.stack(dd[i], -1) for i in spec.laplacian) if spec.laplacian else None
    return Jet(u, {i: torch.stack(v, -1) for i, v in d1.items()}, d2, lap)


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


# Fused kernels of the activations the fast path knows: ``fwd(z, a, s, t)`` writes σ(z), σ'(z)
# and σ''(z) into the given tensors; ``third(a, s, t)`` returns the third derivative from them.
def _tanh_into(z: Tensor, out: Tensor) -> Tensor:
    """``out = tanh(z)`` outside autograd. On CPU numpy's SIMD tanh is used: torch's CPU tanh
    measured 420 µs for 2601×64 floats on these machines, numpy's 62 µs (both within 1-2 ulp)."""
    if z.device.type == "cpu" and z.dtype in (torch.float32, torch.float64) and not torch.compiler.is_compiling():
        np.tanh(z.detach().numpy(), out=out.detach().numpy())
        return out
    return torch.tanh(z, out=out)


def _tanh_fwd(z: Tensor, a: Tensor, s: Tensor, t: Tensor) -> None:
    _tanh_into(z, a)
    torch.addcmul(a.new_ones(()), a, a, value=-1.0, out=s)  # 1 - a²
    torch.mul(a, s, out=t).mul_(-2.0)  # -2 a (1 - a²)


def _tanh_third(a: Tensor, s: Tensor, t: Tensor) -> Tensor:
    return torch.addcmul(a.new_full((), -2.0), a, a, value=6.0).mul_(s)  # (6a² - 2)(1 - a²)


def _sin_fwd(z: Tensor, a: Tensor, s: Tensor, t: Tensor) -> None:
    torch.cos(z, out=s)
    torch.sin(z, out=a)
    torch.neg(a, out=t)


def _sin_third(a: Tensor, s: Tensor, t: Tensor) -> Tensor:
    return torch.neg(s)


_FUSED = {"tanh": (_tanh_fwd, _tanh_third), "sin": (_sin_fwd, _sin_third)}


# --------------------------------------------------------------------------- linear maps
def _linear(h: Tensor, W: Tensor) -> Tensor:
    """``h @ Wᵀ`` for shared or task-stacked weights: h ``[..., R, in]``, W ``[out, in]`` or ``[T, out, in]``."""
    if W.dim() == 2:
        return h @ W.transpose(0, 1)
    if h.dim() == 2:
        h = h.unsqueeze(0).expand(W.shape[0], -1, -1)
    return torch.bmm(h, W.transpose(1, 2))


def _affine(h: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """``h @ Wᵀ + b`` with the bias added inside the GEMM (``addmm``/``baddbmm``) where shapes allow."""
    if W.dim() == 2 and h.dim() == 2:
        return torch.addmm(b, h, W.transpose(0, 1))
    if W.dim() == 3 and h.dim() == 3 and b.dim() == 2:
        return torch.baddbmm(b.unsqueeze(1), h, W.transpose(1, 2))
    return _linear(h, W) + _bias(b)


def _bias(b: Tensor) -> Tensor:
    """Bias ``[out]`` or ``[T, out]`` shaped to broadcast against ``[..., N, out]``."""
    return b if b.dim() == 1 else b.unsqueeze(-2)


def mlp_forward(layers: Sequence[tuple[Tensor, Tensor]], x: Tensor, activation: str = "tanh") -> Tensor:
    """Plain forward pass of an MLP given as ``[(W, b), ...]`` (activation between layers).

    Shapes as in :func:`mlp_jet`; returns ``[N, m]`` or ``[T, N, m]``. When no graph is
    needed (``torch.no_grad()``, or nothing requires grad) the bias goes inside the GEMM and
    the activation is applied in place; on a CPU, stacked tasks are then evaluated one after
    another through all layers, so each task's activations stay in cache (the inference path
    of hypernetworks: 2.2× faster than layer-by-layer ``bmm`` for 10 tasks on 2 cores). On a
    GPU the layer-by-layer ``bmm`` is kept: one launch per layer for all tasks (6× faster than
    the per-task loop for 100 tasks on an H200, ``benchmarks/results/h200/inference-cuda.json``).
    """
    act = ACTIVATIONS[activation]
    needs_graph = torch.is_grad_enabled() and (
        x.requires_grad or any(W.requires_grad or b.requires_grad for W, b in layers))
    if not needs_graph and not torch.compiler.is_compiling():
        T = _tasks(x, *(W for W, _ in layers), *(b for _, b in layers if b.dim() == 2))
        if T is None:
            return _forward_no_graph(layers, x, activation)
        if x.device.type != "cpu":
            return _forward_graph(layers, x, act)
        out = x.new_empty(T, x.shape[-2], layers[-1][0].shape[-2])
        for i in range(T):
            _forward_no_graph([(_at(W, i, 2), _at(b, i, 1)) for W, b in layers], _at(x, i, 2), activation, out[i])
        return out
    return _forward_graph(layers, x, act)


def _forward_graph(layers, x: Tensor, act) -> Tensor:
    """Layer by layer for all tasks at once (``addmm``/``baddbmm``), differentiable."""
    h = x
    for k, (W, b) in enumerate(layers):
        h = _affine(h, W, b)
        if k < len(layers) - 1:
            h = act(h)[0]
    return h


def _forward_no_graph(layers, x: Tensor, activation: str, out: Optional[Tensor] = None) -> Tensor:
    """One task's forward without autograd: ``addmm`` per layer, activation in place."""
    h = x
    last = len(layers) - 1
    for k, (W, b) in enumerate(layers):
        if k == last and out is not None:
            return torch.addmm(b, h, W.t(), out=out)
        h = torch.addmm(b, h, W.t())
        if k < last:
            if activation == "tanh":
                _tanh_into(h, h)
            elif activation == "sin":
                h.sin_()
            else:
                h = ACTIVATIONS[activation](h)[0]
    return h


# --------------------------------------------------------------------------- fused path
# Row-stacked layout: a tensor [R, c] (one task) or [T, R, c] (T tasks) holds, each in n rows,
# block 0 = value, blocks 1 … nf = first derivatives (in spec.first order), then one block per
# entry S of `sq`: a pure second derivative (S = (i,)) or the Laplacian (S = the positions in
# spec.first of its coordinates), i.e. a block whose activation rule is σ' z + σ'' Σ_{i∈S} z_i².
# The kernels below work on one task's 2D slices; stacked tasks are processed one after another.
def _layout(spec: DerivSpec) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """``(first, sq)``: the first-derivative coordinates and the squared-block sources (positions in ``first``)."""
    first = tuple(spec.first)
    sq = tuple((first.index(i),) for i in spec.second)
    if spec.laplacian:
        sq += (tuple(first.index(i) for i in spec.laplacian),)
    return first, sq


def _jet_from_blocks(blocks: Sequence[Tensor], spec: DerivSpec) -> Jet:
    nf, ns = len(spec.first), len(spec.second)
    return Jet(blocks[0], {i: blocks[1 + j] for j, i in enumerate(spec.first)},
               {i: blocks[1 + nf + j] for j, i in enumerate(spec.second)},
               blocks[1 + nf + ns] if spec.laplacian else None)


def _blk(X: Tensor, k: int, n: int) -> Tensor:
    """Row block ``k`` (rows ``k n … (k+1) n``) of a row-stacked tensor ``[..., R, c]`` (a view)."""
    return X.narrow(-2, k * n, n)


def _tasks(*xs: Tensor) -> Optional[int]:
    """The task count of the first 3D tensor among ``xs`` (``None`` when all are 2D)."""
    for x in xs:
        if x.dim() == 3:
            return x.shape[0]
    return None


def _at(x: Optional[Tensor], i: Optional[int], core: int) -> Optional[Tensor]:
    """Task ``i``'s slice of ``x`` if it has a task axis (``x.dim() > core``), else ``x`` itself."""
    if x is None or i is None or x.dim() == core:
        return x
    return x[i]


def _one_task_at_a_time(x: Tensor) -> bool:
    """Stacked tasks run one after another on CPUs (cache-friendly, measured faster than
    batched matmuls there) and all at once elsewhere (GPUs: few large kernels)."""
    return x.device.type == "cpu"


def _reduce_to(X: Tensor, like: Tensor) -> Tensor:
    """Sum ``X`` over its leading axes until it has ``like``'s number of dimensions."""
    extra = X.dim() - like.dim()
    return X.sum(tuple(range(extra))) if extra > 0 else X


def _zeros_or_empty(x: Tensor, need: bool, summed: bool) -> Optional[Tensor]:
    """Gradient buffer like ``x``: zeros when task contributions are summed into it, else uninitialised."""
    if not need:
        return None
    return torch.zeros_like(x) if summed else torch.empty_like(x)


def _hidden_fwd(H, W, b, n, nf, sq, fwd, Z, Hout, s, t) -> None:
    """One task: ``Z = H Wᵀ (+ b on the value block)`` and the activation jet of ``Z`` into ``Hout``."""
    Wt = W.t()
    torch.addmm(b, _blk(H, 0, n), Wt, out=_blk(Z, 0, n))
    if H.shape[0] > n:
        torch.mm(H[n:], Wt, out=Z[n:])
    _hidden_act(Z, n, nf, sq, fwd, Hout, s, t)


def _hidden_act(Z, n, nf, sq, fwd, Hout, s, t) -> None:
    """The activation jet of the pre-activation rows ``Z`` into ``Hout`` (any leading task axes)."""
    fwd(_blk(Z, 0, n), _blk(Hout, 0, n), s, t)
    for j in range(nf):
        torch.mul(s, _blk(Z, 1 + j, n), out=_blk(Hout, 1 + j, n))
    for j, S in enumerate(sq):  # σ' z_j + σ'' Σ_{i∈S} z_i²
        out = _blk(Hout, 1 + nf + j, n)
        torch.mul(s, _blk(Z, 1 + nf + j, n), out=out)
        zi = _blk(Z, 1 + S[0], n)
        if len(S) == 1:
            out.addcmul_(torch.mul(t, zi), zi)
        else:
            q = zi * zi
            for i in S[1:]:
                q.addcmul_(_blk(Z, 1 + i, n), _blk(Z, 1 + i, n))
            out.addcmul_(t, q)


def _hidden_dz(gH, Z, a, s, t, n, nf, sq, third, dZ) -> None:
    """One task: the gradient ``dZ`` of the pre-activation rows from the gradient ``gH`` of the jet rows.

    With ``G_i = Σ_{j: i∈S_j} g_j`` (the squared blocks that use first derivative i):
    ``dZ_j = σ' g_j``, ``dZ_i = σ' g_i + 2 σ'' z_i G_i``, and for the value block
    ``dz = σ' g + σ'' Σ_k g_k z_k + σ''' Σ_i G_i z_i²`` (k over all derivative blocks).
    """
    nb = 1 + nf + len(sq)
    gz = {}  # G_i z_i
    for j, S in enumerate(sq):
        torch.mul(s, _blk(gH, 1 + nf + j, n), out=_blk(dZ, 1 + nf + j, n))
    for i in range(nf):
        users = [1 + nf + j for j, S in enumerate(sq) if i in S]
        if users:
            G = _blk(gH, users[0], n)
            for k in users[1:]:
                G = G + _blk(gH, k, n)
            gz[i] = G * _blk(Z, 1 + i, n)
        out = _blk(dZ, 1 + i, n)
        torch.mul(s, _blk(gH, 1 + i, n), out=out)
        if i in gz:
            out.addcmul_(t, gz[i], value=2.0)
    dz0 = _blk(dZ, 0, n)
    torch.mul(s, _blk(gH, 0, n), out=dz0)
    if nb > 1:
        P = _blk(gH, 1, n) * _blk(Z, 1, n)
        for k in range(2, nb):
            P.addcmul_(_blk(gH, k, n), _blk(Z, k, n))
        dz0.addcmul_(t, P)
    if gz:
        Q = None
        for i, v in gz.items():
            Q = v.mul_(_blk(Z, 1 + i, n)) if Q is None else Q.addcmul_(v, _blk(Z, 1 + i, n))
        dz0.addcmul_(third(a, s, t), Q)


def _squares(cols: Sequence[Tensor], sq) -> list[Tensor]:
    """``Σ_{i∈S} c_i²`` for each squared block ``S`` (the first layer's second-derivative factors)."""
    out = []
    for S in sq:
        v = cols[S[0]] * cols[S[0]]
        for i in S[1:]:
            v = v + cols[i] * cols[i]
        out.append(v)
    return out


def _hidden_ops(H, W, b, n, nf, sq, act):
    """:class:`_HiddenJet`'s forward written with differentiable ops (for higher derivatives)."""
    zs = list(torch.split(_linear(H, W), n, dim=-2))
    a, a1, a2 = ACTIVATIONS[act](zs[0] + _bias(b))
    z1 = zs[1:1 + nf]
    blocks = [a] + [a1 * z for z in z1]
    blocks += [a2 * q + a1 * zs[1 + nf + j] for j, q in enumerate(_squares(z1, sq))]
    return torch.cat(blocks, dim=-2)


def _input_ops(x, W, b, first, sq, act):
    """:class:`_InputJet`'s forward written with differentiable ops (for higher derivatives)."""
    a, a1, a2 = ACTIVATIONS[act](_affine(x, W, b))
    cols = [W[..., :, i].unsqueeze(-2) for i in first]
    return torch.cat([a] + [a1 * c for c in cols] + [a2 * q for q in _squares(cols, sq)], dim=-2)


def _grads_with_graph(fn, inputs, needs, grad_out, *args):
    """Gradients of ``fn(*inputs, *args)`` against ``grad_out`` with ``create_graph=True``.

    The fused backward is written with in-place kernels and is not itself differentiable;
    when autograd asks for a differentiable backward (``create_graph=True``, e.g. for
    second-order meta-learning) the layer is recomputed op by op and differentiated instead.
    """
    wanted = [x for x, need in zip(inputs, needs) if need]
    with torch.enable_grad():
        grads = iter(torch.autograd.grad(fn(*inputs, *args), wanted, grad_out, create_graph=True, allow_unused=True))
    return tuple(next(grads) if need else None for need in needs)


class _HiddenJet(torch.autograd.Function):
    """One hidden layer of the jet: ``Hout = σ-jet(H Wᵀ + b)`` on row-stacked blocks.

    ``H`` ``[R, in]`` or ``[T, R, in]``; ``W`` ``[out, in]`` or ``[T, out, in]``; ``b`` ``[out]``
    or ``[T, out]``. Returns ``Hout`` and the tensors the backward needs (not differentiable).
    """

    @staticmethod
    def forward(H, W, b, n, nf, sq, act):  # noqa: D102
        fwd = _FUSED[act][0]
        T = _tasks(H, W)
        lead = () if T is None else (T,)
        Z = H.new_empty(*lead, H.shape[-2], W.shape[-2])
        Hout = torch.empty_like(Z)
        s = H.new_empty(*lead, n, W.shape[-2])
        t = torch.empty_like(s)
        if T is not None and not _one_task_at_a_time(H):  # all tasks at once
            torch.matmul(H, W.transpose(-1, -2), out=Z)
            _blk(Z, 0, n).add_(_bias(b))
            _hidden_act(Z, n, nf, sq, fwd, Hout, s, t)
            return Hout, Z, s, t
        for i in [None] if T is None else range(T):
            _hidden_fwd(_at(H, i, 2), _at(W, i, 2), _at(b, i, 1), n, nf, sq, fwd,
                        _at(Z, i, 2), _at(Hout, i, 2), _at(s, i, 2), _at(t, i, 2))
        return Hout, Z, s, t

    @staticmethod
    def setup_context(ctx, inputs, output):  # noqa: D102
        H, W, b, n, nf, sq, act = inputs
        Hout, Z, s, t = output
        ctx.mark_non_differentiable(Z, s, t)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(H, W, b, Hout, Z, s, t)
        ctx.meta = (n, nf, sq, act)

    @staticmethod
    def backward(ctx, gH, *unused):  # noqa: D102
        if gH is None:
            return (None,) * 7
        H, W, b, Hout, Z, s, t = ctx.saved_tensors
        n, nf, sq, act = ctx.meta
        need_h, need_w, need_b = ctx.needs_input_grad[:3]
        if torch.is_grad_enabled():  # create_graph=True: a differentiable backward through the op-by-op layer
            return (*_grads_with_graph(_hidden_ops, (H, W, b), (need_h, need_w, need_b), gH, n, nf, sq, act),
                    None, None, None, None)
        third = _FUSED[act][1]
        T = _tasks(H, W)
        if T is not None and not _one_task_at_a_time(H):  # all tasks at once
            dZ = torch.empty_like(Z)
            _hidden_dz(gH, Z, _blk(Hout, 0, n), s, t, n, nf, sq, third, dZ)
            dW = _reduce_to(torch.matmul(dZ.transpose(-1, -2), H), W) if need_w else None
            db = _reduce_to(_blk(dZ, 0, n).sum(-2), b) if need_b else None
            dH = _reduce_to(torch.matmul(dZ, W), H) if need_h else None
            return dH, dW, db, None, None, None, None
        dH = _zeros_or_empty(H, need_h, T is not None and H.dim() == 2)
        dW = _zeros_or_empty(W, need_w, T is not None and W.dim() == 2)
        db = _zeros_or_empty(b, need_b, T is not None and b.dim() == 1)
        dZ = Z.new_empty(Z.shape[-2:])  # one task's, reused task after task
        for i in [None] if T is None else range(T):
            Hi, Wi = _at(H, i, 2), _at(W, i, 2)
            _hidden_dz(_at(gH, i, 2), _at(Z, i, 2), _blk(_at(Hout, i, 2), 0, n), _at(s, i, 2), _at(t, i, 2),
                       n, nf, sq, third, dZ)
            if need_w:  # dW = dZᵀ H, summed over tasks when W is shared
                if dW.dim() == 2 and T is not None:
                    dW.addmm_(dZ.t(), Hi)
                else:
                    torch.mm(dZ.t(), Hi, out=_at(dW, i, 2))
            if need_b:
                if db.dim() == 1 and T is not None:
                    db.add_(_blk(dZ, 0, n).sum(0))
                else:
                    torch.sum(_blk(dZ, 0, n), 0, out=_at(db, i, 1))
            if need_h:  # dH = dZ W, summed over tasks when the rows H are shared
                if dH.dim() == 2 and T is not None:
                    dH.addmm_(dZ, Wi)
                else:
                    torch.mm(dZ, Wi, out=_at(dH, i, 2))
        return dH, dW, db, None, None, None, None


def _input_act(z, W, first, sq, fwd, Hout, s, t) -> None:
    """The first layer's rows ``[σ(z); σ'(z) w_i; σ''(z) Σ_{i∈S} w_i²]`` into ``Hout`` (any leading task axes)."""
    n, nf = z.shape[-2], len(first)
    fwd(z, _blk(Hout, 0, n), s, t)
    cols = [W[..., :, i].unsqueeze(-2) for i in first]  # [1, out] or [T, 1, out]
    for j, c in enumerate(cols):
        torch.mul(s, c, out=_blk(Hout, 1 + j, n))
    for j, q in enumerate(_squares(cols, sq)):
        torch.mul(t, q, out=_blk(Hout, 1 + nf + j, n))


def _input_grads(g, x, W, a, s, t, first, sq, third, need_w) -> tuple[Tensor, Optional[Tensor]]:
    """The first layer's backward: ``(dz, dW)`` for ``z = W x + b`` from the gradient ``g`` of its rows.

    ``dz = σ' g0 + σ'' Σ_i w_i g_i + σ''' Σ_j g_j Σ_{i∈S_j} w_i²`` and
    ``dW = dzᵀ x`` plus, in column ``first[i]``, ``Σ_rows σ' g_i + 2 w_i Σ_{j: i∈S_j} Σ_rows σ'' g_j``.
    Works on one task (2D) or on stacked tasks (3D; ``dW`` then has the task axis).
    """
    n, nf = s.shape[-2], len(first)
    cols = [W[..., :, i].unsqueeze(-2) for i in first]
    dz = s * _blk(g, 0, n)
    dcols, P = [], None
    for j, c in enumerate(cols):
        gi = _blk(g, 1 + j, n)
        dcols.append((s * gi).sum(-2))
        P = gi * c if P is None else P.addcmul_(gi, c)
    if P is not None:
        dz.addcmul_(t, P)
    Q = None
    for j, (S, q) in enumerate(zip(sq, _squares(cols, sq))):
        gj = _blk(g, 1 + nf + j, n)
        tg = (t * gj).sum(-2)
        for k in S:
            dcols[k] = dcols[k] + 2.0 * cols[k].squeeze(-2) * tg
        Q = gj * q if Q is None else Q.addcmul_(gj, q)
    if Q is not None:
        dz.addcmul_(third(a, s, t), Q)
    dW = None
    if need_w:
        dW = torch.matmul(dz.transpose(-1, -2), x)
        for j, c in enumerate(first):
            dW[..., :, c] += dcols[j]
    return dz, dW


class _InputJet(torch.autograd.Function):
    """First layer of the jet: points ``x`` → row-stacked ``[σ(z); σ'(z) w_i; σ''(z) Σ_{i∈S} w_i²]``.

    For ``z = W x + b`` the derivative along coordinate ``i`` is the column ``w_i = W[:, i]``
    for every point and the second derivative is zero, so no derivative rows go through a matmul.
    ``x`` ``[N, d]`` or ``[T, N, d]``; ``W`` ``[out, d]`` or ``[T, out, d]``; ``b`` ``[out]`` or ``[T, out]``.
    """

    @staticmethod
    def forward(x, W, b, first, sq, act):  # noqa: D102
        fwd = _FUSED[act][0]
        T = _tasks(x, W)
        n = x.shape[-2]
        lead = () if T is None else (T,)
        Hout = x.new_empty(*lead, (1 + len(first) + len(sq)) * n, W.shape[-2])
        s = x.new_empty(*lead, n, W.shape[-2])
        t = torch.empty_like(s)
        if T is not None and not _one_task_at_a_time(x):  # all tasks at once
            _input_act(_affine(x, W, b), W, first, sq, fwd, Hout, s, t)
            return Hout, s, t
        for i in [None] if T is None else range(T):
            Wi = _at(W, i, 2)
            _input_act(torch.addmm(_at(b, i, 1), _at(x, i, 2), Wi.t()), Wi, first, sq, fwd,
                       _at(Hout, i, 2), _at(s, i, 2), _at(t, i, 2))
        return Hout, s, t

    @staticmethod
    def setup_context(ctx, inputs, output):  # noqa: D102
        x, W, b, first, sq, act = inputs
        Hout, s, t = output
        ctx.mark_non_differentiable(s, t)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, W, b, Hout, s, t)
        ctx.meta = (first, sq, act)

    @staticmethod
    def backward(ctx, gH, *unused):  # noqa: D102
        if gH is None:
            return (None,) * 6
        x, W, b, Hout, s, t = ctx.saved_tensors
        first, sq, act = ctx.meta
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if torch.is_grad_enabled():  # create_graph=True: a differentiable backward through the op-by-op layer
            return (*_grads_with_graph(_input_ops, (x, W, b), (need_x, need_w, need_b), gH, first, sq, act),
                    None, None, None)
        third = _FUSED[act][1]
        n = s.shape[-2]
        T = _tasks(x, W)
        if T is not None and not _one_task_at_a_time(x):  # all tasks at once
            dz, dW = _input_grads(gH, x, W, _blk(Hout, 0, n), s, t, first, sq, third, need_w)
            return (_reduce_to(torch.matmul(dz, W), x) if need_x else None,
                    _reduce_to(dW, W) if need_w else None,
                    _reduce_to(dz.sum(-2), b) if need_b else None, None, None, None)
        dx = _zeros_or_empty(x, need_x, T is not None and x.dim() == 2)
        dW = _zeros_or_empty(W, need_w, T is not None and W.dim() == 2)
        db = _zeros_or_empty(b, need_b, T is not None and b.dim() == 1)
        for i in [None] if T is None else range(T):
            Wi, si = _at(W, i, 2), _at(s, i, 2)
            dz, dWi = _input_grads(_at(gH, i, 2), _at(x, i, 2), Wi, _blk(_at(Hout, i, 2), 0, n), si,
                                   _at(t, i, 2), first, sq, third, need_w)
            if need_w:
                if dW.dim() == 2 and T is not None:
                    dW.add_(dWi)
                else:
                    _at(dW, i, 2).copy_(dWi)
            if need_b:
                if db.dim() == 1 and T is not None:
                    db.add_(dz.sum(0))
                else:
                    torch.sum(dz, 0, out=_at(db, i, 1))
            if need_x:
                if dx.dim() == 2 and T is not None:
                    dx.addmm_(dz, Wi)
                else:
                    torch.mm(dz, Wi, out=_at(dx, i, 2))
        return dx, dW, db, None, None, None


def _mlp_jet_fused(layers: Sequence[tuple[Tensor, Tensor]], x: Tensor, spec: DerivSpec, activation: str) -> Jet:
    first, sq = _layout(spec)
    n = x.shape[-2]
    W, b = layers[0]
    H = _InputJet.apply(x, W, b, first, sq, activation)[0]
    for W, b in layers[1:-1]:
        H = _HiddenJet.apply(H, W, b, n, len(first), sq, activation)[0]
    W, b = layers[-1]
    Z = _linear(H, W)
    blocks = [_blk(Z, k, n) for k in range(1 + len(first) + len(sq))]
    blocks[0] = blocks[0] + _bias(b)
    return _jet_from_blocks(blocks, spec)


# --------------------------------------------------------------------------- op-by-op path
def _mlp_jet_ops(layers: Sequence[tuple[Tensor, Tensor]], x: Tensor, spec: DerivSpec, activation: str) -> Jet:
    """The jet written with ordinary differentiable ops (reference; traced under ``torch.compile``)."""
    act = ACTIVATIONS[activation]
    first, sq = _layout(spec)
    nf = len(first)
    n = x.shape[-2]
    W, b = layers[0]
    # First layer: the derivative of z = W x + b along x_i is the column W[:, i] for every point.
    z = _affine(x, W, b)
    cols = [(W[..., :, i].unsqueeze(-2)) for i in first]  # each [1, out] or [T, 1, out]
    if len(layers) == 1:
        return _jet_from_blocks([z] + [c.expand_as(z) for c in cols] + [torch.zeros_like(z) for _ in sq], spec)
    a, a1, a2 = act(z)
    blocks = [a] + [a1 * c for c in cols] + [a2 * q for q in _squares(cols, sq)]
    for k in range(1, len(layers)):
        W, b = layers[k]
        H = torch.cat(blocks, dim=-2)  # all rows through one matmul
        zs = list(torch.split(_linear(H, W), n, dim=-2))
        zs[0] = zs[0] + _bias(b)
        if k == len(layers) - 1:
            blocks = zs
            break
        a, a1, a2 = act(zs[0])
        z1 = zs[1:1 + nf]
        blocks = [a] + [a1 * zi for zi in z1] + [a2 * q + a1 * zs[1 + nf + j] for j, q in enumerate(_squares(z1, sq))]
    return _jet_from_blocks(blocks, spec)


def mlp_jet(
    layers: Sequence[tuple[Tensor, Tensor]], x: Tensor, spec: DerivSpec, activation: str = "tanh",
    method: str = "auto",
) -> Jet:
    """Value and derivatives of an MLP by forward propagation (see module docstring).

    Args:
        layers: ``[(W, b), ...]`` with ``W`` ``[out, in]`` / ``b`` ``[out]``, or task-stacked
            ``W`` ``[T, out, in]`` / ``b`` ``[T, out]`` (a shared ``b`` ``[out]`` is allowed).
        x: points ``[N, d]`` (shared) or ``[T, N, d]``.
        spec: derivatives to propagate.
        activation: ``"tanh"`` or ``"sin"``.
        method: ``"forward"`` (the engine), ``"autograd"`` (nested ``torch.autograd.grad``
            through :func:`mlp_forward`) or ``"auto"``: nested autograd for a network with one
            output whose residual needs first derivatives only (convection, reaction: one
            backward pass gives every first derivative, while the engine carries ``1 + d`` row
            blocks through each layer — measured 1.4–1.7× faster on a CPU and 1.15× on an H200,
            ``benchmarks/hyperlr_phase1.py``), the engine otherwise (several outputs need one
            backward each; second derivatives need nested graphs), and always the engine under
            ``torch.no_grad`` or ``torch.compile``.

    Returns:
        :class:`Jet` with tensors of shape ``[N, m]`` or ``[T, N, m]``.

    In eager mode on a CPU the fused path (:class:`_InputJet`, :class:`_HiddenJet`) is used; under
    ``torch.compile`` and on a GPU the op-by-op one (:func:`_mlp_jet_ops`: on an H200 it took 9.5
    against the fused path's 11.2 ms per Kovasznay step, whose CPU-side tricks — in-place numpy
    tanh, one task at a time — only add launches there). Both give the same values and
    gradients; a backward with ``create_graph=True`` (gradients of gradients) recomputes
    each layer op by op, so higher derivatives are exact too, only slower.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; allowed: {', '.join(ACTIVATIONS)}")
    if method not in ("auto", "forward", "autograd"):
        raise ValueError(f"unknown method {method!r}; allowed: auto, forward, autograd")
    if method == "auto":
        method = "autograd" if _autograd_is_faster(layers, x, spec) else "forward"
    if method == "autograd":
        return jet_autograd(lambda p: mlp_forward(layers, p, activation), x, spec)
    if len(layers) >= 2 and activation in _FUSED and x.device.type == "cpu" and not torch.compiler.is_compiling():
        return _mlp_jet_fused(layers, x, spec, activation)
    return _mlp_jet_ops(layers, x, spec, activation)


def _autograd_is_faster(layers: Sequence[tuple[Tensor, Tensor]], x: Tensor, spec: DerivSpec) -> bool:
    """The ``method="auto"`` rule of :func:`mlp_jet`: one output, first derivatives only, eager,
    and one point set per network (shared points under stacked weights would mix the tasks'
    gradients in one ``autograd.grad`` of a sum)."""
    if spec.second or spec.laplacian or layers[-1][0].shape[-2] != 1:
        return False
    if not torch.is_grad_enabled() or torch.compiler.is_compiling():
        return False
    T = next((W.shape[0] for W, _ in layers if W.dim() == 3), None)
    return x.dim() == 2 if T is None else (x.dim() == 3 and x.shape[0] == T)
