"""Shared helpers of the benchmark scripts: timing, FLOP counting, the matmul peak, tables, JSON.

The scripts in ``benchmarks/`` run as ``python benchmarks/NAME.py`` (``make bench`` runs them
all); this package sits next to them so that ``import benchlib`` works, and is not a script.

Timing on a shared 2-core machine is noisy, so every comparison here is made *side by
side in one process*: the methods run in interleaved rounds (A, B, C, A, B, C, ...) and
each reports the median and the best of its per-step times. The load average at the start
and end of the run is recorded with the results.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "build" / "bench"
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))


def fresh_inductor_cache() -> str:
    """Point Inductor at an empty cache folder (call before importing torch) so compile times are cold."""
    import tempfile

    path = tempfile.mkdtemp(prefix="pinnlab-inductor-")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = path
    return path


#: where the benchmarks run: ``--device`` of every script (``use_device``); CPU by default
DEVICE = "cpu"


def use_device(name: str) -> str:
    """Run this script's benchmarks on ``name`` (``"cpu"`` or ``"cuda"``).

    Objects are built on the CPU (seeded CPU generators, as in the package) and moved with
    :func:`on_device`; the timed code runs inside :func:`device_scope`, so tensors it creates
    land on the same device. On CUDA, :func:`interleaved` synchronises after every call.
    """
    global DEVICE
    import torch

    if name not in ("cpu", "cuda"):
        raise ValueError(f"--device must be 'cpu' or 'cuda', got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: torch.cuda.is_available() is False (a CPU build of torch, or no GPU)")
    DEVICE = name
    return name


def on_device(obj):
    """``obj`` with every tensor and module in it moved to :data:`DEVICE` (dataclasses, lists,
    tuples, dicts and plain objects such as PDEs are copied, not changed in place; modules are
    moved in place, as ``Module.to`` does)."""
    import copy
    import dataclasses

    import torch

    if isinstance(obj, (torch.Tensor, torch.nn.Module)):
        return obj.to(DEVICE)
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(on_device(v) for v in obj)
    if isinstance(obj, dict):
        return {k: on_device(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(obj, **{f.name: on_device(getattr(obj, f.name))
                                           for f in dataclasses.fields(obj) if f.init})
    if hasattr(obj, "__dict__") and not isinstance(obj, type) and any(
            isinstance(v, torch.Tensor) for v in vars(obj).values()):
        new = copy.copy(obj)
        for k, v in vars(obj).items():
            if isinstance(v, torch.Tensor):
                setattr(new, k, v.to(DEVICE))
        return new
    return obj


def build(factory: Callable, *args, **kwargs):
    """``factory(*args, **kwargs)`` built on the CPU (where pinnlab's seeded generators live),
    then moved to :data:`DEVICE` — also inside :func:`device_scope`."""
    import torch

    with torch.device("cpu"):
        obj = factory(*args, **kwargs)
    return on_device(obj)


def device_scope():
    """Context in which new tensors are created on :data:`DEVICE` (``with benchlib.device_scope():``)."""
    import torch

    return torch.device(DEVICE)


def sync() -> None:
    """Wait for the device's queued work (CUDA runs asynchronously; a no-op on the CPU)."""
    if DEVICE == "cuda":
        import torch

        torch.cuda.synchronize()


def peak_op() -> tuple[Callable[[], object], float, int]:
    """A large float32 ``torch.mm`` on :data:`DEVICE` to time beside the benchmarks:
    ``(fn, flops, n)`` (n = 1536 on a CPU, 8192 on a GPU so that it is not launch-bound)."""
    import torch

    n = 8192 if DEVICE == "cuda" else 1536
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g, device="cpu").to(DEVICE)
    b = torch.randn(n, n, generator=g, device="cpu").to(DEVICE)
    return (lambda: torch.mm(a, b)), 2.0 * n**3, n


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages (how busy the machine was)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux/macOS
        return []


def machine() -> dict:
    """Processor, core count, torch version and thread count, load average."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {k: os.environ[k] for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "PINNLAB_THREADS", "PINNLAB_MALLOC")
           if k in os.environ}
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "load_avg_start": load(), "env": env,
            "device": DEVICE}
    if DEVICE == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
        info["cuda"] = torch.version.cuda
        info["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
    return info


def where(info: dict) -> str:
    """One phrase for table headers: the GPU's name, or the CPU and its threads."""
    if info.get("device") == "cuda":
        return f"{info['gpu']} (CUDA {info['cuda']}, torch {info['torch']})"
    return f"{info['cpu']}, {info['threads']} threads, load avg {info['load_avg_start']}"


def interleaved(fns: dict[str, Callable[[], object]], rounds: int, per_round: int = 1,
                warmup: int = 2, budget_s: Optional[float] = None) -> dict[str, dict]:
    """Time several callables side by side.

    Each callable runs ``warmup`` times, then ``rounds`` rounds in which each runs
    ``per_round`` times in turn (so load changes hit all of them alike). Stops early
    once ``budget_s`` seconds have passed (after at least 3 rounds).

    Returns:
        ``{name: {"median_ms", "min_ms", "cpu_ms", "n"}}`` over the individual calls; ``cpu_ms``
        is the median process CPU time per call (with one thread, the time the call would take
        on an idle core; with more threads it includes their spin-waits). On CUDA every call is
        followed by a synchronisation, so its time includes the device's work.
    """
    for f in fns.values():
        for _ in range(warmup):
            f()
    sync()
    times: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    t_start = time.perf_counter()
    for r in range(rounds):
        for name, f in fns.items():
            for _ in range(per_round):
                c0 = time.process_time()
                t0 = time.perf_counter()
                f()
                sync()
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
        if budget_s is not None and r >= 2 and time.perf_counter() - t_start > budget_s:
            break
    return {k: {"median_ms": 1e3 * statistics.median(v), "min_ms": 1e3 * min(v),
                "cpu_ms": 1e3 * statistics.median(cpu[k]), "n": len(v)} for k, v in times.items()}


