"""What the reproduction's learning-rate searches pick when each rate is scored on several seeds.

Each search of the protocol (a `"tune"` run) scores every rate by one training seeded
with the search's seed (1000), and the arm is tuned at the best. This script scores the
same rates on more seeds, on the backend it runs on, and sets the one-seed picks beside
the picks by the mean over seeds, and the verdicts under each. It changes no rule and no
committed report: its tables are a finding for whoever decides the searches' rule.

`run`: for every search recorded in FOLDER, the rates are those its trials tried in
FOLDER and in the folders given with `--also` (the same search, by `run_id`, on the other
backend); each seed of `--seeds` is scored at every rate, and the search's own seed at
the rates FOLDER's search did not try (`search.score_rates`, the searches' own code).
Then the grid-extension rule (`rules.GRID_EXTENSION`) is read on the mean scores and
every rate it adds is scored on every seed, as `search_learning_rate` widens a search of
one seed. Each (search, seed[, added rate]) lands in OUT as one JSON file; a killed run
resumes. `--part K/N` takes every N-th search, for N processes side by side. `--check
RUN_ID` trains the search's own seed again at its recorded rates and says whether the
scores are the recorded ones.

`variant`: a copy of FOLDER (its manifest and runs) in which every search's trials are
the mean scores and its best is the mean pick, for `actkeras reproduce --out INTO` to
train the tuned arms at the rates that moved and judge every claim again.

`keep`: after `reproduce` into a variant, copies the runs it made into OUT/runs, from
where `variant` copies them into a new variant (so that `reproduce` there reuses them).

`write`: for each backend (`--backend NAME FOLDER OUT`, repeated), every search's picks:
the recorded one-seed pick, each seed's pick and the pick by the mean score (the lower
rate on a tie, as the searches break them), with the mean pick's lead over the next rate
and that lead's standard error over the seeds (paired by seed); then whether the
backends' picks agree, one-seed and by the mean. With `--variant NAME INTO` for each
backend, the verdicts that move between the recorded reproduction and its variant, and
the backends' agreement under each rule (`compare.compare`).

Usage:
    python scripts/search_seeds.py run reproduction/full --also reproduction/full-jax \
        --out SCRATCH/tf --seeds 1001,1002 --part 0/2     # and --part 1/2 beside it
    python scripts/search_seeds.py variant reproduction/full SCRATCH/tf SCRATCH/variant-tf
    python -m actkeras reproduce --preset full --out SCRATCH/variant-tf --jobs 2 --reuse-stale
    python scripts/search_seeds.py keep reproduction/full SCRATCH/tf SCRATCH/variant-tf
    python scripts/search_seeds.py write --backend tensorflow reproduction/full SCRATCH/tf \
        --backend jax reproduction/full-jax SCRATCH/jax --variant tensorflow \
        SCRATCH/variant-tf --variant jax SCRATCH/variant-jax --write FILE --figure PNG
"""

import argparse
import dataclasses
import json
import math
import statistics
import time
from pathlib import Path

from actkeras import ownership, quiet


def searches(folder):
    """`{run_id: recorded result}` of every search (tune run) in a reproduction folder."""
    found = {}
    for path in sorted(Path(folder, "runs").glob("tune-*.json")):
        if path.name.endswith(".config.json"):
            continue
        result = json.loads(path.read_text())
        if result.get("status") == "ok" and result.get("search"):
            found[result["run_id"]] = result
    return found


def recorded_scores(result):
    """`{rate: score}` of a recorded search's trials that finished."""
    return {float(t["learning_rate"]): t["score"] for t in result["search"]["trials"]
            if t["score"] is not None}


def pick(scores):
    """The rate with the highest score, the lower rate on a tie (as `search_learning_rate`)."""
    return max(scores, key=lambda rate: (scores[rate], -rate)) if scores else None


