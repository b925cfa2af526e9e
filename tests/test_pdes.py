"""Every PDE: exact solutions satisfy their residual, sampling respects the domain, bad input fails."""
import math

import numpy as np
import pytest
import torch

from pinnlab.pdes import CDR, Burgers1D, Burgers2D, Helmholtz, Kovasznay, grf, kovasznay_lambda

EXACT = [
    Kovasznay(20.0),
    Kovasznay(100.0),
    Burgers2D(1e-3),
    Burgers2D(0.05),
    Helmholtz(2.0, 3.0),
    Helmholtz(2.5, 2.5, k=1.0),
    CDR(beta=30.0, ic="sin"),
    CDR(nu=3.0, ic="gauss"),
    CDR(rho=5.0, ic="gauss"),
]
ALL = EXACT + [Burgers1D(grf(1, 64, seed=0)[0]), CDR(2.0, 2.0, 2.0, ic="gauss")]


def _term_scale(pde, pts):
    """Largest magnitude of the solution's derivatives: the scale residuals are compared with."""
    from pinnlab.engine import jet_autograd

    jet = jet_autograd(pde.solution, pts, pde.spec)
    scale = max([jet.u.abs().max().item()] + [d.abs().max().item() for d in (*jet.d1.values(), *jet.d2.values())])
    return scale


@pytest.mark.parametrize("pde", EXACT, ids=repr)
def test_exact_solution_has_zero_residual(pde):
    pts, _ = pde.sample(500, "collocation", generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    r = pde.residual(pde.solution, pts)
    assert r.shape == (500, len(pde.equations))
    assert r.abs().max().item() <= 1e-6 * _term_scale(pde, pts)


def test_paper_burgers2d_signs_fail_the_pde():
    pde = Burgers2D(0.01)
    pts, _ = pde.sample(500, "collocation", generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert pde.residual(pde.paper_solution, pts).abs().max() > 1e-2


def test_kovasznay_lambda_and_values():
    lam = kovasznay_lambda(40.0)
    assert lam < 0 and math.isclose(lam, 20 - math.sqrt(400 + 4 * math.pi**2))
    pde = Kovasznay(40.0)
    uvp = pde.solution(np.array([[0.0, 0.0]]))
    assert np.allclose(uvp, [[0.0, 0.0, 0.0]])  # u = 1 - 1, v = 0, p = (1 - 1)/2


@pytest.mark.parametrize("pde", ALL, ids=repr)
def test_sample_shapes_and_bounds(pde):
    g = torch.Generator().manual_seed(1)
    for kind in pde.kinds:
        pts, tgt = pde.sample(37, kind, generator=g)
        n = 74 if (kind == "bc" and pde.periodic) else 37
        assert pts.shape == (n, pde.dim) and pts.dtype == torch.float32
        for j, c in enumerate(pde.coords):
            lo, hi = pde.domain[c]
            assert pts[:, j].min() >= lo - 1e-6 and pts[:, j].max() <= hi + 1e-6
        if kind == "collocation" or (kind == "bc" and pde.periodic):
            assert tgt is None
        else:
            assert tgt.shape == (n, len(pde.outputs))
        if kind == "ic":
            assert torch.all(pts[:, pde.coords.index("t")] == 0)
        if kind == "bc" and not pde.periodic:
            on_face = torch.zeros(n, dtype=torch.bool)
            for j, c in enumerate(pde.coords):
                if c != "t":
                    on_face |= (pts[:, j] == pde.domain[c][0]) | (pts[:, j] == pde.domain[c][1])
            assert on_face.all()


def test_solution_numpy_and_torch_agree():
    pde = Kovasznay(60.0)
    pts = np.random.default_rng(0).uniform(-0.5, 1.0, size=(20, 2))
    a = pde.solution(pts)
    b = pde.solution(torch.tensor(pts, dtype=torch.float32))
    assert isinstance(a, np.ndarray) and isinstance(b, torch.Tensor) and b.dtype == torch.float32
    assert np.allclose(a, b.numpy(), atol=1e-5)


def test_grid_orders_points_ij():
    pde = Kovasznay(40.0)
    pts, shape = pde.grid({"x": 4, "y": 3})
    assert shape == (4, 3) and pts.shape == (12, 2)
    assert torch.allclose(pts.reshape(4, 3, 2)[:, 0, 0], torch.linspace(-0.5, 1.0, 4, dtype=torch.float64))
    b = Burgers1D(grf(1, 32, seed=0)[0])
    pts, shape = b.grid(8, fixed={"t": 0.5})
    assert shape == (8,) and torch.all(pts[:, 1] == 0.5) and pts[:, 0].max() < 1.0  # periodic: no endpoint


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Kovasznay(0.0), "Re"),
        (lambda: Kovasznay(float("nan")), "Re"),
        (lambda: Burgers2D(-1e-3), "nu"),
        (lambda: Helmholtz(2.0, 2.0, k=-1.0), "k"),
        (lambda: CDR(beta=-1.0), "beta"),
        (lambda: CDR(ic="square"), "sin"),
        (lambda: Burgers1D(np.zeros((2, 8))), "u0"),
        (lambda: Burgers1D(np.zeros(8), nu=0.0), "nu"),
    ],
)
def test_bad_parameters_raise_valueerror_naming_allowed(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_kind_and_points():
    pde = Kovasznay(40.0)
    with pytest.raises(ValueError, match="collocation, bc"):
        pde.sample(10, "ic")
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        pde.solution(np.zeros((5, 3)))
