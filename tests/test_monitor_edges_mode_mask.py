"""The monitors' training mode at its edges, and masked time steps.

- Recurrent dropout (`LSTM(dropout=..., recurrent_dropout=...)`, GRU, SimpleRNN, a cell in
  `keras.layers.RNN`, `Bidirectional`, ConvLSTM) is off in `mode="training"`, as Dropout
  is: the numbers equal a plain Keras forward pass (and gradient) with dropout off.
- A custom layer holding its own `SeedGenerator` is called with `training=False`, but its
  BatchNorm keeps training mode; the layer is named in a warning and in every record's
  `"inference_layers"`.
- A site whose input carries a Keras mask (padding) is named in a warning and in every
  record's `"masked_steps_counted"`: its numbers count the padded steps.

References are NumPy or a plain Keras forward pass or gradient. Runs on TensorFlow and JAX.
"""

import warnings

import keras
import numpy as np
import pytest

from actkeras.callbacks import ActivationStats, DeadReLUMonitor, GradientNormLogger
from monitoring import measure_once

BACKEND = keras.backend.backend()
RNG = np.random.default_rng(3)
SEQ = RNG.normal(size=(32, 4, 3)).astype("float32")
TARGET = RNG.normal(size=(32, 1)).astype("float32")


_measure = measure_once


def _global_norm(model, x, y):
    """The L2 norm of the MSE loss's gradient with `training=False` (no dropout), by hand."""
    if BACKEND == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        fixed = [v.value for v in model.non_trainable_variables]

        def loss(values):
            out, _ = model.stateless_call(values, fixed, x, training=False)
            return jax.numpy.mean(jax.numpy.square(out - y))

        grads = jax.grad(loss)(trainable)
    else:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=False) - y))
        grads = tape.gradient(loss, model.trainable_variables)
    return float(np.sqrt(sum(np.sum(np.square(np.asarray(g, "float64"))) for g in grads)))


def _recurrent(kind):
    if kind == "lstm":
        return keras.layers.LSTM(5, dropout=0.5, recurrent_dropout=0.5)
    if kind == "lstm_input_only":
        return keras.layers.LSTM(5, dropout=0.5)
    if kind == "gru":
        return keras.layers.GRU(5, dropout=0.5, recurrent_dropout=0.4)
    if kind == "simple_rnn":
        return keras.layers.SimpleRNN(5, dropout=0.5, recurrent_dropout=0.4)
    if kind == "rnn_cell":
        return keras.layers.RNN(keras.layers.GRUCell(5, dropout=0.5, recurrent_dropout=0.3))
    if kind == "stacked_cells":
        return keras.layers.RNN([keras.layers.LSTMCell(4, dropout=0.5),
                                 keras.layers.SimpleRNNCell(5, recurrent_dropout=0.5)])
    if kind == "bidirectional":
        return keras.layers.Bidirectional(keras.layers.LSTM(3, dropout=0.5,
                                                            recurrent_dropout=0.3))
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["lstm", "lstm_input_only", "gru", "simple_rnn", "rnn_cell",
                                  "stacked_cells", "bidirectional"])
