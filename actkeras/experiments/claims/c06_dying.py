"""Claim 6: with a large learning rate or a strongly negative bias, a large share of ReLU
units die and stay dead; LeakyReLU and ELU do not lose their units.

Runs: an MLP of 3 x 256 units (He initialisation, Adam, batch 64) on Fashion-MNIST with
ReLU unstressed (lr 0.001, bias 0), and ReLU, LeakyReLU(0.3) and ELU under each stress
(Adam lr 0.03; every bias initialised at -1.5), with `DeadReLUMonitor`; plus the course
network of claim 1 (its own runs) as an unjudged reference.
Measurement, per seed, from the monitor's per-layer lists of units that are off for
every probe image (`off_units`), at step 0 (trigger "train_begin", before any update)
and at each epoch end:
- dead at step 0: off before training (a bias of -1.5 kills units at initialisation);
- dead at the end: off at the last record;
- died during training: off at the end and NOT off at step 0 (set difference per
  layer, over all units);
- revived: off at step 0 and alive at the end;
- stayed dead: of the units off at some record after step 0 (the training deaths, or the
  init-killed units for the bias stress), the share still off at the end.
A ReLU unit that is off gets no gradient (dead); a LeakyReLU or ELU unit that is off
still passes one, so for them the same fractions are "inactive", not dead.
Judge: ReLU stressed - ReLU unstressed on "died during training", paired by seed, above
10 points; "stay dead" above 80 %; LeakyReLU and ELU inactive at the end below 10 %.
"""

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.sizes import (
    KWARGS,
    data_note,
    reason,
    seeds,
    seeds_note,
    udacity_run,
)
from actkeras.experiments.judging import Part, combine
from actkeras.experiments.spec import Claim, RunSpec
from actkeras.experiments.stats import FAILS, INCONCLUSIVE

ID = 6
# label: (activation, Adam learning rate, bias_init). Display labels only: arms are
# selected by these structured fields.
ARMS = {
    "relu": ("relu", 0.001, 0.0),
    "relu large lr": ("relu", 0.03, 0.0),
    "leaky_relu large lr": ("leaky_relu", 0.03, 0.0),
    "elu large lr": ("elu", 0.03, 0.0),
    "relu negative bias": ("relu", 0.001, -1.5),
    "leaky_relu negative bias": ("leaky_relu", 0.001, -1.5),
    "elu negative bias": ("elu", 0.001, -1.5),
}
CONTROL = "relu"
STRESSES = {"large lr": "relu large lr", "negative bias": "relu negative bias"}
OTHERS = ("leaky_relu", "elu")
COURSE = "relu, course network (SGD 0.5)"
NAMES = {"relu": "ReLU", "leaky_relu": "LeakyReLU(0.3)", "elu": "ELU"}

# Ten points of the units for "a large share die": the unstressed ReLU network ends
# with 6.6 ± 1.2 % of its units dead in the first full run (sd about 1 point), so a
# stress has to kill ten points more than that background, paired by seed, before it
# kills "a large share"; that is eight sds of the background's seed-to-seed spread.
DIE = 0.10
# "Stay dead": at least 80 % of the units that were dead are still dead at the end (a
# few may come back; most must not). The interval of the per-seed shares must lie above.
STAY = 0.80
# "Do not lose their units": a LeakyReLU or ELU network under stress ends with fewer
# than 10 % of its units inactive, i.e. no more than the unstressed ReLU network's
# background (6.6 ± 1.2 % dead) plus a few points, and far below the 90 %+ the stressed
# ReLU networks lose in the first full run. The interval of the per-seed fractions
# must lie below.
LOST = 0.10

RULE = (
    "Per seed, from the units off for every probe image (dead for ReLU: no gradient; only "
    "inactive for LeakyReLU and ELU: they still pass one) at step 0 and at the end: "
    "'died during training' = off at the end and not off at step 0, over all hidden units. "
    "For each stress (Adam lr 0.03; every bias initialised at -1.5): (a) ReLU's units die "
    "during training: the per-seed difference stressed - unstressed ReLU (lr 0.001, bias 0) "
    f"in 'died during training' has a 95 % t interval above {100 * DIE:g} points (holds), at "
    "or below (fails), or straddling (inconclusive); units killed at initialisation (dead at "
    "step 0) are reported apart and never credited to training; (b) they stay dead: of the "
    "units that died during training (for the bias stress: of those dead at step 0, which is "
    f"where that stress kills them), the share still dead at the end, interval above {STAY:.0%}; "
    "(c) LeakyReLU and (d) ELU do not lose their units: the inactive fraction at the end, "
    f"interval below {LOST:.0%}. Diverged runs are counted apart and give no fraction; for (c) "
    "and (d) a diverged network has not kept its units: the part fails when half or more of "
    "the seeds diverged, and cannot hold (inconclusive at best) when any did. Runs at chance "
    "are kept (their dead units are the evidence). All hold: reproduced; all fail: not "
    "reproduced; some each way: mixed; otherwise inconclusive."
)


