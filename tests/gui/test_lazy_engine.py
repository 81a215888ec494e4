"""A window that reads its traces from the cache (the start-up worker simulated them) imports the
trace, not the engine's fault paths, fast paths and machine: those come with `simulate`, at its
first use (docs/startup.md, tenth session)."""

from __future__ import annotations

import os
import subprocess
import sys

PATHS = ("zpviz.engine.machine", "zpviz.engine.run", "zpviz.engine.bulk", "zpviz.engine.sweep",
         "zpviz.engine.faults", "zpviz.engine.populate")


def _engine_modules_after(code: str) -> set[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, env=env, timeout=120, check=True).stdout
    return {m for m in out.split() if m.startswith("zpviz.engine")}


def test_the_window_modules_leave_the_engine_paths_unimported():
    loaded = _engine_modules_after(
        "import zpviz.gui.mainwindow, zpviz.gui.loader, zpviz.present.session, zpviz.present.predict, "
        "zpviz.present.outcome, zpviz.present.tracecache, zpviz.engine.trace")
    assert "zpviz.engine.trace" in loaded
    assert not loaded & set(PATHS), sorted(loaded & set(PATHS))


def test_the_engine_names_still_resolve():
    """zpviz.engine.simulate, Cancelled, policy and VARIANTS, looked up when asked for: the same
    objects as their modules', and an unknown name is an AttributeError."""
    import pytest

    import zpviz.engine as engine
    from zpviz.engine.cancel import Cancelled
    from zpviz.engine.core import Cancelled as CoreCancelled
    from zpviz.engine.kernels import VARIANTS, policy
    from zpviz.engine.run import simulate

    assert engine.simulate is simulate and engine.Cancelled is Cancelled is CoreCancelled
    assert engine.policy is policy and engine.VARIANTS is VARIANTS
    assert set(engine.__all__) <= set(dir(engine))
    with pytest.raises(AttributeError):
        engine.no_such_name  # noqa: B018


def test_a_cached_trace_reads_back_without_the_engine_paths(tmp_path):
    """The window's side of the start-up worker: a trace stored in the cache decodes in a process
    that imported only what the window imports (the decoder resolves classes only from modules
    already imported: StepResult's module must be among them)."""
    from zpviz.engine.run import simulate
    from zpviz.present.tracecache import TraceCache
    from zpviz.scenario import load
    from zpviz.scenario.library import tour_path

    sc = load(str(tour_path()))
    assert TraceCache(tmp_path).put(simulate(sc, "modern"), sc, "modern")
    code = (f"import zpviz.gui.mainwindow, zpviz.gui.loader, zpviz.present.session\n"
            f"from pathlib import Path\nfrom zpviz.present.tracecache import TraceCache\n"
            f"from zpviz.scenario import load\nfrom zpviz.scenario.library import tour_path\n"
            f"t = TraceCache(Path({str(tmp_path)!r})).get(load(str(tour_path())), 'modern')\n"
            f"assert t is not None and t.step_results, 'not read back'\n")
    loaded = _engine_modules_after(code)
    assert not loaded & set(PATHS), sorted(loaded & set(PATHS))
