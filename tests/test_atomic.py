"""Atomic writes: the whole file or the old one, with the usual permissions."""

import json
import os

from actkeras import atomic


def test_atomic_writes_leave_files_with_the_usual_permissions(tmp_path):
    path = tmp_path / "result.json"
    atomic.write_json(path, {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert json.loads(path.read_text()) == {"a": 1}


def test_temporary_path_replaces_on_success_and_leaves_the_old_file_on_failure(tmp_path):
    import pytest

    path = tmp_path / "sub" / "model.keras"
    with atomic.temporary_path(path, suffix=".keras") as tmp:
        assert tmp.parent == path.parent and tmp.suffix == ".keras" and tmp != path
        tmp.write_bytes(b"first")
    assert path.read_bytes() == b"first"
    with pytest.raises(RuntimeError, match="half way"):
        with atomic.temporary_path(path) as tmp:
            tmp.write_bytes(b"second, half")
            raise RuntimeError("half way")
    assert path.read_bytes() == b"first"
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.keras"]  # no leftovers


def test_replace_folder_refuses_without_overwrite_and_replaces_whole_with_it(tmp_path):
    import pytest

    staging, destination = tmp_path / ".staging", tmp_path / "export"
    destination.mkdir()
    (destination / "old.txt").write_text("old")
    staging.mkdir()
    (staging / "new.txt").write_text("new")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        atomic.replace_folder(staging, destination)
    assert (destination / "old.txt").exists() and staging.exists()
    atomic.replace_folder(staging, destination, overwrite=True)
    assert sorted(p.name for p in destination.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    """A user's private file, written again, stayed private (it became 0644)."""
    path = tmp_path / "notes.md"
    path.write_text("mine")
    path.chmod(0o600)
    atomic.write_text(path, "again")
    assert path.read_text() == "again" and path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o640)
    with atomic.temporary_path(path) as tmp:
        tmp.write_text("third")
    assert path.stat().st_mode & 0o777 == 0o640
    link = tmp_path / "link.md"
    link.symlink_to(path)
    atomic.write_text(link, "through")  # the target written, the link kept
    assert link.is_symlink() and path.read_text() == "through"


def test_only_names_the_package_writes_are_leftovers(tmp_path):
    with atomic.temporary_path(tmp_path / "a.json") as tmp:
        assert atomic.leftovers(tmp_path) == [tmp]  # what a kill here would leave
        tmp.write_text("{}")
    staging = atomic.staging_folder(tmp_path, "run")
    assert atomic.leftovers(tmp_path) == [staging]
    staging.rmdir()
    for name in (".history.20261207.old", ".notes.draft_v2.tmp", ".a.abcdefgh.tmp"):
        (tmp_path / name).write_text("a user's")
    assert atomic.leftovers(tmp_path) == []
