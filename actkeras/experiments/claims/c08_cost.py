"""Claim 8: ReLU and its derivative are cheaper to compute than sigmoid; ELU is slower than
ReLU (seeds 001, 002).

The seeds speak of the activation and its derivative, not of a training step, so only
the activation alone is judged; the training step of the 50-layer MLP is a finding.

Runs: `cost` runs, each in a process of its own (separate invocations, one after the
other, after all training): `bench.activation_cost` (each activation's forward +
backward, an in-graph loop over a 1M-element tensor in one compiled call, beside an
identity baseline, paired rounds in a seeded random order after warm-up); the first
invocation also times training steps of the 50-layer MLP (`bench.mlp_epoch_time`).
Measurement, per invocation: the ratio of the activation's mean net time (its time minus
the baseline's in the same round) to ReLU's, over every round (none dropped: a round
whose net time is near zero or negative counts as it is); and the mean raw-time
difference to ReLU in microseconds, in which the baseline cancels. The interval is over
the invocations' own values, so it carries the variation between processes.
"""

import math

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.presets import data_note, seeds_note
from actkeras.experiments.rules import AS_RUN, protocol
from actkeras.experiments.spec import Claim, RunSpec

ID = 8
PROTOCOL = protocol(ID)
OP_ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "gelu", "swish", "sigmoid",
                  "scaled_sigmoid", "tanh", "softmax")
STEP_ACTIVATIONS = ("relu", "elu", "sigmoid", "tanh")
JUDGED = ("sigmoid", "elu")


def cost_run(sizes, invocation):
    overrides = {"activations": OP_ACTIVATIONS, "rounds": sizes.cost_rounds,
                 "elements": sizes.cost_elements, "inner": sizes.cost_inner}
    if invocation == 0:
        overrides.update(step_activations=STEP_ACTIVATIONS, step_rounds=sizes.cost_step_rounds)
    return RunSpec(claim=ID, label=f"invocation {invocation}", kind="cost", activation="relu",
                   overrides=overrides, dataset="fashion_mnist", source=sizes.source,
                   subset=sizes.fashion_subset, seed=invocation)


def build(sizes, tuned):
    n = len(sizes.seeds(PROTOCOL))
    return Claim(
        id=ID, title="Computational cost",
        statement="ReLU and its derivative are cheaper to compute than sigmoid; ELU is "
                  "slower than ReLU.",
        quote="ReLU function is not computationally heavy to compute compared to sigmoid "
              "function ... While ELU can help you to achieve better accuracy, it is slower "
              "than ReLU because of its non-linearity in its negative range",
        source="seeds 001, 002", seed_file="seeds/001_740307ee495fdbfa.txt",
        setup=f"{n} separate processes, one after the other, alone (after all training). "
              f"In each: forward + backward of every activation on a "
              f"{sizes.cost_elements:,}-element float32 tensor, {sizes.cost_inner} passes per "
              "compiled call (y, dx <- f(x), g f'(x), written to memory, and x <- x + 1e-6 "
              "(y + dx) in the next pass; g a fixed random upstream gradient), beside the "
              f"identity (x <- x + 1e-6 (x + g)), {sizes.cost_rounds} paired rounds in a seeded "
              f"random order after warm-up; {seeds_note(sizes, PROTOCOL)}. The first also "
              f"times training steps (batch 32) of the 50-layer Fashion-MNIST MLP per "
              f"activation, {sizes.cost_step_rounds} paired rounds (a finding); data: "
              f"{data_note(sizes)}.",
        runs=tuple(cost_run(sizes, k) for k in sizes.seeds(PROTOCOL)),
        published={"sigmoid": {"step_ratio": round(40 / 32, 2)},
                   "tanh": {"step_ratio": round(40 / 32, 2)}},
        published_source="the ReLU notebook's epoch times, about 32 s (ReLU) against 40 s "
                         "(sigmoid, tanh), one run each, on unstated hardware",
        notes=("The timings measure this machine and backend; the verdict is about them, "
               "not about every device (a GPU hides elementwise cost behind memory traffic).",),
    )


# --- measurement -----------------------------------------------------------------------------

def op_of(result):
    return (((result or {}).get("measurements") or {}).get("op")) or {}


def _mean(values):
    values = stats.finite(values)
    return sum(values) / len(values) if values else None


def log_ratio(name):
    """log10(mean net time / ReLU's mean net time) over every round of one invocation."""
    def fn(result):
        net = op_of(result).get("net_seconds") or {}
        mine, relu = _mean(net.get(name) or []), _mean(net.get("relu") or [])
        if mine is None or relu is None or relu <= 0 or mine <= 0:
            return None
        return math.log10(mine / relu)
    return fn


def raw_gap_us(name):
    """Mean of (time - ReLU's time) in the same round, in microseconds per pass."""
    def fn(result):
        op = op_of(result)
        raw = op.get("seconds") or {}
        mine, relu = raw.get(name) or [], raw.get("relu") or []
        gaps = [a - b for a, b in zip(mine, relu) if a is not None and b is not None]
        inner = op.get("inner") or 1
        return 1e6 * _mean(gaps) / inner if gaps else None
    return fn


