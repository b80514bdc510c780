"""Hand-made run results for testing the claims' judges without training anything.

A result is the dict `runner.run_one` writes; only the fields a judge reads are
filled. `arm(values)` makes `{seed: result}` with one final validation accuracy per
seed (`None` for a run that diverged).
"""


def result(status="ok", seed=0, metrics=None, budgets=None, monitors=None, measures=None,
           measurements=None, config=None, data=None, history=None):
    return {
        "status": status,
        "spec": {"seed": seed},
        "metrics": dict(metrics or {}),
        "budgets": list(budgets or []),
        "monitors": dict(monitors or {}),
        "measures": dict(measures or {}),
        "measurements": dict(measurements or {}),
        "config": dict(config or {}),
        "data": dict(data or {}),
        "history": list(history or []),
    }


def arm(values, key="valid_accuracy", **extra):
    """`{seed: result}`: one run per value; `None` makes a diverged run."""
    out = {}
    for seed, value in enumerate(values):
        if value is None:
            out[seed] = result("diverged", seed, {key: None}, **extra)
        else:
            out[seed] = result("ok", seed, {key: value}, **extra)
    return out
