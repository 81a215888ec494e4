"""Carry out a lesson on the running Linux kernel and report it in the run-report shape (docs/report.md).

    report = run_on_kernel(scenario, every_step=True)

Every lesson process is a real process: a fork of a small supervisor (see supervisor.py), which the
runner starts as a fresh interpreter. A `fork` op is a real fork(2) of the lesson process that
executes it; `exit` makes that process exit, which tears its mappings down. Ops are one-byte user
loads and stores and the real syscalls (mlock, mlock2, munlock, madvise, mprotect, munmap,
move_pages); `gup` goes through /proc/PID/mem, a forced get_user_pages; a long-term pin through
io_uring fixed buffers. Nothing outside the lesson processes' own memory is touched: no sysfs knob
is written, file-backed vmas use unlinked temporary files.

How a vma is made: mmap(MAP_PRIVATE or MAP_SHARED, MAP_ANONYMOUS unless backing = "file") at a
2 MiB-aligned address, prot none/r/rw, MAP_POPULATE and MAP_LOCKED as the lesson says. A thp vma
must be MADV_HUGEPAGE before its first fault, and MAP_POPULATE/MAP_LOCKED fault at mmap time; so for
a thp vma the runner maps without them, madvises, and then does what mm_populate() does: mlock() for
`locked`, and for `populate` MADV_POPULATE_WRITE on a private writable vma, MADV_POPULATE_READ
otherwise (populate_vma_page_range writes only when (VM_WRITE|VM_SHARED) == VM_WRITE).

What the kernel cannot tell (null in the report, each with a note): fault_kinds, makespan_ns, the
zero-page refcount and cache-line counters, pt_frames, the per-CPU counters, the faults of a fork
step; without root, the PFN and kpageflags (so zero vs shared pages of a private vma, mlocked, huge).

Checked on Linux 6.18.44, x86-64, root, THP "madvise", use_zero_page 1, one node (each is a test in
tests/kernel; "doc" is docs/semantics.md):
- read fault, private anon: the 4 KiB zero page (KPF_ZERO_PAGE 24, plus KPF_RESERVED 32); Rss and
  Anonymous 0. A write after it COWs that page only. Rss never counts a zero page, small or huge.
- fork copies a vma's PTEs only if the vma has an anon_vma (vma_needs_copy): a vma that only ever
  read-faulted zero pages gives the child pte_none ("none"), not zero pages. Doc 2e and its test 7
  say the child gets the zero PTEs: true only once the vma has been written (or THP-faulted).
  Shared anonymous vmas are never copied (doc: confirmed).
- the huge zero page: 512 PFNs with KPF_ZERO_PAGE + KPF_THP, and pagemap bit 61 (PM_FILE) *set*;
  doc says bits 61 and 56 are clear for a zero page: true for the 4 KiB one only. do_huge_pmd_
  anonymous_page prepares the anon_vma first, so fork does copy the huge zero PMD. A write to it
  allocates a whole THP (doc: confirmed). munmap/MADV_DONTNEED of part of it splits the PMD into
  4 KiB zero-page PTEs (huge false).
- mlock: private rw read region -> every zero page COWed into an mlocked anon page (KPF_MLOCKED 33,
  KPF_UNEVICTABLE 18); private read-only region (read or untouched) -> zero pages, not mlocked,
  VmFlags "lo", Locked 0 (doc [R]: confirmed); MLOCK_ONFAULT populates nothing and a later read maps
  the zero page; a span with a hole -> ENOMEM, nothing populated, VM_LOCKED set on the part before
  the hole; MAP_LOCKED -> VM_LOCKED and mlocked anon pages. MADV_DONTNEED on a VM_LOCKED vma: EINVAL.
- mprotect making a VM_LOCKED private vma writable populates it at once (mprotect_fixup, since
  4.2): every zero page becomes an mlocked anon page, and a later write takes no fault.
- fault-around: a read fault in a file or shmem mapping maps the cached pages around it (16 with
  the default 64 KiB fault_around_bytes): 64 pages of a file read in 4 faults, not 64.
- MAP_POPULATE: private rw -> anon, private r -> zero, shared -> shmem; MADV_POPULATE_READ -> zero,
  _WRITE -> anon. On a thp vma both give whole THPs.
- move_pages(nodes=NULL): zero page (small or huge) -EFAULT, untouched -ENOENT, anon or THP node0.
- GUP through /proc/PID/mem: a read of an untouched page maps the zero page (the huge zero page in
  a THP range); a forced write to a read-only private page COWs it to anon. An io_uring long-term
  pin of a zero page leaves a fresh anon page.
- pagemap bit 56 follows the mapcount: after fork both processes' anon pages lose it, and the
  parent's get it back when the child exits. New anon pages often lack KPF_LRU (per-CPU batches).
- this root lacks CAP_SYS_RESOURCE (RLIMIT_MEMLOCK cannot be raised); CAP_IPC_LOCK makes root's
  mlock ignore the limit anyway.
"""

