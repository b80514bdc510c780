"""Claim 12: sigmoid's top hidden layer saturates first (Glorot and Bengio 2010).

The paper trains networks of 1,000-unit layers from its standard initialisation
U[-1/sqrt(n), 1/sqrt(n)] with minibatches of 10 and follows each hidden layer's
activations on a fixed set of 300 examples: with 4 hidden layers of sigmoids the top
layer is pushed to 0 at once while the lower layers stay above 0.5 (Figure 2, on
Shapeset-3x2); with 5 it never leaves that regime. Its Table 1 orders the test errors of
5-layer networks: sigmoid worst, tanh better, tanh with the normalised ("Xavier")
initialisation and softsign best (MNIST: 2.21, 1.76, 1.64, 1.64 %).

Runs: sigmoid, tanh, tanh with the normalised initialisation ("tanh N") and softsign, at
4 and 5 hidden layers of 1,000 units, 1,000 updates of 10 images on Fashion-MNIST, with
`ActivationStats` (with its histograms) every 50 updates on 300 validation images: at
SGD 0.1 for every network ("as run") and, for each network a part judges, at its own
best learning rate ("tuned", from a Keras Tuner grid search, as the paper chose a rate
per network).
Measurement, per seed, from the monitor's records: the top layer's mean output at its
lowest and at the end, the lower layers' lowest mean at the top layer's lowest point,
the 98th percentile of each layer's outputs read off the monitor's histogram
(`percentile`), and the final test accuracy.
"""

import math

import numpy as np

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.presets import data_note, reason, seeds_note
from actkeras.experiments.claims.runs import best_rate, small_grid, tune_run
from actkeras.experiments.rules import AS_RUN, TUNED, protocol
from actkeras.experiments.spec import Claim, RunSpec

ID = 12
PROTOCOL = protocol(ID)
P = PROTOCOL.params
REFERENCE = ("Glorot, X. and Bengio, Y. (2010). Understanding the difficulty of training deep "
             "feedforward neural networks. Proceedings of AISTATS, PMLR 9, 249-256.")
# arm: (activation, initializer, gain): U[-1/sqrt(n), 1/sqrt(n)] is LeCun's uniform
# (limit sqrt(3 / n)) times 1/sqrt(3); the normalised initialisation is glorot_uniform.
ARMS = {
    "sigmoid": ("sigmoid", "lecun_uniform", 1 / math.sqrt(3)),
    "tanh": ("tanh", "lecun_uniform", 1 / math.sqrt(3)),
    "tanh N": ("tanh", "glorot_uniform", 1.0),
    "softsign": ("softsign", "lecun_uniform", 1 / math.sqrt(3)),
}
# Table 1, test error (%) of 5-hidden-layer networks (MNIST column).
TABLE1_MNIST = {"sigmoid": 2.21, "tanh": 1.76, "tanh N": 1.64, "softsign": 1.64}


def label(arm, depth):
    return f"{arm} {depth}"


def monitor_every(steps):
    """About 20 records, on a multiple of the 10 updates per execution."""
    return max(10, int(round(steps / 20 / 10)) * 10)


def glorot_run(sizes, arm, depth, seed, *, learning_rate=None, tuned_from=None):
    """A run of network `arm` at `depth` hidden layers; at SGD 0.1 unless `learning_rate`
    (always explicit, so that a search that picks 0.1 gives the very runs as run)."""
    activation, initializer, gain = ARMS[arm]
    steps = sizes.glorot_steps
    rate = P["learning_rate"] if learning_rate is None else learning_rate
    return RunSpec(
        claim=ID, label=label(arm, depth) + (f" {TUNED}" if tuned_from else ""),
        activation=activation, preset="mlp",
        overrides={"hidden_units": (sizes.glorot_width,) * depth, "initializer": initializer,
                   "init_gain": gain, "optimizer": "sgd", "learning_rate": rate,
                   "batch_size": P["batch"], "steps": steps, "steps_per_execution": 10},
        dataset="fashion_mnist", source=sizes.source, subset=sizes.glorot_subset, seed=seed,
        log_every=steps, monitors=("histograms",), probe_size=P["probe"],
        monitor_every=monitor_every(steps), tuned_from=tuned_from, final_train=False,
    )


def judged_labels():
    """The networks a part judges (`"sigmoid 4"`, ..., `"softsign 5"`), in the order of the
    arms and depths: the ones with a search and a tuned setting."""
    named = {arm for rule in PROTOCOL.parts for arm in rule.arms}
    return [name for name in all_labels() if name in named]


