"""`zpviz verify` for real: the engine's `modern` model against this kernel, step by step."""

from __future__ import annotations

import pytest

from zpviz.kernel import probe
from zpviz.kernel.runner import run_on_kernel
from zpviz.play import lesson_report
from zpviz.scenario.verify import compare_reports, format_differences

from .build import scenario, sel, step, vma

CAPS = probe.capabilities()
pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(probe.skip_reason(scenario([vma("t", 512, thp=True)], [step("move_pages", "t")]), CAPS)
                       is not None or not CAPS["kpageflags"], reason="needs root, THP and move_pages here"),
]


def differences(vmas, steps) -> str:
    sc = scenario(vmas, steps)
    diffs = compare_reports(lesson_report(sc, kernel="modern", every_step=True), run_on_kernel(sc, every_step=True))
    return format_differences(diffs)


def test_the_model_matches_the_kernel_on_the_zero_page_basics():
    text = differences(
        [vma("t", 64), vma("r", 8, prot="r"), vma("h", 1024, thp=True)],
        [step("read", "t"), step("write", "t", sel(1)), step("read", "r"), step("mlock", "r"),
         step("fork", child="kid"), step("write", "t", sel(2), process="kid"), step("mlock", "t", sel((0, 31))),
         step("madvise", "t", sel((40, 47)), advice="dontneed"), step("move_pages", "t", sel(0, 1, 40, 60)),
         step("read", "h", sel(0)), step("write", "h", sel(600)), step("move_pages", "h", sel(0, 600)),
         step("gup", "t", sel(50), write=True, force=True), step("exit", process="kid")])
    assert text == "no differences"


# Divergences the kernel runner found on Linux 6.18, since fixed in the model.
def test_map_locked_sets_vm_locked():
    assert differences([vma("l", 4, locked=True)], [step("madvise", "l", advice="dontneed")]) == "no differences"


def test_mlock_over_a_hole_populates_nothing():
    assert differences([vma("t", 4)], [step("munmap", "t", sel(1)), step("mlock", "t")]) == "no differences"


def test_fork_copies_the_huge_zero_pmd():
    assert differences([vma("h", 512, thp=True)], [step("read", "h", sel(0)), step("fork", child="kid")]) \
        == "no differences"
