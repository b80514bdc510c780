"""Notebook 00: the four questions, where each is answered, and the reproduction's verdicts."""

from nbformat.v4 import new_code_cell as code
from nbformat.v4 import new_markdown_cell as md
from nbformat.v4 import new_notebook

from notebook_sources import KERNEL, cite

FILE = "00_start_here.ipynb"

NOTEBOOK = new_notebook(metadata=KERNEL, cells=[
md(f"""# Start here: four questions about ReLU, and where each is answered

The project began with four question-and-answer threads about activation functions. Their
answers are folk wisdom: mostly right, sometimes wrong, rarely measured. The package turns each
answer into a claim, measures it (`actkeras reproduce`) and computes a verdict from the numbers;
these notebooks show the experiments behind the verdicts, one question at a time, with the
package's monitors as the evidence.

**1. Are ReLU hidden units better than sigmoid or softmax ones, and why?**
{cite(3)}: in the Udacity course's one-hidden-layer network on notMNIST, ReLU gave the best
training and validation accuracy. Notebook **01**.

**2. What are ReLU's advantages over the sigmoid in deep networks?**
{cite(2)}: gradients that do not vanish with depth, sparse representations, cheaper arithmetic,
faster convergence; and the counter-claims that batch normalisation lets sigmoid networks catch
up, and that ReLU units can die. Notebook **02** (depth and initialisation), **05** (vanishing
gradients and batch normalisation) and **07** (sparsity, speed and cost).

**3. Why would leaky ReLU be better than ReLU?**
{cite(1)}: ReLU units can "die" (output 0 for every input, and never learn again); a leak keeps a
gradient flowing. Notebook **02** measures dead units layer by layer from the first step;
notebook **06** kills them with a large learning rate and tries LeakyReLU and ELU.

**4. How can ReLU, a linear function for positive inputs, be a non-linearity at all?**
{cite(0)}: it is piecewise linear, and the kink is enough. Notebook **01**, Problem 3, removes the
non-linearity and measures what is lost; notebook **07** fits `sin(x)` with and without it.

Notebook **03** shows how to search for the activation with Keras Tuner without crowning the
luck of one seed, and how to export the result."""),
md("""## The knobs

Every notebook reads the same environment variables; this cell shows what they are set to here.
Set them before starting Jupyter (or at the top of a notebook, before `import keras`):

- `ACTKERAS_NOTEBOOK_QUICK=1`: small samples shipped inside the package and short training
  (what the test suite runs; each notebook is sized so that its effect still shows);
- `ACTKERAS_DATA_DIR`: the folder holding notMNIST and Fashion-MNIST for full-size runs;
- `KERAS_BACKEND`: `tensorflow` (default) or `jax`: everything here runs on both;
- `ACTKERAS_REPRODUCTION`: the reproduction folder whose verdicts the table below reads
  (default: this checkout's `reproduction/full`)."""),
code("""import os
from pathlib import Path

import actkeras  # before Keras: keeps TensorFlow's start-up logs out of the outputs
from actkeras.experiments.verdicts import fragility, read_verdicts

QUICK = os.environ.get("ACTKERAS_NOTEBOOK_QUICK") == "1"
DATA_DIR = os.environ.get("ACTKERAS_DATA_DIR")
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
CHECKOUT = Path(actkeras.__file__).resolve().parent.parent
REPRODUCTION = Path(os.environ.get("ACTKERAS_REPRODUCTION", CHECKOUT / "reproduction" / "full"))

print(f"quick mode:        {QUICK}")
print(f"data folder:       {DATA_DIR or '(not set: the notebooks use the embedded samples or download)'}")
print(f"Keras backend:     {BACKEND}")
print(f"reproduction read: {REPRODUCTION}")"""),
md("""## Claim, notebook, verdict

Each claim is one sentence from a thread, split into parts that are measured and judged by rules
fixed before the runs (margins, seeds, a 95 % interval per part). *Reproduced* means every part
held, *not reproduced* that every part did not hold, *mixed* that some held and some did not, and
*undecided*
otherwise: at least one part could not be decided and no two parts contradict each other, so a
claim whose other parts all held is undecided when one part is. Some claims are judged twice: *as run* (the source's own setting)
and *tuned* (each arm at its own best learning rate) or with another initialisation.

The last column says whether the verdict survives when a rule is moved: margins halved or
doubled, the alternative reading of a measurement, another depth in a part's place. *Robust*: no
moved rule changes it. **Fragile**: the rules named there change it, to the verdict in brackets;
a fragile verdict is one to quote with its rule.

The verdicts below are read from the reproduction's `results.json` **when this cell runs**;
nothing here is typed in by hand. If the file is absent, or was judged under other rules than
this checkout's, the cell says so. The full argument for every verdict, with its numbers,
figures and the rules that would move it, is in the `report.md` beside that file (the cell
prints where). Where a notebook's prose quotes a number ("the report's claim 1, ..."), it quotes
the committed `reproduction/full/report.md`, and names the place; the cells read whatever
reproduction `ACTKERAS_REPRODUCTION` names."""),
code("""from IPython.display import Markdown, display

# claim: (question, what it says in a few words, where it is shown); 11-13 come from the
# papers the threads cite, beyond the threads themselves.
CLAIMS = {
    1: (1, "ReLU beats sigmoid and softmax hidden units in the course network", "01"),
    2: (3, "the 50-layer MLP stays at chance with the default initialiser; He fixes ReLU", "02"),
    3: (2, "gradients shrink layer by layer in deep sigmoid networks, not in ReLU ones (at the "
        "standard initialisations)",
        "05; 02 (gradient norm by depth)"),
    4: (2, "a sigmoid rescaled to a slope of 1 does not cure that", "05"),
    5: (2, "with batch normalisation deep sigmoid networks nearly match ReLU", "05"),
    6: (3, "with a large learning rate ReLU units die; LeakyReLU and ELU keep theirs",
        "06; 02 (dead units)"),
    7: (2, "ReLU representations are sparse, sigmoid ones dense", "07; 01 (exact zeros)"),
    8: (2, "ReLU is cheaper to compute than sigmoid; ELU is slower than ReLU", "07"),
    9: (4, "a ReLU network fits sin(x) where a linear one cannot, and on notMNIST beats the best "
        "linear classifier (a tuned logistic regression)", "07; 01 (Problem 3)"),
    10: (2, "ReLU networks reach a given accuracy in fewer steps", "07"),
    11: ("papers", "deep narrow ReLU networks are born dead", "02 (dead at step 0)"),
    12: ("papers", "a sigmoid network's top hidden layer saturates first", "05 (verdicts only)"),
    13: ("papers", "for ReLU, Glorot's (Xavier's) initialisation shrinks the signal by sqrt(2) a layer "
         "against He's, and a 30-layer network stalls with it while He's trains",
         "02 (step-0 spread, accuracy)"),
}

found = read_verdicts(REPRODUCTION)
print(found["message"])
rows = ["| claim | question | in a few words | notebook | verdict (setting: verdict) | under the moved rules |",
        "| --- | --- | --- | --- | --- | --- |"]
for claim_id, (question, words, notebook) in CLAIMS.items():
    judged = found["claims"][claim_id]["verdicts"]
    verdict = "; ".join(f"{setting}: **{word}**" for setting, word in judged.items()) or "no verdict in the file"
    if found["claims"][claim_id]["rules_changed"]:
        verdict += " (judged under other rules)"
    rows.append(f"| {claim_id} | {question} | {words} | {notebook} | {verdict} "
                f"| {fragility(found['claims'][claim_id])} |")
display(Markdown("\\n".join(rows)))
print(f"the report: {REPRODUCTION / 'report.md'}")"""),
code("""from IPython.display import Image

overview = REPRODUCTION / "figures" / "forest.png"
if found["status"] != "absent" and overview.is_file():
    display(Image(filename=str(overview), width=900))
else:
    print(f"No overview figure to show ({overview} is absent).")"""),
md("""## How the notebooks are built

Each one goes **question → experiment → evidence from the monitors → explanation → problems**.
The problems at the end are for you, in the style of the course's assignments, and each comes with
a check you can run. The notebooks train and measure with the package's public API
(`actkeras.build_model`, `actkeras.fit`, the callbacks in `actkeras.callbacks`, the plots in
`actkeras.plots`), so what you see here works on your own Keras models too (notebook 04). To read
the reproduction's results back and run its experiments small, they also import the
reproduction's own modules (`actkeras.experiments`, `actkeras.teaching`,
`actkeras.activation_timing`), which their docstrings document and the README does not list as
the package's API."""),
])
