"""`actkeras export`: turn a finished `actkeras train --out RUN_DIR` run into an export.

Writes `ROOT/NAME/model.keras`, `ROOT/NAME/serving/` (a TensorFlow SavedModel) and
`ROOT/NAME/metadata.json`, with the run's config, data set and metrics. Commands that
train (`reproduce`, `tune`) can offer the same with `add_export_arguments` and
`export_from_args`.
"""

import json
from pathlib import Path


def add_arguments(parser):
    parser.add_argument("--from", dest="run_dir", required=True, metavar="RUN_DIR",
                        help="an `actkeras train --out` folder holding model.keras")
    parser.add_argument("--name", help="export name (default: the run folder's name)")
    add_export_arguments(parser, flag=None)


def add_export_arguments(parser, flag="--export"):
    """Export options; for a command that trains, `flag` switches exporting on.

    With `flag` (e.g. in `reproduce` or `tune`) the options are `--export`,
    `--export-root`, `--export-overwrite` and `--export-no-serving`, so that they
    cannot clash with the command's own; with `flag=None` (this command) they are
    `--root`, `--overwrite` and `--no-serving`.
    """
    prefix = "--export-" if flag else "--"
    if flag:
        parser.add_argument(flag, dest="export", action="store_true",
                            help="export the trained model(s) to --export-root")
    parser.add_argument(prefix + "root", dest="export_root", default="saved_models",
                        metavar="ROOT", help="folder that holds exports (default: saved_models)")
    parser.add_argument(prefix + "overwrite", dest="export_overwrite", action="store_true",
                        help="replace an existing export of the same name")
    parser.add_argument(prefix + "no-serving", dest="export_no_serving", action="store_true",
                        help="skip the TensorFlow SavedModel (serving/)")


def export_from_args(model, name, args, metadata=None):
    """Exports `model` as `add_export_arguments` asked; returns the folder.

    Raises `UserError` (exit code 2) naming the overwrite option if `name` exists.
    """
    from actkeras.errors import UserError
    from actkeras.export import export_model

    try:
        path = export_model(model, name, root=args.export_root, metadata=metadata,
                            overwrite=args.export_overwrite,
                            serving=not args.export_no_serving)
    except FileExistsError as error:
        option = "--overwrite" if getattr(args, "export", None) is None else "--export-overwrite"
        raise UserError(
            f"An export named {name!r} already exists in {args.export_root}: add {option} "
            f"to replace it, or choose another name. Received: name={name!r}"
        ) from error
    print(f"Exported {name} -> {path}")
    return path


def run(args):
    from actkeras.errors import UserError
    from actkeras.export import load_exported

    run_dir = Path(args.run_dir)
    if not (run_dir / "model.keras").is_file():
        raise UserError(
            f"{run_dir} holds no model.keras: train into it first with "
            f"`actkeras train --out {run_dir}`. Received: --from {run_dir}"
        )
    model = load_exported(run_dir / "model.keras")
    metadata = {"source": str(run_dir)}
    config = _read_json(run_dir / "config.json")
    if config:
        metadata.update(config=config.get("model"), dataset=config.get("dataset"))
    metadata["metrics"] = _read_json(run_dir / "metrics.json") or {}
    export_from_args(model, args.name or run_dir.resolve().name, args, metadata)
    return 0


def _read_json(path):
    if not path.is_file():
        return None
    with open(path) as handle:
        return json.load(handle)
