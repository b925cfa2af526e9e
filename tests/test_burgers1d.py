"""Tests of the periodic Burgers family: GRF sampler, spectral solver, Cole–Hopf oracle, PDE API."""
import warnings

import numpy as np
import pytest
import torch

from pinnlab.engine import Jet
from pinnlab.pdes.burgers1d import Burgers1D
from pinnlab.pdes.burgers_spectral import cole_hopf, grf, grf_std, solve_burgers_spectral

N = 128
NU = 0.01
XG = np.arange(N) / N
TG = np.arange(101) / 100


def _sine():
    return 0.5 * np.sin(2 * np.pi * XG)


def _grf_sample():
    """The largest of four GRF draws (max|u0| ~ 1, a sharp shock forms)."""
    u = grf(4, N, seed=1)
    return u[np.argmax(np.abs(u).max(1))]


@pytest.fixture(scope="module", params=["sine", "grf"])
def case(request):
    u0 = _sine() if request.param == "sine" else _grf_sample()
    pde = Burgers1D(u0, NU)
    exact = cole_hopf(u0, NU, XG[None, :], TG[:, None])  # [101, 128]
    return request.param, u0, pde, exact


# --------------------------------------------------------------------------- GRF
def test_grf_shapes_mean_seed():
    u = grf(5, 64, seed=3)
    assert u.shape == (5, 64) and u.dtype == np.float64
    assert np.abs(u.mean(1)).max() < 1e-15
    np.testing.assert_array_equal(u, grf(5, 64, seed=3))
    assert not np.allclose(u, grf(5, 64, seed=4))
    np.testing.assert_array_equal(grf(2, 32, seed=np.random.default_rng(7)), grf(2, 32, seed=7))
    assert grf(3).shape == (3, 128)


