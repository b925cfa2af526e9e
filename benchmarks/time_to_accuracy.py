"""Time to accuracy: how long pinnlab and DeepXDE train Kovasznay flow to a given error.

What a user actually waits for. The problem of ``benchlib.problems.kovasznay()``: Kovasznay
flow, Re = 40, tanh MLP ``2-64×5-3``, 2601 collocation + 320 boundary points, the same
initial weights for both engines (``problems.deepxde_model`` builds the identical DeepXDE
model; the script prints both initial losses, which must agree). Both engines follow the
same schedule in *steps*: ``--adam-steps`` full-batch Adam steps at lr 1e-3 (constant), then
``--lbfgs-steps`` L-BFGS iterations, and each stops early when its ``--budget-s`` training
seconds are spent (or its L-BFGS has converged: no iteration made in a call).

* ``pinnlab`` — ``problems.pinnlab_loss`` + ``problems.adam_step`` (what ``pinnlab.train.fit``
  runs per epoch, without its lr decay, validation and early stopping); then
  ``torch.optim.LBFGS`` with the options of ``pinnlab.train._lbfgs`` (:data:`PINNLAB_LBFGS`:
  history 50, strong Wolfe, tolerances 1e-12 / 1e-15; float32).
* ``DeepXDE`` — DeepXDE 1.x, PyTorch backend: Adam through ``Model._train_step``, the call
  its ``Model.train`` makes per iteration (the per-iteration ``train_next_batch`` returns the
  same fixed arrays and is skipped); then DeepXDE's own L-BFGS: ``set_LBFGS_options(maxiter=
  --lbfgs-steps)`` (its defaults otherwise: history 100, gtol 1e-8, ftol 0, strong Wolfe),
  ``model.compile("L-BFGS")``, and the same ``Model._train_step``, which runs one
  ``torch.optim.LBFGS.step`` of ``iter_per_step`` iterations — its ``_train_pytorch_lbfgs``
  loop with ``iter_per_step`` set per call (DeepXDE uses 1000) so that the error can be
  measured in between. Its every-1000-steps ``_test`` is evaluation and is not run.

Every ``--eval-every`` optimizer steps (Adam steps and L-BFGS iterations alike, plus the
start, the switch to L-BFGS and the end) the mean relative L2 error of u, v and p on a
101×101 grid against the exact solution is recorded (p up to a constant: the mean of the
prediction and of the reference are removed first); the engine's training clock is paused
while it evaluates, so only optimizer time counts. The engines run *interleaved* in slices
of about ``--slice-s`` training seconds each (pinnlab, DeepXDE, pinnlab, ...), each with its
own clock, so changes in the machine's load hit both alike. L-BFGS runs in calls of up to
``--eval-every`` iterations (fewer at an evaluation, at the budget or at the slice's end,
but at least 25 when no boundary comes first); each call re-evaluates the loss once at its
start, as both libraries' own chunked loops do (pinnlab: 50 iterations a call, DeepXDE: 1000).
The crossing times are those of the first evaluation at or below the level, so their
resolution is one evaluation interval.

Columns: per level (1e-1, 1e-2, 1e-3), the training seconds (and step) at which each engine
first reached it (— : not within its budget or steps), DeepXDE time / pinnlab time, and the
goal: pinnlab at most a third of DeepXDE's time (not reached by pinnlab = not met; DeepXDE not
reached = met when its whole run took at least 3× pinnlab's time, else undecided), also
against the issue's reference (DeepXDE, seed 0, ~140 ms per Adam step on 2 cores: 1e-1 after
4 min, 1e-2 after 13 min of Adam, 1e-3 after 20 min of Adam + 3 of L-BFGS). Per engine: Adam
ms/step and steps/s, L-BFGS ms/iteration, training and CPU seconds, final errors, why it stopped.

    python benchmarks/time_to_accuracy.py [--quick] [--threads T] [--device cpu|cuda]
        [--adam-steps 20000] [--lbfgs-steps 5000] [--budget-s 1800] [--eval-every 100] [--slice-s 2]

Defaults reproduce the issue's setting (up to 2 × 30 min); ``--quick`` is a smoke run (20 s
per engine, eval every 50 steps, 200 Adam steps then 50 L-BFGS: on an idle 2-core machine both
engines reach L-BFGS); ``python -m pinnlab bench``
passes ``--budget-s 600`` (20 min) unless ``--quick``. DeepXDE runs on the CPU only (on
``--device cuda`` pinnlab runs alone, as in ``pinn_step.py``); without DeepXDE, pinnlab runs alone
and is judged against the issue's reference only.

Writes ``build/bench/time_to_accuracy.json`` and ``build/bench/time_to_accuracy.png`` (error
vs training seconds, log y; ``-cuda`` suffixes on a GPU).
"""
from __future__ import annotations

