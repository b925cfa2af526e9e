"""Hypernetworks (Paper A, B1–B4): layout, start at the base network, batched losses, training, checks, panels."""
import math

import numpy as np
import pytest
import torch

import pinnlab
from pinnlab import exercises, hyper as H, widgets
from pinnlab.experiments.hyper_benchmarks import HyperBenchmark, key_label, method_keys, parse_key, settings
from pinnlab.models import MLP, GeneratedMLP, HyperNet, LoRAMLP
from pinnlab.multitask import stack_pdes
from pinnlab.pdes import Burgers1D, Burgers2D, Kovasznay, grf
from pinnlab.train import loss_terms, sample_points


@pytest.fixture
def cfg():
    threads = torch.get_num_threads()
    c = pinnlab.setup("quick", seed=0, device="cpu", dtype="float64", progress=False)
    torch.set_num_threads(1)
    yield c
    torch.set_num_threads(threads)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- HyperNet
@pytest.mark.parametrize("rank", [1, 4, "*"])
@pytest.mark.parametrize("n_in,widths", [(1, [2, 16, 16, 3]), (128, [2, 16, 16, 16, 1]), (1, [3, 8, 2])])
def test_hypernet_shapes_and_start_at_base(rank, n_in, widths):
    base = MLP(widths, generator=_gen(0)).double()
    hyper = HyperNet(n_in, base, rank, hidden=(32, 16), generator=_gen(1)).double()
    maps = list(zip(widths[:-1], widths[1:]))
    expected = sum((a + 1) * b for a, b in maps) if rank == "*" else rank * sum(a + b for a, b in maps)
    assert hyper.n_out == expected == HyperNet.output_size(widths, rank)
    z = torch.randn(5, n_in, generator=_gen(2), dtype=torch.float64)
    assert hyper(z).shape == (5, expected)
    layers = hyper.layers(z)
    assert [tuple(W.shape) for W, _ in layers] == [(5, b, a) for a, b in maps]
    x = torch.rand(50, widths[0], dtype=torch.float64)
    out = hyper.generate(z)(x)
    assert out.shape == (5, 50, widths[-1])
    assert torch.allclose(out, base(x).expand_as(out), atol=1e-12)  # every task starts as the base network


def test_hypernet_rejects_bad_input():
    base = MLP([2, 8, 1])
    with pytest.raises(ValueError, match="rank"):
        HyperNet(1, base, 0)
    with pytest.raises(ValueError, match="rank"):
        HyperNet(1, base, "all")
    with pytest.raises(ValueError, match="single-task"):
        HyperNet(1, MLP([2, 8, 1], n_tasks=2), 2)
    hyper = HyperNet(3, base, 2, hidden=(8,))
    with pytest.raises(ValueError, match=r"\[T, 3\]"):
        hyper(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="flat outputs"):
        hyper.split(torch.zeros(4, 5))
    with pytest.raises(ValueError, match="task-stacked"):
        GeneratedMLP(base.layers())


def test_split_matches_flatten_lora_layout():
    base = MLP([2, 9, 7, 3], generator=_gen(0)).double()
    lora = LoRAMLP(base, 3, n_tasks=4, generator=_gen(1)).double()
    with torch.no_grad():
        for B in lora.B:
            B.normal_(generator=_gen(2))
    flat = H.flatten_lora(lora)
    hyper = HyperNet(1, base, 3, hidden=(4,)).double()
    for (B, A), Bm, Am in zip(hyper.split(flat), lora.B, lora.A):
        assert torch.equal(B, Bm) and torch.equal(A, Am)
    # the same factors through HyperNet.layers' merge give LoRAMLP's weights
    merged = [torch.baddbmm(W0.expand(4, -1, -1), B, A) for (W0, _), (B, A) in zip(hyper.frozen(), hyper.split(flat))]
    for W, (Wl, _) in zip(merged, lora.layers()):
        assert torch.allclose(W, Wl, atol=1e-12)
    star = MLP([2, 9, 7, 3], n_tasks=4, generator=_gen(3)).double()
    hstar = HyperNet(1, base, "*", hidden=(4,)).double()
    for (W, b), (Ws, bs) in zip(hstar.split(H.flatten_mlp(star)), star.layers()):
        assert torch.equal(W, Ws) and torch.equal(b, bs)


