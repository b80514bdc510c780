"""`actkeras export`: turn a finished `actkeras train --out RUN_DIR` run into an export.

Writes `ROOT/NAME/model.keras`, `ROOT/NAME/serving/` (a TensorFlow SavedModel) and
`ROOT/NAME/metadata.json`, with the run's config, data set and metrics
(`actkeras.export.export_run`). Commands that train can offer the same options with
`add_export_arguments` and `export_from_args`.
"""

import argparse
from pathlib import Path

from actkeras import ownership
from actkeras.commands.common import UsageError
from actkeras.errors import check_writable, writing


def add_arguments(parser):
    parser.add_argument("--from", dest="run_dir", required=True, metavar="RUN_DIR",
                        help="an `actkeras train --out` folder holding model.keras")
    parser.add_argument("--name", help="export name (default: the run folder's name)")
    add_export_arguments(parser, flag=None)


def add_export_arguments(parser, flag="--export"):
    """Export options; for a command that trains, `flag` switches exporting on.

    The destination is `--export-root` everywhere (`--root`, its old spelling here, is
    still accepted). With `flag` (a command that trains) the other options are
    `--export-overwrite` and `--export-no-serving`, so that they cannot clash with the
    command's own; with `flag=None` (this command) they are `--overwrite` and
    `--no-serving`.
    """
    prefix = "--export-" if flag else "--"
    if flag:
        parser.add_argument(flag, dest="export", action="store_true",
                            help="export the trained model(s) to --export-root")
    parser.add_argument("--export-root", dest="export_root", default="saved_models",
                        metavar="ROOT", help="folder that holds exports (default: saved_models)")
    if not flag:
        parser.add_argument("--root", dest="export_root", default=argparse.SUPPRESS,
                            help=argparse.SUPPRESS)  # the old spelling, deprecated
    parser.add_argument(prefix + "overwrite", dest="export_overwrite", action="store_true",
                        help="replace an existing export of the same name")
    parser.add_argument(prefix + "no-serving", dest="export_no_serving", action="store_true",
                        help="skip the TensorFlow SavedModel (serving/)")


def _overwrite_option(args):
    return "--overwrite" if getattr(args, "export", None) is None else "--export-overwrite"


def export_from_args(model, name, args, metadata=None):
    """Exports `model` as `add_export_arguments` asked; returns the folder.

    Raises `UsageError` (exit code 2) naming the overwrite option if `name` exists.
    """
    from actkeras.export import export_model

    with writing(args.export_root, option="--export-root"):
        try:
            path = export_model(model, name, root=args.export_root, metadata=metadata,
                                overwrite=args.export_overwrite,
                                serving=not args.export_no_serving)
        except FileExistsError as error:
            raise _exists(name, args) from error
    _say_exported(name, path, args)
    return path


def _say_exported(name, path, args):
    """One line; it says so when the SavedModel asked for could not be written."""
    from actkeras.export import read_metadata

    files = read_metadata(path)["files"]
    missing = ""
    if not args.export_no_serving and files["savedmodel"] is None:
        missing = f" (.keras only, no SavedModel: {files['why'].removeprefix('skipped: ')})"
    print(f"Exported {name} -> {path}{missing}")


def _exists(name, args):
    return UsageError(
        f"An export named {name!r} already exists in {args.export_root}: add "
        f"{_overwrite_option(args)} to replace its files (model.keras, serving/, "
        f"metadata.json; anything else in it is kept), or choose another name. "
        f"Received: name={name!r}")


def check_destination(name, args, name_option="--name"):
    """Before Keras loads: `ROOT/name` may be written. A usage error (exit 2) for a bad
    name, an `--export-root` that is a file, an export there without the overwrite
    option, and a file or a folder there that is not an export (never replaced);
    an unwritable root is `check_writable`'s error."""
    if not ownership.EXPORT_NAME.fullmatch(name):
        raise UsageError(
            f"{name_option} must be a folder name of letters, digits, '.', '_' and '-', "
            f"starting with a letter or digit. Received: {name_option} {name!r}")
    root = Path(args.export_root)
    if root.exists() and not root.is_dir():
        raise UsageError(f"--export-root {root} is a file, not a folder: give the folder "
                         f"that holds (or will hold) exports. Received: --export-root {root}")
    destination = root / name
    state = ownership.export_state(destination)
    if state == "ours" and not args.export_overwrite:
        raise _exists(name, args)
    problem = ownership.export_problem(destination)
    if problem:
        raise UsageError(f"{problem} Received: {name_option} {name}")
    check_writable(root, option="--export-root")


def _name(args):
    return Path(args.run_dir).resolve().name if args.name is None else args.name


def check(args):
    """Before Keras loads: a run to export, and a name and place it may be written to."""
    problem = ownership.run_problem(args.run_dir)
    if problem:
        raise UsageError(f"{problem} Received: --from {args.run_dir}")
    check_destination(_name(args), args)


def run(args):
    from actkeras.export import export_run

    name = _name(args)
    with writing(args.export_root, option="--export-root"):
        # A root that cannot be made is --export-root's error, not a missing model in --from.
        Path(args.export_root).mkdir(parents=True, exist_ok=True)
        try:
            path = export_run(args.run_dir, name, root=args.export_root,
                              overwrite=args.export_overwrite,
                              serving=not args.export_no_serving)
        except FileNotFoundError as error:  # no model.keras in --from: a bad argument
            why = str(error).partition(" Received:")[0]
            raise UsageError(f"{why} Received: --from {args.run_dir}") from error
        except FileExistsError as error:
            raise _exists(name, args) from error
    _say_exported(name, path, args)
    return 0