def dying_run(sizes, label, seed):
    activation, rate, bias = ARMS[label]
    return RunSpec(
        claim=ID, label=label, activation=activation,
        activation_kwargs=KWARGS.get(activation, {}), preset="mlp",
        overrides={"hidden_units": (256, 256, 256), "initializer": "he_normal",
                   "optimizer": "adam", "learning_rate": rate, "bias_init": bias,
                   "batch_size": 64, "epochs": sizes.dying_epochs},
        dataset="fashion_mnist", source=sizes.source, subset=sizes.fashion_subset,
        seed=seed, monitors=("dead",), probe_size=sizes.probe_size,
    )


def build(sizes):
    notes = [f"{sizes.dying_epochs} epoch(s): " + reason("dying_epochs", sizes),
             f"{seeds_note(sizes)}: " + reason("seeds", sizes),
             f"A unit is off when it is off for every one of the first {sizes.probe_size} "
             "validation images (the probe): a smaller probe finds more units off.",
             "A bias of -1.5 is about 1.5 standard deviations of the He-initialised "
             "pre-activations: it switches most units off before the first update, so its "
             "dead units are counted at step 0 and reported as killed at initialisation."]
    runs = [dying_run(sizes, label, seed) for label in ARMS for seed in seeds(sizes)]
    runs += [udacity_run(sizes, ID, COURSE, "relu", seed) for seed in seeds(sizes)]
    return Claim(
        id=ID, title="Dying ReLU",
        statement="With a large learning rate or a strongly negative bias, a large share of "
                  "ReLU units die and stay dead; LeakyReLU and ELU do not lose their units.",
        source="seeds 001, 002, 003", seed_file="seeds/001_740307ee495fdbfa.txt",
        setup=f"MLP of 3 x 256 units, He initialisation, Adam, batch 64, "
              f"{sizes.dying_epochs} epoch(s) on Fashion-MNIST, {data_note(sizes)}. Stresses: "
              "learning rate 0.03 against 0.001, and every bias initialised at -1.5 against 0. "
              "`DeadReLUMonitor` lists the units off for every probe image at step 0 and "
              "after every epoch (dead for ReLU; only inactive for LeakyReLU and ELU, which "
              f"still pass a gradient); {seeds_note(sizes)}. For reference, not judged: the "
              "course network of claim 1 at its SGD 0.5 (the same runs).",
        runs=tuple(runs),
        notes=tuple(notes),
    )


# --- measurement ------------------------------------------------------------------------------

def records(result):
    return [r for r in (((result or {}).get("monitors") or {}).get("dead") or [])
            if isinstance(r, dict)]


def start_record(result):
    """The step-0 record (trigger "train_begin"), or `None`."""
    return next((r for r in records(result) if r.get("trigger") == "train_begin"), None)


def end_record(result):
    """The last record after step 0, or `None`."""
    later = [r for r in records(result) if r.get("trigger") != "train_begin"]
    return later[-1] if later else None


def off_sets(record):
    """`{layer: (set of off unit indices, units)}`, or `None` without `off_units`."""
    layers = (record or {}).get("layers") or {}
    if not layers:
        return None
    out = {}
    for name, info in layers.items():
        if "off_units" not in info or not info.get("units"):
            return None
        out[name] = (set(int(i) for i in info["off_units"]), int(info["units"]))
    return out


def off_fraction(record):
    """Fraction of all watched units off in `record` (from `off_units`, else the counts)."""
    layers = (record or {}).get("layers") or {}
    total = sum(int(info.get("units") or 0) for info in layers.values())
    if not total:
        return None
    off = sum(len(info["off_units"]) if "off_units" in info else int(info.get("inactive_units")
                                                                      or 0)
              for info in layers.values())
    return off / total


