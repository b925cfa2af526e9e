"""The fast engine paths give the same numbers as the plain ones (no timing here: see benchmarks/).

* the fused eager jet (custom autograd Functions with hand-written backward) against the
  op-by-op jet, values and parameter gradients, in float64, for single networks, stacked
  tasks with their own or shared points, shared weights or biases (LoRA), both activations
  and several derivative specs;
* the inference forward (in-place numpy tanh) against the autograd forward;
* ``torch.compile`` of a loss against eager to float32 round-off (skipped when slow).
"""
import os
import time

import pytest
import torch

from pinnlab import engine
from pinnlab.engine import DerivSpec, mlp_forward, mlp_jet
from pinnlab.models import MLP

SPECS = {
    "kovasznay": DerivSpec((0, 1), (0, 1)),
    "burgers": DerivSpec((0, 1), (0,)),
    "burgers2d": DerivSpec((0, 1, 2), (0, 1)),
    "second_only_y": DerivSpec((1, 0), (0,)),  # second derivative of the 2nd listed first derivative
    "first_only": DerivSpec((1,), ()),
    "laplacian": DerivSpec((0, 1), (), (0, 1)),
    "laplacian_xy_of_xyt": DerivSpec((0, 1, 2), (2,), (1, 0)),
    "second_and_laplacian": DerivSpec((0, 1), (0, 1), (0, 1)),  # a first derivative feeds two blocks
    "values": DerivSpec(),
}


