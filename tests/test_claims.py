"""The claims' own measurements on hand-made results, and their verdicts through the one
judge: claim 1's training-accuracy window, claim 2's chance rule, claims 3 and 4's step-0
probes, claim 5's better ReLU arm, claim 6's unit bookkeeping, claim 7's change in zeros,
claim 8's invocations, claim 9's linear comparator, claim 10's steps to a target; and
every claim's runs for every preset (shared runs shared, searched rates used)."""

import math

import pytest

import fakes
from actkeras.experiments import decide
from actkeras.experiments.claims import PRESETS, claims, module
from actkeras.experiments.claims import c01_course as c1
from actkeras.experiments.claims import c06_dying as c6
from actkeras.experiments.claims import c07_sparsity as c7
from actkeras.experiments.claims import c08_cost as c8
from actkeras.experiments.claims import c10_speed as c10
from actkeras.experiments.claims import deep
from actkeras.experiments.rules import AS_RUN, TUNED
from actkeras.experiments.stats import FAILS, HOLDS


def claim(claim_id, preset="tiny", tuned=None):
    return [c for c in claims(preset, tuned=tuned, ids=[claim_id])][0]


def verdicts(claim_id, results, preset="tiny", tuned=None):
    c = claim(claim_id, preset, tuned)
    mod = module(claim_id)
    numbers = mod.numbers(c, results)
    return decide.judge(numbers, mod.PROTOCOL, findings=mod.findings(numbers)), numbers


def results_for(c, make):
    """`{run_id: make(spec)}` over a claim's runs (the first spec of each id)."""
    out = {}
    for spec in c.runs:
        out.setdefault(spec.run_id, make(spec))
    return out


# --- runs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_builds_every_claim_and_shares_runs_by_content(preset):
    built = claims(preset)
    assert [c.id for c in built] == list(range(1, 14))
    by_id = {}
    for c in built:
        for spec in (*c.runs, *c.tuning):
            by_id.setdefault(spec.run_id, spec.content())
            assert by_id[spec.run_id] == spec.content()
    course = {s.run_id for s in claim(1, preset).runs if s.label in ("relu", "sigmoid")}
    assert course <= {s.run_id for s in claim(7, preset).runs}
    assert course <= {s.run_id for s in claim(10, preset).runs}
    if PRESETS[preset].tuned:
        assert claim(1, preset).waiting and claim(1, preset).tuning
    else:
        assert not claim(1, preset).tuning and not claim(1, preset).waiting


def test_searched_rates_become_runs_with_fresh_seeds_and_the_same_run_when_equal():
    c = claim(1)
    search = {s.label: s for s in c.tuning}
    assert all(s.seed == 1000 and s.grid for s in search.values())
    tuned = {search["relu (search)"].run_id: 0.5, search["sigmoid (search)"].run_id: 5.0}
    after = claim(1, tuned=tuned)
    relu = {s.seed: s for s in after.runs if s.label == f"relu {TUNED}"}
    as_run = {s.seed: s for s in after.runs if s.label == "relu"}
    assert relu and all(relu[k].run_id == as_run[k].run_id for k in relu)  # 0.5 is as run
    sigmoid = [s for s in after.runs if s.label == f"sigmoid {TUNED}"]
    assert sigmoid and all(s.learning_rate == 5.0 and s.tuned_from for s in sigmoid)
    assert after.waiting == (f"softmax {TUNED}",)


# --- claim 1 ---------------------------------------------------------------------------------

def course_result(valid, train_points, seed=0, split=None):
    """A course run whose minibatch accuracy, accumulated from step 0, is `t` at each
    `(step, t)` of `train_points` (the last one the window's end, where the whole training
    split scored `split`, by default the last `t`)."""
    budgets = [{"step": 0, "valid_accuracy": valid}]
    budgets += [{"step": s, "valid_accuracy": valid, "minibatch_accuracy": t,
                 "minibatch_images": 128 * s} for s, t in train_points if s > 0]
    budgets[-1]["train_accuracy"] = train_points[-1][1] if split is None else split
    budgets += [{"step": 500, "valid_accuracy": valid}, {"step": 1000, "valid_accuracy": valid}]
    return fakes.result("ok", seed, {"valid_accuracy": valid, "train_accuracy": 1.0},
                        budgets=budgets, data={"n_valid": 1718})


