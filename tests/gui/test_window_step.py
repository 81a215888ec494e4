"""What a window step no longer redoes keeps the same pictures: the style's kept dock icons, the
compare table's cells left alone when unchanged (docs/speed.md, "A step of the window, cheaper")."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui import iconstyle
from zpviz.present.compare import Row

SP = QtWidgets.QStyle.StandardPixmap


def _image(icon: QtGui.QIcon, px: int) -> QtGui.QImage:
    return icon.pixmap(px, px).toImage().convertToFormat(QtGui.QImage.Format.Format_ARGB32)


@pytest.fixture
def fusion(qapp):
    """The application on plain Fusion for the test, and on the window's style after it. An
    application style sheet left by an earlier test's window is lifted meanwhile: under one, the
    application's style is Qt's style-sheet style, which install() rightly leaves alone (the test
    failed after tests/gui/test_paint_paths.py in one run)."""
    sheet = qapp.styleSheet()
    qapp.setStyleSheet("")
    qapp.setStyle(QtWidgets.QStyleFactory.create("Fusion"))
    yield qapp
    iconstyle.install()
    qapp.setStyleSheet(sheet)


def test_the_kept_icons_are_fusions_and_made_once(fusion):
    plain = QtWidgets.QStyleFactory.create("Fusion")
    style = iconstyle.CachedIconsStyle()
    for sp in iconstyle.KEPT:
        first = style.standardIcon(sp)
        assert not first.isNull()
        assert style.standardIcon(sp).cacheKey() == first.cacheKey()  # the same icon, not made again
        for px in (10, 16, 20):
            assert _image(first, px) == _image(plain.standardIcon(sp), px)
    arrow = style.standardIcon(SP.SP_ArrowBack)  # not kept: Fusion's own, made per call
    assert _image(arrow, 16) == _image(plain.standardIcon(SP.SP_ArrowBack), 16)


def test_install_makes_fusion_the_kept_icons_style_once(fusion):
    iconstyle.install()
    style = fusion.style()
    assert isinstance(style, iconstyle.CachedIconsStyle)
    iconstyle.install()
    assert fusion.style() is style  # not restyled again (that polishes every widget anew)


def test_a_dock_is_painted_alike_under_both_styles(fusion):
    win = QtWidgets.QMainWindow()
    for name in ("one", "two"):
        dock = QtWidgets.QDockWidget(name, win)
        dock.setWidget(QtWidgets.QLabel(f"the {name} dock"))
        win.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
    win.setStyleSheet("QDockWidget { font-size: 12pt; font-weight: bold; } QDockWidget::title { padding: 4px 8px; }")
    win.resize(400, 300)
    plain = win.grab().toImage()
    fusion.setStyle(iconstyle.CachedIconsStyle())
    kept = win.grab().toImage()
    assert kept == plain
    win.deleteLater()


def _rows(values: list[tuple[str, str]], differs: list[bool]) -> list[Row]:
    return [Row(f"row {i}", v, (0, 0), d, (True, False)) for i, (v, d) in enumerate(zip(values, differs))]


def _cells(table) -> list:
    out = []
    for i in range(table.rowCount()):
        for j in range(table.columnCount()):
            it = table.item(i, j)
            out.append((it.text(), it.font().bold(), it.font().pointSize(), it.background().style(),
                        it.background().color().name(QtGui.QColor.NameFormat.HexArgb)))
    return out


def test_the_compare_table_sets_only_changed_cells_and_shows_what_a_new_table_shows(qapp, monkeypatch):
    from zpviz.gui.compareview import DiffTable
    from zpviz.present.palette import THEMES

    kernels = ("v5", "modern")
    steps = [
        _rows([("1", "2"), ("3", "3")], [True, False]),
        _rows([("1", "2"), ("3", "4")], [True, True]),  # a cell's text and a row's look change
        _rows([("1", "2"), ("3", "4")], [True, True]),  # nothing changes
        _rows([("5", "2"), ("3", "4"), ("7", "7")], [True, True, False]),  # a new row
        _rows([("5", "2")], [False]),  # rows dropped, a row no longer differs
    ]
    table = DiffTable()
    table.set_theme(THEMES["light"])
    sets = []
    monkeypatch.setattr(QtWidgets.QTableWidgetItem, "setText",
                        lambda it, text, _orig=QtWidgets.QTableWidgetItem.setText: (sets.append(text), _orig(it, text)))
    for n, rows in enumerate(steps):
        sets.clear()
        table.set_rows(kernels, rows)
        mine = list(sets)
        fresh = DiffTable()
        fresh.set_theme(THEMES["light"])
        fresh.set_rows(kernels, rows)
        assert _cells(table) == _cells(fresh), n
        fresh.deleteLater()
        if n == 2:
            assert mine == []  # nothing changed: no cell set again
        if n == 1:
            assert mine == ["3", "4"]  # the row whose look changed, not the one that stayed
    table.set_theme(THEMES["dark"])
    table.set_rows(kernels, steps[0])  # a new theme colours the cells again
    fresh = DiffTable()
    fresh.set_theme(THEMES["dark"])
    fresh.set_rows(kernels, steps[0])
    assert _cells(table) == _cells(fresh)
    table.deleteLater()
    fresh.deleteLater()


def test_a_shown_window_repaints_all_a_step_changes(make_window, qtbot):
    """A shown window repaints only what each step made dirty (bench: window_step_shown_ms_median);
    after every step what it shows is the picture a full repaint gives: nothing is left stale."""
    from tests.gui.conftest import COMPARE

    win = make_window(COMPARE, kernel=None, size=(1280, 720))
    win.show()
    qtbot.waitExposed(win)
    app = QtWidgets.QApplication.instance()
    n = win.frame_count()
    assert n > 10
    for f in list(range(1, 8)) + [n // 2, n // 2 + 1, n - 1]:
        win.set_frame(f)
        for _ in range(3):
            app.processEvents()
        shown = win.screen().grabWindow(win.winId()).toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
        full = win.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
        assert shown.size() == full.size()
        assert shown == full, f


def test_a_shown_windows_step_is_one_repaint_pass(make_window, qtbot):
    """gui/onepass: the memory views' scenes each sent the window's repaint at once, one pass per
    view a step; with the filter, one pass takes all of the step's changes, and the screen shows
    what a full repaint shows. Without it (the filter removed), the passes come back."""
    from tests.gui.conftest import COMPARE

    win = make_window(COMPARE, kernel=None, size=(1280, 720))
    win.show()
    qtbot.waitExposed(win)
    app = QtWidgets.QApplication.instance()
    passes = []

    class Count(QtCore.QObject):  # installed last, so it sees each request before the one-pass filter
        def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt's name)
            if obj is win and ev.type() == QtCore.QEvent.Type.UpdateRequest and not win.one_pass._flushing:
                passes.append(1)
            return False

    count = Count(win)

    def step_passes(f: int) -> int:
        win.set_frame(f)
        win.installEventFilter(count)
        passes.clear()
        for _ in range(4):
            app.processEvents()
        win.removeEventFilter(count)
        return len(passes)

    n = win.frame_count()
    step_passes(n // 3)
    assert len(win.findChildren(QtWidgets.QGraphicsView)) >= 3
    merged = [step_passes(f) for f in range(n // 3 + 1, n // 3 + 6)]
    assert max(merged) == 1
    shown = win.screen().grabWindow(win.winId()).toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    assert shown == win.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    win.removeEventFilter(win.one_pass)
    apart = [step_passes(f) for f in range(n // 3 + 6, n // 3 + 11)]
    assert max(apart) >= 3  # one pass per memory view, as Qt does it


def test_the_widest_text_is_the_widest_of_the_widths_measured_one_by_one(qapp):
    """compareview.widest_text, the fit's one key look-up per font, gives what the widest of
    text_width over the texts gave, for new texts and measured ones, at several sizes."""
    from zpviz.gui.compareview import text_width, widest_text
    from zpviz.gui.theme import font

    texts = ["0", "21,568", "1.25k", "zero-page line", "Bad page maps", "W", "iiii", "960 PTEs"]
    for pt in (8, 11, 12):
        for bold in (False, True):
            f = font(pt, bold=bold)
            for some in (texts, texts[:3], texts[3:], ["W" * 9]):
                assert widest_text(f, some) == max(text_width(f, t) for t in some) > 0, (pt, bold, some)
    wide, narrow = font(12, bold=True), font(8)
    assert widest_text(wide, texts) > widest_text(narrow, texts)
