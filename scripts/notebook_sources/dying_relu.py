"""Notebook 06: dying ReLU under a large learning rate, and whether LeakyReLU and ELU keep their
units (claim 6)."""

from nbformat.v4 import new_code_cell as code
from nbformat.v4 import new_markdown_cell as md
from nbformat.v4 import new_notebook

from notebook_sources import KERNEL, QUICK_NOTE, cite

FILE = "06_dying_relu_and_leaky_units.ipynb"

NOTEBOOK = new_notebook(metadata=KERNEL, cells=[
md(f"""# Dying ReLU: what kills a unit, and whether a leak saves it

**The question.** {cite(1)} asks why leaky ReLU would be better than ReLU. The answers, here and
in {cite(2)}, describe *dying ReLU*: *"the Dying ReLU problem can occur when the weights of a neuron
are adjusted so that the bias term becomes very negative"*; a unit whose input is negative for
every example outputs 0, gets no gradient, and never learns again; *"Leaky-RELU prevents activated
units in the negative regime from having a zero-gradient"*. The copy of {cite(3)} in the seeds (a
Korean translation) adds the advice to pay attention to the learning rate and to monitor the
fraction of "dead" units.
The reproduction's **claim 6**: with a large learning rate a large share of ReLU units die and
stay dead; LeakyReLU and ELU do not lose their units.

**The experiment.** The reproduction's: an MLP of three hidden layers of 256 units, He's
initialisation, zero biases, Adam with batches of 64 on Fashion-MNIST. Unstressed, Adam's usual
rate 0.001. Two stresses: the rate 0.03 (30 times larger) throughout, and the same rate as a
*pulse*, for a few hundred steps early in training, followed by ordinary training at 0.001, which
gives the units time to come back. Each with ReLU, LeakyReLU (negative slope 0.3) and ELU.

**The evidence.** `DeadReLUMonitor` with `record_units = True` lists, at step 0 and at regular
steps, **which** units are off for every probe image, so each unit can be followed from the first
step to the last; the biases at the end say how the units died.

{QUICK_NOTE}"""),
code("""import actkeras.quiet

actkeras.quiet.start_quietly()  # as the CLI does: TensorFlow's logs stay out of the outputs

import os
import time

import actkeras
import keras
import matplotlib.pyplot as plt
import numpy as np

from actkeras.callbacks import DeadReLUMonitor
from actkeras.data import load_fashion_mnist
from actkeras.experiments import figures
from actkeras.experiments.claims import c06_dying
from actkeras.seeding import seed_everything
from actkeras.teaching import mean_sd, seed_curves, summarised_warnings

# The knobs.
QUICK = os.environ.get("ACTKERAS_NOTEBOOK_QUICK") == "1"  # set by the test suite
EPOCHS = 7 if QUICK else 3  # 36 steps an epoch at quick size, 860 at full size
PULSE = (0.03, 40, 120) if QUICK else tuple(c06_dying.PULSE)  # (rate, first step, end step)
EVERY = 20 if QUICK else 100  # steps between two readings of the monitor
PERSIST = 5  # dead = off at the last reading and at each of the PERSIST readings before it
SEEDS = [0, 1, 2] if QUICK else [0, 1, 2, 3, 4]
LARGE = PULSE[0]
# The reproduction's seven arms, label: (activation, learning rate, pulse): ReLU unstressed
# (Adam 0.001); ReLU, LeakyReLU and ELU at 0.03 throughout; the same three with the pulse
# (its steps scaled to the quick size here).
ARMS = {label: (activation, rate, PULSE if pulse else None)
        for label, (activation, rate, pulse) in c06_dying.ARMS.items()}

data = load_fashion_mnist(source="embedded" if QUICK else "auto", verbose=False)  # its sizes are printed below
STEPS = EPOCHS * -(-len(data.x_train) // 64)
print(f"train {len(data.x_train):,} images, {STEPS} steps of 64; pulse of {LARGE} for steps "
      f"{PULSE[1]} to {PULSE[2]}; probe: the {min(len(data.x_valid), 1024)} first validation images")"""),
md("""## Dead, inactive, died

A ReLU unit is **off** for an image when its input `z = w·x + b` is at or below 0: it outputs 0
and its weights get no gradient from that image. `DeadReLUMonitor` calls a unit **dead** when it
is off for **every** image of the probe: then nothing in the data can move its weights. For
LeakyReLU and ELU the same state is called **inactive**: the unit is on the negative side for
every image, but its slope there is not 0 (0.3 for our LeakyReLU, `exp(z)` for ELU), so it still
learns.

A few units are off at step 0, by chance of the initial weights. What the claim is about is units
that training **kills**. So every unit is followed: a unit *died* if it was alive at step 0 and is
off at the last reading and at each of the `PERSIST` readings before it (the reproduction's rule,
`c06_dying.transitions`). Under the pulse, *stayed* is the share of
the units off when the pulse ends that are still dead at the end: did they come back when the
learning rate did?"""),
code("""runs = {label: {} for label in ARMS}
for label, (activation, rate, pulse) in ARMS.items():
    began, said = time.perf_counter(), []
    for seed in SEEDS:
        seed_everything(seed)  # the batches' order too, not only the initial weights
        model = actkeras.build_model(
            activation, preset="mlp", hidden_units=(256, 256, 256), initializer="he_normal",
            optimizer="adam", learning_rate=rate, lr_pulse=pulse, batch_size=64, epochs=EPOCHS,
            seed=seed, activation_kwargs={"negative_slope": 0.3} if activation == "leaky_relu" else None)
        dead = DeadReLUMonitor(every=EVERY)
        dead.record_units = True  # which units are off, not only how many
        dead.at_start = True  # and at step 0, before any update
        with summarised_warnings(f"{label}, seed {seed}", show=said.append):  # one line per arm below
            history = actkeras.fit(model, data, callbacks=[dead], verbose=0)
        result = {"monitors": {"dead": dead.records}, "spec": {"overrides": {"lr_pulse": pulse}}}
        counts = c06_dying.transitions(result, persist=PERSIST, pulse_end=PULSE[2])
        readings = sorted(dead.records, key=lambda r: r["step"])  # epoch ends fall between readings
        runs[label][seed] = {"records": readings, "valid": history.history["val_accuracy"][-1],
                             "model": model, **counts}
    row = runs[label].values()
    print(f"{label:<19} off at step 0 {mean_sd([r['start'] for r in row], 1, True)}, "
          f"died {mean_sd([r['died'] for r in row], 1, True)}"
          + (f", stayed {mean_sd([r['stayed'] for r in row], 1, True)}" if pulse else "")
          + f"; validation {mean_sd([r['valid'] for r in row])}  ({time.perf_counter() - began:.0f} s)",
          flush=True)
    if said:  # the monitor warns once per layer with more than 10 % of its units off
        print(f"{'':<19} DeadReLUMonitor warned in {len(said)} of {len(SEEDS)} runs; {said[0]}")"""),
md("""## Evidence 1: the share of units off, step by step

Each line is one seed (the thick line and band the mean ± sd over seeds); the shaded span is the
pulse. The shares are of all 768 hidden units, *dead* for ReLU and *inactive* for the other two."""),
code("""def off_share(record):
    layers = record["layers"].values()
    return sum(len(layer["off_units"]) for layer in layers) / sum(layer["units"] for layer in layers)


fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), sharey=True)
for ax, stress in zip(axes, ("lr 0.03", "pulse")):
    for label in ("relu", f"relu {stress}", f"leaky_relu {stress}", f"elu {stress}"):
        by_seed = {seed: [dict(r, off=off_share(r)) for r in run["records"]] for seed, run in runs[label].items()}
        figures.seed_curves(ax, label, seed_curves(by_seed, "off"))
    if stress == "pulse":
        ax.axvspan(PULSE[1], PULSE[2], color="grey", alpha=0.15, label=f"pulse of {LARGE}")
    figures.finish(ax, f"{stress}: units off for every probe image", xlabel="training step",
                   ylabel="share of hidden units dead (ReLU) or inactive")"""),
md("""Compare the lines: how many units each arm loses, how fast, and whether, under the pulse, the
line comes down after the rate is back to 0.001 (the "stayed" share printed above is the share of
the units off when the pulse ended that were still off at the end). The reproduction's full-size
runs, 8 seeds per arm, are in the report's claim 6, "Units" table, "died" column; parts (e) and
(g) at the end compare ELU's losses with ReLU's under each stress, and they do not agree.

## Evidence 2: what killed them

The thread's mechanism: a large step pushes a unit's bias (and weights) so far negative that
its input is below 0 for every image. After that the unit gets no gradient and nothing can bring
it back: only a change in the layers below could move its inputs. The final biases of the units
that died against those of the units that lived, in the stressed ReLU networks (the histograms:
the first seed):"""),
code("""def biases_by_fate(model, run):
    \"\"\"The final biases of the units that died and of those alive at the end.\"\"\"
    start, end = run["records"][0]["layers"], run["records"][-1]["layers"]
    died, alive = [], []
    for name in start:
        bias = keras.ops.convert_to_numpy(model.get_layer(name.replace("activation", "dense")).bias)
        off_at_start, off_at_end = set(start[name]["off_units"]), set(end[name]["off_units"])
        died += [bias[u] for u in off_at_end - off_at_start]
        alive += [bias[u] for u in range(len(bias)) if u not in off_at_end]
    return np.array(died), np.array(alive)


fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
bias_gap = {}
for ax, label in zip(axes, ("relu lr 0.03", "relu pulse")):
    gaps = []
    for seed, run in runs[label].items():
        died, alive = biases_by_fate(run["model"], run)
        gaps.append(float(died.mean() - alive.mean()))
    bias_gap[label] = gaps
    print(f"{label:<13} mean final bias of the units that died minus that of the units alive, per seed: "
          + ", ".join(f"{g:+.3f}" for g in gaps))
    died, alive = biases_by_fate(runs[label][SEEDS[0]]["model"], runs[label][SEEDS[0]])
    bins = np.linspace(min(died.min(), alive.min()), max(died.max(), alive.max()), 40)
    ax.hist(alive, bins=bins, alpha=0.6, label=f"alive at the end ({len(alive)})")
    ax.hist(died, bins=bins, alpha=0.6, label=f"died in training ({len(died)})")
    ax.set(xlabel="final bias of the unit", ylabel="units", title=f"{label}, seed {SEEDS[0]}")
    ax.legend(fontsize="small")"""),
md("""Where the printed differences are negative, the units that died end with lower biases than the
units that lived, as the thread says. The difference is small next to the spread of the biases,
because the weights moved too: it is `w·x + b` that went below 0 for every image, not `b` alone.
(The reproduction, 8 seeds at full size: -0.381 [-0.551, -0.210] under lr 0.03 and
-0.196 [-0.258, -0.134] under the pulse, 95 % intervals: the report's claim 6, "Findings".)

## Evidence 3: why ELU does not keep its units

LeakyReLU's slope on the negative side is 0.3 wherever the input is. ELU's is `exp(z)`: close to 1
near 0, but it **vanishes** far to the left. How far to the left are ELU's inactive units? The
input `z` of every hidden unit on the probe images, read from the `Dense` layers of seed 0's
networks after the pulse:"""),
code("""probe = data.x_valid[:1024]
fig, ax = plt.subplots(figsize=(8, 4))
slope_of_inactive = {}
for label, slope in (("leaky_relu pulse", lambda z: np.full_like(z, 0.3)), ("elu pulse", np.exp)):
    run = runs[label][SEEDS[0]]
    model = run["model"]
    slopes = []
    for name, info in run["records"][-1]["layers"].items():
        dense = model.get_layer(name.replace("activation", "dense"))
        z = keras.ops.convert_to_numpy(keras.Model(model.input, dense.output)(probe))
        off = info["off_units"]
        if off:
            slopes.append(slope(z[:, off]).mean(axis=0))  # each inactive unit's mean slope over the probe
    slopes = np.concatenate(slopes) if slopes else np.array([])
    slope_of_inactive[label] = float(np.median(slopes)) if len(slopes) else None
    if len(slopes):
        ax.hist(np.log10(np.maximum(slopes, 1e-12)), bins=40, alpha=0.6, label=f"{label} ({len(slopes)} inactive units)")
    if len(slopes):
        print(f"{label:<17} inactive units: {len(slopes)}; median slope they pass back: "
              f"{slope_of_inactive[label]:.2g}")
    else:
        print(f"{label:<17} no inactive unit at the end: nothing to measure")
ax.set(xlabel="log10 of the unit's mean slope over the probe (values under 1e-12 shown at -12)",
       ylabel="inactive units", title="How much gradient an inactive unit still passes back")
ax.legend(fontsize="small")"""),
md("""LeakyReLU's inactive units pass back 0.3 of the gradient wherever they sit, so they can keep
learning. Passing a gradient is not the same as coming back, though: in the reproduction, of the
LeakyReLU units that the pulse switched off, 96.1 ± 3.9 % were still off at the end (the report's
claim 6, "Units" table, "stayed (pulse)"); compare the "stayed" share printed for
`leaky_relu pulse` at the top. Where ELU's median slope printed above is far
below 0.3, its inactive units sit so far to the left that `exp(z)` is tiny: they pass back almost
nothing, as good as dead while they stay there. (If the cell found no inactive unit in a run,
that run has nothing to compare.)

## What the reproduction concluded

Read from the reproduction's `results.json` when this cell runs, part by part, with the rules
whose move changes the verdict; the report beside the file (the cell prints where) holds every
number behind it."""),
code("""from IPython.display import Markdown, display

from actkeras.experiments.verdicts import claim_lines, read_verdicts, reproduction_folder, verdict_table

folder = reproduction_folder()
found = read_verdicts(folder)
print(found["message"])
display(Markdown(verdict_table(found, {
    6: "with a large learning rate ReLU units die and stay dead; LeakyReLU and ELU keep theirs"})))
print("\\n".join(claim_lines(found, 6)))
print(f"the report: {folder / 'report.md'}")"""),
md("""Parts (a) to (c) are about ReLU's units dying and staying dead, (d) to (g) about LeakyReLU and
ELU losing clearly fewer than ReLU under each stress. None of them measures accuracy: a network
that keeps its units is not, by that alone, a network that learns better. The verdict's mark
speaks for the verdict only: read the line "parts a moved rule changes" above, which names each
part that a halved or doubled margin, the alternative aggregate, or the same runs on Keras's
other backend would change (where "stay dead", part (c), or ELU's part (e) appears there,
quote it with that rule: on JAX, part (e) is undecided).

## Conclusion

- **Does a large learning rate kill ReLU units for good?** This notebook's "died" and "stayed"
  shares (printed at the top) and the reproduction's parts (a) to (c) answer it: almost every
  unit is alive at step 0, so what is dead at the end, training killed.
- **The mechanism.** Where the units that died end with lower biases, large steps pushed their
  inputs below 0 for every image, where ReLU passes no gradient: the thread's account.
- **LeakyReLU** keeps more of its units (parts (d) and (f)); its negative side passes 0.3 of
  the gradient wherever a unit sits (Evidence 3), which fits, though the units it does switch off
  under the pulse mostly stay off (the "stayed" share, printed at the top). And keeping units is
  not training better: at lr 0.03 the reproduction's LeakyReLU networks reach 71.7 ± 17.5 %
  validation accuracy against 81.9 ± 1.0 % for ReLU with most of its units dead (the report's
  claim 6, "Units" table).
- **ELU**'s negative side is a slope too, but `exp(z)` vanishes as `z` goes far negative, and
  large steps push it there (Evidence 3). Parts (e) and (g) compare its losses with ReLU's under
  each stress.
- **Dead units and accuracy.** Read each stressed ReLU arm's validation accuracy, printed at the
  top, beside its "died" share: where the accuracy is well above chance with most units dead,
  the network learned with the units it had left."""),
md("""## Problems

**Problem 1 (how large is "too large"?).** Run the `relu pulse` arm with pulse peaks 0.003,
0.01 and 0.03 (`PULSE = (peak, 40, 120)` at quick size). Check: the mean `died` share for each
peak. Where does it pass 20 %?

**Problem 2 (how much leak is enough?).** Replace the negative slope 0.3 of LeakyReLU by 0.01
(the default of Keras's `LeakyReLU` layer is 0.3, of the function
`keras.activations.leaky_relu` 0.2; many papers use 0.01). Check: `died` under the pulse and the
median slope of the inactive units: does a small leak still keep the units?

**Problem 3 (the probe decides what "dead" means).** Give the monitor a probe of 32 images,
`DeadReLUMonitor(probe_data=(data.x_valid[:32], data.y_valid[:32]), every=EVERY)`. Check: the
share off at step 0 and the `died` share. Why does a smaller probe find more dead units?

**Problem 4 (bring them back).** Take seed 0's `relu pulse` model and train it 10 more epochs
at 0.001 with a fresh monitor. Check: `revived` from `c06_dying.transitions` (units off at the first
reading and on at the end): do any come back? Then try a `BatchNormalization` before each ReLU
(`batch_norm=True`): does normalising `z` stop the units from dying in the first place?"""),
])
