"""Claims 11-13, the cited papers' own results, on hand-made results through the one judge:
every part on both sides of its margin; their measurements (born-dead shares and their
binomial intervals, the 98th percentile from a histogram, the per-layer shrinkage); and a
custom size naming an unknown width or depth, refused in one line before any work."""

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats as scipy_stats

import fakes
from actkeras.experiments import decide, reproduce, sensitivity
from actkeras.experiments.claims import PRESETS, SizesError, claims, module
from actkeras.experiments.claims import c11_born_dead as c11
from actkeras.experiments.claims import c12_saturation as c12
from actkeras.experiments.claims import c13_xavier_relu as c13
from actkeras.experiments.rules import AS_RUN, TUNED
from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE


def claim(claim_id, preset="tiny", tuned=None):
    return claims(preset, ids=[claim_id], tuned=tuned)[0]


def outcomes(claim_id, results, preset="tiny"):
    c = claim(claim_id, preset)
    mod = module(claim_id)
    numbers = mod.numbers(c, results)
    verdict = decide.judge(numbers, mod.PROTOCOL, findings=mod.findings(numbers))[AS_RUN]
    mod.tables(numbers)
    figure = mod.draw(c, numbers, {AS_RUN: verdict.to_dict()})
    assert figure.axes
    return {p.key: p.outcome for p in verdict.parts}, verdict, numbers


# --- claim 11: born dead ---------------------------------------------------------------------

def population(share, seeds=(0, 1), networks=100, widths=(2, 3, 10), depths=(2, 10)):
    """A population run's result: `share(width, depth, seed)` of each cell's networks dead
    at the first layer, the rest alive."""
    cells = {}
    for w in widths:
        for d in depths:
            first = {}
            for s in seeds:
                dead = int(round(networks * share(w, d, s)))
                first[str(s)] = [networks - dead, dead] + [0] * (d - 1)
            cells[c11.key(w, d)] = {"width": w, "depth": d, "first_dead": first}
    return {"status": "ok", "population": cells}


def paper_like(w, d, s):
    return min(1.0, 1 - (1 - 2.0 ** -w) ** (2 * d) + 0.01 * s)


def born_dead_results(he, rai):
    c = claim(11)
    return {spec.run_id: population(he if spec.label.startswith("he") else rai)
            for spec in c.runs}


def test_claim11_trends_hold_on_paper_like_shares_and_fail_on_flat_ones():
    parts, verdict, numbers = outcomes(11, born_dead_results(
        paper_like, lambda w, d, s: paper_like(w, d, s) / 5))
    assert parts == {"a": HOLDS, "b": HOLDS, "c": HOLDS, "d": HOLDS}
    assert any("not judged" in f.lower() for f in verdict.findings)  # the quoted numbers
    flat = lambda w, d, s: 0.3 + 0.01 * s  # noqa: E731
    parts, _, _ = outcomes(11, born_dead_results(flat, flat))
    assert parts == {"a": FAILS, "b": FAILS, "c": FAILS, "d": FAILS}


@pytest.mark.parametrize("deep, expected", [(0.97, HOLDS), (0.8, FAILS)])
def test_claim11_tends_to_one_is_nine_in_ten_at_the_narrowest_deepest_cell(deep, expected):
    def he(w, d, s):
        return deep + 0.01 * s if (w, d) == (2, 10) else paper_like(w, d, s)

    parts, _, _ = outcomes(11, born_dead_results(he, lambda w, d, s: 0.0))
    assert parts["c"] == expected


def test_claim11_pooled_cells_have_scipys_binomial_interval_and_the_curve_by_layer():
    result = population(lambda w, d, s: 0.25, seeds=(0, 1, 2), networks=40)
    cells = c11.pooled(result)
    cell = cells["3x10"]
    ci = scipy_stats.binomtest(30, 120).proportion_ci(confidence_level=0.95)
    assert (cell["dead"], cell["n"]) == (30, 120)
    assert (cell["low"], cell["high"]) == pytest.approx((ci.low, ci.high))
    assert cell["by_layer"][0] == pytest.approx(0.25) and len(cell["by_layer"]) == 10
    seeds = c11.shares_by_seed(result)
    assert set(seeds) == {0, 1, 2} and seeds[1]["2x2"] == pytest.approx(0.25)