from __future__ import annotations

import os
from dataclasses import replace
from fnmatch import fnmatchcase

from zpviz.errors import Problem, TooBigError
from zpviz.kernel import probe
from zpviz.kernel.client import KernelRunError, SupervisorClient
from zpviz.kernel.observe import STATES
from zpviz.scenario.claims import check_step_claims, claims_for
from zpviz.scenario.model import ProcessSpec, Source
from zpviz.scenario.selectors import resolve, span

PAGE = 4096
NOBODY = 65534
MAX_PROCESSES = 512
PROCESS_OVERHEAD = 16 << 20  # an interpreter's private pages, about 9 MiB measured, rounded up
VARIANT = "modern"  # the variant a 6.18 kernel is checked as
_FLAG = {"1": True, "0": False, "?": None}
_SPAN_OPS = ("mlock", "munlock", "madvise", "mprotect", "munmap")

NOTES = [
    "faults: the change of minflt+majflt (getrusage) of each process across the op alone: every fault "
    "the process took in that window, kernel-driven ones too (GUP, mlock, populate). The interpreter's "
    "own faults are kept out of the window (primed code paths, no cyclic GC; measured: none on this "
    "kernel) but cannot be ruled out entirely",
    "fault_kinds: null; the kernel does not say which kind of fault it handled",
    "makespan_ns: null; steps are not timed (one process does a step's accesses, on one CPU, in turn: the "
    "step's cpus and deal are not reproduced)",
    "zero_page, huge_zero_page: null; the kernel exposes no refcount change or cache-line counts of them",
    "pt_frames: null; a process's page-table pages (VmPTE) are not attributable to the lesson's vmas",
    "cpus: null; there are no per-CPU cache-line counters to read",
    "fork: faults null; fork(2) faults no lesson page, and what the process counts across it are the "
    "copy-on-write faults the interpreter itself takes right after fork(2) returns (a few dozen)",
    "frames_used: distinct PFNs of present pages other than the zero pages, in the lesson vmas of the "
    "live processes (a THP counts as 512 frames)",
]


def _default_tmpdir() -> str:
    for d in ("/var/tmp", "/tmp"):
        if os.access(d, os.W_OK | os.X_OK):
            return d
    return "/tmp"


def _fs_type(path: str) -> str | None:
    best, kind = "", None
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                mnt = parts[1]
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, kind = mnt, parts[2]
    except OSError:
        pass
    return kind


def _processes(scenario) -> tuple[ProcessSpec, ...]:
    """The lesson's processes; "main" when a Scenario built in code names none (the loader never does)."""
    return scenario.processes or (ProcessSpec("main", None, Source(scenario.path, None, "scenario")),)


def _process_bytes(scenario) -> dict[str, int]:
    """Bytes of lesson vmas in each initial process instance."""
    out = {}
    for p in _processes(scenario):
        size = sum(v.pages for v in scenario.vmas_of(p.name)) * PAGE
        for inst in p.instance_names():
            out[inst] = size
    return out


