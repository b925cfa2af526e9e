"""The machine's float32 matmul peak: the roofline every other benchmark divides by.

Measures large square ``torch.mm`` (median GFLOP/s over repeats, the number the other
benchmarks quote as "peak") and, for reference, the tall-skinny products a PINN layer
makes (``[5N, 64] @ [64, 64]`` for Kovasznay's 2601 points and 5 derivative blocks), with
the thread count pinnlab uses and with one thread.

    python benchmarks/roofline.py [--quick] [--threads T]

Writes ``build/bench/roofline.json``.
"""
from __future__ import annotations

import statistics
import time

import benchlib


def _gflops(fn, flops: float, repeat: int) -> dict:
    fn()
    fn()
    benchlib.sync()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        benchlib.sync()
        ts.append(time.perf_counter() - t0)
    return {"median_gflops": flops / statistics.median(ts) / 1e9, "best_gflops": flops / min(ts) / 1e9}


def measure(threads: int, quick: bool) -> list[dict]:
    import torch

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    dev = benchlib.DEVICE
    rows = []
    sizes = (2048, 4096, 8192) if dev == "cuda" else (1024, 2048) if quick else (1024, 2048, 3072)
    for n in sizes:
        a, b = torch.randn(n, n, generator=g).to(dev), torch.randn(n, n, generator=g).to(dev)
        out = torch.empty(n, n, device=dev)
        r = _gflops(lambda: torch.mm(a, b, out=out), 2.0 * n**3, 5 if quick else 10)
        rows.append({"shape": f"mm {n}x{n}x{n}", "threads": threads, **r})
    R = 5 * 2601
    H, W, G = (torch.randn(*shape, generator=g).to(dev) for shape in ((R, 64), (64, 64), (R, 64)))
    f = 2.0 * R * 64 * 64
    rep = 20 if quick else 60
    rows.append({"shape": f"PINN fwd [{R},64]@[64,64]", "threads": threads, **_gflops(lambda: H @ W.t(), f, rep)})
    rows.append({"shape": f"PINN dW  [64,{R}]@[{R},64]", "threads": threads, **_gflops(lambda: G.t() @ H, f, rep)})
    return rows


def main() -> None:
    args = benchlib.base_parser(__doc__.splitlines()[0]).parse_args()
    info = benchlib.start(args)
    import torch

    n_threads = torch.get_num_threads()
    rows = measure(n_threads, args.quick)
    if n_threads > 1 and benchlib.DEVICE == "cpu":
        rows += measure(1, args.quick)
    torch.set_num_threads(n_threads)
    big = "mm 8192" if benchlib.DEVICE == "cuda" else "mm 2048"  # TF32 off: true float32 on a GPU
    peak = next(r for r in rows if r["shape"].startswith(big) and r["threads"] == n_threads)
    print(f"float32 matmul roofline ({benchlib.where(info)})")
    print(benchlib.table(rows, [("shape", "product", ""), ("threads", "thr", "d"),
                                ("median_gflops", "median GFLOP/s", ".1f"), ("best_gflops", "best GFLOP/s", ".1f")]))
    print(f"\npeak ({peak['shape']}, median, {n_threads} threads): {peak['median_gflops']:.1f} GFLOP/s "
          f"(best {peak['best_gflops']:.1f})")
    benchlib.write("roofline", {"machine": info, "peak_gflops": peak["median_gflops"],
                                "peak_best_gflops": peak["best_gflops"], "rows": rows})


if __name__ == "__main__":
    main()
