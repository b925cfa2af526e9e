"""Slider panels built from a pure ``compute(**values) -> data`` and a ``draw(data) -> Figure``.

Keeping the two apart means the physics behind a slider is testable without a browser
(set ``slider.value``, read ``panel.data``) and the drawing can be reused for the static
figure that precedes every panel.
"""
from __future__ import annotations

from typing import Callable

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from .models import EngineModel
from .pdes import Burgers1D, Kovasznay
from .plot import reference_prediction_error

#: ``(x_lo, x_hi, t_lo, t_hi)`` of the convection / CDR maps of notebooks 04 and 05
CONVECTION_EXTENT = (0.0, 2 * np.pi, 0.0, 1.0)


class Panel:
    """Sliders + an output area redrawn by ``draw(compute(**slider values))``.

    Args:
        compute: pure function of the slider values returning a dict of arrays.
        draw: function of that dict returning a matplotlib figure.
        sliders: ``{name: ipywidget}``; each gets the CSS class ``pinnlab-slider-<name>``.
        css: CSS class of the output area (browser tests find it by this name).

    Attributes:
        data: the latest ``compute`` result (tests read it after setting ``slider.value``).
        widget: the ``VBox`` to display.
    """

    def __init__(self, compute: Callable[..., dict], draw: Callable[[dict], "plt.Figure"],
                 sliders: dict[str, W.ValueWidget], css: str = "pinnlab-panel"):
        self.compute, self.draw, self.sliders = compute, draw, sliders
        self.out = W.Output()
        self.out.add_class(css)
        for name, s in sliders.items():
            s.add_class(f"pinnlab-slider-{name}")
            s.observe(self._changed, names="value")
        self.widget = W.VBox([W.HBox(list(sliders.values())), self.out])
        self.data: dict = {}
        self.update()

    def values(self) -> dict:
        return {k: s.value for k, s in self.sliders.items()}

    def _changed(self, _change) -> None:
        self.update()

    def update(self) -> None:
        """Recompute and redraw.

        The picture goes into the output area by setting its ``outputs`` state (one widget
        message) rather than by capturing ``display`` inside ``with self.out:``: headless
        executors (papermill/nbclient) route captured output by message id and now and then
        stall on it (nbclient issue 312); the state update also avoids a blank flash while
        redrawing. An error in ``compute`` or ``draw`` is shown in the output area as a
        traceback (and raised), instead of vanishing into the kernel log.
        """
        try:
            self.data = self.compute(**self.values())
            fig = self.draw(self.data)
        except Exception:
            import traceback

            self.out.outputs = ({"output_type": "stream", "name": "stderr", "text": traceback.format_exc()},)
            raise
        self.out.outputs = (_figure_output(fig),)
        plt.close(fig)

    def _ipython_display_(self) -> None:
        display(self.widget)


def _figure_output(fig: "plt.Figure", dpi: int = 100) -> dict:
    """A display_data output (PNG + text) of ``fig``, as stored in an Output widget's ``outputs``."""
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": png, "text/plain": f"<Figure of {len(fig.axes)} axes>"}}


def slider(description: str, value: float, lo: float, hi: float, step: float, slow: bool = True, fmt: str = ".3g"):
    """A ``FloatSlider``; ``slow=True`` redraws on release only (``continuous_update=False``)."""
    return W.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                         continuous_update=not slow, readout_format=fmt,
                         style={"description_width": "initial"}, layout=W.Layout(width="340px"))


# ---------------------------------------------------------------------------- notebook 01
def _residual_norm(model: torch.nn.Module, pde, points: torch.Tensor) -> np.ndarray:
    p = next(model.parameters())
    x = points.to(p.device, p.dtype)
    if isinstance(model, EngineModel):  # forward-propagated derivatives need no graph
        with torch.no_grad():
            r = pde.residual_from_jet(model.jet(x, pde.spec), x)
    else:
        r = pde.residual(model, x).detach()
    return r.norm(dim=-1).double().cpu().numpy()