def test_task_vectors_and_normalizer():
    assert H.task_vector(Kovasznay(40.0)).tolist() == [40.0]
    assert H.task_vector(Burgers2D(3e-4)).tolist() == [3e-4]
    u0 = grf(1, 128, seed=1)[0]
    assert torch.equal(H.task_vector(Burgers1D(u0)), torch.tensor(u0))
    with pytest.raises(ValueError, match="allowed"):
        H.task_vector(pinnlab.pdes.Helmholtz())
    Z = H.task_matrix([Kovasznay(r) for r in (20.0, 60.0, 100.0)])
    shift, scale = H.normalizer(Z)
    assert shift.item() == pytest.approx(60.0) and scale.item() > 0
    Z = H.task_matrix([Burgers1D(u) for u in grf(3, 128, seed=2)])
    shift, scale = H.normalizer(Z)
    assert shift.shape == scale.shape == (1,)


def test_lr_schedule_is_paper_a():
    lrs = [H.lr_at(e, 1e-3, 5000, 3000) for e in (0, 4999, 5000, 7999, 8000, 14999)]
    assert lrs == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-7])  # 14000–14999: 4th decay


# ----------------------------------------------------------------------------- losses and training
def _sets(cfg, pdes_tr, pdes_va, n):
    def pts(ps, off):
        return [sample_points(p, n[0], n[1], n[2], cfg.generator(off + i), cfg.dtype) for i, p in enumerate(ps)]
    return H.make_task_set(pdes_tr, pts(pdes_tr, 10), cfg), H.make_task_set(pdes_va, pts(pdes_va, 50), cfg)


def test_b4_loss_is_each_tasks_own_physics_loss(cfg):
    base = MLP([2, 12, 12, 3], generator=_gen(0)).double()
    hyper = HyperNet(1, base, 2, hidden=(16,), shift=60.0, scale=40.0, generator=_gen(1)).double()
    with torch.no_grad():  # move away from the base so the tasks differ
        hyper.net.weights[-1].normal_(std=0.05, generator=_gen(2))
    pdes = [Kovasznay(r) for r in (25.0, 55.0, 90.0)]
    tr, _ = _sets(cfg, pdes, pdes[:1], (40, 0, 16))
    got = H.per_task_loss("B4", hyper, tr, stack_pdes(pdes, dtype=torch.float64))
    gen = hyper.generate(tr.z)
    for i, p in enumerate(pdes):
        single = MLP([2, 12, 12, 3]).double()
        with torch.no_grad():
            for k, (W, b) in enumerate(gen.layers()):
                single.weights[k].copy_(W[i])
                single.biases[k].copy_(b)
        pts = pinnlab.train.Points(tr.points.collocation[i], None, (tr.points.bc[0][i], tr.points.bc[1][i]))
        want = sum(loss_terms(single, p, pts).values())
        assert got[i].item() == pytest.approx(want.item(), rel=1e-10)


@pytest.mark.parametrize("method", ["B1", "B2", "B3", "B4"])
def test_every_benchmark_lowers_its_loss(cfg, method, tmp_path):
    base = MLP([2, 12, 12, 1], generator=_gen(0)).double()
    u0s = grf(5, 16, seed=3)
    pdes = [Burgers1D(u, nu=0.05) for u in u0s]
    tr, va = _sets(cfg, pdes[:3], pdes[3:], (60, 16, 8))
    pinns = LoRAMLP(base, 2, n_tasks=5, generator=_gen(4)).double()
    with torch.no_grad():
        for B in pinns.B:
            B.normal_(std=0.1, generator=_gen(5))
    for ts, sl in ((tr, slice(0, 3)), (va, slice(3, 5))):
        sub = LoRAMLP(base, 2, n_tasks=sl.stop - sl.start).double()
        sub.load_state_dict({k: (v[sl] if k.startswith(("A.", "B.")) else v) for k, v in pinns.state_dict().items()})
        H.attach_pinns(ts, sub)
    shift, scale = H.normalizer(tr.z)
    hyper = HyperNet(16, base, 2, hidden=(24, 24), shift=shift, scale=scale, generator=_gen(6)).double()
    res = H.fit_hyper(method, hyper, tr, va, cfg, epochs=40, lr=3e-3, first_decay=30, decay_every=10, val_every=10,
                      log_every=5, checkpoint=tmp_path / "h.ckpt", checkpoint_every=20)
    assert res.epochs == 40 and res.status == "max_epochs"
    assert res.final_loss < res.first_loss, (method, res.first_loss, res.final_loss)
    assert math.isfinite(res.best_val) and res.s_per_epoch > 0
    # a finished checkpoint reloads without training again
    again = HyperNet(16, base, 2, hidden=(24, 24), shift=shift, scale=scale, generator=_gen(7)).double()
    res2 = H.fit_hyper(method, again, tr, va, cfg, epochs=40, lr=3e-3, first_decay=30, decay_every=10,
                       val_every=10, log_every=5, checkpoint=tmp_path / "h.ckpt", checkpoint_every=20)
    assert res2.epochs == 40 and res2.best_val == res.best_val
    with pytest.raises(ValueError, match="allowed"):
        H.fit_hyper("B5", hyper, tr, va, cfg, epochs=1)


