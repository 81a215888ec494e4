"""The on-disk trace cache: hits, misses, eviction, concurrent use, and files it must not trust."""

from __future__ import annotations

import os
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from zpviz.engine import simulate
from zpviz.present import tracecache as TC
from zpviz.present import tracecodec as CODEC
from zpviz.present.session import build_lesson
from zpviz.scenario import loads

LESSON = '''# a small lesson: reads, a write, an mlock and a fork
[scenario]
title = "cache"
kernel = "v5"
cpus = 2
[[vma]]
name = "t"
pages = {pages}
[[step]]
do = "read"
vma = "t"
pages = "all"
cpus = [0, 1]
[[step]]
do = "write"
vma = "t"
pages = "0-7"
[[step]]
do = "mlock"
vma = "t"
[[step]]
do = "fork"
child = "kid"
'''


def lesson(pages: int = 64, text: str = LESSON, path: str = "cache.toml"):
    return loads(text.format(pages=pages), path)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.delenv("ZPVIZ_NO_CACHE", raising=False)
    monkeypatch.setenv("ZPVIZ_CACHE_DIR", str(tmp_path / "cache"))
    return TC.TraceCache.default()


def entries(cache) -> list[Path]:
    return sorted(cache.dir.glob("*.npz")) if cache.dir.exists() else []


