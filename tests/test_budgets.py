"""`BudgetEvaluator` scores at step 0 and at each budget, reading the model only when a
budget may have been reached, with the records it made when it read it every group; its
scores are the plain accuracy's, each split scored in one compiled call."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

import actkeras
from actkeras.experiments import measures
from actkeras.experiments.measures import BudgetEvaluator, accuracy
from actkeras.training import fit


def _data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 28, 28)).astype("float32")
    y = (np.arange(n) % 10).astype("int32")
    return SimpleNamespace(x_train=x, y_train=y, x_valid=x[:40], y_valid=y[:40],
                           x_test=x[:0], y_test=y[:0])


class _EveryGroup(BudgetEvaluator):
    """The evaluator as it was: the step count read after every group."""

    def on_epoch_begin(self, epoch, logs=None):
        self._base = None


def _counted(evaluator):
    reads = []
    original = evaluator._iterations
    evaluator._iterations = lambda: reads.append(1) or original()
    return reads


@pytest.mark.parametrize("by, budgets", [
    # by epochs of 5 batches (4 of 32, 1 of 22) in groups of 3: 2 groups an epoch, the
    # budgets on group ends, inside groups and across epochs; 15 steps in all.
    ("epochs", (0, 3, 4, 5, 9, 10, 13, 15, 40)),
    # by steps: 23 steps reported every 8 (groups of 4, fitted to 8), the last short.
    ("steps", (0, 4, 6, 8, 12, 20, 23, 24)),
])
def test_budgets_are_recorded_as_when_the_model_was_read_every_group(by, budgets):
    data = _data()
    length = {"epochs": 3} if by == "epochs" else {"steps": 23}
    model = actkeras.build_model("relu", preset="mlp", units=16, depth=2, seed=1, batch_size=32,
                                 steps_per_execution=3 if by == "epochs" else 4, **length)
    slice_ = (data.x_train[:64], data.y_train[:64])
    new = BudgetEvaluator(data.x_valid, data.y_valid, budgets, *slice_)
    old = _EveryGroup(data.x_valid, data.y_valid, budgets, *slice_)
    new_reads, old_reads = _counted(new), _counted(old)
    fit(model, data, callbacks=[new, old], verbose=0, log_every=8, check_every=1)
    assert new.records == old.records  # the same steps and the same accuracies, exactly
    steps = [r["step"] for r in new.records]
    assert steps[0] == 0 and set(new.records[0]) == {"step", "valid_accuracy", "train_accuracy"}
    if by == "epochs":  # groups end at 3, 5 | 8, 10 | 13, 15
        assert steps == [0, 3, 5, 10, 13, 15]
    else:  # groups end at 4, 8 | 12, 16 | 20, 23
        assert steps == [0, 4, 8, 12, 20, 23]
    assert len(old_reads) == 6 and new_reads  # 6 groups


def test_a_run_without_budgets_ahead_reads_the_model_once_an_epoch_at_most():
    data = _data()
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=1, seed=1, batch_size=16,
                                 steps_per_execution=2, epochs=3)
    evaluator = BudgetEvaluator(data.x_valid, data.y_valid, (0, 4, 1000))
    reads = _counted(evaluator)
    fit(model, data, callbacks=[evaluator], verbose=0, validation=False)
    assert [r["step"] for r in evaluator.records] == [0, 4]
    assert "train_accuracy" not in evaluator.records[0]
    # 3 epoch starts, and the group that reached step 4: not one read per group (15).
    assert len(reads) == 4


def test_a_diverged_run_stops_recording_at_the_nan_loss():
    data = _data()
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=1, steps=40, seed=0,
                                 steps_per_execution=1, batch_size=16, learning_rate=1e30)
    evaluator = BudgetEvaluator(data.x_valid, data.y_valid, (0, 1, 30, 40))
    with pytest.warns(RuntimeWarning, match="Training diverged"):
        fit(model, data, callbacks=[evaluator], verbose=0, log_every=20, check_every=1)
    assert [r["step"] for r in evaluator.records][:1] == [0]
    assert all(r["step"] < 30 for r in evaluator.records)


class _Reference(keras.callbacks.Callback):
    """After the evaluator, at each step it recorded: the accuracy of the same weights on
    the same arrays by `accuracy`, the plain definition (the model called on each chunk,
    NumPy's argmax)."""

    def __init__(self, evaluator, data):
        super().__init__()
        self.evaluator, self.data, self.records = evaluator, data, []

    def _check(self):
        if len(self.records) < len(self.evaluator.records):
            step = self.evaluator.records[len(self.records)]["step"]
            d = self.data
            self.records.append({"step": step,
                                 "valid_accuracy": accuracy(self.model, d.x_valid, d.y_valid),
                                 "train_accuracy": accuracy(self.model, d.x_train, d.y_train)})

    def on_train_begin(self, logs=None):
        self._check()

    def on_train_batch_end(self, batch, logs=None):
        self._check()


def test_budget_scores_equal_the_plain_accuracy_at_that_step(monkeypatch):
    monkeypatch.setattr(measures, "CHUNK", 48)  # several chunks and a short last one
    data = _data(n=150, seed=3)
    model = actkeras.build_model("sigmoid", preset="mlp", units=16, depth=2, seed=2, steps=12,
                                 batch_size=16, steps_per_execution=1, learning_rate=0.5)
    evaluator = BudgetEvaluator(data.x_valid, data.y_valid, (0, 1, 2, 5, 9, 12),
                                data.x_train, data.y_train)
    reference = _Reference(evaluator, data)
    fit(model, data, callbacks=[evaluator, reference], verbose=0, validation=False)
    assert [r["step"] for r in evaluator.records] == [0, 1, 2, 5, 9, 12]
    assert evaluator.records == reference.records  # exactly
    assert len({r["train_accuracy"] for r in evaluator.records}) > 1  # the weights moved


class _CountsInference(keras.layers.Layer):
    """The identity, counting the Python calls in inference mode (traces, once compiled)."""

    calls = 0

    def call(self, inputs, training=None):
        if not training:
            type(self).calls += 1
        return inputs


def test_scoring_is_one_compiled_call_per_split_and_budget_whatever_the_budgets():
    """The forward pass is traced once per split, not run from Python at every budget
    and chunk: the scoring adds one backend call per split at a budget, no more."""
    data = _data(n=150, seed=4)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              _CountsInference(), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), steps_per_execution=1,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    budgets = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
    evaluator = BudgetEvaluator(data.x_valid, data.y_valid, budgets, data.x_train, data.y_train,
                                train_until=4)
    _CountsInference.calls = 0
    model.fit(data.x_train, data.y_train, batch_size=16, epochs=1, verbose=0,
              callbacks=[evaluator])
    assert [r["step"] for r in evaluator.records] == list(budgets)
    # TensorFlow: one trace whatever the number of images; JAX: one for each split's shape
    assert evaluator.counter.traces == (1 if keras.backend.backend() == "tensorflow" else 2)
    # The layer ran in Python at those traces (and on JAX once more, in Keras's own
    # output-shape inference), not at each of the 15 scorings as eager calls would.
    assert _CountsInference.calls <= 3
    assert evaluator.counter.calls == len(budgets) + 5  # valid at each, train up to step 4


