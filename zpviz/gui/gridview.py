"""The address space: one cell per virtual page, rows labelled with addresses, zoom and pan.

A single row-major ImageItem with fixed levels and one 256-entry LUT paints every page (at
262,144 pages that is one 512x513 uint8 image), GlyphItem adds letters once cells are big, and
a pixel-sized ring marks the page the current event touches so it shows at any zoom.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui.codeimage import CodeImageItem
from zpviz.gui.glyphs import GlyphItem
from zpviz.gui.itemcache import cache_drawing
from zpviz.gui.marks import MarksItem
from zpviz.gui.overview import OverviewItem
from zpviz.gui.ring import Ring
from zpviz.gui.theme import MONO, qcolor
from zpviz.present import pool
from zpviz.present.grid import GridLayout
from zpviz.present.palette import Theme, page_lut
from zpviz.present.zoom import zoom_cells

MAX_MARK_RUNS = 5000  # outlines drawn at most; a whole differing vma is one run per grid row
MARK_DOT_PX = 12  # the square that marks a differing run when its cells are tinier than this / 2


TITLE_MIN_PX = 12  # the least pixel size of a vma's title over its pages (about 9 pt: the room's minimum)


class AddressAxis(pg.AxisItem):
    """Left axis: the virtual address of each row of pages (ticks at row centres)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.cells: GridLayout | None = None  # not `grid`: AxisItem uses that name for grid lines
        self.names = False  # label each vma's first row with its name (titles are hidden)

    def set_names(self, on: bool) -> None:
        if on != self.names:
            self.names = on
            self.picture = None  # pyqtgraph caches the drawn axis
            self.update()

    def tickValues(self, minVal, maxVal, size):
        """Row centres, every `step` rows of each vma block (its first row always), >= 22 px apart."""
        g = self.cells
        minVal, maxVal = sorted((minVal, maxVal))  # an inverted view box hands them over reversed
        if g is None or size <= 0 or maxVal <= minVal:
            return []
        px_per_row = size / (maxVal - minVal)
        step = 1
        while step * px_per_row < 22:
            step *= 2
        vals: list[float] = []
        gap = 22 / px_per_row  # rows between labels, so small vmas' labels do not pile up
        for b in g.blocks:
            lo, hi = max(b.row0, int(minVal) - 1), min(b.row0 + b.nrows, int(maxVal) + 2)
            first = b.row0 + max(0, -(-(lo - b.row0) // step)) * step
            for r in range(first, hi, step):
                if not vals or r + 0.5 - vals[-1] >= gap:
                    vals.append(r + 0.5)
            if len(vals) > 400:
                break
        return [(float(step), vals)]

    def tickStrings(self, values, scale, spacing):
        if self.cells is None:
            return ["" for _ in values]
        out = []
        for v in values:
            row = int(np.floor(v))
            b = self.cells.block_at_row(row) if self.names else None
            if b is not None and row == b.row0:
                name = f"{b.proc_name}\u00b7{b.vma}"
                out.append(name if len(name) <= 13 else name[:12] + "\u2026")
                continue
            addr = self.cells.row_address(row)
            out.append(f"{addr:x}" if addr is not None else "")
        return out


class OffsetAxis(pg.AxisItem):
    """Top axis: each column's offset from the row's address."""

    def tickValues(self, minVal, maxVal, size):
        out = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            out.append((max(spacing, 1.0), [v + 0.5 for v in values if abs(v - round(v)) < 1e-6 and v >= 0]))
        return out

    def tickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            kb = int(np.floor(v)) * 4
            out.append(f"+{kb // 1024}M" if kb and kb % 1024 == 0 else f"+{kb}K")
        return out

    def boundingRect(self) -> QtCore.QRectF:
        """pyqtgraph's, a pixel wider all round: the axis line ends a pixel outside it, which a
        cached drawing (below) would cut; painted uncached, the margin only widens what Qt repaints."""
        return super().boundingRect().adjusted(-1, -1, 1, 1)


class AddressSpacePlot(pg.PlotItem):
    """The PlotItem holding the page grid; MemoryView owns hover, click and mapping lines."""

    def __init__(self, theme: Theme):
        self.addr_axis = AddressAxis("left")
        self.off_axis = OffsetAxis("top")
        super().__init__(axisItems={"left": self.addr_axis, "top": self.off_axis})
        # a PlotItem draws nothing itself (QGraphicsWidget.paint is empty, no auto-filled background):
        # said so, Qt no longer asks its Python boundingRect twice and calls its paint at every repaint
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        self.hideAxis("bottom")
        self.showAxis("top")
        cache_drawing(self.addr_axis)  # as a pixmap: replaying its labels cost ~0.15 ms a pane a frame
        cache_drawing(self.off_axis)  # (~0.07 ms a pane a paint, at every step)
        self.hideButtons()
        self.setMenuEnabled(False)
        vb = self.getViewBox()
        vb.setMenuEnabled(False)
        vb.invertY(True)
        vb.setAspectLocked(True)
        self.image = CodeImageItem(axisOrder="row-major", pooling=pool.PAGES)  # codes through the LUT, drawn as ARGB32
        self.image.setAutoDownsample(False)  # averaging codes would invent states
        self.addItem(self.image)
        self.flag_marks = MarksItem(self.image, theme)  # mlocked / huge hatching over the fill
        self.addItem(self.flag_marks)
        self.overview = OverviewItem(vb, self.image, theme)  # where a zoom is, in the whole grid
        self.glyphs = GlyphItem(theme)
        self.addItem(self.glyphs)
        self.hover = QtWidgets.QGraphicsRectItem(0, 0, 1, 1)
        self.hover.setVisible(False)
        self.addItem(self.hover, ignoreBounds=True)
        self.selection = QtWidgets.QGraphicsPathItem()
        self.addItem(self.selection, ignoreBounds=True)
        self.ring = Ring(26)
        self.addItem(self.ring, ignoreBounds=True)
        # cells that differ from the model (this machine's pane): an alert-coloured outline over a
        # wider one in the text colour, so it reads on every state colour (an orange outline alone
        # vanishes on anon pages) and still shows on a grey-scale projector
        self.marks_halo = QtWidgets.QGraphicsPathItem()
        self.marks = QtWidgets.QGraphicsPathItem()
        for z, item in ((20, self.marks_halo), (21, self.marks)):
            item.setZValue(z)
            self.addItem(item, ignoreBounds=True)
        # ... and when cells are too small for an outline to show, a pixel-sized square per run
        self.mark_dots = pg.ScatterPlotItem(pxMode=True, symbol="s", size=MARK_DOT_PX)
        self.mark_dots.setZValue(22)
        self.addItem(self.mark_dots, ignoreBounds=True)
        self._mark_runs = np.zeros((0, 3), np.int64)
        self.headers: list[pg.TextItem] = []
        self.grid: GridLayout | None = None
        self.theme = theme
        self.set_theme(theme)
        self.auto_view = True  # fit on resize until the user zooms or pans
        self.focus: tuple[int, int] | None = None  # slots the view fits instead of the whole grid (--zoom)
        self.peers: list[AddressSpacePlot] = [self]  # compare: the panes zoomed and panned together
        self._syncing = False
        vb.sigRangeChanged.connect(self._place_headers)
        vb.sigRangeChanged.connect(self._mark_mode)
        vb.sigResized.connect(self._fit)
        vb.sigResized.connect(self._place_headers)
        vb.sigResized.connect(self._mark_mode)
        vb.sigRangeChangedManually.connect(self._user_moved)
        vb.sigRangeChanged.connect(self._sync_peers)

    # ------------------------------------------------------------------ model
    def set_grid(self, grid: GridLayout) -> None:
        self.grid = grid
        self.addr_axis.cells = grid
        for t in self.headers:
            self.removeItem(t)
        self.headers = []
        for b in grid.blocks:
            t = pg.TextItem(b.title, anchor=(0, 1))
            t.setPos(0, b.row0)
            t.setZValue(5)
            self.addItem(t, ignoreBounds=True)
            self.headers.append(t)
        self.set_theme(self.theme)
        self.image.setImage(np.zeros((grid.height, grid.width), np.uint8), levels=(0, 255),
                            lut=page_lut(self.theme), autoLevels=False)
        # generous limits: panning never gets lost, yet fitting a tall or wide grid into an
        # aspect-locked view (which widens the other axis) is never clamped by them
        m = max(grid.width, grid.height) + 20
        vb = self.getViewBox()
        vb.setLimits(xMin=-m, xMax=grid.width + m, yMin=-m, yMax=grid.height + m, minXRange=4, minYRange=4)
        self.auto_view = True
        self._fit()  # the whole grid, or the zoom's slots in the new grid's rows

    def reset_view(self) -> None:
        """Fit the grid, pinned to the top left (aspect-locked views otherwise centre it)."""
        for p in self.peers:
            p.focus = None
            p.auto_view = True
        self._fit()

    def zoom_to(self, first: int, last: int) -> None:
        """Fit slots first..last (present.zoom), in this pane and its linked peers; kept as the grid's
        row width changes with the window, until the view is fitted again or the user moves it."""
        for p in self.peers:
            p.focus = (first, last)
            p.auto_view = True
        self._fit()

    HEAD_PX = 24  # room above the first row for the first vma's title, however small the cells

    def _fit_rect(self) -> QtCore.QRectF:
        """The cells to fit: the whole grid (with its first title's row), or the zoom's cells."""
        g = self.grid
        if self.focus is not None and g is not None and 0 <= self.focus[0] <= self.focus[1] < g.n_slots:
            r0, c0, r1, c1 = zoom_cells(*self.focus, g)
            return QtCore.QRectF(c0 - 0.2, r0 - 1.0, c1 - c0 + 0.4, r1 - r0 + 1.2)  # the row above: a title
        return QtCore.QRectF(-0.2, -0.6, g.width + 0.4, g.height + 0.6)

    def _fit_scale(self) -> float | None:
        """Device pixels per cell at which the cells to fit fill this view, None while it is too small."""
        g, vb = self.grid, self.getViewBox()
        w_px, h_px = vb.width(), vb.height()
        if g is None or w_px < 10 or h_px < 10 + self.HEAD_PX:
            return None
        r = self._fit_rect()
        return min(w_px / r.width(), (h_px - self.HEAD_PX) / r.height())

    def _fit(self, *args) -> None:
        g = self.grid
        if g is None or not self.auto_view:
            return
        vb = self.getViewBox()
        r = self._fit_rect()
        scales = [s for s in (p._fit_scale() for p in self.peers) if s is not None]
        if self._fit_scale() is None or not scales:
            vb.setRange(r, padding=0)
            return
        s = min(scales)  # linked panes share one scale: the one at which every pane shows the whole grid
        top = r.top() - max(0.0, self.HEAD_PX / s - 1.0)  # the header row itself already gives one row
        self.show_from(r.left(), top, s)
        self.auto_view = True  # setRange fired sigRangeChanged; this was not the user

    def show_from(self, left: float, top: float, px_per_cell: float) -> None:
        """Show the grid from (left, top) at px_per_cell: a range of exactly the view's own aspect, so
        the aspect lock never re-centres it (which cut off the first columns of linked panes)."""
        vb = self.getViewBox()
        if px_per_cell <= 0 or vb.width() <= 0 or vb.height() <= 0:
            return
        vb.setRange(QtCore.QRectF(left, top, vb.width() / px_per_cell, vb.height() / px_per_cell), padding=0)

    def link(self, peers: list[AddressSpacePlot]) -> None:
        """Zoom and pan these panes together, cell for cell: the same top-left cell and cell size."""
        for p in peers:
            p.peers = list(peers)
            p.overview.enabled = p is peers[0]  # one overview says where every linked pane is

    def _sync_peers(self, *args) -> None:
        if self._syncing or len(self.peers) < 2:
            return
        vb = self.getViewBox()
        vr = vb.viewRect()
        if vb.width() <= 0 or vr.width() <= 0:
            return
        s = vb.width() / vr.width()
        for p in self.peers:
            p._syncing = True
        try:
            for p in self.peers:
                if p is not self:
                    p.show_from(vr.left(), vr.top(), s)
                    p.auto_view = self.auto_view
        finally:
            for p in self.peers:
                p._syncing = False

    def _user_moved(self, *args) -> None:
        for p in self.peers:
            p.auto_view = False
            p.focus = None

    def set_codes(self, codes: np.ndarray) -> None:
        self.image.setImage(codes, levels=(0, 255), autoLevels=False)
        self.flag_marks.changed()
        self.overview.refresh()
        self.glyphs.set_codes(codes)

    def set_flash(self, cells: list[tuple[int, int]], alert: bool) -> None:
        colour = self.theme.alert if alert else self.theme.flash
        if len(cells) == 1:
            r, c = cells[0]
            self.ring.show_one(c + 0.5, r + 0.5, colour, 26, 3.5)
        else:
            self.ring.show_many([c + 0.5 for _, c in cells], [r + 0.5 for r, _ in cells], colour, 18, 3.5)

    def set_selection(self, cells: list[tuple[int, int]]) -> None:
        path = QtGui.QPainterPath()
        for r, c in cells[:2000]:
            path.addRect(QtCore.QRectF(c, r, 1, 1))
        self.selection.setPath(path)

    def set_marks(self, runs) -> None:
        """Outline runs of cells: rows of (row, first column, end column), as present.machine.mark_runs."""
        runs = runs[:MAX_MARK_RUNS]
        path = QtGui.QPainterPath()
        for r, c0, c1 in runs.tolist():
            path.addRect(QtCore.QRectF(c0, r, c1 - c0, 1))
        self.marks.setPath(path)
        self.marks_halo.setPath(path)
        self._mark_runs = runs
        row, first, end = runs.T  # (the columns of a run)
        self.mark_dots.setData((first + end) / 2.0, row + 0.5)
        self._mark_mode()

    def _mark_mode(self, *args) -> None:
        """Outlines once a cell is big enough to see one around it, pixel-sized squares below that."""
        vb = self.getViewBox()
        vr = vb.viewRect()
        cell_px = vb.width() / vr.width() if vr.width() > 0 else 0.0
        small = cell_px < MARK_DOT_PX / 2
        self.mark_dots.setVisible(small and len(self._mark_runs) > 0)
        self.marks.setVisible(not small)
        self.marks_halo.setVisible(not small)

    def set_hover(self, cell: tuple[int, int] | None) -> None:
        if cell is None:
            self.hover.setVisible(False)
            return
        r, c = cell
        self.hover.setRect(QtCore.QRectF(c, r, 1, 1))
        self.hover.setVisible(True)

    # ------------------------------------------------------------------ look
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.glyphs.set_theme(theme)
        self.flag_marks.set_theme(theme)
        self.overview.set_theme(theme)
        self.image.setLookupTable(page_lut(theme))
        fg, muted = qcolor(theme.fg), qcolor(theme.muted)
        tick_font = QtGui.QFont(MONO)
        tick_font.setPointSize(10)
        for ax in (self.addr_axis, self.off_axis):
            ax.setPen(pg.mkPen(qcolor(theme.grid)))
            ax.setTextPen(pg.mkPen(muted))
            ax.setStyle(tickFont=tick_font, tickLength=4)  # outward: a tick inside would cover pages
        self.addr_axis.setWidth(112)
        for ax in (self.addr_axis, self.off_axis):  # a new look or grid: their cached drawings go
            ax.picture = None
            ax.update()
        self.getViewBox().setBackgroundColor(qcolor(theme.panel))
        cosmetic = pg.mkPen(qcolor(theme.accent), width=2.5)
        self.hover.setPen(cosmetic)
        self.hover.setBrush(QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush))
        sel = pg.mkPen(qcolor(theme.fg), width=2)
        self.selection.setPen(sel)
        self.marks.setPen(pg.mkPen(qcolor(theme.alert), width=3))
        self.marks_halo.setPen(pg.mkPen(qcolor(theme.fg), width=7))
        self.mark_dots.setPen(pg.mkPen(qcolor(theme.alert), width=3))
        self.mark_dots.setBrush(pg.mkBrush(None))
        head_font = QtGui.QFont()
        head_font.setPointSize(11)
        head_font.setBold(True)
        for t in self.headers:
            t.setColor(fg)
            t.setFont(head_font)
            t.fill = pg.mkBrush(None)
        self._place_headers()

    @staticmethod
    def _title_within(block, f: QtGui.QFont, px: float) -> str:
        """The vma's title as it fits px: whole, or its name without the size (narrow compare
        panes), or that cut with an ellipsis; never running on into the next pane."""
        fm = QtGui.QFontMetrics(f)
        if px <= 0 or fm.horizontalAdvance(block.title) <= px:
            return block.title
        return fm.elidedText(block.name, QtCore.Qt.TextElideMode.ElideRight, int(px))

    def _place_headers(self, *args) -> None:
        """A vma's title sits in its header row, sized to fit it, so it never covers pages.

        When rows are too thin for a readable title, titles hide (but the first, which has the
        margin above the grid) and the address axis names each vma instead of its address.
        """
        if not self.headers or self.grid is None:
            return
        vb = self.getViewBox()
        vr = vb.viewRect()
        row_px = vb.height() / max(vr.height(), 1e-9) if vb.height() else 0.0
        size = int(min(15, row_px * 0.85))
        # below TITLE_MIN_PX a title is unreadable on a projector (lessons 10 and 11 at 720p drew 9 px
        # titles whose boxes spilled onto the row above): the address axis names the vmas instead
        roomy = size >= TITLE_MIN_PX
        self.addr_axis.set_names(not roomy and len(self.grid.blocks) > 1)  # one vma: its title shows
        last_y = -1e9
        for i, (t, b) in enumerate(zip(self.headers, self.grid.blocks)):
            y = vb.mapViewToDevice(QtCore.QPointF(0, b.row0)).y() if vb.width() else 0
            in_view = vr.top() - 1 <= b.row0 <= vr.bottom() + 1
            visible = in_view and (roomy or i == 0) and y - last_y >= 18
            t.setVisible(visible)
            if visible:
                last_y = y
                f = t.textItem.font()
                f.setPixelSize(size if roomy else 15)
                t.setFont(f)
                x0 = max(0.0, vr.left())
                room = (vr.right() - x0) * vb.width() / max(vr.width(), 1e-9) - 6  # px to the pane's edge
                inset = self.overview.inset()  # (zoomed: the whole grid's picture in the top-right corner)
                if not inset.isEmpty():  # (inset in the ViewBox's own pixels, as mapFromView gives)
                    at = vb.mapFromView(QtCore.QPointF(x0, b.row0))
                    if at.y() < inset.bottom() + 3:
                        room = min(room, inset.left() - 6 - at.x())
                text = self._title_within(b, f, room)
                if text != t.textItem.toPlainText():  # (this runs on every pan and zoom)
                    t.setText(text)
            t.setPos(max(0.0, vr.left()), b.row0)