def _layers(widths, T=None, shared_bias=False, shared_w=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        lead = () if T is None or shared_w else (T,)
        W = torch.randn(*lead, d_out, d_in, generator=g, dtype=torch.float64) * (1.5 / d_in) ** 0.5
        b = torch.randn(*(() if T is None or shared_bias else (T,)), d_out, generator=g, dtype=torch.float64) * 0.3
        out.append((W.requires_grad_(), b.requires_grad_()))
    return out


def _loss(jet, spec):
    """A loss that weights every jet entry differently, so every gradient path is exercised."""
    g = torch.Generator().manual_seed(7)
    total = (jet.u * torch.rand(jet.u.shape, generator=g, dtype=jet.u.dtype)).sum() + jet.u.pow(2).sum()
    for d in (jet.d1, jet.d2, {"lap": jet.lap} if jet.lap is not None else {}):
        for v in d.values():
            total = total + (v * torch.rand(v.shape, generator=g, dtype=v.dtype)).sum() + 0.5 * v.pow(2).sum()
    return total


def _compare(layers, x, spec, activation):
    params = [p for wb in layers for p in wb] + ([x] if x.requires_grad else [])
    fused = engine._mlp_jet_fused(layers, x, spec, activation)
    ops = engine._mlp_jet_ops(layers, x, spec, activation)
    pairs = [(fused.u, ops.u)] + [(fused.d1[i], ops.d1[i]) for i in spec.first] + \
        [(fused.d2[i], ops.d2[i]) for i in spec.second]
    assert (fused.lap is None) == (ops.lap is None) == (not spec.laplacian)
    if spec.laplacian:
        pairs.append((fused.lap, ops.lap))
    for a, b in pairs:
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    gf = torch.autograd.grad(_loss(fused, spec), params)
    go = torch.autograd.grad(_loss(ops, spec), params)
    for a, b in zip(gf, go):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("spec", list(SPECS), ids=str)
@pytest.mark.parametrize("activation", ["tanh", "sin"])
def test_fused_single_task_matches_ops(spec, activation):
    spec = SPECS[spec]
    d = 1 + max((*spec.first, 1))
    layers = _layers([d, 9, 7, 8, 2])
    x = torch.rand(13, d, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    _compare(layers, x, spec, activation)


@pytest.mark.parametrize("spec", ["laplacian", "laplacian_xy_of_xyt", "second_and_laplacian"])
def test_laplacian_block_matches_autograd(spec):
    """The Laplacian block equals the sum of the pure second derivatives of nested autograd."""
    spec = SPECS[spec]
    d = 1 + max(spec.first)
    net = MLP([d, 12, 12, 2], generator=torch.Generator().manual_seed(5)).double()
    x = torch.rand(20, d, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    ref = engine.jet_autograd(net, x, DerivSpec(spec.first, tuple(sorted(set(spec.second) | set(spec.laplacian)))))
    for jet in (net.jet(x, spec), engine.jet_autograd(net, x, spec)):
        torch.testing.assert_close(jet.lap, sum(ref.d2[i] for i in spec.laplacian), rtol=1e-10, atol=1e-10)
        for i in spec.second:
            torch.testing.assert_close(jet.d2[i], ref.d2[i], rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="Laplacian"):
        DerivSpec((0,), (), (0, 1))


@pytest.mark.parametrize("case", ["own_points", "shared_points", "shared_bias", "shared_weights", "input_grad"])
@pytest.mark.parametrize("activation", ["tanh", "sin"])
@pytest.mark.parametrize("batched", [False, True], ids=["task_by_task", "all_at_once"])
def test_fused_stacked_tasks_match_ops(case, activation, batched, monkeypatch):
    """Stacked tasks, run one after another (CPU) or all at once (the GPU mode, forced here)."""
    if batched:
        monkeypatch.setattr(engine, "_one_task_at_a_time", lambda x: False)
    spec, T = SPECS["second_and_laplacian" if case == "own_points" else "kovasznay"], 3
    layers = _layers([2, 6, 5, 5, 3], T=T, shared_bias=case == "shared_bias", shared_w=case == "shared_weights")
    g = torch.Generator().manual_seed(2)
    x = torch.rand(11, 2, dtype=torch.float64, generator=g) if case == "shared_points" else \
        torch.rand(T, 11, 2, dtype=torch.float64, generator=g)
    if case == "input_grad":
        x.requires_grad_(True)
    _compare(layers, x, spec, activation)


def test_fused_two_layer_net_and_frozen_weights():
    spec = SPECS["burgers"]
    layers = _layers([2, 5, 1])  # input layer straight into the output layer
    x = torch.rand(9, 2, dtype=torch.float64)
    _compare(layers, x, spec, "tanh")
    frozen = [(W.detach(), b.detach()) for W, b in _layers([2, 6, 6, 1])]  # nothing needs a gradient
    jet = engine._mlp_jet_fused(frozen, x, spec, "tanh")
    ref = engine._mlp_jet_ops(frozen, x, spec, "tanh")
    torch.testing.assert_close(jet.d2[0], ref.d2[0], rtol=1e-12, atol=1e-12)


def test_fused_float32_close_to_float64():
    layers = _layers([2, 64, 64, 64, 3])
    x = torch.rand(500, 2, dtype=torch.float64)
    spec = SPECS["kovasznay"]
    ref = engine._mlp_jet_ops(layers, x, spec, "tanh")
    l32 = [(W.detach().float(), b.detach().float()) for W, b in layers]
    jet = mlp_jet(l32, x.float(), spec)
    for a, b in [(jet.u, ref.u), (jet.d1[1], ref.d1[1]), (jet.d2[0], ref.d2[0])]:
        assert (a.double() - b).abs().max() <= 1e-5 * (1 + b.abs().max())


@pytest.mark.parametrize("stacked", [False, True])
def test_fused_double_backward_matches_ops(stacked):
    """Gradients of gradients (second-order meta-learning) through the fused path are exact."""
    T = 2 if stacked else None
    layers = _layers([2, 6, 6, 1], T=T)
    x = torch.rand(*(() if T is None else (T,)), 7, 2, dtype=torch.float64)
    spec = SPECS["burgers"]
    params = [p for wb in layers for p in wb]
    out = []
    for path in (engine._mlp_jet_fused, engine._mlp_jet_ops):
        jet = path(layers, x, spec, "tanh")
        loss = (jet.d2[0] - jet.u * jet.d1[1]).pow(2).sum()
        g = torch.autograd.grad(loss, params, create_graph=True)
        out.append(torch.autograd.grad(sum((gi * gi).sum() for gi in g), params))
    for a, b in zip(*out):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("stacked", [False, True])
def test_inference_forward_matches_autograd_forward(stacked):
    net = MLP([2, 32, 32, 3], n_tasks=4 if stacked else None, generator=torch.Generator().manual_seed(3))
    x = torch.rand(4, 50, 2) if stacked else torch.rand(50, 2)
    with_grad = net(x)
    with torch.no_grad():
        without = net(x)
    torch.testing.assert_close(without, with_grad.detach(), rtol=1e-6, atol=1e-6)
    sin = [(W.detach(), b.detach()) for W, b in net.layers()]
    with torch.no_grad():
        torch.testing.assert_close(mlp_forward(sin, x, "sin"), mlp_forward(net.layers(), x, "sin").detach())


def _kovasznay_loss():
    from pinnlab.pdes import Kovasznay
    from pinnlab.train import loss_terms, sample_points, total_loss

    pde = Kovasznay(40.0)
    g = torch.Generator().manual_seed(4)
    pts = sample_points(pde, 64, 0, 16, g)
    net = MLP([2, 16, 16, 3], generator=g)
    return net, lambda: total_loss(loss_terms(net, pde, pts), {})


def _check_compiled(backend: str, limit_s: float):
    net, loss_fn = _kovasznay_loss()
    eager = loss_fn()
    ge = torch.autograd.grad(eager, list(net.parameters()))
    t0 = time.perf_counter()
    try:
        lc = torch.compile(loss_fn, backend=backend)()
    except Exception as err:  # a compiler toolchain problem is not an engine bug
        pytest.skip(f"torch.compile unavailable here: {type(err).__name__}: {err}")
    gc = torch.autograd.grad(lc, list(net.parameters()))
    if time.perf_counter() - t0 > limit_s:
        pytest.skip(f"torch.compile took over {limit_s:.0f} s on this machine")
    torch.testing.assert_close(lc, eager, rtol=1e-5, atol=1e-6)
    for a, b in zip(gc, ge):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_traced_loss_takes_op_path_and_matches_eager():
    """Under ``torch.compile`` tracing (``aot_eager``: no code generation, seconds) the jet takes
    the op-by-op path, and forward and backward agree with the fused eager path."""
    torch._dynamo.reset()
    _check_compiled("aot_eager", limit_s=1e9)


@pytest.mark.skipif(os.environ.get("PINNLAB_SKIP_COMPILE") == "1", reason="PINNLAB_SKIP_COMPILE=1")
def test_inductor_loss_matches_eager():
    """Inductor-generated code agrees with eager to float32 round-off. Skipped where code
    generation is slow: a one-kernel probe taking over 5 s predicts a compile well over 30 s."""
    torch._dynamo.reset()
    t0 = time.perf_counter()
    try:
        torch.compile(lambda v: torch.tanh(v) * 2.0 + 1.0)(torch.rand(8))
    except Exception as err:
        pytest.skip(f"torch.compile unavailable here: {type(err).__name__}: {err}")
    if time.perf_counter() - t0 > 5:
        pytest.skip("torch.compile is slow on this machine (one-kernel probe over 5 s)")
    _check_compiled("inductor", limit_s=30)


@pytest.mark.parametrize("T,shared_x", [(None, False), (4, False), (4, True)])
def test_auto_method_matches_the_engine_for_first_order_single_output(T, shared_x):
    """``mlp_jet(method="auto")`` takes nested autograd for a one-output, first-order residual
    (convection): the same values and parameter gradients as the engine, to float64 round-off;
    with shared points under stacked weights it must keep the engine (tasks would mix)."""
    layers = _layers([2, 12, 12, 1], T=T)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(*(() if T is None or shared_x else (T,)), 9, 2, generator=g, dtype=torch.float64)
    spec = DerivSpec((0, 1))
    params = [p for lw in layers for p in lw]
    got = {}
    for method in ("forward", "auto", "autograd"):
        if method == "autograd" and shared_x:
            with pytest.raises(ValueError, match="u_fn must return"):
                mlp_jet(layers, x, spec, method=method)
            continue
        jet = mlp_jet(layers, x, spec, method=method)
        loss = (jet.u ** 2).sum() + (jet.d1[0] * jet.d1[1]).sum() + jet.d1[1].pow(2).sum()
        got[method] = (jet, torch.autograd.grad(loss, params))
    ref_jet, ref_grads = got.pop("forward")
    for jet, grads in got.values():
        for i in (0, 1):
            torch.testing.assert_close(jet.d1[i], ref_jet.d1[i], rtol=1e-12, atol=1e-12)
        for a, b in zip(grads, ref_grads):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert engine._autograd_is_faster(layers, x, spec) is not shared_x
    with torch.no_grad():
        assert not engine._autograd_is_faster(layers, x, spec)
    assert not engine._autograd_is_faster(layers, x, DerivSpec((0, 1), (0,)))  # second derivatives: engine
    with pytest.raises(ValueError, match="auto, forward, autograd"):
        mlp_jet(layers, x, spec, method="fast")
