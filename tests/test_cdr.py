"""Tests for the convection–diffusion–reaction family (pinnlab.pdes.cdr)."""
import math

import numpy as np
import pytest
import torch

from pinnlab.engine import Jet, jet_autograd
from pinnlab.pdes.cdr import CDR, SplittingReference, cdr_split_step, gauss_fourier_coeffs, initial_condition

TWO_PI = 2 * math.pi


def random_points(n, seed=0, t_lo=0.0, t_hi=1.0):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(n, 2, generator=g, dtype=torch.float64)
    p[:, 0] *= TWO_PI
    p[:, 1] = t_lo + (t_hi - t_lo) * p[:, 1]
    return p


def relative_residual(pde, pts):
    """max |residual| / max over the individual terms |u_t|, |β u_x|, |ν u_xx|, |ρ u(1−u)|."""
    res = pde.residual(pde.solution, pts)
    j = jet_autograd(pde.solution, pts, pde.spec)
    terms = [j.d1[1], pde.beta * j.d1[0], pde.nu * j.d2[0], pde.rho * j.u * (1 - j.u)]
    scale = torch.stack([a.abs().max() for a in terms]).max()
    return float((res.abs().max() / scale).detach())


# --------------------------------------------------------------------------- exact cases
EXACT_CASES = [
    dict(beta=30.0, ic="sin"),
    dict(beta=30.0, ic="gauss"),
    dict(nu=3.0, ic="gauss"),
    dict(nu=3.0, ic="sin"),
    dict(nu=0.01, ic="gauss"),
    dict(rho=5.0, ic="gauss"),
    dict(rho=5.0, ic="sin"),
    dict(beta=4.0, nu=2.0, ic="gauss"),
    dict(beta=4.0, nu=2.0, ic="sin"),
    dict(beta=3.0, nu=100.0, ic="gauss"),
    dict(beta=30.0, rho=5.0, ic="gauss"),  # ν = 0: convection–reaction is closed form too
]


