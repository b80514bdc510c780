"""Writes the notebooks (without outputs) from one place: `python scripts/make_notebooks.py`
writes the repository's `notebooks/` (wherever it is run from). Edit here (or in
`scripts/notebook_sources/`, one module per notebook), not in the .ipynb files. A notebook
holding outputs (one you ran and saved) is not replaced without `--overwrite`."""

import argparse
import sys
from pathlib import Path

import nbformat as nbf
from nbformat.v4 import new_notebook, new_markdown_cell as md, new_code_cell as code

from notebook_sources import (
    KERNEL,
    cost_speed_linearity,
    course_network,
    depth_and_init,
    dying_relu,
    start_here,
    tuning_and_export,
    vanishing_and_batchnorm,
)

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
code("""import actkeras.quiet

actkeras.quiet.start_quietly()  # TensorFlow's start-up logs stay out of the outputs

import os
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
data = load_fashion_mnist(source="embedded" if QUICK else "auto", verbose=False)  # its sizes are printed below


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
every sample outputs 6 and gets no gradient either (*capped*). A few percent of either is normal.
Tens of percent in a layer are worth a look, not an alarm by themselves: in notebook 06 ReLU
networks stressed by a large learning rate lose most of their units and still learn (the report's
claim 6, "Units" table). Read the share
beside the loss and the gradient. If it grows during training while the loss stalls, suspect a
learning rate that is too high, an initialisation or normalisation that is off, or badly scaled
data. Remedies: a lower learning rate, He initialisation, BatchNorm before the activation, or an
activation with a leak (LeakyReLU, ELU), whose off units still pass a gradient (the monitor calls
them *inactive*, not dead).

**The gradient's first/last ratio.** The norm of the loss gradient on the first weighted layer
over that on the last. Far below 1 (say under 0.01) the gradient fades on its way back, and the
first layers barely learn. How far it falls depends on the activation *and* the initial weights:
in the reproduction's 20-layer MLPs at step 0 a sigmoid with Glorot's weights loses 12.05 ± 0.13
decades of kernel gradient, tanh with the same weights 0.10 ± 0.10 and ReLU with He's
0.01 ± 0.14 (the report's claim 3, "Step-0 decay across the depth", "kernel decay, depth 20").
Far above 1 the gradient grows on its way back. That can be an explosion (lower the learning
rate, clip), but a normalised network can sit there and train: ReLU with batch normalisation
"decays" by -1.38 ± 0.06 decades at depth 20 and -2.91 ± 0.11 at depth 40 (same table), and
trains to 84.0 ± 0.6 % (claim 5, "Arms" table). Read the ratio with the loss.

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
      f"({'fading: under 0.01' if ratio < 0.01 else 'growing: over 100' if ratio > 100 else 'between 0.01 and 100'})")
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
md("""## Problems

**Problem 1 (kill some units).** Compile MobileNetV2 with `Adam(1e-1)` instead of `Adam(1e-3)` and
train again. Check: does `dead.records[-1]["dead_fraction"]` rise above the run above, in which
layers (`plot_dead_fraction`), and does the validation accuracy follow it down?

**Problem 2 (make the bare op visible).** Replace `ops.relu(h)` in `Block.call` with a layer
built in `__init__` (`self.extra = keras.layers.ReLU()`, then `h = self.extra(h)`). Check: with
`extra_relu=True` the warning about a bare op is gone, and `mlp_stats.records[-1]["layers"]` has
one more site, the new layer in the first block (`block/re_lu`).

**Problem 3 (one layer only).** Give `DeadReLUMonitor` `layers=["block_1*"]` in the residual MLP.
Check: `list(mlp_dead.records[-1]["layers"])` names only the sites under `block_1`, while
`mlp_stats` still measures every site (the selection is that monitor's alone)."""),
])

written = [(source.NOTEBOOK, source.FILE) for source in (start_here, course_network, depth_and_init,
                                                           tuning_and_export, vanishing_and_batchnorm,
                                                           dying_relu, cost_speed_linearity)]
FOLDER = Path(__file__).resolve().parents[1] / "notebooks"


def _has_outputs(path):
    if not path.is_file():
        return False
    return any(cell.get("outputs") for cell in nbf.read(path, as_version=4).cells)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overwrite", action="store_true",
                        help="also replace notebooks that hold outputs")
    args = parser.parse_args(argv)
    notebooks = written + [(nb4, "04_monitors_on_your_model.ipynb")]
    kept = [name for _, name in notebooks if _has_outputs(FOLDER / name)]
    if kept and not args.overwrite:
        verb = "holds" if len(kept) == 1 else "hold"
        parser.error(f"{', '.join(kept)} in {FOLDER} {verb} outputs (run and saved): pass "
                     "--overwrite to replace them with the sources' notebooks, or move them")
    for notebook, name in notebooks:
        for index, cell in enumerate(notebook.cells):
            cell.id = f"cell-{index:02d}"  # stable ids: a regenerated notebook diffs only where it changed
        nbf.write(notebook, FOLDER / name)


if __name__ == "__main__":
    sys.exit(main())