def grid(sizes):
    full = P["grid"]
    return full if sizes.tune_grids else small_grid(full, P["learning_rate"])


def searches(sizes):
    """`{label: tune RunSpec}`: one learning-rate search per judged network (activation and
    depth), seed 1000, scored by the final validation accuracy after the judged runs' budget."""
    out = {}
    for name in judged_labels():
        arm, depth = name.rsplit(" ", 1)
        out[name] = tune_run(glorot_run(sizes, arm, int(depth), 0), grid(sizes),
                             f"{name} (search)")
    return out


def tuned_runs(sizes, tuned):
    """`(runs, waiting)`: each judged network's seeds at its searched rate, and the names of
    those still waiting for their search."""
    runs, waiting = [], []
    if not sizes.tuned:
        return runs, waiting
    for name, search in searches(sizes).items():
        rate = best_rate(tuned, search)
        if rate is None:
            waiting.append(f"{name} {TUNED}")
            continue
        arm, depth = name.rsplit(" ", 1)
        runs += [glorot_run(sizes, arm, int(depth), s, learning_rate=rate,
                            tuned_from=search.run_id) for s in sizes.seeds(PROTOCOL)]
    return runs, waiting


def build(sizes, tuned):
    steps = sizes.glorot_steps
    rates = ", ".join(f"{r:g}" for r in grid(sizes))
    notes = [f"{seeds_note(sizes, PROTOCOL)}. {c.NO_FINAL_TRAIN}",
             f"{steps:,} updates of {P['batch']} images, SGD at {P['learning_rate']:g} as run: "
             + reason("glorot_steps", sizes),
             (f"Tuned: each network a part judges ({', '.join(judged_labels())} hidden layers) "
              f"at its own best of {len(grid(sizes))} learning rates ({rates}), from a search "
              "of its own (one trial per rate, seed 1000, scored by the final validation "
              "accuracy after the same budget), then judged on the seeds above; the paper also "
              "chose each network's rate on its validation error. The 4-layer tanh, tanh N and "
              "softsign networks, which no part judges, are shown as run only."
              if sizes.tuned else f"Tuned (each judged network at its own best learning "
              f"rate): not run in the {sizes.name} preset."),
             f"Layers of {sizes.glorot_width:,} units"
             + ("" if sizes.glorot_width == P["width"] else
                f" (the {sizes.name} preset; the paper's {P['width']:,})") + ".",
             "MNIST is not among the shared data: the runs use Fashion-MNIST, a harder task, "
             "so the test errors are far above Table 1's and only their order is compared. "
             "The paper's Figure 2 is on Shapeset-3x2 and shows each layer's mean with its "
             "standard deviation; its Figures 3 and 10 show 98th percentiles (tanh, softsign); "
             "the figure here shows every arm's means with a band up to the 98th percentile.",
             f"`ActivationStats` every {monitor_every(steps)} updates (and before the first) on "
             f"the first {P['probe']} validation images, as the paper's fixed set of 300 "
             "examples; the 98th percentile is read off its 40-bin histogram of each layer's "
             "outputs (linear within a bin, so to about 1/40 of the layer's range).",
             "Softsign's family in the monitors is 'bounded' (odd, with no floor): they "
             "report no saturated fraction for it (their line is defined for sigmoid and "
             "tanh) and count none of its units inactive."]
    depths = tuple(sizes.glorot_depths)
    runs = [glorot_run(sizes, arm, depth, s) for arm in ARMS for depth in depths
            for s in sizes.seeds(PROTOCOL)]
    tuned_, waiting = tuned_runs(sizes, tuned)
    return Claim(
        id=ID, title="Sigmoid's top hidden layer saturates first",
        statement="In a 4-hidden-layer sigmoid network with the standard initialisation the "
                  "top hidden layer is pushed to 0 while the lower layers stay near 0.5; with 5 "
                  "hidden layers it never escapes; test errors order sigmoid > tanh > tanh with "
                  "normalised initialisation and softsign.",
        quote="very quickly at the beginning, all the sigmoid activation values of the last "
              "hidden layer are pushed to their lower saturation value of 0. Inversely, the "
              "others layers have a mean activation value that is above 0.5 ... the depth-five "
              "model never escaped this regime during training (section 3.1)",
        source="Glorot and Bengio 2010",
        setup=f"MLPs of {', '.join(map(str, depths))} hidden layers of {sizes.glorot_width:,} "
              "units, zero biases, the standard initialisation U[-1/sqrt(n), 1/sqrt(n)] "
              "(glorot_uniform for tanh N), softmax output, SGD on minibatches of "
              f"{P['batch']} for {steps:,} updates on Fashion-MNIST, {data_note(sizes)}"
              + (f", the first {sizes.glorot_subset[0]:,} training images"
                 if sizes.glorot_subset and sizes.glorot_subset[0] else "")
              + "; `ActivationStats` follows each hidden layer's outputs.",
        runs=tuple(runs) + tuple(tuned_), tuning=tuple(searches(sizes).values()),
        waiting=tuple(waiting), notes=tuple(notes),
        published={arm: {"test error, MNIST, 5 hidden layers (%)": err}
                   for arm, err in TABLE1_MNIST.items()},
        published_source="Glorot and Bengio 2010, Table 1 (MNIST column; 5 hidden layers; "
                         "checked against the paper's text: its other rows are Softsign N "
                         "1.72 and no Sigmoid N)",
    )