def test_b2_and_b3_need_trained_pinns(cfg):
    base = MLP([2, 8, 3]).double()
    pdes = [Kovasznay(30.0), Kovasznay(70.0)]
    tr, _ = _sets(cfg, pdes, pdes, (20, 0, 8))
    hyper = HyperNet(1, base, 1, hidden=(8,)).double()
    for m in ("B2", "B3"):
        with pytest.raises(ValueError, match="attach_pinns"):
            H.per_task_loss(m, hyper, tr)


def test_inference_timing_and_prediction(cfg):
    base = MLP([2, 16, 16, 3], generator=_gen(0)).double()
    hyper = HyperNet(1, base, 4, hidden=(16,), shift=60.0, scale=40.0).double()
    grid = Kovasznay(50.0).grid(21)[0]
    t = H.time_inference(hyper, torch.tensor([50.0], dtype=torch.float64), grid, repeats=3, warmup=1)
    assert t["median_ms"] > 0 and t["points"] == 441
    out = H.predict(hyper, torch.tensor([[50.0], [70.0]], dtype=torch.float64), grid)
    assert out.shape == (2, 441, 3) and torch.allclose(out[0], base(grid), atol=1e-12)


# ----------------------------------------------------------------------------- experiment helpers
def test_settings_and_keys():
    for mode in ("quick", "medium", "full"):
        s = settings(pinnlab.Config(mode=mode))
        keys = method_keys(s)
        assert keys[:3] == ["B1_r4", "B2_r4", "B3_r4"] and keys[-1] == "B4_r*"
    full = settings(pinnlab.Config(mode="full"))
    assert full["splits"]["burgers1d"] == (100, 20, 20) and full["splits"]["kovasznay"] == (20, 20, 20)
    assert full["hyper_epochs"] == 15000 and full["ranks_b4"] == (1, 2, 4, 8, "*")
    assert parse_key("B4_r*") == ("B4", "*") and parse_key("B1_r4") == ("B1", 4) and key_label("B4_r*") == "B4 *"


def _tiny_bench(cfg, pde_name="kovasznay"):
    base_pde = Kovasznay(60.0) if pde_name == "kovasznay" else Burgers1D(grf(1, 128, seed=0)[0])
    base = MLP([2, 8, 8, len(base_pde.outputs)], generator=_gen(0)).double()
    n_in = 1 if pde_name == "kovasznay" else 128
    hyper = HyperNet(n_in, base, 4, hidden=(8,), shift=60.0 if n_in == 1 else 0.0, scale=40.0 if n_in == 1 else 1.0,
                     generator=_gen(1)).double()
    with torch.no_grad():
        hyper.net.weights[-1].normal_(std=0.1, generator=_gen(2))
    tests = [Kovasznay(30.0), Kovasznay(80.0)] if pde_name == "kovasznay" else \
        [Burgers1D(u) for u in grf(2, 128, seed=4)]
    return HyperBenchmark(cfg, pde_name, base_pde, {"train": [], "valid": [], "test": tests}, base,
                          {"B4_r4": hyper}, {}, {}, {})


def test_panels_recompute_on_slider_moves(cfg):
    bench = _tiny_bench(cfg)
    p = widgets.hyper_kovasznay_panel(bench)
    first = p.data["pred"].copy()
    p.sliders["Re"].value = 90.0
    assert "Re = 90" in p.data["title"] and not np.allclose(p.data["pred"], first)
    assert p.data["ref"].shape == p.data["pred"].shape == p.data["err"].shape
    b1 = _tiny_bench(cfg, "burgers1d")
    p = widgets.hyper_burgers1d_panel(b1)
    ref = p.data["ref"].copy()
    p.sliders["scale"].value = 1.2
    assert "× 1.20" in p.data["title"] and not np.allclose(p.data["ref"], ref)
    p.sliders["task"].value = 1
    assert "test IC 1" in p.data["title"]


