"""Claim 13: with ReLU, Xavier's initialisation shrinks the signal by sqrt(2) a layer and
stalls deep networks (He, Zhang, Ren and Sun 2015).

He et al. derive that a rectifier halves the second moment of its input, so Xavier's
weights (variance 1 / n, derived for the linear regime) shrink the response's standard
deviation by sqrt(2) a layer against theirs (2 / n): after L layers it is 2^(-L/2) of
theirs. Their 22-layer model converges with both (theirs earlier); their 30-layer one
converges with theirs, while Xavier's "completely stalls the learning, and the gradients
are diminishing as monitored".

Runs: step-0 profiles (`experiments.probes`: the response z_l, the kernel gradient and
the backpropagated error per layer, the kernel gradient being what `GradientNormLogger`
reports) of ReLU MLPs of 100 units a layer at depths 10 to 60 for both initialisations
(he_normal, glorot_uniform), 5 seeds; and each depth from 10 to 50 trained for 430
updates (about one epoch) with the paper's SGD (momentum 0.9, 0.01, minibatches of
128), `GradientNormLogger` at step 0 and at the end.
Measurement, per seed, at 30 layers: the least-squares slope of log10 of the response's
RMS against the layer, Xavier's minus He's, in powers of 1/sqrt(2) (the paper: 1),
judged as its deviation from 1; the largest, over layers, of log10(Xavier's kernel
gradient / He's). Per trained network: the final validation accuracy and the chance
rule.
"""

import math

import numpy as np

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.presets import data_note, reason, seeds_note
from actkeras.experiments.rules import AS_RUN, protocol
from actkeras.experiments.spec import Claim, RunSpec

ID = 13
PROTOCOL = protocol(ID)
P = PROTOCOL.params
REFERENCE = ("He, K., Zhang, X., Ren, S. and Sun, J. (2015). Delving deep into rectifiers: "
             "surpassing human-level performance on ImageNet classification. Proceedings of "
             "ICCV, 1026-1034; arXiv:1502.01852.")
INITS = {"he": "he_normal", "xavier": "glorot_uniform"}
RATIO = "xavier / he"
HALF_DECADE_PER_LAYER = math.log10(2) / 2  # log10 of sqrt(2)


def probe_run(sizes, init):
    return RunSpec(
        claim=ID, label=f"{init} (step 0)", kind="probe", activation="relu", preset="mlp",
        overrides={"initializer": INITS[init], "depths": tuple(sizes.he_probe_depths),
                   "seeds": tuple(sizes.seeds(PROTOCOL))},
        dataset="fashion_mnist", source=sizes.source, subset=sizes.fashion_subset, seed=0,
        probe_size=sizes.probe_size,
    )


def train_run(sizes, init, depth, seed):
    return RunSpec(
        claim=ID, label=f"{init} {depth}", activation="relu", preset="mlp",
        overrides={"hidden_units": (P["width"],) * depth, "initializer": INITS[init],
                   "optimizer": "momentum", "learning_rate": P["learning_rate"],
                   "batch_size": P["batch"], "steps": sizes.he_steps, "steps_per_execution": 10},
        dataset="fashion_mnist", source=sizes.source, subset=sizes.fashion_subset, seed=seed,
        log_every=sizes.he_steps, monitors=("gradients",), probe_size=sizes.probe_size,
        final_train=False,
    )


