"""`actkeras bench`: training speed against the seed's TF1 code and plain Keras, activation cost.

Prints the tables and, with `--write FILE`, writes them as Markdown (BENCHMARKS.md is
made this way: regenerated, never hand-edited).
"""

import datetime
import os
import platform
import statistics
import time

from actkeras.commands.common import add_data_arguments, load_data


def add_arguments(parser):
    add_data_arguments(parser)
    parser.add_argument("--steps", type=int, default=3001,
                        help="timed steps per variant (default: the course's 3,001)")
    parser.add_argument("--rounds", type=int, default=5, help="round-robin repetitions")
    parser.add_argument("--variants", default="a,b,c,d", help="subset of a,b,c,d")
    parser.add_argument("--mlp-train", type=int, default=2048,
                        help="images per epoch for the 50-layer MLP timing (0 skips it)")
    parser.add_argument("--write", metavar="FILE", help="write the Markdown tables to FILE")


def environment():
    import keras
    import numpy

    versions = {"keras": keras.__version__, "numpy": numpy.__version__}
    try:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    except ImportError:
        pass
    if keras.backend.backend() == "jax":
        import jax

        versions["jax"] = jax.__version__
        devices = [str(d) for d in jax.devices()]
    else:
        devices = ["cpu"]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}",
        "devices": devices,
        "backend": keras.backend.backend(),
        "versions": versions,
    }


def _ratio_table(title, unit, values, fmt):
    """Markdown lines: one row per activation, fastest first, with its ratio to ReLU."""
    relu = values["relu"]
    lines = ["", f"## {title}", "", f"| activation | {unit} | ratio to relu |", "| --- | ---: | ---: |"]
    for name, value in sorted(values.items(), key=lambda item: item[1]):
        lines.append(f"| {name} | {fmt.format(value)} | {value / relu:.2f} |")
    return lines


def _warm_up_lines(seconds):
    """What the untimed warm-up fits before c and d took: the monitors' first use in a
    process (JAX compiling their eager operations) shows there, not in d's speed."""
    if not seconds:
        return []
    from actkeras.bench import WARMUP

    first = ", ".join(f"{v} {s[0]:.2f} s" for v, s in seconds.items())
    later = ", ".join(f"{v} {statistics.median(s[1:]):.2f} s" for v, s in seconds.items()
                      if len(s) > 1)
    line = (f"Untimed warm-up fit before each timed one ({WARMUP} steps, with d's monitors; "
            f"it traces the functions): {first} in the first round")
    return [line + (f", median {later} in the others." if later else "."), ""]


def to_markdown(env, speed, cost, mlp, data_info, target="BENCHMARKS.md"):
    lines = [
        "# Benchmarks",
        "",
        f"Written by `actkeras bench --write {target}`; regenerate it, do not edit it.",
        "",
        f"- date: {env['date']}",
        f"- machine: {env['machine']}; devices: {', '.join(env['devices'])}",
        f"- backend: {env['backend']}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(env["versions"].items())),
        f"- data: notMNIST, {data_info}",
        "",
        f"## Training speed, `udacity` network ({speed['steps']} steps of batch 128, "
        f"median of {speed['rounds']} round-robin rounds)",
        "",
        "| variant | samples/s | test accuracy |",
        "| --- | ---: | ---: |",
    ]
    for v, label in speed["labels"].items():
        lines.append(
            f"| {v}. {label} | {speed['samples_per_second'][v]:,.0f} | "
            f"{speed['test_accuracy'][v]:.4f} |"
        )
    lines += [
        f"| e. matrix products at the network's shapes | "
        f"{speed['matmul_flops'] / 1e9:,.1f} GFLOP/s | |",
        "",
        *_warm_up_lines(speed.get("warm_up_seconds") or {}),
        "Ratios of speeds: the median over rounds of each round's ratio, and their range.",
        "",
        "| ratio | median | range over rounds |",
        "| --- | ---: | ---: |",
    ]
    ranges = speed.get("ratio_ranges", {})
    for name, value in speed["ratios"].items():
        spread = "{:.3f} to {:.3f}".format(*ranges[name]) if name in ranges else ""
        lines.append(f"| {name} | {value:.3f} | {spread} |")
    if cost:
        lines += _ratio_table("Activation cost: forward + backward on a (128, 1024) tensor",
                              "microseconds", {k: v * 1e6 for k, v in cost.items()}, "{:.1f}")
    if mlp:
        lines += _ratio_table("Epoch time of the 50-layer `fashion_mlp` (batch 32)",
                              "seconds per epoch", mlp, "{:.2f}")
    return "\n".join(lines) + "\n"


def run(args):
    from actkeras import bench
    from actkeras.data import load_dataset

    start = time.perf_counter()
    data = load_data("notmnist", args)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set("abcd"))
    if unknown:
        raise ValueError(f"--variants takes a subset of a,b,c,d. Received: {args.variants}")
    speed = bench.run_speed(data, steps=args.steps, rounds=args.rounds, variants=variants)
    print("activation cost ...", flush=True)
    cost = bench.activation_cost()
    mlp = {}
    if args.mlp_train:
        print("50-layer MLP epoch time ...", flush=True)
        fashion = load_dataset("fashion_mnist", data_dir=args.data_dir, source=args.source)
        mlp = bench.mlp_epoch_time(
            fashion, ["relu", "leaky_relu", "elu", "sigmoid", "tanh"], n_train=args.mlp_train
        )
    info = f"{len(data.x_train):,} training images ({data.info.get('source', '?')})"
    text = to_markdown(environment(), speed, cost, mlp, info,
                       target=os.path.basename(args.write or "BENCHMARKS.md"))
    print(text)
    print(f"benchmark wall time: {time.perf_counter() - start:.0f} s")
    if args.write:
        with open(args.write, "w") as handle:
            handle.write(text)
    return 0