def test_claim1_training_accuracy_is_the_minibatch_mean_over_the_budget_window():
    r = course_result(0.9, [(0, 0.1), (10, 0.5), (20, 0.7), (40, 0.6)], split=0.9)
    assert c1.window(r) == 40
    assert c1.train_budget_mean(r) == pytest.approx(0.6)  # every step's batch, 0 to 40
    assert c1.train_at_budget(r) == pytest.approx(0.9)  # the whole split at step 40
    del r["budgets"][3]["minibatch_accuracy"]  # the window's record lacks it: no value
    assert c1.train_budget_mean(r) is None


def test_claim1_parts_through_the_judge():
    c = claim(1)
    good = {"relu": (0.90, 0.8), "sigmoid": (0.85, 0.6), "softmax": (0.5, 0.3)}

    def make(spec):
        v, t = good.get(spec.label, (0.8, 0.7))
        return course_result(v + 0.001 * spec.seed, [(0, 0.1), (10, t), (40, t)], spec.seed)

    v, numbers = verdicts(1, results_for(c, make))
    parts = {p.key: p.outcome for p in v[AS_RUN].parts}
    assert parts == {"a": HOLDS, "b": HOLDS, "c": HOLDS, "d": HOLDS}
    assert v[TUNED].verdict == "undecided"  # its arms wait for their searches


def test_claim1_names_the_steps_its_runs_trained():
    # It said "3,001 steps" whatever the preset trained (the quick preset trains 300).
    def make(spec):
        run = course_result(0.9, [(0, 0.1), (10, 0.99), (40, 0.99)], spec.seed)
        run["config"] = {"steps": 300}
        return run

    v, numbers = verdicts(1, results_for(claim(1), make))
    assert numbers["steps"] == 300
    assert any(f.startswith("at the end of training (300 steps), training accuracy is at or "
                            "above 98 %") for f in v[AS_RUN].findings), v[AS_RUN].findings


# --- claim 2 ---------------------------------------------------------------------------------

def test_claim2_chance_is_the_binomial_test_so_a_19_percent_network_trained():
    c = claim(2)

    def make(spec):
        acc = {"relu glorot lr=0.01": 0.099, "sigmoid glorot lr=0.001": 0.1,
               "relu glorot lr=0.001": 0.099, "leaky_relu glorot lr=0.001": 0.19}.get(
                   spec.label, 0.85)
        return fakes.result("ok", spec.seed, {"valid_accuracy": acc + 0.001 * spec.seed},
                            data={"n_valid": 5000, "valid_majority": 0.1})

    v, _ = verdicts(2, results_for(c, make))
    parts = {p.key: p.outcome for p in v[AS_RUN].parts}
    assert parts == {"a": HOLDS, "b": HOLDS, "c": HOLDS, "d": HOLDS}
    leaky = [p for p in v[AS_RUN].parts if p.key == "d"][0]
    assert leaky.estimate["n"] == 2  # the 19 % runs are paired, not dropped
    assert any("leaky_relu glorot lr=0.001: at chance in 0 of 2" in f for f in v[AS_RUN].findings)


# --- claims 3 and 4: the step-0 probes -------------------------------------------------------

