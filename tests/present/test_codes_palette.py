"""Cell codes and the palettes: every code coloured, states distinct in colour AND in lightness."""

from __future__ import annotations

import numpy as np
import pytest

from zpviz.engine import constants as C
from zpviz.present import codes as K
from zpviz.present import palette as P


@pytest.mark.parametrize("name", P.THEME_NAMES)
def test_luts_are_256_rgba_uint8_with_transparent_gaps(name):
    t = P.theme(name)
    for lut in (P.page_lut(t), P.frame_lut(t)):
        assert lut.shape == (256, 4) and lut.dtype == np.uint8
        assert lut[0, 3] == 0  # gap / no frame: the panel shows through
    lut = P.page_lut(t)
    for s in range(K.N_STATES):
        assert lut[1 + s, 3] == 255


@pytest.mark.parametrize("name", P.THEME_NAMES)
def test_page_states_differ_in_colour_and_grey(name):
    """A grey-scale projector must still tell zero, anon, shared and file apart (and from empty)."""
    t = P.theme(name)
    lut = P.page_lut(t)
    greys = [P.lightness(tuple(int(v) for v in lut[1 + s, :3])) for s in range(1, K.N_STATES)]  # none..file
    colours = {tuple(lut[1 + s, :3]) for s in range(K.N_STATES)}
    assert len(colours) == K.N_STATES
    assert np.diff(sorted(greys)).min() >= 10, greys


@pytest.mark.parametrize("name", P.THEME_NAMES)
def test_flash_alert_and_flags_change_the_colour(name):
    t = P.theme(name)
    lut = P.page_lut(t)
    anon = 1 + C.ST_ANON
    for bit in (K.HUGE, K.MLOCKED, K.FLASH, K.ALERT | K.FLASH):
        assert tuple(lut[anon | bit, :3]) != tuple(lut[anon, :3])
    assert tuple(lut[anon | K.FLASH | K.ALERT, :3]) == P.rgb(t.alert)


def test_glyphs_name_every_state_and_flag():
    g = P.glyph_table(P.theme("light"))
    assert g[1 + C.ST_ZERO].text == "0" and g[1 + C.ST_ANON].text == "A" and g[1 + C.ST_FILE].text == "F"
    assert g[(1 + C.ST_ZERO) | K.SPECIAL].badges == "s"
    assert set(g[(1 + C.ST_ANON) | K.MLOCKED | K.HUGE].badges) == {"L", "H"}
    assert g[0].text == ""


def test_legend_codes_are_valid_and_labelled():
    assert {e.label for e in P.LEGEND} >= {"not present", "zero page", "anon", "shared", "file", "mlocked",
                                           "huge", "Bad page map"}
    for e in P.LEGEND:
        assert K.state_of(e.code) >= 0


def test_theme_names_and_aliases():
    assert P.theme("high-contrast").name == "contrast"
    assert P.theme(None).name == "light"
    with pytest.raises(ValueError, match="valid"):
        P.theme("sepia")


def test_slot_codes_match_page_states(traces):
    tr = traces["v5"]
    f = tr.frame(len(tr) - 1)
    codes = K.slot_codes(f, tr.kernel.pg_mlocked)
    states = f.page_states()
    assert np.array_equal((codes & K.STATE_MASK) - 1, states)
    assert np.array_equal((codes & K.MLOCKED) != 0, f.page_mlocked(True))
    special = ((f.pte & C.PTE_S) != 0) & ((f.pte & C.PTE_P) != 0)
    assert np.array_equal((codes & K.SPECIAL) != 0, special)


def test_zero_pages_are_special_under_v5_but_refcounted_under_2623(traces):
    after_reads = {k: t.frame(t.step_end_frame(1)) for k, t in traces.items()}
    for k, f in after_reads.items():
        codes = K.slot_codes(f, traces[k].kernel.pg_mlocked)
        zero = (codes & K.STATE_MASK) == 1 + C.ST_ZERO
        if k == "2.6.24":
            assert not zero.any()
            continue
        assert zero.sum() == 128
        assert ((codes[zero] & K.SPECIAL) != 0).all() == (k != "2.6.23")


def test_huge_codes(thp_trace):
    f = thp_trace.frame(thp_trace.step_end_frame(0))
    codes = K.slot_codes(f)
    assert ((codes & K.HUGE) != 0).sum() == 1024
    assert K.describe(int(codes[0])).startswith("zero page, huge")


def test_frame_codes(traces):
    tr = traces["2.6.24"]
    f = tr.frame(len(tr) - 1)
    c = K.frame_codes(f)
    assert c.dtype == np.uint8 and len(c) == len(f.fkind)
    assert (c & K.F_KIND_MASK)[1] == 1 + C.FK_ZERO
    assert ((c & K.F_KIND_MASK) == 1 + C.FK_ANON).sum() > 0


def test_describe():
    assert K.describe(0) == "no page"
    assert K.describe(1 + C.ST_NONE) == "not present"
    assert K.describe((1 + C.ST_ANON) | K.MLOCKED) == "anon, mlocked"
