"""What the three monitors cost on `keras.applications` networks, cold and warm, on this backend.

For each network (32 x 32 images, 10 classes, `weights=None`), two fresh models of
the same architecture train on the same 8 images, batch 4 (2 steps an epoch, one
epoch a fit); one with all three monitors (probe of 4 images, defaults
otherwise), one without:

- cold: each model's first `fit` in the process (Keras traces its train function,
  the monitors trace and compile their passes and gradient);
- warm: later `fit`s of the same models (new monitor instances each time, which
  reuse the compiled passes), alternating with and without, `--rounds` times;
  the medians are compared.

The monitors' own time is the time spent inside their hooks (`on_train_begin`,
`on_epoch_end`, `on_train_end`), per fit. The warm ratio with / without is given
three ways: the median of the rounds' ratios; the fastest fit with over the
fastest without; and 1 + the monitors' own time over the median fit without. On a
shared machine the first moves with the other processes' load (a 2-step fit of
0.2 s can take 0.7 s when the CPUs are taken), the other two much less. The backend is Keras's
(`KERAS_BACKEND`); run once per backend:

    python benchmarks/monitors_on_applications.py --json tf.json
    KERAS_BACKEND=jax python benchmarks/monitors_on_applications.py --json jax.json
    python benchmarks/monitors_on_applications.py --table tf.json jax.json

TensorFlow's retracing warnings reaching Python's `logging` during the fits with
monitors are counted (`retracing warnings`): there should be none.
"""

import argparse
import json
import logging
import statistics
import time
import warnings

import numpy as np

MODELS = ("EfficientNetB0", "ConvNeXtTiny", "MobileNetV2")


class _Retracing(logging.Handler):
    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record):
        if "retracing" in record.getMessage():
            self.count += 1


def _clock(callback, spent):
    """Adds the seconds spent inside `callback`'s hooks to `spent[name]`."""
    for name in ("on_train_begin", "on_epoch_end", "on_train_end"):
        method = getattr(callback, name)

        def wrapper(*args, _method=method, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - start

        setattr(callback, name, wrapper)


def _data(name):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    if name == "MobileNetV2":  # it takes [-1, 1]; the others rescale inside
        x = x / 127.5 - 1
    return x, np.arange(8) % 10


def _model(name):
    import keras

    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, name)(weights=None, input_shape=(32, 32, 3), classes=10)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    return model


def _fit(model, x, y, monitors):
    """`(seconds, seconds inside the monitors by hook)` of one epoch of 2 steps."""
    from actkeras.callbacks import ActivationStats, DeadReLUMonitor, GradientNormLogger

    callbacks, spent = [], {}
    if monitors:
        probe = (x[:4], y[:4])
        callbacks = [DeadReLUMonitor(probe_data=probe), GradientNormLogger(probe_data=probe),
                     ActivationStats(probe_data=probe)]  # fmt: skip
        for callback in callbacks:
            _clock(callback, spent)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=callbacks, shuffle=False)
    return time.perf_counter() - start, spent


def measure(name, rounds):
    x, y = _data(name)
    plain, watched = _model(name), _model(name)
    retracing = _Retracing()
    logging.getLogger("tensorflow").addHandler(retracing)
    try:
        cold_plain, _ = _fit(plain, x, y, False)
        cold_watched, cold_spent = _fit(watched, x, y, True)
        warm = {False: [], True: []}
        spent_warm = []
        for _ in range(rounds):
            for monitors in (False, True):
                seconds, spent = _fit(watched if monitors else plain, x, y, monitors)
                warm[monitors].append(seconds)
                if monitors:
                    spent_warm.append(spent)
    finally:
        logging.getLogger("tensorflow").removeHandler(retracing)
    median = statistics.median
    return {
        "model": name,
        "cold_fit_without": cold_plain,
        "cold_fit_with": cold_watched,
        "cold_monitors": sum(cold_spent.values()),
        "cold_monitors_train_begin": cold_spent.get("on_train_begin", 0.0),
        "cold_monitors_epoch_end": cold_spent.get("on_epoch_end", 0.0),
        "warm_fit_without": median(warm[False]),
        "warm_fit_with": median(warm[True]),
        "warm_monitors": median(sum(s.values()) for s in spent_warm),
        "warm_monitors_epoch_end": median(s.get("on_epoch_end", 0.0) for s in spent_warm),
        "warm_ratio": median(w / p for w, p in zip(warm[True], warm[False])),
        # Steadier on a shared machine: the fastest fits, and the monitors' own time added
        # to the fit without them.
        "warm_ratio_fastest": min(warm[True]) / min(warm[False]),
        "warm_ratio_own_time": 1 + median(sum(s.values()) for s in spent_warm) / median(warm[False]),
        "warm_rounds": {"without": warm[False], "with": warm[True]},
        "retracing_warnings": retracing.count,
    }


def table(results):
    """The side-by-side Markdown table of one or more backends' results."""
    lines = [
        "| model | backend | cold fit without / with (s) | monitors' own time, cold: "
        "train begin + epoch end (s) | warm fit without / with (s) | monitors' own time "
        "per warm epoch end (s) | warm fit ratio with / without: medians, fastest fits, "
        "own time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in MODELS:
        for result in results:
            row = next((r for r in result["models"] if r["model"] == name), None)
            if row is None:
                continue
            lines.append(
                f"| {name} | {result['environment']['backend']} | "
                f"{row['cold_fit_without']:.1f} / {row['cold_fit_with']:.1f} | "
                f"{row['cold_monitors_train_begin']:.1f} + {row['cold_monitors_epoch_end']:.1f} | "
                f"{row['warm_fit_without']:.2f} / {row['warm_fit_with']:.2f} | "
                f"{row['warm_monitors_epoch_end']:.2f} | {row['warm_ratio']:.2f}, "
                f"{row['warm_ratio_fastest']:.2f}, {row['warm_ratio_own_time']:.2f} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="warm rounds (alternating)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--table", nargs="+", metavar="JSON", help="print the table of these")
    args = parser.parse_args(argv)
    if args.table:
        results = [json.loads(open(path).read()) for path in args.table]
        print(table(results))
        return 0

    import keras

    from actkeras.records import environment

    results = {"environment": environment(), "rounds": args.rounds, "models": []}
    print(f"backend {keras.backend.backend()}, {results['environment']['processor']}, "
          f"{results['environment']['cpu_count']} CPUs", flush=True)
    for name in args.models.split(","):
        row = measure(name, args.rounds)
        results["models"].append(row)
        print(f"{name}: cold {row['cold_fit_without']:.1f} s / {row['cold_fit_with']:.1f} s "
              f"({row['cold_monitors']:.1f} s in the monitors), warm {row['warm_fit_without']:.2f}"
              f" s / {row['warm_fit_with']:.2f} s ({row['warm_monitors_epoch_end']:.2f} s per epoch "
              f"end), ratio {row['warm_ratio']:.2f} (fastest {row['warm_ratio_fastest']:.2f}, "
              f"own time {row['warm_ratio_own_time']:.2f}), retracing warnings "
              f"{row['retracing_warnings']}", flush=True)  # fmt: skip
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    print(table([results]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
