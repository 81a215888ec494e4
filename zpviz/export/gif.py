"""Looping GIFs that stay small: one shared palette, merged repeats, and changed pixels only.

- One global palette of 255 colours for the whole animation, built from sample pictures of the
  export (the colours covering most pixels are kept exactly, so a page cell keeps its theme
  colour; the anti-aliased rest is median-cut). Index 255 is the transparent "unchanged" index.
- A picture that does not change is not repeated: its frame gets a longer delay instead.
- Every later frame covers only the bounding box of what changed, and inside it the unchanged
  pixels are transparent, so LZW packs them into almost nothing.
- Frames are streamed to the file as they come (Pillow's GIF helpers do the LZW coding); only
  the previous picture is kept in memory.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import GifImagePlugin, Image

from zpviz.export.safe import ExportError, describe_oserror

TRANSPARENT = 255
N_COLOURS = 255
EXACT = 192  # the most common colours kept exactly; the rest of the palette is median-cut
MAX_DELAY_CS = 65535
MAX_FPS = 50  # GIF delays are in 1/100 s, and viewers slow down anything under 2/100 s
_UNKNOWN = 0xFFFF


def _keys(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return (r << 16) | (g << 8) | b


def build_palette(samples: Sequence[np.ndarray], must: Sequence[tuple[int, int, int]] = ()) -> np.ndarray:
    """(n <= 255, 3) uint8: the colours of the sample pictures, the most common ones exactly."""
    keys = np.concatenate([_keys(s[::2, ::2]).ravel() for s in samples] or [np.zeros(0, np.uint32)])
    uniq, counts = np.unique(keys, return_counts=True)
    forced = np.unique(np.array([(r << 16) | (g << 8) | b for r, g, b in must], np.uint32))
    order = uniq[np.argsort(-counts, kind="stable")]
    exact = np.concatenate([forced, order[~np.isin(order, forced)]])
    if len(exact) <= N_COLOURS:
        chosen = exact
    else:
        keep = exact[:EXACT]
        rest = uniq[~np.isin(uniq, keep)]
        weights = counts[~np.isin(uniq, keep)]
        # median cut over the remaining colours, weighted by how often they occur (capped, so a
        # large anti-aliased area does not crowd out small but distinct colours)
        reps = np.minimum(weights, 64).astype(np.int64)
        pix = np.repeat(rest, reps)
        rgb = np.stack([(pix >> 16) & 255, (pix >> 8) & 255, pix & 255], axis=1).astype(np.uint8)
        side = int(np.ceil(np.sqrt(len(rgb))))
        pad = np.zeros((side * side - len(rgb), 3), np.uint8) + rgb[:1]
        img = Image.fromarray(np.concatenate([rgb, pad]).reshape(side, side, 3), "RGB")
        q = img.quantize(colors=N_COLOURS - len(keep), method=Image.Quantize.MEDIANCUT)
        pal = np.frombuffer(bytes(q.getpalette()[: 3 * (N_COLOURS - len(keep))]), np.uint8).reshape(-1, 3)
        extra = np.unique(_keys(pal))
        chosen = np.concatenate([keep, extra[~np.isin(extra, keep)]])[:N_COLOURS]
    return np.stack([(chosen >> 16) & 255, (chosen >> 8) & 255, chosen & 255], axis=1).astype(np.uint8)


class PaletteMap:
    """RGB -> palette index: exact colours map to themselves, others to the nearest entry (cached)."""

    def __init__(self, palette: np.ndarray):
        self.palette = palette
        self._pal = palette.astype(np.int32)
        self._lut = np.full(1 << 24, _UNKNOWN, np.uint16)
        self._lut[_keys(palette)] = np.arange(len(palette), dtype=np.uint16)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        keys = _keys(rgb)
        idx = self._lut[keys]
        miss = idx == _UNKNOWN
        if miss.any():
            new = np.unique(keys[miss])
            cols = np.stack([(new >> 16) & 255, (new >> 8) & 255, new & 255], axis=1).astype(np.int32)
            best = np.empty(len(new), np.uint16)
            for a in range(0, len(new), 4096):
                d = ((cols[a:a + 4096, None, :] - self._pal[None, :, :]) ** 2).sum(axis=2)
                best[a:a + 4096] = d.argmin(axis=1)
            self._lut[new] = best
            idx = self._lut[keys]
        return idx.astype(np.uint8)


def _header(size: tuple[int, int], palette: np.ndarray) -> bytes:
    pal = np.zeros((256, 3), np.uint8)
    pal[: len(palette)] = palette
    w, h = size
    packed = 0x80 | (7 << 4) | 7  # global colour table of 256 entries, 8 bits per channel
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", 0) + b"\x00"  # loop forever
    return b"GIF89a" + struct.pack("<HHBBB", w, h, packed, 0, 0) + pal.tobytes() + loop


class GifWriter:
    def __init__(self, path: Path, size: tuple[int, int], fps: float, palette: np.ndarray, *,
                 label: str | None = None):
        if not 0 < fps <= MAX_FPS:
            raise ValueError(f"GIF frame rates go up to {MAX_FPS} fps, not {fps}")
        self.size = size
        self.fps = fps
        self.label = label or str(path)
        self.map = PaletteMap(palette)
        self._prev_idx: np.ndarray | None = None
        self._pending: np.ndarray | None = None  # the palette indices of the picture not yet written
        self._pending_count = 0
        self.frames = 0  # output frames (at fps) covered so far
        self.gif_frames = 0  # frames actually stored in the file
        self._written_frames = 0
        self._written_cs = 0
        try:
            self._fp = open(path, "wb")  # closed in finish() or abort()
            self._fp.write(_header(size, palette))
        except OSError as e:
            raise ExportError(describe_oserror(e, self.label)) from None

    def add(self, picture: np.ndarray, count: int = 1) -> None:
        if picture.shape != (self.size[1], self.size[0], 3):
            raise ValueError(f"picture {picture.shape} does not match {self.size}")
        idx = self.map(picture)
        self.frames += count
        if self._pending is not None and np.array_equal(idx, self._pending):
            self._pending_count += count
            return
        self._flush()
        self._pending, self._pending_count = idx, count

    def _flush(self) -> None:
        if self._pending is None:
            return
        idx, count = self._pending, self._pending_count
        end = self._written_frames + count
        cs = round(end * 100 / self.fps) - self._written_cs
        params: dict = {"duration": cs * 10, "disposal": 1}
        if self._prev_idx is None:
            crop, off = idx, (0, 0)
        else:
            changed = idx != self._prev_idx
            rows = np.flatnonzero(changed.any(axis=1))
            cols = np.flatnonzero(changed.any(axis=0))
            y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            crop = np.where(changed[y0:y1, x0:x1], idx[y0:y1, x0:x1], TRANSPARENT).astype(np.uint8)
            off = (int(x0), int(y0))
            params["transparency"] = TRANSPARENT
        im = Image.frombytes("P", (crop.shape[1], crop.shape[0]), np.ascontiguousarray(crop).tobytes())
        rest = 0
        if cs > MAX_DELAY_CS:  # a GIF delay is 16 bits: hold longer with empty frames after this one
            rest, params["duration"] = cs - MAX_DELAY_CS, MAX_DELAY_CS * 10
        try:
            self._write(im, off, params)
            while rest > 0:
                d = min(rest, MAX_DELAY_CS)
                empty = Image.frombytes("P", (1, 1), bytes([TRANSPARENT]))
                self._write(empty, (0, 0), {"duration": d * 10, "disposal": 1, "transparency": TRANSPARENT})
                rest -= d
        except OSError as e:
            raise ExportError(describe_oserror(e, self.label)) from None
        self._prev_idx = idx
        self._written_frames = end
        self._written_cs += cs
        self.gif_frames += 1

    def _write(self, im: Image.Image, offset: tuple[int, int], params: dict) -> None:
        for chunk in GifImagePlugin.getdata(im, offset, **params):
            self._fp.write(chunk)

    def finish(self) -> None:
        try:
            self._flush()
            self._pending = None
            self._fp.write(b";")
            self._fp.flush()
            self._fp.close()
        except OSError as e:
            raise ExportError(describe_oserror(e, self.label)) from None

    def abort(self) -> None:
        try:
            self._fp.close()
        except OSError:
            pass
