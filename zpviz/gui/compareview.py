"""Compare mode: one MemoryView per kernel variant side by side, and the table of what differs."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.memview import MemoryView
from zpviz.gui.panewords import FitLines, PaneWords
from zpviz.gui.theme import BASE_PT, font, qcolor
from zpviz.present.compare import Row
from zpviz.present.palette import Theme

_WIDTHS: dict[str, tuple[QtGui.QFontMetrics, dict[str, int]]] = {}  # font key -> (metrics, text -> px)


def text_width(f: QtGui.QFont, text: str) -> int:
    """horizontalAdvance of text in f, measured once per font and text: the compare table's fit
    measures every value at every candidate size at each step, where a step changes a few values
    (~280 measures a step on the tour, ~8 us each). The font's key names family, size and weight;
    the application font's family changing gives new keys."""
    fm, widths = _measures(f)
    w = widths.get(text)
    if w is None:
        if len(widths) >= 4096:
            widths.clear()
        w = widths[text] = fm.horizontalAdvance(text)
    return w


def widest_text(f: QtGui.QFont, texts) -> int:
    """max(text_width(f, t) for t in texts), with the font's key worked out once, not per text
    (QFont.key() builds a string: ~26 keys a step of the tour's compare table for nothing)."""
    fm, widths = _measures(f)
    best = 0
    for text in texts:
        w = widths.get(text)
        if w is None:
            if len(widths) >= 4096:
                widths.clear()
            w = widths[text] = fm.horizontalAdvance(text)
        best = max(best, w)
    return best


def _measures(f: QtGui.QFont) -> tuple[QtGui.QFontMetrics, dict[str, int]]:
    key = f.key()
    per = _WIDTHS.get(key)
    if per is None:
        if len(_WIDTHS) >= 32:
            _WIDTHS.clear()
        per = _WIDTHS[key] = (QtGui.QFontMetrics(f), {})
    return per


def metrics(f: QtGui.QFont) -> QtGui.QFontMetrics:
    """QFontMetrics(f), made once per font key (see text_width): the compare table's fit asks for
    the same few fonts' metrics at every step."""
    return _measures(f)[0]


class FitLabel(QtWidgets.QLabel):
    """A title that shows all its words where it can. Too long for one line at `pt`, it is set
    smaller, down to `shared_min_pt`; still too long, it breaks after its "id:" onto two lines, at
    the size (from pt down to `min_pt`) that leaves the most titles of its set whole; a line that
    still does not fit is cut with an ellipsis. Five variant titles side by side on a 1280 px
    projector need this; a plain QLabel just clips ("2.6.24: ZERO_PAGE remov"). Labels given the
    same `peers` list share the size and the number of lines, so the titles read as a set and the
    grids below them start level."""

    def __init__(self, pt: int, min_pt: int = 10, shared_min_pt: int = 12, bold: bool = True,
                 peers: list | None = None, parent=None):
        super().__init__(parent)
        self._full = ""
        self._shown: tuple | None = None  # (pt, lines, width, text) last shown
        self._pt, self._min_pt, self._shared_min = pt, min_pt, shared_min_pt
        self._bold = bold
        self.peers = peers if peers is not None else []
        self.peers.append(self)
        self.setMinimumWidth(40)  # a long title must not widen its pane
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        self._show(pt, 1)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        if text == self._full:  # every frame sets it; a fit measures all its peers' titles at many sizes
            return
        self._full = text
        self._fit_all()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_all()

    def _width(self) -> int:
        return max(1, self.width() - 2)

    def _lines(self, n: int) -> list[str]:
        """The text as n lines: whole, or "2.6.24:" over "ZERO_PAGE removed"."""
        head, sep, rest = self._full.partition(": ")
        return [head + ":", rest] if n > 1 and sep and rest else [self._full]

    def _fits(self, pt: int, n: int) -> bool:
        fm, w = QtGui.QFontMetrics(font(pt, bold=self._bold)), self._width()
        return all(fm.horizontalAdvance(t) <= w for t in self._lines(n))

    def _fit_all(self) -> None:
        shown = [x for x in self.peers if x._full and not x.isHidden()] or [self]
        for pt in range(self._pt, self._shared_min - 1, -1):
            if all(x._fits(pt, 1) for x in shown):
                self._show_all(pt, 1)
                return
        # two lines, at the size that leaves the most titles whole (the largest such): a title too
        # long even at min_pt is cut, and a few short ones do not keep the rest cut at a big size
        sizes = range(self._pt, self._min_pt - 1, -1)
        pt = max(sizes, key=lambda pt: (sum(x._fits(pt, 2) for x in shown), pt))
        self._show_all(pt, 2)

    def _show_all(self, pt: int, n: int) -> None:
        for x in self.peers:
            x._show(pt, n)

    def _show(self, pt: int, n: int) -> None:
        shown = (pt, n, self._width(), self._full)
        if shown == self._shown:  # each label's resize refits the set: most calls change nothing
            return
        self._shown = shown
        f = font(pt, bold=self._bold)
        self.setFont(f)
        fm = QtGui.QFontMetrics(f)
        self.setFixedHeight(fm.lineSpacing() * n + 4)
        super().setText("\n".join(fm.elidedText(t, QtCore.Qt.TextElideMode.ElideRight, self._width())
                                  for t in self._lines(n)))


