"""Writes the notebooks (without outputs) from one place; run from the repo root:
`python scripts/make_notebooks.py`. Edit here, not in the .ipynb files."""

import nbformat as nbf
from nbformat.v4 import new_notebook, new_markdown_cell as md, new_code_cell as code

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
          "language_info": {"name": "python"}}

nb1 = new_notebook(metadata=KERNEL, cells=[
md("""# ReLU, sigmoid or softmax hidden units? The course network on notMNIST

Seed 003 asks: *"Relu gives the best train accuracy and validation accuracy. I am not sure how to
explain this. Are Relu neurons in general better than sigmoid/softmax neurons?"* The network is the
one-hidden-layer network of the Udacity course, assignment 2: 784 inputs, 1,024 hidden units, 10
logits, weights drawn from a truncated normal with standard deviation **1.0**, SGD with learning
rate 0.5, batches of 128, 3,001 steps.

This notebook trains that network with each hidden activation through
`actkeras.build_model(activation=...)`, watches the hidden units with the package's monitors, and
answers the question with the measured numbers.

Set `ACTKERAS_DATA_DIR` to the folder holding `notMNIST_small.tar.gz` to use the real archive; the
test suite runs this notebook with `ACTKERAS_NOTEBOOK_QUICK=1`, which uses the small sample shipped
inside the package and far fewer steps."""),
code("""import os

import matplotlib.pyplot as plt

import actkeras
from actkeras.callbacks import ActivationStats, DeadReLUMonitor
from actkeras.data import load_notmnist
from actkeras.plots import plot_dead_fraction, plot_history, plot_sparsity
from actkeras.seeding import seed_everything

QUICK = os.environ.get("ACTKERAS_NOTEBOOK_QUICK") == "1"  # set by the test suite
STEPS = 120 if QUICK else 3001
data = load_notmnist(source="embedded" if QUICK else "auto")
print(f"train {len(data.x_train):,}, valid {len(data.x_valid):,}, test {len(data.x_test):,} images")"""),
md("""## Train the course network with each hidden activation

The same seed gives every activation the same initial weights. The monitors measure on a sample of
the validation images at the end of every reported period (`log_every` steps)."""),
code("""ACTIVATIONS = ["relu", "sigmoid", "softmax", "tanh", "leaky_relu", "elu"]
histories, dead, stats, scores = {}, {}, {}, {}
for name in ACTIVATIONS:
    seed_everything(0)
    model = actkeras.build_model(activation=name, preset="udacity", seed=0)
    dead[name], stats[name] = DeadReLUMonitor(), ActivationStats()
    histories[name] = actkeras.fit(
        model, data, steps=STEPS, log_every=max(10, STEPS // 6),
        callbacks=[dead[name], stats[name]], verbose=0,
    )
    scores[name] = actkeras.evaluate(model, data)
    s = scores[name]
    print(f"{name:>11}: train {s['train_accuracy']:.3f}   valid {s['valid_accuracy']:.3f}   "
          f"test {s['test_accuracy']:.3f}")"""),
md("## Learning curves"),
code("""fig, axes = plt.subplots(1, 2, figsize=(12, 4))
plot_history(histories, "accuracy", ax=axes[0])
plot_history(histories, "val_accuracy", ax=axes[1])
axes[0].set_title("training accuracy (last minibatches of each period)")
axes[1].set_title("validation accuracy")
fig.tight_layout()"""),
md("""## Dead units and sparsity

A ReLU unit that is off for every validation image is *dead*: it outputs 0 and receives no gradient.
Exact zeros are also what makes ReLU representations *sparse* (seed 002); sigmoid, tanh and softmax
units are never exactly 0."""),
code("""fig, axes = plt.subplots(1, 2, figsize=(12, 4))
plot_dead_fraction(dead["relu"].records, ax=axes[0])
axes[0].set_title("ReLU: fraction of dead hidden units")
plot_sparsity({name: monitor.records for name, monitor in stats.items()}, ax=axes[1])
fig.tight_layout()"""),
md("""## The seed's question, answered with the numbers above

The cell below ranks the activations by validation accuracy and prints how far sigmoid and softmax
hidden units fall behind ReLU in this run. With weights of standard deviation 1.0 on 784 inputs, a
hidden unit's input is large in magnitude, so sigmoid units sit mostly in their flat tails, while a
ReLU unit passes the gradient of every active input unchanged."""),
code("""ranking = sorted(scores, key=lambda n: scores[n]["valid_accuracy"], reverse=True)
for rank, name in enumerate(ranking, 1):
    print(f"{rank}. {name:<11} valid {scores[name]['valid_accuracy']:.3f}")
for other in ("sigmoid", "softmax"):
    gap = scores["relu"]["valid_accuracy"] - scores[other]["valid_accuracy"]
    print(f"ReLU minus {other}: {gap:+.3f} validation accuracy")
zeros = {n: r.records[-1]["layers"]["activation_0"]["zero_fraction"] for n, r in stats.items()}
print("fraction of exact zeros in the hidden layer:", {n: round(z, 3) for n, z in zeros.items()})"""),
])

