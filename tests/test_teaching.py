"""The notebooks' helpers: warnings summarised per fit, mean ± sd, per-seed curves, and the
verdicts read back from a reproduction's results.json."""

import json
import warnings
from pathlib import Path

import pytest

from actkeras.callbacks.dead_relu import DeadUnitWarning
from actkeras.experiments.claims import MODULES
from actkeras.experiments.protocol import hashes
from actkeras.experiments.rules import VERSION, protocol
from actkeras.experiments.verdicts import (
    claim_lines,
    read_verdicts,
    reproduction_folder,
    verdict_table,
)
from actkeras.teaching import mean_sd, seed_curves, summarised_warnings


def test_fifty_layer_warnings_become_one_line():
    lines = []
    with summarised_warnings("relu, seed 0", show=lines.append) as caught:
        for layer in range(50):
            warnings.warn(DeadUnitWarning(f"12% of the units of layer 'activation_{layer}' are dead"))
        warnings.warn("a probe of 8 samples", UserWarning)
        warnings.warn("old", DeprecationWarning)  # a library's deprecation stays hidden
    assert len(caught) == 51
    assert lines == ["relu, seed 0: 50 DeadUnitWarnings, 1 UserWarning "
                     "(first: 12% of the units of layer 'activation_0' are dead)"]


def test_no_warning_no_line():
    lines = []
    with summarised_warnings("quiet", show=lines.append):
        pass
    assert lines == []


def test_summarised_warnings_refuses_a_show_that_is_not_callable():
    with pytest.raises(ValueError, match="Received: show='x'"):
        with summarised_warnings("a", show="x"):
            pass


def test_mean_sd_against_numpy():
    assert mean_sd([0.8, 0.9, 1.0]) == "0.900 ± 0.100 (n=3)"
    assert mean_sd([0.5, None, float("nan")]) == "0.500 (n=1)"
    assert mean_sd([]) == "n/a"
    assert mean_sd([0.1, 0.3], digits=1, percent=True) == "20.0 ± 14.1 % (n=2)"


def test_seed_curves_keeps_each_seed_and_skips_missing_values():
    records = {0: [{"step": 0, "acc": 0.1}, {"step": 10, "acc": None}, {"step": 20, "acc": 0.5}],
               1: [{"step": 0}]}
    assert seed_curves(records, "acc") == {0: ((0, 20), (0.1, 0.5)), 1: ((), ())}


def _write(folder, payload):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(payload))
    return folder


def _current_rules():
    per_claim, overall = hashes([protocol(i) for i in MODULES])
    return {"version": VERSION, "hash": overall, "claims": {str(k): v for k, v in per_claim.items()}}


def test_absent_results_give_no_verdict(tmp_path):
    found = read_verdicts(tmp_path / "none")
    assert found["status"] == "absent"
    assert "does not exist" in found["message"]
    assert all(c["verdicts"] == {} for c in found["claims"].values())
    assert sorted(found["claims"]) == sorted(MODULES)


def test_current_results_are_read_as_written(tmp_path):
    claims = [{"id": i, "title": f"t{i}", "verdicts": {"as run": {"verdict": "mixed"}}} for i in MODULES]
    folder = _write(tmp_path / "r", {"preset": "full", "claims": claims, "protocol": _current_rules(),
                                      "timing": {"finished": "2026-01-01"}})
    found = read_verdicts(folder)
    assert found["status"] == "current" and found["preset"] == "full"
    assert found["claims"][3] == {"title": "t3", "verdicts": {"as run": "mixed"}, "rules_changed": False,
                                  "fragile": None, "moved": None, "parts": {"as run": []},
                                  "parts_moved": []}


def test_results_under_other_rules_are_shown_and_flagged(tmp_path):
    rules = _current_rules()
    rules["claims"]["2"] = "0" * 12
    claims = [{"id": i, "title": f"t{i}", "verdicts": {"as run": {"verdict": "reproduced"}}}
              for i in MODULES if i != 13]
    found = read_verdicts(_write(tmp_path / "r", {"claims": claims, "protocol": rules}))
    assert found["status"] == "other rules"
    assert "Claims judged under other rules: 2." in found["message"]
    assert "Claims it does not judge: 13." in found["message"]
    assert found["claims"][2]["rules_changed"] and not found["claims"][1]["rules_changed"]
    assert found["claims"][13]["verdicts"] == {}
    assert found["claims"][13]["fragile"] is None and found["claims"][13]["parts"] == {}


def test_version_2_results_keep_their_single_verdict(tmp_path):
    claims = [{"id": 1, "title": "t1", "verdict": {"verdict": "inconclusive", "parts": []}}]
    found = read_verdicts(_write(tmp_path / "r", {"claims": claims}))
    assert found["status"] == "other rules"
    assert found["claims"][1]["verdicts"] == {"as run": "inconclusive"}


def test_unreadable_results_say_so(tmp_path):
    (tmp_path / "results.json").write_text("{not json")
    found = read_verdicts(tmp_path)
    assert found["status"] == "unreadable" and "could not be read" in found["message"]


def test_verdict_table_shows_the_file_and_says_where_it_has_nothing(tmp_path):
    rules = _current_rules()
    rules["claims"]["5"] = "0" * 12
    claims = [{"id": 3, "title": "t3", "verdicts": {"as run": {"verdict": "reproduced"},
                                                   "tuned": {"verdict": "mixed"}}},
              {"id": 5, "title": "t5", "verdicts": {"as run": {"verdict": "undecided"}}}]
    found = read_verdicts(_write(tmp_path / "r", {"claims": claims, "protocol": rules}))
    rows = verdict_table(found, {5: "five", 3: "three", 4: "four"}).splitlines()
    assert rows[0].endswith("| under the moved rules |")
    assert rows[2] == "| 5 | five | as run: **undecided** (judged under other rules) | – |"
    assert rows[3] == "| 3 | three | as run: **reproduced**; tuned: **mixed** | – |"
    assert rows[4] == "| 4 | four | no verdict in the file | – |"
    with pytest.raises(ValueError, match="no claim 99"):
        verdict_table(found, {99: "?"})


