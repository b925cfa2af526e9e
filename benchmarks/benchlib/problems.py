"""The benchmark problems, built the same way for pinnlab and for DeepXDE.

* Kovasznay flow, Re = 40: 2601 interior (collocation) points, 320 boundary points, loss
  ``mean(residual²) + mean((u,v,p) − exact)²`` on the boundary; tanh MLP ``2-64×L-3``.
* 1D Burgers (periodic, ν = 0.01, one GRF initial condition): 10 000 collocation points,
  128 initial-condition points, 128 periodic boundary pairs; tanh MLP ``2-64×L-1``.

``L`` (hidden layers) is 5 by default, the speed issue's net; Paper A's base nets have 6.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch

from pinnlab.engine import DerivSpec
from pinnlab.models import MLP
from pinnlab.pdes import Burgers1D, Kovasznay, grf
from pinnlab.pdes.base import PDE
from pinnlab.train import Points, loss_terms, sample_points, total_loss


@dataclass
class Problem:
    name: str
    pde: PDE
    widths: list[int]
    points: Points

    @property
    def label(self) -> str:
        hidden = self.widths[1:-1]
        return f"{self.name} ({self.widths[0]}-{hidden[0]}x{len(hidden)}-{self.widths[-1]}, " \
               f"{self.points.collocation.shape[-2]} collocation pts)"

    def net(self, seed: int = 0, n_tasks: Optional[int] = None) -> MLP:
        """A seeded MLP for this problem, on the benchmarks' device (``benchlib.DEVICE``)."""
        import benchlib

        return benchlib.build(MLP, self.widths, n_tasks=n_tasks, generator=torch.Generator().manual_seed(seed))


class KovasznayLaplacian(Kovasznay):
    """Kovasznay with the viscous term from the engine's Laplacian block (``DerivSpec.laplacian``).

    The residual uses ``u_xx + u_yy`` only, so one row block of Laplacians replaces the two
    blocks of pure second derivatives: 4 row blocks per layer instead of 5. The same
    equations and loss as :class:`pinnlab.pdes.Kovasznay` (checked: same initial loss).
    """

    spec = DerivSpec(first=(0, 1), laplacian=(0, 1))

    def residual_from_jet(self, jet, points):
        u, v = jet.u[..., 0:1], jet.u[..., 1:2]
        ux, uy = jet.d1[0], jet.d1[1]
        mom = u * ux[..., 0:2] + v * uy[..., 0:2] + torch.cat([ux[..., 2:3], uy[..., 2:3]], -1) \
            - jet.lap[..., 0:2] / self.Re
        return torch.cat([ux[..., 0:1] + uy[..., 1:2], mom], -1)


def kovasznay(hidden: int = 5, n_col: int = 2601, n_bc: int = 320, seed: int = 0, Re: float = 40.0) -> Problem:
    pde = Kovasznay(Re)
    pts = sample_points(pde, n_col, 0, n_bc, torch.Generator().manual_seed(seed))
    return Problem("Kovasznay Re=40", pde, [2, *[64] * hidden, 3], pts)


def burgers(hidden: int = 5, n_col: int = 10_000, n_ic: int = 128, n_bc: int = 128, seed: int = 0) -> Problem:
    pde = Burgers1D(grf(1, 128, seed=seed)[0])
    pts = sample_points(pde, n_col, n_ic, n_bc, torch.Generator().manual_seed(seed))
    return Problem("Burgers 1D", pde, [2, *[64] * hidden, 1], pts)


class AutogradOnly(torch.nn.Module):
    """Wraps an MLP without its ``jet`` method, so ``loss_terms`` takes nested autograd."""

    def __init__(self, net: MLP):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


def pinnlab_loss(model, problem: Problem) -> Callable[[], torch.Tensor]:
    return lambda: total_loss(loss_terms(model, problem.pde, problem.points), {})


