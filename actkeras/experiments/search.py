"""The reproduction's learning-rate searches: the package's own Keras Tuner, doing science.

Each "as run" arm of a claim is also judged at its own best learning rate (the Deep
Learning Tuning Playbook's rule: tune the nuisance hyperparameters per arm before
comparing the scientific one, here the activation). `search_learning_rate` runs a
keras-tuner grid search (`actkeras.tuning.make_tuner("grid", ...)`) over the rates of a
`"tune"` `RunSpec`, one training per rate seeded with the spec's seed, each scored by
its final validation accuracy; the search lives in its own folder, so a killed search
resumes its trials. A search whose best rate lies at an edge of its grid is widened by the
protocol's grid-extension rule (`rules.GRID_EXTENSION`), one rate at a time, each added
rate a search of its own inside the search's folder. A user can widen it further
(`actkeras tune --learning-rates ...`) or spread it over machines with keras-tuner's
distributed mode, as `actkeras tune` does.
"""

import contextlib
import io
import json
import math
import shutil
import sys
import warnings

from actkeras.tuning import ActivationHyperModel, make_tuner, run_search

OBJECTIVE = "val_accuracy"


class FinalScore(ActivationHyperModel):
    """An `ActivationHyperModel` whose trials are scored by the validation accuracy at the
    end of training (not at their best epoch), and whose diverged trials score 0."""

    def fit(self, hp, model, data, **kwargs):
        history = self.train(hp, model, data, **kwargs)
        final = (history.history.get(OBJECTIVE) or [None])[-1]
        diverged = getattr(history, "diverged_at_step", None) is not None
        if diverged or final is None or not math.isfinite(final):
            return {OBJECTIVE: 0.0}
        return {OBJECTIVE: float(final)}


def score_rates(spec, data, directory, rates):
    """Runs (or resumes) a keras-tuner grid search over `rates` in `directory`, one training
    per rate seeded with `spec.seed`; returns `[{"learning_rate", "score", "status"}]` in
    the order of `rates`. The grid extension is `search_learning_rate`'s, not this."""
    overrides = {k: v for k, v in spec.overrides.items() if k != "learning_rate"}
    hypermodel = FinalScore(spec.preset, activations=[spec.activation],
                            learning_rates=list(rates), seed=spec.seed, monitors=False,
                            activation_kwargs={spec.activation: spec.activation_kwargs}, **overrides)
    for attempt in (0, 1):
        try:
            tuner = make_tuner("grid", hypermodel, str(directory.parent),
                               project_name=directory.name, max_trials=len(rates),
                               seed=spec.seed, objective=OBJECTIVE, log_every=spec.log_every)
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.filterwarnings("ignore", message="Training diverged")
                rows = run_search(tuner, data, verbose=0)
            break
        except json.JSONDecodeError as error:
            # keras-tuner writes its state in place (no temporary file): a process killed
            # in that write leaves an empty or cut file, which no rerun could read. The
            # search is seeded: made again from the start, it gives the same trials. Its
            # folder (the reproduction's own, added rates' searches inside) goes whole.
            if attempt:
                raise
            print(f"search in {directory}: Keras Tuner's saved state is unreadable ({error}; "
                  "a write cut short by a kill): it is made again from the start",
                  file=sys.stderr, flush=True)
            shutil.rmtree(directory)
    # Only the scores are needed: the trials' weight checkpoints would be megabytes each.
    for checkpoint in directory.glob("trial_*/*.weights.h5"):
        checkpoint.unlink()
    by_rate = {float(row["learning_rate"]): row for row in rows if "learning_rate" in row}
    trials = []
    for rate in rates:
        row = by_rate.get(float(rate)) or {}
        score = row.get("score")
        finished = row.get("status") == "COMPLETED" and score is not None
        trials.append({"learning_rate": float(rate), "score": score if finished else None,
                       "status": (("diverged" if score == 0.0 else "ok") if finished
                                  else row.get("status", "missing"))})
    return trials


def _left_chance(data):
    """`fn(score) -> bool`: whether a validation accuracy left chance, by the protocol's
    chance rule on this validation split (as `claims.runs.searched` reads it)."""
    from actkeras.experiments.claims.runs import left_chance
    from actkeras.experiments.runner import _data_record

    record = _data_record(data)
    return lambda score: left_chance(score, record)


def extension_folder(directory, rate):
    """Where the search of one added rate lives: inside the search's own folder, so that
    it resumes with it and is removed with it."""
    return directory / "extension" / f"lr_{rate:g}"


def search_learning_rate(spec, data, directory, rule=None):
    """Runs (or resumes) the grid search of a `"tune"` spec, widened by the protocol's
    `GRID_EXTENSION`; returns the trials and the best.

    The grid's trials run first; while the best lies at an edge of the rates tried, one
    more rate beyond it (`GridExtension.next_rate`) runs as a search of its own in
    `extension_folder`. A killed search resumes: keras-tuner reloads every finished
    trial, of the grid and of each added rate, and trains only what is missing.

    Args:
        spec: a `"tune"` `RunSpec`.
        data: its data set.
        directory: the search's folder.
        rule: a `GridExtension`. Defaults to `rules.GRID_EXTENSION`.

    Returns:
        `{"grid", "trials": [{"learning_rate", "score", "status", "added"}] in rate order,
        "best", "objective", "extension": {"rule", "added": [rates], "stopped", "at_cap",
        "side"}}`; `best` is the rate with the highest score (the lower rate on a tie),
        `None` when no trial finished; `added` of a trial is `"top"`/`"bottom"` for a rate
        the rule added, `None` for the grid's own.
    """
    if rule is None:
        from actkeras.experiments.rules import GRID_EXTENSION as rule
    trials = [{**t, "added": None} for t in score_rates(spec, data, directory, spec.grid)]
    left_chance = _left_chance(data)
    while True:
        state = rule.next_rate(spec.grid, trials, left_chance)
        if state["next"] is None:
            break
        folder = extension_folder(directory, state["next"])
        [trial] = score_rates(spec, data, folder, (state["next"],))
        trials.append({**trial, "added": state["side"]})
    trials.sort(key=lambda t: t["learning_rate"])
    scored = [t for t in trials if t["score"] is not None]
    best = max(scored, key=lambda t: (t["score"], -t["learning_rate"]))["learning_rate"] \
        if scored else None
    return {"grid": [float(r) for r in spec.grid], "trials": trials, "best": best,
            "objective": "final validation accuracy of one run per rate",
            "extension": {"rule": rule.decisive(), "side": state["side"],
                          "added": [t["learning_rate"] for t in trials if t["added"]],
                          "stopped": state["stopped"], "at_cap": state["at_cap"]}}


def widened_by(result, rule=None):
    """Whether a finished search's result was made under `rule` (its trials then stand
    as they are); one made before the rule, or under another, is resumed and widened."""
    if rule is None:
        from actkeras.experiments.rules import GRID_EXTENSION as rule
    recorded = ((result or {}).get("search") or {}).get("extension") or {}
    return recorded.get("rule") == rule.decisive()
