"""What actkeras wrote, and so may replace: exports, tuner searches, bench files.

An `--overwrite` (or `overwrite=True`) replaces a file or folder only when it is one
of these, and then only the entries the tool wrote: a folder or file of the user's is
refused, by name. Nothing here imports Keras, so the CLI asks before TensorFlow loads.

Each `*_state` function answers `None` (nothing there: free to write), `"file"` or
`"folder"` (the wrong kind of thing), `"ours"` (written by actkeras) or `"other"`
(something else, never replaced); `contents` names what a folder holds, for messages.
"""

import json
import re
from pathlib import Path

EXPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a folder name, nothing above it
EXPORT_FILES = ("model.keras", "serving", "metadata.json")  # `actkeras.export` writes these
SEARCH_MARKER = "actkeras_search.json"
# A search's own entries: actkeras's marker and results, keras-tuner's oracle, its tuners'
# states (`tuner0.json`, `chief.json`) and trials (`trial_00/`, `trial_0003/`: digits alone,
# so that a user's `trial_notes/` or `trial_best_backup/` is not taken for one).
_SEARCH_ENTRY = re.compile(
    r"actkeras_search\.json|oracle\.json|results\.(json|csv)|(tuner\d+|chief)\.json|trial_\d+")
BENCH_JSON_MARKER = "actkeras bench"  # the `written_by` of a `bench --json` file
_BENCH_HEADERS = ("Written by `actkeras bench", "Measured by `actkeras bench")


def contents(folder, limit=3):
    """`'a.txt, b/ and 2 more'`: what `folder` holds, for a message."""
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in Path(folder).iterdir())
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def write_problem(path, overwrite, flag="--overwrite", option="--write"):
    """Why a command's output file cannot go to `path` (a folder there; a file there and
    no `overwrite`: a file of the user's is never replaced unasked), or `None`."""
    path = Path(path)
    if path.is_dir():
        return f"{option} {path} is a folder: give a file name."
    if path.exists() and not overwrite:
        return f"{option} {path} exists: pass {flag} to replace it, or give another name."
    return None


def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def export_state(path):
    """An export is a folder whose `metadata.json` `actkeras.export` wrote."""
    path = Path(path)
    if not path.exists():
        return None
    if not path.is_dir():
        return "file"
    record = _read_json(path / "metadata.json")
    ours = isinstance(record, dict) and "format_version" in record and "files" in record
    return "ours" if ours else "other"


def export_problem(path, fix="choose another name"):
    """Why `path` can never take an export, whatever the overwrite option says (a file
    there, or a folder that is not an export: never replaced), ending with `fix`, or `None`."""
    state = export_state(path)
    if state == "file":
        return f"{path} is a file, not an export: {fix}."
    if state == "other":
        return (f"{path} is a folder that is not an actkeras export (no metadata.json written "
                f"by actkeras; it holds {contents(path)}): it is never replaced; {fix}.")
    return None


def export_extras(path):
    """The entries of an export folder that the export did not write (the user's)."""
    return sorted(p.name for p in Path(path).iterdir() if p.name not in EXPORT_FILES)


def run_problem(run_dir):
    """Why `run_dir` is not a finished `actkeras train` run, whose model can be
    exported, or `None`."""
    run_dir = Path(run_dir)
    train = f"`actkeras train --out {run_dir}`"
    if (run_dir / "model.keras").is_file():
        return None
    if not run_dir.exists():
        return f"{run_dir} does not exist: give the folder {train} wrote."
    if not run_dir.is_dir():
        return f"{run_dir} is a file, not a run folder: give the folder {train} wrote."
    if (run_dir / "config.json").is_file():
        return (f"{run_dir} holds a training run that saved no model.keras: it diverged "
                f"(a diverged model is not saved; its history is there) or was stopped "
                f"before its first epoch ended. Train it again with {train} --overwrite.")
    return f"{run_dir} holds no model.keras: train into it first with {train}."


def search_state(path):
    """A search is a folder holding actkeras's marker or keras-tuner's `oracle.json`; an
    empty folder counts as nothing there."""
    path = Path(path)
    if not path.exists():
        return None
    if not path.is_dir():
        return "file"
    if (path / SEARCH_MARKER).is_file() or (path / "oracle.json").is_file():
        return "ours"
    return "other" if any(path.iterdir()) else None


def search_problem(path, other="another directory or project name", overwrite="overwrite"):
    """Why a search can never live in `path` (a file, or a folder holding other files: the
    search's would mix with them, with or without `overwrite`), or `None`; `other` and
    `overwrite` name the arguments, as the caller's user knows them."""
    state = search_state(path)
    if state == "file":
        return f"{path} is a file, not a folder for the search: use {other}."
    if state == "other":
        return (f"{path} holds no search but other files ({contents(path)}), so the search "
                f"does not go there, with or without {overwrite}: use {other}.")
    return None


def search_entries(path):
    """The entries of a search folder that the search wrote (a fresh search removes them)."""
    return sorted(p for p in Path(path).iterdir() if _SEARCH_ENTRY.fullmatch(p.name))


def bench_state(path, kind):
    """`kind` `"markdown"`: a `bench --write` file says so in its first lines; `"json"`:
    a `bench --json` file carries `written_by`, or (before it did) is `{"runs": [...]}`
    of runs that each hold an `environment`."""
    path = Path(path)
    if not path.exists():
        return None
    if path.is_dir():
        return "folder"
    if kind == "markdown":
        try:
            with open(path, errors="replace") as handle:
                head = "".join(handle.readline() for _ in range(5))
        except OSError:
            return "other"
        return "ours" if any(mark in head for mark in _BENCH_HEADERS) else "other"
    record = _read_json(path)
    if isinstance(record, dict) and record.get("written_by") == BENCH_JSON_MARKER:
        return "ours"
    runs = record.get("runs") if isinstance(record, dict) else None
    legacy = (set(record or ()) == {"runs"} and isinstance(runs, list) and runs
              and all(isinstance(run, dict) and "environment" in run for run in runs))
    return "ours" if legacy else "other"
