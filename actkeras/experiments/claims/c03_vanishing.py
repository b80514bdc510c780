"""Claim 3: the sigmoid's derivative is at most 0.25, so gradient norms shrink layer by
layer in deep sigmoid networks and not in ReLU ones.

Runs: the shared deep MLP (20 hidden layers of 100 units in the full preset) with ReLU
(He and glorot_uniform), sigmoid and tanh, with `GradientNormLogger` and
`ActivationStats` monitors.
Measurement: per seed, the gradient *decay* in decades = log10(RMS kernel gradient of
the last hidden layer / that of the first hidden layer) (positive: the gradient fades
on its way back to the input), read at step 0 (the untrained network) and at the end
of epoch 1 (the old measurement).
Judge: at step 0; sigmoid's decay clearly above 1 decade, ReLU's (He) clearly below it,
and the paired difference sigmoid - ReLU clearly above half a decade (95 % t intervals).
"""

import math

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.sizes import (
    data_note,
    deep_description,
    deep_runs,
    reason,
    seeds_note,
)
from actkeras.experiments.judging import combine
from actkeras.experiments.spec import Claim

ID = 3
LABELS = ("relu", "relu glorot", "sigmoid", "tanh")
# One decade (a factor 10 between the last and the first hidden layer) is what
# "vanishing" means here; the same line decides "shrinks" (sigmoid) and "does not
# shrink" (ReLU), so both arms are judged against one definition.
VANISH = 1.0
# Half a decade (a factor 3) for the paired difference sigmoid - ReLU: about twice the
# seed-to-seed sd of ReLU's decay (0.23 decade at epoch 1 in the first full run), so a
# smaller difference is within what the seeds do on their own.
MARGIN = 0.5
# The point the claim is judged at: step 0, the untrained network. The claim's
# mechanism (a derivative <= 0.25 multiplied layer after layer) is a property of the
# backward pass at given weights; at step 0 every arm sits at its initializer's
# designed scale, so the decay measures the activation and nothing else. By the end of
# epoch 1 the arms are in different states (a sigmoid network that never trained
# against a ReLU network that did), which mixes training into the comparison; that
# point is reported beside it.
POINTS = {"step 0": "train_begin", "epoch 1": "epoch_end"}
POINT = "step 0"
# A kernel gradient that underflowed to exactly 0 is floored at the smallest float32
# (a denormal), so its decay is a lower bound instead of a missing value.
TINY = 1.4e-45

RULE = (
    "Decay = log10(RMS kernel gradient of the last hidden layer / that of the first hidden "
    f"layer) per seed, at {POINT} (the untrained network; epoch 1 reported beside it). "
    f"Parts: (a) sigmoid's decay: the 95 % t interval of its mean lies above {VANISH:g} "
    f"decade (a factor 10); (b) ReLU's (He initialisation): the interval lies below "
    f"{VANISH:g} decade; (c) the per-seed difference sigmoid - ReLU: the interval lies above "
    f"{MARGIN:g} decade. A part fails when its interval lies wholly on the other side and is "
    "inconclusive when it straddles. Diverged runs are left out and counted; runs at chance "
    "are kept (their gradients are the evidence). All hold: reproduced; all fail: not "
    "reproduced; some each way: mixed; otherwise inconclusive."
)


def build(sizes):
    notes = [f"Depth {sizes.deep_depth}, {sizes.deep_epochs} epoch(s): "
             + reason("deep_epochs", sizes)]
    if sizes.deep_depth < 20:
        notes.append(f"Shallower than the full run: {sizes.deep_depth} hidden layers, not 20 "
                     "(a smoke test: decays are a fraction of the full network's).")
    notes.append(f"{seeds_note(sizes)}: " + reason("seeds", sizes))
    notes.append("Monitors measure on the first "
                 f"{sizes.probe_size} validation images (one probe batch).")
    return Claim(
        id=ID, title="Vanishing gradients with depth",
        statement="The sigmoid's derivative is at most 0.25, so gradient norms shrink layer "
                  "by layer in deep sigmoid networks and not in ReLU ones.",
        source="seeds 001, 002", seed_file="seeds/001_740307ee495fdbfa.txt",
        setup=f"Deep MLP ({deep_description(sizes)}) on Fashion-MNIST, {data_note(sizes)}; "
              "per-layer kernel gradient norms of the training loss from `GradientNormLogger` "
              "on one probe batch, at step 0 and after each epoch; ReLU with He "
              "initialisation (and with glorot_uniform), sigmoid and tanh with "
              f"glorot_uniform; {seeds_note(sizes)}.",
        runs=deep_runs(sizes, ID, LABELS),
        notes=tuple(notes),
    )


