"""The trace cache names its entries with CPython's own SHA-256 instead of hashlib's, which loads
OpenSSL first (docs/startup.md, eleventh session): the same digests, and no `_hashlib` at start."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from zpviz.present import tracecache


@given(st.lists(st.binary(max_size=300), max_size=4))
def test_the_digests_are_hashlibs(chunks):
    ours, theirs = tracecache.sha256(b"first"), hashlib.sha256(b"first")
    for c in chunks:
        ours.update(c)
        theirs.update(c)
    assert ours.hexdigest() == theirs.hexdigest()


def test_an_entry_key_is_the_one_hashlib_gives():
    import json
    from pathlib import Path

    from zpviz.scenario import load
    from zpviz.scenario.model import variant_id

    lesson = load(str(Path(__file__).resolve().parents[2] / "scenarios" / "tour.toml"))
    for variant in ("modern", "2.6.31"):
        h = hashlib.sha256(f"{tracecache.engine_version()}\n{variant_id(variant)}\n".encode())
        h.update(json.dumps(tracecache._canon(lesson), separators=(",", ":")).encode())
        assert tracecache.entry_key(lesson, variant) == h.hexdigest()[:40]


def test_the_cache_leaves_openssl_unloaded():
    code = ("import zpviz.present.tracecache as t, sys\nt.engine_version()\n"
            "print('_hashlib' in sys.modules, t.sha256.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                         env=dict(os.environ)).stdout.split()
    assert out[0] == "False", out
    assert out[1] in ("_sha256", "_sha2"), out
