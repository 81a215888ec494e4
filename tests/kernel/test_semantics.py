"""What Linux 6.18 does, carried out for real by the kernel runner (root: pagemap PFNs + kpageflags).

Each test is a tiny lesson built in code. These are the facts the `modern` model is checked against.
"""

from __future__ import annotations

import os

import pytest

from zpviz.kernel import probe
from zpviz.kernel.runner import run_on_kernel

from .build import pages, scenario, sel, step, vma, vstate

CAPS = probe.capabilities()
pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(CAPS["machine"] != "x86_64" or not CAPS["pagemap"], reason="needs Linux x86-64 pagemap"),
    pytest.mark.skipif(not CAPS["kpageflags"] or not CAPS["pagemap_pfns"], reason="needs root (kpageflags)"),
]
THP = pytest.mark.skipif(CAPS["thp_enabled"] not in ("always", "madvise") or not CAPS["use_zero_page"],
                         reason="needs THP (madvise or always) with use_zero_page = 1")


def run(vmas, steps, **kw):
    return run_on_kernel(scenario(vmas, steps), every_step=True, **kw)


def test_read_of_a_fresh_private_region_maps_the_zero_page_and_costs_no_rss():
    r = run([vma("t", 16)], [step("read", "t")])
    v = vstate(r, "t")
    assert v["pages"] == ["zero"] * 16
    assert (v["rss_kb"], v["anon_kb"], v["locked_kb"]) == (0, 0, 0)
    assert v["huge"] == [False] * 16 and v["mlocked"] == [False] * 16
    assert r["final"]["frames_used"] == 0
    assert r["steps"][0]["faults"] >= 16  # one read fault per page (plus any of the interpreter's)


def test_write_maps_anon_pages():
    r = run([vma("t", 8)], [step("write", "t")])
    v = vstate(r, "t")
    assert v["pages"] == ["anon"] * 8
    assert (v["rss_kb"], v["anon_kb"]) == (32, 32)
    assert r["final"]["frames_used"] == 8


def test_write_after_read_cows_only_that_page():
    r = run([vma("t", 8)], [step("read", "t"), step("write", "t", sel(3))])
    assert pages(r, "t") == ["zero"] * 3 + ["anon"] + ["zero"] * 4
    assert vstate(r, "t")["rss_kb"] == 4


def test_mlock_of_a_read_rw_region_replaces_every_zero_page_with_an_mlocked_anon_page():
    r = run([vma("t", 8)], [step("read", "t"), step("mlock", "t")])
    v = vstate(r, "t")
    assert v["pages"] == ["anon"] * 8
    assert v["mlocked"] == [True] * 8
    assert v["vm_locked"] and v["locked_kb"] == 32 and v["rss_kb"] == 32
    assert r["steps"][1]["errno"] is None


def test_mlock_of_a_read_only_region_keeps_zero_pages_unlocked_while_the_vma_is_vm_locked():
    r = run([vma("t", 8, prot="r")], [step("read", "t"), step("mlock", "t")])
    v = vstate(r, "t")
    assert v["pages"] == ["zero"] * 8
    assert v["mlocked"] == [False] * 8
    assert v["vm_locked"] is True
    assert (v["locked_kb"], v["rss_kb"]) == (0, 0)
    assert r["steps"][1]["errno"] is None


def test_mlock_of_an_untouched_read_only_region_maps_zero_pages():
    r = run([vma("t", 4, prot="r")], [step("mlock", "t")])
    assert pages(r, "t") == ["zero"] * 4
    assert vstate(r, "t")["mlocked"] == [False] * 4


def test_mlock_onfault_populates_nothing_and_a_later_read_maps_the_zero_page():
    r = run([vma("t", 4)], [step("mlock", "t", onfault=True), step("read", "t", sel(1))])
    assert pages(r, "t", 0) == ["none"] * 4
    assert vstate(r, "t", 0)["vm_locked"] is True
    assert pages(r, "t") == ["none", "zero", "none", "none"]
    assert vstate(r, "t")["mlocked"][1] is False


