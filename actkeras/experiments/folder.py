"""The reproduction folder: checked before anything runs, so nothing is mixed or lost.

`OUT/manifest.json` says which preset, Keras backend, selection (claims and seeds) and
result format wrote the folder. A folder of another preset or backend (the two backends'
runs never mix: their default folders differ), or of a version whose result files this
one cannot read, is refused with the fix (another `--out`, or `--force`), before any
training; so is a non-empty folder that is not a reproduction, and a folder whose
report covers another selection (a subset run into the full report's folder), unless
`--overwrite` says to replace that report. Temporary files that a killed run left
behind (`.*.tmp`, never read back) are removed.
"""

import json
from pathlib import Path

from actkeras.atomic import write_json
from actkeras.errors import UserError, writing

MANIFEST = "manifest.json"
REPORT_FILES = ("report.md", "summary.md", "results.json")


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
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a folder: choose a folder with --out.")
    manifest = out / MANIFEST
    theirs = {}
    if manifest.exists():
        try:
            theirs = json.loads(manifest.read_text())
            if not isinstance(theirs, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as error:
            raise UserError(
                f"{manifest} is unreadable ({error}), so what wrote {out} is unknown: choose "
                f"another folder with --out, or delete {out}.") from None
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
    elif out.is_dir() and any(out.iterdir()) and not (out / "runs").is_dir():
        raise UserError(f"{out} is not empty and holds no reproduction: choose a new or empty "
                        f"folder with --out.")
    # A manifest written before it recorded the backend: the runs' own records say.
    theirs_backend = theirs.get("backend") or ", ".join(sorted(recorded_backends(out)))
    if theirs_backend and theirs_backend != backend:
        raise UserError(
            f"{out} holds a reproduction on Keras's {theirs_backend} backend, not {backend}: "
            f"runs of one backend are never reused for another; choose another folder with "
            f"--out (the default is {default or default_out(preset, backend=backend)}).")
    with writing(out):
        write_json(manifest, {"tool": "actkeras reproduce", "preset": preset,
                              "result_format": result_format, "actkeras": _version(),
                              "backend": backend, "selection": selection})
        stale = list(out.rglob(".*.tmp"))
        for path in stale:
            path.unlink(missing_ok=True)
    return len(stale)