def _score(spec, seed, rates, cache, out, name=None):
    """Scores `rates` with the search's spec at `seed` (resuming in OUT, in a file named by
    the search, the seed and `name`); `{rate: score}`."""
    import keras

    from actkeras import atomic
    from actkeras.experiments.search import score_rates
    from actkeras.seeding import seed_everything

    stem = f"{spec.run_id}-s{seed}" + (f"-{name}" if name else "")
    path = Path(out, f"{stem}.json")
    if path.exists():
        return json.loads(path.read_text())["scores"]
    keras.backend.clear_session()
    seed_everything(seed)
    started = time.perf_counter()
    seeded = dataclasses.replace(spec, seed=seed)
    folder = Path(out, "tuning", stem)
    trials = score_rates(seeded, cache.get(spec), folder, rates)
    scores = {str(t["learning_rate"]): t["score"] for t in trials}
    atomic.write_json(path, {"run_id": spec.run_id, "label": spec.label, "seed": seed,
                             "backend": keras.backend.backend(), "scores": scores,
                             "seconds": time.perf_counter() - started})
    return scores


def run(args, mine):
    """`run` on `mine`, the searches of `args.folder` (`searches`)."""
    from actkeras.experiments.runner import DataCache
    from actkeras.experiments.spec import RunSpec

    others = [searches(folder) for folder in args.also]
    cache = DataCache(args.data_dir)
    if args.check:
        result = mine[args.check]
        spec = RunSpec.from_dict(result["spec"])
        recorded = recorded_scores(result)
        again = _score(spec, spec.seed, sorted(recorded), cache, Path(args.out, "check"))
        same = all(again[str(rate)] == score for rate, score in recorded.items())
        print(f"check {spec.label}: {'identical' if same else 'DIFFERENT'} "
              f"(recorded {recorded}, again {again})", flush=True)
        return
    k, n = (int(v) for v in args.part.split("/"))
    for index, (run_id, result) in enumerate(sorted(mine.items())):
        if index % n != k:
            continue
        spec = RunSpec.from_dict(result["spec"])
        tried = recorded_scores(result)
        rates = set(tried)
        for other in others:
            rates |= set(recorded_scores(other[run_id])) if run_id in other else set()
        rates = sorted(rates)
        missing = [rate for rate in rates if rate not in tried]
        started = time.perf_counter()
        if missing:
            _score(spec, spec.seed, missing, cache, args.out)
        for seed in args.seeds:
            _score(spec, seed, rates, cache, args.out)
        added = _extend(spec, result, [spec.seed, *args.seeds], cache, args.out)
        widened = f", widened on the mean scores by {added}" if added else ""
        print(f"{spec.label}: rates {rates}, seeds {args.seeds} (+{len(missing)} of seed "
              f"{spec.seed}){widened}: {time.perf_counter() - started:.0f} s", flush=True)


def extension(result, means):
    """The grid-extension rule (`rules.GRID_EXTENSION`) applied to a search's mean scores
    (`{rate: mean}`): its state, with the next rate to try or `None`."""
    from actkeras.experiments.claims.runs import left_chance
    from actkeras.experiments.rules import GRID_EXTENSION

    trials = [{"learning_rate": rate, "score": mean} for rate, mean in means.items()]
    return GRID_EXTENSION.next_rate(result["spec"]["grid"], trials,
                                    lambda score: left_chance(score, result.get("data") or {}))


def _extend(spec, result, seeds, cache, out):
    """Widens a search scored on `seeds` by the grid-extension rule read on the mean
    scores, as `search_learning_rate` widens a search of one seed; the rates added."""
    added = []
    while True:
        by_seed = seed_scores(result, out)
        state = extension(result, summary(by_seed)["means"])
        rate = state["next"]
        if rate is None or rate in added:  # a rate that failed on a seed ends the widening
            return added
        for seed in seeds:
            if rate not in by_seed.get(seed, {}):
                _score(spec, seed, [rate], cache, out, name=f"lr{rate:g}")
        added.append(rate)


def seed_scores(result, out):
    """`{seed: {rate: score}}` of one search on one backend: the recorded seed's trials,
    completed by OUT's, and every other seed OUT scored."""
    spec_seed = result["spec"]["seed"]
    by_seed = {spec_seed: recorded_scores(result)}
    for path in sorted(Path(out).glob(f"{result['run_id']}-s*.json")):
        record = json.loads(path.read_text())
        scores = {float(rate): s for rate, s in record["scores"].items() if s is not None}
        by_seed.setdefault(record["seed"], {}).update(scores)
    return by_seed


