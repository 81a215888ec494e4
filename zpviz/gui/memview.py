"""MemoryView: the address space and physical memory side by side, with mapping lines between.

Mapping lines join selected virtual pages (or, with no selection, the pages the current step
has touched so far) to the frames their PTEs point at; a read step under a zero-page kernel
shows them all converging on the ZERO_PAGE tile. The lines live in scene coordinates, so they
are recomputed whenever either view pans, zooms or resizes.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from zpviz.gui import onepass
from zpviz.gui.fan import FanItem
from zpviz.gui.gridview import AddressSpacePlot
from zpviz.gui.itemcache import VectorSafeCaches
from zpviz.gui.physview import PhysView
from zpviz.gui.theme import qcolor
from zpviz.present import physmem
from zpviz.present.grid import GridLayout
from zpviz.present.palette import Theme
from zpviz.present.picture import Picture

# The width that shares the pane between the two views, in place of the physical title's own, which
# followed the memory used ("0 KiB" to "256 KiB" moved the split). The shortest amount: the address
# space keeps the most room it had (a 720p lesson 2 needs it for "scanner · table  (anon, 256 MiB)");
# the title at 1280x720 has some 312 px, enough up to "1000 KiB" and "4.0 MiB", and a longer amount
# ("1023.9 MiB", 328 px) runs a few pixels into the margins.
PHYS_TITLE_SHARE = "Physical memory \u00b7 0 KiB used"
MAX_LINES = 256  # mapping lines drawn at most (a stable sample beyond): more only thickens the fan


class TitleItem(pg.LabelItem):
    """A view's title that never widens the layout: a LabelItem makes its text's width the layout's
    minimum, so a long title (or a hidden one, in compare mode) pushed the physical view out past the
    pane's edge. This one is clipped instead."""

    share_text: str | None = None  # a text whose width is the preferred one, whatever the text shown

    def updateMin(self) -> None:
        super().updateMin()
        self.setMinimumWidth(0)
        hints = self._sizeHint
        hints[QtCore.Qt.SizeHint.MinimumSize] = (0, hints[QtCore.Qt.SizeHint.MinimumSize][1])
        if self.share_text is not None:  # the layout shares its row's width by the preferred ones
            hints[QtCore.Qt.SizeHint.PreferredSize] = (self._width_of(self.share_text),
                                                       hints[QtCore.Qt.SizeHint.PreferredSize][1])
        self.updateGeometry()

    _width_memo: tuple | None = None  # (what _width_of measured for, its width)

    def _width_of(self, text: str) -> float:
        """The width `text` takes in this label's style (its HTML with `text` in place of its own).
        Measured again only when the text, the style options, the font or the margin change: the
        physical title's text changes at nearly every frame (the memory used), its share does not,
        and laying out its HTML in a new document cost ~0.15 ms a frame of a scrub."""
        key = (text, bool(self.text), tuple(sorted((k, repr(v)) for k, v in self.opts.items())),
               self.item.font().toString(), self.item.document().documentMargin())
        if self._width_memo is not None and self._width_memo[0] == key:
            return self._width_memo[1]
        width = self._measure(text)
        self._width_memo = (key, width)
        return width

    def _measure(self, text: str) -> float:
        doc = QtGui.QTextDocument()
        doc.setDefaultFont(self.item.font())
        doc.setDocumentMargin(self.item.document().documentMargin())
        doc.setHtml(self.item.toHtml().replace(html.escape(self.text, quote=False), html.escape(text, quote=False), 1)
                    if self.text else text)
        return doc.size().width()


