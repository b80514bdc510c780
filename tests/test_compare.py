"""Two reproductions compared: verdicts, part outcomes, and every run's numbers exactly."""

import json

import pytest

from actkeras.experiments import compare


def _folder(root, name, verdict="reproduced", outcome="holds", accuracy=0.9, ratio="3.2x"):
    folder = root / name
    (folder / "runs").mkdir(parents=True)
    claims = [{"id": 1, "title": "one", "verdict": {"verdict": verdict, "parts": [
                  {"text": "a", "outcome": outcome, "detail": "0.9 vs 0.5"}]}},
              {"id": 8, "title": "cost", "verdict": {"verdict": "mixed", "parts": [
                  {"text": "alone", "outcome": "holds", "detail": ratio}]}}]
    (folder / "results.json").write_text(json.dumps(
        {"preset": "full", "claims": claims, "timing": {"wall_seconds": 60, "run_seconds": 100}}))
    run = {"spec": {"kind": "train"}, "metrics": {"valid_accuracy": accuracy},
           "timing": {"seconds": accuracy * 7}, "data": {"info": {"cache_file": name}}}
    (folder / "runs" / "train-a.json").write_text(json.dumps(run))
    (folder / "runs" / "train-a.config.json").write_text("{}")
    cost = {"spec": {"kind": "cost"}, "metrics": {"ratio": ratio}}
    (folder / "runs" / "cost-a.json").write_text(json.dumps(cost))
    return folder


def test_same_results_with_other_timings_and_cost_numbers_are_identical(tmp_path):
    first = _folder(tmp_path, "one")
    second = _folder(tmp_path, "two", ratio="2.8x")
    result = compare.compare(first, second)
    assert result["same_verdicts"]
    assert result["runs"]["identical"] == 1 and result["runs"]["timings"] == 1
    assert not result["runs"]["different"]
    text = compare.to_markdown(result)
    assert "**identical**" in text and "claim 8, alone: 3.2x (first); 2.8x (second)" in text
    assert str(tmp_path) not in text  # folder names only, no machine paths
    assert compare.main([str(first), str(second)]) == 0


def test_a_changed_number_or_part_outcome_is_reported(tmp_path):
    first = _folder(tmp_path, "one")
    second = _folder(tmp_path, "two", outcome="inconclusive", verdict="inconclusive",
                     accuracy=0.9000001)
    result = compare.compare(first, second)
    assert not result["same_verdicts"]
    assert result["runs"]["different"] == {
        "train-a.json": ["/metrics/valid_accuracy: 0.9 vs 0.9000001"]}
    text = compare.to_markdown(result)
    assert "**DIFFERENT**" in text and "| **no** |" in text
    assert compare.main([str(first), str(second)]) == 1


def test_a_folder_without_results_is_a_clear_error(tmp_path, capsys):
    first = _folder(tmp_path, "one")
    with pytest.raises(FileNotFoundError, match="finished `actkeras reproduce`"):
        compare.compare(first, tmp_path / "empty")
    assert compare.main([str(first), str(tmp_path / "empty")]) == 2
    assert "results.json does not exist" in capsys.readouterr().err
