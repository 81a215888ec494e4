"""The desktop app: PySide6 + pyqtgraph views over the pure view-models of zpviz.present.

Entry point: zpviz.gui.app.run_app. Views hold immutable trace frames and never the engine's
live state; the only timers live in gui.transport.
"""

from zpviz.gui import pgdefer, pgnames, pysidescan, startgc

# before any module of the app imports PySide6 and pyqtgraph: a quicker start (docs/startup.md)
startgc.hold()  # until the first lesson frame is on screen (MainWindow)
pysidescan.install()
pgnames.install()
pgdefer.install()
