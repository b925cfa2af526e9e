"""Notebook 03: Paper A's hypernetwork benchmarks (Table 2) and time to a new solution (Table 3).

For one PDE family (:func:`hyper_benchmarks`):

1. a base PINN on task T0 (the same T0 as notebook 02: Kovasznay Re = 60, 2D Burgers
   ν = 5.5e-4, 1D Burgers a separate GRF draw), trained once and frozen;
2. training / validation / test tasks (Paper A: 1D Burgers 100/20/20 GRF initial conditions,
   Kovasznay and 2D Burgers 20/20/20), drawn as in notebook 02;
3. rank-4 LoRA PINNs on every training and validation task, all in one batched run
   (:func:`pinnlab.multitask.fit_tasks`) — the "separately trained PINNs" that B2 regresses
   onto and that generate B3's data;
4. the hypernetworks: B1, B2, B3 at rank 4 and B4 at every rank of the preset (and ``"*"``),
   each trained by :func:`pinnlab.hyper.fit_hyper` on all training tasks at once;
5. train / valid / test MSE of every hypernetwork against the reference on a fixed grid;
6. Table 3 on the first test task: a PINN from scratch, a fine-tuned base (F-PINN) and a
   rank-4 LoRA, each trained alone with the preset's schedule (Adam at Paper A's 1e-3) — wall time, and the time at
   which its test MSE first reached the HyperPINN's — against the HyperPINN's inference
   time (predict the weights, evaluate them on the grid).

Everything is stored under the preset's results folder and reloaded on a second call; a killed
run resumes from its checkpoints.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .. import hyper as H
from ..config import Config
from ..models import MLP, HyperNet, LoRAMLP
from ..pdes import PDE, Burgers1D
from ..train import fit, sample_points
from .lora_rank_study import (TITLES, eval_set, fit_tasks_cached, make_tasks, map_set, prediction_maps,
                              task_points)
from .pinn_basics import base_widths
from .store import PerPDE, Store, run_per_pde

NAME = "03_hypernetwork_benchmarks"
PDE_NAMES = ("burgers1d", "kovasznay", "burgers2d")
PINN_RANK = 4  # rank of the separately trained LoRA PINNs (B2 targets, B3 data) and of B1–B3

#: Paper A, Table 2: test MSE by (method, rank); None where the printed number is unreadable
PAPER_TABLE2 = {
    "kovasznay": {("B1", 4): 5.23e-7, ("B2", 4): 3.19e-3, ("B3", 4): 5.2e-7, ("B4", 1): 1.80e-6,
                  ("B4", 2): 8.25e-7, ("B4", 4): 4.84e-7, ("B4", 8): 7.22e-7, ("B4", "*"): 4.42e-3},
    "burgers1d": {("B1", 4): 3.22e-4, ("B2", 4): 4.17e-3, ("B3", 4): 3.35e-4, ("B4", 1): 1.17e-5,
                  ("B4", 2): None, ("B4", 4): None, ("B4", 8): None, ("B4", "*"): 3.97e-3},
    "burgers2d": {("B1", 4): 1.16e-4, ("B2", 4): 2.15e-2, ("B3", 4): 1.19e-4, ("B4", 1): 7.35e-4,
                  ("B4", 2): 8.22e-5, ("B4", 4): 4.19e-5, ("B4", 8): 4.10e-5, ("B4", "*"): 2.05e-2},
}
#: Paper A, Table 3: seconds to a solution of a new task on a P100 (PINN, F-PINN, LoRA PINN, HyperPINN)
PAPER_TABLE3 = {"burgers1d": (8400, 7000, 600, 1.1), "kovasznay": (6600, 4400, 720, 1.2),
                "burgers2d": (9900, 8415, 602, 1.2)}


# ----------------------------------------------------------------------------- sizes
def settings(cfg: Config) -> dict:
    """Task counts, ranks, schedules and point counts per preset (one code path for all)."""
    pts = {
        "quick": {"burgers1d": {"collocation": 128, "ic": 128, "bc": 32},
                  "kovasznay": {"collocation": 128, "ic": 0, "bc": 80},
                  "burgers2d": {"collocation": 128, "ic": 64, "bc": 64}},
        "medium": {"burgers1d": {"collocation": 500, "ic": 128, "bc": 64},
                   "kovasznay": {"collocation": 500, "ic": 0, "bc": 160},
                   "burgers2d": {"collocation": 500, "ic": 150, "bc": 200}},
        "full": {"burgers1d": {"collocation": 10000, "ic": 128, "bc": 256},
                 "kovasznay": {"collocation": 2601, "ic": 0, "bc": 320},
                 "burgers2d": {"collocation": 10000, "ic": 500, "bc": 400}},
    }
    return {
        "splits": cfg.pick(quick={"burgers1d": (6, 2, 2), "kovasznay": (6, 2, 2), "burgers2d": (6, 2, 2)},
                           medium={"burgers1d": (16, 4, 4), "kovasznay": (8, 4, 4), "burgers2d": (8, 4, 4)},
                           full={"burgers1d": (100, 20, 20), "kovasznay": (20, 20, 20), "burgers2d": (20, 20, 20)}),
        "ranks_b4": cfg.pick(quick=(1, 4, "*"), medium=(1, 4, 8, "*"), full=(1, 2, 4, 8, "*")),
        # hypernetwork: Adam 15k epochs, lr 1e-3 for 5k, then x0.1 every 3k (Paper A)
        "hyper_epochs": cfg.pick(quick=150, medium=2000, full=15000),
        "hyper_first_decay": cfg.pick(quick=100, medium=1000, full=5000),
        "hyper_decay_every": cfg.pick(quick=50, medium=500, full=3000),
        "hyper_patience": cfg.pick(quick=None, medium=None, full=None),
        "hyper_lr": cfg.pick(quick=1e-3, medium=1e-3, full=1e-3),
        "hidden": HyperNet.HIDDEN,
        # the separately trained LoRA PINNs and the base (Paper A's PINN schedule, shortened)
        "pinn_epochs": cfg.pick(quick=150, medium=2000, full=30000),
        "pinn_decay_every": cfg.pick(quick=75, medium=1000, full=10000),
        "pinn_patience": cfg.pick(quick=None, medium=500, full=1000),
        "pinn_lbfgs_iters": cfg.pick(quick=0, medium=50, full=2000),
        "pinn_lr": cfg.pick(quick=3e-3, medium=1e-3, full=1e-3),
        "base_epochs": cfg.pick(quick=600, medium=3000, full=30000),
        "base_decay_every": cfg.pick(quick=300, medium=1000, full=10000),
        "base_lbfgs_iters": cfg.pick(quick=300, medium=500, full=2000),
        "base_lr": cfg.pick(quick=3e-3, medium=1e-3, full=1e-3),  # quick: few epochs, a larger step
        "val_every": cfg.pick(quick=25, medium=50, full=100),
        "log_every": cfg.pick(quick=10, medium=25, full=100),
        # Table 3: single-task fits of a new task
        "table3_epochs": cfg.pick(quick=150, medium=3000, full=30000),
        "table3_decay_every": cfg.pick(quick=75, medium=1000, full=10000),
        "table3_patience": cfg.pick(quick=None, medium=1000, full=1000),
        "table3_eval_every": cfg.pick(quick=25, medium=50, full=100),
        "n_points": cfg.pick(quick=pts["quick"], medium=pts["medium"], full=pts["full"]),
        "burgers2d_eval_grid": cfg.pick(quick=(41, 41, 6), medium=(101, 101, 11), full=(101, 101, 11)),
    }


def method_keys(s: dict) -> list[str]:
    """Stored hypernetworks in table order: ``B1_r4``, ``B2_r4``, ``B3_r4``, ``B4_r1``, …, ``B4_r*``."""
    return [f"{m}_r{PINN_RANK}" for m in ("B1", "B2", "B3")] + [f"B4_r{r}" for r in s["ranks_b4"]]


def parse_key(key: str) -> tuple[str, int | str]:
    """``"B4_r4"`` → ``("B4", 4)``; ``"B4_r*"`` → ``("B4", "*")``."""
    method, r = key.split("_r")
    return method, (r if r == "*" else int(r))


def key_label(key: str) -> str:
    method, r = parse_key(key)
    return f"{method} r={r}" if r != "*" else f"{method} *"


def make_splits(pde_name: str, s: dict, seed: int) -> tuple[PDE, dict[str, list[PDE]]]:
    """Base task T0 and ``{"train", "valid", "test"}`` task lists (notebook 02's draws, in order)."""
    n_tr, n_va, n_te = s["splits"][pde_name]
    base_pde, tasks = make_tasks(pde_name, n_tr + n_va + n_te, seed)
    return base_pde, {"train": tasks[:n_tr], "valid": tasks[n_tr:n_tr + n_va], "test": tasks[n_tr + n_va:]}


def _forget_if_settings_changed(store: Store, pde_name: str, s: dict) -> None:
    """Stored runs made with other sizes are deleted, never silently reused."""
    store.forget_if_settings_changed(pde_name, {k: v for k, v in s.items() if k not in ("n_points", "splits")}
                                     | {"n_points": s["n_points"][pde_name], "splits": s["splits"][pde_name]})


# ----------------------------------------------------------------------------- result
@dataclass
class HyperBenchmark:
    """One PDE's benchmarks: tasks, base network, every trained hypernetwork and the metrics."""

    cfg: Config
    pde_name: str
    base_pde: PDE
    splits: dict
    base: MLP
    hypers: dict
    fits: dict
    metrics: dict
    settings: dict = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return list(self.hypers)

    @property
    def tasks(self) -> list[PDE]:
        """The test tasks."""
        return self.splits["test"]

    def predict(self, key: str, pdes: list[PDE], points: torch.Tensor) -> np.ndarray:
        """Predicted solutions ``[T, N, m]`` of hypernetwork ``key`` (``"base"``: the base net) for ``pdes``."""
        p = self.cfg
        if key == "base":
            with torch.no_grad():
                out = self.base(points.to(p.device, p.dtype)).double().cpu().numpy()
            return np.broadcast_to(out, (len(pdes), *out.shape))
        return H.predict(self.hypers[key], H.task_matrix(pdes).to(p.device, p.dtype),
                         points.to(p.device, p.dtype)).double().cpu().numpy()

    def maps(self, key: str, task: int | PDE) -> dict:
        """Prediction, reference and |error| of the first output on a 2D map for a test task
        (index) or any task of the family (a PDE object; e.g. a slider's new Re)."""
        pde = self.tasks[task] if isinstance(task, int) else task
        m = map_set(self.pde_name, pde)
        label = "base (T0), no hypernetwork" if key == "base" else f"HyperPINN {key_label(key)}"
        return prediction_maps(self.pde_name, pde, m, self.predict(key, [pde], m["points"])[0], method=label,
                               key=key, task=task if isinstance(task, int) else None)


# ----------------------------------------------------------------------------- experiment
def _eval_refs(pde_name: str, pdes: list[PDE], s: dict) -> tuple[torch.Tensor, np.ndarray]:
    sets = [eval_set(pde_name, p, s) for p in pdes]
    return sets[0][0], np.stack([r for _, r in sets])


def _table3(pde_name: str, test_pde: PDE, base: MLP, hyper: HyperNet, s: dict,
            cfg: Config) -> dict:
    """Time to a solution of one new task: three single-task fits against hypernetwork inference."""
    grid, ref = eval_set(pde_name, test_pde, s)
    ref_t = torch.as_tensor(ref)
    z = H.task_vector(test_pde).to(cfg.device, cfg.dtype)
    g = grid.to(cfg.device, cfg.dtype)
    hyper_mse = float(H.split_mse(hyper, z[None], grid, ref[None])[0])
    inf = H.time_inference(hyper, z, g, repeats=cfg.pick(quick=10, full=30))
    out = {"task": test_pde.params | ({"u0_max": float(np.abs(test_pde.u0).max())}
                                      if isinstance(test_pde, Burgers1D) else {}),
           "grid_points": int(grid.shape[0]), "hyper": {"rank": hyper.rank, "test_mse": hyper_mse,
                                                         "inference_ms": inf["median_ms"],
                                                         "inference_min_ms": inf["min_ms"]}}
    n = s["n_points"][pde_name]
    pts = sample_points(test_pde, n["collocation"], n["ic"], n["bc"], cfg.generator(9001), cfg.dtype)
    val = sample_points(test_pde, n["collocation"], n["ic"], n["bc"], cfg.generator(9002), cfg.dtype)
    quiet = replace(cfg, progress=False)
    for method in ("pinn", "fpinn", "lora_r4"):
        if method == "pinn":
            model = MLP(base.widths, generator=cfg.generator(300))
        elif method == "fpinn":
            model = MLP.stack([base]).task(0)
        else:
            model = LoRAMLP(base, PINN_RANK, generator=cfg.generator(404))
        model.to(cfg.device, cfg.dtype)
        trace = {"epoch": [], "time_s": [], "test_mse": []}
        t0, spent = time.perf_counter(), [0.0]

        def watch(epoch, _terms, model=model, trace=trace, t0=t0, spent=spent):
            t1 = time.perf_counter()
            with torch.no_grad():
                mse = float((model(g).double().cpu() - ref_t).pow(2).mean())
            trace["epoch"].append(epoch)
            trace["time_s"].append(t1 - t0 - spent[0])
            trace["test_mse"].append(mse)
            spent[0] += time.perf_counter() - t1

        res = fit(model, test_pde, quiet, epochs=s["table3_epochs"], lr=1e-3, decay_every=s["table3_decay_every"],
                  patience=s["table3_patience"], val_every=s["val_every"], points=pts, val_points=val,
                  log_every=s["table3_eval_every"], callback=watch)
        wall = time.perf_counter() - t0 - spent[0]
        with torch.no_grad():
            mse = float((model(g).double().cpu() - ref_t).pow(2).mean())
        reached = [t for t, m in zip(trace["time_s"], trace["test_mse"]) if m <= hyper_mse]
        out[method] = {"wall_time_s": wall, "epochs": res.epochs, "s_per_epoch": wall / max(res.epochs, 1),
                       "test_mse": mse, "time_to_hyper_mse_s": reached[0] if reached else None, "trace": trace,
                       "trainable_params": model.count_params()}
    out["device"] = cfg.describe()["device"]
    return out


def hyper_benchmarks(pde_name: str, cfg: Config) -> HyperBenchmark:
    """Run (or reload) Table 2 and Table 3 for one PDE (``"burgers1d"``, ``"kovasznay"``, ``"burgers2d"``).

    Writes ``metrics.json`` with ``results[pde_name]`` (other PDEs' entries are kept), e.g.
    ``results["kovasznay"]["hyper"]["B4_r4"]["test_mse"]`` and ``results["kovasznay"]["table3"]``.
    """
    if pde_name not in PDE_NAMES:
        raise ValueError(f"unknown PDE {pde_name!r}; allowed: {', '.join(PDE_NAMES)}")
    store = Store(cfg, NAME)
    s = settings(cfg)
    n = s["n_points"][pde_name]
    _forget_if_settings_changed(store, pde_name, s)
    base_pde, splits = make_splits(pde_name, s, cfg.seed)
    title = TITLES[pde_name]

    # 1. the base network on T0
    base = MLP(base_widths(base_pde.dim, len(base_pde.outputs)), generator=cfg.generator(13))
    bres = store.fit(f"{pde_name}_base", base, base_pde,
                     points=sample_points(base_pde, n["collocation"], n["ic"], n["bc"], cfg.generator(11), cfg.dtype),
                     val_points=sample_points(base_pde, n["collocation"], n["ic"], n["bc"], cfg.generator(12),
                                              cfg.dtype),
                     epochs=s["base_epochs"], lr=s["base_lr"], decay_every=s["base_decay_every"], patience=None,
                     val_every=s["val_every"], lbfgs_iters=s["base_lbfgs_iters"], log_every=s["log_every"],
                     desc=f"{title} base")
    base.requires_grad_(False)

    # 2. task sets (points and reference data)
    sets = {name: H.make_task_set(tasks, task_points(pde_name, tasks, n, cfg, 1000 * (k + 1)), cfg)
            for k, (name, tasks) in enumerate(splits.items())}

    # 3. separately trained rank-4 LoRA PINNs on the training + validation tasks, one batched run
    fit_pdes = splits["train"] + splits["valid"]
    pinns = LoRAMLP(base, PINN_RANK, n_tasks=len(fit_pdes), generator=cfg.generator(400))
    with torch.no_grad():  # every task starts from the same factors, so the trained ones are comparable
        for A in pinns.A:
            A.copy_(A[0:1].expand_as(A))
    pts = task_points(pde_name, fit_pdes, n, cfg, 5000)
    pres = fit_tasks_cached(store, f"{pde_name}_lora_pinns", pinns, fit_pdes, cfg, points=pts,
                            val_points=task_points(pde_name, fit_pdes, n, cfg, 6000), epochs=s["pinn_epochs"], lr=s["pinn_lr"],
                            decay_every=s["pinn_decay_every"], patience=s["pinn_patience"],
                            val_every=s["val_every"], lbfgs_iters=s["pinn_lbfgs_iters"], log_every=s["log_every"],
                            desc=f"{title} LoRA PINNs")
    n_tr = len(splits["train"])
    with torch.no_grad():
        y_pinn = pinns(torch.cat([sets["train"].x_data, sets["valid"].x_data]))
    w_pinn = H.flatten_lora(pinns)
    for name, sl in (("train", slice(0, n_tr)), ("valid", slice(n_tr, None))):
        sets[name].y_pinn, sets[name].w_pinn = y_pinn[sl], w_pinn[sl].to(cfg.device, cfg.dtype)

    # 4. the hypernetworks
    shift, scale = H.normalizer(sets["train"].z.double().cpu())
    hypers, fits = {}, {}
    schedule = {"epochs": s["hyper_epochs"], "lr": s["hyper_lr"], "first_decay": s["hyper_first_decay"],
                "decay_every": s["hyper_decay_every"], "patience": s["hyper_patience"], "val_every": s["val_every"],
                "log_every": s["log_every"]}
    for key in method_keys(s):
        method, rank = parse_key(key)
        hyper = HyperNet(sets["train"].z.shape[1], base, rank, hidden=s["hidden"], shift=shift, scale=scale,
                         generator=cfg.generator(700))
        state, saved = store.load_state(key_file(pde_name, key)), store.load_json(key_file(pde_name, key))
        if state is not None and saved is not None:
            hyper.load_state_dict(state)
            hyper.to(cfg.device, cfg.dtype)
            fits[key] = H.HyperFitResult(**saved)
        else:
            fits[key] = H.fit_hyper(method, hyper, sets["train"], sets["valid"], cfg, desc=f"{title} {key_label(key)}",
                                    checkpoint=store.path(key_file(pde_name, key) + ".ckpt"), **schedule)
            store.save_state(key_file(pde_name, key), hyper.state_dict())
            store.save_json(key_file(pde_name, key), fits[key].__dict__)
            store.path(key_file(pde_name, key) + ".ckpt").unlink(missing_ok=True)
        hyper.requires_grad_(False)
        hypers[key] = hyper

    # 5. MSE against the reference on the evaluation grid, per split
    results = {"settings": {k: v for k, v in s.items() if k not in ("n_points", "splits")}
               | {"n_points": n, "splits": dict(zip(("train", "valid", "test"), s["splits"][pde_name]))},
               "base": {"params": base.count_params(), "task0": base_pde.params, "epochs": bres.epochs,
                        "wall_time_s": bres.wall_time_s},
               "lora_pinns": {"rank": PINN_RANK, "tasks": len(fit_pdes), "wall_time_s": pres.wall_time_s,
                              "s_per_epoch": pres.s_per_epoch, "epochs_mean": float(np.mean(pres.epochs))},
               "hyper": {}}
    refs = {name: _eval_refs(pde_name, tasks, s) for name, tasks in splits.items()}
    for name, (grid, ref) in refs.items():
        with torch.no_grad():
            out = base(grid.to(cfg.device, cfg.dtype)).double().cpu().numpy()
        results["base"][f"{name}_mse"] = float(((out[None] - ref) ** 2).mean())
    for key, hyper in hypers.items():
        method, rank = parse_key(key)
        f = fits[key]
        row = {"method": method, "rank": rank, "n_out": hyper.n_out, "hyper_params": hyper.net.count_params(),
               "epochs": f.epochs, "status": f.status, "s_per_epoch": f.s_per_epoch, "wall_time_s": f.wall_time_s,
               "first_loss": f.first_loss, "final_loss": f.final_loss, "best_val": f.best_val}
        for name, (grid, ref) in refs.items():
            mse = H.split_mse(hyper, sets[name].z, grid, ref)
            row[f"{name}_mse"], row[f"{name}_mse_std"] = float(mse.mean()), float(mse.std())
            if name == "test":
                row["test_mse_per_task"] = mse.tolist()
        results["hyper"][key] = row

    # 6. Table 3 on the first test task, against the rank-4 HyperPINN (B4)
    t3_key = f"B4_r{PINN_RANK}"
    results["table3"] = store.cached(f"{pde_name}_table3",
                                     lambda: _table3(pde_name, splits["test"][0], base, hypers[t3_key], s, cfg))
    results["table3"]["hyper"]["key"] = t3_key
    results["table3"]["hyper"]["train_wall_time_s"] = fits[t3_key].wall_time_s
    results["wall_time_s"] = (bres.wall_time_s + pres.wall_time_s + sum(f.wall_time_s for f in fits.values())
                              + sum(results["table3"][m]["wall_time_s"] for m in ("pinn", "fpinn", "lora_r4")))

    old = (store.load_json("metrics") or {}).get("results", {})
    merged = {k: v for k, v in old.items() if k in PDE_NAMES and k != pde_name} | {pde_name: results}
    store.write_metrics(merged, wall_time_s=sum(v["wall_time_s"] for v in merged.values()))
    return HyperBenchmark(cfg, pde_name, base_pde, splits, base, hypers, fits, results, s)


def key_file(pde_name: str, key: str) -> str:
    """Store key of a hypernetwork (``*`` spelled ``all`` in file names)."""
    return f"{pde_name}_hyper_{key.replace('*', 'all')}"


Benchmarks = PerPDE  # {pde_name: result} with the combined .metrics


def hyper_benchmarks_all(cfg: Config) -> PerPDE:
    """:func:`hyper_benchmarks` for the three PDEs of Paper A's Tables 2 and 3."""
    return run_per_pde(hyper_benchmarks, PDE_NAMES, TITLES, cfg)


__all__ = ["Benchmarks", "HyperBenchmark", "PAPER_TABLE2", "PAPER_TABLE3", "hyper_benchmarks",
           "hyper_benchmarks_all", "key_label", "method_keys", "parse_key", "settings"]
