"""Claim 8: ReLU and its derivative are cheaper to compute than sigmoid; ELU is slower than ReLU.

Runs: one `cost` run: `bench.activation_cost` (each activation's forward + backward,
an in-graph loop over a >= 1M-element tensor in one compiled call, net of an identity
baseline timed in the same round) and `bench.mlp_epoch_time` (single training steps
of the 50-layer Fashion-MNIST MLP), both in paired rounds whose order is shuffled
with a seed, after warm-up. Every round's raw times are kept in the result.
Judge: the per-round log-ratios to ReLU, their mean with a 95 % t interval, against
a margin; the geometric-mean ratio and its interval are what the report shows.
"""

import math

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.sizes import data_note
from actkeras.experiments.judging import Part, combine
from actkeras.experiments.spec import Claim, RunSpec

ID = 8
# The activation alone: 5 % more time per pass. Round-to-round noise of one timing on
# a shared 2-core machine is a few per cent and is averaged over >= 30 paired rounds;
# a smaller difference in an elementwise op would not be worth a choice.
OP_MARGIN = 1.05
# A whole training step: 10 %. The notebook reported 25 % slower epochs (32 s against
# 40 s); 10 % is well below that published effect and above the drift of this timing
# between two runs on a shared 2-core machine (up to 4 %, measured while building it:
# sigmoid 1.020 [0.987, 1.053] in one run, 0.998 [0.962, 1.036] in the next), so the
# decision cannot flip with the machine's load.
STEP_MARGIN = 1.10
OP_ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "gelu", "swish", "sigmoid",
                  "scaled_sigmoid", "tanh", "softmax")
STEP_ACTIVATIONS = ("relu", "elu", "sigmoid", "tanh")
JUDGED = ("sigmoid", "elu")

RULE = (
    "Each timing is paired with ReLU's in the same round (rounds in a seeded random order, "
    "after warm-up). For sigmoid and ELU, the per-round log(time / ReLU's time) is averaged "
    "with a 95 % t interval; (a, b) the activation alone (forward + backward, net of the "
    f"identity baseline) holds when the interval of the ratio lies above {OP_MARGIN} "
    f"(5 % slower), fails when it lies at or below it; (c, d) a training step of the 50-layer "
    f"MLP holds when the interval lies above {STEP_MARGIN} (10 %). Straddling: inconclusive. "
    "All hold: reproduced; all fail: not reproduced; some each way: mixed."
)


def build(sizes):
    runs = (RunSpec(claim=ID, label="cost", kind="cost", activation="relu",
                    overrides={"activations": OP_ACTIVATIONS, "step_activations": STEP_ACTIVATIONS,
                               "rounds": sizes.cost_rounds, "elements": sizes.cost_elements,
                               "inner": sizes.cost_inner, "step_rounds": sizes.cost_step_rounds},
                    dataset="fashion_mnist", source=sizes.source, subset=sizes.fashion_subset,
                    seed=0),)
    return Claim(
        id=ID, title="Computational cost",
        statement="ReLU and its derivative are cheaper to compute than sigmoid; ELU is "
                  "slower than ReLU.",
        source="seeds 001, 002", seed_file="seeds/001_740307ee495fdbfa.txt",
        setup=f"In one process, alone (after any parallel training): (1) forward + backward of "
              f"each activation on a {sizes.cost_elements:,}-element float32 tensor, "
              f"{sizes.cost_inner} passes per compiled call (an in-graph loop, each pass "
              f"x <- x + 1e-6 (f(x) + g f'(x)) with a fixed random upstream gradient g), "
              f"minus the identity (f(x) = x, whose backward pass still reads g) timed in "
              f"the same round; "
              f"{sizes.cost_rounds} paired rounds in a seeded random order after warm-up; "
              f"(2) training steps (batch 32, `train_on_batch`, 50 steps per timed value) of the "
              f"50-layer Fashion-MNIST MLP per activation, {sizes.cost_step_rounds} paired "
              f"rounds; data: {data_note(sizes)}.",
        runs=runs,
        published={"sigmoid": {"step_ratio": round(40 / 32, 2)},
                   "tanh": {"step_ratio": round(40 / 32, 2)}},
        published_source="the ReLU notebook's epoch times, about 32 s (ReLU) against 40 s "
                         "(sigmoid, tanh), one run each, on unstated hardware",
        notes=("The timings measure this machine and backend; the verdict is about them, "
               "not about every device (a GPU hides elementwise cost behind memory traffic).",),
    )


def _ratio_part(text, log_ratios, margin):
    """A part on per-round log-ratios: the interval of their mean against log(margin)."""
    values = stats.finite(log_ratios)
    outcome = stats.one_sample(values, math.log(margin), above=True)
    low, high = stats.interval(values, 0.975)
    s = stats.summarize(values)
    if s is None:
        return Part(text, stats.INCONCLUSIVE, "no rounds measured"), None
    ratio = {"ratio": math.exp(s.mean), "low": math.exp(low) if low is not None else None,
             "high": math.exp(high) if high is not None else None, "n": s.n}
    detail = (f"{ratio['ratio']:.3f}x ReLU, 95 % CI [{stats.fmt(ratio['low'])}, "
              f"{stats.fmt(ratio['high'])}] over {s.n} rounds; margin {margin}x")
    return Part(text, outcome, detail), ratio


