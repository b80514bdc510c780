"""Verdict rules: measured numbers in, `("reproduced" | "not reproduced" | "mixed", rule)` out.

Every rule is a pure function of plain numbers, so it can be tested on hand-made
values and its text printed in the report next to the numbers it judged. A claim
is split into parts; each part holds or not:

- all parts hold: "reproduced";
- none holds: "not reproduced";
- otherwise "mixed".

"Clearly greater" is the one comparison between arms: the difference of the means
exceeds both the pooled standard deviation of the two arms and a minimum margin
(one percentage point of accuracy unless a rule says otherwise), so that a single
seed (standard deviation 0) cannot win by noise.
"""

import math
from dataclasses import dataclass, field

REPRODUCED, NOT_REPRODUCED, MIXED = "reproduced", "not reproduced", "mixed"
NOT_MEASURED = "not measured"

CHANCE = 0.1  # ten classes in both data sets
ACCURACY_MARGIN = 0.01
_EPS = 1e-9  # so that 0.85 - 0.84 is not "more than 1 point" by rounding


@dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation and count of one measurement over seeds."""

    mean: float
    std: float = 0.0
    n: int = 1
    values: tuple = ()

    def __str__(self):
        return format_stat(self)

    def to_dict(self):
        return {"mean": self.mean, "std": self.std, "n": self.n, "values": list(self.values)}


def stat(values):
    """`Stat` of the finite values in `values`; `None` if there are none."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None
    mean = sum(finite) / len(finite)
    if len(finite) > 1:
        std = math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1))
    else:
        std = 0.0
    return Stat(mean, std, len(finite), tuple(finite))


def format_stat(s, digits=3, percent=False):
    """`0.853 ± 0.004` (or `85.3 ± 0.4 %`); a dash for a missing value."""
    if s is None:
        return "–"
    scale, unit = (100.0, " %") if percent else (1.0, "")
    digits = max(digits - 2, 1) if percent else digits
    text = f"{s.mean * scale:.{digits}f}"
    if s.n > 1:
        text += f" ± {s.std * scale:.{digits}f}"
    return text + unit


@dataclass(frozen=True)
class Part:
    """One checked statement of a claim: its text, whether it holds, and the numbers."""

    text: str
    holds: bool
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    verdict: str
    rule: str
    parts: tuple = field(default_factory=tuple)
    findings: tuple = field(default_factory=tuple)

    def to_dict(self):
        return {
            "verdict": self.verdict,
            "rule": self.rule,
            "parts": [{"text": p.text, "holds": p.holds, "detail": p.detail} for p in self.parts],
            "findings": list(self.findings),
        }


def pooled_std(a, b):
    return math.sqrt((a.std ** 2 + b.std ** 2) / 2.0)


def clearly_greater(a, b, margin=ACCURACY_MARGIN):
    """True if `a.mean - b.mean` exceeds both the pooled std and `margin`."""
    if a is None or b is None:
        return False
    return a.mean - b.mean > max(pooled_std(a, b), margin) + _EPS


def within(a, b, tolerance):
    """True if `b.mean - a.mean` (how far `a` falls short of `b`) is at most the
    larger of `tolerance` and the pooled std."""
    if a is None or b is None:
        return False
    return b.mean - a.mean <= max(pooled_std(a, b), tolerance) + _EPS


def combine(parts, rule, findings=()):
    """The verdict of a list of `Part`s (see the module docstring)."""
    parts = tuple(parts)
    if not parts:
        return Verdict(NOT_MEASURED, rule, parts, tuple(findings))
    held = sum(p.holds for p in parts)
    verdict = REPRODUCED if held == len(parts) else NOT_REPRODUCED if held == 0 else MIXED
    return Verdict(verdict, rule, parts, tuple(findings))


def _gap(a, b, percent=True):
    if a is None or b is None:
        return "missing"
    return f"{format_stat(a, percent=percent)} vs {format_stat(b, percent=percent)}"


def _missing(*names_and_stats):
    return [name for name, value in names_and_stats if value is None]


def _not_measured(rule, missing):
    return Verdict(NOT_MEASURED, rule, (), (f"missing measurements: {', '.join(missing)}",))


# --- claim 1 -------------------------------------------------------------------------

