"""The "Cache line" view's model: one watched cache line at one frame, readable on a projector.

Two parts, both from the trace at that frame (Trace.line_states, line_records, line_transfers), so
playing backwards or jumping shows the same as playing forwards:

- the stage: the line's last few transfers as a chain of big CPU boxes (CPU 61 -> 62 -> 63), each
  hop an arrow with its cost, the boxes bracketed by socket, so a hop across sockets is seen
  crossing a bracket; the box colour and letter are each CPU's copy now (M, E, S or I), a token
  marks the CPU holding the line in M or E;
- the sockets: one strip per socket holding every CPU's state, where a run of CPUs in the same
  state folds into one segment ("0-15 I"): 64 CPUs stay readable at 1280x720, and a CPU holding
  the line stands out as its own segment.

No Qt here: gui/cachelineview.py measures its fonts into `Sizes` and draws what `layout`
computes (docs/cacheline.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zpviz.engine.columns import Ld, LineState
from zpviz.present.palette import BLUE, VERMILLION, YELLOW, Theme, luminance, rgb

LINE_TITLES = {"zero_page_line": "the zero page's struct page",
               "huge_zero_page_line": "the huge zero page's struct page"}
STATE_WORDS = {"M": "modified: the only copy, written", "E": "exclusive: the only copy, clean",
               "S": "shared: one of several clean copies", "I": "invalid: no copy"}
MAX_HOPS = 6  # the chain's longest history; the layout shows as many of them as fit


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass(frozen=True)
class CpuBox:
    cpu: int
    socket: int
    state: str  # "M", "E", "S" or "I"
    token: bool  # it holds the line in M or E


@dataclass(frozen=True)
class Move:
    """The line's latest transition before the frame."""

    event: int
    cpu_to: int
    cpu_from: int  # -1: not from another CPU's cache (memory, a sharer, or an upgrade in place)
    cost_ns: int
    same_socket: bool
    current: bool  # made by the event that made this frame
    text: str
    seq: int  # how many transitions of the line up to and including this one


@dataclass(frozen=True)
class Hop:
    """One transfer of the line from one CPU's cache to another's."""

    event: int
    cpu_from: int
    cpu_to: int
    cost_ns: int
    same_socket: bool
    current: bool  # made by the event that made this frame


@dataclass(frozen=True)
class CacheLineView:
    line: str
    title: str
    kernel: str
    sockets: tuple[tuple[CpuBox, ...], ...]
    move: Move | None
    totals: str  # transfers so far, across sockets, their cost
    hops: tuple[Hop, ...] = ()  # the last transfers before the frame, oldest first (MAX_HOPS at most)

    def box(self, cpu: int) -> CpuBox:
        for socket in self.sockets:
            for b in socket:
                if b.cpu == cpu:
                    return b
        raise KeyError(cpu)


def line_view(trace, frame: int, line: str = "zero_page_line") -> CacheLineView | None:
    """The view of a watched line at `frame`; None when the trace does not watch it."""
    if line not in getattr(trace, "watched", ()):
        return None
    st = trace.line_states(frame, line)
    sc = trace.scenario
    boxes: dict[int, list[CpuBox]] = {}
    for cpu in range(trace.ncpus):
        letter = LineState(int(st.states[cpu])).name
        boxes.setdefault(sc.socket_of(cpu), []).append(CpuBox(cpu, sc.socket_of(cpu), letter, cpu == st.owner))
    move = None
    if st.last_event >= 0:
        r = trace.line_records(st.last_event, st.last_event + 1, line)[-1]
        src, dst, cost = int(r[Ld.FROM]), int(r[Ld.CPU]), int(r[Ld.COST])
        same = src >= 0 and sc.socket_of(src) == sc.socket_of(dst)
        letter = LineState(int(r[Ld.STATE])).name
        if src >= 0:
            where = "same socket" if same else "across sockets"
            text = f"CPU {src} \u2192 CPU {dst} \u00b7 {where} \u00b7 {cost} ns"
        else:
            text = f"CPU {dst} takes it ({letter}) from memory or a sharer \u00b7 {cost} ns"
        seq = len(trace.line_records(0, frame, line))
        move = Move(st.last_event, dst, src, cost, same, st.last_event == frame - 1, text, seq)
    tx = trace.line_transfers(0, frame, line)
    far = int((~tx.same_socket).sum())
    ns = int(tx.cost_ns.sum())
    took = f"{ns / 1000:,.1f} \u00b5s" if ns < 1_000_000 else f"{ns / 1e6:,.2f} ms"
    totals = f"{len(tx):,} transfers \u00b7 {far:,} across sockets \u00b7 {took}" if len(tx) else "no transfer so far"
    hops = tuple(Hop(int(tx.event[j]), int(tx.cpu_from[j]), int(tx.cpu_to[j]), int(tx.cost_ns[j]),
                     bool(tx.same_socket[j]), int(tx.event[j]) == frame - 1)
                 for j in range(max(0, len(tx) - MAX_HOPS), len(tx)))
    kernel = str(trace.kernel.id) if trace.kernel is not None else ""
    return CacheLineView(line, f"Cache line \u00b7 {LINE_TITLES.get(line, line)}", kernel,
                         tuple(tuple(b) for _, b in sorted(boxes.items())), move, totals, hops)


