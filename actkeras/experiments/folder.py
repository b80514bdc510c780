"""The reproduction folder: checked before anything runs, so nothing is mixed or lost.

`OUT/manifest.json` says which preset, Keras backend, selection (claims and seeds) and
result format wrote the folder. A folder of another preset or backend (the two backends'
runs never mix: their default folders differ), or of a version whose result files this
one cannot read, is refused with the fix (another `--out`, or `--force`), before any
training; so is a non-empty folder that is not a reproduction, and a folder whose
report covers another selection (a subset run into the full report's folder), unless
`--overwrite` says to replace that report. A reproduction is told by its manifest, which
names the tool (`TOOL`): a folder without one (a `train` output's `runs/` included) or
with another program's `manifest.json` is not written into. The temporary files that a
killed run's atomic writes left behind (`atomic.leftovers`, never read back) are removed
from the folders the reproduction writes, and only there. One invocation at a time
writes a folder: `prepare` takes a lock on `OUT/.actkeras-lock` (`fcntl.flock`, POSIX;
released by `release`, or by the kernel when the process ends, however it ends) before
it writes the manifest, and a second invocation is refused while the first holds it.
"""

import json
import os
import socket
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX (Windows): no lock
    fcntl = None

from actkeras import atomic
from actkeras.atomic import write_json
from actkeras.errors import UserError, writing

MANIFEST = "manifest.json"
TOOL = "actkeras reproduce"  # the manifest's mark: only a reproduction writes it
REPORT_FILES = ("report.md", "summary.md", "results.json")
# Where a reproduction writes (atomically): its leftovers are swept there, and only there.
WRITTEN = ("", "figures", "runs", "models")
WRITTEN_BELOW = ("tuning",)  # the searches' folders, every level of them
LOCK = ".actkeras-lock"  # held while an invocation writes the folder; it says whose
_held = {}  # resolved folder -> the open lock file of this process


def _version():
    from actkeras import __version__

    return __version__


def default_out(preset, claim_ids=None, seeds=None, backend="tensorflow"):
    """`reproduction/<preset>` (`<preset>-jax` on JAX), or a folder of its own for a subset
    or another size."""
    name = preset if backend == "tensorflow" else f"{preset}-{backend}"
    if claim_ids:
        name += "-claims-" + "-".join(map(str, sorted(claim_ids)))
    if seeds is not None:
        name += f"-seeds-{seeds}"
    return Path("reproduction") / name


def describe(selection):
    claims = selection.get("claims")
    text = "every claim" if claims == "all" else f"claims {', '.join(map(str, claims))}"
    seeds = selection.get("seeds")
    return text + (f" with {seeds} seeds per arm" if seeds else " with the preset's seeds")


def recorded_backends(out):
    """The Keras backends that the finished results in `out/runs` were made on (a folder
    written before the manifest recorded its backend)."""
    found = set()
    for path in (Path(out) / "runs").glob("*.json"):
        if path.name.endswith(".config.json"):
            continue
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # unreadable: the runner runs it again
        backend = ((result.get("provenance") or {}).get("backend")
                   or (result.get("timing") or {}).get("backend"))
        if backend:
            found.add(backend)
    return found


