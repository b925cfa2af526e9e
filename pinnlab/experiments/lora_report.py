"""Notebook 02's tables and figures: Table 1 ours beside Paper A's, rank curves, solution maps."""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt

from ..plot import prediction_error_grid
from .lora_rank_study import PAPER_TABLE1, TITLES, LoRAStudy, method_label


def _rows(study: LoRAStudy) -> list[tuple[str, object, dict]]:
    """(label, paper key, our summary) for PINN, F-PINN and every rank, in table order."""
    m = study.metrics
    rows = [("PINN", "pinn", m["pinn"]), ("F-PINN", "fpinn", m["fpinn"])]
    for key, summ in sorted(m["lora"].items(), key=lambda kv: int(kv[0].split("_")[1])):
        r = int(key.split("_")[1])
        rows.append((f"L-PINN r={r}", r, summ))
    return rows


def table1(studies: Mapping[str, LoRAStudy]) -> str:
    """Paper A's Table 1 with our numbers beside it, as fixed-width text (one block per PDE)."""
    lines = []
    for name, st in studies.items():
        T = len(st.tasks)
        paper = PAPER_TABLE1[name]
        lines.append(f"{TITLES[name]} — ours: {st.cfg.mode} preset, {T} test tasks, {st.cfg.describe()['device']}; "
                     f"paper: 20 test tasks, P100 GPU")
        lines.append(f"{'method':13s} {'# ours':>7s} {'# paper':>8s} {'test MSE ours (± std)':>23s} "
                     f"{'paper':>9s} {'s/ep/task':>9s} {'paper':>6s} {'epochs ours':>11s} {'paper':>6s}")
        b = st.metrics["base"]
        lines.append(f"{'base, no fit':13s} {'0':>7s} {'':>8s} {b['test_mse']:11.2e} ± {b['test_mse_std']:8.1e} "
                     f"{'':>9s} {'':>9s} {'':>6s} {'0':>11s} {'':>6s}")
        for label, key, s in _rows(st):
            p = paper.get(key)
            pp = (f"{p[0]:8d}", f"{p[1]:9.2e}", f"{p[2]:6.2f}", f"{p[3] / 1000:5.1f}k") if p else ("", "", "", "")
            lines.append(f"{label:13s} {s['trainable_params']:7d} {pp[0]:>8s} {s['test_mse']:11.2e} ± "
                         f"{s['test_mse_std']:8.1e} {pp[1]:>9s} {s['s_per_epoch_per_task']:9.4f} {pp[2]:>6s} "
                         f"{s['epochs_mean']:11.0f} {pp[3]:>6s}")
        lines.append("")
    return "\n".join(lines)


def best_rank(study: LoRAStudy) -> int:
    lora = study.metrics["lora"]
    return int(min(lora, key=lambda k: lora[k]["test_mse"]).split("_")[1])


def verdict(studies: Mapping[str, LoRAStudy]) -> str:
    """A few computed sentences per PDE: best rank, L-PINN vs PINN / F-PINN / the unadapted base."""
    out = []
    for name, st in studies.items():
        m = st.metrics
        r = best_rank(st)
        lb = m["lora"][f"rank_{r}"]["test_mse"]
        out.append(
            f"{TITLES[name]} ({st.cfg.mode}): best rank {r} (paper: 4); best L-PINN MSE {lb:.2e} is "
            f"{m['pinn']['test_mse'] / lb:.2g}x lower than PINN's, {m['fpinn']['test_mse'] / lb:.2g}x lower than "
            f"F-PINN's and {m['base']['test_mse'] / lb:.2g}x lower than the unadapted base's "
            f"(ratios below 1 mean L-PINN is worse).")
    return "\n".join(out)


