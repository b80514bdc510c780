"""What scoring the step budgets costs a course run, measured in one process.

Runs one recorded course run's spec (a run file of a reproduction) twice per round,
as recorded (budgets scored) and with no budgets, in alternating order, and prints
each round's times, the share `1 - without / with`, the seconds spent inside the
scoring itself, and whether the budgets came out identical to the run file's.

Usage:
    python scripts/budget_share.py reproduction/full/runs/train-udacity-relu-s0-....json \
        --rounds 2
    python scripts/budget_share.py --check RUN_FILE [RUN_FILE ...]  # budgets only
"""

import argparse
import dataclasses
import hashlib
import json
import os
import time

from actkeras import quiet


def _differences(mine, theirs):
    """'identical', or the recorded numbers that differ and by how much at most."""
    if mine == theirs:
        return "identical"
    if [r["step"] for r in mine] != [r["step"] for r in theirs]:
        return "different steps"
    gaps = [(r["step"], k, abs(r[k] - o[k])) for r, o in zip(mine, theirs)
            for k in r if k != "step" and r[k] != o.get(k)]
    largest = max(gaps, key=lambda g: g[2])
    return (f"{len(gaps)} numbers differ, the largest by {largest[2]:.2g} "
            f"({largest[1]} at step {largest[0]})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_files", nargs="+", help="course runs' result files (runs/*.json)")
    parser.add_argument("--check", action="store_true",
                        help="only run each file's spec once and compare its budgets")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    quiet.start_quietly()
    import keras

    from actkeras.experiments import measures
    from actkeras.experiments.runner import DataCache, execute
    from actkeras.experiments.spec import RunSpec

    data = DataCache(args.data_dir)
    if args.check:
        for path in args.run_files:
            original = json.loads(open(path).read())
            _, result = execute(RunSpec.from_dict(original["spec"]), data)
            digest = hashlib.sha256(json.dumps(result["budgets"]).encode()).hexdigest()[:12]
            print(f"{path}: budgets {_differences(result['budgets'], original['budgets'])} "
                  f"({keras.backend.backend()}; sha256 {digest})", flush=True)
        return
    original = json.loads(open(args.run_files[0]).read())
    spec = RunSpec.from_dict(original["spec"])
    bare = dataclasses.replace(spec, eval_steps=(), eval_epochs=(), eval_train=0,
                               eval_train_epochs=None, eval_train_every=True, minibatch=False)
    data.get(spec)
    scoring = {"seconds": 0.0}
    record = measures.BudgetEvaluator._record

    def timed(self, *a, **k):
        start = time.perf_counter()
        try:
            return record(self, *a, **k)
        finally:
            scoring["seconds"] += time.perf_counter() - start

    measures.BudgetEvaluator._record = timed
    execute(bare, data)  # warm-up: compiles, loads
    print(f"backend {keras.backend.backend()}, load average {os.getloadavg()}")
    for r in range(args.rounds):
        times = {}
        for name in (("with", "without") if r % 2 == 0 else ("without", "with")):
            scoring["seconds"] = 0.0
            start = time.perf_counter()
            _, result = execute(spec if name == "with" else bare, data)
            times[name] = time.perf_counter() - start
            if name == "with":
                inside = scoring["seconds"]
                same = _differences(result["budgets"], original["budgets"])
        print(f"round {r}: with {times['with']:.1f} s, without {times['without']:.1f} s, "
              f"share {1 - times['without'] / times['with']:.3f}, inside the scoring "
              f"{inside:.1f} s ({inside / times['with']:.3f}); budgets against the run "
              f"file: {same}; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
