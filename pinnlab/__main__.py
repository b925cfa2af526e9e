"""Command line: ``python -m pinnlab run NAME | workbook | figures | bench``.

* ``run NAME [--mode M] [--device D] [--seed S]`` — one experiment, package code only
  (no Jupyter needed; this is what runs on a lent GPU). Resumable.
* ``workbook [--mode M] [--device D] [--only 01,02]`` — execute the notebooks in order
  with papermill into ``build/notebooks/`` and export HTML to ``build/html/``.
* ``figures [...]`` — the same with ``SAVE_FIGS=True`` (PNGs into ``figures/`` for the
  medium/full presets), then a summary table of every ``metrics.json``.
* ``bench [--device cpu|cuda] [--quick] [--only roofline,multitask]`` — run the scripts in ``benchmarks/``
  (``time_to_accuracy`` with ``--budget-s 600`` unless ``--quick``: 20 min instead of its 1 h default).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .config import DEVICES, MODES, ROOT


def _notebooks(only: str | None) -> list[Path]:
    books = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if only:
        keys = [k.strip() for k in only.split(",") if k.strip()]
        books = [b for b in books if any(b.name.startswith(k) for k in keys)]
        if not books:
            raise SystemExit(f"--only {only!r} matches no notebook; choose from the NN prefixes in notebooks/")
    return books


#: benchmarks about the CPU itself (thread pools, DeepXDE's CPU comparison is inside pinn_step)
CPU_ONLY_BENCHMARKS = {"threads"}
#: extra arguments of a full (not ``--quick``) ``bench`` run: time_to_accuracy's own default is the
#: issue's 30 min per engine (1 h); ``bench`` gives each engine 10 min (20 min in all)
BENCH_FULL_ARGS = {"time_to_accuracy": ["--budget-s", "600"]}


def _execute(books: list[Path], mode: str, device: str, save_figs: bool) -> list[dict]:
    import papermill as pm

    out_dir = ROOT / "build" / "notebooks"
    html_dir = ROOT / "build" / "html"
    out_dir.mkdir(parents=True, exist_ok=True)
    html_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PINNLAB_MODE"] = mode
    summary = []
    for i, nb in enumerate(books, 1):
        print(f"[{i}/{len(books)}] {nb.name} (mode={mode}, device={device}) ...", flush=True)
        t0 = time.perf_counter()
        out = out_dir / nb.name
        pm.execute_notebook(str(nb), str(out), cwd=str(nb.parent), progress_bar=True, kernel_name="python3",
                            parameters={"MODE": mode, "DEVICE": device, "SAVE_FIGS": save_figs})
        wall = time.perf_counter() - t0
        subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--log-level", "WARN",
                        "--output-dir", str(html_dir), str(out)], check=False)
        print(f"    done in {wall:.0f} s -> {out.relative_to(ROOT)}", flush=True)
        summary.append({"notebook": nb.name, "wall_time_s": round(wall, 1)})
    return summary


def _metrics_table(mode: str) -> None:
    base = ROOT / ("build/results/quick" if mode == "quick" else "figures")
    paths = sorted(base.glob(f"*/{mode}/metrics.json") if mode != "quick" else base.glob("*/metrics.json"))
    if not paths:
        return
    print(f"\n{'experiment':28s} {'preset':7s} {'device':24s} {'wall s':>8s}  commit")
    for p in paths:
        m = json.loads(p.read_text())
        name = p.parent.parent.name if mode != "quick" else p.parent.name
        print(f"{name:28s} {m['preset']:7s} {m['device'][:24]:24s} {m['wall_time_s']:8.0f}  {m['commit']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pinnlab", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("run", "workbook", "figures"):
        p = sub.add_parser(name)
        if name == "run":
            p.add_argument("name")
            p.add_argument("--seed", type=int, default=0)
        else:
            p.add_argument("--only", default=None, help="comma-separated notebook prefixes, e.g. 01,02")
        p.add_argument("--mode", default="quick", choices=MODES)
        p.add_argument("--device", default="auto", choices=DEVICES)
    b = sub.add_parser("bench")
    b.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    b.add_argument("--quick", action="store_true", help="fewer repeats (each script about a minute)")
    b.add_argument("--only", default=None, help="comma-separated script names, e.g. roofline,multitask")
    args = ap.parse_args(argv)

    if args.cmd == "run":
        from . import setup
        from .experiments import EXPERIMENTS

        if args.name not in EXPERIMENTS:
            ap.error(f"unknown experiment {args.name!r}; choose from {', '.join(EXPERIMENTS)}")
        cfg = setup(mode=args.mode, seed=args.seed, device=args.device)
        t0 = time.perf_counter()
        res = EXPERIMENTS[args.name](cfg)
        print(json.dumps(getattr(res, "metrics", res), indent=1, default=str)[:4000])
        print(f"{args.name} ({args.mode}) finished in {time.perf_counter() - t0:.0f} s")
        return 0
    if args.cmd in ("workbook", "figures"):
        books = _notebooks(args.only)
        t0 = time.perf_counter()
        summary = _execute(books, args.mode, args.device, save_figs=args.cmd == "figures" or args.mode != "quick")
        print(f"\n{'notebook':44s} {'wall s':>8s}")
        for s in summary:
            print(f"{s['notebook']:44s} {s['wall_time_s']:8.0f}")
        print(f"{'total':44s} {time.perf_counter() - t0:8.0f}")
        _metrics_table(args.mode)
        return 0
    if args.cmd == "bench":
        rc = 0
        only = None if args.only is None else {s.strip().removesuffix(".py") for s in args.only.split(",")}
        scripts = sorted((ROOT / "benchmarks").glob("*.py"))
        unknown = (only or set()) - {s.stem for s in scripts}
        if unknown:
            ap.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; choose from "
                     f"{', '.join(s.stem for s in scripts)}")
        for script in scripts:
            if only is not None and script.stem not in only:
                continue
            if args.device != "cpu" and script.stem in CPU_ONLY_BENCHMARKS:
                print(f"\n=== {script.name}: CPU only, skipped on {args.device} ===", flush=True)
                continue
            print(f"\n=== {script.name} ===", flush=True)
            extra = (["--quick"] if args.quick else BENCH_FULL_ARGS.get(script.stem, [])) + ["--device", args.device]
            rc |= subprocess.run([sys.executable, str(script), *extra], cwd=ROOT).returncode
        return rc
    return 1


if __name__ == "__main__":
    sys.exit(main())
