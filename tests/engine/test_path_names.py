"""The kernel path dock names each variant's own functions: 6.18 has no page_add_new_anon_rmap,
cow_user_page or follow_page, and 2.6.x no try_grab_folio or wp_page_copy. The names come from the
policy's FunctionNames, and the fast paths (the bulk loop, the sweep) take them from the same
rules as the general path, so a big step shows what a small one shows."""

from __future__ import annotations

import pytest

from tests.engine.util import VARIANTS, lesson
from zpviz.engine.run import simulate
from zpviz.scenario import loads

# what each variant's do_anonymous_page and do_wp_page call for a new page, and its GUP of a page
NEW_PAGE = {
    "2.6.23": ("clear_user_highpage", "page_add_new_anon_rmap"),
    "2.6.24": ("clear_user_highpage", "page_add_new_anon_rmap"),
    "v5": ("clear_user_highpage", "page_add_new_anon_rmap"),
    "2.6.32": ("clear_user_highpage", "page_add_new_anon_rmap"),
    "modern": ("vma_alloc_zeroed_movable_folio", "folio_add_new_anon_rmap"),
}
GUP = {
    "2.6.23": ("get_user_pages", "follow_page", "get_page"),
    "2.6.24": ("get_user_pages", "__get_user_pages", "follow_page", "get_page"),
    "v5": ("get_user_pages", "__get_user_pages", "follow_page", "get_page"),
    "2.6.32": ("get_user_pages", "__get_user_pages", "follow_page", "get_page"),
    "modern": ("get_user_pages", "__get_user_pages", "follow_page_mask", "follow_page_pte", "try_grab_folio"),
}
ANACHRONISMS = {  # names that variant's tree does not have
    "2.6.23": {"__get_user_pages", "try_grab_folio", "wp_page_copy", "folio_add_new_anon_rmap", "reuse_swap_page"},
    "modern": {"page_add_new_anon_rmap", "cow_user_page", "follow_page", "get_page", "clear_user_highpage",
               "page_remove_rmap", "clear_huge_page", "do_linear_fault"},
}


def _paths(kernel: str, pages: int, cpus: int) -> dict[str, list[tuple[str, ...]]]:
    """Each step's distinct paths, for a read, a write of what was read, a write of fresh pages,
    a GUP (FOLL_GET) of read pages and a munmap of the written ones."""
    text = lesson(f"""
        [[vma]]
        name = "r"
        pages = {2 * pages + 8}
        [[step]]
        do = "read"
        vma = "r"
        pages = "0-{pages - 1}"
        cpus = {list(range(cpus))}
        [[step]]
        do = "write"
        vma = "r"
        pages = "0-{pages - 1}"
        cpus = {list(range(cpus))}
        [[step]]
        do = "write"
        vma = "r"
        pages = "{pages}-{2 * pages - 1}"
        cpus = {list(range(cpus))}
        [[step]]
        do = "read"
        vma = "r"
        pages = "{2 * pages}-{2 * pages + 7}"
        [[step]]
        do = "gup"
        vma = "r"
        pages = "{2 * pages}-{2 * pages + 7}"
        [[step]]
        do = "munmap"
        vma = "r"
        pages = "{pages}-{2 * pages - 1}"
        """, cpus=cpus)
    trace = simulate(loads(text, "t.toml"), kernel)
    out: dict[str, list[tuple[str, ...]]] = {}
    for name, r in zip(("read", "cow", "write", "read8", "gup", "munmap"), trace.step_results):
        ids = set(trace.events["path"][r.first_event:r.end_event].tolist())
        out[name] = sorted(tuple(trace.paths[i].functions) for i in ids)
    return out


@pytest.mark.parametrize("k", VARIANTS)
def test_each_variant_names_its_own_functions(k):
    small = _paths(k, 16, 1)
    new_page = NEW_PAGE[k]
    assert all(p[-2:] == new_page for p in small["write"]), small["write"]
    cows = [p for p in small["cow"] if p]  # (2.6.24's read mapped a writable page: the write takes no fault)
    assert bool(cows) == (k != "2.6.24")
    for p in cows:
        assert p[-2:] == new_page or k == "v5" and p[-2:] == ("cow_user_page", "page_add_new_anon_rmap"), p
        assert ("wp_page_copy" in p) == (k == "modern"), p
    assert any(p[-len(GUP[k]):] == GUP[k] for p in small["gup"]), small["gup"]
    assert any(p and p[-1] == ("folio_remove_rmap_ptes" if k == "modern" else "page_remove_rmap")
               for p in small["munmap"]), small["munmap"]
    used = {f for paths in small.values() for p in paths for f in p}
    assert not used & ANACHRONISMS.get(k, set())


@pytest.mark.parametrize("k", VARIANTS)
def test_the_fast_paths_name_what_the_general_path_names(k):
    """A 4-CPU step of 9,000 pages runs on the fast paths (bulk loop, sweep); a 16-page step of one
    CPU on the general path: the same paths, but for the vma's first fault, which prepares the
    anon_vma in one of them only."""
    small, big = _paths(k, 16, 1), _paths(k, 9000, 4)
    for step in ("read", "cow", "write"):
        assert set(big[step]) == set(small[step]), step


@pytest.mark.parametrize("k", VARIANTS)
def test_mlock_and_munlock_enter_as_the_variant_does(k):
    """2.6's munlock() is do_mlock(start, len, 0); 6.18's goes to apply_vma_lock_flags directly."""
    text = lesson("""
        [[vma]]
        name = "r"
        pages = 8
        [[step]]
        do = "mlock"
        vma = "r"
        [[step]]
        do = "munlock"
        vma = "r"
        """)
    trace = simulate(loads(text, "t.toml"), k)
    lock, unlock = (tuple(trace.path_of_event(trace.step_results[i].first_event).functions) for i in (0, 1))
    assert lock[0] == "do_mlock" and lock[-1] == "mlock_fixup"
    assert unlock == (("apply_vma_lock_flags", "mlock_fixup") if k == "modern" else ("do_mlock", "mlock_fixup"))
