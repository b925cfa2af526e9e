"""Checks for the learner's exercises: accept a right answer, name a typical mistake.

Each ``check_<name>(answer)`` tests the learner's function or number against the
package's own implementation on random inputs and prints a short confirmation or a hint.
It returns ``True``/``False`` (``None`` when the exercise still holds ``...``) and never
raises on a wrong answer, so a notebook keeps running.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

import torch

from .engine import DerivSpec, jet_autograd
from .models import MLP
from .pdes import Burgers1D, grf, kovasznay_lambda

OK = "✅ Correct"


def _not_attempted(answer: Any) -> bool:
    if answer is Ellipsis or answer is None:
        print("⏳ Not attempted yet: replace the `...` placeholders and run the cell again.")
        return True
    return False


def _report(ok: bool, msg: str) -> bool:
    print(f"{OK}: {msg}" if ok else f"❌ {msg}")
    return ok


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-8) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=tol, atol=tol))


def _call(fn: Callable, *args) -> tuple[Optional[Any], Optional[str]]:
    try:
        return fn(*args), None
    except Exception as err:  # the learner's code may raise anything
        return None, f"your function raised {type(err).__name__}: {err}"


# ----------------------------------------------------------------------------- 01
def check_burgers_residual(answer: Callable) -> Optional[bool]:
    """Exercise 01.1: ``answer(u_fn, points, nu) -> [N, 1]`` residual of u_t + (u²/2)_x − ν u_xx.

    ``points`` is ``[N, 2]`` with columns (x, t) and ``requires_grad=True``.
    """
    if _not_attempted(answer):
        return None
    torch.manual_seed(1)
    net = MLP([2, 16, 16, 1], generator=torch.Generator().manual_seed(3)).double()
    pts = torch.rand(64, 2, dtype=torch.float64, requires_grad=True)
    nu = 0.037
    got, err = _call(answer, net, pts, nu)
    if err:
        return _report(False, err)
    if _not_attempted(got):
        return None
    if not isinstance(got, torch.Tensor):
        return _report(False, f"return a torch.Tensor of shape [N, 1], not {type(got).__name__}")
    got = got.detach().double()
    pde = Burgers1D(grf(1, 16, seed=0)[0], nu=nu)
    ref = pde.residual(net, pts).detach()
    if got.shape == (64,) and _close(got, ref[:, 0]):
        return _report(False, "the values are right but the shape is [N]; return [N, 1] (e.g. `.unsqueeze(1)` "
                              "or index with `[:, 0:1]`), one column per equation")
    if _close(got, ref):
        return _report(True, "your residual matches pinnlab's Burgers1D.residual to round-off.")
    # typical mistakes, computed from the same derivatives
    jt = jet_autograd(net, pts, DerivSpec((0, 1), (0, 1)))
    u, ux, ut, uxx, utt = jt.u, jt.d1[0], jt.d1[1], jt.d2[0], jt.d2[1]
    wrong = {
        "the viscous term has the wrong sign: the equation is u_t + u u_x − ν u_xx = 0 (diffusion enters with −ν)":
            ut + u * ux + nu * uxx,
        "the flux is u²/2, so (u²/2)_x = u u_x; you used (u²)_x = 2 u u_x": ut + 2 * u * ux - nu * uxx,
        "x and t are swapped: column 0 of points is x and column 1 is t": ux + u * ut - nu * utt,
        "the nonlinear (convection) term u u_x is missing": ut - nu * uxx,
        "the viscous term ν u_xx is missing": ut + u * ux,
        "the viscosity ν multiplies u_xx; you left it out": ut + u * ux - uxx,
    }
    for hint, w in wrong.items():
        w = w.detach()
        if _close(got.reshape(w.shape) if got.numel() == w.numel() else got, w):
            return _report(False, hint)
    return _report(False, "the residual differs from u_t + u u_x − ν u_xx. Take u_x and u_t from one "
                          "torch.autograd.grad of u.sum() (create_graph=True), then u_xx from a second grad of u_x.")


def check_kovasznay_lambda(answer: Callable[[float], float]) -> Optional[bool]:
    """Exercise 01.2: ``answer(Re) -> λ`` for Kovasznay flow."""
    if _not_attempted(answer):
        return None
    Res = [20.0, 40.0, 77.0, 100.0]
    vals = []
    for Re in Res:
        v, err = _call(answer, Re)
        if err:
            return _report(False, err)
        if _not_attempted(v):
            return None
        try:
            vals.append(float(v))
        except (TypeError, ValueError):
            return _report(False, f"return a number, got {type(v).__name__}")
    right = [kovasznay_lambda(r) for r in Res]
    if all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(vals, right)):
        return _report(True, f"λ(Re=40) = {right[1]:.6f}; the flow decays downstream (λ < 0).")
    wrong = {
        "that is Paper A's misprint Re/2 − sqrt(Re²/4) + 4π²: the 4π² belongs inside the square root, "
        "λ = Re/2 − sqrt(Re²/4 + 4π²)": [r / 2 - math.sqrt(r * r / 4) + 4 * math.pi**2 for r in Res],
        "wrong sign in front of the square root: the + root gives λ > 0, a solution that blows up "
        "downstream; take λ = Re/2 − sqrt(...)": [r / 2 + math.sqrt(r * r / 4 + 4 * math.pi**2) for r in Res],
        "use Re²/4 under the root, not Re²": [r / 2 - math.sqrt(r * r + 4 * math.pi**2) for r in Res],
        "it is 4π² (from the 2π wave number in y), not 4π or π²": [r / 2 - math.sqrt(r * r / 4 + 4 * math.pi) for r in Res],
        "λ uses Re itself; you used the viscosity 1/Re where Re belongs":
            [1 / (2 * r) - math.sqrt(1 / (4 * r * r) + 4 * math.pi**2) for r in Res],
    }
    for hint, w in wrong.items():
        if all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(vals, w)):
            return _report(False, hint)
    return _report(False, f"λ(40) should be {right[1]:.6f}, you returned {vals[1]:.6f}. "
                          "Plug u = 1 − e^{λx}cos 2πy into the momentum equation, or recall λ = Re/2 − sqrt(Re²/4 + 4π²).")
