"""The page classification of observe.py, from pagemap entries and kpageflags (no kernel needed)."""

from __future__ import annotations

from zpviz.kernel.observe import (
    KPF_ANON,
    KPF_MLOCKED,
    KPF_THP,
    KPF_ZERO_PAGE,
    PM_EXCLUSIVE,
    PM_FILE,
    PM_PRESENT,
    classify,
)

P = PM_PRESENT | 1234  # present, some PFN


def test_with_kpageflags():
    assert classify(0, None, "private", "anon") == ("n", "0", "0")
    assert classify(P, KPF_ZERO_PAGE, "private", "anon") == ("z", "0", "0")
    assert classify(P | PM_FILE, KPF_ZERO_PAGE | KPF_THP, "private", "anon") == ("z", "0", "1")  # huge zero
    assert classify(P | PM_EXCLUSIVE, KPF_ANON | KPF_MLOCKED, "private", "anon") == ("a", "1", "0")
    assert classify(P, KPF_ANON, "private", "anon") == ("s", "0", "0")  # mapped by two processes
    assert classify(P | PM_FILE | PM_EXCLUSIVE, 0, "shared", "anon") == ("s", "0", "0")  # shmem
    assert classify(P | PM_FILE, 0, "private", "file") == ("f", "0", "0")


def test_pagemap_bits_alone():
    assert classify(PM_PRESENT, None, "private", "anon") == ("?", "?", "?")  # zero page or shared anon
    assert classify(PM_PRESENT | PM_EXCLUSIVE, None, "private", "anon") == ("a", "?", "?")
    assert classify(PM_PRESENT | PM_FILE, None, "private", "anon") == ("z", "?", "?")  # huge zero page
    assert classify(PM_PRESENT | PM_FILE, None, "shared", "anon") == ("s", "?", "?")
    assert classify(PM_PRESENT | PM_FILE, None, "shared", "file") == ("f", "?", "?")
    assert classify(PM_PRESENT, None, "private", "file") == ("s", "?", "?")  # a COWed page after fork
