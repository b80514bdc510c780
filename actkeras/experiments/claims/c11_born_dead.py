"""Claim 11: deep narrow ReLU networks are born dead (Lu, Shin, Su and Karniadakis 2020).

A ReLU network is *born dead* when, as initialised, it is a constant function of its
input. With symmetric initialisation the paper proves that the probability tends to 1
as the depth grows at a fixed width, and proposes a randomized asymmetric
initialisation (RAI) that lowers it.

Runs: one `"population"` run per initialisation (`experiments.population`): for every
width, 100 networks per seed at the greatest depth, every seed in one batched forward
pass, with `DeadReLUMonitor` listing the units off for every point of a dense probe of
[-sqrt 3, sqrt 3]; a network of a smaller depth is the first layers of one of them (so
the cells of a width hold the same networks, cut at each depth); one more pair of runs
for one cell on 784-d images.
Measurement: a network is born dead when one of its hidden layers has all its units off
for every probe point; per seed (a population), the share of a cell's networks born
dead. The parts read the grid's trends: the rise from the shallowest to the deepest
depth (averaged over widths), the fall from the narrowest to the widest width (averaged
over depths), the narrowest and deepest cell, and He's share against RAI's (averaged
over every cell).
"""

import math

from scipy import stats as _scipy

from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.presets import reason
from actkeras.experiments.rules import AS_RUN, protocol
from actkeras.experiments.spec import Claim, RunSpec

ID = 11
PROTOCOL = protocol(ID)
P = PROTOCOL.params
REFERENCE = ("Lu, L., Shin, Y., Su, Y. and Karniadakis, G. E. (2020). Dying ReLU and "
             "initialization: theory and numerical examples. Communications in Computational "
             "Physics 28(5), 1671-1706; arXiv:1903.06733.")
INITS = {"he": "He normal, zero biases", "rai": "randomized asymmetric (RAI)"}
# The three numbers issue 31 quotes from the paper's depth-10 examples: (width, depth):
# (words, the share they bound or approximate, "below" / "above" / "about").
QUOTED = {(10, 10): ("under 1 %", 0.01, "below"), (5, 10): ("over 10 %", 0.10, "above"),
          (3, 10): ("about 60 %", 0.60, "about")}
UNCONFIRMED = ("the three numbers are quoted from secondary summaries of the paper (issue 31, "
               "and a public summary that gives the same three, calling them probabilities of "
               "'collapse', the word the authors' earlier paper uses for networks that end "
               "constant after training); the paper's text could not be read here (the "
               "copies searched on 7 December 2026 hold its abstract and the opening of its "
               "introduction only), so they are shown beside ours and not judged, and the "
               "verdict rests on the trends alone")


def key(width, depth):
    return f"{width}x{depth}"


def population_run(sizes, init, wide=False):
    """The population run of one initialisation: every cell of the sizes' grid on the 1-d
    probe, or (`wide`) the headline cell on 784-d images."""
    overrides = {"init": init, "widths": tuple(sizes.born_dead_widths),
                 "depths": tuple(sizes.born_dead_depths), "networks": sizes.born_dead_networks,
                 "seeds": tuple(sizes.seeds(PROTOCOL)), "input_dim": 1,
                 "probe": sizes.born_dead_probe, "domain": P["domain"]}
    data = dict(dataset="interval", source="generated", subset=None)
    if wide:
        width, depth = P["headline"]
        overrides.update(widths=(width,), depths=(depth,), input_dim=P["wide_input"], probe=256)
        overrides.pop("domain")
        data = dict(dataset="fashion_mnist", source=sizes.source, subset=sizes.fashion_subset)
    return RunSpec(claim=ID, label=f"{init} 784-d" if wide else init, kind="population",
                   activation="relu", preset="mlp", overrides=overrides, seed=0, **data)


