"""Finding the built-in lessons: zpviz.lessons when installed, scenarios/ in a source checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

import zpviz
from zpviz.scenario import builtin_lessons, library, load, tour_path


def _lessons(d: Path, *names: str) -> Path:
    d.mkdir(parents=True)
    for n in names:
        (d / n).write_text('[[step]]\nsay = "x"\n')
    return d


def test_sorted_by_file_name_and_only_toml_files(tmp_path, monkeypatch):
    d = _lessons(tmp_path / "scenarios", "b.toml", "tour.toml", "a.toml", "notes.md")
    (d / "dir.toml").mkdir()
    monkeypatch.setattr(library, "lesson_dirs", lambda: [tmp_path / "absent", d])
    assert [p.name for p in builtin_lessons()] == ["a.toml", "b.toml", "tour.toml"]
    assert tour_path() == d / "tour.toml"


def test_no_tour_is_a_clear_error(tmp_path, monkeypatch):
    d = _lessons(tmp_path / "scenarios", "a.toml")
    monkeypatch.setattr(library, "lesson_dirs", lambda: [d])
    with pytest.raises(FileNotFoundError, match="no tour.toml"):
        tour_path()


def test_an_installed_lessons_package_comes_before_the_checkout(tmp_path, monkeypatch):
    installed = _lessons(tmp_path / "site" / "lessons", "z.toml")
    monkeypatch.setattr(zpviz, "__path__", [*zpviz.__path__, str(tmp_path / "site")])
    dirs = library.lesson_dirs()
    assert dirs[0] == installed
    assert dirs[-1] == Path(zpviz.__file__).resolve().parent.parent / "scenarios"
    assert [p.name for p in builtin_lessons()] == ["z.toml"]


@pytest.mark.parametrize("path", builtin_lessons(), ids=lambda p: p.name)
def test_every_builtin_lesson_loads(path):
    assert load(path).steps
