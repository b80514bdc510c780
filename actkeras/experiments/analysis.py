"""From run results to each claim's numbers: a table per claim, the series its figure
draws, and the verdict its rule computes (`verdicts.py`).

Results are the dicts `runner.run_specs` returns (`{run_id: result}`); runs that
failed are left out of the numbers and counted, diverged runs count with the
accuracy they ended at.
"""

import math
from dataclasses import dataclass, field

from actkeras.experiments import verdicts as v
from actkeras.experiments.claims import DYING_CONTROLS
from actkeras.experiments.verdicts import format_stat, stat


@dataclass(frozen=True)
class Analysis:
    """What the report shows for one claim.

    Args:
        columns: table header.
        rows: table rows, one per arm, as lists of strings.
        numbers: the measured numbers, JSON-ready, for `results.json`.
        verdict: the `Verdict`.
        series: what the figure draws (`{label: ...}`), shaped per claim.
        runs: `{label: {"n": runs, "ok": n, "diverged": n, "failed": n}}`.
    """

    columns: list
    rows: list
    numbers: dict
    verdict: v.Verdict
    series: dict = field(default_factory=dict)
    runs: dict = field(default_factory=dict)


# --- reading monitor records (formats documented on each callback) ----------------------

def dead_fraction(record):
    """Share of units off for every probe sample in a `DeadReLUMonitor` record: dead
    ReLU units, or, in a network of leaky or exponential units, inactive ones."""
    for key in ("dead_fraction", "inactive_fraction"):
        if isinstance(record.get(key), (int, float)):
            return float(record[key])
    return None


def zero_fraction(record):
    """Mean over hidden layers of the exact-zero fraction in an `ActivationStats` record."""
    values = [layer["zero_fraction"] for layer in (record.get("layers") or {}).values()
              if isinstance(layer.get("zero_fraction"), (int, float))]
    return sum(values) / len(values) if values else None


def saturated_fraction(record):
    """Mean over hidden layers of the saturated fraction (sigmoid and tanh layers only)."""
    values = [layer["saturated_fraction"] for layer in (record.get("layers") or {}).values()
              if isinstance(layer.get("saturated_fraction"), (int, float))]
    return sum(values) / len(values) if values else None


def kernel_gradient_norms(record):
    """`[(layer index, norm)]` of the hidden Dense kernels (`dense_<i>/kernel`) in a
    `GradientNormLogger` record, in depth order; the output layer is left out."""
    found = []
    for path, norm in (record.get("weights") or {}).items():
        parts = path.split("/")
        if len(parts) >= 2 and parts[-1] == "kernel" and parts[-2].startswith("dense_") \
                and isinstance(norm, (int, float)):
            found.append((int(parts[-2].split("_")[1]), float(norm)))
    return sorted(found)


def gradient_profile(result):
    """`[(layer index, RMS gradient)]` of the first gradient record of a run: each kernel's
    gradient norm divided by the square root of its number of entries."""
    records = (result.get("monitors") or {}).get("gradients") or []
    if not records:
        return []
    config = result.get("config") or {}
    sizes = [int(math.prod(config.get("input_shape", (28, 28))))] + list(config.get("hidden_units", []))
    profile = []
    for layer, norm in kernel_gradient_norms(records[0]):
        entries = sizes[layer] * sizes[layer + 1] if layer + 1 < len(sizes) else None
        if entries and norm > 0:
            profile.append((layer, norm / math.sqrt(entries)))
    return profile


def shrink_decades(result):
    """log10(RMS gradient of the first hidden kernel / that of the last one)."""
    profile = gradient_profile(result)
    if len(profile) < 2:
        return None
    return math.log10(profile[0][1] / profile[-1][1])


# --- helpers -----------------------------------------------------------------------------

def arms(claim, results):
    """`{label: [result, ...]}` for the claim's runs that have a result."""
    out = {}
    for label, specs in claim.arms().items():
        out[label] = [results[s.run_id] for s in specs if s.run_id in results]
    return out


def _usable(runs):
    return [r for r in runs if r.get("status") in ("ok", "diverged")]


def _counts(by_arm):
    counts = {}
    for label, runs in by_arm.items():
        statuses = [r.get("status") for r in runs]
        counts[label] = {"n": len(runs), **{s: statuses.count(s) for s in ("ok", "diverged", "failed")}}
    return counts


def _runs_text(count):
    text = str(count["n"])
    extra = [f"{count[s]} {s}" for s in ("diverged", "failed") if count.get(s)]
    return text + (f" ({', '.join(extra)})" if extra else "")


def metric(runs, key):
    return stat([r.get("metrics", {}).get(key) for r in _usable(runs)])


