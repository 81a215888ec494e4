"""Mutated lessons through the real command line: a result, a claim failure, or a clear error.

Every input must end with exit 0 (it still loads and its claims hold), 1 (a claim no longer holds)
or 2 (rejected, the message naming the file and a line) — never a traceback or exit 3, and never
more than a few seconds. The normal suite fuzzes a sample; `./dev test-slow` runs 10,000 inputs.
"""

from __future__ import annotations

import os
import random
import re
import time
from pathlib import Path

import pytest

from tests.hardening.mutate import mutate
from zpviz import cli

LESSONS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))
LIMIT_S = 5.0


def fuzz(n: int, seed: int, tmp_path: Path, capsys) -> dict[int, int]:
    rng = random.Random(seed)
    texts = {p: p.read_text() for p in LESSONS}
    codes: dict[int, int] = {}
    for i in range(n):
        src = rng.choice(LESSONS)
        data = mutate(texts[src], rng)
        path = tmp_path / f"m{i % 7}-{src.name}"
        path.write_bytes(data)
        cmd = ["check", str(path)] if i % 10 == 0 else ["run", str(path)]
        t = time.perf_counter()
        rc = cli.main(cmd)
        took = time.perf_counter() - t
        out, err = capsys.readouterr()
        codes[rc] = codes.get(rc, 0) + 1
        where = f"input {i} (seed {seed}, from {src.name}):\n{data[:2000]!r}"
        assert rc in (0, 1, 2), f"exit {rc}: {err}\n{where}"
        assert "Traceback" not in out + err, where
        assert took < LIMIT_S, f"{took:.1f} s\n{where}"
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
    codes = fuzz(int(os.environ.get("ZPVIZ_FUZZ", "10000")), 2, tmp_path, capsys)
    assert sum(codes.values()) >= int(os.environ.get("ZPVIZ_FUZZ", "10000"))
