"""The wheel stands on its own: built from the repository's files, installed into a fresh virtual
environment, and run from a directory away from the checkout, it lists its lessons, checks one,
and renders the tour. Offline: the build runs without isolation, the install takes the wheel alone
(--no-index), and the dependencies are the ones this environment already has.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _sources(dest: Path) -> Path:
    """The files a fresh clone would have (tracked, and new ones not ignored), copied to dest."""
    try:
        names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                               capture_output=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: cannot tell the repository's files from build leftovers")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding only the wheel; the dependencies reach it through a .pth file."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = _sources(tmp / "src")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp / "dist"),
                    str(src)], check=True, capture_output=True, timeout=600)
    wheel = next((tmp / "dist").glob("zpviz-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(py), "install", "--no-index", "--no-deps", str(wheel)], check=True,
                   capture_output=True, timeout=600)
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # numpy, PySide6, pyqtgraph ... as this environment has them; its own (editable) zpviz is not
    # seen, since a .pth only adds the directory and runs none of the .pth files inside it.
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


def _zpviz(venv: Path, *args: str, cwd: Path, code: str | None = None,
           cache: bool = False) -> subprocess.CompletedProcess:
    drop = ("PYTHONPATH", "PYTHONHOME") + (("ZPVIZ_NO_CACHE", "ZPVIZ_CACHE_DIR") if cache else ())
    env = {k: v for k, v in os.environ.items() if k not in drop}
    if cache:
        env["ZPVIZ_PREFETCH"] = "1"  # the start-up worker even on a busy machine
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(cwd), XDG_CACHE_HOME=str(cwd / "cache"))
    cmd = [str(venv / "bin" / "python"), "-c", code] if code else [str(venv / "bin" / "zpviz"), *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_wheel_carries_its_lessons_and_runs_away_from_the_checkout(installed, tmp_path):
    where = _zpviz(installed, cwd=tmp_path, code="import zpviz; print(zpviz.__file__)")
    assert where.returncode == 0 and str(installed) in where.stdout, where.stdout + where.stderr
    listed = _zpviz(installed, "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    names = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    assert {"tour.toml", "02-sparse-table.toml"} <= names, listed.stdout
    lesson = _zpviz(installed, cwd=tmp_path, code="from zpviz.scenario.library import builtin_lessons as b; "
                    "print(next(p for p in b() if p.name == '02-sparse-table.toml'))").stdout.strip()
    assert lesson.startswith(str(installed)), lesson  # the packaged copy, not the checkout's
    checked = _zpviz(installed, "check", lesson, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # a cold start as a user's: the trace cache on, so the start-up worker (present/prefetch.py)
    # simulates the tour's four variants into it from the installed package
    shot = _zpviz(installed, "--screenshot", str(tmp_path / "tour.png"), "--size", "1280x720", cwd=tmp_path,
                  cache=True)
    assert shot.returncode == 0, shot.stderr
    assert len(list((tmp_path / "cache" / "zpviz").glob("*.npz"))) == 4
    (tmp_path / "w").mkdir()  # an empty cache of its own
    worker = _zpviz(installed, cwd=tmp_path / "w", cache=True, code=(
        "from zpviz.present import prefetch, session; from zpviz.scenario import load; "
        "from zpviz.scenario.library import tour_path; pf = prefetch.start(None); sc = load(str(tour_path())); "
        "print(sum(prefetch.take(sc, k) is not None for k in session.kernels_for(sc)))"))
    assert worker.returncode == 0 and worker.stdout.split() == ["4"], worker.stdout + worker.stderr
    import numpy as np
    from PIL import Image

    img = Image.open(tmp_path / "tour.png")
    colours = np.unique(np.asarray(img.convert("RGB")).reshape(-1, 3), axis=0)
    assert img.size == (1280, 720) and len(colours) > 8  # a picture, not a blank


def test_without_the_gui_extra_it_names_the_extra(installed, tmp_path):
    """PySide6 missing (as after `pip install zpviz` without [gui]): a usage error naming the extra."""
    r = _zpviz(installed, cwd=tmp_path, code="import sys; sys.modules['PySide6'] = None; "
               "from zpviz.cli import main; sys.exit(main(['--screenshot', 'x.png']))")
    assert r.returncode == 2, r.stderr
    assert "pip install 'zpviz[gui]'" in r.stderr and "internal error" not in r.stderr
