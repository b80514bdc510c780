"""Claim 4: a sigmoid rescaled so that its derivative peaks at 1, 1 / (1 + exp(-4x)), does
not cure the vanishing gradient: its narrower non-saturated region undoes it.

Runs: the shared deep MLP of claim 3 with ReLU (He), the plain sigmoid and the rescaled
one (glorot_uniform), with `GradientNormLogger` and `ActivationStats` monitors.
Measurement: per seed, the gradient decay in decades (claim 3's, at step 0 and at
epoch 1), the saturated fraction of the hidden units (derivative below 1 % of its
peak, mean over hidden layers) and their mean derivative relative to its peak
(4 (m - m^2 - sd^2) from the outputs' mean m and sd: exact for any sigmoid slope),
and the final validation accuracy.
Judge: (a) the rescaled sigmoid's decay is still clearly above 1 decade; (b) it trains
clearly worse than ReLU (paired, 1 point); (c) "undoes it": the rescaling does not
reduce the decay by more than 1 decade against the plain sigmoid (paired). When it
reduces it a lot without removing it, the verdict names a partial cure.
"""

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims import c03_vanishing as v
from actkeras.experiments.claims.sizes import (
    CHANCE,
    data_note,
    deep_description,
    deep_runs,
    reason,
    seeds_note,
)
from actkeras.experiments.judging import Part, combine
from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE
from actkeras.experiments.spec import Claim

ID = 4
LABELS = ("relu", "sigmoid", "scaled_sigmoid")
POINT = v.POINT  # step 0, for claim 3's reason: the decay of the activation alone
# One decade, as in claim 3: a factor 10 across the depth is "vanishing".
VANISH = v.VANISH
# "Undoes it" is judged against the same factor 10: a rescaling that cuts the decay by
# more than one decade has changed the gradient reaching the first layer tenfold, which
# is not "undone", even if some decay remains.
CURE = 1.0
# One point of validation accuracy, as in claim 1: below it nobody would prefer one
# activation; a network that trained is tens of points above one stuck at chance.
ACCURACY = 0.01
# Below 5 % of units saturated, saturation cannot carry a decay of several decades:
# the remaining 95 % pass a gradient of at least 1 % of the peak, and the decay is
# set by their typical derivative, reported beside it.
FEW_SATURATED = 0.05

RULE = (
    f"Decay (claim 3's, at {POINT}) = log10(RMS kernel gradient of the last hidden layer / "
    "that of the first). Parts: (a) the rescaled sigmoid's decay: the 95 % t interval of its "
    f"mean lies above {VANISH:g} decade; (b) ReLU's validation accuracy minus the rescaled "
    f"sigmoid's, per seed: the interval lies above {ACCURACY:.0%} (one point; a network stuck "
    "at chance while every ReLU seed trained decides it alone); (c) the rescaling's gain is "
    "undone: the per-seed reduction of the decay against the plain sigmoid (sigmoid - "
    f"rescaled) is not clearly above {CURE:g} decade (holds when the interval lies at or "
    "below it, fails when it lies above it). A reduction clearly above one decade while (a) "
    "holds is named a partial cure. Saturation (share of units whose derivative is below 1 % "
    "of its peak) and the mean derivative are measured and reported, not assumed. All hold: "
    "reproduced; all fail: not reproduced; some each way: mixed; otherwise inconclusive."
)


def build(sizes):
    notes = [f"Depth {sizes.deep_depth}, {sizes.deep_epochs} epoch(s): "
             + reason("deep_epochs", sizes),
             f"{seeds_note(sizes)}: " + reason("seeds", sizes),
             "Saturated: derivative below 1 % of its peak, read from the outputs "
             "(4 s (1 - s) < 0.01, whatever the slope); measured on the first "
             f"{sizes.probe_size} validation images."]
    if sizes.deep_depth < 20:
        notes.append(f"Shallower than the full run: {sizes.deep_depth} hidden layers, not 20.")
    return Claim(
        id=ID, title="The rescaled sigmoid 1 / (1 + exp(-4x))",
        statement="A sigmoid rescaled so that its derivative peaks at 1 does not cure the "
                  "vanishing gradient: its narrower non-saturated region undoes it.",
        source="seed 002 (a comment's question)", seed_file="seeds/002_971926e18ad6f5cd.txt",
        setup=f"The deep MLP of claim 3 ({deep_description(sizes)}) on Fashion-MNIST, "
              f"{data_note(sizes)}, with `scaled_sigmoid` (slope 4: derivative peak 1) against "
              "the plain sigmoid (peak 0.25), both glorot_uniform, and ReLU (He); gradient "
              "decay, saturated fraction and mean derivative at step 0 and after epoch 1 "
              f"(`GradientNormLogger`, `ActivationStats`); {seeds_note(sizes)}.",
        runs=deep_runs(sizes, ID, LABELS),
        notes=tuple(notes),
    )


