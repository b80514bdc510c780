"""Claim 9: ReLU is not linear (f(-1) + f(1) != f(0)); a network with linear activations
collapses to one linear map and cannot fit what a ReLU network fits (seed 000).

The two identities (ReLU's additivity gap; a network of linear activations equals the
product of its layers, so no linear network beats the least-squares line) are
mathematics: they are unit tests (`tests/test_claims_gradients_linear.py`), not parts.
The evidence is trained networks against properly fitted linear models:

Runs: (1) the 1-D regression of sin(x) on [-pi, pi] (`kind="regression"`), a ReLU and a
linear MLP, 8 seeds; (2) on notMNIST, the ReLU course network (claim 1's runs, as run and
at its best learning rate) against the best linear classifier: logistic regression
(scikit-learn, convex) with its L2 penalty chosen on the validation split. The linear
course network (stddev-1 weights at SGD 0.5, a linear model trained badly) is a finding.
"""

import math

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.c01_course import searches
from actkeras.experiments.claims.presets import CHANCE, data_note, seeds_note
from actkeras.experiments.claims.runs import best_rate, udacity_run
from actkeras.experiments.rules import AS_RUN, TUNED, protocol
from actkeras.experiments.spec import Claim, RunSpec

ID = 9
PROTOCOL = protocol(ID)
REGRESSION = {"units": 64, "depth": 2, "points": 256, "learning_rate": 0.01, "batch_size": 32}
REGRESSION_ARMS = ("relu", "linear")
LOGREG = "logistic regression"


def regression_run(sizes, activation, seed):
    return RunSpec(claim=ID, label=f"{activation} (sin x)", kind="regression",
                   activation=activation,
                   overrides={**REGRESSION, "steps": sizes.regression_steps}, seed=seed,
                   dataset="sin", source="generated")


def baseline_run(sizes):
    return RunSpec(claim=ID, label=LOGREG, kind="baseline", activation="linear",
                   overrides={"c_grid": tuple(PROTOCOL.params["c_grid"])}, dataset="notmnist",
                   source=sizes.source, subset=sizes.notmnist_subset, seed=0)


def build(sizes, tuned):
    seeds = sizes.seeds(PROTOCOL)
    runs = [regression_run(sizes, a, s) for a in REGRESSION_ARMS for s in seeds]
    runs += [udacity_run(sizes, ID, "relu", "relu", s) for s in seeds]
    runs += [udacity_run(sizes, ID, "linear", "linear", s) for s in sizes.seeds(PROTOCOL, "other")]
    runs.append(baseline_run(sizes))
    search = searches(sizes)["relu"]
    rate = best_rate(tuned, search)
    waiting = ()
    if rate is None:
        waiting = (f"relu {TUNED}",)
    else:
        runs += [udacity_run(sizes, ID, f"relu {TUNED}", "relu", s, learning_rate=rate,
                             tuned_from=search.run_id) for s in seeds]
    return Claim(
        id=ID, title="ReLU is not linear",
        statement="ReLU is not linear; a network with linear activations collapses to one "
                  "linear map and cannot fit what a ReLU network fits.",
        quote="ReLU is not linear ... with the non-linearity of ReLUs you can build curves of "
              "any shape on the feature plane (translated)",
        source="seed 000", seed_file="seeds/000_ca4e5f1d91f4ee43.txt",
        setup=f"(1) Regression of sin(x) on {REGRESSION['points']} points of [-pi, pi]: "
              f"{REGRESSION['depth']} hidden layers of {REGRESSION['units']} units, He "
              f"initialisation, Adam {REGRESSION['learning_rate']}, batch "
              f"{REGRESSION['batch_size']}, {sizes.regression_steps} steps, MSE; ReLU against "
              f"linear activations; {seeds_note(sizes, PROTOCOL)}. (2) notMNIST, "
              f"{data_note(sizes)}: the ReLU course network (claim 1's runs: SGD 0.5, and its "
              "best learning rate) against logistic regression (scikit-learn, lbfgs) with "
              "its inverse L2 penalty C chosen on the validation split from "
              f"{', '.join(f'{x:g}' for x in PROTOCOL.params['c_grid'])}.",
        runs=tuple(runs), tuning=(search,), waiting=waiting,
        published={LOGREG: {"valid_accuracy": "78.8 %", "test_accuracy": "86.1 %"}},
        published_source="the course's logistic regression (tensorflow/examples/udacity, "
                         "2_fullyconnected.ipynb: SGD, batch 128, "
                         "3,001 steps, lr 0.5, trained on 200,000 notMNIST_large images)",
        notes=(("The logistic regression is fitted once per penalty (convex, deterministic); "
                "its validation accuracy is compared with each ReLU seed's."),
               ("Both sides choose one hyperparameter on the validation split (C; the learning "
                "rate), so neither has the advantage of the other; test accuracy is beside it.")),
    )


# --- measurement -----------------------------------------------------------------------------

def log_mse(result):
    mse = ((result or {}).get("measurements") or {}).get("mse")
    return math.log10(mse) if isinstance(mse, (int, float)) and mse > 0 else None


METRICS = {
    "log_mse": c.Metric(log_mse, "decades", "log10 mean squared error of the fit"),
    "valid": c.VALID, "valid_last3": c.VALID_LAST3,
    "test": c.Metric(c.final("test_accuracy"), "pts", "final test accuracy"),
}


