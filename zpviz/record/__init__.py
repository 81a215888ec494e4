"""`zpviz record`: a real program's page faults and address-space calls, as the kernel took them.

Pure Python over ctypes (perf_event_open, ptrace, prctl) and /proc; no Qt (an import-linter contract).
The recording format is in docs/recording.md; lesson.py turns a recording into a replay lesson.
"""
