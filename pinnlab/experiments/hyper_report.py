"""Notebook 03's tables and figures: Table 2 and Table 3 ours beside Paper A's, Figures 2–4 (maps)."""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np

from ..plot import prediction_error_grid
from .hyper_benchmarks import PAPER_TABLE2, PAPER_TABLE3, HyperBenchmark, key_label, parse_key
from .lora_rank_study import TITLES

#: Paper A's garbled Table 2 entries (printed mantissa, exponent unreadable)
GARBLED = {("burgers1d", "B4", 2): "6.64e?", ("burgers1d", "B4", 4): "4.74e?", ("burgers1d", "B4", 8): "8.23e?"}


def _paper(pde_name: str, key: str) -> str:
    method, rank = parse_key(key)
    v = PAPER_TABLE2[pde_name].get((method, rank))
    if v is None:
        return GARBLED.get((pde_name, method, rank), "—")
    return f"{v:.2e}"


def table2(benches: Mapping[str, HyperBenchmark]) -> str:
    """Table 2 as fixed-width text: per PDE and hypernetwork, MSE on train/valid/test tasks, s/epoch, paper's test MSE."""
    lines = []
    for name, b in benches.items():
        sp = b.metrics["settings"]["splits"]
        lines.append(f"{TITLES[name]} — ours: {b.cfg.mode} preset, {sp['train']}/{sp['valid']}/{sp['test']} "
                     f"train/valid/test tasks, {b.cfg.describe()['device']}; paper: P100 GPU, "
                     f"{'100/20/20' if name == 'burgers1d' else '20/20/20'} tasks")
        lines.append(f"{'hypernetwork':13s} {'outputs':>8s} {'train MSE':>10s} {'valid MSE':>10s} "
                     f"{'test MSE (± std)':>20s} {'paper test':>11s} {'s/epoch':>8s} {'epochs':>7s} {'own loss':>9s}")
        m = b.metrics["base"]
        lines.append(f"{'base, no hyp.':13s} {'0':>8s} {m['train_mse']:10.2e} {m['valid_mse']:10.2e} "
                     f"{m['test_mse']:10.2e}{'':10s} {'':>11s} {'':>8s} {'':>7s}")
        for key, r in b.metrics["hyper"].items():
            lines.append(f"{key_label(key):13s} {r['n_out']:8d} {r['train_mse']:10.2e} {r['valid_mse']:10.2e} "
                         f"{r['test_mse']:10.2e} ± {r['test_mse_std']:7.1e} {_paper(name, key):>11s} "
                         f"{r['s_per_epoch']:8.3f} {r['epochs']:7d} {r['final_loss']:9.1e}")
        lines.append("")
    return "\n".join(lines)


def table3(benches: Mapping[str, HyperBenchmark]) -> str:
    """Table 3 as text: seconds to a solution of a new task, ours (this device, one run) beside the paper's."""
    lines = []
    for name, b in benches.items():
        t = b.metrics["table3"]
        h = t["hyper"]
        paper = PAPER_TABLE3[name]
        lines.append(f"{TITLES[name]} — ours: {b.cfg.mode} preset, first test task, {t['device']}; "
                     f"paper: P100 GPU, full training")
        lines.append(f"{'method':16s} {'wall s':>9s} {'epochs':>7s} {'test MSE':>10s} "
                     f"{'s to HyperPINN MSE':>19s} {'paper s':>8s}")
        for (m, label), p in zip((("pinn", "PINN"), ("fpinn", "fine-tuned PINN"), ("lora_r4", "LoRA PINN r=4")),
                                 paper[:3]):
            r = t[m]
            reach = "not reached" if r["time_to_hyper_mse_s"] is None else f"{r['time_to_hyper_mse_s']:.2f}"
            lines.append(f"{label:16s} {r['wall_time_s']:9.2f} {r['epochs']:7d} {r['test_mse']:10.2e} "
                         f"{reach:>19s} {p:8.0f}")
        lines.append(f"{'HyperPINN ' + key_label(h['key']):16s} {h['inference_ms'] / 1e3:9.4f} {0:7d} "
                     f"{h['test_mse']:10.2e} {'(inference)':>19s} {paper[3]:8.1f}")
        lines.append(f"  HyperPINN inference: {h['inference_ms']:.1f} ms (best {h['inference_min_ms']:.1f} ms) for "
                     f"{t['grid_points']} points; its one-off training took {h['train_wall_time_s']:.0f} s")
        lines.append("")
    return "\n".join(lines)


