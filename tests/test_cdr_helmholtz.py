"""Notebook 05: PINN-P / PINN-S2S pieces, the Table-4 + Figure-7 experiment end to end (tiny sizes), reload."""
import importlib
import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import pinnlab  # noqa: E402
from pinnlab import baselines_p as bp  # noqa: E402
from pinnlab.cdr_tasks import Schedule, cdr_points, task_losses  # noqa: E402
from pinnlab.pdes.cdr import CDR  # noqa: E402

ch = importlib.import_module("pinnlab.experiments.cdr_helmholtz")
REAL_SETTINGS = ch.settings


def test_stack_mu_residual_matches_each_task():
    mus = [(1.0, 0.0, 0.0), (0.0, 0.0, 3.0), (2.0, 1.5, 4.0)]
    pde = bp.stack_mu(mus, dtype=torch.float64)
    net = pinnlab.models.MLP([2, 8, 1], n_tasks=3, generator=torch.Generator().manual_seed(0)).double()
    pts = cdr_points(3, 16, 8, 4, ic="gauss", generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    terms = task_losses(net.layers(), pde, pts, bp.spec_for(mus))
    for i, m in enumerate(mus):
        one = net.task(i)
        single = task_losses(one.layers(), CDR(*m, ic="gauss"), pts.take(slice(i, i + 1)),
                             bp.spec_for(mus))
        assert torch.allclose(terms["residual"][i], single["residual"][0], rtol=1e-10)
    assert bp.spec_for([(1.0, 0.0, 0.0)]).second == ()
    with pytest.raises(ValueError, match="triples"):
        bp.as_mu([1.0, 2.0])
    with pytest.raises(ValueError, match="allowed"):
        bp.family_tasks("burgers", [1.0])


def test_pinn_p_inputs_and_s2s_prediction_pick_the_segment():
    pp = bp.PINNP([0], [(1.0, 5.0)], generator=torch.Generator().manual_seed(0))
    x = pp.inputs(torch.zeros(4, 2), [(1.0, 0, 0), (3.0, 0, 0), (5.0, 0, 0)])
    assert x.shape == (3, 4, 3) and torch.allclose(x[:, 0, 2], torch.tensor([-1.0, 0.0, 1.0]))
    assert pp.predict(torch.rand(5, 2), [(2.0, 0, 0)]).shape == (1, 5)
    s2s = bp.S2S(2, segments=2, widths=(2, 4, 1), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        s2s.nets[0].biases[-1].fill_(1.0)
        s2s.nets[0].weights[-1].zero_()
        s2s.nets[1].biases[-1].fill_(2.0)
        s2s.nets[1].weights[-1].zero_()
    out = s2s.predict(torch.tensor([[0.0, 0.1], [1.0, 0.7], [2.0, 1.0]]))
    assert out.shape == (2, 3) and np.allclose(out, [[1, 2, 2], [1, 2, 2]])


def test_s2s_second_segment_starts_from_the_first():
    sched = Schedule(epochs=4, lr=1e-3, n_collocation=16, n_ic=8, n_bc=4, log_every=1, eval_every=100)
    s2s = bp.S2S(2, segments=2, widths=(2, 8, 1), generator=torch.Generator().manual_seed(0))
    h = bp.fit_s2s(s2s, [(1.0, 0.0, 0.0), (0.0, 0.0, 2.0)], sched, progress=False,
                   generator=torch.Generator().manual_seed(2))
    assert len(h["segments"]) == 2 and all(len(seg["loss"]) == 2 for seg in h["segments"])



def test_s2s_rerun_skips_finished_segments(monkeypatch, tmp_path):
    """Each finished segment is saved; a rerun loads its weights and history instead of training it."""
    sched = Schedule(epochs=4, lr=1e-3, n_collocation=16, n_ic=8, n_bc=4, log_every=1, eval_every=100)
    mus = [(1.0, 0.0, 0.0), (0.0, 0.0, 2.0)]
    first = bp.S2S(2, segments=2, widths=(2, 8, 1), generator=torch.Generator().manual_seed(0))
    h = bp.fit_s2s(first, mus, sched, progress=False, generator=torch.Generator().manual_seed(2),
                   checkpoint_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s2s_segment0.pt", "s2s_segment1.pt"]  # no .ckpt left
    monkeypatch.setattr(bp, "fit_stacked", lambda *a, **k: pytest.fail("retrained a finished segment"))
    again = bp.S2S(2, segments=2, widths=(2, 8, 1), generator=torch.Generator().manual_seed(5))
    h2 = bp.fit_s2s(again, mus, sched, progress=False, checkpoint_dir=tmp_path)
    assert h2 == h
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), again.parameters()))