# --- measurement -----------------------------------------------------------------------------

def records(result):
    found = [r for r in (((result or {}).get("monitors") or {}).get("stats") or [])
             if isinstance(r, dict) and r.get("layers")]
    return sorted(found, key=lambda r: (r.get("step") or 0, r.get("trigger") != "train_begin"))


def _index(name):
    tail = name.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 10 ** 6


def layer_names(record):
    """The hidden layers of a record, input side first."""
    return sorted((record or {}).get("layers") or {}, key=_index)


def percentile(histogram, q):
    """The `q`-th percentile (0-100) of the values a 40-bin histogram (`{"counts",
    "edges"}`) counts, linear within its bin; `None` without one."""
    if not histogram:
        return None
    counts = np.asarray(histogram.get("counts") or [], dtype="float64")
    edges = np.asarray(histogram.get("edges") or [], dtype="float64")
    if counts.size == 0 or edges.size != counts.size + 1 or counts.sum() <= 0:
        return None
    target = q / 100.0 * counts.sum()
    cumulative = np.cumsum(counts)
    i = int(np.searchsorted(cumulative, target, side="left"))
    i = min(i, counts.size - 1)
    before = cumulative[i - 1] if i else 0.0
    inside = (target - before) / counts[i] if counts[i] else 0.0
    return float(edges[i] + min(max(inside, 0.0), 1.0) * (edges[i + 1] - edges[i]))


def profile(result):
    """`{"steps": [...], "layers": [{"mean": [...], "std": [...], "p98": [...]}]}`, input
    side first, or `None`."""
    found = records(result)
    if not found:
        return None
    names = layer_names(found[0])
    layers = [{"mean": [], "std": [], "p98": []} for _ in names]
    for r in found:
        for i, name in enumerate(names):
            info = r["layers"].get(name) or {}
            layers[i]["mean"].append(info.get("mean"))
            layers[i]["std"].append(info.get("std"))
            layers[i]["p98"].append(percentile(info.get("histogram"), 98))
    return {"steps": [r.get("step") for r in found], "layers": layers}


def _top(result):
    p = profile(result)
    if not p or len(p["layers"]) < 2 or any(v is None for v in p["layers"][-1]["mean"]):
        return None, None
    return p, p["layers"][-1]["mean"]


def top_min(result):
    _, top = _top(result)
    return None if top is None else min(top)


def top_end(result):
    _, top = _top(result)
    return None if top is None else top[-1]


def _lower_at(result, which):
    p, top = _top(result)
    if top is None:
        return None
    i = int(np.argmin(top)) if which == "top_min" else len(top) - 1
    lower = [layer["mean"][i] for layer in p["layers"][:-1]]
    return None if any(v is None for v in lower) else min(lower)


METRICS = {
    "top_min": c.Metric(top_min, "output", "the top hidden layer's mean output at its lowest"),
    "top_end": c.Metric(top_end, "output", "the top hidden layer's mean output at the end"),
    "lower_min": c.Metric(lambda r: _lower_at(r, "top_min"), "output",
                          "the lowest mean output of the lower layers, when the top layer's "
                          "is lowest"),
    "lower_end": c.Metric(lambda r: _lower_at(r, "end"), "output",
                          "the lowest mean output of the lower layers at the end"),
    "test": c.Metric(c.final("test_accuracy"), "pts", "final test accuracy", chance=0.1),
    "valid": c.VALID,
}


