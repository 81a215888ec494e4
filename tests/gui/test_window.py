"""The main window against real lessons: what it shows at a frame, stepping, seeking, themes, hover."""

from __future__ import annotations

import numpy as np
import pytest

from zpviz.present import codes as K
from zpviz.present.palette import THEME_NAMES

from .conftest import SMALL


def picture(win):
    """What the memory views show now: page codes, frame codes and mapping lines of every pane."""
    out = []
    for p in win.panes:
        pic = p.view.picture
        out.append((pic.codes.copy(), pic.phys.copy(), pic.line_slots.tolist(), pic.flash_slots))
    return out


def same(a, b) -> bool:
    return all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) and x[2:] == y[2:] for x, y in zip(a, b))


def test_opens_at_frame_zero_with_caption_and_views(window):
    assert window.frame == 0 and window.frame_count() == len(window.lesson.lead)
    assert "Sparse reads" in window.windowTitle()
    assert window.caption.text()  # the lesson's summary before the first step
    assert len(window.panes) == 1 and window.panes[0].view.picture is not None
    assert not window.welcome.isVisible()


def test_step_shows_the_caption_kernel_path_and_counters(window):
    window.set_step(1)
    assert window.caption.text() == "Every read fault maps the same zero page."
    assert "Step 2 of 7" in window.caption.counter.text()
    assert "use_zero_page" in window.kernel_view.path_text()
    codes = window.panes[0].view.picture.codes
    assert ((codes & K.STATE_MASK) == 1 + 2).sum() == 128  # 128 zero-page cells
    assert window.bar.position.text().startswith(f"{window.frame:,}")


def test_stepping_back_and_seeking_give_the_same_picture_as_stepping_forward(window):
    forward = {}
    for f in range(0, 60):
        window.command("next") if f else window.set_frame(0)
        assert window.frame == f
        forward[f] = picture(window)
    for f in range(59, -1, -1):
        window.set_frame(f) if f == 59 else window.command("prev")
        assert window.frame == f and same(picture(window), forward[f]), f
    for f in (37, 3, 58, 0, 21):
        window.set_frame(f)
        assert same(picture(window), forward[f])


def test_bad_page_maps_flash_and_show_in_the_log(window):
    lead = window.lesson.lead
    bad = min(window.lesson.logs[0].lines, key=lambda ln: ln.event).event
    window.set_frame(bad + 1)
    pic = window.panes[0].view.picture
    assert pic.alert and pic.flash_slots
    assert "Bad page map" in window.kernel_view.log_text()
    assert lead.step_of_frame(bad + 1) == 4


@pytest.mark.parametrize("name", THEME_NAMES)
def test_themes_change_the_lut_and_palette(window, name):
    window.set_step(1)
    window.set_theme(name)
    img = window.render_image((1280, 720))
    assert img.width() == 1280 and not img.isNull()
    assert window.theme.name == name and window.theme_actions[name].isChecked()
    assert window.settings.value("theme") == name


def test_hover_and_click_inspect_a_page(window):
    window.set_step(1)
    text = window.hover_text(0)
    assert "address 0x" in text and "PTE  P - - A S" in text and "pfn 1" in text
    view = window.panes[0].view
    view.pageClicked.emit(0, False)
    assert window.selection == (0,)
    assert "128 PTEs map this frame" in window.inspector.text.text()
    view.pageClicked.emit(2, True)
    assert window.selection == (0, 2)
    assert window.panes[0].view.picture.line_slots.tolist() == [0, 2]
    window.escape()
    assert window.selection == ()


def test_mouse_hover_and_click_map_to_slots(window, qtbot):
    window.resize(1280, 720)
    window.render_image()
    view = window.panes[0].view
    pos = view.scene_pos_of_slot(6)
    assert view.slot_at_scene(pos) == 6
    with qtbot.waitSignal(view.pageHovered) as hovered:
        view._mouse_moved(pos)
    assert hovered.args == [6]


def test_zoom_changes_the_visible_range(window):
    window.render_image((1280, 720))
    before = window.panes[0].view.view_rect().width()
    window.zoom(0.5)
    assert window.panes[0].view.view_rect().width() < before * 0.75
    window.reset_zoom()
    assert window.panes[0].view.view_rect().width() == pytest.approx(before, rel=0.05)


def test_render_image_without_showing(make_window):
    win = make_window()
    win.set_step(3)
    img = win.render_image((1920, 1080))
    assert (img.width(), img.height()) == (1920, 1080)
    assert not win.isVisible()


def test_no_lesson_shows_a_welcome_not_an_empty_pane(make_window):
    win = make_window(path=None)
    assert win.lesson is None and "No lesson open" in win.welcome.text()
    win.command("next")  # harmless without a lesson
    img = win.render_image((1280, 720))
    assert not img.isNull()


def test_kernel_switch_keeps_the_step(make_window):
    win = make_window()
    win.set_step(3)
    win.set_kernel("2.6.24", sync=True)
    assert win.lesson.kernels == ("2.6.24",)
    assert win.lesson.lead.step_of_frame(win.frame) == 3
    assert win.kernel_actions["2.6.24"].isChecked()


def test_big_cells_get_glyphs(make_window):
    win = make_window(size=(1920, 1080))
    win.set_step(1)
    win.render_image((1920, 1080))
    assert win.panes[0].view.space.glyphs.cell_px() >= 15
    assert SMALL.exists()


def test_an_offscreen_window_does_not_restyle_the_app(qtbot, settings, qapp):
    from zpviz.gui.mainwindow import MainWindow

    before = qapp.styleSheet()
    win = MainWindow(theme="dark", settings=settings, offscreen=True)
    qtbot.addWidget(win)
    assert qapp.styleSheet() == before and "#1D1E21" in win.styleSheet()
    win.open_lesson(str(SMALL), "v5", sync=True)
    win.save_layout()
    assert settings.value("geometry") is None  # an export window never saves its layout
