"""The writers on synthetic pictures: GIF palette, merging and deltas; MP4 decoded back; PNG frames."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

from tests.export.helpers import decode_mp4
from zpviz.export.gif import GifWriter, PaletteMap, build_palette
from zpviz.export.mp4 import Mp4Writer
from zpviz.export.png import FramesWriter
from zpviz.export.safe import ExportError, describe_oserror

W, H = 64, 48


def picture(k: int) -> np.ndarray:
    """A light background, a blue block, and an orange cell that moves with k."""
    a = np.full((H, W, 3), (247, 247, 244), np.uint8)
    a[8:40, 8:56] = (0, 114, 178)
    a[20:28, 8 + 4 * k: 16 + 4 * k] = (230, 159, 0)
    return a


def gif_frames(path: Path) -> tuple[list[np.ndarray], list[int], dict]:
    """Decoded frames, their durations (ms), and the file's info plus each frame's tile box."""
    with Image.open(path) as im:
        frames, durations, boxes = [], [], []
        for f in ImageSequence.Iterator(im):
            durations.append(f.info["duration"])
            boxes.append(f.tile[0][1] if f.tile else None)
            frames.append(np.asarray(f.convert("RGB")).copy())
        info = dict(im.info, size=im.size, boxes=boxes)
    return frames, durations, info


def test_gif_merges_repeats_and_stores_only_changes(tmp_path):
    pics = [picture(0), picture(0), picture(1), picture(2), picture(2), picture(2)]
    path = tmp_path / "a.gif"
    w = GifWriter(path, (W, H), 10, build_palette(pics))
    for p in pics:
        w.add(p, 2)
    w.finish()
    frames, durations, info = gif_frames(path)
    assert info["loop"] == 0 and info["size"] == (W, H)
    assert w.frames == 12 and w.gif_frames == 3 == len(frames)
    assert durations == [400, 200, 600]  # 12 frames at 10 fps = 1.2 s, repeats merged
    for got, want in zip(frames, [picture(0), picture(1), picture(2)]):
        assert np.array_equal(got, want)  # exact: few colours, all in the palette
    x0, y0, x1, y1 = info["boxes"][1]  # frames after the first cover only what changed
    assert x1 - x0 <= 16 and y1 - y0 <= 8


def test_gif_durations_add_up_at_awkward_rates(tmp_path):
    path = tmp_path / "b.gif"
    w = GifWriter(path, (W, H), 15, build_palette([picture(0)]))
    for k in range(7):
        w.add(picture(k % 2), 1)
    w.finish()
    _, durations, _ = gif_frames(path)
    assert sum(durations) == round(7 / 15 * 100) * 10
    assert min(durations) >= 20  # viewers slow anything under 2/100 s down


def test_palette_keeps_common_colours_exact_and_maps_the_rest_near():
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    base = picture(3).copy()
    big = np.concatenate([np.repeat(np.repeat(base, 2, 0), 2, 1)[:64, :64], noise], axis=1)
    pal = build_palette([big])
    assert len(pal) <= 255
    m = PaletteMap(pal)
    idx = m(big)
    for colour in ((247, 247, 244), (0, 114, 178), (230, 159, 0)):
        where = np.all(big == colour, axis=2)
        assert {tuple(int(v) for v in pal[i]) for i in np.unique(idx[where])} == {colour}
    err = np.abs(pal[idx].astype(int) - big.astype(int)).max(axis=2)
    assert np.median(err[:, 64:]) < 40


def test_gif_holds_longer_than_a_16_bit_delay(tmp_path):
    path = tmp_path / "long.gif"
    w = GifWriter(path, (W, H), 1, build_palette([picture(0)]))
    w.add(picture(0), 700)  # 700 s: more than 655.35 s, the longest one GIF delay can say
    w.add(picture(1), 1)
    w.finish()
    frames, durations, _ = gif_frames(path)
    assert sum(durations) == 701_000 and max(durations) <= 655_350
    assert np.array_equal(frames[-1], picture(1))


def test_gif_rejects_rates_it_cannot_show(tmp_path):
    with pytest.raises(ValueError, match="50 fps"):
        GifWriter(tmp_path / "c.gif", (W, H), 60, build_palette([picture(0)]))


def test_mp4_decodes_to_the_frames_written(tmp_path):
    path = tmp_path / "a.mp4"
    w = Mp4Writer(path, (W, H), 12)
    w.add(picture(0), 5)
    w.add(picture(4), 7)
    w.finish()
    meta, frames = decode_mp4(path)
    assert meta["fps"] == 12 and meta["size"] == (W, H) and meta["codec"] == "h264"
    assert meta["pix_fmt"].startswith("yuv420p")
    assert len(frames) == 12
    assert np.abs(frames[2].astype(int) - picture(0)).mean() < 4
    assert np.abs(frames[9].astype(int) - picture(4)).mean() < 4


def test_mp4_needs_even_sizes(tmp_path):
    with pytest.raises(ValueError, match="even"):
        Mp4Writer(tmp_path / "a.mp4", (63, 48), 10)


def test_mp4_full_disk_is_an_error_naming_the_file():
    w = Mp4Writer(Path("/dev/full"), (W, H), 10, label="talk.mp4")
    with pytest.raises(ExportError, match="cannot write talk.mp4: no space left"):
        for _ in range(3):
            w.add(picture(0), 10)
        w.finish()
    w.abort()


def test_gif_full_disk_is_an_error_naming_the_file():
    w = GifWriter(Path("/dev/full"), (W, H), 10, build_palette([picture(0)]), label="talk.gif")
    with pytest.raises(ExportError, match="cannot write talk.gif: no space left"):
        for k in range(200):
            w.add(picture(k % 8), 1)
        w.finish()
    w.abort()


def test_frames_writer_numbers_every_frame(tmp_path):
    w = FramesWriter(tmp_path, (W, H))
    w.add(picture(0), 3)
    w.add(picture(1), 2)
    w.finish()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"frame_{i:05d}.png" for i in range(5)]
    assert (tmp_path / "frame_00000.png").read_bytes() == (tmp_path / "frame_00002.png").read_bytes()
    assert np.array_equal(np.asarray(Image.open(tmp_path / "frame_00004.png")), picture(1))


def test_oserror_messages_name_the_path():
    msg = describe_oserror(OSError(errno.ENOSPC, "x"), "/a/b.gif")
    assert msg == "cannot write /a/b.gif: no space left on the device"
    assert describe_oserror(PermissionError(errno.EACCES, "x"), "b.gif").endswith("permission denied")