def _judged(claim_id, fragile, sensitivity):
    part = {"key": "a", "text": "ReLU beats sigmoid", "outcome": "undecided", "holds": None,
            "detail": "relu - sigmoid: +1.0 [+0.6, +1.5] pts (n=8); margin 1 pt (above)"}
    return {"id": claim_id, "title": f"t{claim_id}", "fragile": fragile, "sensitivity": sensitivity,
            "verdicts": {"as run": {"verdict": "undecided", "parts": [part]},
                         "tuned": {"verdict": "not reproduced", "parts": [dict(part, outcome="does not hold")]}}}


def test_the_fragile_mark_and_the_parts_are_read_and_shown(tmp_path):
    moved = [{"variant": "as declared", "setting": "as run", "verdict": "undecided", "moved": False},
             {"variant": "margins halved", "setting": "as run", "verdict": "reproduced", "moved": True},
             {"variant": "margins doubled", "setting": "as run", "verdict": "mixed", "moved": True}]
    steady = [{"variant": "as declared", "setting": "as run", "verdict": "undecided", "moved": False}]
    claims = [_judged(9, ["margins halved", "margins doubled"], moved), _judged(8, [], steady)]
    found = read_verdicts(_write(tmp_path / "r", {"claims": claims, "protocol": _current_rules()}))
    nine = found["claims"][9]
    assert nine["fragile"] == ["margins halved", "margins doubled"]
    assert nine["moved"] == [{"rule": "margins halved", "setting": "as run", "verdict": "reproduced"},
                             {"rule": "margins doubled", "setting": "as run", "verdict": "mixed"}]
    assert nine["parts"]["tuned"] == [{"key": "a", "text": "ReLU beats sigmoid", "outcome": "does not hold",
                                       "detail": "relu - sigmoid: +1.0 [+0.6, +1.5] pts (n=8); margin 1 pt (above)"}]
    assert found["claims"][8]["fragile"] == [] and found["claims"][8]["moved"] == []
    rows = verdict_table(found, {9: "nine", 8: "eight", 7: "seven"}).splitlines()
    assert rows[2] == ("| 9 | nine | as run: **undecided**; tuned: **not reproduced** | **fragile**: "
                       "margins halved (as run: reproduced); margins doubled (as run: mixed) |")
    assert rows[3].endswith("| robust |") and rows[4].endswith("| no verdict in the file | – |")
    lines = claim_lines(found, 9)
    assert lines[0] == "claim 9, as run: undecided"
    assert lines[1] == ("  (a) ReLU beats sigmoid: undecided; relu - sigmoid: +1.0 [+0.6, +1.5] pts (n=8); "
                        "margin 1 pt (above)")
    assert lines[2] == "claim 9, tuned: not reproduced"
    assert lines[-1] == ("  under the moved rules: fragile: margins halved (as run: reproduced); "
                         "margins doubled (as run: mixed)")
    assert claim_lines(found, 7) == ["claim 7: no verdict in the file"]
    with pytest.raises(ValueError, match="no claim 99"):
        claim_lines(found, 99)


def test_parts_a_moved_rule_changes_are_shown_even_where_the_verdict_stays(tmp_path):
    rows = [{"variant": "as declared", "setting": "as run", "verdict": "mixed", "moved": False,
             "parts": {"a": "holds", "b": "does not hold"}, "parts_moved": []},
            {"variant": "margins halved", "setting": "as run", "verdict": "mixed", "moved": False,
             "parts": {"a": "undecided", "b": "does not hold"}, "parts_moved": ["a"]},
            {"variant": "margins doubled", "setting": "tuned", "verdict": "mixed", "moved": False,
             "parts": {"a": "holds", "b": "undecided"}, "parts_moved": ["b"]}]
    claims = [_judged(6, [], rows), _judged(8, [], rows[:1])]
    found = read_verdicts(_write(tmp_path / "r", {"claims": claims, "protocol": _current_rules()}))
    assert found["claims"][6]["parts_moved"] == [
        {"rule": "margins halved", "setting": "as run", "parts": {"a": "undecided"}},
        {"rule": "margins doubled", "setting": "tuned", "parts": {"b": "undecided"}}]
    lines = claim_lines(found, 6)
    assert lines[-2:] == ["  parts a moved rule changes: margins halved, as run: (a) undecided; "
                          "margins doubled, tuned: (b) undecided", "  under the moved rules: robust"]
    assert found["claims"][8]["parts_moved"] == []
    assert not any("parts a moved rule" in line for line in claim_lines(found, 8))


def test_the_committed_reproduction_marks_its_fragile_claims():
    found = read_verdicts(Path(__file__).resolve().parents[1] / "reproduction" / "full")
    results = json.loads((Path(__file__).resolve().parents[1] / "reproduction" / "full"
                          / "results.json").read_text())
    for entry in results["claims"]:
        assert found["claims"][int(entry["id"])]["fragile"] == entry["fragile"]


def test_reproduction_folder_is_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("ACTKERAS_REPRODUCTION", raising=False)
    assert reproduction_folder() == Path(__file__).resolve().parents[1] / "reproduction" / "full"
    monkeypatch.setenv("ACTKERAS_REPRODUCTION", str(tmp_path))
    assert reproduction_folder() == tmp_path
