"""What scoring the training split after training costs a run, measured in one process.

Runs recorded runs' specs (run files of a reproduction, e.g. claims 12 and 13's) with the
final scoring of the training split (`RunSpec(final_train=True)`) and without it, in turn,
the order swapped each round after an untimed warm-up, and prints each pair's seconds, their
ratio (without / with) and the median ratio. Pin it to one core to time it as a `--jobs 2`
worker runs (`taskset -c 0`, and on TensorFlow `TF_NUM_INTRAOP_THREADS=1`).

Usage:
    TF_NUM_INTRAOP_THREADS=1 taskset -c 0 python scripts/final_split_timing.py --rounds 2 \\
        reproduction/full/runs/train-mlp-relu-s1-....json ...
"""

import argparse
import dataclasses
import json
import statistics
import time

from actkeras import quiet


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_files", nargs="+", help="training runs' result files (runs/*.json)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    quiet.start_quietly()
    import keras

    from actkeras.experiments.runner import DataCache, execute
    from actkeras.experiments.spec import RunSpec

    data = DataCache(args.data_dir)
    ratios = []
    for path in args.run_files:
        spec = RunSpec.from_dict(json.loads(open(path).read())["spec"])
        variants = {"with": dataclasses.replace(spec, final_train=True),
                    "without": dataclasses.replace(spec, final_train=False)}
        data.get(spec)
        execute(variants["without"], data)  # warm-up: compiles, loads
        for r in range(args.rounds):
            seconds = {}
            for name in (("with", "without") if r % 2 == 0 else ("without", "with")):
                start = time.perf_counter()
                execute(variants[name], data)
                seconds[name] = time.perf_counter() - start
            ratios.append(seconds["without"] / seconds["with"])
            print(f"{keras.backend.backend()} {spec.label} round {r}: with {seconds['with']:.2f} s, "
                  f"without {seconds['without']:.2f} s, ratio {ratios[-1]:.3f}", flush=True)
    print(f"median ratio without / with {statistics.median(ratios):.3f} over {len(ratios)} pairs "
          f"(range {min(ratios):.3f} to {max(ratios):.3f})")


if __name__ == "__main__":
    main()
