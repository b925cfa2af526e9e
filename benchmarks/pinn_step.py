"""One PINN training step (full-batch Adam), pinnlab against nested autograd and DeepXDE.

Problems (``benchlib.problems``): Kovasznay Re=40 (2601 + 320 points) and 1D Burgers
(10 000 collocation + 128 IC + 128 periodic pairs), tanh MLP with 5 hidden layers of 64
(the speed issue's ``2-64×5-3``; ``--hidden 6`` gives Paper A's base nets).

Methods, timed side by side in one process (interleaved rounds):

* ``pinnlab eager``     — the derivative engine (fused forward jet + hand-written backward)
* ``pinnlab ops``       — the same jet written op by op (the engine before the fused kernels)
* ``pinnlab compiled``  — ``torch.compile`` of the loss (forward + backward); cold compile time reported
* ``…, Δ block``        — Kovasznay only: the viscous term from the engine's Laplacian block
                          (``DerivSpec(first=(0, 1), laplacian=(0, 1))``: 4 row blocks instead of 5). Since
                          this table showed it 1.2x faster, ``pinnlab.pdes.Kovasznay`` uses that spec, so the
                          row now repeats ``pinnlab eager`` with a separate class (a check that they agree)
* ``nested autograd``   — the same loss with derivatives from nested ``torch.autograd.grad``
* ``DeepXDE``           — DeepXDE 1.x, PyTorch backend, same net, initial weights, points and loss
                          (checked: same initial loss), timed with the step its ``Model.train`` runs

Columns: median (and best) ms per step, matmul FLOPs per step (FlopCounterMode; the
compiled row counts the same math as the ops row), GFLOP/s, % of the matmul peak measured
in the same run, time over the roofline time (FLOPs / peak), speed-up over DeepXDE.

    python benchmarks/pinn_step.py [--quick] [--threads T] [--hidden L] [--only kovasznay|burgers]

Writes ``build/bench/pinn_step.json``.
"""
from __future__ import annotations

import benchlib

CACHE = benchlib.fresh_inductor_cache()  # before torch is imported: compile times are cold

import time  # noqa: E402
from unittest import mock  # noqa: E402

import torch  # noqa: E402

from benchlib import problems as P  # noqa: E402
from pinnlab import engine  # noqa: E402

DDE = "DeepXDE"
EAGER_LAP = "pinnlab eager, Δ block"
COMPILED_LAP = "pinnlab compiled, Δ block"


