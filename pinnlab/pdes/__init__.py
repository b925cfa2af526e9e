"""PDE families: domain, parameters, residual, sampling and exact/reference solutions.

Coordinate order of ``points``: ``(x, t)`` for :class:`Burgers1D` and :class:`CDR`,
``(x, y)`` for :class:`Kovasznay` and :class:`Helmholtz`, ``(x, y, t)`` for
:class:`Burgers2D`.
"""
from .base import PDE, check_param
from .burgers1d import Burgers1D
from .burgers_spectral import cole_hopf, grf, solve_burgers_spectral
from .burgers2d import Burgers2D
from .cdr import CDR
from .helmholtz import Helmholtz
from .kovasznay import Kovasznay, kovasznay_lambda

__all__ = ["PDE", "check_param", "Burgers1D", "Burgers2D", "CDR", "Helmholtz", "Kovasznay",
           "cole_hopf", "grf", "kovasznay_lambda", "solve_burgers_spectral"]