def same_trace(a, b) -> None:
    assert len(a) == len(b) and a.n_events == b.n_events
    assert a.step_results == b.step_results and a.layout == b.layout
    assert a.paths == b.paths and a.logs == b.logs and a.kernel_log == b.kernel_log and a.notes == b.notes
    for k in a.events:
        assert np.array_equal(a.events[k], b.events[k]), k
    for i in sorted({0, 1, len(a) // 3, len(a) // 2, len(a) - 2, len(a) - 1}):
        fa, fb = a.frame(i), b.frame(i)
        for name in ("pte", "pfn", "vmf", "refcount", "mapcount", "pflags", "fkind", "cpu", "states"):
            assert np.array_equal(getattr(fa, name), getattr(fb, name)), (i, name)
        assert fa.scalars == fb.scalars and fa.step == fb.step


# ------------------------------------------------------------------------------ hits and misses
def test_a_stored_trace_reads_back_the_same_and_is_reused(cache, monkeypatch):
    sc = lesson()
    first, hit = TC.simulate_cached(sc, "v5", cache=cache)
    assert not hit and len(entries(cache)) == 1
    monkeypatch.setattr(TC, "simulate", lambda *a, **k: pytest.fail("simulated although cached"))
    again, hit = TC.simulate_cached(sc, "v5", cache=cache)
    assert hit and again is not first
    same_trace(first, again)
    assert again.scenario is sc and again.kernel.id == "v5" and again.seed == first.seed


def test_a_lesson_opened_before_is_built_from_the_cache(cache, monkeypatch):
    sc = lesson()
    one = build_lesson(sc, compare=["v5", "2.6.32"])
    assert len(entries(cache)) == 2
    monkeypatch.setattr(TC, "simulate", lambda *a, **k: pytest.fail("simulated although cached"))
    two = build_lesson(lesson(), compare=["v5", "2.6.32"])  # the same file loaded again
    assert two.kernels == one.kernels == ("v5", "2.6.32") and not two.pending
    for a, b in zip(one.traces, two.traces):
        same_trace(a, b)


def test_a_changed_lesson_misses(cache):
    TC.simulate_cached(lesson(64), "v5", cache=cache)
    assert TC.simulate_cached(lesson(65), "v5", cache=cache)[1] is False  # one page more
    assert TC.simulate_cached(lesson(64, path="elsewhere.toml"), "v5", cache=cache)[1] is False
    assert len(entries(cache)) == 3
    # text the loader ignores (a comment) makes the same lesson: the same trace, a hit
    edited = "# another comment, the same number of lines\n" + LESSON[LESSON.index("\n") + 1:]
    assert TC.simulate_cached(lesson(64, edited), "v5", cache=cache)[1] is True


def test_another_variant_misses_and_the_id_is_canonical(cache):
    sc = lesson()
    TC.simulate_cached(sc, "v5", cache=cache)
    trace, hit = TC.simulate_cached(sc, "2.6.23", cache=cache)
    assert not hit and trace.kernel.id == "2.6.23"
    TC.simulate_cached(sc, "2.6.24", cache=cache)
    assert TC.simulate_cached(sc, "2.6.31", cache=cache)[1] is True  # 2.6.31 names the 2.6.24 model


def test_another_engine_version_misses(cache, monkeypatch):
    sc = lesson()
    TC.simulate_cached(sc, "v5", cache=cache)
    monkeypatch.setattr(TC, "engine_version", lambda: "an engine edited since")
    assert TC.simulate_cached(sc, "v5", cache=cache)[1] is False
    assert len(entries(cache)) == 2


def test_the_engine_version_follows_its_sources(tmp_path):
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "a.py").write_text("x = 1\n")
    (tmp_path / "errors.py").write_text("")
    before = TC.source_hash(tmp_path, ("engine", "errors.py"))
    assert TC.source_hash(tmp_path, ("engine", "errors.py")) == before
    (tmp_path / "engine" / "a.py").write_text("x = 2\n")
    assert TC.source_hash(tmp_path, ("engine", "errors.py")) != before
    # the real one covers the engine and the loader, whose output the engine plays
    assert TC.VERSION_SOURCES == ("engine", "scenario", "errors.py") and len(TC.engine_version()) == 32


# ------------------------------------------------------------------------------ size cap
def test_the_least_recently_used_entries_go_beyond_the_cap(cache):
    sc = lesson()
    for k in ("v5", "2.6.23", "2.6.32"):
        TC.simulate_cached(sc, k, cache=cache)
    files = {p.name: p for p in entries(cache)}
    key = {k: TC.entry_key(sc, k) + TC.SUFFIX for k in ("v5", "2.6.23", "2.6.32")}
    two = files[key["2.6.23"]].stat().st_size + files[key["2.6.32"]].stat().st_size
    # used long ago, v5 first; then 2.6.23 read again (a hit marks it used now)
    os.utime(files[key["v5"]], (1_000_000, 1_000_000))
    os.utime(files[key["2.6.32"]], (2_000_000, 2_000_000))
    os.utime(files[key["2.6.23"]], (1_500_000, 1_500_000))
    assert cache.get(sc, "2.6.23") is not None
    small = TC.TraceCache(cache.dir, max_bytes=two)  # room for two: the oldest goes
    small.evict()
    left = {p.name for p in entries(cache)}
    assert left == {key["2.6.23"], key["2.6.32"]}
    TC.TraceCache(cache.dir, max_bytes=0).evict()
    assert entries(cache) == []


def test_a_temporary_file_a_dead_writer_left_is_removed(cache):
    cache.dir.mkdir(parents=True)
    old, fresh = cache.dir / ".dead.tmp", cache.dir / ".writing.tmp"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(old, (1_000_000, 1_000_000))
    cache.evict()
    assert not old.exists() and fresh.exists()  # another process may still be writing that one


# ------------------------------------------------------------------------------ concurrent use
def test_concurrent_writers_and_readers_never_see_half_an_entry(cache):
    sc = lesson()
    trace = simulate(sc, "v5")
    errors, seen = [], []
    start = threading.Barrier(8)

    def write():
        start.wait()
        for _ in range(3):
            if not cache.put(trace, sc, "v5"):
                errors.append("a put failed")

    def read():
        start.wait()
        for _ in range(6):
            got = cache.get(sc, "v5")
            if got is not None:
                seen.append(len(got))

    threads = [threading.Thread(target=write) for _ in range(4)] + [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(n == len(trace) for n in seen)
    assert [p.name for p in cache.dir.iterdir()] == [TC.entry_key(sc, "v5") + TC.SUFFIX]  # no temp file left
    same_trace(trace, cache.get(sc, "v5"))


def test_a_reader_tolerates_an_entry_vanishing(cache, monkeypatch):
    sc = lesson()
    TC.simulate_cached(sc, "v5", cache=cache)
    real = TC.TraceCache._read

    def vanish(self, path, key):
        path.unlink()  # another process evicted it between the name and the open
        return real(self, path, key)

    monkeypatch.setattr(TC.TraceCache, "_read", vanish)
    assert cache.get(sc, "v5") is None


# ------------------------------------------------------------------------------ files not to trust
def stored(cache):
    sc = lesson()
    trace, _ = TC.simulate_cached(sc, "v5", cache=cache)
    (path,) = entries(cache)
    return sc, trace, path


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "flipped"])
def test_a_damaged_entry_is_a_miss_and_is_removed(cache, damage):
    sc, trace, path = stored(cache)
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a cache file\n" * 100)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # one bit changed inside the arrays: the zip's CRC sees it
        i = len(data) // 2
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x10]) + data[i + 1:])
    assert cache.get(sc, "v5") is None
    assert not path.exists()
    again, hit = TC.simulate_cached(sc, "v5", cache=cache)  # and it is simulated and stored again
    assert not hit and path.exists()
    same_trace(trace, again)