def logreg_result(claim, results):
    for spec in claim.runs:
        if spec.kind == "baseline":
            return results.get(spec.run_id)
    return None


def as_comparator(result, seeds):
    """The logistic regression's one fit, repeated for each ReLU seed it is compared with
    (its last three "budgets" are its one value, so the alternative aggregate reads it)."""
    if c.status(result) != "ok":
        return {s: result for s in seeds} if result else {}
    value = c.metric(result, "valid_accuracy")
    pseudo = {**result, "budgets": [{"step": i, "valid_accuracy": value} for i in range(3)]}
    return {s: pseudo for s in seeds}


def roles(claim, results):
    out = {}
    logreg = logreg_result(claim, results)
    for setting, label in ((AS_RUN, "relu"), (TUNED, f"relu {TUNED}")):
        relu = c.runs_labelled(claim, results, label)
        out[setting] = {"relu": relu, LOGREG: as_comparator(logreg, relu)}
    for a in REGRESSION_ARMS:
        out[AS_RUN][f"{a} (sin x)"] = c.runs_labelled(claim, results, f"{a} (sin x)")
    out[AS_RUN]["linear course network"] = c.runs_labelled(claim, results, "linear")
    return out


def numbers(claim, results):
    out = c.settings_numbers(roles(claim, results), METRICS)
    logreg = logreg_result(claim, results) or {}
    # Its fitting time stays in the run file: a number that differs between equal
    # reproductions has no place among the ones the verdicts are computed from.
    out["logistic_regression"] = {k: v for k, v in (logreg.get("baseline") or {}).items()
                                  if k != "seconds"} or None
    out["sine"] = {a: {str(s): ((r.get("measurements") or {}).get("curve"))
                       for s, r in c.runs_labelled(claim, results, f"{a} (sin x)").items()}
                   for a in REGRESSION_ARMS}
    out["series"] = {a: {str(s): c.budget_curve(r) for s, r in
                         c.runs_labelled(claim, results, a).items()} for a in ("relu", "linear")}
    return out


def findings(numbers):
    found = []
    fit = numbers.get("logistic_regression") or {}
    if fit.get("best_c") is not None:
        found.append(f"logistic regression: C = {fit['best_c']:g} chosen on validation; "
                     f"validation {100 * fit['valid_accuracy']:.1f} %, test "
                     f"{100 * fit['test_accuracy']:.1f} %"
                     + (" (C at the edge of the grid)" if fit.get("at_edge") else ""))
    lin = stats.summarize(list(c.values_of(numbers, AS_RUN, "linear course network",
                                           "valid").values()))
    if lin:
        found.append(f"the course network with linear hidden units (stddev-1 weights, SGD 0.5; "
                     f"a linear model trained badly): validation {stats.fmt_summary(lin, percent=True)}"
                     + (f", {100 * (fit['valid_accuracy'] - lin.mean):+.1f} points below the "
                        "properly fitted logistic regression" if fit.get("valid_accuracy") else ""))
    for a in REGRESSION_ARMS:
        mse = stats.summarize([10 ** v for v in c.values_of(numbers, AS_RUN, f"{a} (sin x)",
                                                            "log_mse").values()])
        if mse:
            found.append(f"sin(x), {a} network: MSE {stats.fmt_summary(mse, 4)} (the "
                         "least-squares line: 0.1986, the best any linear map does)")
    return found


def tables(numbers):
    rows = []
    for setting, per in (numbers.get("settings") or {}).items():
        for role in per:
            unit = "log10 MSE" if role.endswith("(sin x)") else "validation"
            key = "log_mse" if role.endswith("(sin x)") else "valid"
            values = c.values_of(numbers, setting, role, key)
            if role == LOGREG:
                values = dict(list(values.items())[:1])
            rows.append([setting, role, unit, c.seed_cell(values, key == "valid"),
                         c.summary_cell(values, key == "valid")])
    return [("Arms", ["setting", "arm", "measure", "per seed", "mean ± sd"], rows)]


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(3)
    truth = None
    for a, curves in (numbers.get("sine") or {}).items():
        drawn = {}
        for s, curve in curves.items():
            if curve:
                drawn[s] = (curve["x"], curve["prediction"])
                truth = truth or (curve["x"], curve["y"])
        f.seed_curves(axes[0], f"{a} network", drawn)
    if truth:
        axes[0].plot(*truth, color="black", linestyle=":", linewidth=1.2, label="sin(x)")
    f.finish(axes[0], "fits of sin(x)", xlabel="x", ylabel="network output", ylim=(-1.5, 1.5))
    for a, curves in (numbers.get("series") or {}).items():
        f.seed_curves(axes[1], f"{a} hidden units (SGD 0.5)", curves)
    fit = numbers.get("logistic_regression") or {}
    if fit.get("valid_accuracy") is not None:
        axes[1].axhline(fit["valid_accuracy"], color="tab:green", linestyle="-.", linewidth=1,
                        label="logistic regression, L2 chosen on validation")
    f.chance_line(axes[1], CHANCE)
    f.step_axis(axes[1])
    f.finish(axes[1], "notMNIST: validation accuracy")
    f.parts_panel(axes[2], verdicts)
    figure.suptitle("Claim 9: linear models against ReLU networks (each seed thin, mean ± sd band)")
    return figure