def step_log_ratio(name):
    def fn(result):
        values = stats.finite((((result or {}).get("measurements") or {}).get("step") or {})
                              .get("log_ratio", {}).get(name) or [])
        return sum(values) / len(values) / math.log(10) if values else None
    return fn


def _metric(name):
    return {"log_ratio": c.Metric(log_ratio(name), "log10 ratio",
                                  "mean net time / ReLU's mean net time (the activation alone)"),
            "raw_gap_us": c.Metric(raw_gap_us(name), "us", "raw time minus ReLU's, µs per pass"),
            "step_log_ratio": c.Metric(step_log_ratio(name), "log10 ratio",
                                       "training step time / ReLU's")}


METRICS = _metric("relu")  # the names the protocol may use (each role reads its own)


def roles(claim, results):
    runs = {spec.seed: results.get(spec.run_id) for spec in claim.runs
            if spec.run_id in results}
    return {AS_RUN: {name: runs for name in OP_ACTIVATIONS if name != "relu"}}


def numbers(claim, results):
    arms = roles(claim, results)[AS_RUN]
    out = {"metrics": {k: m.meta() for k, m in METRICS.items()}, "settings": {AS_RUN: {}}}
    for name, runs in arms.items():
        out["settings"][AS_RUN][name] = c.arm_numbers(runs, _metric(name), name)
    first = next((r for s, r in sorted(arms.get("sigmoid", {}).items()) if c.status(r) == "ok"),
                 None)
    op = op_of(first)
    out["baseline_us"] = op.get("baseline_us_per_pass")
    out["backend"] = ((first or {}).get("measurements") or {}).get("backend")
    out["rounds"] = op.get("rounds")
    return out


def findings(numbers):
    found = []
    for name in OP_ACTIVATIONS:
        if name == "relu":
            continue
        ratio = stats.estimate(c.values_of(numbers, AS_RUN, name, "log_ratio"))
        gap = stats.estimate(c.values_of(numbers, AS_RUN, name, "raw_gap_us"))
        if ratio is None:
            continue
        text = (f"{name} alone: {10 ** ratio.mean:.2f}x ReLU"
                + (f" [{10 ** ratio.low:.2f}, {10 ** ratio.high:.2f}]" if ratio.low is not None
                   else "") + f" over {ratio.n} invocations")
        if gap is not None:
            text += f"; {gap.mean:+.1f} µs per pass" + (
                f" [{gap.low:+.1f}, {gap.high:+.1f}]" if gap.low is not None else "")
        found.append(text)
    for name in STEP_ACTIVATIONS:
        step = c.values_of(numbers, AS_RUN, name, "step_log_ratio") if name != "relu" else {}
        if step:
            value = next(iter(step.values()))
            found.append(f"a training step of the 50-layer MLP with {name}: "
                         f"{10 ** value:.3f}x ReLU's (one invocation; the notebook's epochs: "
                         f"{40 / 32:.2f}x for sigmoid and tanh)")
    return found


def tables(numbers):
    rows = []
    for name in OP_ACTIVATIONS:
        if name == "relu":
            continue
        per = c.values_of(numbers, AS_RUN, name, "log_ratio")
        gap = c.values_of(numbers, AS_RUN, name, "raw_gap_us")
        est = stats.estimate(per)
        rows.append([name, ", ".join(f"{10 ** per[k]:.2f}" for k in sorted(per)) or "–",
                     (f"{10 ** est.mean:.2f}" + (f" [{10 ** est.low:.2f}, {10 ** est.high:.2f}]"
                                                 if est.low is not None else "")) if est else "–",
                     c.summary_cell(gap, percent=False, digits=1)])
    return [(f"The activation alone, against ReLU (backend {numbers.get('backend')}, identity "
             f"baseline {stats.fmt(numbers.get('baseline_us'), 1)} µs per pass)",
             ["activation", "ratio per invocation", "ratio, 95 % interval over invocations",
              "raw time minus ReLU's, µs per pass (mean ± sd over invocations)"], rows)]


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    names = [n for n in OP_ACTIVATIONS if n != "relu"
             and c.values_of(numbers, AS_RUN, n, "log_ratio")]
    if not names:
        return None
    figure, axes = f.new_figure(2, width=12)
    ax = axes[0]
    for i, name in enumerate(names):
        per = c.values_of(numbers, AS_RUN, name, "log_ratio")
        values = [10 ** v for v in per.values()]
        ax.plot([i] * len(values), values, "o", color="tab:blue", alpha=0.5, markersize=4)
        est = stats.estimate(per)
        if est and est.low is not None:
            ax.errorbar([i], [10 ** est.mean], yerr=[[10 ** est.mean - 10 ** est.low],
                                                     [10 ** est.high - 10 ** est.mean]],
                        fmt="s", color="black", capsize=4)
    ax.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
    ax.axhline(10 ** PROTOCOL.rule("a").margin.value, color="grey", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    f.log_ticks(ax)
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
    ax.set(title="the activation alone: time / ReLU's (dots: invocations)",
           ylabel="ratio to ReLU (log scale)")
    f.parts_panel(axes[1], verdicts)
    figure.suptitle("Claim 8: cost relative to ReLU (squares: mean over invocations with 95 % "
                    "interval; dotted: the margin)")
    return figure