def test_claim11_quoted_numbers_are_compared_with_intervals_and_wrong_way_cells_found():
    cell = {"share": 0.637, "low": 0.607, "high": 0.667}
    assert c11.agreement(cell, "about", 0.60) == "undecided"
    assert c11.agreement({"share": 0.6, "low": 0.57, "high": 0.63}, "about", 0.60) == "agrees"
    assert c11.agreement({"share": 0.002, "low": 0.0, "high": 0.007}, "below", 0.01) == "agrees"
    assert c11.agreement({"share": 0.13, "low": 0.11, "high": 0.16}, "above", 0.10) == "agrees"
    assert c11.agreement({"share": 0.05, "low": 0.03, "high": 0.08}, "above", 0.10) == "disagrees"
    cells = c11.pooled(population(lambda w, d, s: 0.5 if d == 10 else 0.1, networks=500))
    assert c11.wrong_way(cells) == []
    cells = c11.pooled(population(lambda w, d, s: 0.1 if d == 10 else 0.5, networks=500))
    assert ("2x2", "2x10") in c11.wrong_way(cells)


def test_born_dead_trend_metrics_do_not_depend_on_the_order_cells_come_back_in():
    # A report rewritten from the same runs read its cells in another order, and a part moved
    # in its last digit: 0.1 + 0.2 + 0.3 and 0.3 + 0.2 + 0.1 differ in float arithmetic.
    shares = [0.1, 0.2, 0.3, 0.7, 0.05]
    cells = {c11.key(w, 10): s for w, s in zip((2, 3, 4, 5, 10), shares)}
    backwards = dict(reversed(list(cells.items())))
    metric = c11.METRICS["mean_share"].fn
    assert metric({"cells": cells}) == metric({"cells": backwards}) == math.fsum(shares) / 5


# --- claim 12: saturation --------------------------------------------------------------------

def stats_record(step, means, spread=0.05):
    layers = {}
    for i, m in enumerate(means):
        values = np.clip(np.linspace(m - spread, m + spread, 101), -1, 1)
        counts, edges = np.histogram(values, bins=40)
        layers[f"activation_{i}"] = {"mean": m, "std": spread / 2,
                                     "histogram": {"counts": counts.tolist(),
                                                   "edges": edges.tolist()}}
    return {"step": step, "trigger": "train_begin" if step == 0 else "batch_end", "layers": layers}


def glorot_result(top_path, lower=(0.5, 0.55, 0.7), test=0.8, seed=0, extra_layer=False):
    lower = tuple(lower) + ((0.75,) if extra_layer else ())
    records = [stats_record(step, lower + (top,)) for step, top in top_path]
    return fakes.result("ok", seed, {"valid_accuracy": test, "test_accuracy": test},
                        monitors={"stats": records}, data={"n_valid": 5000})


def glorot_results(sigmoid4, sigmoid5, lower=(0.5, 0.55, 0.7), tests=None, c=None):
    """Results of claim 12's runs (those of `c`, as run only by default); a tuned run
    reads the same paths and its arm's entry `"<arm> tuned"` of `tests` if there is one."""
    tests = tests or {"sigmoid": 0.1, "tanh": 0.7, "tanh N": 0.75, "softsign": 0.72}
    c = c or claim(12)
    out = {}
    for spec in c.runs:
        name = spec.label.removesuffix(f" {TUNED}")
        arm, depth = name.rsplit(" ", 1)
        if spec.tuned_from:
            arm = f"{arm} {TUNED}" if f"{arm} {TUNED}" in tests else arm
        path = {"sigmoid 4": sigmoid4, "sigmoid 5": sigmoid5}.get(name, [(0, 0.0), (20, 0.0)])
        out[spec.run_id] = glorot_result([(s, v + 0.002 * spec.seed) for s, v in path], lower,
                                         tests[arm] + 0.003 * spec.seed, spec.seed,
                                         extra_layer=depth == "5")
    return out


SATURATES = [(0, 0.5), (10, 0.15), (20, 0.05)]
STAYS = [(0, 0.5), (10, 0.5), (20, 0.49)]


