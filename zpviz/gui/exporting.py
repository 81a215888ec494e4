"""Ctrl+E: export what the window shows. PNG is this window's own picture, as it is now; GIF,
MP4 and SVG go through zpviz.export (the same offscreen window class, so the same pictures),
with a progress dialog that can cancel."""

from __future__ import annotations

import os

from PySide6 import QtCore, QtWidgets

from zpviz.gui.lessonio import save_image_atomic


def export_options(win, path: str):
    """zpviz.export's options for the lesson, variants, theme and step the window shows now."""
    from zpviz.export.job import ExportOptions

    L = win.lesson
    step = L.lead.step_of_frame(win.frame)
    still = path.lower().endswith((".png", ".svg"))
    return ExportOptions(lesson=win.path or L.scenario.path, out=path, kernel=L.kernels[0],
                         compare=L.kernels if L.compare else None, theme=win.theme.name,
                         step=max(step, 0) if still else None)


def export_lesson(win, path: str) -> str:
    """Write `path`; returns a line for the status bar. Raises on failure (the caller shows a banner)."""
    if path.lower().endswith(".png"):
        save_image_atomic(win.render_image(), path)  # exactly what is on screen
        return f"Saved {path}"
    from zpviz.export.job import export
    from zpviz.export.safe import ExportCancelled

    dlg = QtWidgets.QProgressDialog(f"Exporting {os.path.basename(path)} ...", "Cancel", 0, 100, win)
    dlg.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    dlg.setMinimumDuration(300)

    def progress(done: int, total: int) -> None:
        dlg.setMaximum(max(total, 1))
        dlg.setValue(min(done, max(total, 1)))
        QtWidgets.QApplication.processEvents()

    try:
        result = export(export_options(win, path), lesson=win.lesson, progress=progress,
                        cancelled=dlg.wasCanceled)
    except ExportCancelled:
        return "Export cancelled"
    finally:
        dlg.reset()
        dlg.deleteLater()
    return f"Exported {result.path} ({result.frames} frame{'s' if result.frames != 1 else ''})"
