"""Claim 6: with a large learning rate, a large share of ReLU units die and stay dead;
LeakyReLU and ELU do not lose their units (seeds 001, 002, 003).

The seeds describe training that pushes a unit's weights and bias so far negative that
it is off for every input, after which it gets no gradient. So every unit here is
followed from step 0, where all but a few are alive, and only the units training
switches off are counted. Two stresses: Adam at a large rate (0.03) throughout, and
the same rate as a pulse (steps 200 to 600) followed by ordinary training (0.001),
which is where "stay dead" can be tested: the units have 1,980 ordinary steps to come
back.

Runs: a 3 x 256 MLP (He, Adam, batch 64) on Fashion-MNIST with ReLU unstressed (Adam
0.001) and ReLU, LeakyReLU(0.3) and ELU under each stress, `DeadReLUMonitor` every 100
steps, the biases recorded at the end.
Measurement, per seed, from the monitor's lists of units off for every probe image
(`off_units`): "died" = alive at step 0, off at the end and at each of the 5 records
before it (the last 500 steps), over all hidden units (for LeakyReLU and ELU the same
count is "inactive": off, but still passing a gradient); "stayed" = of the units alive
at step 0 and off when the pulse ends, the share that died by that rule.
"""

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.presets import data_note, seeds_note
from actkeras.experiments.claims.runs import KWARGS
from actkeras.experiments.rules import AS_RUN, protocol
from actkeras.experiments.spec import Claim, RunSpec

ID = 6
PROTOCOL = protocol(ID)
LARGE, BASE = PROTOCOL.params["large_lr"], PROTOCOL.params["base_lr"]
PULSE = PROTOCOL.params["pulse"]
PERSIST = PROTOCOL.params["persist"]
# label: (activation, learning rate, pulse or None)
ARMS = {
    "relu": ("relu", BASE, None),
    "relu lr 0.03": ("relu", LARGE, None),
    "leaky_relu lr 0.03": ("leaky_relu", LARGE, None),
    "elu lr 0.03": ("elu", LARGE, None),
    "relu pulse": ("relu", BASE, PULSE),
    "leaky_relu pulse": ("leaky_relu", BASE, PULSE),
    "elu pulse": ("elu", BASE, PULSE),
}


def dying_run(sizes, label, seed):
    activation, rate, pulse = ARMS[label]
    overrides = {"hidden_units": (256, 256, 256), "initializer": "he_normal",
                 "optimizer": "adam", "learning_rate": rate, "batch_size": 64,
                 "epochs": sizes.dying_epochs}
    if pulse:
        overrides["lr_pulse"] = tuple(pulse)
    return RunSpec(
        claim=ID, label=label, activation=activation,
        activation_kwargs=KWARGS.get(activation, {}), preset="mlp", overrides=overrides,
        dataset="fashion_mnist", source=sizes.source, subset=sizes.fashion_subset,
        seed=seed, monitors=("dead",), probe_size=sizes.probe_size,
        monitor_every=PROTOCOL.params["monitor_every"], measures=("unit_biases",),
    )


def build(sizes, tuned):
    notes = [f"{seeds_note(sizes, PROTOCOL)}.",
             f"A unit is off when it is off for every one of the first {sizes.probe_size} "
             "validation images (the probe): a smaller probe finds more units off.",
             f"Stresses: Adam {LARGE:g} throughout; Adam {BASE:g} with a pulse of {PULSE[0]:g} "
             f"for steps {PULSE[1]} to {PULSE[2]} (the protocol's reasons below)."]
    return Claim(
        id=ID, title="Dying ReLU",
        statement="With a large learning rate a large share of ReLU units die and stay dead; "
                  "LeakyReLU and ELU do not lose their units.",
        quote="The Dying ReLU problem can occur when the weights of a neuron are adjusted so "
              "that the bias term becomes very negative ... [pay attention to] the learning rate "
              "[seed 003, translated] ... "
              "Leaky-RELU prevents activated units in the negative regime from having a "
              "zero-gradient",
        source="seeds 001, 002, 003", seed_file="seeds/001_740307ee495fdbfa.txt",
        setup=f"MLP of 3 x 256 units, He initialisation, zero biases, Adam, batch 64, "
              f"{sizes.dying_epochs} epoch(s) on Fashion-MNIST, {data_note(sizes)}; "
              "`DeadReLUMonitor` lists the units off for every probe image at step 0 and every "
              "100 steps; the biases are recorded at the end.",
        runs=tuple(dying_run(sizes, label, s) for label in ARMS
                   for s in sizes.seeds(PROTOCOL, "judged")),
        notes=tuple(notes),
    )


