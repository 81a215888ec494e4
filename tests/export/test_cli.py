"""`zpviz export ...`: exit codes, messages on stderr (never a traceback), progress, interruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from tests.export.helpers import BAD, COMPARE, LONG, TINY
from zpviz.export.cli import main


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


def test_png_still_through_the_lead_cli(tmp_path, capsys):
    from zpviz.cli import main as zpviz_main

    out = tmp_path / "s.png"
    assert zpviz_main(["export", str(TINY), "-o", str(out), "--step", "1", "--size", "800x450"]) == 0
    cap = capsys.readouterr()
    assert f"wrote {out} (800x450, a still" in cap.out and cap.err == ""
    with Image.open(out) as im:
        assert im.size == (800, 450)


def test_gif_with_kernel_theme_and_steps(tmp_path, capsys):
    out = tmp_path / "a.gif"
    rc = main([str(COMPARE), "-o", str(out), "--kernel", "2.6.24", "--theme", "contrast", "--from", "1", "--to", "1",
               "--per", "step", "--fps", "10", "--size", "640x360"])
    assert rc == 0, capsys.readouterr().err
    with Image.open(out) as im:
        assert im.size == (640, 360) and im.n_frames == 1 and im.info["duration"] == 500
    assert "5 frames, 0.5 s at 10 fps" in capsys.readouterr().out


def test_progress_bar_on_request(tmp_path, capsys):
    assert main([str(TINY), "-o", str(tmp_path / "p.gif"), "--fps", "10", "--size", "640x360", "--progress"]) == 0
    err = capsys.readouterr().err
    assert "22/22 frames" in err and "fps" in err and "left" in err and "100%" in err


@pytest.mark.parametrize("args,msg", [
    (["-o", "x.avi"], "x.avi': give a name ending in .mp4, .gif, .png, .svg"),
    (["-o", "x.mp4", "--size", "big"], "argument --size: 'big' is not a size"),
    (["-o", "x.mp4", "--size", "100x100"], "--size 100x100 is out of range"),
    (["-o", "x.mp4", "--fps", "0"], "--fps 0 is out of range"),
    (["-o", "x.gif", "--fps", "60"], "too fast for a GIF"),
    (["-o", "x.mp4", "--kernel", "3.0"], "unknown kernel variant '3.0'; valid: 2.6.23"),
    (["-o", "x.mp4", "--compare", "v5,nope"], "--compare: unknown kernel variant nope"),
    (["-o", "x.mp4", "--per", "frame"], "argument --per: invalid choice"),
    (["-o", "x.mp4", "--theme", "pink"], "argument --theme: invalid choice"),
    (["-o", "x.mp4", "--step", "1"], "--step picks the still"),
    (["-o", "x.svg", "--frames", "d"], "--frames writes PNG frames"),
    (["-o", "x.png", "--step", "7"], "--step 7 is out of range: the lesson has steps 0..3"),
    (["-o", "x.mp4", "--from", "3", "--to", "1"], "--from 3 is after --to 1"),
    ([], "the following arguments are required: -o/--out"),
])
def test_bad_arguments_exit_2_naming_the_problem(tmp_path, capsys, args, msg):
    args = [a if not a.startswith("x.") else str(tmp_path / a) for a in args]
    assert main([str(TINY), *args]) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_bad_lesson_prints_its_problems(tmp_path, capsys):
    assert main([str(BAD), "-o", str(tmp_path / "x.mp4")]) == 2
    err = capsys.readouterr().err
    assert f"{BAD}:10: [step 0]" in err and 'no vma "nope"' in err and "Traceback" not in err


def test_missing_lesson_and_unwritable_output(tmp_path, capsys):
    assert main([str(tmp_path / "none.toml"), "-o", str(tmp_path / "x.mp4")]) == 2
    assert "none.toml: no such file" in capsys.readouterr().err
    assert main([str(TINY), "-o", str(tmp_path / "no" / "x.png")]) == 2
    assert f"cannot write {tmp_path}/no/x.png: the folder {tmp_path}/no does not exist" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "--per {event,step}" in capsys.readouterr().out


def test_sigterm_leaves_nothing_behind_and_keeps_the_old_file(tmp_path):
    out = tmp_path / "talk.mp4"
    out.write_bytes(b"last year's lecture")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.Popen([sys.executable, "-m", "zpviz", "export", str(LONG), "-o", str(out), "--size", "640x360"],
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(".zpviz-" in n for n in os.listdir(tmp_path)):
        time.sleep(0.05)
    assert p.poll() is None, p.communicate()
    time.sleep(0.3)  # well into the frames
    p.send_signal(signal.SIGTERM)
    stdout, stderr = p.communicate(timeout=30)
    assert p.returncode == 130, stderr
    assert b"interrupted; nothing was written" in stderr and b"Traceback" not in stderr
    assert os.listdir(tmp_path) == ["talk.mp4"] and out.read_bytes() == b"last year's lecture"


def test_mp4_sizes_are_made_even(tmp_path, capsys):
    from tests.export.helpers import decode_mp4

    out = tmp_path / "odd.mp4"
    assert main([str(TINY), "-o", str(out), "--size", "643x361", "--fps", "5", "--per", "step"]) == 0
    assert "642x360" in capsys.readouterr().out
    meta, frames = decode_mp4(out)
    assert meta["size"] == (642, 360) and len(frames) == 2 + 4 + 3 + 2
