"""What scoring the training split after training costs a run, measured in one process.

Runs recorded runs' specs (run files of a reproduction, e.g. claims 12 and 13's) with the
final scoring of the training split (`RunSpec(final_train=True)`) and without it, in paired
rounds in a shuffled order after an untimed one (`paired_timing.paired_rounds`), and prints
each round's seconds and ratio (without / with), then the geometric-mean ratio over every
round of every run with its 95 % t interval (`paired_timing.geometric_ratio_ci`). Pin it to
one core to time it as a `--jobs 2` worker runs (`taskset -c 0`, and on TensorFlow
`TF_NUM_INTRAOP_THREADS=1`).

Usage:
    TF_NUM_INTRAOP_THREADS=1 taskset -c 0 python scripts/final_split_timing.py --rounds 2 \\
        reproduction/full/runs/train-mlp-relu-s1-....json ...
"""

import argparse
import dataclasses
import json
import math

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
    from actkeras.paired_timing import geometric_ratio_ci, paired_rounds

    data = DataCache(args.data_dir)
    log_ratios = []
    for path in args.run_files:
        spec = RunSpec.from_dict(json.loads(open(path).read())["spec"])
        arms = {name: (lambda s=dataclasses.replace(spec, final_train=final): execute(s, data))
                for name, final in (("with", True), ("without", False))}
        _, seconds = paired_rounds(arms, rounds=args.rounds, warmup=1)
        for r, (with_, without) in enumerate(zip(seconds["with"], seconds["without"])):
            log_ratios.append(math.log(without / with_))
            print(f"{keras.backend.backend()} {spec.label} round {r}: with {with_:.2f} s, "
                  f"without {without:.2f} s, ratio {without / with_:.3f}", flush=True)
    ci = geometric_ratio_ci(log_ratios)
    low, high = (f"{v:.3f}" if v is not None else "?" for v in (ci["low"], ci["high"]))
    print(f"without / with: {ci['ratio']:.3f} [{low}, {high}] (geometric mean of {ci['n']} "
          f"rounds, 95 % t interval)")


if __name__ == "__main__":
    main()
