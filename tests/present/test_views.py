"""Kernel path, log, counters, physical memory, captions, inspector, timeline and the picture."""

from __future__ import annotations

import numpy as np

from zpviz.engine import constants as C
from zpviz.present import captions, inspect, kpath, physmem, series, timeline
from zpviz.present.grid import grid_layout
from zpviz.present.picture import picture_at, touched_slots
from zpviz.present.session import kernels_for, same_place


def test_event_view_names_the_path_and_the_decision(traces):
    tr = traces["v5"]
    g = grid_layout(tr.layout)
    assert kpath.event_view(tr, 0, g) is None
    ev = kpath.event_view(tr, tr.step_results[1].first_event + 1, g)
    assert ev.outcome == "zero page" and "do_anonymous_page" in ev.functions
    assert "use_zero_page" in ev.decision and ev.where.startswith("main \u00b7 table page")
    assert "CPU" in ev.headline() and " \u2192 " in ev.path_text()


def test_a_cow_of_the_zero_page_reads_copy_on_write_as_in_the_predict_panel(traces):
    """The kernel path said "outcome: copy" for a COW that clears a new page and copies nothing
    (seen on lesson 5 under 2.6.23); it says what the predict panel's answer says."""
    from zpviz.engine import events as E
    from zpviz.present.predict import option_text

    tr = traces["modern"]
    cows = [i for i, k in enumerate(tr.events["kind"]) if E.outcome(int(k)) == "copy"]
    assert cows, "the lesson has a COW fault"
    ev = kpath.event_view(tr, cows[0] + 1)
    assert ev.outcome == "copy-on-write" == option_text("copy")
    assert kpath.outcome_text("zero page") == "zero page"


def test_log_index_and_bad_page_maps(traces):
    tr = traces["v5"]
    logs = kpath.LogIndex(tr)
    assert logs.upto(0) == [] and logs.count_upto(len(tr)) == len(logs.lines) > 0
    bad = [ln for ln in logs.lines if ln.bad]
    assert bad and all("Bad page map" in ln.text for ln in bad)
    e = bad[0].event
    assert logs.upto(e) == [] or logs.upto(e)[-1].event < e
    assert logs.upto(e + 1)[-1].event == e
    ev = kpath.event_view(tr, e + 1)
    assert ev.bad and any("Bad page map" in x for x in ev.log)
    assert not kpath.LogIndex(traces["2.6.32"]).lines


def test_cpu_bars_and_series(traces):
    tr = traces["2.6.23"]
    b = series.cpu_bars(tr.frame(len(tr) - 1))
    assert b.ncpus == 4 and b.by_line.shape == (4, len(C.LINE_KIND_NAMES))
    assert b.by_line[:, C.LK_ZERO].sum() > 0  # 2.6.23 bounces the zero page's struct page line
    s = series.time_series(tr)
    assert s.n_frames == len(tr) and s.zp_transfers[0] == 0
    assert np.all(np.diff(s.zp_transfers) >= 0) and s.zp_transfers[-1] > 0
    assert len(s.makespan_ns) == len(tr.step_results) and (s.stall_ns >= 0).all()
    assert series.ns_text(1500) == "1.5 \u00b5s" and series.pages_text(256) == "1.0 MiB"


