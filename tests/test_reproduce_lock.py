"""One `reproduce` at a time writes a folder: before, two invocations into one `--out`
both ran every run, collided inside a Keras Tuner folder, and could leave a manifest
that misdescribed the report (QA report of 8 December 2026)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from actkeras.errors import UserError
from actkeras.experiments import folder
from actkeras.experiments.runner import RESULT_FORMAT

ROOT = Path(__file__).resolve().parents[1]
SECOND = """
import sys
from actkeras.errors import UserError
from actkeras.experiments.folder import prepare
try:
    prepare(sys.argv[1], "tiny", int(sys.argv[2]))
except UserError as error:
    print(error)
    sys.exit(2)
"""


def _second(out):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", SECOND, str(out), str(RESULT_FORMAT)], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(folder.fcntl is None, reason="the lock is POSIX's flock")
def test_a_second_invocation_is_refused_while_the_first_writes(tmp_path):
    out = tmp_path / "out"
    folder.prepare(out, "tiny", RESULT_FORMAT)
    try:
        second = _second(out)
        assert second.returncode == 2, second.stderr
        assert f"is being written by another actkeras reproduce (pid {os.getpid()} on" \
            in second.stdout
    finally:
        folder.release(out)
    again = _second(out)  # released: the folder is free
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_lock_left_by_a_killed_invocation_is_no_file_of_the_users(tmp_path):
    # The lock file stays when its process dies (the kernel drops the lock itself): an
    # otherwise empty folder is still an empty folder, and the next invocation takes it.
    out = tmp_path / "out"
    out.mkdir()
    (out / folder.LOCK).write_text("pid 1 on elsewhere, since 2026-12-08 00:00:00\n")
    folder.prepare(out, "tiny", RESULT_FORMAT)
    folder.release(out)
    (out / "notes.txt").write_text("mine")
    (out / folder.MANIFEST).unlink()
    with pytest.raises(UserError, match="is not empty and holds no reproduction"):
        folder.prepare(out, "tiny", RESULT_FORMAT)
