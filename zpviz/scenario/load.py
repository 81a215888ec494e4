"""Read a lesson file (docs/format.md) into a Scenario, or say everything wrong with it.

Every problem is collected (file, line, table, what would be valid) and raised together as one
LessonError, or TooBigError when a size bound (docs/format.md "Size bounds") is exceeded. The text is only ever
parsed as TOML: nothing in it is executed.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path

from ..errors import LessonError, Problem, TooBigError
from . import narration
from .checks import Ctx, Table, choices, kind, show, suggest
from .locate import Locator, label
from .model import KERNEL_IDS, PROTS, WATCHABLE_LINES, Compare, ProcessSpec, Scenario, Source, VmaSpec, variant_id
from .program import check_lines, read_program
from .steps import MAX_PROCESSES, MAX_TOTAL_PAGES, NAME, NAME_RULE, StepReader, cost_us
from .world import World

MAX_FILE_BYTES = 1 << 20
MAX_PAGE_EVENTS = 2_000_000
WORK_BUDGET_S = 8.0  # estimated engine time over every variant a lesson plays (steps.COST_US): stays under 10 s
MAX_STEPS = 10_000
MAX_CPUS = 256

TABLES = ("scenario", "process", "vma", "step", "program")
SCENARIO_KEYS = ("title", "summary", "kernel", "compare", "cpus", "sockets", "thp_use_zero_page", "seed",
                 "watch")
VMA_KEYS = ("name", "process", "pages", "prot", "share", "backing", "populate", "locked", "thp")
THP_PAGES = 512  # 2 MiB of 4 KiB pages
_TOML_POS = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")


def load(path: str | os.PathLike) -> Scenario:
    """Load a lesson file. Raises LessonError (TooBigError for size bounds) listing every problem."""
    file = str(path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise LessonError([Problem(file, None, "", "not a regular file")])
        if st.st_size > MAX_FILE_BYTES:
            raise _too_big_file(file, st.st_size)
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat
    except OSError as e:
        raise LessonError([Problem(file, None, "", f"cannot read the lesson: {e.strerror or e}")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_big_file(file, len(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise LessonError([Problem(file, line, "", f"the file is not valid UTF-8 (byte 0x{data[e.start]:02x} "
                                                   f"at column {col}); save it as UTF-8")]) from None
    return loads(text, file)


def _too_big_file(file: str, size: int) -> TooBigError:
    return TooBigError([Problem(file, None, "", f"the file is {size:,} bytes; a lesson may be at most "
                                                f"{MAX_FILE_BYTES:,} bytes (1 MiB)")])


def loads(text: str, path: str = "<string>") -> Scenario:
    """Load a lesson from its text; `path` names it in messages."""
    if len(text) * 4 > MAX_FILE_BYTES:  # a character is at most 4 bytes: only then count them
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_FILE_BYTES:
            raise _too_big_file(path, size)
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write; TOML does not allow it
    locator = Locator(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _TOML_POS.search(msg)
        line = int(m.group(1)) if m and m.group(1) else (text.count("\n") + 1 if m else None)
        where = label(locator.table_at(line)) if line else ""
        what = _TOML_POS.sub("", msg) + (f" (column {m.group(2)})" if m and m.group(2) else "")
        raise LessonError([Problem(path, line, where, f"TOML syntax error: {what}")]) from None
    ctx = Ctx(path, locator)
    scenario = _scenario(ctx, data)
    if ctx.problems:
        raise (TooBigError if ctx.too_big else LessonError)(ctx.sorted_problems())
    return scenario


def _tables(ctx: Ctx, data: dict, name: str) -> list[tuple[int, dict]]:
    """The elements of an array of tables `[[name]]`, each with its index."""
    raw = data.get(name)
    if raw is None:
        return []
    if isinstance(raw, dict):  # [step] written for [[step]]: read it, but say so
        ctx.problem((name,), f"write [[{name}]] (double brackets, one per {name}), not [{name}]")
        return [(0, raw)]
    if not isinstance(raw, list):
        ctx.problem((name,), f"{name} must be written as [[{name}]] tables, got {show(raw)} ({kind(raw)})")
        return []
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            out.append((i, item))
        else:
            ctx.problem((name, i), f"{name} must be written as [[{name}]] tables, "
                                   f"got {show(item)} ({kind(item)})")
    return out


def _scenario(ctx: Ctx, data: dict) -> Scenario:
    for key in data:
        if key in SCENARIO_KEYS:
            ctx.problem((key,), f'"{key}" must be under [scenario] (it is above every table header)')
        elif key not in TABLES:
            what = "table" if isinstance(data[key], (dict, list)) else "key"
            ctx.problem((key,), f'unknown {what} "{key}"; valid tables: [scenario], [[process]], [[vma]], '
                                f"[[step]], [program]{suggest(key, TABLES)}")
    raw = data.get("scenario", {})
    if not isinstance(raw, dict):
        ctx.problem(("scenario",), f"write [scenario] once, as a table; got {show(raw)} ({kind(raw)})")
        raw = {}
    t = Table(ctx, raw, ("scenario",))
    t.keys(SCENARIO_KEYS)
    fallback_title = Path(ctx.file).stem if ctx.file != "<string>" else "untitled"
    cpus = t.get_int("cpus", 1, lo=1, hi=MAX_CPUS)
    cpus_ok = cpus == t.data.get("cpus", 1)  # a bad cpus must not cause a second problem per step
    sockets = t.get_int("sockets", 1, lo=1)
    if sockets > cpus and cpus_ok:
        t.problem("sockets", f"sockets = {sockets} is more than cpus = {cpus}: every socket needs a CPU")
    elif cpus % sockets and cpus_ok:
        t.problem("sockets", f"cpus = {cpus} does not split evenly over sockets = {sockets}; "
                             f"make cpus a multiple of sockets")
    processes = _processes(ctx, _tables(ctx, data, "process"))
    vmas = _vmas(ctx, _tables(ctx, data, "vma"), processes)
    steps, work = _steps(ctx, _tables(ctx, data, "step"), processes, vmas, cpus if cpus_ok else None)
    program = read_program(ctx, data)
    check_lines(ctx, steps, program, had_program="program" in data)
    kernel = t.get_str("kernel", "modern", one_of=KERNEL_IDS)
    kernel, compare = (variant_id(kernel) if kernel else kernel), _compare(t)
    work_s = _work_budget(ctx, steps, work, kernel, compare)
    summary, summaries = narration.text_table(t, "summary")
    return Scenario(
        path=ctx.file, title=t.get_str("title", fallback_title, nonempty=True) or fallback_title,
        summary=summary, summaries=summaries, kernel=kernel, compare=compare, cpus=cpus, sockets=sockets,
        thp_use_zero_page=t.get_bool("thp_use_zero_page", True),
        seed=t.get_int("seed", 0, lo=0, hi=2**64 - 1),
        processes=processes, vmas=vmas, steps=steps, source=t.src(),
        page_events=sum(n for n, _, _ in work), work_s=work_s, program=program, watch=_watch(t),
    )


def _watch(t: Table) -> tuple[str, ...]:
    """[scenario] watch: the cache lines whose every MESI transition the trace records, for the
    "Cache line" view (docs/cacheline.md)."""
    raw = t.data.get("watch", [])
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        t.problem("watch", f'watch must be a list of cache line names, e.g. ["zero_page_line"]; got {show(raw)}')
        return ()
    bad = [v for v in raw if v not in WATCHABLE_LINES]
    if bad:
        t.problem("watch", f'unknown cache line "{bad[0]}" in watch; valid names: {choices(WATCHABLE_LINES)}'
                           f"{suggest(bad[0], WATCHABLE_LINES)}")
        return ()
    return tuple(dict.fromkeys(raw))


def _compare(t: Table) -> tuple[str, ...]:
    raw = t.data.get("compare", [])
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        t.problem("compare", f'compare must be a list of kernel ids, e.g. ["2.6.23", "2.6.24"]; '
                             f"got {show(raw)}")
        return ()
    bad = [v for v in raw if v not in KERNEL_IDS]
    ids = [variant_id(v) for v in raw if v in KERNEL_IDS]
    if bad:
        t.problem("compare", f'unknown kernel id "{bad[0]}" in compare; valid ids: {choices(KERNEL_IDS)}'
                             f"{suggest(bad[0], KERNEL_IDS)}")
    elif len(set(ids)) != len(ids):
        t.problem("compare", 'compare lists a kernel variant twice ("2.6.24" and "2.6.31" name the same one)'
                  if len(set(raw)) == len(raw) else "compare lists a kernel id twice")
    return tuple(dict.fromkeys(ids))


def _processes(ctx: Ctx, items: list[tuple[int, dict]]) -> tuple[ProcessSpec, ...]:
    specs: list[ProcessSpec] = []
    owner: dict[str, str] = {}  # every instance name -> the process table that makes it
    total = 0
    for i, raw in items:
        t = Table(ctx, raw, ("process", i))
        t.keys(("name", "count"))
        name = t.get_str("name", required=True)
        count = t.get_int("count", None, lo=1)  # the bound on all processes is a size bound, below
        if name is None:
            continue
        if not NAME.match(name):
            t.problem("name", f'process name "{name}" is not valid: {NAME_RULE}')
            ctx.broken.add(name)
            continue
        if total + (count or 1) > MAX_PROCESSES:  # before making any instance names: count may be 10**9
            t.problem("count", f"this makes {total + (count or 1):,} processes; at most {MAX_PROCESSES:,} are "
                      "allowed", too_big=True)
            ctx.broken.add(name)
            continue
        spec = ProcessSpec(name, count, t.src())
        clash = [n for n in (name, *spec.instance_names()) if n in owner]
        if clash:
            t.problem("name", f'process name "{clash[0]}" is already taken by {owner[clash[0]]}; '
                              f"process names must be unique")
            continue
        owner.update({n: f"{label(t.path)} ({name})" for n in (name, *spec.instance_names())})
        total += count or 1
        specs.append(spec)
    return tuple(specs) or (ProcessSpec("main", None, Source(ctx.file, None, "scenario")),)


def _vmas(ctx: Ctx, items: list[tuple[int, dict]], processes: tuple[ProcessSpec, ...]) -> tuple[VmaSpec, ...]:
    by_name = {p.name: p for p in processes}
    counted = {n: p.name for p in processes if p.count is not None for n in p.instance_names()}
    out: list[VmaSpec] = []
    seen: set[tuple[str, str]] = set()
    total = 0
    for i, raw in items:
        t = Table(ctx, raw, ("vma", i))
        t.keys(VMA_KEYS)
        name = t.get_str("name", required=True)
        process = t.get_str("process", processes[0].name)
        pages = t.get_int("pages", None, lo=1, required=True)  # the size bound is on the total, below
        v = dict(prot=t.get_str("prot", "rw", one_of=PROTS),
                 share=t.get_str("share", "private", one_of=("private", "shared")),
                 backing=t.get_str("backing", "anon", one_of=("anon", "file")),
                 populate=t.get_bool("populate"), locked=t.get_bool("locked"), thp=t.get_bool("thp"))
        if v["thp"] and pages is not None and pages % THP_PAGES:
            t.problem("pages", f"pages = {pages} with thp = true must be a multiple of {THP_PAGES} (2 MiB)")
        if name is not None and (process not in by_name or pages is None or not NAME.match(name)):
            ctx.broken.add(name)
        if process not in by_name:
            if process in ctx.broken:
                continue
            hint = (f'; a vma belongs to every instance of "{counted[process]}", so name that'
                    if process in counted else f"; processes: {choices(by_name)}")
            t.problem("process", f'unknown process "{process}"{hint}')
            continue
        if name is not None and not NAME.match(name):
            t.problem("name", f'vma name "{name}" is not valid: {NAME_RULE}')
            continue
        if name is not None and (process, name) in seen:
            t.problem("name", f'process "{process}" already has a vma named "{name}"; '
                              f"vma names must be unique per process")
            continue
        if name is None or pages is None:
            continue
        seen.add((process, name))
        total += pages * len(by_name[process].instance_names())
        if total > MAX_TOTAL_PAGES:
            t.problem("pages", f"the vmas add up to {total:,} pages over all processes; at most "
                               f"{MAX_TOTAL_PAGES:,} are allowed", too_big=True)
            ctx.broken.add(name)
            continue
        out.append(VmaSpec(name=name, process=process, pages=pages, source=t.src(), **v))
    return tuple(out)


def _work_budget(ctx: Ctx, steps: tuple, work: list[tuple[int, Source, int]], kernel: str | None,
                 compare: tuple[str, ...]) -> float:
    """Refuse, up front, a lesson the engine would take more than a few seconds to play; the estimate.

    The app and `zpviz check` play every variant the lesson names (its kernel, compare and the
    variants its claims name), so the estimate counts each of them."""
    if not work or ctx.too_big:
        return 0.0  # an over-size lesson has its message already
    claimed = {c.variant for s in steps for c in s.expect}
    compared = {c.value.of for s in steps for c in s.expect if isinstance(c.value, Compare)}
    variants = ({kernel or "modern", *compare} | claimed | compared) - {"*"}
    seconds = sum(n * us for n, _, us in work) * 1e-6 * len(variants)
    if seconds > WORK_BUDGET_S:
        n, where, us = max(work, key=lambda e: e[0] * e[2])
        ctx.problem_at(where, f"the lesson would take the engine about {seconds:.0f} s to play "
                              f"({sum(x for x, _, _ in work):,} page-events under {len(variants)} kernel "
                              f"variant{'s' if len(variants) > 1 else ''}); the limit is {WORK_BUDGET_S:g} s so "
                              f"that opening and checking stay quick. The biggest share is here ({n:,} "
                              f"page-events): select fewer pages or processes, or compare fewer variants",
                       too_big=True)
    return seconds


def _steps(ctx: Ctx, items: list[tuple[int, dict]], processes: tuple[ProcessSpec, ...],
           vmas: tuple[VmaSpec, ...], cpus: int | None) -> tuple[tuple, list[tuple[int, Source, int]]]:
    """The steps, and what they cost: (page-events, where, µs each) per step or mapping."""
    if not items:
        ctx.problem((), "the lesson has no [[step]]; add at least one")
        return (), []
    if len(items) > MAX_STEPS:
        ctx.problem(("step", MAX_STEPS), f"the lesson has {len(items):,} steps; at most {MAX_STEPS:,} "
                                         f"are allowed", too_big=True)
        items = items[:MAX_STEPS]
    reader = StepReader(ctx, World(processes, vmas), cpus)
    for v in vmas:  # MAP_POPULATE and MAP_LOCKED fault every page in at mmap time, in every instance
        if v.populate or v.locked:
            instances = next(p for p in processes if p.name == v.process).instance_names()
            reader.events.append((v.pages * len(instances), v.source, cost_us("mlock", False)))
    steps = tuple(reader.step(i, raw) for i, raw in items)
    total = sum(n for n, _, _ in reader.events)
    if total > MAX_PAGE_EVENTS:
        n, where, _ = max(reader.events, key=lambda e: e[0])
        ctx.problem_at(where, f"the run would take {total:,} page-events, more than the limit of "
                              f"{MAX_PAGE_EVENTS:,}; the biggest share is here ({n:,}): select fewer pages "
                              f"or processes", too_big=True)
    return steps, reader.events