def transitions(result):
    """`{"start", "end", "died", "revived", "stayed_died", "stayed_start"}` per seed, as
    fractions (`None` where a record or the unit lists are missing).

    `stayed_died`: of the units off at some record after step 0 and not at step 0, the
    share off at the end; `stayed_start`: of the units off at step 0, the share off at the
    end."""
    start, end = start_record(result), end_record(result)
    out = {"start": off_fraction(start), "end": off_fraction(end), "died": None,
           "revived": None, "stayed_died": None, "stayed_start": None}
    s_sets, e_sets = off_sets(start), off_sets(end)
    if s_sets is None or e_sets is None or set(s_sets) != set(e_sets):
        return out
    later = [off_sets(r) for r in records(result) if r.get("trigger") != "train_begin"]
    later = [sets for sets in later if sets is not None and set(sets) == set(s_sets)]
    total = sum(units for _, units in s_sets.values())
    died = revived = ever = kept = s_off = s_kept = 0
    for name, (s_off_units, _) in s_sets.items():
        e_off_units = e_sets[name][0]
        died += len(e_off_units - s_off_units)
        revived += len(s_off_units - e_off_units)
        training = set().union(*(sets[name][0] for sets in later)) - s_off_units
        ever += len(training)
        kept += len(training & e_off_units)
        s_off += len(s_off_units)
        s_kept += len(s_off_units & e_off_units)
    out.update(died=died / total, revived=revived / total,
               stayed_died=kept / ever if ever else None,
               stayed_start=s_kept / s_off if s_off else None)
    return out


def measure(key):
    """`fn(result)` reading one of `transitions`' fractions, for `c.values`."""
    return lambda result: transitions(result)[key]


# --- judge ------------------------------------------------------------------------------------

def _with(part, note):
    return Part(part.text, part.outcome, f"{part.detail}; {note}" if note else part.detail)


def keeps_units(text, runs):
    """Part (c)/(d): the inactive fraction at the end clearly below `LOST`; diverged seeds
    count as units not kept (see `RULE`)."""
    n = c.counts(runs)
    part = c.one_sided(text, runs, measure("end"), LOST, above=False)
    if not n["diverged"]:
        return part
    note = (f"{n['diverged']} of {n['n']} seeds diverged: a diverged network has not kept its "
            "units")
    if 2 * n["diverged"] >= n["n"] or part.outcome == FAILS:
        return Part(text, FAILS, f"{part.detail}; {note}")
    return Part(text, INCONCLUSIVE, f"{part.detail}; {note}")


def judge(arms):
    """Pure: `arms` is `{label: {seed: result}}` with the labels of `ARMS`.

    Returns `(Verdict, {name: Difference dict})`."""
    control = arms.get(CONTROL, {})
    parts, diffs, findings = [], {}, []
    for stress, label in STRESSES.items():
        stressed = arms.get(label, {})
        part, diff = c.compare(
            f"{stress}: ReLU units die during training (alive at step 0, dead at the end), "
            f"more than {100 * DIE:g} points more than without the stress", stressed, control,
            measure("died"), DIE, chance="include", names=(label, CONTROL))
        start = c.values(stressed, measure("start"))
        start_control = c.values(control, measure("start"))
        s_start = stats.summarize(list(start.values()))
        init_note = ""
        if s_start is not None:
            init_note = (f"dead at step 0 (killed at initialisation, not by training): "
                         f"{c.summary_cell(start)} vs {c.summary_cell(start_control)} without "
                         "the stress")
        parts.append(_with(part, init_note))
        diffs[f"{stress}: died during training, stressed - unstressed ReLU"] = (
            diff.to_dict() if diff else None)
        # Where does this stress kill units: at initialisation or during training?
        died = c.values(stressed, measure("died"))
        s_died = stats.summarize(list(died.values()))
        at_init = s_start is not None and (s_died is None or s_start.mean > s_died.mean)
        if at_init:
            findings.append(
                f"{stress}: {c.summary_cell(start)} of ReLU's units are dead at step 0, before "
                f"any update, against {c.summary_cell(died)} that die during training: the "
                "stress kills them at initialisation; their dying is not credited to training")
        if stress == "negative bias":  # the stress acts at initialisation (see RULE)
            stayed, what = measure("stayed_start"), "the units dead at step 0"
        else:
            stayed, what = measure("stayed_died"), "the units that died during training"
        parts.append(c.one_sided(f"{stress}: ReLU's dead units stay dead ({what}: share still "
                                 f"dead at the end above {STAY:.0%})", stressed, stayed, STAY))
        revived = c.values(stressed, measure("revived"))
        if revived:
            findings.append(f"{stress}: ReLU units revived (dead at step 0, alive at the end): "
                            f"{c.seed_cell(revived)} per seed")
        for act in OTHERS:
            other_label = f"{act} {stress}"
            parts.append(keeps_units(
                f"{stress}: {NAMES[act]} keeps its units (inactive at the end below "
                f"{LOST:.0%}; inactive, not dead: it still passes a gradient)",
                arms.get(other_label, {})))
            other = arms.get(other_label, {})
            o_start, o_end = c.values(other, measure("start")), c.values(other, measure("end"))
            if o_start:
                findings.append(f"{stress}: {NAMES[act]} inactive at step 0 "
                                f"{c.summary_cell(o_start)}, at the end {c.summary_cell(o_end)}")
    end_control = c.values(control, measure("end"))
    if end_control:
        died_control = c.values(control, measure("died"))
        findings.append(f"unstressed ReLU: dead at the end {c.summary_cell(end_control)} "
                        f"(died during training {c.summary_cell(died_control)})")
    verdict = combine(parts, RULE, findings, would_change=(
        f"a stressed - unstressed interval of 'died during training' reaching down to "
        f"{100 * DIE:g} points (for the bias stress, units already dead at step 0 never count "
        f"as dying in training), a share of dead units still dead at the end reaching down to "
        f"{STAY:.0%}, or a LeakyReLU/ELU inactive fraction reaching up to {LOST:.0%} (or a "
        "diverged LeakyReLU/ELU seed)"))
    return verdict, diffs


