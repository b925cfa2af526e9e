"""Slider panels compute the right physics without a browser; exercise checks accept and diagnose."""
import math
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from pinnlab import exercises, widgets  # noqa: E402
from pinnlab.models import MLP  # noqa: E402
from pinnlab.pdes import Burgers1D, Kovasznay, grf, kovasznay_lambda  # noqa: E402


@pytest.fixture(scope="module")
def result():
    g = torch.Generator().manual_seed(0)
    u0 = grf(1, 32, seed=0)[0]
    return SimpleNamespace(kovasznay_model=MLP([2, 16, 3], generator=g), burgers=Burgers1D(u0),
                           burgers_model=MLP([2, 16, 1], generator=g))


def test_kovasznay_panel_follows_slider(result):
    panels = widgets.pinn_basics_panel(result)
    kov = panels["kovasznay"]
    before = kov.data
    assert before["Re"] == 40.0 and before["u_exact"].shape == (61, 61)
    kov.sliders["Re"].value = 100.0
    after = kov.data
    assert after["Re"] == 100.0
    # the exact field is Kovasznay(100)'s u on the same grid
    pde = Kovasznay(100.0)
    pts, shape = pde.grid(61)
    assert np.allclose(after["u_exact"], pde.solution(pts)[:, 0].numpy().reshape(shape).T)
    assert not np.allclose(before["residual"], after["residual"])
    assert kov.sliders["Re"].continuous_update is False


def test_burgers_panel_follows_slider(result):
    bur = widgets.pinn_basics_panel(result)["burgers"]
    bur.sliders["nu"].value = 0.04
    d = bur.data
    assert d["nu"] == pytest.approx(0.04) and d["u_ref"].shape == (101, 32)
    x, t, U = Burgers1D(result.burgers.u0, nu=0.04).reference_grid()
    assert np.allclose(d["u_ref"], U)


def test_residual_widget_is_small_for_a_solution():
    """The residual panel of a network that *is* the exact solution is ~0 at its Re."""

    class Exact(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return Kovasznay(40.0).solution(x)

    d = widgets.kovasznay_residual(Exact().double(), 40.0, n=21)
    assert d["max_residual"] < 1e-4
    assert widgets.kovasznay_residual(Exact().double(), 80.0, n=21)["max_residual"] > 1e-2


# ---------------------------------------------------------------- exercises
def _burgers_variant(kind):
    def fn(u_fn, points, nu):
        u = u_fn(points)
        g = torch.autograd.grad(u.sum(), points, create_graph=True)[0]
        ux, ut = g[:, 0:1], g[:, 1:2]
        uxx = torch.autograd.grad(ux.sum(), points, create_graph=True)[0][:, 0:1]
        utt = torch.autograd.grad(ut.sum(), points, create_graph=True)[0][:, 1:2]
        return {
            "right": ut + u * ux - nu * uxx,
            "flat": (ut + u * ux - nu * uxx)[:, 0],
            "sign": ut + u * ux + nu * uxx,
            "flux": ut + 2 * u * ux - nu * uxx,
            "swap": ux + u * ut - nu * utt,
            "nonu": ut + u * ux - uxx,
        }[kind]

    return fn


@pytest.mark.parametrize(
    "kind, ok, hint",
    [("right", True, "matches"), ("flat", False, "shape is [N]"), ("sign", False, "wrong sign"),
     ("flux", False, "u²/2"), ("swap", False, "swapped"), ("nonu", False, "viscosity")],
)
def test_check_burgers_residual(kind, ok, hint, capsys):
    assert exercises.check_burgers_residual(_burgers_variant(kind)) is ok
    assert hint in capsys.readouterr().out


def test_check_not_attempted_and_crashing(capsys):
    assert exercises.check_burgers_residual(...) is None
    assert "Not attempted" in capsys.readouterr().out

    def template(u_fn, points, nu):
        ...

    assert exercises.check_burgers_residual(template) is None
    assert exercises.check_kovasznay_lambda(lambda Re: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fn, ok, hint",
    [
        (kovasznay_lambda, True, "Correct"),
        (lambda Re: Re / 2 - math.sqrt(Re**2 / 4) + 4 * math.pi**2, False, "misprint"),
        (lambda Re: Re / 2 + math.sqrt(Re**2 / 4 + 4 * math.pi**2), False, "sign"),
        (lambda Re: Re / 2 - math.sqrt(Re**2 + 4 * math.pi**2), False, "Re²/4"),
        (lambda Re: 1 / (2 * Re) - math.sqrt(1 / (4 * Re**2) + 4 * math.pi**2), False, "1/Re"),
        (lambda Re: 0.0, False, "should be"),
    ],
)
def test_check_kovasznay_lambda(fn, ok, hint, capsys):
    assert exercises.check_kovasznay_lambda(fn) is ok
    assert hint in capsys.readouterr().out