def run_problem(prob: P.Problem, args, dde_ok: bool) -> dict:
    print(f"\n## {prob.label}", flush=True)
    base = prob.net(seed=0)
    nets = {k: prob.net(seed=0) for k in ("eager", "ops", "compiled", "autograd")}
    steps, losses = {}, {}
    losses["pinnlab eager"] = P.pinnlab_loss(nets["eager"], prob)
    steps["pinnlab eager"] = P.adam_step(nets["eager"], losses["pinnlab eager"])
    ops_loss = P.pinnlab_loss(nets["ops"], prob)

    def ops_loss_fn():
        with mock.patch.object(engine, "_mlp_jet_fused", engine._mlp_jet_ops):
            return ops_loss()

    losses["pinnlab ops"] = ops_loss_fn
    steps["pinnlab ops"] = P.adam_step(nets["ops"], ops_loss_fn)
    if args.compile:
        compiled = torch.compile(P.pinnlab_loss(nets["compiled"], prob))
        steps["pinnlab compiled"] = P.adam_step(nets["compiled"], compiled)
    losses["nested autograd"] = P.pinnlab_loss(P.AutogradOnly(nets["autograd"]), prob)
    steps["nested autograd"] = P.adam_step(nets["autograd"], losses["nested autograd"])
    if isinstance(prob.pde, P.Kovasznay):  # the same equations with the engine's Laplacian block
        lap = P.Problem(prob.name, P.KovasznayLaplacian(prob.pde.Re), prob.widths, prob.points)
        for k in ("eager Δ", "compiled Δ"):
            nets[k] = prob.net(seed=0)
        losses[EAGER_LAP] = P.pinnlab_loss(nets["eager Δ"], lap)
        steps[EAGER_LAP] = P.adam_step(nets["eager Δ"], losses[EAGER_LAP])
        if args.compile:
            steps[COMPILED_LAP] = P.adam_step(nets["compiled Δ"],
                                              torch.compile(P.pinnlab_loss(nets["compiled Δ"], lap)))
    if dde_ok:
        _, steps[DDE], losses[DDE] = P.deepxde_model(prob, base)

    # the same initial loss everywhere: the problems are the same
    init = {k: float(f().detach()) for k, f in losses.items()}
    print("initial loss: " + ", ".join(f"{k} {v:.6g}" for k, v in init.items()))

    first = {}
    for k in [k for k in steps if "compiled" in k]:
        t0 = time.perf_counter()
        steps[k]()
        first[k] = time.perf_counter() - t0
        print(f"  {k}: first step (compile) {first[k]:.1f} s", flush=True)
    flops = {k: benchlib.count_flops(f) for k, f in steps.items() if "compiled" not in k}
    if "pinnlab compiled" in steps:
        flops["pinnlab compiled"] = flops["pinnlab ops"]
    if COMPILED_LAP in steps:
        flops[COMPILED_LAP] = flops[EAGER_LAP]
    # the peak's matmul is timed in the same rounds as the steps
    t, peak, peak_cpu, n = benchlib.time_with_peak(steps, rounds=6 if args.quick else 25, warmup=2,
                                                   budget_s=40 if args.quick else 150)
    compile_s = {k: v - t[k]["median_ms"] * 1e-3 for k, v in first.items()}
    ref = t.get(DDE, {}).get("median_ms")
    rows = benchlib.rate_rows(t, flops, peak, peak_cpu, label="method", unit="gflop", counts=True)
    for r in rows:
        k, ms, f = r["method"], r["median_ms"], flops.get(r["method"])
        r.update(x_roofline=None if f is None else ms * 1e-3 / (f / (peak * 1e9)),
                 speedup_vs_dde=None if ref is None else ref / ms, initial_loss=init.get(k),
                 compile_s=compile_s.get(k))
    print(benchlib.table(rows, [("method", "method", ""), ("median_ms", "ms/step", ".1f"), ("min_ms", "best", ".1f"),
                                ("cpu_ms", "CPU ms", ".1f"),
                                ("gflop", "GFLOP/step", ".3f"), ("gflops", "GFLOP/s", ".1f"),
                                ("pct_peak", "% peak", ".0f"), ("pct_peak_cpu", "% peak CPU", ".0f"),
                                ("x_roofline", "× roofline", ".2f"),
                                ("speedup_vs_dde", "× vs DeepXDE", ".2f"), ("compile_s", "compile s", ".0f")]))
    print(f"matmul peak in this run: {peak:.1f} GFLOP/s (median of interleaved {n}³ mm; {peak_cpu:.1f} GFLOP per "
          f"CPU-second); % peak CPU compares CPU times, so time slices lost to other processes do not count; "
          f"compile s = cold compile (first step minus a median step, empty Inductor cache)")
    e = t["pinnlab eager"]["median_ms"]
    c = t["pinnlab compiled"]["median_ms"] if "pinnlab compiled" in t else None
    print(f"ratios: eager vs ops {t['pinnlab ops']['median_ms'] / e:.2f}x, "
          f"eager vs nested autograd {t['nested autograd']['median_ms'] / e:.2f}x"
          + ("" if c is None else f", compiled vs eager {e / c:.2f}x")
          + ("" if ref is None else f", eager vs DeepXDE {ref / e:.2f}x")
          + ("" if ref is None or c is None else f", compiled vs DeepXDE {ref / c:.2f}x"))
    if EAGER_LAP in t and COMPILED_LAP in t and ref is not None:
        print(f"with the Laplacian block: eager vs DeepXDE {ref / t[EAGER_LAP]['median_ms']:.2f}x, "
              f"compiled vs DeepXDE {ref / t[COMPILED_LAP]['median_ms']:.2f}x")
    out = {"problem": prob.label, "widths": prob.widths, "rows": rows, "peak_gflops": peak, "peak_gflops_cpu": peak_cpu,
           "compile_s": compile_s, "first_compiled_step_s": first}
    if args.profile:
        slowest = max(t, key=lambda k: t[k]["median_ms"])
        out["profile"] = {k: profile(steps[k], k, 3 if k == slowest else 10)
                          for k in dict.fromkeys(["pinnlab eager", slowest])}
    return out


def profile(step, name: str, n: int, top: int = 12) -> list[dict]:
    """torch.profiler table of ``n`` steps: the ``top`` ops by self CPU time."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(n):
            step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    rows = [{"op": e.key[:48], "self_ms_per_step": e.self_cpu_time_total / 1e3 / n,
             "self_pct": 100 * e.self_cpu_time_total / total, "calls_per_step": e.count / n} for e in events[:top]]
    print(f"\nprofile of '{name}' ({n} steps, top {top} ops by self CPU time):")
    print(benchlib.table(rows, [("op", "op", ""), ("self_ms_per_step", "self ms/step", ".2f"),
                                ("self_pct", "% self", ".1f"), ("calls_per_step", "calls/step", ".0f")]))
    return rows


def main() -> None:
    ap = benchlib.base_parser(__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=5, help="hidden layers of 64 (5: the issue's net, 6: Paper A's)")
    ap.add_argument("--only", choices=["kovasznay", "burgers"], default=None)
    ap.add_argument("--no-profile", dest="profile", action="store_false",
                    help="skip the torch.profiler tables of the eager and the slowest step")
    ap.add_argument("--no-compile", dest="compile", action="store_false", help="skip the torch.compile rows")
    args = ap.parse_args()
    info = benchlib.start(args)
    dde_ok, dde_note = P.deepxde_available()
    print(f"PINN step benchmark — {benchlib.where(info)}; {dde_note}")
    probs = []
    if args.only in (None, "kovasznay"):
        probs.append(benchlib.on_device(P.kovasznay(args.hidden)))
    if args.only in (None, "burgers"):
        probs.append(benchlib.on_device(P.burgers(args.hidden)))
    with benchlib.device_scope():
        results = [run_problem(p, args, dde_ok) for p in probs]
    benchlib.write("pinn_step", {"machine": info, "quick": args.quick, "deepxde": dde_note, "problems": results})


if __name__ == "__main__":
    main()
