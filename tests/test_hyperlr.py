"""Low-rank PINN, Hyper-LR-PINN phases and the baselines: structure, counts, gradients, batching."""
import math

import numpy as np
import pytest
import torch

import pinnlab
from pinnlab import baselines, exercises
from pinnlab.baselines import PINN_WIDTHS, all_factors_count, curriculum_betas, paper_count, vanilla_pinn
from pinnlab.engine import mlp_forward
from pinnlab.hyperlr import (HyperLRPINN, Schedule, cdr_points, errors, eval_grid, phase1, reference,
                             residual_spec, stack_cdr, task_losses)
from pinnlab.lowrank import LowRankMLP, lowrank_weight, orthogonality_penalty
from pinnlab.pdes import CDR


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(autouse=True)
def _setup(monkeypatch):
    monkeypatch.delenv("PINNLAB_MODE", raising=False)
    pinnlab.setup("quick", seed=0, device="cpu", progress=False)


# ----------------------------------------------------------------------------- LowRankMLP
def test_layers_are_u_diag_s_vt():
    net = LowRankMLP(rank=[7, 50, 13], generator=_gen(1)).double()
    with torch.no_grad():
        for s in net.s:
            s.uniform_(-2, 2)
    layers = net.layers()
    assert [tuple(W.shape) for W, _ in layers] == [(50, 2), (50, 50), (50, 50), (50, 50), (1, 50)]
    for (W, b), U, V, s, bl in zip(layers[1:-1], net.U, net.V, net.s, net.b):
        assert torch.allclose(W, U @ torch.diag(s) @ V.T, atol=1e-13)
        assert b is bl
        assert torch.linalg.matrix_rank(W).item() == U.shape[1]
    # the diagonals can come from outside, stacked over tasks
    s_ext = [torch.rand(4, r, dtype=torch.float64) for r in net.ranks]
    for (W, _), U, V, s in zip(net.layers(s_ext)[1:-1], net.U, net.V, s_ext):
        assert W.shape == (4, 50, 50)
        assert torch.allclose(W[2], U @ torch.diag(s[2]) @ V.T, atol=1e-13)


def test_task_stacked_groups_and_task_copy():
    net = LowRankMLP(rank=5, n_tasks=3, per_task=("s", "first", "last"), generator=_gen(2)).double()
    assert net.U[0].shape == (50, 5) and net.s[0].shape == (3, 5) and net.W_first.shape == (3, 50, 2)
    x = torch.rand(20, 2, dtype=torch.float64)
    out = net(x)
    assert out.shape == (3, 20, 1)
    for i in range(3):
        assert torch.allclose(net.task(i)(x), out[i], atol=1e-12)


def test_lowrank_weight_broadcasts_task_axes():
    U, V = torch.randn(50, 6, dtype=torch.float64), torch.randn(50, 6, dtype=torch.float64)
    s = torch.randn(4, 6, dtype=torch.float64)
    W = lowrank_weight(U, s, V)
    assert W.shape == (4, 50, 50)
    assert torch.allclose(W[1], U @ torch.diag(s[1]) @ V.T)


@pytest.mark.parametrize("rank,expected", [(10, 381), (20, 411), (30, 441), (40, 471), (50, 501)])
def test_paper_table3_counts(rank, expected):
    assert paper_count(rank) == expected
    net = LowRankMLP(rank=rank)
    assert net.count_trainable() == all_factors_count(rank) == 201 + 3 * (100 * rank + rank + 50)
    assert vanilla_pinn().count_params() == 10401 and PINN_WIDTHS == [2, 50, 50, 50, 50, 50, 1]


def test_engine_matches_autograd_on_lowrank_cdr_residual():
    net = LowRankMLP(rank=[9, 20, 50], generator=_gen(3)).double()
    with torch.no_grad():
        for s, b in zip(net.s, net.b):
            s.uniform_(0.2, 1.5)
            b.uniform_(-0.3, 0.3)
    pde = CDR(beta=3.0, nu=0.7, rho=1.3)
    pts = torch.rand(64, 2, dtype=torch.float64) * torch.tensor([2 * math.pi, 1.0], dtype=torch.float64)
    r_auto = pde.residual(net, pts)
    r_engine = pde.residual_from_jet(net.jet(pts, pde.spec), pts)
    assert torch.allclose(r_auto, r_engine, atol=1e-11)
    # task-stacked: a hypernetwork-style stack of 3 diagonals and 3 different β
    s_ext = [torch.rand(3, r, dtype=torch.float64) for r in net.ranks]
    layers = net.layers(s_ext)
    spde = stack_cdr([1.0, 20.0, 35.0], dtype=torch.float64)
    from pinnlab.engine import mlp_jet

    jet = mlp_jet(layers, pts, residual_spec(0.0))
    r_stack = spde.residual_from_jet(jet, pts)
    for i, beta in enumerate([1.0, 20.0, 35.0]):
        one = [(W[i] if W.dim() == 3 else W, b) for W, b in layers]
        ref = CDR(beta).residual(lambda p: mlp_forward(one, p), pts)
        assert torch.allclose(r_stack[i], ref, atol=1e-10)