def summary(by_seed):
    """The picks of one search on one backend, over the rates every seed scored."""
    rates = sorted(set.intersection(*(set(s) for s in by_seed.values())))
    means = {rate: statistics.fmean(s[rate] for s in by_seed.values()) for rate in rates}
    best = pick(means)
    runner_up = pick({rate: m for rate, m in means.items() if rate != best})
    lead = se = None
    if runner_up is not None:
        gaps = [s[best] - s[runner_up] for s in by_seed.values()]
        lead = statistics.fmean(gaps)
        se = statistics.stdev(gaps) / math.sqrt(len(gaps)) if len(gaps) > 1 else None
    return {"rates": rates, "seeds": sorted(by_seed), "means": means, "mean_pick": best,
            "runner_up": runner_up, "lead": lead, "se": se,
            "seed_picks": {seed: pick({r: s[r] for r in rates}) for seed, s in by_seed.items()}}


def _rate(rate):
    return "-" if rate is None else f"{rate:g}"


def _points(value):
    return "-" if value is None else f"{100 * value:.1f}"


def write(args):
    from actkeras.experiments.claims.runs import left_chance

    backends = [(name, searches(folder), out) for name, folder, out in args.backend]
    run_ids = sorted(set.intersection(*(set(found) for _, found, _ in backends)),
                     key=lambda r: (backends[0][1][r]["spec"]["claim"],
                                    backends[0][1][r]["spec"]["label"]))
    names = [name for name, _, _ in backends]
    lines = ["# The learning-rate searches scored on several seeds", "",
             "Written by `scripts/search_seeds.py write`; regenerate it, do not edit it.", "",
             "The protocol scores each rate of a search by one training (seed 1000) and "
             "tunes the arm at the best. Here every rate a search tried on either backend is "
             "scored on more seeds (the searches' own code, `search.score_rates`), on each "
             "backend. *one seed*: the recorded search's pick; *mean*: the pick by the mean "
             "score over the seeds (the lower rate on a tie); *per seed*: each seed's own "
             "pick; *lead*: the mean pick's mean lead over the next best rate, in points of "
             "validation accuracy, with its standard error over the seeds (paired by seed); "
             "*(at chance)*: no rate's mean score left chance (the protocol's chance rule), so "
             "the pick follows differences inside chance and points nowhere; *(not "
             "widened)*: a mean pick at an edge that the grid-extension rule would widen "
             "(`run` widens them). This is a finding: no verdict of the committed reports "
             "reads it.", ""]
    header = ["claim", "search"]
    for name in names:
        header += [f"{name}: one seed", f"{name}: mean", f"{name}: per seed",
                   f"{name}: lead (SE)"]
    header += ["agree: one seed", "agree: mean"]
    lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    counts = {"one": 0, "mean": 0, "stable": {name: 0 for name in names},
              "clear": {name: 0 for name in names}, "trained": [0, 0, 0]}
    seed_sets, panels = {}, []
    for run_id in run_ids:
        spec = backends[0][1][run_id]["spec"]
        row = [str(spec["claim"]), spec["label"].replace(" (search)", "")]
        ones, means, trained, scored = [], [], [], {}
        for name, found, out in backends:
            result = found[run_id]
            scored[name] = seed_scores(result, out)
            s = summary(scored[name])
            seed_sets[tuple(s["seeds"])] = seed_sets.get(tuple(s["seeds"]), 0) + 1
            ones.append(result["search"]["best"])
            means.append(s["mean_pick"])
            counts["stable"][name] += len(set(s["seed_picks"].values())) == 1
            counts["clear"][name] += bool(s["se"] is not None and s["lead"] > 2 * s["se"])
            se = f" ({_points(s['se'])})" if s["se"] is not None else ""
            trained.append(s["mean_pick"] is not None and left_chance(
                s["means"][s["mean_pick"]], result.get("data") or {}))
            mark = (" (at chance)" if not trained[-1] else " (not widened)"
                    if extension(result, s["means"])["next"] is not None else "")
            row += [_rate(result["search"]["best"]), _rate(s["mean_pick"]) + mark,
                    ", ".join(_rate(s["seed_picks"][seed]) for seed in s["seeds"]),
                    _points(s["lead"]) + se]
        agree_one, agree_mean = len(set(ones)) == 1, len(set(means)) == 1
        counts["one"] += agree_one
        counts["mean"] += agree_mean
        if all(trained):
            panels.append((f"claim {spec['claim']}: {row[1]}", scored))
            counts["trained"] = [counts["trained"][0] + 1, counts["trained"][1] + agree_one,
                                 counts["trained"][2] + agree_mean]
        row += ["yes" if agree_one else "**no**", "yes" if agree_mean else "**no**"]
        lines.append("| " + " | ".join(row) + " |")
    total = len(run_ids)
    seeds = "; ".join(", ".join(str(seed) for seed in seed_set) + f" ({n} of {total * len(names)})"
                      for seed_set, n in sorted(seed_sets.items()))
    stable, clear = (", ".join(f"{counts[key][name]} ({name})" for name in names)
                     for key in ("stable", "clear"))
    lines += ["", f"Seeds, by searches and backends: {seeds}. Of {total} searches, the backends' "
              f"one-seed picks agree in {counts['one']}, their mean picks in {counts['mean']}; "
              f"of the {counts['trained'][0]} in which the mean pick left chance on every "
              f"backend, in {counts['trained'][1]} and {counts['trained'][2]}. "
              f"Every seed picks the same rate in {stable}; the mean pick leads the next "
              f"rate by more than two standard errors in {clear}."]
    spent = []
    for name, _, out in backends:
        records = [json.loads(p.read_text()) for p in Path(out).glob("tune-*.json")]
        seconds = sum(r.get("seconds") or 0 for r in records)
        spent.append(f"{name} {seconds / 60:.0f} min over {len(records)} files")
    lines += ["", f"Time the added scoring took, summed over its processes: {'; '.join(spent)}."]
    if args.figure and panels:
        figure(panels, args.figure)
        lines += ["", f"![The searches that left chance, by rate]({Path(args.figure).name})"]
    if args.variant:
        lines += ["", *verdict_lines(args.backend, dict(args.variant))]
    text = "\n".join(lines) + "\n"
    if args.write:
        from actkeras import atomic

        atomic.write_text(args.write, text)
    print(text)


