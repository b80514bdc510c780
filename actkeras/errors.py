"""Errors a user can fix: the CLI prints their message, without a traceback, and exits 1
(2 is kept for argument errors: `commands.common.UsageError`)."""

import errno
import os
from contextlib import contextmanager
from pathlib import Path


class UserError(Exception):
    """A problem the user can fix; the message says how. The CLI exits with code 1."""


def output_error(error, path, option="--out", note=""):
    """A `UserError` for an `OSError` met while writing under `path`, naming the fix
    (and `note`, a sentence added at the end)."""
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = f"free some space on that disk or choose another folder with {option}"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = f"choose a folder you can write to with {option}"
    else:
        fix = f"check the folder or choose another one with {option}"
    return UserError(f"cannot write to {path} ({reason}): {fix}." + (f" {note}" if note else ""))


@contextmanager
def writing(path, option="--out", note=""):
    """Turns an `OSError` raised inside the block into `output_error(...)`."""
    try:
        yield
    except OSError as error:
        raise output_error(error, path, option, note) from error


def nearest_existing(path):
    """`path` made absolute, or its nearest parent that exists (what a write there meets)."""
    folder = Path(path).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_writable(path, option="--out"):
    """Raises `output_error(...)` if `path`, or the folder it would be made in, is read-only
    or not the user's, if a file stands where a folder of `path` would be made, or if `path`
    is a file made read-only: for a command whose writing comes at the end of long work."""
    folder = nearest_existing(path)
    if folder.is_file():
        if folder != Path(path).absolute():  # `notes.md/out.json`
            raise output_error(OSError(errno.ENOTDIR, f"{folder} is a file, not a folder"),
                               path, option)
        if not os.access(folder, os.W_OK) or not folder.stat().st_mode & 0o222:  # a 444
            raise UserError(f"cannot write to {path} (the file is read-only): make it "
                            f"writable or choose another file with {option}.")
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        code = errno.EROFS if read_only else errno.EACCES
        raise output_error(OSError(code, os.strerror(code)), path, option)
