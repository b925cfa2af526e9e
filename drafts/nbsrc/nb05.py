import sys; import os; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbkit import *
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                         "notebooks", "05_parameterized_cdr_and_helmholtz.ipynb")
cells = [
md(r"""
# 05 · Parameterized convection–diffusion–reaction and 2D Helmholtz

Notebook 04 met Hyper-LR-PINN on the hardest corner of one family: convection with $\beta\in[30,40]$. Paper B
(Cho et al., NeurIPS 2023) also claims something broader: over a whole *box* of PDE parameters, a hypernetwork that
writes the diagonals of a low-rank PINN beats full-rank methods that see the same tasks, and on an oscillatory 2D
problem it needs **10 epochs** where a PINN struggles for 2,000. This notebook tests both claims:

$$ u_t + \beta\,u_x - \nu\,u_{xx} - \rho\,u(1-u) = 0,\qquad x\in[0,2\pi)\ \text{periodic},\ t\in[0,1],\qquad
u(x,0) = e^{-(x-\pi)^2 / (2(\pi/2)^2)} , $$

$$ u_{xx} + u_{yy} + k^2 u = q(x,y;a),\qquad (x,y)\in[-1,1]^2,\qquad u = \sin(a\pi x)\sin(a\pi y),\ k = 1 . $$

In this notebook you will

1. meet the three regimes of the CDR family and write one **operator-splitting step** of the reference solver (exercise);
2. train six methods on every task of the box — a PINN per task, **PINN-P**, **PINN-S2S**, MAML, Reptile and
   Hyper-LR-PINN — and compare with the paper's **Table 4**;
3. look at the **reaction failure** ($\rho\ge 5$);
4. reproduce **Figure 7** (Helmholtz) and slide $\beta,\nu,\rho$ and $a$ through the trained hypernetworks;
5. put the two papers side by side from what notebooks 02–05 measured.

Every number is computed here. `MODE` chooses the sizes: `quick` (about 2 minutes of training on 2 CPU cores; it
checks that every piece runs, nothing converges), `medium` (the paper's models and losses with fewer tasks and
epochs, about an hour) and `full` (Paper B's set-up: all of $\{1,\dots,5\}$ and $\{1,\dots,5\}^3$, 20k epochs).
"""),
params(),
code(r"""
import numpy as np
import torch
import matplotlib.pyplot as plt

import pinnlab
from pinnlab import exercises, plot, widgets
from pinnlab.pdes.cdr import CDR, cdr_split_step
from pinnlab.experiments.cdr_helmholtz import NAME, METHODS, settings, paper_comparison
from pinnlab.experiments import cdr_helmholtz_figures as F

cfg = pinnlab.setup(mode=MODE, seed=SEED, device=DEVICE)
cfg
"""),
md(r"""
## 1 · One family, three regimes

The coefficients $\mu=(\beta,\nu,\rho)$ pick the physics: **convection** ($\beta$) carries the bump to the right at
speed $\beta$; **diffusion** ($\nu$) spreads it; **reaction** ($\rho$, Fisher's logistic term) pushes every value
towards the stable state $u=1$ — slowly where $u$ is near 0, fast where it is in between. Paper B's Table 4 uses
three families with coefficients in $\{1,\dots,5\}$: convection ($\nu=\rho=0$), reaction ($\beta=\nu=0$) and
convection–diffusion–reaction (all three).

Two of them have closed forms: convection is a translation, $u=u_0(x-\beta t)$, and reaction is the logistic flow
applied pointwise, $u = u_0 e^{\rho t}/(u_0e^{\rho t}+1-u_0)$. With all three terms there is none, so
`pinnlab.pdes.CDR` computes a reference by **operator splitting**:
"""),
code(r"""
fig = F.draw_cdr_family()
if SAVE_FIGS: plot.save(fig, "cdr_family", cfg, NAME)
"""),
md(r"""
### Exercise 1 · one Strang splitting step

Split the right-hand side of $u_t = -\beta u_x + \nu u_{xx} + \rho u(1-u)$ into a linear part and a reaction part,
each of which we can solve **exactly** over a step $\Delta t$:

* reaction alone, $u_t=\rho u(1-u)$, pointwise: $R(\tau)\,u = \dfrac{u}{u + (1-u)\,e^{-\rho\tau}}$;
* convection–diffusion alone, in Fourier space: mode $k$ is multiplied by $e^{-(i\beta k+\nu k^2)\Delta t}$.

**Strang splitting** takes half a reaction step, a full linear step, and the other half:
$u^{n+1} = R(\Delta t/2)\; CD(\Delta t)\; R(\Delta t/2)\; u^n$ — second-order accurate, where doing the two parts
one after the other (Lie splitting) is only first order. Write one step for grid values `u` (a numpy array on
$x_j = 2\pi j/n_x$). `np.fft.fftfreq(n, d=1/n)` gives the integer wavenumbers in `np.fft.fft` order.
"""),
code(r"""
def strang_step(u, dt, beta, nu, rho):
    k = np.fft.fftfreq(u.size, d=1.0 / u.size)   # wavenumbers 0, 1, …, n/2−1, −n/2, …, −1
    # 1. half a reaction step (exact logistic flow over dt/2)
    # 2. one exact convection–diffusion step in Fourier space (fft, multiply, ifft, real part)
    # 3. the other half reaction step
    ...

exercises.check_strang_step(strang_step)
"""),
solution(r"""
def strang_step(u, dt, beta, nu, rho):
    k = np.fft.fftfreq(u.size, d=1.0 / u.size)

    def reaction(u, tau):
        return u / (u + (1 - u) * np.exp(-rho * tau))

    def convection_diffusion(u, tau):
        return np.fft.ifft(np.fft.fft(u) * np.exp(-(1j * beta * k + nu * k**2) * tau)).real

    return reaction(convection_diffusion(reaction(u, dt / 2), dt), dt / 2)

assert exercises.check_strang_step(strang_step)
"""),
md(r"""
Is splitting accurate enough to judge PINNs with? Marching a smooth profile with all three terms and halving the
step shows the error and its order. `CDR(...).splitting_reference()` uses 512 points and $\Delta t=10^{-3}$; in the moving frame $\xi=x-\beta t$, with
the exact heat flow of the Gaussian's kink carried separately (see its docstring):
"""),
code(r"""
nx = 256
x = 2 * np.pi * np.arange(nx) / nx
u0 = 0.3 + 0.2 * np.sin(x)        # values in (0, 1)

def march(dt, beta=2.0, nu=1.0, rho=3.0, T=0.5):
    u = u0.copy()
    for _ in range(int(round(T / dt))):
        u = cdr_split_step(u, dt, beta, nu, rho)
    return u

fine = march(1e-4)
errs = {dt: np.abs(march(dt) - fine).max() for dt in (0.05, 0.025, 0.0125)}
for dt, e in errs.items():
    print(f"dt = {dt:6.4f}: max |u − u_fine| = {e:.2e}")
ratio = errs[0.025] / errs[0.0125]
print(f"halving dt divides the error by {ratio:.2f} (second order: 4)")
assert 3.5 < ratio < 4.5, "Strang splitting should be second order"
"""),
md(r"""
## 2 · Six ways to solve a box of tasks

Every method sees the same data per task: the residual on $N_f$ random collocation points, the initial condition on
an $x$ grid and periodicity on pairs $(0,t)$, $(2\pi,t)$ (Paper B's layout), and the same Adam optimiser.

| method | what is trained | per new task |
|---|---|---|
| **PINN** | one 2-50-50-50-50-50-1 tanh net per task (10,401 numbers) | train from scratch |
| **PINN-P** | one net $u(x,t,\hat\mu)$ with the (normalised) varying parameters as extra inputs, on all tasks | nothing: evaluate |
| **PINN-S2S** | the PINN, but $[0,1]$ cut into $K$ time segments trained in order; segment $k$ starts from segment $k-1$'s weights and takes its prediction at $t_k$ as initial condition | train from scratch |
| **MAML**, **Reptile** | one initialisation of a full-rank (rank 50) low-rank PINN, meta-learned over the family's tasks (first-order variants, as in notebook 04) | fine-tune every weight |
| **Hyper-LR-PINN** | Phase 1: bases, dense layers and the hypernetwork $\mu\mapsto s(\mu)$ over the family's tasks | Phase 2: only $s$ and the dense layers (351 numbers) |

All tasks of a method train as **one batched model** — the PINN and PINN-S2S stack every task of every family on a
task axis, PINN-P evaluates one network on every task's points, the meta-learners run their inner loops for all tasks
at once, and Hyper-LR-PINN's hypernetwork writes the diagonals of all tasks in one pass. PINN-P's input, for three
reaction tasks:
"""),
code(r"""
from pinnlab.baselines_p import PINNP, S2S, family_tasks

mus = family_tasks("reaction", [1.0, 3.0, 5.0])
pp = PINNP(varying=[2], param_range=[(1.0, 5.0)])
x_in = pp.inputs(torch.tensor([[0.5, 0.2]]), mus)      # one point (x, t) for each task
print("tasks (β, ν, ρ):", mus)
print("PINN-P inputs (x, t, ρ̂):", x_in[:, 0].tolist())
print("segments of a 5-segment PINN-S2S:", [S2S(1, 5).bounds(k) for k in range(5)])
"""),
md(r"""
`pinnlab.experiments.cdr_helmholtz(cfg)` trains (or reloads) everything in this notebook: the Table-4 models of all
three families and Figure 7. Results are stored per preset, so a second run reloads them in seconds and an
interrupted run resumes. The sizes of this preset:
"""),
code(r"""
s = settings(cfg)
print(f"preset {cfg.mode}: tasks {', '.join(f'{t} {len(v)}' for t, v in s['values'].items())}; "
      f"from scratch {s['scratch_epochs']} epochs, Phase 1 {s['phase1_epochs']}, Phase 2 / fine-tuning "
      f"{s['phase2_epochs']}, meta-learning {s['meta_epochs']} outer steps; Adam lr {s['lr']}, N_f = {s['n_collocation']}")
res = pinnlab.experiments.cdr_helmholtz(cfg)
"""),
md(r"""
## 3 · Table 4

Relative error $\|u-\hat u\|_2/\|u\|_2$ on the $256\times100$ grid, averaged over the family's tasks; references are
exact for convection and reaction and the splitting reference for CDR. The paper's values come from its full set-up;
ours carry the preset they came from. PINN-P is evaluated at the training tasks themselves (it has no per-task
training); MAML, Reptile and Hyper-LR-PINN fine-tune for the same number of epochs.
"""),
code(r"""
print(F.table4_text(res))
fig = F.draw_table4(res)
if SAVE_FIGS: plot.save(fig, "table4", cfg, NAME)
"""),
code(r"""
t4 = res.metrics["table4"]
for typ in ("convection", "reaction", "cdr"):
    h = t4[typ]["hyper_lr"]
    print(f"{typ:10s}: Hyper-LR-PINN Phase 1 only {h['phase1_mean_rel_err']:.3f} → after Phase 2 {h['mean_rel_err']:.3f}"
          f" ({h['trainable_per_task']} trainable numbers per task)")
assert all(t4[t]["hyper_lr"]["trainable_per_task"] == 351 for t in t4 if t != "tasks")
assert all(np.isfinite(t4[t][m]["mean_rel_err"]) for t in ("convection", "reaction", "cdr") for m in METHODS)
assert t4["convection"]["pinn"]["mean_rel_err"] < cfg.pick(quick=0.3, medium=0.1, full=0.1), "β ≤ 5 is easy for a PINN"
assert t4["convection"]["hyper_lr"]["mean_rel_err"] < cfg.pick(quick=0.5, medium=0.2, full=0.1)
"""),
code(r"""
print(F.per_task_text(res, "cdr"))
"""),
md(r"""
<details><summary>🤔 Think: PINN-P has no per-task training at all, yet it can beat a PINN per task. How?</summary>

PINN-P sees every task of the family at once, so its collocation points cover the whole $(x,t,\mu)$ box and
neighbouring tasks regularise each other — a smooth dependence on $\mu$ is easy to learn when $\mu\in[1,5]$ changes
the solution gently. Its weakness is capacity: one 10k-parameter network must hold the whole family, and it cannot be
refined for one task without hurting the others. The per-task PINN has the opposite trade-off.
</details>

### Exercise 2 · the Table-4 metric

Write Paper B's relative error for one task: `pred` and `ref` are arrays of the same shape (here `[t, x]`).
"""),
code(r"""
def relative_error(pred, ref):
    ...   # one number: ‖pred − ref‖₂ / ‖ref‖₂ over every grid point

exercises.check_relative_error(relative_error)
"""),
solution(r"""
def relative_error(pred, ref):
    return np.linalg.norm(pred - ref) / np.linalg.norm(ref)

assert exercises.check_relative_error(relative_error)
"""),
md(r"""
## 4 · The reaction failure

Krishnapriyan et al. and Paper B report that PINNs fail on reaction for $\rho\ge5$. From the Gaussian bump, the
logistic term drives $u$ towards 1 wherever $u>0$, with a front that sharpens as $\rho$ grows; and $u\equiv0$ and
$u\equiv1$ both have zero residual, so a PINN can settle on a state that satisfies the PDE almost everywhere but not the
initial condition. Left: the per-task PINN's error against $\rho$ (Table 4's values plus a few beyond); right: its
solution at the $\rho$ where its error is largest.
"""),
code(r"""
fig = F.draw_reaction_failure(res)
if SAVE_FIGS: plot.save(fig, "reaction_failure", cfg, NAME)
rf = res.metrics["reaction_failure"]
print("ρ        ", "  ".join(f"{r:6.1f}" for r in rf["rho"]))
print("rel. err.", "  ".join(f"{e:6.3f}" for e in rf["rel_err"]))
print("first ρ above the threshold:", rf["failure_rho"])
assert rf["rel_err"][0] < cfg.pick(quick=0.2, medium=0.05, full=0.05), "ρ = 1 should be easy"
"""),
md(r"""
<details><summary>🤔 Think: why can a <i>larger</i> ρ sometimes look easier than ρ = 5?</summary>

The relative error divides by $\|u\|_2$. For large $\rho$ the solution is close to 1 almost everywhere after a short
transient, so a network that learns "u ≈ 1" gets a small relative error even if it misses the transient entirely; at
moderate $\rho$ the solution is a growing, sharpening bump that a collapsed network misses by about its own size.
Which way a given training run goes is sensitive to the seed and the budget — look at the maps, not only the number.
</details>

## 5 · Figure 7: 2D Helmholtz

$u=\sin(a\pi x)\sin(a\pi y)$ has $a$ half-waves per unit length: for $a\in[2,3]$, four to six half-waves across the
square in each direction. The forcing is $q=(k^2-2\pi^2a^2)\,u$ and the Dirichlet data come from the exact solution.
We divide the residual by $\sqrt{2\pi^2a^2-k^2}$ (our choice of loss weight, between two poor extremes: the raw
residual is about 120 times the solution and drowns the boundary term, while dividing by the full factor makes smooth
interior errors almost free — no weighting makes this easy for a PINN). Hyper-LR-PINN: Phase 1 on $a\in\{2.0, 2.1, \dots, 3.0\}$ (the paper's grid; fewer values in `quick`), then
**10 Phase-2 epochs** at $a=2.5$ and at $a=2.75$, which Phase 1 never saw; against a PINN trained from scratch for
2,000 epochs (the paper's budget; fewer in `quick`).
"""),
code(r"""
fig = F.draw_fig7(res)
if SAVE_FIGS: plot.save(fig, "fig7_helmholtz", cfg, NAME)
f7 = res.metrics["fig7"]
for i, a in enumerate(f7["a_eval"]):
    print(f"a = {a:g}: Phase 1 only {f7['phase1_rel_err'][i]:.3f}, after {f7['phase2_epochs']} Phase-2 epochs "
          f"{f7['hyper_rel_err'][i]:.3f}; PINN after {f7['pinn_epochs']} epochs {f7['pinn_rel_err'][i]:.3f}")
print(f"training time: Phase 1 {f7['phase1_s']:.0f} s once; Phase 2 {f7['hyper_phase2_s']:.2f} s, "
      f"PINN {f7['pinn_s']:.0f} s (both a together); trainable {f7['trainable_phase2']} vs {f7['trainable_pinn']:,d}")
"""),
code(r"""
fig = F.draw_fig7_curves(res)
if SAVE_FIGS: plot.save(fig, "fig7_curves", cfg, NAME)
print(f"Helmholtz Phase-1 loss {f7['phase1_loss_first']:.3g} → {f7['phase1_loss_last']:.3g}")
assert f7["trainable_phase2"] == 351 and f7["trainable_pinn"] == 10401
assert f7["phase1_loss_last"] < cfg.pick(quick=0.5, medium=0.2, full=0.1) * f7["phase1_loss_first"], \
    "Phase 1 should lower the Helmholtz loss"
"""),
md(r"""
<details><summary>🤔 Think: what do 10 Phase-2 epochs actually do?</summary>

An Adam step moves each parameter by at most about the learning rate, so 10 steps move each of the 351 trainable
numbers by at most ten learning rates ($2.5\cdot10^{-3}$ to $2\cdot10^{-2}$ in our presets): Phase 2 polishes, it
cannot repair. Whatever accuracy Hyper-LR-PINN shows after 10 epochs was already in
the hypernetwork's output — compare "Phase 1 only" with "after Phase 2" above. The claim of Figure 7 is therefore a
claim about Phase 1: that a hypernetwork trained on eleven values of $a$ interpolates the solution family well.
</details>

## 6 · Slide through the trained hypernetworks

The Phase-1 models map any parameter to a network in one hypernetwork pass — no training. First the static picture
(for readers without a kernel), then the sliders. CDR: the Strang-splitting reference is computed for your
$(\beta,\nu,\rho)$ (a fraction of a second), the prediction comes from the CDR family's hypernetwork; the figure
redraws when you release a slider.
"""),
code(r"""
for mu in [(1.0, 1.0, 1.0), (5.0, 5.0, 5.0)]:
    fig = widgets.draw_cdr_maps(res.cdr_maps(*mu))
    if SAVE_FIGS: plot.save(fig, f"cdr_hyper_{mu[0]:g}_{mu[1]:g}_{mu[2]:g}", cfg, NAME)
    plt.show()
"""),
code(r"""
cdr_panel = widgets.cdr_panel(res)
display(cdr_panel.widget)
"""),
code(r"""
fig = widgets.draw_helmholtz_maps(res.helmholtz_maps(2.5))
if SAVE_FIGS: plot.save(fig, "helmholtz_hyper_2.5", cfg, NAME)
"""),
code(r"""
helmholtz_panel = widgets.helmholtz_panel(res)
display(helmholtz_panel.widget)
"""),
md(r"""
## 7 · The two papers side by side

Paper A (LoRA HyperPINNs) and Paper B (Hyper-LR-PINN) answer the same question — *how do I get the solution for a
new PDE parameter cheaply?* — in two ways. Paper A trains a full PINN on one task and adapts it with **LoRA** (a
low-rank *update* $W_0+BA$ of every weight), then lets a hypernetwork predict the LoRA factors from the task input
(notebooks 02–03). Paper B writes every hidden weight as $U\,\mathrm{diag}(s)\,V^\top$ with a **shared basis** and
lets a hypernetwork predict only the diagonal $s$ (notebooks 04–05).

|  | Paper A: LoRA HyperPINN | Paper B: Hyper-LR-PINN |
|---|---|---|
| what is task-specific | LoRA factors $A, B$ of each layer ($\sum_l (d_{in}+d_{out})$ numbers per unit of rank) | diagonals $s$ (≤ 150) + dense first/last layers (201) |
| what is shared | the base PINN $W_0$, trained on one task | the bases $U, V$, trained with the hypernetwork over all tasks |
| a new task costs | one hypernetwork pass (Paper A's Table 3: about 1 s) | one hypernetwork pass, optionally Phase 2 (a few epochs) |
| paper's headline | rank 4 best; LoRA HyperPINN ≈ physics-trained HyperPINN, far better than full-weight prediction | solves $\beta\ge30$; Table 4 best or near best; Figure 7 in 10 epochs |

The table below is not typed in: it is read from the `metrics.json` that notebooks 02–05 stored (the best preset
found for each: full, else medium, else quick). A notebook that has not run yet is reported as such.
"""),
code(r"""
comparison = paper_comparison(cfg)
print(F.comparison_text(comparison))
print()
print("Paper A, Table 3 — seconds to a solution for a new 1D-Burgers task (P100):", F.PAPER_A_TIME)
print("Paper B, Table 3 — trainable numbers per new task: PINN 10,401; Hyper-LR-PINN ~351 (adaptive rank)")
"""),
md(r"""
How to read it, whatever the preset:

* **Trainable numbers per new task.** Paper B's Phase 2 trains 351 numbers or fewer; a rank-4 LoRA update of Paper
  A's network trains a few thousand. Both are far below a PINN's ~10–21k. Read the exact counts from the table.
* **Accuracy.** The two papers report different metrics (Paper A: test MSE; Paper B: relative $L^2$ error), on
  different PDEs; compare each method with its own PINN baseline in the same row block, not across blocks.
* **Time to a new solution.** A hypernetwork pass costs milliseconds in both designs; what differs is what happens
  after it. Paper B's Phase 2 adds a few epochs of a 351-number model; Paper A's LoRA HyperPINN uses the prediction
  as is. The seconds in the table are measured training times on our machine (per task, tasks trained together), so
  compare them with each other, not with the paper's P100 seconds.
* **Where each design fails in our runs** — look at notebook 04 for convection at $\beta\ge30$ and at the reaction
  failure above: a method is only as good as its Phase 1 (or base PINN), and the `quick` preset never trains long
  enough to show the papers' headline numbers. The `medium` and `full` results in `figures/` are the ones to quote.
"""),
]
write(cells, OUT)
