"""Training by steps runs exactly the configured number of updates, in the course's batch order."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from keras.backend import backend as keras_backend

import actkeras
from actkeras.training import StepBatches, evaluate, fit, history_records, step_batches


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 28, 28)).astype("float32")
    y = (np.arange(n) % 10).astype("int32")
    return SimpleNamespace(x_train=x, y_train=y, x_valid=x[:40], y_valid=y[:40],
                           x_test=x[:0], y_test=y[:0])


@pytest.mark.parametrize("steps, log_every, group", [(7, 3, 10), (25, 10, 10), (25, 7, 1), (23, 5, 4)])
def test_by_step_training_runs_exactly_the_configured_steps(steps, log_every, group):
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=1, steps=steps,
                                 steps_per_execution=group, batch_size=16)
    history = fit(model, _data(), log_every=log_every, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == steps
    assert len(history.epoch) >= 1 and "val_accuracy" in history.history


@pytest.mark.parametrize("group, log_every, fitted", [(100, 50, 50), (100, 30, 10), (7, 10, 1), (10, 20, 10)])
def test_by_step_reports_every_log_every_steps_whatever_the_execution_group(group, log_every, fitted):
    """The reporting period is kept exactly; the execution group gives way to a divisor."""
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=1, steps=60,
                                 steps_per_execution=group, batch_size=16)
    history = fit(model, _data(), log_every=log_every, verbose=0)
    assert len(history.epoch) == -(-60 // log_every)
    assert model.steps_per_execution == fitted
    assert int(model.optimizer.iterations.numpy()) == 60


def test_the_course_preset_runs_100_steps_a_call():
    assert actkeras.build_model("relu", preset="udacity").steps_per_execution == 100


def test_step_batches_follow_the_course_assignment_offsets():
    x = np.arange(10)[:, None].astype("float32")
    batches = StepBatches(x, np.arange(10), batch_size=3, steps=5)
    offsets = [int(batches[step][0][0, 0]) for step in range(5)]
    assert offsets == [(step * 3) % (10 - 3) for step in range(5)] == [0, 3, 6, 2, 5]
    with pytest.raises(ValueError, match="more samples than one batch"):
        StepBatches(x[:3], np.arange(3), batch_size=3, steps=1)


def test_fit_by_steps_applies_the_course_batches_in_order():
    """`fit` gives the same weights as one `train_on_batch` per course batch, in order
    (a shuffled batch order, as Keras gives a `PyDataset` by default, fails this)."""
    data = _data(n=90)
    weights = []
    for manual in (False, True):
        model = actkeras.build_model("relu", preset="mlp", units=8, depth=1, seed=3, steps=12,
                                     batch_size=16, steps_per_execution=4)
        if manual:
            stream = StepBatches(data.x_train, data.y_train, 16, 12)
            for step in range(12):
                model.train_on_batch(*stream[step])
        else:
            fit(model, data, log_every=4, verbose=0, validation=False)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _fit_both_ways(monkeypatch, switch="_graph_steps_apply", **overrides):
    """Weights and history of the same by-step fit through the package's step groups
    (`graph_steps` on TensorFlow, `jax_steps` on JAX: `switch` names the check that
    turns them off) and through Keras's own train function."""
    from actkeras import stepping

    results = []
    for grouped in (True, False):
        if not grouped:
            monkeypatch.setattr(stepping, switch, lambda model: False)
        # A small MLP unless a preset is named, then that preset's network.
        settings = overrides if "preset" in overrides else {
            "preset": "mlp", "units": 8, "depth": 1, **overrides}
        model = actkeras.build_model("relu", seed=5, batch_size=16, **settings)
        history = fit(model, _data(n=150), log_every=8, verbose=0)
        results.append((model, model.get_weights(), history.history))
    return results


@pytest.mark.skipif(keras_backend() != "tensorflow", reason="graph_steps is TensorFlow's")
def test_in_graph_step_groups_train_bitwise_like_keras_own_loop(monkeypatch):
    """23 steps in groups of 4 with a report every 8: the last group and epoch are short."""
    (graph, graph_weights, graph_history), (_, keras_weights, keras_history) = _fit_both_ways(
        monkeypatch, steps=23, steps_per_execution=4)
    assert int(graph.optimizer.iterations.numpy()) == 23
    assert graph_history == keras_history and len(graph_history["loss"]) == 3
    for a, b in zip(graph_weights, keras_weights):
        np.testing.assert_array_equal(a, b)


