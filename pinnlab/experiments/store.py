"""Saving, reloading and resuming experiment results.

An experiment writes into ``cfg.results_dir(name)``: small JSON files, ``.pt`` state dicts
(loaded with ``weights_only=True``), trainer checkpoints while it runs, and at the end a
``metrics.json`` with provenance (preset, device, torch version, commit, seed, wall time).
A second call with the same preset and seed reloads instead of recomputing; a killed run
resumes from its checkpoints.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch

from ..config import Config
from ..train import FitResult, _save_atomic, fit


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().tolist()
    return obj


def committed_metrics(name: str, modes: tuple[str, ...] = ("medium", "full")) -> dict[str, dict]:
    """The ``metrics.json`` of the committed runs of experiment ``name`` (``figures/<name>/<mode>/``), by preset.

    Presets without a finished run are left out, so the result may be empty. Seed-0 runs only.
    """
    from ..config import ROOT

    out = {}
    for mode in modes:
        p = ROOT / "figures" / name / mode / "metrics.json"
        if p.exists():
            out[mode] = json.loads(p.read_text())
    return out


class PerPDE(dict):
    """``{pde_name: result}`` of an experiment run for several PDEs, with the combined :attr:`metrics`
    (what ``python -m pinnlab run`` prints)."""

    @property
    def metrics(self) -> dict:
        return {k: v.metrics for k, v in self.items()}


def run_per_pde(run: Callable[[str, Config], Any], names, titles: dict, cfg: Config) -> PerPDE:
    """``run(name, cfg)`` for each PDE name in order, reporting each one's wall time when ``cfg.progress``."""
    out = PerPDE()
    for name in names:
        t0 = time.perf_counter()
        out[name] = run(name, cfg)
        if cfg.progress:
            print(f"{titles[name]}: done in {time.perf_counter() - t0:.0f} s")
    return out


class Store:
    """Files of one experiment for one preset and seed."""

    def __init__(self, cfg: Config, name: str):
        self.cfg = cfg
        self.name = name
        self.dir: Path = cfg.results_dir(name) / f"seed{cfg.seed}" if cfg.seed else cfg.results_dir(name)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._t0 = time.perf_counter()
        #: whether this process trained or computed anything (False: every result was reloaded)
        self.computed = False

    def path(self, fname: str) -> Path:
        return self.dir / fname

    # json -----------------------------------------------------------------
    def save_json(self, key: str, obj: Any) -> None:
        tmp = self.path(key + ".json.tmp")
        tmp.write_text(json.dumps(_jsonable(obj), indent=1))
        tmp.replace(self.path(key + ".json"))

    def load_json(self, key: str) -> Optional[Any]:
        p = self.path(key + ".json")
        return json.loads(p.read_text()) if p.exists() else None

    # tensors --------------------------------------------------------------
    def save_state(self, key: str, state: dict) -> None:
        _save_atomic({k: v.detach().cpu() for k, v in state.items()}, self.path(key + ".pt"))

    def load_state(self, key: str) -> Optional[dict]:
        p = self.path(key + ".pt")
        return torch.load(p, map_location="cpu", weights_only=True) if p.exists() else None

    def save_arrays(self, key: str, **arrays: np.ndarray) -> None:
        tmp = self.path(key + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(self.path(key + ".npz"))

    def load_arrays(self, key: str) -> Optional[dict[str, np.ndarray]]:
        p = self.path(key + ".npz")
        if not p.exists():
            return None
        with np.load(p) as f:
            return {k: f[k] for k in f.files}

    # training -------------------------------------------------------------
    def fit(self, key: str, model: torch.nn.Module, pde, **fit_kwargs) -> FitResult:
        """Train once and cache: reload ``key.pt`` + ``key.json`` when present and trained with the
        same settings, else :func:`pinnlab.train.fit` with a checkpoint at ``key.ckpt`` (so a
        killed run resumes). The settings compared are the scalar ``fit_kwargs`` and the PDE."""
        settings = {k: v for k, v in fit_kwargs.items() if isinstance(v, (int, float, str, bool, type(None)))}
        settings["pde"] = repr(pde)
        state, saved = self.load_state(key), self.load_json(key)
        stored = saved.pop("settings", settings) if saved is not None else None  # older files carry none
        if state is not None and saved is not None and stored == settings:
            model.load_state_dict(state)
            model.to(self.cfg.device, self.cfg.dtype)
            return FitResult(**saved)
        self.computed = True
        res = fit(model, pde, self.cfg, checkpoint=self.path(key + ".ckpt"), **fit_kwargs)
        self.save_state(key, model.state_dict())
        self.save_json(key, {**res.__dict__, "settings": settings})
        self.path(key + ".ckpt").unlink(missing_ok=True)
        return res

    def trained(self, key: str, model: torch.nn.Module, train: Callable[..., dict]) -> dict:
        """Reload ``key.pt`` + ``key.json`` into ``model`` when both exist, else call
        ``train(checkpoint=path)`` (which must resume from that checkpoint when it exists), save the
        state and the returned history, and drop the checkpoint. Returns the history."""
        state, hist = self.load_state(key), self.load_json(key)
        if state is not None and hist is not None:
            model.load_state_dict(state)
            model.to(self.cfg.device, self.cfg.dtype)
            return hist
        ckpt = self.path(key + ".ckpt")
        self.computed = True
        hist = train(checkpoint=ckpt)
        self.save_state(key, model.state_dict())
        self.save_json(key, hist)
        ckpt.unlink(missing_ok=True)
        return hist

    def forget_if_settings_changed(self, prefix: str, settings: dict) -> None:
        """Delete every stored ``<prefix>_*`` file when ``settings`` differ from those stored with them
        (``<prefix>_settings.json``), then store ``settings``: runs made with other sizes are never
        silently reused."""
        key = f"{prefix}_settings"
        now = json.loads(json.dumps(_jsonable(settings)))
        old = self.load_json(key)
        if old is not None and old != now:
            for f in self.dir.glob(f"{prefix}_*"):
                f.unlink()
        self.save_json(key, now)

    def cached(self, key: str, compute: Callable[[], dict]) -> dict:
        """JSON-cached result of ``compute()``."""
        out = self.load_json(key)
        if out is None:
            self.computed = True
            out = compute()
            self.save_json(key, out)
        return out

    # provenance -----------------------------------------------------------
    def write_metrics(self, results: dict, wall_time_s: Optional[float] = None) -> dict:
        """Write ``metrics.json`` with the provenance of the run that *trained*: when every result was
        reloaded (nothing trained here, :attr:`computed` False) the stored device, torch version,
        commit and wall time are kept — re-evaluating a GPU run on a laptop must not relabel it
        (the results are rewritten: evaluation code may have changed)."""
        old = self.load_json("metrics") or {}
        wall = wall_time_s if wall_time_s is not None else time.perf_counter() - self._t0
        same = bool(old) and old.get("results") == _jsonable(results)
        meta = {**self.cfg.describe(), "wall_time_s": old.get("wall_time_s", wall) if same else wall,
                "results": results}
        if old and not self.computed:
            meta.update({k: old[k] for k in ("device", "torch", "commit", "wall_time_s") if k in old})
        elif same:
            meta["commit"] = old.get("commit", meta["commit"])
        self.save_json("metrics", meta)
        return meta
