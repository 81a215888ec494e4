"""A hidden window (a screenshot, an export) is laid out before its panes are arranged for a new
lesson, so each pane's grid is filled once for the area it is painted in, not first for a window
never laid out and then again (docs/startup.md, eleventh session)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

TOUR = Path(__file__).resolve().parents[2] / "scenarios" / "tour.toml"


def test_the_tours_screenshot_fills_each_panes_grid_once(qtbot, tmp_path, monkeypatch):
    from zpviz.gui import memview
    from zpviz.gui.app import _render
    from zpviz.gui.settings import MemorySettings

    fills: dict[int, list[int]] = {}
    set_layouts = memview.MemoryView.set_layouts

    def counted(self, grid, pl):
        fills.setdefault(id(self), []).append(grid.width)
        return set_layouts(self, grid, pl)

    monkeypatch.setattr(memview.MemoryView, "set_layouts", counted)
    out = tmp_path / "tour.png"
    assert _render(str(TOUR), None, None, None, str(out), "light", MemorySettings(), (1920, 1080)) == 0
    with Image.open(out) as img:
        assert img.size == (1920, 1080)
    assert len(fills) == 4, fills  # the tour's four variants, side by side
    assert all(widths == [128] for widths in fills.values()), fills  # (main: [64, 128] each)
