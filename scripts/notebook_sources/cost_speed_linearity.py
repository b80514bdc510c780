"""Notebook 07: ReLU's other advertised advantages: non-linearity, sparsity, speed of learning
and cost (claims 7 to 10)."""

from nbformat.v4 import new_code_cell as code
from nbformat.v4 import new_markdown_cell as md
from nbformat.v4 import new_notebook

from notebook_sources import KERNEL, QUICK_NOTE, cite

FILE = "07_linearity_sparsity_speed_cost.ipynb"

NOTEBOOK = new_notebook(metadata=KERNEL, cells=[
md(f"""# Not linear, sparse, fast and cheap? ReLU's other advantages, measured

**The questions.** {cite(0)} asks why ReLU is used as an activation function if its output is
linear (the seeds' copy is a Vietnamese translation). {cite(2)} lists ReLU's advantages over the
sigmoid besides the gradient (notebook 05): *sparse* representations, *cheaper* computation
(*"Relu just needs to pick max(0,x) and not perform expensive exponential operations as in
Sigmoids"*), and *faster* convergence (*"networks with Relu tend to show better convergence
performance than sigmoid"*, citing Krizhevsky et al. 2012). Four claims of the reproduction:

- **claim 9**: ReLU is not linear; with linear activations a network is one linear map and cannot
  fit what a ReLU network fits;
- **claim 7**: ReLU representations are sparse, sigmoid ones dense;
- **claim 10**: ReLU networks reach a given accuracy in fewer steps;
- **claim 8**: ReLU and its derivative are cheaper to compute than the sigmoid; ELU is slower than
  ReLU.

**The experiments.** A small network fitting `sin(x)`; the course network of notebook 01 (one
hidden layer of 1,024 units on notMNIST, SGD 0.5) with ReLU and sigmoid hidden units, several
seeds, its validation accuracy read at many step counts and its hidden layer watched by
`ActivationStats`; and a timing of each activation alone, forward and backward.

{QUICK_NOTE}"""),
code("""import actkeras.quiet

actkeras.quiet.start_quietly()  # as the CLI does: TensorFlow's logs stay out of the outputs

import math
import os
import time

import actkeras
import keras
import matplotlib.pyplot as plt
import numpy as np

from actkeras.activation_timing import activation_cost
from actkeras.callbacks import ActivationStats
from actkeras.data import load_notmnist
from actkeras.experiments import figures
from actkeras.experiments.claims.runs import ladder
from actkeras.experiments.measures import BudgetEvaluator
from actkeras.experiments.regression import additivity_gaps, fit_sine
from actkeras.teaching import mean_sd, seed_curves, summarised_warnings

# The knobs.
QUICK = os.environ.get("ACTKERAS_NOTEBOOK_QUICK") == "1"  # set by the test suite
SEEDS = [0, 1, 2] if QUICK else [0, 1, 2, 3, 4]
SINE_STEPS = 1000 if QUICK else 2000  # Adam steps of 32 points for the sin(x) fit
COURSE_STEPS = 100 if QUICK else 3001  # SGD steps of 128 images for the course network
COST = dict(elements=2**19, inner=20, rounds=30) if QUICK else dict(elements=2**20, inner=40, rounds=40)

# The reproduction's archive: notMNIST_small ("large" is the course's 200,000 images).
data = load_notmnist(source="embedded" if QUICK else "small", verbose=False)  # its sizes are printed below
print(f"notMNIST: train {len(data.x_train):,}, validation {len(data.x_valid):,} images; "
      f"{len(SEEDS)} seeds; Keras backend {keras.backend.backend()}")"""),
md("""## 1. Not linear (claim 9)

A function `f` is linear when `f(a) + f(b) = f(a + b)` for every `a` and `b` (and `f(c a) = c f(a)`).
ReLU is linear on each side of 0, but not across it: `relu(-1) + relu(1) = 1`, while
`relu(-1 + 1) = relu(0) = 0`. One kink is enough. (A single pair can miss: `tanh(-1) + tanh(1) =
tanh(0)`, because tanh is odd; the package tests three pairs.)"""),
code("""print("|f(a) + f(b) - f(a + b)| for (a, b) = (-1, 1), (1, 1), (-2, 0.5):")
for name in ("relu", "leaky_relu", "sigmoid", "tanh", "linear"):
    print(f"  {name:<11}" + "  ".join(f"{gap:.3f}" for gap in additivity_gaps(name)))"""),
md("""Without the kink a network collapses. With linear activations, each layer computes
`h W + b`, and two such layers are `(h W1 + b1) W2 + b2 = h (W1 W2) + (b1 W2 + b2)`: one layer.
However deep, a linear network is a single linear map, and the best it can do is the
least-squares line. The experiment: fit `sin(x)` on `[-π, π]` with two hidden layers of 64 units,
ReLU or linear, Adam, several seeds (`actkeras.experiments.regression.fit_sine`, the
reproduction's setup, but for `SINE_STEPS` steps here where the reproduction ran 8,192, so the
errors printed below are not the report's). `collapse_error` is how far the trained network is from the single linear
map its weight matrices multiply to."""),
code("""sine = {name: {} for name in ("relu", "linear")}
began = time.perf_counter()
for name in sine:
    for seed in SEEDS:
        keras.utils.set_random_seed(seed)
        _, _, sine[name][seed] = fit_sine(name, seed=seed, steps=SINE_STEPS)
LINE = sine["linear"][SEEDS[0]]["mse_line"]
for name, by_seed in sine.items():
    print(f"{name:<7} mean squared error {mean_sd([m['mse'] for m in by_seed.values()], 5)}; distance from "
          f"one linear map (largest, relative) {max(m['collapse_error'] for m in by_seed.values()):.2g}")
print(f"the least-squares line: mean squared error {LINE:.5f}  ({time.perf_counter() - began:.0f} s)")

fig, ax = plt.subplots(figsize=(7, 4))
curve = sine["relu"][SEEDS[0]]["curve"]
ax.plot(curve["x"], curve["y"], color="black", linewidth=3, alpha=0.3, label="sin(x)")
for name, by_seed in sine.items():
    ax.plot(curve["x"], by_seed[SEEDS[0]]["curve"]["prediction"], label=f"{name} network, seed {SEEDS[0]}")
ax.set(xlabel="x", ylabel="y", title="Two hidden layers of 64 units, fitted to sin(x)")
ax.legend()"""),
md("""Compare the printed errors. A linear network is one linear map (its printed distance from one
is at float precision) and can do no better than the least-squares line (it can do worse: Adam
has not always reached the line). The ReLU network's kinks, placed by training, make a curve
(Problem 1 counts how many it needs).

The reproduction also asks whether the course network's ReLU layer beats the *best* linear
classifier on notMNIST (logistic regression with its penalty chosen on the validation split):
claim 9's part (b), printed at the end of this notebook as run and with ReLU at its best
learning rate, against a margin of one point. On these letters a linear classifier already comes close; `sin(x)` has no linear
fit at all.

## 2. Sparse (claim 7) and fast (claim 10): the course network

The course network with ReLU and with sigmoid hidden units, each with several seeds. Two readings
per run: `ActivationStats` on the hidden layer before the first step and at the end (its share of
outputs exactly 0), and `BudgetEvaluator`, which scores the whole validation split at about ten
step counts per decade, from step 1 (the course network moves fast: ReLU passes most of its
targets within 10 steps). One step per backend call, so every count can be read."""),
code("""course = {name: {} for name in ("relu", "sigmoid")}
for name in course:
    began = time.perf_counter()
    for seed in SEEDS:
        model = actkeras.build_model(activation=name, preset="udacity", seed=seed, steps_per_execution=1)
        scores = BudgetEvaluator(data.x_valid, data.y_valid, ladder(COURSE_STEPS))
        stats = ActivationStats()
        stats.at_start = True
        with summarised_warnings(f"{name}, seed {seed}"):
            actkeras.fit(model, data, steps=COURSE_STEPS, log_every=max(20, COURSE_STEPS // 6), verbose=0,
                         callbacks=[stats, scores])
        hidden = keras.Model(model.input, model.get_layer("activation_0").output)
        outputs = np.abs(keras.ops.convert_to_numpy(hidden(data.x_valid[:1024])))
        course[name][seed] = {"scores": scores.records, "zeros": [r["layers"]["activation_0"]["zero_fraction"]
                                                                  for r in (stats.records[0], stats.records[-1])],
                              "near_zero": float(np.mean(outputs <= 0.05 * np.percentile(outputs, 99)))}
    print(f"{name:<8} final validation accuracy {mean_sd([r['scores'][-1]['valid_accuracy'] for r in course[name].values()])}"
          f"  ({time.perf_counter() - began:.0f} s)", flush=True)"""),
md("""### Sparse

A ReLU unit outputs **exactly 0** whenever its input is negative; a sigmoid unit never does: its
"off" level is its lower asymptote, 0, approached but never reached. So two readings: the share of
exact zeros, and, one rule for both, the share of outputs *near* 0, within 5 % of the layer's own
scale (the 99th percentile of its outputs)."""),
code("""for name, by_seed in course.items():
    print(f"{name:<8} exact zeros at step 0 {mean_sd([r['zeros'][0] for r in by_seed.values()], 1, True)}, "
          f"at the end {mean_sd([r['zeros'][1] for r in by_seed.values()], 1, True)}; "
          f"near zero at the end {mean_sd([r['near_zero'] for r in by_seed.values()], 1, True)}")"""),
md("""At step 0 about half of ReLU's outputs are already exactly 0 (the printed share): with weights
symmetric around 0, a unit's input is negative for about half of the images. That is sparsity
nobody trained. Compare the share at the end, and the near-zero shares of the two activations.
How much training adds depends on the start: the reproduction measured exact zeros at
50.0 ± 0.5 % at step 0 and 78.2 ± 1.2 % at the end from the course's weights, but 49.9 ± 0.5 %
and 53.5 ± 0.4 % from Glorot's (the report's claim 7, "Hidden outputs on the probe images"); its
verdict in each setting is printed at the end.

### Fast

When does each network first reach a target accuracy? The reproduction's rule: the target is 90 %
of the lower of the two arms' mean final accuracies (a level both reach), and the speed-up is the
ratio of the step counts."""),
code("""fig, ax = plt.subplots(figsize=(8, 4.2))
for name, by_seed in course.items():
    figures.seed_curves(ax, name, seed_curves({seed: run["scores"] for seed, run in by_seed.items()}, "valid_accuracy"))
TARGET = 0.9 * min(np.mean([run["scores"][-1]["valid_accuracy"] for run in by_seed.values()])
                   for by_seed in course.values())
ax.axhline(TARGET, color="black", linestyle=":", linewidth=1, label=f"target {TARGET:.3f}")
figures.chance_line(ax)
figures.step_axis(ax)
figures.finish(ax, f"Course network, SGD 0.5: validation accuracy, mean ± sd over {len(SEEDS)} seeds")


def steps_to(records, target):
    \"\"\"The first step count at which the validation accuracy reached `target` (None: never).\"\"\"
    return next((r["step"] for r in records if r["valid_accuracy"] >= target), None)


reached = {name: [steps_to(run["scores"], TARGET) for run in by_seed.values()] for name, by_seed in course.items()}
for name, steps in reached.items():
    print(f"{name:<8} steps to {TARGET:.3f}: " + ", ".join(str(s) for s in steps))
ratios = [s / r for s, r in zip(reached["sigmoid"], reached["relu"]) if s and r]
if ratios:
    print(f"sigmoid needs {math.exp(np.mean(np.log(ratios))):.1f} times as many steps as ReLU "
          f"(geometric mean over {len(ratios)} seeds)")
else:
    print("no seed reached the target with both activations: no speed-up to compute here")"""),
md("""Read the speed-up printed above. The often-quoted "six times" is Krizhevsky et al.'s own number,
not the thread's: a 4-layer convolutional network on CIFAR-10 reaching 25 % training error, ReLU
against **tanh** (the report's claim 10, "Published numbers"), not a sigmoid MLP. Claim 10's parts,
printed at the end, judge the course network and a 20-layer MLP, at the rates they were run at
and with each network at its own best rate. Read its tuned course-network part with notebook 01's
note on the tuned setting: ReLU's rate there came from a one-seed search, and on fresh seeds ReLU
at that rate needed more steps than at 0.5 to the same 79.1 % validation accuracy (8 to 12 steps
at 0.5 against 30 to 250 at 1.5 in the claim's runs in `reproduction/full`, their `budgets`; the
report's "Steps to the target" table counts each setting to its own target, so it does not show
this).

## 3. Cheap (claim 8)

Each activation's forward **and** backward pass over a tensor of about a million numbers, many
passes inside one compiled call, timed in rounds in a shuffled order, with an identity function
timed in the same rounds as a baseline (`actkeras.activation_timing.activation_cost`, the
reproduction's measurement). The ratio is each activation's time net of the baseline, over
ReLU's, with a 95 % interval over the rounds."""),
code("""began = time.perf_counter()
cost = activation_cost(["relu", "leaky_relu", "elu", "sigmoid", "tanh"], **COST)
summary = cost["summary"]
for name, row in summary.items():
    print(f"{name:<11} {row['ratio']:.2f} x ReLU's time [{row['low']:.2f}, {row['high']:.2f}]; "
          f"{row['net_us_per_pass']:.0f} µs per pass net of the baseline; {row['skipped']} round(s) "
          f"skipped (a net time at or below 0)")
print(f"({cost['rounds']} rounds of {cost['inner']} passes over {cost['elements']:,} numbers, "
      f"{keras.backend.backend()}, {time.perf_counter() - began:.0f} s)")
fig, ax = plt.subplots(figsize=(7, 3.5))
names = list(summary)
ax.errorbar(range(len(names)), [summary[n]["ratio"] for n in names], capsize=4, fmt="o",
            yerr=[[summary[n]["ratio"] - summary[n]["low"] for n in names],
                  [summary[n]["high"] - summary[n]["ratio"] for n in names]])
ax.axhline(1, color="grey", linestyle="--", linewidth=0.8)
ax.set_xticks(range(len(names)), names)
ax.set_yscale("log")
ax.set(ylabel="time / ReLU's time (log scale)", title="Forward + backward of the activation alone, 95 % interval")"""),
md("""The sigmoid and ELU each need an exponential. On the reproduction's machine (TensorFlow, 2 CPU
cores) the sigmoid cost x2.29 [x2.09, x2.51] ReLU's time (the report's claim 8, part (a)). That
interval is over 5 separate processes; the one printed here is over the rounds of this one
process, so it is narrower and does not carry the variation between processes. With JAX, XLA fuses ReLU into the
loop so well that its time net of the baseline is close to 0 (a round where it comes out at or
below 0 is skipped, and counted above), so every ratio to it is large and uncertain: read the
microseconds per pass instead. The interval is wide when the machine is busy, and the numbers
differ between machines and backends, so measure on yours, never quote a time from someone
else's machine. And it is the activation **alone**:
in a whole training step the matrix products dominate: the reproduction timed "a training step of
the 50-layer MLP with sigmoid: 1.031x ReLU's", in one invocation (the report's claim 8,
"Findings").

## What the reproduction concluded

Read from the reproduction's `results.json` when this cell runs: the table, then each claim part
by part, with the rules whose move changes a verdict; the report beside the file (the cell prints
where) holds every number."""),
code("""from IPython.display import Markdown, display

from actkeras.experiments.verdicts import claim_lines, read_verdicts, reproduction_folder, verdict_table

folder = reproduction_folder()
found = read_verdicts(folder)
print(found["message"])
display(Markdown(verdict_table(found, {
    9: "a ReLU network fits sin(x) where a linear one cannot, and beats the best linear classifier "
       "(a tuned logistic regression) on notMNIST",
    7: "ReLU representations are sparse, sigmoid ones dense",
    10: "ReLU networks reach a given accuracy in fewer steps",
    8: "ReLU is cheaper to compute than sigmoid; ELU is slower than ReLU"})))
print("\\n".join(claim_lines(found, 9) + claim_lines(found, 7) + claim_lines(found, 10) + claim_lines(found, 8)))
print(f"the report: {folder / 'report.md'}")"""),
md("""## Conclusion

- **Not linear, and it matters where the data are not linear.** ReLU fails additivity at one
  point, and that is enough to fit `sin(x)`; a linear network is one matrix (claim 9, part (a)).
  On notMNIST the properly fitted linear classifier comes close to the ReLU network: part (b)
  above says whether ReLU's lead clears one point, as run and tuned, and the claim's mark says
  which moved margin would change that.
- **Sparse, partly from the start.** About half of ReLU's outputs are exactly 0 before training;
  compare the printed share at the end, and claim 7's verdict in each setting (from the course's
  weights and from Glorot's). Sigmoid outputs are never exactly 0.
- **Faster depends on the rate.** Claim 10's parts above, as run and tuned, with its mark: which
  part holds at which learning rate, and which moved rule would change the verdict.
- **Cheaper, when the activation alone is timed** (claim 8). In a whole training step the
  difference is small."""),
md("""## Problems

**Problem 1 (how many kinks does sin(x) need?).** Fit `sin(x)` with `fit_sine("relu",
units=U, depth=1, seed=0)` for U in 2, 4, 8, 16. Check: `mse` against the least-squares line's
`mse_line`. How does the error fall with the number of units (each unit is one kink)?

**Problem 2 (sparsity without training).** Build the course network with ReLU and a bias of
`bias_init=-0.5`, or with `initializer="glorot_uniform"`, and read `ActivationStats`'s
`zero_fraction` at step 0. Check: how much of the "sparsity" is set by the initial weights and
biases alone?

**Problem 3 (the rate and the race).** Run the course network's sigmoid arm with learning
rates 0.5, 1.5 and 5 (`learning_rate=` in `build_model`). Check: `steps_to` the same `TARGET`
for each; is ReLU still faster than the best of them?

**Problem 4 (cost in a whole step).** Time `actkeras.activation_timing.mlp_epoch_time(data,
["relu", "sigmoid"], steps=20, rounds=5)` on the Fashion-MNIST sample
(`actkeras.data.load_fashion_mnist(source="embedded")`). Check: its ratio of sigmoid to ReLU,
against the activation-alone ratio above. Where did the difference go?"""),
])
