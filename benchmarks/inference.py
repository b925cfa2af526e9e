"""A new task's solution on a 101 × 101 grid: how long does evaluating it take?

Once a hypernetwork has produced a task's weights, "solving" a new task is one forward
pass of the merged network ``W = W0 + B A`` (rank-4 LoRA on Paper A's Kovasznay base net,
``2-64×6-3``) over the 10 201 grid points. Timed here, without gradients:

* ``merged forward``      — the forward of given merged weights (one task, or 100 tasks stacked
                             ``[100, out, in]`` on the shared grid): :func:`pinnlab.engine.mlp_forward`
* ``bmm layer by layer``  — the same for 100 tasks with one batched matmul + tanh per layer (the
                             naive stacked evaluation, for comparison)
* ``hypernet + merge + forward`` — the whole new-task path: a HyperNet MLP
  ``[1-512-512-256-256-128-128-out]`` (random weights: timing only) maps Re to the rank-4
  factors of every layer (``out`` = 4 · Σ(d_in + d_out) = 3092), ``W0 + B A`` is formed, then
  the merged forward

Columns: median (best) ms, matmul MFLOP (FlopCounterMode), GFLOP/s, % of the matmul peak
measured in the same run. Goals: one task < 5 ms, 100 tasks < 0.5 s.

    python benchmarks/inference.py [--quick] [--threads T]

Writes ``build/bench/inference.json``.
"""
from __future__ import annotations

import benchlib

import torch  # noqa: E402

from pinnlab.engine import mlp_forward  # noqa: E402
from pinnlab.models import MLP  # noqa: E402
from pinnlab.pdes import Kovasznay  # noqa: E402

WIDTHS = [2, *[64] * 6, 3]
RANK = 4


def lora_shapes(widths):
    return [(d_out, d_in) for d_in, d_out in zip(widths[:-1], widths[1:])]


def merge(base_layers, factors: torch.Tensor):
    """``W0 + B A`` for every task: ``factors`` ``[T, 4 Σ(d_in + d_out)]`` → layers with ``W`` ``[T, out, in]``."""
    out, k = [], 0
    T = factors.shape[0]
    for (W0, b0), (d_out, d_in) in zip(base_layers, lora_shapes(WIDTHS)):
        B = factors[:, k:k + d_out * RANK].view(T, d_out, RANK)
        k += d_out * RANK
        A = factors[:, k:k + RANK * d_in].view(T, RANK, d_in)
        k += RANK * d_in
        out.append((torch.baddbmm(W0.expand(T, -1, -1), B, A), b0))
    return out


def bmm_layers(layers, x):
    """Naive stacked evaluation: one batched matmul and one tanh per layer over all tasks."""
    h = x.expand(layers[0][0].shape[0], -1, -1)
    for k, (W, b) in enumerate(layers):
        h = torch.baddbmm(b.expand(W.shape[0], 1, -1), h, W.transpose(1, 2))
        if k < len(layers) - 1:
            h = torch.tanh(h)
    return h


def main() -> None:
    ap = benchlib.base_parser(__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=100)
    args = ap.parse_args()
    info = benchlib.start(args)
    with benchlib.device_scope():
        run(args, info)


def run(args, info: dict) -> None:
    g = torch.Generator().manual_seed(0)
    pde = Kovasznay(40.0)
    grid = benchlib.on_device(pde.grid(101)[0].float())  # [10201, 2]
    base = benchlib.build(MLP, WIDTHS, generator=g)
    base_layers = [(W.detach(), b.detach()) for W, b in base.layers()]
    n_out = RANK * sum(a + b for a, b in lora_shapes(WIDTHS))
    hyper = benchlib.build(MLP, [1, 512, 512, 256, 256, 128, 128, n_out], generator=g).requires_grad_(False)
    T = args.tasks
    Re = torch.linspace(20.0, 100.0, T).unsqueeze(1)
    with torch.no_grad():
        factors = hyper((Re - 60.0) / 40.0) * 0.01
        many = merge(base_layers, factors)
        one = [(W[0].contiguous(), b) for W, b in many]

    def new_task(re: torch.Tensor):
        f = hyper((re - 60.0) / 40.0) * 0.01
        return mlp_forward(merge(base_layers, f), grid)

    cases = {
        "1 task: merged forward": lambda: mlp_forward(one, grid),
        "1 task: hypernet + merge + forward": lambda: new_task(Re[:1]),
        f"{T} tasks: merged forward": lambda: mlp_forward(many, grid),
        f"{T} tasks: bmm layer by layer": lambda: bmm_layers(many, grid),
        f"{T} tasks: hypernet + merge + forward": lambda: new_task(Re),
    }
    with torch.no_grad():
        ref = bmm_layers(many, grid)
        got = mlp_forward(many, grid)
        err = (got - ref).abs().max().item()
        flops = {k: benchlib.count_flops(f) for k, f in cases.items()}
        t, peak, peak_cpu, _ = benchlib.time_with_peak(cases, rounds=5 if args.quick else 20, warmup=2,
                                                       budget_s=40 if args.quick else 120)
    rows = benchlib.rate_rows(t, flops, peak, peak_cpu)
    print(f"New-task solution on the 101×101 grid, {WIDTHS[0]}-64x6-{WIDTHS[-1]} merged rank-{RANK} LoRA — "
          f"{benchlib.where(info)}")
    print(benchlib.table(rows, [("case", "case", ""), ("median_ms", "ms", ".2f"), ("min_ms", "best ms", ".2f"),
                                ("cpu_ms", "CPU ms", ".2f"), ("mflop", "MFLOP", ".0f"),
                                ("gflops", "GFLOP/s", ".1f"), ("pct_peak", "% peak", ".0f"),
                                ("pct_peak_cpu", "% peak CPU", ".0f")]))
    one_ms = t["1 task: hypernet + merge + forward"]["median_ms"]
    many_ms = t[f"{T} tasks: hypernet + merge + forward"]["median_ms"]
    print(f"matmul peak in this run: {peak:.1f} GFLOP/s ({peak_cpu:.1f} per CPU-second); per-task forward vs bmm layer by layer: "
          f"{t[f'{T} tasks: bmm layer by layer']['median_ms'] / t[f'{T} tasks: merged forward']['median_ms']:.2f}x "
          f"(max |difference| {err:.1e})")
    print(f"goals: 1 task < 5 ms: {'met' if one_ms < 5 else 'NOT met'} ({one_ms:.2f} ms); "
          f"{T} tasks < 0.5 s: {'met' if many_ms < 500 else 'NOT met'} ({many_ms:.0f} ms)")
    benchlib.write("inference", {"machine": info, "quick": args.quick, "widths": WIDTHS, "rank": RANK,
                                 "grid_points": grid.shape[0], "tasks": T, "peak_gflops": peak, "peak_gflops_cpu": peak_cpu, "rows": rows,
                                 "max_abs_diff_vs_bmm": err})


if __name__ == "__main__":
    main()
