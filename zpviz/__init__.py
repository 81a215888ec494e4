"""zpviz: the Linux page-fault path and the story of the shared zero page, step by step."""

__version__ = "0.1.0"
