"""Claim 7: ReLU representations are sparse (a large fraction of exact zeros), sigmoid
ones dense.

Runs: the course network of claim 1 (784-1024-10) per activation, the same runs
(`udacity_runs`), which measure `sparsity` after training.
Measurement: on the probe images, per seed, the hidden layer's share of exact zeros
and its share of near-zero outputs, |a| <= eps with eps = 5 % of the layer's own scale
(the 99th percentile of |a|), the same rule for every activation. Exact zeros alone
cannot compare the two: a sigmoid is never exactly 0, and its "off" level is its lower
asymptote 0, which it approaches without reaching.
Judge: ReLU's exact zeros clearly above one half (one-sided 95 % t interval); ReLU's
near-zero share clearly above sigmoid's by more than 10 points (paired per-seed
differences); and sigmoid's near-zero share clearly below one half, which is what
"dense" means on the like-with-like measure.
"""

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.sizes import (
    REASONS,
    UDACITY_ACTIVATIONS,
    data_note,
    reason,
    seeds_note,
    udacity_runs,
)
from actkeras.experiments.judging import Part, combine
from actkeras.experiments.measures import SPARSITY_EPSILON
from actkeras.experiments.spec import Claim
from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE

ID = 7
# "Sparse" and "dense" are judged against one line: a representation is sparse when
# most of its outputs (more than half, for a given input) are off, dense when most are
# on. The same line for ReLU's exact zeros and sigmoid's near-zero share, so both
# halves of the claim use one definition.
SPARSE = 0.5
# Ten points of the layer's outputs for "ReLU is sparser than sigmoid": a smaller gap
# does not make one representation sparse and the other dense, and it is seven times
# the seed-to-seed sd of ReLU's zero share (1.4 points in the first full run).
MARGIN = 0.10
COMPARED = ("relu", "sigmoid")

RULE = (
    "Per seed, on the probe images after training: the hidden layer's share of exact zeros, "
    f"and its near-zero share, |a| <= eps with eps = {SPARSITY_EPSILON:g} x the layer's scale "
    "(99th percentile of |a|), the same rule for every activation (a sigmoid's 'off' level "
    "is its lower asymptote 0, never reached exactly). Parts: (a) ReLU's exact-zero share: "
    f"the 95 % t interval of its mean lies above {SPARSE:.0%}; (b) ReLU's near-zero share "
    "minus sigmoid's, per seed: the 95 % t interval lies above "
    f"{MARGIN * 100:g} points; (c) sigmoid is dense: the 95 % t interval of its near-zero "
    f"share lies below {SPARSE:.0%} (a sigmoid mostly near its off level is not dense, "
    "whatever its exact zeros). A part fails when its interval lies wholly on the other "
    "side and is inconclusive when it straddles. Diverged runs and runs that stayed at "
    "chance are left out and counted. All hold: reproduced; all fail: not reproduced; some "
    "each way: mixed; otherwise inconclusive."
)


def build(sizes):
    notes = []
    if sizes.udacity_steps < 3001:
        notes.append(f"Shortened from 3,001 to {sizes.udacity_steps} steps (the {sizes.name} "
                     f"preset; the full preset trains 3,001: {REASONS['udacity_steps']})")
    else:
        notes.append(REASONS["udacity_steps"])
    seeds_reason = reason("seeds", sizes)
    notes.append(f"{seeds_note(sizes)}: {seeds_reason}")
    notes.append(f"Measured on the first {sizes.probe_size:,} validation images (the probe), "
                 "after the last training step; the runs are claim 1's, trained once.")
    notes.append("Exact zeros are reported for every activation, but only ReLU can have "
                 "many: sigmoid and softmax outputs are positive unless they underflow, "
                 "tanh, LeakyReLU and ELU are zero only at exactly 0 input.")
    return Claim(
        id=ID, title="Sparse representations",
        statement="ReLU representations are sparse (a large fraction of exact zeros), "
                  "sigmoid ones dense.",
        source="seed 002 (Glorot et al. 2011)",
        seed_file="seeds/002_971926e18ad6f5cd.txt",
        setup=f"The course network of claim 1 (`udacity` preset, 784-1024-10, SGD 0.5, batch "
              f"128, {sizes.udacity_steps} steps on notMNIST, {data_note(sizes)}; "
              f"{seeds_note(sizes)}). After training, on the probe images: the share of the "
              "hidden layer's outputs that are exactly 0, and the share within eps of 0, "
              f"eps = {SPARSITY_EPSILON:g} x the layer's scale (the 99th percentile of |a| "
              "on the probe; at most 0.05 for a sigmoid layer); the share <= 0.05 in "
              "absolute terms beside them.",
        runs=udacity_runs(sizes, ID),
        notes=tuple(notes),
    )