# ---------------------------------------------------------------------------------- colours
def state_colours(theme: Theme) -> dict[str, tuple[str, str]]:
    """(fill, text) per state: M vermillion (the written, moving copy), E yellow, S blue, I the
    panel's own; Okabe-Ito hues that also differ in lightness (a grey-scale projector), the text
    black or white, whichever reads better on the fill."""
    fills = {"M": VERMILLION, "E": YELLOW, "S": BLUE, "I": theme.panel}
    out = {}
    for k, fill in fills.items():
        lum = luminance(rgb(fill))
        text = theme.muted if k == "I" else ("#000000" if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else "#ffffff")
        out[k] = (fill, text)
    return out


# ---------------------------------------------------------------------------------- the sockets' strips
@dataclass(frozen=True)
class Segment:
    """Consecutive CPUs of one socket drawn as one piece of its strip: a run in the same state
    (folded, "0-15 I"), or one CPU alone when it holds the line's token."""

    first: int
    last: int
    state: str
    token: bool

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    @property
    def text(self) -> str:
        cpus = str(self.first) if self.count == 1 else f"{self.first}\u2013{self.last}"
        return f"{cpus} {self.state}"


def segments(socket: tuple[CpuBox, ...]) -> list[Segment]:
    """A socket's CPUs folded into runs of one state; the token's holder always on its own."""
    out: list[Segment] = []
    for b in socket:
        prev = out[-1] if out else None
        if (prev is not None and not prev.token and not b.token and prev.state == b.state
                and prev.last + 1 == b.cpu):
            out[-1] = Segment(prev.first, b.cpu, b.state, False)
        else:
            out.append(Segment(b.cpu, b.cpu, b.state, b.token))
    return out


def _widths(segs: list[Segment], total: float, need: list[float]) -> list[float]:
    """Each segment's width: its share of `total` by CPU count, but at least what its words need,
    the rest shared by the others (all shrink alike when even the needs do not fit)."""
    fixed: dict[int, float] = {}
    while True:
        free = total - sum(fixed.values())
        n = sum(s.count for i, s in enumerate(segs) if i not in fixed)
        if n == 0 or free <= 0:
            break
        more = {i: need[i] for i, s in enumerate(segs) if i not in fixed and free * s.count / n < need[i]}
        if not more:
            break
        fixed.update(more)
    free = total - sum(fixed.values())
    n = sum(s.count for i, s in enumerate(segs) if i not in fixed)
    if free < 0 or (n and free <= 0):
        scale = total / sum(need)
        return [need[i] * scale for i in range(len(segs))]
    return [fixed[i] if i in fixed else free * s.count / n for i, s in enumerate(segs)]


# ---------------------------------------------------------------------------------- geometry
@dataclass(frozen=True)
class Sizes:
    """What the gui's fonts need, in pixels; the layout keeps every text at its full size."""

    row_h: float  # a socket strip's height
    label_w: float  # the widest "socket N" label
    node_w: float  # a chain box
    node_h: float
    edge_w: float  # between two chain boxes: the arrow
    cost_h: float  # the row above the chain boxes with each arrow's cost
    bracket_h: float  # a "socket N" label under the chain
    text_w: Callable[[str], float]  # a strip segment's words
    pad: float = 6.0