def test_munlock_keeps_the_pages_and_clears_mlocked():
    r = run([vma("t", 4)], [step("mlock", "t"), step("munlock", "t")])
    assert pages(r, "t", 0) == ["anon"] * 4 and vstate(r, "t", 0)["mlocked"] == [True] * 4
    v = vstate(r, "t")
    assert v["pages"] == ["anon"] * 4 and v["mlocked"] == [False] * 4
    assert v["vm_locked"] is False and v["locked_kb"] == 0


def test_map_populate_depends_on_prot_and_sharing():
    r = run([vma("rw", 4, populate=True), vma("ro", 4, prot="r", populate=True),
             vma("sh", 4, share="shared", populate=True)], [step("say")])
    assert pages(r, "rw") == ["anon"] * 4
    assert pages(r, "ro") == ["zero"] * 4
    assert pages(r, "sh") == ["shared"] * 4
    assert vstate(r, "sh")["anon_kb"] == 0 and vstate(r, "sh")["rss_kb"] == 16  # shmem is not Anonymous


def test_map_locked_populates_and_mlocks():
    r = run([vma("t", 4, locked=True)], [step("say")])
    v = vstate(r, "t")
    assert v["pages"] == ["anon"] * 4 and v["mlocked"] == [True] * 4 and v["vm_locked"]


def test_madv_populate_read_maps_zero_pages_and_populate_write_anon_pages():
    r = run([vma("a", 4), vma("b", 4)],
            [step("madvise", "a", advice="populate_read"), step("madvise", "b", advice="populate_write")])
    assert pages(r, "a") == ["zero"] * 4
    assert pages(r, "b") == ["anon"] * 4


def test_madv_dontneed_drops_the_mappings_and_fails_with_einval_on_a_locked_vma():
    r = run([vma("t", 4), vma("l", 4, locked=True)],
            [step("read", "t"), step("madvise", "t", advice="dontneed"), step("madvise", "l", advice="dontneed"),
             step("read", "t", sel(0))])
    assert pages(r, "t", 1) == ["none"] * 4
    assert r["steps"][1]["errno"] is None
    assert r["steps"][2]["errno"] == "EINVAL"
    assert pages(r, "l", 2) == ["anon"] * 4
    assert pages(r, "t") == ["zero", "none", "none", "none"]  # reading again maps the zero page again


def test_fork_then_child_write_gives_the_child_an_anon_page_and_the_parent_keeps_the_zero_page():
    r = run([vma("t", 4)],
            [step("write", "t", sel(3)),  # gives the vma an anon_vma, so fork copies its PTEs
             step("read", "t", sel((0, 2))), step("fork", child="kid"), step("write", "t", sel(2), process="kid")])
    assert pages(r, "t", 2, "kid") == ["zero", "zero", "zero", "shared"]
    assert pages(r, "t", 2) == ["zero", "zero", "zero", "shared"]  # the anon page is mapped twice now
    assert pages(r, "t", None, "kid") == ["zero", "zero", "anon", "shared"]
    assert pages(r, "t") == ["zero", "zero", "zero", "shared"]


def test_fork_does_not_copy_ptes_of_a_vma_without_anon_vma():
    # vma_needs_copy(): only zero pages, never written -> no anon_vma -> the child refaults them.
    r = run([vma("t", 4), vma("sh", 2, share="shared")],
            [step("read", "t"), step("write", "sh"), step("fork", child="kid")])
    assert pages(r, "t") == ["zero"] * 4
    assert pages(r, "t", None, "kid") == ["none"] * 4
    assert pages(r, "sh", None, "kid") == ["none"] * 2


def test_exit_tears_the_process_down():
    r = run([vma("t", 4)], [step("write", "t"), step("fork", child="kid"), step("exit", process="kid")])
    assert r["final"]["processes"]["kid"] == {"exited": True, "vmas": {}}
    assert pages(r, "t") == ["anon"] * 4  # mapped once again: exclusive


def test_move_pages_status_of_zero_untouched_and_written_pages():
    r = run([vma("t", 3)], [step("read", "t", sel(0)), step("write", "t", sel(2)), step("move_pages", "t")])
    assert r["steps"][2]["status"] == ["-EFAULT", "-ENOENT", "node0"]
    assert r["steps"][2]["errno"] is None