# --- measurement -----------------------------------------------------------------------------

def records(result):
    found = [r for r in (((result or {}).get("monitors") or {}).get("dead") or [])
             if isinstance(r, dict)]
    return sorted(found, key=lambda r: (r.get("step") or 0, r.get("trigger") != "train_begin"))


def off_sets(record):
    """`{layer: set of off units}`, or `None` without unit lists."""
    layers = (record or {}).get("layers") or {}
    if not layers or any("off_units" not in info for info in layers.values()):
        return None
    return {name: set(int(i) for i in info["off_units"]) for name, info in layers.items()}


def total_units(record):
    return sum(int(info.get("units") or 0) for info in ((record or {}).get("layers") or {}).values())


def transitions(result, persist=PERSIST, pulse_end=PULSE[2]):
    """`{"died", "died_last", "stayed", "revived", "start"}` of one run, fractions of all
    hidden units (`stayed` of the units off when the pulse ends; `None` where a record is
    missing or the run has no pulse)."""
    found = records(result)
    out = {"died": None, "died_last": None, "stayed": None, "revived": None, "start": None}
    if len(found) < 2 or found[0].get("trigger") != "train_begin":
        return out
    start = off_sets(found[0])
    later = [(r.get("step"), off_sets(r)) for r in found[1:]]
    later = [(step, sets) for step, sets in later if sets is not None and set(sets) == set(start or {})]
    total = total_units(found[0])
    if start is None or not later or not total:
        return out
    tail = [sets for _, sets in later[-(persist + 1):]]
    persistent = {name: set.intersection(*(sets[name] for sets in tail)) for name in start}
    last = later[-1][1]
    out["start"] = sum(map(len, start.values())) / total
    out["died"] = sum(len(persistent[n] - start[n]) for n in start) / total
    out["died_last"] = sum(len(last[n] - start[n]) for n in start) / total
    out["revived"] = sum(len(start[n] - last[n]) for n in start) / total
    spec = (result or {}).get("spec") or {}
    if ((spec.get("overrides") or {}).get("lr_pulse")) is not None:
        at_end = next((sets for step, sets in later if step is not None and step >= pulse_end), None)
        if at_end is not None:
            killed = {n: at_end[n] - start[n] for n in start}
            n_killed = sum(map(len, killed.values()))
            if n_killed:
                out["stayed"] = sum(len(killed[n] & persistent[n]) for n in start) / n_killed
    return out


def measure(key):
    return lambda result: transitions(result)[key]


def bias_gap(result):
    """Mean final bias of the units that died minus that of the units that stayed alive
    (negative: training pushed the dying units' biases down)."""
    found = records(result)
    biases = (((result or {}).get("measures") or {}).get("unit_biases") or {}).get("layers") or {}
    if len(found) < 2 or not biases:
        return None
    start, end = off_sets(found[0]), off_sets(found[-1])
    if start is None or end is None:
        return None
    died, alive = [], []
    for name in start:
        layer_biases = biases.get(name.replace("activation", "dense"))
        if layer_biases is None:
            continue
        for unit, b in enumerate(layer_biases):
            if unit in end[name] and unit not in start[name]:
                died.append(b)
            elif unit not in end[name]:
                alive.append(b)
    if not died or not alive:
        return None
    return sum(died) / len(died) - sum(alive) / len(alive)


