"""The protocol's grid-extension rule: a learning-rate search whose best rate lies at an
edge of its grid tries one grid step further on that side, one rate at a time, until the
best is inside the rates tried or the cap is reached; the added rates resume like the
grid's own, and the report says which were added and why."""

import json
import math

import pytest

from actkeras.experiments import search as search_module
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims import claims
from actkeras.experiments.protocol import GridExtension
from actkeras.experiments.rules import GRID_EXTENSION
from actkeras.experiments.runner import DataCache, read_result, result_path, run_one
from actkeras.experiments.search import extension_folder, search_learning_rate

GRID = (0.05, 0.15, 0.5, 1.5, 5.0)
RULE = GridExtension(cap=3)


def trials(scores, grid=GRID):
    return [{"learning_rate": r, "score": s} for r, s in zip(grid, scores)]


def test_the_grid_step_is_its_own_ratio_and_rates_keep_three_digits():
    assert RULE.step(GRID) == pytest.approx(math.sqrt(10))
    assert [RULE.rate(GRID, "top", k) for k in (1, 2, 3)] == [15.8, 50.0, 158.0]
    assert [RULE.rate(GRID, "bottom", k) for k in (1, 2)] == [0.0158, 0.005]
    assert RULE.rate((0.005, 0.05, 0.5), "bottom", 1) == 0.0005


def test_a_best_at_the_top_edge_is_extended_upwards():
    state = RULE.next_rate(GRID, trials([0.81, 0.82, 0.83, 0.86, 0.89]))
    assert state == {"next": 15.8, "side": "top", "stopped": None, "at_cap": False}


def test_a_best_at_the_bottom_edge_is_extended_downwards():
    state = RULE.next_rate(GRID, trials([0.9, 0.8, 0.7, 0.6, 0.0]))
    assert state["next"] == 0.0158 and state["side"] == "bottom"


def test_the_extension_stops_once_the_best_is_inside():
    done = trials([0.81, 0.82, 0.83, 0.86, 0.89]) + [{"learning_rate": 15.8, "score": 0.88}]
    state = RULE.next_rate(GRID, done)
    assert state["next"] is None and not state["at_cap"] and "inside" in state["stopped"]
    # A diverged added rate (scored 0) ends it the same way.
    diverged = done[:-1] + [{"learning_rate": 15.8, "score": 0.0}]
    assert RULE.next_rate(GRID, diverged)["next"] is None


def test_the_extension_stops_at_the_cap_and_says_so():
    climbing = trials([0.81, 0.82, 0.83, 0.86, 0.89]) + [
        {"learning_rate": 15.8, "score": 0.9}, {"learning_rate": 50.0, "score": 0.91}]
    assert RULE.next_rate(GRID, climbing)["next"] == 158.0
    climbing.append({"learning_rate": 158.0, "score": 0.92})
    state = RULE.next_rate(GRID, climbing)
    assert state["next"] is None and state["at_cap"] and "cap" in state["stopped"]
    assert GRID_EXTENSION.cap == 3 and GRID_EXTENSION.reason and GRID_EXTENSION.cap_reason


def test_scores_that_point_nowhere_are_not_extended():
    chance = trials([0.099, 0.099, 0.099, 0.099, 0.101])
    state = RULE.next_rate(GRID, chance, trained=lambda score: score > 0.2)
    assert state["next"] is None and "chance" in state["stopped"]
    tie = trials([0.5, 0.6, 0.7, 0.8, 0.8])  # the tie goes to the lower rate, inside
    assert RULE.next_rate(GRID, tie)["next"] is None
    bottom_tie = trials([0.8, 0.8, 0.7, 0.6, 0.5])
    assert RULE.next_rate(GRID, bottom_tie)["next"] is None


# --- a real keras-tuner search, its trainings replaced by a score of the rate ---------------

def tiny_search():
    claim = claims("tiny", ids=[1])[0]
    return next(s for s in claim.tuning if s.activation == "relu")