# --- measurement ------------------------------------------------------------------------

def monitor_record(result, name, point):
    """The record of monitor `name` at `point` ("step 0" or "epoch 1"), or `None`."""
    trigger = POINTS[point]
    for record in ((result or {}).get("monitors") or {}).get(name) or []:
        if record.get("trigger") == trigger and (trigger == "train_begin"
                                                 or record.get("epoch") == 1):
            return record
    return None


def kernel_gradient_norms(record):
    """`[(layer index, norm)]` of the hidden Dense kernels (`dense_<i>/kernel`) of a
    `GradientNormLogger` record, in depth order (the output layer left out)."""
    found = []
    for path, norm in ((record or {}).get("weights") or {}).items():
        parts = path.split("/")
        if (len(parts) >= 2 and parts[-1] == "kernel" and parts[-2].startswith("dense_")
                and parts[-2][6:].isdigit() and isinstance(norm, (int, float))):
            found.append((int(parts[-2][6:]), float(norm)))
    return sorted(found)


def gradient_profile(result, point=POINT):
    """`[(hidden layer index, RMS kernel gradient)]` at `point`: each kernel's gradient
    norm over the square root of its number of entries."""
    record = monitor_record(result, "gradients", point)
    if record is None:
        return []
    config = (result or {}).get("config") or {}
    widths = ([int(math.prod(config.get("input_shape", (28, 28))))]
              + [int(u) for u in config.get("hidden_units", [])])
    profile = []
    for layer, norm in kernel_gradient_norms(record):
        if layer + 1 < len(widths) and math.isfinite(norm):
            profile.append((layer, max(norm, TINY) / math.sqrt(widths[layer] * widths[layer + 1])))
    return profile


def decay(result, point=POINT):
    """log10(RMS gradient of the last hidden kernel / that of the first), or `None`."""
    profile = gradient_profile(result, point)
    if len(profile) < 2:
        return None
    return math.log10(profile[-1][1] / profile[0][1])


def decay_at(point):
    return lambda result: decay(result, point)


# --- judge --------------------------------------------------------------------------------

def judge(arms, point=POINT):
    """Pure: `arms` is `{label: {seed: result}}` with "relu" (He) and "sigmoid" (others
    only reported). Returns `(Verdict, {name: Difference dict})`."""
    relu, sigmoid = arms.get("relu", {}), arms.get("sigmoid", {})
    fn = decay_at(point)
    parts = [
        c.one_sided(f"sigmoid's gradients decay by at least {VANISH:g} decade (x10) from the "
                    "last to the first hidden layer", sigmoid, fn, VANISH, above=True,
                    percent=False),
        c.one_sided(f"ReLU's (He) gradients decay by less than {VANISH:g} decade", relu, fn,
                    VANISH, above=False, percent=False),
    ]
    part, diff = c.compare(f"sigmoid's gradients decay clearly more than ReLU's (by more "
                           f"than {MARGIN:g} decade, paired by seed)", sigmoid, relu, fn, MARGIN,
                           percent=False, chance="include", names=("sigmoid", "ReLU"))
    parts.append(part)
    for name, runs in (("sigmoid", sigmoid), ("ReLU", relu)):
        n = c.counts(runs)
        if n["diverged"]:
            parts[0 if name == "sigmoid" else 1] = _with_note(
                parts[0 if name == "sigmoid" else 1],
                f"{n['diverged']} of {n['n']} seeds diverged, left out")
    findings = []
    for label, runs in arms.items():
        here = c.values(runs, fn)
        other_point = next(p for p in POINTS if p != point)
        there = c.values(runs, decay_at(other_point))
        if here or there:
            findings.append(f"{label}: decay {c.summary_cell(here, False, 2)} decades at {point}, "
                            f"{c.summary_cell(there, False, 2)} at {other_point}")
    other = next(p for p in POINTS if p != point)
    other_parts = [
        c.one_sided("", sigmoid, decay_at(other), VANISH, above=True, percent=False).outcome,
        c.one_sided("", relu, decay_at(other), VANISH, above=False, percent=False).outcome,
        c.compare("", sigmoid, relu, decay_at(other), MARGIN, percent=False,
                  chance="include")[0].outcome,
    ]
    if other_parts != [p.outcome for p in parts]:
        findings.append(f"at {other} the parts would read {', '.join(other_parts)} "
                        f"(judged at {point})")
    verdict = combine(parts, RULE, findings, would_change=(
        f"a sigmoid decay whose interval reached down to {VANISH:g} decade, a ReLU decay "
        f"reaching up to it, or a paired difference reaching down to {MARGIN:g} decade "
        "(e.g. a shallower network: the decay grows with depth, about 0.6 decade per sigmoid "
        "layer)"))
    return verdict, {f"decay sigmoid - ReLU at {point}": diff.to_dict() if diff else None}


