"""Checks for the learner's exercises: accept a right answer, name a typical mistake.

Each ``check_<name>(answer)`` tests the learner's function or number against the
package's own implementation on random inputs and prints a short confirmation or a hint.
It returns ``True``/``False`` (``None`` when the exercise still holds ``...``) and never
raises on a wrong answer, so a notebook keeps running.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

import torch

from .engine import DerivSpec, jet_autograd
from .models import MLP
from .pdes import Burgers1D, grf, kovasznay_lambda

OK = "✅ Correct"


def _not_attempted(answer: Any) -> bool:
    if answer is Ellipsis or answer is None:
        print("⏳ Not attempted yet: replace the `...` placeholders and run the cell again.")
        return True
    return False


def _report(ok: bool, msg: str) -> bool:
    print(f"{OK}: {msg}" if ok else f"❌ {msg}")
    return ok


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-8) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=tol, atol=tol))


def _call(fn: Callable, *args) -> tuple[Optional[Any], Optional[str]]:
    try:
        return fn(*args), None
    except Exception as err:  # the learner's code may raise anything
        return None, f"your function raised {type(err).__name__}: {err}"


# ----------------------------------------------------------------------------- 01
def check_burgers_residual(answer: Callable) -> Optional[bool]:
    """Exercise 01.1: ``answer(u_fn, points, nu) -> [N, 1]`` residual of u_t + (u²/2)_x − ν u_xx.

    ``points`` is ``[N, 2]`` with columns (x, t) and ``requires_grad=True``.
    """
    if _not_attempted(answer):
        return None
    torch.manual_seed(1)
    net = MLP([2, 16, 16, 1], generator=torch.Generator().manual_seed(3)).double()
    pts = torch.rand(64, 2, dtype=torch.float64, requires_grad=True)
    nu = 0.037
    got, err = _call(answer, net, pts, nu)
    if err:
        return _report(False, err)
    if _not_attempted(got):
        return None
    if not isinstance(got, torch.Tensor):
        return _report(False, f"return a torch.Tensor of shape [N, 1], not {type(got).__name__}")
    got = got.detach().double()
    pde = Burgers1D(grf(1, 16, seed=0)[0], nu=nu)
    ref = pde.residual(net, pts).detach()
    if got.shape == (64,) and _close(got, ref[:, 0]):
        return _report(False, "the values are right but the shape is [N]; return [N, 1] (e.g. `.unsqueeze(1)` "
                              "or index with `[:, 0:1]`), one column per equation")
    if _close(got, ref):
        return _report(True, "your residual matches pinnlab's Burgers1D.residual to round-off.")
    # typical mistakes, computed from the same derivatives
    jt = jet_autograd(net, pts, DerivSpec((0, 1), (0, 1)))
    u, ux, ut, uxx, utt = jt.u, jt.d1[0], jt.d1[1], jt.d2[0], jt.d2[1]
    wrong = {
        "the viscous term has the wrong sign: the equation is u_t + u u_x − ν u_xx = 0 (diffusion enters with −ν)":
            ut + u * ux + nu * uxx,
        "the flux is u²/2, so (u²/2)_x = u u_x; you used (u²)_x = 2 u u_x": ut + 2 * u * ux - nu * uxx,
        "x and t are swapped: column 0 of points is x and column 1 is t": ux + u * ut - nu * utt,
        "the nonlinear (convection) term u u_x is missing": ut - nu * uxx,
        "the viscous term ν u_xx is missing": ut + u * ux,
        "the viscosity ν multiplies u_xx; you left it out": ut + u * ux - uxx,
    }
    for hint, w in wrong.items():
        w = w.detach()
        if _close(got.reshape(w.shape) if got.numel() == w.numel() else got, w):
            return _report(False, hint)
    return _report(False, "the residual differs from u_t + u u_x − ν u_xx. Take u_x and u_t from one "
                          "torch.autograd.grad of u.sum() (create_graph=True), then u_xx from a second grad of u_x.")


def check_kovasznay_lambda(answer: Callable[[float], float]) -> Optional[bool]:
    """Exercise 01.2: ``answer(Re) -> λ`` for Kovasznay flow."""
    if _not_attempted(answer):
        return None
    Res = [20.0, 40.0, 77.0, 100.0]
    vals = []
    for Re in Res:
        v, err = _call(answer, Re)
        if err:
            return _report(False, err)
        if _not_attempted(v):
            return None
        try:
            vals.append(float(v))
        except (TypeError, ValueError):
            return _report(False, f"return a number, got {type(v).__name__}")
    right = [kovasznay_lambda(r) for r in Res]
    if all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(vals, right)):
        return _report(True, f"λ(Re=40) = {right[1]:.6f}; the flow decays downstream (λ < 0).")
    wrong = {
        "that is Paper A's misprint Re/2 − sqrt(Re²/4) + 4π²: the 4π² belongs inside the square root, "
        "λ = Re/2 − sqrt(Re²/4 + 4π²)": [r / 2 - math.sqrt(r * r / 4) + 4 * math.pi**2 for r in Res],
        "wrong sign in front of the square root: the + root gives λ > 0, a solution that blows up "
        "downstream; take λ = Re/2 − sqrt(...)": [r / 2 + math.sqrt(r * r / 4 + 4 * math.pi**2) for r in Res],
        "use Re²/4 under the root, not Re²": [r / 2 - math.sqrt(r * r + 4 * math.pi**2) for r in Res],
        "it is 4π² (from the 2π wave number in y), not 4π or π²": [r / 2 - math.sqrt(r * r / 4 + 4 * math.pi) for r in Res],
        "λ uses Re itself; you used the viscosity 1/Re where Re belongs":
            [1 / (2 * r) - math.sqrt(1 / (4 * r * r) + 4 * math.pi**2) for r in Res],
    }
    for hint, w in wrong.items():
        if all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(vals, w)):
            return _report(False, hint)
    return _report(False, f"λ(40) should be {right[1]:.6f}, you returned {vals[1]:.6f}. "
                          "Plug u = 1 − e^{λx}cos 2πy into the momentum equation, or recall λ = Re/2 − sqrt(Re²/4 + 4π²).")


# ----------------------------------------------------------------------------- 02
_LORA_CASES = [([2, 64, 64, 64, 1], 4), ([3, 20, 30, 2], 3), ([5, 7, 1], 1), ([2, 64, 64, 64, 64, 64, 64, 3], 8)]


def check_lora_param_count(answer: Callable) -> Optional[bool]:
    """Exercise 02.1: ``answer(widths, rank) -> int``, the trainable numbers of a LoRA network.

    ``widths`` lists the layer widths of the base MLP (inputs … outputs); every linear map
    ``d_in → d_out`` gets ``A`` (``rank × d_in``) and ``B`` (``d_out × rank``); the base
    weights and the biases are frozen.
    """
    if _not_attempted(answer):
        return None
    got = []
    for widths, r in _LORA_CASES:
        v, err = _call(answer, list(widths), r)
        if err:
            return _report(False, err)
        if _not_attempted(v):
            return None
        try:
            got.append(int(v))
        except (TypeError, ValueError):
            return _report(False, f"return an integer, got {type(v).__name__}")

    def each(fn):
        return [int(fn(list(zip(w[:-1], w[1:])), r)) for w, r in _LORA_CASES]

    right = each(lambda maps, r: r * sum(a + b for a, b in maps))
    if got == right:
        return _report(True, f"e.g. {right[3]} per rank-8 task for Paper A's six-layer Kovasznay base "
                             f"(= 8 × {right[3] // 8}).")
    wrong = {
        "you forgot a layer: there are len(widths) − 1 linear maps, the first (inputs → hidden) and the last "
        "(hidden → outputs) included": [each(lambda maps, r: r * sum(a + b for a, b in maps[1:])),
                                        each(lambda maps, r: r * sum(a + b for a, b in maps[:-1]))],
        "you counted biases: they are frozen with W0 (LoRA adapts the weight matrices only), leave them out":
            [each(lambda maps, r: r * sum(a + b for a, b in maps) + sum(b for _, b in maps)),
             each(lambda maps, r: r * sum(a + b + 1 for a, b in maps))],
        "you used d_in · d_out, the size of a full weight matrix; A (r × d_in) and B (d_out × r) hold "
        "r·d_in + r·d_out numbers": [each(lambda maps, r: r * sum(a * b for a, b in maps)),
                                     each(lambda maps, r: sum(a * b for a, b in maps))],
        "that is the whole network's count Σ (d_in + 1)·d_out — but W0 and the biases are frozen; only A and B train":
            [each(lambda maps, r: sum((a + 1) * b for a, b in maps))],
        "you added the frozen base weights W0; count only A and B":
            [each(lambda maps, r: r * sum(a + b for a, b in maps) + sum(a * b for a, b in maps))],
    }
    for hint, options in wrong.items():
        if any(got == w for w in options):
            return _report(False, hint)
    return _report(False, f"for widths {_LORA_CASES[0][0]} and rank {_LORA_CASES[0][1]} the count is {right[0]}, "
                          f"you returned {got[0]}. Sum r·(d_in + d_out) over the linear maps.")


def check_lora_forward(answer: Callable) -> Optional[bool]:
    """Exercise 02.2: ``answer(x, W0, b0, A, B) -> [N, d_out]``, one LoRA linear map ``W0 x + B (A x) + b0``.

    Shapes: ``x`` ``[N, d_in]`` (one point per row), ``W0`` ``[d_out, d_in]``, ``b0`` ``[d_out]``,
    ``A`` ``[r, d_in]``, ``B`` ``[d_out, r]``.
    """
    if _not_attempted(answer):
        return None
    g = torch.Generator().manual_seed(7)

    def case(d_in, d_out, r, zero_B=False):
        x = torch.randn(9, d_in, generator=g, dtype=torch.float64)
        W0 = torch.randn(d_out, d_in, generator=g, dtype=torch.float64)
        b0 = torch.randn(d_out, generator=g, dtype=torch.float64)
        A = torch.randn(r, d_in, generator=g, dtype=torch.float64)
        B = torch.zeros(d_out, r, dtype=torch.float64) if zero_B else torch.randn(d_out, r, generator=g,
                                                                                   dtype=torch.float64)
        return x, W0, b0, A, B

    shapes = "x is [N, d_in], W0 [d_out, d_in], A [r, d_in], B [d_out, r]: x @ A.T is [N, r], then @ B.T gives [N, d_out]"
    for k, (d_in, d_out, r, zero_B) in enumerate([(5, 5, 2, False), (3, 4, 2, False), (6, 2, 3, True)]):
        x, W0, b0, A, B = case(d_in, d_out, r, zero_B)
        got, err = _call(answer, x, W0, b0, A, B)
        if err:
            return _report(False, f"{err}. Check the shapes: {shapes}")
        if _not_attempted(got):
            return None
        if not isinstance(got, torch.Tensor):
            return _report(False, f"return a torch.Tensor of shape [N, d_out], not {type(got).__name__}")
        got = got.detach().double()
        right = x @ W0.T + (x @ A.T) @ B.T + b0
        if _close(got, right):
            continue
        if zero_B:
            return _report(False, "with B = 0 the LoRA map must be exactly the base map x @ W0.T + b0")
        wrong = {
            "you forgot W0: the adapted weight is W0 + B A, so the base term x @ W0.T stays": (x @ A.T) @ B.T + b0,
            "you forgot the bias b0 (frozen, but still part of the map)": x @ W0.T + (x @ A.T) @ B.T,
            "B and A are swapped or a transpose is off: with points as rows the map is x @ (W0 + B A).T = "
            "x @ W0.T + (x @ A.T) @ B.T — A maps d_in → r first, then B maps r → d_out; you computed x @ B @ A, "
            "which applies the transposed update": x @ W0.T + x @ (B @ A) + b0,
            "a transpose is off: W0 is [d_out, d_in], so the base term is x @ W0.T, not x @ W0":
                x @ W0 + (x @ A.T) @ B.T + b0,
        }
        for hint, w in wrong.items():
            if got.shape == w.shape and _close(got, w):
                return _report(False, hint)
        return _report(False, f"the output differs from x @ W0.T + (x @ A.T) @ B.T + b0 ({shapes})")
    return _report(True, "and with B = 0 it is exactly the base layer — LoRA starts from the trained network.")


# ----------------------------------------------------------------------------- 03
def _as_vector(v: Any) -> Optional[torch.Tensor]:
    try:
        return torch.as_tensor(v, dtype=torch.float64).detach()
    except (TypeError, ValueError, RuntimeError):
        return None


def check_task_vector(answer: Callable) -> Optional[bool]:
    """Exercise 03.1: ``answer(pde) -> [n_in]``, what the hypernetwork must be told about a task.

    Tried on a Kovasznay task, a 2D Burgers task and a 1D Burgers task; compared with
    :func:`pinnlab.hyper.task_vector` (``[Re]``, ``[ν]``, the 128 initial values).
    """
    if _not_attempted(answer):
        return None
    from .hyper import task_vector
    from .pdes import Burgers2D, Kovasznay

    u0 = grf(1, 128, seed=5)[0]
    cases = [Kovasznay(37.5), Burgers2D(3.3e-4), Burgers1D(u0, nu=0.01)]
    for pde in cases:
        v, err = _call(answer, pde)
        if err:
            return _report(False, err)
        if _not_attempted(v):
            return None
        got, right = _as_vector(v), task_vector(pde)
        name = type(pde).__name__
        if got is None:
            return _report(False, f"return a vector (tensor, array or list of numbers), not {type(v).__name__}")
        if got.dim() == 0 and got.numel() == right.numel() and _close(got.reshape(1), right):
            return _report(False, f"{name}: the value is right but it is a scalar; the hypernetwork takes a vector "
                                  "with a feature axis, e.g. torch.tensor([pde.Re]) (shape [1])")
        if got.shape == right.shape and _close(got, right, 1e-6):
            continue
        if isinstance(pde, Burgers1D):
            if got.numel() == 1 and math.isclose(float(got.flatten()[0]), pde.nu, rel_tol=1e-6):
                return _report(False, "1D Burgers: ν = 0.01 is the same for every task, so it tells the hypernetwork "
                                      "nothing. What changes from task to task is the initial condition: give its "
                                      "128 values, pde.u0")
            return _report(False, "1D Burgers: the task is the initial condition; return its 128 values on the grid "
                                  f"(pde.u0, shape [128]); you returned shape {tuple(got.shape)}")
        if isinstance(pde, Kovasznay) and got.numel() == 1:
            g = float(got.flatten()[0])
            if math.isclose(g, pde.lam, rel_tol=1e-6):
                return _report(False, "Kovasznay: λ is computed from Re; give the hypernetwork the task parameter "
                                      "itself, [Re] (it is what varies over [20, 100] and what the input is normalised by)")
            if math.isclose(g, 1.0 / pde.Re, rel_tol=1e-6):
                return _report(False, "Kovasznay: that is 1/Re, the viscosity of the momentum equation; the task "
                                      "parameter is Re itself, [Re]")
        if isinstance(pde, Burgers2D) and got.numel() > 1:
            return _report(False, "2D Burgers: only ν changes between tasks; the coordinates (x, y, t) are the "
                                  "PINN's inputs, not the hypernetwork's. Return [ν]")
        return _report(False, f"{name}: expected {right.tolist() if right.numel() < 4 else 'the 128 IC values'}, "
                              f"got {got.flatten()[:4].tolist()}{' …' if got.numel() > 4 else ''}")
    return _report(True, "one number for Kovasznay and 2D Burgers, 128 for 1D Burgers — the hypernetwork's first "
                         "layer has n_in = 1 or 128 inputs.")


def check_hyper_split(answer: Callable) -> Optional[bool]:
    """Exercise 03.2: ``answer(flat, widths, rank) -> [(B, A), ...]``: cut the hypernetwork's flat output
    ``[T, r Σ(d_in + d_out)]`` into LoRA factors, per linear map ``B`` ``[T, d_out, r]`` then ``A`` ``[T, r, d_in]``,
    each stored row-major (``HyperNet``'s layout)."""
    if _not_attempted(answer):
        return None
    from .models import HyperNet

    g = torch.Generator().manual_seed(3)
    for widths, r, T in (([2, 5, 4, 3], 2, 3), ([1, 6, 6, 2], 3, 1)):
        hyper = HyperNet(widths[0], MLP(widths), rank=r, hidden=(4,))
        flat = torch.randn(T, hyper.n_out, generator=g, dtype=torch.float64)
        right = hyper.split(flat)
        got, err = _call(answer, flat.clone(), list(widths), r)
        if err:
            return _report(False, f"{err}. Walk through the maps with a running offset: B takes d_out·r numbers, "
                                  "then A takes r·d_in")
        if _not_attempted(got):
            return None
        if isinstance(got, (list, tuple)) and any(x is Ellipsis for pair in got
                                                  for x in (pair if isinstance(pair, (list, tuple)) else (pair,))):
            return _not_attempted(...) and None
        try:
            got = [(torch.as_tensor(B), torch.as_tensor(A)) for B, A in got]
        except (TypeError, ValueError):
            return _report(False, "return a list with one (B, A) pair per linear map")
        if len(got) != len(right):
            return _report(False, f"there are len(widths) − 1 = {len(right)} linear maps, you returned {len(got)} pairs")
        for k, ((B, A), (Br, Ar)) in enumerate(zip(got, right)):
            if B.shape == Br.shape[1:] or A.shape == Ar.shape[1:]:
                return _report(False, "keep the task axis: with T tasks B is [T, d_out, r] and A is [T, r, d_in] "
                                      "(reshape each slice of flat with T first)")
            if B.shape == Ar.shape and A.shape == Br.shape:
                return _report(False, "the pair is the wrong way round: return (B, A) — B is [T, d_out, r], "
                                      "A is [T, r, d_in], so that W = W0 + B @ A")
            if B.shape == Br.shape and A.shape == Ar.shape and _close(B.double(), Br) and _close(A.double(), Ar):
                continue
            d_out, d_in = widths[k + 1], widths[k]
            n_b = d_out * r
            if k == 0 and B.shape == Br.shape and _close(B.double(), flat[:, r * d_in:r * d_in + n_b].reshape(T, d_out, r)):
                return _report(False, "within each map, B comes first in the flat row and then A")
            if B.shape == Br.shape and _close(B.double(), Br.new_tensor(
                    flat[:, _offset(widths, r, k):_offset(widths, r, k) + n_b].reshape(T, r, d_out).transpose(1, 2))):
                return _report(False, "B is stored row-major as [d_out, r]: reshape(T, d_out, r), not "
                                      "reshape(T, r, d_out) and transpose")
            return _report(False, f"map {k}: the values differ from pinnlab's layout (per map, B then A, "
                                  "each row-major; keep a running offset through the flat row)")
    return _report(True, "the flat output is r·Σ(d_in + d_out) numbers per task, cut map by map into B and A.")


def _offset(widths, r, k) -> int:
    return sum(r * (a + b) for a, b in zip(widths[:k], widths[1:k + 1]))


def check_break_even(answer: Callable) -> Optional[bool]:
    """Exercise 03.3: ``answer(train_s, per_task_s, inference_s) -> int``: after how many new tasks does training
    a hypernetwork once (``train_s``) beat training a LoRA PINN per task (``per_task_s`` each)? The smallest ``n``
    with ``train_s + n · inference_s < n · per_task_s``."""
    if _not_attempted(answer):
        return None
    cases = [(100.0, 3.0, 0.01), (7200.0, 600.0, 1.1), (50.0, 5.0, 0.0), (10.0, 2.0, 1.0)]
    right = [int(math.floor(h / (p - i))) + 1 for h, p, i in cases]
    got = []
    for h, p, i in cases:
        v, err = _call(answer, h, p, i)
        if err:
            return _report(False, err)
        if _not_attempted(v):
            return None
        try:
            got.append(float(v))
        except (TypeError, ValueError):
            return _report(False, f"return a number of tasks, not {type(v).__name__}")
    if got == right:
        return _report(True, f"e.g. with the paper's times (2 h of hypernetwork training, 600 s per LoRA, 1.1 s "
                             f"inference) it pays off from the {right[1]}th new task on.")
    if any(g != int(g) for g in got):
        return _report(False, "a number of tasks is a whole number: round to the first n that satisfies the inequality")
    if got == [math.floor(h / p) + 1 for h, p, _ in cases]:
        return _report(False, "the hypernetwork's inference is not free: each new task still costs inference_s, "
                              "so the saving per task is per_task_s − inference_s")
    if got == [math.ceil(h / (p - i)) for h, p, i in cases]:
        return _report(False, "almost: when train_s / (per_task_s − inference_s) is a whole number the two costs are "
                              "equal there; the hypernetwork is only *cheaper* one task later (floor(...) + 1)")
    if got == [math.floor(p / h) + 1 for h, p, _ in cases] or got == [math.floor((p - i) / h) + 1 for h, p, i in cases]:
        return _report(False, "the ratio is upside down: n · (per_task_s − inference_s) must exceed train_s")
    return _report(False, f"for train_s=100, per_task_s=3, inference_s=0.01 the answer is {right[0]}, you returned "
                          f"{got[0]:g}. Solve train_s + n·inference_s < n·per_task_s for the smallest whole n.")


# ----------------------------------------------------------------------------- 04
def check_orthogonality_penalty(answer: Callable) -> Optional[bool]:
    """Exercise 04.2: ``answer(U, V) -> scalar`` = ‖UᵀU − I‖²_F + ‖VᵀV − I‖²_F (Paper B, Eq. 2, w1 = w2 = 1).

    ``U`` is ``[n_out, r]`` and ``V`` ``[n_in, r]`` (tall: r ≤ n); their columns are the basis vectors.
    """
    if _not_attempted(answer):
        return None
    g = torch.Generator().manual_seed(11)
    cases = [(torch.randn(8, 3, generator=g, dtype=torch.float64), torch.randn(6, 3, generator=g, dtype=torch.float64)),
             (torch.randn(5, 5, generator=g, dtype=torch.float64), torch.randn(5, 5, generator=g, dtype=torch.float64))]
    Q1, _ = torch.linalg.qr(torch.randn(7, 4, generator=g, dtype=torch.float64))
    Q2, _ = torch.linalg.qr(torch.randn(9, 4, generator=g, dtype=torch.float64))
    cases.append((Q1, Q2))

    def fro2(M):
        return float((M ** 2).sum())

    def eye(n):
        return torch.eye(n, dtype=torch.float64)

    got = []
    for U, V in cases:
        v, err = _call(answer, U.clone(), V.clone())
        if err:
            return _report(False, f"{err}. U is [n_out, r] and V is [n_in, r]: UᵀU and VᵀV are both r × r")
        if _not_attempted(v):
            return None
        try:
            got.append(float(v))
        except (TypeError, ValueError):
            return _report(False, f"return a scalar (a 0-d tensor or a float), not {type(v).__name__}")
    r = [U.shape[1] for U, _ in cases]
    right = [fro2(U.T @ U - eye(k)) + fro2(V.T @ V - eye(k)) for (U, V), k in zip(cases, r)]

    def same(a, b):
        return all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) for x, y in zip(a, b))

    if same(got, right):
        return _report(True, "orthonormal columns give exactly 0 (third test case), anything else a positive penalty.")
    wrong = {
        "you forgot the identity: ‖UᵀU‖² is never 0 — subtract I (r × r) so that orthonormal columns cost nothing":
            [fro2(U.T @ U) + fro2(V.T @ V) for U, V in cases],
        "you used U Uᵀ: for a tall U (n × r, r < n) that is an n × n matrix of rank r and can never equal I. "
        "The columns are the basis vectors, so compare UᵀU (r × r) with I":
            [fro2(U @ U.T - eye(U.shape[0])) + fro2(V @ V.T - eye(V.shape[0])) for U, V in cases],
        "you forgot V: the penalty has one term for U and one for V":
            [fro2(U.T @ U - eye(k)) for (U, _), k in zip(cases, r)],
        "you forgot U: the penalty has one term for U and one for V":
            [fro2(V.T @ V - eye(k)) for (_, V), k in zip(cases, r)],
        "the norm is squared in Eq. 2: ‖·‖²_F = sum of squared entries (you took the square root)":
            [math.sqrt(fro2(U.T @ U - eye(k))) + math.sqrt(fro2(V.T @ V - eye(k))) for (U, V), k in zip(cases, r)],
        "use the sum of squared entries, not their mean (w1 = w2 = 1 here)":
            [(fro2(U.T @ U - eye(k)) + fro2(V.T @ V - eye(k))) / (k * k) for (U, V), k in zip(cases, r)],
    }
    for hint, w in wrong.items():
        if same(got, w):
            return _report(False, hint)
    return _report(False, f"for the first test case the penalty is {right[0]:.6g}, you returned {got[0]:.6g}. "
                          "Compute (U.T @ U − I)² summed plus the same for V, with I the r × r identity.")


