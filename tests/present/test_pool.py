"""Max pooling of cell codes (present.pool): the highest state of a block, its flags OR-ed."""

from __future__ import annotations

import numpy as np

from zpviz.engine import constants as C
from zpviz.present import codes as K
from zpviz.present import pool
from zpviz.present.zoom import parse_zoom

NONE, ZERO, ANON, SHARED, FILE = (1 + s for s in (C.ST_NONE, C.ST_ZERO, C.ST_ANON, C.ST_SHARED, C.ST_FILE))


def test_highest_state_wins_in_its_order():
    order = [K.GAP, 1 + C.ST_UNMAPPED, NONE, K.UNKNOWN, FILE, SHARED, ANON, ZERO]
    for i, low in enumerate(order):
        for high in order[i:]:
            block = np.array([[low, high], [low, low]], np.uint8)
            assert pool.PAGES.pool(block, 2, 2)[0, 0] == high, (low, high)


def test_flags_of_any_page_are_kept_and_sparse_states_survive():
    codes = np.full((8, 512), NONE, np.uint8)
    codes[:, ::64] = ANON  # 1 page in 64, aligned with the rows
    codes[3, 5] |= K.MLOCKED
    codes[6, 300] = FILE | K.HUGE
    out = pool.PAGES.pool(codes, 3, 5)  # factors that do not divide the grid: the edges pad with gaps
    assert out.shape == (3, 103)
    for r, c in zip(*np.nonzero(codes & K.STATE_MASK == ANON)):
        assert out[r // 3, c // 5] & K.STATE_MASK == ANON
    assert out[1, 1] & K.MLOCKED and not out[0, 1] & K.MLOCKED
    assert out[2, 60] & K.HUGE and out[2, 60] & K.STATE_MASK == FILE
    assert (out & K.STATE_MASK != K.GAP).all()  # a padded block still holds real cells here


def test_frames_pool_by_kind():
    zero, free = 1 + K.FRAME_KIND_NAMES.index("zero"), 1 + K.FRAME_KIND_NAMES.index("free")
    pt = 1 + K.FRAME_KIND_NAMES.index("page table")
    block = np.array([[free, pt], [free, zero]], np.uint8)
    assert pool.FRAMES.pool(block, 2, 2)[0, 0] == zero
    assert pool.FRAMES.pool(block[:1], 1, 2)[0, 0] == pt


def test_factor_gives_every_pooled_cell_two_pixels():
    assert pool.factor(pool.OWN_PIXEL_PX) == 1 and pool.factor(3.0) == 1
    for px in (1.9, 1.05, 0.9, 0.6, 0.25, 0.07):
        f = pool.factor(px)
        assert f * px >= pool.MIN_CELL_PX and (f - 1) * px < pool.MIN_CELL_PX


def test_zoom_spec_parsing():
    z = parse_zoom("table:0-511")
    assert (z.vma, z.first, z.last) == ("table", 0, 511)
    assert parse_zoom("scanner.table").first is None
    for bad in ("table:a", "table:9-2", ":3", ""):
        try:
            parse_zoom(bad)
        except ValueError as e:
            assert "--zoom" in str(e)
        else:
            raise AssertionError(bad)