def test_grf_spectrum_matches_covariance():
    n_s, n = 2000, 64
    c = np.fft.rfft(grf(n_s, n, seed=0), axis=1) / n  # c_k of u = sum_k c_k e^{2 pi i k x}
    assert np.abs(c[:, 0]).max() < 1e-15 and np.abs(c[:, n // 2]).max() < 1e-15
    for k in (1, 2, 3, 5, 10):
        lam = grf_std(k) ** 2  # = 625 / ((2 pi k)^2 + 25)^2
        var = np.mean(np.abs(c[:, k]) ** 2)  # |c_k|^2 ~ lam * Exp(1): std of the mean lam / sqrt(n_s)
        assert abs(var / lam - 1) < 5 / np.sqrt(n_s), (k, var, lam)
        # real and imaginary parts independent with equal variance lam / 2
        assert abs(np.var(c[:, k].real) / (lam / 2) - 1) < 7 / np.sqrt(n_s)
    assert grf_std(1) == pytest.approx(25 / ((2 * np.pi) ** 2 + 25))


@pytest.mark.parametrize(
    "args",
    [dict(n_samples=0), dict(n_samples=2.5), dict(n_samples=1, n_points=7), dict(n_samples=1, n_points=2),
     dict(n_samples=1, seed=-1), dict(n_samples=1, seed="a"), dict(n_samples=True)],
)
def test_grf_bad_args(args):
    with pytest.raises(ValueError, match="allowed|must be"):
        grf(**args)


# --------------------------------------------------------------------------- Cole–Hopf oracle
def test_cole_hopf_self_consistency():
    u0 = _sine()
    x = np.linspace(0, 1, 37)[:, None]
    t = np.array([0.003, 0.05, 0.3, 1.0])[None, :]
    ker = cole_hopf(u0, NU, x, t)
    assert ker.shape == (37, 4)
    # two independent evaluations of the heat solution agree
    np.testing.assert_allclose(ker, cole_hopf(u0, NU, x, t, method="fourier", n_quad=8192), atol=1e-11)
    # quadrature converged; exact IC at t = 0
    v = _grf_sample()
    np.testing.assert_allclose(cole_hopf(v, NU, x, t), cole_hopf(v, NU, x, t, n_quad=8192), atol=1e-12)
    np.testing.assert_allclose(cole_hopf(v, NU, XG, 0.0), v, atol=1e-14)
    with pytest.raises(ValueError, match="allowed"):
        cole_hopf(u0, NU, x, t, method="spline")


# --------------------------------------------------------------------------- spectral solver
def test_solver_matches_cole_hopf_at_snapshots(case):
    name, u0, pde, exact = case
    _, t, U = pde.reference_grid()
    np.testing.assert_array_equal(t, TG)
    err = np.abs(U - exact).max() / np.abs(u0).max()
    print(f"{name}: max snapshot error / max|u0| = {err:.2e} (dt = {pde.dt:.2e})")
    assert err <= 1e-4
    np.testing.assert_allclose(U[0], u0, atol=1e-14)


def test_solver_between_snapshots(case):
    name, u0, pde, _ = case
    rng = np.random.default_rng(5)
    pts = rng.random((400, 2))
    pts[:100, 1] *= 0.02  # the initial transient of the high modes
    ref = cole_hopf(u0, NU, pts[:, 0], pts[:, 1])
    err = np.abs(pde.solution(pts)[:, 0] - ref).max() / np.abs(u0).max()
    print(f"{name}: max error between snapshots / max|u0| = {err:.2e}")
    assert err <= 1e-3


def test_solution_exact_at_snapshots(case):
    _, u0, pde, _ = case
    pts, shape = pde.grid({"x": N, "t": 101})
    vals = pde.solution(pts)[:, 0].reshape(shape).T  # [101, N]
    np.testing.assert_allclose(vals, pde.reference_grid()[2], atol=1e-13)
    # x is periodic: x + 1 gives the same value
    shifted = pts.clone()
    shifted[:, 0] += 1.0
    np.testing.assert_allclose(pde.solution(shifted[:500]), pde.solution(pts[:500]), atol=1e-12)


def test_solver_dt_convergence():
    u0 = _sine()
    exact = cole_hopf(u0, NU, XG[None, :], TG[::10, None])
    e1 = np.abs(solve_burgers_spectral(u0, NU, dt=2.5e-3)[::10] - exact).max()
    e2 = np.abs(solve_burgers_spectral(u0, NU, dt=1.25e-3)[::10] - exact).max()
    assert e2 < e1 / 8 or e2 < 1e-12, (e1, e2)  # fourth order in time


def test_batched_solver_matches_single():
    u0s = np.stack([_sine(), _grf_sample(), 0.3 * np.cos(4 * np.pi * XG) + 0.2])  # last one: nonzero mean
    U = solve_burgers_spectral(u0s, NU, dt=1e-3)
    assert U.shape == (3, 101, N)
    for i in range(3):
        np.testing.assert_allclose(U[i], solve_burgers_spectral(u0s[i], NU, dt=1e-3), atol=1e-13)
    # nonzero mean (Galilean shift inside the oracle)
    ref = cole_hopf(u0s[2], NU, XG[None, :], TG[::25, None])
    assert np.abs(U[2, ::25] - ref).max() < 1e-8
    Us = solve_burgers_spectral(u0s[:1], NU, grid="solver")
    assert Us.shape == (1, 101, 512)
    np.testing.assert_allclose(Us[..., ::4], U[:1], atol=1e-8)


def test_underresolved_warns():
    with pytest.warns(RuntimeWarning, match="n_solver"):
        solve_burgers_spectral(2.0 * np.sin(2 * np.pi * XG), NU, n_solver=256)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solve_burgers_spectral(_sine(), NU)


# --------------------------------------------------------------------------- residual
def test_residual_autograd_and_task_axis():
    pde = Burgers1D(_sine())

    def u_fn(p):
        return (torch.sin(2 * np.pi * p[:, :1]) * torch.exp(-p[:, 1:2]))

    pts = torch.rand(50, 2, dtype=torch.float64)
    r = pde.residual(u_fn, pts)
    assert r.shape == (50, 1)
    x, t = pts[:, :1], pts[:, 1:2]
    u = torch.sin(2 * np.pi * x) * torch.exp(-t)
    ux = 2 * np.pi * torch.cos(2 * np.pi * x) * torch.exp(-t)
    expected = -u + u * ux + NU * 4 * np.pi**2 * u
    torch.testing.assert_close(r, expected)
    # leading task axis
    T = 3
    jet = Jet(torch.randn(T, 7, 1), {0: torch.randn(T, 7, 1), 1: torch.randn(T, 7, 1)}, {0: torch.randn(T, 7, 1)})
    out = pde.residual_from_jet(jet, torch.rand(7, 2))
    assert out.shape == (T, 7, 1)
    torch.testing.assert_close(out, jet.d1[1] + jet.u * jet.d1[0] - NU * jet.d2[0])


def test_reference_satisfies_pde_by_finite_differences(case):
    _, u0, pde, _ = case
    m = 512
    dx, dt = 1.0 / m, 1e-4
    x = np.arange(m) / m
    rel, rel_wrong = [], []
    for t in (0.1, 0.35, 0.6, 0.95):
        def ev(xs, ts):
            p = np.stack([xs, np.full_like(xs, ts)], 1)
            return pde.solution(p)[:, 0]

        u = ev(x, t)
        ut = (ev(x, t + dt) - ev(x, t - dt)) / (2 * dt)
        up, um = np.roll(u, -1), np.roll(u, 1)
        ux, uxx = (up - um) / (2 * dx), (up - 2 * u + um) / dx**2
        scale = max(np.abs(ut).max(), np.abs(u * ux).max(), np.abs(NU * uxx).max())
        rel.append(np.abs(ut + u * ux - NU * uxx).max() / scale)
        rel_wrong.append(np.abs(ut + u * ux + NU * uxx).max() / scale)
    assert max(rel) < 1e-2, rel
    assert min(rel_wrong) > 0.1, rel_wrong  # the check is sensitive to the sign convention


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(u0=np.zeros((2, 8))),
        dict(u0=np.zeros(7)),
        dict(u0=np.zeros(6)),
        dict(u0=np.r_[np.zeros(7), np.nan]),
        dict(u0=np.r_[np.zeros(7), np.inf]),
        dict(u0=np.zeros(8), nu=0.0),
        dict(u0=np.zeros(8), nu=-0.1),
        dict(u0=np.zeros(8), nu=1.5),
        dict(u0=np.zeros(8), nu="x"),
        dict(u0=np.zeros(8), n_solver=20),
        dict(u0=np.zeros(8), n_solver=8),
    ],
)
def test_invalid_input(kwargs):
    with pytest.raises(ValueError, match="allowed|must"):
        Burgers1D(**kwargs)