def test_claim12_parts_on_both_sides():
    parts, verdict, _ = outcomes(12, glorot_results(SATURATES, SATURATES))
    assert parts == {"a": HOLDS, "b": HOLDS, "c": HOLDS, "d": HOLDS, "e": HOLDS, "f": HOLDS}
    assert any("in 2 of 2 seeds" in f for f in verdict.findings)  # lower layers ordered
    reversed_tests = {"sigmoid": 0.8, "tanh": 0.7, "tanh N": 0.6, "softsign": 0.65}
    parts, _, _ = outcomes(12, glorot_results(STAYS, STAYS, lower=(0.3, 0.3, 0.3),
                                              tests=reversed_tests))
    assert parts == {"a": FAILS, "b": FAILS, "c": FAILS, "d": FAILS, "e": FAILS, "f": FAILS}


def test_claim12_has_one_search_per_judged_network_and_tuned_runs_at_its_rate():
    assert set(c12.PROTOCOL.settings) == {AS_RUN, TUNED}
    assert c12.PROTOCOL.params["grid"] == (0.01, 0.03, 0.1, 0.3, 1.0)  # around the as-run 0.1
    full = claim(12, "full")
    search = {s.label: s for s in full.tuning}
    judged = ["sigmoid 4", "sigmoid 5", "tanh 5", "tanh N 5", "softsign 5"]
    assert list(search) == [f"{name} (search)" for name in judged]
    assert all(s.kind == "tune" and s.seed == 1000 and s.grid == c12.PROTOCOL.params["grid"]
               for s in search.values())
    depth = {name: len(s.overrides["hidden_units"]) for name, s in search.items()}
    assert depth["sigmoid 4 (search)"] == 4 and depth["sigmoid 5 (search)"] == 5
    assert full.waiting == tuple(f"{name} {TUNED}" for name in judged)
    assert not claim(12, "quick").tuning  # the quick preset has no tuned setting
    rates = {search["sigmoid 5 (search)"].run_id: 0.1, search["tanh 5 (search)"].run_id: 0.3}
    after = claim(12, "full", tuned=rates)
    tanh = [s for s in after.runs if s.label == f"tanh 5 {TUNED}"]
    assert len(tanh) == 5 and all(s.learning_rate == 0.3 and s.tuned_from for s in tanh)
    as_run = {s.seed: s.run_id for s in after.runs if s.label == "sigmoid 5"}
    sigmoid = {s.seed: s.run_id for s in after.runs if s.label == f"sigmoid 5 {TUNED}"}
    assert sigmoid == as_run  # a search that picks 0.1 gives the very runs as run
    assert f"sigmoid 4 {TUNED}" in after.waiting and f"tanh 5 {TUNED}" not in after.waiting
    assert not any(s.label.startswith(("tanh 4", "softsign 4")) and s.tuned_from
                   for s in after.runs)


