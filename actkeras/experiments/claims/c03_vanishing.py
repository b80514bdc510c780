"""Claim 3: the sigmoid's derivative is at most 0.25, so gradient norms shrink layer by
layer in deep sigmoid networks and not in ReLU ones (seeds 001, 002).

Runs: step-0 probes (`experiments.probes`) of the deep MLP (hidden layers of 100 units)
at several depths and 10 seeds, for every arm of `claims.deep`: the activation (ReLU,
sigmoid, tanh, rescaled sigmoids) and what travels with it, the initial weight scale
(glorot_uniform, LeCun, He, 4 and 8 times glorot) and batch normalisation; and each
arm's training at its best learning rate, so every gradient is tied to whether the arm
trains at all.
Measurement: the decay across the depth, log10(RMS gradient of the last hidden layer /
that of the first), of the kernel gradient (what `GradientNormLogger` reports) and of
the backpropagated error dL/dz (what the activation's derivative multiplies).
Judged at the standard initialisations (glorot_uniform for sigmoid, He for ReLU) at
depth 20; the sweep is what the verdict's scope rests on.
"""

from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims import deep
from actkeras.experiments.claims.presets import data_note, reason, seeds_note
from actkeras.experiments.rules import AS_RUN, TUNED, protocol
from actkeras.experiments.spec import Claim

ID = 3
PROTOCOL = protocol(ID)
DRAWN = ("relu", "relu glorot", "sigmoid", "sigmoid x8", "sigmoid + BN", "tanh")
SCALES = ("sigmoid", "sigmoid lecun", "sigmoid he", "sigmoid x4", "sigmoid x8", "sigmoid + BN")


def build(sizes, tuned):
    trained, waiting = deep.runs(sizes, ID, deep.ARMS, tuned, settings=(TUNED,))
    notes = [f"Depths {', '.join(map(str, sizes.probe_depths))}: " + reason("probe_depths", sizes),
             f"Judged at depth {sizes.deep_depth}, at step 0 (before any update): the claim's "
             "mechanism is a property of the backward pass at given weights, and at step 0 "
             "every arm sits at its initializer's designed scale.",
             f"Step-0 gradients on the first {sizes.probe_size} validation images, "
             f"{len(sizes.seeds(PROTOCOL, 'judged'))} seeds per arm and depth; "
             f"training at each arm's best learning rate: "
             f"{seeds_note(sizes, protocol(5))}.",
             "The kernel gradient dL/dW = h^T dL/dz also carries the size of the layer's "
             "inputs h: when the signal and the error shrink together (ReLU with "
             "glorot_uniform) the two can cancel in it, so the backpropagated error is "
             "reported beside it and is the alternative aggregate."]
    return Claim(
        id=ID, title="Vanishing gradients with depth",
        statement="The sigmoid's derivative is at most 0.25, so gradient norms shrink layer "
                  "by layer in deep sigmoid networks and not in ReLU ones.",
        quote="the maximum of the derivative of the sigmoid function is 0.25 ... after many "
              "layers you will multiply these gradients, and the product of many values "
              "smaller than 1 goes to zero very quickly (seed 000, translated; seed 002)",
        source="seeds 000, 001, 002", seed_file="seeds/001_740307ee495fdbfa.txt",
        setup=f"Deep MLP (hidden layers of 100 units) on Fashion-MNIST, {data_note(sizes)}. "
              "Step-0 gradients per hidden layer for 14 arms (activation x initial weight "
              "scale x batch normalisation, `claims.deep`) at depths "
              f"{', '.join(map(str, sizes.probe_depths))}; each arm also trained "
              f"({sizes.deep_epochs} epochs, SGD, batch 32) at its best learning rate.",
        runs=tuple(deep.probes(sizes, ID)) + tuple(trained),
        tuning=tuple(deep.searches(sizes).values()), waiting=tuple(waiting),
        notes=tuple(notes), params={"depth": sizes.deep_depth},
    )


METRICS = {"decay_kernel": deep.DECAY_KERNEL, "decay_error": deep.DECAY_ERROR}


def judged_depth(claim):
    return claim.params.get("depth", PROTOCOL.params["depth"])


def roles(claim, results):
    depth = judged_depth(claim)
    return {AS_RUN: {label: deep.probe_seeds(claim, results, label, depth) for label in deep.ARMS}}


def depths_of(claim):
    for spec in claim.runs:
        if spec.kind == "probe":
            return tuple(spec.overrides["depths"])
    return ()


def numbers(claim, results):
    out = c.settings_numbers(roles(claim, results), METRICS)
    depth = judged_depth(claim)
    out["depth"] = depth
    out["sweep"] = deep.sweep(claim, results, deep.ARMS, depths_of(claim))
    out["profiles"] = {label: deep.profiles(claim, results, label, depth) for label in DRAWN}
    out["searches"] = c.search_numbers(claim, results)
    out["trainability"] = deep.trainability(claim, results, deep.ARMS, out["searches"])
    return out


