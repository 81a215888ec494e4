"""The "Cache line" view's model: one watched cache line at one frame, as a MESI diagram.

CPUs are boxes grouped by socket, each with the state of its copy of the line (M, E, S or I);
a token sits at the CPU holding the line in M or E; the line's latest transition before the
frame is an arrow from the CPU that supplied it to the one that took it, with its cost. Every
value comes from the trace at that frame (Trace.line_states, line_records), so playing
backwards or jumping shows the same as playing forwards. No Qt here: gui/cachelineview.py draws
what this computes, geometry included (docs/cacheline.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from zpviz.engine.columns import Ld, LineState
from zpviz.present.palette import BLUE, VERMILLION, YELLOW, Theme, luminance, rgb

LINE_TITLES = {"zero_page_line": "the zero page's struct page",
               "huge_zero_page_line": "the huge zero page's struct page"}
STATE_WORDS = {"M": "modified: the only copy, written", "E": "exclusive: the only copy, clean",
               "S": "shared: one of several clean copies", "I": "invalid: no copy"}


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
class CacheLineView:
    line: str
    title: str
    kernel: str
    sockets: tuple[tuple[CpuBox, ...], ...]
    move: Move | None
    totals: str  # transfers so far, across sockets, their cost


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
    totals = (f"{len(tx):,} transfers \u00b7 {far:,} across sockets \u00b7 {ns / 1000:,.1f} \u00b5s"
              if len(tx) else "no transfer so far")
    kernel = str(trace.kernel.id) if trace.kernel is not None else ""
    return CacheLineView(line, f"Cache line \u00b7 {LINE_TITLES.get(line, line)}", kernel,
                         tuple(tuple(b) for _, b in sorted(boxes.items())), move, totals)


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


# ---------------------------------------------------------------------------------- geometry
@dataclass(frozen=True)
class Geometry:
    sockets: tuple[Rect, ...]  # one per socket, its label above its boxes
    boxes: dict[int, Rect]  # cpu -> its box
    letter_px: int  # the state letter's pixel size
    label_px: int  # CPU numbers and socket labels


def layout(view: CacheLineView, x: float, y: float, w: float, h: float) -> Geometry:
    """Sockets in a grid (side by side, stacked, or 2 x 2 for four), each a grid of near-square
    CPU boxes: whichever arrangement gives the biggest boxes in the area."""
    n_s = len(view.sockets)
    per = max(len(s) for s in view.sockets)
    best = None
    for s_cols in range(1, n_s + 1):
        s_rows = -(-n_s // s_cols)
        sw, sh = w / s_cols, h / s_rows
        for cols in range(1, per + 1):
            rows = -(-per // cols)
            side = min((sw - 12) / cols, (sh - 26) / rows * 1.25)
            if side > 0 and (best is None or side > best[0] + 0.5):
                best = (side, s_cols, cols, rows)
    _, s_cols, cols, rows = best if best is not None else (0.0, n_s, 1, per)
    s_rows = -(-n_s // s_cols)
    sw, sh = w / s_cols, h / s_rows
    sock_rects = []
    boxes: dict[int, Rect] = {}
    bw, bh = (sw - 12) / cols, (sh - 26) / rows
    bh = min(bh, bw * 0.9)  # no tall thin boxes when there is height to spare
    gap = max(2.0, min(bw, bh) * 0.1)
    for i, socket in enumerate(view.sockets):
        sr, sc = divmod(i, s_cols)
        sx, sy = x + sc * sw, y + sr * sh
        sock_rects.append(Rect(sx + 2, sy + 2, sw - 4, sh - 4))
        for j, box in enumerate(socket):
            r, c = divmod(j, cols)
            boxes[box.cpu] = Rect(sx + 6 + c * bw + gap / 2, sy + 22 + r * bh + gap / 2, bw - gap, bh - gap)
    some = next(iter(boxes.values()))
    letter = int(max(8, min(some.h * 0.55, some.w * 0.6, 40)))
    return Geometry(tuple(sock_rects), boxes, letter, int(max(8, min(12, some.h * 0.26))))
