"""`actkeras bench`: training speed against the seed's TF1 code and plain Keras, activation cost.

Prints the tables and, with `--write FILE`, writes them as Markdown (BENCHMARKS.md is
made this way: regenerated, never hand-edited); `--json FILE` keeps every round. The
measurements and the tables are `actkeras.bench.run_all` and `to_markdown`.
"""

import argparse
import os
import time

from actkeras.commands.common import (
    COUNT,
    POSITIVE_INT,
    add_data_arguments,
    comma_list,
    load_data,
)


def _variant(text):
    if text not in ("a", "b", "c", "d"):
        raise argparse.ArgumentTypeError(f"takes a subset of a,b,c,d. Received: {text}")
    return text


def add_arguments(parser):
    add_data_arguments(parser)
    parser.add_argument("--steps", type=POSITIVE_INT, default=3001,
                        help="timed steps per variant (default: the course's 3,001)")
    parser.add_argument("--rounds", type=POSITIVE_INT, default=5, help="round-robin repetitions")
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
                        help="write every measurement, per round, as JSON to FILE")


def run(args):
    from actkeras import bench
    from actkeras.atomic import write_json, write_text
    from actkeras.errors import writing

    start = time.perf_counter()
    data = load_data("notmnist", args)
    fashion = (load_data("fashion_mnist", args)
               if args.mlp_rounds and args.mlp_train != 0 else None)
    results = bench.run_all(
        data, fashion, steps=args.steps, rounds=args.rounds, variants=args.variants,
        cost_rounds=args.cost_rounds, cost_inner=args.cost_inner, mlp_rounds=args.mlp_rounds,
        mlp_train=args.mlp_train, progress=lambda line: print(line, flush=True))
    info = f"{len(data.x_train):,} training images ({data.info.get('source', '?')})"
    text = bench.to_markdown(results["environment"], results["speed"],
                             results["activation_cost"], results["mlp_step_time"], info,
                             target=os.path.basename(args.write or "BENCHMARKS.md"))
    if args.json:
        with writing(args.json, option="--json"):
            write_json(args.json, results)
    print(text)
    print(f"benchmark wall time: {time.perf_counter() - start:.0f} s")
    if args.write:
        with writing(args.write, option="--write"):
            write_text(args.write, text)
    return 0