def judge(op_log_ratios, step_log_ratios):
    """Pure: `{activation: [per-round log(time / ReLU's)]}` for the op and the step."""
    parts, ratios = [], {"op": {}, "step": {}}
    for name in JUDGED:
        part, ratios["op"][name] = _ratio_part(
            f"{name} alone (forward + backward) costs more than ReLU",
            op_log_ratios.get(name, []), OP_MARGIN)
        parts.append(part)
    for name in JUDGED:
        part, ratios["step"][name] = _ratio_part(
            f"{name} makes a training step of the 50-layer MLP slower than ReLU",
            step_log_ratios.get(name, []), STEP_MARGIN)
        parts.append(part)
    findings = []
    for name, log_ratios in op_log_ratios.items():
        if name in JUDGED or name == "relu":
            continue
        values = stats.finite(log_ratios)
        if len(values) >= 2:
            low, high = stats.interval(values, 0.975)
            findings.append(f"{name} alone: {math.exp(sum(values) / len(values)):.2f}x ReLU "
                            f"[{math.exp(low):.2f}, {math.exp(high):.2f}]")
    verdict = combine(parts, RULE, findings, would_change=(
        "an interval that crossed its margin (5 % for the activation alone, 10 % for a "
        "training step); the step parts are the ones a user notices"))
    return verdict, ratios


def analyze(claim, results):
    runs = c.runs_where(claim, results, kind="cost")
    measured = [r for r in runs.values() if c.status(r) == "ok"]
    m = (measured[0].get("measurements") or {}) if measured else {}
    op, step = m.get("op") or {}, m.get("step") or {}
    verdict, ratios = judge(op.get("log_ratio") or {}, step.get("log_ratio") or {})
    columns = ["activation", "µs per pass (raw)", "µs per pass (net of baseline)",
               "ratio to ReLU, alone [95 % CI]", "rounds", "ms per training step",
               "step ratio to ReLU [95 % CI]", "published epoch ratio"]
    rows = []
    for name in op.get("names") or []:
        o = (op.get("summary") or {}).get(name, {})
        s = (step.get("summary") or {}).get(name, {})
        published = claim.published.get(name, {}).get("step_ratio", "")
        rows.append([
            name, stats.fmt(o.get("us_per_pass"), 1), stats.fmt(o.get("net_us_per_pass"), 1),
            _ci(o), f"{o.get('n', 0)}" + (f" ({o['skipped']} skipped)" if o.get("skipped") else ""),
            stats.fmt(1e3 * s["step_seconds"], 2) if s.get("step_seconds") else "–",
            _ci(s) if s else "–", published,
        ])
    if op:
        rows.append(["identity baseline", stats.fmt(op.get("baseline_us_per_pass"), 1),
                     "–", "–", "", "", "", ""])
    numbers = {"ratios": ratios, "op_summary": op.get("summary"), "step_summary": step.get("summary"),
               "baseline_us_per_pass": op.get("baseline_us_per_pass"),
               "rounds": {"op": op.get("rounds"), "step": step.get("rounds")}}
    series = {"op": op.get("log_ratio") or {}, "step": step.get("log_ratio") or {}}
    return c.Analysis(columns, rows, numbers, verdict, series, {"cost": c.counts(runs, None)})


def _ci(summary):
    if not summary or summary.get("ratio") is None:
        return "–"
    if summary.get("low") is None:
        return f"{summary['ratio']:.3f}"
    return f"{summary['ratio']:.3f} [{summary['low']:.3f}, {summary['high']:.3f}]"


def draw(claim, analysis):
    import numpy as np
    from matplotlib.ticker import FuncFormatter

    from actkeras.experiments import figures as f

    if not analysis.series["op"]:
        return None
    figure, axes = f.new_figure(2, width=12)
    panels = ((axes[0], "op", "the activation alone (net of baseline)", OP_MARGIN),
              (axes[1], "step", "a training step of the 50-layer MLP", STEP_MARGIN))
    for ax, key, title, margin in panels:
        found = analysis.series[key]
        order = OP_ACTIVATIONS if key == "op" else STEP_ACTIVATIONS
        names = [n for n in order if n in found] + [n for n in found if n not in order]
        for i, name in enumerate(names):
            values = stats.finite(analysis.series[key][name])
            if not values:
                continue
            jitter = np.linspace(-0.2, 0.2, len(values)) if len(values) > 1 else [0.0]
            ax.plot(i + np.asarray(jitter), np.exp(values), "o", color="tab:blue",
                    markersize=2.5, alpha=0.5)
            low, high = stats.interval(values, 0.975)
            mean = math.exp(sum(values) / len(values))
            if low is not None:
                ax.errorbar([i], [mean], yerr=[[mean - math.exp(low)], [math.exp(high) - mean]],
                            fmt="s", color="black", markersize=5, capsize=4)
        ax.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
        ax.axhline(margin, color="grey", linestyle=":", linewidth=1.0)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
        ax.set(title=title, ylabel="time / ReLU's time in the same round")
    figure.suptitle("Claim 8: cost relative to ReLU (dots: rounds; squares: geometric mean "
                    "with 95 % CI; dotted: the margin)")
    return figure
