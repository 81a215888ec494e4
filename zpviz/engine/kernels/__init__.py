"""Kernel variants as policy objects."""

from zpviz.engine.kernels.base import KernelPolicy
from zpviz.engine.kernels.variants import VARIANTS, policy

__all__ = ["KernelPolicy", "VARIANTS", "policy"]