nb2 = new_notebook(metadata=KERNEL, cells=[
md("""# Fifty hidden layers on Fashion-MNIST: initialiser, learning rate, depth

The ReLU best-practice notebook trained a 50-hidden-layer MLP (Dense(300), then 49 × Dense(100)) on
Fashion-MNIST. With the default `glorot_uniform` initialiser ReLU stayed near 10 % accuracy; with
`he_normal` it reached about 85 %. But it changed the learning rate at the same time (0.01 for the
poor run, 1e-3 for the good one). Here the two causes are separated, the gradient norm is measured
layer by layer, and the dying of units is followed over training.

The test suite runs this notebook with `ACTKERAS_NOTEBOOK_QUICK=1`: the embedded sample and 2 epochs."""),
code("""import os

import matplotlib.pyplot as plt

import actkeras
from actkeras.callbacks import DeadReLUMonitor, GradientNormLogger
from actkeras.data import load_fashion_mnist
from actkeras.plots import plot_dead_fraction, plot_gradient_norms, plot_history
from actkeras.seeding import seed_everything

QUICK = os.environ.get("ACTKERAS_NOTEBOOK_QUICK") == "1"  # set by the test suite
EPOCHS = 2 if QUICK else 10
data = load_fashion_mnist(source="embedded" if QUICK else "auto")
print(f"train {len(data.x_train):,}, valid {len(data.x_valid):,}, test {len(data.x_test):,} images")"""),
md("""## Initialiser against learning rate

Four ReLU runs cross the two initialisers with the two learning rates; sigmoid with the default
initialiser is the notebook's other failing run."""),
code("""RUNS = {
    "relu glorot lr 0.01": dict(activation="relu", initializer="glorot_uniform", learning_rate=0.01),
    "relu glorot lr 1e-3": dict(activation="relu", initializer="glorot_uniform", learning_rate=1e-3),
    "relu he lr 0.01": dict(activation="relu", initializer="he_normal", learning_rate=0.01),
    "relu he lr 1e-3": dict(activation="relu", initializer="he_normal", learning_rate=1e-3),
    "sigmoid glorot lr 1e-3": dict(activation="sigmoid", initializer="glorot_uniform", learning_rate=1e-3),
}
histories, gradients, dead, scores = {}, {}, {}, {}
for label, options in RUNS.items():
    seed_everything(0)
    model = actkeras.build_model(preset="fashion_mlp", epochs=EPOCHS, seed=0, **options)
    gradients[label], dead[label] = GradientNormLogger(), DeadReLUMonitor()
    histories[label] = actkeras.fit(model, data, callbacks=[gradients[label], dead[label]], verbose=0)
    scores[label] = actkeras.evaluate(model, data)
    print(f"{label:<24} train {scores[label]['train_accuracy']:.3f}  valid {scores[label]['valid_accuracy']:.3f}")"""),
code("""fig, ax = plt.subplots(figsize=(8, 4))
plot_history(histories, "val_accuracy", ax=ax)
ax.set_title("validation accuracy, 50 hidden layers")"""),
md("""## Gradient norm against depth

The `GradientNormLogger` computes each layer's gradient norm with the model's own loss on a probe
batch. A sigmoid's derivative is at most 0.25, so its gradients shrink on the way down the stack."""),
code("""fig, ax = plt.subplots(figsize=(8, 4))
plot_gradient_norms({label: logger.records for label, logger in gradients.items()}, ax=ax)
ax.set_title("gradient norm per layer after the last epoch")
for label, logger in gradients.items():
    print(f"{label:<24} first/last layer gradient-norm ratio {logger.records[-1]['first_last_ratio']:.3g}")"""),
md("""## Dying units over the epochs

The fraction of ReLU units that output 0 for every validation sample, per layer, for the run with
the default initialiser and the larger learning rate."""),
code("""fig, ax = plt.subplots(figsize=(8, 4))
plot_dead_fraction(dead["relu glorot lr 0.01"].records, ax=ax)
ax.set_title("relu, glorot_uniform, lr 0.01: dead units per layer")
ax.get_legend().remove() if ax.get_legend() else None"""),
])