def _with_note(part, note):
    from actkeras.experiments.judging import Part

    return Part(part.text, part.outcome, f"{part.detail}; {note}")


# --- analysis and figure ----------------------------------------------------------------------

def arm_runs(claim, results, labels=LABELS):
    """`{label: {seed: result}}` of this claim's deep-MLP arms."""
    return c.deep_arm_runs(claim, results, labels)


def _sci(by_seed):
    s = stats.summarize(list(by_seed.values()))
    if s is None:
        return "–"
    return f"{s.mean:.2e}" + (f" ± {s.std:.1e}" if s.n > 1 else "")


def profile_series(runs):
    """`{point: {seed: (hidden layer numbers from 1, log10 RMS)}}` and the statuses."""
    out = {}
    for point in POINTS:
        out[point] = {}
        for seed, result in runs.items():
            profile = gradient_profile(result, point)
            if profile:
                out[point][seed] = ([i + 1 for i, _ in profile],
                                    [math.log10(v) for _, v in profile])
    out["status"] = {seed: c.status(r) for seed, r in runs.items()}
    return out


def analyze(claim, results):
    arms = arm_runs(claim, results)
    verdict, diffs = judge(arms)
    columns = ["arm", "runs", f"decay at {POINT} per seed (decades)",
               f"decay at {POINT} (mean ± sd)", "decay at epoch 1 (mean ± sd)",
               f"gradient RMS, first hidden layer ({POINT})",
               f"gradient RMS, last hidden layer ({POINT})", "validation accuracy"]
    rows, numbers = [], {"differences": diffs, "arms": {}, "point": POINT}
    for label, runs in arms.items():
        here = c.values(runs, decay_at(POINT))
        epoch1 = c.values(runs, decay_at("epoch 1"))
        first = c.values(runs, lambda r: (gradient_profile(r) or [(0, None)])[0][1])
        last = c.values(runs, lambda r: (gradient_profile(r) or [(0, None)])[-1][1])
        valid = c.values(runs, c.final("valid_accuracy"))
        rows.append([label, c.counts_text(c.counts(runs)), c.seed_cell(here, False, 2),
                     c.summary_cell(here, False, 2), c.summary_cell(epoch1, False, 2),
                     _sci(first), _sci(last), c.summary_cell(valid)])
        numbers["arms"][label] = {"decay_step0": c.numbers(here), "decay_epoch1": c.numbers(epoch1),
                                  "valid_accuracy": c.numbers(valid), "runs": c.counts(runs)}
    series = {label: profile_series(runs) for label, runs in arms.items()}
    return c.Analysis(columns, rows, numbers, verdict, series,
                      {label: c.counts(r) for label, r in arms.items()})


def draw_profiles(analysis, title, axes):
    """On two axes (step 0, epoch 1): log10 RMS kernel gradient against hidden layer,
    every seed thin, mean ± sd band, one y scale for both panels and every arm."""
    from actkeras.experiments import figures as f

    colors, ys_all = {}, []
    for ax, point in zip(axes, POINTS):
        for label, series in analysis.series.items():
            curves = series.get(point) or {}
            diverged = {s for s, st in (series.get("status") or {}).items() if st == "diverged"}
            colors[label] = f.seed_curves(ax, label, curves, color=colors.get(label),
                                          diverged=diverged)
            for _, ys in curves.values():
                ys_all.extend(ys)
    ylim = (min(ys_all) - 0.5, max(ys_all) + 0.5) if ys_all else None
    for ax, point in zip(axes, POINTS):
        f.finish(ax, f"{title}: gradients at {point}", xlabel="hidden layer (1 = next to the input)",
                 ylabel="log10 RMS kernel gradient", ylim=ylim)


def draw(claim, analysis):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(2)
    draw_profiles(analysis, "Claim 3", axes)
    figure.suptitle("Gradient per hidden layer in the deep MLP (each seed thin, mean ± sd band;"
                    " x: diverged)")
    return figure