def probe_result(decay_kernel, decay_error, depths=(2, 4), seeds=(0, 1)):
    profiles = {str(d): {str(s): {"decay_kernel": decay_kernel + 0.01 * s,
                                  "decay_error": decay_error + 0.01 * s,
                                  "layers": [{"layer": 0, "kernel_rms": 1e-3, "error_rms": 1e-3,
                                              "zero_fraction": 0.0, "mean_derivative": 0.5,
                                              "saturated": {"0.01": 0.1, "0.05": 0.2,
                                                            "0.1": 0.3, "0.25": 0.4}}]}
                         for s in seeds} for d in depths}
    return {"status": "ok", "probe": profiles}


def test_claim3_reads_the_probes_at_the_judged_depth_and_scopes_the_weight_scale():
    c = claim(3)
    decays = {"sigmoid": (5.0, 4.8), "relu": (0.1, 0.1), "relu glorot": (0.0, 2.9),
              "sigmoid x8": (1.8, 0.9)}

    def make(spec):
        if spec.kind != "probe":
            return fakes.result("ok", spec.seed, {"valid_accuracy": 0.8})
        label = spec.label.replace(" (step 0)", "")
        return probe_result(*decays.get(label, (2.0, 2.0)))

    v, numbers = verdicts(3, results_for(c, make))
    assert [p.outcome for p in v[AS_RUN].parts] == [HOLDS, HOLDS, HOLDS]
    assert numbers["depth"] == 4
    assert any("cancel in the kernel gradient" in f for f in v[AS_RUN].findings)
    assert any("the initial weight scale" in f for f in v[AS_RUN].findings)


def test_claim4_undone_is_a_cut_below_a_decade_against_the_plain_sigmoid():
    c = claim(4)

    def make(spec):
        if spec.kind == "probe":
            label = spec.label.replace(" (step 0)", "")
            return probe_result(*{"sigmoid": (12.0, 12.0), "slope 4": (4.0, 4.0)}.get(label, (1, 1)))
        return fakes.result("ok", spec.seed, {"valid_accuracy": 0.85 if spec.activation == "relu"
                                              else 0.1})

    v, _ = verdicts(4, results_for(c, make))
    parts = {p.key: p.outcome for p in v[AS_RUN].parts}
    assert parts == {"a": HOLDS, "b": HOLDS, "c": FAILS}  # 8 decades cut: not undone
    assert [p.key for p in v[TUNED].parts] == ["b"]


def test_the_deep_arms_carry_their_weight_scale():
    assert deep.DEEP_ARMS["sigmoid x8"][3] == 8.0
    spec = [s for s in claim(3, "full").runs if s.kind == "probe"][0]
    assert spec.overrides["depths"] == (5, 10, 20, 40) and len(spec.overrides["seeds"]) == 10


# --- claim 5 ---------------------------------------------------------------------------------

def test_claim5_compares_with_the_better_relu_arm():
    c = claim(5)
    acc = {"sigmoid": 0.1, "sigmoid + BN": 0.855, "relu": 0.85, "relu + BN": 0.86}

    def make(spec):
        return fakes.result("ok", spec.seed, {"valid_accuracy": acc[spec.label] + 0.001 * spec.seed})

    v, numbers = verdicts(5, results_for(c, make))
    assert numbers["best_relu"][AS_RUN] == "relu + BN"
    parts = {p.key: p for p in v[AS_RUN].parts}
    assert parts["a"].outcome == HOLDS and parts["b"].outcome == HOLDS
    assert "relu + BN" in parts["b"].detail


# --- claim 6 ---------------------------------------------------------------------------------

UNITS = 100


def dead_record(step, off, trigger="batch_end"):
    return {"trigger": trigger, "step": step,
            "layers": {"activation_0": {"units": UNITS, "off_units": sorted(off)}}}


def dying(start, pulse_end, tail, seed=0, pulse=True, biases=None):
    """Records: step 0, the pulse's end (600), then `tail` (a list of off sets)."""
    recs = [dead_record(0, start, "train_begin"), dead_record(600, pulse_end)]
    recs += [dead_record(700 + 100 * i, off) for i, off in enumerate(tail)]
    spec = {"seed": seed, "overrides": {"lr_pulse": [0.03, 200, 600]} if pulse else {}}
    r = fakes.result("ok", seed, {"valid_accuracy": 0.8}, monitors={"dead": recs},
                     measures={"unit_biases": {"layers": {"dense_0": biases or [0.0] * UNITS}}})
    r["spec"] = spec
    return r


