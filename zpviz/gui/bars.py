"""Bar items whose bounding rectangle is worked out again only when what it depends on changes."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore


class Bars(pg.BarGraphItem):
    """pyqtgraph's BarGraphItem, its boundingRect kept.

    The counters' eleven bar items are asked for their bounding rectangle four times each a paint
    of the view (Qt's scene walk, its drawing, the cache and exposure checks): ~44 calls a grab,
    each through pyqtgraph's `pixelVectors` (the item's device transform, inverted, two Points
    and their lengths), ~0.35 ms of a one-pane window's grab. BarGraphItem.boundingRect depends on
    the data's bounds (`_dataBounds`, made anew by each setOpts), the pens' widths (`_penWidth`)
    and, through pixelVectors, the linear part of the item's device transform: its scene
    transform's and the view's viewport transform's linear parts (pixelVectors drops the
    translation). The rectangle is kept while all of those are what it was worked out from.
    """

    _bounds_key: tuple | None = None
    _bounds = QtCore.QRectF()

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 (Qt's name)
        view = self.getViewWidget()
        if view is None:
            return super().boundingRect()
        st, vt = self.sceneTransform(), view.viewportTransform()
        key = (st.m11(), st.m12(), st.m21(), st.m22(), vt.m11(), vt.m12(), vt.m21(), vt.m22(),
               st.m13(), st.m23(), vt.m13(), vt.m23(),  # (projective parts: 0 for every transform here)
               self._dataBounds, tuple(self._penWidth))
        if key != self._bounds_key:
            self._bounds = super().boundingRect()
            self._bounds_key = key
        return QtCore.QRectF(self._bounds)
