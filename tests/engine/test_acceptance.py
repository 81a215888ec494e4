"""docs/semantics.md "Acceptance tests", as the engine models it: each behaviour under every variant it names."""

from __future__ import annotations

import pytest

from tests.engine.util import VARIANTS, lesson, pages, run, vma


def vma_toml(pages_: int = 8, prot: str = "rw", **extra) -> str:
    lines = [f'[[vma]]\nname = "r"\npages = {pages_}\nprot = "{prot}"']
    lines += [f"{k} = {v!r}".replace("'", '"').replace("True", "true").replace("False", "false")
              for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def steps(*ss: str) -> str:
    return "".join(f"[[step]]\n{s}\n" for s in ss)


READ_ALL = 'do = "read"\nvma = "r"'


@pytest.mark.parametrize("k", VARIANTS)
def test_read_populates_zero_page_and_rss(k):
    r = run(lesson(vma_toml() + steps(READ_ALL)), k)
    v = vma(r)
    if k == "2.6.24":
        assert v["pages"] == ["anon"] * 8 and v["rss_kb"] == 32 and v["anon_kb"] == 32
        assert r["final"]["frames_used"] == 8
    else:
        assert v["pages"] == ["zero"] * 8 and v["anon_kb"] == 0 and r["final"]["frames_used"] == 0
        # 2.6.23 counts the refcounted zero page in Rss (file_rss); later kernels never count it
        assert v["rss_kb"] == (32 if k == "2.6.23" else 0)
    zp = r["final"]["zero_page"]
    assert (zp["refcount_delta"], zp["mapcount_delta"]) == ((8, 8) if k == "2.6.23" else (0, 0))


@pytest.mark.parametrize("k", VARIANTS)
def test_write_after_read_cows_one_page(k):
    r = run(lesson(vma_toml() + steps(READ_ALL, 'do = "write"\nvma = "r"\npages = 3')), k)
    p = pages(r)
    assert p[3] == "anon"
    assert p[:3] + p[4:] == (["anon"] * 7 if k == "2.6.24" else ["zero"] * 7)
    assert r["steps"][1]["fault_kinds"]["cow"] == (0 if k == "2.6.24" else 1)
    zp = r["final"]["zero_page"]
    assert zp["refcount_delta"] == (7 if k == "2.6.23" else 0)


@pytest.mark.parametrize("k", VARIANTS)
def test_write_fault_never_maps_zero(k):
    r = run(lesson(vma_toml() + steps('do = "write"\nvma = "r"\npages = 0')), k)
    assert pages(r)[0] == "anon" and r["steps"][0]["fault_kinds"]["write"] == 1


def test_v5_read_fault_writes_no_struct_page_line_but_2623_does():
    text = lesson(vma_toml(64) + steps(READ_ALL), cpus=1)
    assert run(text, "2.6.23")["final"]["zero_page"]["line_writes"] == 128  # get_page + page_add_file_rmap
    for k in ("v5", "2.6.32", "modern"):
        assert run(text, k)["final"]["zero_page"]["line_writes"] == 0


@pytest.mark.parametrize("k", VARIANTS)
def test_mlock_rw_after_read_makes_real_locked_pages(k):
    r = run(lesson(vma_toml() + steps(READ_ALL, 'do = "mlock"\nvma = "r"')), k)
    v = vma(r)
    assert v["pages"] == ["anon"] * 8 and v["mlocked"] == [True] * 8 and v["locked_kb"] == 32
    bad = [line for line in r["steps"][1]["log"] if line.startswith("BUG: Bad page map in process")]
    assert len(bad) == (8 if k == "v5" else 0)


@pytest.mark.parametrize("k", VARIANTS)
def test_mlock_readonly_after_read(k):
    r = run(lesson(vma_toml(prot="r") + steps(READ_ALL, 'do = "mlock"\nvma = "r"')), k)
    v, s = vma(r), r["steps"][1]
    assert v["vm_locked"] is True
    if k == "v5":  # the walk stops at the first zero PTE: Bad page map, -EFAULT, mlock says ENOMEM
        assert s["errno"] == "ENOMEM" and s["log"][0].startswith("BUG: Bad page map in process main")
        assert v["pages"] == ["zero"] * 8 and v["mlocked"] == [False] * 8
    elif k == "2.6.24":
        assert v["pages"] == ["anon"] * 8 and v["mlocked"] == [True] * 8 and s["errno"] is None
    elif k == "2.6.23":
        assert v["pages"] == ["zero"] * 8 and s["errno"] is None
    else:  # decided by pfn: zero pages stay, are not mlocked, Locked 0
        assert v["pages"] == ["zero"] * 8 and v["mlocked"] == [False] * 8
        assert (v["rss_kb"], v["locked_kb"], s["errno"], s["log"]) == (0, 0, None, [])


@pytest.mark.parametrize("k", VARIANTS)
def test_mlock_readonly_untouched(k):
    v = vma(run(lesson(vma_toml(prot="r") + steps('do = "mlock"\nvma = "r"')), k))
    if k in ("v5", "2.6.24"):  # v5's do_anon_zeromap declines in a VM_LOCKED vma
        assert v["pages"] == ["anon"] * 8 and v["mlocked"] == [True] * 8
    elif k in ("2.6.32", "modern"):
        assert v["pages"] == ["zero"] * 8 and v["mlocked"] == [False] * 8 and v["locked_kb"] == 0
    else:
        assert v["pages"] == ["zero"] * 8


@pytest.mark.parametrize("k", VARIANTS)
def test_mlock_onfault(k):
    onfault = 'do = "mlock"\nvma = "r"\nonfault = true'
    r = run(lesson(vma_toml() + steps(onfault, 'do = "read"\nvma = "r"\npages = 1')), k)
    if k == "modern":
        assert r["steps"][0]["errno"] is None and r["steps"][0]["faults"] == 0
        assert pages(r)[:3] == ["none", "zero", "none"] and vma(r)["mlocked"][1] is False
    else:
        assert r["steps"][0]["errno"] == "ENOSYS" and any("4.4" in n for n in r["notes"])


@pytest.mark.parametrize("k", VARIANTS)
@pytest.mark.parametrize("prot,share,want", [("rw", "private", "anon"), ("r", "private", "zero"),
                                             ("rw", "shared", "shared")])
def test_map_populate(k, prot, share, want):
    r = run(lesson(vma_toml(prot=prot, share=share, populate=True) + steps('say = "x"')), k)
    if prot == "r" and k != "2.6.32" and k != "modern":
        # make_pages_present without write: FOLL_ANON hands back ZERO_PAGE and nothing is mapped
        want = "none"
    assert pages(r) == [want] * 8


@pytest.mark.parametrize("k", VARIANTS)
def test_madv_populate(k):
    for advice, want in (("populate_read", "zero"), ("populate_write", "anon")):
        r = run(lesson(vma_toml() + steps(f'do = "madvise"\nvma = "r"\nadvice = "{advice}"')), k)
        if k == "modern":
            assert pages(r) == [want] * 8 and r["steps"][0]["errno"] is None
        else:
            assert pages(r) == ["none"] * 8 and r["steps"][0]["errno"] == "EINVAL"


@pytest.mark.parametrize("k", VARIANTS)
def test_move_pages_status(k):
    r = run(lesson(vma_toml() + steps('do = "read"\nvma = "r"\npages = 1', 'do = "write"\nvma = "r"\npages = 2',
                                      'do = "move_pages"\nvma = "r"\npages = "0-2"')), k)
    zero = {"2.6.23": "-ENOENT", "2.6.24": "node0", "v5": "-EFAULT", "2.6.32": "-ENOENT", "modern": "-EFAULT"}[k]
    assert r["steps"][2]["status"] == ["-ENOENT", zero, "node0"]


@pytest.mark.parametrize("k", VARIANTS)
def test_fork_shares_zero_pages_and_child_write_copies(k):
    r = run(lesson(vma_toml() + steps(READ_ALL, 'do = "write"\nvma = "r"\npages = 0', 'do = "fork"\nchild = "kid"',
                                      'do = "write"\nprocess = "kid"\nvma = "r"\npages = 2')), k)
    kid_after_fork = pages(r, 2, proc="kid")
    assert kid_after_fork[0] == "shared"
    assert kid_after_fork[1:] == (["shared"] * 7 if k == "2.6.24" else ["zero"] * 7)
    zp = r["steps"][2]["state"]["zero_page"]
    assert zp["refcount_delta"] == (14 if k == "2.6.23" else 0)  # 7 in the parent, 7 copied
    assert pages(r, proc="kid")[2] == "anon"
    assert pages(r)[2] == ("anon" if k == "2.6.24" else "zero")  # the parent never sees the child's write


@pytest.mark.parametrize("k", VARIANTS)
def test_fork_skips_vma_without_anon_vma(k):
    r = run(lesson(vma_toml() + steps(READ_ALL, 'do = "fork"\nchild = "kid"')), k)
    # read-only use never ran anon_vma_prepare (except 2.6.24, which allocates): copy_page_range skips it
    assert pages(r, proc="kid") == (["shared"] * 8 if k == "2.6.24" else ["none"] * 8)


@pytest.mark.parametrize("k", VARIANTS)
def test_dontneed_and_einval_when_locked(k):
    r = run(lesson(vma_toml() + steps(READ_ALL, 'do = "madvise"\nvma = "r"\nadvice = "dontneed"', READ_ALL,
                                      'do = "mlock"\nvma = "r"', 'do = "madvise"\nvma = "r"\nadvice = "dontneed"')), k)
    assert pages(r, 1) == ["none"] * 8
    assert pages(r, 2) == (["anon"] * 8 if k == "2.6.24" else ["zero"] * 8)
    assert r["steps"][4]["errno"] == "EINVAL" and pages(r) == ["anon"] * 8


@pytest.mark.parametrize("k", VARIANTS)
def test_gup_and_pins(k):
    def zp_after(args: str, prot: str = "rw") -> tuple[str, int]:
        r = run(lesson(vma_toml(4, prot) + steps(READ_ALL, f'do = "gup"\nvma = "r"\n{args}')), k)
        return pages(r)[0], r["final"]["zero_page"]["refcount_delta"]

    base = 4 if k == "2.6.23" else 0  # 2.6.23's read faults took one reference each
    if k == "2.6.24":
        assert zp_after("") == ("anon", 0)
        return
    assert zp_after("") == ("zero", base + 4)  # FOLL_GET raises the zero page's refcount
    assert zp_after("pin = true") == ("zero", 0 if k == "modern" else base + 4)
    assert zp_after("pin = true\nlongterm = true")[0] == ("anon" if k == "modern" else "zero")
    assert zp_after("write = true\nforce = true", prot="r")[0] == "anon"  # FOLL_FORCE write COWs


@pytest.mark.parametrize("k", VARIANTS)
def test_coredump_holes(k):
    r = run(lesson(vma_toml(6) + steps('do = "read"\nvma = "r"\npages = "2-3"', 'do = "write"\nvma = "r"\npages = 4',
                                       'do = "coredump"')), k)
    # 2.6.24's read faults made real pages (pages 2-3), which are written like any other
    assert r["steps"][2]["dump"] == ({"written": 3, "holes": 3} if k == "2.6.24" else {"written": 1, "holes": 5})


@pytest.mark.parametrize("k", VARIANTS)
def test_shared_anonymous_memory_has_no_zero_page(k):
    r = run(lesson(vma_toml(share="shared") + steps(READ_ALL)), k)
    assert pages(r) == ["shared"] * 8 and r["final"]["frames_used"] == 8


@pytest.mark.parametrize("k", VARIANTS)
def test_mprotect_window_segv_then_cow(k):
    r = run(lesson(vma_toml(4) + steps(READ_ALL, 'do = "mprotect"\nvma = "r"\nprot = "r"',
                                       'do = "write"\nvma = "r"\npages = 1', 'do = "mprotect"\nvma = "r"\nprot = "rw"',
                                       'do = "write"\nvma = "r"\npages = 1')), k)
    assert r["steps"][2]["signal"] == {"name": "SIGSEGV", "pages": [1]}
    assert r["steps"][2]["faults"] == 0
    assert pages(r)[1] == "anon"
    assert r["steps"][4]["fault_kinds"]["cow"] == 1  # the zero page (or 2.6.24's R/O page) is copied


@pytest.mark.parametrize("k", VARIANTS)
def test_munlock_and_munmap(k):
    text = lesson(vma_toml() + steps('do = "mlock"\nvma = "r"', 'do = "munmap"\nvma = "r"\npages = "4-7"',
                                     'do = "munlock"\nvma = "r"\npages = "0-3"', READ_ALL))
    r = run(text, k)
    v = vma(r, 2)
    assert v["pages"] == ["anon"] * 4 + ["unmapped"] * 4  # munlock keeps the pages, munmap drops them
    assert v["mlocked"] == [False] * 8 and v["vm_locked"] is False and v["locked_kb"] == 0
    assert r["steps"][3]["signal"] == {"name": "SIGSEGV", "pages": [4, 5, 6, 7]}
    assert r["final"]["frames_used"] == 4


@pytest.mark.parametrize("k", ["modern"])
def test_huge_zero_page(k):
    text = lesson(vma_toml(1024, thp=True) + steps('do = "read"\nvma = "r"\npages = 0',
                                                   'do = "write"\nvma = "r"\npages = 5'))
    r = run(text, k)
    v0, v1 = vma(r, 0), vma(r, 1)
    assert v0["pages"][:512] == ["zero"] * 512 and all(v0["huge"][:512]) and v0["pages"][512] == "none"
    assert v0["rss_kb"] == 0 and r["steps"][0]["fault_kinds"]["huge"] == 1
    assert v1["pages"][:512] == ["anon"] * 512 and all(v1["huge"][:512]) and v1["rss_kb"] == 2048
    assert r["final"]["huge_zero_page"]["refcount_delta"] == 1  # one reference per mm
    off = run(text.replace("cpus = 1", "cpus = 1\nthp_use_zero_page = false"), k)
    assert vma(off, 0)["pages"][:512] == ["anon"] * 512


@pytest.mark.parametrize("k", ["2.6.23", "2.6.24", "v5", "2.6.32"])
def test_thp_ignored_before_2_6_38(k):
    r = run(lesson(vma_toml(1024, thp=True) + steps('do = "read"\nvma = "r"\npages = 0')), k)
    assert vma(r)["huge"][0] is False and any("2.6.38" in n for n in r["notes"])


def test_bad_page_map_is_ratelimited():
    r = run(lesson(vma_toml(100) + steps(READ_ALL, 'do = "mlock"\nvma = "r"')), "v5")
    bad = [line for line in r["steps"][1]["log"] if line.startswith("BUG: Bad page map in process")]
    assert len(bad) == 60  # a burst of 60 a minute, then silence
    assert any("40 further" in n for n in r["notes"])


def test_every_huge_zero_read_gets_the_folio_and_sets_the_pmd():
    """6.18's do_huge_pmd_anonymous_page calls mm_get_huge_zero_folio at every huge zero read (it
    takes a reference only for the mm's first, MMF_HUGE_ZERO_FOLIO) and set_huge_zero_folio to map
    it: the second 2 MiB block's path names both, and its decision says no reference is taken."""
    from zpviz.engine.run import simulate
    from zpviz.scenario import loads

    text = lesson(vma_toml(1024, thp=True) + steps('do = "read"\nvma = "r"\npages = 0',
                                                   'do = "read"\nvma = "r"\npages = 700'))
    trace = simulate(loads(text, "t.toml"), "modern")
    first, second = (trace.path_of_event(trace.step_results[i].first_event) for i in (0, 1))
    for path in (first, second):
        assert path.functions[-2:] == ("mm_get_huge_zero_folio", "set_huge_zero_folio")
    assert "one reference" in first.decision and "none taken" in second.decision
