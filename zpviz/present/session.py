"""A lesson ready to show: its traces (one per kernel variant) and every view-model built once.

Building one simulates the lesson (or reads its traces from the on-disk cache, tracecache.py),
so the GUI does it off its thread. Each Lesson is immutable and handed over whole; a lesson that
compares variants is first handed over with the leading variant alone and the others `pending`,
then again as each joins, so the first picture does not wait for the last variant.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from zpviz.engine.cancel import Cancelled
from zpviz.present import compare as CMP
from zpviz.present import prefetch
from zpviz.present.grid import GridLayout, grid_layout
from zpviz.present.kpath import LogIndex
from zpviz.present.navigate import Stops, stops_for
from zpviz.present.outcome import outcomes_for
from zpviz.present.physmem import PhysLayout, phys_layout
from zpviz.present.playback import Plan, plan_for
from zpviz.present.predict import Question, questions_for
from zpviz.present.series import Series, time_series
from zpviz.present.timeline import Marks, marks_for
from zpviz.present.tracecache import TraceCache, simulate_cached
from zpviz.scenario.model import variant_id


def kernels_for(scenario, kernel: str | None = None, compare=None) -> tuple[str, ...]:
    """The variants to show, the leading one first.

    --compare wins (with --kernel, if given, leading); else --kernel alone; else the lesson's own
    `kernel` and `compare` keys.
    """
    ids = CMP.parse_compare(compare) if compare else ()
    kernel = variant_id(kernel) if kernel is not None else None
    if ids:
        if kernel and kernel not in ids:
            ids = (kernel,) + ids
        return ids[:CMP.MAX_VARIANTS]
    if kernel:
        return (kernel,)
    own = tuple(dict.fromkeys((scenario.kernel,) + tuple(scenario.compare)))
    return own[:CMP.MAX_VARIANTS]


@dataclass(frozen=True, eq=False)
class Lesson:
    path: str
    scenario: object
    kernels: tuple[str, ...]
    traces: tuple  # Trace per kernel, the leading one first
    grid: GridLayout
    phys: tuple[PhysLayout, ...]
    plan: Plan
    stops: Stops
    marks: Marks
    series: Series
    questions: dict[int, Question]
    logs: tuple[LogIndex, ...]
    outcomes: tuple[tuple[str, ...], ...] = ()  # per trace, each step's one-line outcome (present.outcome)
    # variants still being simulated, in the order they will join (after `kernels`); the window
    # keeps a pane waiting for each. Everything above covers the ready variants only.
    pending: tuple[str, ...] = ()

    @property
    def lead(self):
        return self.traces[0]

    @property
    def n_frames(self) -> int:
        return len(self.lead)

    @property
    def compare(self) -> bool:
        return len(self.traces) > 1

    @property
    def n_variants(self) -> int:
        """The variants shown once every one is ready: the panes the window lays out."""
        return len(self.traces) + len(self.pending)

    def joined(self, trace) -> Lesson:
        """This lesson with the next pending variant's trace added."""
        k = self.pending[0]
        return dataclasses.replace(
            self, kernels=self.kernels + (k,), traces=self.traces + (trace,),
            phys=self.phys + (phys_layout(len(trace.frame(0).fkind)),), logs=self.logs + (LogIndex(trace),),
            outcomes=self.outcomes + (outcomes_for(trace),),
            questions=questions_for(self.lead, self.traces[1:] + (trace,)),  # which-kernel answers need them all
            pending=self.pending[1:])

    def aligned(self, frame: int) -> tuple[int, ...]:
        """The frame of each variant that lines up with `frame` of the leading one."""
        return (frame,) + tuple(CMP.aligned_frame(self.lead, frame, t) for t in self.traces[1:])


def build_lesson(scenario, kernel: str | None = None, compare=None, progress=None, partial=None,
                 cache: TraceCache | None = None) -> Lesson:
    """Simulate `scenario` under each variant (or read it from the trace cache) and build the view-models.

    progress(text) is told what is happening, every 4,096 events while simulating ("Simulating
    under v5: 12,288 events"); returning False stops the work with engine.Cancelled, part-way
    through a simulation too, so a Cancel button stops the CPU work and not only its result.
    partial(lesson), if given, gets the lesson as soon as its leading variant is ready and again
    as each other one joins (with the rest `pending`); the lesson returned is the whole one.
    A trace simulated here is stored in the cache after it was handed to partial, so the first
    picture does not wait for the disk.
    """
    def say(text: str) -> None:
        if progress is not None and progress(text) is False:
            raise Cancelled(text)

    cache = cache if cache is not None else TraceCache.default()
    ids = kernels_for(scenario, kernel, compare)
    lesson = None
    for i, k in enumerate(ids):
        label = f"Simulating under {k}" + (f" ({i + 1} of {len(ids)})" if len(ids) > 1 else "")
        say(f"{label} ...")
        tick = None if progress is None else (lambda n, label=label: progress(f"{label}: {n:,} events"))
        trace = prefetch.take(scenario, k, tick)  # a start-up worker's (prefetch.py), stored already
        hit = trace is not None
        if trace is None:
            trace, hit = simulate_cached(scenario, k, progress=tick, cache=cache, store=False)
        if lesson is None:
            say("Preparing the views ...")
            lesson = _first(scenario, ids, trace)
        else:
            lesson = lesson.joined(trace)
        if partial is not None and lesson.pending:
            partial(lesson)
        if not hit:
            cache.put(trace, scenario, k)
    return lesson


def _first(scenario, ids: tuple[str, ...], lead) -> Lesson:
    """The lesson with its leading variant ready and the others pending."""
    stops = stops_for(lead)
    return Lesson(
        path=scenario.path, scenario=scenario, kernels=ids[:1], traces=(lead,), grid=grid_layout(lead.layout),
        phys=(phys_layout(len(lead.frame(0).fkind)),), plan=plan_for(lead), stops=stops,
        marks=marks_for(lead, stops.checkpoints, stops.step_ends), series=time_series(lead),
        questions=questions_for(lead, ()), logs=(LogIndex(lead),), outcomes=(outcomes_for(lead),),
        pending=ids[1:])


def same_place(old: Lesson | None, frame: int, new: Lesson) -> int:
    """After a reload: the frame of `new` at the same step (and the same progress through it)."""
    if old is None:
        return 0
    k = old.lead.step_of_frame(frame)
    if k < 0:
        return 0 if frame == 0 else min(new.lead.setup_end, new.n_frames - 1)
    steps = new.lead.step_results
    if k >= len(steps):
        return new.n_frames - 1
    a, b = old.lead.step_results[k], steps[k]
    done = (frame - a.first_event) / max(a.end_event - a.first_event, 1)
    return min(b.end_event, b.first_event + max(1, round(done * (b.end_event - b.first_event))))
