"""Claim 4: a sigmoid rescaled so that its derivative peaks at 1, 1 / (1 + exp(-4x)), does
not cure the vanishing gradient: its narrower non-saturated region undoes it (a comment
on seed 002).

The slope and the weight scale are one knob: sigmoid(a (W x + b)) = sigmoid((a W) x +
a b), so a slope-a sigmoid on glorot_uniform weights is a plain sigmoid started with
weights (and biases) a times larger, and SGD on it moves (a W) a^2 times faster than on
the plain sigmoid's weights. The claim is therefore judged at slope 4 as asked, and the
verdict is read against a sweep of the slope (1, 2, 4, 8, 16) at step 0 and at each
slope's best learning rate.

Runs: claim 3's step-0 probes for the slopes and the plain sigmoid; the deep MLP with
ReLU (He), the plain sigmoid and slope 4 at SGD 0.05 ("as run") and at each one's best
learning rate ("tuned"); every slope at its best rate.
"""

from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims import deep
from actkeras.experiments.claims.presets import CHANCE, data_note, seeds_note
from actkeras.experiments.rules import AS_RUN, TUNED, protocol
from actkeras.experiments.spec import Claim

ID = 4
PROTOCOL = protocol(ID)
SLOPES = ("sigmoid", "slope 2", "slope 4", "slope 8", "slope 16")  # slope 1 is the sigmoid
TRAINED = ("relu", "sigmoid", "slope 4")


def build(sizes, tuned):
    as_run, waiting = deep.runs(sizes, ID, TRAINED, tuned)
    sweep, waiting_sweep = deep.runs(sizes, ID, ("slope 2", "slope 8", "slope 16"), tuned,
                                     settings=(TUNED,))
    return Claim(
        id=ID, title="The rescaled sigmoid 1 / (1 + exp(-4x))",
        statement="A sigmoid rescaled so that its derivative peaks at 1 does not cure the "
                  "vanishing gradient: its narrower non-saturated region undoes it.",
        source="seed 002 (a comment's question)", seed_file="seeds/002_971926e18ad6f5cd.txt",
        setup=f"The deep MLP of claim 3 ({sizes.deep_depth} hidden layers of 100 units, "
              f"{sizes.deep_epochs} epochs, SGD, batch 32) on Fashion-MNIST, "
              f"{data_note(sizes)}: sigmoid(a x) on glorot_uniform weights for slopes a = 1 "
              "(the plain sigmoid), 2, 4, 8, 16 and ReLU (He); step-0 gradients (claim 3's "
              "probes) and training as run (SGD 0.05) and at each arm's best learning rate; "
              f"{seeds_note(sizes, PROTOCOL)}.",
        runs=tuple(deep.probes(sizes, ID, SLOPES)) + tuple(as_run) + tuple(sweep),
        tuning=tuple(deep.searches(sizes, TRAINED + ("slope 2", "slope 8", "slope 16")).values()),
        waiting=tuple(waiting + waiting_sweep),
        notes=("A slope-a sigmoid is a plain sigmoid with a times larger weights and biases "
               "trained at a^2 times the learning rate (same function, same trajectory): the "
               "slope and the weight scale cannot be told apart, and the verdict is scoped to "
               "slope 4 on glorot_uniform weights.",
               "Saturation is the share of hidden units whose derivative is below a line "
               "relative to its peak (4 s (1 - s) for every slope), at 1, 5, 10 and 25 %: "
               "whether 'saturation is the mechanism' depends on the line."),
        params={"depth": sizes.deep_depth},
    )


METRICS = {"decay_kernel": deep.DECAY_KERNEL, "decay_error": deep.DECAY_ERROR,
           "valid": c.VALID, "valid_last3": c.VALID_LAST3}


def roles(claim, results):
    depth = claim.params.get("depth", 20)
    out = {setting: {label: deep.arm_runs(claim, results, label, setting) for label in TRAINED}
           for setting in (AS_RUN, TUNED)}
    for label in ("sigmoid", "slope 4"):
        out[AS_RUN][f"{label} (step 0)"] = deep.probe_seeds(claim, results, label, depth)
    return out