def test_claim12_tuned_setting_judged_beside_as_run_with_the_sensitivity_rows():
    c = claim(12)
    rates = {s.run_id: 0.3 for s in c.tuning}
    c = claim(12, tuned=rates)
    # As run tanh N trails tanh; at each one's best rate it beats it (and softsign beats tanh).
    tests = {"sigmoid": 0.1, "tanh": 0.7, "tanh N": 0.6, "softsign": 0.65,
             "tanh N tuned": 0.8, "softsign tuned": 0.75}
    results = glorot_results(SATURATES, SATURATES, tests=tests, c=c)
    searches = {}
    for s in c.tuning:
        trials = [{"learning_rate": r, "score": 0.5 + 0.1 * (r == 0.3), "status": "ok"}
                  for r in s.grid]
        searches[s.run_id] = {"status": "ok", "search": {"grid": list(s.grid), "trials": trials,
                                                         "best": 0.3},
                              "data": {"n_valid": 256, "valid_majority": 0.1}}
    results.update(searches)
    numbers = c12.numbers(c, results)
    verdicts = decide.judge(numbers, c12.PROTOCOL, findings=c12.findings(numbers))
    parts = {setting: {p.key: p.outcome for p in v.parts} for setting, v in verdicts.items()}
    assert parts[AS_RUN]["e"] == FAILS and parts[AS_RUN]["f"] == FAILS
    assert parts[TUNED]["e"] == HOLDS and parts[TUNED]["f"] == HOLDS
    assert parts[TUNED]["a"] == HOLDS and parts[TUNED]["c"] == HOLDS
    assert any(f.startswith("search tanh N 5 (search): best learning rate 0.3 (at the top edge")
               for f in verdicts[AS_RUN].findings)  # the findings go with the primary
    sigmoid = next(s.run_id for s in c.tuning if s.label == "sigmoid 5 (search)")
    for trial in results[sigmoid]["search"]["trials"]:
        trial["score"] = 0.1  # every rate at chance: the tie goes to the lowest
    results[sigmoid]["search"]["best"] = 0.01
    found = c12.findings(c12.numbers(c, results))
    assert any(f.startswith("search sigmoid 5 (search): best learning rate 0.01, but no rate tried "
                            "took the arm above chance") for f in found)
    rows = sensitivity.table(numbers, c12.PROTOCOL)
    assert {r["setting"] for r in rows if r["variant"] == "as declared"} == {AS_RUN, TUNED}
    titles = [t[0] for t in c12.tables(numbers)]
    assert titles[-1].startswith("Learning-rate searches")
    arms = c12.tables(numbers)[0][2]
    assert [TUNED, "tanh N 5", "0.3"] == arms[-2][:3]
    table1 = c12.tables(numbers)[1][2]
    # tiny: 2 seeds, test 0.6 + 0.003 * seed as run, 0.8 + 0.003 * seed tuned
    assert table1[2][:2] == ["tanh N", "1.64"]
    errors = [float(cell.split(" ±")[0]) for cell in table1[2][2:]]
    assert errors == [pytest.approx(39.85, abs=0.051), pytest.approx(19.85, abs=0.051)]
    figure = c12.draw(c, numbers, {k: v.to_dict() for k, v in verdicts.items()})
    assert any("tuned" in ax.get_title() for ax in figure.axes)


def test_claim12_top_min_and_top_end_read_different_moments():
    escaped = glorot_result([(0, 0.5), (10, 0.02), (20, 0.3)])
    assert c12.top_min(escaped) == pytest.approx(0.02)
    assert c12.top_end(escaped) == pytest.approx(0.3)
    assert c12.METRICS["lower_min"].fn(escaped) == pytest.approx(0.5)


def test_claim12_percentile_from_the_monitors_histogram():
    values = np.random.default_rng(0).uniform(0, 1, 20_000)
    counts, edges = np.histogram(values, bins=40)
    got = c12.percentile({"counts": counts.tolist(), "edges": edges.tolist()}, 98)
    assert got == pytest.approx(np.percentile(values, 98), abs=1 / 40)
    assert c12.percentile(None, 98) is None
    assert c12.percentile({"counts": [0, 0], "edges": [0, 1, 2]}, 98) is None


# --- claim 13: Xavier against He -------------------------------------------------------------

def xavier_profile(depth, factor, gradient_gap, noise=0.0, seed=0):
    """A step-0 profile whose response is `factor ** (l - 1)` (l = 1 .. depth) times a
    noise and whose kernel gradients are `10 ** gradient_gap`."""
    rng = np.random.default_rng([int(1000 * factor), depth, seed])
    return {"layers": [{"layer": i, "response_rms": factor ** i * math.exp(noise * rng.normal()),
                        "kernel_rms": 10.0 ** gradient_gap, "error_rms": 1.0}
                       for i in range(depth)]}


def probe(factor, gap, seeds=(0, 1), depths=(30,), noise=0.01):
    return {"status": "ok", "probe": {str(d): {str(s): xavier_profile(d, factor, gap, noise, s)
                                               for s in seeds} for d in depths}}


def he_results(xavier_factor, xavier_gap, xavier_valid, he_valid=0.6):
    c = claim(13)
    out = {}
    for spec in c.runs:
        if spec.kind == "probe":
            he = spec.label.startswith("he")
            out[spec.run_id] = probe(1.0 if he else xavier_factor, -2.0 if he else xavier_gap)
        else:
            acc = he_valid if spec.label.startswith("he") else xavier_valid
            out[spec.run_id] = fakes.result("ok", spec.seed,
                                            {"valid_accuracy": acc + 0.004 * spec.seed},
                                            data={"n_valid": 5000})
    return out


