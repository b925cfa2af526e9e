"""A new task's solution from Paper A's LoRA HyperPINN: latency of one task on a 101 × 101 grid.

The whole path of :func:`pinnlab.hyper.predict` for one task — the hypernetwork
``[n_in-512-512-256-256-128-128-n_out]`` (``pinnlab.models.HyperNet``, random weights:
timing only) maps the task vector to LoRA factors, ``W = W0 + B A`` is formed for every
layer of the ``2/3-64×6-m`` base PINN, and the merged PINN is evaluated on 10 201 points —
for each PDE of Paper A (Kovasznay: ``[Re]`` → ``(u, v, p)`` on ``(x, y)``; 2D Burgers: ``[ν]`` →
``(u, v)`` on ``(x, y)`` at ``t = 0.5``; 1D Burgers: 128 IC values → ``u`` on ``(x, t)``), at rank 4
and ``"*"`` (all weights predicted). Then the profile of the rank-4 Kovasznay path:
hypernetwork alone, merge alone, PINN forward alone.

Goal (issue 6): one task in under 5 ms on a CPU. Columns: median (best) ms, median CPU ms,
matmul MFLOP (FlopCounterMode), GFLOP/s, % of the float32 matmul peak measured in this run.

    python benchmarks/hyper_inference.py [--quick] [--threads T]

Writes ``build/bench/hyper_inference.json``.
"""
from __future__ import annotations

import benchlib

import torch  # noqa: E402

from pinnlab.engine import mlp_forward  # noqa: E402
from pinnlab.hyper import predict  # noqa: E402
from pinnlab.models import MLP, HyperNet  # noqa: E402
from pinnlab.pdes import Burgers2D, Kovasznay  # noqa: E402

GOAL_MS = 5.0


def problems() -> dict:
    """``{name: (n_in, base widths, grid [10201, d], task vector [n_in])}``."""
    g = torch.Generator().manual_seed(0)
    x = torch.linspace(0.0, 1.0, 101)
    X, T = torch.meshgrid(x, x, indexing="ij")
    return {
        "kovasznay": (1, [2, *[64] * 6, 3], Kovasznay(50.0).grid(101)[0].float(), torch.tensor([50.0])),
        "burgers2d": (1, [3, *[64] * 6, 2], Burgers2D(5e-4).grid(101, fixed={"t": 0.5})[0].float(),
                      torch.tensor([5e-4])),
        "burgers1d": (128, [2, *[64] * 6, 1], torch.stack([X.reshape(-1), T.reshape(-1)], 1),
                      torch.randn(128, generator=g)),
    }


def main() -> None:
    ap = benchlib.base_parser(__doc__.splitlines()[0])
    args = ap.parse_args()
    info = benchlib.start(args)
    with benchlib.device_scope():
        run(args, info, benchlib.on_device(benchlib.build(hypernets)))


def hypernets() -> dict:
    """``{label: (hypernetwork, task vector [1, n_in], grid)}`` for every PDE at rank 4 and ``*``."""
    nets = {}
    for name, (n_in, widths, grid, z) in problems().items():
        base = MLP(widths, generator=torch.Generator().manual_seed(1)).requires_grad_(False)
        for rank in (4, "*"):
            hyper = HyperNet(n_in, base, rank, shift=z.mean(), scale=1.0 + z.abs().mean(),
                             generator=torch.Generator().manual_seed(2)).requires_grad_(False)
            with torch.no_grad():  # move away from the base so the timed weights are generic
                hyper.net.weights[-1].normal_(std=1e-3, generator=torch.Generator().manual_seed(3))
            nets[f"{name} r={rank}" if rank != "*" else f"{name} *"] = (hyper, z[None], grid)
    return nets


def run(args, info: dict, nets: dict) -> None:
    flops = {}
    cases = {label: (lambda h=h, zz=zz, gg=gg: predict(h, zz, gg)) for label, (h, zz, gg) in nets.items()}
    # the profile of one path: where do the milliseconds go?
    hyper, z, grid = nets["kovasznay r=4"]
    with torch.no_grad():
        merged = hyper.layers(z)
        single = [(W[0].contiguous(), b) for W, b in merged]
    profile = {
        "profile: hypernetwork only": lambda: hyper(z),
        "profile: split + merge W0 + BA": lambda: hyper.layers(z),
        "profile: PINN forward only": lambda: mlp_forward(single, grid),
    }
    every = {**cases, **profile}
    with torch.no_grad():
        for k, f in every.items():
            flops[k] = benchlib.count_flops(f)
        t, peak, _, _ = benchlib.time_with_peak(every, rounds=5 if args.quick else 25, warmup=3,
                                                budget_s=30 if args.quick else 120)
    rows = benchlib.rate_rows(t, flops, peak)
    print(f"HyperPINN: one new task on a 101×101 grid (predict weights + evaluate) — {benchlib.where(info)}")
    print(benchlib.table(rows, [("case", "case", ""), ("median_ms", "ms", ".2f"), ("min_ms", "best ms", ".2f"),
                                ("cpu_ms", "CPU ms", ".2f"), ("mflop", "MFLOP", ".0f"),
                                ("gflops", "GFLOP/s", ".1f"), ("pct_peak", "% peak", ".0f")]))
    fwd = flops["profile: PINN forward only"] or 0
    print(f"matmul peak in this run: {peak:.1f} GFLOP/s; the PINN forward alone is {fwd / 1e6:.0f} MFLOP, so at "
          f"this peak it needs at least {fwd / (peak * 1e9) * 1e3:.2f} ms")
    worst = max(t[k]["median_ms"] for k in cases if k.endswith("r=4"))
    best = min(t[k]["min_ms"] for k in cases if k.endswith("r=4"))
    verdict = "met" if worst < GOAL_MS else "NOT met"
    print(f"goal: one task < {GOAL_MS:g} ms at rank 4: {verdict} (median {worst:.2f} ms for the slowest PDE, "
          f"best single call {best:.2f} ms)")
    benchlib.write("hyper_inference", {"machine": info, "quick": args.quick, "grid_points": 10201,
                                       "peak_gflops": peak, "goal_ms": GOAL_MS, "goal": verdict, "rows": rows})


if __name__ == "__main__":
    main()
