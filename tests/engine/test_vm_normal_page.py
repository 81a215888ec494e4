"""v5's other vm_normal_page() callers after a failed mlock (issue 16).

Under the v5 patch a zero PTE is recognised by pte_special && use_zero_page(vma). After lesson 9's
mlock of a half-read PROT_READ vma fails, the vma stays VM_LOCKED, so use_zero_page() is false and
every later vm_normal_page() on one of its zero PTEs prints "BUG: Bad page map": move_pages
(follow_page(FOLL_NOZERO)), fork (copy_one_pte, only once the vma has an anon_vma), the core dump
(get_user_pages) and reading /proc/PID/smaps (smaps_pte_range). 2.6.32 and later decide by pfn and
never complain.
"""

from __future__ import annotations

import pytest

from .util import VARIANTS, lesson, pages, run

LOCKED_HALF_READ = """
[[vma]]
name = "r"
pages = 64
prot = "r"
[[step]]
do = "read"
vma = "r"
pages = "0-31"
[[step]]
do = "mlock"
vma = "r"
pages = "all"
"""


def reports(step: dict) -> int:
    """How many Bad page map reports a step printed (each is a two-line report)."""
    return sum(line.startswith("BUG: Bad page map in process") for line in step["log"])


def after_failed_mlock(tail: str, kernel: str = "v5") -> dict:
    return run(lesson(LOCKED_HALF_READ + tail), kernel)


def test_the_failed_mlock_is_the_starting_point():
    r = after_failed_mlock("")
    assert r["steps"][1]["errno"] == "ENOMEM"
    assert reports(r["steps"][1]) == 1  # the walk stops at the first bad PTE
    assert r["final"]["processes"]["main"]["vmas"]["r"]["vm_locked"] is True


def test_move_pages_on_a_locked_vma_prints_bad_page_map_for_each_zero_pte_before_its_efault():
    r = after_failed_mlock('[[step]]\ndo = "move_pages"\nvma = "r"\npages = "30-33"\n')
    st = r["steps"][2]
    assert st["status"] == ["-EFAULT", "-EFAULT", "-ENOENT", "-ENOENT"]
    assert reports(st) == 2  # the two zero PTEs, not the two empty ones
    assert "addr:00007f000021e000" in st["log"][1]  # page 30's address (vma base 0x7f0000200000)


def test_move_pages_on_zero_ptes_of_an_unlocked_vma_is_a_quiet_efault():
    r = run(lesson('[[vma]]\nname = "r"\npages = 8\nprot = "r"\n[[step]]\ndo = "read"\nvma = "r"\n'
                   '[[step]]\ndo = "move_pages"\nvma = "r"\n'), "v5")
    assert r["steps"][1]["status"] == ["-EFAULT"] * 8
    assert r["steps"][1]["log"] == []


def test_fork_skips_a_locked_vma_that_only_has_zero_pages_it_has_no_anon_vma():
    r = after_failed_mlock('[[step]]\ndo = "fork"\nchild = "kid"\n')
    assert reports(r["steps"][2]) == 0
    assert pages(r, proc="kid") == ["none"] * 64  # copy_page_range skipped the vma


def test_fork_after_a_page_was_allocated_in_the_locked_vma_complains_for_each_zero_pte():
    r = after_failed_mlock('[[step]]\ndo = "read"\nvma = "r"\npages = 40\n'
                           '[[step]]\ndo = "fork"\nchild = "kid"\n')
    assert r["steps"][2]["faults"] == 1  # the read allocated a real page: the vma now has an anon_vma
    assert reports(r["steps"][3]) == 32
    kid = pages(r, proc="kid")
    assert kid[:32] == ["zero"] * 32 and kid[40] == "shared"  # the PTEs are copied all the same
    assert r["final"]["bad_page_maps"] == 1 + 32


def test_core_dump_of_the_locked_vma_complains_for_each_zero_pte_and_leaves_a_hole():
    r = after_failed_mlock('[[step]]\ndo = "coredump"\n')
    st = r["steps"][2]
    assert reports(st) == 32
    # the 32 untouched pages are faulted in by the dump's GUP (no FOLL_ANON in a VM_LOCKED vma)
    assert st["dump"] == {"written": 32, "holes": 32}


def test_reading_smaps_of_the_locked_vma_complains_for_each_zero_pte():
    r = after_failed_mlock('[[step]]\ndo = "smaps"\n')
    assert reports(r["steps"][2]) == 32
    assert pages(r) == ["zero"] * 32 + ["none"] * 32  # reading smaps changes nothing


@pytest.mark.parametrize("kernel", [k for k in VARIANTS if k != "v5"])
def test_no_other_variant_complains_on_any_of_these_walks(kernel):
    tail = ('[[step]]\ndo = "move_pages"\nvma = "r"\n[[step]]\ndo = "read"\nvma = "r"\npages = 40\n'
            '[[step]]\ndo = "fork"\nchild = "kid"\n[[step]]\ndo = "smaps"\n[[step]]\ndo = "coredump"\n')
    r = after_failed_mlock(tail, kernel)
    assert r["final"]["bad_page_maps"] == 0
    assert r["kernel_log"] == []


def test_the_ratelimit_shows_60_reports_a_minute_and_notes_the_rest():
    # 1 (mlock) + 32 (fork) + 32 (smaps) + 32 (core dump) = 97 reports within the same model minute
    r = after_failed_mlock('[[step]]\ndo = "read"\nvma = "r"\npages = 40\n[[step]]\ndo = "fork"\nchild = "kid"\n'
                           '[[step]]\ndo = "smaps"\n[[step]]\ndo = "coredump"\n')
    assert r["final"]["bad_page_maps"] == 97
    shown = sum(reports(s) for s in r["steps"])
    assert shown == 60
    assert reports(r["steps"][4]) == 60 - 1 - 32  # smaps runs into the limit part-way
    assert any("37 further" in n for n in r["notes"])