@dataclass(frozen=True)
class Strip:
    socket: int
    label: Rect
    pieces: tuple[tuple[Segment, Rect], ...]


@dataclass(frozen=True)
class Node:
    box: CpuBox
    rect: Rect


@dataclass(frozen=True)
class Edge:
    hop: Hop | None  # None: the chain breaks here (the line came back some other way between)
    a: Rect
    b: Rect


@dataclass(frozen=True)
class Geometry:
    stage: Rect
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    brackets: tuple[tuple[int, Rect], ...]  # socket, the span under its boxes in the chain
    strips: tuple[Strip, ...]


def chain(view: CacheLineView) -> tuple[list[int], list[Hop | None]]:
    """The CPUs the line went through in its last hops, in order, and the hop between each two
    (None where one hop's source is not the previous hop's target)."""
    cpus: list[int] = []
    links: list[Hop | None] = []
    if not view.hops and view.move is not None:
        return [view.move.cpu_to], []  # it came from memory: the CPU that has it, no hop yet
    for h in view.hops:
        if cpus and cpus[-1] != h.cpu_from:
            cpus.append(h.cpu_from)
            links.append(None)
        elif not cpus:
            cpus.append(h.cpu_from)
        cpus.append(h.cpu_to)
        links.append(h)
    return cpus, links


def layout(view: CacheLineView, x: float, y: float, w: float, h: float, sz: Sizes) -> Geometry:
    """The strips at the bottom, one row per socket; the stage above them with as many of the
    last hops as fit in the width, the newest on the right."""
    p = sz.pad
    n_s = len(view.sockets)
    strips_h = n_s * (sz.row_h + p)
    stage = Rect(x, y, w, max(0.0, h - strips_h))
    strips = []
    sy = stage.bottom + p / 2
    for i, socket in enumerate(view.sockets):
        label = Rect(x + p, sy, sz.label_w, sz.row_h)
        segs = segments(socket)
        left = label.right + p
        need = [sz.text_w(s.text) + 2 * p + (sz.row_h * 0.7 if s.token else 0) for s in segs]
        pieces = []
        for s, sw in zip(segs, _widths(segs, x + w - p - left, need)):
            pieces.append((s, Rect(left, sy, sw, sz.row_h)))
            left += sw
        strips.append(Strip(socket[0].socket if socket else i, label, tuple(pieces)))
        sy += sz.row_h + p
    cpus, links = chain(view)
    tall = sz.cost_h + sz.node_h + 4 + sz.bracket_h
    k = int((stage.w - 2 * p + sz.edge_w) // (sz.node_w + sz.edge_w)) if stage.h >= tall else 0
    k = min(k, len(cpus))
    cpus, links = cpus[len(cpus) - k:], links[len(links) - max(0, k - 1):] if k > 1 else []
    span = k * sz.node_w + max(0, k - 1) * sz.edge_w
    nx = stage.x + (stage.w - span) / 2
    ny = stage.y + sz.cost_h + max(0.0, (stage.h - tall) / 2)
    nodes = [Node(view.box(c), Rect(nx + j * (sz.node_w + sz.edge_w), ny, sz.node_w, sz.node_h))
             for j, c in enumerate(cpus)]
    edges = [Edge(hop, nodes[j].rect, nodes[j + 1].rect) for j, hop in enumerate(links)]
    brackets: list[tuple[int, Rect]] = []
    for n in nodes:
        if brackets and brackets[-1][0] == n.box.socket:
            s, r = brackets[-1]
            brackets[-1] = (s, Rect(r.x, r.y, n.rect.right - r.x, r.h))
        else:
            brackets.append((n.box.socket, Rect(n.rect.x, n.rect.bottom + 4, n.rect.w, sz.bracket_h)))
    return Geometry(stage, tuple(nodes), tuple(edges), tuple(brackets), tuple(strips))