# --- measurement ------------------------------------------------------------------------

def _layer_means(result, point, fn):
    record = v.monitor_record(result, "stats", point)
    if record is None:
        return None
    values = [fn(layer) for layer in (record.get("layers") or {}).values()
              if layer.get("family") in ("sigmoid", "tanh")]
    values = [x for x in values if x is not None]
    return sum(values) / len(values) if values else None


def saturated(result, point=POINT):
    """Mean over sigmoid-family hidden layers of the saturated fraction (`None` for ReLU)."""
    return _layer_means(result, point, lambda layer: layer.get("saturated_fraction")
                        if isinstance(layer.get("saturated_fraction"), (int, float)) else None)


def relative_derivative(result, point=POINT):
    """Mean over sigmoid hidden layers of E[s'] / max s' = 4 (m - m^2 - sd^2)."""
    def one(layer):
        if layer.get("family") != "sigmoid":
            return None
        m, sd = layer.get("mean"), layer.get("std")
        if not isinstance(m, (int, float)) or not isinstance(sd, (int, float)):
            return None
        return 4.0 * (m - m * m - sd * sd)
    return _layer_means(result, point, one)


def at(fn, point):
    return lambda result: fn(result, point)


# --- judge --------------------------------------------------------------------------------

def judge(arms, point=POINT):
    """Pure: `arms` is `{label: {seed: result}}` with relu, sigmoid, scaled_sigmoid.
    Returns `(Verdict, {name: Difference dict})`."""
    relu, sigmoid, scaled = (arms.get(k, {}) for k in LABELS)
    decay = v.decay_at(point)
    parts = [c.one_sided(f"the rescaled sigmoid's gradients still decay by at least "
                         f"{VANISH:g} decade across the depth", scaled, decay, VANISH,
                         above=True, percent=False)]
    acc_part, acc_diff = c.compare("the rescaled sigmoid trains clearly worse than ReLU "
                                   "(validation accuracy)", relu, scaled,
                                   c.final("valid_accuracy"), ACCURACY,
                                   names=("ReLU", "rescaled sigmoid"))
    parts.append(acc_part)
    cut_part, cut = c.compare("", sigmoid, scaled, decay, CURE, percent=False, chance="include",
                              names=("sigmoid", "rescaled sigmoid"))
    flipped = {HOLDS: FAILS, FAILS: HOLDS}.get(cut_part.outcome, INCONCLUSIVE)
    parts.append(Part(f"the rescaling's gain is undone: it does not cut the decay by more than "
                      f"{CURE:g} decade against the plain sigmoid", flipped,
                      "reduction (sigmoid - rescaled) " + cut_part.detail))

    findings = []
    cured = cut_part.outcome  # HOLDS: the rescaling cuts the decay by more than CURE
    still = parts[0].outcome
    d = stats.summarize(list(c.values(sigmoid, decay).values()))
    r = stats.summarize(list(c.values(scaled, decay).values()))
    change = (f"from {d.mean:.1f} to {r.mean:.1f} decades" if d and r else "")
    if cured == HOLDS and still == HOLDS:
        findings.append(f"partial cure: the rescaling cuts the gradient decay {change} "
                        f"({stats.fmt_diff(cut, 2)}) but does not remove it "
                        f"(still above {VANISH:g} decade)")
    elif cured == HOLDS and still == FAILS:
        findings.append(f"cure of the gradient decay: the rescaling cuts it {change} and "
                        f"below {VANISH:g} decade")
    elif cured == FAILS:
        findings.append(f"no cure: the rescaling does not cut the decay by {CURE:g} decade "
                        f"({change})")
    sat_scaled = c.values(scaled, at(saturated, point))
    sat_plain = c.values(sigmoid, at(saturated, point))
    der_scaled = c.values(scaled, at(relative_derivative, point))
    der_plain = c.values(sigmoid, at(relative_derivative, point))
    s_sat = stats.summarize(list(sat_scaled.values()))
    s_der = stats.summarize(list(der_scaled.values()))
    if s_sat is not None:
        text = (f"saturation at {point}: {stats.fmt_summary(s_sat, 3, True)} of the rescaled "
                f"sigmoid's units (plain sigmoid {c.summary_cell(sat_plain, True)})")
        if s_der is not None:
            text += (f"; their mean derivative is {s_der.mean:.2f} of its peak of 1 (plain "
                     f"sigmoid {c.summary_cell(der_plain, False, 2)} of its peak of 0.25)")
        if s_sat.mean < FEW_SATURATED:
            text += (f": under {FEW_SATURATED:.0%} saturated, so saturation is not what keeps "
                     "the decay; a mean derivative below the peak in every layer is")
        else:
            text += (f": {FEW_SATURATED:.0%} or more saturated, consistent with the narrower "
                     "non-saturated region undoing the larger peak")
        findings.append(text)
    valid = {k: stats.summarize(list(c.values(arms.get(k, {}), c.final("valid_accuracy")).values()))
             for k in LABELS}
    if valid["scaled_sigmoid"] and valid["sigmoid"]:
        findings.append(f"validation accuracy: rescaled {stats.fmt_summary(valid['scaled_sigmoid'], 3, True)}"
                        f", plain {stats.fmt_summary(valid['sigmoid'], 3, True)}"
                        + (f", ReLU {stats.fmt_summary(valid['relu'], 3, True)}" if valid["relu"] else ""))
    would = ("a rescaled-sigmoid decay whose interval reached down to 1 decade (a cure of the "
             "gradient), a ReLU lead under one point, or a reduction against the plain sigmoid "
             "whose interval fell to 1 decade or below (then the gain would be undone)")
    if cured == HOLDS and still == HOLDS:
        would = ("it is a partial cure now: the rescaling cuts the decay by more than a decade "
                 "but leaves more than one; a remaining decay under 1 decade would make it a "
                 "cure, a cut under 1 decade would make the gain undone as claimed")
    verdict = combine(parts, RULE, findings, would_change=would)
    return verdict, {"decay reduction sigmoid - rescaled": cut.to_dict() if cut else None,
                     "validation accuracy ReLU - rescaled": acc_diff.to_dict() if acc_diff else None}