# The deep presets' networks, at a learning rate where an update is large enough to
# show a batch out of place.
DEEP = {"mlp": {}, "fashion_mlp": {"initializer": "he_normal", "learning_rate": 0.01}}


@pytest.mark.skipif(keras_backend() != "tensorflow", reason="graph_steps is TensorFlow's")
@pytest.mark.parametrize("preset", list(DEEP))
def test_in_graph_step_groups_train_the_deep_presets_by_steps_bitwise(monkeypatch, preset):
    (_, graph_weights, graph_history), (_, keras_weights, keras_history) = _fit_both_ways(
        monkeypatch, steps=23, steps_per_execution=4, preset=preset, **DEEP[preset])
    assert graph_history == keras_history
    for a, b in zip(graph_weights, keras_weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(keras_backend() != "tensorflow", reason="graph_steps is TensorFlow's")
def test_in_graph_steps_leave_keras_train_function_and_are_not_traced_again():
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=1, batch_size=16,
                                 steps=10, steps_per_execution=5)
    data = _data(n=150)
    model.make_train_function()
    keras_own = model.train_function
    fit(model, data, verbose=0, validation=False)
    (_, run_group) = model._actkeras_group_steps
    traced = run_group.experimental_get_tracing_count()
    assert traced == 1  # the optimizer's and metrics' variables were made before the trace
    fit(model, data, steps=15, verbose=0, validation=False)
    assert model._actkeras_group_steps[1] is run_group
    assert run_group.experimental_get_tracing_count() == traced
    assert model.train_function is keras_own
    # Keras's own fit on arrays afterwards trains on those arrays, 3 batches of 16.
    before = int(model.optimizer.iterations.numpy())
    model.fit(data.x_train[:48], data.y_train[:48], batch_size=16, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == before + 3
    # A new compile drops Keras's train function, and with it the traced group.
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", steps_per_execution=5)
    fit(model, data, verbose=0, validation=False)
    assert model._actkeras_group_steps[1] is not run_group


@pytest.mark.skipif(keras_backend() != "tensorflow", reason="graph_steps is TensorFlow's")
def test_in_graph_step_groups_trace_the_step_once():
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=2, batch_size=16,
                                 steps=12, steps_per_execution=4)
    traces, step = [], model.train_step
    model.train_step = lambda data: traces.append(1) or step(data)
    fit(model, _data(n=150), verbose=0, validation=False)
    assert len(traces) == 1 and int(model.optimizer.iterations.numpy()) == 12


class _ExtraLogs(keras.Model):
    """A `train_step` whose logs are not the metrics' structure (one more entry)."""

    def train_step(self, data):
        logs = super().train_step(data)
        return {**logs, "steps_seen": keras.ops.cast(self.optimizer.iterations, "float32")}


@pytest.mark.skipif(keras_backend() != "tensorflow", reason="graph_steps is TensorFlow's")
def test_in_graph_step_groups_take_a_train_step_with_logs_of_its_own():
    """Its first step runs outside the loop, which then takes its structure; the
    updates are Keras's own loop's, bitwise."""
    from actkeras import stepping

    data, results = _data(n=150), []
    for grouped in (True, False):
        built = actkeras.build_model("relu", preset="mlp", units=8, depth=1, seed=5,
                                     batch_size=16, steps=12, steps_per_execution=4)
        model = _ExtraLogs(built.inputs, built.outputs, name="extra_logs")
        model.actkeras_config = built.actkeras_config
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], steps_per_execution=4)
        with pytest.MonkeyPatch.context() as patch:
            if not grouped:
                patch.setattr(stepping, "_graph_steps_apply", lambda model: False)
            history = fit(model, data, log_every=4, verbose=0, validation=False)
        assert grouped == hasattr(model, "_actkeras_group_steps")
        results.append((model.get_weights(), history.history))
    (weights, history), (keras_weights, keras_history) = results
    assert history == keras_history and history["steps_seen"][-1] == 12.0
    for a, b in zip(weights, keras_weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(keras_backend() != "tensorflow", reason="graph_steps is TensorFlow's")
@pytest.mark.parametrize("option", ["run_eagerly", "jit_compile"])
def test_eager_and_xla_models_keep_keras_own_train_function(option):
    from actkeras import stepping

    model = actkeras.build_model("relu", preset="mlp", units=8, depth=1, batch_size=16, steps=6,
                                 steps_per_execution=3)
    if option == "run_eagerly":
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                      steps_per_execution=3, run_eagerly=True)
    else:
        # Set underneath Keras's setter, which turns XLA off when TF op determinism
        # is on (as an earlier test may have left it).
        model._jit_compile = True
    assert not stepping._graph_steps_apply(model)
    fit(model, _data(n=150), verbose=0, validation=False)
    assert int(model.optimizer.iterations.numpy()) == 6
    assert not hasattr(model, "_actkeras_group_steps")


