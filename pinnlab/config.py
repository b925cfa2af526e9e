"""Run configuration: preset, seed, device, dtype, threads and output paths.

Every notebook starts with ``cfg = pinnlab.setup(mode=MODE, seed=SEED, device=DEVICE)``
and takes its sizes from ``cfg.pick(quick=..., medium=..., full=...)``, so the code
path is the same in every preset and only the sizes change.
"""
from __future__ import annotations

import os
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

MODES = ("quick", "medium", "full")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = {"float32": torch.float32, "float64": torch.float64}

#: Repository root (the folder that holds ``pinnlab/``).
ROOT = Path(__file__).resolve().parent.parent


def _check_choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed values are {', '.join(map(repr, allowed))}")


@dataclass
class Config:
    """The run settings passed to every experiment and trainer.

    Attributes:
        mode: preset name, one of ``"quick"`` (CI), ``"medium"`` (about an hour per
            notebook on 2 CPU cores) or ``"full"`` (the papers' set-up).
        seed: seed for torch, numpy and ``random``.
        device: torch device the models train on.
        dtype: default floating dtype of models and sampled points.
        compile: wrap the loss step in ``torch.compile`` where that pays off.
        progress: show tqdm progress bars.
    """

    mode: str = "quick"
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: torch.dtype = torch.float32
    compile: bool = False
    progress: bool = True

    def pick(self, quick: Any, full: Any, medium: Any = None) -> Any:
        """Return the value for the current preset (``medium`` defaults to ``full``)."""
        if self.mode == "quick":
            return quick
        if self.mode == "medium":
            return full if medium is None else medium
        return full

    def generator(self, offset: int = 0) -> torch.Generator:
        """A CPU ``torch.Generator`` seeded with ``seed + offset`` (reproducible sampling)."""
        return torch.Generator().manual_seed(self.seed + offset)

    def results_dir(self, name: str) -> Path:
        """Where an experiment stores its results for this preset.

        ``figures/<name>/<mode>/`` for medium and full (committed), ``build/results/quick/<name>/``
        for quick (git-ignored). Overridable with ``PINNLAB_RESULTS`` (tests use it).
        """
        base = os.environ.get("PINNLAB_RESULTS")
        if base:
            path = Path(base) / self.mode / name
        elif self.mode == "quick":
            path = ROOT / "build" / "results" / "quick" / name
        else:
            path = ROOT / "figures" / name / self.mode
        path.mkdir(parents=True, exist_ok=True)
        return path

    def describe(self) -> dict:
        """Provenance for ``metrics.json``: preset, device name, torch version, commit, seed."""
        if self.device.type == "cuda":
            device_name = torch.cuda.get_device_name(self.device)
        else:
            device_name = f"cpu ({torch.get_num_threads()} threads)"
        return {
            "preset": self.mode,
            "device": device_name,
            "torch": torch.__version__,
            "commit": git_commit(),
            "seed": self.seed,
        }


def git_commit() -> str:
    """The current git commit of the repository, or ``"unknown"`` outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _configure_threads() -> None:
    """Give torch all cores (or ``PINNLAB_THREADS``), keep numpy/SciPy's BLAS pool from fighting it,
    and let freed memory be reused instead of handed back to the kernel.

    Set ``PINNLAB_THREADS=1`` for a background run on a machine that is busy with other work:
    OpenMP threads that wait for a busy core slow a step down many times over.

    Memory: a training step allocates and frees the same few-MB tensors every step. glibc's
    default returns such blocks to the kernel (``mmap``/trim), so every step page-faults its
    working set back in — measured 1.1 ms per 3.3 MB block on these VMs, about as long as the
    matmul that fills it. On glibc we raise the mmap and trim thresholds (``mallopt``) so the
    blocks stay in the heap and are reused (``PINNLAB_MALLOC=default`` keeps glibc's defaults).
    """
    n = int(os.environ.get("PINNLAB_THREADS", "0") or 0) or os.cpu_count() or 1
    torch.set_num_threads(n)
    try:  # numpy/SciPy's BLAS shares the cores with torch: keep its pool passive
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        pass
    if os.environ.get("PINNLAB_MALLOC", "") != "default":
        try:
            import ctypes

            libc = ctypes.CDLL(None)
            m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
            libc.mallopt(m_mmap_threshold, 1 << 30)  # blocks up to 1 GiB come from the heap
            libc.mallopt(m_trim_threshold, 1 << 30)  # keep up to 1 GiB of freed heap for reuse
        except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to tune
            pass


def setup(
    mode: str = "quick",
    seed: int = 0,
    device: str = "auto",
    dtype: str = "float32",
    compile: bool = False,
    progress: bool = True,
) -> Config:
    """Create the run configuration and seed every generator.

    Args:
        mode: ``"quick"``, ``"medium"`` or ``"full"``. The environment variable
            ``PINNLAB_MODE``, when set, overrides it (nbval runs use that).
        seed: integer seed.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda"``. The
            environment variable ``PINNLAB_DEVICE``, when set, overrides it (nbval on a GPU).
        dtype: ``"float32"`` (default) or ``"float64"``.
        compile: use ``torch.compile`` for training steps where supported.
        progress: show progress bars.

    Raises:
        ValueError: for an unknown mode, device or dtype.
    """
    _check_choice("mode", mode, MODES)
    mode = os.environ.get("PINNLAB_MODE") or mode
    _check_choice("mode (from PINNLAB_MODE)", mode, MODES)
    _check_choice("device", device, DEVICES)
    device = os.environ.get("PINNLAB_DEVICE") or device
    _check_choice("device (from PINNLAB_DEVICE)", device, DEVICES)
    _check_choice("dtype", dtype, tuple(DTYPES))
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch.cuda.is_available() is False; use 'auto' or 'cpu'")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    _configure_threads()
    seed_everything(int(seed))
    return Config(mode=mode, seed=int(seed), device=torch.device(device), dtype=DTYPES[dtype],
                  compile=bool(compile), progress=bool(progress))
