"""The deep MLP that claims 3, 4, 5 and 10 share: its arms (activation and initial weight
scale), their step-0 probes, their learning-rate searches, and their runs "as run" (SGD
0.05) and at each arm's best rate. Every claim lists the same runs for an arm, so each
is trained once.
"""

import math
from dataclasses import replace

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.runs import (
    DEEP_ARMS,
    DEEP_RATE,
    best_rate,
    deep_run,
    probe_run,
    small_grid,
    trains,
    tune_run,
)
from actkeras.experiments.rules import AS_RUN, TUNED, protocol

ARMS = tuple(DEEP_ARMS)
# The arms claim 10 compares get its 8 seeds; the others claim 5's 5.
SEEDS = {"relu": 10, "sigmoid x8": 10}
AS_RUN_ARMS = ("relu", "sigmoid", "slope 4", "sigmoid x8", "sigmoid + BN", "relu + BN")
WHAT = {
    "relu": "ReLU, He", "relu glorot": "ReLU, glorot_uniform", "sigmoid": "sigmoid, glorot_uniform",
    "sigmoid lecun": "sigmoid, LeCun normal", "sigmoid he": "sigmoid, He",
    "sigmoid x4": "sigmoid, 4 x glorot_uniform", "sigmoid x8": "sigmoid, 8 x glorot_uniform",
    "tanh": "tanh, glorot_uniform", "sigmoid + BN": "sigmoid + batch norm, glorot_uniform",
    "relu + BN": "ReLU + batch norm, He", "slope 2": "sigmoid(2x), glorot_uniform",
    "slope 4": "sigmoid(4x), glorot_uniform", "slope 8": "sigmoid(8x), glorot_uniform",
    "slope 16": "sigmoid(16x), glorot_uniform",
}
FAMILY = {"relu": "relu", "sigmoid": "sigmoid", "scaled_sigmoid": "sigmoid", "tanh": "tanh"}


def seeds(sizes, label):
    claim = SEEDS.get(label, 5)
    return sizes.seeds(protocol(claim), "judged")


# The arms whose tuned runs claims 4, 5 and 10 compare search five rates; the arms
# claim 3 only ties to trainability search three (the protocol's "best of three").
COMPARED = ("relu", "sigmoid", "slope 4", "sigmoid x8", "sigmoid + BN", "relu + BN")


def grid(sizes, label):
    full = protocol(3).params["grid" if label in COMPARED else "grid_trainability"]
    return full if sizes.tune_grids else small_grid(full, DEEP_RATE)


def searches(sizes, labels=ARMS):
    return {label: tune_run(deep_run(sizes, 3, label, 0), grid(sizes, label),
                            f"{label} (search)") for label in labels}


def runs(sizes, claim, labels, tuned, settings=(AS_RUN, TUNED)):
    """`(runs, waiting)`: each arm's runs as run (if it has that setting) and at its best
    rate (once its search has finished). An arm that only claim 3's trainability table
    reads, and whose search found no rate at which it left chance, gets no judged seeds:
    its search's trials are the evidence that it does not train (the protocol's
    `untrainable` rule)."""
    out, waiting = [], []
    found = searches(sizes, labels)
    for label in labels:
        if AS_RUN in settings and label in AS_RUN_ARMS:
            out += [deep_run(sizes, claim, label, s) for s in seeds(sizes, label)]
        if TUNED in settings and sizes.tuned:
            rate = best_rate(tuned, found[label])
            if rate is None:
                waiting.append(f"{label} {TUNED}")
                continue
            if label not in COMPARED and not trains(tuned, found[label]):
                continue
            out += [replace(deep_run(sizes, claim, label, s, learning_rate=rate,
                                     tuned_from=found[label].run_id), label=f"{label} {TUNED}")
                    for s in seeds(sizes, label)]
    return out, waiting


def probes(sizes, claim, labels=ARMS):
    return [probe_run(sizes, claim, label, sizes.seeds(protocol(3), "judged"))
            for label in labels]


# --- reading ---------------------------------------------------------------------------------

def probe_result(claim, results, label):
    for spec in claim.runs:
        if spec.kind == "probe" and spec.label == f"{label} (step 0)":
            return results.get(spec.run_id)
    return None