def check_failure_beta(answer: Any, measured: float, tolerance: float = 2.5,
                       table: Optional[dict] = None) -> Optional[bool]:
    """Exercise 04.1: the smallest β at which *our* vanilla PINN fails (``measured``, from the experiment).

    Args:
        answer: the learner's β (a number).
        measured: the smallest swept β whose relative error exceeded the failure threshold.
        tolerance: accepted distance from ``measured`` (the sweep's spacing).
        table: optional ``{β: relative error}`` of the sweep, quoted in the hints.
    """
    if _not_attempted(answer):
        return None
    try:
        b = float(answer)
    except (TypeError, ValueError):
        return _report(False, f"answer with a number (a value of β), not {type(answer).__name__}")
    quote = ""
    if table:
        near = min(table, key=lambda k: abs(float(k) - b))
        quote = f" (our sweep: β = {float(near):g} has relative error {float(table[near]):.2f})"
    if abs(b - measured) <= tolerance:
        return _report(True, f"our PINN first fails near β = {measured:g}{quote}.")
    if b >= 30 and measured < 30 - tolerance:
        return _report(False, "β ≥ 30 is the paper's answer for its own training budget. Read the answer off *our* "
                              f"sweep (the table and slider above): it fails earlier here{quote}.")
    if b < measured:
        return _report(False, f"at β = {b:g} the PINN still finds the solution{quote}; look further to the right.")
    return _report(False, f"the PINN already fails before β = {b:g}{quote}; look for the *first* β where the error "
                          "jumps to about the size of the solution's variation.")


