"""The four keras-tuner tuners, each with actkeras's search loop; grid search made resumable."""

import functools

import keras_tuner

from actkeras.tuning import distributed


class _SearchMixin:
    """What every actkeras tuner adds to its keras-tuner base class.

    `search` runs the hardened chief server or worker client of
    `actkeras.tuning.distributed` when the KERASTUNER_* variables ask for it, and
    every trial is logged as one line (`tuner0: trial 03 begins ...`).
    """

    worker_timeout = 60.0  # chief: give up on a worker silent this long (seconds)
    oracle_timeout = 120.0  # worker: give up on a chief silent this long (seconds)

    def search(self, *fit_args, **fit_kwargs):
        mode = distributed.role()
        if mode == "chief":
            self.oracle.verbose = fit_kwargs.get("verbose", 0)
            self.save()
            distributed.serve(self.oracle, worker_timeout=self.worker_timeout)
            return
        if mode == "worker":
            local = getattr(self.oracle, "_oracle", self.oracle)
            self.oracle = distributed.OracleClient(local, timeout=self.oracle_timeout)
            heartbeat = distributed.Heartbeat(self.tuner_id, self.oracle_timeout)
            try:
                with heartbeat:
                    super().search(*fit_args, **fit_kwargs)
            except KeyboardInterrupt:
                if heartbeat.lost:
                    raise distributed.ChiefLost(
                        f"the chief at {distributed.address()} stopped answering") from None
                raise
            return
        super().search(*fit_args, **fit_kwargs)

    def run_trial(self, trial, *fit_args, **fit_kwargs):
        self._executions = 0
        try:
            return super().run_trial(trial, *fit_args, **fit_kwargs)
        finally:
            self.hypermodel.execution = 0

    def _build_and_fit_model(self, trial, *fit_args, **fit_kwargs):
        # Execution k trains with seed + k: averaging identical runs would prove nothing.
        self.hypermodel.execution = self._executions
        self._executions += 1
        return super()._build_and_fit_model(trial, *fit_args, **fit_kwargs)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        print(f"{self.tuner_id}: trial {trial.trial_id} begins {public_values(trial)}", flush=True)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        score = self.oracle.get_trial(trial.trial_id).score
        message = (getattr(trial, "message", None) or "").strip()
        why = f": {message.splitlines()[-1]}" if trial.status == "FAILED" and message else ""
        print(f"{self.tuner_id}: trial {trial.trial_id} ends {trial.status} score={score}{why}",
              flush=True)


class _GridOracle(keras_tuner.oracles.GridSearchOracle):
    """keras-tuner's grid oracle, resumable.

    keras-tuner 1.4.8 does not save its walk through the grid (the ordered trial
    list and the queue of trials whose successor is still to be made), so a
    reloaded grid search fails with a KeyError. Both are rebuilt from the trials:
    a trial whose successor was already tried is skipped, as in a fresh search.
    """

    def set_state(self, state):
        super().set_state(state)

        def order(a, b):
            return self._compare(self.trials[a].hyperparameters.values,
                                 self.trials[b].hyperparameters.values)

        self._ordered_ids = type(self._ordered_ids)()
        for trial_id in sorted(self.trials, key=functools.cmp_to_key(order)):
            self._ordered_ids.insert(trial_id)
        self._populate_next = list(self.start_order)


class _GridSearch(keras_tuner.GridSearch):
    __doc__ = keras_tuner.GridSearch.__doc__

    def __init__(self, hypermodel=None, objective=None, max_trials=None, seed=None,
                 max_retries_per_trial=0, max_consecutive_failed_trials=3, **kwargs):
        self.seed = seed
        oracle = _GridOracle(objective=objective, max_trials=max_trials, seed=seed,
                             max_retries_per_trial=max_retries_per_trial,
                             max_consecutive_failed_trials=max_consecutive_failed_trials)
        keras_tuner.Tuner.__init__(self, oracle, hypermodel, **kwargs)


def _tuner_class(base, name):
    return type(name, (_SearchMixin, base), {"__module__": __name__, "__doc__": base.__doc__})


TUNERS = {
    "random": _tuner_class(keras_tuner.RandomSearch, "RandomSearch"),
    "grid": _tuner_class(_GridSearch, "GridSearch"),
    "hyperband": _tuner_class(keras_tuner.Hyperband, "Hyperband"),
    "bayesian": _tuner_class(keras_tuner.BayesianOptimization, "BayesianOptimization"),
}


def public_values(trial):
    """The trial's tuned values, without Hyperband's bookkeeping (`tuner/...`)."""
    return {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
