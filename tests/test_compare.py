"""Two reproductions compared: verdicts and part outcomes per setting, every run's numbers
exactly, claim 8's ratios by their intervals, copied runs refused; and the digest that
lets anyone check a repeat from the repository."""

import json

import pytest

from actkeras.experiments import compare


def _folder(root, name, verdict="reproduced", outcome="holds", accuracy=0.9,
            ratios=(0.4, 0.42, 0.38), invocation=None, backend="tensorflow", preset="full",
            code=None):
    folder = root / name
    (folder / "runs").mkdir(parents=True)
    parts = [{"key": "a", "text": "a", "outcome": outcome, "detail": "0.9 vs 0.5"}]
    cost = {"settings": {"as run": {"sigmoid": {"values": {"log_ratio": dict(enumerate(ratios))}}}}}
    claims = [{"id": 1, "title": "one", "verdicts": {"as run": {"verdict": verdict, "parts": parts},
                                                     "tuned": {"verdict": "reproduced",
                                                               "parts": parts}}},
              {"id": 8, "title": "cost", "numbers": cost,
               "verdicts": {"as run": {"verdict": "reproduced", "parts": parts}}}]
    (folder / "results.json").write_text(json.dumps(
        {"preset": preset, "claims": claims, "environment": {"backend": backend},
         "timing": {"wall_seconds": 60, "run_seconds": 100, "executed": 2, "reused": 0}}))
    run = {"spec": {"kind": "train"}, "metrics": {"valid_accuracy": accuracy},
           "timing": {"seconds": accuracy * 7, "invocation": invocation or name},
           "data": {"info": {"cache_file": name}}, "provenance": {"actkeras": "0.1.0"}}
    if code is not None:
        run["provenance"]["code"] = code
    (folder / "runs" / "train-a.json").write_text(json.dumps(run))
    (folder / "runs" / "train-a.config.json").write_text("{}")
    cost_run = {"spec": {"kind": "cost"}, "measurements": {"op": {"seconds": [accuracy]}},
                "timing": {"invocation": (invocation or name) + "-cost"}}
    (folder / "runs" / "cost-a.json").write_text(json.dumps(cost_run))
    return folder


def test_same_results_with_other_timings_are_identical_and_ratios_compared(tmp_path):
    first = _folder(tmp_path, "one")
    second = _folder(tmp_path, "two", ratios=(0.45, 0.5, 0.48))
    result = compare.compare(first, second)
    assert result["same_verdicts"]
    assert result["runs"]["identical"] == 1 and result["runs"]["timings"] == 1
    assert not result["runs"]["different"] and not result["runs"]["copied"]
    assert result["timing_ratios"]["sigmoid"]["overlap"]
    assert result["counts"] == [{"executed": 2, "reused": 0}] * 2
    text = compare.to_markdown(result)
    assert "**identical**" in text and "| 1. one | tuned | reproduced |" in text
    assert "Runs executed / reused by each invocation: 2 / 0 and 2 / 0" in text
    assert str(tmp_path) not in text  # folder names only, no machine paths
    assert compare.main([str(first), str(second)]) == 0


def test_a_changed_number_or_part_outcome_is_reported(tmp_path):
    first = _folder(tmp_path, "one")
    second = _folder(tmp_path, "two", verdict="mixed", outcome="does not hold", accuracy=0.8)
    result = compare.compare(first, second)
    assert not result["same_verdicts"]
    assert "train-a.json" in result["runs"]["different"]
    assert "**DIFFERENT**" in compare.to_markdown(result)
    assert compare.main([str(first), str(second)]) == 1


def test_a_copied_runs_folder_is_not_a_repeat(tmp_path):
    first = _folder(tmp_path, "one")
    second = _folder(tmp_path, "two", invocation="one")  # the same invocation ids
    result = compare.compare(first, second)
    assert result["runs"]["copied"] == ["cost-a.json", "train-a.json"]
    text = compare.to_markdown(result)
    assert not result["same_verdicts"] and "**2 copied**" in text
    assert "**identical** (but runs were copied: not a repeat)" in text
    assert compare.main([str(first), str(second)]) == 1


def test_fields_added_to_the_spec_since_a_run_compare_equal_at_their_old_value(tmp_path):
    # A run recorded before `eval_train_every` and `minibatch` existed, and its repeat,
    # whose spec has them at the value it had: the same numbers, the same digest.
    first, second = _folder(tmp_path, "one"), _folder(tmp_path, "two")
    path = second / "runs" / "train-a.json"
    run = json.loads(path.read_text())
    run["spec"].update(eval_train_every=True, minibatch=False)
    path.write_text(json.dumps(run))
    result = compare.compare(first, second)
    assert result["runs"]["identical"] == 1 and not result["runs"]["different"]
    assert compare.check_digest(compare.digest(first), second)["different"] == []
    run["spec"]["minibatch"] = True  # another value is another run
    path.write_text(json.dumps(run))
    assert compare.compare(first, second)["runs"]["different"]


def test_the_digest_checks_a_repeat_from_the_repository(tmp_path, capsys):
    first, second = _folder(tmp_path, "one"), _folder(tmp_path, "two")
    saved = compare.digest(first)
    assert set(saved["runs"]) == {"train-a.json"}  # timings are not digested
    assert compare.check_digest(saved, second)["different"] == []
    third = _folder(tmp_path, "three", accuracy=0.8)
    assert compare.check_digest(saved, third)["different"] == ["train-a.json"]
    path = tmp_path / "digest.json"
    assert compare.main(["--digest", str(first), "--write", str(path)]) == 0
    assert compare.main(["--check-digest", str(path), str(second)]) == 0
    assert compare.main(["--check-digest", str(path), str(third)]) == 1