CLAIM1_RULE = (
    "Four parts: ReLU's mean train accuracy and mean validation accuracy are each "
    "clearly greater (mean difference > max(pooled std, 1 point)) than sigmoid's and "
    "than softmax's. All four: reproduced; none: not reproduced; else mixed."
)


def claim1(train, valid):
    """`train`, `valid`: `{activation: Stat}` with at least relu, sigmoid, softmax."""
    need = [(f"{split} {a}", d.get(a)) for split, d in (("train", train), ("valid", valid))
            for a in ("relu", "sigmoid", "softmax")]
    if _missing(*need):
        return _not_measured(CLAIM1_RULE, _missing(*need))
    parts = []
    for split, d in (("train", train), ("validation", valid)):
        for other in ("sigmoid", "softmax"):
            parts.append(Part(
                f"ReLU's {split} accuracy beats {other}'s",
                clearly_greater(d["relu"], d[other]),
                _gap(d["relu"], d[other]),
            ))
    ranking = sorted(valid, key=lambda a: -valid[a].mean)
    findings = (f"validation ranking: {' > '.join(ranking)}",)
    return combine(parts, CLAIM1_RULE, findings)


# --- claim 2 -------------------------------------------------------------------------

# One line between "stuck" and "learns": twice chance. The claim is qualitative (the
# notebook's failing runs sit at chance, its fixed ones learn); the published
# accuracies stand next to the measured ones in the report.
NEAR_CHANCE = TRAINS = 2 * CHANCE

CLAIM2_RULE = (
    f"Parts: (a) ReLU with the default initializer at the notebook's learning rate and "
    f"(b) sigmoid with the default initializer stay near chance (mean validation "
    f"accuracy < {NEAR_CHANCE:.0%}); (c) ReLU, (d) LeakyReLU(0.3) and (e) ELU with "
    f"He initialisation learn (mean validation accuracy >= {TRAINS:.0%}, twice chance) and "
    "are clearly better than ReLU with the default initializer. All: reproduced; none: not "
    "reproduced; else mixed. The causes are separated on the 2 x 2 grid "
    "(initializer x learning rate) of ReLU runs: an effect is a clear difference "
    "(> max(pooled std, 1 point)) with the other factor held fixed."
)


def separate_causes(grid, inits=("glorot_uniform", "he_normal"), rates=(0.01, 0.001)):
    """Effect of the initializer at each learning rate and of the rate at each initializer.

    Args:
        grid: `{(initializer, learning_rate): Stat}` of validation accuracy.

    Returns:
        `(cause, findings)`: cause is "initializer", "learning rate", "both" or
        "neither alone", with one line per effect.
    """
    bad, good = inits
    fast, slow = rates
    findings, init_effect, rate_effect = [], False, False
    for rate in rates:
        a, b = grid.get((good, rate)), grid.get((bad, rate))
        if a is None or b is None:
            continue
        effect = clearly_greater(a, b) or clearly_greater(b, a)
        init_effect |= effect
        findings.append(f"initializer at lr={rate:g}: {good} {_gap(a, b)} {bad} "
                        f"({'clear effect' if effect else 'no clear effect'})")
    for init in inits:
        a, b = grid.get((init, slow)), grid.get((init, fast))
        if a is None or b is None:
            continue
        effect = clearly_greater(a, b) or clearly_greater(b, a)
        rate_effect |= effect
        findings.append(f"learning rate with {init}: lr={slow:g} {_gap(a, b)} lr={fast:g} "
                        f"({'clear effect' if effect else 'no clear effect'})")
    cause = {(True, True): "both", (True, False): "initializer",
             (False, True): "learning rate", (False, False): "neither alone"}
    return cause[(init_effect, rate_effect)], findings


