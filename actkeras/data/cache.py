"""A cache of prepared arrays as `.npz` files: never pickled, written atomically.

A cache file is trusted only when it loads without pickle, carries the exact key it
was asked for and passes the caller's check; anything else is ignored and rebuilt.
An unwritable cache folder only means no caching.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from actkeras import atomic

ENV_CACHE_DIR = "ACTKERAS_CACHE_DIR"


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
    if not Path(path).is_file():
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
    """Writes `arrays` with `key` and `info`; returns whether it was written."""
    try:
        with atomic.temporary_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, key=np.array(json.dumps(key, sort_keys=True)),
                     info=np.array(json.dumps(info)), **arrays)
        return True
    except OSError:
        return False
