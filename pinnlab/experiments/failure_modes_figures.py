"""Figures and tables of notebook 04, drawn from a :class:`~pinnlab.experiments.failure_modes.FailureModes`."""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..plot import reference_prediction_error
from .failure_modes import PAPER_TABLE3, FailureModes, table2_rows
from .store import committed_metrics

LAYER_COLORS = ("C0", "C1", "C2")


def _fmt(v, spec=".4f") -> str:
    return "—" if v is None else format(v, spec)


def table2_text(res: FailureModes, rank: int = 30) -> str:
    """Table 2 (ours beside the paper's) as fixed-width text, labelled with the preset."""
    return _table2_text(res.metrics, res.cfg.mode, rank)


def stored_table2_texts(name: str = "04_failure_modes", rank: int = 30) -> dict[str, str]:
    """Table 2 of every committed medium/full run (``figures/<name>/<preset>/metrics.json``), by preset."""
    return {mode: _table2_text(m["results"], mode, rank) for mode, m in committed_metrics(name).items()}


def _table2_text(metrics: dict, mode: str, rank: int) -> str:
    lines = [f"Table 2, convection, IC 1 + sin x — ours: '{mode}' preset; paper: full set-up. "
             f"Low-rank baselines at rank {rank}.",
             f"{'method':31s} {'rank':>8s} {'β':>4s} | {'abs (ours)':>10s} {'rel (ours)':>10s} | "
             f"{'abs (paper)':>11s} {'rel (paper)':>11s}"]
    lines.append("-" * len(lines[1]))
    for r in table2_rows(metrics, rank):
        lines.append(f"{r['method']:31s} {r['rank']:>8s} {r['beta']:4.0f} | {r['ours_abs']:10.4f} {r['ours_rel']:10.4f} | "
                     f"{_fmt(r['paper_abs']):>11s} {_fmt(r['paper_rel']):>11s}")
    return "\n".join(lines)


def table2_all_ranks_text(res: FailureModes) -> str:
    """Relative errors of every low-rank baseline at every rank that ran (ours / paper)."""
    from .failure_modes import PAPER_TABLE2, TABLE_BETAS

    t2 = res.metrics["table2"]
    lines = [f"relative error, ours ({res.cfg.mode}) / paper, β = 30, 35, 40"]
    for method in ("naive_lr", "curriculum", "maml", "reptile"):
        for key in t2.get(method, {}):
            rank = int(key.split("_")[1])
            ours = [t2[method][key][f"beta_{b:g}"]["rel_err"] for b in TABLE_BETAS]
            paper = [p[1] for p in PAPER_TABLE2[method][rank]]
            lines.append(f"{method:11s} r={rank:2d}: " + "  ".join(f"{o:.3f}/{p:.3f}" for o, p in zip(ours, paper)))
    return "\n".join(lines)


def table3_text(res: FailureModes) -> str:
    """Parameter counts: ours beside Paper B's Table 3."""
    t3 = res.metrics["table3"]
    ad = t3["hyper_lr_phase2_adaptive"]
    lines = [f"{'model':56s} {'ours':>10s} {'paper':>8s}",
             f"{'vanilla PINN 2-50-50-50-50-50-1':56s} {t3['pinn']:10,d} {PAPER_TABLE3['pinn']:8,d}"]
    for key, v in t3["naive_lr"].items():
        r = int(key.split("_")[1])
        lines.append(f"{'Naive-LR-PINN r=' + str(r) + ' (dense + biases + diagonals)':56s} {v['paper_convention']:10,d} "
                     f"{PAPER_TABLE3['naive_lr'][r]:8,d}")
        lines.append(f"{'   … counting the trained bases U, V too':56s} {v['all_factors']:10,d} {'':>8s}")
    full = next(iter(t3["hyper_lr_phase2_full"].values()))["trainable"]
    lines.append(f"{'Hyper-LR-PINN Phase 2, full rank':56s} {full:10,d} {'':>8s}")
    for b, v in ad.items():
        lines.append(f"{'Hyper-LR-PINN Phase 2, adaptive, ' + b.replace('beta_', 'β=') + ' ranks ' + str(v['ranks']):56s} "
                     f"{v['trainable']:10,d} {'~351':>8s}")
    lines.append(f"{'Hyper-LR-PINN Phase 1 (basis + hypernetwork)':56s} {t3['hyper_lr_phase1']:10,d} {'':>8s}")
    return "\n".join(lines)