def test_reading_smaps_changes_no_page_and_takes_no_fault_as_the_model_says():
    r = run([vma("t", 4, prot="r")], [step("read", "t", sel(0)), step("mlock", "t"), step("smaps")])
    assert r["steps"][2].get("carried_out", True) is True
    assert r["steps"][2]["faults"] == 0
    assert pages(r, "t", 2) == pages(r, "t", 1) == ["zero"] * 4  # 6.18 decides by pfn: no Bad page map
@THP
def test_thp_read_maps_the_huge_zero_page_and_a_write_then_allocates_a_whole_thp():
    r = run([vma("h", 1024, thp=True)], [step("read", "h", sel(5)), step("write", "h", sel(7))])
    v = vstate(r, "h", 0)
    assert v["pages"] == ["zero"] * 512 + ["none"] * 512
    assert v["huge"] == [True] * 512 + [False] * 512
    assert v["rss_kb"] == 0
    v = vstate(r, "h")
    assert v["pages"] == ["anon"] * 512 + ["none"] * 512
    assert v["huge"] == [True] * 512 + [False] * 512
    assert (v["rss_kb"], v["anon_kb"]) == (2048, 2048)
    assert r["final"]["frames_used"] == 512


@THP
def test_fork_copies_the_huge_zero_pmd():
    # do_huge_pmd_anonymous_page prepares the anon_vma before mapping the huge zero page, so
    # vma_needs_copy() is true and copy_huge_pmd() gives the child the huge zero PMD too.
    r = run([vma("h", 512, thp=True)], [step("read", "h", sel(0)), step("fork", child="kid")])
    assert pages(r, "h", None, "kid") == ["zero"] * 512
    assert vstate(r, "h", None, "kid")["huge"] == [True] * 512


def test_mprotect_to_read_only_then_write_raises_sigsegv_for_those_pages():
    r = run([vma("t", 4)], [step("mprotect", "t", sel((0, 1)), prot="r"), step("write", "t")])
    assert r["steps"][0]["errno"] is None
    assert r["steps"][1]["signal"] == {"name": "SIGSEGV", "pages": [0, 1]}
    assert pages(r, "t") == ["none", "none", "anon", "anon"]


def test_prot_none_read_and_munmapped_pages_raise_sigsegv():
    r = run([vma("t", 4, prot="none"), vma("u", 4)],
            [step("read", "t", sel(1)), step("munmap", "u", sel((1, 2))), step("read", "u")])
    assert r["steps"][0]["signal"] == {"name": "SIGSEGV", "pages": [1]}
    assert r["steps"][2]["signal"] == {"name": "SIGSEGV", "pages": [1, 2]}
    assert pages(r, "u") == ["zero", "unmapped", "unmapped", "zero"]


def test_munmap_and_mprotect_split_the_vma_which_keeps_its_name_and_numbering():
    r = run([vma("t", 8)], [step("write", "t"), step("mprotect", "t", sel((2, 3)), prot="r"),
                            step("munmap", "t", sel((5, 6))), step("mlock", "t", sel((0, 4)))])
    v = vstate(r, "t")
    assert v["pages"] == ["anon"] * 5 + ["unmapped"] * 2 + ["anon"]
    assert v["rss_kb"] == 24 and v["locked_kb"] == 20 and v["vm_locked"]
    assert r["steps"][3]["errno"] is None
    r = run([vma("t", 4)], [step("munmap", "t", sel(1)), step("mlock", "t")])
    assert r["steps"][1]["errno"] == "ENOMEM"  # a hole in the span


def test_gup_read_through_proc_pid_mem_maps_the_zero_page_on_an_untouched_page():
    r = run([vma("t", 4)], [step("gup", "t", sel(2), force=True)])
    assert pages(r, "t") == ["none", "none", "zero", "none"]
    assert r["steps"][0]["errno"] is None and r["steps"][0]["faults"] >= 1


def test_forced_gup_write_cows_a_read_only_private_page_and_unforced_fails():
    r = run([vma("t", 2, prot="r")], [step("read", "t"), step("gup", "t", sel(0), write=True, force=True),
                                      step("gup", "t", sel(1), write=True)])
    assert pages(r, "t", 1) == ["anon", "zero"]
    assert r["steps"][2]["errno"] == "EFAULT"
    assert pages(r, "t") == ["anon", "zero"]


