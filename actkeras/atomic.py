"""Atomic file writes: a temporary file in the same folder, fsynced, then `os.replace`.

A reader (a resumed reproduction, a tuner worker, a crashed run's next attempt)
therefore sees either the old file or the whole new one, never half of it. Every
file and folder actkeras writes goes through here: `write_bytes`, `write_text`,
`write_json`, `write_figure` for content in memory, `temporary_path` for writers
that want a path of their own (`model.save`, `np.savez`, a download), and
`staging_folder` and `replace_folder` for a folder built aside (an export). New files
and folders get the usual permissions (the umask's), not `mkstemp`'s and `mkdtemp`'s
owner-only modes; a file replaced keeps its own.
"""

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

# `mkstemp` makes owner-only files; a written file gets the usual permissions instead.
_UMASK = os.umask(0)
os.umask(_UMASK)
_MODE = 0o666 & ~_UMASK
_FOLDER_MODE = 0o777 & ~_UMASK


# What a killed writer leaves: `mkstemp`'s and `mkdtemp`'s names with this module's prefix
# (`.NAME.actkeras-`) and suffixes, the middle their eight random characters. The word
# keeps a user's own names alone (`.history.20261207.old`, a dated backup, matched before).
_TAG = "actkeras-"
_LEFTOVER = re.compile(r"\..+\.actkeras-[a-z0-9_]{8}\.(tmp|old)")


def leftovers(folder):
    """The temporary files and folders that writes through this module left in `folder`
    (not below it) when their process was killed: `.NAME.actkeras-XXXXXXXX.tmp` (a file
    being written, a folder being built) and `.NAME.actkeras-XXXXXXXX.old` (a replaced
    folder not yet deleted). Nothing else is named so by actkeras, and nothing here reads
    them back."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _LEFTOVER.fullmatch(p.name))


def remove(path):
    """Removes a leftover file or folder (`leftovers`)."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


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
    with temporary_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


@contextlib.contextmanager
def temporary_path(path, suffix=".tmp"):
    """A path beside `path` to write to; renamed onto `path` when the block succeeds.

    The folder is created if needed. On an exception the temporary file is
    removed and `path` is left as it was. `suffix` keeps a file type that a writer
    insists on (`model.save` wants `.keras`). A file replaced keeps its permissions
    (a user's private file stays private); a new one gets the usual ones. A `path` that is
    a link is written through: its target is replaced, the link kept.

    Example:
    >>> with temporary_path(out / "model.keras", suffix=".keras") as tmp:
    ...     model.save(tmp)
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{_TAG}",
                               suffix=suffix)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        try:
            mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else _MODE
        except OSError:
            mode = _MODE
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def staging_folder(parent, name):
    """A new hidden folder in `parent` (created if needed) to build `name` in, for
    `replace_folder`; it has the usual permissions, so the folder it becomes does too."""
    Path(parent).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.{_TAG}", suffix=".tmp"))
    os.chmod(staging, _FOLDER_MODE)
    return staging


def replace_folder(staging, destination, overwrite=False):
    """Renames the folder `staging` to `destination` (on the same file system).

    An existing `destination` is replaced only with `overwrite`: it is first renamed
    aside (renames are atomic, deleting a tree is not), put back if the rename of
    `staging` fails, and deleted afterwards.

    Raises:
        FileExistsError: `destination` exists and `overwrite` is false.
    """
    staging, destination = Path(staging), Path(destination)
    old = None
    if destination.exists():
        if not overwrite:
            raise FileExistsError(
                f"{destination} already exists; pass overwrite=True to replace it. "
                f"Received: destination={str(destination)!r}")
        old = Path(tempfile.mkdtemp(dir=destination.parent,
                                    prefix=f".{destination.name}.{_TAG}", suffix=".old"))
        os.rename(destination, old / destination.name)
    try:
        os.rename(staging, destination)
    except BaseException:
        if old is not None:
            os.rename(old / destination.name, destination)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_json(path, payload, sort_keys=True):
    """Writes `payload` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=sort_keys) + "\n")