def manifest_of(out):
    """The manifest of the reproduction in `out`; `{}` for a new or empty folder.

    Reads only, so the command checks `--out` with it before Keras loads.

    Raises:
        UserError: `out` is a file, or a folder that is not a reproduction: one that
            holds anything but no manifest (a `train` output's `runs/` is no sign of a
            reproduction), or another program's or an unreadable `manifest.json`.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a folder: choose a folder with --out.")
    manifest = out / MANIFEST
    if not manifest.exists():
        if out.is_dir() and set(out.iterdir()) - set(atomic.leftovers(out)) - {out / LOCK}:
            raise UserError(f"{out} is not empty and holds no reproduction (no {MANIFEST} "
                            f"written by {TOOL}): choose a new or empty folder with --out.")
        return {}
    try:
        theirs = json.loads(manifest.read_text())
        if not isinstance(theirs, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as error:
        raise UserError(
            f"{manifest} is unreadable ({error}), so what wrote {out} is unknown: choose "
            f"another folder with --out, or delete {out}.") from None
    if theirs.get("tool") != TOOL:
        raise UserError(
            f"{out} holds a {MANIFEST} that is not a reproduction's (it does not say "
            f"\"tool\": \"{TOOL}\"): choose a new or empty folder with --out.")
    return theirs


def prepare(out, preset, result_format, *, selection=None, force=False, overwrite=False,
            backend="tensorflow", default=None):
    """Checks `out` for a reproduction of `preset` and `selection` on `backend`, and writes
    its manifest.

    `default` is the folder that the refusal of another preset's or backend's folder
    suggests. Defaults to `reproduction/<preset>`.

    Returns the number of stale temporary files removed. Raises `UserError` naming
    the fix for a folder it must not write into.
    """
    out = Path(out)
    selection = selection or {"claims": "all", "seeds": None}
    theirs = manifest_of(out)
    manifest = out / MANIFEST
    if theirs:
        if theirs.get("preset") != preset:
            raise UserError(
                f"{out} holds a reproduction of the {theirs.get('preset')!r} preset, not "
                f"{preset!r}: choose another folder with --out (the default is "
                f"{default or Path('reproduction') / preset}).")
        if theirs.get("result_format") != result_format and not force:
            raise UserError(
                f"{out} was written by actkeras {theirs.get('actkeras', '?')} (result format "
                f"{theirs.get('result_format')}), whose results actkeras {_version()} (format "
                f"{result_format}) cannot reuse: add --force to run every run again in it, or "
                f"choose another folder with --out.")
        previous = theirs.get("selection") or {"claims": "all", "seeds": None}
        has_report = any((out / name).exists() for name in REPORT_FILES)
        if previous != selection and has_report and not overwrite:
            raise UserError(
                f"{out} holds the report of {describe(previous)}; this run ({describe(selection)}) "
                f"would replace it: choose another folder with --out, or add --overwrite to "
                f"replace that report (its finished runs are kept and reused).")
    # A manifest written before it recorded the backend: the runs' own records say.
    theirs_backend = theirs.get("backend") or ", ".join(sorted(recorded_backends(out)))
    if theirs_backend and theirs_backend != backend:
        raise UserError(
            f"{out} holds a reproduction on Keras's {theirs_backend} backend, not {backend}: "
            f"runs of one backend are never reused for another; choose another folder with "
            f"--out (the default is {default or default_out(preset, backend=backend)}).")
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
        _lock(out)
        write_json(manifest, {"tool": "actkeras reproduce", "preset": preset,
                              "result_format": result_format, "actkeras": _version(),
                              "backend": backend, "selection": selection})
        stale = leftovers(out)
        for path in stale:
            atomic.remove(path)
    return len(stale)


def _lock(out):
    """Takes `out`'s lock for this process (kept until `release`); a `UserError` naming the
    holder when another process has it."""
    key = str(Path(out).resolve())
    if fcntl is None or key in _held:
        return
    handle = open(Path(out) / LOCK, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise UserError(
            f"{out} is being written by another actkeras reproduce ({holder}): two at once "
            f"would run every run twice and write one manifest over the other. Wait for it "
            f"to end (a rerun then reuses its runs), or choose another folder with --out.")
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since "
                 f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    handle.flush()
    _held[key] = handle


def release(out):
    """Lets go of `out`'s lock, if this process holds it."""
    handle = _held.pop(str(Path(out).resolve()), None)
    if handle is not None:
        handle.close()


def leftovers(out):
    """What killed atomic writes left in the folders a reproduction in `out` writes."""
    out = Path(out)
    found = [p for sub in WRITTEN for p in atomic.leftovers(out / sub)]
    for sub in WRITTEN_BELOW:
        if (out / sub).is_dir():
            for folder in [out / sub, *(p for p in (out / sub).rglob("*") if p.is_dir())]:
                found += [p for p in atomic.leftovers(folder) if p not in found]
    return found
