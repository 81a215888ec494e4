"""Export tests run offscreen: the platform must be chosen before anything imports Qt."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
