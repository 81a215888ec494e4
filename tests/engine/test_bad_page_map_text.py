"""What v5's print_bad_pte puts in the log, line by line, as 2.6.31 printed it (issue 16, point 7)."""

from __future__ import annotations

from zpviz.present import physmem

from .util import lesson, run


def _report(prot: str, extra: str = "") -> dict:
    text = lesson(f'[[vma]]\nname = "r"\npages = 4\nprot = "{prot}"\n{extra}'
                  '[[step]]\ndo = "read"\nvma = "r"\n[[step]]\ndo = "mlock"\nvma = "r"\n')
    return run(text, "v5")


def _fields(line: str) -> dict[str, str]:
    return dict(w.split(":", 1) for w in line.split() if ":" in w)


def test_a_read_only_private_vma_has_no_vm_account_and_its_pte_has_nx():
    log = _report("r")["steps"][1]["log"]
    head, vma_line = log[0], log[1]
    assert head.startswith("BUG: Bad page map in process main")
    pte = int(_fields(head)["pte"], 16)
    assert pte >> 63 == 1 and pte & 0x225 == 0x225 and not pte & 0x2  # NX, special, read-only
    flags = int(_fields(vma_line)["vm_flags"], 16)
    assert flags & 0x2000 and flags & 0x1 and not flags & 0x2  # VM_LOCKED, VM_READ, no VM_WRITE
    assert not flags & 0x100000  # a PROT_READ private mapping is not charged: no VM_ACCOUNT


def test_a_writable_private_vma_has_vm_account_and_later_reports_carry_the_b_taint():
    log = _report("rw")["steps"][1]["log"]
    heads = [i for i, line in enumerate(log) if line.startswith("BUG: Bad page map in process")]
    assert len(heads) == 4  # one per zero PTE the write walk COWs
    assert int(_fields(log[1])["vm_flags"], 16) & 0x100002 == 0x100002  # VM_WRITE and VM_ACCOUNT
    # dump_stack() prints before add_taint(TAINT_BAD_PAGE): the first report is not yet tainted
    assert "Not tainted" in log[heads[0] + 2] and "Tainted: G    B" in log[heads[1] + 2]
    trace = log[heads[0] + 3:heads[1]]
    assert trace[0] == "Call Trace:" and trace[1].strip() == "print_bad_pte"
    assert "vm_normal_page" in [t.strip() for t in trace] and "do_wp_page" in [t.strip() for t in trace]


def test_the_huge_zero_tile_counts_pmds_not_ptes():
    from zpviz.engine.run import simulate
    from zpviz.scenario import loads

    text = lesson('[[vma]]\nname = "r"\npages = 1024\nthp = true\n'
                  '[[step]]\ndo = "read"\nvma = "r"\npages = [0, 600]\n')
    tr = simulate(loads(text, "t.toml"), "modern")
    tiles = physmem.zero_tiles(tr.frame(len(tr) - 1))
    huge = next(t for t in tiles if t.name == "huge zero page")
    assert huge.ptes == 2 and huge.unit == "PMD"
    assert "2 PMDs map it" in huge.text() and "PTE" not in huge.text()
