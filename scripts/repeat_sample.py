"""Repeat a sample of a finished reproduction's runs in a fresh folder and check their numbers.

The whole full preset takes hours; a sample of its runs, chosen before they run (the
cheapest run of every kind and claim, then a seeded random draw among the rest up to a
budget of recorded run time), is repeated from the specs recorded in the run files by
the same runner, and each result's digest (every recorded number, timings left out:
`actkeras.experiments.compare.run_digest`) is checked against the original's. Claim 8's
cost runs are timings and are left out, as in `compare`.

Usage:
    python scripts/repeat_sample.py reproduction/full /tmp/repeat --minutes 20 \
        --write reproduction/full/repeat.md --overwrite
"""

import argparse
import json
import random
import sys
import time
from pathlib import Path

from actkeras import ownership, quiet
from actkeras.atomic import write_text
from actkeras.experiments.compare import _is_cost, _runs, run_digest


def _numbers(result):
    """A result without its provenance (actkeras version, rules hashes, data fingerprint):
    metadata that `reproduce` checks before reusing a run, recomputed only by a whole
    reproduction; what is compared here is every recorded number."""
    return {k: v for k, v in result.items() if k != "provenance"}


# What the monitors record (their own records, the step-0 probes, and the monitor keys
# they write into the history): the numbers a change of the monitors may move while
# training itself is untouched.
_MONITOR_KEYS = ("act_", "grad_norm", "gradient_ratio", "dead_fraction", "inactive_fraction",
                 "capped_fraction")


def _training(result):
    """`_numbers` without the monitors' records and keys: what training itself produced."""
    out = {k: v for k, v in _numbers(result).items() if k not in ("monitors", "probe", "measures")}
    out["history"] = [{k: v for k, v in row.items() if not k.startswith(_MONITOR_KEYS)}
                      for row in out.get("history") or []]
    return out


def choose(results, minutes, seed=0):
    """`[(file name, result)]`: the cheapest run of each (claim, kind), then a random draw."""
    usable = [(name, r) for name, r in results.items()
              if not _is_cost(r) and r.get("status") in ("ok", "diverged")]
    seconds = {name: float((r.get("timing") or {}).get("seconds") or 0) for name, r in usable}
    groups = {}
    for name, r in sorted(usable, key=lambda item: seconds[item[0]]):
        groups.setdefault((r["spec"].get("claim"), r["spec"]["kind"]), (name, r))
    chosen = dict(groups.values())
    budget = 60 * minutes - sum(seconds[n] for n in chosen)
    rest = [item for item in usable if item[0] not in chosen]
    random.Random(seed).shuffle(rest)
    for name, r in rest:
        if seconds[name] <= budget:
            chosen[name], budget = r, budget - seconds[name]
    return sorted(chosen.items())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a finished reproduction (its runs/ are read)")
    parser.add_argument("into", help="a fresh folder for the repeated runs")
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="the sample's recorded run time, in minutes (default 20)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--write", default=None, help="write the table to this markdown file")
    parser.add_argument("--overwrite", action="store_true",
                        help="let --write replace an existing file")
    parser.add_argument("--again", action="store_true",
                        help="INTO holds an earlier repeat of this sample: reuse its finished "
                             "runs and compare again")
    args = parser.parse_args(argv)
    problem = args.write and ownership.write_problem(args.write, args.overwrite)
    if problem:
        parser.error(problem)
    if not args.again and Path(args.into).exists() and any(Path(args.into).iterdir()):
        parser.error(f"{args.into} is not empty: the repeat goes to a fresh folder. "
                     f"Received: into={args.into}")
    # As the CLI: TensorFlow's C++ logging off before the runner loads it.
    quiet.start_quietly()
    from actkeras.experiments.runner import run_specs
    from actkeras.experiments.spec import RunSpec

    results = {name: json.loads(path.read_text()) for name, path in _runs(args.folder).items()}
    sample = choose(results, args.minutes)
    specs = [(RunSpec.from_dict(r["spec"]), name, r) for name, r in sample]
    started = time.perf_counter()
    repeated = run_specs([spec for spec, _, _ in specs], args.into, verbose=0,
                         data_dir=args.data_dir)
    rows, same, trained = [], 0, 0
    for run_id, name, original in sorted((spec.run_id, name, r) for spec, name, r in specs):
        equal = run_digest(_numbers(repeated[run_id])) == run_digest(_numbers(original))
        training = run_digest(_training(repeated[run_id])) == run_digest(_training(original))
        same, trained = same + equal, trained + training
        rows.append(f"| `{name}` | {original['spec']['kind']} | {original['spec'].get('claim')} "
                    f"| {'identical' if equal else '**different**'} "
                    f"| {'identical' if training else '**different**'} |")
    text = "\n".join([
        f"# A sample of `{args.folder}` repeated",
        "",
        f"Written by `python scripts/repeat_sample.py {args.folder} {args.into} "
        f"--minutes {args.minutes:g}{' --again' if args.again else ''}`: {len(rows)} of the "
        "folder's "
        + f"{sum(1 for r in results.values() if not _is_cost(r))} runs (cost runs left out), "
        "chosen before they ran (the cheapest run of every claim and kind, then a seeded "
        "random draw up to the time budget), repeated in a fresh folder from the specs in "
        "their run files by the same runner"
        + (" (compared again here from that earlier repeat). " if args.again else
           f" in {time.perf_counter() - started:.0f} s. ") +
        f"**{same} of {len(rows)} gave every recorded number identical** (timings and the "
        "provenance left out: the repeat records none); the digest of the whole folder, "
        "`digest.json`, lets a full repeat be checked with "
        "`python -m actkeras.experiments.compare --check-digest`. "
        f"**{trained} of {len(rows)} gave identical training numbers** (every number but the "
        "monitors' records, the step-0 probes, the sparsity measures and the monitor keys in "
        "the history): where the two columns differ, the code that measures changed between "
        "the original run and the repeat, not the training.",
        "",
        "| run | kind | claim | every number | training numbers |",
        "| --- | --- | --- | --- | --- |",
        *rows, ""])
    if args.write:
        write_text(args.write, text)
    print(text)
    return 0 if same == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
