"""Seconds per Hyper-LR-PINN Phase-1 epoch: all tasks in one batched pass vs loops over the tasks.

Every variant computes the same loss — for each training β ∈ {30, …, 40}: residual mean
square on N_f collocation points + initial-condition and periodic-boundary mean squares,
averaged over tasks, + the orthogonality penalty — for the same model (hypernetwork + the
three-low-rank-layer network, width 50), then one backward pass and one Adam step.

* ``batched`` (ours, :func:`pinnlab.hyperlr.phase1`): the hypernetwork maps all T values of β
  to diagonals ``[T, 50]``, the weights ``U diag(s_t) Vᵀ`` stack to ``[T, 50, 50]`` and every
  task is evaluated in one forward/backward; the convection residual needs ``u_x, u_t`` of one
  output only, so ``mlp_jet``'s ``"auto"`` rule takes them by nested autograd on the per-task
  points ``[T, N, 2]`` (one backward pass gives both);
* ``batched, forward engine``: the same with the derivatives forced through the forward engine
  (``method="forward"``: value and two tangent row blocks through every layer) — the package's
  choice before it measured this table;
* ``loop-engine``: a Python loop over the tasks, each task a one-task pass of the forward engine
  (the best per-task loop we have): backward per task into accumulated gradients, one step;
* ``loop-autograd``: the same loop with the derivatives from nested ``torch.autograd.grad``
  (how a plain PyTorch PINN computes u_x, u_t);
* ``per-point`` (the formulation of the authors' public code, written here from its
  description): every point carries its own β, the hypernetwork runs per point and each
  point gets its own 50×50 weight matrices (``diag_embed`` + batched matmul over points),
  derivatives by nested autograd, one pass over the points of all tasks.

Timings alternate between the variants (benchlib.interleaved) so that load changes on a
shared machine hit all of them alike; the ratios use the medians. Run:
``python benchmarks/hyperlr_phase1.py [--quick] [--threads N] [--points 1000]``.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
import torch  # noqa: E402

from pinnlab.hyperlr import HyperLRPINN, cdr_points, stack_cdr, task_losses  # noqa: E402
from pinnlab.pdes import CDR  # noqa: E402

BETAS = [float(b) for b in range(30, 41)]


def make(n_points: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    model = HyperLRPINN(generator=g)
    pts = cdr_points(len(BETAS), n_points, 256, 100, generator=g)
    return model, pts


def losses_of_one(model, i, pts, autograd: bool):
    """Task ``i``'s three mean squares: a one-task pass with the forward engine or nested autograd."""
    mu = model.as_mu([BETAS[i]])
    layers = model.layers(mu)  # W [1, 50, 50]
    layers = [(W[0] if W.dim() == 3 else W, b[0] if b.dim() == 2 else b) for W, b in layers]
    one = pts.take(i)  # this task's [N, 2] points: the plain single-network path
    terms = task_losses(layers, CDR(BETAS[i]), one, method="autograd" if autograd else "forward")
    return sum(terms.values())


def per_point_loss(model, pts):
    """The authors' formulation: weights built per point from that point's β, nested autograd."""
    T, N, _ = pts.collocation.shape
    net, hyper = model.net, model.hyper

    def u_of(xt, beta):  # xt [P, 2], beta [P, 1]
        s = hyper(beta)  # [P, 50] per head
        h = torch.tanh(xt @ net.W_first.T + net.b_first).unsqueeze(1)  # [P, 1, 50]
        for U, V, sl, b in zip(net.U, net.V, s, net.hidden_biases()):
            W = U @ torch.diag_embed(sl) @ V.T  # [P, 50, 50]: one matrix per point
            h = torch.tanh(torch.bmm(h, W.transpose(1, 2)) + b)
        return (h @ net.W_last.T + net.b_last).squeeze(1)

    xt = pts.collocation.reshape(T * N, 2).clone().requires_grad_(True)
    beta = torch.tensor(BETAS).repeat_interleave(N).unsqueeze(1)
    u = u_of(xt, beta)
    g = torch.autograd.grad(u.sum(), xt, create_graph=True)[0]
    res = (g[:, 1:2] + beta * g[:, 0:1]).pow(2).mean()
    n0, nb = pts.ic.shape[0], pts.bc.shape[0] // 2
    ib = torch.cat([pts.ic, pts.bc]).repeat(T, 1)
    out = u_of(ib, torch.tensor(BETAS).repeat_interleave(n0 + 2 * nb).unsqueeze(1)).reshape(T, n0 + 2 * nb, 1)
    ic = (out[:, :n0] - pts.ic_values).pow(2).mean()
    bc = (out[:, n0:n0 + nb] - out[:, n0 + nb:]).pow(2).mean()
    return res + ic + bc


