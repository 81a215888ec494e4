"""Where the built-in lessons are: the package zpviz.lessons in a wheel, scenarios/ in a checkout.

pyproject.toml maps the repo's scenarios/ directory to zpviz.lessons when building a wheel (and
for an editable install), so lecturers find the lessons at the top of the repo while an installed
app finds them inside the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

TOUR = "tour.toml"


def lesson_dirs() -> list[Path]:
    """Candidate directories, best first: the installed package, then the source checkout."""
    dirs: list[Path] = []
    try:
        spec = importlib.util.find_spec("zpviz.lessons")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        dirs += [Path(p) for p in spec.submodule_search_locations]
    # zpviz/scenario/library.py -> the repo root holding scenarios/
    dirs.append(Path(__file__).resolve().parents[2] / "scenarios")
    return dirs


def builtin_lessons() -> list[Path]:
    """The built-in lesson files, sorted by file name; empty if none can be found."""
    for d in lesson_dirs():
        if d.is_dir():
            found = sorted(p for p in d.glob("*.toml") if p.is_file())
            if found:
                return sorted(found, key=lambda p: p.name)
    return []


def tour_path() -> Path:
    """The guided tour, tour.toml. Raises FileNotFoundError if the library has none."""
    for p in builtin_lessons():
        if p.name == TOUR:
            return p
    raise FileNotFoundError(f"no {TOUR} among the built-in lessons (looked in: "
                            + ", ".join(str(d) for d in lesson_dirs()) + ")")
