"""A cache of prepared arrays as `.npz` files: never pickled, written atomically.

A cache file is trusted only when it loads without pickle, carries the exact key it
was asked for and passes the caller's check; anything else is ignored and rebuilt.
An unwritable cache folder only means no caching, and so does `ACTKERAS_NO_CACHE=1`
(nothing read, nothing written). Files of other keys (other archives, seeds or sizes)
are never removed: deleting the folder, or any file in it, only costs a rebuild.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from actkeras import atomic

ENV_CACHE_DIR = "ACTKERAS_CACHE_DIR"
ENV_NO_CACHE = "ACTKERAS_NO_CACHE"


def enabled():
    """Whether the cache is used: not when `ACTKERAS_NO_CACHE` is 1 (true, yes, on)."""
    return os.environ.get(ENV_NO_CACHE, "").strip().lower() not in ("1", "true", "yes", "on")


def cache_dir(explicit=None):
    """`explicit`, else `$ACTKERAS_CACHE_DIR`, else `~/.cache/actkeras`."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR])
    return Path(os.path.expanduser("~")) / ".cache" / "actkeras"


def cache_path(folder, prefix, key):
    """The file for `key` (a JSON-serialisable dict) under `folder`."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return Path(folder) / f"{prefix}-{digest}.npz"


def load(path, key, check):
    """`(arrays, info)` from `path`, or `None` if it is missing, corrupt or not for `key`.

    `check(arrays)` returns whether the arrays are what the caller expects.
    """
    if not enabled() or not Path(path).is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        if str(arrays.pop("key")) != json.dumps(key, sort_keys=True):
            return None
        info = json.loads(str(arrays.pop("info")))
        return (arrays, info) if check(arrays) else None
    except Exception:  # a damaged file raises anything from zipfile, zlib, numpy or json
        return None


def save(path, key, arrays, info):
    """Writes `arrays` with `key` and `info`; returns whether it was written (not with
    the cache off: `enabled`)."""
    if not enabled():
        return False
    try:
        with atomic.temporary_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, key=np.array(json.dumps(key, sort_keys=True)),
                     info=np.array(json.dumps(info)), **arrays)
        return True
    except OSError:
        return False
