"""Notebook 02: fifty hidden layers on Fashion-MNIST, initialisation against learning rate
(claims 2, 3, 11 and 13)."""

from nbformat.v4 import new_code_cell as code
from nbformat.v4 import new_markdown_cell as md
from nbformat.v4 import new_notebook

from notebook_sources import KERNEL, QUICK_NOTE, cite

FILE = "02_fashion_mnist_depth_and_init.ipynb"

NOTEBOOK = new_notebook(metadata=KERNEL, cells=[
md(f"""# Fifty hidden layers: why the initialisation decides whether ReLU trains

**The question.** The threads {cite(1)} and {cite(2)} say that ReLU keeps gradients alive in deep
networks, but that ReLU units can die. A ReLU best-practice notebook put both to the test on
Fashion-MNIST with 50 hidden layers (Dense(300), then 49 × Dense(100)): with Keras's default
`glorot_uniform` initialiser the ReLU network stayed at 10 % accuracy (chance); with `he_normal`
it reached about 85 %. But that notebook also changed the learning rate between the two runs
(0.01 for the failure, 0.001 for the success), so it could not tell which change mattered.

**The experiment.** Cross the two initialisers with the two learning rates for ReLU (at full size
also the sigmoid and tanh); watch every layer from the very first step.

**The evidence.** The spread of every layer's outputs at step 0, the share of dead units in every
layer at every reading (a layer × step map), and the gradient norm of every layer.

{QUICK_NOTE} At quick size the successful network climbs well off chance in a few hundred steps
but does not reach its full-size accuracy."""),
code("""import actkeras.quiet

actkeras.quiet.start_quietly()  # as the CLI does: TensorFlow's logs stay out of the outputs

import os
import time

import actkeras
import matplotlib.pyplot as plt
import numpy as np

from actkeras.callbacks import ActivationStats, DeadReLUMonitor, GradientNormLogger
from actkeras.data import load_fashion_mnist
from actkeras.experiments import figures
from actkeras.seeding import seed_everything
from actkeras.teaching import mean_sd, summarised_warnings

# The knobs.
QUICK = os.environ.get("ACTKERAS_NOTEBOOK_QUICK") == "1"  # set by the test suite
EPOCHS = 8 if QUICK else 10
EVERY = 40 if QUICK else 500  # steps between two readings of the dead-unit monitor
SEEDS = [0, 1, 2]  # seeds per run for the accuracy figure; seed 0's run is the one watched
RUNS = {  # label: build_model overrides
    "relu, glorot, lr 0.01": dict(activation="relu", initializer="glorot_uniform", learning_rate=0.01),
    "relu, glorot, lr 0.001": dict(activation="relu", initializer="glorot_uniform", learning_rate=1e-3),
    "relu, he, lr 0.001": dict(activation="relu", initializer="he_normal", learning_rate=1e-3),
}
if not QUICK:  # the full cross, sigmoid and tanh
    RUNS["relu, he, lr 0.01"] = dict(activation="relu", initializer="he_normal", learning_rate=0.01)
    RUNS["sigmoid, glorot, lr 0.001"] = dict(activation="sigmoid", initializer="glorot_uniform", learning_rate=1e-3)
    RUNS["tanh, glorot, lr 0.001"] = dict(activation="tanh", initializer="glorot_uniform", learning_rate=1e-3)

data = load_fashion_mnist(source="embedded" if QUICK else "auto", verbose=False)  # its sizes are printed below
STEPS_PER_EPOCH = -(-len(data.x_train) // 32)
print(f"train {len(data.x_train):,}, validation {len(data.x_valid):,} images; "
      f"{EPOCHS} epochs of {STEPS_PER_EPOCH} steps")"""),
md("""## Fifty matrix products

Before any network: push a batch of random vectors through 50 layers of 100 units, `x = relu(x @ W)`,
and watch the spread of `x`. Each output is a sum of `n = 100` products, so its variance is
`n · Var(w) · E[x²]`. A ReLU keeps half of a zero-mean input, so `E[x²]` after it is half the
variance before it. To keep the spread constant, `n · Var(w) / 2 = 1`, that is
`Var(w) = 2 / n`: **He's initialisation**, standard deviation `sqrt(2 / n)`. Glorot's
(`glorot_uniform`, Keras's default) is built for units without that halving: for 100 inputs and
100 outputs it gives `Var(w) = 2 / (n_in + n_out) = 1 / n`, so each ReLU layer halves the variance,
and after 50 layers the signal has shrunk by `2^-25`, about 3 × 10⁻⁸ in standard deviation. With
`Var(w) = 1` it explodes instead."""),
code("""rng = np.random.default_rng(0)
n, depth = 100, 50
scales = {"Var(w) = 1": 1.0, "Glorot, Var(w) = 1/n": 1 / np.sqrt(n), "He, Var(w) = 2/n": np.sqrt(2 / n)}
fig, ax = plt.subplots(figsize=(7, 4))
for label, scale in scales.items():
    x, spread = rng.standard_normal((512, n)), []
    for _ in range(depth):
        x = np.maximum(x @ (rng.standard_normal((n, n)) * scale), 0.0)
        spread.append(x.std())
    ax.plot(range(1, depth + 1), spread, marker="o", markersize=3, label=label)
    print(f"{label:<22} spread after 10, 30, 50 layers: " + ", ".join(f"{spread[i]:.2g}" for i in (9, 29, 49)))
ax.set_yscale("log")
ax.set(xlabel="layer (1 = first)", ylabel="standard deviation of the outputs (log scale)",
       title="50 random ReLU layers: only He's scale keeps the signal")
ax.legend()"""),
md("""## The real network, with every layer watched

Each run trains the 50-layer network with seed 0 and three monitors, all measuring on a probe of
validation images. `seed_everything(seed)` fixes the order of the batches as well as the initial
weights (`build_model`'s `seed` fixes only the weights), so each run repeats exactly:

- `ActivationStats`, once before the first step and at each epoch end: each layer's mean and
  spread;
- `DeadReLUMonitor`, before the first step and every `EVERY` steps: the share of units of each layer
  that are 0 for every probe image (a dead unit passes no gradient);
- `GradientNormLogger`, at each epoch end: the norm of the loss gradient of each layer's weights.

The monitor warns once per layer above 10 % dead units; with 50 layers that is a page of warnings
per run, so they are summarised to one line per run."""),
code("""runs = {}
for label, options in RUNS.items():
    began = time.perf_counter()
    seed_everything(0)  # the batches' order too: build_model's seed fixes the initial weights only
    model = actkeras.build_model(preset="fashion_mlp", epochs=EPOCHS, seed=0, **options)
    stats, dead, gradients = ActivationStats(), DeadReLUMonitor(every=EVERY), GradientNormLogger()
    stats.at_start = dead.at_start = True  # also measure the state training starts from
    with summarised_warnings(f"  {label}"):
        history = actkeras.fit(model, data, callbacks=[dead, stats, gradients], verbose=0)
    runs[label] = {"history": history.history, "stats": stats.records, "dead": dead.records,
                   "gradients": gradients.records, "scores": actkeras.evaluate(model, data),
                   "diverged_at": history.diverged_at_step}
    print(f"{label:<26} validation accuracy {runs[label]['scores']['valid_accuracy']:.3f}  "
          f"({time.perf_counter() - began:.0f} s)", flush=True)"""),
md("""One seed can be lucky or unlucky: a deep network's first few hundred steps depend on where its
weights start. So each run is trained again with seeds 1 and 2, this time without monitors, and
the figure shows every seed (thin lines) with the mean ± sd over seeds (thick line, band).

A run whose loss becomes NaN stops there (`actkeras.fit`'s divergence guard): its line ends in an
x, the line above the figure names it, and its last accuracy is left out of the mean (it is the
accuracy before it blew up, not after ten epochs)."""),
code("""curves = {label: {0: run["history"]["val_accuracy"]} for label, run in runs.items()}
diverged = {label: {0: run["diverged_at"]} if run["diverged_at"] is not None else {}
            for label, run in runs.items()}
for label, options in RUNS.items():
    began = time.perf_counter()
    for seed in SEEDS[1:]:
        seed_everything(seed)
        model = actkeras.build_model(preset="fashion_mlp", epochs=EPOCHS, seed=seed, **options)
        with summarised_warnings(f"  {label}, seed {seed}"):  # a divergence: one line
            history = actkeras.fit(model, data, verbose=0)
        curves[label][seed] = history.history["val_accuracy"]
        if history.diverged_at_step is not None:
            diverged[label][seed] = history.diverged_at_step
    final = [curve[-1] for seed, curve in curves[label].items() if seed not in diverged[label]]
    blown = "; ".join(f"seed {seed} diverged at step {step:,}" for seed, step in diverged[label].items())
    print(f"{label:<26} final validation accuracy: {mean_sd(final)}"
          f" ({', '.join(f'{v:.3f}' for v in final)}{'; ' + blown if blown else ''};"
          f" {time.perf_counter() - began:.0f} s); above 15 %: {sum(v > 0.15 for v in final)} of "
          f"{len(final)} seeds", flush=True)
fig, ax = plt.subplots(figsize=(8, 4))
for label, by_seed in curves.items():
    figures.seed_curves(ax, label, {seed: ([STEPS_PER_EPOCH * (e + 1) for e in range(len(values))], values)
                                    for seed, values in by_seed.items()}, diverged=set(diverged[label]))
figures.chance_line(ax)
figures.finish(ax, f"50 hidden layers: validation accuracy, mean ± sd over {len(SEEDS)} seeds")"""),
md("""Read the counts at the end of each line ("above 15 %", a rough line for having left chance;
the reproduction uses an exact binomial test). Where the ReLU runs with He's initialisation leave
chance and those with Glorot's stay there at **both** learning rates, the initialiser, not the
learning rate, decides, at this depth and at these two rates (0.01 and 0.001). Neither is a law:
the reproduction trained Glorot's ReLU network at 20 layers at a larger rate (claim 3's
trainability table, "relu glorot"), and Xavier's (Glorot's) at 10 and 20 layers (claim 13, below).
The reproduction's claim 2 checks this with 8 seeds per arm at full size
(the report's claim 2, "Setup"); its verdict is printed at the end of this notebook. At full size
this notebook also trains tanh with Glorot's scale: its slope at 0 is 1, and it does not halve the
variance the way ReLU does."""),
md("""## Step 0: the spread of each layer before any training

The fifty matrix products, measured inside the real network: the standard deviation of each
layer's outputs on the probe, before the first step."""),
code("""fig, ax = plt.subplots(figsize=(8, 4))
for label, run in runs.items():
    layers = run["stats"][0]["layers"]
    ax.plot(range(1, len(layers) + 1), [layer["std"] for layer in layers.values()], marker="o",
            markersize=3, label=label)
ax.set_yscale("log")
ax.set(xlabel="hidden layer (1 = input side)", ylabel="std of the layer's outputs at step 0 (log scale)",
       title="Before the first step: Glorot shrinks ReLU's signal, He keeps it")
ax.legend(fontsize="small")
for label, run in runs.items():
    spread = [layer["std"] for layer in run["stats"][0]["layers"].values()]
    print(f"{label:<26} std at layer 1: {spread[0]:.3g}, at layer {len(spread)}: {spread[-1]:.3g}")"""),
md("""## Dead units, layer by layer, from step 0

Each column is one reading of `DeadReLUMonitor`, each row a layer; the colour is the share of the
layer's units that output 0 for every probe image. The first column is step 0: whatever is dark
there was dead **at initialisation**, not killed by training."""),
code("""relu_runs = [label for label in runs if label.startswith("relu")]
fig, axes = plt.subplots(1, len(relu_runs), figsize=(5 * len(relu_runs), 4.5), squeeze=False)
for ax, label in zip(axes[0], relu_runs):
    records = runs[label]["dead"]
    grid = np.array([[layer["fraction"] for layer in r["layers"].values()] for r in records]).T
    image = ax.imshow(grid, aspect="auto", origin="lower", cmap="magma", vmin=0, vmax=1,
                      extent=(-0.5, len(records) - 0.5, 0.5, grid.shape[0] + 0.5), interpolation="nearest")
    ticks = list(range(0, len(records), max(1, len(records) // 6)))
    ax.set_xticks(ticks, [str(records[i]["step"]) for i in ticks])
    ax.set(xlabel="training step of the reading", ylabel="hidden layer (1 = input side)", title=label)
fig.colorbar(image, ax=axes[0].tolist(), label="share of dead units")
for label in relu_runs:
    first, last = runs[label]["dead"][0], runs[label]["dead"][-1]
    above = sum(layer["fraction"] > 0.1 for layer in last["layers"].values())
    print(f"{label:<26} dead at step 0: {first['dead_fraction']:.0%}, at step {last['step']}: "
          f"{last['dead_fraction']:.0%}; layers above 10 % dead at the end: {above} of {len(last['layers'])}")"""),
md("""## Gradient norm by depth, zeros included

A gradient that is **exactly 0** cannot be drawn on a log scale. Rather than let such a line
vanish, the zeros are drawn as triangles below the other values (one row per run): a layer whose
weights get no gradient at all, in float32 arithmetic."""),
code("""fig, ax = plt.subplots(figsize=(9, 4.5))
floor = min(v for run in runs.values() for v in run["gradients"][-1]["layers"].values() if v > 0) / 10
for k, (label, run) in enumerate(runs.items()):
    norms = list(run["gradients"][-1]["layers"].values())
    depth = np.arange(1, len(norms) + 1)
    line, = ax.plot(depth, [v if v > 0 else np.nan for v in norms], marker="o", markersize=3, label=label)
    zero = [d for d, v in zip(depth, norms) if v == 0]
    if zero:
        ax.plot(zero, [floor / 3 ** k] * len(zero), "v", color=line.get_color(), markersize=6,
                label=f"{label}: exactly 0 in {len(zero)} layers")
    print(f"{label:<26} gradient norm, first layer {norms[0]:.2g}, last {norms[-1]:.2g}; "
          f"exactly zero in {len(zero)} of {len(norms)} layers")
he_first = list(runs["relu, he, lr 0.001"]["gradients"][-1]["layers"].values())[0]
for label in [label for label in runs if "glorot" in label and label.startswith("relu")]:
    first = list(runs[label]["gradients"][-1]["layers"].values())[0]
    print(f"{label:<26} first layer's gradient / He's (lr 0.001): "
          + (f"10^{np.log10(first / he_first):.1f}" if first > 0 else "exactly 0"))
ax.set_yscale("log")
ax.set(xlabel="layer (1 = input side; last = output)", ylabel="gradient norm of the weights (log scale)",
       title="Gradient norm by depth after the last epoch (triangles: exactly 0)")
ax.legend(fontsize="x-small")"""),
md("""## What the reproduction concluded

Claims 2, 11 and 13, read from the reproduction's `results.json` when the cell runs: the table,
then claims 2 and 13 part by part. Claim 13 (He et al. 2015) is this notebook's question asked
at several depths: how much Glorot's (Xavier's) initialisation shrinks a ReLU network's signal,
and whether a 30-layer network then stalls. Its last line says whether judging the stall at
another depth changes its verdict."""),
code("""from IPython.display import Markdown, display

from actkeras.experiments.verdicts import claim_lines, read_verdicts, reproduction_folder, verdict_table

folder = reproduction_folder()
found = read_verdicts(folder)
print(found["message"])
display(Markdown(verdict_table(found, {
    2: "the 50-layer MLP stays at chance with the default initialiser; He fixes ReLU and LeakyReLU",
    11: "deep narrow ReLU networks (2 to 10 units, 1-d input) are born dead",
    13: "Glorot shrinks ReLU's signal by sqrt(2) a layer against He; a 30-layer MLP stalls with it"})))
print("\\n".join(claim_lines(found, 2) + claim_lines(found, 13)))
print(f"the report: {folder / 'report.md'}")"""),
md("""## Conclusion

- **The initialiser and the learning rate.** Compare the "above 15 %" counts: where Glorot stays
  at chance at both rates and He trains, the initialiser decides here (50 layers, these two
  rates). The step-0 spread shows why
  before any training: with Glorot each ReLU layer halves the variance, and after 50 layers the
  signal is about 3 × 10⁻⁸ of its size (the fifty matrix products above), so the output barely
  depends on the image, and the gradient barely depends on the weights below.
- **Depth decides too.** The reproduction's claim 13 trained plain ReLU MLPs of 100 units a layer
  for about one epoch: with Xavier (Glorot) they reach 58.9 ± 10.3 % validation accuracy at 20
  layers, 3 of 5 seeds stay at chance at 30 layers, and 5 of 5 at 40 and 50 (the report's claim
  13, "Trained for the budget" table); He's accuracy falls with depth in that budget too (same
  table). The verdict above says how that was judged.
- **Dead is not the same as dying.** Compare the two dead shares printed under the layer × step
  map: the units dead at step 0 were off for every input before any training; whatever the end
  adds, training killed. Claim 11 (Lu et al. 2020) is the extreme of the first kind: in networks 2
  to 10 units wide on a 1-d input a whole layer can be off for every input at the start, and the
  network is *born dead*. The layers here are 100 units wide; at width 10 and depth 50 the
  reproduction found 2.8 % [1.9 %, 4.0 %] of the networks born dead (the report's claim 11, the
  He normal table).
- **The gradient.** The ratio printed under the gradient figure is the first layer's gradient
  with Glorot over He's, after training, in this notebook's runs (exactly 0 wherever a layer at
  or above it died for every probe image; which run has one depends on the seed and the
  backend's arithmetic). Claim 13's part (c) reads a related ratio, at step 0 in its own MLPs:
  Xavier's kernel gradient over He's, the largest over the hidden layers (printed above).
- **Sigmoid** (full size only), with Glorot's weights: the reproduction finds it at chance in 8 of
  8 seeds (the report's claim 2, "Arms" table). Notebook 05 measures why (claim 3): its gradient
  shrinks layer by layer at the standard initialisations, and its conclusion shows how much the
  initial weight scale moves that decay."""),
md("""## Problems

**Problem 1 (where Glorot stops training).** Build `actkeras.build_model(preset="fashion_mlp",
activation="relu", initializer="glorot_uniform", learning_rate=1e-3, depth=D, units=100)` for D in
5, 10, 20, 30 and train each for a few epochs. Check: find the depth at which validation accuracy
falls to chance (0.1); compare it with the depth at which the step-0 spread,
`ActivationStats` with `at_start = True`, drops below 10⁻³ at the last layer.

**Problem 2 (fix Glorot without changing it).** Add `batch_norm=True` to the Glorot ReLU network.
Check: the step-0 spread should stay near 1 at every layer, and validation accuracy should leave
chance.

**Problem 3 (a leak).** Replace ReLU by `activation="leaky_relu"` with Glorot. Check: the monitor
now reports *inactive* units (`inactive_fraction`), not dead ones; does the network train?

**Problem 4 (born dead).** Set `DeadReLUMonitor.record_units = True` on a monitor and follow one
dead unit of the He run from step 0 to the end. Check: `off_units` of the first and the last record;
how many units that were dead at step 0 came back to life?"""),
])