# --- measurement ------------------------------------------------------------------------

def layer_share(key):
    """`fn(result)`: the unit-weighted mean of `key` over the hidden activation layers of
    a run's `sparsity` measure (`None` if it was not measured)."""

    def fn(result):
        layers = ((((result or {}).get("measures") or {}).get("sparsity") or {})
                  .get("layers") or {})
        total = weight = 0.0
        for layer in layers.values():
            value = layer.get(key)
            if not isinstance(value, (int, float)):
                continue
            units = layer.get("units") or 1
            total += units * float(value)
            weight += units
        return total / weight if weight else None

    return fn


ZEROS = layer_share("zero_fraction")
NEAR = layer_share("near_zero_fraction")
BELOW = layer_share("below_0.05_fraction")
EPSILON = layer_share("epsilon")


def trained(runs):
    """`(runs that finished and left chance, note on those left out)`."""
    cnt = c.counts(runs)
    kept = {s: r for s, r in runs.items() if c.status(r) == "ok" and not c.at_chance(r)}
    lost = [f"{cnt[k]} {w}" for k, w in (("diverged", "diverged"), ("failed", "failed"),
                                         ("chance", "at chance")) if cnt[k]]
    note = f"{', '.join(lost)} of {cnt['n']} left out" if lost else ""
    return kept, note


def _with_note(part, note):
    return part if not note else Part(part.text, part.outcome, f"{part.detail}; {note}")


# --- judge ------------------------------------------------------------------------------

def judge(arms, margin=MARGIN, sparse=SPARSE):
    """Pure: `arms` is `{activation: {seed: result}}` with at least relu and sigmoid."""
    relu, relu_note = trained(arms.get("relu", {}))
    sigmoid, sigmoid_note = trained(arms.get("sigmoid", {}))
    parts = [
        _with_note(c.one_sided("ReLU representations have a large share of exact zeros",
                               relu, ZEROS, sparse), relu_note and f"ReLU: {relu_note}"),
    ]
    diff = stats.paired(c.values(relu, NEAR), c.values(sigmoid, NEAR))
    notes = [f"{n}: {t}" for n, t in (("ReLU", relu_note), ("sigmoid", sigmoid_note)) if t]
    parts.append(Part(
        "ReLU's near-zero share is clearly above sigmoid's (same eps rule)",
        stats.greater(diff, margin),
        f"{stats.fmt_diff(diff, percent=True)}; margin {100 * margin:g} pts"
        + ("; " + "; ".join(notes) if notes else "")))
    dense = c.one_sided("sigmoid representations are dense (near-zero share below half)",
                        sigmoid, NEAR, sparse, above=False)
    parts.append(_with_note(dense, sigmoid_note and f"sigmoid: {sigmoid_note}"))

    findings = []
    sig_near = stats.summarize(list(c.values(sigmoid, NEAR).values()))
    sig_zero = stats.summarize(list(c.values(sigmoid, ZEROS).values()))
    sig_below = stats.summarize(list(c.values(sigmoid, BELOW).values()))
    if sig_near is not None:
        findings.append(
            f"sigmoid: {stats.fmt_summary(sig_zero, percent=True)} exact zeros (a sigmoid "
            f"cannot output 0), but {stats.fmt_summary(sig_near, percent=True)} of its outputs "
            f"lie within eps of its off level 0 ({stats.fmt_summary(sig_below, percent=True)} "
            "are <= 0.05)")
    if dense.outcome == FAILS:
        findings.append(
            "'sigmoid representations are dense' FAILS on the like-with-like measure: most "
            "sigmoid outputs sit near the sigmoid's off level; the contrast with ReLU in exact "
            "zeros is a property of the function's range, not of a denser code")
    elif dense.outcome == INCONCLUSIVE and sig_near is not None:
        findings.append("whether sigmoid representations are dense is undecided on the "
                        "like-with-like measure: its near-zero share's interval straddles "
                        f"{sparse:.0%}")
    for name, runs in arms.items():
        kept, _ = trained(runs)
        zero = stats.summarize(list(c.values(kept, ZEROS).values()))
        near = stats.summarize(list(c.values(kept, NEAR).values()))
        if zero or near:
            findings.append(f"{name}: exact zeros {stats.fmt_summary(zero, percent=True)}, "
                            f"near zero {stats.fmt_summary(near, percent=True)}")
    if parts[0].outcome == HOLDS and parts[1].outcome == HOLDS and dense.outcome != HOLDS:
        findings.append("ReLU is sparse and sparser than sigmoid; the claim's second half "
                        "('sigmoid ones dense') is what is not shown")
    verdict = combine(parts, RULE, findings, would_change=(
        f"sigmoid's near-zero share: an interval wholly below {sparse:.0%} would make part (c) "
        f"hold, wholly above it fail; ReLU's exact zeros or its lead in near-zero share "
        f"reaching down to {sparse:.0%} / {100 * margin:g} points would make (a) / (b) fail"))
    return verdict, {"near_zero_relu_minus_sigmoid": diff.to_dict() if diff else None}