def test_physical_memory(traces):
    tr = traces["2.6.23"]
    f = tr.frame(tr.step_end_frame(1))
    pl = physmem.phys_layout(len(f.fkind))
    img = physmem.phys_image(f, pl)
    assert img.shape == (pl.height, pl.width)
    assert pl.cell_of(physmem.ZERO_PFN) is None and pl.cell_of(pl.lo) == (0, 0)
    tile = physmem.zero_tiles(f)[0]
    assert tile.ptes == 128 and tile.refcount == 128  # 2.6.23 takes a reference per mapping
    assert "128 PTEs" in tile.text() and "_count +128" in tile.text(short=True)
    slots = np.arange(0, 256)
    src, pfns = physmem.mapping_pairs(f, slots, limit=50)
    assert (pfns == physmem.ZERO_PFN).all()
    # too many lines: those whose slot's key is under the largest power of two that keeps at most
    # `limit` of them (a rule of the slot alone, so a line stays while pages are added)
    present = slots[(f.pte[slots] & C.PTE_P) != 0]
    assert len(present) == 128  # the read step mapped 128 of them
    keys = physmem.line_keys(present)
    level = physmem.line_level(keys, 50)
    assert src.tolist() == present[keys < 2 ** level].tolist()
    assert 0 < len(src) <= 50 < (keys < 2 ** (level + 1)).sum()  # the bound, and no lower power of two
    # playing on maps more pages: at the same level every line drawn before is still drawn
    few, _ = physmem.mapping_pairs(f, present[:70], limit=50)
    more, _ = physmem.mapping_pairs(f, present[:100], limit=50)
    assert physmem.line_level(physmem.line_keys(present[:70]), 50) == physmem.line_level(
        physmem.line_keys(present[:100]), 50) < 32
    assert len(more) > len(few) and few.tolist() == [s for s in more.tolist() if s in set(present[:70].tolist())]
    assert physmem.mapping_pairs(f, present[:40], limit=50)[0].tolist() == present[:40].tolist()  # all fit
    kept = physmem.mapping_pairs(f, slots, 50, physmem.line_keys(slots), physmem.key_bits(physmem.line_keys(slots)))
    assert kept[0].tolist() == src.tolist()  # the keys a caller keeps (picture.step_touches) change nothing


def test_huge_zero_page_tile(thp_trace):
    f = thp_trace.frame(thp_trace.step_end_frame(0))
    names = [t.name for t in physmem.zero_tiles(f)]
    assert names == ["ZERO_PAGE", "huge zero page"]
    assert physmem.is_huge_zero_pfn(int(f.pfn[3]))


def test_captions_and_presenter(traces):
    tr = traces["v5"]
    cap = captions.caption_at(tr, tr.step_end_frame(1))
    assert cap.step == 1 and cap.counter == "Step 2 of 7" and cap.checkpoint
    assert cap.say == "Every read fault maps the same zero page."
    assert "read table" in cap.detail and "CPUs 0-3" in cap.detail and "128 faults" in cap.detail
    assert captions.caption_at(tr, 0).step == -1
    info = captions.presenter_at(tr, tr.step_end_frame(0), 75, "10:30")
    assert info.notes.startswith("Ask:") and info.next_say.startswith("Every read") and info.elapsed == "01:15"
    assert captions.presenter_at(tr, len(tr) - 1, 0, "").next_say == "End of the lesson."
    assert captions.kernel_title(tr.kernel).startswith("v5")
    assert "7 steps" in captions.lesson_summary(tr)


def test_page_info(traces):
    tr = traces["2.6.23"]
    g = grid_layout(tr.layout)
    f = tr.frame(tr.step_end_frame(1))
    info = inspect.page_info(f, g, 0, tr.kernel.pg_mlocked)
    assert info.frame.pfn == physmem.ZERO_PFN and info.state == "zero page"
    assert info.pte == "P - - A -" and "address 0x" in info.text()
    none = inspect.page_info(f, g, 1, True)
    assert none.frame is None and none.state == "not present"


def test_timeline_marks(traces):
    tr = traces["v5"]
    m = timeline.marks_for(tr, (10,), (5, 20))
    assert len(m.fault) == sum(r.faults for r in tr.step_results)
    assert len(m.bad) > 0 and len(m.cow) > 0
    bins = timeline.binned(m, 100)
    assert bins["fault"].sum() == len(m.fault) and len(bins["cow"]) == 100
    assert timeline.frame_at(m, 0.0) == 0 and timeline.frame_at(m, 1.0) == len(tr) - 1
    assert abs(timeline.frac(m, len(tr) - 1) - 1.0) < 1e-9