def time_with_peak(fns: dict[str, Callable[[], object]], **kwargs) -> tuple[dict[str, dict], float, float, int]:
    """:func:`interleaved` timing of ``fns`` with :func:`peak_op`'s matmul timed in the same rounds.

    ``kwargs`` go to :func:`interleaved`. Returns ``(times, peak, peak_cpu, n)``: the times of ``fns``
    (the matmul's removed), the matmul peak in GFLOP/s of wall time and in GFLOP per CPU-second (the
    latter insensitive to time slices lost to other processes), and the matmul's size ``n``.
    """
    fns = dict(fns)
    fns["_peak"], peak_flops, n = peak_op()
    t = interleaved(fns, **kwargs)
    pk = t.pop("_peak")
    return t, peak_flops / (pk["median_ms"] * 1e-3) / 1e9, peak_flops / (pk["cpu_ms"] * 1e-3) / 1e9, n


def rate_rows(times: dict[str, dict], flops: dict[str, Optional[int]], peak: float,
              peak_cpu: Optional[float] = None, label: str = "case", unit: str = "mflop",
              counts: bool = False) -> list[dict]:
    """One table/JSON row per timed case (in the order of ``times``, :func:`time_with_peak`'s).

    Each row: ``{label: name, "median_ms", "min_ms", "cpu_ms"``, with ``counts`` the number of timed
    calls ``"n"``, then ``unit`` (``"mflop"`` or ``"gflop"``: the matmul FLOPs of one call),
    ``"gflops"`` and ``"pct_peak"`` (of ``peak``) and, with ``peak_cpu``, ``"pct_peak_cpu"`` (CPU
    time against ``peak_cpu``)``}``; the FLOP columns are ``None`` for a case ``flops`` has no count for.
    """
    scale = {"mflop": 1e6, "gflop": 1e9}[unit]
    rows = []
    for k, v in times.items():
        f = flops.get(k)
        gfs = None if f is None else f / (v["median_ms"] * 1e-3) / 1e9
        row = {label: k, "median_ms": v["median_ms"], "min_ms": v["min_ms"], "cpu_ms": v["cpu_ms"]}
        if counts:
            row["n"] = v["n"]
        row.update({unit: None if f is None else f / scale, "gflops": gfs,
                    "pct_peak": None if gfs is None else 100 * gfs / peak})
        if peak_cpu is not None:
            row["pct_peak_cpu"] = None if f is None else 100 * (f / (v["cpu_ms"] * 1e-3) / 1e9) / peak_cpu
        rows.append(row)
    return rows


def count_flops(fn: Callable[[], object]) -> Optional[int]:
    """Matmul FLOPs of one call of ``fn`` by ``torch.utils.flop_counter.FlopCounterMode``.

    Counts what the dispatcher sees (mm, bmm, addmm, baddbmm, convolutions; elementwise work
    is not counted). Returns ``None`` when the counter fails (it cannot follow some nested
    ``autograd.grad`` graphs).
    """
    from torch.utils.flop_counter import FlopCounterMode

    try:
        with FlopCounterMode(display=False) as fc:
            fn()
        return int(fc.get_total_flops())
    except Exception as err:  # noqa: BLE001 - report, never crash a benchmark
        print(f"    (FlopCounterMode failed: {type(err).__name__}: {str(err)[:120]})")
        return None


def fmt(x, spec: str = ".1f") -> str:
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    return format(x, spec)


def table(rows: list[dict], cols: list[tuple[str, str, str]]) -> str:
    """Render ``rows`` as a fixed-width table; ``cols`` are ``(key, header, format)``."""
    cells = [[h for _, h, _ in cols]] + [[fmt(r.get(k), f) for k, _, f in cols] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    lines = ["  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write(name: str, data: dict) -> Path:
    """Write ``build/bench/NAME.json`` (``NAME-cuda.json`` on a GPU; adds the end-of-run load average) and return its path."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if DEVICE != "cpu":  # GPU results beside, not over, the CPU ones
        name = f"{name}-{DEVICE}"
    data = dict(data)
    if isinstance(data.get("machine"), dict):
        data["machine"]["load_avg_end"] = load()
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=1, default=str))
    print(f"-> {path.relative_to(ROOT)}")
    return path


def base_parser(description: str):
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="fewer repeats (about a minute)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: pinnlab's setup())")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where to run (default: cpu)")
    return ap


def start(args) -> dict:
    """The common start of a script: threads (``--threads``), device (``--device``); returns :func:`machine`."""
    setup_threads(args.threads)
    use_device(args.device)
    return machine()


def setup_threads(threads: int) -> None:
    """pinnlab's thread set-up (as ``pinnlab.setup`` does), then ``--threads`` if given."""
    import torch

    from pinnlab.config import _configure_threads

    _configure_threads()
    if threads:
        torch.set_num_threads(threads)
