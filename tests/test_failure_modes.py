"""The notebook-04 experiment runs end to end with tiny sizes, writes metrics.json and reloads."""
import importlib
import json

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import pinnlab  # noqa: E402

fm = importlib.import_module("pinnlab.experiments.failure_modes")
REAL_SETTINGS = fm.settings


def tiny(cfg):
    s = REAL_SETTINGS(cfg)
    s.update(n_collocation=32, n_ic=16, n_bc=8, train_betas=[30.0, 35.0, 40.0], phase1_epochs=6, phase2_epochs=3,
             scratch_epochs=4, ranks=[10], curriculum_ranks=[10], meta_ranks=[10], curriculum_stages=2,
             meta_epochs=2, inner_steps=2, sweep_betas=[1.0, 20.0], low_betas=[1.0, 20.0], low_phase1_epochs=4,
             fig4_betas=[1.0, 10.0, 20.0], fig6_betas=[1.0, 20.0], fig6_hyper_epochs=3, fig6_pinn_epochs=3,
             fig5_betas=[27.0], fig5_epochs=3, eval_every=2, log_every=1, checkpoint_every=2, curve_grid=(16, 5))
    return s


def test_failure_modes_runs_writes_metrics_and_reloads(monkeypatch, quick_run):
    monkeypatch.setattr(fm, "settings", tiny)
    res = fm.failure_modes(quick_run.cfg)
    r = quick_run.metrics(fm.NAME)
    assert set(r["table2"]) == {"pinn", "naive_lr", "curriculum", "maml", "reptile", "hyper_lr_full",
                                "hyper_lr_adaptive"}
    assert r["table3"]["pinn"] == 10401 and r["table3"]["naive_lr"]["rank_10"]["paper_convention"] == 381
    full = r["table3"]["hyper_lr_phase2_full"]["beta_30"]
    assert full["trainable"] == 351 and full["ranks"] == [50, 50, 50]
    for v in r["table3"]["hyper_lr_phase2_adaptive"].values():
        assert v["trainable"] == 201 + sum(v["ranks"])
    assert len(r["fig6"]["hyper_epochs"]) == 2 and len(r["fig4"]["ranks"]) == 3
    rows = res.table2_rows(rank=10)
    assert len(rows) == 21 and rows[3]["paper_rel"] == pytest.approx(0.5344)
    d = res.hyper_maps(33.0)
    assert d["pred"].shape == d["ref"].shape == (100, 256) and len(d["ranks"]) == 3
    # the panels follow their sliders
    panel = pinnlab.widgets.hyperlr_panel(res)
    panel.sliders["beta"].value = 42.0
    assert panel.data["beta"] == 42.0 and panel.sliders["beta"].continuous_update is False
    sweep = pinnlab.widgets.pinn_sweep_panel(res)
    sweep.sliders["beta"].value = 20.0
    assert sweep.data["beta"] == 20.0
    # a second call reloads every run instead of training
    quick_run.forbid_training(fm, "fit_cdr_tasks", "phase1")
    again = fm.failure_modes(quick_run.cfg)
    assert again.metrics["table2"] == json.loads(json.dumps(res.metrics["table2"]))
