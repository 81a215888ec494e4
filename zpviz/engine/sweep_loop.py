"""The sweep's generated loop (sweep.py): `_Timing._round` written out for one tuple of the
lines a fault writes (probe.py's roles), compiled once a run, and `loop_agrees`, which checks
it against the cache timing rule (CacheModel.access) on seeded line states before a sweep uses it.
The only place in zpviz that compiles code: from this module's templates and role names
`loop_roles_ok` accepts (tests/hardening/test_no_code_from_users.py)."""

from __future__ import annotations

import heapq
from array import array

from zpviz.engine import cache as L
from zpviz.engine import constants as C

P, W, D, A, S = C.PTE_P, C.PTE_W, C.PTE_D, C.PTE_A, C.PTE_S


# The roles (probe.py) of the lines the loop can write: "lock" first (the fault lock; a new page
# table's lines come right after it, as in the bulk loop), then each of these in the order the
# general path wrote them: "page", "ptl" and "pte" once each, a fixed role once or more (2.6.23's
# COW of the zero page writes the zero page's struct page twice, put_page's, and the mm counter
# twice). "page" is a page allocation: the zone lock when the per-cpu list is empty, then the new
# frame's struct page, a DRAM miss no CPU waits on. The fixed lines are one line for the whole
# step (the mm counter; the zero page's struct page); "ptl" and "pte" one per PTE table and PTE line.
FIXED_ROLES = ("mm", "zero")
LOOP_ROLES = ("page", "ptl", "pte") + FIXED_ROLES
AGAIN = "+"  # slots_of's name for a fixed line written again within the fault ("zero+"): a hit


def loop_roles_ok(roles: tuple[str, ...]) -> bool:
    """Whether the generated loop covers a fault writing these lines (probe.Shape.roles)."""
    rest = roles[1:]
    once = [r for r in rest if r not in FIXED_ROLES]
    return bool(roles) and roles[0] == "lock" and len(set(once)) == len(once) and all(
        r in LOOP_ROLES for r in rest) and "ptl" in rest and "pte" in rest



def slots_of(roles: tuple[str, ...]) -> tuple[str, ...]:
    """The lines whose transfers the records count, in the order a fault touches them: the roles,
    a page allocation standing for the zone lock (its struct page is a DRAM miss: no transfer), a
    fixed line written again in the same fault named with AGAIN (its previous owner is the
    fault's own CPU)."""
    out: list[str] = []
    for r in roles:
        s = "zone" if r == "page" else r
        out.append(s + AGAIN if s in out else s)
    return tuple(out)


def role_of(slot: str) -> str:
    """The role a slot (slots_of) names."""
    return slot.rstrip(AGAIN)



# ------------------------------------------------------------------ the generated loop
# _Timing._round for one tuple of roles: up to k faults, none past the end of its CPU's list,
# stopping before one whose page table is missing; returns how many. CacheModel.access_writes,
# branch for branch, written out in place for each line the fault writes, in the order the
# general path wrote them (probe.py): a call per line would cost more than the access itself,
# and a loop written by hand for each shape would be one more copy of the fault's line order.
_HEAD = """\
def _round(self, k):
    hit, hold, dram, lat_of = self.hit, self.hold, self.dram, self.lat
    fixed = self.fixed
{load}
    heap, pcp, pi, ei, table, pos = self.heap, self.pcp, self.pi, self.ei, self.table, self.pos
    ptl_o, ptl_b, pte_o, pte_b = self.ptl_owner, self.ptl_busy, self.pte_owner, self.pte_busy
    put = self.done.append
    sh, mask = self.sh, self.mask
    replace = heapreplace
    cost = self.cost
    batch = self.sw.pcp_batch
    before = len(self.done)
    for _ in range(k):
        t = heap[0]
        c = t & mask
        t >>= sh
        i = pos[c]
        x = pi[c][i]  # the PTE table
        if not table[x]:
            break
        lat = lat_of[c]
{body}
        t = (t + cost) << sh | c  # the fault's end and CPU: noted, and the CPU's next start
        put(t)
        pos[c] = i + 1
        replace(heap, t)
{store}
    return len(self.done) - before
"""
# one line write (access_writes for a line no other CPU shares): o, b the owner and busy time
_WRITE = """\
        if {o} == c:
            t += hit
            if {b} > t:
                t = {b}
        else:
            if {b} > t:
                t = {b}
            t += lat[{o}]
            {o} = c
        {b} = t + hold
"""
_PER_LINE = """\
        {y} = {index}
        b = {name}_b[{y}]
        o = {name}_o[{y}]
        if o == c:
            t += hit
            if b > t:
                t = b
        else:
            if b > t:
                t = b
            t += lat[o]
            {name}_o[{y}] = c
        {name}_b[{y}] = t + hold
"""
_PAGE = """\
        n = pcp[c]  # the per-cpu free list, refilled under the zone lock every rules.PCP_BATCH pages
        if not n:
            n = batch
{zone}
        pcp[c] = n - 1
        t += dram  # the new frame's struct page
"""


