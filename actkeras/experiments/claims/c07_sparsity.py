"""Claim 7: ReLU representations are sparse, sigmoid ones dense (seed 002, citing Glorot et
al. 2011).

A ReLU layer on symmetric weights starts with about half of its outputs at exactly 0:
sparsity that training did not make. So the claim's "sparse" is judged as the change from
step 0 to the end of training, per seed, not against a line at one half; and because the
course network's stddev-1 weights travel with everything it does, the claim is judged
again on the same network started from glorot_uniform weights.

Runs: the course network of claim 1 (its runs, 8 seeds) and the same network with
glorot_uniform weights (5 seeds), ReLU and sigmoid; the other activations of claim 1 as
findings. Measurement, on the probe images: the hidden layer's share of exact zeros at
step 0 and at the end (`ActivationStats`), and after training its share of near-zero
outputs, |a| <= 5 % of the layer's own scale (99th percentile of |a|), one rule for
every activation (a sigmoid's "off" level is its lower asymptote 0, never reached).
"""

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.c01_course import COMPARED, OTHERS
from actkeras.experiments.claims.presets import data_note, seeds_note
from actkeras.experiments.claims.runs import udacity_run
from actkeras.experiments.measures import SPARSITY_EPSILON
from actkeras.experiments.rules import AS_RUN, protocol
from actkeras.experiments.spec import Claim

ID = 7
PROTOCOL = protocol(ID)
GLOROT = "glorot"
JUDGED = ("relu", "sigmoid")


def build(sizes, tuned):
    runs = [udacity_run(sizes, ID, a, a, s) for a in JUDGED for s in sizes.seeds(PROTOCOL)]
    runs += [udacity_run(sizes, ID, a, a, s) for a in COMPARED + OTHERS if a not in JUDGED
             for s in sizes.seeds(protocol(1), "judged" if a in COMPARED else "other")]
    runs += [udacity_run(sizes, ID, f"{a} {GLOROT}", a, s, initializer="glorot_uniform")
             for a in JUDGED for s in sizes.seeds(PROTOCOL, "glorot")]
    return Claim(
        id=ID, title="Sparse representations",
        statement="ReLU representations are sparse, sigmoid ones dense.",
        quote="Sparsity arises when a <= 0 ... Sigmoids on the other hand are always likely to "
              "generate some non-zero value resulting in dense representations",
        source="seed 002 (Glorot et al. 2011)", seed_file="seeds/002_971926e18ad6f5cd.txt",
        setup=f"The course network of claim 1 (`udacity` preset, 784-1024-10, SGD 0.5, batch "
              f"128, {sizes.udacity_steps} steps on notMNIST, {data_note(sizes)}; "
              f"{seeds_note(sizes, PROTOCOL)}), and the same network started from "
              f"glorot_uniform weights ({len(sizes.seeds(PROTOCOL, 'glorot'))} seeds). On the "
              f"first {sizes.probe_size:,} validation images: the hidden outputs' share of exact "
              "zeros at step 0 and at the end, and after training their share within eps of 0, "
              f"eps = {SPARSITY_EPSILON:g} x the layer's scale (its 99th percentile of |a|).",
        runs=tuple(runs),
        notes=("Exact zeros are reported for every activation, but only ReLU can have many: "
               "sigmoid and softmax outputs are positive unless they underflow, tanh, "
               "LeakyReLU and ELU are zero only at exactly 0 input.",),
    )


# --- measurement -----------------------------------------------------------------------------

def stats_records(result):
    return [r for r in (((result or {}).get("monitors") or {}).get("stats") or [])
            if isinstance(r, dict)]


def _zero_share(record):
    layers = (record or {}).get("layers") or {}
    values = [info.get("zero_fraction") for info in layers.values()
              if isinstance(info.get("zero_fraction"), (int, float))]
    return sum(values) / len(values) if values else None


