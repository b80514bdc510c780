"""JAX's persistent compilation cache, for the processes of `actkeras reproduce`.

A reproduction builds hundreds of models of a few dozen shapes, and on JAX each new
model compiles its training step, its scorer and its monitors again: the same XLA
programs, seed after seed. JAX can keep compiled programs on disk and load one when
the same program comes again (its persistent compilation cache); a loaded program is
the program compiled before, so a run's numbers are the same, bit for bit
(`tests/test_compile_cache.py`; claims 11 to 13 of the full preset, 116 runs, every
number identical with and without it).

actkeras turns it on only in the processes of `actkeras reproduce` (the command's own,
its worker processes and timing processes, through environment variables that JAX
reads when it is imported), never in a Python session that imports actkeras: a library
does not set JAX's global configuration for its user. Where it is not wanted:

- `ACTKERAS_NO_CACHE=1` turns it off with the prepared-array cache;
- a `JAX_COMPILATION_CACHE_DIR` of the user's own is left as it is, and used;
- a folder that is not the user's, or that others may write to, is not used: the
  cache holds machine code that JAX loads and runs.

The folder, `~/.cache/actkeras/jax/<jaxlib>-<machine>-<cpu>` (`ACTKERAS_CACHE_DIR`
moves it), has one subfolder per jaxlib version and CPU: XLA compiles for the host's
instruction set, and a home folder shared between machines must not offer one
machine's programs to another.
"""

import contextlib
import hashlib
import os
import platform
import stat

from actkeras import records
from actkeras.data import cache

ENV_DIR = "JAX_COMPILATION_CACHE_DIR"
# Cache every program, however quick its compile: JAX's defaults skip those under a
# second, which are most of a small network's.
SETTINGS = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}


def _cpu():
    """The CPU's model and instruction-set flags (Linux), else what `platform` knows."""
    info = records.cpu_info("model name", "flags")
    return "\n".join(info.values()) or f"{platform.processor()} {platform.machine()}"


def folder(root=None):
    """This jaxlib's and this CPU's cache folder under `root` (default: actkeras's
    cache folder)."""
    jaxlib = records.version("jaxlib") or "none"
    cpu = hashlib.sha256(_cpu().encode()).hexdigest()[:12]
    return cache.cache_dir(root) / "jax" / f"jaxlib-{jaxlib}-{platform.machine()}-{cpu}"


def _unsafe(path):
    """Why the folder `path` may not hold the cache, or `None`; made here (for the user
    alone) if missing."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError as error:
        return f"it cannot be made ({error.strerror})"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a folder"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return "another user owns it"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "others may write to it"
    return None


def settings(root=None):
    """`(environment, note)`: the variables that turn JAX's cache on for the processes
    started with them (`{}` when it stays off), and one line saying where it is or why
    it is off."""
    path = folder(root)
    if os.environ.get(ENV_DIR) and os.environ[ENV_DIR] != str(path):  # JAX will use it
        return {}, f"JAX compilation cache: {os.environ[ENV_DIR]} (your {ENV_DIR})"
    if not cache.enabled():
        return {}, f"JAX compilation cache: off ({cache.ENV_NO_CACHE}=1)"
    why = _unsafe(path)
    if why:
        return {}, f"JAX compilation cache: off, {why}: {path}"
    env = {ENV_DIR: str(path)}
    env.update({name: value for name, value in SETTINGS.items() if name not in os.environ})
    return env, f"JAX compilation cache: {path} ({cache.ENV_NO_CACHE}=1 turns it off)"


@contextlib.contextmanager
def for_reproduction(progress=None, root=None):
    """Within the block, JAX's cache is on for the processes started in it, and in this
    one if it imports JAX there; the environment is restored afterwards.

    Args:
        progress: where the line saying where the cache is goes (`None`: nowhere).
        root: the cache's root folder. Defaults to actkeras's cache folder.
    """
    env, note = settings(root)
    if progress is not None:
        progress(note)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield env.get(ENV_DIR)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
