"""Seconds per epoch: T tasks trained as one batched model vs a Python loop over the tasks.

Both sides train the same networks (Paper A's six-hidden-layer base with LoRA of rank 4 on
every map, Kovasznay tasks with different Re) with the same derivative engine and Adam:

* batched — one ``LoRAMLP(base, 4, n_tasks=T)``, one forward/backward/step per epoch
  (:func:`pinnlab.multitask.task_loss_terms`, what :func:`~pinnlab.multitask.fit_tasks` runs);
* loop — ``T`` single-task ``LoRAMLP``\\ s, each with its own Adam, one after the other
  (:func:`pinnlab.train.loss_terms`, what ``T`` calls of :func:`pinnlab.train.fit` run);
* loop, autograd — the same loop with derivatives by nested ``torch.autograd.grad`` (how PINN
  code is usually written; for context, not the headline ratio).

Timings alternate between the two in blocks and keep each side's fastest block, which
makes the ratio robust on a shared machine (wall times; CPU times are kept in the results). Run: ``python benchmarks/lora_batched.py``
(``--tasks 20 --points 256,2601 --threads N``).
"""
from __future__ import annotations

import time

import benchlib  # noqa: F401  (puts the checkout on sys.path)
import torch

import pinnlab
from pinnlab.experiments.pinn_basics import base_widths
from pinnlab.models import MLP, LoRAMLP
from pinnlab.multitask import stack_pdes, stack_points, task_loss_terms
from pinnlab.pdes import Kovasznay
from pinnlab.train import loss_terms, sample_points


def batched_step(model, spde, pts, opt) -> None:
    loss = sum(task_loss_terms(model, spde, pts).values()).sum()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def loop_step(models, pdes, pts, opts) -> None:
    for model, pde, p, opt in zip(models, pdes, pts, opts):
        loss = sum(loss_terms(model, pde, p).values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


class _NoJet(torch.nn.Module):
    """Hides ``jet`` so that :func:`pinnlab.train.loss_terms` takes derivatives by nested autograd."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


def seconds_per_epoch(step, epochs: int) -> tuple[float, float]:
    """(wall, CPU) seconds per epoch over ``epochs`` calls of ``step``."""
    benchlib.sync()
    w, c = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        step()
    benchlib.sync()
    return (time.perf_counter() - w) / epochs, (time.process_time() - c) / epochs


def measure(n_tasks: int, n_points: int, rank: int = 4, blocks: int = 3, epochs: int = 3) -> dict:
    g = torch.Generator().manual_seed(0)
    res = torch.linspace(20.0, 100.0, n_tasks).tolist()
    pdes = [Kovasznay(r) for r in res]
    pts = benchlib.build(lambda: [sample_points(p, n_points, 0, 320, g) for p in pdes])
    base = benchlib.build(MLP, base_widths(2, 3), generator=g)
    stacked = benchlib.build(LoRAMLP, base, rank, n_tasks=n_tasks, generator=g)
    singles = [stacked.task(i) for i in range(n_tasks)]
    spde, spts = stack_pdes(pdes, device=benchlib.DEVICE), stack_points(pts)
    opt = torch.optim.Adam(stacked.parameters(), lr=1e-3)
    opts = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in singles]

    plain = [_NoJet(m) for m in singles]

    def b():
        batched_step(stacked, spde, spts, opt)

    def lp():
        loop_step(singles, pdes, pts, opts)

    def la():
        loop_step(plain, pdes, pts, opts)

    sides = {"batched": b, "loop": lp, "autograd": la}
    for fn in sides.values():  # warm-up
        fn()
    best = {k: (float("inf"), 0.0) for k in sides}
    for _ in range(blocks):
        for name, fn in sides.items():
            w, c = seconds_per_epoch(fn, epochs if name != "autograd" else 1)
            if w < best[name][0]:
                best[name] = (w, c)
    return {"tasks": n_tasks, "points": n_points, "rank": rank, **{f"{k}_s": v[0] for k, v in best.items()},
            **{f"{k}_cpu_s": v[1] for k, v in best.items()}}


def main(argv=None) -> None:
    ap = benchlib.base_parser(__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--points", default="64,256,2601", help="collocation points per task (comma list)")
    args = ap.parse_args(argv)
    if args.quick and args.points == ap.get_default("points"):
        args.points = "256,2601"
    pinnlab.setup("quick", device=args.device, progress=False)
    info = benchlib.start(args)
    print(f"LoRA rank 4, Kovasznay, {args.tasks} tasks, base {base_widths(2, 3)} — {benchlib.where(info)}; "
          f"+ 320 boundary points per task")
    print(f"{'points/task':>11s} {'batched s/epoch':>16s} {'loop s/epoch':>13s} {'ratio':>6s} "
          f"{'loop+autograd':>14s} {'ratio':>6s}")
    rows = []
    for n in (int(v) for v in args.points.split(",")):
        with benchlib.device_scope():
            r = measure(args.tasks, n)
        rows.append(r)
        print(f"{n:11d} {r['batched_s']:16.4f} {r['loop_s']:13.4f} {r['loop_s'] / r['batched_s']:5.1f}x "
              f"{r['autograd_s']:14.4f} {r['autograd_s'] / r['batched_s']:5.1f}x", flush=True)
    benchlib.write("lora_batched", {"machine": info, "quick": args.quick, "rows": rows})


if __name__ == "__main__":
    main()