def build(sizes, tuned):
    seeds = len(sizes.seeds(PROTOCOL))
    width, depth = P["headline"]
    notes = [f"{seeds} populations of {sizes.born_dead_networks} networks per cell "
             f"({seeds * sizes.born_dead_networks:,} a cell): " + reason("born_dead", sizes),
             f"Probe: {sizes.born_dead_probe} evenly spaced points of [-sqrt 3, sqrt 3]. With "
             "zero biases a ReLU network is positively homogeneous, so only the sign of the "
             "input matters and the probe is exact for He's networks; it also means that "
             "whether such a network is born dead does not depend on its weights' scale: the "
             "shares are Xavier's, or any symmetric Gaussian's, as well.",
             "RAI as public re-implementations of the paper write it (the paper's own text "
             "could not be read here): every weight and bias of a unit from N(0, 0.6007^2 / "
             "fan_in), then one of them, chosen at random, from Beta(2, 1).",
             f"The 784-d cell (width {width}, depth {depth}) is probed with (up to) the first 256 "
             "validation images of Fashion-MNIST (pixels in [0, 1]), not a dense grid: a "
             "finding beside the 1-d cell, not a part.",
             "Published numbers: " + UNCONFIRMED + "."]
    return Claim(
        id=ID, title="Deep narrow ReLU networks are born dead",
        statement="With symmetric initialisation, the probability that a ReLU network is born "
                  "dead (constant over its input domain) tends to 1 as the depth grows at a "
                  "fixed width, and falls with the width; a randomized asymmetric "
                  "initialisation lowers it.",
        quote="we rigorously prove that a deep ReLU network will eventually die in probability "
              "as the depth goes to infinite (the paper's abstract)",
        source="Lu, Shin, Su and Karniadakis 2020",
        setup=f"Random ReLU networks at initialisation, widths "
              f"{', '.join(map(str, sizes.born_dead_widths))} x depths "
              f"{', '.join(map(str, sizes.born_dead_depths))}, a 1-d input and one linear "
              "output each; the networks of a width are one Keras model of side-by-side "
              "layers (`StackedDense`) at the greatest depth, and `DeadReLUMonitor` lists the "
              "units off for every probe point. A network is born dead when one of its hidden "
              "layers has all its units off; a network of a smaller depth is the first layers "
              "of one of them (every layer is drawn independently), so a width's cells hold "
              "the same networks cut at each depth.",
        runs=tuple(population_run(sizes, init, wide) for wide in (False, True) for init in INITS),
        published={f"width {w}, depth {d}": {"born dead": words}
                   for (w, d), (words, _, _) in QUOTED.items()},
        published_source="Lu et al. 2020's examples at depth 10, as quoted in issue 31 "
                         "(unconfirmed against the paper's text: not judged)",
        notes=tuple(notes),
    )


# --- measurement -----------------------------------------------------------------------------

def run_of(claim, results, init, wide=False):
    label = f"{init} 784-d" if wide else init
    for spec in claim.runs:
        if spec.kind == "population" and spec.label == label:
            return results.get(spec.run_id)
    return None


def shares_by_seed(result):
    """`{seed: {"WxD": share born dead}}` of a population run (`{}` without one)."""
    if c.status(result) != "ok":
        return {}
    out = {}
    for cell_key, cell in ((result or {}).get("population") or {}).items():
        for seed, counts in (cell.get("first_dead") or {}).items():
            total = sum(counts)
            if total:
                out.setdefault(int(seed), {})[cell_key] = 1.0 - counts[0] / total
    return out


def seeds_of(claim, results, init):
    """`{seed: pseudo-result}`: each population's shares, read by the metrics."""
    return {seed: {"status": "ok", "cells": cells}
            for seed, cells in shares_by_seed(run_of(claim, results, init)).items()}


def grid(cells):
    """`(widths, depths)` of the cells present, sorted."""
    pairs = [tuple(int(v) for v in k.split("x")) for k in cells]
    return sorted({w for w, _ in pairs}), sorted({d for _, d in pairs})


def _cells(result):
    cells = (result or {}).get("cells") or {}
    return cells if len(cells) >= 1 else None


def _rise(fn):
    def metric(result):
        cells = _cells(result)
        if cells is None:
            return None
        widths, depths = grid(cells)
        return fn(cells, widths, depths)
    return metric