def draw_pinn_failure(res: FailureModes, betas: Sequence[float] = (1.0, 30.0)):
    """Reference, vanilla-PINN prediction and |error| for a small and a large β (rows)."""
    fig = _beta_rows(betas, res.pinn_maps, lambda beta, d: (f"reference, β = {d['beta']:g}", "vanilla PINN"), 2.6)
    fig.suptitle(f"u_t + β u_x = 0, u(x, 0) = 1 + sin x ({res.cfg.mode} preset)", fontsize=10)
    return fig


def draw_sweep(res: FailureModes, ax=None):
    """Relative error of the vanilla PINN against β, with the failure threshold."""
    sw = res.metrics["pinn_sweep"]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 3.0), constrained_layout=True)
    ax.plot(sw["betas"], sw["rel_err"], "o-", color="C3", label="vanilla PINN")
    ax.axhline(sw["failure_threshold"], color="k", ls=":", lw=1, label=f"failure threshold {sw['failure_threshold']}")
    ax.axvline(30, color="grey", ls="--", lw=0.8, label="paper: fails for β ≥ 30")
    ax.set(xlabel="β", ylabel="relative error", title=f"PINN from scratch, {sw['epochs']} epochs ({res.cfg.mode})")
    ax.legend(fontsize=7)
    return ax.figure


def draw_phase1_curves(res: FailureModes):
    """Figure 3: Phase-1 train loss and test error per epoch (FOMAML, Reptile, ours) and our orthogonality penalty."""
    f3 = res.metrics["fig3"]
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 3.2), constrained_layout=True)
    names = {"ours": "Hyper-LR-PINN", "maml": "MAML (first-order)", "reptile": "Reptile"}
    for key, label in names.items():
        if key not in f3:
            continue
        h = f3[key]
        loss = h["loss"] if key == "ours" else h["adapted"]  # meta-learners: loss after the inner loop
        axes[0].semilogy(h["epoch"], loss, label=label if key == "ours" else f"{label}, after inner loop", lw=1)
        if h.get("rel_err"):
            axes[1].plot(h["eval_epoch"], h["rel_err"], "o-", ms=3, label=label, lw=1)
    axes[0].set(xlabel="epoch (outer step for MAML/Reptile)", ylabel="train loss (mean over tasks)",
                title="Phase 1: train loss")
    axes[1].set(xlabel="epoch", ylabel="mean relative error", title="Phase 1: test error over training β")
    axes[2].semilogy(f3["ours"]["epoch"], f3["ours"]["ortho"], color="C0")
    axes[2].set(xlabel="epoch", ylabel="Σ (‖UᵀU−I‖² + ‖VᵀV−I‖²)/r²", title="orthogonality penalty")
    for ax in axes[:2]:
        ax.legend(fontsize=7)
    fig.suptitle(f"Figure 3 ({res.cfg.mode} preset); MAML/Reptile test error = their meta-initialisation", fontsize=10)
    return fig


def draw_fig4(res: FailureModes):
    """Figure 4: adaptive ranks vs β (both Phase-1 models) and the sorted s² of the second low-rank layer."""
    f4 = res.metrics["fig4"]
    fig, axes = plt.subplots(1, 3, figsize=(12.4, 3.3), constrained_layout=True)
    ranks = np.asarray(f4["ranks"])
    for l in range(ranks.shape[1]):
        axes[0].plot(f4["betas"], ranks[:, l], "o-", ms=2.5, color=LAYER_COLORS[l], label=f"low-rank layer {l + 1}")
    axes[0].set(xlabel="β", ylabel="rank (non-zero diagonal entries)", title="Phase 1 on β ∈ {1, …, 20}")
    r2 = f4["ranks_30_40"]
    rk = np.asarray(r2["ranks"])
    for l in range(rk.shape[1]):
        axes[1].plot(r2["betas"], rk[:, l], "o-", ms=2.5, color=LAYER_COLORS[l], label=f"layer {l + 1}")
    axes[1].axvspan(30, 40, color="grey", alpha=0.15, label="training β")
    axes[1].set(xlabel="β", ylabel="rank", title="Phase 1 on β ∈ [30, 40]")
    s2 = np.asarray(f4["s2_sorted"])
    im = axes[2].imshow(s2, origin="lower", aspect="auto", cmap="viridis",
                        extent=(0.5, s2.shape[1] + 0.5, f4["betas"][0], f4["betas"][-1]))
    axes[2].set(xlabel="index of s² (sorted, descending)", ylabel="β", title="magnitudes of s² (second layer)")
    fig.colorbar(im, ax=axes[2])
    for ax in axes[:2]:
        ax.set_ylim(0, 51)
        ax.legend(fontsize=7)
    fig.suptitle(f"Figure 4: adaptive rank ({res.cfg.mode} preset)", fontsize=10)
    return fig