def adam_step(model, loss_fn: Callable[[], torch.Tensor], lr: float = 1e-3) -> Callable[[], float]:
    """One full-batch Adam step: zero grads, loss, backward, update (as ``pinnlab.train.fit`` does)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss

    return step


# ----------------------------------------------------------------------------- DeepXDE
def deepxde():
    """Import DeepXDE with the PyTorch backend; returns the module or raises ImportError."""
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    nthreads = torch.get_num_threads()
    import deepxde as dde  # noqa: PLC0415

    torch.set_num_threads(nthreads)  # its imports must not change torch's threads
    if dde.backend.backend_name != "pytorch":
        raise ImportError(f"DeepXDE loaded backend {dde.backend.backend_name!r}, not pytorch")
    return dde


def deepxde_available() -> tuple[bool, str]:
    """``(usable, note)``: DeepXDE imports with its PyTorch backend and the benchmarks run on the CPU
    (the DeepXDE goals are CPU goals; its backend would also move torch's default device)."""
    import benchlib

    if benchlib.DEVICE != "cpu":
        return False, f"DeepXDE not run on {benchlib.DEVICE} (the DeepXDE comparison is a CPU one)"
    try:
        deepxde()
    except Exception as err:  # noqa: BLE001 - report, never crash a benchmark
        return False, f"DeepXDE skipped: {type(err).__name__}: {err} (pip install -e '.[bench]')"
    return True, "DeepXDE (PyTorch backend) imported"


def _copy_weights(dde_net, net: MLP) -> None:
    with torch.no_grad():
        for lin, (W, b) in zip(dde_net.linears, net.layers()):
            lin.weight.copy_(W)
            lin.bias.copy_(b)


def deepxde_model(problem: Problem, init: MLP):
    """The same problem in DeepXDE: same net and initial weights, same points and loss terms.

    Kovasznay: the residual's three equations on the 2601 interior points (anchors) with
    loss weights 1/3 each, so their sum is pinnlab's mean over all residual entries; one
    ``PointSetBC`` for (u, v, p) on the 320 boundary points (pinnlab's "bc" term).
    Burgers: residual on the collocation points, ``PointSetBC`` for the initial condition,
    ``PeriodicBC`` on the x = 0 face (DeepXDE takes those 128 face points from its
    training points, so its residual also covers them: 10 128 residual points).
    DeepXDE, by its design, takes input derivatives over all its training rows
    (boundary rows included); pinnlab evaluates boundary rows with a plain forward pass.
    Returns ``(model, step, loss)``.
    """
    dde = deepxde()
    pde, pts = problem.pde, problem.points
    col = pts.collocation.numpy().astype(np.float32)
    if isinstance(pde, Kovasznay):
        Re = pde.Re

        def residual(x, y):
            u, v = y[:, 0:1], y[:, 1:2]
            u_x = dde.grad.jacobian(y, x, i=0, j=0)
            u_y = dde.grad.jacobian(y, x, i=0, j=1)
            v_x = dde.grad.jacobian(y, x, i=1, j=0)
            v_y = dde.grad.jacobian(y, x, i=1, j=1)
            p_x = dde.grad.jacobian(y, x, i=2, j=0)
            p_y = dde.grad.jacobian(y, x, i=2, j=1)
            u_xx = dde.grad.hessian(y, x, component=0, i=0, j=0)
            u_yy = dde.grad.hessian(y, x, component=0, i=1, j=1)
            v_xx = dde.grad.hessian(y, x, component=1, i=0, j=0)
            v_yy = dde.grad.hessian(y, x, component=1, i=1, j=1)
            return [u_x + v_y,
                    u * u_x + v * u_y + p_x - (u_xx + u_yy) / Re,
                    u * v_x + v * v_y + p_y - (v_xx + v_yy) / Re]

        (x0, x1), (y0, y1) = pde.domain["x"], pde.domain["y"]
        geom = dde.geometry.Rectangle([x0, y0], [x1, y1])
        bc = dde.icbc.PointSetBC(pts.bc[0].numpy(), pts.bc[1], component=[0, 1, 2])
        data = dde.data.PDE(geom, residual, [bc], num_domain=0, num_boundary=0, anchors=col)
        weights = [1 / 3, 1 / 3, 1 / 3, 1.0]
    elif isinstance(pde, Burgers1D):
        nu = pde.nu

        def residual(x, y):
            y_x = dde.grad.jacobian(y, x, i=0, j=0)
            y_t = dde.grad.jacobian(y, x, i=0, j=1)
            y_xx = dde.grad.hessian(y, x, i=0, j=0)
            return y_t + y * y_x - nu * y_xx

        geom = dde.geometry.GeometryXTime(dde.geometry.Interval(0.0, 1.0), dde.geometry.TimeDomain(0.0, 1.0))
        n_pairs = pts.bc[0].shape[0] // 2
        lo_face = pts.bc[0][:n_pairs].numpy()
        ic = dde.icbc.PointSetBC(pts.ic[0].numpy(), pts.ic[1], component=0)
        per = dde.icbc.PeriodicBC(geom, 0, lambda x, on_b: on_b and np.isclose(x[0], 0.0))
        data = dde.data.TimePDE(geom, residual, [ic, per], num_domain=0, num_boundary=0, num_initial=0,
                                anchors=np.vstack([col, lo_face]))
        weights = [1.0, 1.0, 1.0]
    else:  # pragma: no cover
        raise ValueError(f"no DeepXDE version of {pde!r}")
    net = dde.nn.FNN(problem.widths, "tanh", "Glorot normal")
    _copy_weights(net, init)
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3, loss_weights=weights)
    model.train_state.set_data_train(*model.data.train_next_batch(None))
    ts = model.train_state

    def step():
        model._train_step(ts.X_train, ts.y_train, ts.train_aux_vars)  # what Model.train runs per iteration

    def loss():
        return model.outputs_losses_train(ts.X_train, ts.y_train, ts.train_aux_vars)[1].sum()

    return model, step, loss


