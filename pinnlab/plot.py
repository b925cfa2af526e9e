"""Figure helpers with one consistent style: solution / reference / error panels, loss curves."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .config import ROOT

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 130,
    "axes.grid": False,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "image.cmap": "viridis",
}
plt.rcParams.update(STYLE)

def field_panels(
    fields: Sequence[np.ndarray],
    titles: Sequence[str],
    extent: Sequence[float],
    labels: tuple[str, str] = ("x", "t"),
    error_index: Optional[Sequence[int]] = None,
    suptitle: Optional[str] = None,
    axes=None,
):
    """Side-by-side colour maps of 2D fields (indexed ``[row=vertical, col=horizontal]``).

    Args:
        fields: arrays ``[n_vertical, n_horizontal]``.
        titles: one per field.
        extent: ``(h_lo, h_hi, v_lo, v_hi)`` in the units of the coordinates.
        labels: horizontal and vertical axis labels.
        error_index: indices of fields drawn with a separate "magma" colour scale
            (errors); the others share one colour scale.
    Returns:
        the matplotlib figure.
    """
    error_index = set(error_index or [])
    n = len(fields)
    if axes is None:
        fig, axes = plt.subplots(1, n, figsize=(3.3 * n, 2.8), constrained_layout=True)
    else:
        fig = axes[0].figure
    axes = np.atleast_1d(axes)
    shared = [f for i, f in enumerate(fields) if i not in error_index]
    vmin = min(float(np.min(f)) for f in shared) if shared else None
    vmax = max(float(np.max(f)) for f in shared) if shared else None
    for i, (ax, f, title) in enumerate(zip(axes, fields, titles)):
        kw = {"cmap": "magma"} if i in error_index else {"vmin": vmin, "vmax": vmax}
        im = ax.imshow(f, origin="lower", extent=extent, aspect="auto", **kw)
        ax.set_title(title)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        fig.colorbar(im, ax=ax, shrink=0.85)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig

def solution_panels(pred: np.ndarray, ref: np.ndarray, extent, labels=("x", "t"), name="u", suptitle=None, axes=None):
    """Prediction, reference and |error| maps of one field."""
    return field_panels([pred, ref, np.abs(pred - ref)], [f"PINN {name}", f"reference {name}", f"|error| {name}"],
                        extent, labels, error_index=[2], suptitle=suptitle, axes=axes)

def reference_prediction_error(
    ref: np.ndarray,
    pred: np.ndarray,
    titles: Sequence[str],
    extent: Sequence[float],
    err_max: float,
    vmin: Optional[float] = None,
    vmax: Optional[float] = None,
    cmap: Optional[str] = None,
    aspect: str = "auto",
    labels: tuple[str, str] = ("x", "t"),
    fontsize: Optional[float] = None,
    axes=None,
):
    """Three colour maps in a row: reference, prediction and |prediction − reference|.

    Reference and prediction share one colour scale (``vmin``/``vmax``, by default the reference's
    range; ``cmap``, by default the style's) with its colour bar beside the prediction; the error is
    drawn in "magma" from 0 to ``err_max`` with its own bar.

    Args:
        ref, pred: arrays ``[n_vertical, n_horizontal]``.
        titles: the three panel titles (``fontsize``: their size, by default the style's).
        extent: ``(h_lo, h_hi, v_lo, v_hi)``; ``aspect`` as in ``imshow``.
        labels: horizontal and vertical axis labels.
        axes: three axes to draw on; by default a new 10.2 × 2.9 inch figure.
    Returns:
        the matplotlib figure.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(10.2, 2.9), constrained_layout=True)
    else:
        fig = axes[0].figure
    vmin = float(ref.min()) if vmin is None else vmin
    vmax = float(ref.max()) if vmax is None else vmax
    kw = {"origin": "lower", "extent": extent, "aspect": aspect}
    shared = {"vmin": vmin, "vmax": vmax, **({} if cmap is None else {"cmap": cmap})}
    im = axes[0].imshow(ref, **shared, **kw)
    axes[1].imshow(pred, **shared, **kw)
    fig.colorbar(im, ax=axes[1])
    im = axes[2].imshow(np.abs(pred - ref), cmap="magma", vmin=0.0, vmax=err_max, **kw)
    fig.colorbar(im, ax=axes[2])
    size = {} if fontsize is None else {"fontsize": fontsize}
    for ax, title in zip(axes, titles):
        ax.set_title(title, **size)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
    return fig

def prediction_error_grid(
    ref: np.ndarray,
    maps: Sequence[dict],
    titles: Sequence[str],
    err_titles: Sequence[str],
    extent: Sequence[float],
    err_max: float,
    panel_width: float,
    title_size: float = 8,
    err_title_size: float = 7,
):
    """Several methods on one task: the reference and each method's prediction in the top row (one
    colour scale, the reference's range), each method's |error| below its prediction ("magma", 0 …
    ``err_max``); the bottom-left panel stays empty.

    Args:
        maps: one dict per method with ``"pred"`` and ``"err"`` arrays ``[n_vertical, n_horizontal]``.
        titles, err_titles: per method, the titles of its prediction and of its error.
        panel_width: inches per column (the figure is 4.4 inches high).
    Returns:
        ``(fig, axes [2, n + 1], top-row image, bottom-row image)``: colour bars, ticks and the
        overall title are the caller's.
    """
    n = len(maps) + 1
    fig, axes = plt.subplots(2, n, figsize=(panel_width * n, 4.4), constrained_layout=True, squeeze=False)
    kw = {"origin": "lower", "extent": extent, "aspect": "auto"}
    vmin, vmax = float(ref.min()), float(ref.max())
    im = axes[0, 0].imshow(ref, vmin=vmin, vmax=vmax, **kw)
    axes[0, 0].set_title("reference", fontsize=title_size)
    axes[1, 0].axis("off")
    ie = None
    for j, (d, title, err_title) in enumerate(zip(maps, titles, err_titles), start=1):
        axes[0, j].imshow(d["pred"], vmin=vmin, vmax=vmax, **kw)
        axes[0, j].set_title(title, fontsize=title_size)
        ie = axes[1, j].imshow(d["err"], cmap="magma", vmin=0.0, vmax=err_max, **kw)
        axes[1, j].set_title(err_title, fontsize=err_title_size)
    return fig, axes, im, ie

def loss_curves(history: dict, ax=None, title: str = "training loss", terms=("loss", "residual", "ic", "bc")):
    """Semilog-y curves of each recorded loss term (and validation and L-BFGS, if present)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.2), constrained_layout=True)
    for k in terms:
        if history.get(k):
            ax.semilogy(history["epoch"], history[k], label=k, lw=1)
    if history.get("val_loss"):
        ax.semilogy(history["val_epoch"], history["val_loss"], "k--", lw=0.8, label="validation")
    if history.get("lbfgs_loss"):
        ax.semilogy(history["lbfgs_epoch"], history["lbfgs_loss"], "r-", lw=1.2, label="L-BFGS")
    ax.set_xlabel("epoch (L-BFGS: iteration after Adam)")
    ax.set_ylabel("mean squared term")
    ax.set_title(title)
    ax.legend()
    return ax.figure

def save(fig, name: str, cfg, folder: str) -> Optional[Path]:
    """Save ``fig`` as ``figures/<folder>/<name>.png`` for medium/full presets, else ``build/figures``.

    The saved picture carries a small "pinnlab · <preset> preset" stamp in its lower right corner, so a
    PNG seen out of context still says which preset made it.

    Returns the path written.
    """
    base = ROOT / ("figures" if cfg.mode != "quick" else "build/figures") / folder
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"{name}.png"
    stamp = fig.text(0.995, 0.002, f"pinnlab · {cfg.mode} preset", ha="right", va="bottom", fontsize=7, color="0.45")
    fig.savefig(path, bbox_inches="tight")
    stamp.remove()  # the notebook's own display stays as drawn
    return path
