"""The sweep's generated loop (sweep.py): `_Timing._round` written out for one tuple of the
lines a fault writes (probe.py's roles), compiled once a run, and `loop_agrees`, which checks
it against the cache timing rule (CacheModel.access) on seeded line states before a sweep uses it.
The only place in zpviz that compiles code: from this module's templates and role names
`loop_roles_ok` accepts (tests/hardening/test_no_code_from_users.py)."""

from __future__ import annotations

import bisect
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
#
# The next fault is the CPU whose next start is earliest (ties by CPU: the ints of the heap,
# time << sh | cpu). Where every fault writes the fault lock and the mm counter last, the faults
# end in the order they start, so each fault's end is later than every next start the heap
# holds and the heap is a queue: `q` holds the heap sorted, each fault takes the next entry and
# appends its end, and the faults' ends are q's tail (one append a fault, no heap operation).
# A fault whose end is not the latest (after one played in full, whose page table cost more)
# ends the queue: the heap is taken as it stands, sorted again, and the loop goes on.
#
# With every CPU on one socket (`uniform`: a transfer costs the same from any other CPU), a
# fault after another of the same queue (j > 0) whose PTE table is the previous fault's (xc)
# finds the fault lock, the mm counter and the table's lock last written by that fault's CPU,
# another CPU: a transfer each, owner checks not needed ("steady"); the owners are set when
# the queue ends or another fault needs them (the previous fault's CPU). Every other fault
# takes the general body, which checks each owner. loop_agrees holds both to the cache model.
_HEAD = """\
def _round(self, k):
{solo}
    hit, hold, dram, lat_of = self.hit, self.hold, self.dram, self.lat
    fixed = self.fixed
{load}
    pcp, ei, tl, table, pos = self.pcp, self.ei, self.table_of_line, self.table, self.pos
    ptl_o, ptl_b, pte_o, pte_b = self.ptl_owner, self.ptl_busy, self.pte_owner, self.pte_busy
    sh, mask = self.sh, self.mask
    cost = self.cost
    batch = self.sw.pcp_batch
{uniform}
    total = 0
    xc = -1  # the PTE table of the previous fault: its lock's owner and busy time in locals
    o_ptl, b_ptl = ptl_o[-1], ptl_b[-1]  # (-1: none yet, and what a switch writes back is unchanged)
    while total < k:
        ptl_o[xc] = o_ptl
        ptl_b[xc] = b_ptl
        xc = -1  # (a queue's first fault is no steady one)
        o_ptl, b_ptl = ptl_o[-1], ptl_b[-1]
        q = sorted(self.heap)  # the heap sorted, then each fault's end: fault j's start is q[j]
        n0 = len(q)
        add = q.append
        late = -1
        for j in range(k - total):
            t = q[j]
            c = t & mask
            t >>= sh
            i = pos[c]
            y = ei[c][i]  # the PTE line
            x = tl[y]  # and table
{branch}
            pos[c] = i + 1
            add(t)
        else:
            j = k - total
        # (j faults done, and the late one if any)
        self.done.fromlist(q[n0:])
        total += j
        if late >= 0:
            self.done.append(late)
            total += 1
            p = late & mask
            h = q[j + 1:]
            insort(h, late)
            self.heap = h
        else:
            p = q[-1] & mask if j else -1
            self.heap = q[j:]
        if p >= 0:  # the last fault's CPU owns the lines a steady fault did not note
            {owners} = p
        if late < 0 and total < k:
            break  # stopped before a fault whose page table is missing
    ptl_o[xc] = o_ptl
    ptl_b[xc] = b_ptl
{store}
    return total
"""
_END = """\
t = (t + cost) << sh | c  # the fault's end and CPU: noted, and the CPU's next start
"""
# (a steady fault ends after the previous one: its mm counter write waited for that fault's)
_LATE = """\
if t < q[-1]:  # not the latest end: the queue ends here
    pos[c] = i + 1
    late = t
    break
"""
_STEADY = """\
            if x == xc:
{steady}
            else:
                if j:  # the previous fault's CPU owns the lock, the mm counter and its table's lock
                    {owners} = q[-1] & mask
{switch}
{general}"""
_SWITCH = """\
                if x != xc:
                    if not table[x]:
                        break
                    ptl_o[xc] = o_ptl
                    ptl_b[xc] = b_ptl
                    xc = x
                    o_ptl = ptl_o[x]
                    b_ptl = ptl_b[x]"""
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
# the same where the owner is known to be another CPU, on the same socket (`near` ns)
_TRANSFER = """\
        if {b} > t:
            t = {b}
        t += near
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
STEADY_ROLES = ("lock", "ptl", "mm")  # the lines a steady fault writes without an owner check


def _indent(text: str, by: int) -> str:
    return "\n".join((" " * by + ln) if ln.strip() else ln for ln in text.rstrip("\n").split("\n"))


def _body(roles: tuple[str, ...], steady: bool) -> str:
    """One fault's line writes, in the roles' order (steady: see above)."""
    body = []
    for r in roles:
        if r == "page":
            zone = _WRITE.format(o="o_zone", b="b_zone")
            body.append(_PAGE.format(zone=_indent(zone, 4)))
        elif steady and r in STEADY_ROLES:
            body.append(_TRANSFER.format(b=f"b_{r}"))
        elif r == "pte":
            body.append(_PER_LINE.format(y="y", index="y", name="pte").split("\n", 1)[1])  # (y: the line)
        else:
            body.append(_WRITE.format(o=f"o_{r}", b=f"b_{r}"))
    return "".join(body)


def _loop_source(roles: tuple[str, ...], uniform: bool = False) -> str:
    """The source of _round for a fault writing these lines (loop_roles_ok); uniform: every
    transfer between two CPUs costs the same (one socket)."""
    fixed = ["lock"] + list(dict.fromkeys(r for r in roles if r in FIXED_ROLES)) + (["zone"] if "page" in roles else [])
    load = "\n".join(f"    o_{r}, b_{r} = fixed[{r!r}]" for r in fixed)
    store = "\n".join(f"    fixed[{r!r}] = [o_{r}, b_{r}]" for r in fixed)
    owners = " = ".join(f"o_{r}" for r in STEADY_ROLES if r in roles)
    # steady faults only where each of STEADY_ROLES is written once a fault, the mm counter last
    steady = uniform and roles[-1] == "mm" and all(roles.count(r) == 1 for r in STEADY_ROLES)
    if steady:
        steady_body = _indent(_body(roles, True), 8) + "\n" + _indent(_END, 16)
        general = _indent(_body(roles, False), 8) + "\n" + _indent(_END + _LATE, 16)
        branch = _STEADY.format(steady=steady_body, owners=owners, switch=_SWITCH, general=general)
    else:
        general = ("" if uniform else "        lat = lat_of[c]\n") + _body(roles, False)
        branch = "\n".join(ln[4:] for ln in _SWITCH.split("\n")) + "\n" + _indent(general, 4) + "\n" + _indent(
            _END + _LATE, 12)
    solo = ("    if len(self.heap) < 2:  # (one CPU: its previous fault is its own, never steady)\n"
            "        return plain(self, k)")
    return _HEAD.format(load=load, store=store, branch=branch, owners=owners, solo=solo if steady else "",
                        uniform="    lat = lat_of[0]\n    near = lat[0]" if uniform else "")


_LOOPS: dict[tuple[tuple[str, ...], bool], object] = {}


def _loop(roles: tuple[str, ...], uniform: bool = False):
    """_round for these roles (and latencies, `uniform`), generated once a run of the program."""
    fn = _LOOPS.get((roles, uniform))
    if fn is None:
        if not loop_roles_ok(roles):  # the source is made of these names: only the checked ones
            raise ValueError(f"no sweep loop for the roles {roles!r}")
        scope = {"insort": bisect.insort, "plain": _loop(roles) if uniform else None}
        # (the source is this module's templates and role names loop_roles_ok allowed, nothing else)
        code = compile(_loop_source(roles, uniform), f"<sweep loop {'/'.join(roles)}>", "exec")
        exec(code, scope)  # noqa: S102
        fn = _LOOPS[roles, uniform] = scope["_round"]
    return fn


def uniform(lat: list[list[int]]) -> bool:
    """Whether a transfer costs the same between any two CPUs (_latencies: one socket)."""
    return len({e for row in lat for e in row[:-1]}) == 1 and all(row == lat[0] for row in lat)


def _latencies(costs, sock: list[int]) -> list[list[int]]:
    """Per CPU, a transfer's latency by the line's owner ([-1]: nobody's line, a DRAM miss)."""
    n = len(sock)
    return [[costs.same_socket_ns if sock[o] == sock[c] else costs.cross_socket_ns for o in range(n)]
            + [costs.dram_ns] for c in range(n)]


_AGREE: dict = {}


def loop_agrees(roles: tuple[str, ...], costs, socket: list[int]) -> bool:
    """Whether the loop generated for these roles times faults as CacheModel.access does (the
    general path's rule, which cache.writes_agree holds access_writes to): on cache.write_scenarios
    without sharers (Sweep.plan refuses lines some CPU shares), one fault each, its lines in the
    roles' order (a page allocation: the zone lock where the per-cpu list is empty, then a struct
    page no cache holds), the time its accesses end and each line's owner and busy time after;
    and on seeded steps of many faults on every CPU (`_faults_agree`: the order the heap gives,
    the queue ending and the steady faults of one socket), each fault's CPU and end, and every
    line's owner and busy time after. Found once per roles, costs, sockets and rule (the
    templates and access itself)."""
    key = (roles, costs, tuple(socket), L.CacheModel.access, _WRITE, _PER_LINE, _PAGE, _HEAD, _STEADY, _TRANSFER,
           _END, _LATE)
    ok = _AGREE.get(key)
    if ok is None:
        ok = all(_one_fault_agrees(roles, costs, socket, cpu, t0, lines)
                 for cpu, t0, lines in L.write_scenarios(len(socket), shared=False)) and all(
            _faults_agree(roles, costs, s, seed) for s, seed in _fault_steps(costs, socket))
        _AGREE[key] = ok
    return ok


FAULT_SEEDS = 2  # seeded many-fault steps loop_agrees plays on a few CPUs (and one on the machine's)


def _fault_steps(costs, socket: list[int]) -> list[tuple[list[int], int]]:
    """The (sockets, seed) of the many-fault steps loop_agrees plays: one on the machine's CPUs,
    and, on 2, 3 and 4 CPUs whose latencies are alike uniform or not (the same loop), FAULT_SEEDS
    each: a CPU faulting soon after its own previous fault, which few CPUs make likely, is where
    an owner or a queue's order goes wrong."""
    two = [socket[0], socket[0]] if uniform(_latencies(costs, socket)) else [0, 1]
    return [(list(socket), 0)] + [((two * 2)[:n], seed) for n in (2, 3, 4) for seed in range(FAULT_SEEDS)]


def _faults_agree(roles, costs, socket, seed: int) -> bool:
    """A seeded step of many faults on every CPU (pages dealt round-robin, a PTE table every 16
    pages so that faults switch tables within a queue, per-cpu lists that run out, starts close
    enough that faults wait for lines, and one CPU's fault costing more so that a queue ends)
    through the generated loop, in slices, against the cache model faulting CPU by CPU in the
    order of a heap of (next start, CPU). Any error in the loop is a disagreement."""
    try:
        return _faults_agree_or_raise(roles, costs, socket, seed)
    except (IndexError, KeyError, ValueError, TypeError):
        return False


def _faults_agree_or_raise(roles, costs, socket, seed: int) -> bool:
    import random

    rnd = random.Random(seed)
    n, per = len(socket), 10
    lat = _latencies(costs, socket)
    f = _Scenario()
    f.hit, f.hold, f.dram, f.lat = costs.hit_ns, costs.line_hold_ns, costs.dram_ns, lat
    f.sh = max(1, n.bit_length())
    f.mask = (1 << f.sh) - 1
    pages = [[i * n + c for i in range(per)] for c in range(n)]
    f.pi = [[p // 16 for p in ps] for ps in pages]
    f.table_of_line = [y // 2 for y in range((n * per) // 8 + 1)]
    f.ei = [[p // 8 for p in ps] for ps in pages]
    ntab, nline = (n * per) // 16 + 1, (n * per) // 8 + 1
    f.table, f.pos = [True] * ntab, [0] * n
    f.pcp = [rnd.randrange(5) for _ in range(n)]
    f.cost = 300 + rnd.randrange(200)
    f.sw = _Scenario()
    f.sw.pcp_batch = 31
    f.done = array("q")
    who = [-1] + list(range(n))
    fixed_ids = {"lock": L.mmap_lock_line(0), "mm": L.mm_counter_line(0), "zone": L.ZONE_LOCK, "zero": L.ZERO_LINE}
    f.fixed = {r: [rnd.choice(who), rnd.choice([0, 900])] for r in ("lock", "zone") + FIXED_ROLES}
    f.ptl_owner = [rnd.choice(who) for _ in range(ntab)]
    f.pte_owner = [rnd.choice(who) for _ in range(nline)]
    f.ptl_busy, f.pte_busy = [0] * ntab, [0] * nline
    starts = [1000 + rnd.randrange(400) for _ in range(n)]
    f.heap = sorted(t << f.sh | c for c, t in enumerate(starts))
    # the cache model, from the same states
    state = [(fixed_ids[r], o, 0, b) for r, (o, b) in f.fixed.items()]
    state += [(L.ptl_line_at(0, x), o, 0, 0) for x, o in enumerate(f.ptl_owner)]
    state += [(L.pte_line_at(0, y), o, 0, 0) for y, o in enumerate(f.pte_owner)]
    model = L.scratch_model(n, socket, costs, state)
    pcp, pos, heap, want = list(f.pcp), [0] * n, list(f.heap), array("q")
    frame = 1 << 20

    def fault() -> None:  # the next fault by the cache model, in the heap's order
        nonlocal frame
        e = heapq.heappop(heap)
        t, c = e >> f.sh, e & f.mask
        i = pos[c]
        lines = []
        for r in roles:
            if r == "page":
                if not pcp[c]:
                    lines.append(L.ZONE_LOCK)
                    pcp[c] = 31
                pcp[c] -= 1
                lines.append(L.struct_page_line(frame))
                frame += 1
            elif r == "ptl":
                lines.append(L.ptl_line_at(0, f.pi[c][i]))
            elif r == "pte":
                lines.append(L.pte_line_at(0, f.ei[c][i]))
            else:
                lines.append(fixed_ids[r])
        end = model.access(c, t, [(line, True) for line in lines], []) + f.cost
        want.append(end << f.sh | c)
        pos[c] = i + 1
        if i + 1 < per:
            heapq.heappush(heap, end << f.sh | c)

    # the loop in slices no CPU's list runs out within (as _Timing.run cuts them), the model
    # alike; between slices one CPU's next start is put later in both, as a fault played in full
    # that allocated a page table would leave it, so that the loop's queue ends behind it
    slow = rnd.randrange(n)
    while f.heap:
        k = min(min(per - f.pos[e & f.mask] for e in f.heap), 1 + rnd.randrange(2 * n))
        if _loop(roles, uniform(lat))(f, k) != k:
            return False
        if any(f.heap[(i - 1) // 2] > f.heap[i] for i in range(1, len(f.heap))):
            return False  # (the heap left a heap)
        for _ in range(k):
            fault()
        f.heap = [e for e in f.heap if f.pos[e & f.mask] < per]
        heapq.heapify(f.heap)
        if rnd.random() < 0.5:
            f.heap = [e + (rnd.randrange(3000) << f.sh) if e & f.mask == slow else e for e in f.heap]
            heapq.heapify(f.heap)
            heap[:] = f.heap
        if sorted(f.heap) != sorted(heap):
            return False
    return list(f.done) == list(want) and all(
        tuple(f.fixed[r]) == (model.owner.get(fixed_ids[r], -1), model.busy.get(fixed_ids[r], 0))
        for r in set(roles) & set(f.fixed) | {"lock"}) and f.ptl_owner == [
        model.owner.get(L.ptl_line_at(0, x), -1) for x in range(ntab)] and f.pte_owner == [
        model.owner.get(L.pte_line_at(0, y), -1) for y in range(nline)] and f.ptl_busy == [
        model.busy.get(L.ptl_line_at(0, x), 0) for x in range(ntab)] and f.pte_busy == [
        model.busy.get(L.pte_line_at(0, y), 0) for y in range(nline)]


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
    f.table_of_line = [0]
    f.table, f.pos = [True], [0] * n
    f.ptl_owner, f.ptl_busy = [states["ptl"][1]], [states["ptl"][3]]
    f.pte_owner, f.pte_busy = [states["pte"][1]], [states["pte"][3]]
    f.done = array("q")
    f.cost = 0
    f.sw = _Scenario()
    f.sw.pcp_batch = 31
    _loop(roles, uniform(f.lat))(f, 1)
    if len(f.done) != 1 or f.done[0] >> f.sh != t:
        return False
    after = {"ptl": (f.ptl_owner[0], f.ptl_busy[0]), "pte": (f.pte_owner[0], f.pte_busy[0])}
    after |= {r: tuple(f.fixed[r]) for r in ("lock", "zone") + FIXED_ROLES}
    return all(after[r] == (model.owner.get(ids[r], -1), model.busy.get(ids[r], 0)) for r in used)