def build(sizes, tuned):
    notes = [f"{seeds_note(sizes, PROTOCOL)}. {c.NO_FINAL_TRAIN}",
             f"Trained for {sizes.he_steps} updates: " + reason("he_steps", sizes),
             "Xavier is glorot_uniform, Keras's default and the paper's reference [7] (a "
             "uniform distribution, the forward and backward variances averaged): 1 / n in the "
             "square hidden layers, 2 / (784 + 100) in the first. The first layer's own factor "
             "is a constant offset, so the per-layer slope does not see it.",
             f"Step-0 profiles on the first {sizes.probe_size} validation images; He's and "
             "Xavier's networks of the same seed are paired (different draws: a normal and a "
             "uniform distribution).",
             "The paper's weight decay (0.0005) is left out: its footnote reads diminishing "
             "gradients as a gradient modulated only by weight decay.",
             "The paper's models are ImageNet CNNs (22 and 30 layers); its accuracy numbers are "
             "for the 14-layer model of its Table 2, not the 22-layer one."]
    seeds = sizes.seeds(PROTOCOL)
    runs = [probe_run(sizes, init) for init in INITS]
    runs += [train_run(sizes, init, depth, s) for depth in sizes.he_depths for init in INITS
             for s in seeds]
    return Claim(
        id=ID, title="Xavier's initialisation shrinks ReLU's signal and stalls deep networks",
        statement="For ReLU, Xavier's initialisation shrinks the response's standard deviation "
                  "by sqrt(2) a layer against He's, so after L layers it is 2^(-L/2) of He's; a "
                  "30-layer network stalls with Xavier, its gradients all diminishing, and "
                  "trains with He.",
        quote="When there are L layers, the std will be 1/sqrt(2)^L of our derived std ... the "
              "\"Xavier\" method completely stalls the learning, and the gradients are "
              "diminishing as monitored in the experiments (section 2.2)",
        source="He, Zhang, Ren and Sun 2015 (cited by seed 001)",
        seed_file="seeds/001_740307ee495fdbfa.txt",
        setup=f"ReLU MLPs of {P['width']} units a layer on Fashion-MNIST, {data_note(sizes)}: "
              f"step-0 profiles at depths {', '.join(map(str, sizes.he_probe_depths))}; each "
              f"depth of {', '.join(map(str, sizes.he_depths))} trained "
              f"for {sizes.he_steps} updates, SGD with momentum 0.9 at {P['learning_rate']:g}, "
              f"minibatches of {P['batch']}, `GradientNormLogger` at step 0 and the end.",
        runs=tuple(runs), notes=tuple(notes), params={"depth": P["depth"]},
        published={"response after L layers": {"Xavier / He": "2^(-L/2)"},
                   "22 layers": {"outcome": "both converge, He starts reducing error earlier"},
                   "30 layers": {"outcome": "Xavier completely stalls, gradients all "
                                            "diminishing; He converges"},
                   "14-layer model (Table 2)": {"top-1 / top-5 error (%)": "Xavier 33.90 / "
                                                "13.44, He 33.82 / 13.34"}},
        published_source="He et al. 2015, section 2.2, Table 2 and Figures 2 and 3 (ImageNet; "
                         "checked against the text of arXiv:1502.01852v1)",
    )


# --- measurement -----------------------------------------------------------------------------

def probe_result(claim, results, init):
    for spec in claim.runs:
        if spec.kind == "probe" and spec.label == f"{init} (step 0)":
            return results.get(spec.run_id)
    return None


def profiles(claim, results, init):
    """`{depth: {seed: step-0 profile}}` of one initialisation."""
    result = probe_result(claim, results, init)
    if c.status(result) != "ok":
        return {}
    return {int(d): {int(s): p for s, p in per.items()}
            for d, per in ((result.get("probe") or {}).items())}


def series(profile, key):
    """log10 of `key` per hidden layer (input side first), or `None`."""
    layers = (profile or {}).get("layers") or []
    values = [layer.get(key) for layer in layers]
    if len(values) < 2 or any(v is None or not v > 0 for v in values):
        return None
    return [math.log10(v) for v in values]


def slope(ys):
    xs = range(1, len(ys) + 1)
    mx, my = sum(xs) / len(ys), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def paired(he, xavier):
    """The per-seed measurements of one depth: `{"exponent", "exponent_ends", "gap",
    "gap_mean", "response_ratio"}` of Xavier against He (`None` where missing)."""
    rh, rx = series(he, "response_rms"), series(xavier, "response_rms")
    kh, kx = series(he, "kernel_rms"), series(xavier, "kernel_rms")
    out = {"exponent": None, "exponent_ends": None, "gap": None, "gap_mean": None,
           "response_ratio": None}
    if rh and rx and len(rh) == len(rx):
        out["exponent"] = (slope(rh) - slope(rx)) / HALF_DECADE_PER_LAYER
        out["exponent_ends"] = ((rh[-1] - rh[0]) - (rx[-1] - rx[0])) / (
            (len(rh) - 1) * HALF_DECADE_PER_LAYER)
        out["response_ratio"] = rx[-1] - rh[-1]
    if kh and kx and len(kh) == len(kx):
        gaps = [x - h for x, h in zip(kx, kh)]
        out["gap"], out["gap_mean"] = max(gaps), sum(gaps) / len(gaps)
    return out


