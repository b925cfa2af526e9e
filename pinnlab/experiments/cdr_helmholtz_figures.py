"""Figures and tables of notebook 05, drawn from a :class:`~pinnlab.experiments.cdr_helmholtz.CDRHelmholtz`."""
from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..baselines_p import PDE_TYPES, cdr_reference
from ..cdr_tasks import errors, eval_grid, predict_grid, slice_layers
from ..plot import reference_prediction_error
from .cdr_helmholtz import METHOD_LABELS, METHODS, NOTEBOOKS, PAPER_TABLE4, TYPE_LABELS, CDRHelmholtz

EXTENT = (0.0, 2 * np.pi, 0.0, 1.0)


def _fmt(v, spec=".4f") -> str:
    return "—" if v is None else format(v, spec)


# ---------------------------------------------------------------------------- the family
def draw_cdr_family(mus: Sequence[tuple[float, float, float]] = ((5.0, 0.0, 0.0), (0.0, 0.0, 5.0), (3.0, 3.0, 3.0)),
                    titles: Sequence[str] = ("convection β=5", "reaction ρ=5", "CDR β=ν=ρ=3")):
    """Reference solutions u(x, t) of the CDR family from the Gaussian IC (one panel per (β, ν, ρ)) and
    their profiles at t = 0, 0.5, 1."""
    x, t, _ = eval_grid()
    refs = cdr_reference(mus)
    fig, axes = plt.subplots(2, len(mus), figsize=(3.6 * len(mus), 5.2), constrained_layout=True)
    for j, (u, title) in enumerate(zip(refs, titles)):
        im = axes[0, j].imshow(u, origin="lower", extent=EXTENT, aspect="auto", vmin=0, vmax=1)
        axes[0, j].set(title=title, xlabel="x", ylabel="t")
        for i, c in zip((0, 49, 99), ("k", "C0", "C3")):
            axes[1, j].plot(x, u[i], color=c, label=f"t = {t[i]:.1f}")
        axes[1, j].set(xlabel="x", ylabel="u", ylim=(-0.05, 1.05))
    fig.colorbar(im, ax=axes[0, -1])
    axes[1, 0].legend(fontsize=7)
    fig.suptitle("u_t + β u_x − ν u_xx − ρ u(1 − u) = 0, u(x, 0) = exp(−(x − π)² / (2 (π/2)²))", fontsize=10)
    return fig


# ---------------------------------------------------------------------------- Table 4
def table4_text(res: CDRHelmholtz) -> str:
    """Table 4 — mean relative error per family and method, ours (preset) beside the paper's."""
    t4 = res.metrics["table4"]
    head = f"{'':16s}" + "".join(f"{METHOD_LABELS[m]:>20s}" for m in METHODS)
    lines = [f"Table 4, relative error ‖u − û‖₂/‖u‖₂ (mean over tasks), Gaussian IC — each cell: "
             f"ours ('{res.cfg.mode}' preset) / paper (full set-up)", head, "-" * len(head)]
    for t in PDE_TYPES:
        cells = "".join(f"{t4[t][m]['mean_rel_err']:>11.4f} / {PAPER_TABLE4[t][m]:.4f}" for m in METHODS)
        lines.append(f"{TYPE_LABELS[t]:16s}{cells}")
    lines.append("")
    for t in PDE_TYPES:
        lines.append(f"{TYPE_LABELS[t]} tasks (β, ν, ρ): {[tuple(m) for m in t4[t]['tasks']]}")
    return "\n".join(lines)


