"""Notebook 05: vanishing gradients with depth, the rescaled sigmoid, and batch normalisation
(claims 3, 4 and 5)."""

from nbformat.v4 import new_code_cell as code
from nbformat.v4 import new_markdown_cell as md
from nbformat.v4 import new_notebook

from notebook_sources import KERNEL, QUICK_NOTE, cite

FILE = "05_vanishing_gradients_and_batch_norm.ipynb"

NOTEBOOK = new_notebook(metadata=KERNEL, cells=[
md(f"""# Vanishing gradients, and what batch normalisation does about them

**The question.** The answers in {cite(2)} give the textbook reason why deep sigmoid networks
train badly: *"the derivative of the sigmoid function is ALWAYS smaller than one. In fact it is
at most 0.25! ... if you have many layers, you will multiply these gradients, and the product of
many smaller than 1 values goes to zero very quickly."* A comment asks whether a sigmoid stretched so that its slope peaks at 1,
`1 / (1 + exp(-4x))`, would cure that; another answer says that *"you CAN do deep learning with
sigmoids, you just need to normalize the inputs, for example via Batch Normalization"*. Three
claims of the reproduction:

- **claim 3**: gradients shrink layer by layer in deep sigmoid networks, not in ReLU ones;
- **claim 4**: the rescaled sigmoid does not cure that;
- **claim 5**: with batch normalisation a deep sigmoid network trains nearly as well as a ReLU one.

**The experiment.** The reproduction's deep MLP on Fashion-MNIST: 20 hidden layers of 100 units,
plain SGD at 0.05, batches of 32. ReLU starts from He's initialisation, the sigmoids from Keras's
default (`glorot_uniform`); each with and without a `BatchNormalization` between every `Dense`
layer and its activation.

**The evidence.** `GradientNormLogger` measures the gradient of every layer before the first step
and after every epoch; its *first/last ratio* (the first layer's gradient norm over the output
layer's) is the vanishing-gradient index. `ActivationStats` says whether the sigmoid units are
saturated. Validation accuracy over several seeds says whether the network learns.

{QUICK_NOTE}"""),
code("""import actkeras.quiet

actkeras.quiet.start_quietly()  # as the CLI does: TensorFlow's logs stay out of the outputs

import os
import time

import actkeras
import keras
import matplotlib.pyplot as plt
import numpy as np

from actkeras.callbacks import ActivationStats, GradientNormLogger
from actkeras.data import load_fashion_mnist
from actkeras.experiments import figures, probes
from actkeras.seeding import seed_everything
from actkeras.teaching import mean_sd, summarised_warnings

# The knobs.
QUICK = os.environ.get("ACTKERAS_NOTEBOOK_QUICK") == "1"  # set by the test suite
DEPTH = 20  # hidden layers of 100 units (the reproduction's deep MLP)
EPOCHS = 3  # the reproduction's 3 epochs; at quick size an epoch is 71 steps, not 1,719
SEEDS = [0, 1, 2] if QUICK else [0, 1, 2, 3, 4]
SWEEP = (5, 10, 20) if QUICK else (5, 10, 20, 40)  # depths of the step-0 sweep
# Keras's BatchNormalization keeps moving averages of each unit's mean and variance for
# inference, with momentum 0.99: a memory of about 100 steps. At quick size the whole training
# is about 200 steps, and the averages would still remember their starting values (mean 0,
# variance 1); 0.9 gives them a memory of about 10 steps. Problem 3 shows what 0.99 does.
BN_MOMENTUM = 0.9 if QUICK else 0.99
ARMS = {  # label: build_model arguments
    "relu": dict(activation="relu", initializer="he_normal"),
    "sigmoid": dict(activation="sigmoid", initializer="glorot_uniform"),
    "sigmoid + BN": dict(activation="sigmoid", initializer="glorot_uniform", batch_norm=True),
}
if not QUICK:
    ARMS["relu + BN"] = dict(activation="relu", initializer="he_normal", batch_norm=True)

data = load_fashion_mnist(source="embedded" if QUICK else "auto", verbose=False)  # its sizes are printed below
STEPS_PER_EPOCH = -(-len(data.x_train) // 32)
print(f"train {len(data.x_train):,}, validation {len(data.x_valid):,} images; {EPOCHS} epochs of "
      f"{STEPS_PER_EPOCH} steps; {len(SEEDS)} seeds per arm")"""),
md("""## The arithmetic first

Backpropagation multiplies, layer after layer, by the activation's derivative at each unit (and by
the weights). The sigmoid's derivative `s(x) (1 - s(x))` is at most **0.25**, at `x = 0`; twenty
such factors give at most `0.25^20`, about 10⁻¹², unless the weights make up for it. ReLU's
derivative is exactly 1 wherever the unit is on. The stretched sigmoid `s(4x)` has a derivative
that peaks at 1, like ReLU's, but only in a window four times narrower: outside it, it falls off
four times faster."""),
code("""x = np.linspace(-6, 6, 601)
s, s4 = 1 / (1 + np.exp(-x)), 1 / (1 + np.exp(-4 * x))
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].plot(x, s * (1 - s), label="sigmoid: s(x)(1 - s(x)), at most 0.25")
axes[0].plot(x, 4 * s4 * (1 - s4), label="stretched sigmoid s(4x): at most 1")
axes[0].plot(x, 1 - np.tanh(x) ** 2, label="tanh: at most 1")
axes[0].plot(x, (x > 0).astype(float), label="ReLU: 0 or 1")
axes[0].set(xlabel="input of the unit", ylabel="derivative", title="How much gradient a unit passes back")
axes[0].legend(fontsize="small")
layers = np.arange(1, 41)
for factor, label in ((0.25, "0.25 per layer (sigmoid at its best)"), (0.5, "0.5 per layer"),
                      (1.0, "1 per layer (ReLU, where on)")):
    axes[1].plot(layers, factor ** layers, label=label)
axes[1].set_yscale("log")
axes[1].set(xlabel="layers the gradient has passed", ylabel="product of the derivatives (log scale)",
            title="Products of derivatives")
axes[1].legend(fontsize="small")
print(f"0.25 ** 20 = {0.25 ** 20:.1e}; 0.25 ** 40 = {0.25 ** 40:.1e}")"""),
md("""## The real network, watched from step 0

Each arm is trained with several seeds (three at quick size, five at full size). Every run carries a
`GradientNormLogger` that reads the gradient norm of each `Dense` layer on a probe of validation
images **before the first step** (`at_start = True`) and at each epoch end; seed 0 also carries an
`ActivationStats`, for the saturation of the sigmoid units. The batch normalisation layers' own
weights are left out of the gradient readings (`layers=[keras.layers.Dense]`), so every arm is
read on the same 21 layers."""),
code("""runs = {label: {} for label in ARMS}
for label, options in ARMS.items():
    began = time.perf_counter()
    for seed in SEEDS:
        seed_everything(seed)  # the batches' order too, not only the initial weights
        model = actkeras.build_model(preset="mlp", hidden_units=(100,) * DEPTH, learning_rate=0.05,
                                     batch_size=32, epochs=EPOCHS, seed=seed, **options)
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = BN_MOMENTUM
        gradients = GradientNormLogger(layers=[keras.layers.Dense])
        gradients.at_start = True
        watch = [gradients]
        if seed == SEEDS[0]:
            stats = ActivationStats()
            stats.at_start = True
            watch.append(stats)
        with summarised_warnings(f"  {label}, seed {seed}"):
            history = actkeras.fit(model, data, callbacks=watch, verbose=0)
        runs[label][seed] = {"valid": history.history["val_accuracy"], "gradients": gradients.records,
                             "stats": stats.records if seed == SEEDS[0] else None}
    finals = [run["valid"][-1] for run in runs[label].values()]
    print(f"{label:<13} final validation accuracy {mean_sd(finals)}  "
          f"({time.perf_counter() - began:.0f} s)", flush=True)"""),
md("""## Evidence 1: the first/last ratio before any training

The gradient norm of the first hidden layer over that of the output layer, at step 0: near 1, the
gradient reaches the first layer as strong as it left the last; far below 1, it fades on the way
back."""),
code("""ratio_at_start = {label: [run["gradients"][0]["first_last_ratio"] for run in by_seed.values()]
                  for label, by_seed in runs.items()}
ratio_at_end = {label: [run["gradients"][-1]["first_last_ratio"] for run in by_seed.values()]
                for label, by_seed in runs.items()}
for label in runs:
    print(f"{label:<13} first/last ratio at step 0: "
          + ", ".join(f"{r:.2g}" for r in ratio_at_start[label])
          + "; after the last epoch: " + ", ".join(f"{r:.2g}" for r in ratio_at_end[label]))

fig, ax = plt.subplots(figsize=(8, 4.5))
for label, by_seed in runs.items():
    curves = {}
    for seed, run in by_seed.items():
        norms = list(run["gradients"][0]["layers"].values())
        curves[seed] = (list(range(1, len(norms) + 1)), [np.log10(v) if v > 0 else None for v in norms])
        zeros = [k + 1 for k, v in enumerate(norms) if v == 0]
        if zeros:  # an exactly-zero gradient has no logarithm: say so rather than drop it
            ax.plot(zeros, [-45] * len(zeros), "v", label=f"{label}, seed {seed}: exactly 0")
    figures.seed_curves(ax, label, curves)
figures.finish(ax, f"Gradient norm of each layer at step 0, mean ± sd over {len(SEEDS)} seeds",
               xlabel=f"layer (1 = first hidden layer, {DEPTH + 1} = output)",
               ylabel="log10 gradient norm of the layer's weights", ylim=None)"""),
md("""Read the ratios at step 0 printed above. The sigmoid network's first layer receives a gradient
many decades smaller than its output layer: the product of twenty factors of at most 0.25, and
of Glorot's weights, which do not make up for them. The reproduction measured 12.05 ± 0.13
decades of kernel-gradient decay across these 20 layers (the report's claim 3, "Step-0 decay
across the depth" table, "kernel decay, depth 20"). Compare the ReLU network's ratio, and the
sigmoid network's with batch normalisation.

## Evidence 2: it is not saturation

A common explanation is that sigmoid units *saturate*: sit in their flat tails, where the
derivative is near 0. `ActivationStats` measures that directly: the share of a layer's outputs
where the derivative is under 1 % of its peak."""),
code("""sigmoid_stats = runs["sigmoid"][SEEDS[0]]["stats"]
for record in (sigmoid_stats[0], sigmoid_stats[-1]):
    layers = record["layers"]
    saturated = [layer["saturated_fraction"] for layer in layers.values()]
    spread = [layer["std"] for layer in layers.values()]
    print(f"sigmoid, step {record['step']:>4}: saturated outputs, first/last hidden layer "
          f"{saturated[0]:.1%} / {saturated[-1]:.1%}, largest {max(saturated):.1%}; "
          f"spread of the outputs {spread[0]:.3f} / {spread[-1]:.3f}")"""),
md("""The first line is step 0. With Glorot's weights the saturated shares there are (almost) 0:
every unit sits near the middle of the curve, where the derivative is close to its largest
value, 0.25. The gradient vanishes anyway: each layer multiplies it by at most 0.25 and by
weights that do not make up for it; the units are not stuck. The second line is the same network
after training: compare its shares and spreads with the first, and Evidence 4 for whether it
learned anything.

Saturation has its own claim, from the paper the threads cite for it: claim 12 (Glorot and Bengio
2010) says that during training a sigmoid network's top hidden layer is pushed into saturation
first, at 0, while the lower layers stay near 0.5. It is about the outputs during training, not
the gradient at step 0; its verdicts are printed with the others at the end of this notebook.

## Evidence 3: how the decay grows with depth

The decay across the depth, in decades, before any training (`actkeras.experiments.probes.step0`,
one backward pass, nothing updated), two ways: `log10` of the last hidden layer's RMS over the
first's, for the kernel gradient `dL/dW` (what claim 3's parts judge; it also carries the size of
the layer's input) and for the backpropagated error `dL/dz` that the activation's derivative
multiplies (the reproduction's alternative aggregate). The figure draws the error. Here for
several depths, and for the stretched sigmoid `s(4x)` of claim 4 and a ReLU network with batch
normalisation too."""),
code("""SWEPT = {**{label: ARMS.get(label) for label in ("relu", "sigmoid", "sigmoid + BN")},
         "stretched sigmoid s(4x)": dict(activation="scaled_sigmoid", activation_kwargs={"slope": 4.0},
                                         initializer="glorot_uniform"),
         "relu + BN": dict(activation="relu", initializer="he_normal", batch_norm=True)}
x_probe, y_probe = data.x_valid[:256], data.y_valid[:256]
sweep_seeds = SEEDS[:1] if QUICK else SEEDS
decay, decay_kernel = {label: {} for label in SWEPT}, {label: {} for label in SWEPT}
for label, options in SWEPT.items():
    family = "sigmoid" if "sigmoid" in options["activation"] else options["activation"]
    for depth in SWEEP:
        profiles = []
        for seed in sweep_seeds:
            model = actkeras.build_model(preset="mlp", hidden_units=(100,) * depth, seed=seed, **options)
            profiles.append(probes.step0(model, x_probe, y_probe, family))
        decay[label][depth] = float(np.mean([p["decay_error"] for p in profiles]))
        decay_kernel[label][depth] = float(np.mean([p["decay_kernel"] for p in profiles]))
    print(f"{label:<24} decay in decades at depth " + ", ".join(
        f"{d}: kernel {decay_kernel[label][d]:.1f}, error {v:.1f}" for d, v in decay[label].items())
        + "; error per layer " + ", ".join(f"{v / d:.2f}" for d, v in decay[label].items()))
fig, ax = plt.subplots(figsize=(7, 4))
for label, by_depth in decay.items():
    ax.plot(list(by_depth), list(by_depth.values()), marker="o", label=label)
ax.axhline(1, color="black", linestyle=":", linewidth=1, label="one decade")
ax.set(xlabel="hidden layers", ylabel="decay, decades (log10 last / first layer)",
       title=f"Backpropagated error at step 0 (mean over {len(sweep_seeds)} seed(s))")
ax.legend(fontsize="small")"""),
md("""- Read the plain sigmoid's printed "error per layer" values: where they are about equal at every
  depth, the decay grows in proportion to the depth, as a product of equal factors does. The
  reproduction measured "0.627 decades per layer (error)" at depth 20 (the report's claim 3,
  "Findings").
- The stretched sigmoid's decay is printed beside it: its slope peaks at 1, yet many units sit
  where it is already much smaller. The reproduction measured its gain over the plain sigmoid at
  +7.99 [+7.87, +8.11] decades at depth 20 (the report's claim 4, part (c)), while it still
  decays by 4.06 [3.95, 4.18] decades (part (a)) and stays at chance at SGD 0.05, 10.1 ± 0.6 %
  validation accuracy (claim 4, "Trained arms").
- With batch normalisation, compare the sigmoid's and ReLU's decays: a negative decay means the
  error *grows* towards the input (the reproduction: -1.90 ± 0.03 decades for ReLU + BN at depth
  20, "error decay", claim 3's table): normalisation rescales the error at every layer.

## Evidence 4: does the network learn?"""),
code("""fig, ax = plt.subplots(figsize=(8, 4))
for label, by_seed in runs.items():
    figures.seed_curves(ax, label, {seed: ([STEPS_PER_EPOCH * (e + 1) for e in range(len(run["valid"]))],
                                           run["valid"]) for seed, run in by_seed.items()})
figures.chance_line(ax)
figures.finish(ax, f"{DEPTH} hidden layers, SGD 0.05: validation accuracy, mean ± sd over {len(SEEDS)} seeds")
for label, by_seed in runs.items():
    finals = [run["valid"][-1] for run in by_seed.values()]
    print(f"{label:<13} after {EPOCHS} epochs: " + ", ".join(f"{v:.3f}" for v in finals))"""),
md("""Read the final accuracies printed above. Where the plain sigmoid stays at chance, look back at its
first/last ratio in Evidence 1: its lower layers got many decades less gradient than its output
layer. ReLU at this rate
climbs slowly and unevenly over the few hundred steps of the quick run (a seed can stay near
chance for all of them). At full size the reproduction's arms end at 10.1 ± 0.6 % (sigmoid),
84.5 ± 1.4 % (sigmoid + BN), 81.7 ± 2.8 % (ReLU) and 84.0 ± 0.6 % (ReLU + BN) as run (the
report's claim 5, "Arms" table).

**Why batch normalisation works here.** It re-centres and rescales every unit's input to mean 0
and variance 1 over the batch before the sigmoid, so every unit works in the steep middle of its
curve, and on the way back it divides the error by the same (small) standard deviation it
divided the signal by: the factor that the sigmoid's 0.25 takes away, the normalisation gives
back. The derivative's bound is still 0.25; the product no longer shrinks.

It is not the only way back. The reproduction also started the plain sigmoid from weights 8 times
Glorot's, without batch normalisation: "a sigmoid started from 8 x glorot_uniform weights at its
best learning rate reaches 80.3 ± 3.3 % (glorot_uniform: 10.0 ± 0.7 %): what batch normalisation
rescues is, in part, the initial weight scale" (the report's claim 5, "Findings").

## What the reproduction concluded

Read from the reproduction's `results.json` when this cell runs (as in notebook 00): the table,
then each claim part by part, with the measured interval of each part and the rules whose move
changes a verdict. The report beside the file (the cell prints where) holds every number behind
these lines."""),
code("""from IPython.display import Markdown, display

from actkeras.experiments.verdicts import claim_lines, read_verdicts, reproduction_folder, verdict_table

folder = reproduction_folder()
found = read_verdicts(folder)
print(found["message"])
display(Markdown(verdict_table(found, {
    3: "gradients shrink layer by layer in deep sigmoid networks, not in ReLU ones (at the standard "
       "initialisations)",
    4: "a sigmoid rescaled to a slope of 1 does not cure that",
    5: "with batch normalisation deep sigmoid networks nearly match ReLU",
    12: "a sigmoid network's top hidden layer saturates first, during training (Evidence 2)"})))
print("\\n".join(claim_lines(found, 3) + claim_lines(found, 4) + claim_lines(found, 5)
                + claim_lines(found, 12)))
print(f"the report: {folder / 'report.md'}")"""),
md("""Claim 4's parts ask three things of the stretched sigmoid: that it still decays, that it still
trains worse than ReLU, and that its gain over the plain sigmoid is undone; a verdict other than
*reproduced* names the part that failed. Keep in mind that the slope and the weight scale are one
knob: `s(4 (Wx + b))` is a plain sigmoid with four times larger weights.

## Conclusion

- **Claim 3 is about the standard initialisations.** In a 20-layer sigmoid network started from
  Glorot's weights the gradient loses many decades between the output and the first layer before
  any training (Evidence 1), with no unit saturated; ReLU with He's weights does not. But the
  bound of 0.25 is not enough by itself: the same sigmoid "decays by 12.0 (sigmoid), 12.0
  (sigmoid lecun), 9.5 (sigmoid he), 3.8 (sigmoid x4), 1.0 (sigmoid x8), -0.1 (sigmoid + BN)
  decades of backpropagated error: the initial weight scale and normalisation set the decay as
  much as the activation does" (the report's claim 3, "Findings"). That is why the reproduction
  scopes claim 3 "at the standard initialisations".
- **The stretched sigmoid** cuts the decay (Evidence 3) without ending it; claim 4's parts above
  say which of the thread's words held.
- **Batch normalisation and the sigmoid** (claim 5): the first/last ratio comes back towards 1
  (Evidence 1) and the network leaves chance (Evidence 4). Whether it then trains *nearly as well
  as ReLU* is part (b) above: read it with the claim's mark under the moved rules (in the
  committed report it is "undecided" with the margins halved, as run: claim 5's "How the verdict
  moves" table), and remember the 8-times-Glorot sigmoid: part of what batch normalisation
  rescues is the initial weight scale.
- Gradient ratios are read before training here, where the reproduction judges them; after
  training they move (the ratios printed after the last epoch in Evidence 1). And a decay at step
  0 does not decide alone whether a network trains: the sigmoid started from 8 × Glorot's weights
  decays by 1.78 ± 0.20 decades of kernel gradient at depth 20 (claim 3's "Step-0 decay" table),
  past claim 3's one-decade line, and still trains (its accuracy is quoted under "Why batch
  normalisation works" above)."""),
md("""## Problems

**Problem 1 (the depth where the sigmoid stops learning).** Train the sigmoid arm with
`hidden_units=(100,) * D` for D in 2, 4, 6, 10. Check: the first/last ratio at step 0
(`gradients.records[0]["first_last_ratio"]`) for each D, against the validation accuracy after 3
epochs. At which ratio does the accuracy fall to chance (0.1)?

**Problem 2 (weights that make up for the 0.25).** Keep the plain sigmoid and start it from
larger weights: `init_gain=4` and `init_gain=8` in `build_model` (4 and 8 times Glorot's weights).
Check: the decay from `probes.step0` at depth 20 (compare the reproduction's "sigmoid x4" and
"sigmoid x8" in the conclusion's quote), and `ActivationStats`'s `saturated_fraction`: what do
larger weights buy, and what do they cost?

**Problem 3 (batch normalisation's memory).** In quick mode, set `BN_MOMENTUM = 0.99` (Keras's
default) and run the training cell again. Check: compare `history.history["accuracy"]` (training
accuracy, measured with the batch's own statistics) with `val_accuracy` (measured with the moving
averages) for the `sigmoid + BN` arm. Why do they disagree, and why does it go away with 1,719
steps per epoch at full size?

**Problem 4 (tanh).** Add `"tanh": dict(activation="tanh")` to `ARMS`. Its derivative peaks at 1,
like the stretched sigmoid's. Check: its first/last ratio at step 0 and its accuracy. Why does
tanh train where the stretched sigmoid does not? (Hint: where are its outputs centred?)"""),
])
