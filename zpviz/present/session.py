"""A lesson ready to show: its traces (one per kernel variant) and every view-model built once.

Building one simulates the lesson, so the GUI does it off its thread; the result is immutable
and handed over whole, so views never see a half-built lesson.
"""

from __future__ import annotations

from dataclasses import dataclass

from zpviz.engine import Cancelled, simulate
from zpviz.present import compare as CMP
from zpviz.present.grid import GridLayout, grid_layout
from zpviz.present.kpath import LogIndex
from zpviz.present.navigate import Stops, stops_for
from zpviz.present.outcome import outcomes_for
from zpviz.present.physmem import PhysLayout, phys_layout
from zpviz.present.playback import Plan, plan_for
from zpviz.present.predict import Question, questions_for
from zpviz.present.series import Series, time_series
from zpviz.present.timeline import Marks, marks_for
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

    @property
    def lead(self):
        return self.traces[0]

    @property
    def n_frames(self) -> int:
        return len(self.lead)

    @property
    def compare(self) -> bool:
        return len(self.traces) > 1

    def aligned(self, frame: int) -> tuple[int, ...]:
        """The frame of each variant that lines up with `frame` of the leading one."""
        return (frame,) + tuple(CMP.aligned_frame(self.lead, frame, t) for t in self.traces[1:])


def build_lesson(scenario, kernel: str | None = None, compare=None, progress=None) -> Lesson:
    """Simulate `scenario` under each variant and build the view-models.

    progress(text) is told what is happening, every 4,096 events while simulating ("Simulating
    under v5: 12,288 events"); returning False stops the work with engine.Cancelled, part-way
    through a simulation too, so a Cancel button stops the CPU work and not only its result.
    """
    def say(text: str) -> None:
        if progress is not None and progress(text) is False:
            raise Cancelled(text)

    ids = kernels_for(scenario, kernel, compare)
    traces = []
    for i, k in enumerate(ids):
        label = f"Simulating under {k}" + (f" ({i + 1} of {len(ids)})" if len(ids) > 1 else "")
        say(f"{label} ...")
        tick = None if progress is None else (lambda n, label=label: progress(f"{label}: {n:,} events"))
        traces.append(simulate(scenario, k, progress=tick))
    lead = traces[0]
    say("Preparing the views ...")
    stops = stops_for(lead)
    return Lesson(
        path=scenario.path, scenario=scenario, kernels=ids, traces=tuple(traces), grid=grid_layout(lead.layout),
        phys=tuple(phys_layout(len(t.frame(0).fkind)) for t in traces), plan=plan_for(lead), stops=stops,
        marks=marks_for(lead, stops.checkpoints, stops.step_ends), series=time_series(lead),
        questions=questions_for(lead, tuple(traces[1:])), logs=tuple(LogIndex(t) for t in traces),
        outcomes=tuple(outcomes_for(t) for t in traces))


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
