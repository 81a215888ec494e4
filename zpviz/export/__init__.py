"""Export what the window shows: MP4 and GIF animations, PNG and SVG stills, numbered PNG frames.

The exporter renders the app's own MainWindow offscreen (QT_QPA_PLATFORM=offscreen, no display
needed), so a frame of an export is the window's picture at that moment; it never draws the
lesson a second time. Modules:

    timeline  which lesson frame each output frame shows (pure; the lesson's hold times)
    job       ExportOptions -> export() -> ExportResult: lesson, window, frames, writers
    render    driving a window offscreen and taking its pictures; window: the MainWindow to drive
    mp4, gif, png, svg   the writers;  safe: atomic writes;  progress: the command line's bar
    cli       `zpviz export ...`;  dialog: the app's one export flow (options, then progress with
              Cancel), which the launcher hands the window as its `exporter` hook (export_window)

Importing this package does not import Qt; the functions below import what they need.
"""

from __future__ import annotations

from zpviz.export.safe import ExportCancelled, ExportError

__all__ = ["ExportCancelled", "ExportError", "ExportOptions", "export", "export_window", "export_with_dialog"]


def __getattr__(name: str):
    if name in ("ExportOptions", "ExportResult", "export"):
        from zpviz.export import job

        return getattr(job, name)
    raise AttributeError(name)


def export_with_dialog(parent, path: str | None = None, **kw):
    """File > Export... in the app (Ctrl+E): the options dialog, then a progress dialog with Cancel."""
    from zpviz.export.dialog import export_with_dialog as run

    return run(parent, path, **kw)


def export_window(window, path: str | None = None, **kw):
    """The window's `exporter` hook (set by zpviz.cli): export its lesson, asking for options."""
    from zpviz.export.dialog import export_window as run

    return run(window, path, **kw)