# ----------------------------------------------------------------------------- exercises
def test_check_task_vector(capsys):
    assert exercises.check_task_vector(...) is None
    assert exercises.check_task_vector(H.task_vector) is True

    def nu_for_1d(p):
        return torch.tensor([p.nu]) if not isinstance(p, Kovasznay) else torch.tensor([p.Re])
    assert exercises.check_task_vector(nu_for_1d) is False
    assert "same for every task" in capsys.readouterr().out

    def lam(p):
        return [p.lam] if isinstance(p, Kovasznay) else H.task_vector(p)
    assert exercises.check_task_vector(lam) is False
    assert "λ is computed from Re" in capsys.readouterr().out

    def scalar(p):
        return torch.tensor(p.Re) if isinstance(p, Kovasznay) else H.task_vector(p)
    assert exercises.check_task_vector(scalar) is False
    assert "scalar" in capsys.readouterr().out


def test_check_hyper_split(capsys):
    def right(flat, widths, r):
        T, pos, out = flat.shape[0], 0, []
        for a, b in zip(widths[:-1], widths[1:]):
            B = flat[:, pos:pos + b * r].reshape(T, b, r)
            pos += b * r
            A = flat[:, pos:pos + r * a].reshape(T, r, a)
            pos += r * a
            out.append((B, A))
        return out
    assert exercises.check_hyper_split(...) is None
    assert exercises.check_hyper_split(right) is True
    assert exercises.check_hyper_split(lambda f, w, r: [(A, B) for B, A in right(f, w, r)]) is False
    assert "wrong way round" in capsys.readouterr().out
    assert exercises.check_hyper_split(lambda f, w, r: [(B[0], A[0]) for B, A in right(f, w, r)]) is False
    assert "task axis" in capsys.readouterr().out

    def a_first(flat, widths, r):
        T, pos, out = flat.shape[0], 0, []
        for a, b in zip(widths[:-1], widths[1:]):
            A = flat[:, pos:pos + r * a].reshape(T, r, a)
            pos += r * a
            B = flat[:, pos:pos + b * r].reshape(T, b, r)
            pos += b * r
            out.append((B, A))
        return out
    assert exercises.check_hyper_split(a_first) is False
    assert "B comes first" in capsys.readouterr().out


def test_check_break_even(capsys):
    assert exercises.check_break_even(...) is None
    assert exercises.check_break_even(lambda h, p, i: math.floor(h / (p - i)) + 1) is True
    assert exercises.check_break_even(lambda h, p, i: math.floor(h / p) + 1) is False
    assert "inference is not free" in capsys.readouterr().out
    assert exercises.check_break_even(lambda h, p, i: math.ceil(h / (p - i))) is False
    assert "one task later" in capsys.readouterr().out
    assert exercises.check_break_even(lambda h, p, i: h / (p - i)) is False
    assert "whole number" in capsys.readouterr().out


def test_fit_hyper_resumes_where_it_stopped(cfg, tmp_path):
    """A run killed midway (simulated: a checkpoint written at epoch 20 of 40) continues to the same result."""
    base = MLP([2, 10, 3], generator=_gen(0)).double()
    pdes = [Kovasznay(r) for r in (30.0, 50.0, 80.0, 60.0)]
    tr, va = _sets(cfg, pdes[:3], pdes[3:], (30, 0, 12))
    kw = dict(lr=3e-3, first_decay=30, decay_every=10, val_every=5, log_every=5, checkpoint_every=20)

    def hyper():
        return HyperNet(1, base, 2, hidden=(16,), shift=60.0, scale=40.0, generator=_gen(1)).double()
    straight = hyper()
    r1 = H.fit_hyper("B4", straight, tr, va, cfg, epochs=40, **kw)
    part = hyper()
    H.fit_hyper("B4", part, tr, va, cfg, epochs=20, checkpoint=tmp_path / "k.ckpt", **kw)
    ck = torch.load(tmp_path / "k.ckpt", weights_only=False)
    ck["done"] = False  # as if the process had been killed right after the epoch-20 checkpoint
    torch.save(ck, tmp_path / "k.ckpt")
    resumed = hyper()
    r2 = H.fit_hyper("B4", resumed, tr, va, cfg, epochs=40, checkpoint=tmp_path / "k.ckpt", **kw)
    assert r2.epochs == 40 and r2.best_val == pytest.approx(r1.best_val, rel=1e-10)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.allclose(a, b, atol=1e-12)