def _curve(result, metric_key="val_accuracy"):
    """`(steps, values)` of a run's learning curve."""
    history = result.get("history") or []
    steps = [row.get("step", row.get("epoch")) for row in history]
    return steps, [row.get(metric_key) for row in history]


def _curves(by_arm, metric_key="val_accuracy"):
    return {label: [_curve(r, metric_key) for r in _usable(runs)] for label, runs in by_arm.items()}


def _pct(s):
    return format_stat(s, percent=True)


def _published(claim, label, key):
    value = claim.published.get(label, {}).get(key)
    if value is None:
        return ""
    return f"{100 * value:.1f} %" if isinstance(value, float) and value <= 1 else str(value)


def _numbers(stats):
    return {k: (s.to_dict() if s is not None else None) for k, s in stats.items()}


# --- the claims ----------------------------------------------------------------------------

def _accuracy_claim(claim, results, published=False):
    by_arm = arms(claim, results)
    train = {a: metric(r, "train_accuracy") for a, r in by_arm.items()}
    valid = {a: metric(r, "valid_accuracy") for a, r in by_arm.items()}
    test = {a: metric(r, "test_accuracy") for a, r in by_arm.items()}
    counts = _counts(by_arm)
    columns = ["arm", "runs", "train accuracy", "validation accuracy", "test accuracy"]
    if published:
        columns += ["published train", "published validation", "published test"]
    rows = []
    for a in by_arm:
        row = [a, _runs_text(counts[a]), _pct(train[a]), _pct(valid[a]), _pct(test[a])]
        if published:
            row += [_published(claim, a, k) for k in ("train_accuracy", "valid_accuracy", "test_accuracy")]
        rows.append(row)
    numbers = {"train_accuracy": _numbers(train), "valid_accuracy": _numbers(valid),
               "test_accuracy": _numbers(test)}
    return by_arm, train, valid, counts, columns, rows, numbers


def claim1(claim, results):
    by_arm, train, valid, counts, columns, rows, numbers = _accuracy_claim(claim, results, True)
    verdict = v.claim1({a: s for a, s in train.items() if s}, {a: s for a, s in valid.items() if s})
    return Analysis(columns, rows, numbers, verdict, {"curves": _curves(by_arm)}, counts)


def claim2(claim, results):
    by_arm, train, valid, counts, columns, rows, numbers = _accuracy_claim(claim, results, True)
    grid = {}
    for label, s in valid.items():
        parts = label.split()
        if parts[0] == "relu" and s is not None:
            init = {"glorot": "glorot_uniform", "he": "he_normal"}[parts[1]]
            grid[(init, float(parts[2].split("=")[1]))] = s
    verdict = v.claim2(
        valid,
        relu_default=valid.get("relu glorot lr=0.01"),
        sigmoid_default=valid.get("sigmoid glorot lr=0.001"),
        relu_he=valid.get("relu he lr=0.001"),
        leaky_he=valid.get("leaky_relu he lr=0.001"),
        elu_he=valid.get("elu he lr=0.001"),
        grid=grid,
    )
    return Analysis(columns, rows, numbers, verdict, {"curves": _curves(by_arm)}, counts)


def _sci(s):
    if s is None:
        return "–"
    text = f"{s.mean:.2e}"
    return text + (f" ± {s.std:.1e}" if s.n > 1 else "")


def _gradient_claim(claim, results):
    by_arm = arms(claim, results)
    counts = _counts(by_arm)
    valid = {a: metric(r, "valid_accuracy") for a, r in by_arm.items()}
    shrink, profiles, saturated = {}, {}, {}
    rows = []
    for label, runs in by_arm.items():
        usable = _usable(runs)
        shrink[label] = stat([shrink_decades(r) for r in usable])
        profiles[label] = [gradient_profile(r) for r in usable]
        first = stat([p[0][1] for p in profiles[label] if p])
        last = stat([p[-1][1] for p in profiles[label] if p])
        saturated[label] = stat([saturated_fraction(((r.get("monitors") or {}).get("stats")
                                                     or [{}])[-1]) for r in usable])
        rows.append([label, _runs_text(counts[label]), _sci(first), _sci(last),
                     format_stat(shrink[label], 2), _pct(saturated[label]), _pct(valid[label])])
    columns = ["arm", "runs", "gradient RMS, first hidden layer", "gradient RMS, last hidden layer",
               "shrink (decades)", "saturated units at the end", "validation accuracy"]
    numbers = {"shrink_decades": _numbers(shrink), "valid_accuracy": _numbers(valid),
               "saturated_fraction": _numbers(saturated),
               "profiles": {a: [[list(x) for x in p] for p in ps] for a, ps in profiles.items()}}
    return by_arm, counts, valid, shrink, profiles, columns, rows, numbers