def test_step_batches_pipeline_yields_the_course_batches():
    x = np.arange(20)[:, None].astype("float32")
    firsts = [int(np.asarray(bx)[0, 0]) for bx, _ in step_batches(x, np.arange(20), 4, 9)]
    assert firsts == [(step * 4) % 16 for step in range(9)]


def test_fit_by_epochs_and_evaluate():
    model = actkeras.build_model("tanh", preset="mlp", units=8, depth=1, epochs=2)
    history = fit(model, _data(), verbose=0)
    assert history.epoch == [0, 1]
    rows = history_records(history)
    assert rows[0]["epoch"] == 1 and set(rows[0]) >= {"loss", "accuracy", "val_loss"}
    metrics = evaluate(model, _data())
    assert set(metrics) == {"train_loss", "train_accuracy", "valid_loss", "valid_accuracy"}
    assert 0.0 <= metrics["train_accuracy"] <= 1.0
    assert evaluate(model, _data(), splits=("valid",)) == {
        k: v for k, v in metrics.items() if k.startswith("valid_")}
    for bad in (("training",), ()):
        with pytest.raises(ValueError, match="Received: splits="):
            evaluate(model, _data(), splits=bad)


@pytest.mark.parametrize("length", [{"epochs": 2}, {"steps": 25}])
def test_evaluate_reads_the_validation_split_off_the_fit_that_validated_it_bitwise(length):
    data = _data(n=2500, seed=4)
    # a validation split of three batches of EVAL_BATCH (1,024), the last one short
    data.x_valid, data.y_valid = data.x_train, data.y_train
    model = actkeras.build_model("sigmoid", preset="mlp", units=8, depth=2, seed=1,
                                 batch_size=64, learning_rate=0.5, **length)
    history = fit(model, data, verbose=0, log_every=10)
    calls = []
    original = model.evaluate
    model.evaluate = lambda *a, **k: calls.append(1) or original(*a, **k)
    read = evaluate(model, data, history=history)
    assert len(calls) == 1  # the training split only (the test split is empty)
    assert read == evaluate(model, data)  # every split, exactly
    assert read["valid_loss"] == history.history["val_loss"][-1]
    unvalidated = fit(model, data, verbose=0, log_every=10, validation=False)
    assert evaluate(model, data, history=unvalidated) == evaluate(model, data)
    assert unvalidated.history.get("val_loss") is None


def _fit_by_epochs(monkeypatch, own_pipeline, shuffle_seed=3):
    """Weights and History of a by-epoch fit (shuffled, a short last batch, groups of 3
    steps) through actkeras's pipeline or, with `own_pipeline=False`, Keras's own."""
    from actkeras import _compat

    if not own_pipeline:
        monkeypatch.setattr(_compat, "tf_epoch_dataset", lambda *args, **kwargs: None)
    keras.utils.set_random_seed(shuffle_seed)
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=2, seed=5, epochs=3,
                                 batch_size=16, learning_rate=0.1, steps_per_execution=3)
    history = fit(model, _data(n=150), verbose=0)
    monkeypatch.undo()
    return model.get_weights(), history.history


@pytest.mark.skipif(keras_backend() != "tensorflow", reason="Keras's tf.data pipeline")
def test_fit_by_epochs_through_the_pipeline_without_autotuning_trains_bitwise_like_keras():
    """The same shuffled batches in the same order as `fit(x, y, shuffle=True)`: weights and
    History equal bit for bit, and no warning (Keras knows the number of batches)."""
    import warnings

    monkeypatch = pytest.MonkeyPatch()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        own_weights, own_history = _fit_by_epochs(monkeypatch, True)
    keras_weights, keras_history = _fit_by_epochs(monkeypatch, False)
    assert own_history == keras_history and len(own_history["loss"]) == 3
    for a, b in zip(own_weights, keras_weights):
        np.testing.assert_array_equal(a, b)
    # Another shuffle seed gives other weights: the comparison can tell an order apart.
    other_weights, _ = _fit_by_epochs(monkeypatch, True, shuffle_seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(other_weights, own_weights))


