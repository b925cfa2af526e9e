"""One function per paper table or figure; each returns its results and writes metrics.json."""
from .pinn_basics import burgers2d_sign_check, pinn_basics
from .store import Store

#: name -> function(cfg), for ``python -m pinnlab run NAME``
EXPERIMENTS = {"pinn_basics": pinn_basics}

__all__ = ["EXPERIMENTS", "Store", "burgers2d_sign_check", "pinn_basics"]