def claim2(valid, relu_default, sigmoid_default, relu_he, leaky_he, elu_he, grid=None):
    """Arguments are `Stat`s of validation accuracy; `grid` as in `separate_causes`."""
    named = [("relu default", relu_default), ("sigmoid default", sigmoid_default),
             ("relu he", relu_he), ("leaky_relu he", leaky_he), ("elu he", elu_he)]
    if _missing(*named[:3]):
        return _not_measured(CLAIM2_RULE, _missing(*named[:3]))
    parts = [
        Part("ReLU, default initializer, stays near chance",
             relu_default.mean < NEAR_CHANCE, format_stat(relu_default, percent=True)),
        Part("sigmoid, default initializer, stays near chance",
             sigmoid_default.mean < NEAR_CHANCE, format_stat(sigmoid_default, percent=True)),
    ]
    for name, s in named[2:]:
        if s is None:
            continue
        parts.append(Part(
            f"{name.split()[0]} with He initialisation learns",
            s.mean >= TRAINS and clearly_greater(s, relu_default),
            _gap(s, relu_default) + " (ReLU default)",
        ))
    findings = []
    if grid:
        cause, lines = separate_causes(grid)
        findings = [f"what fixes ReLU: {cause}"] + lines
    return combine(parts, CLAIM2_RULE, findings)


# --- claims 3 and 4 --------------------------------------------------------------------

SHRINK_DECADES = 1.0

CLAIM3_RULE = (
    "Shrink = log10(gradient RMS of the first hidden layer's kernel / that of the last "
    "hidden layer's kernel) at the first measurement (end of the first epoch). Parts: (a) sigmoid's gradients "
    f"shrink by at least {10 ** SHRINK_DECADES:.0f}x across the depth (shrink <= "
    f"-{SHRINK_DECADES:g}); (b) ReLU's (He initialisation) do not (shrink > "
    f"-{SHRINK_DECADES:g}); (c) sigmoid's shrink is clearly larger than ReLU's "
    "(difference > max(pooled std, 0.5 decade)). All: reproduced; none: not "
    "reproduced; else mixed."
)


def claim3(shrink):
    """`shrink`: `{label: Stat}` of log10 first/last gradient RMS; needs relu, sigmoid."""
    relu, sigmoid = shrink.get("relu"), shrink.get("sigmoid")
    if _missing(("relu", relu), ("sigmoid", sigmoid)):
        return _not_measured(CLAIM3_RULE, _missing(("relu", relu), ("sigmoid", sigmoid)))
    parts = [
        Part(f"sigmoid's gradients shrink >= {10 ** SHRINK_DECADES:.0f}x from the last to "
             "the first hidden layer", sigmoid.mean <= -SHRINK_DECADES,
             f"{format_stat(sigmoid, 2)} decades"),
        Part("ReLU's gradients do not", relu.mean > -SHRINK_DECADES,
             f"{format_stat(relu, 2)} decades"),
        Part("sigmoid's gradients shrink clearly more than ReLU's",
             clearly_greater(relu, sigmoid, margin=0.5), _gap(relu, sigmoid, percent=False)),
    ]
    findings = [f"{label}: {format_stat(s, 2)} decades" for label, s in shrink.items()]
    return combine(parts, CLAIM3_RULE, findings)


CLAIM4_RULE = (
    "The question is answered 'the narrower region undoes it' (the claim reproduced) "
    "if (a) the rescaled sigmoid's mean validation accuracy stays clearly below ReLU's "
    "(> max(pooled std, 1 point)) and (b) its gradients still shrink by at least "
    f"{10 ** SHRINK_DECADES:.0f}x across the depth (shrink <= -{SHRINK_DECADES:g} "
    "decade, as in claim 3). Both: reproduced; neither (it trains as well as ReLU "
    "with unshrunk gradients, i.e. the rescaling cures it): not reproduced; else mixed."
)


def claim4(valid, shrink):
    """`valid`, `shrink`: `{label: Stat}` with relu, sigmoid, scaled_sigmoid."""
    need = [("valid relu", valid.get("relu")), ("valid scaled_sigmoid", valid.get("scaled_sigmoid")),
            ("shrink scaled_sigmoid", shrink.get("scaled_sigmoid"))]
    if _missing(*need):
        return _not_measured(CLAIM4_RULE, _missing(*need))
    scaled, relu = valid["scaled_sigmoid"], valid["relu"]
    parts = [
        Part("the rescaled sigmoid trains clearly worse than ReLU",
             clearly_greater(relu, scaled), _gap(scaled, relu)),
        Part(f"its gradients still shrink >= {10 ** SHRINK_DECADES:.0f}x across the depth",
             shrink["scaled_sigmoid"].mean <= -SHRINK_DECADES,
             f"{format_stat(shrink['scaled_sigmoid'], 2)} decades"),
    ]
    findings = []
    if shrink.get("sigmoid") is not None:
        better = clearly_greater(shrink["scaled_sigmoid"], shrink["sigmoid"], margin=0.5)
        findings.append(
            f"against the plain sigmoid, the rescaling {'reduces' if better else 'does not clearly reduce'} "
            f"the shrink: {_gap(shrink['scaled_sigmoid'], shrink['sigmoid'], percent=False)} decades")
    if valid.get("sigmoid") is not None:
        findings.append(f"validation accuracy, rescaled vs plain sigmoid: {_gap(scaled, valid['sigmoid'])}")
    return combine(parts, CLAIM4_RULE, findings)


