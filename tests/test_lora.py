"""LoRA networks and batched multi-task training: counts, B = 0, equivalence with per-task training."""
from functools import partial

import pytest
import torch

import pinnlab
from pinnlab import exercises
from pinnlab.models import MLP, LoRAMLP
from pinnlab.multitask import fit_tasks, stack_pdes, stack_points, task_loss_terms
from pinnlab.pdes import Burgers1D, Burgers2D, Helmholtz, Kovasznay, grf
from pinnlab.train import fit, loss_terms, sample_points


@pytest.fixture
def cfg64():
    threads = torch.get_num_threads()
    cfg = pinnlab.setup("quick", seed=0, device="cpu", dtype="float64", progress=False)
    torch.set_num_threads(1)  # these networks are tiny: one thread is fastest (and kind to a shared machine)
    yield cfg
    torch.set_num_threads(threads)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- LoRAMLP
@pytest.mark.parametrize("widths", [[2, 64, 64, 64, 64, 64, 64, 1], [3, 64, 64, 64, 64, 64, 64, 2], [2, 7, 5, 3]])
@pytest.mark.parametrize("rank", [1, 4, 64])
def test_lora_count_formula(widths, rank):
    base = MLP(widths)
    expected = rank * sum(a + b for a, b in zip(widths[:-1], widths[1:]))
    assert LoRAMLP(base, rank).count_trainable() == expected == LoRAMLP.param_count_formula(widths, rank)
    stacked = LoRAMLP(base, rank, n_tasks=5)
    assert stacked.count_trainable() == expected and stacked.count_params() == 5 * expected
    assert sum(b.numel() for b in stacked.buffers()) == base.count_params()  # W0, b0: frozen, shared


def test_paper_counts_need_six_hidden_layers_for_pinns_and_five_for_lora():
    six, five = [2, *[64] * 6, 1], [2, *[64] * 5, 1]
    assert MLP(six).count_params() == 21057  # Paper A, 1D Burgers PINN
    assert LoRAMLP.param_count_formula(five, 1) == 643  # Paper A, 1D Burgers L-PINN rank 1
    assert LoRAMLP.param_count_formula(six, 1) == 771  # what the six-layer base really has


def test_lora_with_zero_B_reproduces_the_base():
    base = MLP([3, 32, 32, 2], generator=_gen(0)).double()
    x = torch.rand(50, 3, dtype=torch.float64)
    spec = Burgers2D(1e-3).spec
    for lora in (LoRAMLP(base, 4), LoRAMLP(base, 4, n_tasks=3)):
        assert all(torch.all(B == 0) for B in lora.B) and any(torch.any(A != 0) for A in lora.A)
        out, jet = lora(x), lora.jet(x, spec)
        ref, rjet = base(x), base.jet(x, spec)
        assert torch.allclose(out.reshape(-1, 50, 2)[0], ref, rtol=1e-13, atol=1e-14)  # to round-off
        assert torch.allclose(jet.lap.reshape(-1, 50, 2)[-1], rjet.lap, rtol=1e-13, atol=1e-14)  # u_xx + u_yy
    # buffers are frozen: only A and B train
    names = {k for k, p in LoRAMLP(base, 2).named_parameters()}
    assert all(k.startswith(("A.", "B.")) for k in names)


def test_lora_layers_are_w0_plus_ba_and_tasks_split():
    base = MLP([2, 8, 1], generator=_gen(1)).double()
    lora = LoRAMLP(base, 2, n_tasks=3, generator=_gen(2)).double()
    with torch.no_grad():
        for B in lora.B:
            B.normal_(generator=_gen(3))
    (W, b), (W0, b0) = lora.layers()[0], base.layers()[0]
    assert W.shape == (3, 8, 2) and torch.allclose(W[1], W0 + lora.B[0][1] @ lora.A[0][1]) and torch.equal(b, b0)
    x = torch.rand(10, 2, dtype=torch.float64)
    assert torch.allclose(lora(x)[2], lora.task(2)(x)) and torch.allclose(lora.merged()(x), lora(x))
    with pytest.raises(ValueError, match="rank"):
        LoRAMLP(base, 0)
    with pytest.raises(ValueError, match="single-task"):
        LoRAMLP(MLP([2, 4, 1], n_tasks=2), 1)


