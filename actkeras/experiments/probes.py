"""Step-0 measurements of an MLP from `build_model`: what the gradient does layer by layer
before any update, separating the activation from the weight scale (claims 3 and 4).

For each hidden layer `l` (z_l = h_{l-1} W_l + b_l, then batch normalisation if any,
then the activation) one backward pass of the model's own loss on a probe batch gives:

- the backpropagated error `delta_l = dL/dz_l`, its root mean square over the batch and
  the units: it is what the derivative of the activation multiplies, layer after layer;
- the kernel gradient `dL/dW_l = h_{l-1}^T delta_l`, its root mean square over the
  kernel's entries (what `GradientNormLogger` reports, divided by the square root of the
  kernel's size): it also carries the size of the layer's inputs, so a uniform shrinkage
  of the signal and of the error can cancel in it;
- the activations' share of exact zeros, and for sigmoid and tanh layers the derivative
  relative to its peak (4 s (1 - s) for any sigmoid slope, 1 - a^2 for tanh) with the
  share of units below several lines (1, 5, 10 and 25 % of the peak);
- the forward response z_l itself, its root mean square over the batch and the units
  (He et al. 2015's "response", whose variance their initialisation keeps constant).

The errors come from a zero perturbation added to each z_l and differentiated (TensorFlow's
`GradientTape` or `jax.grad`) inside a `keras.StatelessScope`, so no variable (not even a
batch normalisation's moving statistics) changes.
"""

import math

import keras
import numpy as np

SATURATION_LINES = (0.01, 0.05, 0.10, 0.25)
TINY = 1.4e-45  # the smallest float32 (a denormal): an underflowed gradient's floor


def _hidden_structure(model):
    """`[(layer, role, index)]` in call order: role "dense", "norm", "act", "output" or "other"."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        name = layer.name
        if name.startswith("dense_"):
            out.append((layer, "dense", int(name.split("_")[1])))
        elif name.startswith("batch_norm_"):
            out.append((layer, "norm", int(name.split("_")[-1])))
        elif name.startswith("activation_"):
            out.append((layer, "act", int(name.split("_")[1])))
        elif name == "output":
            out.append((layer, "output", None))
        else:
            out.append((layer, "other", None))
    return out


def _forward(model, structure, x, y, eps):
    """The loss with `eps[l]` added to each hidden z_l; also the layer inputs, the
    responses z_l and the activations' outputs (`{l: tensor}` each)."""
    h = keras.ops.convert_to_tensor(x)
    inputs, responses, acts = {}, {}, {}
    for layer, role, index in structure:
        if role == "dense":
            inputs[index] = h
        h = layer(h, training=True)
        if role == "dense":
            h = h + eps[index]
            responses[index] = h
        elif role == "act":
            acts[index] = h
    loss = model.loss(keras.ops.convert_to_tensor(y), h)
    return loss, inputs, responses, acts


def _errors(model, structure, x, y, shapes):
    """`(loss, {l: dL/dz_l}, {l: layer input}, {l: z_l}, {l: activation output})` as NumPy."""
    zeros = {i: np.zeros(shape, "float32") for i, shape in shapes.items()}
    backend = keras.backend.backend()
    with keras.StatelessScope():
        if backend == "tensorflow":
            import tensorflow as tf

            eps = {i: tf.constant(v) for i, v in zeros.items()}
            with tf.GradientTape() as tape:
                tape.watch(list(eps.values()))
                loss, inputs, responses, acts = _forward(model, structure, x, y, eps)
            grads = tape.gradient(loss, eps)
        elif backend == "jax":
            import jax

            def fn(eps):
                loss, inputs, responses, acts = _forward(model, structure, x, y, eps)
                return loss, (inputs, responses, acts)

            (loss, (inputs, responses, acts)), grads = jax.value_and_grad(fn, has_aux=True)(
                {i: jax.numpy.asarray(v) for i, v in zeros.items()})
        else:
            raise RuntimeError(f"Step-0 probes run on TensorFlow or JAX. Received: "
                               f"backend={backend!r}")
    as_np = keras.ops.convert_to_numpy
    return (float(as_np(loss)), {i: np.asarray(as_np(g), "float64") for i, g in grads.items()},
            {i: np.asarray(as_np(v), "float64") for i, v in inputs.items()},
            {i: np.asarray(as_np(v), "float64") for i, v in responses.items()},
            {i: np.asarray(as_np(v), "float64") for i, v in acts.items()})


def _relative_derivative(a, family):
    if family == "sigmoid":
        return 4.0 * a * (1.0 - a)
    if family == "tanh":
        return 1.0 - a * a
    return None


def step0(model, x, y, family):
    """The step-0 profile of `model` on the probe `(x, y)`.

    Args:
        model: a model from `build_model` (Dense layers `dense_<l>`, activations
            `activation_<l>`, optional `batch_norm_<l>`, an `output` layer).
        x, y: the probe batch (images and integer labels).
        family: the activation's family (`"sigmoid"`, `"tanh"`, `"relu"`, ...).

    Returns:
        `{"loss", "layers": [{"layer", "kernel_rms", "error_rms", "response_rms",
        "zero_fraction", "mean_derivative", "saturated": {line: share}}], "decay_kernel",
        "decay_error"}`; a decay is log10(the last hidden layer's RMS / the first's),
        positive when the gradient fades on its way back to the input.
    """
    structure = _hidden_structure(model)
    units = {index: int(layer.units) for layer, role, index in structure if role == "dense"}
    shapes = {i: (len(x), u) for i, u in units.items()}
    loss, errors, inputs, responses, acts = _errors(model, structure, x, y, shapes)
    layers = []
    for index in sorted(units):
        delta, h = errors[index], inputs[index].reshape(len(x), -1)
        kernel = h.T @ delta
        entry = {
            "layer": index,
            "kernel_rms": max(float(np.sqrt(np.mean(kernel ** 2))), TINY),
            "error_rms": max(float(np.sqrt(np.mean(delta ** 2))), TINY),
            "response_rms": max(float(np.sqrt(np.mean(responses[index] ** 2))), TINY),
        }
        a = acts.get(index)
        if a is not None:
            entry["zero_fraction"] = float(np.mean(a == 0))
            derivative = _relative_derivative(a, family)
            if derivative is not None:
                entry["mean_derivative"] = float(np.mean(derivative))
                entry["saturated"] = {str(line): float(np.mean(derivative < line))
                                      for line in SATURATION_LINES}
        layers.append(entry)
    out = {"loss": loss, "layers": layers, "decay_kernel": None, "decay_error": None}
    if len(layers) >= 2 and math.isfinite(loss):
        first, last = layers[0], layers[-1]
        out["decay_kernel"] = math.log10(last["kernel_rms"] / first["kernel_rms"])
        out["decay_error"] = math.log10(last["error_rms"] / first["error_rms"])
    return out
