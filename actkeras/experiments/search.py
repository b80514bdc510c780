"""The reproduction's learning-rate searches: the package's own Keras Tuner, doing science.

Each "as run" arm of a claim is also judged at its own best learning rate (the Deep
Learning Tuning Playbook's rule: tune the nuisance hyperparameters per arm before
comparing the scientific one, here the activation). `search_learning_rate` runs a
keras-tuner grid search (`actkeras.tuning.make_tuner("grid", ...)`) over the rates of a
`"tune"` `RunSpec`, one training per rate seeded with the spec's seed, each scored by
its final validation accuracy; the search lives in its own folder, so a killed search
resumes its trials. A user can widen it (`actkeras tune --learning-rates ...`) or spread
it over machines with keras-tuner's distributed mode, as `actkeras tune` does.
"""

import contextlib
import io
import math
import warnings

from actkeras.tuning import ActivationHyperModel, make_tuner, run_search

OBJECTIVE = "val_accuracy"


class FinalScore(ActivationHyperModel):
    """An `ActivationHyperModel` whose trials are scored by the validation accuracy at the
    end of training (not at their best epoch), and whose diverged trials score 0."""

    def fit(self, hp, model, data, **kwargs):
        history = super().fit(hp, model, data, **kwargs)
        final = (history.history.get(OBJECTIVE) or [None])[-1]
        diverged = getattr(history, "diverged_at_step", None) is not None
        if diverged or final is None or not math.isfinite(final):
            return {OBJECTIVE: 0.0}
        return {OBJECTIVE: float(final)}


def search_learning_rate(spec, data, directory):
    """Runs (or resumes) the grid search of a `"tune"` spec; returns the trials and the best.

    Returns:
        `{"grid", "trials": [{"learning_rate", "score", "status"}] in grid order, "best",
        "objective"}`; `best` is the rate with the highest score (the lower rate on a tie),
        `None` when no trial finished.
    """
    overrides = {k: v for k, v in spec.overrides.items() if k != "learning_rate"}
    hypermodel = FinalScore(spec.preset, activations=[spec.activation],
                            learning_rates=list(spec.grid), seed=spec.seed, monitors=False,
                            activation_kwargs={spec.activation: spec.activation_kwargs}, **overrides)
    tuner = make_tuner("grid", hypermodel, str(directory.parent), project_name=directory.name,
                       max_trials=len(spec.grid), seed=spec.seed, objective=OBJECTIVE,
                       log_every=spec.log_every)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", message="Training diverged")
        rows = run_search(tuner, data, verbose=0)
    # Only the scores are needed: the trials' weight checkpoints would be megabytes each.
    for checkpoint in directory.glob("trial_*/*.weights.h5"):
        checkpoint.unlink()
    by_rate = {float(row["learning_rate"]): row for row in rows if "learning_rate" in row}
    trials = []
    for rate in spec.grid:
        row = by_rate.get(float(rate)) or {}
        score = row.get("score")
        finished = row.get("status") == "COMPLETED" and score is not None
        trials.append({"learning_rate": float(rate), "score": score if finished else None,
                       "status": (("diverged" if score == 0.0 else "ok") if finished
                                  else row.get("status", "missing"))})
    scored = [t for t in trials if t["score"] is not None]
    best = max(scored, key=lambda t: (t["score"], -t["learning_rate"]))["learning_rate"] \
        if scored else None
    return {"grid": [float(r) for r in spec.grid], "trials": trials, "best": best,
            "objective": "final validation accuracy of one run per rate"}