# ----------------------------------------------------------------------------- stacking
def test_stacked_pde_residual_matches_each_task():
    for pdes in ([Kovasznay(25.0), Kovasznay(90.0)], [Burgers2D(1e-4), Burgers2D(8e-4), Burgers2D(3e-4)],
                 [Burgers1D(u0) for u0 in grf(2, 32, seed=1)], [Helmholtz(2.0, 2.0), Helmholtz(2.5, 2.5)]):
        sp = stack_pdes(pdes, dtype=torch.float64)
        pts = stack_points([sample_points(p, 20, 8, 8, _gen(i), torch.float64) for i, p in enumerate(pdes)])
        net = MLP([pdes[0].dim, 16, len(pdes[0].outputs)], n_tasks=len(pdes), generator=_gen(0)).double()
        terms = task_loss_terms(net, sp, pts)
        for i, p in enumerate(pdes):
            single = loss_terms(net.task(i), p, type(pts)(
                pts.collocation[i], None if pts.ic is None else (pts.ic[0][i], pts.ic[1][i]),
                None if pts.bc is None else (pts.bc[0][i], None if pts.bc[1] is None else pts.bc[1][i])))
            for k, v in single.items():
                assert torch.allclose(terms[k][i], v, rtol=1e-12), (p, k)


def test_stack_pdes_refuses_what_it_cannot_batch():
    class Broken(Kovasznay):  # residual uses a derived attribute that stacking does not update
        def residual_from_jet(self, jet, points):
            return super().residual_from_jet(jet, points) * self.lam

    with pytest.raises(ValueError, match="changed the residual"):
        stack_pdes([Broken(30.0), Broken(60.0)])
    with pytest.raises(ValueError, match="same PDE family"):
        stack_pdes([Kovasznay(30.0), Burgers2D(1e-3)])


# ----------------------------------------------------------------------------- fit_tasks
def _kov_setup(n_tasks, seed=0):
    pdes = [Kovasznay(Re) for Re in (30.0, 80.0, 50.0)[:n_tasks]]
    pts = [sample_points(p, 48, 0, 24, _gen(seed + i), torch.float64) for i, p in enumerate(pdes)]
    val = [sample_points(p, 48, 0, 24, _gen(seed + 10 + i), torch.float64) for i, p in enumerate(pdes)]
    return pdes, pts, val


@pytest.mark.parametrize("kind", ["lora", "mlp"])
def test_batched_training_equals_per_task_training(cfg64, kind):
    pdes, pts, val = _kov_setup(2)
    base = MLP([2, 12, 12, 3], generator=_gen(0)).double()
    stacked = (LoRAMLP(base, 2, n_tasks=2, generator=_gen(1)) if kind == "lora"
               else MLP([2, 12, 12, 3], n_tasks=2, generator=_gen(1))).double()
    singles = [stacked.task(i).double() for i in range(2)]
    kw = dict(epochs=12, lr=1e-2, decay_every=5, patience=None, val_every=4, log_every=1)
    res = fit_tasks(stacked, pdes, cfg64, points=pts, val_points=val, **kw)
    for i in range(2):
        ref = fit(singles[i], pdes[i], cfg64, points=pts[i], val_points=val[i], **kw)
        for a, b in zip(stacked.parameters(), singles[i].parameters()):
            assert torch.allclose(a[i], b, rtol=1e-10, atol=1e-12)
        assert res.histories[i]["loss"] == pytest.approx(ref.history["loss"], rel=1e-10)
        assert res.histories[i]["lr"] == pytest.approx(ref.history["lr"])
        assert res.histories[i]["val_loss"] == pytest.approx(ref.history["val_loss"], rel=1e-10)


def test_per_task_early_stopping_freezes_a_task(cfg64):
    pdes, pts, val = _kov_setup(3)
    stacked = MLP([2, 8, 8, 3], n_tasks=3, generator=_gen(0)).double()
    singles = [stacked.task(i) for i in range(3)]
    kw = dict(epochs=150, lr=0.02, decay_every=1000, patience=10, val_every=5, log_every=5)
    snaps = {}

    def watch(epoch, terms):
        snaps[epoch] = [p.detach().clone() for p in stacked.parameters()]

    res = fit_tasks(stacked, pdes, cfg64, points=pts, val_points=val, callback=watch, **kw)
    assert "early_stop" in res.status and len(set(res.epochs)) == 3  # each task stops on its own
    first = min(range(3), key=lambda i: res.epochs[i])
    stop = res.epochs[first]
    later = [e for e in snaps if e >= stop]
    assert later, "the run should go on after the first task stopped"
    for e in later:  # the stopped task's slice never moves again
        for a, b in zip(snaps[e], snaps[later[-1]]):
            assert torch.equal(a[first], b[first])
    last = max(range(3), key=lambda i: res.epochs[i])
    assert len(res.histories[first]["loss"]) < len(res.histories[last]["loss"])  # its history ends at its stop
    for i in range(3):  # identical to training the task alone, early stop included
        ref = fit(singles[i], pdes[i], cfg64, points=pts[i], val_points=val[i], **kw)
        assert ref.status == res.status[i] and ref.epochs == res.epochs[i]
        assert ref.best_val == pytest.approx(res.best_val[i], rel=1e-10)
        for a, b in zip(stacked.parameters(), singles[i].parameters()):
            assert torch.allclose(a[i], b, rtol=1e-9, atol=1e-11)