nb3 = new_notebook(metadata=KERNEL, cells=[
md("""# Tuning the activation with Keras Tuner, then exporting the winner

A Keras Tuner grid search over the hidden activation of the course network, with the dead-unit
monitor and the gradient-norm logger attached to every trial; then the best model is exported to
`saved_models/`, reloaded with `safe_mode` on, and used to predict.

The test suite runs this notebook with `ACTKERAS_NOTEBOOK_QUICK=1`: the embedded sample and 60
steps per trial."""),
code("""import os

import matplotlib.pyplot as plt
import numpy as np

from actkeras.data import load_notmnist
from actkeras.export import export_model, load_exported
from actkeras.tuning import ActivationHyperModel, format_table, make_tuner, run_search

QUICK = os.environ.get("ACTKERAS_NOTEBOOK_QUICK") == "1"  # set by the test suite
STEPS = 60 if QUICK else 1000
data = load_notmnist(source="embedded" if QUICK else "auto")"""),
md("## The search"),
code("""hypermodel = ActivationHyperModel(
    "udacity", activations=["relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax"], seed=0, steps=STEPS
)
tuner = make_tuner("grid", hypermodel, "tuning", project_name="notebook", max_trials=6, seed=0,
                   overwrite=True)
rows = run_search(tuner, data)
print(format_table(rows))"""),
code("""completed = [row for row in rows if row["score"] is not None]
fig, ax = plt.subplots(figsize=(8, 4))
ax.bar([row["activation"] for row in completed], [row["score"] for row in completed])
ax.set_xlabel("hidden activation")
ax.set_ylabel("best validation accuracy")
ax.set_title(f"grid search, udacity network, {STEPS} steps per trial")"""),
md("## Export the best model, reload it, predict"),
code("""best_model = tuner.get_best_models(1)[0]
path = export_model(best_model, "notebook-best", metadata={"dataset": "notmnist", "trial": rows[0]},
                    overwrite=True)
print("exported to", path, "->", sorted(p.name for p in path.iterdir()))
reloaded = load_exported(path)
original = best_model.predict(data.x_test[:256], verbose=0)
again = reloaded.predict(data.x_test[:256], verbose=0)
print("largest difference between original and reloaded predictions:", float(np.abs(original - again).max()))"""),
code("""letters = "ABCDEFGHIJ"
predicted = again.argmax(axis=1)
fig, axes = plt.subplots(2, 8, figsize=(12, 3.5))
for ax, image, guess, truth in zip(axes.flat, data.x_test, predicted, data.y_test):
    ax.imshow(image, cmap="gray")
    ax.set_title(f"{letters[guess]} ({letters[truth]})", color="black" if guess == truth else "red")
    ax.axis("off")
fig.suptitle("reloaded model: predicted letter (true letter)")"""),
])

