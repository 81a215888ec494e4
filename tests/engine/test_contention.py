"""The contention picture: the zero page's struct page line under 2.6.23, and its absence after."""

from __future__ import annotations

import pytest

from tests.engine.util import run


def many_cpu_reads(n_cpus: int, pages: int = 256) -> str:
    return f"""[scenario]
title = "reads"
cpus = {n_cpus}
[[vma]]
name = "r"
pages = {pages}
[[step]]
do = "read"
vma = "r"
cpus = {list(range(n_cpus))}
"""


def storm(n: int, pages: int = 32) -> str:
    return f"""[scenario]
title = "storm"
cpus = {n}
[[process]]
name = "w"
count = {n}
[[vma]]
name = "r"
process = "w"
pages = {pages}
[[step]]
do = "read"
process = "w*"
vma = "r"
cpus = {list(range(n))}
[[step]]
do = "exit"
process = "w*"
cpus = {list(range(n))}
"""


def test_reads_on_four_cpus_bounce_the_zero_page_line_only_under_2623():
    r = run(many_cpu_reads(4), "2.6.23", every_step=False)
    zp = r["final"]["zero_page"]
    assert zp["line_writes"] == 512  # two atomic RMWs a fault
    # dealt round-robin, the line moves between CPUs on nearly every fault
    assert zp["line_transfers"] >= 0.95 * 256
    by_cpu = [c["by_line"]["zero_page"] for c in r["final"]["cpus"]]
    assert all(n > 50 for n in by_cpu)
    for k in ("v5", "2.6.32", "modern"):
        q = run(many_cpu_reads(4), k, every_step=False)
        assert q["final"]["zero_page"]["line_transfers"] == 0
        assert all(c["by_line"]["zero_page"] == 0 for c in q["final"]["cpus"])


def test_one_cpu_never_transfers():
    r = run(many_cpu_reads(1), "2.6.23", every_step=False)
    assert r["final"]["zero_page"]["line_transfers"] == 0
    assert r["final"]["cpus"][0]["transfers_in"] == 0


def test_teardown_storm_serialises_under_2623_only():
    exit_ns = {k: [run(storm(n), k, every_step=False)["steps"][1]["makespan_ns"] for n in (4, 16, 64)]
               for k in ("2.6.23", "v5")}
    old, new = exit_ns["2.6.23"], exit_ns["v5"]
    # 2.6.23: every zap decrements the one shared line: time grows with the CPUs
    assert old[0] < old[1] < old[2] and old[2] > 10 * old[0]
    # v5: per-process work only, so the exit takes as long on 64 CPUs as on 4
    assert new[0] == new[1] == new[2]
    assert old[2] > 50 * new[2]


def test_cross_socket_transfers_cost_more():
    two = many_cpu_reads(4).replace("cpus = 4\n", "cpus = 4\nsockets = 2\n", 1)
    same = run(many_cpu_reads(4), "2.6.23", every_step=False)["steps"][0]["makespan_ns"]
    cross = run(two, "2.6.23", every_step=False)["steps"][0]["makespan_ns"]
    assert cross > same


@pytest.mark.parametrize("k", ["2.6.23", "v5"])
def test_counters_are_consistent(k):
    r = run(many_cpu_reads(4), k, every_step=False)
    for c in r["final"]["cpus"]:
        assert c["transfers_in"] == sum(c["by_line"].values())
        assert c["hits"] + c["misses"] + c["transfers_in"] > 0
    sent = sum(c["invalidations_sent"] for c in r["final"]["cpus"])
    received = sum(c["invalidations_received"] for c in r["final"]["cpus"])
    assert sent == received