def test_claim6_died_means_off_for_the_last_records_and_stayed_reads_the_pulse():
    dead = set(range(30))
    flicker = [dead, dead | {50}, dead, dead | {50}, dead, dead, dead | {50}]
    t = c6.transitions(dying({99}, dead | {40, 41}, flicker))
    assert t["start"] == pytest.approx(0.01)
    assert t["died"] == pytest.approx(0.30)  # 50 is not off in every one of the last 6
    assert t["died_last"] == pytest.approx(0.31)
    assert t["revived"] == pytest.approx(0.01)  # unit 99
    assert t["stayed"] == pytest.approx(30 / 32)  # 40 and 41 came back
    assert c6.transitions(dying(set(), dead, flicker, pulse=False))["stayed"] is None


def test_claim6_bias_gap_reads_the_units_that_died():
    biases = [-2.0] * 30 + [0.5] * 70
    r = dying(set(), set(range(30)), [set(range(30))] * 6, biases=biases)
    assert c6.bias_gap(r) == pytest.approx(-2.5)


def test_claim6_parts_through_the_judge():
    c = claim(6)

    def make(spec):
        kill = {"relu lr 0.03": 60, "relu pulse": 50}.get(spec.label, 2)
        off = set(range(kill))
        return dying(set(), off, [off] * 6, seed=spec.seed, pulse="pulse" in spec.label)

    v, _ = verdicts(6, results_for(c, make))
    parts = {p.key: p.outcome for p in v[AS_RUN].parts}
    assert parts == {k: HOLDS for k in "abcdefg"}


# --- claim 7 ---------------------------------------------------------------------------------

def sparse(start, end, near, seed=0):
    stats_records = [{"trigger": "train_begin", "layers": {"activation_0": {"zero_fraction": start}}},
                     {"trigger": "epoch_end", "layers": {"activation_0": {"zero_fraction": end}}}]
    return fakes.result("ok", seed, {"valid_accuracy": 0.8}, monitors={"stats": stats_records},
                        measures={"sparsity": {"layers": {"activation_0": {
                            "units": 10, "near_zero_fraction": near, "below_0.05_fraction": near,
                            "zero_fraction": end}}}})


def test_claim7_judges_the_change_from_step_0_not_a_line_at_one_half():
    assert c7.zeros_gain(sparse(0.5, 0.78, 0.8)) == pytest.approx(0.28)
    c = claim(7)

    def make(spec):
        if spec.activation == "relu":
            gain = 0.28 if "glorot" not in spec.label else 0.03
            return sparse(0.5, 0.5 + gain + 0.001 * spec.seed, 0.8, spec.seed)
        return sparse(0.0, 0.0, 0.4 + 0.001 * spec.seed, spec.seed)

    v, _ = verdicts(7, results_for(c, make))
    assert {p.key: p.outcome for p in v[AS_RUN].parts} == {"a": HOLDS, "b": HOLDS, "c": HOLDS}
    assert {p.key: p.outcome for p in v["glorot"].parts}["a"] == FAILS


# --- claim 8 ---------------------------------------------------------------------------------

def cost_result(ratio, seed, relu_net=300e-6, negative_round=False):
    net = {"relu": [relu_net] * 4, "sigmoid": [ratio * relu_net] * 4, "elu": [ratio * relu_net] * 4}
    if negative_round:
        net["relu"][0] = -1e-6  # a round whose net time came out negative still counts
    raw = {k: [v + 400e-6 for v in vals] for k, vals in net.items()}
    return {"status": "ok", "spec": {"seed": seed},
            "measurements": {"backend": "tensorflow",
                             "op": {"net_seconds": net, "seconds": raw, "inner": 40}}}