def tiny(cfg):
    s = REAL_SETTINGS(cfg)
    s.update(n_collocation=32, n_ic=16, n_bc=8, values={"convection": [1.0, 5.0], "reaction": [1.0, 5.0],
                                                       "cdr": [(1.0, 1.0, 1.0), (5.0, 5.0, 5.0)]},
             reaction_sweep=[8.0], scratch_epochs=4, phase1_epochs=4, phase2_epochs=2, meta_epochs=2, inner_steps=2,
             s2s_segments=2, helm_a_train=[2.0, 3.0], helm_collocation=32, helm_bc_per_face=8, helm_phase1_epochs=3,
             helm_phase2_epochs=2, helm_pinn_epochs=4, helm_grid=21, eval_every=2, log_every=1, checkpoint_every=2)
    return s


def test_cdr_helmholtz_runs_writes_metrics_and_reloads(monkeypatch, quick_run):
    monkeypatch.setattr(ch, "settings", tiny)
    cfg = quick_run.cfg
    res = ch.cdr_helmholtz(cfg)
    results = quick_run.metrics(ch.NAME)
    t4 = results["table4"]
    for typ in ch.PDE_TYPES:
        assert set(ch.METHODS) <= set(t4[typ])
        assert all(0 <= t4[typ][m]["mean_rel_err"] < 10 for m in ch.METHODS)
    assert t4["cdr"]["hyper_lr"]["trainable_per_task"] == 351
    rf = results["reaction_failure"]
    assert rf["rho"] == [1.0, 5.0, 8.0]
    f7 = results["fig7"]
    assert f7["a_eval"] == [2.5, 2.75] and len(f7["hyper_curve"]["epoch"]) == 3
    assert len(res.table4_rows()) == 18
    maps = res.fig7_maps()
    assert maps[0]["ref"].shape == (21, 21)
    d = res.cdr_maps(2.0, 3.0, 4.0)
    assert d["pred"].shape == d["ref"].shape == (50, 128)
    panel = pinnlab.widgets.cdr_panel(res)
    panel.sliders["rho"].value = 2.0
    assert panel.data["mu"][2] == 2.0 and panel.sliders["rho"].continuous_update is False
    hp = pinnlab.widgets.helmholtz_panel(res)
    hp.sliders["a"].value = 2.2
    assert hp.data["a"] == pytest.approx(2.2)
    comp = ch.paper_comparison(cfg)
    assert comp["05"] is not None and comp["05"]["rows"]
    # a second call reloads every run instead of training
    quick_run.forbid_training(ch, "cdr_fit", "fit_stacked")
    again = ch.cdr_helmholtz(cfg)
    assert again.metrics["table4"] == json.loads(json.dumps(res.metrics["table4"]))


# ----------------------------------------------------------------------------- exercises of notebook 05
def strang_solution(u, dt, beta, nu, rho):
    k = np.fft.fftfreq(u.size, d=1.0 / u.size)

    def reaction(u, tau):
        return u / (u + (1 - u) * np.exp(-rho * tau))

    def convection_diffusion(u, tau):
        return np.fft.ifft(np.fft.fft(u) * np.exp(-(1j * beta * k + nu * k**2) * tau)).real

    return reaction(convection_diffusion(reaction(u, dt / 2), dt), dt / 2)


def _strang(u, dt, beta, nu, rho, tau=None):
    """Strang step with reaction sub-steps of length ``tau`` (dt/2 when right)."""
    tau = dt / 2 if tau is None else tau
    k = np.fft.fftfreq(u.size, d=1.0 / u.size)
    u = u / (u + (1 - u) * np.exp(-rho * tau))
    u = np.fft.ifft(np.fft.fft(u) * np.exp(-(1j * beta * k + nu * k**2) * dt)).real
    return u / (u + (1 - u) * np.exp(-rho * tau))


def _lie(u, dt, beta, nu, rho):
    k = np.fft.fftfreq(u.size, d=1.0 / u.size)
    u = u / (u + (1 - u) * np.exp(-rho * dt))
    return np.fft.ifft(np.fft.fft(u) * np.exp(-(1j * beta * k + nu * k**2) * dt)).real


def _wrong_direction(u, dt, beta, nu, rho):
    return strang_solution(u, dt, -beta, nu, rho)


def _euler(u, dt, beta, nu, rho):
    k = np.fft.fftfreq(u.size, d=1.0 / u.size)
    u = u + dt / 2 * rho * u * (1 - u)
    u = np.fft.ifft(np.fft.fft(u) * np.exp(-(1j * beta * k + nu * k**2) * dt)).real
    return u + dt / 2 * rho * u * (1 - u)