def draw_table4(res: CDRHelmholtz):
    """Grouped bars (log scale): ours and the paper's mean relative error per family and method."""
    t4 = res.metrics["table4"]
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 3.4), constrained_layout=True, sharey=True)
    xs = np.arange(len(METHODS))
    for ax, t in zip(axes, PDE_TYPES):
        ours = [t4[t][m]["mean_rel_err"] for m in METHODS]
        paper = [PAPER_TABLE4[t][m] for m in METHODS]
        ax.bar(xs - 0.2, ours, 0.4, color="C0", label=f"ours ({res.cfg.mode})")
        ax.bar(xs + 0.2, paper, 0.4, color="C7", label="paper (full set-up)")
        ax.set_xticks(xs, [METHOD_LABELS[m].replace(" (first-order)", "") for m in METHODS], rotation=35, fontsize=8)
        ax.set_yscale("log")
        ax.set_title(TYPE_LABELS[t])
    axes[0].set_ylabel("mean relative error")
    axes[0].legend(fontsize=7)
    fig.suptitle("Table 4 as bars", fontsize=10)
    return fig


def per_task_text(res: CDRHelmholtz, pde_type: str) -> str:
    """Relative error of every method on every task of one family."""
    t4 = res.metrics["table4"][pde_type]
    keys = list(t4["pinn"]["per_task"])
    lines = [f"{TYPE_LABELS[pde_type]}: relative error per task ({res.cfg.mode} preset)",
             f"{'task':28s}" + "".join(f"{METHOD_LABELS[m].replace(' (first-order)', ''):>14s}" for m in METHODS)]
    for k in keys:
        lines.append(f"{k:28s}" + "".join(f"{t4[m]['per_task'][k]['rel_err']:14.4f}" for m in METHODS))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- reaction failure
@torch.no_grad()
def draw_reaction_failure(res: CDRHelmholtz, rho: Optional[float] = None):
    """Left: the per-task PINN's relative error against ρ (reaction, Gaussian IC). Right: reference, PINN and
    |error| at ``rho`` (default: the ρ where the PINN's error is largest)."""
    rf = res.metrics["reaction_failure"]
    tasks = [tuple(m) for m in res.metrics["pinn_tasks"]]
    rho = float(rho if rho is not None else rf["rho"][int(np.argmax(rf["rel_err"]))])
    i = tasks.index((0.0, 0.0, rho))
    x, t, P = eval_grid()
    ref = cdr_reference([tasks[i]])[0]
    pred = predict_grid(slice_layers(res.models["pinn"].layers(), slice(i, i + 1)), P)[0].reshape(ref.shape)
    fig, axes = plt.subplots(1, 4, figsize=(14.0, 3.0), constrained_layout=True,
                             gridspec_kw={"width_ratios": [1.1, 1, 1, 1]})
    axes[0].plot(rf["rho"], rf["rel_err"], "o-", color="C3", label="PINN (one per ρ)")
    axes[0].axhline(rf["threshold"], color="k", ls=":", lw=1, label=f"threshold {rf['threshold']}")
    axes[0].axvline(5, color="grey", ls="--", lw=0.8, label="paper: fails for ρ ≥ 5")
    axes[0].set(xlabel="ρ", ylabel="relative error", title=f"PINN, {rf['epochs']} epochs ({res.cfg.mode})")
    axes[0].legend(fontsize=7)
    e = errors(pred[None], ref[None])["rel_err"][0]
    reference_prediction_error(ref, pred, (f"reference, ρ = {rho:g}", "PINN", f"|error|, rel. {e:.3f}"), EXTENT,
                               err_max=1, vmin=0, vmax=1, axes=axes[1:])
    return fig