@pytest.mark.skipif(CAPS["io_uring_disabled"] not in ("0", None), reason="io_uring disabled")
def test_longterm_pin_of_a_zero_page_leaves_a_fresh_anon_page():
    r = run([vma("t", 2)], [step("read", "t"), step("gup", "t", sel(0), pin=True, longterm=True, write=True)])
    assert r["steps"][1]["errno"] is None
    assert pages(r, "t") == ["anon", "zero"]


def test_file_read_faults_map_several_pages_each_by_fault_around():
    # do_read_fault maps the cached pages around the faulting one (fault_around_bytes, 64 KiB by
    # default): 64 pages of a file mapping take a handful of faults, not 64. Seen: 4.
    r = run([vma("f", 64, backing="file", prot="r")], [step("read", "f")])
    assert pages(r, "f") == ["file"] * 64
    assert r["steps"][0]["faults"] <= 64 // 16 + 1


def test_file_backed_vmas_hold_page_cache_pages_and_a_private_write_cows_them():
    r = run([vma("p", 2, backing="file"), vma("s", 2, backing="file", share="shared")],
            [step("read", "p"), step("write", "p", sel(1)), step("write", "s", sel(0))])
    assert pages(r, "p") == ["file", "anon"]
    assert pages(r, "s") == ["file", "none"]
    assert vstate(r, "s")["anon_kb"] == 0 and vstate(r, "s")["rss_kb"] == 4


def test_claims_are_checked_and_unobservable_ones_listed():
    r = run([vma("t", 4)], [step("read", "t", expect=(("pages", ((sel(), "zero"),)), ("rss_kb", 0), ("faults", 1))),
                            step("write", "t", sel(0), expect=(("anon_kb", 8),))])
    assert r["steps"][0]["expect"]["ok"] is False  # 4 read faults, not 1
    assert [f["field"] for f in r["steps"][0]["expect"]["failed"]] == ["faults"]
    assert "not_observed" not in r["steps"][0]["expect"]
    e = r["steps"][1]["expect"]
    assert e["ok"] is False and e["failed"][0]["field"] == "anon_kb" and e["failed"][0]["actual"] == 4


def test_report_has_the_contract_shape():
    r = run_on_kernel(scenario([vma("t", 2)], [step("say"), step("read", "t")]))
    assert set(r) >= {"scenario", "kernel", "steps", "final", "kernel_log", "notes", "kernel_version", "observed"}
    assert r["kernel"] == "linux-" + os.uname().release
    e = r["steps"][1]
    assert set(e) >= {"index", "do", "process", "vma", "faults", "fault_kinds", "errno", "status", "signal",
                      "makespan_ns", "log", "expect"}
    assert "state" not in e  # only with every_step
    assert e["fault_kinds"] is None and e["makespan_ns"] is None
    f = r["final"]
    assert set(f) == {"processes", "zero_page", "huge_zero_page", "frames_used", "pt_frames", "cpus"}
    assert f["zero_page"]["refcount_delta"] is None and f["pt_frames"] is None and f["cpus"] is None
    assert set(f["processes"]["main"]["vmas"]["t"]) == {"pages", "mlocked", "huge", "vm_locked", "rss_kb",
                                                         "anon_kb", "locked_kb"}
    assert any("faults" in n and "all" in n.lower() or "every fault" in n for n in r["notes"])


@THP
def test_thp_populate_and_lock_make_whole_thps():
    r = run([vma("p", 512, thp=True, populate=True), vma("l", 512, thp=True, locked=True)], [step("say")])
    assert pages(r, "p") == ["anon"] * 512 and vstate(r, "p")["huge"] == [True] * 512
    v = vstate(r, "l")
    assert v["pages"] == ["anon"] * 512 and v["mlocked"] == [True] * 512 and v["locked_kb"] == 2048


@THP
def test_a_partial_munmap_or_dontneed_splits_the_huge_zero_pmd_into_small_zero_pages():
    r = run([vma("a", 512, thp=True), vma("b", 512, thp=True)],
            [step("read", "a", sel(0)), step("munmap", "a", sel(100)),
             step("read", "b", sel(0)), step("madvise", "b", sel((0, 9)), advice="dontneed")])
    v = vstate(r, "a")
    assert v["pages"] == ["zero"] * 100 + ["unmapped"] + ["zero"] * 411
    assert v["huge"] == [False] * 512  # now 4 KiB zero-page PTEs, not the huge zero page
    assert pages(r, "b") == ["none"] * 10 + ["zero"] * 502