# --- analysis and figure ----------------------------------------------------------------------

def analyze(claim, results):
    arms = v.arm_runs(claim, results, LABELS)
    verdict, diffs = judge(arms)
    columns = ["arm", "runs", f"decay at {POINT} per seed (decades)",
               f"decay at {POINT} (mean ± sd)", "decay at epoch 1 (mean ± sd)",
               f"saturated units at {POINT}", "saturated units at epoch 1",
               f"mean derivative / peak at {POINT}", "validation accuracy"]
    rows, numbers = [], {"differences": diffs, "arms": {}, "point": POINT}
    for label, runs in arms.items():
        here = c.values(runs, v.decay_at(POINT))
        epoch1 = c.values(runs, v.decay_at("epoch 1"))
        sat0 = c.values(runs, at(saturated, POINT))
        sat1 = c.values(runs, at(saturated, "epoch 1"))
        der = c.values(runs, at(relative_derivative, POINT))
        valid = c.values(runs, c.final("valid_accuracy"))
        rows.append([label, c.counts_text(c.counts(runs)), c.seed_cell(here, False, 2),
                     c.summary_cell(here, False, 2), c.summary_cell(epoch1, False, 2),
                     c.summary_cell(sat0), c.summary_cell(sat1), c.summary_cell(der, False, 2),
                     c.summary_cell(valid)])
        numbers["arms"][label] = {
            "decay_step0": c.numbers(here), "decay_epoch1": c.numbers(epoch1),
            "saturated_step0": c.numbers(sat0), "saturated_epoch1": c.numbers(sat1),
            "relative_derivative_step0": c.numbers(der), "valid_accuracy": c.numbers(valid),
            "runs": c.counts(runs)}
    series = {label: {**v.profile_series(runs),
                      "valid": {seed: c.budget_curve(r) for seed, r in runs.items()}}
              for label, runs in arms.items()}
    return c.Analysis(columns, rows, numbers, verdict, series,
                      {label: c.counts(r) for label, r in arms.items()})


def draw(claim, analysis):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(3)
    v.draw_profiles(analysis, "Claim 4", axes[:2])
    colors = {}
    for label, series in analysis.series.items():
        diverged = {s for s, st in (series.get("status") or {}).items() if st == "diverged"}
        colors[label] = f.seed_curves(axes[2], label, series.get("valid") or {},
                                      diverged=diverged)
    f.chance_line(axes[2], CHANCE)
    f.step_axis(axes[2])
    f.finish(axes[2], "Claim 4: validation accuracy")
    figure.suptitle("Plain vs rescaled sigmoid vs ReLU (each seed thin, mean ± sd band; "
                    "x: diverged)")
    return figure
