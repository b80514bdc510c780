"""`actkeras bench`: training speed of every preset's network against the seed's TF1 code,
plain Keras and the compiled step alone; activation cost.

Prints the tables and, with `--write FILE`, writes them as Markdown (BENCHMARKS.md is
made this way: regenerated, never hand-edited); `--json FILE` keeps every round. The
measurements are `actkeras.bench.run_all`, the tables `actkeras.bench_report`.

`--backend jax` measures on Keras's JAX backend; `--backend tensorflow,jax` measures
on each in turn, each in a fresh process (Keras loads one backend per process), and
writes the tables side by side.
"""

import argparse
import json
import os
import shlex
import sys
import tempfile
import time

from actkeras import ownership
from actkeras.commands.common import (
    COUNT,
    PRESET_BATCH,
    POSITIVE_INT,
    UsageError,
    add_data_arguments,
    comma_list,
    in_backend_process,
    load_data,
)
from actkeras.errors import check_writable

BACKENDS = ("tensorflow", "jax")
PRESETS = ("udacity", "fashion_mlp", "mlp")  # `actkeras.bench.PRESETS`, without importing Keras
INNER = 20  # `actkeras.bench_presets.INNER`: the deep presets' bound needs this many batches


def _variant(text):
    if text not in ("a", "b", "c", "d"):
        raise argparse.ArgumentTypeError(f"takes a subset of a,b,c,d. Received: {text}")
    return text


def _backend(text):
    if text not in BACKENDS:
        raise argparse.ArgumentTypeError(
            f"takes {' or '.join(BACKENDS)}, or both comma-separated. Received: {text}")
    return text


def _preset(text):
    if text not in PRESETS:
        raise argparse.ArgumentTypeError(
            f"takes {', '.join(PRESETS)}, or several comma-separated. Received: {text}")
    return text


def add_arguments(parser):
    add_data_arguments(parser)
    parser.add_argument("--backend", type=comma_list(_backend), default=None,
                        metavar="NAME[,NAME]",
                        help="the Keras backend(s) to measure on: tensorflow, jax, or "
                        "tensorflow,jax for both, each in its own process, with the tables "
                        "side by side (default: the backend Keras loads, from KERAS_BACKEND)")
    parser.add_argument("--presets", type=comma_list(_preset), default=list(PRESETS),
                        metavar="NAME[,NAME]",
                        help="the presets whose networks' training speed is measured "
                        f"(default: all, {','.join(PRESETS)})")
    parser.add_argument("--steps", type=POSITIVE_INT, default=3001,
                        help="timed steps per variant of the udacity network (default: the "
                        "course's 3,001)")
    parser.add_argument("--preset-train", type=POSITIVE_INT, default=None,
                        help="training images per timed epoch of the fashion_mlp and mlp "
                        "networks (default: the Fashion-MNIST training set loaded)")
    parser.add_argument("--rounds", type=POSITIVE_INT, default=5,
                        help="round-robin repetitions of each preset's variants")
    parser.add_argument("--variants", type=comma_list(_variant), default=["a", "b", "c", "d"],
                        metavar="a,b,c,d", help="subset of a,b,c,d")
    parser.add_argument("--cost-rounds", type=COUNT, default=40,
                        help="paired rounds of the activation-cost timing (0 skips it)")
    parser.add_argument("--cost-inner", type=POSITIVE_INT, default=40,
                        help="forward + backward passes per compiled call of the cost timing")
    parser.add_argument("--mlp-rounds", type=COUNT, default=40,
                        help="paired rounds of the 50-layer MLP step timing (0 skips it)")
    parser.add_argument("--mlp-train", type=COUNT, default=None,
                        help="images per epoch for the MLP's per-epoch estimate "
                        "(default: the Fashion-MNIST training set loaded; 0 skips the MLP)")
    parser.add_argument("--write", metavar="FILE", help="write the Markdown tables to FILE")
    parser.add_argument("--json", metavar="FILE",
                        help="write every measurement, per round, as JSON to FILE "
                        '(`{"runs": [one per backend]}`)')
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a --write or --json FILE that bench did not write "
                        "(one it wrote is replaced without asking)")
    # A child process of a several-backend run writes its one run here, and no tables.
    parser.add_argument("--run-to", metavar="FILE", help=argparse.SUPPRESS)


