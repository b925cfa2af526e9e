"""Does a SciPy solve slow down when it runs between training steps in the same process?

A notebook mixes torch training (OpenMP threads) with numpy/SciPy work (OpenBLAS threads)
in one kernel. Both pools want every core; a pool that keeps spinning after its work steals
the cores from the other. This compares ``scipy.linalg.solve`` of a 1000 × 1000 system

* ``fresh``        — in a fresh process that only imports numpy/SciPy (the reference),
* ``interleaved``  — in a process that calls ``pinnlab.setup()`` and alternates one Kovasznay
                     training step (2-64×5-3, 2601 points) with one solve,
* ``interleaved, no setup`` — the same without ``pinnlab.setup()`` (torch's and OpenBLAS's
                     default thread settings), to show what pinnlab's thread set-up changes,
* ``interleaved, passive OpenMP`` — as ``interleaved``, with ``OMP_WAIT_POLICY=PASSIVE`` in the
                     environment before torch loads: torch's OpenMP workers sleep instead of
                     spinning (GNU libgomp spins about 300 000 pauses, milliseconds, after every
                     parallel region) — a setting only the environment, not a running process, can change,

and the training step alone vs. between solves. On a busy machine the process-to-process
comparison is noisy, so each interleaved child also times the same solve after 0.3 s of
idling (all its thread pools asleep again, as in a fresh process), alternating with the
solves that follow a step: ``after step / after idle`` is the in-process ratio, robust to load. Each variant runs in its own child process,
in interleaved rounds so that load changes hit all of them alike. Goal: interleaved solve
≤ 1.5 × fresh.

    python benchmarks/threads.py [--quick] [--threads T]

Writes ``build/bench/threads.json``.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import benchlib

N = 1000


def _system(seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, N)) + N ** 0.5 * np.eye(N), rng.standard_normal(N)


def child(variant: str, reps: int, threads: int) -> dict:
    """Run in a child process; prints one JSON line."""
    import scipy.linalg

    A, b = _system()
    if variant == "fresh":
        scipy.linalg.solve(A, b)
        ts, cs = [], []
        for _ in range(reps):
            c0, t0 = time.process_time(), time.perf_counter()
            scipy.linalg.solve(A, b)
            ts.append(time.perf_counter() - t0)
            cs.append(time.process_time() - c0)
        return {"solve_ms": 1e3 * statistics.median(ts), "solve_cpu_ms": 1e3 * statistics.median(cs)}
    import torch

    if variant == "interleaved":
        import pinnlab

        pinnlab.setup(mode="quick", progress=False)
    if threads:
        torch.set_num_threads(threads)
    from benchlib import problems as P

    prob = P.kovasznay()
    net = prob.net()
    step = P.adam_step(net, P.pinnlab_loss(net, prob))
    for _ in range(2):
        step()
        scipy.linalg.solve(A, b)
    alone = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        alone.append(time.perf_counter() - t0)
    solve, steps, cpu, idle = [], [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        c1, t1 = time.process_time(), time.perf_counter()
        scipy.linalg.solve(A, b)
        t2, c2 = time.perf_counter(), time.process_time()
        steps.append(t1 - t0)
        solve.append(t2 - t1)
        cpu.append(c2 - c1)
        time.sleep(0.3)  # every pool of this process asleep again: the in-process reference
        t0 = time.perf_counter()
        scipy.linalg.solve(A, b)
        idle.append(time.perf_counter() - t0)
    from threadpoolctl import threadpool_info

    pools = [f"{p['internal_api']}:{p['num_threads']}" for p in threadpool_info()]
    return {"solve_ms": 1e3 * statistics.median(solve), "solve_cpu_ms": 1e3 * statistics.median(cpu),
            "solve_after_idle_ms": 1e3 * statistics.median(idle),
            "after_step_over_idle": statistics.median(a / b for a, b in zip(solve, idle)),
            "step_between_solves_ms": 1e3 * statistics.median(steps),
            "step_alone_ms": 1e3 * statistics.median(alone), "torch_threads": torch.get_num_threads(),
            "pools": pools}


def main() -> None:
    ap = benchlib.base_parser(__doc__.splitlines()[0])
    ap.add_argument("--child", default=None, help=argparse_hidden())
    ap.add_argument("--reps", type=int, default=0)
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra interleaved variant run with this environment variable (repeatable)")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.reps, args.threads)))
        return
    info = benchlib.machine()
    reps = args.reps or (6 if args.quick else 15)
    rounds = 2 if args.quick else 3
    variants = ["fresh", "interleaved", "interleaved, no setup", "interleaved, passive OpenMP"]
    flag = {"fresh": "fresh", "interleaved": "interleaved", "interleaved, no setup": "plain",
            "interleaved, passive OpenMP": "interleaved"}
    extra = {f"interleaved, {kv}": dict([kv.split("=", 1)]) for kv in args.env}
    variants += list(extra)
    flag.update({v: "interleaved" for v in extra})
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    here = os.path.abspath(__file__)
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    for _ in range(rounds):
        for v in variants:
            cmd = [sys.executable, here, "--child", flag[v], "--reps", str(reps), "--threads", str(args.threads)]
            child_env = dict(env, OMP_WAIT_POLICY="PASSIVE") if "passive" in v else dict(env, **extra.get(v, {}))
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=benchlib.ROOT, env=child_env)
            if out.returncode:
                raise SystemExit(f"child {v} failed:\n{out.stderr[-2000:]}")
            runs[v].append(json.loads(out.stdout.strip().splitlines()[-1]))
    fresh = statistics.median(r["solve_ms"] for r in runs["fresh"])
    rows = []
    for v in variants:
        med = {k: statistics.median(r[k] for r in runs[v]) for k in runs[v][0] if isinstance(runs[v][0][k], float)}
        rows.append({"variant": v, **med, "solve_ratio": med["solve_ms"] / fresh,
                     "step_ratio": med.get("step_between_solves_ms", float("nan")) / med["step_alone_ms"]
                     if "step_alone_ms" in med else None,
                     "pools": " ".join(runs[v][0].get("pools", []))})
    print(f"SciPy solve ({N}×{N}) between training steps — {info['cpu']}, {info['cores']} cores, "
          f"load avg {info['load_avg_start']}")
    print(benchlib.table(rows, [("variant", "variant", ""), ("solve_ms", "solve ms", ".2f"),
                                ("solve_ratio", "× fresh", ".2f"), ("solve_cpu_ms", "solve CPU ms", ".1f"),
                                ("solve_after_idle_ms", "solve after 0.3 s idle", ".2f"),
                                ("after_step_over_idle", "after step / after idle", ".2f"), ("step_alone_ms", "step alone ms", ".1f"),
                                ("step_between_solves_ms", "step between solves ms", ".1f"),
                                ("step_ratio", "step ×", ".2f"), ("pools", "thread pools", "")]))
    ratio = rows[1]["solve_ratio"]
    print(f"\ngoal: interleaved solve ≤ 1.5 × fresh — {'met' if ratio <= 1.5 else 'NOT met'} ({ratio:.2f}× the fresh "
          f"process, {rows[1]['after_step_over_idle']:.2f}× the same process after idling); with passive OpenMP "
          f"{rows[3]['solve_ratio']:.2f}× / {rows[3]['after_step_over_idle']:.2f}×")
    benchlib.write("threads", {"machine": info, "quick": args.quick, "reps": reps, "rounds": rounds,
                               "rows": rows, "runs": runs, "goal_met": ratio <= 1.5})


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
