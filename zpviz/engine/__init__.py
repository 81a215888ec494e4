"""The simulation engine: pure Python and numpy, no Qt. See run.simulate and report.run_report
(zpviz.play adds the claims' verdicts).

The names below are looked up when first asked for (PEP 562), not at the package's import: any
`import zpviz.engine.trace` runs this file first, and a window that reads its traces from the
cache (the start-up worker simulated them) needs the trace, not the fault paths, the fast paths
and the machine that `simulate` brings (~20 ms of CPU at a cold start; docs/startup.md)."""

from __future__ import annotations

__all__ = ["VARIANTS", "Cancelled", "policy", "simulate"]


def __getattr__(name: str):
    if name == "Cancelled":
        from zpviz.engine.cancel import Cancelled

        return Cancelled
    if name in ("VARIANTS", "policy"):
        from zpviz.engine import kernels

        return getattr(kernels, name)
    if name == "simulate":
        from zpviz.engine.run import simulate

        return simulate
    raise AttributeError(f"module 'zpviz.engine' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
