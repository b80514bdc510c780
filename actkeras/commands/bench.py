"""`actkeras bench`: training speed against the seed's TF1 code and plain Keras, activation cost.

Prints the tables and, with `--write FILE`, writes them as Markdown (BENCHMARKS.md is
made this way: regenerated, never hand-edited); `--json FILE` keeps every round.
"""

import datetime
import os
import platform
import statistics
import time

from actkeras.commands.common import add_data_arguments, load_data, write_json


def add_arguments(parser):
    add_data_arguments(parser)
    parser.add_argument("--steps", type=int, default=3001,
                        help="timed steps per variant (default: the course's 3,001)")
    parser.add_argument("--rounds", type=int, default=5, help="round-robin repetitions")
    parser.add_argument("--variants", default="a,b,c,d", help="subset of a,b,c,d")
    parser.add_argument("--cost-rounds", type=int, default=40,
                        help="paired rounds of the activation-cost timing (0 skips it)")
    parser.add_argument("--cost-inner", type=int, default=40,
                        help="forward + backward passes per compiled call of the cost timing")
    parser.add_argument("--mlp-rounds", type=int, default=40,
                        help="paired rounds of the 50-layer MLP step timing (0 skips it)")
    parser.add_argument("--mlp-train", type=int, default=None,
                        help="images per epoch for the MLP's per-epoch estimate "
                        "(default: the Fashion-MNIST training set loaded; 0 skips the MLP)")
    parser.add_argument("--write", metavar="FILE", help="write the Markdown tables to FILE")
    parser.add_argument("--json", metavar="FILE",
                        help="write every measurement, per round, as JSON to FILE")


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


def _ci_rows(summary, columns):
    """Markdown rows, one per arm, by ratio to ReLU: `columns(row)` gives the first
    cells; then the ratio, its interval and the rounds it rests on."""
    def key(item):
        ratio = item[1]["ratio"]
        return (ratio is None, ratio or 0.0)

    lines = []
    for name, row in sorted(summary.items(), key=key):
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}"
        interval = ("n/a" if row["low"] is None
                    else f"{row['low']:.2f} to {row['high']:.2f}")
        used = row["n"] + row.get("skipped", 0)
        lines.append(f"| {name} | {' | '.join(columns(row))} | {ratio} | {interval} | "
                     f"{row['n']}/{used} |")
    return lines


def _cost_lines(cost):
    """The activation-cost table: net time per pass and the ratio to ReLU with its CI."""
    level = f"{cost['level']:.0%}"
    rows, width = cost["shape"]
    lines = [
        "", f"## Activation cost: forward + backward over a ({rows}, {width}) float32 tensor", "",
        f"One compiled call runs {cost['inner']} forward + backward passes in an in-graph "
        f"loop; every round times every activation and an identity baseline once, in a "
        f"random order (seed {cost['seed']}), {cost['rounds']} rounds after "
        f"{cost['warmup']} untimed ones ({cost['wall_seconds']:.0f} s in all). "
        "An activation's net time is its time minus the baseline's in the same round; "
        "its ratio to ReLU is the geometric mean of the rounds' ratios of net times, with "
        f"its {level} t interval.",
        "",
        f"Baseline (identity; the loop, the update and the dispatch): "
        f"{cost['baseline_us_per_pass']:.0f} µs per pass (median).",
        "",
        f"| activation | net µs per pass (median) | ratio to relu | {level} CI | rounds used |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += _ci_rows(cost["summary"], lambda row: [f"{row['net_us_per_pass']:.0f}"])
    if any(row["skipped"] for row in cost["summary"].values()):
        lines += ["", "A round where an activation's or ReLU's net time was <= 0 (the baseline "
                  "ran slower) gives no ratio: the rounds used count the others."]
    return lines


def _mlp_lines(mlp):
    """The 50-layer MLP table: time per training step, per-epoch estimate, ratio with CI."""
    level = f"{mlp['level']:.0%}"
    lines = [
        "", f"## Training step of the 50-layer `fashion_mlp` (batch {mlp['batch_size']})", "",
        f"Every round times, for every activation's model, {mlp['steps']} consecutive "
        f"`train_on_batch` steps on one fixed batch, in a random order (seed "
        f"{mlp['seed']}), {mlp['rounds']} rounds after {mlp['warmup']} untimed ones "
        f"({mlp['wall_seconds']:.0f} s in all). Ratios to ReLU: geometric mean of the "
        f"rounds' ratios, with its {level} t interval. Per epoch: the median step times "
        f"{mlp['steps_per_epoch']:,} steps.",
        "",
        f"| activation | ms per step (median) | s per epoch (estimate) | ratio to relu | "
        f"{level} CI | rounds used |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    return lines + _ci_rows(mlp["summary"], lambda row: [
        f"{row['step_seconds'] * 1e3:.2f}", f"{row['epoch_seconds']:.2f}"])


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
        lines += _cost_lines(cost)
    if mlp:
        lines += _mlp_lines(mlp)
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
    cost = {}
    if args.cost_rounds:
        print("activation cost ...", flush=True)
        cost = bench.activation_cost(inner=args.cost_inner, rounds=args.cost_rounds)
    mlp = {}
    if args.mlp_rounds and args.mlp_train != 0:
        print("50-layer MLP step time ...", flush=True)
        fashion = load_dataset("fashion_mnist", data_dir=args.data_dir, source=args.source)
        mlp = bench.mlp_epoch_time(fashion, ["relu", "leaky_relu", "elu", "sigmoid", "tanh"],
                                   rounds=args.mlp_rounds, n_train=args.mlp_train)
    info = f"{len(data.x_train):,} training images ({data.info.get('source', '?')})"
    env = environment()
    text = to_markdown(env, speed, cost, mlp, info,
                       target=os.path.basename(args.write or "BENCHMARKS.md"))
    if args.json:
        write_json(args.json, {"environment": env, "speed": speed, "activation_cost": cost,
                               "mlp_step_time": mlp})
    print(text)
    print(f"benchmark wall time: {time.perf_counter() - start:.0f} s")
    if args.write:
        with open(args.write, "w") as handle:
            handle.write(text)
    return 0