def per_layer(sweep_entry):
    """Decades per layer: the least-squares slope of the mean decay against depth."""
    points = [(int(d), e["decay_kernel"]["mean"], e["decay_error"]["mean"])
              for d, e in sweep_entry.items() if e.get("decay_kernel") and e.get("decay_error")]
    if len(points) < 2:
        return None, None
    xs = [p[0] for p in points]
    mx = sum(xs) / len(xs)
    sxx = sum((x - mx) ** 2 for x in xs)

    def slope(k):
        ys = [p[k] for p in points]
        my = sum(ys) / len(ys)
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx

    return slope(1), slope(2)


def findings(numbers):
    found = []
    depth = numbers.get("depth")
    sweep = numbers.get("sweep") or {}
    for label in deep.ARMS:
        entry = (sweep.get(label) or {}).get(str(depth)) or {}
        if not entry.get("decay_kernel"):
            continue
        k, e = entry["decay_kernel"], entry["decay_error"]
        slopes = per_layer(sweep.get(label) or {})
        text = (f"{label} ({deep.WHAT[label]}), depth {depth}: kernel-gradient decay "
                f"{k['mean']:.2f} ± {k['std']:.2f} decades, backpropagated error "
                f"{e['mean']:.2f} ± {e['std']:.2f}")
        if slopes[0] is not None:
            text += f"; {slopes[1]:.3f} decades per layer (error)"
        found.append(text)
    scales = [(label, ((sweep.get(label) or {}).get(str(depth)) or {}).get("decay_error"))
              for label in SCALES]
    scales = [(label, e["mean"]) for label, e in scales if e]
    if scales:
        found.append("the same sigmoid, its derivative never above 0.25, decays by "
                     + ", ".join(f"{v:.1f} ({label})" for label, v in scales)
                     + " decades of backpropagated error: the initial weight scale and "
                       "normalisation set the decay as much as the activation does")
    relu_glorot = (sweep.get("relu glorot") or {}).get(str(depth)) or {}
    if relu_glorot.get("decay_kernel") and relu_glorot.get("decay_error"):
        found.append(f"ReLU with glorot_uniform: the kernel-gradient ratio reads "
                     f"{relu_glorot['decay_kernel']['mean']:.2f} decades but the backpropagated "
                     f"error decays {relu_glorot['decay_error']['mean']:.2f}: the signal and the "
                     "error shrink together and cancel in the kernel gradient")
    return found


def tables(numbers):
    sweep = numbers.get("sweep") or {}
    depths = sorted({int(d) for per in sweep.values() for d in per})
    columns = (["arm", "activation and initial weights"]
               + [f"kernel decay, depth {d}" for d in depths]
               + [f"error decay, depth {d}" for d in depths]
               + ["mean derivative / peak", "saturated (< 1 / 5 / 10 / 25 % of peak)"])
    rows = []
    for label in deep.ARMS:
        per = sweep.get(label) or {}
        row = [label, deep.WHAT[label]]
        for key in ("decay_kernel", "decay_error"):
            for d in depths:
                s = (per.get(str(d)) or {}).get(key)
                row.append(f"{s['mean']:.2f} ± {s['std']:.2f}" if s else "–")
        judged = per.get(str(numbers.get("depth"))) or {}
        row.append(f"{judged['derivative']:.2f}" if judged.get("derivative") is not None else "–")
        sat = judged.get("saturated")
        row.append(" / ".join(f"{100 * v:.0f} %" for v in sat.values()) if sat else "–")
        rows.append(row)
    out = [("Step-0 decay across the depth (decades, mean ± sd over seeds)", columns, rows)]
    out.append(("Each arm trained at its best learning rate (trainability)",
                ["arm", "activation and initial weights", "best learning rate",
                 "search: validation accuracy per rate (%; added: by the grid-extension rule)", "validation accuracy at it",
                 "runs"], numbers.get("trainability") or []))
    return out


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(4, width=22)
    profiles = numbers.get("profiles") or {}
    for ax, index, what in ((axes[0], 1, "kernel gradient"), (axes[1], 2, "backpropagated error")):
        for label in DRAWN:
            curves = {s: (p[0], p[index]) for s, p in (profiles.get(label) or {}).items()}
            f.seed_curves(ax, label, curves)
        f.finish(ax, f"{what} per layer at step 0 (depth {numbers.get('depth')})",
                 xlabel="hidden layer (1 = next to the input)", ylabel=f"log10 RMS {what}",
                 ylim=None)
    from matplotlib import colormaps

    palette = colormaps["tab20"]
    for i, (label, per) in enumerate((numbers.get("sweep") or {}).items()):
        points = sorted((int(d), e["decay_error"]["mean"]) for d, e in per.items()
                        if e.get("decay_error"))
        if points:
            axes[2].plot(*zip(*points), marker="o", linewidth=1, markersize=3, label=label,
                         color=palette(i % 20), linestyle="-" if i < 10 else "--")
    axes[2].axhline(PROTOCOL.rule("a").margin.value, color="black", linestyle=":", linewidth=1)
    f.finish(axes[2], "error decay against depth, every arm", xlabel="hidden layers",
             ylabel="decades (log10 last / first layer)", ylim=None, legend=False)
    if axes[2].get_legend_handles_labels()[0]:
        axes[2].legend(fontsize=6, ncol=2)
    f.parts_panel(axes[3], verdicts)
    figure.suptitle("Claim 3: gradients through a deep MLP at step 0 (each seed thin, mean ± "
                    "sd band); dotted: one decade")
    return figure