def test_orthogonality_penalty():
    Q, _ = torch.linalg.qr(torch.randn(50, 20, dtype=torch.float64))
    assert orthogonality_penalty([Q, Q]).item() < 1e-25
    B = 2 * Q
    # ‖BᵀB − I‖² = ‖3 I‖² = 9·20, mean square entry 9·20/400
    assert orthogonality_penalty([B]).item() == pytest.approx(9 * 20 / 400)
    assert orthogonality_penalty([B], weight=1.0).item() == pytest.approx(9 * 20)


# ----------------------------------------------------------------------------- Hyper-LR-PINN
def test_relu_heads_give_exact_zeros_and_adaptive_rank_counts_them():
    model = HyperLRPINN(generator=_gen(4))
    mu = [30.0, 35.0, 40.0]
    s = model.diagonals(mu)
    zeros = [(sl == 0).sum(-1) for sl in s]
    assert all(bool((z > 0).all()) for z in zeros), "ReLU heads should zero some entries exactly"
    ranks = model.ranks(mu)
    assert ranks.shape == (3, 3) and np.all(ranks == np.stack([50 - z.numpy() for z in zeros], -1))
    adaptive = model.phase2_model(mu, adaptive=True)
    full = model.phase2_model(mu, adaptive=False)
    assert adaptive.ranks_per_task() == ranks.tolist()
    assert adaptive.trainable_per_task() == [201 + int(r.sum()) for r in ranks]
    assert full.trainable_per_task() == [351, 351, 351]
    # same function at the start of Phase 2
    x = torch.rand(30, 2)
    assert torch.allclose(adaptive(x), model(x, mu), atol=1e-6) and torch.allclose(full(x), model(x, mu), atol=1e-6)
    # dropping the zero entries (smaller U, V) is the same network
    small = adaptive.truncated(1)
    assert small.ranks == ranks[1].tolist()
    assert torch.allclose(small(x), adaptive(x)[1], atol=1e-6)


def test_phase2_trains_only_diagonals_and_dense_layers():
    model = HyperLRPINN(generator=_gen(5))
    betas = [31.0, 36.0]
    net = model.phase2_model(betas, adaptive=True)
    names = {n for n, p in net.named_parameters() if p.requires_grad}
    assert names == {"W_first", "b_first", "W_last", "b_last", "s.0", "s.1", "s.2"}
    frozen = {n: p.detach().clone() for n, p in net.named_parameters() if not p.requires_grad}
    masks = net.diagonal_masks()
    counted = sum(int(m.sum()) for m in masks) + 2 * (150 + 51)
    assert sum(net.trainable_per_task()) == counted
    before = [s.detach().clone() for s in net.s]
    pts = cdr_points(2, 64, 32, 16, generator=_gen(6))
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        loss = sum(task_losses(net.layers(), stack_cdr(betas), pts).values()).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    for n, p in net.named_parameters():
        if not p.requires_grad:
            assert torch.equal(p, frozen[n]), f"{n} moved in Phase 2"
    for s, s0, m in zip(net.s, before, masks):
        assert torch.all(s[~m] == 0), "a dropped diagonal entry came back"
        assert not torch.equal(s[m], s0[m])