# ----------------------------------------------------------------------------- 05
def _as_array(v: Any):
    import numpy as np

    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float64)


def check_strang_step(answer: Callable) -> Optional[bool]:
    """Exercise 05.1: ``answer(u, dt, beta, nu, rho) -> u_new``, one Strang splitting step of the CDR equation.

    ``u`` is a float64 numpy array ``[nx]`` on the periodic grid ``x_j = 2πj/nx``; the step is
    ``R(dt/2) ∘ CD(dt) ∘ R(dt/2)`` with the exact logistic flow ``R`` and the exact
    convection–diffusion flow ``CD`` in Fourier space (compared with
    :func:`pinnlab.pdes.cdr.cdr_split_step`).
    """
    import numpy as np

    from .pdes.cdr import cdr_split_step, logistic_flow

    if _not_attempted(answer):
        return None
    nx = 64
    x = 2 * np.pi * np.arange(nx) / nx
    u0 = 0.35 + 0.15 * (1 + np.sin(x)) + 0.1 * np.cos(2 * x)  # smooth, in (0, 1), no Nyquist content
    cases = [(u0, 0.05, 2.0, 0.5, 3.0), (u0, 0.1, 1.0, 0.0, 0.0), (u0, 0.1, 0.0, 0.0, 4.0), (u0, 0.02, 5.0, 1.0, 5.0)]
    got = []
    for u, dt, b, n, r in cases:
        v, err = _call(answer, u.copy(), dt, b, n, r)
        if err:
            return _report(False, err)
        if _not_attempted(v):
            return None
        try:
            v = _as_array(v)
        except (TypeError, ValueError):
            return _report(False, f"return an array of the {nx} new grid values, not {type(v).__name__}")
        if v.shape != (nx,):
            return _report(False, f"return the {nx} new grid values (shape ({nx},)), not shape {v.shape}")
        if np.iscomplexobj(v):
            v = v.real
        got.append(v)
    right = [cdr_split_step(u.copy(), dt, b, n, r) for u, dt, b, n, r in cases]

    def same(a, c, tol=1e-8):
        return all(np.allclose(p, q, rtol=tol, atol=tol) for p, q in zip(a, c))

    if same(got, right):
        return _report(True, "half a reaction step, the exact convection–diffusion step in Fourier space, the other "
                             "half: second order in dt, and exact when ρ = 0 or β = ν = 0.")

    def cd(u, dt, b, n, sign_b=1.0, sign_n=1.0):
        k = np.fft.fftfreq(u.size, d=1.0 / u.size)
        return np.fft.ifft(np.fft.fft(u) * np.exp(-(sign_b * 1j * b * k + sign_n * n * k**2) * dt)).real

    def R(u, s):
        return logistic_flow(u, s)

    wrong = {
        "this is Lie splitting (a full reaction step, then a full convection–diffusion step): first order in dt. "
        "Strang splits the reaction into two halves, R(dt/2) ∘ CD(dt) ∘ R(dt/2)":
            [cd(R(u, r * dt), dt, b, n) for u, dt, b, n, r in cases],
        "this is Lie splitting (convection–diffusion first, then a full reaction step): first order in dt. "
        "Strang uses R(dt/2) ∘ CD(dt) ∘ R(dt/2)":
            [R(cd(u, dt, b, n), r * dt) for u, dt, b, n, r in cases],
        "each reaction sub-step must cover dt/2 (ρ·dt/2 in the logistic flow), not dt: you react twice as long":
            [R(cd(R(u, r * dt), dt, b, n), r * dt) for u, dt, b, n, r in cases],
        "the profile moves the wrong way: u_t + β u_x = 0 translates u to the right, so mode k is multiplied by "
        "exp(−iβk dt), not exp(+iβk dt)":
            [R(cd(R(u, r * dt / 2), dt, b, n, sign_b=-1.0), r * dt / 2) for u, dt, b, n, r in cases],
        "diffusion damps mode k by exp(−νk² dt); with a + sign the high modes grow":
            [R(cd(R(u, r * dt / 2), dt, b, n, sign_n=-1.0), r * dt / 2) for u, dt, b, n, r in cases],
        "the reaction sub-steps are explicit Euler steps u + τρu(1−u); use the exact logistic flow "
        "u / (u + (1 − u) e^{−ρτ}) so that the splitting error is the only error":
            [(lambda w, dt, r: w + dt / 2 * r * w * (1 - w))(
                cd((lambda w: w + dt / 2 * r * w * (1 - w))(u), dt, b, n), dt, r) for u, dt, b, n, r in cases],
        "the reaction term is missing: the equation has + ρ u (1 − u) on the right-hand side":
            [cd(u, dt, b, n) for u, dt, b, n, r in cases],
    }
    for hint, w in wrong.items():
        if same(got, w, 1e-7):
            return _report(False, hint)
    if same(got[1:2], right[1:2]):
        return _report(False, "the convection–diffusion part is right (case ρ = 0 matches) but the reaction part is "
                              "not: R(τ) u = u / (u + (1 − u) e^{−ρτ}), applied for τ = dt/2 before and after")
    return _report(False, "for β=2, ν=0.5, ρ=3, dt=0.05 the first value should be "
                          f"{right[0][0]:.6f}, you returned {got[0][0]:.6f}. Build it from the three sub-steps.")


