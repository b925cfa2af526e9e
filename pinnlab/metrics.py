"""Error metrics between a prediction and a reference (numpy or torch, any matching shape)."""
from __future__ import annotations

import numpy as np
import torch


def _np(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().double().numpy()
    return np.asarray(a, dtype=np.float64)


def _pair(pred, ref) -> tuple[np.ndarray, np.ndarray]:
    p, r = _np(pred), _np(ref)
    if p.shape != r.shape:
        raise ValueError(f"prediction shape {p.shape} differs from reference shape {r.shape}")
    return p, r


def mse(pred, ref) -> float:
    """Mean squared error."""
    p, r = _pair(pred, ref)
    return float(np.mean((p - r) ** 2))


def mae(pred, ref) -> float:
    """Mean absolute error (Paper B's "absolute error")."""
    p, r = _pair(pred, ref)
    return float(np.mean(np.abs(p - r)))


def rel_l2(pred, ref) -> float:
    """Relative L2 error ‖pred − ref‖₂ / ‖ref‖₂ over all entries (Paper B's "relative error")."""
    p, r = _pair(pred, ref)
    return float(np.linalg.norm(p - r) / max(np.linalg.norm(r), 1e-300))


def max_err(pred, ref) -> float:
    """Maximum absolute error."""
    p, r = _pair(pred, ref)
    return float(np.max(np.abs(p - r)))


def explained_variance(pred, ref) -> float:
    """1 − Var(ref − pred) / Var(ref); 1 is perfect."""
    p, r = _pair(pred, ref)
    return float(1.0 - np.var(r - p) / max(np.var(r), 1e-300))


def all_metrics(pred, ref) -> dict[str, float]:
    """Every metric above in one dict."""
    return {f.__name__: f(pred, ref) for f in (mse, mae, rel_l2, max_err, explained_variance)}