# ---------------------------------------------------------------------------- Figure 7
def draw_fig7(res: CDRHelmholtz):
    """Rows: a = shown / unseen. Columns: exact, Hyper-LR-PINN after Phase 2, PINN, and the two |errors|."""
    maps = res.fig7_maps()
    f7 = res.metrics["fig7"]
    fig, axes = plt.subplots(len(maps), 5, figsize=(16.0, 3.1 * len(maps)), constrained_layout=True, squeeze=False)
    kw = {"origin": "lower", "extent": (-1, 1, -1, 1), "aspect": "equal"}
    for row, d in zip(axes, maps):
        seen = "in Phase 1" if any(abs(d["a"] - a) < 1e-9 for a in f7["a_train"]) else "not in Phase 1"
        im = row[0].imshow(d["ref"], cmap="RdBu_r", vmin=-1, vmax=1, **kw)
        row[0].set_title(f"exact, a = {d['a']:g} ({seen})", fontsize=9)
        row[1].imshow(d["hyper"], cmap="RdBu_r", vmin=-1, vmax=1, **kw)
        row[1].set_title(f"Hyper-LR-PINN, {f7['phase2_epochs']} Phase-2 epochs\nrel. {d['hyper_rel']:.3f}", fontsize=9)
        row[2].imshow(d["pinn"], cmap="RdBu_r", vmin=-1, vmax=1, **kw)
        row[2].set_title(f"PINN, {f7['pinn_epochs']} epochs\nrel. {d['pinn_rel']:.3f}", fontsize=9)
        fig.colorbar(im, ax=row[2])
        im = row[3].imshow(np.abs(d["hyper"] - d["ref"]), cmap="magma", vmin=0, vmax=1, **kw)
        row[3].set_title("|error| Hyper-LR-PINN", fontsize=9)
        row[4].imshow(np.abs(d["pinn"] - d["ref"]), cmap="magma", vmin=0, vmax=1, **kw)
        row[4].set_title("|error| PINN", fontsize=9)
        fig.colorbar(im, ax=row[4])
        for ax in row:
            ax.set(xticks=[-1, 0, 1], yticks=[-1, 0, 1])
    fig.suptitle(f"Figure 7: u_xx + u_yy + u = q, u = sin(aπx) sin(aπy) ({res.cfg.mode} preset; "
                 f"Phase 1 {f7['phase1_epochs']} epochs on a = {f7['a_train'][0]:g}…{f7['a_train'][-1]:g})", fontsize=10)
    return fig


def draw_fig7_curves(res: CDRHelmholtz):
    """Relative error (41 × 41 grid) against epochs: Phase 2 from the hypernetwork vs a PINN from scratch."""
    f7 = res.metrics["fig7"]
    fig, axes = plt.subplots(1, len(f7["a_eval"]), figsize=(5.0 * len(f7["a_eval"]), 3.0), constrained_layout=True,
                             squeeze=False)
    hc, pc = f7["hyper_curve"], f7["pinn_curve"]
    for j, (ax, a) in enumerate(zip(axes[0], f7["a_eval"])):
        ax.plot(np.asarray(hc["epoch"]) + 1, [e[j] for e in hc["rel_err"]], "o-", ms=3, color="C0",
                label="Hyper-LR-PINN Phase 2")
        ax.plot(np.asarray(pc["epoch"]) + 1, [e[j] for e in pc["rel_err"]], "-", color="C3", label="PINN from scratch")
        ax.set(xscale="log", xlabel="epochs + 1", ylabel="relative error", title=f"a = {a:g}")
        ax.legend(fontsize=7)
    return fig


# ---------------------------------------------------------------------------- the two papers
PAPER_A_TIME = {"PINN": 8400, "fine-tuned PINN": 7000, "LoRA PINN": 600, "LoRA HyperPINN": 1.1}


def comparison_text(comp: dict) -> str:
    """The measurements of notebooks 02–05 (:func:`~pinnlab.experiments.cdr_helmholtz.paper_comparison`)."""
    lines = []
    for nb, title in NOTEBOOKS.items():
        entry = comp.get(nb)
        if entry is None:
            lines.append(f"[{nb}] {title}: not computed yet — run notebook {nb} (or `python -m pinnlab run ...`).")
            continue
        lines.append(f"[{nb}] {title} — '{entry['preset']}' preset, {entry['path']}")
        for r in entry["rows"]:
            tr = "—" if r["trainable"] is None else f"{r['trainable']:,d}"
            err = "—" if r["error"] is None else f"{r['error']:.3g} ({r['metric']})"
            sec = "—" if r["seconds"] is None else f"{r['seconds']:.2f} s"
            lines.append(f"    {r['what']:58s} trainable/task {tr:>8s}   error {err:22s} time {sec}")
    return "\n".join(lines)