def check(args):
    """Before any timing: the backends named once each, variants that measure something on
    them, the files written at the end may be written, and the deep presets get enough
    images."""
    backends = args.backend or []
    if len(set(backends)) != len(backends):
        raise UsageError(f"--backend names a backend twice: name each once. Received: "
                         f"--backend {','.join(backends)}")
    if args.variants == ["a"] and "tensorflow" not in (backends or [_requested()]):
        raise UsageError("--variants a is the TF1 loop, TensorFlow's own baseline, which is "
                         "not measured on jax: add b, c or d, or measure on tensorflow. "
                         "Received: --variants a")
    deep = [p for p in args.presets if p != "udacity"]
    if args.preset_train is not None and deep:
        need = INNER * max(PRESET_BATCH[p] for p in deep)
        if args.preset_train < need:
            raise UsageError(
                f"--preset-train must be at least {need} ({INNER} whole batches of "
                f"{max(PRESET_BATCH[p] for p in deep)}, for the bound e of "
                f"{', '.join(deep)}). Received: --preset-train {args.preset_train}")
    if args.write and args.json and os.path.abspath(args.write) == os.path.abspath(args.json):
        raise UsageError(f"--write and --json name the same file: the tables would replace "
                         f"every round kept in it; give two names. Received: --write "
                         f"{args.write} --json {args.json}")
    for option, path, kind in (("--write", args.write, "markdown"),
                               ("--json", args.json, "json")):
        if path is None:
            continue
        state = ownership.bench_state(path, kind)
        if state == "folder":
            raise UsageError(f"{option} {path} is a folder: give a file name. "
                             f"Received: {option} {path}")
        if state == "other" and not args.overwrite:
            raise UsageError(
                f"{path} exists and bench did not write it: add --overwrite to replace it, "
                f"or choose another file. Received: {option} {path}")
        check_writable(path, option=option)


def run(args):
    from actkeras.atomic import write_json, write_text
    from actkeras.bench_report import to_markdown
    from actkeras.errors import writing

    start = time.perf_counter()
    wanted = args.backend or [_loaded_backend()]
    if len(wanted) == 1 and _loaded_backend() == wanted[0]:
        runs = [_measure(args)]
    else:
        runs = [_measure_in_child(args, name) for name in wanted]
    if args.run_to:
        write_json(args.run_to, runs[0])
        return 0
    # The header's command is the one typed (less --debug, --json and --overwrite, which do
    # not change the tables): running it makes the same tables again.
    typed, skip = [], False
    argv = list(args.argv)
    for word in argv[argv.index("bench") + 1 if "bench" in argv else 0:]:
        if skip or word in ("--debug", "--overwrite"):
            skip = False
            continue
        if word == "--json":
            skip = True
            continue
        if not word.startswith("--json="):
            typed.append(word)
    text = to_markdown(runs, target=os.path.basename(args.write) if args.write else None,
                       command=shlex.join(typed) if args.write else None)
    if args.json:
        with writing(args.json, option="--json"):
            write_json(args.json, {"written_by": ownership.BENCH_JSON_MARKER, "runs": runs})
    print(text)
    print(f"benchmark wall time: {time.perf_counter() - start:.0f} s")
    if args.write:
        with writing(args.write, option="--write"):
            write_text(args.write, text)  # through a link, as every atomic write
    return 0


def _requested():
    from actkeras.backends import requested

    return requested()


def _loaded_backend():
    """The backend Keras has loaded in this process (the CLI loads it before `run`,
    with `--backend`'s one name where given), or would load."""
    keras = sys.modules.get("keras")
    if keras is not None:
        return keras.backend.backend()
    from actkeras.backends import requested

    return requested()


def _measure(args):
    from actkeras import bench

    data = load_data("notmnist", args) if "udacity" in args.presets else None
    deep = [p for p in args.presets if p != "udacity"]
    fashion = (load_data("fashion_mnist", args)
               if deep or (args.mlp_rounds and args.mlp_train != 0) else None)
    results = bench.run_all(
        data, fashion, presets=args.presets, steps=args.steps, rounds=args.rounds,
        variants=args.variants, preset_train=args.preset_train, cost_rounds=args.cost_rounds,
        cost_inner=args.cost_inner, mlp_rounds=args.mlp_rounds, mlp_train=args.mlp_train,
        progress=lambda line: print(line, flush=True))
    results["data_info"] = {
        name: f"{len(d.x_train):,} training images ({d.info.get('source', '?')})"
        for name, d in (("notmnist", data), ("fashion_mnist", fashion)) if d is not None}
    return results


def _measure_in_child(args, backend):
    """`_measure` in a fresh `actkeras bench --backend BACKEND` process; its progress
    lines pass through, prefixed with the backend's name."""
    from actkeras.errors import UserError

    command = ["bench", "--backend", backend,
               "--presets", ",".join(args.presets),
               "--steps", str(args.steps), "--rounds", str(args.rounds),
               "--variants", ",".join(args.variants), "--cost-rounds", str(args.cost_rounds),
               "--cost-inner", str(args.cost_inner), "--mlp-rounds", str(args.mlp_rounds)]
    if args.mlp_train is not None:
        command += ["--mlp-train", str(args.mlp_train)]
    if args.preset_train is not None:
        command += ["--preset-train", str(args.preset_train)]
    if args.data_dir is not None:
        command += ["--data-dir", str(args.data_dir)]
    command += ["--source", args.source] + (["--debug"] if args.debug else [])
    with tempfile.TemporaryDirectory(prefix="actkeras-bench-") as folder:
        path = os.path.join(folder, "run.json")
        code, last = in_backend_process(command + ["--run-to", path], backend)
        if code != 0:  # its error is its last line, printed just above
            raise UserError(f"the {backend} measurement failed (exit {code}; its error is "
                            f"above, after [{backend}])")
        with open(path) as file:
            return json.load(file)