def test_check_strang_step(capsys):
    from pinnlab import exercises

    assert exercises.check_strang_step(...) is None
    assert "Not attempted" in capsys.readouterr().out
    assert exercises.check_strang_step(lambda u, dt, b, n, r: None) is None
    assert exercises.check_strang_step(strang_solution) is True
    assert exercises.check_strang_step(lambda u, *a: torch.from_numpy(strang_solution(u, *a))) is True
    capsys.readouterr()
    def lie_cd_first(u, dt, beta, nu, rho):
        k = np.fft.fftfreq(u.size, d=1.0 / u.size)
        u = np.fft.ifft(np.fft.fft(u) * np.exp(-(1j * beta * k + nu * k**2) * dt)).real
        return u / (u + (1 - u) * np.exp(-rho * dt))

    def full_reaction_halves(u, dt, beta, nu, rho):
        return _strang(u, dt, beta, nu, rho, tau=dt)

    def diffusion_grows(u, dt, beta, nu, rho):
        return _strang(u, dt, beta, -nu, rho)

    def no_reaction(u, dt, beta, nu, rho):
        return _strang(u, dt, beta, nu, 0.0)

    for fn, hint in ((_lie, "Lie splitting"), (lie_cd_first, "convection–diffusion first"),
                     (full_reaction_halves, "twice as long"), (_wrong_direction, "wrong way"),
                     (diffusion_grows, "high modes grow"), (_euler, "explicit Euler"), (no_reaction, "missing"),
                     (lambda u, *a: strang_solution(u, *a)[:10], "shape")):
        assert exercises.check_strang_step(fn) is False
        assert hint in capsys.readouterr().out


def test_check_relative_error(capsys):
    from pinnlab import exercises

    assert exercises.check_relative_error(...) is None
    assert exercises.check_relative_error(lambda p, r: np.linalg.norm(p - r) / np.linalg.norm(r)) is True
    capsys.readouterr()
    for fn, hint in ((lambda p, r: np.linalg.norm(p - r) / np.linalg.norm(p), "denominator"),
                     (lambda p, r: ((p - r) ** 2).sum() / (r**2).sum(), "square root"),
                     (lambda p, r: np.abs(p - r).mean(), "absolute"),
                     (lambda p, r: np.abs(p - r).mean() / np.abs(r).mean(), "L1"),
                     (lambda p, r: np.mean(np.linalg.norm(p - r, axis=1) / np.linalg.norm(r, axis=1)), "each row")):
        assert exercises.check_relative_error(fn) is False
        assert hint in capsys.readouterr().out


def test_paper_comparison_reads_other_notebooks_and_survives_odd_files(monkeypatch, tmp_path, quick_run):
    monkeypatch.setattr(ch, "ROOT", tmp_path)  # no committed figures/ in play
    cfg = quick_run.cfg
    base = tmp_path / "quick"

    def put(name, results):
        d = base / name
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({"preset": "quick", "wall_time_s": 1.0, "results": results}))

    put("02_lora_rank_study", {"kovasznay": {"lora": {"rank_4": {"trainable_params": 1100, "test_mse": 1e-4,
                                                                 "wall_time_s": 20.0, "epochs": [10, 10]}},
                                             "base": {"trainable_params": 21000, "test_mse": 1e-2, "wall_time_s": 5}}})
    put("03_hypernetwork_benchmarks", {"kovasznay": {"table3": {"hyper": {"key": "B4_r4", "test_mse": 2e-4,
                                                                          "inference_ms": 1.5},
                                                                "pinn": {"trainable_params": 21000, "test_mse": 1e-3,
                                                                         "wall_time_s": 30.0}}}})
    put("04_failure_modes", {"table2": {"hyper_lr_adaptive": {"rank_adaptive": {"beta_30": 0.5}}}})
    comp = ch.paper_comparison(cfg)
    assert [r["trainable"] for r in comp["02"]["rows"]] == [1100, 21000]
    assert comp["02"]["rows"][0]["seconds"] == pytest.approx(10.0)
    assert comp["03"]["rows"][0]["trainable"] == 0 and comp["03"]["rows"][0]["seconds"] == pytest.approx(1.5e-3)
    assert "not in a layout" in comp["04"]["rows"][0]["what"]
    assert comp["05"] is None
    from pinnlab.experiments import cdr_helmholtz_figures as F

    text = F.comparison_text(comp)
    assert "not computed yet" in text and "LoRA HyperPINN" in text