def _mean(values):
    """The mean, summed exactly (`math.fsum`): a report rewritten from the same runs must not
    move in the last digit because the cells came back from the file in another order."""
    values = [v for v in values if v is not None]
    return math.fsum(values) / len(values) if values else None


def _mid(values):
    """The middle value and the next (the two shallowest for two)."""
    i = (len(values) - 1) // 2
    return values[i], values[min(i + 1, len(values) - 1)]


def _change(cells, pair, across, cell):
    """The mean over `across` of the share at `cell(pair[1], x)` minus that at
    `cell(pair[0], x)`, where both cells exist."""
    first, second = pair
    if first == second:
        return None
    return _mean([cells[cell(second, x)] - cells[cell(first, x)] for x in across
                  if cell(second, x) in cells and cell(first, x) in cells])


def _depth_rise(cells, widths, depths, pair=None):
    """Deeper minus shallower, averaged over widths."""
    return _change(cells, pair or (depths[0], depths[-1]), widths, lambda d, w: key(w, d))


def _width_fall(cells, widths, depths, pair=None):
    """Narrower minus wider, averaged over depths."""
    wide, narrow = (pair or (widths[0], widths[-1]))[::-1]
    return _change(cells, (wide, narrow), depths, lambda w, d: key(w, d))


def _cell(width, depth):
    return lambda result: (_cells(result) or {}).get(key(width, depth))


METRICS = {
    "depth_rise": c.Metric(_rise(_depth_rise), "pp", "rise in the share born dead from the "
                           "shallowest to the deepest depth, averaged over widths"),
    "depth_rise_mid": c.Metric(_rise(lambda cl, w, d: _depth_rise(cl, w, d, _mid(d))), "pp",
                               "rise from the middle depth to the next, averaged over widths"),
    "width_fall": c.Metric(_rise(_width_fall), "pp", "fall in the share born dead from the "
                           "narrowest to the widest width, averaged over depths"),
    "width_fall_mid": c.Metric(_rise(lambda cl, w, d: _width_fall(cl, w, d, _mid(w))), "pp",
                               "fall from the middle width to the next, averaged over depths"),
    "narrow_deep": c.Metric(_rise(lambda cl, w, d: cl.get(key(w[0], d[-1]))), "share",
                            "share born dead at the narrowest width and the greatest depth"),
    "mean_share": c.Metric(_rise(lambda cl, w, d: _mean(list(cl.values()))), "share",
                           "share born dead, averaged over every cell"),
    "headline": c.Metric(_cell(*P["headline"]), "share",
                         "share born dead at width 3, depth 10"),
}


def roles(claim, results):
    return {AS_RUN: {init: seeds_of(claim, results, init) for init in INITS}}


def pooled(result):
    """`{"WxD": {"width", "depth", "dead", "n", "share", "low", "high", "by_layer"}}` over
    every seed of a run: each cell's binomial (Clopper-Pearson) interval, and the share
    dead by each layer (the first dead layer at or below it)."""
    out = {}
    if c.status(result) != "ok":
        return out
    for cell_key, cell in ((result or {}).get("population") or {}).items():
        per_seed = list((cell.get("first_dead") or {}).values())
        if not per_seed:
            continue
        counts = [sum(col) for col in zip(*per_seed)]
        n = sum(counts)
        dead = n - counts[0]
        ci = _scipy.binomtest(dead, n).proportion_ci(confidence_level=0.95)
        by_layer, running = [], 0
        for count in counts[1:]:
            running += count
            by_layer.append(running / n)
        out[cell_key] = {"width": cell["width"], "depth": cell["depth"], "dead": dead, "n": n,
                         "share": dead / n, "low": float(ci.low), "high": float(ci.high),
                         "by_layer": by_layer}
    return out