class VariantPane(QtWidgets.QWidget):
    """A variant's title, its status (the step's outcome once done, else what its current event did),
    its own caption and its MemoryView.

    The MemoryView (a few pyqtgraph plots: a tenth of a second each to build) is made when first
    used, so the panes that wait for their variant cost nothing before the first picture is up;
    on_view(view) is called when it is made (the window connects its signals there)."""

    def __init__(self, theme: Theme, show_phys: bool, title_peers: list | None = None, parent=None,
                 words_peers: list | None = None, on_view=None):
        super().__init__(parent)
        self.show_phys = show_phys
        self._theme = theme
        self._view: MemoryView | None = None
        self._on_view = on_view
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.title = FitLabel(14, peers=title_peers)  # the panes' titles share one size
        lay.addWidget(self.title)
        self.words = PaneWords(peers=words_peers)  # this variant's own caption (below its outcome line)
        self.status = FitLines(max_lines=2)  # two lines at most, cut visibly at any width
        self.status.setFont(font(11))
        self.status.setMinimumWidth(40)
        # two lines always, so the grids of all variants start at the same height
        self.status.setFixedHeight(self.status.fontMetrics().lineSpacing() * 2 + 4)
        self.status.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.status)
        lay.addWidget(self.words)
        self.waiting = self._build_waiting()
        lay.addWidget(self.waiting, 1)

    @property
    def view(self) -> MemoryView:
        if self._view is None:
            self._view = MemoryView(self._theme, show_phys=self.show_phys)
            self._view.set_theme(self._theme)
            self.layout().insertWidget(3, self._view, 1)  # title, status, words, then the view
            self._view.setVisible(not self.is_waiting)
            if self._on_view is not None:
                self._on_view(self._view)
        return self._view

    @property
    def has_view(self) -> bool:
        return self._view is not None

    def _build_waiting(self) -> QtWidgets.QWidget:
        """What the pane shows while its variant is still being simulated: what is happening and a
        busy bar, where the memory view will be."""
        w = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(w)
        lay.addStretch(1)
        self.waiting_text = QtWidgets.QLabel()
        self.waiting_text.setFont(font(13))
        self.waiting_text.setWordWrap(True)
        self.waiting_text.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.waiting_text)
        self.waiting_bar = QtWidgets.QProgressBar()
        self.waiting_bar.setRange(0, 0)  # the engine reports no fraction: a busy bar
        self.waiting_bar.setTextVisible(False)
        self.waiting_bar.setMaximumWidth(220)
        lay.addWidget(self.waiting_bar, 0, QtCore.Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(1)
        w.hide()
        return w

    @property
    def is_waiting(self) -> bool:
        return not self.waiting.isHidden()

    def set_waiting(self, text: str | None) -> None:
        """text: the variant is not ready yet, say so in place of its memory view; None: it is ready."""
        if text is None:
            self.waiting.hide()
            self.view.show()
            return
        self.waiting_text.setText(text)
        if self._view is not None:
            self._view.hide()
        self.waiting.show()

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        if self._view is not None:
            self._view.set_theme(theme)
        self.title.setStyleSheet(f"color: {theme.accent};")
        self.status.setStyleSheet(f"color: {theme.fg};")
        self.words.set_theme(theme)
        self.waiting_text.setStyleSheet(f"color: {theme.fg};")


# the line-moves row sums the zero page's and the huge zero page's lines: named "ZERO_PAGE", it said 4
# moves beside a ZERO_PAGE tile at _count +0 in lesson 23, where the 4 were the huge zero page's
SHORT = {"memory used": "memory", "zero-page line transfers so far": "zero-page line moves so far",
         "time so far (the makespans of every step)": "time so far", "Bad page maps so far": "Bad page maps so far"}
COLUMN_PX = 80  # what a value needs ("236.1 µs" in bold) before the names must give up width


class DiffTable(QtWidgets.QTableWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        # rows as tall as their name's lines, no taller: ResizeToContents padded each to 30-66 px and a
        # 720p dock showed five of seven rows ("time so far" needed scrolling, lessons 2 and 9)
        self.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setMinimumSectionSize(8)  # the style's least (22 px) padded one-line rows
        self.setWordWrap(False)  # a value is one line: "474.7 µs" wrapped onto two in a 720p dock
        self.setTextElideMode(QtCore.Qt.TextElideMode.ElideNone)
        self.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.setFont(font(12))
        self.verticalHeader().setFont(font(11, bold=True))
        self.horizontalHeader().setFont(font(12, bold=True))
        self.setSizeAdjustPolicy(QtWidgets.QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.theme: Theme | None = None
        self._labels: list[str] = []
        self._names_px = 0  # the row names' width on one line (measured when they change)
        self._fitted: tuple | None = None  # (compact, variants) the headers were last set for
        self._value_fit: tuple | None = None  # (widest values, column px) the value font was last set for
        self._value_pt = 12
        self._least_h = 0  # all the rows' height with the header (minimumSizeHint)
        self._name_pt = self._head_pt = BASE_PT
        self._rows: list[Row] = []
        self._cells: dict[tuple[int, int], tuple] = {}  # (row, column) -> what set_rows last set there
        self._compact: tuple | None = None  # (what _compact_name_pt depends on, its answer) last asked

    def set_rows(self, kernels: tuple[str, ...], rows: list[Row]) -> None:
        if (self.columnCount(), self.rowCount()) != (len(kernels), len(rows)):
            self._cells = {}  # items go with the rows and columns dropped: set every cell anew
        self.setColumnCount(len(kernels))
        self.setRowCount(len(rows))
        if [self.horizontalHeaderItem(j).text() if self.horizontalHeaderItem(j) else None
                for j in range(len(kernels))] != list(kernels):
            self.setHorizontalHeaderLabels(list(kernels))
        labels = [r.label for r in rows]
        if labels != self._labels:
            fm = QtGui.QFontMetrics(font(BASE_PT, bold=True))  # the theme's header font
            self._names_px = max((fm.horizontalAdvance(SHORT.get(x, x)) for x in labels), default=0) + 16
            self._labels, self._fitted = labels, None
        self._fit()
        self._rows = rows
        self._fit_values()
        bold, plain = font(self._value_pt, bold=True), font(self._value_pt)
        cells = self._cells
        for i, r in enumerate(rows):
            for j, v in enumerate(r.values):
                # a cell set before with the same text, look and font is left alone: each setter
                # tells the view its cell changed (a step changes a few of the 28 cells)
                look = (v, r.differs, r.differs and bool(r.best[j]), self._value_pt, self.theme)
                if cells.get((i, j)) == look:
                    continue
                it = self.item(i, j)
                if it is None:
                    it = QtWidgets.QTableWidgetItem()
                    it.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                    self.setItem(i, j, it)
                cells[i, j] = look
                it.setText(v)
                it.setFont(bold if r.differs else plain)
                if r.differs and self.theme is not None:
                    it.setForeground(QtGui.QBrush(qcolor(self.theme.fg)))
                    it.setBackground(QtGui.QBrush(qcolor(self.theme.accent, 70 if r.best[j] else 25)))
                else:
                    it.setBackground(QtGui.QBrush())

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        """No shorter than all its rows: the dock then gives it the room to show every row."""
        s = super().minimumSizeHint()
        return QtCore.QSize(s.width(), max(s.height(), self._least_h))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit()
        if self._fit_values():
            self._set_value_fonts()
        else:
            self._fit_rows()  # a new height: the rows' padding may have to give way

    VALUE_PT = (12, 8)  # the values' size where there is room, and the least a room can read

    def _fit_values(self) -> bool:
        """The largest size (VALUE_PT) at which every value fits its column on one line, bold (the
        differing rows are bold). True when it changed."""
        rows = self._rows
        n = self.columnCount()
        if not rows or not n:
            return False
        widest = tuple(sorted({v for r in rows for v in r.values}, key=len)[-3:])
        col = min(self.columnWidth(c) for c in range(n)) - 6
        if self._value_fit == (widest, col):
            return False
        self._value_fit = (widest, col)
        hi, lo = self.VALUE_PT
        pt = next((pt for pt in range(hi, lo - 1, -1)
                   if widest_text(font(pt, bold=True), widest) <= col), lo)
        changed, self._value_pt = pt != self._value_pt, pt
        self._fit_rows()
        return changed

    def _set_value_fonts(self) -> None:
        bold, plain = font(self._value_pt, bold=True), font(self._value_pt)
        for i, r in enumerate(self._rows):
            for j in range(len(r.values)):
                it = self.item(i, j)
                if it is not None:
                    it.setFont(bold if r.differs else plain)

    def _fit_rows(self) -> None:
        """Each row as tall as its name's lines (or one value line), and the table no shorter than all
        its rows, so the dock gives it the room to show every row rather than a scroll bar."""
        names = self.verticalHeader()
        name_fm = QtGui.QFontMetrics(font(self._name_pt, bold=True))
        name_px = name_fm.lineSpacing()
        widest = max((name_fm.horizontalAdvance(line) for i in range(self.rowCount())
                      if (it := self.verticalHeaderItem(i)) is not None for line in it.text().split("\n")), default=0)
        if widest:  # measured at the size the style sheet sets: the header's own hint used the bigger font
            names.setFixedWidth(widest + 10)
        value_px = QtGui.QFontMetrics(font(self._value_pt, bold=True)).lineSpacing()
        lines = [(it.text().count("\n") + 1 if (it := self.verticalHeaderItem(i)) is not None else 1)
                 for i in range(self.rowCount())]
        head_fm = QtGui.QFontMetrics(font(self._head_pt, bold=True))
        head = head_fm.height() + 10  # its 4 px padding; fixed, so the least height counts it right
        if self.horizontalHeader().height() != head:
            self.horizontalHeader().setFixedHeight(head)
        natural = sum(max(n * name_px, value_px) + 4 for n in lines)
        least = natural + head + 2 * self.frameWidth()
        if least != self._least_h:  # (a hint, not setMinimumHeight: a HintHolder passes hints on)
            self._least_h = least
            self.updateGeometry()
        # the dock can still be a little shorter than that (the wrapped summary under the table takes
        # more than its layout asks): the rows give up their padding before any row is scrolled away
        room = self.height() - head - 2 * self.frameWidth()
        pad = next((p for p in range(4, -1, -1) if sum(max(n * name_px, value_px) + p for n in lines) <= room), 0)
        for i, n in enumerate(lines):
            h = max(n * name_px, value_px) + pad
            if names.sectionSize(i) != h:
                names.resizeSection(i, h)

    def _fit(self) -> None:
        """Row names on one line and the kernel ids at full size where the dock is wide enough; where
        it is not (five variants in a 720p window), long names on two lines and the ids smaller, so
        the values keep their width. Set only when that changes: a style sheet costs a re-polish."""
        n = self.columnCount()
        if not n or not self._labels:
            return
        compact = self.width() - self._names_px < n * COLUMN_PX
        name_pt = self._compact_name_pt(n) if compact else BASE_PT
        if self._fitted == (compact, n, name_pt):
            return
        self._fitted = (compact, n, name_pt)
        self.setVerticalHeaderLabels([self._name(x, compact) for x in self._labels])
        for i, x in enumerate(self._labels):
            self.verticalHeaderItem(i).setToolTip(x)
        head_pt = self._head_pt = BASE_PT if not compact else 10 if n <= 4 else 8  # ("modern", whole in five)
        # (the theme's style sheet owns header fonts, so the size goes in one too)
        self.horizontalHeader().setStyleSheet(f"QHeaderView::section {{ font-size: {head_pt}pt; padding: 4px 1px; }}")
        self._name_pt = name_pt
        self.verticalHeader().setStyleSheet(f"QHeaderView::section {{ font-size: {self._name_pt}pt; "
                                            "padding: 0px 3px; }")
        self._fit_rows()

    def _compact_name_pt(self, n: int) -> int:
        """The wrapped names' size: 9 pt, or up to 11 where the values keep their full size beside them
        (the values are what the room reads) and, once the table is laid out, all the rows stay within
        its height: a 1080p dock has room for 11 pt, five kernels' values in a 720p dock do not."""
        names = [self._name(x, True) for x in self._labels]
        values = set(v for r in self._rows for v in r.values) or {"0"}
        frame = 2 * self.frameWidth()
        # asked at every step: the answer depends on these alone (QFont() stands for the application
        # font the theme's fonts start from); a step of the tour often changes none of them
        key = (tuple(names), frozenset(values), self.width(), self.height(), frame, self._head_pt, n,
               QtGui.QFont().key())
        if self._compact is not None and self._compact[0] == key:
            return self._compact[1]
        pt = self._compact_name_pt_for(n, names, values, frame)
        self._compact = (key, pt)
        return pt

    def _compact_name_pt_for(self, n: int, names: list[str], values: set[str], frame: int) -> int:
        widest: dict[int, int] = {}  # the widest value at each size, measured once a call (one font each)

        def name_w(pt: int) -> int:
            f = font(pt, bold=True)
            return widest_text(f, [line for x in names for line in x.split("\n")]) + 10

        def widest_value(v: int) -> int:
            if v not in widest:
                f = font(v, bold=True)
                widest[v] = widest_text(f, values)
            return widest[v]

        def value_pt(pt: int) -> int:  # the values' size beside names of size pt
            col = (self.width() - frame - name_w(pt)) / n - 6
            hi, lo = self.VALUE_PT
            return next((v for v in range(hi, lo - 1, -1) if widest_value(v) <= col), lo)

        least = BASE_PT - 3
        want = self.VALUE_PT[0]  # the names grow only beside values at their full size
        for pt in (BASE_PT - 1, BASE_PT - 2):
            if value_pt(pt) < want:
                continue
            fm = metrics(font(pt, bold=True))
            head = metrics(font(self._head_pt, bold=True)).height() + 10
            value_px = metrics(font(want, bold=True)).lineSpacing()
            rows = sum(max((x.count("\n") + 1) * fm.lineSpacing(), value_px) + 4 for x in names)
            if rows + head + frame <= self.height():
                return pt
        return least

    NARROW_CHARS = 14  # a compact row name's longest line ("zero-page line", "Bad page maps")

    @staticmethod
    def _name(label: str, compact: bool) -> str:
        """The row's name; where the dock is narrow, wrapped at spaces into lines of at most
        NARROW_CHARS characters (a longer word stays whole), so the values keep their width:
        "zero-page line moves so far" becomes three short lines, not two long ones."""
        name = SHORT.get(label, label)
        if not compact or " " not in name:
            return name
        lines: list[str] = []
        for word in name.split(" "):
            if lines and len(lines[-1]) + 1 + len(word) <= DiffTable.NARROW_CHARS:
                lines[-1] += " " + word
            else:
                lines.append(word)
        return "\n".join(lines)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme

    def cell_text(self, row: int, col: int) -> str:
        it = self.item(row, col)
        return it.text() if it else ""