def kovasznay_residual(model: torch.nn.Module, Re: float, n: int = 61) -> dict:
    """Exact Kovasznay ``u`` at ``Re`` and the residual norm of ``model`` for that ``Re``.

    Returns ``{"Re", "extent", "u_exact" [n, n] (rows = y), "residual" [n, n], "max_residual"}``.
    """
    pde = Kovasznay(Re)
    pts, shape = pde.grid(n)
    u = pde.solution(pts)[:, 0].numpy().reshape(shape).T
    r = _residual_norm(model, pde, pts).reshape(shape).T
    (x0, x1), (y0, y1) = pde.domain.values()
    return {"Re": Re, "extent": (x0, x1, y0, y1), "u_exact": u, "residual": r, "max_residual": float(r.max())}


def burgers_residual(model: torch.nn.Module, u0: np.ndarray, nu: float, n_x: int = 128) -> dict:
    """Reference 1D Burgers solution for IC ``u0`` at viscosity ``nu`` and ``model``'s residual for that ν.

    Returns ``{"nu", "extent", "u_ref" [101, n_x] (rows = t), "residual" [101, n_x], "max_residual"}``.
    """
    pde = Burgers1D(u0, nu=nu)
    x, t, U = pde.reference_grid()
    X, T = np.meshgrid(x, t)
    pts = torch.tensor(np.stack([X.ravel(), T.ravel()], 1))
    r = _residual_norm(model, pde, pts).reshape(U.shape)
    return {"nu": nu, "extent": (0.0, 1.0, 0.0, 1.0), "u_ref": U, "residual": r, "max_residual": float(r.max())}


def draw_reference_and_residual(data: dict, ref_key: str, title: str, labels=("x", "t")) -> "plt.Figure":
    """Two panels: the reference/exact field and log10 of the network's residual."""
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.0), constrained_layout=True)
    im = axes[0].imshow(data[ref_key], origin="lower", extent=data["extent"], aspect="auto")
    axes[0].set_title(f"exact / reference u, {title}")
    fig.colorbar(im, ax=axes[0])
    im = axes[1].imshow(np.log10(data["residual"] + 1e-12), origin="lower", extent=data["extent"],
                        aspect="auto", cmap="magma", vmin=-4, vmax=1)
    axes[1].set_title(f"log10 |residual| of the trained PINN (max {data['max_residual']:.2g})")
    fig.colorbar(im, ax=axes[1])
    for ax in axes:
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
    return fig


def pinn_basics_panel(result) -> dict[str, Panel]:
    """Notebook 01's panels: Re → Kovasznay, ν → 1D Burgers (reference and residual)."""
    kov = Panel(lambda Re: kovasznay_residual(result.kovasznay_model, Re),
                lambda d: draw_reference_and_residual(d, "u_exact", f"Re = {d['Re']:.0f}", ("x", "y")),
                {"Re": slider("Re (trained at 40)", 40.0, 10.0, 120.0, 5.0)}, css="pinnlab-panel-kovasznay")
    u0 = result.burgers.u0
    bur = Panel(lambda nu: burgers_residual(result.burgers_model, u0, nu),
                lambda d: draw_reference_and_residual(d, "u_ref", f"ν = {d['nu']:.3f}"),
                {"nu": slider("ν (trained at 0.01)", 0.01, 0.002, 0.05, 0.002)}, css="pinnlab-panel-burgers")
    return {"kovasznay": kov, "burgers": bur}


# ---------------------------------------------------------------------------- notebook 02
def draw_task_maps(data: dict) -> "plt.Figure":
    """Prediction, reference and |error| of one test task (``LoRAStudy.maps`` / ``live_lora_fit`` output).

    With a ``history`` entry (a live fit) a fourth panel shows its training loss.
    """
    live = "history" in data
    fig, axes = plt.subplots(1, 4 if live else 3, figsize=(12.4 if live else 9.6, 2.9), constrained_layout=True)
    kw = {"origin": "lower", "extent": data["extent"], "aspect": "auto"}
    vmin, vmax = float(data["ref"].min()), float(data["ref"].max())
    label = data["method"].replace("lora_r", "L-PINN r=")
    for ax, key, title in ((axes[0], "pred", f"{label}"), (axes[1], "ref", "reference")):
        im = ax.imshow(data[key], vmin=vmin, vmax=vmax, **kw)
        ax.set_title(title)
    fig.colorbar(im, ax=axes[1])
    im = axes[2].imshow(data["err"], cmap="magma", **kw)
    axes[2].set_title(f"|error|, MSE {data['map_mse']:.2e}")
    fig.colorbar(im, ax=axes[2])
    for ax in axes[:3]:
        ax.set_xlabel(data["labels"][0])
        ax.set_ylabel(data["labels"][1])
    if live:
        h = data["history"]
        axes[3].semilogy(h["epoch"], h["loss"], color="C3")
        axes[3].set(xlabel="epoch", ylabel="training loss",
                    title=f"{data['trainable_params']} params, {data['seconds']:.1f} s "
                          f"(base MSE {data['base_map_mse']:.1e})")
    fig.suptitle(f"{data['title']} — {data['what']}", fontsize=10)
    return fig