def figure_maps(b: HyperBenchmark, task: int = 0) -> plt.Figure:
    """Figures 2–4: reference and every hypernetwork's prediction (top) and |error| (bottom) on one test task."""
    keys = b.keys
    data = [b.maps(k, task) for k in keys]
    emax = max(float(d["err"].max()) for d in data) or 1.0
    fig, axes, im, ime = prediction_error_grid(
        data[0]["ref"], data, [key_label(k) for k in keys], [f"|err|, MSE {d['map_mse']:.1e}" for d in data],
        data[0]["extent"], emax, panel_width=2.25, title_size=9, err_title_size=8)
    fig.colorbar(im, ax=axes[0, 0], fraction=0.05)
    fig.colorbar(ime, ax=axes[1, -1], fraction=0.05)
    for ax in axes.flat:
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{data[0]['title']} — {data[0]['what']} (test task {task}; {b.cfg.mode} preset)", fontsize=10)
    return fig


def figure_bars(benches: Mapping[str, HyperBenchmark]) -> plt.Figure:
    """Test MSE per hypernetwork and PDE, ours (bars, with the spread over test tasks) and the paper's (dots)."""
    fig, axes = plt.subplots(1, len(benches), figsize=(4.2 * len(benches), 3.2), constrained_layout=True,
                             squeeze=False)
    for ax, (name, b) in zip(axes[0], benches.items()):
        keys = list(b.metrics["hyper"])
        ours = np.array([b.metrics["hyper"][k]["test_mse"] for k in keys])
        per = [np.array(b.metrics["hyper"][k]["test_mse_per_task"]) for k in keys]
        lo = ours - np.array([p.min() for p in per])
        hi = np.array([p.max() for p in per]) - ours
        x = np.arange(len(keys))
        ax.bar(x, ours, color="C3", alpha=0.8, label=f"ours ({b.cfg.mode})", yerr=[lo, hi], capsize=2)
        paper = [PAPER_TABLE2[name].get(parse_key(k)) for k in keys]
        px = [i for i, p in enumerate(paper) if p is not None]
        ax.plot(px, [paper[i] for i in px], "ko", mfc="none", label="paper (P100, full)")
        ax.axhline(b.metrics["base"]["test_mse"], color="k", ls=":", lw=1, label="base, no hypernetwork")
        ax.set_yscale("log")
        ax.set_xticks(x, [key_label(k) for k in keys], rotation=45, fontsize=8)
        ax.set_title(TITLES[name])
        ax.set_ylabel("test MSE")
    axes[0, 0].legend(fontsize=7)
    return fig


def verdict(benches: Mapping[str, HyperBenchmark]) -> str:
    """The paper's claims, checked on this run's numbers (one line each)."""
    lines = []
    for name, b in benches.items():
        h = b.metrics["hyper"]
        test = {k: v["test_mse"] for k, v in h.items()}
        lora_b4 = {k: v for k, v in test.items() if k.startswith("B4") and not k.endswith("*")}
        best = min(test, key=test.get)
        b4, b2 = test.get("B4_r4"), test.get("B2_r4")
        parts = [f"best: {key_label(best)} ({test[best]:.1e})"]
        if b4 is not None and b2 is not None:
            parts.append(f"B4 r=4 {'beats' if b4 < b2 else 'does NOT beat'} B2 r=4 ({b4:.1e} vs {b2:.1e})")
        if "B4_r*" in test and lora_b4:
            worst_lora = max(lora_b4.values())
            parts.append(f"B4 * {'worse' if test['B4_r*'] > worst_lora else 'NOT worse'} than every LoRA B4 "
                         f"({test['B4_r*']:.1e})")
        parts.append(f"B4 r=4 vs the unadapted base: {b4 / b.metrics['base']['test_mse']:.2f}×" if b4 else "")
        lines.append(f"{TITLES[name]} ({b.cfg.mode}): " + "; ".join(p for p in parts if p))
    return "\n".join(lines)
