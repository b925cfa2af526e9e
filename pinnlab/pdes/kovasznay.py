"""Kovasznay flow: an exact steady solution of the 2D incompressible Navier–Stokes equations."""
from __future__ import annotations

import math

import torch

from ..engine import DerivSpec, Jet
from .base import PDE, check_param


def kovasznay_lambda(Re: float) -> float:
    """λ = Re/2 − sqrt(Re²/4 + 4π²) (the standard formula; Paper A misplaces the root)."""
    return Re / 2.0 - math.sqrt(Re * Re / 4.0 + 4.0 * math.pi**2)


class Kovasznay(PDE):
    """Steady Navier–Stokes, u·∇u + ∇p − (1/Re) Δu = 0, ∇·u = 0 (dimensionless).

    Exact solution with λ = Re/2 − sqrt(Re²/4 + 4π²):
    ``u = 1 − e^{λx} cos 2πy``, ``v = λ/(2π) e^{λx} sin 2πy``, ``p = (1 − e^{2λx})/2``.

    Domain: the usual benchmark box x ∈ [−0.5, 1], y ∈ [−0.5, 1.5] (Paper A states [0, 1]²;
    we follow the standard benchmark). Points ``(x, y)``, outputs ``(u, v, p)``, residual
    columns (continuity, x-momentum, y-momentum). Boundary data: u, v and p from the exact
    solution on the four faces (p has no added constant).

    Args:
        Re: Reynolds number, allowed (0, 10000]; Paper A trains on Re ∈ [20, 100].
    """

    coords = ("x", "y")
    outputs = ("u", "v", "p")
    equations = ("continuity", "momentum_x", "momentum_y")
    spec = DerivSpec(first=(0, 1), laplacian=(0, 1))  # the viscous term needs only u_xx + u_yy
    kinds = ("collocation", "bc")
    domain = {"x": (-0.5, 1.0), "y": (-0.5, 1.5)}
    param_range = {"Re": (20.0, 100.0)}

    def __init__(self, Re: float = 40.0):
        self.Re = check_param("Re", Re, 0.0, 1e4, lo_open=True)
        self.lam = kovasznay_lambda(self.Re)

    @property
    def params(self) -> dict[str, float]:
        return {"Re": self.Re}

    def residual_from_jet(self, jet: Jet, points: torch.Tensor) -> torch.Tensor:
        u, v = jet.u[..., 0:1], jet.u[..., 1:2]
        ux, uy = jet.d1[0], jet.d1[1]  # columns (u_x, v_x, p_x), (u_y, v_y, p_y)
        lap = jet.laplacian((0, 1))
        mom = u * ux[..., 0:2] + v * uy[..., 0:2] + torch.cat([ux[..., 2:3], uy[..., 2:3]], -1) - lap[..., 0:2] / self.Re
        return torch.cat([ux[..., 0:1] + uy[..., 1:2], mom], -1)

    def _solution(self, points: torch.Tensor) -> torch.Tensor:
        x, y = points[:, 0:1], points[:, 1:2]
        e = torch.exp(self.lam * x)
        u = 1.0 - e * torch.cos(2 * math.pi * y)
        v = self.lam / (2 * math.pi) * e * torch.sin(2 * math.pi * y)
        p = 0.5 * (1.0 - e * e)
        return torch.cat([u, v, p], 1)