# --- claim 5 -------------------------------------------------------------------------

NEARLY = 0.02

CLAIM5_RULE = (
    "Parts: (a) batch normalisation makes the deep sigmoid network clearly better "
    "(> max(pooled std, 1 point)); (b) with it, sigmoid's mean validation accuracy is "
    f"within max({NEARLY:.0%}, pooled std) of the best ReLU network's (with or without "
    "batch normalisation). Both: reproduced; neither: not reproduced; else mixed."
)


def claim5(sigmoid, sigmoid_bn, relu, relu_bn):
    """Validation accuracy `Stat`s of the four deep networks."""
    named = [("sigmoid", sigmoid), ("sigmoid + BN", sigmoid_bn), ("relu", relu), ("relu + BN", relu_bn)]
    if _missing(*named[:2]) or (relu is None and relu_bn is None):
        return _not_measured(CLAIM5_RULE, _missing(*named))
    best = max((s for s in (relu, relu_bn) if s is not None), key=lambda s: s.mean)
    parts = [
        Part("batch normalisation rescues the deep sigmoid network",
             clearly_greater(sigmoid_bn, sigmoid), _gap(sigmoid_bn, sigmoid)),
        Part("with it, sigmoid trains nearly as well as ReLU",
             within(sigmoid_bn, best, NEARLY), _gap(sigmoid_bn, best) + " (best ReLU)"),
    ]
    return combine(parts, CLAIM5_RULE)


# --- claim 6 -------------------------------------------------------------------------

LARGE_SHARE = 0.25
STAYS = 0.8
RECOVERS = 0.75
IMMORTAL = 0.01

CLAIM6_RULE = (
    f"A ReLU unit is dead when it outputs 0 for every probe image (it gets no gradient); "
    f"a LeakyReLU or ELU unit below 0 on every probe image is only inactive (it still "
    f"gets one). For each stress (large learning rate, strongly negative bias): (a) ReLU "
    f"loses a large share of its units (final dead fraction >= {LARGE_SHARE:.0%} and clearly "
    f"above the unstressed ReLU's, margin 5 points); (b) they stay dead (final >= "
    f"{STAYS:.0%} of the peak over training); (c) LeakyReLU and (d) ELU do not lose theirs "
    f"(final inactive fraction <= {IMMORTAL:.0%}, or <= {RECOVERS:.0%} of its peak: the units "
    "come back; a network that diverges keeps nothing). Runs that diverged (NaN loss) give "
    "no fraction. All: reproduced; none: not reproduced; else mixed."
)


def claim6(final, peak, controls, diverged=None):
    """Dead (ReLU) or inactive (LeakyReLU, ELU) fractions of the runs that did not diverge.

    Args:
        final, peak: `{label: Stat}`; labels `"<activation> <stress>"`, e.g.
            `"relu large lr"`, `"elu negative bias"`.
        controls: `{stress: label of the unstressed ReLU arm}`.
        diverged: `{label: (diverged runs, runs)}`; an arm whose runs all diverged
            has no fraction and does not keep its units.
    """
    diverged = diverged or {}
    parts = []
    for stress, control in controls.items():
        relu, base = final.get(f"relu {stress}"), final.get(control)
        if relu is None or base is None:
            continue
        parts.append(Part(f"ReLU with a {stress} loses a large share of its units",
                          relu.mean >= LARGE_SHARE and clearly_greater(relu, base, 0.05),
                          _gap(relu, base) + f" ({control})"))
        top = peak.get(f"relu {stress}")
        parts.append(Part(f"ReLU's units stay dead with a {stress}",
                          top is not None and top.mean > 0 and relu.mean >= STAYS * top.mean,
                          f"final {format_stat(relu, percent=True)}, peak "
                          f"{format_stat(top, percent=True)}"))
        for other in ("leaky_relu", "elu"):
            label = f"{other} {stress}"
            end, top = final.get(label), peak.get(label)
            lost, runs = diverged.get(label, (0, 0))
            if end is None and not lost:
                continue
            if end is None:
                parts.append(Part(f"{other} keeps its units with a {stress}", False,
                                  f"diverged (NaN loss) in {lost}/{runs} runs"))
                continue
            keeps = end.mean <= IMMORTAL or (top is not None and end.mean <= RECOVERS * top.mean)
            detail = (f"inactive at the end {format_stat(end, percent=True)}, peak "
                      f"{format_stat(top, percent=True)}")
            if lost:
                detail += f"; {lost}/{runs} runs diverged"
            parts.append(Part(f"{other} keeps its units with a {stress}", keeps and not lost, detail))
    return combine(parts, CLAIM6_RULE)


