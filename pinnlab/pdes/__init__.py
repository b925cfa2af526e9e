"""PDE families: domain, parameters, residual, sampling and exact/reference solutions."""
from .base import PDE, check_param
from .burgers2d import Burgers2D
from .helmholtz import Helmholtz
from .kovasznay import Kovasznay

__all__ = ["PDE", "check_param", "Burgers2D", "Helmholtz", "Kovasznay"]