def ratio_seeds(claim, results, depth):
    """`{seed: pseudo-result}` of the pseudo-arm "xavier / he" at `depth`."""
    he = profiles(claim, results, "he").get(depth) or {}
    xavier = profiles(claim, results, "xavier").get(depth) or {}
    return {s: {"status": "ok", "ratio": paired(he[s], xavier[s])} for s in sorted(he)
            if s in xavier}


def _ratio(key, shift=0.0):
    def fn(result):
        value = ((result or {}).get("ratio") or {}).get(key)
        return None if value is None else value + shift
    return fn


METRICS = {
    "shrink_deviation": c.Metric(_ratio("exponent", -1.0), "exponent",
                                 "Xavier's per-layer shrinkage of the response against He's, in "
                                 "powers of sqrt(2) (least-squares slope), minus the paper's 1"),
    "shrink_deviation_ends": c.Metric(_ratio("exponent_ends", -1.0), "exponent",
                                      "the same from the first and last layers only, minus 1"),
    "gradient_gap": c.Metric(_ratio("gap"), "decades", "the largest, over layers, of log10 "
                             "(Xavier's kernel gradient / He's) at step 0"),
    "gradient_gap_mean": c.Metric(_ratio("gap_mean"), "decades", "the same, averaged over "
                                  "layers"),
    "valid": c.VALID,
    "test": c.Metric(c.final("test_accuracy"), "pts", "final test accuracy", chance=0.1),
}


def judged_depth(claim):
    return claim.params.get("depth", P["depth"])


def roles(claim, results):
    arms = {RATIO: ratio_seeds(claim, results, judged_depth(claim))}
    for depth in P["depths"]:
        for init in INITS:
            arms[f"{init} {depth}"] = c.runs_labelled(claim, results, f"{init} {depth}")
    return {AS_RUN: arms}


def kernel_norms(record):
    """`[norm]` of the hidden layers' kernel gradients in a `GradientNormLogger` record, input
    side first (`dense_<l>/kernel`; the output layer left out)."""
    found = {}
    for path, norm in ((record or {}).get("weights") or {}).items():
        layer, _, weight = path.rpartition("/")
        if weight == "kernel" and layer.startswith("dense_") and layer[6:].isdigit():
            found[int(layer[6:])] = norm
    return [found[i] for i in sorted(found)]


def gradient_norms(result):
    """`(hidden kernel gradient norms at step 0, at the end)`, each `[norm per layer]`, from
    the run's `GradientNormLogger` records."""
    found = sorted((((result or {}).get("monitors") or {}).get("gradients") or []),
                   key=lambda r: (r.get("step") or 0, r.get("trigger") != "train_begin"))
    if not found:
        return None, None
    return kernel_norms(found[0]), kernel_norms(found[-1])


def largest_gap(xavier, he):
    """The largest, over layers, of log10(Xavier's norm / He's), or `None`."""
    if not xavier or not he or len(xavier) != len(he) or min(xavier + he) <= 0:
        return None
    return max(math.log10(x / h) for x, h in zip(xavier, he))