def all_labels():
    return [label(arm, depth) for arm in ARMS for depth in P["depths"]]


def roles(claim, results):
    return {AS_RUN: {name: c.runs_labelled(claim, results, name) for name in all_labels()},
            TUNED: {name: c.runs_labelled(claim, results, f"{name} {TUNED}")
                    for name in judged_labels()}}


def shown(name, setting):
    """How an arm is named outside the verdict: `"sigmoid 5"` as run, `"sigmoid 5 tuned"`."""
    return name if setting == AS_RUN else f"{name} {setting}"


def numbers(claim, results):
    arms = roles(claim, results)
    out = c.settings_numbers(arms, METRICS)
    out["profiles"] = {shown(name, setting): {seed: profile(r) for seed, r in runs.items()
                                              if c.status(r) == "ok"}
                       for setting, per in arms.items() for name, runs in per.items()}
    out["searches"] = c.search_numbers(claim, results)
    out["table1"] = dict(TABLE1_MNIST)
    return out


# --- findings, tables, figure ----------------------------------------------------------------

def mean_profile(numbers, name):
    """`(steps, [per layer {"mean", "p98"} mean over seeds])` of an arm, or `None`."""
    profiles = [p for p in ((numbers.get("profiles") or {}).get(name) or {}).values() if p]
    if not profiles:
        return None
    length = min(len(p["steps"]) for p in profiles)
    depth = min(len(p["layers"]) for p in profiles)

    def avg(key, layer, i):
        values = stats.finite([p["layers"][layer][key][i] for p in profiles])
        return sum(values) / len(values) if values else None

    layers = [{key: [avg(key, layer, i) for i in range(length)] for key in ("mean", "p98")}
              for layer in range(depth)]
    return profiles[0]["steps"][:length], layers


def _fmt(v, digits=3):
    return "–" if v is None else f"{v:.{digits}f}"


def layers_text(name):
    """`"sigmoid 4 hidden layers"`, or `"sigmoid 4 hidden layers, tuned"` for a tuned arm."""
    base = name.removesuffix(f" {TUNED}")
    return f"{base} hidden layers" + (f", {TUNED}" if base != name else "")


def shown_labels():
    """Every arm as `findings` and `tables` name it: as run, then tuned."""
    return [shown(name, AS_RUN) for name in all_labels()] + \
        [shown(name, TUNED) for name in judged_labels()]


def findings(numbers):
    found = []
    for name in shown_labels():
        per_seed = [p for p in ((numbers.get("profiles") or {}).get(name) or {}).values() if p]
        if not per_seed:
            continue
        arm = name.split(" ", 1)[0]
        if arm == "sigmoid":
            ordered = 0
            escaped = 0
            for p in per_seed:
                top = p["layers"][-1]["mean"]
                i = int(np.argmin(top))
                lower = [layer["mean"][i] for layer in p["layers"][:-1]]
                ordered += all(a < b for a, b in zip(lower, lower[1:]))
                escaped += (top[-1] - top[i]) > 0.05
            found.append(f"{layers_text(name)}: the lower layers' means rise from the input "
                         f"side towards the top (the paper: 'decreasing as we go from the output "
                         f"layer to the input layer') in {ordered} of {len(per_seed)} seeds; the "
                         f"top layer's mean rose by more than 0.05 from its lowest by the end "
                         f"(leaving saturation) in {escaped} of {len(per_seed)} (the paper's "
                         "4-layer network left it around epoch 100 of its Figure 2, far beyond "
                         "this budget)")
        mean = mean_profile(numbers, name)
        if mean:
            steps, layers = mean
            found.append(f"{name}: at the end (step {steps[-1]}), mean output per layer "
                         + " / ".join(_fmt(layer["mean"][-1]) for layer in layers)
                         + "; 98th percentile "
                         + " / ".join(_fmt(layer["p98"][-1], 2) for layer in layers)
                         + " (input side first, mean over seeds)")
    found += c.search_findings(numbers)
    return found


def _rate(numbers, setting, name):
    if setting == AS_RUN:
        return P["learning_rate"]
    return ((numbers.get("searches") or {}).get(f"{name} (search)") or {}).get("best")


def _test_error(numbers, setting, name):
    arm = ((numbers.get("settings") or {}).get(setting) or {}).get(name) or {}
    s = stats.summarize(list(((arm.get("values") or {}).get("test") or {}).values()))
    return "–" if s is None else f"{100 * (1 - s.mean):.1f} ± {100 * s.std:.1f}"


