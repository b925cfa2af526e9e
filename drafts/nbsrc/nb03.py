import sys; import os; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbkit import *
HERE = os.path.dirname(os.path.abspath(__file__))
cells = [
md(r"""
# 03 · Hypernetworks: a new task's PINN in one forward pass

Notebook 02 adapted a trained PINN to a new task with LoRA: freeze the base network $W_0$ and train a low-rank
correction $W = W_0 + BA$ — a few thousand numbers instead of 21,000, but still thousands of epochs *per task*.
Paper A's payoff is the next step: train, once, a **hypernetwork** $h_\theta$ that reads the task and *writes*
the LoRA factors,

$$ (B_k, A_k)_{k=1..L} = h_\theta(\text{task}),\qquad W_k = W_{0,k} + B_k A_k ,$$

so the PINN of a new task comes out of one forward pass of $h_\theta$ — milliseconds instead of minutes or hours.

**What "the task" is.** Kovasznay flow: the Reynolds number $Re\in[20,100]$. 2D coupled Burgers: the viscosity
$\nu\in[10^{-4},10^{-3}]$. 1D Burgers: the initial condition itself, given as its 128 values on the grid (the
viscosity is the same in every task). The hypernetwork is an MLP
$[\text{task} \to 512, 512, 256, 256, 128, 128 \to \text{outputs}]$ whose output row holds every $B_k$ and $A_k$
of the base network, or — the paper's "$*$" rows — *all* of the PINN's weights.

**How to train it (Paper A's four benchmarks).** Over a set of training tasks:

| | loss | needs |
|---|---|---|
| **B1** | $\frac1N\sum_i \lVert u_{\theta}(x_i) - u_\text{ref}(x_i)\rVert^2$, predicted PINN vs the reference solution | reference solutions of every training task |
| **B2** | $\lVert h_\theta(\text{task}) - w^*_\text{task}\rVert^2$, regression onto weights | a PINN trained separately on every training task |
| **B3** | as B1, with the separately trained PINNs' outputs as data | those PINNs again |
| **B4** | the PDE loss (residual + initial + boundary terms) of the predicted PINN | nothing but the equations: the **LoRA HyperPINN** |

Paper A's claim (its Table 2): B4 — physics only, no solution data — is the most accurate, B2 is the worst, and a
hypernetwork that writes *all* weights ($*$) is far worse than one that writes LoRA factors; rank 4 is near the
optimum. Its Table 3: a HyperPINN gives a new solution in about a second where training takes 600 s (LoRA) to
8,400 s (PINN from scratch).

In this notebook you build the pieces, run B1–B4 on the three PDEs, compare Tables 2 and 3 with the paper's, look at
the solution maps (the paper's Figures 2–4), measure the inference time and drag $Re$, $\nu$ or an initial condition
to watch the hypernetwork's solution redraw live. `MODE` sets the sizes: `quick` (CI, a few minutes: nothing is
trained to convergence, it checks that every piece runs), `medium` (the paper's models and schedule shape with fewer
tasks and epochs, about an hour on 2 CPU cores) and `full` (the paper's task counts and 15k hypernetwork epochs).
"""),
params(),
code(r"""
import time

import numpy as np
import torch
import matplotlib.pyplot as plt

import pinnlab
from pinnlab import exercises, plot, widgets
from pinnlab import hyper as H
from pinnlab.models import MLP, HyperNet, LoRAMLP
from pinnlab.pdes import Burgers1D, Burgers2D, Kovasznay, grf
from pinnlab.experiments import hyper_report as R
from pinnlab.experiments.hyper_benchmarks import settings, method_keys, parse_key, PAPER_TABLE3
from pinnlab.experiments.pinn_basics import base_widths

cfg = pinnlab.setup(mode=MODE, seed=SEED, device=DEVICE)
cfg
"""),
md(r"""
## 1 · A hypernetwork in code

`pinnlab.models.HyperNet(n_in, base, rank)` holds a frozen copy of the base PINN and an MLP from the task vector
(`n_in` numbers) to one flat row of outputs per task. `hyper.layers(z)` cuts the rows of a batch of tasks into
factors and returns the stacked weights $W_0 + B A$ of shape `[T, d_out, d_in]` — exactly what the derivative
engine evaluates for many tasks at once (notebook 02). The output layer starts so that every task's predicted PINN
*is* the base network (as LoRA starts with $B = 0$): training moves away from a network that already solves $T_0$.
"""),
code(r"""
base = MLP(base_widths(2, 3), generator=cfg.generator())          # Paper A's Kovasznay PINN: 2 → 6×64 → 3
for rank in (1, 4, "*"):
    hyper = HyperNet(1, base, rank, shift=60.0, scale=40.0, generator=cfg.generator(1))
    z = torch.tensor([[25.0], [60.0], [95.0]])                      # three tasks: Re = 25, 60, 95
    layers = hyper.layers(z)
    x = torch.rand(500, 2)
    same = (hyper.generate(z)(x) - base(x)).abs().max().item()
    print(f"rank {rank!s:>2}: {hyper.n_out:6d} outputs per task, hypernetwork {hyper.net.count_params():7d} "
          f"weights; W of layer 2: {tuple(layers[1][0].shape)}; max |predicted − base| at the start {same:.1e}")
    assert [tuple(W.shape) for W, _ in layers] == [(3, b, a) for a, b in zip(base.widths[:-1], base.widths[1:])]
    assert hyper.n_out == HyperNet.output_size(base.widths, rank) and same < 1e-6
"""),
md(r"""
At rank 4 the hypernetwork writes $4\sum_k(d_\text{in}+d_\text{out}) = 3{,}092$ numbers per task; for "$*$" it writes
all 21,187 weights and biases, and its last layer alone ($128 \times 21{,}187$) is bigger than the rest of it.

### Exercise 1 · what does the hypernetwork read?

Write `task_vector(pde)`: the vector (shape `[n_in]`) that tells the hypernetwork which task it is looking at, for a
`Kovasznay`, a `Burgers2D` and a `Burgers1D` task (attributes: `pde.Re`, `pde.nu`, `pde.u0`). Think about what
actually *changes* from one task of a family to the next.
"""),
code(r"""
def task_vector(pde):
    if isinstance(pde, Kovasznay):
        return ...
    if isinstance(pde, Burgers2D):
        return ...
    return ...   # Burgers1D

exercises.check_task_vector(task_vector)
"""),
solution(r"""
def task_vector(pde):
    if isinstance(pde, Kovasznay):
        return torch.tensor([pde.Re])
    if isinstance(pde, Burgers2D):
        return torch.tensor([pde.nu])
    return torch.tensor(pde.u0)          # the 128 initial values; ν = 0.01 is the same in every task

assert exercises.check_task_vector(task_vector)
"""),
md(r"""
### Exercise 2 · from a flat output row to LoRA factors

The hypernetwork's output for `T` tasks is one tensor `flat` of shape `[T, r Σ(d_in + d_out)]`. Write
`split(flat, widths, rank)` returning one pair `(B, A)` per linear map `d_in → d_out` of a network with layer
widths `widths`, with `B` of shape `[T, d_out, r]` and `A` of shape `[T, r, d_in]`. The layout (pinnlab's): map
after map, first the `d_out·r` numbers of `B`, then the `r·d_in` numbers of `A`, each matrix stored row by row.
"""),
code(r"""
def split(flat, widths, rank):
    T, pos, pairs = flat.shape[0], 0, []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        B = ...
        A = ...
        pairs.append((B, A))
    return pairs

exercises.check_hyper_split(split)
"""),
solution(r"""
def split(flat, widths, rank):
    T, pos, pairs = flat.shape[0], 0, []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        B = flat[:, pos:pos + d_out * rank].reshape(T, d_out, rank)
        pos += d_out * rank
        A = flat[:, pos:pos + rank * d_in].reshape(T, rank, d_in)
        pos += rank * d_in
        pairs.append((B, A))
    return pairs

assert exercises.check_hyper_split(split)
"""),
md(r"""
## 2 · The benchmarks, batched

`pinnlab.experiments.hyper_benchmarks(pde_name, cfg)` runs, for one PDE family:

1. the base PINN on $T_0$ (Kovasznay $Re = 60$, 2D Burgers $\nu = 5.5\cdot10^{-4}$, 1D Burgers a separate GRF
   draw — notebook 02's), frozen;
2. training / validation / test tasks (the paper: 1D Burgers 100/20/20 initial conditions, the others 20/20/20);
3. rank-4 LoRA PINNs trained *separately* on every training and validation task — all of them as one batched
   model — for B2's weight targets and B3's data (they all start from the same factors, so their trained factors
   are comparable);
4. B1, B2, B3 at rank 4 and B4 at every rank of the preset and "$*$": each hypernetwork is trained by
   `pinnlab.hyper.fit_hyper` on all training tasks at once (the hypernetwork's outputs for the batch of tasks become
   stacked weights, one batched pass of the derivative engine), with Paper A's schedule (Adam, $10^{-3}$, ×0.1
   steps), keeping the parameters with the best loss on the validation tasks;
5. MSE against the reference solution on a grid, for training, validation and test tasks;
6. Table 3 on the first test task (section 4).

Every trained network is stored; a second run reloads in seconds and a killed run resumes
(`python -m pinnlab run hyper_benchmarks --mode medium` from a shell does all three PDEs). The sizes of this preset:
"""),
code(r"""
s = settings(cfg)
print(f"preset {cfg.mode}: tasks (train, valid, test) {s['splits']}")
print(f"B4 ranks {s['ranks_b4']}; hypernetwork {s['hyper_epochs']} epochs (lr 1e-3, ×0.1 at {s['hyper_first_decay']} "
      f"then every {s['hyper_decay_every']}); separate LoRA PINNs {s['pinn_epochs']} epochs")
print("points per task:", s["n_points"])
benches = {}
benches["kovasznay"] = pinnlab.experiments.hyper_benchmarks("kovasznay", cfg)
"""),
code(r"""
benches["burgers2d"] = pinnlab.experiments.hyper_benchmarks("burgers2d", cfg)
"""),
code(r"""
benches["burgers1d"] = pinnlab.experiments.hyper_benchmarks("burgers1d", cfg)
"""),
md(r"""
## 3 · Table 2: train, validation and test error of every hypernetwork

MSE over all outputs on a grid (Kovasznay 101×101; 2D Burgers an $(x, y, t)$ grid; 1D Burgers the reference grid,
128 × 101), averaged over the tasks of each split; ± is the spread over the test tasks. *outputs*: numbers the
hypernetwork writes per task. *s/epoch*: one epoch over all training tasks on this machine. *own loss*: the
method's own training loss at the end (B1/B3: data MSE, B2: weight MSE, B4: physics loss) — not comparable across
methods. The paper reports test
MSE on a P100 after 15k epochs with 100 or 20 training tasks; some of its 1D Burgers entries are printed without a
readable exponent ("e?"). The row *base, no hyp.* applies the base network unchanged to every task.
"""),
code(r"""
print(R.table2(benches))
"""),
code(r"""
# what must hold in every preset
for name, b in benches.items():
    for key, row in b.metrics["hyper"].items():
        method, rank = parse_key(key)
        assert row["n_out"] == HyperNet.output_size(b.base.widths, rank), (name, key)
        assert all(np.isfinite(row[f"{sp}_mse"]) for sp in ("train", "valid", "test")), (name, key)
        if rank != "*" and name == "burgers2d" and cfg.mode == "quick":
            # LoRA hypernetworks start at the base, which already fits every ν (notebook 02, section 5): in 150 quick
            # epochs the loss may end a little above where it began (it did in one of two runs that differ only in
            # float32 round-off); it must not drift far
            assert row["final_loss"] < 3.0 * row["first_loss"], f"{name} {key}: training drifted off the base"
        elif rank != "*":  # full-weight hypernetworks may get worse from the start: see section 6
            assert row["final_loss"] < row["first_loss"], f"{name} {key}: training did not lower its loss"
    b4, base = b.metrics["hyper"]["B4_r4"], b.metrics["base"]
    # quick: 150 epochs can move B4 a little off a base that already fits (2D Burgers: 0.5x and 1.6x the base's
    # train MSE in two runs that differ only in float32 round-off); a broken hypernetwork is orders of magnitude off
    assert b4["train_mse"] < cfg.pick(quick=3.0, medium=1.0, full=0.5) * base["train_mse"], \
        f"{name}: B4 r=4 is far off the base network on its own training tasks"
"""),
code(r"""
# the paper's claims, asserted where the preset is big enough to test them
for name, b in benches.items():
    h, base = b.metrics["hyper"], b.metrics["base"]
    if cfg.mode != "quick":
        assert h["B4_r4"]["test_mse"] < h["B2_r4"]["test_mse"], f"{name}: B4 should beat B2 at rank 4"
        assert h["B4_r*"]["test_mse"] > h["B4_r4"]["test_mse"], f"{name}: '*' should be worse than LoRA rank 4"
    # not for 1D Burgers (16 or 100 training ICs for a 128-number input) nor 2D Burgers (the base network already
    # fits every ν almost as well as a fit does: notebook 02, section 5) — printed instead
    print(f"{name}: B4 r=4 test MSE {h['B4_r4']['test_mse']:.2e}, unadapted base {base['test_mse']:.2e}")
    if cfg.mode != "quick" and name == "kovasznay":
        assert h["B4_r4"]["test_mse"] < cfg.pick(quick=1.0, medium=0.7, full=0.3) * base["test_mse"], name
"""),
md(r"""
Test MSE per hypernetwork, ours (bars: mean, whiskers: best and worst test task) beside the paper's (circles):
"""),
code(r"""
fig = R.figure_bars(benches)
if SAVE_FIGS: plot.save(fig, "table2_bars", cfg, "03_hypernetwork_benchmarks")
"""),
md(r"""
<details><summary><b>Think:</b> B2 fits the target weights of its training tasks almost exactly (its final loss in
the table above is tiny). Why can its *solutions* still be the worst?</summary>

Two reasons. (1) A LoRA factorisation is not unique: $BA = (BM)(M^{-1}A)$ for any invertible $r\times r$ matrix $M$,
so two neighbouring tasks can end up with very different factors for nearly the same correction. The map from task
to factors that B2 must learn is then rough, and between training tasks the hypernetwork interpolates factors
that belong to no good network. (2) The loss measures the error in *weights*, and a small weight error can be a
large solution error — the network is a deep composition, and B2's loss knows nothing of which weight directions
matter for $u$. B1, B3 and B4 measure the error where it matters: in the solution or the PDE.
</details>

## Figures 2–4 · prediction and error on a test task

For each PDE the first test task: the reference, every hypernetwork's prediction (top) and its absolute error
(bottom, one colour scale per PDE). Kovasznay and 2D Burgers show $u$ (2D Burgers at $t = 0.5$), 1D Burgers $u(x,t)$.
"""),
code(r"""
for name, b in benches.items():
    fig = R.figure_maps(b, task=0)
    if SAVE_FIGS: plot.save(fig, f"maps_{name}", cfg, "03_hypernetwork_benchmarks")
"""),
md(r"""
## 4 · Table 3: time to a solution for a new task

The hypernetwork's training is a one-off cost; afterwards a new task costs one forward pass. Table 3 compares that
with training a PINN for the new task, measured here on the same device in one run: on the first test task, a PINN
from scratch, the fine-tuned base (F-PINN) and a rank-4 LoRA are each trained alone with the preset's schedule
(early stopping as in the paper from `medium` on). *s to HyperPINN MSE* is when a method's test MSE first
reached the rank-4 HyperPINN's (checked every few epochs; the checks are not counted in the time). The HyperPINN row
is the inference: predict the weights, evaluate on the grid.
"""),
code(r"""
print(R.table3(benches))
"""),
code(r"""
for name, b in benches.items():
    t = b.metrics["table3"]
    assert t["hyper"]["inference_ms"] > 0                                # measured, not assumed
    slowest_fit = min(t[m]["wall_time_s"] for m in ("pinn", "fpinn", "lora_r4"))
    assert t["hyper"]["inference_ms"] / 1e3 < slowest_fit, f"{name}: inference should beat any training run"
    assert t["lora_r4"]["trainable_params"] == LoRAMLP.param_count_formula(b.base.widths, 4)
"""),
md(r"""
### The 5 ms goal

The table's inference time includes the grid of each PDE. `benchmarks/hyper_inference.py` times exactly the
issue's case — one task, predict the weights and evaluate them on a 101 × 101 grid — for all three PDEs, with a
profile of where the time goes. Here is the same measurement for Kovasznay with this notebook's trained rank-4
hypernetwork:
"""),
code(r"""
kov = benches["kovasznay"]
grid = Kovasznay(50.0).grid(101)[0].to(cfg.device, cfg.dtype)
t_inf = H.time_inference(kov.hypers["B4_r4"], H.task_vector(Kovasznay(50.0)).to(cfg.device, cfg.dtype), grid, repeats=20)
fwd_mflop = 2 * grid.shape[0] * sum(a * b for a, b in zip(kov.base.widths[:-1], kov.base.widths[1:])) / 1e6
a = torch.randn(1024, 1024, device=cfg.device)
times = []
for _ in range(5):
    t0 = time.perf_counter(); a @ a; times.append(time.perf_counter() - t0)
peak = 2 * 1024**3 / min(times) / 1e9
print(f"one new task, 101×101 grid: median {t_inf['median_ms']:.1f} ms, best {t_inf['min_ms']:.1f} ms "
      f"({cfg.describe()['device']}); the PINN forward alone is {fwd_mflop:.0f} MFLOP")
print(f"matmul peak measured now: {peak:.0f} GFLOP/s, so the forward needs at least {fwd_mflop / peak:.1f} ms; "
      f"5 ms needs {fwd_mflop / 5:.0f} GFLOP/s")
print("5 ms goal:", "met" if t_inf["median_ms"] < 5 else "NOT met on this machine")
assert 0 < t_inf["median_ms"] < 1000
"""),
md(r"""
Almost all of that time is the PINN's forward pass over 10,201 points through six 64-wide layers, about 420
million floating-point operations; the hypernetwork and the merge $W_0 + BA$ take well under a millisecond
(`benchmarks/hyper_inference.py` prints the profile). So the latency is set by the matmul throughput: 5 ms needs
the throughput printed above, which a shared 2-core CI machine does not deliver; a desktop CPU with more cores,
or any GPU, does. The paper's 1.1–1.2 s on a P100 must include more than this forward pass (loading, plotting, or a
much finer grid): at the P100's nominal 9 TFLOP/s in float32 the arithmetic takes about 0.05 ms.

### Exercise 3 · when does the hypernetwork pay off?

Training the hypernetwork once costs `train_s` seconds; after that each new task costs `inference_s`. Without it,
each new task costs a LoRA fit of `per_task_s`. Write `break_even(train_s, per_task_s, inference_s)`: the smallest
number of new tasks $n$ for which the hypernetwork route is cheaper, $\text{train\_s} + n\cdot\text{inference\_s} <
n\cdot\text{per\_task\_s}$. Then evaluate it with this run's measured times.
"""),
code(r"""
import math

def break_even(train_s, per_task_s, inference_s):
    ...   # the smallest whole n with train_s + n * inference_s < n * per_task_s

exercises.check_break_even(break_even)
"""),
solution(r"""
import math

def break_even(train_s, per_task_s, inference_s):
    return math.floor(train_s / (per_task_s - inference_s)) + 1

assert exercises.check_break_even(break_even)
t = benches["kovasznay"].metrics["table3"]
print(f"Kovasznay, this run: the hypernetwork pays off from task "
      f"{break_even(t['hyper']['train_wall_time_s'], t['lora_r4']['wall_time_s'], t['hyper']['inference_ms'] / 1e3)} on")
"""),
md(r"""
## 5 · Sliders: the HyperPINN's solution, live

Each position of a slider is a *new* task: the hypernetwork writes the PINN's weights, the PINN is evaluated on the
grid, and the reference is computed (exactly for Kovasznay and 2D Burgers, by the spectral solver for 1D Burgers).
Nothing is trained. The static figure first, for readers without a running kernel: the rank-4 B4 HyperPINN at a
Reynolds number between the training tasks.
"""),
code(r"""
fig = widgets.draw_task_maps(benches["kovasznay"].maps("B4_r4", Kovasznay(50.0)))
if SAVE_FIGS: plot.save(fig, "hyper_kovasznay_re50", cfg, "03_hypernetwork_benchmarks")
"""),
md(r"""
Drag **Re** (the plot redraws when you release the slider). Watch where the error grows: at the ends of the range
and, for a quick run, everywhere — with few training tasks the hypernetwork has seen little of the family.
"""),
code(r"""
panel_kov = widgets.hyper_kovasznay_panel(benches["kovasznay"])
display(panel_kov.widget)
panel_kov.sliders["Re"].value = 80.0
assert "Re = 80" in panel_kov.data["title"] and np.isfinite(panel_kov.data["pred"]).all()
"""),
md(r"""
**ν** for 2D Burgers (the map is $u$ at $t = 0.5$; a smaller ν makes the front steeper):
"""),
code(r"""
panel_b2 = widgets.hyper_burgers2d_panel(benches["burgers2d"])
display(panel_b2.widget)
panel_b2.sliders["nu"].value = 2e-4
assert panel_b2.data["ref"].shape == panel_b2.data["pred"].shape
"""),
md(r"""
**A 1D Burgers initial condition**: pick one of the test initial conditions and scale it. A larger amplitude
makes steeper fronts — and takes the input far from anything the hypernetwork was trained on.
"""),
code(r"""
panel_b1 = widgets.hyper_burgers1d_panel(benches["burgers1d"])
display(panel_b1.widget)
panel_b1.sliders["scale"].value = 1.2
assert "× 1.20" in panel_b1.data["title"] and np.isfinite(panel_b1.data["err"]).all()
"""),
md(r"""
<details><summary><b>Think:</b> the physics loss never sees a solution. How can B4 beat B1, which is trained on
the exact solution?</summary>

B1 sees the solution only at the sampled data points and only for the training tasks; nothing in its loss says
what happens between the points or what the derivatives must do. B4's residual constrains the derivatives
everywhere the collocation points fall, and the residual is a much stricter requirement than matching values: a
network with the right values but wrong slopes has a large residual. Said differently, the PDE is extra
information that B1 ignores. The price: the physics loss is harder to optimise (it is why PINNs train slowly), so
with a short budget — our quick preset — B1's plain regression can come out ahead.
</details>

## 6 · Where we agree with Paper A, and where we do not

Computed from this run:
"""),
code(r"""
print(R.verdict(benches))
"""),
md(r"""
How to read it:

* **Preset.** `quick` trains every hypernetwork and the separately trained PINNs for a few hundred epochs at most, on
  a handful of training tasks (the sizes are printed in section 2): nothing is converged, and the ranking of methods
  is mostly noise. In particular for 1D
  Burgers, 6 (quick) or 16 (medium) initial conditions cannot teach a hypernetwork with a 128-number input much
  about new ones: expect its test error to sit above the training error, often above the unadapted base. Only
  `full` is the paper's set-up (100/20/20 and 20/20/20 tasks, 15k epochs). Paper values above are the paper's;
  ours are labelled with the preset.
* **What the paper claims, and what we test.** B4 better than B2 at rank 4, and "$*$" worse than every LoRA rank,
  are asserted from `medium` on. B4 beating B1 and B3 is *not* asserted: the paper's margins there are small
  (Kovasznay 4.8e-7 vs 5.2e-7) and depend on how long the data-driven runs train.
* **2D Burgers needs no hypernetwork to start with.** As in notebook 02, the base network trained at one ν already
  fits the other ν almost as well as any fit: ν only sets the width of a travelling front. So the comparison
  with the unadapted base (printed above the figure) is not asserted there; B4 against B2 and against "$*$" is.
* **Why "$*$" is so much worse.** Its last layer writes 21,187 numbers from 128 features, and a step of Adam moves
  every one of them: the predicted network changes everywhere at once, and at a learning rate that suits the LoRA
  heads it is thrown off the base network in the first steps (see its loss in Table 2, which can end *above* its
  start). LoRA heads change only a rank-$r$ correction of each layer, starting from a network that already works.
* **Time to a solution.** Our single-task fits are far shorter than the paper's (outside `full`), so our
  seconds are not the paper's seconds; the ratio that matters is between one inference (milliseconds) and any
  training run (seconds to hours). The paper's HyperPINN time (1.1 s) is about a thousand times our inference time
  on a CPU; we do not know what it includes.
* **Our choices where the paper is silent.** The base task $T_0$ in the middle of each range; the same initial
  factors for all separately trained LoRA PINNs (without this, B2 would regress onto randomly rotated factors); task
  vectors normalised by the training tasks' mean and spread; the hypernetwork's output layer initialised so that
  every predicted PINN starts as the base network; model selection by each method's own loss on the validation
  tasks; data points for B1/B3 = the collocation, initial and boundary points of each task.
"""),
md(r"""
## Summary

| | this notebook |
|---|---|
| hypernetwork | task vector → LoRA factors of every layer ($r\sum(d_\text{in}+d_\text{out})$ outputs) or all weights ($*$) |
| training | all training tasks in one batched pass; four losses: data (B1), weights (B2), PINN data (B3), physics (B4) |
| Table 2 | ours (preset printed) beside the paper's; B4 vs B2 and $*$ vs LoRA asserted from `medium` on |
| Table 3 | single-task training vs one inference, measured in one run on one device |
| inference | predict weights + 101×101 grid: FLOP-bound forward pass, measured in `benchmarks/hyper_inference.py` |

Next: **04 · Failure modes and Hyper-LR-PINN** — a different hypernetwork (Paper B) that writes the singular values
of low-rank layers, for PDEs where the plain PINN fails.
"""),
]
out = os.path.join(HERE, "..", "..", "drafts" if "--draft" in sys.argv else "notebooks", "03_hypernetwork_benchmarks.ipynb")
write(cells, os.path.normpath(out))
print("wrote", os.path.normpath(out))
