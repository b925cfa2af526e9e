"""Twenty tasks per epoch: all tasks stacked in one model vs a loop over per-task models.

Kovasznay tasks (Re from 20 to 100), each with its own 2601 + 320 points, tanh MLP
``2-64×5-3`` per task (``--hidden 6``: Paper A's base). One epoch = one Adam step of every task.

* ``stacked``   — ``MLP(widths, n_tasks=20)``: weights ``[20, out, in]``, points ``[20, N, 2]``, the
                  residual with Re as a ``[20, 1, 1]`` tensor; one forward/backward for all tasks
* ``loop``      — 20 single-task ``MLP``\\ s, forward/backward one after the other, one update
* ``LoRA r=…``  — ``LoRAMLP(base, r, n_tasks=20)`` stacked (frozen base ``W0 + B A``), when
                  :mod:`pinnlab.models` has it (skipped otherwise)

each eager and under ``torch.compile`` (cold compile times reported). Columns: median (best)
ms per epoch, matmul GFLOP per epoch (FlopCounterMode), GFLOP/s, % of the matmul peak measured
in the same run, speed-up of the best stacked variant over the best loop.

    python benchmarks/multitask.py [--quick] [--threads T] [--tasks 20] [--hidden 5] [--no-compile]

Writes ``build/bench/multitask.json``.
"""
from __future__ import annotations

import benchlib

CACHE = benchlib.fresh_inductor_cache()

import time  # noqa: E402

import torch  # noqa: E402

from benchlib import problems as P  # noqa: E402
from pinnlab.models import MLP  # noqa: E402


def main() -> None:
    ap = benchlib.base_parser(__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=5)
    ap.add_argument("--ranks", default="4", help="LoRA ranks, comma-separated ('' for none)")
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    info = benchlib.start(args)
    T = args.tasks
    tasks = benchlib.on_device(P.kovasznay_tasks(T, args.hidden))
    print(f"{T} Kovasznay tasks, {tasks.widths[0]}-64x{args.hidden}-3, 2601+320 points each — "
          f"{benchlib.where(info)}", flush=True)
    with benchlib.device_scope():
        run(args, info, tasks)


def mlp(widths, seed: int, n_tasks=None) -> MLP:
    """A seeded MLP (built on the CPU, as pinnlab does) on the benchmark's device."""
    return benchlib.build(MLP, widths, n_tasks=n_tasks, generator=torch.Generator().manual_seed(seed))


def run(args, info: dict, tasks) -> None:
    T = args.tasks

    steps, compile_s, flops = {}, {}, {}

    def add(name, step, compiled=False):
        t0 = time.perf_counter()
        step()
        if compiled:
            compile_s[name] = time.perf_counter() - t0
            print(f"  compiled {name}: first epoch {compile_s[name]:.1f} s", flush=True)
        steps[name] = step

    stacked = mlp(tasks.widths, 0, n_tasks=T)
    add("stacked eager", P.adam_step(stacked, P.stacked_loss(stacked, tasks)))
    loop_models = [mlp(tasks.widths, i) for i in range(T)]
    add("loop eager", P.loop_step(loop_models, tasks))
    flops["stacked eager"] = flops["loop eager"] = benchlib.count_flops(steps["stacked eager"])
    lora_note = None
    ranks = [int(r) for r in args.ranks.split(",") if r.strip()]
    try:
        from pinnlab.models import LoRAMLP
    except ImportError:
        LoRAMLP = None
        lora_note = "pinnlab.models has no LoRAMLP yet: LoRA rows skipped"
    lora = {}
    if LoRAMLP is not None:
        base = mlp(tasks.widths, 0)
        for r in ranks:
            m = benchlib.build(LoRAMLP, base, r, n_tasks=T, generator=torch.Generator().manual_seed(r))
            lora[r] = m
            add(f"LoRA r={r} stacked eager", P.adam_step(m, P.stacked_loss(m, tasks)))
            flops[f"LoRA r={r} stacked eager"] = benchlib.count_flops(steps[f"LoRA r={r} stacked eager"])
    if not args.no_compile:
        cs = mlp(tasks.widths, 0, n_tasks=T)
        add("stacked compiled", P.adam_step(cs, torch.compile(P.stacked_loss(cs, tasks))), compiled=True)
        cl = [mlp(tasks.widths, i) for i in range(T)]
        add("loop compiled", P.loop_step(cl, tasks, compiled=True), compiled=True)
        flops["stacked compiled"] = flops["loop compiled"] = flops["stacked eager"]
        for r, m in lora.items():
            mc = benchlib.build(LoRAMLP, base, r, n_tasks=T, generator=torch.Generator().manual_seed(r))
            add(f"LoRA r={r} stacked compiled", P.adam_step(mc, torch.compile(P.stacked_loss(mc, tasks))),
                compiled=True)
            flops[f"LoRA r={r} stacked compiled"] = flops[f"LoRA r={r} stacked eager"]
    t, peak, peak_cpu, n = benchlib.time_with_peak(steps, rounds=3 if args.quick else 10, warmup=1,
                                                   budget_s=60 if args.quick else 240)
    loops = [k for k in t if k.startswith("loop")]
    best_loop = min(loops, key=lambda k: t[k]["median_ms"])
    rows = benchlib.rate_rows(t, flops, peak, peak_cpu, label="method", unit="gflop", counts=True)
    for r in rows:
        r.update(vs_best_loop=t[best_loop]["median_ms"] / r["median_ms"], compile_s=compile_s.get(r["method"]))
    print(benchlib.table(rows, [("method", "method", ""), ("median_ms", "ms/epoch", ".0f"), ("min_ms", "best", ".0f"),
                                ("cpu_ms", "CPU ms", ".0f"),
                                ("gflop", "GFLOP/epoch", ".2f"), ("gflops", "GFLOP/s", ".1f"),
                                ("pct_peak", "% peak", ".0f"), ("pct_peak_cpu", "% peak CPU", ".0f"),
                                ("vs_best_loop", f"× vs {best_loop}", ".2f"),
                                ("compile_s", "compile s", ".0f")]))
    full = [k for k in t if k.startswith("stacked")]
    best_stacked = min(full, key=lambda k: t[k]["median_ms"])
    bs = next(r for r in rows if r["method"] == best_stacked)
    print(f"matmul peak in this run: {peak:.1f} GFLOP/s (median of interleaved {n}³ mm; {peak_cpu:.1f} GFLOP per "
          f"CPU-second)")
    print(f"best stacked ({best_stacked}) vs best loop ({best_loop}): {bs['vs_best_loop']:.2f}x; "
          f"{bs['pct_peak']:.0f}% of peak" + (f"; {lora_note}" if lora_note else ""))
    benchlib.write("multitask", {"machine": info, "quick": args.quick, "tasks": T, "widths": tasks.widths,
                                 "peak_gflops": peak, "peak_gflops_cpu": peak_cpu, "rows": rows, "best_loop": best_loop,
                                 "best_stacked": best_stacked, "lora_note": lora_note})


if __name__ == "__main__":
    main()
