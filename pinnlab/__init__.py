"""pinnlab — physics-informed neural networks for parameterized PDEs, as a workbook.

Public API::

    cfg = pinnlab.setup(mode="quick", seed=0, device="auto")
    pde = pinnlab.pdes.Kovasznay(Re=40)
    model = pinnlab.models.MLP([2, 64, 64, 3])
    result = pinnlab.train.fit(model, pde, cfg)
"""
from . import engine, metrics, models, pdes, train  # noqa: I001
from .config import Config, setup
from . import exercises, experiments, plot, widgets
from . import baselines, hyper, hyperlr, lowrank, multitask

__version__ = "0.1.0"
__all__ = ["Config", "setup", "baselines", "engine", "exercises", "experiments", "hyper", "hyperlr", "lowrank",
           "metrics", "models", "multitask", "pdes", "plot", "train", "widgets"]