nb4 = new_notebook(metadata=KERNEL, cells=[
md("""# The monitors on your own model

The three callbacks in `actkeras.callbacks` watch any Keras model while it trains, not only the
networks `actkeras.build_model` makes. This notebook attaches them to a `keras.applications`
network (MobileNetV2) and to a small subclassed model, and shows what each number means and what
to do about it:

- `DeadReLUMonitor`: units that are off for every probe sample (dead ReLUs, and units stuck at
  ReLU6's cap);
- `GradientNormLogger`: the gradient norm of every layer, and the first/last ratio that shows a
  vanishing gradient;
- `ActivationStats`: each activation layer's mean, spread, exact zeros and saturation, with
  histograms.

Set `ACTKERAS_DATA_DIR` to the folder holding Fashion-MNIST to use the real images; the test
suite runs this notebook with `ACTKERAS_NOTEBOOK_QUICK=1`: the small sample shipped inside the
package, and a few steps."""),
code("""import os
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import ops

from actkeras.callbacks import ActivationStats, DeadReLUMonitor, GradientNormLogger
from actkeras.data import load_fashion_mnist
from actkeras.plots import plot_dead_fraction, plot_gradient_norms, plot_histograms_over_training

QUICK = os.environ.get("ACTKERAS_NOTEBOOK_QUICK") == "1"  # set by the test suite
EPOCHS, TRAIN, VALID, PROBE = (2, 512, 192, 32) if QUICK else (5, 12_000, 1000, 256)
keras.utils.set_random_seed(0)
data = load_fashion_mnist(source="embedded" if QUICK else "auto")


def as_rgb(images):
    \"\"\"28 x 28 grey images in [0, 1] as the 32 x 32 x 3 images in [-1, 1] MobileNetV2 takes.\"\"\"
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    return np.repeat(padded[..., None], 3, axis=-1).astype("float32") * 2 - 1


x_train, y_train = as_rgb(data.x_train[:TRAIN]), data.y_train[:TRAIN]
x_valid, y_valid = as_rgb(data.x_valid[:VALID]), data.y_valid[:VALID]
probe = (x_valid[:PROBE], y_valid[:PROBE])  # what the monitors measure on
print(f"Keras backend {keras.backend.backend()}: train {len(x_train):,} images, probe {PROBE} "
      f"validation images, {EPOCHS} epochs")"""),
md("""## A `keras.applications` network

MobileNetV2 is built from scratch (`weights=None`) for 32 x 32 images. The monitors need nothing
from it: they find its 35 ReLU6 activations and its 100-odd weighted layers themselves, and
measure in training mode (BatchNorm with the probe's statistics, nothing updated) on the probe,
with one compiled pass per monitor. `every=` adds measurements during the epochs, for the
histograms over training."""),
code("""network = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=10)
network.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
steps = -(-len(x_train) // 64)
dead = DeadReLUMonitor(probe_data=probe)
gradients = GradientNormLogger(probe_data=probe)
stats = ActivationStats(probe_data=probe, histograms=True, every=max(1, steps // 3))
with warnings.catch_warnings(record=True) as said:
    warnings.simplefilter("always")
    history = network.fit(x_train, y_train, batch_size=64, epochs=EPOCHS, verbose=0,
                          validation_data=(x_valid, y_valid), callbacks=[dead, gradients, stats])
print(f"validation accuracy by epoch: {[round(a, 3) for a in history.history['val_accuracy']]}")
for message in dict.fromkeys(str(w.message) for w in said if "Monitor" in str(w.message)
                             or "Stats" in str(w.message)):
    print("warning:", message[:160])"""),
md("""## What the numbers say

**Dead and capped units.** A ReLU unit whose input is at or below 0 for every probe sample
outputs exactly 0 and receives no gradient: it is *dead*, and only a change in the layers before it
can bring it back. MobileNetV2's ReLU6 has a second way to stop learning: a unit at or above 6 for
every sample outputs 6 and gets no gradient either (*capped*). A few percent of either is normal;
tens of percent in a layer mean the learning rate is too high, the initialisation or the
normalisation is off, or the data are badly scaled. Remedies: a lower learning rate, He
initialisation, BatchNorm before the activation, or an activation with a leak (LeakyReLU, ELU),
whose off units still pass a gradient (the monitor calls them *inactive*, not dead).

**The gradient's first/last ratio.** The norm of the loss gradient on the first weighted layer
over that on the last. Far below 1 (say under 0.01) the gradient fades on its way back, and the
first layers barely learn (sigmoid and tanh stacks do this); residual connections, normalisation
and rectifiers keep it near 1. Far above 1 it explodes: lower the learning rate, clip.

**Activation statistics.** `zero_fraction` is a rectifier layer's sparsity; a layer whose mean
and spread grow epoch after epoch is drifting; `saturated_fraction` (sigmoid and tanh only) is the
share of outputs where the derivative is under 1 % of its maximum: saturated units learn slowly."""),
code("""last = dead.records[-1]
print(f"dead ReLU6 units: {last['dead_fraction']:.1%}, capped at 6: {last['capped_fraction']:.1%} "
      f"({last['mode']} mode, step {last['step']})")
worst = sorted(last["layers"].items(), key=lambda item: -item[1]["fraction"])[:3]
for name, info in worst:
    print(f"  {name:<24} {info['inactive_units']:>4} of {info['units']:>4} units dead")
ratio = gradients.records[-1]["first_last_ratio"]
print(f"gradient first/last ratio: {ratio:.3g} "
      f"({'fading' if ratio < 0.01 else 'exploding' if ratio > 100 else 'healthy'})")
first = stats.records[-1]["layers"]["Conv1_relu"]
print(f"first activation: mean {first['mean']:.3f}, std {first['std']:.3f}, "
      f"exact zeros {first['zero_fraction']:.1%}")"""),
code("""fig, axes = plt.subplots(1, 2, figsize=(13, 4))
plot_dead_fraction(dead.records, ax=axes[0])
axes[0].get_legend().remove()  # 35 layers: the dashed line is all of them
axes[0].set_title("MobileNetV2: dead ReLU6 units per layer (dashed: all)")
plot_gradient_norms({"MobileNetV2": gradients.records}, ax=axes[1])
fig.tight_layout()"""),
md("""## Each layer's histogram over training

fastai's "colorful dimension": one column per measurement, the activation values from bottom to
top, the colour the share of values in each bin. A ReLU layer whose mass collapses onto the line at
0 is dying; one whose range keeps widening is drifting."""),
code("""fig, axes = plt.subplots(1, 2, figsize=(13, 4))
plot_histograms_over_training(stats.records, "Conv1_relu", ax=axes[0])
plot_histograms_over_training(stats.records, "out_relu", ax=axes[1])
fig.tight_layout()"""),
md("""## A small subclassed model

The same three callbacks on a model written by hand. `ResidualMLP` holds its rectifier as an
attribute (`self.act = keras.activations.relu`), has a GELU inside a `Dense`, and may apply a
`keras.ops.relu` as a bare op in `call()`. The monitors measure the first two, named by their path
in the model (`block/act`, `block/dense`), and warn about the third only when it is actually
called."""),
code("""class Block(keras.layers.Layer):
    def __init__(self, units, extra_relu=False, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(units, activation="gelu")
        self.mix = keras.layers.Dense(units)
        self.act = keras.activations.relu
        self.extra_relu = extra_relu

    def call(self, x):
        h = self.act(self.mix(self.dense(x)))
        if self.extra_relu:
            h = ops.relu(h)  # a bare op: the monitors cannot read it
        return x + h


class ResidualMLP(keras.Model):
    def __init__(self, units=64, depth=3, extra_relu=False):
        super().__init__()
        self.flatten = keras.layers.Flatten()
        self.stem = keras.layers.Dense(units, activation="relu")
        self.blocks = [Block(units, extra_relu and i == 0) for i in range(depth)]
        self.head = keras.layers.Dense(10)

    def call(self, x):
        h = self.stem(self.flatten(x))
        for block in self.blocks:
            h = block(h)
        return self.head(h)


flat_train, flat_probe = data.x_train[:TRAIN], (data.x_valid[:PROBE], data.y_valid[:PROBE])
for extra_relu in (False, True):
    model = ResidualMLP(extra_relu=extra_relu)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    mlp_dead, mlp_stats = DeadReLUMonitor(probe_data=flat_probe), ActivationStats(
        probe_data=flat_probe, histograms=True, every=max(1, steps // 3))
    mlp_gradients = GradientNormLogger(probe_data=flat_probe)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        model.fit(flat_train, y_train, batch_size=64, epochs=EPOCHS, verbose=0,
                  callbacks=[mlp_dead, mlp_gradients, mlp_stats])
    bare = [str(w.message) for w in said if "bare op" in str(w.message)]
    print(f"extra_relu={extra_relu}: {len(bare)} bare-op warning(s)", *[b[:120] for b in bare],
          sep="\\n  ")
print("measured sites:", list(mlp_stats.records[-1]["layers"]))
print("units off (dead for ReLU, inactive for GELU) per site:",
      {n: f"{i['inactive_units']}/{i['units']}" for n, i in mlp_dead.records[-1]["layers"].items()})
print(f"gradient first/last ratio: {mlp_gradients.records[-1]['first_last_ratio']:.3g}")"""),
code("""fig, axes = plt.subplots(1, 2, figsize=(13, 4))
plot_histograms_over_training(mlp_stats.records, "block/act", ax=axes[0])
plot_gradient_norms({"ResidualMLP": mlp_gradients.records}, ax=axes[1])
fig.tight_layout()"""),
md("""## What to do with it

- Keep the monitors first in `callbacks` (they write their numbers into `logs`, so `CSVLogger`,
  `TensorBoard` and `EarlyStopping(monitor="dead_fraction")` placed after them see them).
- Give a probe of a few hundred validation samples: a unit is dead only if it is off for all of
  them, so more samples mean fewer false alarms (and at least 8 in training mode with BatchNorm).
- Watch only some layers with `layers=[...]` (names, patterns such as `"block_1*"`, or layer
  classes), and the output layer's activation with `include_outputs=True` (`ActivationStats`).
- Read the warnings: they name every activation the monitors cannot measure (a bare op, a
  recurrent cell, a layer the model never called) and say how to make it visible."""),
])

nbf.write(nb1, "notebooks/01_notmnist_one_hidden_layer.ipynb")
nbf.write(nb2, "notebooks/02_fashion_mnist_depth_and_init.ipynb")
nbf.write(nb3, "notebooks/03_tuning_and_export.ipynb")
nbf.write(nb4, "notebooks/04_monitors_on_your_model.ipynb")