@pytest.mark.parametrize("kw", EXACT_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_exact_residual_vanishes(kw):
    pde = CDR(**kw)
    assert pde.has_exact
    pts = random_points(2000, seed=1)
    pts[:20, 1] = 0.0  # t = 0 exactly (gauss heat flow switches to its Taylor branch there)
    assert relative_residual(pde, pts) <= 1e-6


def test_exact_solution_initial_values_and_dtype():
    x = torch.linspace(0, TWO_PI, 257, dtype=torch.float64)
    pts = torch.stack([x, torch.zeros_like(x)], 1)
    for kw in EXACT_CASES:
        pde = CDR(**kw)
        u0 = initial_condition(pde.ic, x).unsqueeze(1)
        assert torch.allclose(pde.solution(pts), u0, rtol=0, atol=1e-14)
        u32 = pde.solution(pts.float())
        assert u32.dtype == torch.float32 and torch.allclose(u32.double(), u0, atol=1e-6)
    # closed forms of the sine cases
    p = random_points(100, seed=2)
    x, t = p[:, :1], p[:, 1:]
    assert torch.allclose(CDR(beta=2, nu=3).solution(p), 1 + torch.exp(-3 * t) * torch.sin(x - 2 * t), atol=1e-14)
    assert torch.allclose(CDR(beta=2).solution(p), 1 + torch.sin(x - 2 * t), atol=1e-14)


def test_gauss_fourier_coeffs_match_quadrature():
    y, w = np.polynomial.legendre.leggauss(200)
    y, w = math.pi * y, math.pi * w  # ∫ over [−π, π] of the Gaussian centred at 0 (= u0 shifted by π)
    k = np.arange(41)
    quad = (np.cos(np.outer(k, y)) * np.exp(-(y**2) / (2 * (math.pi / 2) ** 2))) @ w / TWO_PI * (-1.0) ** k
    assert np.abs(gauss_fourier_coeffs(40) - quad).max() < 1e-14
    c = gauss_fourier_coeffs(2000)  # kink: c_k ≈ −(8 e^{−2}/π) / (2π k²)
    assert math.isclose(c[2000], -(8 * math.exp(-2) / math.pi) / (TWO_PI * 2000**2), rel_tol=1e-3)


def test_gauss_ic_periodic_and_peak():
    x = torch.tensor([0.0, math.pi, TWO_PI, -1.0, TWO_PI - 1.0], dtype=torch.float64)
    g = initial_condition("gauss", x)
    assert g[1] == 1.0 and torch.isclose(g[0], g[2]) and torch.isclose(g[3], g[4])
    assert torch.isclose(g[0], torch.tensor(math.exp(-2.0), dtype=torch.float64))


def test_heat_flow_gauss_matches_independent_fourier_sum():
    # independent check: FFT coefficients of u0 on a very fine grid, evolved per mode (t ≥ 0.02)
    pde = CDR(beta=1.5, nu=0.7, ic="gauss")
    p = random_points(500, seed=3, t_lo=0.02)
    n = 2**15
    c = torch.fft.rfft(initial_condition("gauss", TWO_PI * torch.arange(n, dtype=torch.float64) / n)) / n
    k = torch.arange(c.numel(), dtype=torch.float64)
    xi, t = p[:, :1] - 1.5 * p[:, 1:], p[:, 1:]
    cc = c * torch.exp(-0.7 * k**2 * t)
    ref = 2 * (cc.real * torch.cos(k * xi) - cc.imag * torch.sin(k * xi)).sum(1) - cc[:, 0].real
    assert (pde.solution(p)[:, 0] - ref).abs().max() < 1e-8  # limited by aliasing of the check


def test_residual_from_jet_task_axis():
    pde = CDR(beta=2.0, nu=0.5, rho=1.5)
    g = torch.Generator().manual_seed(0)
    u, ux, ut, uxx = (torch.randn(3, 7, 1, generator=g) for _ in range(4))
    r = pde.residual_from_jet(Jet(u, {0: ux, 1: ut}, {0: uxx}), torch.zeros(7, 2))
    assert r.shape == (3, 7, 1)
    expect = ut + 2.0 * ux - 0.5 * uxx - 1.5 * u * (1 - u)
    assert torch.allclose(r, expect)


# --------------------------------------------------------------------------- splitting
def test_split_step_exact_for_single_operators():
    x = TWO_PI * torch.arange(64, dtype=torch.float64) / 64
    for kw, ic in [(dict(beta=3.0), "sin"), (dict(nu=2.0), "sin"), (dict(beta=3.0, nu=2.0), "sin"),
                   (dict(rho=5.0), "sin"), (dict(rho=5.0), "gauss")]:
        pde = CDR(ic=ic, **kw)
        u1 = cdr_split_step(initial_condition(ic, x), 0.01, pde.beta, pde.nu, pde.rho)
        ex = pde.solution(torch.stack([x, torch.full_like(x, 0.01)], 1))[:, 0]
        assert (u1 - ex).abs().max() < 1e-13
    out = cdr_split_step(np.ones((2, 16)), 0.1, 1.0, 1.0, 1.0)  # numpy in -> numpy out, batch axes kept
    assert isinstance(out, np.ndarray) and out.shape == (2, 16) and np.allclose(out, 1.0)


@pytest.mark.parametrize("kw", [dict(beta=30.0, ic="gauss"), dict(nu=3.0, ic="gauss"), dict(beta=4.0, nu=2.0, ic="gauss"),
                                dict(beta=4.0, nu=2.0, ic="sin"), dict(rho=5.0, ic="sin")])
def test_splitting_path_matches_exact(kw):
    pde = CDR(**kw)
    pts = random_points(3000, seed=4)
    err = (pde.splitting_reference()(pts) - pde.solution(pts)).abs().max()
    assert err <= 1e-6


def test_splitting_pure_reaction_gauss_on_grid_nodes():
    # the periodic Gaussian has a kink at x = 0; with ν = 0 it never smooths, so the spectral
    # reference is only exact on its grid nodes (that is why ν = 0 uses the closed form)
    pde = CDR(rho=5.0, ic="gauss")
    pts = random_points(2000, seed=5)
    pts[:, 0] = TWO_PI * torch.randint(0, 512, (2000,), generator=torch.Generator().manual_seed(0)) / 512
    assert (pde.splitting_reference()(pts) - pde.solution(pts)).abs().max() <= 1e-6


def test_mixed_reference_second_order_and_accuracy():
    pde = CDR(beta=3.0, nu=3.0, rho=3.0, ic="gauss")
    assert not pde.has_exact
    pts = random_points(3000, seed=6)
    # 1000 points in the initial layer at the kink (moving frame x − βt ≈ 0), t < 0.02
    lay = pts[:1000]
    lay[:, 1] *= 0.02
    lay[:, 0] = torch.remainder((lay[:, 0] - math.pi) * 0.02 + 3.0 * lay[:, 1], TWO_PI)
    fine = SplittingReference("gauss", 3.0, 3.0, 3.0, nx=1024, dt=1e-3 / 8)(pts)
    smooth = pts[:, 1] >= 0.05
    errs = []
    for dt in (4e-3, 2e-3, 1e-3):
        u = SplittingReference("gauss", 3.0, 3.0, 3.0, nx=512, dt=dt)(pts)
        errs.append(float((u - fine)[smooth].abs().max()))
    ratios = [errs[0] / errs[1], errs[1] / errs[2]]
    assert all(3.5 < r < 4.5 for r in ratios), (errs, ratios)
    default = pde.solution(pts)  # nx = 512, dt = 1e-3, cached
    assert pde.splitting_reference() is pde.splitting_reference()
    err = float((default - fine).abs().max())
    assert err <= 1e-5
    assert err <= 1e-6  # measured ≈ 7e-7 (in the initial layer at the kink; ≈ 1.4e-7 for t ≥ 0.05)


def test_mixed_reference_fd_residual_and_ic():
    pde = CDR(beta=3.0, nu=3.0, rho=3.0, ic="gauss")
    p = random_points(1000, seed=7, t_lo=0.05, t_hi=0.95)
    h = 1e-3
    ex, et = torch.tensor([h, 0.0], dtype=torch.float64), torch.tensor([0.0, h], dtype=torch.float64)
    u, up, um = pde.solution(p), pde.solution(p + ex), pde.solution(p - ex)
    ut = (pde.solution(p + et) - pde.solution(p - et)) / (2 * h)
    ux, uxx = (up - um) / (2 * h), (up - 2 * u + um) / h**2
    terms = [ut, 3 * ux, 3 * uxx, 3 * u * (1 - u)]
    res = terms[0] + terms[1] - terms[2] - terms[3]
    scale = max(float(a.abs().max()) for a in terms)
    assert float(res.abs().max()) / scale < 1e-4  # FD truncation O(h²) ≈ 1e-5
    # exact initial values at t = 0 (also for points off the grid)
    x = torch.rand(300, dtype=torch.float64) * TWO_PI
    u0 = pde.solution(torch.stack([x, torch.zeros_like(x)], 1))[:, 0]
    assert (u0 - initial_condition("gauss", x)).abs().max() < 1e-14


def test_reference_grid():
    pde = CDR(beta=1.0, nu=1.0, rho=1.0, ic="sin")
    x, t, U = pde.reference_grid()
    assert x.shape == (256,) and t.shape == (100,) and U.shape == (100, 256)
    assert x[0] == 0.0 and np.isclose(x[-1], TWO_PI * 255 / 256) and t[0] == 0.0 and t[-1] == 1.0
    assert np.allclose(U[0], 1 + np.sin(x), atol=1e-14)
    pts = np.array([[x[17], t[42]]])
    assert np.isclose(U[42, 17], pde.solution(pts)[0, 0])
    x2, t2, U2 = CDR(beta=2.0).reference_grid(nx=8, nt=3)
    assert np.allclose(U2, 1 + np.sin(x2[None, :] - 2.0 * t2[:, None]))


# --------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("kw", [dict(beta=30.0), dict(nu=3.0, ic="gauss"), dict(beta=1.0, nu=1.0, rho=1.0, ic="gauss")])
def test_sample(kw):
    pde = CDR(**kw)
    g = torch.Generator().manual_seed(0)
    pts, tg = pde.sample(500, "collocation", g)
    assert pts.shape == (500, 2) and tg is None and pts.dtype == torch.float32
    assert (pts[:, 0] >= 0).all() and (pts[:, 0] <= TWO_PI).all() and (pts[:, 1] >= 0).all() and (pts[:, 1] <= 1).all()
    pts, tg = pde.sample(300, "ic", g, dtype=torch.float64)
    assert pts.shape == (300, 2) and tg.shape == (300, 1) and (pts[:, 1] == 0).all()
    assert torch.allclose(tg[:, 0], initial_condition(pde.ic, pts[:, 0]), atol=1e-13)
    pts, tg = pde.sample(40, "bc", g, dtype=torch.float64)
    assert pts.shape == (80, 2) and tg is None
    assert (pts[:40, 0] == 0).all() and (pts[40:, 0] == TWO_PI).all()
    assert torch.equal(pts[:40, 1], pts[40:, 1])
    assert pde.boundary_residual(pde.solution(pts), None).abs().max() < 1e-12


def test_metadata():
    pde = CDR(beta=3, nu=2, rho=1, ic="gauss")
    assert pde.coords == ("x", "t") and pde.periodic == ("x",) and pde.equations == ("cdr",)
    assert pde.domain == {"x": (0.0, TWO_PI), "t": (0.0, 1.0)}
    assert pde.params == {"beta": 3.0, "nu": 2.0, "rho": 1.0}
    assert set(pde.param_range) == {"beta", "nu", "rho"}
    assert "gauss" in repr(pde) and "beta=3" in repr(pde)
    assert CDR().has_exact and CDR(rho=1).has_exact and CDR(beta=1, nu=1).has_exact
    assert CDR(beta=1, rho=1).has_exact and not CDR(nu=1, rho=1).has_exact


# --------------------------------------------------------------------------- invalid input
@pytest.mark.parametrize("kw,word", [
    (dict(beta=-1.0), "beta in [0, 100]"),
    (dict(nu=float("nan")), "nu in [0, 100]"),
    (dict(rho=101.0), "rho in [0, 100]"),
    (dict(rho=float("inf")), "rho in [0, 100]"),
    (dict(beta="fast"), "beta must be a real number"),
    (dict(ic="tanh"), "'sin', 'gauss'"),
    (dict(ic=None), "'sin', 'gauss'"),
])
def test_invalid_input(kw, word):
    with pytest.raises(ValueError) as e:
        CDR(**kw)
    assert word in str(e.value)


def test_invalid_points_and_kind():
    pde = CDR(beta=1.0)
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        pde.solution(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="allowed"):
        pde.sample(5, "interior")
    with pytest.raises(ValueError, match="allowed"):
        initial_condition("box", torch.zeros(3))
