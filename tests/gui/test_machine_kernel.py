"""Run on this machine, for real: a tiny lesson on the running kernel, and Cancel stopping a real run."""

from __future__ import annotations

import os

import pytest

from zpviz.kernel import probe
from zpviz.scenario import load

TINY = """[scenario]
title = "Tiny"
kernel = "modern"
[[vma]]
name = "t"
pages = 16
[[vma]]
name = "r"
pages = 8
prot = "r"
[[step]]
say = "Nothing yet."
[[step]]
do = "read"
vma = "t"
[[step]]
do = "write"
vma = "t"
pages = "0-3"
[[step]]
do = "read"
vma = "r"
[[step]]
do = "fork"
child = "kid"
[[step]]
do = "write"
process = "kid"
vma = "t"
pages = "5"
[[step]]
do = "exit"
process = "kid"
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    why = probe.skip_reason(load(path))
    if why:
        pytest.skip(f"cannot run on this kernel: {why}")
    return path


pytestmark = pytest.mark.kernel


def test_a_tiny_lesson_on_this_kernel(make_window, tiny, qtbot):
    win = make_window(path=tiny, kernel="modern")
    said = []
    win.machine_job.progress.connect(lambda text, fraction: said.append(text))
    with qtbot.waitSignal(win.machine_job.finished, timeout=60000):
        win.run_on_machine()
    assert win.machine_pane is not None and win.machine.kernel == "linux-" + os.uname().release
    assert win.machine_pane.title.text().startswith("this machine: linux-")
    assert "this machine: step 7 of 7 done" in said  # the worker reports each step it carried out
    if win.machine.root:  # with root every page is observed; the modern model matches 6.18 on these
        assert win.machine.total == 0, [x.text for s in win.machine.steps for x in s.lines]
    win.set_step(2)
    assert "after step 3 of 7" in win.machine_pane.status.text()


def children(pid: int | str = "self") -> set[int]:
    out: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out |= {int(x) for x in f.read().split()}
        except OSError:
            pass
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_cancel_stops_the_worker_and_its_lesson_processes(make_window, tmp_path, qtbot):
    """A long lesson (1,000 steps, seconds on the kernel); Cancel after its first step: the worker
    and its supervisor are gone."""
    if not os.path.exists(f"/proc/self/task/{os.getpid()}/children"):
        pytest.skip("no /proc/PID/task/TID/children here")
    path = tmp_path / "long.toml"
    steps = "".join(f'[[step]]\ndo = "{"read" if i % 2 else "write"}"\nvma = "t"\npages = "{i % 64}"\n'
                    for i in range(1000))
    path.write_text(f'[scenario]\ntitle = "Long"\nkernel = "modern"\n[[vma]]\nname = "t"\npages = 64\n{steps}')
    if probe.skip_reason(load(path)):
        pytest.skip("cannot run on this kernel")
    win = make_window(path=path, kernel="modern")
    win.run_on_machine()
    qtbot.waitUntil(lambda: win.machine_label.text().startswith("this machine: step "), timeout=60000)
    workers = [p for p in children() if "machineworker" in cmdline(p)]
    assert len(workers) == 1
    supervisors = children(workers[0])
    assert supervisors and all("zpviz.kernel.supervisor" in cmdline(p) for p in supervisors)
    with qtbot.waitSignal(win.machine_job.stopped, timeout=30000):
        win.cancel_machine_run()
    qtbot.waitUntil(lambda: not any(os.path.exists(f"/proc/{p}") for p in workers + list(supervisors)),
                    timeout=15000)
    assert win.machine is None and not win.banner.isVisibleTo(win)