# --- analysis and figure ----------------------------------------------------------------------

def arm_runs(claim, results):
    """`{label: {seed: result}}`, selected by activation, learning rate and bias."""
    out = {label: c.runs_where(claim, results, preset="mlp", activation=a, learning_rate=r,
                               bias_init=b)
           for label, (a, r, b) in ARMS.items()}
    return out


def curve(result):
    """`(steps, off fractions)` over the monitor's records (step 0 first)."""
    pts = [(r.get("step"), off_fraction(r)) for r in records(result)]
    return [s for s, _ in pts], [v for _, v in pts]


def analyze(claim, results):
    arms = arm_runs(claim, results)
    course = c.runs_where(claim, results, preset="udacity", activation="relu")
    verdict, diffs = judge(arms)
    columns = ["arm", "runs", "kind", "off at step 0", "off at the end per seed",
               "off at the end", "died during training per seed", "died during training",
               "revived", "validation accuracy"]
    rows, numbers = [], {"differences": diffs, "arms": {}}
    for label, runs in {**arms, COURSE: course}.items():
        activation = ARMS[label][0] if label in ARMS else "relu"
        per = {key: c.values(runs, measure(key))
               for key in ("start", "end", "died", "revived", "stayed_died", "stayed_start")}
        valid = c.values(runs, c.final("valid_accuracy"))
        kind = "dead" if activation == "relu" else "inactive"
        rows.append([label + (" (reference, not judged)" if label == COURSE else ""),
                     c.counts_text(c.counts(runs)), kind, c.summary_cell(per["start"]),
                     c.seed_cell(per["end"]), c.summary_cell(per["end"]),
                     c.seed_cell(per["died"]), c.summary_cell(per["died"]),
                     c.summary_cell(per["revived"]), c.summary_cell(valid)])
        numbers["arms"][label] = {**{key: c.numbers(v) for key, v in per.items()},
                                  "kind": kind, "valid_accuracy": c.numbers(valid),
                                  "runs": c.counts(runs)}
    series = {label: {seed: {"off": curve(r), "status": c.status(r)} for seed, r in runs.items()}
              for label, runs in arms.items()}
    series["_died"] = {label: c.values(runs, measure("died")) for label, runs in arms.items()}
    series["_start"] = {label: c.values(runs, measure("start")) for label, runs in arms.items()}
    return c.Analysis(columns, rows, numbers, verdict, series,
                      {label: c.counts(r) for label, r in {**arms, COURSE: course}.items()})


def draw(claim, analysis):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(3)
    for ax, stress in zip(axes, STRESSES):
        for label in (CONTROL, *(f"{a} {stress}" for a in ("relu", *OTHERS))):
            seeds_ = analysis.series.get(label) or {}
            diverged = {s for s, v in seeds_.items() if v["status"] == "diverged"}
            f.seed_curves(ax, label, {s: v["off"] for s, v in seeds_.items()},
                          diverged=diverged)
        ax.set_xlim(left=0)
        f.finish(ax, f"{stress}: units off for every probe image",
                 ylabel="fraction of units dead (ReLU) or inactive")
    points = {}
    for stress, label in STRESSES.items():
        points[f"{stress}: dead at step 0"] = (analysis.series.get("_start") or {}).get(label, {})
        points[f"{stress}: died in training"] = (analysis.series.get("_died") or {}).get(label, {})
    points["unstressed: died in training"] = (analysis.series.get("_died") or {}).get(CONTROL, {})
    f.seed_points(axes[2], points, "fraction of ReLU units", percent=True)
    axes[2].set_title("ReLU: killed at initialisation vs died in training")
    figure.suptitle("Claim 6: dying units (each seed thin, mean ± sd band; x: diverged)")
    return figure