def _loop_source(roles: tuple[str, ...]) -> str:
    """The source of _round for a fault writing these lines (loop_roles_ok)."""
    fixed = ["lock"] + list(dict.fromkeys(r for r in roles if r in FIXED_ROLES)) + (["zone"] if "page" in roles else [])
    load = "\n".join(f"    o_{r}, b_{r} = fixed[{r!r}]" for r in fixed)
    store = "\n".join(f"    fixed[{r!r}] = [o_{r}, b_{r}]" for r in fixed)
    body = []
    for r in roles:
        if r == "page":
            zone = _WRITE.format(o="o_zone", b="b_zone")
            body.append(_PAGE.format(zone="\n".join("    " + ln for ln in zone.splitlines())))
        elif r == "ptl":
            body.append(_PER_LINE.format(y="x", index="x", name="ptl").split("\n", 1)[1])  # (x is the table)
        elif r == "pte":
            body.append(_PER_LINE.format(y="y", index="ei[c][i]", name="pte"))
        else:
            body.append(_WRITE.format(o=f"o_{r}", b=f"b_{r}"))
    return _HEAD.format(load=load, store=store, body="".join(body).rstrip("\n"))


_LOOPS: dict[tuple[str, ...], object] = {}


def _loop(roles: tuple[str, ...]):
    """_round for these roles, generated once a run of the program."""
    fn = _LOOPS.get(roles)
    if fn is None:
        if not loop_roles_ok(roles):  # the source is made of these names: only the checked ones
            raise ValueError(f"no sweep loop for the roles {roles!r}")
        scope = {"heapreplace": heapq.heapreplace}
        # (the source is this module's templates and role names loop_roles_ok allowed, nothing else)
        code = compile(_loop_source(roles), f"<sweep loop {'/'.join(roles)}>", "exec")
        exec(code, scope)  # noqa: S102
        fn = _LOOPS[roles] = scope["_round"]
    return fn


def _latencies(costs, sock: list[int]) -> list[list[int]]:
    """Per CPU, a transfer's latency by the line's owner ([-1]: nobody's line, a DRAM miss)."""
    n = len(sock)
    return [[costs.same_socket_ns if sock[o] == sock[c] else costs.cross_socket_ns for o in range(n)]
            + [costs.dram_ns] for c in range(n)]


_AGREE: dict = {}


def loop_agrees(roles: tuple[str, ...], costs, socket: list[int]) -> bool:
    """Whether the loop generated for these roles times a fault as CacheModel.access does (the
    general path's rule, which cache.writes_agree holds access_writes to): on cache.write_scenarios
    without sharers (Sweep.plan refuses lines some CPU shares), one fault each, its lines in the
    roles' order (a page allocation: the zone lock where the per-cpu list is empty, then a struct
    page no cache holds), the time its accesses end and each line's owner and busy time after.
    Found once per roles, costs, sockets and rule (the templates and access itself)."""
    key = (roles, costs, tuple(socket), L.CacheModel.access, _WRITE, _PER_LINE, _PAGE, _HEAD)
    ok = _AGREE.get(key)
    if ok is None:
        ok = all(_one_fault_agrees(roles, costs, socket, cpu, t0, lines)
                 for cpu, t0, lines in L.write_scenarios(len(socket), shared=False))
        _AGREE[key] = ok
    return ok


class _Scenario:
    """A _Timing holding one fault's line states, for loop_agrees."""


def _one_fault_agrees(roles, costs, socket, cpu: int, t0: int, lines: list) -> bool:
    n = len(socket)
    states = {"ptl": lines[0], "pte": lines[-1], "lock": lines[1 % len(lines)], "mm": lines[2 % len(lines)],
              "zone": lines[3 % len(lines)], "zero": lines[4 % len(lines)]}
    ids = {"lock": L.mmap_lock_line(0), "mm": L.mm_counter_line(0), "zone": L.ZONE_LOCK,
           "ptl": L.ptl_line_at(0, 0), "pte": L.pte_line_at(0, 0), "zero": L.ZERO_LINE}
    refill = lines[0][3] == 0  # (an empty per-cpu list in some scenarios: the zone lock too)
    page = L.struct_page_line(1 << 20)
    order: list[int] = []
    for r in roles:
        if r == "page":
            order += ([ids["zone"]] if refill else []) + [page]
        else:
            order.append(ids[r])
    used = {r for r in roles if r != "page"} | ({"zone"} if "page" in roles else set())
    model = L.scratch_model(n, socket, costs, [(ids[r],) + tuple(states[r][1:]) for r in used])
    t = model.access(cpu, t0, [(line, True) for line in order], [])
    f = _Scenario()
    f.hit, f.hold, f.dram, f.lat = costs.hit_ns, costs.line_hold_ns, costs.dram_ns, _latencies(costs, socket)
    f.fixed = {r: [states[r][1], states[r][3]] for r in ("lock", "zone") + FIXED_ROLES}
    f.sh = max(1, n.bit_length())
    f.mask = (1 << f.sh) - 1
    f.heap = [t0 << f.sh | cpu]
    f.pcp = [0 if refill else 5] * n
    f.pi, f.ei = [[0]] * n, [[0]] * n
    f.table, f.pos = [True], [0] * n
    f.ptl_owner, f.ptl_busy = [states["ptl"][1]], [states["ptl"][3]]
    f.pte_owner, f.pte_busy = [states["pte"][1]], [states["pte"][3]]
    f.done = array("q")
    f.cost = 0
    f.sw = _Scenario()
    f.sw.pcp_batch = 31
    _loop(roles)(f, 1)
    if len(f.done) != 1 or f.done[0] >> f.sh != t:
        return False
    after = {"ptl": (f.ptl_owner[0], f.ptl_busy[0]), "pte": (f.pte_owner[0], f.pte_busy[0])}
    after |= {r: tuple(f.fixed[r]) for r in ("lock", "zone") + FIXED_ROLES}
    return all(after[r] == (model.owner.get(ids[r], -1), model.busy.get(ids[r], 0)) for r in used)