def test_claim8_ratio_of_mean_net_times_keeps_every_round():
    r = cost_result(2.0, 0, negative_round=True)
    mean_relu = (3 * 300e-6 - 1e-6) / 4
    assert c8.log_ratio("sigmoid")(r) == pytest.approx(math.log10(600e-6 / mean_relu))
    assert c8.raw_gap_us("sigmoid")(r) == pytest.approx(1e6 * (600e-6 - mean_relu) / 40)


@pytest.mark.parametrize("ratio, expected", [(2.5, HOLDS), (0.8, FAILS)])
def test_claim8_is_judged_over_invocations(ratio, expected):
    c = claim(8)

    def make(spec):
        return cost_result(ratio * (1 + 0.01 * spec.seed), spec.seed)

    v, _ = verdicts(8, results_for(c, make))
    assert [p.outcome for p in v[AS_RUN].parts] == [expected, expected]
    assert "(n=2)" in v[AS_RUN].parts[0].detail


# --- claim 9 ---------------------------------------------------------------------------------

def test_claim9_compares_each_relu_seed_with_the_one_logistic_regression():
    c = claim(9)

    def make(spec):
        if spec.kind == "regression":
            mse = 0.2 if spec.activation == "linear" else 0.001 * (1 + 0.01 * spec.seed)
            return fakes.result("ok", spec.seed, measurements={"mse": mse})
        if spec.kind == "baseline":
            r = fakes.result("ok", 0, {"valid_accuracy": 0.85, "test_accuracy": 0.86})
            r["baseline"] = {"best_c": 0.1, "valid_accuracy": 0.85, "test_accuracy": 0.86}
            return r
        return fakes.result("ok", spec.seed, {"valid_accuracy": 0.89 + 0.001 * spec.seed},
                            budgets=[{"step": s, "valid_accuracy": 0.89} for s in (1, 2, 3)])

    v, numbers = verdicts(9, results_for(c, make))
    parts = {p.key: p for p in v[AS_RUN].parts}
    assert parts["a"].outcome == HOLDS and parts["b"].outcome == HOLDS
    assert parts["b"].estimate["n"] == 2
    assert any("C = 0.1 chosen on validation" in f for f in v[AS_RUN].findings)


# --- claim 10 --------------------------------------------------------------------------------

def curve_result(points, final, seed=0):
    return fakes.result("ok", seed, {"valid_accuracy": final},
                        budgets=[{"step": s, "valid_accuracy": v} for s, v in points])


def test_claim10_steps_to_the_target_read_at_the_budgets():
    r = curve_result([(0, 0.1), (1, 0.5), (2, 0.76), (4, 0.8)], 0.9)
    assert c10.steps_to(r, 0.75) == 2 and c10.steps_to(r, 0.95) is None
    assert c10.target([{0: r}, {0: curve_result([(0, 0.1)], 0.8)}], 0.9) == pytest.approx(0.72)


def test_claim10_faster_relu_holds_and_a_sigmoid_that_never_trains_is_no_part():
    c = claim(10)

    def make(spec):
        if spec.activation == "relu":
            pts = [(0, 0.1), (2, 0.5), (4, 0.82), (100, 0.88)]
        elif spec.label == "deep sigmoid x8" or spec.label == "course sigmoid":
            pts = [(0, 0.1), (4, 0.4), (40, 0.82), (100, 0.86)]
        else:
            pts = [(0, 0.1), (100, 0.1)]
        return curve_result(pts, pts[-1][1], spec.seed)

    v, numbers = verdicts(10, results_for(c, make))
    parts = {p.key: p.outcome for p in v[AS_RUN].parts}
    assert parts == {"a": HOLDS, "b": HOLDS}
    assert any("sigmoid on glorot_uniform" in f for f in v[AS_RUN].findings)