def lora_rank_panel(study) -> Panel:
    """Rank and test task → stored L-PINN prediction, reference and error (no training)."""
    ranks = sorted(int(k.split("_")[1]) for k in study.metrics["lora"])
    sliders = {
        "rank": W.SelectionSlider(options=ranks, value=ranks[min(1, len(ranks) - 1)], description="LoRA rank",
                                  continuous_update=False),
        "task": W.IntSlider(value=0, min=0, max=len(study.tasks) - 1, description="test task",
                            continuous_update=False),
    }
    return Panel(lambda rank, task: study.maps(f"lora_r{rank}", task), draw_task_maps, sliders,
                 css="pinnlab-panel-lora-rank")


def lora_live_panel(study, epochs: int = 150) -> Panel:
    """Rank and test task → a fresh LoRA fit of that task, run when a slider is released (seconds)."""
    from .experiments.lora_rank_study import ALL_RANKS, live_lora_fit

    sliders = {
        "rank": W.SelectionSlider(options=list(ALL_RANKS), value=4, description="LoRA rank",
                                  continuous_update=False),
        "task": W.IntSlider(value=0, min=0, max=len(study.tasks) - 1, description="test task",
                            continuous_update=False),
    }
    return Panel(lambda rank, task: live_lora_fit(study, rank, task, epochs=epochs), draw_task_maps, sliders,
                 css="pinnlab-panel-lora-live")


# ---------------------------------------------------------------------------- notebook 04
def draw_beta_maps(data: dict) -> "plt.Figure":
    """Reference, prediction and |error| of one convection speed (``FailureModes.hyper_maps`` /
    ``FailureModes.pinn_maps`` output), with the adaptive ranks in the title when given."""
    fig = reference_prediction_error(
        data["ref"], data["pred"],
        (f"reference u, β = {data['beta']:g}", data["label"],
         f"|error|: abs {data['abs_err']:.3f}, rel {data['rel_err']:.3f}"), CONVECTION_EXTENT, err_max=2.0)
    _ranks_title(fig, data)
    return fig


def _ranks_title(fig: "plt.Figure", data: dict) -> None:
    if "ranks" in data:
        fig.suptitle(f"adaptive ranks of the three low-rank layers: {list(data['ranks'])}", fontsize=9)


def hyperlr_panel(result, lo: float = 20.0, hi: float = 50.0) -> Panel:
    """β → reference, the Phase-1 Hyper-LR-PINN prediction (hypernetwork output, no retraining) and error."""
    start = float(np.clip(35.0, lo, hi))
    return Panel(lambda beta: result.hyper_maps(beta), draw_beta_maps,
                 {"beta": slider("β (trained on 30…40)", start, lo, hi, 0.5)}, css="pinnlab-panel-hyperlr")


def pinn_sweep_panel(result) -> Panel:
    """The swept β of the vanilla PINN → its prediction, the reference and the error (stored runs)."""
    betas = [float(b) for b in result.metrics["pinn_sweep"]["betas"]]
    s = W.SelectionSlider(options=betas, value=betas[0], description="β (vanilla PINN)", continuous_update=False,
                          style={"description_width": "initial"}, layout=W.Layout(width="420px"))
    return Panel(lambda beta: result.pinn_maps(beta), draw_beta_maps, {"beta": s}, css="pinnlab-panel-pinn-sweep")


