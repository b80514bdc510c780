"""Atomic file writes: a temporary file in the same folder, fsynced, then `os.replace`.

A reader (a resumed reproduction, a tuner worker, a crashed run's next attempt)
therefore sees either the old file or the whole new one, never half of it.
"""

import json
import os
import tempfile
from pathlib import Path

# `mkstemp` makes owner-only files; a written file gets the usual permissions instead.
_UMASK = os.umask(0)
os.umask(_UMASK)
_MODE = 0o666 & ~_UMASK


def write_text(path, text):
    """Writes `text` to `path` atomically, creating the folder if needed."""
    write_bytes(path, text.encode())


def write_figure(path, figure, dpi=110):
    """Saves a matplotlib `figure` as PNG to `path` atomically."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    write_bytes(path, buffer.getvalue())


def write_bytes(path, data):
    """Writes `data` to `path` atomically, creating the folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path, payload, sort_keys=True):
    """Writes `payload` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=sort_keys) + "\n")
