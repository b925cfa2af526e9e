"""The benchmark helpers: device handling and the ``bench`` command line (no timings here)."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import benchlib  # noqa: E402
from benchlib import problems as P  # noqa: E402


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="cuda"):
        benchlib.use_device("cuda")
    with pytest.raises(ValueError, match="'cpu' or 'cuda'"):
        benchlib.use_device("tpu")
    assert benchlib.use_device("cpu") == "cpu"


def test_on_device_copies_containers_and_keeps_values():
    tasks = P.kovasznay_tasks(T=3, hidden=1, n_col=16, n_bc=8)
    moved = benchlib.on_device(tasks)
    assert moved is not tasks and moved.stacked_pde is not tasks.stacked_pde
    assert torch.equal(moved.x, tasks.x) and torch.equal(moved.stacked_pde.Re, tasks.stacked_pde.Re)
    assert torch.equal(moved.points[1].bc[1], tasks.points[1].bc[1])


def test_build_uses_cpu_generators_inside_a_device_scope():
    """Seeded construction must not pick up the default device of ``device_scope``."""
    from pinnlab.models import MLP

    with torch.device("meta"):  # stands in for a GPU: any factory without a device lands there
        net = benchlib.build(MLP, [2, 8, 1], generator=torch.Generator().manual_seed(0))
    ref = MLP([2, 8, 1], generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), ref.parameters()))


def test_bench_rejects_unknown_script_names():
    out = subprocess.run([sys.executable, "-m", "pinnlab", "bench", "--only", "nosuch"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode != 0 and "unknown benchmark" in out.stderr and "roofline" in out.stderr


def test_rate_rows_columns_and_rates():
    times = {"a": {"median_ms": 2.0, "min_ms": 1.0, "cpu_ms": 4.0, "n": 5},
             "b": {"median_ms": 3.0, "min_ms": 2.5, "cpu_ms": 3.0, "n": 5}}
    flops = {"a": 4e9}  # no count for "b"
    rows = benchlib.rate_rows(times, flops, peak=4000.0)
    assert list(rows[0]) == ["case", "median_ms", "min_ms", "cpu_ms", "mflop", "gflops", "pct_peak"]
    assert rows[0]["mflop"] == 4000.0 and rows[0]["gflops"] == pytest.approx(2000.0)
    assert rows[0]["pct_peak"] == pytest.approx(50.0)
    assert rows[1]["case"] == "b" and rows[1]["mflop"] is rows[1]["gflops"] is rows[1]["pct_peak"] is None
    rows = benchlib.rate_rows(times, flops, peak=4000.0, peak_cpu=2000.0, label="method", unit="gflop", counts=True)
    assert list(rows[0]) == ["method", "median_ms", "min_ms", "cpu_ms", "n", "gflop", "gflops", "pct_peak",
                             "pct_peak_cpu"]
    assert rows[0]["gflop"] == 4.0 and rows[0]["n"] == 5
    assert rows[0]["pct_peak_cpu"] == pytest.approx(50.0)  # 4 GFLOP in 4 ms of CPU = 1000 GFLOP/s of 2000
    assert rows[1]["pct_peak_cpu"] is None