def main(argv=None) -> None:
    ap = benchlib.base_parser(__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=1000, help="collocation points per task (paper: 1000)")
    ap.add_argument("--rounds", type=int, default=0, help="timing rounds (default 5, --quick 3)")
    ap.add_argument("--skip-per-point", action="store_true", help="leave out the slow per-point variant")
    args = ap.parse_args(argv)
    info = benchlib.start(args)
    model, pts = benchlib.build(make, args.points)
    with benchlib.device_scope():
        run(args, info, model, pts)


def run(args, info: dict, model, pts) -> None:
    rounds = args.rounds or (3 if args.quick else 5)
    mu = model.as_mu(BETAS)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=2.5e-4)
    T = len(BETAS)

    def batched():
        terms = task_losses(model.layers(mu), stack_cdr(BETAS), pts)
        loss = sum(terms.values()).mean() + model.orthogonality()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def batched_engine():  # the same, derivatives forced through the forward engine
        terms = task_losses(model.layers(mu), stack_cdr(BETAS), pts, method="forward")
        loss = sum(terms.values()).mean() + model.orthogonality()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def loop(autograd: bool):
        def run():
            opt.zero_grad(set_to_none=True)
            for i in range(T):
                (losses_of_one(model, i, pts, autograd) / T).backward()
            model.orthogonality().backward()
            opt.step()
        return run

    def per_point():
        loss = per_point_loss(model, pts) + model.orthogonality()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    fns = {"batched": batched, "batched, forward engine": batched_engine, "loop-engine": loop(False),
           "loop-autograd": loop(True)}
    print(f"Hyper-LR-PINN Phase 1: {T} tasks (β = 30…40), {args.points} collocation + 256 IC + 2×100 BC points "
          f"per task, width 50 — {benchlib.where(info)}")
    res = benchlib.interleaved(fns, rounds=rounds, warmup=1, budget_s=60 if args.quick else 240)
    if not args.skip_per_point:  # separately: its GB-sized per-point weights would slow the others' allocations
        pp = benchlib.interleaved({"batched": batched, "per-point": per_point}, rounds=2 if args.quick else 3,
                                  warmup=1)
        res["per-point"] = pp["per-point"]
        res["batched (beside per-point)"] = pp["batched"]
    base = res["batched"]["median_ms"]
    rows = [{"variant": k, "median_s": v["median_ms"] / 1e3, "min_s": v["min_ms"] / 1e3, "n": v["n"],
             "ratio": v["median_ms"] / base} for k, v in res.items()]
    print(benchlib.table(rows, [("variant", "variant", ""), ("median_s", "s/epoch (median)", ".4f"),
                                ("min_s", "s/epoch (best)", ".4f"), ("n", "runs", "d"),
                                ("ratio", "time / batched", ".1f")]))
    best_loop = min(v["median_ms"] for k, v in res.items() if k.startswith("loop"))
    print(f"batched vs best per-task loop: {best_loop / base:.1f}x faster per epoch")
    if "per-point" in res:
        ratio = res["per-point"]["median_ms"] / res["batched (beside per-point)"]["median_ms"]
        print(f"batched vs per-point (the authors' formulation, timed side by side): {ratio:.1f}x faster per epoch")
    benchlib.write("hyperlr_phase1", {"machine": info, "points": args.points, "tasks": T, "results": res})


if __name__ == "__main__":
    main()
