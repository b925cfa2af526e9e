import sys; import os; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbkit import *
cells = [
md(r"""
# 01 · PINN basics: a network that obeys a PDE

A **physics-informed neural network** (PINN) is an ordinary neural network $u_\theta(x, t)$ trained so that
it *satisfies a differential equation*. Nobody gives it the solution. It is scored on

$$
\mathcal L(\theta) = \underbrace{\tfrac1{N_f}\sum_i r_\theta(x_i,t_i)^2}_{\text{residual}}
 + \underbrace{\tfrac1{N_0}\sum_j \big(u_\theta(x_j,0)-u_0(x_j)\big)^2}_{\text{initial condition}}
 + \underbrace{\tfrac1{N_b}\sum_k \big(\mathcal B u_\theta(x_k,t_k)\big)^2}_{\text{boundary condition}}
$$

where the **residual** $r_\theta$ is the PDE with everything moved to one side, evaluated on the network. For the
1D viscous Burgers equation (Paper A, the LoRA HyperPINN paper):

$$ r = u_t + \big(\tfrac{u^2}{2}\big)_x - \nu u_{xx} = u_t + u\,u_x - \nu u_{xx}, \qquad x\in[0,1)\ \text{periodic},\ t\in[0,1],\ \nu=0.01 .$$

The derivatives $u_t, u_x, u_{xx}$ of the *network* come from automatic differentiation.
In this notebook you will

1. compute a residual with autograd, and see the faster derivative engine that `pinnlab` uses;
2. look at the points a PINN is trained on;
3. catch a sign error in a published exact solution by its residual;
4. train PINNs on a 1D Burgers task and on Kovasznay flow, compare Adam alone with Adam + L-BFGS;
5. drag sliders to see how a trained PINN's residual reacts when the physics changes under it.

Every number below is computed when the notebook runs. The preset (`MODE`) sets the sizes: `quick` for a
first look and CI (minutes on a laptop), `medium` (Paper A's schedule shape, about an hour on 2 CPU cores),
`full` (Paper A's set-up).
"""),
params(),
code(r"""
import numpy as np
import torch
import matplotlib.pyplot as plt

import pinnlab
from pinnlab import exercises, plot, widgets
from pinnlab.pdes import Burgers1D, Burgers2D, Kovasznay, grf
from pinnlab.models import MLP

cfg = pinnlab.setup(mode=MODE, seed=SEED, device=DEVICE)
cfg
"""),
md(r"""
## 1 · The residual, by autograd

`pinnlab.pdes.Burgers1D(u0)` is one Burgers *task*: the viscosity and an initial condition $u_0$ given on the
grid $x_j = j/128$. Paper A draws these initial conditions from a Gaussian random field,
$u_0 \sim \mathcal N\big(0,\ 625(-\Delta + 25 I)^{-2}\big)$ (`pinnlab.pdes.grf`). There is no closed-form solution,
so `pinnlab` solves the equation with a pseudo-spectral method (checked against the exact Cole–Hopf solution in
the tests) to have a reference.

Below: a few random initial conditions, and the reference solution of the first one.
"""),
code(r"""
u0s = grf(4, n_points=128, seed=cfg.seed)
task = Burgers1D(u0s[0], nu=0.01)
x, t, U = task.reference_grid()               # x: [128], t: [101], U: [101, 128]

fig, ax = plt.subplots(1, 2, figsize=(10, 3), constrained_layout=True)
for u0 in u0s:
    ax[0].plot(x, u0, lw=1)
ax[0].set(title="GRF initial conditions", xlabel="x", ylabel="u0(x)")
im = ax[1].imshow(U, origin="lower", extent=(0, 1, 0, 1), aspect="auto")
ax[1].set(title="reference u(x, t) of the first task", xlabel="x", ylabel="t")
fig.colorbar(im, ax=ax[1]);
"""),
md(r"""
`pde.residual(u_fn, points)` evaluates the residual of **any** function `u_fn: [N, 2] → [N, 1]` with nested
`torch.autograd.grad`. The package also has a *derivative engine*: for a tanh network it carries the value, the
first and the second derivatives forward through every layer (for $a=\tanh z$: $a' = (1-a^2)\,z'$ and
$a'' = -2a(1-a^2)\,z'^2 + (1-a^2)\,z''$), so one ordinary backward pass gives the training gradient. Both must
agree to round-off:
"""),
code(r"""
net = MLP([2, 64, 64, 64, 1]).double()
pts, _ = task.sample(1000, "collocation", generator=cfg.generator(), dtype=torch.float64)

r_autograd = task.residual(net, pts)                                   # nested autograd
r_engine = task.residual_from_jet(net.jet(pts, task.spec), pts)         # forward-propagated derivatives
print("residual shape:", tuple(r_autograd.shape))
print("max |autograd − engine| =", (r_autograd - r_engine).abs().max().item())
assert torch.allclose(r_autograd, r_engine, atol=1e-10)
"""),
md(r"""
### Exercise 1 · write the Burgers residual yourself

Complete `burgers_residual(u_fn, points, nu)`: `points` is `[N, 2]` with columns $(x, t)$ and `requires_grad=True`;
return the residual $u_t + u u_x - \nu u_{xx}$ as a tensor of shape `[N, 1]`.
Hint: `torch.autograd.grad(u.sum(), points, create_graph=True)[0]` is `[N, 2]` = $(u_x, u_t)$.
"""),
code(r"""
def burgers_residual(u_fn, points, nu):
    u = u_fn(points)                      # [N, 1]
    # grad = torch.autograd.grad(u.sum(), points, create_graph=True)[0]   # [N, 2]: columns (u_x, u_t)
    # u_x, u_t = ...
    # u_xx = ...                          # differentiate u_x once more
    ...                                   # return the residual, shape [N, 1]

exercises.check_burgers_residual(burgers_residual)
"""),
solution(r"""
def burgers_residual(u_fn, points, nu):
    u = u_fn(points)
    grad = torch.autograd.grad(u.sum(), points, create_graph=True)[0]
    u_x, u_t = grad[:, 0:1], grad[:, 1:2]
    u_xx = torch.autograd.grad(u_x.sum(), points, create_graph=True)[0][:, 0:1]
    return u_t + u * u_x - nu * u_xx

assert exercises.check_burgers_residual(burgers_residual)
"""),
md(r"""
## 2 · Where a PINN looks: collocation, initial and boundary points

`pde.sample(n, kind)` draws the training points: `"collocation"` points fill the domain (the residual is
evaluated there), `"ic"` points sit at $t=0$ with the initial values as targets, `"bc"` points on the boundary.
Burgers' $x$ is periodic, so its boundary points come in pairs $(0, t)$ and $(1, t)$ whose values must agree.
Kovasznay flow (next) is steady: no initial condition, Dirichlet data on the four sides of the box.
"""),
code(r"""
kov = Kovasznay(Re=40)
g = cfg.generator(5)
fig, ax = plt.subplots(1, 2, figsize=(10, 3.4), constrained_layout=True)
for name, pde, kinds in (("1D Burgers (x, t)", task, ("collocation", "ic", "bc")), ("Kovasznay (x, y)", kov, ("collocation", "bc"))):
    a = ax[0] if pde is task else ax[1]
    for kind, n, s in zip(kinds, (400, 64, 40), (3, 8, 8)):
        p, _ = pde.sample(n, kind, generator=g)
        a.scatter(p[:, 0], p[:, 1], s=s, label=kind)
    a.set(title=name, xlabel=pde.coords[0], ylabel=pde.coords[1]); a.legend(loc="upper right", fontsize=7)
"""),
md(r"""
### Exercise 2 · the Kovasznay constant λ

Kovasznay flow is an exact solution of the steady Navier–Stokes equations,
$u = 1 - e^{\lambda x}\cos 2\pi y$, $v = \frac{\lambda}{2\pi} e^{\lambda x}\sin 2\pi y$, $p = \frac12(1-e^{2\lambda x})$,
for one value of $\lambda$ per Reynolds number (the one that decays downstream). Paper A prints a formula for it;
write the correct one. (Hint: Paper A's version is misprinted — substitute $u$ into the momentum equation if in doubt.)
"""),
code(r"""
def kovasznay_lambda(Re):
    ...   # return λ for this Reynolds number

exercises.check_kovasznay_lambda(kovasznay_lambda)
"""),
solution(r"""
def kovasznay_lambda(Re):
    return Re / 2 - np.sqrt(Re**2 / 4 + 4 * np.pi**2)

assert exercises.check_kovasznay_lambda(kovasznay_lambda)
"""),
md(r"""
## 3 · A residual catches a misprint: the 2D Burgers exact solution

Paper A's third problem is the coupled 2D Burgers system on $[0,1]^2\times[0,1]$ with the travelling-front
solution, $s = (-4x + 4y - t)/(32\nu)$,

$$u = \tfrac34 - \tfrac{1}{4(1+e^{s})}, \qquad v = \tfrac34 + \tfrac{1}{4(1+e^{s})}.$$

The paper prints the two signs the other way round. A residual settles it in one line: the corrected pair gives
round-off, the printed pair does not satisfy the PDE.
"""),
code(r"""
check = pinnlab.experiments.burgers2d_sign_check(nu=0.01)
print(f"max |residual|, corrected solution: {check['corrected_max_residual']:.2e}")
print(f"max |residual|, as printed in Paper A: {check['paper_max_residual']:.2e}")
fig = plot.field_panels([np.abs(check["corrected_map"][..., 0]).T, np.abs(check["paper_map"][..., 0]).T],
                        ["|residual of u-equation|, corrected", "|residual of u-equation|, as printed"],
                        (0, 1, 0, 1), ("x", "y"), error_index=[0, 1], suptitle="2D Burgers at t = 0.5, ν = 0.01")
assert check["corrected_max_residual"] < 1e-10 < 1e-3 < check["paper_max_residual"]
"""),
md(r"""
## 4 · Training PINNs

`pinnlab.experiments.pinn_basics(cfg)` trains two PINNs with Paper A's recipe and stores them (a second run
reloads them in seconds; an interrupted run resumes):

* **network**: tanh MLP with six hidden layers of width 64 — the depth that Paper A's parameter counts
  (21,057 for 1D Burgers, 21,187 for Kovasznay) imply;
* **optimiser**: Adam, learning rate $10^{-3}$ multiplied by 0.1 at fixed intervals (floor $10^{-7}$), early
  stopping when a validation loss (same terms on fresh points) stops improving, then an **L-BFGS** polish;
* **1D Burgers**: one GRF initial condition, 128 initial points, periodic boundary pairs, collocation points
  (10k in the paper); **Kovasznay**: $Re = 40$, 2601 collocation points, 320 boundary points.

The sizes of the current preset:
"""),
code(r"""
from pinnlab.experiments.pinn_basics import schedule
print(f"preset: {cfg.mode}", schedule(cfg))
res = pinnlab.experiments.pinn_basics(cfg)
print("trainable parameters:", res.metrics["params"])
"""),
md(r"""
### Loss curves, term by term

Each loss term is recorded separately. Watch the order of magnitude: the residual, initial and boundary terms
start far apart and the optimiser has to bring all of them down. The red part is L-BFGS after Adam.
"""),
code(r"""
fig, ax = plt.subplots(1, 2, figsize=(10, 3.4), constrained_layout=True)
plot.loss_curves(res.burgers_history, ax=ax[0], title="1D Burgers")
hist = dict(res.kovasznay_history)
hist["lbfgs_epoch"] = [res.metrics["kovasznay_adam"]["epochs"] + e for e in res.kovasznay_lbfgs_history["lbfgs_epoch"]]
hist["lbfgs_loss"] = res.kovasznay_lbfgs_history["lbfgs_loss"]
plot.loss_curves(hist, ax=ax[1], title="Kovasznay, Re = 40")
if SAVE_FIGS: plot.save(fig, "loss_curves", cfg, "01_pinn_basics")
h = res.burgers_history
assert h["loss"][-1] < 0.5 * h["loss"][0], "the Burgers loss did not fall"
assert hist["lbfgs_loss"][-1] < 0.1 * hist["loss"][0], "the Kovasznay loss did not fall"
"""),
md(r"""
### 1D Burgers: prediction, reference, error

Look at *where* the error sits. In our medium run it is largest along the periodic edges $x = 0$ and
$x = 1$ and in a thin layer just above $t = 0$, not in the interior.
"""),
code(r"""
x, t, U = res.burgers.reference_grid()       # the task the PINN was trained on
grid = torch.tensor(np.stack(np.meshgrid(x, t), -1).reshape(-1, 2))
pred = res.predict(res.burgers_model, grid).reshape(U.shape)
fig = plot.solution_panels(pred, U, (0, 1, 0, 1), suptitle=f"1D Burgers, one GRF task ({cfg.mode} preset)")
if SAVE_FIGS: plot.save(fig, "burgers1d_solution", cfg, "01_pinn_basics")
m = res.metrics["burgers1d"]
print(f"relative L2 error {m['rel_l2']:.3e}, MSE {m['mse']:.3e}, max error {m['max_err']:.3e} "
      f"after {m['epochs']} Adam epochs + L-BFGS ({m['wall_time_s']:.0f} s)")
# full preset on an H200: 0.065 (the paper's 30k-epoch schedule stops early at lr 1e-4; medium reaches 0.038)
assert m["rel_l2"] < cfg.pick(quick=0.5, medium=0.1, full=0.1)
assert abs(pinnlab.metrics.rel_l2(pred, U) - m["rel_l2"]) < 1e-6  # the figure shows the measured task
"""),
md(r"""
<details><summary><b>Think:</b> why would the error gather at x = 0, x = 1 and near t = 0?</summary>

The loss sees the solution only through the residual at collocation points and through the data terms. The
periodic boundary condition is imposed *weakly* and only on $u$ (pairs $u(0,t) = u(1,t)$), not on $u_x$; a
network that is not periodic by construction can satisfy the pairs while bending differently on the two sides,
so the edges are where it is least constrained. Near $t = 0$ the initial condition is known at only 128 points and
contains small-scale wiggles that viscosity erases within a few hundredths of a time unit — a smooth tanh network
fits that thin layer poorly. Remedies: periodic input features ($\sin 2\pi x, \cos 2\pi x$) that make every
network periodic, a $u_x$ pairing term, or more points near $t = 0$.
</details>
"""),
md(r"""
### Kovasznay flow: Adam alone versus Adam + L-BFGS

Adam makes fast progress early but, with a small learning rate, crawls at the end. L-BFGS uses curvature
information from recent gradients and, on a smooth full-batch loss like this one, often cuts the error by an
order of magnitude in a few hundred iterations. Paper A polishes every PINN with L-BFGS for this reason.
"""),
code(r"""
X, shape = kov.grid(101)
ref = kov.solution(X).numpy()
rows = []
fig, axes = plt.subplots(2, 3, figsize=(10, 5.6), constrained_layout=True)
for r, (label, model, key) in enumerate((("Adam", res.kovasznay_adam, "kovasznay_adam"),
                                         ("Adam + L-BFGS", res.kovasznay_model, "kovasznay_lbfgs"))):
    pred = res.predict(model, X)
    plot.solution_panels(pred[:, 0].reshape(shape).T, ref[:, 0].reshape(shape).T, (-0.5, 1, -0.5, 1.5),
                         ("x", "y"), axes=axes[r])
    axes[r, 0].set_title(f"{label}: u")
    mk = res.metrics[key]
    rows.append((label, mk["u"], mk["v"], mk["p"], mk["wall_time_s"]))
if SAVE_FIGS: plot.save(fig, "kovasznay_adam_vs_lbfgs", cfg, "01_pinn_basics")
print(f"{'Kovasznay Re=40':16s} {'rel L2 u':>10s} {'rel L2 v':>10s} {'rel L2 p':>10s} {'time s':>8s}   ({cfg.mode} preset)")
for row in rows:
    print(f"{row[0]:16s} {row[1]:10.3e} {row[2]:10.3e} {row[3]:10.3e} {row[4]:8.1f}")
adam, polished = res.metrics["kovasznay_adam"], res.metrics["kovasznay_lbfgs"]
assert polished["mean_rel_l2"] < adam["mean_rel_l2"], "L-BFGS should improve on Adam"
assert polished["mean_rel_l2"] < cfg.pick(quick=0.3, medium=0.02, full=0.01)
"""),
md(r"""
## 5 · Sliders: change the physics under a trained network

The PINN above was trained for one Reynolds number and one viscosity. What if the physics changes? The panels
below redraw the exact (or reference) solution for a new $Re$ or $\nu$, and the residual of the **same trained
network** under the new equation. At the training value the residual is small everywhere; move away and it grows
— a PINN solves one task. Notebooks 02–05 are about making new tasks cheap.

First the static picture (for readers without a running kernel): the residual at the training value and away from it.
"""),
code(r"""
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), constrained_layout=True)
for ax, Re in zip(axes, (40, 100)):
    d = widgets.kovasznay_residual(res.kovasznay_model, Re)
    im = ax.imshow(np.log10(d["residual"] + 1e-12), origin="lower", extent=d["extent"], cmap="magma", vmin=-4, vmax=1)
    ax.set(title=f"log10 |residual|, network trained at Re=40, evaluated at Re={Re}", xlabel="x", ylabel="y")
    ax.title.set_fontsize(8)
fig.colorbar(im, ax=axes)
if SAVE_FIGS: plot.save(fig, "kovasznay_residual_vs_Re", cfg, "01_pinn_basics")
r40 = widgets.kovasznay_residual(res.kovasznay_model, 40)["max_residual"]
r100 = widgets.kovasznay_residual(res.kovasznay_model, 100)["max_residual"]
assert r100 > r40, "the residual should grow away from the training Reynolds number"
"""),
md(r"""
Drag **Re** or **ν** (the figure redraws when you release the handle):
"""),
code(r"""
panels = widgets.pinn_basics_panel(res)
display(panels["kovasznay"].widget)
display(panels["burgers"].widget)
"""),
md(r"""
<details><summary><b>Think:</b> the Kovasznay residual at a new Re is mostly the viscous term. Why?</summary>

Only the viscous term $-(u_{xx}+u_{yy})/Re$ contains $Re$ explicitly. The trained network still has the old
$u$, so the change of the residual is exactly $(1/Re_{\text{old}} - 1/Re_{\text{new}})\,\Delta u$, largest where
$\Delta u$ is largest (near the inflow at $x=-0.5$, where $e^{\lambda x}$ is biggest). But the old $u$ is also the
wrong flow for the new $Re$: $\lambda$ changes, so the exact solution moves too.
</details>

## Summary

| | this run |
|---|---|
| residual engine vs autograd | equal to round-off |
| 2D Burgers exact solution | corrected signs satisfy the PDE; the printed ones do not |
| PINN on 1D Burgers | see the error above (preset printed with it) |
| Kovasznay, Adam vs Adam + L-BFGS | L-BFGS improves the relative error |

Next: **02 · LoRA rank study** — adapting a trained base PINN to new tasks with a few thousand parameters.
"""),
]
write(cells, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../notebooks/"+"01_pinn_basics.ipynb"))