@pytest.fixture
def scored_by_rate(monkeypatch):
    """Every trial's training replaced by a score peaking at `peak["rate"]` (in log rate);
    `peak["trained"]` lists the rates trained."""
    peak = {"rate": 5.0, "trained": []}

    def fit(self, hp, model, *args, **kwargs):
        rate = hp.get("learning_rate")
        peak["trained"].append(rate)
        return {search_module.OBJECTIVE: 0.9 - 0.1 * abs(math.log10(rate / peak["rate"]))}

    monkeypatch.setattr(search_module.FinalScore, "fit", fit)
    return peak


def test_a_search_is_extended_to_its_best_and_resumes_without_training(tmp_path, scored_by_rate):
    spec = tiny_search()
    assert spec.grid == (0.15, 0.5, 1.5)  # the tiny preset's three rates, step sqrt(10)
    data = DataCache().get(spec)
    folder = tmp_path / "tuning" / spec.run_id
    found = search_learning_rate(spec, data, folder)
    rates = [t["learning_rate"] for t in found["trials"]]
    assert rates == [0.15, 0.5, 1.5, 4.74, 15.0]
    assert [t["added"] for t in found["trials"]] == [None, None, None, "top", "top"]
    assert found["best"] == 4.74 and found["extension"]["added"] == [4.74, 15.0]
    assert not found["extension"]["at_cap"] and "inside" in found["extension"]["stopped"]
    assert sorted(scored_by_rate["trained"]) == sorted(rates)

    scored_by_rate["trained"].clear()  # resumed: every trial is on disk, none is trained
    assert search_learning_rate(spec, data, folder) == found
    assert scored_by_rate["trained"] == []

    # Killed during its last added rate: only that one is trained again.
    import shutil

    shutil.rmtree(extension_folder(folder, 15.0))
    assert search_learning_rate(spec, data, folder) == found
    assert scored_by_rate["trained"] == [15.0]


def test_a_search_still_climbing_stops_at_the_cap_and_the_report_says_so(tmp_path,
                                                                          scored_by_rate):
    scored_by_rate["rate"] = 1000.0
    spec = tiny_search()
    found = search_learning_rate(spec, DataCache().get(spec), tmp_path / spec.run_id,
                                 rule=GridExtension(cap=1))
    assert [t["learning_rate"] for t in found["trials"]] == [0.15, 0.5, 1.5, 4.74]
    assert found["best"] == 4.74 and found["extension"]["at_cap"]
    claim = claims("tiny", ids=[1])[0]
    numbers = c.search_numbers(claim, {spec.run_id: {"status": "ok", "search": found}})
    entry = numbers[spec.label]
    assert entry["at_cap"] and entry["added"] == {4.74: "top"}
    note = c.search_note(entry)
    assert "added 4.74" in note and "cap" in note and "bound" in note
    tie = dict(entry, best=1.5, at_cap=False, scores=[0.1, 0.2, 0.9, 0.9])
    assert "4.74 scored exactly as 1.5" in c.search_note(tie)
    title, header, rows = c.search_table({"searches": numbers})
    assert header[1:5] == ["lr 0.15", "lr 0.5", "lr 1.5", "lr 4.74 (added)"]
    [row] = rows
    assert row[4] != "–" and "cap" in row[-1]


def test_a_finished_search_from_before_the_rule_is_resumed_and_widened(tmp_path,
                                                                      scored_by_rate):
    spec = tiny_search()
    found = search_learning_rate(spec, DataCache().get(spec), tmp_path / "tuning" / spec.run_id,
                                 rule=GridExtension(cap=0))  # the grid alone, as before
    assert found["best"] == 1.5 and found["extension"]["at_cap"]
    result = run_one(spec, tmp_path)  # written by today's rule: reused as it is
    assert read_result(result_path(tmp_path, spec), spec)[0] is not None
    assert result["search"]["best"] == 4.74
    old = dict(result, search={k: v for k, v in result["search"].items() if k != "extension"})
    result_path(tmp_path, spec).write_text(json.dumps(old))
    again, why = read_result(result_path(tmp_path, spec), spec)
    assert again is None and "grid-extension" in why
    scored_by_rate["trained"].clear()
    resumed = run_one(spec, tmp_path)["search"]
    assert scored_by_rate["trained"] == []  # the grid's and the added trials, all reused
    # The time the earlier invocation spent on it is kept (the report sums it).
    assert resumed == {**result["search"], "earlier_seconds": result["timing"]["seconds"]}
    from actkeras.experiments.compare import run_digest

    assert run_digest({"search": resumed}) == run_digest({"search": result["search"]})


