"""The real-kernel runner: carry out a lesson on the running Linux kernel and observe its pages.

    run_on_kernel(scenario, every_step=False, cap_bytes=1 << 30) -> run report dict   (runner.py)
    compare_reports(model, real) -> list[Difference]; format_differences(diffs)     (verify.py)
    capabilities() -> dict; skip_reason(scenario) -> str | None                      (probe.py)

No Qt here. The supervisor and lesson processes import only the stdlib modules of this package
(sysapi, wire, lesson_proc, observe, supervisor), so this file imports nothing eagerly.
"""

from __future__ import annotations

_EXPORTS = {
    "run_on_kernel": "runner", "KernelRunError": "client",
    "compare_reports": "verify", "format_differences": "verify", "Difference": "verify",
    "capabilities": "probe", "skip_reason": "probe",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
