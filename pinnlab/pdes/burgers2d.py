"""2D coupled viscous Burgers equations with an exact travelling-front solution."""
from __future__ import annotations

import torch

from ..engine import DerivSpec, Jet
from .base import PDE, check_param


def _front(points: torch.Tensor, nu: float) -> torch.Tensor:
    x, y, t = points[:, 0:1], points[:, 1:2], points[:, 2:3]
    s = (-4 * x + 4 * y - t) / (32 * nu)
    return 1.0 / (4.0 * (1.0 + torch.exp(s)))


class Burgers2D(PDE):
    """u_t + u u_x + v u_y = ν Δu,  v_t + u v_x + v v_y = ν Δv  on [0,1]² × [0,1].

    Exact solution, with s = (−4x + 4y − t)/(32ν):
    ``u = 3/4 − 1/(4(1 + e^s))``, ``v = 3/4 + 1/(4(1 + e^s))``.
    Paper A prints the two signs the other way round; that version does not satisfy
    the PDE (see :meth:`paper_solution` and notebook 01). Points ``(x, y, t)``, outputs
    ``(u, v)``; initial data at t = 0 and Dirichlet data on the four faces from the exact
    solution.

    Args:
        nu: viscosity, allowed (0, 1]; Paper A trains on ν ∈ [1e-4, 1e-3].
    """

    coords = ("x", "y", "t")
    outputs = ("u", "v")
    equations = ("burgers_u", "burgers_v")
    spec = DerivSpec(first=(0, 1, 2), laplacian=(0, 1))  # viscous term: u_xx + u_yy only
    domain = {"x": (0.0, 1.0), "y": (0.0, 1.0), "t": (0.0, 1.0)}
    param_range = {"nu": (1e-4, 1e-3)}

    def __init__(self, nu: float = 1e-3):
        self.nu = check_param("nu", nu, 0.0, 1.0, lo_open=True)

    @property
    def params(self) -> dict[str, float]:
        return {"nu": self.nu}

    def residual_from_jet(self, jet: Jet, points: torch.Tensor) -> torch.Tensor:
        uv = jet.u
        adv = uv[..., 0:1] * jet.d1[0] + uv[..., 1:2] * jet.d1[1]
        lap = jet.laplacian((0, 1))
        return jet.d1[2] + adv - self.nu * lap

    def _solution(self, points: torch.Tensor) -> torch.Tensor:
        f = _front(points, self.nu)
        return torch.cat([0.75 - f, 0.75 + f], 1)

    def paper_solution(self, points: torch.Tensor) -> torch.Tensor:
        """The solution as printed in Paper A (signs swapped) — it is *not* a solution."""
        f = _front(points, self.nu)
        return torch.cat([0.75 + f, 0.75 - f], 1)
