"""pinnlab — physics-informed neural networks for parameterized PDEs, as a workbook."""
from .config import Config, setup

__version__ = "0.1.0"
__all__ = ["Config", "setup"]
