"""Pixmap caches for graphics items that repaint unchanged, and the views that turn them off for SVG.

A frame moves a few items (the playhead, the bars, the page grid), yet Qt repaints a whole view,
and replaying an axis's tick labels or a wide line is what most of that repaint cost. An item
given `cache_drawing` keeps what it draws as a pixmap until the item itself changes (Qt redraws
it on update(), a new transform or a new size). Qt would blit that pixmap into any painter, so a
view holding such items mixes in `VectorSafeCaches`: while it paints for a device that is not
raster (QSvgGenerator, for SVG stills) the caches are off, and the axes and lines stay vectors.
"""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

CACHED = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
CACHED_KEY = 0x7A70  # QGraphicsItem.data() key marking the items cache_drawing cached
PIXMAP_CACHE_KB = 64 * 1024  # QPixmapCache's limit (the item caches live there)


def cache_drawing(item: QtWidgets.QGraphicsItem) -> None:
    """Keep what `item` draws as a pixmap until the item itself changes."""
    item.setCacheMode(CACHED)
    QtWidgets.QGraphicsItem.setData(item, CACHED_KEY, True)  # QGraphicsItem's: pyqtgraph items have their own setData
    # those pixmaps live in QPixmapCache (10 MiB by default); a window's worth at 4K would evict one
    # another every frame, and a cache that misses is slower than none
    if QtGui.QPixmapCache.cacheLimit() < PIXMAP_CACHE_KB:
        QtGui.QPixmapCache.setCacheLimit(PIXMAP_CACHE_KB)


class VectorSafeCaches:
    """Mixed into a QGraphicsView (before it in the bases) whose items use cache_drawing."""

    _caching = True

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        """A painter opened on the viewport first tells which device this paint goes to."""
        probe = QtGui.QPainter(self.viewport())
        self._cache_for(probe)
        probe.end()
        super().paintEvent(ev)

    def render(self, p: QtGui.QPainter, *args, **kw) -> None:
        """QGraphicsView.render: the scene straight into a painter (no paint event), as above."""
        self._cache_for(p)
        super().render(p, *args, **kw)

    def _cache_for(self, p: QtGui.QPainter) -> None:
        engine = p.paintEngine()
        raster = engine is not None and engine.type() == QtGui.QPaintEngine.Type.Raster
        if raster != self._caching:
            self._caching = raster
            mode = CACHED if raster else QtWidgets.QGraphicsItem.CacheMode.NoCache
            for item in self.scene().items():
                if QtWidgets.QGraphicsItem.data(item, CACHED_KEY):
                    item.setCacheMode(mode)