import math
import time
from typing import Callable, Optional, Sequence

import benchlib
import numpy as np
import torch

from benchlib import problems as P
from pinnlab.pdes import Kovasznay

LEVELS = (1e-1, 1e-2, 1e-3)
GOAL_FACTOR = 3.0
#: the issue's DeepXDE times (s) to each level: 4 min, 13 min of Adam, 20 min of Adam + 3 of L-BFGS
ISSUE_DDE_S = {1e-1: 240.0, 1e-2: 780.0, 1e-3: 1380.0}
#: pinnlab's L-BFGS options, as ``pinnlab.train._lbfgs`` builds its optimizer (checked by a test)
PINNLAB_LBFGS = dict(lr=1.0, history_size=50, line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                     tolerance_change=1e-15)
MIN_LBFGS_CALL = 25  # iterations per L-BFGS call unless an evaluation, the budget or the end comes first
STOPPED = {"steps": "schedule done", "budget": "budget spent", "converged": "L-BFGS converged",
           "nonfinite": "non-finite error", None: "running"}
PRESETS = {"quick": dict(adam_steps=200, lbfgs_steps=50, budget_s=20.0, eval_every=50),
           "full": dict(adam_steps=20_000, lbfgs_steps=5_000, budget_s=1800.0, eval_every=100)}


# ----------------------------------------------------------------------------- pure helpers
def rel_errors(pred, ref) -> dict[str, float]:
    """Relative L2 errors of u, v and p (``[N, 3]`` arrays) and their mean.

    p is compared up to a constant: the mean of each column is removed before the error.
    """
    pred = np.asarray(pred, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    out = {}
    for i, name in enumerate(("u", "v", "p")):
        a, b = pred[:, i], ref[:, i]
        if name == "p":
            a, b = a - a.mean(), b - b.mean()
        out[name] = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))
    out["mean"] = float(np.mean([out["u"], out["v"], out["p"]]))
    return out


def first_crossing(ts: Sequence[float], errs: Sequence[float], level: float) -> Optional[float]:
    """The first ``t`` whose error is at or below ``level`` (``None`` if none is; NaN never is)."""
    for t, e in zip(ts, errs):
        if e <= level:
            return t
    return None


def verdict(t_pinnlab: Optional[float], t_ref: Optional[float], ref_ran_s: Optional[float] = None,
            ref_finished: bool = False, factor: float = GOAL_FACTOR) -> tuple[Optional[bool], str]:
    """Is pinnlab's time to a level at most ``1/factor`` of the reference's?

    ``t_ref`` is the reference's time to the level (``None``: not reached); then ``ref_ran_s``
    is how long the reference trained, and ``ref_finished`` says it ran its whole schedule (it
    never reaches the level, so any pinnlab time wins). Returns ``(met, words)``, ``met`` is
    ``None`` when the run cannot decide.
    """
    if t_pinnlab is None:
        return False, "not met (pinnlab did not reach it)"
    if t_ref is not None:
        ratio = t_ref / t_pinnlab
        return ratio >= factor, f"{'met' if ratio >= factor else 'not met'} ({ratio:.2f}×)"
    if ref_finished:
        return True, "met (the reference never reached it in its schedule)"
    if ref_ran_s is not None and ref_ran_s / t_pinnlab >= factor:
        return True, f"met (reference not reached in {ref_ran_s:.0f} s: ≥ {ref_ran_s / t_pinnlab:.1f}×)"
    bound = "" if ref_ran_s is None else f": ≥ {ref_ran_s / t_pinnlab:.2f}×"
    return None, f"undecided (reference not reached{bound})"


