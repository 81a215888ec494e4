"""capabilities() and skip_reason() on this machine."""

from __future__ import annotations

import os

import pytest

from zpviz.kernel import probe

from .build import scenario, step, vma

pytestmark = pytest.mark.kernel
CAPS = probe.capabilities()


def test_capabilities_describe_this_machine():
    assert CAPS["kernel_release"] == os.uname().release
    assert CAPS["root"] == (os.geteuid() == 0)
    assert CAPS["thp_enabled"] in ("always", "madvise", "never", None)
    assert isinstance(CAPS["numa_nodes"], list) and isinstance(CAPS["rlimit_memlock"], list)
    if CAPS["root"] and CAPS["pagemap"]:
        assert CAPS["pagemap_pfns"] and CAPS["kpageflags"]


def test_skip_reasons():
    ok = scenario([vma("t", 4)], [step("read", "t")])
    assert probe.skip_reason(ok, {**CAPS, "machine": "x86_64", "pagemap": True}) is None
    assert "x86-64" in probe.skip_reason(ok, {**CAPS, "machine": "riscv64"})
    assert "pagemap" in probe.skip_reason(ok, {**CAPS, "machine": "x86_64", "pagemap": False})
    big = scenario([vma("huge_table", 1 << 20)], [step("say")])
    assert "huge_table" in probe.skip_reason(big, {**CAPS, "machine": "x86_64", "pagemap": True}, cap_bytes=1 << 30)
    thp = scenario([vma("h", 512, thp=True)], [step("read", "h")])
    base = {**CAPS, "machine": "x86_64", "pagemap": True, "thp_enabled": "madvise", "use_zero_page": True}
    assert probe.skip_reason(thp, base) is None
    assert "never" in probe.skip_reason(thp, {**base, "thp_enabled": "never"})
    assert "use_zero_page" in probe.skip_reason(thp, {**base, "use_zero_page": False})
    mp = scenario([vma("t", 1)], [step("move_pages", "t")])
    assert "move_pages" in probe.skip_reason(mp, {**base, "move_pages": "ENOSYS"})
