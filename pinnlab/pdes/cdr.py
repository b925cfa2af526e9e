"""1D convection–diffusion–reaction (CDR) family of Hyper-LR-PINN (Cho et al., NeurIPS 2023).

    u_t + β u_x − ν u_xx − ρ u (1 − u) = 0,   x ∈ [0, 2π) periodic,  t ∈ [0, 1],

with a Fisher/logistic reaction term. Convection, diffusion and reaction are the members
with the other two coefficients zero. Coordinates are dimensionless (``x`` in radians of
the periodic cell, ``t`` in units of the final time); ``β`` is a speed [x / t], ``ν`` a
diffusivity [x² / t] and ``ρ`` a rate [1 / t].

Solutions
---------
* ``ν = 0`` (convection, reaction, convection–reaction): translation commutes with the
  pointwise logistic flow, so ``u = R_{ρt}(u0(x − βt))`` with
  ``R_s(u) = u / (u + (1 − u) e^{−s})``. Closed form in torch.
* ``ρ = 0`` (diffusion, convection–diffusion): ``u = L_{νt}(x − βt)`` where ``L`` is the
  heat flow of the periodic initial condition. For ``ic="sin"`` this is
  ``1 + e^{−νt} sin(x − βt)``. For ``ic="gauss"`` the periodic extension of the Gaussian
  has a *kink* at ``x = 0 ≡ 2π`` (u0′ jumps by ``8 e^{−2} / π ≈ 0.34``), so its
  Fourier coefficients decay only like ``k^{−2}`` and a truncated Fourier sum is poor at
  small ``t``. We therefore use the exact method of images for ``2νt < 1`` (the heat
  kernel convolved with each truncated Gaussian piece, in terms of ``erf``; five images)
  and the Fourier series ``Σ_k c_k e^{−νk²t} e^{ik(x−βt)}`` (exact ``c_k`` via the Faddeeva
  function, ``|k| ≤ 24``) for ``2νt ≥ 1``, where the omitted modes are below 1e-17.
  Both are differentiable torch expressions (float64 for an accurate residual).
* mixed (``ν > 0`` and ``ρ > 0``): numerical reference by Strang operator splitting
  (:class:`SplittingReference`).

``has_exact`` is an *instance* attribute: ``True`` iff ``ν == 0`` or ``ρ == 0``.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

from ..engine import DerivSpec, Jet
from .base import PDE, check_param

Tensor = torch.Tensor

TWO_PI = 2.0 * math.pi
#: width of the Gaussian initial condition (peak 1 at x = π)
GAUSS_SIGMA = math.pi / 2
ICS = ("sin", "gauss")
COEF_MAX = 100.0

_IMAGES = (-2, -1, 0, 1, 2)  # enough for 2νt < 1: omitted pieces are ≥ 4π away (e^{-79})
_FOURIER_K = 24  # enough for 2νt ≥ 1: e^{-k² νt} ≤ e^{-288} beyond


# --------------------------------------------------------------------------- closed forms
def initial_condition(ic: str, x):
    """``u0(x)`` for ``ic`` in ``("sin", "gauss")``, periodic in x with period 2π.

    ``"sin"``: ``1 + sin x``. ``"gauss"``: ``exp(−(x̂ − π)² / (2 (π/2)²))`` with
    ``x̂ = x mod 2π``. Works elementwise on a torch tensor or numpy array.
    """
    if isinstance(x, np.ndarray):
        return initial_condition(ic, torch.from_numpy(x)).numpy()
    if ic == "sin":
        return 1.0 + torch.sin(x)
    if ic == "gauss":
        xh = torch.remainder(x, TWO_PI)
        return torch.exp(-((xh - math.pi) ** 2) / (2 * GAUSS_SIGMA**2))
    raise ValueError(f"unknown ic {ic!r}; allowed: {', '.join(ICS)}")


def logistic_flow(u, s):
    """Exact flow of ``du/dτ = u (1 − u)`` over ``s = ρ·Δt`` (tensor or float): ``u / (u + (1−u) e^{−s})``.

    Stable for ``u ≥ 0`` and large ``s`` (no overflow). Works on torch tensors and numpy arrays.
    """
    e = torch.exp(-s) if isinstance(s, Tensor) else math.exp(-s)
    return u / (u + (1.0 - u) * e)


def gauss_fourier_coeffs(kmax: int) -> np.ndarray:
    """Exact Fourier coefficients ``c_k`` (k = 0..kmax, real, ``c_{−k} = c_k``) of the periodic Gaussian IC.

    ``u0(x) = Σ_k c_k e^{ikx}`` with ``c_k = (1/2π) ∫_0^{2π} u0 e^{−ikx} dx``. Completing the
    square and writing ``erf`` through the Faddeeva function ``w`` gives, without overflow,
    ``c_k = σ/√(2π) · [(−1)^k e^{−σ²k²/2} − e^{−π²/(2σ²)} Re w((σ²k + iπ) / (σ√2))]``.
    For large k, ``c_k ≈ −(u0'(0⁺) − u0'(2π⁻)) / (2πk²)``: the kink makes them decay like k⁻².
    """
    from scipy.special import wofz

    k = np.arange(kmax + 1, dtype=np.float64)
    s = GAUSS_SIGMA
    w = wofz((s * s * k + 1j * math.pi) / (s * math.sqrt(2.0))).real
    return s / math.sqrt(TWO_PI) * ((-1.0) ** k * np.exp(-s * s * k * k / 2) - math.exp(-math.pi**2 / (2 * s * s)) * w)


_GAUSS_C = gauss_fourier_coeffs(_FOURIER_K)


def heat_flow(ic: str, nu: float, xi: Tensor, t: Tensor) -> Tensor:
    """Exact solution of ``w_t = ν w_xx`` (periodic, ``w(·, 0) = u0``) at ``(xi, t)``, elementwise.

    With ``xi = x − βt`` this is the convection–diffusion solution. Differentiable in both
    arguments; dtype/device follow ``xi``. See the module docstring for the method.
    """
    if ic == "sin":
        return 1.0 + torch.exp(-nu * t) * torch.sin(xi)
    if nu == 0.0:
        return initial_condition(ic, xi)
    sig2 = GAUSS_SIGMA**2
    s2_raw = 2.0 * nu * t
    use_images = s2_raw < 1.0
    pos = t > 0
    # ---- images branch (0 < 2νt < 1); safe substitutes keep gradients finite elsewhere
    s2 = torch.where(pos & use_images, s2_raw, torch.full_like(s2_raw, 0.5))
    xh = torch.remainder(xi, TWO_PI)
    big2 = sig2 + s2
    tau_r2 = math.sqrt(2 * sig2) * torch.sqrt(s2 / big2)  # τ·√2
    amp = math.sqrt(sig2) / torch.sqrt(big2)
    img = torch.zeros_like(xh)
    for n in _IMAGES:
        z = xh - TWO_PI * n
        m = (math.pi * s2 + z * sig2) / big2
        frac = 0.5 * (torch.erf((TWO_PI - m) / tau_r2) + torch.erf(m / tau_r2))
        img = img + torch.exp(-((z - math.pi) ** 2) / (2 * big2)) * frac
    img = amp * img
    # ---- Fourier branch (2νt ≥ 1)
    c = torch.as_tensor(_GAUSS_C, dtype=xi.dtype, device=xi.device)
    k = torch.arange(_FOURIER_K + 1, dtype=xi.dtype, device=xi.device)
    tf = torch.where(use_images, torch.ones_like(t), t).unsqueeze(-1)
    modes = c * torch.exp(-nu * k**2 * tf) * torch.cos(k * xi.unsqueeze(-1))
    four = 2.0 * modes.sum(-1) - modes[..., 0]
    # ---- t ≤ 0: u0 plus the first-order term, so the value is exact and u_t = ν u0'' at t = 0
    g = initial_condition("gauss", xi)
    g2 = ((xh - math.pi) ** 2 / sig2**2 - 1.0 / sig2) * g
    taylor = g + nu * t * g2
    return torch.where(~pos, taylor, torch.where(use_images, img, four))


def exact_solution(ic: str, beta: float, nu: float, rho: float, x: Tensor, t: Tensor) -> Tensor:
    """Closed-form CDR solution (requires ``nu == 0`` or ``rho == 0``), elementwise in ``x``, ``t``."""
    xi = x - beta * t
    if nu == 0.0:
        u0 = initial_condition(ic, xi)
        return u0 if rho == 0.0 else logistic_flow(u0, rho * t)
    if rho == 0.0:
        return heat_flow(ic, nu, xi, t)
    raise ValueError("no closed form when both nu > 0 and rho > 0; use the splitting reference")


# --------------------------------------------------------------------------- splitting
def wavenumbers(nx: int, dtype=torch.float64, device=None) -> tuple[Tensor, Tensor]:
    """``(k_odd, k)`` for ``torch.fft.rfft`` of ``nx`` samples on [0, 2π): k = 0..nx//2.

    ``k_odd`` has the Nyquist entry (even ``nx``) set to 0, as is standard for odd
    derivatives / translations of a real signal.
    """
    k = torch.arange(nx // 2 + 1, dtype=dtype, device=device)
    k_odd = k.clone()
    if nx % 2 == 0:
        k_odd[-1] = 0.0
    return k_odd, k


def convection_diffusion_factor(nx: int, dt: float, beta: float, nu: float, device=None) -> Tensor:
    """Complex multipliers ``exp(−(iβk + νk²) dt)`` ``[nx//2 + 1]`` of the exact linear step in rfft space."""
    k_odd, k = wavenumbers(nx, device=device)
    return torch.exp(torch.complex(-nu * k**2 * dt, -beta * k_odd * dt))


def cdr_split_step(u, dt: float, beta: float = 0.0, nu: float = 0.0, rho: float = 0.0):
    """One Strang operator-splitting step of the CDR equation on a uniform periodic grid.

    ``u ← R(dt/2) ∘ CD(dt) ∘ R(dt/2) u`` where ``R(τ)`` is the exact logistic flow
    ``u / (u + (1 − u) e^{−ρτ})`` applied pointwise and ``CD(dt)`` is the exact
    convection–diffusion flow of the grid's trigonometric interpolant (rfft, multiply by
    ``exp(−(iβk + νk²) dt)``, irfft). Second order in ``dt``; with ``ρ = 0`` or
    ``β = ν = 0`` the step is exact.

    Args:
        u: grid values ``[..., nx]`` at ``x_j = 2πj / nx`` (j = 0..nx−1, endpoint excluded);
            torch tensor or numpy array (float64 recommended).
        dt: time step (same units as t).
        beta, nu, rho: the CDR coefficients.

    Returns:
        the values one step later, same shape and type (numpy in -> numpy out).
    """
    if isinstance(u, np.ndarray):
        return cdr_split_step(torch.from_numpy(u), dt, beta, nu, rho).numpy()
    nx = u.shape[-1]
    half = rho * dt / 2
    u = logistic_flow(u, half) if rho else u
    if beta or nu:
        fac = convection_diffusion_factor(nx, dt, beta, nu, device=u.device)
        u = torch.fft.irfft(torch.fft.rfft(u, dim=-1) * fac, n=nx, dim=-1).to(u.dtype)
    return logistic_flow(u, half) if rho else u


class SplittingReference:
    """Strang-splitting reference solution of one CDR instance, evaluable anywhere in [0, 2π) × [0, 1].

    Method:
        1. Work in the frame moving with the flow, ``ξ = x − βt``: there the equation is
           reaction–diffusion ``w_t = ν w_ξξ + ρ w (1 − w)`` (translation commutes with both
           terms) and ``u(x, t) = w(x − βt, t)``. So large β costs nothing.
        2. March ``w`` on ``nx`` grid points with :func:`cdr_split_step` (``β = 0``), step
           ``dt`` (rounded so that ``1/dt`` is an integer), storing every step.
        3. Store the *difference* ``d = w − w_lin`` where ``w_lin`` is the pure heat flow of
           the same grid data (exact per Fourier mode). ``d`` vanishes at t = 0 and does not
           carry the heat flow of the Gaussian's periodic kink; the evaluated solution is
           ``u = heat_flow(ic, ν, ξ, t) + d(ξ, t)``, using the exact :func:`heat_flow`. Hence
           the reference is exact when ``ρ = 0`` and exactly ``u0`` at ``t = 0``.
        4. ``d`` at an arbitrary point: trigonometric interpolation in ξ over the rfft modes
           whose amplitude exceeds 1e-14·max(1, largest) (the rest is rounding noise), and
           cubic Lagrange interpolation in t over the 4 nearest stored steps (chunked, so
           25k points need ~30 MB).
        The grid starts from the point values of ``u0``, except gauss with ν > 0, which
        starts from its exact Fourier modes |k| ≤ nx/2: the FFT of point values of the kinked
        IC aliases an O(nx⁻²) ≈ 7e-7 error into the mean, which the reaction then amplifies.
        With ν = 0 the gauss kink never smooths and the spectral grid resolves it only at its
        nodes (≈4e-4 error between nodes near the kink) — one more reason ν = 0 uses the
        closed form.

    Accuracy (max abs error at 6000 random points, a third of them in the initial layer
    t < 0.02 at the kink ``x − βt ≈ 0``, against an nx=1024, dt=1e-3/16 run): the error is
    second order in dt (ratio 4.00, 4.04 when halving dt from 4e-3, measured in
    tests/test_cdr.py) and nx=512 is converged (512 vs 1024: ~1e-12 for ν ≥ 1). With the
    defaults nx=512, dt=1e-3:

    * β=ν=ρ=3, gauss: 7e-7 overall, 1.4e-7 for t ≥ 0.05 (test_cdr.py asserts ≤ 1e-6);
    * corners of the Table-4 range (β, ν, ρ ∈ {1, 5}): ≤ 1.5e-6 for gauss (the maximum sits
      in the initial kink layer; ≤ 4e-7 elsewhere), ≤ 1.8e-6 for sin (worst ν = ρ = 5);
    * outside it: ν=0.01, ρ=5 gauss 2.4e-7 (nx=512 vs 1024: 2.4e-7); β=ν=5, ρ=20: 6e-6 (gauss), 7e-6 (sin).

    The error grows roughly like ρ²·dt²; pass a smaller ``dt`` for large ρ.
    Note the exact logistic sub-step needs ``u ≥ 0`` (true for both ICs).
    """

    def __init__(self, ic: str, beta: float, nu: float, rho: float, nx: int = 512, dt: float = 1e-3,
                 t_final: float = 1.0, chunk: int = 2048):
        if nx < 8:
            raise ValueError(f"nx must be >= 8, got {nx}")
        self.ic, self.beta, self.nu, self.rho = ic, float(beta), float(nu), float(rho)
        self.nx = int(nx)
        self.steps = max(4, int(math.ceil(t_final / dt - 1e-9)))
        self.dt = t_final / self.steps
        self.t_final = t_final
        self.chunk = chunk
        x = TWO_PI * torch.arange(self.nx, dtype=torch.float64) / self.nx
        _, k = wavenumbers(self.nx)
        if ic == "gauss" and self.nu > 0:
            # exact low modes of u0 (not the FFT of point values, whose k⁻² aliasing would put
            # an O(nx⁻²) ≈ 7e-7 error into the mean that the reaction then feeds on); the
            # modes beyond nx/2 are damped by e^{−ν k² dt} within the first step
            c = torch.from_numpy(gauss_fourier_coeffs(self.nx // 2)) * self.nx
            if self.nx % 2 == 0:
                c[-1] *= 2.0  # e^{±i(nx/2)x} coincide on the grid
            w0_hat = c.to(torch.complex128)
            w = torch.fft.irfft(w0_hat, n=self.nx)
        else:
            w = initial_condition(ic, x)
            w0_hat = torch.fft.rfft(w)
        decay = torch.exp(-self.nu * k**2 * self.dt)
        d_hat = torch.empty(self.steps + 1, k.numel(), dtype=torch.complex128)
        d_hat[0] = 0.0
        lin_hat = w0_hat.clone()
        for n in range(1, self.steps + 1):
            w = cdr_split_step(w, self.dt, 0.0, self.nu, self.rho)
            lin_hat = lin_hat * decay
            d_hat[n] = torch.fft.rfft(w) - lin_hat
        # trigonometric-interpolation weights: 1/nx for k=0 and Nyquist, 2/nx otherwise
        wts = torch.full((k.numel(),), 2.0 / self.nx, dtype=torch.float64)
        wts[0] = 1.0 / self.nx
        if self.nx % 2 == 0:
            wts[-1] = 1.0 / self.nx
        # keep the modes up to the last one whose amplitude (in units of u, max over t)
        # exceeds 1e-14 of max(1, largest amplitude): the rest is rounding noise
        amp = (d_hat.abs() * wts).amax(0)
        big = torch.nonzero(amp > 1e-14 * max(float(amp.max()), 1.0))
        keep = int(big.max()) + 1 if big.numel() else 1
        #: number of retained Fourier modes of d (k = 0..modes−1)
        self.modes = keep
        self._d_hat = (d_hat[:, :keep] * wts[:keep]).contiguous()  # [steps+1, K]
        self._k = k[:keep]

    def difference(self, xi: Tensor, t: Tensor) -> Tensor:
        """Interpolated ``d(ξ, t)`` for 1D float64 tensors ``xi``, ``t`` of equal length."""
        s = t / self.dt
        j0 = torch.clamp(torch.floor(s).long() - 1, 0, self.steps - 3)
        s = s - j0.to(s.dtype)  # position relative to node j0, normally in [1, 2)
        w = torch.stack([-(s - 1) * (s - 2) * (s - 3) / 6, s * (s - 2) * (s - 3) / 2,
                         -s * (s - 1) * (s - 3) / 2, s * (s - 1) * (s - 2) / 6], -1)  # [C, 4]
        idx = j0.unsqueeze(-1) + torch.arange(4)  # [C, 4]
        coef = (w.unsqueeze(-1) * self._d_hat[idx]).sum(1)  # [C, K] complex
        ph = self._k * xi.unsqueeze(-1)
        return (coef.real * torch.cos(ph) - coef.imag * torch.sin(ph)).sum(-1)

    def __call__(self, points: Tensor) -> Tensor:
        """Reference ``u`` ``[N, 1]`` (float64) at float64 points ``[N, 2]`` with columns (x, t)."""
        points = points.detach().to(torch.float64)
        out = torch.empty(points.shape[0], dtype=torch.float64)
        for a in range(0, points.shape[0], self.chunk):
            x, t = points[a:a + self.chunk, 0], points[a:a + self.chunk, 1]
            xi = x - self.beta * t
            out[a:a + self.chunk] = heat_flow(self.ic, self.nu, xi, t) + self.difference(xi, t)
        return out.unsqueeze(-1)


# --------------------------------------------------------------------------- the PDE
class CDR(PDE):
    """Convection–diffusion–reaction ``u_t + β u_x − ν u_xx − ρ u(1 − u) = 0`` on [0, 2π) × [0, 1].

    Points ``[N, 2]`` with columns ``(x, t)``; output ``u`` ``[N, 1]``; one residual column
    ``"cdr"``. Periodic in x; initial condition from ``ic``.

    Args:
        beta: convection speed β, allowed [0, 100].
        nu: diffusivity ν, allowed [0, 100].
        rho: reaction rate ρ, allowed [0, 100].
        ic: ``"sin"`` (``u0 = 1 + sin x``, Hyper-LR-PINN's default ``1+sin(x)``) or
            ``"gauss"`` (``u0 = exp(−(x − π)² / (2 (π/2)²))``, peak 1, extended periodically;
            Hyper-LR-PINN's ``gauss_pi_2``).

    Parameter ranges: :attr:`param_range` is the Table-4 meta-learning range
    β, ν, ρ ∈ [1, 5]; the convection failure-mode study uses β ∈ [30, 40] (ν = ρ = 0).

    Solution: closed form when ``ν == 0`` or ``ρ == 0`` (``has_exact`` True, differentiable
    torch); otherwise the lazily built, cached :class:`SplittingReference` (``nx = 512``,
    ``dt = 1e-3``, built in ~0.1 s), accurate to ≤ 2e-6 absolute over the Table-4 range
    (7e-7 at β = ν = ρ = 3; see :class:`SplittingReference`).
    """

    coords = ("x", "t")
    equations = ("cdr",)
    spec = DerivSpec(first=(0, 1), second=(0,))
    periodic = ("x",)
    domain = {"x": (0.0, TWO_PI), "t": (0.0, 1.0)}
    param_range = {"beta": (1.0, 5.0), "nu": (1.0, 5.0), "rho": (1.0, 5.0)}

    #: defaults of the splitting reference
    REF_NX = 512
    REF_DT = 1e-3

    def __init__(self, beta: float = 0.0, nu: float = 0.0, rho: float = 0.0, ic: str = "sin"):
        self.beta = check_param("beta", beta, 0.0, COEF_MAX)
        self.nu = check_param("nu", nu, 0.0, COEF_MAX)
        self.rho = check_param("rho", rho, 0.0, COEF_MAX)
        if not isinstance(ic, str) or ic not in ICS:
            raise ValueError(f"unknown ic {ic!r}; allowed: ic in {{{', '.join(repr(i) for i in ICS)}}}")
        self.ic = ic
        self.has_exact = self.nu == 0.0 or self.rho == 0.0
        self._ref: Optional[SplittingReference] = None

    @property
    def params(self) -> dict[str, float]:
        return {"beta": self.beta, "nu": self.nu, "rho": self.rho}

    def __repr__(self) -> str:
        return f"CDR(beta={self.beta:g}, nu={self.nu:g}, rho={self.rho:g}, ic={self.ic!r})"

    def initial_condition(self, x):
        """``u0(x)`` elementwise (torch or numpy)."""
        return initial_condition(self.ic, x)

    def residual_from_jet(self, jet: Jet, points: Tensor) -> Tensor:
        """``u_t + β u_x − ν u_xx − ρ u (1 − u)`` ``[..., N, 1]`` (a leading task axis is fine)."""
        u = jet.u
        res = jet.d1[1] + self.beta * jet.d1[0] - self.rho * u * (1.0 - u)
        if 0 in jet.d2:
            res = res - self.nu * jet.d2[0]
        return res

    def splitting_reference(self, nx: Optional[int] = None, dt: Optional[float] = None) -> SplittingReference:
        """The Strang-splitting reference (built on first use; the default one is cached).

        Works for every coefficient set, including the closed-form cases (useful for checks).
        """
        nx = self.REF_NX if nx is None else int(nx)
        dt = self.REF_DT if dt is None else float(dt)
        if nx == self.REF_NX and dt == self.REF_DT:
            if self._ref is None:
                self._ref = SplittingReference(self.ic, self.beta, self.nu, self.rho, nx, dt)
            return self._ref
        return SplittingReference(self.ic, self.beta, self.nu, self.rho, nx, dt)

    def _solution(self, points: Tensor) -> Tensor:
        if self.has_exact:
            x, t = points[:, 0:1], points[:, 1:2]
            return exact_solution(self.ic, self.beta, self.nu, self.rho, x, t)
        return self.splitting_reference()(points)

    def reference_grid(self, nx: int = 256, nt: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The solution on the papers' evaluation grid (float64 numpy).

        ``x_j = 2πj / nx`` (j = 0..nx−1, endpoint excluded as the grid is periodic) and
        ``t = linspace(0, 1, nt)``, as in Hyper-LR-PINN's data generation (256 × 100).
        Returns ``(x [nx], t [nt], U [nt, nx])`` with ``U[i, j] = u(x_j, t_i)`` — the true
        solution at those times (the papers' own generator stores step i of a dt = 1/nt
        march, i.e. time i/nt, under the label i/(nt − 1)).
        """
        x = TWO_PI * np.arange(nx) / nx
        t = np.linspace(0.0, 1.0, nt)
        T, X = np.meshgrid(t, x, indexing="ij")
        pts = np.stack([X.ravel(), T.ravel()], 1)
        return x, t, self.solution(pts).reshape(nt, nx)