class _MinibatchReference(keras.callbacks.Callback):
    """Before each step: the accuracy of the weights about to be updated on the course
    minibatch that step trains on (`StepBatches`' offsets), by `accuracy`, counted."""

    def __init__(self, data, batch_size):
        super().__init__()
        self.data, self.batch_size, self.hits = data, batch_size, []

    def on_train_batch_begin(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        b, x, y = self.batch_size, self.data.x_train, self.data.y_train
        offset = (step * b) % (len(x) - b)
        self.hits.append(round(accuracy(self.model, x[offset:offset + b], y[offset:offset + b])
                               * b))


@pytest.mark.parametrize("log_every", [50, 7])  # the window inside one epoch; across three
def test_minibatch_accuracy_is_each_step_s_own_batch_before_its_update(log_every):
    data = _data(n=150, seed=5)
    model = actkeras.build_model("sigmoid", preset="mlp", units=16, depth=2, seed=3, steps=30,
                                 batch_size=16, steps_per_execution=1, learning_rate=0.5)
    evaluator = BudgetEvaluator(data.x_valid, data.y_valid, (0, 1, 5, 12, 20, 30),
                                data.x_train, data.y_train, train_until=20, train_every=False,
                                minibatch_size=16)
    reference = _MinibatchReference(data, 16)
    fit(model, data, callbacks=[reference, evaluator], verbose=0, validation=False,
        log_every=log_every)
    records = {r["step"]: r for r in evaluator.records}
    assert sorted(records) == [0, 1, 5, 12, 20, 30]
    for step in (1, 5, 12, 20):  # the mean over every step's own batch from the first
        assert records[step]["minibatch_images"] == 16 * step
        assert records[step]["minibatch_accuracy"] == sum(reference.hits[:step]) / (16 * step)
    assert "minibatch_accuracy" not in records[0] and "minibatch_accuracy" not in records[30]
    assert len({records[s]["minibatch_accuracy"] for s in (1, 5, 12, 20)}) > 1
    # the whole training split only at the window's end
    assert [s for s, r in records.items() if "train_accuracy" in r] == [20]


def test_the_training_window_is_needed_to_read_minibatches_or_only_its_end():
    data = _data()
    for kwargs in ({"minibatch_size": 16}, {"train_every": False}):
        with pytest.raises(ValueError, match="train_until"):
            BudgetEvaluator(data.x_valid, data.y_valid, (0, 1), **kwargs)