def claim3(claim, results):
    by_arm, counts, valid, shrink, profiles, columns, rows, numbers = _gradient_claim(claim, results)
    verdict = v.claim3({a: s for a, s in shrink.items() if s is not None})
    return Analysis(columns, rows, numbers, verdict, {"profiles": profiles}, counts)


def claim4(claim, results):
    by_arm, counts, valid, shrink, profiles, columns, rows, numbers = _gradient_claim(claim, results)
    verdict = v.claim4({a: s for a, s in valid.items() if s}, {a: s for a, s in shrink.items() if s})
    return Analysis(columns, rows, numbers, verdict,
                    {"profiles": profiles, "curves": _curves(by_arm)}, counts)


def claim5(claim, results):
    by_arm, train, valid, counts, columns, rows, numbers = _accuracy_claim(claim, results)
    verdict = v.claim5(valid.get("sigmoid"), valid.get("sigmoid + BN"), valid.get("relu"),
                       valid.get("relu + BN"))
    return Analysis(columns, rows, numbers, verdict, {"curves": _curves(by_arm)}, counts)


def claim6(claim, results):
    by_arm = arms(claim, results)
    counts = _counts(by_arm)
    final, peak, valid, series, diverged = {}, {}, {}, {}, {}
    for label, runs in by_arm.items():
        # After a NaN loss the weights are NaN: the fractions would mean nothing.
        usable = [r for r in runs if r.get("status") == "ok"]
        diverged[label] = (counts[label]["diverged"], counts[label]["n"])
        tracks = []
        for r in usable:
            records = (r.get("monitors") or {}).get("dead") or []
            tracks.append([(rec.get("step", rec.get("epoch")), dead_fraction(rec)) for rec in records])
        series[label] = tracks
        final[label] = stat([t[-1][1] for t in tracks if t])
        peak[label] = stat([max((x for _, x in t if x is not None), default=None) for t in tracks if t])
        valid[label] = metric(runs, "valid_accuracy")
    rows = [[a, _runs_text(counts[a]), _pct(final[a]), _pct(peak[a]), _pct(valid[a])] for a in by_arm]
    columns = ["arm", "runs", "dead (ReLU) or inactive at the end", "peak", "validation accuracy"]
    verdict = v.claim6({a: s for a, s in final.items() if s}, {a: s for a, s in peak.items() if s},
                       controls=DYING_CONTROLS, diverged=diverged)
    numbers = {"final_dead": _numbers(final), "peak_dead": _numbers(peak),
               "valid_accuracy": _numbers(valid)}
    return Analysis(columns, rows, numbers, verdict, {"dead": series}, counts)


def claim7(claim, results):
    by_arm = arms(claim, results)
    counts = _counts(by_arm)
    zeros, last_records = {}, {}
    for label, runs in by_arm.items():
        usable = _usable(runs)
        records = [((r.get("monitors") or {}).get("stats") or [None])[-1] for r in usable]
        zeros[label] = stat([zero_fraction(rec) for rec in records if rec])
        last_records[label] = [rec for rec in records if rec]
    rows = [[a, _runs_text(counts[a]), _pct(zeros[a])] for a in by_arm]
    columns = ["activation", "runs", "exact zeros in the hidden layer"]
    verdict = v.claim7({a: s for a, s in zeros.items() if s is not None})
    return Analysis(columns, rows, {"zero_fraction": _numbers(zeros)}, verdict,
                    {"zeros": {a: s.mean for a, s in zeros.items() if s}, "records": last_records},
                    counts)


def claim8(claim, results):
    by_arm = arms(claim, results)
    counts = _counts(by_arm)
    runs = [r for rs in by_arm.values() for r in _usable(rs)]
    names = []  # in the order the spec lists them (JSON files keep dict keys sorted)
    for r in runs:
        for name in list(r["config"]["activations"]) + list(r["measurements"]["op_ratio"]):
            if name not in names and name in r["measurements"]["op_ratio"]:
                names.append(name)
    op = {n: stat([r["measurements"]["op_ratio"].get(n) for r in runs]) for n in names}
    epoch = {n: stat([r["measurements"]["epoch_ratio"].get(n) for r in runs]) for n in names}
    op_us = {n: stat([1e6 * r["measurements"]["op_seconds"][n] for r in runs
                      if n in r["measurements"]["op_seconds"]]) for n in names}
    epoch_s = {n: stat([r["measurements"]["epoch_seconds"][n] for r in runs
                        if n in r["measurements"]["epoch_seconds"]]) for n in names}
    rows = [[n, format_stat(op_us[n], 1), format_stat(op[n], 2), format_stat(epoch_s[n], 2),
             format_stat(epoch[n], 2), _published(claim, n, "epoch_ratio")] for n in names]
    columns = ["activation", "forward+backward (µs)", "ratio to ReLU", "epoch (s)",
               "epoch ratio to ReLU", "published epoch ratio"]
    verdict = v.claim8({n: s for n, s in op.items() if s}, {n: s for n, s in epoch.items() if s})
    numbers = {"op_ratio": _numbers(op), "epoch_ratio": _numbers(epoch),
               "op_microseconds": _numbers(op_us), "epoch_seconds": _numbers(epoch_s)}
    series = {"op_ratio": {n: s for n, s in op.items() if s},
              "epoch_ratio": {n: s for n, s in epoch.items() if s}}
    return Analysis(columns, rows, numbers, verdict, series, {"cost": counts.get("cost", {})})