METRICS = {
    "died": c.Metric(measure("died"), "share", "units that died in training (alive at step 0, "
                     "off for the last 500 steps)"),
    "died_last": c.Metric(measure("died_last"), "share", "units alive at step 0 and off at "
                          "the last record"),
    "stayed": c.Metric(measure("stayed"), "share", "share of the units the pulse switched off "
                       "that stayed off"),
    "revived": c.Metric(measure("revived"), "share", "units off at step 0 and on at the end"),
    "start": c.Metric(measure("start"), "share", "units off at step 0"),
    "bias_gap": c.Metric(bias_gap, "bias", "final bias, died minus alive units"),
    "valid": c.VALID,
}


def roles(claim, results):
    return {AS_RUN: {label: c.runs_labelled(claim, results, label) for label in ARMS}}


def numbers(claim, results):
    arms = roles(claim, results)
    out = c.settings_numbers(arms, METRICS)
    out["series"] = {label: {str(s): {"off": ([r.get("step") for r in records(res)],
                                              [_off_fraction(r) for r in records(res)]),
                                      "status": c.status(res)}
                             for s, res in runs.items()} for label, runs in arms[AS_RUN].items()}
    return out


def _off_fraction(record):
    total = total_units(record)
    sets = off_sets(record)
    return sum(map(len, sets.values())) / total if sets is not None and total else None


def findings(numbers):
    found = []
    for label in ARMS:
        parts = []
        for key in ("start", "died", "died_last", "revived", "stayed"):
            s = stats.summarize(list(c.values_of(numbers, AS_RUN, label, key).values()))
            if s:
                parts.append(f"{key.replace('_', ' ')} {stats.fmt_summary(s, percent=True)}")
        valid = stats.summarize(list(c.values_of(numbers, AS_RUN, label, "valid").values()))
        if valid:
            parts.append(f"validation {stats.fmt_summary(valid, percent=True)}")
        if parts:
            found.append(f"{label}: " + ", ".join(parts))
    for label in ("relu lr 0.03", "relu pulse"):
        gap = stats.estimate(c.values_of(numbers, AS_RUN, label, "bias_gap"))
        if gap:
            if gap.high is not None and gap.high < 0:
                said = "training drove the dying units' biases below the others', as the seed says"
            elif gap.low is not None and gap.low > 0:
                said = "the dying units' biases ended above the others': not the seed's mechanism"
            else:
                said = "no clear difference in the biases"
            found.append(f"{label}: the final bias of the units that died minus that of the "
                         f"units alive: {stats.fmt_diff(gap, 3)}: {said}")
    return found


def tables(numbers):
    columns = ["arm", "runs", "off at step 0", "died per seed", "died (mean ± sd)",
               "off at the last record", "revived", "stayed (pulse)", "validation"]
    rows = []
    for label in ARMS:
        cell = {k: c.values_of(numbers, AS_RUN, label, k) for k in METRICS}
        rows.append([label, c.counts_cell(c.statuses_of(numbers, AS_RUN, label)),
                     c.summary_cell(cell["start"]), c.seed_cell(cell["died"]),
                     c.summary_cell(cell["died"]), c.summary_cell(cell["died_last"]),
                     c.summary_cell(cell["revived"]), c.summary_cell(cell["stayed"]),
                     c.summary_cell(cell["valid"])])
    return [("Units (dead for ReLU, inactive for LeakyReLU and ELU), shares of all hidden "
             "units", columns, rows)]


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(3)
    series = numbers.get("series") or {}
    for ax, stress in zip(axes, ("lr 0.03", "pulse")):
        for label in ("relu", f"relu {stress}", f"leaky_relu {stress}", f"elu {stress}"):
            seeds = series.get(label) or {}
            f.seed_curves(ax, label, {s: v["off"] for s, v in seeds.items()},
                          diverged={s for s, v in seeds.items() if v["status"] == "diverged"})
        if stress == "pulse":
            ax.axvspan(PULSE[1], PULSE[2], color="grey", alpha=0.15, label="pulse")
        f.finish(ax, f"{stress}: units off for every probe image",
                 ylabel="share of units dead (ReLU) or inactive")
    f.parts_panel(axes[2], verdicts)
    figure.suptitle("Claim 6: dying units (each seed thin, mean ± sd band; x: diverged)")
    return figure