def test_nonfinite_task_stops_alone_and_resume(cfg64, tmp_path, killed_at):
    pdes, pts, val = _kov_setup(2)
    model = MLP([2, 12, 3], n_tasks=2, generator=_gen(0)).double()

    def poison(epoch, terms):
        if epoch == 20:
            with torch.no_grad():
                model.weights[0][1, 0, 0] = float("nan")

    with pytest.warns(RuntimeWarning, match="non-finite"):
        res = fit_tasks(model, pdes, cfg64, points=pts, val_points=val, epochs=60, patience=None, val_every=10,
                        log_every=10, callback=poison)
    assert res.status == ["max_epochs", "nonfinite"] and res.epochs == [60, 21]
    assert all(torch.isfinite(p).all() for p in model.parameters())

    # a killed run resumes from its checkpoint and ends where an uninterrupted one does
    kw = dict(points=pts, val_points=val, epochs=50, patience=None, val_every=10, log_every=5, lbfgs_iters=5)
    ref = MLP([2, 12, 3], n_tasks=2, generator=_gen(4)).double()
    fit_tasks(ref, pdes, cfg64, **kw)
    model = MLP([2, 12, 3], n_tasks=2, generator=_gen(4)).double()
    ckpt = tmp_path / "tasks.pt"
    killed_at(partial(fit_tasks, model, pdes, cfg64, checkpoint=ckpt, checkpoint_every=10, **kw), 35)
    resumed = MLP([2, 12, 3], n_tasks=2, generator=_gen(9)).double()
    res = fit_tasks(resumed, pdes, cfg64, checkpoint=ckpt, checkpoint_every=10, **kw)
    assert res.loop_epochs == 50 and res.lbfgs["loss"]
    for a, b in zip(ref.parameters(), resumed.parameters()):
        assert torch.allclose(a, b, atol=1e-10)


def test_fit_tasks_rejects_mismatched_models(cfg64):
    pdes, pts, val = _kov_setup(2)
    with pytest.raises(ValueError, match="n_tasks"):
        fit_tasks(MLP([2, 8, 3], n_tasks=3), pdes, cfg64, epochs=1, points=pts)
    with pytest.raises(ValueError, match="unknown loss terms"):
        fit_tasks(MLP([2, 8, 3], n_tasks=2), pdes, cfg64, epochs=1, points=pts, weights={"physics": 1.0})


def test_lora_loss_falls_from_a_base(cfg64):
    pdes, pts, val = _kov_setup(2)
    base = MLP([2, 16, 16, 3], generator=_gen(0)).double()
    fit(base, Kovasznay(60.0), cfg64, epochs=150, lr=1e-2, patience=None, n_points={"collocation": 64, "bc": 32})
    lora = LoRAMLP(base, 2, n_tasks=2, generator=_gen(1)).double()
    res = fit_tasks(lora, pdes, cfg64, points=pts, val_points=val, epochs=150, lr=1e-2, patience=None)
    for h, final in zip(res.histories, res.final_loss):
        assert final < 0.85 * h["loss"][0]


# ----------------------------------------------------------------------------- exercises
def test_check_lora_param_count(capsys):
    def right(widths, rank):
        return rank * sum(a + b for a, b in zip(widths[:-1], widths[1:]))

    assert exercises.check_lora_param_count(right) is True
    assert exercises.check_lora_param_count(...) is None
    wrong = {
        "forgot": lambda w, r: r * sum(a + b for a, b in zip(w[1:-1], w[2:])),
        "bias": lambda w, r: right(w, r) + sum(w[1:]),
        "d_in · d_out": lambda w, r: r * sum(a * b for a, b in zip(w[:-1], w[1:])),
    }
    for word, fn in wrong.items():
        capsys.readouterr()
        assert exercises.check_lora_param_count(fn) is False
        assert word in capsys.readouterr().out


def test_check_lora_forward(capsys):
    def right(x, W0, b0, A, B):
        return x @ W0.T + (x @ A.T) @ B.T + b0

    assert exercises.check_lora_forward(right) is True
    assert exercises.check_lora_forward(...) is None
    wrong = {
        "W0": lambda x, W0, b0, A, B: (x @ A.T) @ B.T + b0,
        "bias": lambda x, W0, b0, A, B: x @ W0.T + (x @ A.T) @ B.T,
        "transpose": lambda x, W0, b0, A, B: x @ W0.T + x @ (B @ A) + b0,
        "swapped": lambda x, W0, b0, A, B: x @ W0.T + (x @ B) @ A + b0,
        "x @ W0.T, not": lambda x, W0, b0, A, B: x @ W0 + (x @ A.T) @ B.T + b0,
    }
    for word, fn in wrong.items():
        capsys.readouterr()
        assert exercises.check_lora_forward(fn) is False
        assert word in capsys.readouterr().out, word
