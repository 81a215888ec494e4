"""The address-space grid: every slot in exactly one cell, addresses per row, layout per lesson."""

from __future__ import annotations

import numpy as np
import pytest

from zpviz.present import codes as K
from zpviz.present import grid as G
from zpviz.present.arrange import arrange


@pytest.mark.parametrize("width", G.WIDTHS)
def test_every_slot_has_one_cell(traces, width):
    layout = traces["v5"].layout
    g = G.grid_layout(layout, width)
    assert g.height == G.grid_height(layout, width)
    used = g.cell_slot[g.cell_slot >= 0]
    assert sorted(used.tolist()) == list(range(layout.n_slots))
    for slot in (0, 17, layout.n_slots - 1):
        r, c = g.cell_of(slot)
        assert g.slot_at(r, c) == slot
    assert g.slot_at(-1, 0) == -1 and g.slot_at(0, width) == -1


def test_rows_carry_addresses_and_headers(traces):
    layout = traces["v5"].layout
    g = G.grid_layout(layout, 32)
    b = g.blocks[0]
    assert g.row_address(b.row0) == b.vpage0 << 12
    assert g.row_address(b.row0 + 1) == (b.vpage0 + 32) << 12
    assert g.row_address(b.header_row) is None
    assert g.slot_address(5) == (b.vpage0 + 5) << 12
    assert "table" in b.title and "1 MiB" in b.title
    assert [x.proc_name for x in g.blocks] == ["main", "main", "child", "child"]
    assert g.block_at_row(b.row0) is b and g.block_of_slot(10**9) is None


def test_frame_image_scatters_codes_and_flash(traces):
    tr = traces["v5"]
    g = G.grid_layout(tr.layout)
    f = tr.frame(tr.step_end_frame(1))
    img = G.frame_image(f, g, True, flash=(4,), alert=True)
    assert img.shape == (g.height, g.width) and img.dtype == np.uint8
    assert (img.reshape(-1)[g.cell_slot < 0] == K.GAP).all()
    r, c = g.cell_of(4)
    assert img[r, c] & K.FLASH and img[r, c] & K.ALERT
    r, c = g.cell_of(2)
    assert K.describe(int(img[r, c])) == "zero page, special PTE"


@pytest.mark.parametrize("width", G.WIDTHS)
def test_codes_copied_per_vma_are_the_scatter_through_slot_cell(traces, width):
    """GridLayout.codes copies each vma's run of cells; the image is the scatter through slot_cell,
    and a layout whose slot_cell is not those runs (or has too many) scatters."""
    g = G.grid_layout(traces["v5"].layout, width)
    sc = np.random.default_rng(width).integers(1, 256, g.n_slots).astype(np.uint8)
    plain = np.zeros(g.height * g.width, np.uint8)
    plain[g.slot_cell] = sc
    assert g._runs is not None and len(g._runs) == len(g.blocks)
    assert np.array_equal(g.codes(sc).reshape(-1), plain)
    swapped = g.slot_cell.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    other = G.GridLayout(g.width, g.height, g.blocks, g.cell_slot, swapped)
    assert other._runs is None
    plain[swapped] = sc
    assert np.array_equal(other.codes(sc).reshape(-1), plain)


def test_choose_width_and_arrangement(traces):
    layout = traces["v5"].layout
    assert G.choose_width(layout) in G.WIDTHS
    one = arrange(layout, 1, 1200, 600)
    assert not one.stacked and one.phys and one.cell_px > 8
    five = arrange(layout, 5, 1200, 600)
    assert not five.phys  # five narrow panes: no room for physical memory
    tall = arrange(layout, 2, 500, 1400)
    assert tall.stacked
    # five stacked in a 720p window's area would need more height than it has: never chosen
    assert arrange(layout, 5, 300, 1400).stacked
    assert not arrange(layout, 5, 300, 500).stacked


def test_size_and_address_text():
    assert G.size_text(256) == "1 MiB"
    assert G.size_text(3) == "12 KiB"
    assert G.size_text(262144) == "1 GiB"
    assert G.address_text(0x7F0000200000) == "0x7f0000200000"