def draw_fig5(res: FailureModes):
    """Figure 5: many-query Phase 2 on unseen β — errors and trainable parameters."""
    f5 = res.metrics["fig5"]
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 3.1), constrained_layout=True)
    b = f5["betas"]
    axes[0].plot(b, f5["abs_err"], "o", ms=3, label="after Phase 2")
    axes[1].plot(b, f5["rel_err"], "o", ms=3, label="after Phase 2")
    axes[1].plot(b, f5["phase1_rel_err"], "x", ms=3, color="grey", label="hypernetwork only")
    axes[2].plot(b, f5["trainable"], "o", ms=3, color="C2")
    axes[0].set(xlabel="β", ylabel="absolute error", title="many-query: absolute error")
    axes[1].set(xlabel="β", ylabel="relative error", title="relative error")
    axes[2].set(xlabel="β", ylabel="trainable parameters (201 + Σ ranks)", title="Phase-2 model size")
    lo, hi = min(f5["train_betas"]), max(f5["train_betas"])
    for ax in axes:
        ax.axvspan(lo, hi, color="grey", alpha=0.15)
    for ax in axes[:2]:
        ax.legend(fontsize=7)
    fig.suptitle(f"Figure 5: Phase 2 on {len(b)} unseen β (shaded: Phase-1 range) — {res.cfg.mode} preset", fontsize=10)
    return fig


def draw_fig6(res: FailureModes, ax=None):
    """Figure 6: epochs to reach abs error < threshold; 'not reached' drawn at the cap with open markers."""
    f6 = res.metrics["fig6"]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 3.3), constrained_layout=True)
    for key, cap, color, label in (("pinn_epochs", f6["pinn_max_epochs"], "C3", "PINN from scratch"),
                                   ("hyper_epochs", f6["hyper_max_epochs"], "C0", "Hyper-LR-PINN Phase 2")):
        b = np.asarray(f6["betas"])
        e = f6[key]
        hit = np.array([v is not None for v in e])
        vals = np.array([v if v is not None else cap for v in e], dtype=float)
        ax.plot(b[hit], np.maximum(vals[hit], 0.8), "o", color=color, label=label)
        if (~hit).any():
            ax.plot(b[~hit], vals[~hit], "o", mfc="none", color=color, label=f"{label}: not reached in {cap}")
    ax.set_yscale("log")
    ax.set(xlabel="β", ylabel="epochs to abs error < %.2f" % f6["threshold"],
           title=f"Figure 6 ({res.cfg.mode}; 0 epochs drawn at 0.8)")
    ax.legend(fontsize=7)
    return ax.figure


def draw_hyper_betas(res: FailureModes, betas: Sequence[float] = (30.0, 40.0, 45.0)):
    """Static version of the Hyper-LR-PINN slider: Phase-1 prediction and error at a few β."""
    return _beta_rows(betas, res.hyper_maps,
                      lambda beta, d: (f"reference, β = {beta:g}", f"hypernetwork output, ranks {d['ranks']}"), 2.5)


def _beta_rows(betas: Sequence[float], maps: Callable[[float], dict],
               titles: Callable[[float, dict], tuple[str, str]], row_height: float):
    """One row per β: reference, prediction and |error| of ``maps(β)`` (u and the error on 0 … 2);
    ``titles(β, maps)`` gives the first two panels' titles."""
    fig, axes = plt.subplots(len(betas), 3, figsize=(10.2, row_height * len(betas)), constrained_layout=True,
                             squeeze=False)
    for row, beta in zip(axes, betas):
        d = maps(beta)
        reference_prediction_error(d["ref"], d["pred"], (*titles(beta, d), f"|error|, rel. error {d['rel_err']:.3f}"),
                                   (0.0, 2 * np.pi, 0.0, 1.0), err_max=2, vmin=0, vmax=2, axes=row)
    return fig


def summary(res: FailureModes, keys: Optional[Sequence[str]] = None) -> dict:
    """A few headline numbers for the notebook's asserts and discussion."""
    t2 = res.metrics["table2"]

    def rel(method, beta=30.0):
        k = next(iter(t2[method]))
        return t2[method][k][f"beta_{beta:g}"]["rel_err"]

    out = {"pinn_rel_30": rel("pinn"), "hyper_full_rel_30": rel("hyper_lr_full"),
           "hyper_adaptive_rel_30": rel("hyper_lr_adaptive"), "naive_rel_30": rel("naive_lr"),
           "pinn_rel_1": res.metrics["pinn_sweep"]["rel_err"][0]}
    return {k: out[k] for k in (keys or out)}
