"""Claim 9: ReLU is not linear, and a network of linear activations is one linear map.

`fit_sine` fits sin(x) on [-pi, pi] with an MLP of registry activations and
measures what the claim needs: the additivity gap |f(-1) + f(1) - f(0)| of the
activation (and the largest gap over a few more pairs), the fit's MSE against the least-squares line's, and how far the
network is from the single linear map its kernels multiply to (zero for a linear
network, up to float error).
"""

import math

import keras
import numpy as np

from actkeras.registry import get_activation
from actkeras.training import fit_arrays


def sine_data(points=256):
    x = np.linspace(-math.pi, math.pi, points, dtype="float32")[:, None]
    return x, np.sin(x).astype("float32")


# Pairs (a, b) tested for f(a) + f(b) == f(a + b); the first is seed 000's witness.
# It alone misses odd functions (tanh(-1) + tanh(1) = tanh(0)), hence the others.
WITNESSES = ((-1.0, 1.0), (1.0, 1.0), (-2.0, 0.5))


def additivity_gaps(activation, activation_kwargs=None):
    """`[|f(a) + f(b) - f(a + b)|]` over `WITNESSES` for a registry activation."""
    layer = get_activation(activation, activation_kwargs)
    points = sorted({p for a, b in WITNESSES for p in (a, b, a + b)})
    values = keras.ops.convert_to_numpy(layer(keras.ops.convert_to_tensor(
        np.array([points], dtype="float32"))))[0]
    f = dict(zip(points, values.astype("float64")))
    return [float(abs(f[a] + f[b] - f[a + b])) for a, b in WITNESSES]


def line_mse(x, y):
    """MSE of the least-squares line through `(x, y)`: the best any linear map does."""
    design = np.concatenate([x, np.ones_like(x)], axis=1).astype("float64")
    coef, *_ = np.linalg.lstsq(design, y.astype("float64"), rcond=None)
    return float(np.mean((design @ coef - y) ** 2))


def collapse_error(model, x):
    """Max |model(x) - (x W + b)| / max |model(x)|, with W, b the product of the Dense layers.

    Only meaningful as "zero" for identity activations; for others it measures how
    far the network is from the linear map its layers would make without them.
    """
    w = np.eye(x.shape[1], dtype="float64")
    b = np.zeros((1, x.shape[1]), dtype="float64")
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            kernel, bias = (np.asarray(keras.ops.convert_to_numpy(v), dtype="float64")
                            for v in layer.get_weights())
            w, b = w @ kernel, b @ kernel + bias
    out = np.asarray(model.predict(x, verbose=0), dtype="float64")
    scale = max(float(np.max(np.abs(out))), 1e-12)
    return float(np.max(np.abs(out - (x @ w + b))) / scale)


def build_regressor(activation, activation_kwargs=None, units=64, depth=2,
                    learning_rate=0.01, seed=0):
    """A 1 -> units x depth -> 1 MLP with the registry activation, Adam, MSE."""
    inputs = keras.Input((1,), name="x")
    h = inputs
    for index in range(depth):
        h = keras.layers.Dense(units, kernel_initializer=keras.initializers.HeUniform(seed + index),
                               name=f"dense_{index}")(h)
        h = get_activation(activation, activation_kwargs, name=f"activation_{index}")(h)
    outputs = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed + depth),
                                 name="output")(h)
    model = keras.Model(inputs, outputs, name=f"sine_{activation}")
    # Many tiny steps: grouping them keeps Keras's per-step overhead out of the way.
    model.compile(keras.optimizers.Adam(learning_rate), "mse", steps_per_execution=16)
    return model


def fit_sine(activation, activation_kwargs=None, *, units=64, depth=2, points=256,
             learning_rate=0.01, batch_size=32, steps=2000, log_every=128, seed=0,
             verbose=0, callbacks=()):
    """Fits sin(x) for `steps` minibatch steps (a reported epoch is `log_every` steps
    over shuffled copies of the points); returns `(model, history, measurements)`.
    The caller seeds everything first."""
    x, y = sine_data(points)
    copies = max(1, round(log_every * batch_size / points))
    xs, ys = np.tile(x, (copies, 1)), np.tile(y, (copies, 1))
    epochs = max(1, round(steps * batch_size / len(xs)))
    model = build_regressor(activation, activation_kwargs, units, depth, learning_rate, seed)
    history = fit_arrays(model, xs, ys, batch_size, epochs, verbose=verbose,
                         callbacks=list(callbacks))
    prediction = np.asarray(model.predict(x, verbose=0), dtype="float64")
    mse = float(np.mean((prediction - y) ** 2))
    gaps = additivity_gaps(activation, activation_kwargs)
    return model, history, {
        "mse": mse if math.isfinite(mse) else None,
        "mse_line": line_mse(x, y),
        "additivity_gap": gaps[0],
        "linearity_gap": max(gaps),
        "collapse_error": collapse_error(model, x),
        "steps": epochs * len(xs) // batch_size,
        "curve": {"x": x[:, 0].round(5).tolist(), "y": y[:, 0].round(5).tolist(),
                  "prediction": prediction[:, 0].round(5).tolist()},
    }
