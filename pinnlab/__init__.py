"""pinnlab — physics-informed neural networks for parameterized PDEs, as a workbook.

Public API::

    cfg = pinnlab.setup(mode="quick", seed=0, device="auto")
    pde = pinnlab.pdes.Kovasznay(Re=40)
    model = pinnlab.models.MLP([2, 64, 64, 3])
    result = pinnlab.train.fit(model, pde, cfg)
"""
from . import engine, metrics, models, pdes, train  # noqa: I001
from .config import Config, setup
from . import exercises, experiments, plot
from . import baselines, hyper, hyperlr, lowrank, multitask

__version__ = "0.1.0"
__all__ = ["Config", "setup", "baselines", "engine", "exercises", "experiments", "hyper", "hyperlr", "lowrank",
           "metrics", "models", "multitask", "pdes", "plot", "train", "widgets"]


def __getattr__(name: str):
    """``pinnlab.widgets`` is imported on first use: it needs ipywidgets (a notebook dependency),
    which headless runs (``python -m pinnlab run``, the benchmarks, a GPU box) need not have."""
    if name == "widgets":
        import importlib

        return importlib.import_module(".widgets", __name__)
    raise AttributeError(f"module 'pinnlab' has no attribute {name!r}")