WINDOW = 15  # points of validation accuracy each panel shows below its best score


def figure(panels, path):
    """Writes the searches' scores by rate as small multiples: one panel a search, one colour a
    backend, a thin line each seed and a thick one their mean, the mean pick circled.

    Args:
        panels: `[(title, {backend: {seed: {rate: score}}})]`.
        path: the PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from actkeras import atomic

    columns = min(4, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (title, by_backend) in zip(axes.flat, panels):
        top = 0.0
        for colour, (name, by_seed) in zip(("tab:blue", "tab:orange"), by_backend.items()):
            s = summary(by_seed)
            top = max([top, *(100 * score for scores in by_seed.values()
                              for score in scores.values())])
            for scores in by_seed.values():
                ax.plot(s["rates"], [100 * scores[r] for r in s["rates"]], color=colour,
                        lw=0.7, alpha=0.6)
            ax.plot(s["rates"], [100 * s["means"][r] for r in s["rates"]], color=colour, lw=2,
                    label=name)
            if s["mean_pick"] is not None:
                ax.plot([s["mean_pick"]], [100 * s["means"][s["mean_pick"]]], "o", ms=9,
                        mfc="none", color=colour)
        ax.set_xscale("log")
        ax.set_ylim(top - WINDOW, top + 0.5)  # the picks are made near the top
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("learning rate", fontsize=8)
        ax.set_ylabel("validation accuracy (%)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"Each search's rates scored on three seeds (thin) and their mean (thick; "
                 f"circle: the mean pick); each panel the {WINDOW} points below its best score",
                 fontsize=10)
    fig.tight_layout()
    atomic.write_figure(path, fig)
    plt.close(fig)


def variant(args):
    import shutil

    from actkeras import atomic

    Path(args.into, "runs").mkdir(parents=True)
    shutil.copy2(Path(args.folder, "manifest.json"), Path(args.into, "manifest.json"))
    found = searches(args.folder)
    # The folder's runs, then those made for an earlier variant and kept in OUT (`keep`).
    made = Path(args.out, "runs").glob("*.json")
    for path in [*Path(args.folder, "runs").glob("*.json"), *made]:
        if path.stem not in found:
            shutil.copy2(path, Path(args.into, "runs", path.name))
    for run_id, result in sorted(found.items()):
        s = summary(seed_scores(result, args.out))
        grid = result["spec"]["grid"]
        side = {rate: "top" if rate > max(grid) else "bottom" if rate < min(grid) else None
                for rate in s["rates"]}
        state = extension(result, s["means"])
        one_seed = result["search"]["best"]
        result["search"].update(
            best=s["mean_pick"],
            trials=[{"learning_rate": rate, "score": mean, "added": side[rate],
                     "status": "ok" if mean > 0 else "diverged"}
                    for rate, mean in s["means"].items()],
            extension={**result["search"]["extension"],
                       "added": [rate for rate in s["rates"] if side[rate]],
                       "side": state["side"], "at_cap": state["at_cap"],
                       "stopped": state["stopped"] or "not widened (scripts/search_seeds.py)"},
            objective=(f"mean final validation accuracy of {len(s['seeds'])} runs per rate "
                       f"(seeds {', '.join(str(seed) for seed in s['seeds'])}; "
                       "scripts/search_seeds.py)"))
        atomic.write_json(Path(args.into, "runs", f"{run_id}.json"), result)
        print(f"{result['spec']['label']}: best {_rate(s['mean_pick'])} "
              f"(one seed: {_rate(one_seed)})")


def keep(args):
    """Copies the runs a reproduced variant made (those FOLDER lacks) into OUT/runs, where
    `variant` finds them again."""
    import shutil

    theirs = {path.name for path in Path(args.folder, "runs").glob("*.json")}
    made = [path for path in sorted(Path(args.into, "runs").glob("*.json"))
            if path.name not in theirs]
    Path(args.out, "runs").mkdir(parents=True, exist_ok=True)
    for path in made:
        shutil.copy2(path, Path(args.out, "runs", path.name))
    print(f"{len(made)} files of runs the variant made kept in {Path(args.out, 'runs')}")


def _outcome(verdicts, setting):
    """`"verdict (a: holds, ...)"` of one setting, or `"-"`."""
    if setting not in verdicts:
        return "-"
    verdict, parts = verdicts[setting]
    return f"{verdict} ({', '.join(parts)})" if parts else verdict


def verdict_lines(backends, variants):
    """The verdicts of each backend's reproduction beside its variant tuned by the mean
    picks (`variant`, then `actkeras reproduce`), and how far the backends agree under
    each rule (`compare.compare`)."""
    from actkeras.experiments.compare import compare

    names = [name for name, _, _ in backends if name in variants]
    folders = {name: folder for name, folder, _ in backends}
    pairs = {name: compare(folders[name], variants[name]) for name in names}
    claims = {}
    for name in names:
        for claim in pairs[name]["claims"]:
            claims.setdefault(claim["id"], {"title": claim["title"]})[name] = claim["verdicts"]
    header = ["claim", "setting"] + [f"{name}: {rule}" for name in names
                                     for rule in ("one seed", "mean")]
    lines = ["## The verdicts when the searches pick by the mean", "",
             "Each backend's reproduction copied with every search's scores replaced by the "
             "means over the seeds above and its best by the mean pick (`search_seeds.py "
             "variant`; a mean pick at an edge widened by the grid-extension rule on the mean "
             "scores), then `actkeras reproduce` into the copy: it trains every tuned arm at "
             "the rate that moved (its judged seeds, as the protocol's tuned runs) and judges "
             "every claim again. Only the settings whose verdict or parts move are listed.", "",
             "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    moved = 0
    for claim_id, claim in sorted(claims.items()):
        settings = sorted({setting for name in names for pair in claim[name] for setting in
                           (pair or {})})
        for setting in settings:
            cells = [_outcome((claim[name][k] or {}), setting) for name in names for k in (0, 1)]
            if all(claim[name][0] and claim[name][1] and
                   claim[name][0].get(setting) == claim[name][1].get(setting) for name in names):
                continue
            moved += 1
            lines.append(f"| {claim_id}. {claim['title']} | {setting} | " + " | ".join(cells)
                         + " |")
    if not moved:
        lines.append("| (none) |" + " |" * (len(header) - 1))
    if len(names) == 2:
        across = [compare(folders[names[0]], folders[names[1]])["agreement"],
                  compare(variants[names[0]], variants[names[1]])["agreement"]]
        lines += ["", f"Between {names[0]} and {names[1]}: "
                  + "; ".join(f"with {rule}, {a['settings'][0]} of {a['settings'][1]} verdicts "
                              f"and {a['parts'][0]} of {a['parts'][1]} parts agree"
                              for rule, a in zip(("one-seed searches", "mean picks"), across))
                  + "."]
        differ = across[1]["differ"]
        if differ:
            lines.append("With the mean picks, these differ: " + "; ".join(differ) + ".")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    r = commands.add_parser("run", help="score the searches' rates on more seeds")
    r.add_argument("folder", help="a reproduction folder (its runs/tune-*.json)")
    r.add_argument("--also", action="append", default=[],
                   help="the same reproduction on another backend (its rates are scored too)")
    r.add_argument("--out", required=True)
    r.add_argument("--seeds", type=lambda v: [int(s) for s in v.split(",")], default=[1001, 1002])
    r.add_argument("--part", default="0/1")
    r.add_argument("--check", metavar="RUN_ID")
    r.add_argument("--data-dir", default=None)
    w = commands.add_parser("write", help="the picks' table")
    w.add_argument("--backend", nargs=3, action="append", required=True,
                   metavar=("NAME", "FOLDER", "OUT"))
    w.add_argument("--variant", nargs=2, action="append", default=[],
                   metavar=("NAME", "FOLDER"),
                   help="a backend's variant tuned by the mean picks, reproduced")
    w.add_argument("--write")
    w.add_argument("--figure", help="a PNG of the searches that left chance (beside --write)")
    w.add_argument("--overwrite", action="store_true")
    v = commands.add_parser("variant", help="a copy of FOLDER tuned by the mean picks")
    v.add_argument("folder")
    v.add_argument("out", help="the seeds' scores (`run --out`)")
    v.add_argument("into", help="a new folder")
    k = commands.add_parser("keep", help="keep the runs a reproduced variant made")
    for name, text in (("folder", "the reproduction the variant copied"),
                       ("out", "the seeds' scores (`run --out`)"), ("into", "the variant")):
        k.add_argument(name, help=text)
    args = parser.parse_args(argv)
    if args.command == "variant" and Path(args.into).exists():
        v.error(f"{args.into} exists: the variant goes to a new folder. Received: "
                f"into={args.into}")
    if args.command == "write":
        for name in ("write", "figure"):
            problem = getattr(args, name) and ownership.write_problem(
                getattr(args, name), args.overwrite, option=f"--{name}")
            if problem:
                w.error(problem)
    if args.command == "variant":
        variant(args)
    elif args.command == "keep":
        keep(args)
    elif args.command == "run":
        part = args.part.split("/")
        if len(part) != 2 or not all(p.isdigit() for p in part) or not int(part[0]) < int(part[1]):
            r.error(f"--part is K/N with 0 <= K < N. Received: part={args.part}")
        found = searches(args.folder)
        if not found:
            r.error(f"{args.folder} holds no finished search (runs/tune-*.json). "
                    f"Received: folder={args.folder}")
        if args.check and args.check not in found:
            r.error(f"no search {args.check!r} in {args.folder}; its searches: "
                    f"{', '.join(sorted(found))}. Received: check={args.check}")
        quiet.start_quietly()
        run(args, found)
    else:
        write(args)


if __name__ == "__main__":
    main()