def test_recurrent_dropout_is_off_in_training_mode(kind):
    keras.utils.set_random_seed(0)
    inp = keras.Input((4, 3))
    h = keras.layers.Dense(6, activation="relu", name="h")(_recurrent(kind)(inp))
    model = keras.Model(inp, keras.layers.Dense(1)(h))
    model.compile("sgd", "mse")
    # No BatchNorm: training=False differs from training mode only by the dropout.
    ref = np.asarray(keras.Model(inp, h)(SEQ, training=False), "float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the recurrent cell is named in a warning
        stats = _measure(ActivationStats(probe_data=SEQ), model)["layers"]["h"]
        grads = _measure(GradientNormLogger(probe_data=(SEQ, TARGET)), model)
    assert stats["mean"] == pytest.approx(ref.mean(), rel=1e-4)
    assert stats["std"] == pytest.approx(ref.std(), rel=1e-3)
    assert grads["global"] == pytest.approx(_global_norm(model, SEQ, TARGET), rel=1e-3)


def test_conv_lstm_dropout_is_off_in_training_mode():
    keras.utils.set_random_seed(0)
    x = RNG.normal(size=(16, 3, 5, 2)).astype("float32")
    inp = keras.Input((3, 5, 2))
    conv = keras.layers.ConvLSTM1D(3, 2, dropout=0.5, recurrent_dropout=0.5)(inp)
    h = keras.layers.Dense(4, activation="relu", name="h")(conv)
    model = keras.Model(inp, h)
    ref = np.asarray(model(x, training=False), "float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = _measure(ActivationStats(probe_data=x, include_outputs=True), model)
    assert stats["layers"]["h"]["mean"] == pytest.approx(ref.mean(), rel=1e-4)


class Block(keras.layers.Layer):
    """Dense, BatchNorm, ReLU, and dropout drawn by the layer's own SeedGenerator."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.d = keras.layers.Dense(6)
        self.bn = keras.layers.BatchNormalization()
        self.act = keras.layers.ReLU()
        self.seed = keras.random.SeedGenerator(1)

    def call(self, x, training=None):
        h = self.act(self.bn(self.d(x), training=training))
        return keras.random.dropout(h, 0.5, seed=self.seed) if training else h


def test_seeded_layer_keeps_batchnorm_in_training_mode_and_says_so():
    keras.utils.set_random_seed(0)
    inp = keras.Input((3,))
    block = Block(name="block")
    model = keras.Model(inp, keras.layers.Dense(1)(block(inp)))
    model.compile("sgd", "mse")
    block.bn.moving_mean.assign(np.full(6, 5.0, "float32"))  # far from the batch's mean
    x = RNG.normal(size=(64, 3)).astype("float32")
    z = np.asarray(block.d(x), "float64")
    pre = (z - z.mean(0)) / np.sqrt(z.var(0) + block.bn.epsilon)  # training-mode BatchNorm
    out = np.maximum(pre, 0.0)
    with pytest.warns(UserWarning, match=r"Block 'block' holds a keras.random.SeedGenerator"
                                         r".*'block/batch_normalization'.*inference_layers"):
        record = _measure(DeadReLUMonitor(probe_data=x, threshold=1.0), model)
    assert record["mode"] == "training" and record["inference_layers"] == ["block"]
    assert record["layers"]["block/re_lu"]["fraction"] == (pre.max(0) <= 0).mean() == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = _measure(ActivationStats(probe_data=x), model)["layers"]["block/re_lu"]
        grads = _measure(GradientNormLogger(probe_data=(x, x[:, :1])), model)
    assert stats["mean"] == pytest.approx(out.mean(), rel=1e-4)
    assert grads["inference_layers"] == ["block"]
    # In inference mode the whole model runs with training=False: nothing to say (and the
    # moving mean of 5 kills every unit, as a hand count with it would).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = _measure(DeadReLUMonitor(probe_data=x, mode="inference"), model)
    assert not [w for w in caught if "SeedGenerator" in str(w.message)]
    assert "inference_layers" not in record and record["layers"]["block/re_lu"]["fraction"] == 1


def test_keras_dropout_layers_need_no_note():
    keras.utils.set_random_seed(0)
    inp = keras.Input((3,))
    h = keras.layers.Dense(6, activation="relu", name="h")(inp)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Dropout(0.5)(h)))
    x = RNG.normal(size=(32, 3)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        record = _measure(DeadReLUMonitor(probe_data=x), model)
    assert "inference_layers" not in record and "masked_steps_counted" not in record


def _masked_model(mask_zero):
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,), dtype="int32")
    emb = keras.layers.Embedding(10, 4, mask_zero=mask_zero, name="emb")
    dense = keras.layers.Dense(5, activation="relu", name="h")
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.LSTM(3)(dense(emb(inp)))))
    table = RNG.normal(size=(10, 4)).astype("float32") * 0.1
    table[0] = [10, 0, 0, 0]  # the padding token
    emb.embeddings.assign(table)
    kernel = RNG.normal(size=(4, 5)).astype("float32")
    kernel[:, 0] = [1, -1, -1, -1]
    dense.kernel.assign(kernel)
    dense.bias.assign(np.r_[-5.0, np.zeros(4)].astype("float32"))  # unit 0 fires on padding only
    x = RNG.integers(1, 10, (32, 6))
    x[:, 4:] = 0
    pre = table[x] @ kernel + np.asarray(dense.bias)
    return model, x, pre


def test_masked_steps_are_named_in_a_warning_and_in_the_records():
    model, x, pre = _masked_model(mask_zero=True)
    with pytest.warns(UserWarning, match=r"'h' carries a Keras mask \(made by Embedding 'emb' "
                                         r"with mask_zero=True\).*padded.*masked_steps_counted"):
        record = _measure(DeadReLUMonitor(probe_data=x), model)
    assert record["masked_steps_counted"] == ["h"]
    # What the record says: padding included. Unit 0 is dead on the real steps only.
    assert record["layers"]["h"]["fraction"] == (pre.reshape(-1, 5).max(0) <= 0).mean() == 0.0
    assert (pre[x != 0].max(0) <= 0).mean() == 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = _measure(ActivationStats(probe_data=x), model)
    assert stats["masked_steps_counted"] == ["h"]
    assert stats["layers"]["h"]["mean"] == pytest.approx(np.maximum(pre, 0).mean(), rel=1e-4)


def test_no_mask_no_note():
    model, x, _ = _masked_model(mask_zero=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        record = _measure(DeadReLUMonitor(probe_data=x), model)
    assert "masked_steps_counted" not in record
