"""Notebook 04: PINN failure modes on convection and Hyper-LR-PINN (Paper B, Tables 2–3, Figures 3–6).

``failure_modes(cfg)`` runs (or reloads) every training of the notebook and returns a
:class:`FailureModes` with the tables, the curves and the trained models:

* **PINN sweep** — the 10,401-parameter vanilla PINN trained from scratch for a ladder of β
  (all β as one stacked model); where it starts to fail, and Table 2's PINN row.
* **Table 2** (β = 30, 35, 40; IC 1 + sin x; abs error = mean|u − û|, rel error = ‖u − û‖₂/‖u‖₂ on
  the 256 × 100 grid): Naive-LR-PINN from scratch, curriculum, first-order MAML and Reptile
  (meta-trained on β ∈ {30, …, 40}, then fine-tuned), Hyper-LR-PINN full and adaptive rank
  (Phase 1 on the training β, Phase 2 per β).
* **Table 3** — parameter counts (ours and the paper's convention).
* **Figure 3** — Phase-1 train loss and test error per epoch: FOMAML, Reptile, Hyper-LR-PINN.
* **Figure 4** — adaptive rank vs β and the sorted s² of the second low-rank layer over
  β ∈ [1, 20] (a second Phase 1, on β ∈ {1, …, 20}).
* **Figure 5** — many-query: Phase 2 (adaptive) on β never seen in Phase 1 (150 in [20, 50] in full).
* **Figure 6** — epochs to reach abs error < 0.05 for β ∈ [1, 20] step 0.5, PINN vs Hyper-LR-PINN.

Every run is cached in the experiment's :class:`~pinnlab.experiments.store.Store` (state dict +
history) and checkpointed while it trains, so a killed run resumes and a second call reloads.
Sizes per preset come from :func:`settings`; the code path is the same in every preset.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .. import baselines
from ..config import Config
from ..hyperlr import (HyperLRPINN, Schedule, epochs_to_reach, errors, eval_grid, every, fit_cdr_tasks, phase1,
                       predict_grid, reference, slice_layers)
from ..lowrank import LowRankMLP
from .store import Store

NAME = "04_failure_modes"
TABLE_BETAS = (30.0, 35.0, 40.0)
#: Paper B, Table 2 (convection, IC 1 + sin x): (abs, rel) per method, rank and β
PAPER_TABLE2 = {
    "naive_lr": {10: [(0.5617, 0.5344), (0.5663, 0.5357), (0.5974, 0.5632)],
                 20: [(0.5501, 0.5253), (0.5675, 0.5369), (0.5890, 0.5563)],
                 30: [(0.5327, 0.5126), (0.6081, 0.5670), (0.6142, 0.5724)],
                 40: [(0.5257, 0.5076), (0.5477, 0.5227), (0.5560, 0.5293)],
                 50: [(0.5327, 0.5126), (0.5449, 0.5208), (0.6161, 0.5855)]},
    "curriculum": {10: [(0.4117, 0.4098), (0.5825, 0.5465), (0.5978, 0.5611)],
                   20: [(0.4023, 0.4005), (0.6120, 0.5673), (0.6274, 0.5820)],
                   30: [(0.4233, 0.4204), (0.5864, 0.5503), (0.6011, 0.5652)],
                   40: [(0.3746, 0.3744), (0.5954, 0.5548), (0.6126, 0.5715)],
                   50: [(0.4152, 0.4127), (0.6010, 0.5619), (0.6130, 0.5757)]},
    "maml": {10: [(0.6757, 0.6294), (0.6663, 0.6213), (0.6789, 0.6446)],
             20: [(0.6836, 0.6452), (0.6814, 0.6433), (0.7008, 0.6801)],
             30: [(0.5781, 0.5451), (0.5819, 0.5466), (0.6072, 0.5700)],
             40: [(0.5848, 0.5515), (0.5809, 0.5462), (0.6149, 0.5832)],
             50: [(0.5898, 0.5562), (0.5870, 0.5514), (0.6146, 0.5799)]},
    "reptile": {10: [(0.5893, 0.5551), (0.5786, 0.5446), (0.5992, 0.5632)],
                20: [(0.6144, 0.5779), (0.5971, 0.5606), (0.6189, 0.5853)],
                30: [(0.6048, 0.5704), (0.5866, 0.5506), (0.6126, 0.5810)],
                40: [(0.5757, 0.5442), (0.5773, 0.5435), (0.6004, 0.5638)],
                50: [(0.5817, 0.5496), (0.5731, 0.5404), (0.6007, 0.5645)]},
    "hyper_lr_full": {None: [(0.0360, 0.0379), (0.0428, 0.0443), (0.0603, 0.0655)]},
    "hyper_lr_adaptive": {None: [(0.0375, 0.0389), (0.0448, 0.0461), (0.0656, 0.0722)]},
}
#: Paper B, Table 3
PAPER_TABLE3 = {"naive_lr": {10: 381, 20: 411, 30: 441, 40: 471, 50: 501}, "hyper_lr_adaptive": 351, "pinn": 10401}
METHOD_LABELS = {"pinn": "PINN (10,401)", "naive_lr": "Naive-LR-PINN", "curriculum": "Curriculum",
                 "maml": "MAML (first-order)", "reptile": "Reptile", "hyper_lr_full": "Hyper-LR-PINN (full rank)",
                 "hyper_lr_adaptive": "Hyper-LR-PINN (adaptive rank)"}


def _arange(lo: float, hi: float, step: float) -> list[float]:
    return [round(float(v), 6) for v in np.arange(lo, hi + step / 2, step)]


def settings(cfg: Config) -> dict:
    """Sizes per preset. ``full`` is Paper B's set-up (Phase 1: Adam lr 2.5e-4, 20k full-batch
    epochs, 11 training β, N_f = 1000; Phase 2: 10k epochs; 150 many-query β); ``medium`` keeps
    every model, loss and the schedule's shape with fewer epochs (and a larger learning rate);
    ``quick`` runs every code path with tiny sizes."""
    fig5_full = [round(float(v), 6) for v in np.linspace(20.1, 49.9, 150)]
    return {
        "n_collocation": cfg.pick(quick=200, medium=1000, full=1000),
        "n_ic": cfg.pick(quick=128, medium=256, full=256),
        "n_bc": cfg.pick(quick=50, medium=100, full=100),
        "lr": cfg.pick(quick=2e-3, medium=1e-3, full=2.5e-4),
        "train_betas": cfg.pick(quick=[30.0, 35.0, 40.0], full=_arange(30, 40, 1)),
        "phase1_epochs": cfg.pick(quick=400, medium=10000, full=20000),
        "phase2_epochs": cfg.pick(quick=150, medium=5000, full=10000),
        "scratch_epochs": cfg.pick(quick=400, medium=10000, full=20000),
        "ranks": cfg.pick(quick=[30], medium=[10, 30, 50], full=[10, 20, 30, 40, 50]),
        "curriculum_ranks": cfg.pick(quick=[30], medium=[30], full=[10, 20, 30, 40, 50]),
        "meta_ranks": cfg.pick(quick=[30], medium=[30], full=[10, 20, 30, 40, 50]),
        "curriculum_stages": cfg.pick(quick=3, medium=5, full=10),
        "meta_epochs": cfg.pick(quick=40, medium=600, full=5000),
        "inner_steps": cfg.pick(quick=3, medium=5, full=5),
        "inner_lr": 1e-3,
        "sweep_betas": cfg.pick(quick=[1.0, 10.0, 20.0, 30.0, 40.0], medium=_arange(5, 40, 5) + [1.0],
                                full=[1.0] + _arange(2.5, 40, 2.5)),
        "failure_threshold": 0.1,
        "low_betas": cfg.pick(quick=[1.0, 10.0, 20.0], full=_arange(1, 20, 1)),
        "low_phase1_epochs": cfg.pick(quick=300, medium=5000, full=20000),
        "fig4_betas": _arange(1, 20, 0.5),
        "fig6_betas": cfg.pick(quick=[1.0, 5.5, 10.0, 14.5, 20.0], full=_arange(1, 20, 0.5)),
        "fig6_hyper_epochs": cfg.pick(quick=60, medium=500, full=2000),
        "fig6_pinn_epochs": cfg.pick(quick=300, medium=1500, full=10000),
        "fig6_check_every": cfg.pick(quick=10, medium=10, full=10),
        "fig6_threshold": 0.05,
        "fig5_betas": cfg.pick(quick=[25.0, 45.0], medium=[round(float(v), 6) for v in np.linspace(20.1, 49.9, 12)],
                               full=fig5_full),
        "fig5_epochs": cfg.pick(quick=100, medium=2000, full=10000),
        "curve_grid": (64, 25),
        "eval_every": cfg.pick(quick=50, medium=250, full=500),
        "log_every": cfg.pick(quick=5, medium=20, full=20),
        "checkpoint_every": cfg.pick(quick=100, medium=500, full=1000),
    }


def _schedule(s: dict, epochs: int) -> Schedule:
    return Schedule(epochs=epochs, lr=s["lr"], n_collocation=s["n_collocation"], n_ic=s["n_ic"], n_bc=s["n_bc"],
                    log_every=s["log_every"], eval_every=s["eval_every"], checkpoint_every=s["checkpoint_every"])


def _thin(hist: dict, keys: tuple[str, ...], n: int = 400) -> dict:
    """Every ``k``-th logged value so that a curve has at most ``n`` points (for metrics.json)."""
    m = len(hist["epoch"])
    k = max(1, -(-m // n))
    return {key: hist[key][::k] for key in ("epoch", *keys) if key in hist}


def _err_row(pred: np.ndarray, ref: np.ndarray, betas) -> dict:
    e = errors(pred, ref)
    return {f"beta_{b:g}": {"abs_err": a, "rel_err": r, "max_err": mx}
            for b, a, r, mx in zip(betas, e["abs_err"], e["rel_err"], e["max_err"])}


@dataclass
class FailureModes:
    """Results of :func:`failure_modes` (models on ``cfg.device``)."""

    cfg: Config
    settings: dict
    metrics: dict
    hyper: HyperLRPINN
    hyper_low: HyperLRPINN
    pinn: torch.nn.Module
    histories: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ maps for plots and sliders
    def _grid(self):
        if "grid" not in self._cache:
            self._cache["grid"] = eval_grid()
        return self._cache["grid"]

    def _maps(self, layers, beta: float, label: str) -> dict:
        x, t, P = self._grid()
        ref = reference([beta])[0]
        pred = predict_grid(layers, P)[0].reshape(ref.shape)
        e = errors(pred[None], ref[None])
        return {"beta": float(beta), "x": x, "t": t, "ref": ref, "pred": pred, "label": label,
                "abs_err": e["abs_err"][0], "rel_err": e["rel_err"][0]}

    @torch.no_grad()
    def hyper_maps(self, beta: float) -> dict:
        """Reference, Phase-1 Hyper-LR-PINN prediction (hypernetwork output, no Phase 2) and errors at β."""
        d = self._maps(self.hyper.layers([float(beta)]), beta, "Hyper-LR-PINN, Phase 1 only")
        d["ranks"] = [int(r) for r in self.hyper.ranks([float(beta)])[0]]
        return d

    @torch.no_grad()
    def pinn_maps(self, beta: float) -> dict:
        """The vanilla PINN trained for β (one of the swept values)."""
        betas = [float(b) for b in self.metrics["pinn_sweep"]["betas"]]
        i = int(np.argmin([abs(b - float(beta)) for b in betas]))
        return self._maps(slice_layers(self.pinn.layers(), slice(i, i + 1)), betas[i], "vanilla PINN (10,401)")

    # ------------------------------------------------------------------ tables
    def table2_rows(self, rank: int = 30) -> list[dict]:
        """Rows of Table 2 at ``rank`` for this run; see :func:`table2_rows`."""
        return table2_rows(self.metrics, rank)


def table2_rows(metrics: dict, rank: int = 30) -> list[dict]:
    """Rows ``{method, rank, beta, ours_abs, ours_rel, paper_abs, paper_rel}`` of Table 2 at ``rank``
    from a run's metrics (the low-rank baselines; PINN is dense and Hyper-LR-PINN full/adaptive rank).
    Paper values are ``None`` where the paper has none (it lists no vanilla PINN in Table 2)."""
    rows = []
    t2 = metrics["table2"]
    for method in ("pinn", "naive_lr", "curriculum", "maml", "reptile", "hyper_lr_full", "hyper_lr_adaptive"):
        if method not in t2:
            continue
        key = f"rank_{rank}" if f"rank_{rank}" in t2[method] else next(iter(t2[method]))
        label = {"rank_full": "dense" if method == "pinn" else "full", "rank_adaptive": "adaptive"}.get(
            key, key.replace("rank_", ""))
        paper = PAPER_TABLE2.get(method, {})
        pvals = paper.get(rank if key.startswith("rank_") and key[5:].isdigit() else None)
        for j, b in enumerate(TABLE_BETAS):
            ours = t2[method][key][f"beta_{b:g}"]
            pa, pr = pvals[j] if pvals else (None, None)
            rows.append({"method": METHOD_LABELS[method], "rank": label, "beta": b, "ours_abs": ours["abs_err"],
                         "ours_rel": ours["rel_err"], "paper_abs": pa, "paper_rel": pr})
    return rows


# ============================================================================ the experiment
def _pinn_sweep(store: Store, s: dict, cfg: Config) -> tuple[torch.nn.Module, dict, dict]:
    betas = sorted(set(s["sweep_betas"]) | set(TABLE_BETAS))
    net = baselines.vanilla_pinn(len(betas), generator=cfg.generator(100))
    sched = _schedule(s, s["scratch_epochs"])
    nx, nt = s["curve_grid"]
    _, _, Pc = eval_grid(nx, nt)
    refc = reference(betas, nx, nt).reshape(len(betas), -1)
    hist = store.trained("pinn_sweep", net, lambda checkpoint: fit_cdr_tasks(
        net, betas, sched, device=cfg.device, dtype=cfg.dtype, generator=cfg.generator(101), eval_points=Pc,
        eval_ref=refc, checkpoint=checkpoint, progress=cfg.progress, desc="vanilla PINN sweep"))
    _, _, P = eval_grid()
    ref = reference(betas)
    e = errors(predict_grid(net.layers(), P), ref)
    fail = [b for b, r in zip(betas, e["rel_err"]) if r > s["failure_threshold"]]
    out = {"betas": betas, "abs_err": e["abs_err"], "rel_err": e["rel_err"],
           "failure_threshold": s["failure_threshold"],
           "failure_beta": min(fail) if fail else None, "epochs": s["scratch_epochs"],
           "wall_time_s": hist.get("wall_time_s")}
    table = {f"beta_{b:g}": {"abs_err": a, "rel_err": r} for b, a, r in zip(betas, e["abs_err"], e["rel_err"])
             if b in TABLE_BETAS}
    return net, hist, {"sweep": out, "table2": {"rank_full": table}}


def _hyper_phase1(store: Store, key: str, betas: list[float], epochs: int, s: dict, cfg: Config, seed: int,
                  desc: str) -> tuple[HyperLRPINN, dict]:
    model = HyperLRPINN(param_range=[(min(betas), max(betas))], generator=cfg.generator(seed))
    model.to(cfg.device, cfg.dtype)
    nx, nt = s["curve_grid"]
    _, _, Pc = eval_grid(nx, nt)
    refc = reference(betas, nx, nt).reshape(len(betas), -1)
    sched = _schedule(s, epochs)
    hist = store.trained(key, model, lambda checkpoint: phase1(
        model, betas, sched, device=cfg.device, dtype=cfg.dtype, generator=cfg.generator(seed + 1),
        eval_points=Pc, eval_ref=refc, checkpoint=checkpoint, progress=cfg.progress, desc=desc))
    return model, hist


def _hyper_phase2(store: Store, key: str, model: HyperLRPINN, betas: list[float], epochs: int, adaptive: bool,
                  s: dict, cfg: Config, seed: int, eval_at=None, eval_grid_size=None) -> tuple[LowRankMLP, dict]:
    net = model.phase2_model(betas, adaptive=adaptive)
    sched = _schedule(s, epochs)
    kw = {}
    if eval_grid_size is not None:
        nx, nt = eval_grid_size
        _, _, Pc = eval_grid(nx, nt)
        kw = {"eval_points": Pc, "eval_ref": reference(betas, nx, nt).reshape(len(betas), -1), "eval_at": eval_at}
    hist = store.trained(key, net, lambda checkpoint: fit_cdr_tasks(
        net, betas, sched, device=cfg.device, dtype=cfg.dtype, generator=cfg.generator(seed), checkpoint=checkpoint,
        progress=cfg.progress, desc=f"Phase 2 ({'adaptive' if adaptive else 'full'} rank, {len(betas)} β)", **kw))
    return net, hist


def failure_modes(cfg: Config) -> FailureModes:
    """Train (or reload) everything notebook 04 shows, for ``cfg``'s preset; write ``metrics.json``."""
    store = Store(cfg, NAME)
    s = settings(cfg)
    histories: dict = {}
    table2: dict = {}
    _, _, P = eval_grid()
    ref_table = reference(TABLE_BETAS)
    tb = list(TABLE_BETAS)

    # ---- vanilla PINN: the failure, and Table 2's PINN row
    pinn, histories["pinn_sweep"], sweep = _pinn_sweep(store, s, cfg)
    table2["pinn"] = sweep["table2"]

    # ---- Hyper-LR-PINN Phase 1 on the training β, Phase 2 on β = 30, 35, 40
    train_betas = list(s["train_betas"])
    hyper, h1 = _hyper_phase1(store, "hyper_phase1", train_betas, s["phase1_epochs"], s, cfg, 200,
                              "Phase 1 (β 30…40)")
    histories["hyper_phase1"] = h1
    counts: dict = {}
    for adaptive, name in ((False, "hyper_lr_full"), (True, "hyper_lr_adaptive")):
        net, h2 = _hyper_phase2(store, f"hyper_phase2_{'adaptive' if adaptive else 'full'}", hyper, tb,
                                s["phase2_epochs"], adaptive, s, cfg, 210 + adaptive)
        histories[name] = h2
        key = "rank_adaptive" if adaptive else "rank_full"
        table2[name] = {key: _err_row(predict_grid(net.layers(), P), ref_table, tb)}
        counts[name] = {f"beta_{b:g}": {"trainable": n, "ranks": r}
                        for b, n, r in zip(tb, net.trainable_per_task(), net.ranks_per_task())}
    phase1_ranks = {f"beta_{b:g}": [int(v) for v in r] for b, r in zip(tb, hyper.ranks(tb))}
    e1 = errors(predict_grid(hyper.layers(tb), P), ref_table)

    # ---- Naive-LR-PINN and curriculum, from scratch, per rank
    for r in s["ranks"]:
        net = baselines.naive_lr_pinn(r, len(tb), generator=cfg.generator(300 + r))
        sched = _schedule(s, s["scratch_epochs"])

        def train_naive(checkpoint, net=net, sched=sched, r=r):
            return fit_cdr_tasks(net, tb, sched, device=cfg.device, dtype=cfg.dtype, generator=cfg.generator(301),
                                 checkpoint=checkpoint, progress=cfg.progress, desc=f"Naive-LR-PINN r={r}")

        histories[f"naive_r{r}"] = store.trained(f"naive_r{r}", net, train_naive)
        table2.setdefault("naive_lr", {})[f"rank_{r}"] = _err_row(predict_grid(net.layers(), P), ref_table, tb)

    for r in s["curriculum_ranks"]:
        sched = _schedule(s, s["scratch_epochs"])
        cnet = baselines.naive_lr_pinn(r, len(tb), generator=cfg.generator(300 + r))
        cdir = store.dir / f"curriculum_r{r}"
        cdir.mkdir(exist_ok=True)

        def train_curriculum(checkpoint, cnet=cnet, sched=sched, cdir=cdir):  # stages checkpoint themselves
            return baselines.curriculum(cnet, tb, sched, s["curriculum_stages"], device=cfg.device, dtype=cfg.dtype,
                                        generator=cfg.generator(302), checkpoint_dir=cdir, progress=cfg.progress)

        histories[f"curriculum_r{r}"] = store.trained(f"curriculum_r{r}", cnet, train_curriculum)
        table2.setdefault("curriculum", {})[f"rank_{r}"] = _err_row(predict_grid(cnet.layers(), P), ref_table, tb)

    # ---- first-order MAML and Reptile on Naive-LR-PINN, then fine-tuning per β
    nx, nt = s["curve_grid"]
    _, _, Pc = eval_grid(nx, nt)
    refc_train = reference(train_betas, nx, nt).reshape(len(train_betas), -1)
    fig3 = {"ours": {**_thin(h1, ("loss", "pinn", "ortho")), "eval_epoch": h1["eval_epoch"],
                     "rel_err": h1.get("eval_rel_err", []), "abs_err": h1.get("eval_abs_err", [])}}
    for method, label in (("fomaml", "maml"), ("reptile", "reptile")):
        for r in s["meta_ranks"]:
            init = baselines.naive_lr_pinn(r, generator=cfg.generator(400 + r))
            msched = _schedule(s, s["meta_epochs"])
            hm = store.trained(f"{label}_r{r}", init, lambda checkpoint, init=init, msched=msched, method=method:
                         baselines.meta_train(init, train_betas, msched, method, inner_steps=s["inner_steps"],
                                              inner_lr=s["inner_lr"], device=cfg.device, dtype=cfg.dtype,
                                              generator=cfg.generator(401), eval_points=Pc, eval_ref=refc_train,
                                              checkpoint=checkpoint, progress=cfg.progress))
            histories[f"{label}_r{r}"] = hm
            ft = baselines.stacked_copies(init, len(tb))
            fsched = _schedule(s, s["phase2_epochs"])

            def train_finetune(checkpoint, ft=ft, fsched=fsched, label=label, r=r):
                return fit_cdr_tasks(ft, tb, fsched, device=cfg.device, dtype=cfg.dtype, generator=cfg.generator(402),
                                     checkpoint=checkpoint, progress=cfg.progress, desc=f"{label} fine-tune r={r}")

            histories[f"{label}_r{r}_finetune"] = store.trained(f"{label}_r{r}_finetune", ft, train_finetune)
            table2.setdefault(label, {})[f"rank_{r}"] = _err_row(predict_grid(ft.layers(), P), ref_table, tb)
            if r == (30 if 30 in s["meta_ranks"] else s["meta_ranks"][0]):
                fig3[label] = {**_thin(hm, ("loss", "adapted")), "eval_epoch": hm["eval_epoch"],
                               "rel_err": hm.get("eval_rel_err", []), "abs_err": hm.get("eval_abs_err", []), "rank": r}

    # ---- Figure 4: Phase 1 on β ∈ {1, …, 20}: adaptive rank and s² of the second low-rank layer
    low = list(s["low_betas"])
    hyper_low, histories["hyper_phase1_low"] = _hyper_phase1(store, "hyper_phase1_low", low, s["low_phase1_epochs"],
                                                             s, cfg, 500, "Phase 1 (β 1…20)")
    f4b = list(s["fig4_betas"])
    with torch.no_grad():
        s2 = hyper_low.diagonals(f4b)[1].double().cpu().numpy()
    fig4 = {"betas": f4b, "ranks": hyper_low.ranks(f4b).tolist(), "s2_sorted": np.sort(s2, 1)[:, ::-1].tolist(),
            "ranks_30_40": {"betas": _arange(20, 50, 1), "ranks": hyper.ranks(_arange(20, 50, 1)).tolist()}}

    # ---- Figure 6: epochs to abs error < 0.05, β ∈ [1, 20] step 0.5 — Phase 2 vs PINN from scratch
    f6 = list(s["fig6_betas"])
    check = every(s["fig6_check_every"], first=10)
    _, h6 = _hyper_phase2(store, "fig6_hyper", hyper_low, f6, s["fig6_hyper_epochs"], True, s, cfg, 600,
                          eval_at=check, eval_grid_size=(nx, nt))
    p6 = baselines.vanilla_pinn(len(f6), generator=cfg.generator(610))
    h6p = store.trained("fig6_pinn", p6, lambda checkpoint: fit_cdr_tasks(
        p6, f6, _schedule(s, s["fig6_pinn_epochs"]), device=cfg.device, dtype=cfg.dtype, generator=cfg.generator(611),
        eval_points=Pc, eval_ref=reference(f6, nx, nt).reshape(len(f6), -1), eval_at=check, checkpoint=checkpoint,
        progress=cfg.progress, desc="Figure 6 PINNs"))
    histories["fig6_hyper"], histories["fig6_pinn"] = h6, h6p
    fig6 = {"betas": f6, "threshold": s["fig6_threshold"], "check_every": s["fig6_check_every"],
            "hyper_epochs": epochs_to_reach(h6, s["fig6_threshold"]),
            "pinn_epochs": epochs_to_reach(h6p, s["fig6_threshold"]),
            "hyper_max_epochs": s["fig6_hyper_epochs"], "pinn_max_epochs": s["fig6_pinn_epochs"],
            "hyper_first_error": h6["eval_abs_err"][0], "hyper_final_error": h6["eval_abs_err"][-1],
            "pinn_final_error": h6p["eval_abs_err"][-1]}

    # ---- Figure 5: many-query, Phase 2 (adaptive) on unseen β
    f5 = list(s["fig5_betas"])
    n5, histories["fig5"] = _hyper_phase2(store, "fig5_phase2", hyper, f5, s["fig5_epochs"], True, s, cfg, 700)
    e5 = errors(predict_grid(n5.layers(), P), reference(f5))
    with torch.no_grad():
        e5_zero = errors(predict_grid(hyper.layers(f5), P), reference(f5))
    fig5 = {"betas": f5, "abs_err": e5["abs_err"], "rel_err": e5["rel_err"], "phase1_rel_err": e5_zero["rel_err"],
            "trainable": n5.trainable_per_task(), "ranks": n5.ranks_per_task(), "train_betas": train_betas,
            "epochs": s["fig5_epochs"]}

    # ---- Table 3 and the summary
    table3 = {"pinn": baselines.vanilla_pinn().count_params(),
              "naive_lr": {f"rank_{r}": {"paper_convention": baselines.paper_count(r),
                                         "all_factors": baselines.all_factors_count(r)} for r in (10, 20, 30, 40, 50)},
              "hyper_lr_phase1": hyper.count_phase1(),
              "hyper_lr_phase2_full": counts["hyper_lr_full"],
              "hyper_lr_phase2_adaptive": counts["hyper_lr_adaptive"]}
    results = {
        "settings": s,
        "table2": table2,
        "table3": table3,
        "phase1": {"loss_first": h1["loss"][0], "loss_last": h1["loss"][-1], "ortho_first": h1["ortho"][0],
                   "ortho_last": h1["ortho"][-1], "ortho_max": max(h1["ortho"]), "wall_time_s": h1.get("wall_time_s"),
                   "ranks": phase1_ranks, "rel_err": dict(zip([f"beta_{b:g}" for b in tb], e1["rel_err"])),
                   "abs_err": dict(zip([f"beta_{b:g}" for b in tb], e1["abs_err"]))},
        "pinn_sweep": sweep["sweep"],
        "fig3": fig3,
        "fig4": fig4,
        "fig5": fig5,
        "fig6": fig6,
    }
    wall = sum(h.get("wall_time_s", 0.0) or 0.0 for h in histories.values() if isinstance(h, dict))
    for h in histories.values():  # curriculum stages
        if isinstance(h, dict) and "stages" in h:
            wall += sum(st.get("wall_time_s", 0.0) for st in h["stages"])
    results["train_wall_time_s"] = wall
    meta = store.write_metrics(results, wall_time_s=wall)
    return FailureModes(cfg, s, meta["results"], hyper, hyper_low, pinn, histories)