def figure_rank_curves(studies: Mapping[str, LoRAStudy]) -> plt.Figure:
    """Rows = PDEs; columns = test MSE, epochs and trainable parameters against the rank.

    Solid: ours (error bars = smallest to largest test task); dashed/hollow: Paper A.
    Horizontal lines: PINN (grey), F-PINN (blue) and the unadapted base (dotted, MSE only).
    """
    n = len(studies)
    fig, axes = plt.subplots(n, 3, figsize=(12, 2.9 * n), constrained_layout=True, squeeze=False)
    for row, (name, st) in enumerate(studies.items()):
        m, paper = st.metrics, PAPER_TABLE1[name]
        ranks = sorted(int(k.split("_")[1]) for k in m["lora"])
        ours = [m["lora"][f"rank_{r}"] for r in ranks]
        pr = sorted(k for k in paper if isinstance(k, int))
        cols = (("test_mse", 1, "test MSE"), ("epochs_mean", 3, "epochs (early stop)"),
                ("trainable_params", 0, "trainable params / task"))
        for c, (key, pidx, ylabel) in enumerate(cols):
            ax = axes[row, c]
            mid = [s[key] for s in ours]
            yerr = None
            if key == "test_mse":  # the range over test tasks (a ± std bar would cross zero on a log axis)
                yerr = [[y - min(s["test_mse_per_task"]) for y, s in zip(mid, ours)],
                        [max(s["test_mse_per_task"]) - y for y, s in zip(mid, ours)]]
            ax.errorbar(ranks, mid, yerr=yerr, fmt="o-", color="C3", capsize=3,
                        label=f"L-PINN, ours ({st.cfg.mode}; bars: range over test tasks)")
            ax.plot(pr, [paper[r][pidx] for r in pr], "o--", mfc="none", color="C3", alpha=0.6, label="L-PINN, paper")
            for meth, color in (("pinn", "0.4"), ("fpinn", "C0")):
                ax.axhline(m[meth][key], color=color, lw=1.2, label=f"{method_label(meth)}, ours")
                ax.axhline(paper[meth][pidx], color=color, lw=1, ls="--", alpha=0.6, label=f"{method_label(meth)}, paper")
            if key == "test_mse":
                ax.axhline(m["base"]["test_mse"], color="k", ls=":", lw=1, label="base, not adapted")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xticks(pr, [str(r) for r in pr])
            ax.set_xlabel("LoRA rank r")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{TITLES[name]}: {ylabel}")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8)
    return fig


def map_methods(study: LoRAStudy, max_ranks: int = 4) -> list[str]:
    """Methods shown in the solution maps: base, PINN, F-PINN and up to ``max_ranks`` ranks."""
    ranks = sorted(int(k.split("_")[1]) for k in study.metrics["lora"])
    if len(ranks) > max_ranks:
        keep = [r for r in (1, 4, 16, 64) if r in ranks]
        ranks = keep[:max_ranks] or ranks[:max_ranks]
    return ["base", "pinn", "fpinn", *[f"lora_r{r}" for r in ranks]]


def figure_method_maps(study: LoRAStudy, task: int = 0) -> plt.Figure:
    """Top row: reference and each method's prediction; bottom row: each method's |error|."""
    methods = map_methods(study)
    maps = [study.maps(meth, task) for meth in methods]
    emax = max(float(d["err"].max()) for d in maps[1:]) or 1.0
    fig, axes, im, ie = prediction_error_grid(
        maps[0]["ref"], maps, [method_label(d["method"]) for d in maps],
        [f"|error|, MSE {d['map_mse']:.1e}" for d in maps], maps[0]["extent"], emax, panel_width=2.15)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel(maps[0]["labels"][1])
    fig.colorbar(im, ax=axes[0, :], shrink=0.8)
    fig.colorbar(ie, ax=axes[1, 1:], shrink=0.8)
    fig.suptitle(f"{maps[0]['title']} — {maps[0]['what']} (test task {task}, {study.cfg.mode} preset; "
                 "errors on one colour scale)", fontsize=9)
    return fig