def claim9(claim, results):
    by_arm = arms(claim, results)
    counts = _counts(by_arm)
    mse, line, gap, wider, collapse, curves = {}, {}, {}, {}, {}, {}
    for label, runs in by_arm.items():
        usable = _usable(runs)
        m = [r.get("measurements") or {} for r in usable]
        mse[label] = stat([x.get("mse") for x in m])
        line[label] = stat([x.get("mse_line") for x in m])
        gap[label] = stat([x.get("additivity_gap") for x in m])
        wider[label] = stat([x.get("linearity_gap") for x in m])
        collapse[label] = stat([x.get("collapse_error") for x in m])
        curves[label] = [x.get("curve") for x in m if x.get("curve")]
    rows = [[a, _runs_text(counts[a]), format_stat(mse[a], 4), format_stat(line[a], 4),
             format_stat(gap[a], 3), format_stat(wider[a], 3), _sci(collapse[a])] for a in by_arm]
    columns = ["activation", "runs", "MSE", "least-squares line MSE", "|f(-1)+f(1)-f(0)|",
               "max |f(a)+f(b)-f(a+b)|", "distance to one linear map"]
    linear_collapse = collapse.get("linear")
    verdict = v.claim9(
        relu_additivity_gap=gap["relu"].mean if gap.get("relu") else 0.0,
        linear_additivity_gap=gap["linear"].mean if gap.get("linear") else math.inf,
        collapse_error=max(linear_collapse.values) if linear_collapse else None,
        mse_linear=mse.get("linear"), mse_line=line.get("linear"), mse_relu=mse.get("relu"),
    )
    numbers = {"mse": _numbers(mse), "mse_line": _numbers(line), "additivity_gap": _numbers(gap),
               "linearity_gap": _numbers(wider), "collapse_error": _numbers(collapse)}
    return Analysis(columns, rows, numbers, verdict, {"curves": curves}, counts)


def claim10(claim, results):
    by_arm = arms(claim, results)
    counts = _counts(by_arm)
    setups, rows, numbers, targets = {}, [], {}, {}
    for setup in sorted({label.split(" (")[1].rstrip(")") for label in by_arm}):
        relu_label, sigmoid_label = f"relu ({setup})", f"sigmoid ({setup})"
        relu_final = metric(by_arm.get(relu_label, []), "valid_accuracy")
        if relu_final is None:
            continue
        target = v.TARGET_FRACTION * relu_final.mean
        targets[setup] = target
        steps, interval = {}, 0
        for label in (relu_label, sigmoid_label):
            steps[label] = []
            for r in _usable(by_arm.get(label, [])):
                xs, ys = _curve(r)
                steps[label].append(v.steps_to_reach(xs, ys, target))
                if len(xs) > 1:
                    interval = max(interval, xs[1] - xs[0])
            reached = [s for s in steps[label] if s is not None]
            final = metric(by_arm.get(label, []), "valid_accuracy")
            rows.append([label, _runs_text(counts.get(label, {"n": 0})), f"{100 * target:.1f} %",
                         format_stat(stat(reached), 0) if reached else "never",
                         f"{len(reached)}/{len(steps[label])}", _pct(final)])
        setups[setup] = (steps[relu_label], steps[sigmoid_label], interval)
        numbers[setup] = {"target": target, "interval": interval,
                          "steps": {k: list(s) for k, s in steps.items()}}
    columns = ["arm", "runs", "target accuracy", "steps to target", "runs reaching it",
               "final validation accuracy"]
    verdict = v.claim10(setups) if setups else v.combine([], v.CLAIM10_RULE)
    return Analysis(columns, rows, numbers, verdict,
                    {"curves": _curves(by_arm), "targets": targets}, counts)


ANALYSES = {1: claim1, 2: claim2, 3: claim3, 4: claim4, 5: claim5, 6: claim6, 7: claim7,
            8: claim8, 9: claim9, 10: claim10}


def analyze(claim, results):
    """The `Analysis` of `claim` from `{run_id: result}`."""
    return ANALYSES[claim.id](claim, results)