@pytest.mark.skipif(keras_backend() != "tensorflow", reason="Keras's tf.data pipeline")
def test_the_epoch_pipeline_has_tf_data_autotuning_off_and_its_length_known():
    from actkeras import _compat

    x, y = _data(n=150).x_train, _data(n=150).y_train
    dataset = _compat.tf_epoch_dataset(x, y, 16)
    assert dataset.options().autotune.enabled is False
    assert int(dataset.cardinality()) == 10  # 9 batches of 16 and one of 6
    assert [len(b[0]) for b in dataset] == [16] * 9 + [6]


@pytest.mark.skipif(keras_backend() != "tensorflow", reason="Keras's tf.data pipeline")
def test_validation_and_evaluate_through_the_pipeline_give_keras_own_numbers(monkeypatch):
    """By steps (validation every 8 steps) and by epochs, then `evaluate` on every split:
    the same floats as with the arrays handed to Keras (a short last batch of 40 - 32)."""
    from actkeras import _compat

    def run(own_pipeline):
        if not own_pipeline:
            monkeypatch.setattr(_compat, "tf_epoch_dataset", lambda *args, **kwargs: None)
        keras.utils.set_random_seed(3)
        numbers = []
        for settings in ({"steps": 20}, {"epochs": 2}):
            model = actkeras.build_model("relu", preset="mlp", units=8, depth=2, seed=5,
                                         batch_size=16, learning_rate=0.1, **settings)
            history = fit(model, _data(n=150), log_every=8, verbose=0)
            numbers.append((history.history, evaluate(model, _data(n=150), batch_size=32)))
        monkeypatch.undo()
        return numbers

    own, plain = run(True), run(False)
    assert own == plain
    assert len(own[0][0]["val_loss"]) == 3 and set(own[1][1]) == {
        "train_loss", "train_accuracy", "valid_loss", "valid_accuracy"}


def test_the_epoch_pipeline_is_skipped_on_an_untested_keras(monkeypatch):
    from actkeras import _compat

    monkeypatch.setattr(keras, "version", lambda: "3.99.0")
    assert _compat.tf_epoch_dataset(np.zeros((4, 2)), np.zeros(4), 2) is None


def test_fit_without_a_config_is_a_clear_error():
    import keras

    plain = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
    plain.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="build_model"):
        fit(plain, _data())


def test_same_seed_gives_identical_metrics_and_other_seeds_differ():
    import keras

    from actkeras.seeding import seed_everything

    def run(seed):
        seed_everything(seed)
        model = actkeras.build_model("relu", preset="mlp", units=16, depth=2, seed=seed,
                                     epochs=2, batch_size=16, dropout=0.1)
        history = fit(model, _data(), verbose=0)
        return history_records(history), evaluate(model, _data()), model.get_weights()

    first, again, other = run(5), run(5), run(6)
    assert first[0] == again[0] and first[1] == again[1]  # every epoch's metrics, exactly
    for a, b in zip(first[2], again[2]):
        np.testing.assert_array_equal(a, b)
    assert first[1] != other[1]
    assert not np.array_equal(first[2][0], other[2][0])
    if keras.backend.backend() == "tensorflow":
        from tensorflow.python.framework import config as tf_config  # no public getter

        assert tf_config.is_op_determinism_enabled()
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)


def _nan_model():
    # SGD at 1e30 sends the loss to NaN within the first steps (seed 0: not a start
    # where every ReLU dies at once and the loss stays finite).
    return actkeras.build_model("relu", preset="mlp", units=8, depth=1, steps=40, seed=0,
                                steps_per_execution=1, batch_size=16, learning_rate=1e30)


def test_divergence_guard_hooks_batches_only_when_asked():
    from actkeras.training import DivergenceGuard

    # Keras keeps dispatching steps asynchronously unless a callback has a batch hook
    # (one that is not the base class's, which carries `_is_default`).
    assert getattr(DivergenceGuard().on_train_batch_end, "_is_default", False)
    assert not getattr(DivergenceGuard(every=1).on_train_batch_end, "_is_default", False)
    with pytest.raises(ValueError, match="every.*Received: every=0"):
        DivergenceGuard(every=0)