def numbers(claim, results):
    arms = roles(claim, results)
    out = c.settings_numbers(arms, METRICS)
    out["depth"] = judged_depth(claim)
    he, xavier = profiles(claim, results, "he"), profiles(claim, results, "xavier")
    out["sweep"] = {str(d): {str(s): paired(he[d][s], xavier[d][s])
                             for s in he[d] if s in xavier[d]}
                    for d in sorted(he) if d in xavier}
    out["layers"] = {init: {str(s): {k: series(p, k) for k in ("response_rms", "kernel_rms")}
                            for s, p in (per.get(out["depth"]) or {}).items()}
                     for init, per in (("he", he), ("xavier", xavier))}
    out["gradients"] = {}
    for name, runs in arms[AS_RUN].items():
        if name == RATIO:
            continue
        norms = {s: gradient_norms(r) for s, r in runs.items() if c.status(r) == "ok"}
        if norms:
            out["gradients"][name] = {str(s): list(v) for s, v in norms.items()}
    return out


# --- findings, tables, figure ----------------------------------------------------------------

def _summary(values, digits=2):
    s = stats.summarize(values)
    if s is None:
        return "–"
    return f"{s.mean:.{digits}f} ± {s.std:.{digits}f}" if s.n > 1 else f"{s.mean:.{digits}f}"


def trained(numbers, name):
    """`(at chance, finished)` of an arm by the protocol's chance rule."""
    return c.chance_count(numbers, AS_RUN, name, PROTOCOL)


def findings(numbers):
    found = []
    for depth, per in sorted((numbers.get("sweep") or {}).items(), key=lambda kv: int(kv[0])):
        exps = stats.finite([v["exponent"] for v in per.values()])
        ratio = stats.finite([v["response_ratio"] for v in per.values()])
        if exps:
            s = stats.summarize(exps)
            found.append(f"depth {depth}: Xavier's response shrinks against He's by a factor "
                         f"{2 ** (s.mean / 2):.3f} a layer (sqrt(2) = 1.414; exponent "
                         f"{_summary(exps, 3)}); at the last layer Xavier's response is "
                         f"10^{sum(ratio) / len(ratio):.2f} of He's (the paper's 2^(-L/2): "
                         f"10^{-int(depth) * HALF_DECADE_PER_LAYER:.2f})")
    rows = []
    for depth in P["depths"]:
        he, xavier = trained(numbers, f"he {depth}"), trained(numbers, f"xavier {depth}")
        if he[1] or xavier[1]:
            rows.append((depth, he, xavier))
    if rows:
        found.append("trained for the budget, at chance / finished: " + "; ".join(
            f"{d} layers He {h[0]}/{h[1]}, Xavier {x[0]}/{x[1]}" for d, h, x in rows))
        stalled = [d for d, _, x in rows if x[1] and x[0] == x[1]]
        if stalled:
            first = min(stalled)
            found.append(f"Xavier stays at chance in every seed from {first} layers on"
                         + ("" if all(d in stalled for d, _, _ in rows if d >= first)
                            else " (not at every depth beyond)")
                         + " (the paper: converged at 22 layers, after He; stalled at 30)")
        else:
            found.append("Xavier leaves chance in some seed at every depth trained "
                         "(the paper: stalled at 30 layers)")
        untrained_he = [d for d, h, _ in rows if h[0]]
        found.append("He leaves chance in every seed at every depth" if not untrained_he else
                     f"He stays at chance in some seeds at {', '.join(map(str, untrained_he))} "
                     "layers")
    grads = numbers.get("gradients") or {}
    said = []
    for depth in P["depths"]:
        he, xavier = grads.get(f"he {depth}") or {}, grads.get(f"xavier {depth}") or {}
        both = [s for s in he if s in xavier]
        start = stats.finite([largest_gap(xavier[s][0], he[s][0]) for s in both])
        end = stats.finite([largest_gap(xavier[s][1], he[s][1]) for s in both])
        if start or end:
            said.append(f"{depth} layers {_summary(start)} at step 0, {_summary(end)} at the "
                        "end")
    if said:
        found.append("as monitored during training (`GradientNormLogger`, the hidden layers' "
                     "kernel gradients), the largest log10(Xavier / He) over layers: "
                     + "; ".join(said))
    return found