def numbers(claim, results):
    out = c.settings_numbers(roles(claim, results), METRICS,
                             {(AS_RUN, init): label for init, label in INITS.items()})
    out["cells"] = {init: pooled(run_of(claim, results, init)) for init in INITS}
    out["wide"] = {init: pooled(run_of(claim, results, init, wide=True)) for init in INITS}
    out["quoted"] = {key(w, d): {"words": words, "value": value, "how": how}
                     for (w, d), (words, value, how) in QUOTED.items()}
    return out


# --- findings, tables, figure ----------------------------------------------------------------

def _pct(v):
    return "–" if v is None else f"{100 * v:.1f} %"


def _cell_text(cell):
    return f"{_pct(cell['share'])} [{_pct(cell['low'])}, {_pct(cell['high'])}] ({cell['n']:,})"


def agreement(cell, how, value):
    """A cell's binomial interval against a quoted number: "agrees" when the interval lies
    on the quoted side of a bound ("below", "above") or, for "about", within five points
    of it, "disagrees" when it lies wholly on the other side (or wholly more than five
    points away), "undecided" otherwise."""
    low, high = cell["low"], cell["high"]
    if how == "below":
        return "agrees" if high < value else "disagrees" if low >= value else "undecided"
    if how == "above":
        return "agrees" if low > value else "disagrees" if high <= value else "undecided"
    near = (value - 0.05, value + 0.05)
    if near[0] <= low and high <= near[1]:
        return "agrees"
    return "disagrees" if high < near[0] or low > near[1] else "undecided"


def wrong_way(cells):
    """Adjacent cells where the share goes against the paper's trend, beyond both binomial
    intervals: `[(lower cell, higher cell)]` (deeper should be higher, wider lower)."""
    found = []
    widths, depths = grid(cells)
    for w in widths:
        for d1, d2 in zip(depths, depths[1:]):
            a, b = cells.get(key(w, d1)), cells.get(key(w, d2))
            if a and b and b["high"] < a["low"]:
                found.append((key(w, d1), key(w, d2)))
    for d in depths:
        for w1, w2 in zip(widths, widths[1:]):
            a, b = cells.get(key(w1, d)), cells.get(key(w2, d))
            if a and b and b["low"] > a["high"]:
                found.append((key(w1, d), key(w2, d)))
    return found


def findings(numbers):
    found = []
    cells = numbers.get("cells") or {}
    he, rai = cells.get("he") or {}, cells.get("rai") or {}
    quoted = numbers.get("quoted") or {}
    said = []
    for cell_key, q in quoted.items():
        cell = he.get(cell_key)
        if cell:
            word = agreement(cell, q["how"], q["value"])
            w, d = cell_key.split("x")
            said.append(f"width {w}, depth {d}: quoted {q['words']}, ours {_cell_text(cell)} "
                        f"({word})")
    if said:
        found.append("the paper's examples at depth 10 beside ours (He): " + "; ".join(said)
                     + f". Not judged: {UNCONFIRMED}")
    if he:
        wrong = wrong_way(he)
        found.append(f"monotone: {len(wrong)} of the grid's adjacent pairs of cells go against "
                     "the trend (deeper dies more, wider less) beyond both binomial intervals"
                     + (f" ({', '.join(f'{a} -> {b}' for a, b in wrong)})" if wrong else ""))
    if he and rai:
        both = [k for k in he if k in rai]
        lower = [k for k in both if rai[k]["high"] < he[k]["low"]]
        not_higher = [k for k in both if rai[k]["share"] <= he[k]["share"]]
        best = max(both, key=lambda k: he[k]["share"] - rai[k]["share"], default=None)
        if best:
            found.append(f"RAI against He, cell by cell: lower beyond both intervals in "
                         f"{len(lower)} of {len(both)} cells, never higher in "
                         f"{len(not_higher)} of {len(both)}; the largest cut at {best}: "
                         f"{_pct(he[best]['share'])} -> {_pct(rai[best]['share'])}")
    wide = numbers.get("wide") or {}
    for init, label in INITS.items():
        for cell_key, cell in (wide.get(init) or {}).items():
            line = (numbers.get("cells") or {}).get(init, {}).get(cell_key)
            found.append(f"784-d images, {label}, {cell_key}: {_cell_text(cell)} born dead"
                         + (f", against {_cell_text(line)} on the 1-d probe" if line else ""))
    return found