# --- analysis ---------------------------------------------------------------------------

def histograms(result):
    """`[(edges / scale, share per bin)]` of the hidden layers' outputs in the run's last
    `ActivationStats` record with histograms, in units of the layer's sparsity scale
    (`[]` if either is missing)."""
    records = [r for r in ((result or {}).get("monitors") or {}).get("stats") or []
               if any("histogram" in s for s in (r.get("layers") or {}).values())]
    layers = ((((result or {}).get("measures") or {}).get("sparsity") or {})
              .get("layers") or {})
    if not records:
        return []
    out = []
    for name, layer in records[-1]["layers"].items():
        scale = (layers.get(name) or {}).get("scale")
        hist = layer.get("histogram")
        if not hist or not scale:
            continue
        total = sum(hist["counts"]) or 1
        out.append(([e / scale for e in hist["edges"]], [n / total for n in hist["counts"]]))
    return out


def analyze(claim, results):
    arms = {a: c.runs_where(claim, results, activation=a) for a in UDACITY_ACTIVATIONS}
    verdict, diffs = judge(arms)
    columns = ["activation", "runs", "exact zeros per seed", "exact zeros (mean ± sd)",
               "near zero per seed", "near zero (mean ± sd)", "eps (mean)",
               "<= 0.05 (mean ± sd)"]
    rows, numbers = [], {"differences": diffs, "arms": {},
                         "epsilon_rule": f"|a| <= {SPARSITY_EPSILON} x 99th percentile of |a|"}
    series = {"zeros": {}, "near": {}, "histograms": {}}
    for a, runs in arms.items():
        kept, _ = trained(runs)
        zeros, near = c.values(kept, ZEROS), c.values(kept, NEAR)
        below, eps = c.values(kept, BELOW), c.values(kept, EPSILON)
        eps_mean = stats.summarize(list(eps.values()))
        rows.append([a, c.counts_text(c.counts(runs)), c.seed_cell(zeros), c.summary_cell(zeros),
                     c.seed_cell(near), c.summary_cell(near),
                     stats.fmt(eps_mean.mean if eps_mean else None, 3),
                     c.summary_cell(below)])
        numbers["arms"][a] = {"zero_fraction": c.numbers(zeros),
                              "near_zero_fraction": c.numbers(near),
                              "below_0.05_fraction": c.numbers(below),
                              "epsilon": c.numbers(eps), "runs": c.counts(runs)}
        series["zeros"][a], series["near"][a] = zeros, near
        if a in COMPARED:
            series["histograms"][a] = {s: histograms(r) for s, r in kept.items()}
    return c.Analysis(columns, rows, numbers, verdict, series,
                      {a: c.counts(r) for a, r in arms.items()})


def draw(claim, analysis):
    from actkeras.experiments import figures as f

    series = analysis.series or {}
    if not any(series.get("zeros", {}).values()) and not any(series.get("near", {}).values()):
        return None
    figure, (left, middle, right) = f.new_figure(3)
    f.seed_points(left, series.get("zeros", {}), "share of outputs exactly 0", percent=True)
    left.set_title("Exact zeros (each dot a seed)")
    f.seed_points(middle, series.get("near", {}),
                  f"share of outputs with |a| <= {SPARSITY_EPSILON:g} x scale", percent=True)
    middle.axhline(SPARSE, color="black", linestyle=":", linewidth=0.8)
    middle.set_title("Near zero, same rule for every activation")
    for arm, seeds in series.get("histograms", {}).items():
        color = right._get_lines.get_next_color()
        first = True
        for seed, layers in sorted(seeds.items()):
            for edges, shares in layers:
                right.plot(edges, list(shares) + list(shares[-1:]), color=color,
                           linewidth=0.8, alpha=0.6, drawstyle="steps-post",
                           label=arm if first else None)
                first = False
    right.axvspan(-SPARSITY_EPSILON, SPARSITY_EPSILON, color="grey", alpha=0.2,
                  label=f"|a| <= {SPARSITY_EPSILON:g} x scale")
    right.set_yscale("log")
    f.finish(right, "Hidden outputs after training (each seed a line)",
             xlabel="activation / layer scale (99th percentile of |a|)",
             ylabel="share of outputs per bin", ylim=None)
    figure.suptitle("Claim 7: exact zeros and near-zero outputs of the hidden layer")
    return figure