@pytest.mark.parametrize("check_every, stops_at", [(None, 20), (1, None)])
def test_divergence_guard_stops_at_the_epoch_end_or_at_the_batch(check_every, stops_at):
    import keras

    model = _nan_model()
    with pytest.warns(RuntimeWarning, match="Training diverged"):
        history = fit(model, _data(), log_every=20, verbose=0, check_every=check_every)
    iterations = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    assert history.diverged_at_step == iterations  # stopped where it noticed
    if stops_at is None:  # every batch: the first NaN loss, long before the epoch's end
        assert iterations < 20
        assert not np.isfinite(history.history["loss"][-1])
    else:
        assert iterations == stops_at and len(history.epoch) == 1


@pytest.mark.skipif(keras_backend() != "jax", reason="jax_steps is JAX's")
def test_jax_step_groups_train_like_keras_own_loop(monkeypatch):
    """23 steps in groups of 4 with a report every 8: the last group and epoch are short.

    Tolerance: both paths run the same `train_step` ops on the same float32 batches
    in the same order; only XLA's compilation of one step inside a loop versus one
    step alone may differ (fusion, reassociated sums), about float32's epsilon
    (1.2e-7) per rounding. Over 23 SGD steps that stays within rtol=1e-5 and
    atol=1e-6 (a few hundred epsilons); a wrong batch, order or step count moves the
    weights by about the learning rate times a gradient, orders of magnitude more.
    """
    import keras

    (mine, my_weights, my_history), (keras_model, keras_weights, keras_history) = \
        _fit_both_ways(monkeypatch, "_jax_steps_apply", steps=23, steps_per_execution=4)
    # The compiled path ran: 6 groups (5 of 4 steps, 1 of 3), and Keras's did not.
    assert mine._actkeras_jax_groups_run == 6
    assert not hasattr(keras_model, "_actkeras_jax_groups_run")
    assert int(keras.ops.convert_to_numpy(mine.optimizer.iterations)) == 23
    assert int(keras.ops.convert_to_numpy(keras_model.optimizer.iterations)) == 23
    assert set(my_history) == set(keras_history) and len(my_history["loss"]) == 3
    for name in keras_history:
        np.testing.assert_allclose(my_history[name], keras_history[name], rtol=1e-5, atol=1e-6)
    for a, b in zip(my_weights, keras_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(keras_backend() != "jax", reason="jax_steps is JAX's")
@pytest.mark.parametrize("preset", list(DEEP))
def test_jax_step_groups_train_the_deep_presets_by_steps_like_keras_own_loop(monkeypatch, preset):
    (_, my_weights, my_history), (_, keras_weights, keras_history) = _fit_both_ways(
        monkeypatch, "_jax_steps_apply", steps=23, steps_per_execution=4, preset=preset,
        **DEEP[preset])
    for name in keras_history:
        np.testing.assert_allclose(my_history[name], keras_history[name], rtol=1e-5, atol=1e-6)
    for a, b in zip(my_weights, keras_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(keras_backend() != "jax", reason="jax_steps is JAX's")
def test_jax_step_groups_leave_keras_train_function_and_compile_once():
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=1, batch_size=16,
                                 steps=10, steps_per_execution=5)
    data = _data(n=150)
    model.make_train_function()
    keras_own = model.train_function
    fit(model, data, verbose=0, validation=False)
    (_, run_group) = model._actkeras_jax_group_steps
    fit(model, data, steps=15, verbose=0, validation=False)
    assert model._actkeras_jax_group_steps[1] is run_group
    assert run_group._cache_size() == 1  # one compilation, short groups included
    assert model.train_function is keras_own
    before = int(model.optimizer.iterations.numpy())
    model.fit(data.x_train[:48], data.y_train[:48], batch_size=16, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == before + 3


@pytest.mark.skipif(keras_backend() != "jax", reason="jax_steps is JAX's")
def test_jax_step_groups_fall_back_on_an_untested_keras_with_one_warning(monkeypatch):
    from actkeras import _compat

    monkeypatch.setattr(_compat, "KERAS_TESTED", ((9, 0), (9, 0)))
    monkeypatch.setattr(_compat, "_warned", set())
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=1, batch_size=16,
                                 steps=6, steps_per_execution=3)
    with pytest.warns(RuntimeWarning, match="compiled step groups") as caught:
        fit(model, _data(n=150), verbose=0, validation=False)
        fit(model, _data(n=150), verbose=0, validation=False)
    assert sum("compiled step groups" in str(w.message) for w in caught) == 1
    assert not hasattr(model, "_actkeras_jax_groups_run")
    assert int(model.optimizer.iterations.numpy()) == 12
