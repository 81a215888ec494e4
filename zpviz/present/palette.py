"""Themes, the 256-entry LUTs that colour cell codes, glyphs for big cells, and the legend.

Colours are Okabe-Ito hues (readable with every common colour-vision deficiency), some shaded
so the page states also differ in lightness by >= 10 CIE L*: on a grey-scale projector zero,
file, shared and anon pages still read as distinct greys, and glyphs name them once cells are
big enough to hold a letter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from zpviz.present import codes as K

RGB = tuple[int, int, int]

# Okabe-Ito
BLACK, ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")


def rgb(hex_colour: str) -> RGB:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def lightness(c: RGB) -> float:
    """CIE L*, 0 black .. 100 white: how light a colour looks, e.g. in grey-scale."""
    y = luminance(c)
    return 116 * y ** (1 / 3) - 16 if y > 0.008856 else 903.3 * y


def luminance(c: RGB) -> float:
    """Relative luminance (WCAG), 0 black .. 1 white."""
    def lin(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@dataclass(frozen=True)
class Theme:
    name: str
    label: str
    bg: str  # window
    panel: str  # plot backgrounds
    fg: str  # text
    muted: str  # secondary text, axes
    grid: str  # separators
    accent: str  # selection, current step
    banner: str  # the error banner's background
    states: tuple[str, ...]  # unmapped, none, zero, anon, shared, file
    flash: str  # the page the current event touches
    alert: str  # ... when it printed Bad page map / raised SIGSEGV
    frame_kinds: tuple[str, ...]  # free, anon, file, shmem, zero, huge zero, page table, kernel
    series: tuple[str, ...]  # chart colours, in order
    line_kinds: tuple[str, ...]  # one per cache-line kind (constants.LINE_KIND_NAMES)

    def state_rgb(self, state: int) -> RGB:
        return rgb(self.states[state])


_SERIES = (BLUE, ORANGE, GREEN, PURPLE, VERMILLION, SKY, YELLOW)
_LINES = (SKY, BLUE, VERMILLION, GREEN, PURPLE, ORANGE)

THEMES: dict[str, Theme] = {
    "light": Theme(
        "light", "Light", bg="#F7F7F4", panel="#FFFFFF", fg="#151515", muted="#555555", grid="#D4D4D4",
        accent=BLUE, banner="#FCE3D2",
        states=("#F1F1F1", "#DADADA", "#005B8F", "#F0B030", PURPLE, "#00876A"), flash=BLACK, alert=VERMILLION,
        frame_kinds=("#F1F1F1", "#F0B030", "#00876A", PURPLE, "#005B8F", "#005B8F", "#8C7A5B", "#777777"),
        series=_SERIES, line_kinds=_LINES),
    "dark": Theme(
        "dark", "Dark", bg="#1D1E21", panel="#26282C", fg="#EEEEEE", muted="#A9A9A9", grid="#44464B",
        accent=SKY, banner="#5A2A12",
        states=("#2E3034", "#45484E", "#8FD3FF", ORANGE, "#C46E9F", "#007A60"), flash="#FFFFFF", alert=VERMILLION,
        frame_kinds=("#2E3034", ORANGE, "#007A60", "#C46E9F", "#8FD3FF", "#8FD3FF", "#9C8A6B", "#8A8A8A"),
        series=(SKY, ORANGE, GREEN, PURPLE, VERMILLION, YELLOW, "#FFFFFF"), line_kinds=_LINES),
    "contrast": Theme(
        "contrast", "High contrast", bg="#000000", panel="#000000", fg="#FFFFFF", muted="#FFFFFF",
        grid="#FFFFFF", accent=YELLOW, banner="#7A0000",
        states=("#141414", "#3A3A3A", "#FFFFFF", "#F5C040", "#D98DB8", "#00876A"), flash=YELLOW, alert=VERMILLION,
        frame_kinds=("#141414", "#F5C040", "#00876A", "#D98DB8", "#FFFFFF", "#FFFFFF", "#8C7A5B", "#777777"),
        series=("#FFFFFF", YELLOW, SKY, ORANGE, GREEN, PURPLE, VERMILLION), line_kinds=_LINES),
}
THEME_NAMES = tuple(THEMES)
# what people type on the command line
ALIASES = {"high-contrast": "contrast", "hc": "contrast", "highcontrast": "contrast"}


def theme(name: str | None) -> Theme:
    key = ALIASES.get((name or "light").lower(), (name or "light").lower())
    try:
        return THEMES[key]
    except KeyError:
        raise ValueError(f"unknown theme {name!r}; valid: {', '.join(THEMES)}") from None


def _mix(c: np.ndarray, towards: RGB, amount: float) -> np.ndarray:
    return c * (1 - amount) + np.asarray(towards, float) * amount


@functools.lru_cache(maxsize=16)
def unknown_rgb(t: Theme) -> RGB:
    """A page the real kernel's run could not observe: the mid grey whose lightness is furthest
    from every state's, the panel's and the flash's, so it reads as none of them, in colour or in grey-scale (its
    glyph, "?", says it once cells are big)."""
    taken = [lightness(rgb(c)) for c in t.states + (t.panel, t.flash)]
    # mid greys only: black or white would shout, and is what some themes flash the current page in
    v = max(range(64, 201), key=lambda v: min(abs(lightness((v, v, v)) - x) for x in taken))
    return v, v, v


@functools.lru_cache(maxsize=16)
def page_lut(t: Theme) -> np.ndarray:
    """(256, 4) uint8 RGBA for page codes (read-only, cached per theme). Gap cells are transparent."""
    lut = np.zeros((256, 4), np.uint8)
    dark_theme = luminance(rgb(t.panel)) < 0.3
    shade = (255, 255, 255) if dark_theme else (0, 0, 0)
    for code in range(256):
        s = code & K.STATE_MASK
        if s == K.GAP:
            continue
        c = np.asarray(unknown_rgb(t) if s == K.UNKNOWN else t.state_rgb(s - 1), float)
        if code & K.HUGE:  # lighter (or darker on dark themes) so THP regions read as one slab
            c = _mix(c, (255 - shade[0],) * 3, 0.22)
        _put(lut, code, t, c, bool(code & K.MLOCKED), shade)
    lut.flags.writeable = False
    return lut


def _put(lut: np.ndarray, code: int, t: Theme, c: np.ndarray, mlocked: bool, shade) -> None:
    """The last touches both LUTs share: mlocked shading, then alert or flash over everything."""
    if mlocked:  # a heavier shade: locked pages look "weighed down"
        c = _mix(c, shade, 0.38)
    if code & K.ALERT:
        c = np.asarray(rgb(t.alert), float)
    elif code & K.FLASH:
        c = np.asarray(rgb(t.flash), float)
    lut[code, :3] = np.clip(np.round(c), 0, 255).astype(np.uint8)
    lut[code, 3] = 255


@functools.lru_cache(maxsize=16)
def frame_lut(t: Theme) -> np.ndarray:
    """(256, 4) uint8 RGBA for physical-frame codes (codes.frame_codes), read-only, cached per theme."""
    lut = np.zeros((256, 4), np.uint8)
    dark_theme = luminance(rgb(t.panel)) < 0.3
    shade = (255, 255, 255) if dark_theme else (0, 0, 0)
    for code in range(256):
        k = code & K.F_KIND_MASK
        if k == 0 or k > len(t.frame_kinds):
            continue
        _put(lut, code, t, np.asarray(rgb(t.frame_kinds[k - 1]), float), bool(code & K.F_MLOCKED), shade)
    lut.flags.writeable = False
    return lut


# ------------------------------------------------------------------------------ glyphs
STATE_GLYPHS = ("", "\u00b7", "0", "A", "S", "F", "?")  # unmapped, none (a dot), zero, anon, shared, file, unknown
BADGES = ((K.MLOCKED, "L"), (K.HUGE, "H"), (K.SPECIAL, "s"))


@dataclass(frozen=True)
class Glyph:
    text: str  # the big letter in the middle of the cell
    badges: str  # small letters in a corner: L mlocked, H huge, s special PTE
    dark_ink: bool  # draw in black (True) or white (False) for contrast with the cell colour


@functools.lru_cache(maxsize=16)
def glyph_table(t: Theme) -> tuple[Glyph, ...]:
    """A Glyph for each of the 256 page codes."""
    lut = page_lut(t)
    out = []
    for code in range(256):
        s = code & K.STATE_MASK
        text = STATE_GLYPHS[s - 1] if s != K.GAP else ""
        badges = "".join(ch for bit, ch in BADGES if code & bit)
        out.append(Glyph(text, badges, luminance(tuple(int(v) for v in lut[code, :3])) > 0.35))
    return tuple(out)


# ------------------------------------------------------------------------------ legend
@dataclass(frozen=True)
class LegendEntry:
    label: str
    code: int  # a page code whose colour and glyph the swatch shows
    hint: str = ""


LEGEND: tuple[LegendEntry, ...] = (
    LegendEntry("not present", 1 + 1, "PTE empty"),
    LegendEntry("zero page", 1 + 2, "shared page of zeros"),
    LegendEntry("anon", 1 + 3, "private page"),
    LegendEntry("shared", 1 + 4, "shmem, or after fork"),
    LegendEntry("file", 1 + 5, "page cache"),
    LegendEntry("mlocked", (1 + 3) | K.MLOCKED, "darker, hatched \\, L"),
    LegendEntry("huge", (1 + 3) | K.HUGE, "THP, hatched /, H"),
    LegendEntry("this event", (1 + 2) | K.FLASH, "the page touched now"),
    LegendEntry("Bad page map", (1 + 2) | K.FLASH | K.ALERT, "or SIGSEGV"),
)
# Shown beside LEGEND while this machine's kernel pane is on screen.
MACHINE_LEGEND: tuple[LegendEntry, ...] = (
    LegendEntry("not observed", K.UNKNOWN, "the running kernel did not say (no root, an unreadable /proc file)"),
    LegendEntry("differs from the model", 1 + 2, "outlined: page, mlocked or huge differ from the modern model"),
)
