"""The kernel runner is safe to run: caps, watchdog, reaping, privilege drop, messages not tracebacks."""

from __future__ import annotations

import json
import os
import time

import pytest

from zpviz.errors import TooBigError
from zpviz.kernel import probe, runner
from zpviz.kernel.client import KernelRunError, SupervisorClient
from zpviz.kernel.observe import ObserveError, read_pagemap, read_smaps
from zpviz.kernel.runner import run_on_kernel

from .build import pages, scenario, sel, step, vma, vstate

CAPS = probe.capabilities()
pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(CAPS["machine"] != "x86_64" or not CAPS["pagemap"], reason="needs Linux x86-64 pagemap"),
]
ROOT = pytest.mark.skipif(not CAPS["root"], reason="needs root")


def _gone(pid: int) -> bool:
    """Exited and reaped (a zombie still has its /proc entry)."""
    return not os.path.exists(f"/proc/{pid}")


def _wait_gone(pids, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p for p in pids if not _gone(p)]
        if not left:
            return []
        time.sleep(0.01)
    return left


def test_a_vma_over_the_cap_is_refused_naming_the_file_and_the_vma():
    sc = scenario([vma("small", 4), vma("table", (2 << 30) // 4096)], [step("read", "table")])
    with pytest.raises(TooBigError) as info:
        run_on_kernel(sc)
    msg = str(info.value)
    assert "kernel-test.toml" in msg and "'table'" in msg and "cap" in msg and "small" not in msg
    with pytest.raises(TooBigError, match="'small'"):
        run_on_kernel(scenario([vma("small", 4)], [step("say")]), cap_bytes=8192)


def test_every_process_is_reaped_after_a_run():
    sc = scenario([vma("t", 4)], [step("write", "t"), step("fork", child="a"), step("fork", child="b", process="a"),
                                  step("exit", process="main"), step("write", "t", sel(0), process="b")])
    r = run_on_kernel(sc)
    pids = [*r["observed"]["pids"].values(), r["observed"]["supervisor_pid"]]
    assert len(pids) == 4
    assert r["observed"]["leftover_pids"] == []
    assert _wait_gone(pids, 0.5) == []  # gone at once: reaped before run_on_kernel returned
    assert r["final"]["processes"]["main"]["exited"] is True
    assert pages(r, "t", None, "b") == ["anon", "shared", "shared", "shared"]
    json.dumps(r)  # plain JSON, no numpy or dataclasses inside


def test_an_exception_mid_run_still_kills_and_reaps_everything(monkeypatch):
    made: list[SupervisorClient] = []

    class Recording(SupervisorClient):
        def __init__(self, config):
            super().__init__(config)
            made.append(self)

    def boom(self, client, step):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "SupervisorClient", Recording)
    monkeypatch.setattr(runner._Run, "_step", boom)
    with pytest.raises(KeyboardInterrupt):
        run_on_kernel(scenario([vma("t", 4)], [step("read", "t")], processes=("p", "q")))
    (client,) = made
    assert len(client.pids) == 2
    assert _wait_gone([client.proc.pid, *client.pids], 0.5) == []


def test_the_watchdog_stops_a_step_that_hangs(monkeypatch):
    # The step would sleep for an hour: only the watchdog can end it, so the test ends only if it works.
    monkeypatch.setattr(runner._Run, "_op_message", lambda self, step, npages: {"op": "sleep", "seconds": 3600})
    made: list[SupervisorClient] = []

    class Recording(SupervisorClient):
        def __init__(self, config):
            super().__init__(config)
            made.append(self)

    monkeypatch.setattr(runner, "SupervisorClient", Recording)
    with pytest.raises(KernelRunError, match="watchdog"):
        run_on_kernel(scenario([vma("t", 1)], [step("read", "t")]), timeout=0.5)
    assert _wait_gone([made[0].proc.pid, *made[0].pids], 10.0) == []


def test_lesson_processes_go_when_the_runner_vanishes():
    client = SupervisorClient({"timeout": 5, "tmpdir": "/tmp", "thp_always": False, "as_slack": 256 << 20,
                               "memlock_bytes": 0, "drop_to": None})
    reply = client.request({"cmd": "spawn", "name": "main", "vmas": [
        {"name": "t", "pages": 1, "prot": "rw", "share": "private", "backing": "anon", "populate": False,
         "locked": False, "thp": False}]})
    child = reply["pid"]
    client.proc.stdin.close()  # as if the runner died: the supervisor sees EOF
    client.proc.wait(timeout=10)
    assert _wait_gone([child, client.proc.pid], 2.0) == []
    assert client.close() == []


@ROOT
def test_without_root_page_states_come_from_pagemap_bits_alone():
    vmas = [vma("t", 4), vma("sh", 2, share="shared")]
    steps = [step("read", "t"), step("write", "t", sel(3)), step("write", "sh", sel(0))]
    if CAPS["thp_enabled"] in ("always", "madvise") and CAPS["use_zero_page"]:
        vmas.append(vma("h", 512, thp=True))
        steps.append(step("read", "h", sel(0)))
    r = run_on_kernel(scenario(vmas, steps), every_step=True, unprivileged=True)
    assert r["observed"]["euid"] == 65534 and r["observed"]["root"] is False and not r["observed"]["pfns"]
    v = vstate(r, "t")
    assert v["pages"] == [None, None, None, "anon"]  # zero vs shared cannot be told without PFNs
    assert v["mlocked"] == [None] * 4 and v["huge"] == [None] * 4
    assert (v["rss_kb"], v["anon_kb"]) == (4, 4)  # smaps still readable
    assert pages(r, "sh") == ["shared", "none"]
    if len(vmas) == 3:
        assert pages(r, "h") == ["zero"] * 512  # the huge zero page sets PM_FILE in a private vma
    assert r["final"]["frames_used"] is None
    assert any("without root" in n for n in r["notes"])


@ROOT
@pytest.mark.skipif(CAPS["rlimit_memlock"][1] is None, reason="RLIMIT_MEMLOCK is unlimited")
def test_an_mmap_the_kernel_refuses_is_a_message_naming_the_vma():
    hard = CAPS["rlimit_memlock"][1]
    with open("/proc/self/status") as f:
        caps = int(next(line for line in f if line.startswith("CapEff:")).split()[1], 16)
    if caps & (1 << 24):
        pytest.skip("CAP_SYS_RESOURCE: the runner can raise RLIMIT_MEMLOCK")
    big = vma("big", hard // 4096 + 16, locked=True)
    with pytest.raises(KernelRunError, match=r"vma 'big'.*(EAGAIN|ENOMEM|EPERM)"):
        run_on_kernel(scenario([big], [step("say")]), unprivileged=True)


def test_missing_proc_files_are_messages():
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    with pytest.raises(ObserveError, match=r"/proc/\d+/pagemap does not exist"):
        read_pagemap(dead, 0, 1)
    with pytest.raises(ObserveError, match=r"/proc/\d+/smaps does not exist"):
        read_smaps(dead)


def test_refusal_on_a_machine_that_cannot_run_it():
    sc = scenario([vma("t", 1)], [step("say")])
    with pytest.raises(KernelRunError, match="x86-64"):
        runner._refuse(sc, {**CAPS, "machine": "aarch64"}, 1 << 30)
    with pytest.raises(KernelRunError, match="pagemap"):
        runner._refuse(sc, {**CAPS, "pagemap": False}, 1 << 30)
    with pytest.raises(TooBigError, match="more than half"):
        runner._refuse(sc, {**CAPS, "mem_available": 4096}, 1 << 30)


def test_a_lesson_this_kernel_cannot_honour_still_runs_with_a_note():
    sc = scenario([vma("h", 512, thp=True)], [step("read", "h", sel(0))])
    sc = type(sc)(**{**sc.__dict__, "thp_use_zero_page": not CAPS["use_zero_page"]})
    r = run_on_kernel(sc)
    assert any("use_zero_page" in n and "cannot carry out" in n for n in r["notes"])