def _grid_table(cells, title):
    widths, depths = grid(cells)
    rows = [[f"width {w}"] + [_cell_text(cells[key(w, d)]) if key(w, d) in cells else "–"
                              for d in depths] for w in widths]
    return (title, ["", *[f"depth {d}" for d in depths]], rows)


def tables(numbers):
    out = []
    for init, label in INITS.items():
        cells = (numbers.get("cells") or {}).get(init) or {}
        if cells:
            out.append(_grid_table(cells, f"Share born dead, {label}: pooled over the "
                                          "populations, 95 % Clopper-Pearson interval "
                                          "(networks)"))
    he = (numbers.get("cells") or {}).get("he") or {}
    rai = (numbers.get("cells") or {}).get("rai") or {}
    rows = []
    for cell_key, q in (numbers.get("quoted") or {}).items():
        w, d = cell_key.split("x")
        rows.append([f"width {w}, depth {d}", q["words"],
                     _cell_text(he[cell_key]) if cell_key in he else "–",
                     _cell_text(rai[cell_key]) if cell_key in rai else "–"])
    for init, label in INITS.items():
        for cell_key, cell in ((numbers.get("wide") or {}).get(init) or {}).items():
            w, d = cell_key.split("x")
            rows.append([f"width {w}, depth {d}, 784-d images ({label})", "–",
                         _cell_text(cell) if init == "he" else "–",
                         _cell_text(cell) if init == "rai" else "–"])
    if rows:
        out.append(("The paper's examples (quoted, unconfirmed) beside ours",
                    ["cell", "Lu et al. 2020 (quoted)", "ours, He", "ours, RAI"], rows))
    return out


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(3, width=18)
    cells = numbers.get("cells") or {}
    colors = {}
    for init, style in (("he", "-"), ("rai", "--")):
        got = cells.get(init) or {}
        widths, depths = grid(got) if got else ([], [])
        for w in widths:
            pts = [got[key(w, d)] for d in depths if key(w, d) in got]
            if not pts:
                continue
            xs = [p["depth"] for p in pts]
            ys = [p["share"] for p in pts]
            err = [[p["share"] - p["low"] for p in pts], [p["high"] - p["share"] for p in pts]]
            line = axes[0].errorbar(xs, ys, yerr=err, linestyle=style, marker="o", markersize=3,
                                    capsize=2, color=colors.get(w),
                                    label=f"width {w}" if init == "he" else None)
            colors.setdefault(w, line[0].get_color())
    for cell_key, q in (numbers.get("quoted") or {}).items():
        w, d = (int(v) for v in cell_key.split("x"))
        axes[0].plot([d], [q["value"]], marker="*", color=colors.get(w, "black"), markersize=11,
                     markeredgecolor="black", linestyle="")
    axes[0].set_xscale("log")
    depths = grid(cells.get("he") or cells.get("rai") or {})[1]
    if depths:
        axes[0].set_xticks(depths, [str(d) for d in depths])
        axes[0].minorticks_off()
    f.finish(axes[0], "born dead (95 % binomial interval); RAI dashed;\nstars: the quoted "
             "numbers (unconfirmed)", xlabel="hidden layers", ylabel="share of networks born "
             "dead")
    he = cells.get("he") or {}
    if he:
        widths, depths = grid(he)
        for w in widths:
            deepest = he.get(key(w, depths[-1]))
            if deepest:
                layers = range(1, len(deepest["by_layer"]) + 1)
                axes[1].plot(layers, deepest["by_layer"], color=colors.get(w), label=f"width {w}")
    f.finish(axes[1], "He: share dead by each layer\n(the deepest networks)", xlabel="hidden "
             "layer", ylabel="share whose first dead layer is at or below it")
    f.parts_panel(axes[2], verdicts)
    figure.suptitle("Claim 11: random ReLU networks born dead (constant over the input) at "
                    "initialisation")
    return figure
