"""The derivative engine agrees with nested autograd on every PDE; models count their parameters."""
import pytest
import torch

from pinnlab.engine import DerivSpec, jet_autograd, mlp_jet
from pinnlab.models import MLP
from pinnlab.pdes import CDR, Burgers1D, Burgers2D, Helmholtz, Kovasznay, grf

PDES = [Kovasznay(40.0), Burgers2D(1e-3), Helmholtz(2.5, 2.5), CDR(3.0, 2.0, 1.0, "gauss"),
        Burgers1D(grf(1, 32, seed=0)[0])]


@pytest.mark.parametrize("pde", PDES, ids=repr)
@pytest.mark.parametrize("activation", ["tanh", "sin"])
def test_engine_residual_matches_autograd(pde, activation):
    g = torch.Generator().manual_seed(0)
    net = MLP([pde.dim, 24, 24, 24, len(pde.outputs)], activation, generator=g)
    pts, _ = pde.sample(300, "collocation", generator=g)
    r_auto = pde.residual(net, pts)
    r_eng = pde.residual_from_jet(net.jet(pts, pde.spec), pts)
    scale = r_auto.abs().max().item() + 1e-3
    assert (r_auto - r_eng).abs().max().item() <= 1e-5 * scale  # float32 round-off


def test_engine_float64_exact_and_gradients_match():
    g = torch.Generator().manual_seed(1)
    pde = Kovasznay(40.0)
    net = MLP([2, 16, 16, 3], generator=g).double()
    pts, _ = pde.sample(50, "collocation", generator=g, dtype=torch.float64)
    loss_a = pde.residual(net, pts).pow(2).mean()
    ga = torch.autograd.grad(loss_a, list(net.parameters()))
    loss_e = pde.residual_from_jet(net.jet(pts, pde.spec), pts).pow(2).mean()
    ge = torch.autograd.grad(loss_e, list(net.parameters()))
    assert abs(loss_a.item() - loss_e.item()) < 1e-13
    for a, e in zip(ga, ge):
        assert torch.allclose(a, e, atol=1e-12)


def test_stacked_tasks_equal_separate_networks():
    g = torch.Generator().manual_seed(2)
    stacked = MLP([2, 16, 16, 1], n_tasks=3, generator=g).double()
    spec = DerivSpec((0, 1), (0,))
    x = torch.rand(3, 40, 2, dtype=torch.float64, generator=g)
    jet = stacked.jet(x, spec)
    assert jet.u.shape == (3, 40, 1)
    for i in range(3):
        ref = jet_autograd(stacked.task(i), x[i], spec)
        assert torch.allclose(jet.u[i], ref.u) and torch.allclose(jet.d2[0][i], ref.d2[0])
    shared = stacked.jet(x[0], spec)  # points shared by all tasks
    assert shared.u.shape == (3, 40, 1)
    assert torch.allclose(MLP.stack([stacked.task(i) for i in range(3)]).jet(x, spec).d1[1], jet.d1[1])


def test_single_layer_jet():
    W, b = torch.randn(3, 2, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    jet = mlp_jet([(W, b)], torch.rand(5, 2, dtype=torch.float64), DerivSpec((0, 1), (1,)))
    assert torch.allclose(jet.d1[1], W[:, 1].expand(5, 3)) and torch.all(jet.d2[1] == 0)


def test_param_counts_match_formula():
    widths = [2, 64, 64, 64, 64, 64, 64, 1]
    net = MLP(widths)
    assert net.count_params() == MLP.param_count_formula(widths) == 21057  # Paper A's 1D Burgers PINN
    assert MLP([2, *[64] * 6, 3]).count_params() == 21187  # Paper A's Kovasznay PINN
    assert MLP(widths, n_tasks=5).count_params() == 5 * 21057


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="activation"):
        MLP([2, 3, 1], activation="relu6")
    with pytest.raises(ValueError, match="widths"):
        MLP([2])
    with pytest.raises(ValueError, match="second derivatives"):
        DerivSpec(first=(0,), second=(1,))
