"""Safe writes: the target appears only when complete; failures leave nothing and clobber nothing."""

from __future__ import annotations

import os

import pytest

from zpviz.export.safe import ExportError, atomic_dir, atomic_file, remove_stale, temp_path


def leftovers(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if ".zpviz-" in n)


def test_the_file_appears_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "out.gif"
    with atomic_file(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.gif.zpviz-") and tmp.suffix == ".gif"
        tmp.write_bytes(b"GIF89a...")
        assert not target.exists()
    assert target.read_bytes() == b"GIF89a..." and leftovers(tmp_path) == []


def test_a_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"the lecture from last year")
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with atomic_file(target) as tmp:
                tmp.write_bytes(b"half a vid")
                raise exc
        assert target.read_bytes() == b"the lecture from last year"
        assert leftovers(tmp_path) == []


def test_missing_folder_and_folder_target_are_named(tmp_path):
    with pytest.raises(ExportError, match=r"cannot write .*nope/out.png: the folder .*nope does not exist"):
        with atomic_file(tmp_path / "nope" / "out.png"):
            pass
    (tmp_path / "d.png").mkdir()
    with pytest.raises(ExportError, match="it is a folder"):
        with atomic_file(tmp_path / "d.png"):
            pass


def test_unwritable_folder_is_named(tmp_path, monkeypatch):
    import zpviz.export.safe as safe

    real_open = open

    def deny(path, mode="r", *a, **kw):
        if "x" in mode:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, mode, *a, **kw)

    monkeypatch.setattr(safe, "open", deny, raising=False)
    with pytest.raises(ExportError, match=r"cannot write .*out.gif: permission denied"):
        with atomic_file(tmp_path / "out.gif"):
            pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder_is_named(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    with pytest.raises(ExportError, match="not writable"):
        with atomic_file(ro / "out.gif"):
            pass


def test_temporaries_of_killed_exports_are_removed_by_the_next(tmp_path):
    target = tmp_path / "out.mp4"
    dead = tmp_path / ".out.mp4.zpviz-999999999-deadbeef.part.mp4"  # no such pid
    dead.write_bytes(b"x")
    mine = temp_path(target)  # this process: still running, kept
    mine.write_bytes(b"y")
    other = tmp_path / ".other.mp4.zpviz-999999999-deadbeef.part.mp4"  # another target: not ours to touch
    other.write_bytes(b"z")
    remove_stale(target)
    assert not dead.exists() and mine.exists() and other.exists()


def test_frames_folder_is_filled_then_renamed(tmp_path):
    target = tmp_path / "frames"
    with atomic_dir(target) as tmp:
        (tmp / "frame_00000.png").write_bytes(b"a")
        assert not target.exists()
    assert os.listdir(target) == ["frame_00000.png"]
    with atomic_dir(target) as tmp:  # a folder of earlier frames is replaced
        (tmp / "frame_00000.png").write_bytes(b"b")
    assert (target / "frame_00000.png").read_bytes() == b"b" and leftovers(tmp_path) == []
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "frame_00000.png").write_bytes(b"c")
            raise RuntimeError
    assert (target / "frame_00000.png").read_bytes() == b"b" and leftovers(tmp_path) == []


def test_frames_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="holds other files"):
        with atomic_dir(tmp_path):
            pass
    assert (tmp_path / "notes.txt").read_text() == "mine"