def probe_seeds(claim, results, label, depth):
    """`{seed: pseudo-result}` of one arm's step-0 profiles at `depth` (each holding its
    profile under "probe"), so the per-run metrics read them like training runs."""
    result = probe_result(claim, results, label)
    if c.status(result) != "ok":
        return {}
    profiles = ((result.get("probe") or {}).get(str(depth))) or {}
    return {int(seed): {"status": "ok", "probe": profile} for seed, profile in profiles.items()}


def decay(key):
    def fn(result):
        value = ((result or {}).get("probe") or {}).get(key)
        return float(value) if value is not None and math.isfinite(value) else None
    return fn


DECAY_KERNEL = c.Metric(decay("decay_kernel"), "decades", "decay of the kernel gradient "
                        "(log10 last / first hidden layer)")
DECAY_ERROR = c.Metric(decay("decay_error"), "decades", "decay of the backpropagated error "
                       "dL/dz (log10 last / first hidden layer)")


def arm_runs(claim, results, label, setting):
    """`{seed: result}` of an arm's training runs in a setting."""
    return c.runs_labelled(claim, results, label if setting == AS_RUN else f"{label} {TUNED}")


def sweep(claim, results, labels, depths):
    """`{label: {depth: {"kernel": Summary dict, "error": ..., "saturated": {line: mean},
    "derivative": mean}}}` of the step-0 probes."""
    out = {}
    for label in labels:
        per = {}
        for depth in depths:
            found = probe_seeds(claim, results, label, depth)
            if not found:
                continue
            entry = {}
            for key in ("decay_kernel", "decay_error"):
                s = stats.summarize([r["probe"].get(key) for r in found.values()])
                entry[key] = s.to_dict() if s else None
            layers = [layer for r in found.values() for layer in r["probe"].get("layers", [])]
            sat = [layer.get("saturated") for layer in layers if layer.get("saturated")]
            if sat:
                entry["saturated"] = {line: sum(s[line] for s in sat) / len(sat) for line in sat[0]}
                entry["derivative"] = (sum(layer["mean_derivative"] for layer in layers
                                           if "mean_derivative" in layer)
                                       / max(1, sum("mean_derivative" in layer for layer in layers)))
            zero = [layer["zero_fraction"] for layer in layers if "zero_fraction" in layer]
            entry["zero_fraction"] = sum(zero) / len(zero) if zero else None
            per[str(depth)] = entry
        out[label] = per
    return out


def profiles(claim, results, label, depth):
    """`{seed: ([hidden layer from 1], [log10 kernel RMS], [log10 error RMS])}`."""
    out = {}
    for seed, r in probe_seeds(claim, results, label, depth).items():
        layers = r["probe"].get("layers") or []
        out[str(seed)] = ([layer["layer"] + 1 for layer in layers],
                          [math.log10(layer["kernel_rms"]) for layer in layers],
                          [math.log10(layer["error_rms"]) for layer in layers])
    return out


def trainability(claim, results, labels, search_numbers):
    """Rows: arm, best rate, validation at it (mean ± sd), seeds."""
    rows = []
    for label in labels:
        runs_ = arm_runs(claim, results, label, TUNED)
        valid = {s: c.metric(r, "valid_accuracy") for s, r in runs_.items() if c.status(r) == "ok"}
        valid = {s: v for s, v in valid.items() if v is not None}
        search = search_numbers.get(f"{label} (search)") or {}
        best = "–"
        if search.get("best") is not None:
            notes = [n for n in (c.search_note(search), c.search_margin(search, valid)) if n]
            best = f"{search['best']:g}" + (f" ({'; '.join(notes)})" if notes else "")
        if search and not search.get("trains", True):
            best = "none: at chance at every rate of its grid"
        added = search.get("added") or {}
        scores = ", ".join(f"{r:g}{' (added)' if r in added else ''}: {100 * v:.1f}"
                           for r, v in zip(search.get("rates") or [], search.get("scores") or [])
                           if v is not None)
        rows.append([label, WHAT.get(label, label), best, scores or "–",
                     c.summary_cell(valid), c.counts_cell({s: c.status(r) for s, r in runs_.items()})])
    return rows