# ----------------------------------------------------------------------------- the engines
def _n_iter(opt: torch.optim.LBFGS) -> int:
    return int(opt.state[opt.param_groups[0]["params"][0]].get("n_iter", 0))


def _lbfgs_call(opt: torch.optim.LBFGS, step: Callable[[], object], k: int, max_eval: int) -> int:
    """One ``opt.step`` (through ``step``) of at most ``k`` iterations; returns the iterations made."""
    g = opt.param_groups[0]
    g["max_iter"], g["max_eval"] = k, max(1, max_eval)
    before = _n_iter(opt)
    step()
    return _n_iter(opt) - before


class PinnlabEngine:
    name = "pinnlab"

    def __init__(self, prob: P.Problem, net):
        self.net = net
        self.loss = P.pinnlab_loss(net, prob)
        self.adam = P.adam_step(net, self.loss)  # one full-batch step, as fit's loop
        self.opt = None

    def start_lbfgs(self, iters: int) -> None:
        self.opt = torch.optim.LBFGS(self.net.parameters(), max_iter=50, **PINNLAB_LBFGS)

    def _closure(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss()
        loss.backward()
        return loss

    def lbfgs(self, k: int) -> int:
        return _lbfgs_call(self.opt, lambda: self.opt.step(self._closure), k, k * 5 // 4)

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.net(X)


class DeepXDEEngine:
    name = "DeepXDE"

    def __init__(self, prob: P.Problem, init):
        self.model, self.adam, self.loss = P.deepxde_model(prob, init)
        self.weights = self.model.loss_weights

    def start_lbfgs(self, iters: int) -> None:
        dde = P.deepxde()
        dde.optimizers.set_LBFGS_options(maxiter=max(1, iters))
        self.model.compile("L-BFGS", loss_weights=self.weights, verbose=0)

    def lbfgs(self, k: int) -> int:
        o = P.deepxde().optimizers.config.LBFGS_options
        return _lbfgs_call(self.model.opt, self.adam, k, o["maxfun"] * k // o["maxiter"])

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.model.net(X)


class Lane:
    """One engine's run: its schedule, its own training clock (paused while evaluating), its curve."""

    def __init__(self, engine, args, X: torch.Tensor, ref: np.ndarray):
        self.engine, self.args, self.X, self.ref = engine, args, X, ref
        self.step, self.phase, self.status = 0, "adam", None
        self.train_s = self.cpu_s = 0.0
        self.adam_s = self.lbfgs_s = 0.0
        self.lbfgs_iters, self.lbfgs_calls = 0, 0
        self.lbfgs_start: Optional[dict] = None
        self.history: list[dict] = []
        self.evaluate()

    @property
    def done(self) -> bool:
        return self.status is not None

    def evaluate(self) -> None:
        if self.history and self.history[-1]["step"] == self.step:
            return
        with torch.no_grad():
            pred = self.engine.predict(self.X).double().cpu().numpy()
        e = rel_errors(pred, self.ref)
        self.history.append({"step": self.step, "t": self.train_s, "cpu_s": self.cpu_s, "phase": self.phase, **e})
        if not math.isfinite(e["mean"]):
            self.status = "nonfinite"

    def run_slice(self, slice_s: float) -> None:
        t_end = self.train_s + slice_s
        while not self.done and self.train_s < t_end:
            self._unit(t_end)

    def _unit(self, t_end: float) -> None:
        a = self.args
        total = a.adam_steps + a.lbfgs_steps
        c0, t0 = time.process_time(), time.perf_counter()
        if self.phase == "adam" and self.step >= a.adam_steps:
            self.phase = "lbfgs"
            self.lbfgs_start = {"step": self.step, "t": self.train_s}
            self.engine.start_lbfgs(a.lbfgs_steps)
        if self.phase == "adam":
            self.engine.adam()
            n = 1
        else:
            k = min(a.eval_every - self.step % a.eval_every, total - self.step)
            if self.lbfgs_iters:  # seconds per iteration so far: stop near the slice's end and the budget
                spi = self.lbfgs_s / self.lbfgs_iters
                k = min(k, max(MIN_LBFGS_CALL, int((t_end - self.train_s) / spi) + 1),
                        max(1, math.ceil((a.budget_s - self.train_s) / spi)))
            else:
                k = min(k, MIN_LBFGS_CALL)
            n = self.engine.lbfgs(k)
            self.lbfgs_calls += 1
        benchlib.sync()
        dt = time.perf_counter() - t0
        self.train_s += dt
        self.cpu_s += time.process_time() - c0
        self.step += n
        if self.phase == "adam":
            self.adam_s += dt
        else:
            self.lbfgs_s += dt
            self.lbfgs_iters += n
            if n == 0:
                self.status = "converged"
        if self.step >= total:
            self.status = "steps"
        elif self.status is None and self.train_s >= a.budget_s:
            self.status = "budget"
        if self.done or self.step % a.eval_every == 0 or (self.phase == "adam" and self.step == a.adam_steps):
            self.evaluate()

    def summary(self) -> dict:
        last = self.history[-1]
        adam_steps = min(self.step, self.args.adam_steps)
        return {"engine": self.engine.name, "status": self.status, "stopped": STOPPED[self.status],
                "steps": self.step, "adam_steps": adam_steps,
                "adam_s": self.adam_s, "adam_ms": 1e3 * self.adam_s / adam_steps if adam_steps else None,
                "adam_steps_per_s": adam_steps / self.adam_s if self.adam_s else None,
                "lbfgs_iters": self.lbfgs_iters, "lbfgs_calls": self.lbfgs_calls, "lbfgs_s": self.lbfgs_s,
                "lbfgs_ms": 1e3 * self.lbfgs_s / self.lbfgs_iters if self.lbfgs_iters else None,
                "lbfgs_start": self.lbfgs_start, "train_s": self.train_s, "cpu_s": self.cpu_s,
                "final": {k: last[k] for k in ("u", "v", "p", "mean")},
                "best_mean": min(h["mean"] for h in self.history)}

    def crossings(self) -> dict[float, Optional[dict]]:
        out = {}
        for lv in LEVELS:
            i = first_crossing(range(len(self.history)), [h["mean"] for h in self.history], lv)
            out[lv] = None if i is None else {k: self.history[i][k] for k in ("t", "step", "cpu_s", "phase")}
        return out


# ----------------------------------------------------------------------------- run
def plot(lanes: list[Lane], info: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    colors = {"pinnlab": "C0", "DeepXDE": "C3"}
    for lane in lanes:
        c = colors.get(lane.engine.name, None)
        h = lane.history
        ax.semilogy([r["t"] for r in h], [r["mean"] for r in h], "-", color=c, lw=1.4,
                    label=f"{lane.engine.name} ({lane.step} steps, {STOPPED[lane.status]})")
        if lane.lbfgs_start is not None:
            ax.axvline(lane.lbfgs_start["t"], color=c, ls=":", lw=1)
        for lv, x in lane.crossings().items():
            if x is not None:
                ax.plot(x["t"], lv, "o", color=c, ms=5)
    for lv in LEVELS:
        ax.axhline(lv, color="0.5", ls="--", lw=0.8)
        ax.annotate(f"{lv:g}", (1.0, lv), xycoords=("axes fraction", "data"), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=8, color="0.4")
    ax.set_xlabel("training seconds (clock paused while evaluating)")
    ax.set_ylabel("mean relative L2 error of u, v, p (p up to a constant)")
    if info.get("device") == "cuda":
        where = f"{info['gpu']}, torch {info['torch']}"
    else:
        n = info["threads"]
        where = (f"{info['cpu']} CPU, {n} thread{'' if n == 1 else 's'}, torch {info['torch']}, "
                 f"load avg {info['load_avg_start']}")
    ax.set_title(f"Kovasznay Re=40, Adam then L-BFGS (dotted: L-BFGS starts)\n{where}", fontsize=10)
    ax.legend(loc="lower left", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"-> {path.relative_to(benchlib.ROOT)}")


def main() -> None:
    ap = benchlib.base_parser(__doc__.splitlines()[0])
    ap.add_argument("--adam-steps", type=int, default=None, help="Adam steps (default 20000; --quick 200)")
    ap.add_argument("--lbfgs-steps", type=int, default=None,
                    help="L-BFGS iterations after Adam (default 5000; --quick 50)")
    ap.add_argument("--budget-s", type=float, default=None,
                    help="training seconds per engine (default 1800; --quick 20)")
    ap.add_argument("--eval-every", type=int, default=None,
                    help="optimizer steps between error evaluations (default 100; --quick 50)")
    ap.add_argument("--slice-s", type=float, default=2.0, help="training seconds of one engine before the other's turn")
    args = ap.parse_args()
    for k, v in PRESETS["quick" if args.quick else "full"].items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.eval_every < 1 or args.adam_steps < 0 or args.lbfgs_steps < 0:
        ap.error("--eval-every must be >= 1 and the step counts >= 0")
    info = benchlib.start(args)
    dde_ok, dde_note = P.deepxde_available()
    schedule = (f"{args.adam_steps} Adam steps (lr 1e-3) then {args.lbfgs_steps} L-BFGS iterations, budget "
                f"{args.budget_s:.0f} s per engine, error every {args.eval_every} steps, slices of {args.slice_s:g} s")
    print(f"Time to accuracy, Kovasznay Re=40 — {benchlib.where(info)}; {dde_note}\n{schedule}", flush=True)

    prob = benchlib.on_device(P.kovasznay())
    pde = Kovasznay(prob.pde.Re)
    X64, _ = pde.grid(101)
    ref = pde.solution(X64).numpy()
    X = benchlib.on_device(X64.float())
    with benchlib.device_scope():
        engines = [PinnlabEngine(prob, prob.net(seed=0))]
        if dde_ok:
            engines.append(DeepXDEEngine(prob, prob.net(seed=0)))
        init = {e.name: float(e.loss().detach()) for e in engines}
        print("initial loss: " + ", ".join(f"{k} {v:.6g}" for k, v in init.items()), flush=True)
        lanes = [Lane(e, args, X, ref) for e in engines]
        wall0, last_print = time.perf_counter(), 0.0
        while not all(lane.done for lane in lanes):
            for lane in lanes:
                if not lane.done:
                    lane.run_slice(args.slice_s)
            now = time.perf_counter() - wall0
            if now - last_print >= (10 if args.quick else 60) or all(lane.done for lane in lanes):
                last_print = now
                print(f"  [{now:5.0f} s wall, load {benchlib.load()}] " + "; ".join(
                    f"{ln.engine.name}: {ln.train_s:.0f} s, step {ln.step} ({ln.phase}), "
                    f"err {ln.history[-1]['mean']:.2e}" for ln in lanes), flush=True)
    wall = time.perf_counter() - wall0

    sums = {ln.engine.name: ln.summary() for ln in lanes}
    cross = {ln.engine.name: ln.crossings() for ln in lanes}
    dde = sums.get("DeepXDE")
    rows = []
    for lv in LEVELS:
        p = cross["pinnlab"][lv]
        d = cross.get("DeepXDE", {}).get(lv)
        tp, td = (None if p is None else p["t"]), (None if d is None else d["t"])
        row = {"level": f"{lv:.0e}", "level_value": lv, "pinnlab_s": tp,
               "pinnlab_step": None if p is None else f"{p['step']}",
               "dde_s": td, "dde_step": None if d is None else f"{d['step']}",
               "ratio": None if tp is None or td is None else td / tp,
               "cpu_ratio": None if p is None or d is None or not p["cpu_s"] else d["cpu_s"] / p["cpu_s"],
               "issue_ratio": None if tp is None else ISSUE_DDE_S[lv] / tp}
        if dde is not None:
            met, words = verdict(tp, td, dde["train_s"], dde["status"] in ("steps", "converged"))
        else:
            met, words = None, "— (no DeepXDE in this run)"
        row["goal_met"], row["goal"] = met, words
        row["issue_goal_met"], row["issue_goal"] = verdict(tp, ISSUE_DDE_S[lv])
        rows.append(row)
    cols = [("level", "level", ""), ("pinnlab_s", "pinnlab s", ".1f"), ("pinnlab_step", "step", ""),
            ("dde_s", "DeepXDE s", ".1f"), ("dde_step", "step", ""), ("ratio", "× DeepXDE/pinnlab", ".2f"),
            ("cpu_ratio", "× CPU s", ".2f"), ("goal", "goal ≤ 1/3 (this run)", ""),
            ("issue_ratio", "× issue ref", ".2f"), ("issue_goal", "goal ≤ 1/3 (issue's DeepXDE)", "")]
    print("\nTime to each mean relative L2 error (training seconds; — : not reached)")
    print(benchlib.table(rows, cols))
    erows = [dict(s, final_err=s["final"]["mean"]) for s in sums.values()]
    print("\nPer engine")
    print(benchlib.table(erows, [("engine", "engine", ""), ("adam_steps", "Adam steps", "d"),
                                 ("adam_ms", "ms/step", ".1f"), ("adam_steps_per_s", "steps/s", ".1f"),
                                 ("lbfgs_iters", "L-BFGS its", "d"), ("lbfgs_ms", "ms/it", ".1f"),
                                 ("train_s", "train s", ".0f"), ("cpu_s", "CPU s", ".0f"),
                                 ("final_err", "final err", ".2e"), ("best_mean", "best err", ".2e"),
                                 ("stopped", "stopped", "")]))
    load_end = benchlib.load()
    print(f"wall {wall:.0f} s in all (evaluations included); load avg start {info['load_avg_start']}, "
          f"end {load_end}; {info['threads']} threads; {dde_note}")
    print("× CPU s: the same ratio in process CPU seconds at the crossings (with one thread, insensitive to time "
          "slices lost to other processes; the wall-clock ratio also carries load changes between the two crossings)")
    print("goal per level (pinnlab at most 1/3 of DeepXDE's time):")
    for r in rows:
        print(f"  {r['level']}: this run {r['goal']}; vs the issue's DeepXDE ({ISSUE_DDE_S[r['level_value']]:.0f} s) "
              f"{r['issue_goal']}")

    name = "time_to_accuracy"
    png = benchlib.OUT_DIR / (f"{name}.png" if benchlib.DEVICE == "cpu" else f"{name}-{benchlib.DEVICE}.png")
    plot(lanes, info, png)
    benchlib.write(name, {
        "machine": info, "quick": args.quick, "deepxde": dde_note, "problem": prob.label, "widths": prob.widths,
        "schedule": {k: getattr(args, k) for k in ("adam_steps", "lbfgs_steps", "budget_s", "eval_every", "slice_s")},
        "pinnlab_lbfgs": PINNLAB_LBFGS, "levels": list(LEVELS), "issue_deepxde_s": ISSUE_DDE_S,
        "initial_loss": init, "rows": rows, "engines": sums,
        "crossings": {k: {f"{lv:.0e}": v for lv, v in c.items()} for k, c in cross.items()},
        "history": {ln.engine.name: ln.history for ln in lanes}, "wall_s": wall, "plot": str(png)})


if __name__ == "__main__":
    main()