def test_claim13_paper_like_numbers_hold_every_part():
    parts, verdict, numbers = outcomes(13, he_results(2 ** -0.5, -6.0, 0.1))
    assert parts == {"a": HOLDS, "b": HOLDS, "c": HOLDS, "d": HOLDS, "e": HOLDS}
    exponent = numbers["sweep"]["30"]["0"]["exponent"]
    assert exponent == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("factor, a, b", [
    (1.0, FAILS, HOLDS),           # no shrinkage: what Xavier intends
    (0.5, HOLDS, FAILS),           # a factor 2 a layer: the variance's, not the std's
    (2 ** -0.5, HOLDS, HOLDS),     # the paper's sqrt(2)
])
def test_claim13_the_shrinkage_is_judged_on_both_sides_of_sqrt2(factor, a, b):
    parts, _, _ = outcomes(13, he_results(factor, -6.0, 0.1))
    assert (parts["a"], parts["b"]) == (a, b)


def test_claim13_gradients_not_diminishing_and_xavier_training_fail_their_parts():
    parts, _, _ = outcomes(13, he_results(2 ** -0.5, -2.0, 0.6))
    assert parts["c"] == FAILS and parts["d"] == FAILS and parts["e"] == FAILS
    some = he_results(2 ** -0.5, -6.0, 0.1)
    # one Xavier seed trains: "stays at chance" is then undecided, not held
    c = claim(13)
    trained = [s for s in c.runs if s.label == "xavier 30" and s.seed == 1][0]
    some[trained.run_id] = fakes.result("ok", 1, {"valid_accuracy": 0.5}, data={"n_valid": 5000})
    parts, _, _ = outcomes(13, some)
    assert parts["d"] == INCONCLUSIVE


def test_claim13_slope_and_monitor_kernel_norms():
    assert c13.slope([0.0, -0.5, -1.0, -1.5]) == pytest.approx(-0.5)
    record = {"weights": {"dense_1/kernel": 2.0, "dense_0/kernel": 1.0, "dense_0/bias": 9.0,
                          "output/kernel": 5.0, "dense_10/kernel": 3.0}}
    assert c13.kernel_norms(record) == [1.0, 2.0, 3.0]
    assert c13.largest_gap([1e-4, 1e-3], [1.0, 1.0]) == pytest.approx(-3.0)
    assert c13.largest_gap([1.0], [1.0, 2.0]) is None


# --- sizes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (dict(born_dead_widths=(2, 3, 7)),
     r"Unknown born_dead_widths.*Received: born_dead_widths=\(2, 3, 7\)"),
    (dict(born_dead_depths=(2, 5)), r"leave out born_dead_depths 10.*Received"),
    (dict(glorot_depths=(4,)), r"leave out glorot_depths 5"),
    (dict(he_depths=(10, 35)), r"Unknown he_depths.*Received: he_depths=\(10, 35\)"),
    (dict(he_probe_depths=(10, 60)), r"leave out he_probe_depths 30"),
    (dict(born_dead_networks=0), r"Received: born_dead_networks=0"),
])
def test_an_unknown_width_or_depth_in_custom_sizes_is_one_line_before_any_work(
        change, message, tmp_path):
    bad = replace(PRESETS["tiny"], **change)
    with pytest.raises(SizesError, match=message) as error:
        claims(sizes=bad)
    assert "\n" not in str(error.value)
    out = tmp_path / "out"
    with pytest.raises(SizesError, match=message):
        reproduce("tiny", out, claim_ids=[11], sizes=bad, progress=lambda line: None)
    assert not out.exists()


def test_the_report_puts_the_papers_claims_under_their_own_heading_with_sources(
        tmp_path, monkeypatch):
    from actkeras.experiments.report import write_report

    for claim_id in (10, 11):  # no figures: the sections are what is tested
        monkeypatch.setattr(module(claim_id), "draw", lambda *args: None)
    chosen = claims("tiny", ids=[10, 11])
    payload = write_report(chosen, {}, tmp_path, preset="tiny", wall_seconds=1.0, executed=set())
    report = (tmp_path / "report.md").read_text()
    assert report.index("## Claim 10:") < report.index("## Beyond the threads") \
        < report.index("### Claim 11:")
    assert "Lu, L., Shin, Y., Su, Y. and Karniadakis, G. E. (2020)" in report
    summary = (tmp_path / "summary.md").read_text()
    assert "| 11 | Deep narrow ReLU networks are born dead |" in summary
    assert [c["id"] for c in payload["claims"]] == [10, 11]
