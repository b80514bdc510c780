"""Arguments and helpers that several sub-commands share."""

from actkeras.atomic import write_json, write_text  # noqa: F401  (re-exported for the commands)

DATASET_OF_PRESET = {"udacity": "notmnist", "fashion_mlp": "fashion_mnist", "mlp": "notmnist"}


def add_data_arguments(parser):
    parser.add_argument(
        "--data-dir",
        help="folder holding the data files (default: $ACTKERAS_DATA_DIR, then the "
        "Keras cache, then a download)",
    )
    parser.add_argument(
        "--source",
        default="auto",
        choices=["auto", "embedded", "small", "large"],
        help="'embedded' uses the small real samples shipped with the package",
    )


def load_data(name, args):
    from actkeras.data import load_dataset

    return load_dataset(name, data_dir=args.data_dir, source=args.source)


def parse_overrides(items):
    """`KEY=VALUE` strings to a dict, values read as Python literals where they parse."""
    import ast

    overrides = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set takes KEY=VALUE. Received: --set {item}")
        try:
            overrides[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            overrides[key.strip()] = value.strip()
    return overrides