def _refuse(scenario, caps: dict, cap_bytes: int) -> None:
    """Raise before anything runs if the lesson cannot or must not run here."""
    if not caps["linux"] or caps["machine"] != "x86_64":
        raise KernelRunError(f"{scenario.path}: the kernel runner needs Linux on x86-64; this is "
                             f"{'Linux' if caps['linux'] else 'not Linux'} on {caps['machine']}")
    if not caps["pagemap"]:
        raise KernelRunError("/proc/self/pagemap cannot be read here (kernel without CONFIG_PROC_PAGE_MONITOR, "
                             "or /proc not mounted): nothing could be observed")
    problems = []
    for v in scenario.vmas:
        if v.pages * PAGE > cap_bytes:
            problems.append(Problem(scenario.path, v.source.line, v.source.table or f"vma {v.name}",
                                    f"vma {v.name!r} is {v.pages * PAGE:,} bytes ({v.pages:,} pages), over the "
                                    f"{cap_bytes:,} byte cap for running on the real kernel"))
    per_proc = _process_bytes(scenario)
    total = sum(per_proc.values())
    forks = [s for s in scenario.steps if s.do == "fork"]
    for s in forks:  # a fork can double what its parent may fault in
        total += sum(per_proc.get(n, 0) for n in (s.instances or s.processes or tuple(per_proc)[:1]))
    nprocs = max(1, len(per_proc)) + len(forks)
    if nprocs > MAX_PROCESSES:
        problems.append(Problem(scenario.path, None, "scenario",
                                f"the lesson makes {nprocs:,} processes; the real-kernel runner runs at most "
                                f"{MAX_PROCESSES} (each is a Python interpreter)"))
    total += nprocs * PROCESS_OVERHEAD
    avail = caps.get("mem_available")
    if avail and total > avail // 2:
        problems.append(Problem(scenario.path, None, "scenario",
                                f"the lesson's vmas could use {total:,} bytes on the real kernel, more than half "
                                f"of the {avail:,} bytes available here"))
    if problems:
        raise TooBigError(problems)