@THP
def test_move_pages_on_the_huge_zero_page_and_on_a_thp():
    r = run([vma("h", 1024, thp=True)],
            [step("read", "h", sel(0)), step("write", "h", sel(600)), step("move_pages", "h", sel(0, 1, 600, 601))])
    assert r["steps"][2]["status"] == ["-EFAULT", "-EFAULT", "node0", "node0"]


def test_fault_counts_are_exact_for_simple_ops():
    # One fault per page the op faults in, none of the interpreter's (see lesson_proc._measured).
    r = run([vma("t", 32), vma("u", 8)],
            [step("read", "t"), step("write", "t", sel(0)), step("fork", child="kid"),
             step("write", "t", sel(1), process="kid"), step("mlock", "u", process="kid"),
             step("move_pages", "t"), step("gup", "t", sel(3), write=True, force=True)])
    assert [e["faults"] for e in r["steps"]] == [32, 1, None, 1, 8, 0, 1]


def test_mprotect_making_a_locked_private_vma_writable_populates_it():
    # mprotect_fixup (since 4.2): a VM_LOCKED private vma gaining VM_WRITE is COW-populated at once.
    r = run([vma("t", 8, prot="r")], [step("read", "t"), step("mlock", "t"), step("mprotect", "t", prot="rw"),
                                      step("write", "t", sel(5))])
    assert pages(r, "t", 1) == ["zero"] * 8
    v = vstate(r, "t", 2)
    assert v["pages"] == ["anon"] * 8 and v["mlocked"] == [True] * 8 and v["locked_kb"] == 32
    assert r["steps"][2]["faults"] == 8 and r["steps"][3]["faults"] == 0


def test_shmem_read_faults_around_cached_pages():
    # A shared anonymous vma is shmem: a read fault maps the cached pages around it (fault-around).
    r = run([vma("s", 32, share="shared")], [step("write", "s"), step("madvise", "s", advice="dontneed"),
                                             step("read", "s", sel(0))])
    assert pages(r, "s", 1) == ["none"] * 32  # the PTEs are gone, the shmem pages stay cached
    assert pages(r, "s") == ["shared"] * 16 + ["none"] * 16
    assert r["steps"][2]["faults"] == 1


def _core_here() -> str | None:
    import resource

    from zpviz.kernel.corefile import why_no_core_here

    with open("/proc/sys/kernel/core_pattern") as f:
        return why_no_core_here(f.read().strip(), resource.getrlimit(resource.RLIMIT_CORE)[1])


CORE = pytest.mark.skipif(_core_here() is not None, reason=f"no core file here: {_core_here()}")


@CORE
def test_a_core_dump_writes_real_pages_and_leaves_zero_and_untouched_pages_as_holes():
    """Lesson 15 for real: the core file's holes are exactly the zero and untouched pages, and
    the dump changes nothing in the process, which goes on."""
    r = run([vma("heap", 256)], [step("read", "heap", sel((0, 127))), step("write", "heap", sel((0, 15))),
                                 step("coredump"), step("write", "heap", sel(200))])
    dump = r["steps"][2]
    assert dump["carried_out"] and dump["dump"] == {"written": 16, "holes": 240}
    assert pages(r, "heap", 2) == ["anon"] * 16 + ["zero"] * 112 + ["none"] * 128
    assert pages(r, "heap")[200] == "anon"  # the process is alive and well


@CORE
def test_a_core_dump_faults_shared_memory_in_and_writes_all_of_it():
    """get_dump_page() leaves an anonymous hole alone but faults a shared-memory page in: every
    page of the shm vma is written, and the process (not only the fork that was dumped) has them."""
    r = run([vma("shm", 8, share="shared"), vma("anon", 8)],
            [step("write", "shm", sel(0, 1)), step("write", "anon", sel(0)), step("coredump")])
    assert r["steps"][2]["dump"] == {"written": 8 + 1, "holes": 7}
    assert pages(r, "shm") == ["shared"] * 8 and pages(r, "anon") == ["anon"] + ["none"] * 7