# ----------------------------------------------------------------------------- many tasks
@dataclass
class KovasznayTasks:
    """``T`` Kovasznay tasks (Re evenly spread over Paper A's range), each with its own points."""

    pdes: list
    points: list
    stacked_pde: PDE  # residual with Re as a [T, 1, 1] tensor: evaluates all tasks at once
    x: torch.Tensor  # [T, N, 2] collocation points
    xb: torch.Tensor  # [T, N_b, 2] boundary points
    yb: torch.Tensor  # [T, N_b, 3] boundary values
    widths: list[int]


def kovasznay_tasks(T: int = 20, hidden: int = 5, n_col: int = 2601, n_bc: int = 320) -> KovasznayTasks:
    import copy

    Res = torch.linspace(20.0, 100.0, T)
    pdes = [Kovasznay(float(r)) for r in Res]
    pts = [sample_points(p, n_col, 0, n_bc, torch.Generator().manual_seed(i)) for i, p in enumerate(pdes)]
    spde = copy.copy(pdes[0])
    spde.Re = Res.reshape(T, 1, 1)
    return KovasznayTasks(pdes, pts, spde, torch.stack([p.collocation for p in pts]),
                          torch.stack([p.bc[0] for p in pts]), torch.stack([p.bc[1] for p in pts]),
                          [2, *[64] * hidden, 3])


def stacked_loss(model, tasks: KovasznayTasks) -> Callable[[], torch.Tensor]:
    """Sum over tasks of each task's ``mean(residual²) + mean(bc mismatch²)``: one pass for all tasks."""
    from pinnlab.engine import mlp_forward, mlp_jet

    def loss():
        layers = model.layers()
        jet = mlp_jet(layers, tasks.x, tasks.stacked_pde.spec, model.activation)
        res = tasks.stacked_pde.residual_from_jet(jet, tasks.x).pow(2).mean((-2, -1))
        bc = (mlp_forward(layers, tasks.xb, model.activation) - tasks.yb).pow(2).mean((-2, -1))
        return (res + bc).sum()

    return loss


def loop_step(models, tasks: KovasznayTasks, compiled: bool = False) -> Callable[[], None]:
    """One Adam step for every task, one task after the other (backward per task, one update)."""
    import copy

    pdes = tasks.pdes
    if compiled:  # Re as a tensor, so one compiled graph serves every task (no recompiles per Re)
        pdes = [copy.copy(p) for p in pdes]
        for p in pdes:
            p.Re = torch.tensor(p.Re)

    def one(model, pde, pts):
        return total_loss(loss_terms(model, pde, pts), {})

    fn = torch.compile(one) if compiled else one
    opt = torch.optim.Adam([p for m in models for p in m.parameters()], lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        for m, pde, pts in zip(models, pdes, tasks.points):
            fn(m, pde, pts).backward()
        opt.step()

    return step