# --- claim 7 -------------------------------------------------------------------------

SPARSE = 0.3
DENSE = 0.01

CLAIM7_RULE = (
    f"Zero fraction = share of exact zeros in the hidden activations on the probe "
    f"images after training. Parts: (a) ReLU's is large (>= {SPARSE:.0%}); (b) sigmoid's "
    f"is negligible (<= {DENSE:.0%}). Both: reproduced; neither: not reproduced; else mixed."
)


def claim7(zeros):
    """`zeros`: `{activation: Stat}` of exact-zero fractions; needs relu and sigmoid."""
    relu, sigmoid = zeros.get("relu"), zeros.get("sigmoid")
    if _missing(("relu", relu), ("sigmoid", sigmoid)):
        return _not_measured(CLAIM7_RULE, _missing(("relu", relu), ("sigmoid", sigmoid)))
    parts = [
        Part("ReLU representations are sparse", relu.mean >= SPARSE,
             format_stat(relu, percent=True)),
        Part("sigmoid representations are dense", sigmoid.mean <= DENSE,
             format_stat(sigmoid, percent=True)),
    ]
    findings = [f"{a}: {format_stat(s, percent=True)} zeros" for a, s in zeros.items()]
    return combine(parts, CLAIM7_RULE, findings)


# --- claim 8 -------------------------------------------------------------------------

SLOWER = 1.05

CLAIM8_RULE = (
    "Times are ratios to ReLU measured in the same process. Parts: (a) sigmoid's "
    "forward-plus-backward time, (b) ELU's forward-plus-backward time, (c) sigmoid's "
    f"epoch time and (d) ELU's epoch time are each clearly above ReLU's: mean ratio >= "
    f"{SLOWER} and mean - std > 1. All: reproduced; none: not reproduced; else mixed."
)


def _slower(ratio):
    return ratio is not None and ratio.mean >= SLOWER and ratio.mean - ratio.std > 1.0


def claim8(op_ratio, epoch_ratio):
    """`op_ratio`, `epoch_ratio`: `{activation: Stat}` of time / ReLU's time."""
    parts = []
    for what, ratios in (("forward+backward", op_ratio), ("epoch", epoch_ratio)):
        for name in ("sigmoid", "elu"):
            if ratios.get(name) is not None:
                parts.append(Part(f"{name}'s {what} time is above ReLU's",
                                  _slower(ratios[name]), f"{format_stat(ratios[name], 2)} x ReLU"))
    findings = []
    if op_ratio.get("linear") is not None:
        share = op_ratio["linear"].mean
        findings.append(
            f"the identity (no activation at all) takes {share:.0%} of ReLU's forward+backward "
            "time: " + ("the measurement is dominated by fixed per-call overhead (launch, "
                        "dispatch), not by the activation's arithmetic" if share >= 0.8 else
                        "the activation's own arithmetic is visible above the per-call overhead"))
    return combine(parts, CLAIM8_RULE, findings)


# --- claim 9 -------------------------------------------------------------------------

FITS = 0.1
COLLAPSE = 0.95
COLLAPSE_ERROR = 0.01

