"""Mutated lessons through the real command line: a result, a claim failure, or a clear error.

Every input must end with exit 0 (it still loads and its claims hold), 1 (a claim no longer holds)
or 2 (rejected, the message naming the file and a line) — never a traceback or exit 3. Work is
bounded by what the program counts, not by the clock (a busy CI machine makes any time bound flaky):
an input the loader accepts must do no more engine work than the loader counted for it, since that
count is what its up-front refusal of slow lessons rests on. The normal suite fuzzes a sample;
`./dev test-slow` runs 10,000 inputs.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path

import pytest

from tests.hardening.mutate import mutate
from zpviz import cli
from zpviz.scenario import load

LESSONS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))


def events_bound(page_events: int) -> int:
    """The most trace events a run may record for what the loader counted: about one event per
    page-event (the library's lessons measure 0.01 to 1.03), and a few for page tables."""
    return 2 * page_events + 64


def fuzz(n: int, seed: int, tmp_path: Path, capsys, limit_s: float | None = None) -> dict[int, int]:
    """limit_s: a wall-clock bound per input, for ./dev test-slow only (never in the default suite)."""
    rng = random.Random(seed)
    texts = {p: p.read_text() for p in LESSONS}
    codes: dict[int, int] = {}
    for i in range(n):
        src = rng.choice(LESSONS)
        data = mutate(texts[src], rng)
        path = tmp_path / f"m{i % 7}-{src.name}"
        path.write_bytes(data)
        cmd = ["check", str(path)] if i % 10 == 0 else ["run", str(path), "--json"]
        t = time.perf_counter()
        rc = cli.main(cmd)
        took = time.perf_counter() - t
        out, err = capsys.readouterr()
        codes[rc] = codes.get(rc, 0) + 1
        where = f"input {i} (seed {seed}, from {src.name}):\n{data[:2000]!r}"
        assert rc in (0, 1, 2), f"exit {rc}: {err}\n{where}"
        assert "Traceback" not in out + err, where
        if limit_s is not None:
            assert took < limit_s, f"{took:.1f} s\n{where}"
        if rc in (0, 1) and cmd[0] == "run":
            counted = load(path).page_events
            done = json.loads(out)["events"]
            assert done <= events_bound(counted), f"{done:,} events for {counted:,} page-events counted\n{where}"
        if rc == 2:
            assert str(path) in err, f"the error does not name the file: {err!r}\n{where}"
            assert re.search(re.escape(str(path)) + r":\d+", err) or "cannot read" in err or "no [[step]]" in err \
                or "empty" in err, f"the error names no line: {err!r}\n{where}"
    return codes


def test_fuzz_sample(tmp_path, capsys):
    codes = fuzz(150, 1, tmp_path, capsys)
    assert codes.get(2, 0) > 30 and codes.get(0, 0) + codes.get(1, 0) >= 3  # both outcomes are exercised


@pytest.mark.slow
def test_fuzz_ten_thousand(tmp_path, capsys):
    codes = fuzz(int(os.environ.get("ZPVIZ_FUZZ", "10000")), 2, tmp_path, capsys, limit_s=10.0)
    assert sum(codes.values()) >= int(os.environ.get("ZPVIZ_FUZZ", "10000"))