def test_picture_and_touched_slots(lesson):
    tr = lesson.lead
    f = tr.step_results[1].first_event + 10
    touched = touched_slots(tr, f)
    assert len(touched) == 10 and set(touched.tolist()) <= set(range(0, 256, 2))
    pic = picture_at(lesson, 0, f)
    assert pic.flash_slots == (int(tr.events["slot"][f - 1]),) and not pic.alert
    assert (pic.line_pfns == physmem.ZERO_PFN).all() and len(pic.line_slots) == 10
    chosen = picture_at(lesson, 0, f, selected=(0, 1))
    assert chosen.line_slots.tolist() == [0]  # page 1 is not present: no line
    bare = picture_at(lesson, 0, f, phys=False)  # a view without the physical panel: the grid alone
    assert np.array_equal(bare.codes, pic.codes) and (bare.flash_slots, bare.alert) == (pic.flash_slots, pic.alert)
    assert bare.phys.size == 0 and bare.tiles == () and len(bare.line_slots) == len(bare.line_pfns) == 0


def test_touched_slots_at_every_frame_are_the_steps_first_touches_so_far(traces):
    """touched_slots keeps each step's first touches; any frame, visited in any order, gets what
    the step's events before it touched, in order of first touch."""
    for tr in traces.values():
        frames = list(range(len(tr)))
        for f in frames[::-1] + frames[::7]:  # backwards, then again (the kept steps)
            k = tr.step_of_frame(f)
            want: list[int] = []
            if k >= 0:
                for s in tr.events["slot"][tr.step_results[k].first_event:f].tolist():
                    if s >= 0 and s not in want:
                        want.append(s)
            assert touched_slots(tr, f).tolist() == want, (tr.kernel.id, f)


def test_session_kernels_and_reload_place(scenario, lesson):
    assert kernels_for(scenario) == ("v5",)
    assert kernels_for(scenario, "2.6.23") == ("2.6.23",)
    assert kernels_for(scenario, None, "2.6.23,2.6.24") == ("2.6.23", "2.6.24")
    assert kernels_for(scenario, "modern", ["2.6.23", "v5"]) == ("modern", "2.6.23", "v5")
    f = lesson.lead.step_end_frame(3)
    assert same_place(lesson, f, lesson) == f
    assert same_place(None, f, lesson) == 0
    assert lesson.aligned(f) == (f,)


def test_decimate_keeps_peaks():
    y = np.zeros(400_000, np.int64)
    y[123_457] = 99
    y[300_000:] = 5
    x, d = series.decimate(y, 1000)
    assert len(d) == 2000 and d.max() == 99 and d[-1] == 5 and x[0] == 0 and x[-1] == len(y) - 1
    assert np.all(np.diff(x) >= 0)
    x2, d2 = series.decimate(np.arange(10), 1000)
    assert np.array_equal(d2, np.arange(10)) and np.array_equal(x2, np.arange(10))


def test_zero_page_tile_under_2624_says_anonymous_memory_never_uses_it(scenario):
    """2.6.24 keeps its empty_zero_page, but no anonymous fault maps it: the tile said "0 PTEs map it",
    as if the run had not got there yet. It now says why nothing maps it; the other kernels' tiles
    keep their counts."""
    from zpviz.present.session import build_lesson

    lesson = build_lesson(scenario, "2.6.24", ("v5",))
    f = lesson.traces[0].step_end_frame(1)
    tile = picture_at(lesson, 0, f).tiles[0]
    assert tile.ptes == 0
    assert "not used for anonymous\nmemory since 2.6.24" in tile.text() and "PTEs" not in tile.text()
    assert "anonymous memory" in tile.text(short=True) and "_count +0" in tile.text(short=True)
    other = picture_at(lesson, 1, lesson.traces[1].step_end_frame(1)).tiles[0]
    assert other.ptes > 0 and f"{other.ptes:,} PTEs map it" in other.text()