def tables(numbers):
    out = []
    rows = []
    for depth, per in sorted((numbers.get("sweep") or {}).items(), key=lambda kv: int(kv[0])):
        vals = list(per.values())
        rows.append([depth, _summary(stats.finite([v["exponent"] for v in vals]), 3),
                     _summary(stats.finite([v["exponent_ends"] for v in vals]), 3),
                     _summary(stats.finite([v["response_ratio"] for v in vals])),
                     f"{-int(depth) * HALF_DECADE_PER_LAYER:.2f}",
                     _summary(stats.finite([v["gap"] for v in vals])),
                     _summary(stats.finite([v["gap_mean"] for v in vals]))])
    if rows:
        out.append(("Step 0, Xavier against He (mean ± sd over seeds)",
                    ["depth", "shrinkage a layer, powers of sqrt(2) (slope)", "(first and last "
                     "layers)", "log10 last response, Xavier / He", "the paper's -L log10 "
                     "sqrt(2)", "largest log10 gradient ratio", "mean log10 gradient ratio"],
                    rows))
    settings = (numbers.get("settings") or {}).get(AS_RUN) or {}
    rows = []
    for depth in P["depths"]:
        cells = [str(depth)]
        for init in INITS:
            name = f"{init} {depth}"
            values = ((settings.get(name) or {}).get("values") or {}).get("valid") or {}
            hits, n = trained(numbers, name)
            cells += [c.summary_cell(values), f"{hits} of {n}" if n else "–"]
        if any(cell not in ("–",) for cell in cells[1:]):
            rows.append(cells)
    if rows:
        out.append(("Trained for the budget: validation accuracy (mean ± sd) and runs at chance",
                    ["depth", "He", "He at chance", "Xavier", "Xavier at chance"], rows))
    return out


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(5, width=26)
    depth = numbers.get("depth")
    layers = numbers.get("layers") or {}
    for ax, key, what in ((axes[0], "response_rms", "response z_l"),
                          (axes[1], "kernel_rms", "kernel gradient")):
        for init in INITS:
            curves = {int(s): (list(range(1, len(v[key]) + 1)), v[key])
                      for s, v in (layers.get(init) or {}).items() if v.get(key)}
            f.seed_curves(ax, init, curves)
        if key == "response_rms":
            he = [v[key] for v in (layers.get("he") or {}).values() if v.get(key)]
            if he:
                base = np.mean(np.array(he), axis=0)
                xs = np.arange(1, len(base) + 1)
                ax.plot(xs, base - (xs - 1) * HALF_DECADE_PER_LAYER, color="black",
                        linestyle=":", label="He's mean x 2^(-(l-1)/2)")
        f.finish(ax, f"{what} per layer at step 0 ({depth} layers)",
                 xlabel="hidden layer (1 = next to the input)", ylabel=f"log10 RMS {what}",
                 ylim=None)
    sweep = numbers.get("sweep") or {}
    for d, per in sweep.items():
        exps = stats.finite([v["exponent"] for v in per.values()])
        axes[2].plot([int(d)] * len(exps), exps, "o", color="tab:blue", alpha=0.5, markersize=4)
    axes[2].axhline(1.0, color="black", linestyle="--", linewidth=1, label="the paper: 1")
    axes[2].axhspan(0.5, 1.5, color="grey", alpha=0.12, label="tolerance (a), (b)")
    f.finish(axes[2], "shrinkage a layer, Xavier against He", xlabel="hidden layers",
             ylabel="powers of sqrt(2) a layer", ylim=(0, 2))
    settings = (numbers.get("settings") or {}).get(AS_RUN) or {}
    for init, marker in (("he", "o"), ("xavier", "s")):
        xs, ys = [], []
        for d in P["depths"]:
            values = ((settings.get(f"{init} {d}") or {}).get("values") or {}).get("valid") or {}
            xs += [d] * len(values)
            ys += list(values.values())
        if xs:
            axes[3].plot(xs, ys, marker, alpha=0.6, label=init)
    f.chance_line(axes[3])
    f.finish(axes[3], "validation accuracy after the budget", xlabel="hidden layers",
             ylabel="validation accuracy")
    f.parts_panel(axes[4], verdicts)
    figure.suptitle("Claim 13: ReLU MLPs with He's and Xavier's initialisations")
    return figure