CLAIM9_RULE = (
    "Parts: (a) ReLU is not additive: f(-1) + f(1) != f(0), while the linear activation "
    "is; (b) the trained linear network equals one linear map (the product of its "
    "layers reproduces its outputs to 1 % relative: float32 arithmetic, TF32 on GPUs; "
    "a ReLU network is off by more than 100 %) and fits no better than the "
    f"least-squares line (its MSE >= {COLLAPSE} x the line's); (c) the ReLU network "
    f"fits the curve (MSE <= {FITS} x the linear network's). All: reproduced; none: not "
    "reproduced; else mixed."
)


def claim9(relu_additivity_gap, linear_additivity_gap, collapse_error, mse_linear,
           mse_line, mse_relu):
    """Additivity gaps |f(-1)+f(1)-f(0)|, the collapse error and `Stat`s of the MSEs."""
    if _missing(("linear MSE", mse_linear), ("ReLU MSE", mse_relu), ("line MSE", mse_line)):
        return _not_measured(CLAIM9_RULE, _missing(("linear MSE", mse_linear),
                                                   ("ReLU MSE", mse_relu), ("line MSE", mse_line)))
    parts = [
        Part("ReLU is not linear, the identity is",
             relu_additivity_gap > 1e-6 and linear_additivity_gap <= 1e-6,
             f"|f(-1)+f(1)-f(0)| = {relu_additivity_gap:g} (ReLU), "
             f"{linear_additivity_gap:g} (linear)"),
        Part("the linear network collapses to one linear map",
             collapse_error is not None and collapse_error <= COLLAPSE_ERROR
             and mse_linear.mean >= COLLAPSE * mse_line.mean,
             f"collapse error {collapse_error:.1e}; MSE {format_stat(mse_linear, 4)} vs line "
             f"{format_stat(mse_line, 4)}"),
        Part("the ReLU network fits the curve",
             mse_relu.mean <= FITS * mse_linear.mean,
             f"MSE {format_stat(mse_relu, 4)} vs linear {format_stat(mse_linear, 4)}"),
    ]
    return combine(parts, CLAIM9_RULE)


# --- claim 10 ------------------------------------------------------------------------

TARGET_FRACTION = 0.9

CLAIM10_RULE = (
    f"Target = {TARGET_FRACTION:.0%} of ReLU's mean final validation accuracy in the same "
    "setup; steps = the first training step at which a run's validation accuracy "
    "reaches it (interpolated between measurements; a run that never does counts as "
    "never). In each setup ReLU is faster if it reaches the target and sigmoid does "
    "not, or its mean steps are fewer by more than max(pooled std, one measurement "
    "interval). Faster in every setup: reproduced; in none: not reproduced; else mixed."
)


def claim10(setups):
    """`setups`: `{setup: (relu_steps, sigmoid_steps, interval)}`; steps are lists with
    `None` for runs that never reached the target."""
    parts = []
    for name, (relu_steps, sigmoid_steps, interval) in setups.items():
        relu_reached = [s for s in relu_steps if s is not None]
        sig_reached = [s for s in sigmoid_steps if s is not None]
        r, s = stat(relu_reached), stat(sig_reached)
        if r is None or len(relu_reached) < len(relu_steps):
            holds = False
        elif s is None or len(sig_reached) < len(sigmoid_steps):
            holds = True
        else:
            holds = clearly_greater(s, r, margin=interval)
        detail = (f"ReLU {format_stat(r, 0) if r else 'never'} steps vs sigmoid "
                  f"{format_stat(s, 0) if s else 'never'}"
                  + (f" ({len(sig_reached)}/{len(sigmoid_steps)} sigmoid runs reached it)"
                     if s and len(sig_reached) < len(sigmoid_steps) else ""))
        parts.append(Part(f"ReLU reaches the target in fewer steps ({name})", holds, detail))
    return combine(parts, CLAIM10_RULE)


def steps_to_reach(steps, accuracies, target):
    """First step where `accuracies` reaches `target`, linearly interpolated; `None` if never.

    Starts from `(0, CHANCE)`: an untrained ten-class classifier is at chance.
    """
    previous_step, previous = 0, CHANCE
    for step, value in zip(steps, accuracies):
        if value is None:
            return None
        if value >= target:
            if value == previous:
                return float(step)
            fraction = (target - previous) / (value - previous)
            return float(previous_step + max(0.0, min(1.0, fraction)) * (step - previous_step))
        previous_step, previous = step, value
    return None
