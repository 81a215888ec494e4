"""Kernel policies: every difference between variants is a typed, validated field, and the
engine outside kernels/ never decides anything by a variant's id or version."""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from pathlib import Path

import pytest

from zpviz.engine.kernels import VARIANTS
from zpviz.engine.kernels.base import FunctionNames, KernelPolicy, ReadFaultZero, ZeroTest

ENGINE = Path(__file__).resolve().parents[2] / "zpviz" / "engine"


def test_policy_values_are_typed():
    for k in VARIANTS.values():
        for f in dataclasses.fields(k):
            value = getattr(k, f.name)
            if f.type in ("bool", "int"):
                assert type(value).__name__ == f.type, (k.id, f.name)
            elif f.name not in ("id", "title", "release", "blurb", "fn"):
                assert isinstance(value, Enum), (k.id, f.name, value)
        assert isinstance(k.fn, FunctionNames)
    assert VARIANTS["v5"].read_fault_zero is ReadFaultZero.VMA_FLAGS
    assert VARIANTS["2.6.23"].zero_test is ZeroTest.PAGE


@pytest.mark.parametrize("field, value, error", [
    ("zero_test", "pnf", ValueError),  # a typo
    ("read_fault_zero", "Always", ValueError),
    ("foll_anon", None, ValueError),
    ("has_thp", 1, TypeError),  # a bool field given an int
    ("fault_around_pages", True, TypeError),
])
def test_a_wrong_policy_value_raises(field, value, error):
    with pytest.raises(error, match=field):
        dataclasses.replace(VARIANTS["modern"], **{field: value})


def test_strings_become_enums():
    k = dataclasses.replace(VARIANTS["modern"], zero_test="page")
    assert k.zero_test is ZeroTest.PAGE and isinstance(k, KernelPolicy)


def test_no_version_is_compared_outside_kernels():
    """The id may appear in messages to the user, never in a comparison."""
    bad = re.compile(r"""\.id\s*(==|!=|\bin\b|\bnot in\b)|(==|!=|\bin\b)\s*\(?["'](2\.6\.\d+|v5|modern)["']""")
    found = []
    for path in sorted(ENGINE.glob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if bad.search(line):
                found.append(f"{path.name}:{n}: {line.strip()}")
    assert not found, "\n".join(found)
