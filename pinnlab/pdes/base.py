"""The interface every PDE family shares.

A PDE object knows its domain, the parameter range the papers train on, how to sample
collocation / initial / boundary points, its residual and its exact or reference
solution. Coordinates are columns of a ``points`` tensor ``[N, d]`` in the order of
:attr:`PDE.coords`; outputs are columns ``[N, m]`` in the order of :attr:`PDE.outputs`.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch

from ..engine import DerivSpec, Jet, jet_autograd

Tensor = torch.Tensor
KINDS = ("collocation", "ic", "bc")


def check_param(name: str, value: float, lo: float, hi: float, *, lo_open: bool = False) -> float:
    """Return ``float(value)`` or raise ``ValueError`` naming the allowed interval."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    left = "(" if lo_open else "["
    ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        raise ValueError(f"{name}={value!r} is out of range; allowed: {name} in {left}{lo:g}, {hi:g}]")
    return v


class PDE:
    """Base class. Subclasses set the class attributes and implement the hooks below.

    Class attributes:
        coords: coordinate names in column order, e.g. ``("x", "t")``.
        outputs: output names in column order, e.g. ``("u",)``.
        equations: names of the residual columns.
        spec: the derivatives the residual needs (:class:`~pinnlab.engine.DerivSpec`).
        periodic: coordinate names with periodic boundary conditions.
        kinds: the point kinds :meth:`sample` accepts.
        has_exact: ``True`` when :meth:`solution` is a closed form (differentiable in torch).
    """

    coords: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ("u",)
    equations: tuple[str, ...] = ("residual",)
    spec: DerivSpec = DerivSpec()
    periodic: tuple[str, ...] = ()
    kinds: tuple[str, ...] = KINDS
    has_exact: bool = True

    #: bounds per coordinate, ``{"x": (lo, hi), ...}`` in coordinate order
    domain: dict[str, tuple[float, float]]
    #: the papers' training range of each task parameter
    param_range: dict[str, tuple[float, float]] = {}

    # ------------------------------------------------------------------ hooks
    def residual_from_jet(self, jet: Jet, points: Tensor) -> Tensor:
        """Residual columns ``[..., N, k]`` from the network's value and derivatives."""
        raise NotImplementedError

    def _solution(self, points: Tensor) -> Tensor:
        """Exact / reference solution for float64 torch points ``[N, d]`` -> ``[N, m]``."""
        raise NotImplementedError

    @property
    def params(self) -> dict[str, float]:
        """The task parameters of this instance, e.g. ``{"Re": 40.0}``."""
        return {}

    # ------------------------------------------------------------------ shared API
    @property
    def dim(self) -> int:
        return len(self.coords)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def residual(self, u_fn: Callable[[Tensor], Tensor], points: Tensor) -> Tensor:
        """Residual of any callable ``u_fn: [N, d] -> [N, m]`` at ``points`` ``[N, d]``.

        Derivatives are taken with nested autograd (the reference path); ``points`` may
        or may not require grad. Returns ``[N, k]``, one column per equation.
        """
        self._check_points(points)
        return self.residual_from_jet(jet_autograd(u_fn, points, self.spec), points)

    def solution(self, points):
        """Exact or reference solution ``[N, m]`` at ``points`` ``[N, d]``.

        numpy in -> numpy out (float64); torch in -> torch out (same dtype and device;
        differentiable when :attr:`has_exact`).
        """
        if isinstance(points, np.ndarray):
            self._check_points(points)
            return self._solution(torch.as_tensor(points, dtype=torch.float64)).numpy()
        self._check_points(points)
        if self.has_exact:
            return self._solution(points)
        out = self._solution(points.detach().to("cpu", torch.float64))
        return out.to(points.device, points.dtype)

    def _check_points(self, points) -> None:
        if points.ndim != 2 or points.shape[1] != self.dim:
            raise ValueError(
                f"points must have shape [N, {self.dim}] with columns {self.coords}; got {tuple(points.shape)}"
            )

    def boundary_residual(self, outputs: Tensor, targets: Optional[Tensor]) -> Tensor:
        """Mismatch on boundary points returned by ``sample(n, "bc")``.

        Dirichlet data: ``outputs - targets``. Periodic pairs (``targets is None``): the
        first half of the rows lie on the lower face and the second half on the matching
        points of the upper face, so the mismatch is ``outputs[:n] - outputs[n:]``.
        """
        if targets is None:
            n = outputs.shape[-2] // 2
            return outputs[..., :n, :] - outputs[..., n:, :]
        return outputs - targets

    def sample(
        self, n: int, kind: str, generator: Optional[torch.Generator] = None, dtype: torch.dtype = torch.float32
    ) -> tuple[Tensor, Optional[Tensor]]:
        """Sample ``n`` training points of one kind.

        Args:
            n: number of points (for periodic boundaries: ``n`` pairs, ``2n`` rows).
            kind: ``"collocation"`` (uniform in the domain, targets ``None``), ``"ic"``
                (``t = 0``, targets = initial values) or ``"bc"`` (boundary faces; Dirichlet
                targets, or ``None`` for periodic pairs).
            generator: ``torch.Generator`` for reproducible draws.
            dtype: dtype of the returned tensors.

        Returns:
            ``(points [n, d], targets [n, m] or None)``.
        """
        if kind not in self.kinds:
            raise ValueError(f"unknown kind {kind!r} for {type(self).__name__}; allowed: {', '.join(self.kinds)}")
        if int(n) < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        n = int(n)
        if kind == "collocation":
            return self._uniform(n, generator).to(dtype), None
        if kind == "ic":
            pts = self._uniform(n, generator)
            pts[:, self.coords.index("t")] = self.domain["t"][0]
            return pts.to(dtype), self.solution(pts).to(dtype)
        pts, periodic = self._boundary_points(n, generator)
        targets = None if periodic else self.solution(pts).to(dtype)
        return pts.to(dtype), targets

    def grid(self, n: int | dict[str, int] = 101, fixed: Optional[dict[str, float]] = None) -> tuple[Tensor, tuple]:
        """A regular float64 grid over the free coordinates (``fixed`` pins others).

        Periodic coordinates exclude the upper end (``x_j = lo + j (hi - lo) / n``).
        Returns ``(points [prod(shape), d], shape)`` with points in ``meshgrid(indexing="ij")``
        order, so ``values.reshape(shape)`` gives an array indexed by the free coordinates.
        """
        fixed = dict(fixed or {})
        unknown = set(fixed) - set(self.coords)
        if unknown:
            raise ValueError(f"unknown coordinates {sorted(unknown)}; allowed: {self.coords}")
        axes = []
        for c in self.coords:
            if c in fixed:
                continue
            lo, hi = self.domain[c]
            k = n[c] if isinstance(n, dict) else n
            if c in self.periodic:
                axes.append(lo + (hi - lo) * torch.arange(k, dtype=torch.float64) / k)
            else:
                axes.append(torch.linspace(lo, hi, k, dtype=torch.float64))
        mesh = iter(torch.meshgrid(*axes, indexing="ij"))
        shape = tuple(a.numel() for a in axes)
        cols = [torch.full(shape, float(fixed[c]), dtype=torch.float64) if c in fixed else next(mesh)
                for c in self.coords]
        return torch.stack([c.reshape(-1) for c in cols], dim=1), shape

    # ------------------------------------------------------------------ helpers
    def _uniform(self, n: int, generator: Optional[torch.Generator]) -> Tensor:
        lo = torch.tensor([self.domain[c][0] for c in self.coords], dtype=torch.float64)
        hi = torch.tensor([self.domain[c][1] for c in self.coords], dtype=torch.float64)
        return lo + (hi - lo) * torch.rand(n, self.dim, generator=generator, dtype=torch.float64)

    def _boundary_points(self, n: int, generator: Optional[torch.Generator]) -> tuple[Tensor, bool]:
        """Spatial boundary points. Periodic: ``n`` pairs on the two x faces.

        Dirichlet: ``n`` points split evenly over the ``2 * n_space`` faces of the spatial box
        (time, if any, uniform).
        """
        space = [c for c in self.coords if c != "t"]
        if self.periodic:
            c = self.periodic[0]
            j = self.coords.index(c)
            pts = self._uniform(n, generator)
            lo, hi = pts.clone(), pts.clone()
            lo[:, j], hi[:, j] = self.domain[c]
            return torch.cat([lo, hi]), True
        faces = [(c, side) for c in space for side in (0, 1)]
        counts = [n // len(faces) + (1 if k < n % len(faces) else 0) for k in range(len(faces))]
        parts = []
        for (c, side), m in zip(faces, counts):
            pts = self._uniform(m, generator)
            pts[:, self.coords.index(c)] = self.domain[c][side]
            parts.append(pts)
        return torch.cat(parts), False
