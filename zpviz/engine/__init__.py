"""The simulation engine: pure Python and numpy, no Qt. See run.simulate and report.run_report
(zpviz.play adds the claims' verdicts)."""

from zpviz.engine.core import Cancelled
from zpviz.engine.kernels import VARIANTS, policy
from zpviz.engine.run import simulate

__all__ = ["VARIANTS", "Cancelled", "policy", "simulate"]
