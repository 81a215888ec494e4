"""The start-up worker (present/prefetch.py): the traces it stores are the ones the window would
simulate, and anything wrong on its path only means the window simulates.

The worker is forked, which prefetch refuses once Qt is loaded (pytest-qt may have loaded it in
this process), so each case runs in a fresh interpreter; they are quick (a small lesson)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "scenarios" / "01-demand-paging.toml"  # two variants: its kernel and one compared

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the worker is forked on Linux only")


def _run(code: str, tmp_path: Path, **env) -> dict:
    """Run `code` in a fresh interpreter with a cache of its own; it prints one JSON line last."""
    e = dict(os.environ, ZPVIZ_CACHE_DIR=str(tmp_path / "cache"), ZPVIZ_PREFETCH="1")  # even on a busy machine
    e.pop("ZPVIZ_NO_CACHE", None)
    e.update(env)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=e, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


HEAD = f"""
import json, os, sys
import numpy as np
from zpviz.present import prefetch
from zpviz.present.session import build_lesson, kernels_for
from zpviz.present.tracecache import TraceCache
from zpviz.engine import simulate
from zpviz.scenario import load
PATH = {str(LESSON)!r}
"""


def test_the_worker_stores_what_the_window_would_simulate(tmp_path):
    r = _run(HEAD + """
pf = prefetch.start(PATH)
started = pf is not None
pid = pf.pid if pf else 0
sc = load(PATH)
ids = kernels_for(sc)
ticks = []
lesson = build_lesson(sc, progress=lambda text: ticks.append(text) or True)
same = True
for k, tr in zip(lesson.kernels, lesson.traces):
    own = simulate(sc, k)
    a, b = tr.frame(len(tr) - 1), own.frame(len(own) - 1)
    same &= len(tr) == len(own) and all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("fkind", "pte"))
try:  # the worker was reaped once its last variant was taken: no zombie left behind
    os.waitpid(pid, os.WNOHANG)
    reaped = False
except ChildProcessError:
    reaped = True
print(json.dumps({"started": started, "ids": list(ids), "kernels": list(lesson.kernels), "same": bool(same),
                  "entries": len(os.listdir(os.environ["ZPVIZ_CACHE_DIR"])), "reaped": reaped,
                  "active": prefetch._active is not None}))
""", tmp_path)
    assert r["started"]
    assert r["kernels"] == r["ids"] and len(r["ids"]) == 2
    assert r["same"]  # the picture from the worker's trace is the picture of a simulation here
    assert r["entries"] == 2  # stored by the worker: the window did not store them again
    assert r["reaped"] and not r["active"]


def test_no_worker_without_a_cache_or_when_switched_off_or_after_qt(tmp_path):
    """The window simulates, as it did before there was a worker."""
    code = HEAD + """
if os.environ.get("LOAD_QT"):
    import PySide6.QtCore
print(json.dumps({"started": prefetch.start(PATH) is not None}))
"""
    assert _run(code, tmp_path)["started"]
    assert not _run(code, tmp_path / "b", ZPVIZ_NO_CACHE="1")["started"]
    assert not _run(code, tmp_path / "c", ZPVIZ_PREFETCH="0")["started"]
    assert not _run(code, tmp_path / "d", LOAD_QT="1")["started"]  # a process with Qt's threads never forks


def test_the_worker_leaves_what_the_cache_holds_to_the_window(tmp_path):
    r = _run(HEAD + """
sc = load(PATH)
ids = kernels_for(sc)
TraceCache.default().put(simulate(sc, ids[0]), sc, ids[0])
pf = prefetch.start(PATH)
got = [prefetch.take(sc, k) is not None for k in ids]
print(json.dumps({"got": got, "keys": sorted(pf.keys.values())}))
""", tmp_path)
    assert r["got"] == [False, True]  # the first the window reads from the cache itself
    assert len(r["keys"]) == 1


def test_a_lesson_the_worker_does_not_simulate_is_simulated_here(tmp_path):
    """Another lesson, or the same under another variant: take() says no at once."""
    r = _run(HEAD + f"""
pf = prefetch.start(PATH)
other = load({str(ROOT / "scenarios" / "04-cow-from-zero.toml")!r})
sc = load(PATH)
print(json.dumps({{"other": prefetch.take(other, "modern") is None,
                  "variant": prefetch.take(sc, "2.6.32") is None if "2.6.32" not in kernels_for(sc) else True}}))