def test_a_digest_that_is_missing_or_not_a_digest_is_one_clear_line(tmp_path, capsys):
    """A missing digest printed the raw `[Errno 2]` line; another JSON file a KeyError's
    traceback."""
    folder = _folder(tmp_path, "one")
    (tmp_path / "notes.md").write_text("# mine")
    (tmp_path / "manifest.json").write_text('{"tool": "actkeras reproduce"}')
    for name, problem in (("missing.json", "does not exist"), ("notes.md", "is not JSON"),
                          ("manifest.json", 'holds no digest (no "runs" table)'),
                          ("one", "is a folder")):
        assert compare.main(["--check-digest", str(tmp_path / name), str(folder)]) == 2
        err = capsys.readouterr().err
        assert err == (f"error: {tmp_path / name} {problem}" + err.split(problem, 1)[1]), err
        assert err.strip().endswith("(a reproduction's digest.json). Received: "
                                    f"{tmp_path / name}") and len(err.splitlines()) == 1


def test_write_never_replaces_a_file_unasked(tmp_path, capsys):
    """`--write` replaced any file there (a user's notes) without a word."""
    first, second = _folder(tmp_path, "one"), _folder(tmp_path, "two")
    notes = tmp_path / "notes.md"
    notes.write_text("mine")
    for argv in ([str(first), str(second)], ["--digest", str(first)]):
        with pytest.raises(SystemExit) as exit_:
            compare.main([*argv, "--write", str(notes)])
        assert exit_.value.code == 2 and notes.read_text() == "mine"
        assert "exists: pass --overwrite to replace it" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        compare.main(["--digest", str(first), "--write", str(tmp_path)])
    assert "is a folder: give a file name" in capsys.readouterr().err
    assert compare.main(["--digest", str(first), "--write", str(notes), "--overwrite"]) == 0
    assert json.loads(notes.read_text())["runs"]


def test_which_code_made_a_run_is_not_one_of_its_numbers(tmp_path):
    # A repeat by a later version of the package (another source digest, or none recorded
    # by the older runner) is identical where its numbers are: by the digest and by compare.
    first = _folder(tmp_path, "one")
    later = _folder(tmp_path, "later", code="abc123")
    again = _folder(tmp_path, "again", code="def456", accuracy=0.8)
    assert compare.check_digest(compare.digest(first), later)["different"] == []
    assert compare.compare(first, later)["runs"]["identical"] == 1
    assert compare.check_digest(compare.digest(later), again)["different"] == ["train-a.json"]


def test_a_folder_without_results_is_a_clear_error(tmp_path, capsys):
    assert compare.main([str(tmp_path), str(tmp_path)]) == 2
    assert "results.json does not exist" in capsys.readouterr().err


def test_two_backends_are_compared_by_verdicts_and_parts(tmp_path):
    tf = _folder(tmp_path, "quick", accuracy=0.9)
    jax = _folder(tmp_path, "quick-jax", accuracy=0.91, backend="jax", verdict="undecided",
                  outcome="undecided")
    result = compare.compare(tf, jax)
    assert result["backends"] == ["tensorflow", "jax"]
    # Claim 1's two settings and claim 8's one: 3 verdicts, 3 parts.
    assert result["agreement"]["settings"] == [2, 3] and result["agreement"]["parts"] == [0, 3]
    assert "claim 1 (as run), part (a): holds vs undecided" in result["agreement"]["differ"]
    text = compare.to_markdown(result)
    assert text.startswith("# Two `full` reproductions compared: tensorflow and jax")
    assert "Agreement: 2 of 3 verdicts (claim and setting) and 0 of 3 parts" in text
    assert "expected across backends" in text and "`train-a.json`:" not in text
    assert compare.main([str(tf), str(jax)]) == 1


def test_the_other_backends_folder_is_checked_before_it_joins_a_report(tmp_path):
    import pytest

    jax = _folder(tmp_path, "quick-jax", backend="jax", preset="quick")
    other = compare.other_backend(jax, "quick", "tensorflow")
    assert other["backend"] == "jax" and other["folder"] == "quick-jax"
    assert other["claims"][1]["verdicts"]["as run"]["verdict"] == "reproduced"
    with pytest.raises(ValueError, match="on the jax backend: --compare-with takes one on "
                                         "another backend than jax"):
        compare.other_backend(jax, "quick", "jax")
    with pytest.raises(ValueError, match="'quick' preset, not 'full'"):
        compare.other_backend(jax, "full", "tensorflow")
    with pytest.raises(ValueError, match="results.json does not exist") as raised:
        compare.other_backend(tmp_path / "nowhere", "quick", "tensorflow")
    assert str(raised.value).count("Received:") == 1, raised.value  # said once, not twice
    # Another number of seeds: its differences were marked "fragile on the jax backend".
    (jax / "manifest.json").write_text(json.dumps(
        {"tool": "actkeras reproduce", "preset": "quick", "backend": "jax",
         "selection": {"claims": "all", "seeds": 1}}))
    with pytest.raises(ValueError, match="with 1 seed per arm, this one has the preset's "
                                         "own seeds"):
        compare.other_backend(jax, "quick", "tensorflow")
    assert compare.other_backend(jax, "quick", "tensorflow", seeds=1)["backend"] == "jax"


def test_the_command_names_its_compare_with_option(tmp_path, capsys):
    from actkeras.cli import main

    jax = _folder(tmp_path, "quick-jax", backend="jax", preset="quick")
    assert main(["reproduce", "--preset", "quick", "--backend", "jax", "--compare-with",
                 str(jax), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith(f"another backend than jax. Received: --compare-with {jax}"), err
    assert "compare_with=" not in err