def test_batched_phase1_step_equals_a_per_task_loop():
    g = _gen(7)
    model = HyperLRPINN(generator=g).double()
    twin = HyperLRPINN().double()
    twin.load_state_dict(model.state_dict())
    betas = [30.0, 34.0, 39.0]
    pts = cdr_points(3, 40, 24, 10, generator=g, dtype=torch.float64)
    # batched: one pass for all tasks
    terms = task_losses(model.layers(betas), stack_cdr(betas, dtype=torch.float64), pts)
    (sum(terms.values()).mean() + model.orthogonality()).backward()
    # loop: one task at a time, gradients accumulated
    for i, b in enumerate(betas):
        t = task_losses(twin.layers([b]), stack_cdr([b], dtype=torch.float64), pts.take(slice(i, i + 1)))
        (sum(t.values()).sum() / len(betas)).backward()
    twin.orthogonality().backward()
    for (n, p), q in zip(model.named_parameters(), twin.parameters()):
        if p.requires_grad:
            assert torch.allclose(p.grad, q.grad, rtol=1e-9, atol=1e-12), n
    # and one Adam step of phase1() lowers the loss on a tiny problem
    hist = phase1(model.float(), betas, Schedule(epochs=20, lr=2e-3, n_collocation=64, n_ic=32, n_bc=16,
                                                 log_every=1, eval_every=0), generator=_gen(8), progress=False)
    assert hist["loss"][-1] < hist["loss"][0] and hist["ortho"][-1] < hist["ortho"][0]


def test_errors_and_reference_grid():
    x, t, P = eval_grid(32, 10)
    ref = reference([30.0], 32, 10)
    assert ref.shape == (1, 10, 32) and P.shape == (320, 2)
    exact = 1 + np.sin(P[:, 0].numpy() - 30.0 * P[:, 1].numpy())
    assert np.allclose(ref.reshape(-1), exact)
    e = errors(np.ones((1, 320)), ref)
    assert e["rel_err"][0] == pytest.approx(np.linalg.norm(1 - exact) / np.linalg.norm(exact))


def test_curriculum_betas():
    assert curriculum_betas(30.0, 3, 1.0) == pytest.approx([1 + 29 / 3, 1 + 58 / 3, 30.0])
    assert curriculum_betas(30.0, 1) == [30.0]


def test_curriculum_rerun_skips_finished_stages(monkeypatch, tmp_path):
    """Each finished stage is saved; a rerun loads its weights and history instead of training it."""
    sched = Schedule(epochs=4, lr=1e-3, n_collocation=16, n_ic=8, n_bc=4, log_every=1, eval_every=100)
    net = baselines.naive_lr_pinn(3, 2, generator=_gen(1))
    h = baselines.curriculum(net, [5.0, 10.0], sched, 2, generator=_gen(2), checkpoint_dir=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curriculum_stage0.pt", "curriculum_stage1.pt"]
    monkeypatch.setattr(baselines, "fit_cdr_tasks", lambda *a, **k: pytest.fail("retrained a finished stage"))
    again = baselines.naive_lr_pinn(3, 2, generator=_gen(7))
    assert baselines.curriculum(again, [5.0, 10.0], sched, 2, checkpoint_dir=tmp_path, progress=False) == h
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters()))


# ----------------------------------------------------------------------------- exercises
def test_check_orthogonality_penalty_accepts_and_diagnoses(capsys):
    def right(U, V):
        r = U.shape[1]
        eye = torch.eye(r, dtype=U.dtype)
        return ((U.T @ U - eye) ** 2).sum() + ((V.T @ V - eye) ** 2).sum()

    assert exercises.check_orthogonality_penalty(right) is True
    assert exercises.check_orthogonality_penalty(...) is None
    wrong = {
        "identity": lambda U, V: ((U.T @ U) ** 2).sum() + ((V.T @ V) ** 2).sum(),
        "U Uᵀ": lambda U, V: ((U @ U.T - torch.eye(U.shape[0], dtype=U.dtype)) ** 2).sum()
        + ((V @ V.T - torch.eye(V.shape[0], dtype=V.dtype)) ** 2).sum(),
        "V": lambda U, V: ((U.T @ U - torch.eye(U.shape[1], dtype=U.dtype)) ** 2).sum(),
    }
    for key, fn in wrong.items():
        capsys.readouterr()
        assert exercises.check_orthogonality_penalty(fn) is False
        assert key in capsys.readouterr().out


def test_check_failure_beta(capsys):
    assert exercises.check_failure_beta(..., measured=12.0) is None
    assert exercises.check_failure_beta(12.0, measured=12.0, tolerance=3.0) is True
    assert exercises.check_failure_beta(30.0, measured=12.0, tolerance=3.0) is False
    assert "paper" in capsys.readouterr().out.lower()
    assert exercises.check_failure_beta(2.0, measured=12.0, tolerance=3.0) is False
