"""2D Helmholtz equation with a manufactured oscillatory solution (Paper B, Figure 7)."""
from __future__ import annotations

import math

import torch

from ..engine import DerivSpec, Jet
from .base import PDE, check_param


class Helmholtz(PDE):
    """u_xx + u_yy + k² u = q(x, y) on [−1, 1]², with exact ``u = sin(a1 π x) sin(a2 π y)``.

    The forcing is ``q = (k² − π²(a1² + a2²)) u`` and the boundary data (Dirichlet, four
    faces) come from the exact solution. Points ``(x, y)``, output ``u``.

    Args:
        a1, a2: wave numbers, allowed [0.1, 10]; Paper B uses a = a1 = a2 ∈ [2, 3].
        k: Helmholtz constant, allowed [0, 100]; Paper B uses k = 1.
    """

    coords = ("x", "y")
    equations = ("helmholtz",)
    spec = DerivSpec(first=(0, 1), laplacian=(0, 1))  # only u_xx + u_yy
    kinds = ("collocation", "bc")
    domain = {"x": (-1.0, 1.0), "y": (-1.0, 1.0)}
    param_range = {"a1": (2.0, 3.0), "a2": (2.0, 3.0)}

    def __init__(self, a1: float = 2.5, a2: float = 2.5, k: float = 1.0):
        self.a1 = check_param("a1", a1, 0.1, 10.0)
        self.a2 = check_param("a2", a2, 0.1, 10.0)
        self.k = check_param("k", k, 0.0, 100.0)

    @property
    def params(self) -> dict[str, float]:
        return {"a1": self.a1, "a2": self.a2, "k": self.k}

    def forcing(self, points: torch.Tensor) -> torch.Tensor:
        """q(x, y) ``[..., N, 1]`` for points ``[..., N, 2]``."""
        x, y = points[..., 0:1], points[..., 1:2]
        amp = self.k**2 - math.pi**2 * (self.a1**2 + self.a2**2)
        return amp * torch.sin(self.a1 * math.pi * x) * torch.sin(self.a2 * math.pi * y)

    def residual_from_jet(self, jet: Jet, points: torch.Tensor) -> torch.Tensor:
        lap = jet.laplacian((0, 1))
        return lap + self.k**2 * jet.u - self.forcing(points).to(jet.u.dtype)

    def _solution(self, points: torch.Tensor) -> torch.Tensor:
        x, y = points[:, 0:1], points[:, 1:2]
        return torch.sin(self.a1 * math.pi * x) * torch.sin(self.a2 * math.pi * y)
