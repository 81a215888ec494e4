"""Physical memory: a grid of frames coloured by kind, and a tile for the zero page (and the
huge zero page) big enough that many mapping lines visibly converge on one page."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.codeimage import CodeImageItem
from zpviz.gui.ring import Ring
from zpviz.gui.theme import qcolor
from zpviz.present import pool
from zpviz.present.codes import F_KIND_MASK, FRAME_KIND_NAMES
from zpviz.present.palette import Theme, frame_lut, luminance, rgb
from zpviz.present.physmem import PhysLayout, ZeroTile, is_huge_zero_pfn, is_zero_pfn


class PhysView(pg.ViewBox):
    def __init__(self, theme: Theme):
        super().__init__(enableMouse=False, enableMenu=False, invertY=True, lockAspect=True)
        self.image = CodeImageItem(axisOrder="row-major", pooling=pool.FRAMES)  # codes through the LUT, drawn as ARGB32
        self.image.setAutoDownsample(False)
        self.addItem(self.image)
        self.ring = Ring(20)
        self.addItem(self.ring, ignoreBounds=True)
        self.layout: PhysLayout | None = None
        self.theme = theme
        self._tiles: list[tuple[ZeroTile, QtWidgets.QGraphicsRectItem, pg.TextItem]] = []
        self._tile_pens: dict[tuple[str, int], QtGui.QPen] = {}  # (colour, width) -> the tiles' border pen
        self._tile_rows = 4
        self._form = (False, False)  # (short, one_line): the words the tiles say now (ZeroTile.text)
        self._fitted: tuple[int, ...] = ()  # the text lengths the font size was last fitted to
        self.sigResized.connect(self._fit_text)
        # the page tables' block is labelled: at 720p it is a brown slab nothing else names
        self.pt_label = pg.TextItem("", anchor=(0, 0))
        self.pt_label.setZValue(10)
        self._pt_html = ""  # what pt_label shows (setHtml of the same text redoes its layout)
        self.addItem(self.pt_label, ignoreBounds=True)

    def set_layout(self, pl: PhysLayout) -> None:
        self.layout = pl
        self._tile_rows = max(4, round(pl.width * 0.3))
        self.image.setImage(np.zeros((pl.height, pl.width), np.uint8), levels=(0, 255),
                            lut=frame_lut(self.theme), autoLevels=False)
        self._clear_tiles()
        self.setRange(QtCore.QRectF(0, -self._tile_rows - 1, pl.width, pl.height + self._tile_rows + 1),
                      padding=0.02)

    def _clear_tiles(self) -> None:
        for _, rect, text in self._tiles:
            self.removeItem(rect)
            self.removeItem(text)
        self._tiles = []

    def tile_rect(self, i: int, n: int) -> QtCore.QRectF:
        x0, w = self._tile_span()
        return QtCore.QRectF(x0 + i * w / n, -self._tile_rows - 1, w / n - (0.6 if n > 1 else 0), self._tile_rows)

    def _tile_span(self) -> tuple[float, float]:
        """Where the tiles lie across: over the frames' grid, or over all the view shows where that is
        wider. A lesson with few frames draws a narrow, tall grid, and a tile as narrow as it had its
        words at 9 px (lesson 9 at 720p, and predict mode's narrower view)."""
        w = float(self.layout.width if self.layout else 1)
        vr = self.viewRect()
        if self.width() <= 0 or vr.width() <= w * 1.05:
            return 0.0, w
        margin = vr.width() * 0.02
        return vr.left() + margin, vr.width() - 2 * margin

    def set_frame(self, codes: np.ndarray, tiles: tuple[ZeroTile, ...]) -> None:
        self.image.setImage(codes, levels=(0, 255), autoLevels=False)
        self._label_page_tables(codes)
        if [t.name for t, _, _ in self._tiles] != [t.name for t in tiles]:
            self._clear_tiles()
            for i, t in enumerate(tiles):
                rect = QtWidgets.QGraphicsRectItem(self.tile_rect(i, len(tiles)))
                text = pg.TextItem("", anchor=(0.5, 0.5))
                self.addItem(rect)
                self.addItem(text)
                self._tiles.append((t, rect, text))
            self._style_tiles()
        words = [t.text(*self._form) for t in tiles]
        for i, t in enumerate(tiles):
            _, rect, text = self._tiles[i]
            self._tiles[i] = (t, rect, text)
            text.setText(words[i])
            c = self.tile_rect(i, len(tiles)).center()
            text.setPos(c.x(), c.y())
        if tuple(map(len, words)) != self._fitted:
            self._fit_text()  # the counts gained a digit: fit the text again

    def _label_page_tables(self, codes: np.ndarray) -> None:
        """'page tables · N' at the first page-table frame (the grid's frames are in pfn order, so the
        page tables the lesson allocates form one block), hidden when there are none."""
        pt = (codes & F_KIND_MASK) == 1 + FRAME_KIND_NAMES.index("page table")
        n = int(np.count_nonzero(pt))  # (a bool array's sum() counts through int64: ~12x slower)
        self.pt_label.setVisible(n > 0)
        if not n:
            return
        r, c = np.unravel_index(int(np.argmax(pt)), pt.shape)
        # a swatch of the page tables' own colour: the label sits on the first page-table frame, often
        # beside a big block of data frames, and without it read as that block's name (lesson 3 at
        # 720p: "page tables · 6 frames" over 8 MiB of anon frames)
        swatch = self.theme.frame_kinds[FRAME_KIND_NAMES.index("page table")]
        html = (f'<span style="color:{swatch}">\u25a0</span> page tables \u00b7 '
                f"{n:,} frame{'s' if n != 1 else ''}")
        if html != self._pt_html:  # the same words most steps: setHtml lays the document out again
            self._pt_html = html
            self.pt_label.setHtml(html)
        self.pt_label.setPos(float(c), float(r))

    def _style_tiles(self) -> None:
        th = self.theme
        zero = th.frame_kinds[4]
        ink = "#111111" if luminance(rgb(zero)) > 0.35 else "#FFFFFF"
        f = QtGui.QFont()
        f.setPointSize(11)
        f.setBold(True)
        for _, rect, text in self._tiles:
            rect.setBrush(pg.mkBrush(qcolor(zero)))
            rect.setPen(pg.mkPen(qcolor(th.grid), width=2))
            text.setColor(qcolor(ink))
            text.setFont(f)
        self._fit_text()

    def _fit_text(self, *args) -> None:
        """TextItems ignore zoom: pick a pixel size at which the tile's widest line fits the tile as
        drawn now (the counts grow to 7 digits in a big lesson), and the short text, or one line, when
        the long one would come out below a readable size."""
        if not self._tiles or self.width() <= 0:
            return
        for i, (_, rect, text) in enumerate(self._tiles):  # the tiles follow the view's width
            r = self.tile_rect(i, len(self._tiles))
            if rect.rect() != r:
                rect.setRect(r)
                text.setPos(r.center().x(), r.center().y())
        vr = self.viewRect()
        px_per_unit = self.width() / max(vr.width(), 1e-9)
        tile_px = self.tile_rect(0, len(self._tiles)).width() * px_per_unit
        tile_h = self._tile_rows * px_per_unit
        probe = QtGui.QFont(self._tiles[0][2].textItem.font())
        probe.setPixelSize(100)
        metrics = QtGui.QFontMetricsF(probe)

        def fitting(form: tuple[bool, bool]) -> float:
            """The pixel size at which every line spans 90% of the tile and all its lines fit its height."""
            lines = [line for t, _, _ in self._tiles for line in t.text(*form).split("\n")]
            widest = max(metrics.horizontalAdvance(line) for line in lines)
            n = len(lines) // len(self._tiles)
            return min(17.0, 100 * 0.9 * tile_px / max(widest, 1.0), tile_h / (1.4 * n))

        # the long words, else the short ones, else one line (a flat tile: predict mode at 720p), at the
        # first form a room can read (12 px), or the form that comes out biggest
        forms = ((False, False), (True, False), (False, True))
        sizes = [fitting(f) for f in forms]
        best = next((i for i, x in enumerate(sizes) if x >= 12), max(range(3), key=lambda i: sizes[i]))
        self._form = forms[best]
        for t, _, text in self._tiles:
            text.setText(t.text(*self._form))
        self._fitted = tuple(len(t.text(*self._form)) for t, _, _ in self._tiles)
        size = int(max(7, sizes[best]))
        for _, _, text in self._tiles:
            f = text.textItem.font()
            f.setPixelSize(size)
            text.setFont(f)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        f = QtGui.QFont()
        f.setPointSize(11)
        f.setBold(True)
        self.pt_label.setFont(f)
        self.pt_label.setColor(qcolor(theme.fg))
        self.pt_label.fill = pg.mkBrush(qcolor(theme.panel, 215))  # readable over any frame colour
        self.image.setLookupTable(frame_lut(theme))
        self.setBackgroundColor(qcolor(theme.panel))
        self._style_tiles()

    def set_flash(self, pfns: tuple[int, ...], alert: bool) -> None:
        """A ring on a flashed frame; a zero-page tile flashes its border instead."""
        th = self.theme
        for t, rect, _ in self._tiles:
            hit = any((is_zero_pfn(p) if t.name == "ZERO_PAGE" else is_huge_zero_pfn(p)) for p in pfns)
            rect.setPen(self._tile_pen((th.alert if alert else th.flash) if hit else th.grid, 5 if hit else 2))
        pfns = tuple(p for p in pfns if self.layout and self.layout.cell_of(p) is not None)
        pts = [self.point_of(p) for p in pfns]
        pts = [p for p in pts if p is not None]
        colour = self.theme.alert if alert else self.theme.flash
        if len(pts) == 1:
            self.ring.show_one(pts[0].x(), pts[0].y(), colour, 20, 3)
        else:
            self.ring.show_many([p.x() for p in pts], [p.y() for p in pts], colour, 20, 3)

    def _tile_pen(self, colour: str, width: int) -> QtGui.QPen:
        """pg.mkPen(qcolor(colour), width=width), made once: every frame sets each tile's border
        (setPen of an equal pen changes nothing; making it was most of the cost)."""
        key = (colour, width)
        pen = self._tile_pens.get(key)
        if pen is None:
            if len(self._tile_pens) > 16:
                self._tile_pens.clear()
            pen = self._tile_pens[key] = pg.mkPen(qcolor(colour), width=width)
        return pen

    def point_of(self, pfn: int) -> QtCore.QPointF | None:
        """Where a frame is drawn, in this view's coordinates: a tile for the zero pages."""
        for i, (t, _, _) in enumerate(self._tiles):
            if (t.name == "ZERO_PAGE" and is_zero_pfn(pfn)) or (t.name != "ZERO_PAGE" and is_huge_zero_pfn(pfn)):
                r = self.tile_rect(i, len(self._tiles))
                return QtCore.QPointF(r.left(), r.center().y())
        if self.layout is None:
            return None
        cell = self.layout.cell_of(pfn)
        if cell is None:
            return None
        return QtCore.QPointF(cell[1] + 0.5, cell[0] + 0.5)

    def pfn_at(self, view_pos: QtCore.QPointF) -> int:
        for i, (t, _, _) in enumerate(self._tiles):
            if self.tile_rect(i, len(self._tiles)).contains(view_pos):
                return t.pfn
        if self.layout is None:
            return -1
        return self.layout.pfn_at(int(np.floor(view_pos.y())), int(np.floor(view_pos.x())))
