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