class _Run:
    def __init__(self, scenario, caps: dict, every_step: bool, unprivileged: bool, timeout: float,
                 tmpdir: str | None):
        self.sc, self.caps, self.every_step = scenario, caps, every_step
        self.tmpdir = tmpdir or _default_tmpdir()
        per_proc = _process_bytes(scenario)
        self.config = {
            "timeout": timeout, "tmpdir": self.tmpdir, "thp_always": caps["thp_enabled"] == "always",
            "as_slack": 512 << 20, "memlock_bytes": max(per_proc.values(), default=0) + (16 << 20),
            "drop_to": [NOBODY, NOBODY] if unprivileged and caps["root"] else None,
        }
        self.procs: dict[str, dict[str, int]] = {}  # name -> {vma: pages}, in creation order
        self.alive: dict[str, bool] = {}
        self.pids: dict[str, int] = {}
        self.supervisor_pid: int | None = None
        self.notes: list[str] = list(NOTES)
        self.kernel_log: list[str] = []
        self.sup_caps: dict = {}

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # ---- the run ------------------------------------------------------------------------------

    def execute(self) -> dict:
        client = SupervisorClient(self.config)
        self.supervisor_pid = client.proc.pid
        leftover: list[int] = []
        try:
            self.sup_caps = client.caps
            for p in _processes(self.sc):
                for inst in p.instance_names():
                    self._spawn(client, inst, self.sc.vmas_of(p.name))
            entries = []
            for step in self.sc.steps:
                entry = self._step(client, step)
                claims = claims_for(step, VARIANT)
                if self.every_step or claims:
                    state = self._observe(client)
                    if self.every_step:
                        entry["state"] = state
                    entry["expect"] = self._expect(step, entry, state, claims)
                else:
                    entry["expect"] = {"ok": True, "failed": []}
                entries.append(entry)
            final = self._observe(client)
        finally:
            leftover = client.close()
        if leftover:
            self.note(f"processes still alive after the run: {leftover}")
        return {
            "scenario": self.sc.title,
            "kernel": "linux-" + self.caps["kernel_release"],
            "kernel_version": f"{self.caps['kernel_release']} {self.caps['kernel_version']}",
            "steps": entries,
            "final": final,
            "kernel_log": self.kernel_log,
            "notes": self.notes,
            "observed": self._observed(leftover),
        }

    def _spawn(self, client: SupervisorClient, name: str, vmas) -> None:
        specs = [{"name": v.name, "pages": v.pages, "prot": v.prot, "share": v.share, "backing": v.backing,
                  "populate": v.populate, "locked": v.locked, "thp": v.thp} for v in vmas]
        reply = client.request({"cmd": "spawn", "name": name, "vmas": specs})
        self.kernel_log += reply.get("kmsg", [])
        if "error" in reply:
            tail = client.stderr_tail()
            raise KernelRunError(f"{self.sc.path}: {reply['error']}" + (f"\n{tail}" if tail else ""))
        self.procs[name] = {v.name: v.pages for v in vmas}
        self.alive[name] = True
        self.pids[name] = reply["pid"]
        if any(v.thp and (v.populate or v.locked) for v in vmas):
            self.note("thp vma with populate/locked: mapped, MADV_HUGEPAGE, then mlock() or MADV_POPULATE_* "
                      "(what MAP_LOCKED/MAP_POPULATE do, but after the madvise so the range can get THPs)")
        if any(v.backing == "file" for v in vmas):
            self.note(f"file-backed vmas map unlinked sparse files in {self.tmpdir} "
                      f"({_fs_type(self.tmpdir) or 'unknown'} file system)")

    def _instances(self, step) -> list[str]:
        if step.instances:
            return list(step.instances)
        patterns = step.processes or tuple(self.procs)[:1]
        out: list[str] = []
        for pat in patterns:
            hits = [n for n in self.procs if self.alive[n] and fnmatchcase(n, pat)] or [pat]
            out += [n for n in hits if n not in out]
        return out

    def _op_message(self, step, npages: int) -> dict:
        sel = step.pages
        if step.do in ("read", "write"):
            return {"op": "access", "write": step.do == "write", "vma": step.vma,
                    "pages": self._pages(sel, npages)}
        if step.do in _SPAN_OPS:
            lo, hi = (0, npages - 1) if sel is None else span(sel, npages)
            return {"op": step.do, "vma": step.vma, "lo": lo, "hi": hi, "onfault": step.onfault,
                    "advice": step.advice, "prot": step.prot}
        if step.do == "move_pages":
            return {"op": "move_pages", "vma": step.vma, "pages": self._pages(sel, npages)}
        if step.do == "gup":
            return {"op": "gup", "vma": step.vma, "pages": self._pages(sel, npages), "write": step.write,
                    "force": step.force, "pin": step.pin, "longterm": step.longterm}
        if step.do == "fork":
            return {"op": "fork", "child": step.child}
        return {"op": step.do}

    @staticmethod
    def _pages(sel, npages: int) -> list[int]:
        return list(range(npages)) if sel is None else resolve(sel, npages).tolist()

    def _step(self, client: SupervisorClient, step) -> dict:
        entry = {"index": step.index, "do": step.do, "process": None, "vma": step.vma, "faults": 0,
                 "fault_kinds": None, "errno": None, "status": None, "signal": None, "makespan_ns": None,
                 "log": [], "expect": None, "carried_out": True}
        if step.do == "say":
            return entry
        names = self._instances(step)
        entry["process"] = names[0] if len(names) == 1 else names
        if step.do == "coredump":
            entry["dump"] = None
        status: list | None = None
        refused: list[int] = []
        for name in names:
            if not self.alive.get(name):
                self.note(f"step {step.index}: process {name!r} does not exist or has exited; op not carried out")
                entry["carried_out"] = False
                continue
            npages = self.procs[name].get(step.vma, 0) if step.vma else 0
            try:
                msg = self._op_message(step, npages)
            except ValueError as exc:
                self.note(f"step {step.index}: {exc}; op not carried out")
                entry["carried_out"] = False
                continue
            reply = client.request({"cmd": "op", "process": name, "op": msg})
            entry["log"] += reply.get("kmsg", [])
            if reply.get("dead"):  # killed by the watchdog, or crashed: the rest would mislead
                tail = client.stderr_tail()
                raise KernelRunError(f"{self.sc.path}: step {step.index} ({step.do}) in process {name!r}: "
                                     f"{reply['error']}" + (f"\n{tail}" if tail else ""))
            if "error" in reply:
                self.note(f"step {step.index}: process {name!r}: {reply['error']}")
                entry["carried_out"] = False
                continue
            entry["faults"] += reply.get("faults") or 0
            entry["errno"] = entry["errno"] or reply.get("errno")
            if reply.get("status") is not None:
                status = (status or []) + reply["status"]
            if reply.get("signal"):
                refused += reply["signal"]["pages"]
            for n in reply.get("notes", []):
                self.note(f"step {step.index}: {n}")
            if reply.get("not_carried_out"):
                entry["carried_out"] = False
            if reply.get("dump") is not None:  # summed over the processes the step names
                d = entry["dump"] or {"written": 0, "holes": 0}
                entry["dump"] = {k: d[k] + reply["dump"][k] for k in d}
            if step.do == "fork":
                self.procs[step.child] = dict(self.procs[name])
                self.alive[step.child] = True
                self.pids[step.child] = reply["pid"]
            elif step.do == "exit":
                self.alive[name] = False
        entry["status"] = status
        if step.do in ("fork", "coredump"):  # (a coredump is taken by a fork: see lesson_proc.coredump)
            entry["faults"] = None
        if refused:
            entry["signal"] = {"name": "SIGSEGV", "pages": refused}
            self.note("SIGSEGV: a page the kernel would refuse (no vma, or the vma lacks the permission, as "
                      "/proc/self/maps shows it) is not accessed and is reported as SIGSEGV; the process goes on")
        self.kernel_log += entry["log"]
        return entry

    # ---- observation --------------------------------------------------------------------------

    def _null_vma(self, npages: int) -> dict:
        return {"pages": [None] * npages, "mlocked": [None] * npages, "huge": [None] * npages,
                "vm_locked": None, "rss_kb": None, "anon_kb": None, "locked_kb": None}

    def _observe(self, client: SupervisorClient) -> dict:
        reply = client.request({"cmd": "observe"})
        for problem in reply.get("problems", []):
            self.note(f"not observed: {problem}")
        processes = {}
        for name, pst in reply["processes"].items():
            if pst["exited"]:
                processes[name] = {"exited": True, "vmas": {}}
            elif pst["vmas"] is None:
                processes[name] = {"exited": False,
                                   "vmas": {v: self._null_vma(n) for v, n in self.procs[name].items()}}
            else:
                processes[name] = {"exited": False, "vmas": {v: {
                    "pages": [STATES[c] for c in s["pages"]],
                    "mlocked": [_FLAG[c] for c in s["mlocked"]],
                    "huge": [_FLAG[c] for c in s["huge"]],
                    "vm_locked": s["vm_locked"], "rss_kb": s["rss_kb"], "anon_kb": s["anon_kb"],
                    "locked_kb": s["locked_kb"]} for v, s in pst["vmas"].items()}}
        return {
            "processes": processes,
            "zero_page": {"refcount_delta": None, "mapcount_delta": None, "line_writes": None,
                          "line_transfers": None},
            "huge_zero_page": {"refcount_delta": None, "line_writes": None, "line_transfers": None},
            "frames_used": reply["frames_used"],
            "pt_frames": None,
            "cpus": None,
        }

    def _expect(self, step, entry: dict, state: dict, claims) -> dict:
        kept, skipped = [], []
        for c in claims:
            if self._unobservable(c, step, entry, state):
                skipped.append(c.field)
            else:
                kept.append(c)
        failures = check_step_claims(replace(step, expect=tuple(kept)), VARIANT, entry, state, title=self.sc.title)
        out = {"ok": not failures, "failed": [f.to_json() for f in failures]}
        if skipped:
            out["not_observed"] = skipped
        return out

    def _unobservable(self, claim, step, entry: dict, state: dict) -> bool:
        f = claim.field
        if f.startswith("dump."):
            return entry.get("dump") is None
        if f.startswith("step.") or hasattr(claim.value, "of"):
            return True  # per-step changes and comparisons between variants: the model's alone
        if f in ("makespan_ns", "pt_frames", "events", "log_lines", "bad_page_maps") or \
                f.startswith(("fault_kinds.", "zero_page_", "huge_zero")):
            return True
        if f == "faults":
            return entry["faults"] is None
        if f in ("errno", "status", "signal"):
            return not entry["carried_out"]
        if f == "frames_used":
            return state["frames_used"] is None
        if f == "log":
            return not self.sup_caps.get("kmsg")
        if f in ("pages", "mlocked", "huge", "rss_kb", "anon_kb", "locked_kb", "vm_locked"):
            for name in claim.processes or self._instances(step):
                vma = state["processes"].get(name, {}).get("vmas", {}).get(claim.vma or step.vma)
                if vma is None:
                    continue
                if f in ("pages", "mlocked", "huge"):
                    values = vma[f]
                    for sel, _ in claim.value:
                        try:
                            idx = resolve(sel, len(values)).tolist()
                        except ValueError:
                            continue
                        if any(values[i] is None for i in idx):
                            return True
                elif vma[f] is None:
                    return True
        return False

    def _observed(self, leftover: list[int]) -> dict:
        sc = self.sup_caps
        pfns = bool(sc.get("kpageflags")) and bool(self.caps.get("pagemap_pfns")) and not self.config["drop_to"]
        not_observed = ["fault_kinds", "makespan_ns", "zero_page", "huge_zero_page", "pt_frames", "cpus"]
        if not pfns:
            not_observed += ["frames_used", "mlocked", "huge", "pages: zero vs shared (anon mapped twice) in private "
                             "anonymous vmas"]
            self.note("without root the PFNs in pagemap read as 0 and /proc/kpageflags cannot be opened "
                      f"({sc.get('kpageflags_why')}): page states come from pagemap bits alone, so in a private "
                      "anonymous vma a present page that is not exclusively mapped (the 4 KiB zero page, or an "
                      "anon page shared after fork) is null; the huge zero page is still known (pagemap "
                      "marks it PM_FILE); mlocked, huge and frames_used are null")
        if sc.get("memlock_why") and sc.get("euid") != 0:
            self.note(sc["memlock_why"])
        if not sc.get("kmsg"):
            self.note(f"kernel log not read ({sc.get('kmsg_why')}): step logs are empty and log claims unchecked")
        else:
            self.note("kernel_log and each step's log hold every kernel message printed meanwhile, not only the "
                      "lesson's")
        return {
            "root": sc.get("euid") == 0, "privileges_dropped": bool(self.config["drop_to"]), "euid": sc.get("euid"),
            "pagemap": True, "pfns": pfns,
            "kpageflags": bool(sc.get("kpageflags")), "smaps": True, "kmsg": bool(sc.get("kmsg")),
            "thp_enabled": self.caps["thp_enabled"], "use_zero_page": self.caps["use_zero_page"],
            "numa_nodes": self.caps["numa_nodes"], "rlimit_memlock": sc.get("rlimit_memlock"),
            "tmpdir": self.tmpdir, "not_observed": not_observed, "leftover_pids": leftover,
            "pids": self.pids, "supervisor_pid": self.supervisor_pid,
        }


def run_on_kernel(scenario, every_step: bool = False, cap_bytes: int = 1 << 30, *, unprivileged: bool = False,
                  timeout: float = 60.0, tmpdir: str | None = None) -> dict:
    """Carry out `scenario` on the running kernel; the run report (docs/report.md).

    every_step: add the state after each step to its entry. cap_bytes: refuse any vma larger than
    this (TooBigError naming the file and the vma). unprivileged: run the lesson processes as
    nobody (as root: to see what a user without root gets). timeout: watchdog per op, in seconds.
    Raises KernelRunError (a message, no traceback needed) when the kernel cannot carry it out.
    """
    caps = probe.capabilities()
    _refuse(scenario, caps, cap_bytes)
    run = _Run(scenario, caps, every_step, unprivileged, timeout, tmpdir)
    why = probe.skip_reason(scenario, caps, cap_bytes)
    if why:  # runnable, but not what the lesson describes (e.g. a THP knob set the other way)
        run.note(f"this kernel cannot carry out the lesson as written: {why}")
    return run.execute()