def tables(numbers):
    rows = []
    for setting, names in ((AS_RUN, all_labels()), (TUNED, judged_labels())):
        settings = (numbers.get("settings") or {}).get(setting) or {}
        for name in names:
            arm_numbers = settings.get(name) or {}
            if not arm_numbers.get("status"):
                continue
            values = arm_numbers.get("values") or {}
            mean = mean_profile(numbers, shown(name, setting))
            per_layer = " / ".join(_fmt(layer["mean"][-1]) for layer in mean[1]) if mean else "–"
            at_chance, _ = c.chance_count(numbers, setting, name, PROTOCOL)
            rate = _rate(numbers, setting, name)
            rows.append([setting, name, "–" if rate is None else f"{rate:g}", per_layer,
                         c.summary_cell(values.get("top_min") or {}, False),
                         c.summary_cell(values.get("test") or {}),
                         c.counts_cell(c.statuses_of(numbers, setting, name), at_chance or None)])
    out = [("Each arm at the end of its budget", ["setting", "arm (hidden layers)",
            "learning rate", "mean output per layer at the end (input side first)",
            "top layer's lowest mean", "test accuracy", "runs"], rows)]
    table1 = numbers.get("table1") or {}
    settings = [AS_RUN] + ([TUNED] if any(_test_error(numbers, TUNED, label(arm, 5)) != "–"
                                          for arm in table1) else [])
    rows = [[arm, f"{err:.2f}"] + [_test_error(numbers, setting, label(arm, 5))
                                   for setting in settings] for arm, err in table1.items()]
    out.append(("Test error (%), 5 hidden layers: Table 1 (MNIST, trained to convergence, each "
                "network at its chosen rate) beside ours (Fashion-MNIST, the budget above)",
                ["arm", "Table 1, MNIST", f"ours, as run (SGD {P['learning_rate']:g})",
                 "ours, tuned (each at its best rate)"][:2 + len(settings)], rows))
    searches_ = c.search_table(numbers, "network (hidden layers)")
    if searches_:
        out.append(searches_)
    return out


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    names = [n for n in ("sigmoid 4", "sigmoid 5", "tanh 4", "tanh 5", "tanh N 5", "softsign 5")
             if mean_profile(numbers, n)]
    tuned = [n for n in (shown(name, TUNED) for name in ("sigmoid 4", "sigmoid 5", "tanh 5",
                                                        "tanh N 5"))
             if mean_profile(numbers, n)]
    names += tuned
    figure, axes = f.new_figure(4, width=22, nrows=3 if tuned else 2, height=3.8)
    for ax, name in zip(axes, names):
        steps, layers = mean_profile(numbers, name)
        for i, layer in enumerate(layers):
            color = ax._get_lines.get_next_color()
            m = [np.nan if v is None else v for v in layer["mean"]]
            p = [np.nan if v is None else v for v in layer["p98"]]
            ax.plot(steps, m, color=color, marker="o", markersize=2, label=f"layer {i + 1}")
            ax.fill_between(steps, m, p, color=color, alpha=0.15, linewidth=0)
        low = -1 if name.startswith(("tanh", "softsign")) else 0
        f.finish(ax, f"{layers_text(name)}: mean, band to 98th pct", xlabel="update",
                 ylabel="activation output", ylim=(low, 1))
    test_ax = axes[min(len(names), len(axes) - 2)]
    per_arm = {}
    for setting in (AS_RUN, TUNED):
        for arm in ARMS:
            test = (((numbers.get("settings") or {}).get(setting) or {}).get(label(arm, 5)) or {})
            values = (test.get("values") or {}).get("test") or {}
            if values:
                per_arm[shown(arm, setting)] = values
    if per_arm:
        f.seed_points(test_ax, per_arm, "test accuracy (5 hidden layers)", reference=0.1)
    test_ax.set_title("test accuracy after the budget, as run and tuned (dashed: chance)")
    f.parts_panel(axes[-1], verdicts)
    for ax in axes[len(names) + 1:-1]:
        ax.set_visible(False)
    figure.suptitle("Claim 12: each hidden layer's outputs during training (mean over seeds), "
                    "as Glorot and Bengio's Figures 2 and 3"
                    + ("; 'tuned': at the network's best learning rate" if tuned else ""))
    return figure
