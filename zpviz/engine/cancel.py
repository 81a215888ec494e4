"""The exception a run raises when its progress callback asks it to stop (the app's Cancel
button). A module of its own so that code which only catches it (the window's loader, the
lesson session) need not import the engine's paths, which a window reading traces from the
cache never runs (docs/startup.md)."""


class Cancelled(Exception):
    """The progress callback asked the run to stop (the app's Cancel button)."""