def rewrite_meta(path: Path, change) -> None:
    with np.load(path, allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    meta = CODEC.loads_tree(members["meta"])
    change(meta)
    members["meta"] = CODEC.dumps_tree(meta)
    np.savez(path, **members)


def test_an_entry_naming_a_class_outside_the_engine_is_refused(cache):
    sc, _, path = stored(cache)
    rewrite_meta(path, lambda m: m["tree"].update(O="os:_wrap_close"))  # a class with a side effect
    assert cache.get(sc, "v5") is None and not path.exists()
    sc, _, path = stored(cache)
    rewrite_meta(path, lambda m: m["tree"].update(O="zpviz.engine.trace:np.lib.format"))
    assert cache.get(sc, "v5") is None and not path.exists()


def test_an_entry_with_arrays_past_their_blob_or_another_key_is_refused(cache):
    def stretch(meta):
        ref = meta["tree"]["a"]["n_events"]
        meta["tree"]["a"]["_keys"] = {"A": ["<i4", 10 ** 9, [5]]}
        assert isinstance(ref, int)

    sc, _, path = stored(cache)
    rewrite_meta(path, stretch)
    assert cache.get(sc, "v5") is None and not path.exists()
    sc, _, path = stored(cache)
    rewrite_meta(path, lambda m: m.update(key="0" * 40))  # a file renamed over another entry
    assert cache.get(sc, "v5") is None and not path.exists()


def test_a_pickled_array_in_an_entry_is_never_unpickled(cache, monkeypatch):
    sc, _, path = stored(cache)
    with np.load(path, allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    members["blob0"] = np.array([object()], dtype=object)  # what a pickle payload would ride in
    np.savez(path, **members)
    with zipfile.ZipFile(path) as zf:
        assert "blob0.npy" in zf.namelist()
    assert cache.get(sc, "v5") is None and not path.exists()


def test_an_entry_claiming_to_unpack_to_gigabytes_is_not_read(cache, monkeypatch):
    sc, _, path = stored(cache)
    monkeypatch.setattr(TC, "MAX_ENTRY_BYTES", path.stat().st_size // 2)  # as a zip bomb would claim
    assert cache.get(sc, "v5") is None and not path.exists()


def test_an_unusable_cache_directory_only_means_simulating(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.delenv("ZPVIZ_NO_CACHE", raising=False)
    monkeypatch.setenv("ZPVIZ_CACHE_DIR", str(blocker / "zpviz"))  # cannot be made: its parent is a file
    cache = TC.TraceCache.default()
    sc = lesson()
    trace, hit = TC.simulate_cached(sc, "v5", cache=cache)
    assert not hit and len(trace) > 1
    assert cache.get(sc, "v5") is None and not cache.put(trace, sc, "v5")
    assert build_lesson(sc, "v5").n_frames == len(trace)


def test_something_the_codec_cannot_store_is_not_cached(cache):
    sc = lesson()
    trace = simulate(sc, "v5")
    trace.notes = [threading.Lock()]  # not data
    assert cache.put(trace, sc, "v5") is False and entries(cache) == []
    with pytest.raises(CODEC.Uncacheable):
        CODEC.encode({"a": np.array([object()], dtype=object)})


# ------------------------------------------------------------------------------ where it lives
def test_the_cache_directory(monkeypatch, tmp_path):
    for name in ("ZPVIZ_NO_CACHE", "ZPVIZ_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert TC.cache_dir() == tmp_path / ".cache" / "zpviz"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert TC.cache_dir() == tmp_path / ".cache" / "zpviz"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert TC.cache_dir() == tmp_path / "xdg" / "zpviz"
    monkeypatch.setenv("ZPVIZ_CACHE_DIR", str(tmp_path / "own"))
    assert TC.cache_dir() == tmp_path / "own"
    monkeypatch.setenv("ZPVIZ_NO_CACHE", "1")
    assert TC.cache_dir() is None
    off = TC.TraceCache.default()
    sc = lesson()
    assert TC.simulate_cached(sc, "v5", cache=off)[1] is False and off.get(sc, "v5") is None