class MemoryView(VectorSafeCaches, pg.GraphicsLayoutWidget):
    pageHovered = QtCore.Signal(int)  # slot, -1 when off the grid
    pageClicked = QtCore.Signal(int, bool)  # slot, add to the selection (Shift)
    frameHovered = QtCore.Signal(int)  # pfn, -1 when off

    def __init__(self, theme: Theme, show_phys: bool = True, parent=None):
        super().__init__(parent=parent)
        self.theme = theme
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # keys belong to the transport
        self.ci.setContentsMargins(4, 4, 4, 4)
        self.ci.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)  # (the layout draws
        # nothing; see AddressSpacePlot)
        self.ci.setSpacing(6)
        self.space = AddressSpacePlot(theme)
        self.title = TitleItem("Address space")
        self.addItem(self.title, row=0, col=0)
        self.addItem(self.space, row=1, col=0)
        self.phys: PhysView | None = None
        self.phys_title = None
        if show_phys:
            self.phys_title = TitleItem("Physical memory")
            # its width does not follow the memory used: "0 KiB" and "256 KiB" shared the pane's width
            # between the two views differently, and the split moved between steps (the tour, modern)
            self.phys_title.share_text = PHYS_TITLE_SHARE
            self.addItem(self.phys_title, row=0, col=1)
            self.phys = PhysView(theme)
            self.addItem(self.phys, row=1, col=1)
            self.ci.layout.setColumnStretchFactor(0, 5)
            self.ci.layout.setColumnStretchFactor(1, 2)
        self.lines = FanItem()  # one translucent shape, drawn through a cached layer (see gui.fan)
        self.lines.setZValue(50)
        self.scene().addItem(self.lines)
        self.grid: GridLayout | None = None
        self.picture: Picture | None = None
        self._drawn: tuple | None = None  # (picture, _context()) the items were last set from
        self.selected: tuple[int, ...] = ()
        self._titles: tuple | None = None
        onepass.register(self)  # its scene's changes join the window's one repaint
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)
        vb = self.space.getViewBox()
        vb.sigRangeChanged.connect(self._update_lines)
        vb.sigResized.connect(self._update_lines)
        if self.phys is not None:
            self.phys.sigResized.connect(self._update_lines)
        self.set_theme(theme)

    # ------------------------------------------------------------------ model
    def set_layouts(self, grid: GridLayout, pl: physmem.PhysLayout | None) -> None:
        if grid is not self.grid:  # the old picture's slots mean nothing in the new grid (its lines would
            self.picture = None  # be redrawn against it as the view refits); the next frame brings one
            self.lines.clear()
        self._drawn = None
        self.grid = grid
        self.space.set_grid(grid)
        if self.phys is not None and pl is not None:
            self.phys.set_layout(pl)
        self.selected = ()
        self.space.set_selection([])

    def show_picture(self, pic: Picture) -> None:
        """Set the view's items from `pic`. A picture that shows what the view shows already (a
        compared variant waiting at the end of its step while the leader steps on), in a view whose
        grid, layouts, range and transforms have not changed, sets nothing: the items would repaint
        the same pixels (in a shown window, the whole plot at every step)."""
        context = self._context()  # (once: ~20 us a view, and _show changes none of it)
        if self._drawn is not None and self._drawn[1] == context and same_picture(pic, self._drawn[0]):
            self.picture = pic
            return
        self._show(pic)
        self._drawn = (pic, context)

    def _context(self) -> tuple:
        """What besides the picture decides what the items show: the layouts, the theme, the view's
        range and the transforms the mapping lines are drawn through."""
        vb = self.space.getViewBox()
        parts = (id(self.grid), id(self.theme), vb.viewRect(), vb.childTransform() * vb.sceneTransform())
        if self.phys is None:
            return parts
        return (*parts, id(self.phys.layout), self.phys.childTransform() * self.phys.sceneTransform(),
                self.phys.viewRect())

    def _show(self, pic: Picture) -> None:
        self.picture = pic
        self.space.set_codes(pic.codes)
        g = self.grid
        cells = [g.cell_of(s) for s in pic.flash_slots if g is not None and 0 <= s < g.n_slots]
        self.space.set_flash(cells, pic.alert)
        if self.phys is not None:
            self.phys.set_frame(pic.phys, pic.tiles)
            self.phys.set_flash(pic.flash_pfns, pic.alert)
        self._update_lines()

    def set_selection(self, slots: tuple[int, ...]) -> None:
        self.selected = tuple(slots)
        g = self.grid
        self.space.set_selection([g.cell_of(s) for s in slots] if g else [])

    def set_compact(self, compact: bool, axis: bool = True) -> None:
        """Compare mode: no per-view titles (the variant's title says it), the address axis only once."""
        for label in (self.title, self.phys_title):
            if label is not None:
                label.setVisible(not compact)
                label.setMaximumHeight(0 if compact else 40)
        self.space.showAxis("left", axis)

    def set_titles(self, space: str, phys: str = "") -> None:
        key = (space, phys, self.theme.fg)
        if key == self._titles:  # every frame asks; a LabelItem re-lays out its HTML even for the same text
            return
        self._titles = key
        self.title.setText(space, size="12pt", bold=True, color=self.theme.fg)
        if self.phys_title is not None:
            self.phys_title.setText(phys, size="12pt", bold=True, color=self.theme.fg)

    # ------------------------------------------------------------------ look
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(qcolor(theme.bg))
        self.space.set_theme(theme)
        if self.phys is not None:
            self.phys.set_theme(theme)
        pen = QtGui.QPen(qcolor(theme.accent, 150))
        pen.setWidthF(1.6)
        pen.setCosmetic(True)
        self.lines.setPen(pen)
        self._drawn = None  # every item in the new colours
        if self.picture is not None:
            self.show_picture(self.picture)

    def zoom(self, factor: float) -> None:
        """factor < 1 zooms in (as pyqtgraph's scaleBy)."""
        self.space.auto_view = False
        self.space.getViewBox().scaleBy((factor, factor))

    def reset_view(self) -> None:
        self.space.reset_view()

    def view_rect(self) -> QtCore.QRectF:
        return self.space.getViewBox().viewRect()

    # ------------------------------------------------------------------ lines
    def _update_lines(self, *args) -> None:
        pic = self.picture
        if pic is None or self.phys is None or self.grid is None or not len(pic.line_slots):
            self.lines.clear()
            return
        vb = self.space.getViewBox()
        vr = vb.viewRect()
        g = self.grid
        pen = self.lines.pen()  # many lines: fainter each, so the fan reads as one shape
        pen.setColor(qcolor(self.theme.accent, int(max(60, min(170, 900 / max(len(pic.line_slots), 1) ** 0.5)))))
        self.lines.setPen(pen)
        # one transform per view instead of a mapViewToScene per line: 400 lines at 262,144 pages
        ta = vb.childTransform() * vb.sceneTransform()  # what mapViewToScene applies, computed once
        tb = self.phys.childTransform() * self.phys.sceneTransform()
        rows, cols = np.divmod(g.slot_cell[pic.line_slots], g.width)
        xs, ys = cols + 0.5, rows + 0.5
        inside = (xs >= vr.left()) & (xs <= vr.right()) & (ys >= vr.top()) & (ys <= vr.bottom())
        shown = np.flatnonzero(inside)
        if len(shown) > MAX_LINES:  # a sample still reads as the fan, and paints in a fraction; the
            # stable rule (present.physmem) keeps a line while it shows, so the fan grows without
            # shimmering and the FanItem draws only the new lines onto its kept layer
            inside[shown[~physmem.stable_sample(pic.line_slots[shown], MAX_LINES)]] = False
        # the sources through ta with numpy (ta only scales and translates: no rotation in a ViewBox);
        # the targets are few (the zero page's tile, a handful of frames): mapped once per pfn
        if ta.type().value > QtGui.QTransform.TransformationType.TxScale.value:
            pts = [ta.map(QtCore.QPointF(x, y)) for x, y in zip(xs[inside].tolist(), ys[inside].tolist())]
            axs, ays = [q.x() for q in pts], [q.y() for q in pts]
        else:
            axs = (xs[inside] * ta.m11() + ta.dx()).tolist()
            ays = (ys[inside] * ta.m22() + ta.dy()).tolist()
        targets: dict[int, QtCore.QPointF | None] = {}
        ends = []
        for ax, ay, pfn in zip(axs, ays, pic.line_pfns[inside].tolist()):
            if pfn not in targets:
                dst = self.phys.point_of(pfn)
                targets[pfn] = tb.map(dst) if dst is not None else None
            b = targets[pfn]
            if b is not None:
                ends.append((ax, ay, b.x(), b.y()))
        self.lines.set_curves(ends)

    # ------------------------------------------------------------------ mouse
    def slot_at_scene(self, pos: QtCore.QPointF) -> int:
        vb = self.space.getViewBox()
        if self.grid is None or not vb.sceneBoundingRect().contains(pos):
            return -1
        p = vb.mapSceneToView(pos)
        return self.grid.slot_at(int(np.floor(p.y())), int(np.floor(p.x())))

    def pfn_at_scene(self, pos: QtCore.QPointF) -> int:
        if self.phys is None or not self.phys.sceneBoundingRect().contains(pos):
            return -1
        return self.phys.pfn_at(self.phys.mapSceneToView(pos))

    def scene_pos_of_slot(self, slot: int) -> QtCore.QPointF:
        r, c = self.grid.cell_of(slot)
        return self.space.getViewBox().mapViewToScene(QtCore.QPointF(c + 0.5, r + 0.5))

    def _mouse_moved(self, pos) -> None:
        slot = self.slot_at_scene(pos)
        self.space.set_hover(self.grid.cell_of(slot) if slot >= 0 else None)
        self.pageHovered.emit(slot)
        self.frameHovered.emit(self.pfn_at_scene(pos))

    def _mouse_clicked(self, ev) -> None:
        slot = self.slot_at_scene(ev.scenePos())
        if slot >= 0:
            add = bool(ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
            self.pageClicked.emit(slot, add)
            ev.accept()


def same_picture(a: Picture, b: Picture) -> bool:
    """Whether two pictures show the same (the frame they were made for aside)."""
    return (a.alert == b.alert and a.flash_slots == b.flash_slots and a.flash_pfns == b.flash_pfns
            and a.tiles == b.tiles and np.array_equal(a.codes, b.codes) and np.array_equal(a.phys, b.phys)
            and np.array_equal(a.line_slots, b.line_slots) and np.array_equal(a.line_pfns, b.line_pfns))
