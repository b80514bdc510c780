"""What the three activation monitors cost: the `udacity` fit with and without them.

One process, the same data, the same seed; the two variants alternate, round
after round (a shared machine is noisy), and the medians are compared. A first
untimed round absorbs the process's one-time costs, and each fit starts with a
few untimed steps so that graph tracing stays out of the timing; the monitors'
own one-time set-up (tap model, gradient function) is timed, as a user pays it.
Both variants evaluate on the validation split at each reported epoch, so the
ratio isolates the monitors.

    python benchmarks/monitor_overhead.py              # notMNIST small, 3,001 steps
    python benchmarks/monitor_overhead.py --steps 1000 --rounds 3 --random

Data: `actkeras.data.load_notmnist(source="small")` when the data module is
there, else (or with `--random`) random images of the same shapes, said so.
"""

import argparse
import statistics
import time
import warnings
from types import SimpleNamespace

import numpy as np

WARMUP = 20


def load(random=False):
    """The data set and a one-line description of it."""
    if not random:
        try:
            from actkeras.data import load_notmnist

            return load_notmnist(source="small"), "notMNIST small (actkeras.data)"
        except Exception as error:  # no data module, no archive: say so, use random data
            reason = f"no real data: {type(error).__name__}: {str(error).splitlines()[0]}"
    else:
        reason = "--random"
    rng = np.random.default_rng(0)

    def split(n):
        # Centred like the course's images ((pixel - 127.5) / 255).
        return rng.uniform(-0.5, 0.5, (n, 28, 28)).astype("float32"), rng.integers(0, 10, n)

    (xt, yt), (xv, yv) = split(15_000), split(1_000)
    data = SimpleNamespace(x_train=xt, y_train=yt, x_valid=xv, y_valid=yv,
                           x_test=xv[:0], y_test=yv[:0])  # fmt: skip
    return data, f"random 28x28 images, 15,000 train / 1,000 valid ({reason})"


def _clock(callback, spent):
    """Wraps the monitor's hooks so that the seconds spent inside them add up in `spent`."""
    for name in ("on_train_begin", "on_epoch_end", "on_train_end"):
        method = getattr(callback, name)

        def wrapper(*args, _method=method, **kwargs):
            start = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - start

        setattr(callback, name, wrapper)


def timed_fit(data, steps, monitors):
    """`(seconds, CPU seconds, seconds inside the monitors, measurements)` for
    `actkeras.fit` of a fresh `udacity` model, after an untimed warm-up."""
    import keras

    from actkeras import build_model, fit
    from actkeras.callbacks import (
        ActivationStats,
        DeadReLUMonitor,
        DeadUnitWarning,
        GradientNormLogger,
    )

    keras.utils.set_random_seed(0)
    model = build_model("relu", preset="udacity", seed=0)
    fit(model, data, steps=WARMUP, verbose=0, log_every=WARMUP)
    callbacks = [DeadReLUMonitor(), GradientNormLogger(), ActivationStats()] if monitors else []
    spent = [0.0]
    for callback in callbacks:
        _clock(callback, spent)
    start, cpu_start = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeadUnitWarning)
        fit(model, data, steps=steps, verbose=0, callbacks=callbacks)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return seconds, cpu, spent[0], sum(len(c.records) for c in callbacks)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3001, help="training steps per fit")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--random", action="store_true", help="random data of the same shapes")
    args = parser.parse_args(argv)

    import keras

    data, described = load(args.random)
    print(f"backend {keras.backend.backend()}, data: {described}")
    print(f"udacity preset, {args.steps} steps, batch 128, monitors at their defaults")
    for monitors in (False, True):  # the process's first fits pay one-time costs: untimed
        timed_fit(data, 5 * WARMUP, monitors)
    times, cpus, inside = {False: [], True: []}, {False: [], True: []}, []
    for round_ in range(args.rounds):
        for monitors in (False, True):
            seconds, cpu, spent, measurements = timed_fit(data, args.steps, monitors)
            times[monitors].append(seconds)
            cpus[monitors].append(cpu)
            label = "without monitors"
            if monitors:
                inside.append(spent)
                label = f"with monitors ({spent:.2f} s inside them, {measurements} measurements)"
            print(f"round {round_ + 1}: {label:60s} {seconds:7.2f} s wall, {cpu:7.2f} s CPU",
                  flush=True)  # fmt: skip

    def ratio(name, without, with_):
        print(f"{name:30s} {without:7.2f} s -> {with_:7.2f} s: ratio {with_ / without:.3f} "
              f"({100 * (with_ / without - 1):+.1f} %)")

    base = statistics.median(times[False])
    ratio("median wall-clock time", base, statistics.median(times[True]))
    ratio("median CPU time (all threads)", statistics.median(cpus[False]),
          statistics.median(cpus[True]))  # fmt: skip
    ratio("wall + time inside monitors", base, base + statistics.median(inside))
    print("(on a shared machine the last line, the monitors' own time, is the steadiest)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
