"""`actkeras train`: one preset, one activation, with Keras's progress output.

Writes `config.json`, `history.csv`, `history.json`, `metrics.json` and the trained
`model.keras` (for `actkeras export --from`) to `--out`.
"""

import time
import warnings
from pathlib import Path

from actkeras.atomic import temporary_path, write_json, write_text
from actkeras.commands.common import (
    COUNT,
    DATASET_OF_PRESET,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    add_data_arguments,
    add_quiet_argument,
    arguments,
    key_values,
    load_data,
)
from actkeras.errors import UserError, writing


def add_arguments(parser):
    parser.add_argument("--preset", default="udacity", help="udacity, fashion_mlp or mlp")
    parser.add_argument(
        "--activation",
        default="relu",
        help="registry name, optionally with arguments: leaky_relu:negative_slope=0.1",
    )
    parser.add_argument("--dataset", choices=["notmnist", "fashion_mnist"],
                        help="default: the preset's own data set")
    add_data_arguments(parser)
    parser.add_argument("--out", help="output folder (default: runs/train-PRESET-ACTIVATION)")
    parser.add_argument("--epochs", type=POSITIVE_INT, help="train for this many epochs")
    parser.add_argument("--steps", type=POSITIVE_INT,
                        help="train for this many steps (udacity: 3001)")
    parser.add_argument("--learning-rate", type=POSITIVE_FLOAT)
    parser.add_argument("--initializer")
    parser.add_argument("--batch-size", type=POSITIVE_INT)
    parser.add_argument("--seed", type=COUNT, default=0, help="seed for everything (default 0)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="any other build_model override, e.g. --set batch_norm=True")
    add_quiet_argument(parser)


def run(args):
    from actkeras.models import build_model
    from actkeras.registry import parse_activation_spec
    from actkeras.seeding import seed_everything
    from actkeras.training import (
        check_data,
        divergence_message,
        evaluate,
        fit,
        history_csv,
        history_records,
    )

    overrides = key_values(args.set)
    for key in ("learning_rate", "initializer", "batch_size", "seed"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.epochs is not None:
        overrides.update(epochs=args.epochs, steps=None)
    if args.steps is not None:
        overrides["steps"] = args.steps
    with arguments():
        name, kwargs = parse_activation_spec(args.activation)
        seed_everything(args.seed)
        model = build_model(name, preset=args.preset, activation_kwargs=kwargs, **overrides)
    config = model.actkeras_config
    dataset = args.dataset or DATASET_OF_PRESET[args.preset]
    data = load_data(dataset, args)
    with arguments():  # e.g. `--set input_shape=...` against the data's images
        check_data(model, data)
    out = Path(args.out or f"runs/train-{args.preset}-{name}")
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", {"model": config.to_dict(), "dataset": data.info})

    print(f"Training {model.name}: {model.count_params():,} parameters on {dataset} "
          f"({len(data.x_train):,} train images) -> {out}")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Training diverged")  # raised below
        history = fit(model, data, verbose=0 if args.quiet else "auto")
    seconds = time.perf_counter() - start
    records = history_records(history)
    metrics = {**evaluate(model, data), "train_seconds": seconds}

    with writing(out):
        write_json(out / "history.json", records)
        write_text(out / "history.csv", history_csv(records))
        write_json(out / "metrics.json", metrics)
        if history.diverged_at_step is not None:
            # The history is kept for a look; a diverged model is not worth saving.
            raise UserError(divergence_message(history.diverged_at_step, config.learning_rate)
                            + f" The history up to there is in {out}.")
        with temporary_path(out / "model.keras", suffix=".keras") as tmp:  # never half written
            model.save(tmp)
    print("  ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    return 0
