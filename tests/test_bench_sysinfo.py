"""bench/sysinfo.py: what every benchmark run records about the machine and its load."""

from __future__ import annotations

from bench import sysinfo


def test_steal_and_busy_shares_over_a_run():
    before = sysinfo.Sample(10.0, (0.5, 0.4, 0.3),
                            dict(user=100, nice=0, system=50, idle=800, iowait=10, irq=0, softirq=0, steal=40))
    after = sysinfo.Sample(12.5, (1.5, 0.6, 0.3),
                           dict(user=250, nice=0, system=100, idle=860, iowait=10, irq=0, softirq=0, steal=80))
    got = sysinfo.during(before, after)
    # 300 ticks in all: 150 user, 50 system, 60 idle, 40 steal
    assert got["loadavg_before"] == [0.5, 0.4, 0.3] and got["loadavg_after"] == [1.5, 0.6, 0.3]
    assert got["wall_s"] == 2.5
    assert got["steal_pct"] == 13.33
    assert got["busy_pct"] == 80.0
    assert got["steal_s"] == round(40 / sysinfo._HZ, 2)


def test_no_proc_stat_says_so():
    s = sysinfo.Sample(0.0, (0.0, 0.0, 0.0), None)
    assert sysinfo.during(s, s)["steal_pct"] is None


def test_this_machine_is_described():
    info = sysinfo.machine_info()
    assert info["cpu"] and info["cores"] >= 1
    line = sysinfo.describe(info, sysinfo.during(sysinfo.sample(), sysinfo.sample()))
    assert "load average" in line and "steal" in line and "family" in line


def test_the_python_yardstick_is_measured_and_printed():
    # figures in ms are compared across machines by this rate, printed with every run
    rate = sysinfo.python_loop_rate(n=20_000, repeat=2)
    assert 0.1 < rate < 10_000
    info = {**sysinfo.machine_info(), "python_loop_m_per_s": rate}
    line = sysinfo.describe(info, sysinfo.during(sysinfo.sample(), sysinfo.sample()))
    assert f"plain Python loop {rate} M/s" in line
    assert "plain Python loop" not in sysinfo.describe(sysinfo.machine_info(),
                                                       sysinfo.during(sysinfo.sample(), sysinfo.sample()))