def zeros_at(which):
    """Exact-zero share of the hidden outputs at step 0 (`"start"`) or at the end."""
    def fn(result):
        found = stats_records(result)
        if which == "start":
            found = [r for r in found if r.get("trigger") == "train_begin"]
            return _zero_share(found[0]) if found else None
        later = [r for r in found if r.get("trigger") != "train_begin"]
        return _zero_share(later[-1]) if later else None
    return fn


def zeros_gain(result):
    start, end = zeros_at("start")(result), zeros_at("end")(result)
    return None if start is None or end is None else end - start


def layer_share(key):
    """The unit-weighted mean of `key` over the hidden layers of the `sparsity` measure."""
    def fn(result):
        layers = ((((result or {}).get("measures") or {}).get("sparsity") or {})
                  .get("layers") or {})
        total = weight = 0.0
        for layer in layers.values():
            value = layer.get(key)
            if isinstance(value, (int, float)):
                units = layer.get("units") or 1
                total += units * float(value)
                weight += units
        return total / weight if weight else None
    return fn


METRICS = {
    "zeros_gain": c.Metric(zeros_gain, "pp", "change in the share of exact zeros, step 0 "
                           "to the end"),
    "zeros_start": c.Metric(zeros_at("start"), "share", "share of exact zeros at step 0"),
    "zeros_end": c.Metric(zeros_at("end"), "share", "share of exact zeros at the end"),
    "near_zero": c.Metric(layer_share("near_zero_fraction"), "share",
                          "share of outputs within 5 % of the layer's scale of 0"),
    "below_005": c.Metric(layer_share("below_0.05_fraction"), "share",
                          "share of outputs with |a| <= 0.05"),
}


def roles(claim, results):
    return {AS_RUN: {a: c.runs_labelled(claim, results, a) for a in COMPARED + OTHERS},
            GLOROT: {a: c.runs_labelled(claim, results, f"{a} {GLOROT}") for a in JUDGED}}


def numbers(claim, results):
    return c.settings_numbers(roles(claim, results), METRICS)


def findings(numbers):
    found = []
    for setting, per in (numbers.get("settings") or {}).items():
        for role in per:
            cells = {k: stats.summarize(list(c.values_of(numbers, setting, role, k).values()))
                     for k in ("zeros_start", "zeros_end", "near_zero")}
            if cells["zeros_end"]:
                found.append(f"{setting}, {role}: exact zeros "
                             f"{stats.fmt_summary(cells['zeros_start'], percent=True)} at step 0, "
                             f"{stats.fmt_summary(cells['zeros_end'], percent=True)} at the end; "
                             f"near zero {stats.fmt_summary(cells['near_zero'], percent=True)}")
    return found


def tables(numbers):
    columns = ["setting", "activation", "runs", "exact zeros at step 0", "exact zeros at the end",
               "change per seed", "near zero at the end", "|a| <= 0.05"]
    rows = []
    for setting, per in (numbers.get("settings") or {}).items():
        for role in per:
            v = {k: c.values_of(numbers, setting, role, k) for k in METRICS}
            rows.append([setting, role, c.counts_cell(c.statuses_of(numbers, setting, role)),
                         c.summary_cell(v["zeros_start"]), c.summary_cell(v["zeros_end"]),
                         c.seed_cell(v["zeros_gain"]), c.summary_cell(v["near_zero"]),
                         c.summary_cell(v["below_005"])])
    return [("Hidden outputs on the probe images", columns, rows)]


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(3)
    for ax, setting in zip(axes, (AS_RUN, GLOROT)):
        per_arm = {}
        for role in JUDGED:
            for key, when in (("zeros_start", "step 0"), ("zeros_end", "end")):
                per_arm[f"{role} {when}"] = c.values_of(numbers, setting, role, key)
            per_arm[f"{role} near 0, end"] = c.values_of(numbers, setting, role, "near_zero")
        f.seed_points(ax, per_arm, "share of hidden outputs", reference=0.5, percent=True)
        ax.set_title(f"{setting}: exact zeros and near-zero outputs (each dot a seed)")
    f.parts_panel(axes[2], verdicts)
    figure.suptitle("Claim 7: exact zeros of the hidden layer, step 0 and end (dashed: one half)")
    return figure