def numbers(claim, results):
    out = c.settings_numbers(roles(claim, results), METRICS)
    depth = claim.params.get("depth", 20)
    out["depth"] = depth
    out["sweep"] = deep.sweep(claim, results, SLOPES, (depth,))
    out["searches"] = c.search_numbers(claim, results)
    out["trainability"] = deep.trainability(claim, results, SLOPES + ("relu",), out["searches"])
    out["series"] = {setting: {label: {str(s): {"valid": c.budget_curve(r), "status": c.status(r)}
                                       for s, r in deep.arm_runs(claim, results, label,
                                                                 setting).items()}
                               for label in TRAINED} for setting in (AS_RUN, TUNED)}
    return out


def findings(numbers):
    found = []
    depth = str(numbers.get("depth"))
    for label in SLOPES:
        entry = (numbers.get("sweep") or {}).get(label, {}).get(depth) or {}
        if not entry.get("decay_kernel"):
            continue
        sat = entry.get("saturated") or {}
        found.append(
            f"{label if label != 'sigmoid' else 'slope 1 (plain sigmoid)'} at step 0: kernel "
            f"decay {entry['decay_kernel']['mean']:.2f} decades, error decay "
            f"{entry['decay_error']['mean']:.2f}; mean derivative {entry.get('derivative', 0):.2f}"
            f" of its peak; saturated below 1 / 5 / 10 / 25 % of the peak: "
            + " / ".join(f"{100 * v:.1f} %" for v in sat.values()))
    for row in numbers.get("trainability") or []:
        found.append(f"{row[0]} at its best learning rate {row[2]}: validation {row[4]}")
    return found


def tables(numbers):
    out = []
    rows = []
    for setting, per in (numbers.get("settings") or {}).items():
        for role in per:
            if role.endswith("(step 0)"):
                continue
            valid = c.values_of(numbers, setting, role, "valid")
            rows.append([setting, role, c.counts_cell(c.statuses_of(numbers, setting, role)),
                         c.seed_cell(valid), c.summary_cell(valid)])
    out.append(("Trained arms", ["setting", "arm", "runs", "validation per seed",
                                 "validation (mean ± sd)"], rows))
    out.append(("Every slope at its best learning rate",
                ["arm", "activation and initial weights", "best learning rate",
                 "search: validation accuracy per rate (%; added: by the grid-extension rule)", "validation accuracy at it",
                 "runs"], numbers.get("trainability") or []))
    return out


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(3)
    depth = str(numbers.get("depth"))
    slopes = [(1 if label == "sigmoid" else int(label.split()[1]),
               (numbers.get("sweep") or {}).get(label, {}).get(depth) or {}) for label in SLOPES]
    slopes = [(a, e) for a, e in slopes if e.get("decay_kernel")]
    for key, name in (("decay_kernel", "kernel gradient"), ("decay_error", "error dL/dz")):
        axes[0].errorbar([a for a, _ in slopes], [e[key]["mean"] for _, e in slopes],
                         yerr=[e[key]["std"] for _, e in slopes], marker="o", capsize=3,
                         label=name)
    axes[0].axhline(1.0, color="black", linestyle=":", linewidth=1, label="one decade")
    if slopes:
        axes[0].set_xscale("log", base=2)
    f.finish(axes[0], f"step-0 decay by slope (depth {depth})", xlabel="slope a of sigmoid(a x)",
             ylabel="decades (log10 last / first layer)", ylim=None)
    for setting, style in ((AS_RUN, "-"), (TUNED, "--")):
        for label, seeds in ((numbers.get("series") or {}).get(setting) or {}).items():
            f.seed_curves(axes[1], f"{label} ({setting})", {s: v["valid"] for s, v in seeds.items()},
                          linestyle=style)
    f.chance_line(axes[1], CHANCE)
    f.step_axis(axes[1])
    f.finish(axes[1], "validation accuracy")
    f.parts_panel(axes[2], verdicts)
    figure.suptitle("Claim 4: the rescaled sigmoid (each seed thin, mean ± sd band)")
    return figure