def check_relative_error(answer: Callable) -> Optional[bool]:
    """Exercise 05.2: ``answer(pred, ref) -> float``, Paper B's relative error ‖u − û‖₂ / ‖u‖₂ over all grid points."""
    import numpy as np

    if _not_attempted(answer):
        return None
    g = np.random.default_rng(5)
    ref = 1.0 + g.standard_normal((20, 30))
    pred = ref + 0.3 * g.standard_normal((20, 30)) + 0.1
    v, err = _call(answer, pred.copy(), ref.copy())
    if err:
        return _report(False, err)
    if _not_attempted(v):
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return _report(False, f"return one number, not {type(v).__name__}")
    d = pred - ref
    right = float(np.linalg.norm(d) / np.linalg.norm(ref))
    if math.isclose(v, right, rel_tol=1e-9):
        return _report(True, "one number per task, over the whole 256 × 100 grid — the Table-4 metric.")
    wrong = {
        "you divided by the prediction's norm; the reference ‖u‖₂ goes in the denominator":
            float(np.linalg.norm(d) / np.linalg.norm(pred)),
        "that is the squared ratio ‖u − û‖²/‖u‖² — take the square root of each sum of squares":
            float((d**2).sum() / (ref**2).sum()),
        "that is the mean absolute error divided by the mean |u| (an L1 ratio); Paper B's relative error uses L2 norms":
            float(np.abs(d).mean() / np.abs(ref).mean()),
        "that is Paper B's *absolute* error, mean |u − û|; the relative error divides L2 norms":
            float(np.abs(d).mean()),
        "you took the norm of each row (each time) and averaged; the relative error is one ratio over all points":
            float(np.mean(np.linalg.norm(d, axis=1) / np.linalg.norm(ref, axis=1))),
    }
    for hint, w in wrong.items():
        if math.isclose(v, w, rel_tol=1e-9):
            return _report(False, hint)
    return _report(False, f"expected {right:.6f}, got {v:.6f}: compute sqrt(Σ(û − u)²) / sqrt(Σu²) over every point")
