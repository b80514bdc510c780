"""The reproduction folder: checked before anything runs, so nothing is mixed or lost.

`OUT/manifest.json` says which preset and result format wrote the folder. A folder
of another preset, or of a version whose result files this one cannot read, is
refused with the fix (another `--out`, or `--force`), before any training; so is a
non-empty folder that is not a reproduction. Temporary files that a killed run left
behind (`.*.tmp`, never read back) are removed.
"""

import json
from pathlib import Path

from actkeras.atomic import write_json
from actkeras.errors import UserError, writing

MANIFEST = "manifest.json"


def _version():
    from actkeras import __version__

    return __version__


def prepare(out, preset, result_format, *, force=False):
    """Checks `out` for a reproduction of `preset` and writes its manifest.

    Returns the number of stale temporary files removed. Raises `UserError` naming
    the fix for a folder it must not write into.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a folder: choose a folder with --out.")
    manifest = out / MANIFEST
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
                f"reproduction/{preset}).")
        if theirs.get("result_format") != result_format and not force:
            raise UserError(
                f"{out} was written by actkeras {theirs.get('actkeras', '?')} (result format "
                f"{theirs.get('result_format')}), whose results actkeras {_version()} (format "
                f"{result_format}) cannot reuse: add --force to run every run again in it, or "
                f"choose another folder with --out.")
    elif out.is_dir() and any(out.iterdir()) and not (out / "runs").is_dir():
        raise UserError(f"{out} is not empty and holds no reproduction: choose a new or empty "
                        f"folder with --out.")
    with writing(out):
        write_json(manifest, {"tool": "actkeras reproduce", "preset": preset,
                              "result_format": result_format, "actkeras": _version()})
        stale = list(out.rglob(".*.tmp"))
        for path in stale:
            path.unlink(missing_ok=True)
    return len(stale)