def test_invalid_solver_and_points():
    with pytest.raises(ValueError, match="allowed"):
        solve_burgers_spectral(_sine(), NU, grid="fine")
    with pytest.raises(ValueError, match="allowed"):
        solve_burgers_spectral(_sine(), NU, dt=0.5)
    pde = Burgers1D(np.sin(2 * np.pi * np.arange(16) / 16))
    with pytest.raises(ValueError, match=r"t in \[0, 1\]"):
        pde.solution(np.array([[0.5, 1.5]]))
    with pytest.raises(ValueError, match="shape"):
        pde.solution(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="allowed"):
        pde.sample(4, "interior")


# --------------------------------------------------------------------------- sampling & API
def test_attributes_and_reference_grid():
    pde = Burgers1D(_sine())
    assert pde.coords == ("x", "t") and pde.outputs == ("u",) and pde.periodic == ("x",)
    assert pde.has_exact is False and pde.param_range == {"nu": (0.01, 0.01)}
    assert pde.params == {"nu": 0.01} and "Burgers1D" in repr(pde)
    x, t, U = pde.reference_grid()
    assert x.shape == (N,) and t.shape == (101,) and U.shape == (101, N)
    np.testing.assert_allclose(U, solve_burgers_spectral(_sine(), NU), atol=1e-13)
    out = pde.solution(torch.tensor([[0.25, 0.0], [0.75, 0.0]], dtype=torch.float32))
    assert out.dtype == torch.float32 and out.shape == (2, 1)
    torch.testing.assert_close(out, torch.tensor([[0.5], [-0.5]]))


def test_sample_kinds():
    u0 = _grf_sample()
    pde = Burgers1D(u0)
    g = torch.Generator().manual_seed(0)
    pts, tgt = pde.sample(300, "collocation", generator=g)
    assert pts.shape == (300, 2) and tgt is None and pts.dtype == torch.float32
    assert pts.min() >= 0 and pts.max() <= 1
    # the IC grid itself
    pts, tgt = pde.sample(N, "ic", dtype=torch.float64)
    assert pts.shape == (N, 2) and tgt.shape == (N, 1)
    np.testing.assert_array_equal(pts[:, 0].numpy(), XG)
    assert torch.all(pts[:, 1] == 0)
    np.testing.assert_array_equal(tgt[:, 0].numpy(), u0)
    # random IC points: targets from the trigonometric interpolant
    pts, tgt = pde.sample(50, "ic", generator=g, dtype=torch.float64)
    assert pts.shape == (50, 2) and tgt.shape == (50, 1) and torch.all(pts[:, 1] == 0)
    np.testing.assert_allclose(tgt[:, 0].numpy(), cole_hopf(u0, NU, pts[:, 0].numpy(), 0.0), atol=1e-12)
    # periodic pairs
    pts, tgt = pde.sample(40, "bc", generator=g)
    assert pts.shape == (80, 2) and tgt is None
    assert torch.all(pts[:40, 0] == 0) and torch.all(pts[40:, 0] == 1)
    torch.testing.assert_close(pts[:40, 1], pts[40:, 1])
    assert pts[:, 1].min() >= 0 and pts[:, 1].max() <= 1