# ---------------------------------------------------------------------------- notebook 05
def draw_cdr_maps(data: dict) -> "plt.Figure":
    """Reference, prediction and |error| of one CDR instance (``CDRHelmholtz.cdr_maps`` output)."""
    b, n, r = data["mu"]
    fig = reference_prediction_error(
        data["ref"], data["pred"],
        (f"reference, β={b:g} ν={n:g} ρ={r:g}", data["label"],
         f"|error|: abs {data['abs_err']:.3f}, rel {data['rel_err']:.3f}"), CONVECTION_EXTENT, err_max=0.5,
        fontsize=9)
    _ranks_title(fig, data)
    return fig


def cdr_panel(result) -> Panel:
    """β, ν, ρ → Strang-splitting reference, the Phase-1 Hyper-LR-PINN of the CDR family (no retraining), error."""
    sl = {name: slider(f"{sym}", 3.0, 1.0, 5.0, 0.5) for name, sym in (("beta", "β"), ("nu", "ν"), ("rho", "ρ"))}
    for s in sl.values():
        s.layout = W.Layout(width="260px")
    return Panel(lambda beta, nu, rho: result.cdr_maps(beta, nu, rho), draw_cdr_maps, sl, css="pinnlab-panel-cdr")


def draw_helmholtz_maps(data: dict) -> "plt.Figure":
    """Exact solution, prediction and |error| of one Helmholtz instance (``CDRHelmholtz.helmholtz_maps``)."""
    return reference_prediction_error(
        data["ref"], data["pred"], (f"exact u, a = {data['a']:g}", data["label"], f"|error|, rel {data['rel_err']:.3f}"),
        (-1.0, 1.0, -1.0, 1.0), err_max=1.0, vmin=-1, vmax=1, cmap="RdBu_r", aspect="equal", labels=("x", "y"),
        fontsize=9)


def helmholtz_panel(result, lo: float = 1.8, hi: float = 3.2) -> Panel:
    """a → exact Helmholtz solution, the Phase-1 Hyper-LR-PINN prediction (no retraining) and error."""
    return Panel(lambda a: result.helmholtz_maps(a), draw_helmholtz_maps,
                 {"a": slider("a (trained on 2…3)", 2.5, lo, hi, 0.05)}, css="pinnlab-panel-helmholtz")


# ---------------------------------------------------------------------------- notebook 03
def hyper_kovasznay_panel(bench, key: str = "B4_r4") -> Panel:
    """Re → the HyperPINN's Kovasznay solution (one hypernetwork pass), the exact one and the error."""
    from .pdes import Kovasznay as _Kov

    return Panel(lambda Re: bench.maps(key, _Kov(Re)), draw_task_maps,
                 {"Re": slider("Re (trained on 20…100)", 50.0, 20.0, 100.0, 1.0, fmt=".0f")},
                 css="pinnlab-panel-hyper-kovasznay")


def hyper_burgers2d_panel(bench, key: str = "B4_r4") -> Panel:
    """ν → the HyperPINN's 2D Burgers solution at t = 0.5, the exact one and the error."""
    from .pdes import Burgers2D as _B2

    return Panel(lambda nu: bench.maps(key, _B2(nu)), draw_task_maps,
                 {"nu": slider("ν (trained on 1e-4…1e-3)", 5e-4, 1e-4, 1e-3, 5e-5, fmt=".1e")},
                 css="pinnlab-panel-hyper-burgers2d")


def hyper_burgers1d_panel(bench, key: str = "B4_r4") -> Panel:
    """A test initial condition, scaled by a factor → the HyperPINN's 1D Burgers solution, the reference
    (spectral solver, computed on the spot) and the error."""
    tests = bench.tasks

    def compute(task: int, scale: float) -> dict:
        pde = Burgers1D(np.asarray(tests[task].u0) * scale, nu=tests[task].nu)
        out = bench.maps(key, pde)
        out["title"] += f" (test IC {task} × {scale:.2f})"
        return out

    sliders = {"task": W.IntSlider(value=0, min=0, max=len(tests) - 1, description="test IC",
                                   continuous_update=False),
               "scale": slider("IC × factor", 1.0, 0.5, 1.5, 0.05, fmt=".2f")}
    return Panel(compute, draw_task_maps, sliders, css="pinnlab-panel-hyper-burgers1d")
