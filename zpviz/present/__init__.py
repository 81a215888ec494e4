"""Pure view-models: what the window and the exporter show, computed from immutable trace frames.

Nothing here imports Qt or pyqtgraph (an import-linter contract): every function takes frames,
traces or plain values and returns numpy arrays, frozen dataclasses or strings, so the GUI and the
exporter draw the same picture and the tests check it without a display.
"""
