"""Notebook 02: Paper A's LoRA rank study (Table 1), every method trained as one batched model.

For one PDE family: a base PINN is trained on task T0; then the test tasks are solved by

* **PINN** — a fresh network per task (random initialisation),
* **F-PINN** — every weight fine-tuned, starting from the base network,
* **L-PINN** — LoRA of rank r on every linear map of the frozen base (r = 1 … 64),

each method's tasks stacked on a task axis and trained together by
:func:`pinnlab.multitask.fit_tasks` (per-task early stopping and history). Every method's
run is stored separately, so a killed run resumes and a second call reloads in seconds.

Tasks (Paper A, ``TARGETS.md``): Kovasznay Re ∈ [20, 100]; 2D Burgers ν ∈ [1e-4, 1e-3]
(the front rises over about 25ν, i.e. 2.5e-3 at ν = 1e-4 against 0.025 at ν = 1e-3); 1D
Burgers GRF initial conditions with ν = 0.01. T0 is the middle of the range (Re = 60,
ν = 5.5e-4) or a separate GRF draw.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..config import Config
from ..models import MLP, EngineModel, LoRAMLP
from ..multitask import MultiFitResult, fit_tasks
from ..pdes import PDE, Burgers1D, Burgers2D, Kovasznay, grf
from ..train import Points, fit, sample_points
from .pinn_basics import base_widths
from .store import PerPDE, Store, run_per_pde

NAME = "02_lora_rank_study"
PDE_NAMES = ("burgers1d", "kovasznay", "burgers2d")
TITLES = {"burgers1d": "1D Burgers", "kovasznay": "Kovasznay", "burgers2d": "2D Burgers"}
ALL_RANKS = (1, 2, 4, 8, 16, 32, 64)

#: Paper A, Table 1: method -> (trainable params, test MSE, s/epoch on a P100, epochs)
PAPER_TABLE1 = {
    "burgers1d": {"pinn": (21057, 4.54e-6, 0.28, 30000), "fpinn": (21057, 1.93e-6, 0.28, 25000),
                  1: (643, 1.95e-6, 0.01, 30000), 2: (1286, 1.54e-6, 0.03, 25000), 4: (2572, 7.00e-7, 0.05, 12000),
                  8: (5144, 8.89e-7, 0.09, 12500), 16: (10288, 1.00e-6, 0.12, 20000),
                  32: (20576, 1.03e-6, 0.16, 20000), 64: (41152, 1.15e-6, 0.28, 30000)},
    "kovasznay": {"pinn": (21187, 1.05e-6, 0.22, 30000), "fpinn": (21187, 6.36e-7, 0.22, 20000),
                  1: (645, 8.16e-7, 0.02, 30000), 2: (1290, 6.68e-7, 0.04, 20000), 4: (2580, 3.85e-7, 0.06, 12000),
                  8: (5160, 5.59e-7, 0.09, 12500), 16: (10320, 9.35e-7, 0.14, 20000),
                  32: (20640, 9.74e-7, 0.16, 30000), 64: (41280, 1.18e-6, 0.22, 30000)},
    "burgers2d": {"pinn": (21187, 3.25e-5, 0.33, 30000), "fpinn": (21187, 2.69e-5, 0.33, 25500),
                  1: (645, 3.81e-4, 0.02, 30000), 2: (1290, 7.02e-5, 0.04, 25000), 4: (2580, 1.17e-5, 0.05, 12000),
                  8: (5160, 2.73e-5, 0.10, 13000), 16: (10320, 2.89e-5, 0.14, 20000),
                  32: (20640, 2.94e-5, 0.17, 20000), 64: (41280, 3.01e-5, 0.36, 30000)},
}


# ----------------------------------------------------------------------------- sizes
def settings(cfg: Config) -> dict:
    """Task counts, ranks, schedules and point counts per preset (same code path in all)."""
    quick = {"burgers1d": {"collocation": 256, "ic": 128, "bc": 64},
             "kovasznay": {"collocation": 256, "ic": 0, "bc": 80},
             "burgers2d": {"collocation": 256, "ic": 100, "bc": 100}}
    medium = {"burgers1d": {"collocation": 1000, "ic": 128, "bc": 128},
              "kovasznay": {"collocation": 1000, "ic": 0, "bc": 320},
              "burgers2d": {"collocation": 1000, "ic": 250, "bc": 200}}
    full = {"burgers1d": {"collocation": 10000, "ic": 128, "bc": 256},
            "kovasznay": {"collocation": 2601, "ic": 0, "bc": 320},
            "burgers2d": {"collocation": 10000, "ic": 500, "bc": 400}}
    return {
        "n_tasks": cfg.pick(quick=3, medium=4, full=20),
        "ranks": cfg.pick(quick=(1, 4, 16), full=ALL_RANKS),
        "epochs": cfg.pick(quick=200, medium=1200, full=30000),
        "decay_every": cfg.pick(quick=100, medium=500, full=10000),
        "patience": cfg.pick(quick=75, medium=300, full=1000),
        "val_every": cfg.pick(quick=25, medium=50, full=100),
        "lbfgs_iters": cfg.pick(quick=10, medium=50, full=2000),
        "log_every": cfg.pick(quick=10, medium=25, full=200),
        "base_epochs": cfg.pick(quick=1500, medium=3000, full=30000),
        "base_decay_every": cfg.pick(quick=750, medium=1000, full=10000),
        "base_patience": cfg.pick(quick=None, medium=1000, full=1000),
        "base_lbfgs_iters": cfg.pick(quick=200, medium=500, full=2000),
        "n_points": cfg.pick(quick=quick, medium=medium, full=full),
        "burgers2d_eval_grid": (101, 101, 11),  # (x, y, t); the fronts are thin, a coarse grid misses them
    }


def method_names(ranks) -> list[str]:
    return ["pinn", "fpinn", *[f"lora_r{r}" for r in ranks]]


def method_label(method: str) -> str:
    return {"pinn": "PINN", "fpinn": "F-PINN", "base": "base (T0)"}.get(method, method.replace("lora_r", "L-PINN r="))


# ----------------------------------------------------------------------------- tasks
def make_tasks(pde_name: str, n_tasks: int, seed: int = 0) -> tuple[PDE, list[PDE]]:
    """The base task T0 and ``n_tasks`` test tasks of one family (reproducible from ``seed``)."""
    rng = np.random.default_rng(seed + 2024)
    if pde_name == "kovasznay":
        return Kovasznay(60.0), [Kovasznay(float(r)) for r in rng.uniform(20.0, 100.0, n_tasks)]
    if pde_name == "burgers2d":
        return Burgers2D(5.5e-4), [Burgers2D(float(v)) for v in rng.uniform(1e-4, 1e-3, n_tasks)]
    if pde_name == "burgers1d":
        u0_base = grf(1, 128, seed=seed + 7)[0]
        return Burgers1D(u0_base, nu=0.01), [Burgers1D(u0, nu=0.01) for u0 in grf(n_tasks, 128, seed=seed + 8)]
    raise ValueError(f"unknown PDE {pde_name!r}; allowed: {', '.join(PDE_NAMES)}")


def task_label(pde_name: str, pde: PDE) -> str:
    if pde_name == "kovasznay":
        return f"Re = {pde.Re:.1f}"
    if pde_name == "burgers2d":
        return f"ν = {pde.nu:.2e}"
    return f"GRF IC, max|u0| = {np.abs(pde.u0).max():.2f}"


def eval_set(pde_name: str, pde: PDE, s: dict) -> tuple[torch.Tensor, np.ndarray]:
    """Test points (float64 ``[N, d]``) and the exact/reference solution ``[N, m]`` for test MSE."""
    if pde_name == "burgers1d":
        x, t, U = pde.reference_grid()
        X, Tt = np.meshgrid(x, t)
        return torch.tensor(np.stack([X.ravel(), Tt.ravel()], 1)), U.reshape(-1, 1)
    if pde_name == "burgers2d":
        nx, ny, nt = s["burgers2d_eval_grid"]
        pts, _ = pde.grid({"x": nx, "y": ny, "t": nt})
    else:
        pts, _ = pde.grid(101)
    return pts, pde.solution(pts).numpy()


def map_set(pde_name: str, pde: PDE) -> dict:
    """A 2D picture of the first output: points, reference map, extent and axis labels."""
    if pde_name == "burgers1d":
        x, t, U = pde.reference_grid()
        X, Tt = np.meshgrid(x, t)
        pts = torch.tensor(np.stack([X.ravel(), Tt.ravel()], 1))
        return {"points": pts, "shape": U.shape, "transpose": False, "ref": U, "extent": (0, 1, 0, 1),
                "labels": ("x", "t"), "what": "u(x, t)"}
    fixed = {"t": 0.5} if pde_name == "burgers2d" else None
    pts, shape = pde.grid(101, fixed=fixed)
    ref = pde.solution(pts)[:, 0].numpy().reshape(shape).T
    (x0, x1), (y0, y1) = pde.domain["x"], pde.domain["y"]
    what = "u(x, y) at t = 0.5" if fixed else "u(x, y)"
    return {"points": pts, "shape": shape, "transpose": True, "ref": ref, "extent": (x0, x1, y0, y1),
            "labels": ("x", "y"), "what": what}


def prediction_maps(pde_name: str, pde: PDE, m: dict, out: np.ndarray, **extra) -> dict:
    """The maps of one prediction: ``out`` ``[N, m]`` is the network's output on ``m["points"]`` (``m``
    from :func:`map_set` for ``pde``). Returns ``m``'s reference, extent, axis labels and "what", the
    first output's map ``"pred"``, ``"err"`` = |pred − ref|, the ``extra`` entries, ``"map_mse"`` and a
    ``"title"`` naming the task."""
    pred = out[:, 0].reshape(m["shape"])
    if m["transpose"]:
        pred = pred.T
    return {**{k: m[k] for k in ("ref", "extent", "labels", "what")}, "pred": pred, "err": np.abs(pred - m["ref"]),
            **extra, "map_mse": float(np.mean((pred - m["ref"]) ** 2)),
            "title": f"{TITLES[pde_name]}, {task_label(pde_name, pde)}"}


def task_points(pde_name: str, tasks: list[PDE], n: dict, cfg: Config, offset: int) -> list[Points]:
    return [sample_points(p, n["collocation"], n["ic"], n["bc"], cfg.generator(offset + 10 * i), cfg.dtype)
            for i, p in enumerate(tasks)]


# ----------------------------------------------------------------------------- models
def make_model(method: str, base: MLP, n_tasks: int, cfg: Config) -> EngineModel:
    """PINN (random init), F-PINN (stacked copies of the base) or ``lora_r<r>`` for ``n_tasks`` tasks."""
    if method == "pinn":
        return MLP(base.widths, n_tasks=n_tasks, generator=cfg.generator(300))
    if method == "fpinn":
        return MLP.stack([base] * n_tasks)
    if method.startswith("lora_r"):
        r = int(method[len("lora_r"):])
        return LoRAMLP(base, r, n_tasks=n_tasks, generator=cfg.generator(400 + r))
    raise ValueError(f"unknown method {method!r}; allowed: pinn, fpinn, lora_r<rank>")


def fit_tasks_cached(store: Store, key: str, model: EngineModel, pdes: list[PDE], cfg: Config,
                     **kwargs) -> MultiFitResult:
    """:func:`fit_tasks` once, cached as ``key.pt`` + ``key.json``; resumes from ``key.ckpt``."""
    saved = store.trained(key, model, lambda checkpoint: fit_tasks(model, pdes, cfg, checkpoint=checkpoint,
                                                                   **kwargs).__dict__)
    return MultiFitResult(**saved)


def _forget_if_settings_changed(store: Store, pde_name: str, s: dict) -> None:
    """Stored runs of ``pde_name`` made with other sizes are deleted, never silently reused."""
    training = {k: v for k, v in s.items() if k not in ("n_points", "burgers2d_eval_grid")}
    store.forget_if_settings_changed(pde_name, training | {"n_points": s["n_points"][pde_name]})


# ----------------------------------------------------------------------------- result
@dataclass
class LoRAStudy:
    """One PDE's rank study: tasks, the base network, every method's stacked model and metrics."""

    cfg: Config
    pde_name: str
    base_pde: PDE
    tasks: list
    base: MLP
    models: dict
    fits: dict
    metrics: dict
    settings: dict = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return list(self.models)

    def predict(self, method: str, points: torch.Tensor, task: int | None = None) -> np.ndarray:
        """Outputs ``[T, N, m]`` (or ``[N, m]`` for one ``task``; ``method="base"``: the base net)."""
        model = self.base if method == "base" else self.models[method]
        with torch.no_grad():
            out = model(points.to(self.cfg.device, self.cfg.dtype)).double().cpu().numpy()
        if method == "base" or task is None:
            return out
        return out[task]

    def maps(self, method: str, task: int, model: torch.nn.Module | None = None) -> dict:
        """Prediction, reference and |error| maps of the first output for one test task.

        ``model`` (a single-task network) replaces the stored ``method``'s prediction when given.
        """
        m = map_set(self.pde_name, self.tasks[task])
        if model is not None:
            p = next(model.parameters())
            with torch.no_grad():
                out = model(m["points"].to(p.device, p.dtype)).double().cpu().numpy()
        else:
            out = self.predict(method, m["points"], None if method == "base" else task)
        return prediction_maps(self.pde_name, self.tasks[task], m, out, method=method, task=task)


def live_lora_fit(study: LoRAStudy, rank: int, task: int, epochs: int = 150, n_collocation: int = 200,
                  lr: float = 2e-3) -> dict:
    """Fit a fresh rank-``rank`` LoRA of the study's base to one test task, briefly (seconds).

    Returns the maps of :meth:`LoRAStudy.maps` after the fit, the training-loss history,
    the map MSE of the unadapted base for comparison and the wall time.
    """
    cfg = replace(study.cfg, progress=False)
    pde = study.tasks[task]
    n = study.settings["n_points"][study.pde_name]
    pts = sample_points(pde, n_collocation, n["ic"], min(n["bc"], 100), cfg.generator(77 + task), cfg.dtype)
    model = LoRAMLP(study.base, int(rank), generator=cfg.generator(500 + int(rank)))
    t0 = time.perf_counter()
    res = fit(model, pde, cfg, epochs=epochs, lr=lr, decay_every=epochs, patience=None, points=pts,
              val_points=pts, val_every=epochs, log_every=5, desc="live LoRA")
    seconds = time.perf_counter() - t0
    out = study.maps(f"lora_r{int(rank)}", task, model=model)
    out.update({"rank": int(rank), "history": {k: res.history[k] for k in ("epoch", "loss")},
                "base_map_mse": study.maps("base", task)["map_mse"], "seconds": seconds,
                "trainable_params": model.count_trainable(), "method": f"live L-PINN r={int(rank)}"})
    return out


def _summary(method: str, model: EngineModel, res: MultiFitResult, mse: np.ndarray) -> dict:
    T = len(res.epochs)
    trainable = model.count_trainable() if isinstance(model, LoRAMLP) else model.count_params() // T
    first = [h["loss"][0] if h["loss"] else float("nan") for h in res.histories]
    return {"trainable_params": trainable, "test_mse": float(mse.mean()), "test_mse_std": float(mse.std()),
            "test_mse_per_task": mse.tolist(), "s_per_epoch_per_task": res.s_per_epoch / T,
            "s_per_epoch_batched": res.s_per_epoch, "epochs_mean": float(np.mean(res.epochs)),
            "epochs": res.epochs, "status": res.status, "first_loss": first, "final_loss": res.final_loss,
            "wall_time_s": res.wall_time_s}


# ----------------------------------------------------------------------------- experiment
def lora_rank_study(pde_name: str, cfg: Config) -> LoRAStudy:
    """Run (or reload) Table 1 for one PDE (``"burgers1d"``, ``"kovasznay"``, ``"burgers2d"``).

    Writes this PDE's results into ``metrics.json`` under ``results[pde_name]`` (other PDEs'
    entries already there are kept), e.g. ``results["kovasznay"]["lora"]["rank_4"]["test_mse"]``.
    """
    if pde_name not in PDE_NAMES:
        raise ValueError(f"unknown PDE {pde_name!r}; allowed: {', '.join(PDE_NAMES)}")
    store = Store(cfg, NAME)
    s = settings(cfg)
    n = s["n_points"][pde_name]
    base_pde, tasks = make_tasks(pde_name, s["n_tasks"], cfg.seed)
    T = len(tasks)
    _forget_if_settings_changed(store, pde_name, s)
    widths = base_widths(base_pde.dim, len(base_pde.outputs))

    # base network on T0 (single task, the ordinary trainer)
    bpts = sample_points(base_pde, n["collocation"], n["ic"], n["bc"], cfg.generator(11), cfg.dtype)
    bval = sample_points(base_pde, n["collocation"], n["ic"], n["bc"], cfg.generator(12), cfg.dtype)
    base = MLP(widths, generator=cfg.generator(13))
    bres = store.fit(f"{pde_name}_base", base, base_pde, points=bpts, val_points=bval, epochs=s["base_epochs"],
                     decay_every=s["base_decay_every"], patience=s["base_patience"], val_every=s["val_every"],
                     lbfgs_iters=s["base_lbfgs_iters"], log_every=s["log_every"],
                     desc=f"{TITLES[pde_name]} base")

    pts = task_points(pde_name, tasks, n, cfg, 1000)
    val = task_points(pde_name, tasks, n, cfg, 2000)
    schedule = {k: s[k] for k in ("epochs", "decay_every", "patience", "val_every", "lbfgs_iters", "log_every")}
    models, fits = {}, {}
    for method in method_names(s["ranks"]):
        model = make_model(method, base, T, cfg)
        fits[method] = fit_tasks_cached(store, f"{pde_name}_{method}", model, tasks, cfg, points=pts,
                                        val_points=val, desc=f"{TITLES[pde_name]} {method_label(method)}",
                                        **schedule)
        models[method] = model

    # test MSE on the exact / reference solution of every test task
    sets = [eval_set(pde_name, p, s) for p in tasks]
    grid = sets[0][0]
    refs = np.stack([r for _, r in sets])  # [T, N, m]
    base.to(cfg.device, cfg.dtype)
    with torch.no_grad():
        base_out = base(grid.to(cfg.device, cfg.dtype)).double().cpu().numpy()
    base_mse = ((base_out[None] - refs) ** 2).mean(axis=(1, 2))
    b0_pts, b0_ref = eval_set(pde_name, base_pde, s)
    with torch.no_grad():
        b0_out = base(b0_pts.to(cfg.device, cfg.dtype)).double().cpu().numpy()
    results = {
        "settings": {k: v for k, v in s.items() if k != "n_points"} | {"n_points": n},
        "tasks": [p.params | ({"u0_max": float(np.abs(p.u0).max())} if pde_name == "burgers1d" else {})
                  for p in tasks],
        "base": {"trainable_params": base.count_params(), "task0": base_pde.params,
                 "task0_mse": float(np.mean((b0_out - b0_ref) ** 2)), "epochs": bres.epochs,
                 "status": bres.status, "wall_time_s": bres.wall_time_s,
                 "test_mse": float(base_mse.mean()), "test_mse_std": float(base_mse.std()),
                 "test_mse_per_task": base_mse.tolist()},
        "lora": {},
    }
    for method, model in models.items():
        with torch.no_grad():
            out = model(grid.to(cfg.device, cfg.dtype)).double().cpu().numpy()
        mse = ((out - refs) ** 2).mean(axis=(1, 2))
        summ = _summary(method, model, fits[method], mse)
        if method.startswith("lora_r"):
            results["lora"][f"rank_{method[len('lora_r'):]}"] = summ
        else:
            results[method] = summ
    results["wall_time_s"] = bres.wall_time_s + sum(f.wall_time_s for f in fits.values())

    old = (store.load_json("metrics") or {}).get("results", {})
    merged = {k: v for k, v in old.items() if k in PDE_NAMES and k != pde_name} | {pde_name: results}
    store.write_metrics(merged, wall_time_s=sum(v["wall_time_s"] for v in merged.values()))
    return LoRAStudy(cfg, pde_name, base_pde, tasks, base, models, fits, results, s)


RankStudies = PerPDE  # {pde_name: result} with the combined .metrics


def lora_rank_study_all(cfg: Config) -> PerPDE:
    """:func:`lora_rank_study` for the three PDEs of Paper A's Table 1 (in the table's order)."""
    return run_per_pde(lora_rank_study, PDE_NAMES, TITLES, cfg)