def test_a_search_finding_sets_its_lead_beside_the_judged_seeds_spread():
    # Claim 1's ReLU search in the committed report: 1.5 led 0.5 by 0.12 points in one run
    # each, while the judged seeds at 1.5 spread by about half a point.
    search = {"rates": [0.05, 0.15, 0.5, 1.5, 5.0], "best": 1.5, "added": {},
              "scores": [0.8609, 0.8882, 0.8917, 0.8929, 0.0]}
    seeds = {0: 0.872, 1: 0.873, 2: 0.882, 3: 0.885, 4: 0.879}
    close = c.search_margin(search, seeds)
    assert close.startswith("it led the next best rate, 0.5, by 0.1 points (one run each)")
    assert "less than the spread of the arm's 5 judged seeds at 1.5" in close
    assert "another seed could reverse" in close
    clear = c.search_margin(dict(search, scores=[0.80, 0.85, 0.86, 0.95, 0.0]), seeds)
    assert "by 9.0 points" in clear and "more than the spread" in clear
    assert "reverse" not in clear
    tiny = c.search_margin(dict(search, scores=[0.8, 0.8, 0.8928, 0.8930, 0.0]), seeds)
    assert "by 0.02 points" in tiny  # a lead under 0.1 point is not printed as 0.0
    # No judged seeds (or one): the lead alone; a diverged seed is not a value.
    lead = "it led the next best rate, 0.5, by 0.1 points (one run each)"
    assert c.search_margin(search, {0: 0.87, 1: None}) == lead
    assert c.search_margin(search, None) == lead
    # A tie in the grid is said as a tie; one with an added rate is left to `search_note`.
    tied = dict(search, scores=[0.1, 0.2, 0.9, 0.9, 0.0], best=0.5)
    assert c.search_margin(tied, seeds) == "1.5 scored exactly as 0.5 (a tie goes to the lower rate)"
    assert c.search_margin(dict(tied, added={1.5: "top"}), seeds) == ""
    # Nothing to compare with: one rate scored, or none.
    assert c.search_margin({"rates": [0.5], "scores": [0.9], "best": 0.5}, seeds) == ""
    assert c.search_margin({"rates": [], "scores": [], "best": None}, seeds) == ""
    # In the findings, the search's arm is read from the tuned setting by its label.
    numbers = {"searches": {"relu (search)": dict(search, trains=True, grid=search["rates"])},
               "settings": {"tuned": {"relu": {"values": {"valid": seeds}}}}}
    [finding] = c.search_findings(numbers)
    assert finding.startswith("search relu (search): best learning rate 1.5 (it led")
    assert "5 judged seeds" in finding


@pytest.mark.parametrize("cut", ["oracle.json", "trial"])
def test_a_search_whose_saved_state_a_kill_cut_short_is_made_again(tmp_path, scored_by_rate,
                                                                    cut, capsys):
    # keras-tuner writes oracle.json and trial.json in place: an empty file (a kill inside
    # that write) made every rerun fail with a JSONDecodeError, for good.
    spec = tiny_search()
    data = DataCache().get(spec)
    folder = tmp_path / "tuning" / spec.run_id
    found = search_learning_rate(spec, data, folder)
    broken = folder / "oracle.json" if cut == "oracle.json" else next(folder.glob("trial_*/trial.json"))
    broken.write_text("")
    scored_by_rate["trained"].clear()
    assert search_learning_rate(spec, data, folder) == found
    assert "saved state is unreadable" in capsys.readouterr().err
    assert sorted(scored_by_rate["trained"]) == sorted(t["learning_rate"] for t in found["trials"])