""", tmp_path)
    assert r == {"other": True, "variant": True}


def test_a_lesson_that_does_not_load_is_left_to_the_window(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\ntitle = "x"\n[[vma]]\nname = 3\n')
    r = _run(HEAD.replace(repr(str(LESSON)), repr(str(bad))) + f"""
pf = prefetch.start(PATH)
good = load({str(LESSON)!r})
took = prefetch.take(good, "modern")
print(json.dumps({{"take": took is None, "keys": pf.keys, "active": prefetch._active is not None}}))
""", tmp_path)
    assert r == {"take": True, "keys": {}, "active": False}  # the window loads it and shows the file's problems


def test_a_dead_worker_means_the_window_simulates(tmp_path):
    r = _run(HEAD + """
import signal
pf = prefetch.start(PATH)
os.kill(pf.pid, signal.SIGKILL)
sc = load(PATH)
lesson = build_lesson(sc)
want = len(simulate(sc, lesson.kernels[0]))
print(json.dumps({"kernels": list(lesson.kernels), "frames": lesson.n_frames, "want": want}))
""", tmp_path)
    assert len(r["kernels"]) == 2 and r["frames"] == r["want"]


def test_cancelling_while_waiting_stops_the_worker(tmp_path):
    """A progress callback that says stop (the window's Cancel) raises Cancelled and kills the worker."""
    r = _run(HEAD.replace(repr(str(LESSON)), repr(str(ROOT / "scenarios" / "tour.toml"))) + """
from zpviz.engine import Cancelled
pf = prefetch.start(PATH)  # the tour: 9,000 events a variant, so the worker reports progress
pid = pf.pid
sc = load(PATH)
try:
    prefetch.take(sc, kernels_for(sc)[0], tick=lambda n: False)
    cancelled = False
except Cancelled:
    cancelled = True
try:
    os.kill(pid, 0)
    alive = True
except ProcessLookupError:
    alive = False
print(json.dumps({"cancelled": cancelled, "alive": alive, "active": prefetch._active is not None}))
""", tmp_path)
    assert r == {"cancelled": True, "alive": False, "active": False}


def test_the_protocol_lines_are_read_in_pieces():
    """Lines may arrive split across reads; a count line and a verdict line are told apart."""
    from zpviz.present.prefetch import Prefetch

    r, w = os.pipe()
    pf = Prefetch(0, r, None)
    os.write(w, b"k abc v5\nk def modern\nke")
    pf._read(1.0)
    assert pf.keys == {"abc": "v5", "def": "modern"} and not pf.keys_told
    os.write(w, b"ys\nn v5 40")
    pf._read(1.0)
    os.write(w, b"96\nok v5\nno mod")
    pf._read(1.0)
    assert pf.keys_told and pf.counts == {"v5": 4096} and pf.state == {"v5": "ok"}
    os.write(w, b"ern\n")
    os.close(w)
    pf._read(1.0)
    pf._read(1.0)
    assert pf.state == {"v5": "ok", "modern": "no"} and pf._eof
    pf.stop()


def test_a_worker_only_where_a_cpu_is_free():
    from zpviz.present.prefetch import spare_cpu

    idle = "0.10 0.20 0.30 1/140 4242\n"  # the running count: this process alone
    busy = "4.21 3.77 2.68 3/140 4590\n"
    assert spare_cpu(idle, cpus=2) and spare_cpu("0 0 0 3/9 1", cpus=4)
    assert not spare_cpu(busy, cpus=2)  # two others running: no core for a worker
    assert not spare_cpu(idle, cpus=1)  # one CPU: a worker would only take turns with the window
    assert not spare_cpu("garbage", cpus=2)


def test_the_window_forks_before_numpy_is_imported(tmp_path):
    """The fork comes first (few shared pages to copy); the worker imports what it needs itself."""
    r = _run("""
import json, sys
from zpviz.cli import _prefetch
_prefetch(None, None, None)
started = sys.modules["zpviz.present.prefetch"]._active is not None
print(json.dumps({"numpy": "numpy" in sys.modules, "started": started}))
""", tmp_path)
    assert r == {"numpy": False, "started": True}
