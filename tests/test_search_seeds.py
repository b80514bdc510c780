"""scripts/search_seeds.py: the searches' picks by one seed and by the mean over seeds."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "search_seeds.py"
_SPEC = importlib.util.spec_from_file_location("search_seeds", _PATH)
search_seeds = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(search_seeds)

DATA = {"n_valid": 5000, "valid_majority": 0.1}


def _search(folder, run_id, label, trials, best, claim=1, status="ok"):
    result = {"run_id": run_id, "status": status, "data": DATA,
              "spec": {"claim": claim, "label": label, "seed": 1000, "grid": sorted(trials)},
              "search": {"best": best, "extension": {"rule": "the rule"}, "trials": [
                  {"learning_rate": rate, "score": score} for rate, score in trials.items()]}}
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    (folder / "runs" / f"{run_id}.json").write_text(json.dumps(result))
    (folder / "runs" / f"{run_id}.config.json").write_text("{}")  # not a result
    return result


def _seed(out, run_id, seed, scores):
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{run_id}-s{seed}.json").write_text(json.dumps(
        {"run_id": run_id, "seed": seed, "scores": {str(r): s for r, s in scores.items()}}))


def test_a_tie_goes_to_the_lower_rate_as_the_searches_break_it():
    assert search_seeds.pick({0.5: 0.8, 0.05: 0.8, 5.0: 0.7}) == 0.05
    assert search_seeds.pick({}) is None


def test_the_mean_pick_its_lead_and_the_leads_standard_error_over_paired_seeds():
    by_seed = {1000: {0.1: 0.90, 1.0: 0.91, 10.0: 0.1},
               1001: {0.1: 0.90, 1.0: 0.86, 10.0: 0.1},
               1002: {0.1: 0.92, 1.0: 0.88, 10.0: 0.1, 100.0: 0.0}}  # 100 not scored by all
    s = search_seeds.summary(by_seed)
    assert s["rates"] == [0.1, 1.0, 10.0]
    assert s["mean_pick"] == 0.1 and s["runner_up"] == 1.0
    assert s["seed_picks"] == {1000: 1.0, 1001: 0.1, 1002: 0.1}
    gaps = [-0.01, 0.04, 0.04]
    assert s["lead"] == pytest.approx(sum(gaps) / 3)
    mean = sum(gaps) / 3
    sd = math.sqrt(sum((g - mean) ** 2 for g in gaps) / 2)
    assert s["se"] == pytest.approx(sd / math.sqrt(3))


def test_one_seed_has_no_standard_error_and_one_rate_no_lead():
    assert search_seeds.summary({1000: {0.1: 0.9, 1.0: 0.8}})["se"] is None
    alone = search_seeds.summary({1000: {0.1: 0.9}, 1001: {0.1: 0.7}})
    assert alone["mean_pick"] == 0.1 and alone["lead"] is None


def test_the_recorded_seed_is_completed_by_the_scored_rates_and_unfinished_trials_dropped(
        tmp_path):
    result = _search(tmp_path / "f", "tune-a", "relu (search)", {0.1: 0.9, 1.0: None}, 0.1)
    _seed(tmp_path / "out", "tune-a", 1000, {5.0: 0.5})  # a rate only the other backend tried
    _seed(tmp_path / "out", "tune-a", 1001, {0.1: 0.8, 1.0: 0.85, 5.0: None})
    _seed(tmp_path / "out", "tune-b", 1001, {0.1: 0.1})  # another search's
    assert search_seeds.seed_scores(result, tmp_path / "out") == {
        1000: {0.1: 0.9, 5.0: 0.5}, 1001: {0.1: 0.8, 1.0: 0.85}}


def test_the_table_counts_where_the_backends_picks_agree(tmp_path, capsys):
    for name, one, scores in (("tf", 0.1, {0.1: 0.90, 1.0: 0.89}),
                              ("jax", 1.0, {0.1: 0.88, 1.0: 0.89})):
        _search(tmp_path / name, "tune-a", "relu (search)", scores, one)
        _seed(tmp_path / f"{name}-out", "tune-a", 1001, {0.1: 0.95, 1.0: 0.80})
        _search(tmp_path / name, "tune-b", "sigmoid (search)", {0.5: 0.7, 5.0: 0.8}, 5.0)
        _search(tmp_path / name, "tune-d", "tanh (search)", {0.5: 0.1, 5.0: 0.105}, 5.0)
        _search(tmp_path / name, "tune-c", "failed", {0.5: 0.7}, 0.5, status="failed")
    target, picture = tmp_path / "table.md", tmp_path / "searches.png"
    search_seeds.main(["write", "--backend", "tf", str(tmp_path / "tf"), str(tmp_path / "tf-out"),
                       "--backend", "jax", str(tmp_path / "jax"), str(tmp_path / "jax-out"),
                       "--write", str(target), "--figure", str(picture)])
    text = target.read_text()
    assert picture.read_bytes().startswith(b"\x89PNG") and "](searches.png)" in text
    assert "| 1 | relu | 0.1 | 0.1 (not widened) | 0.1, 0.1 |" in text
    # relu: leads of 1 and 15 points (tf), -1 and 15 (jax), inside two SE; sigmoid: one seed
    assert "more than two standard errors in 0 (tf), 0 (jax)." in text
    assert "Seeds, by searches and backends: 1000 (4 of 6); 1000, 1001 (2 of 6)." in text
    assert "| **no** | yes |" in text  # the one-seed picks disagree, the mean picks agree
    assert "failed" not in text
    assert "| 1 | tanh | 5 | 5 (at chance) | 5 |" in text  # 10.5 % of 5,000: not above chance
    assert ("Of 3 searches, the backends' one-seed picks agree in 2, their mean picks in 3; of "
            "the 2 in which the mean pick left chance on every backend, in 1 and 2." in text)
    assert text in capsys.readouterr().out


def test_the_figure_has_a_panel_for_each_search_it_is_given(tmp_path, monkeypatch):
    from actkeras import atomic

    seen = []
    monkeypatch.setattr(atomic, "write_figure", lambda path, fig, dpi=110: seen.append(
        [ax.get_title() for ax in fig.axes if ax.get_visible()]))
    scores = {"tf": {1000: {0.1: 0.8, 1.0: 0.9}, 1001: {0.1: 0.7, 1.0: 0.9}},
              "jax": {1000: {0.1: 0.85, 1.0: 0.0}}}
    search_seeds.figure([(f"claim 1: arm {k}", scores) for k in range(5)], tmp_path / "f.png")
    assert seen == [[f"claim 1: arm {k}" for k in range(5)]]  # 5 panels of a 2 x 4 grid shown


def test_a_table_already_written_is_kept_unless_overwrite_is_asked(tmp_path, capsys):
    _search(tmp_path / "tf", "tune-a", "relu (search)", {0.1: 0.9}, 0.1)
    target = tmp_path / "table.md"
    target.write_text("mine")
    args = ["write", "--backend", "tf", str(tmp_path / "tf"), str(tmp_path / "out"),
            "--write", str(target)]
    with pytest.raises(SystemExit) as stop:
        search_seeds.main(args)
    assert stop.value.code == 2 and "pass --overwrite" in capsys.readouterr().err
    assert target.read_text() == "mine"
    search_seeds.main(args + ["--overwrite"])
    assert "| 1 | relu | 0.1 |" in target.read_text()
    picture = tmp_path / "mine.png"
    picture.write_text("mine")
    with pytest.raises(SystemExit) as stop:
        search_seeds.main(args[:-1] + [str(tmp_path / "new.md"), "--figure", str(picture)])
    assert stop.value.code == 2 and "mine.png exists" in capsys.readouterr().err
    assert picture.read_text() == "mine" and not (tmp_path / "new.md").exists()


@pytest.mark.parametrize("extra, message", [
    (["--part", "2/2"], "--part is K/N"), (["--part", "x"], "--part is K/N"),
    (["--check", "tune-zzz"], "no search 'tune-zzz'")])
def test_bad_input_is_one_line_before_any_training(tmp_path, capsys, extra, message):
    _search(tmp_path / "f", "tune-a", "relu (search)", {0.1: 0.9}, 0.1)
    with pytest.raises(SystemExit) as stop:
        search_seeds.main(["run", str(tmp_path / "f"), "--out", str(tmp_path / "out"), *extra])
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_folder_without_searches_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        search_seeds.main(["run", str(tmp_path), "--out", str(tmp_path / "out")])
    assert stop.value.code == 2 and "holds no finished search" in capsys.readouterr().err


def test_the_variant_is_a_copy_whose_searches_pick_by_the_mean(tmp_path, capsys):
    folder = tmp_path / "f"
    _search(folder, "tune-a", "relu (search)", {0.1: 0.90, 1.0: 0.91}, 1.0)
    (folder / "manifest.json").write_text('{"tool": "actkeras reproduce"}')
    (folder / "runs" / "train-x.json").write_text('{"run_id": "train-x"}')
    _seed(tmp_path / "out", "tune-a", 1001, {0.1: 0.92, 1.0: 0.0})
    search_seeds.main(["variant", str(folder), str(tmp_path / "out"), str(tmp_path / "v")])
    made = json.loads((tmp_path / "v" / "runs" / "tune-a.json").read_text())
    assert made["search"]["best"] == 0.1
    assert [(t["learning_rate"], t["status"]) for t in made["search"]["trials"]] == [
        (0.1, "ok"), (1.0, "ok")]
    assert made["search"]["trials"][0]["score"] == pytest.approx(0.91)
    assert "2 runs per rate" in made["search"]["objective"]
    # 0.1, at the bottom edge, leads: the rule would widen it, which `run` does, not `variant`
    assert made["search"]["extension"] == {
        "rule": "the rule", "added": [], "side": "bottom", "at_cap": False,
        "stopped": "not widened (scripts/search_seeds.py)"}
    assert (tmp_path / "v" / "runs" / "train-x.json").read_text() == '{"run_id": "train-x"}'
    assert (tmp_path / "v" / "manifest.json").exists()
    assert json.loads((folder / "runs" / "tune-a.json").read_text())["search"]["best"] == 1.0
    with pytest.raises(SystemExit) as stop:
        search_seeds.main(["variant", str(folder), str(tmp_path / "out"), str(tmp_path / "v")])
    assert stop.value.code == 2 and "goes to a new folder" in capsys.readouterr().err
    # A tuned run `reproduce` made in the variant is kept, and a new variant starts with it.
    (tmp_path / "v" / "runs" / "train-new.json").write_text("made")
    search_seeds.main(["keep", str(folder), str(tmp_path / "out"), str(tmp_path / "v")])
    assert [p.name for p in (tmp_path / "out" / "runs").iterdir()] == ["train-new.json"]
    search_seeds.main(["variant", str(folder), str(tmp_path / "out"), str(tmp_path / "v2")])
    assert (tmp_path / "v2" / "runs" / "train-new.json").read_text() == "made"


def test_the_grid_extension_rule_reads_the_mean_scores():
    result = {"spec": {"grid": [0.5, 1.5, 5.0]}, "data": DATA}
    assert search_seeds.extension(result, {0.5: 0.8, 1.5: 0.85, 5.0: 0.9})["next"] == 15.8
    assert search_seeds.extension(result, {0.5: 0.8, 1.5: 0.9, 5.0: 0.85})["next"] is None
    at_chance = search_seeds.extension(result, {0.5: 0.1, 1.5: 0.1, 5.0: 0.105})
    assert at_chance["next"] is None and "no rate left chance" in at_chance["stopped"]


def test_a_search_is_widened_on_its_seeds_until_the_mean_best_is_inside(tmp_path, monkeypatch):
    result = _search(tmp_path / "f", "tune-a", "relu (search)", {0.5: 0.8, 1.5: 0.85, 5.0: 0.9},
                     5.0)
    out = tmp_path / "out"
    _seed(out, "tune-a", 1001, {0.5: 0.8, 1.5: 0.86, 5.0: 0.9})
    made = []

    def score(spec, seed, rates, cache, folder, name=None):  # 15.8 is best, 50 worse
        made.append((seed, tuple(rates), name))
        scores = {str(rate): {15.8: 0.95, 50.0: 0.5}[rate] for rate in rates}
        Path(folder, f"tune-a-s{seed}-{name}.json").write_text(
            json.dumps({"seed": seed, "scores": scores}))

    monkeypatch.setattr(search_seeds, "_score", score)
    spec = type("Spec", (), {"run_id": "tune-a"})()
    assert search_seeds._extend(spec, result, [1000, 1001], None, out) == [15.8, 50.0]
    assert made == [(1000, (15.8,), "lr15.8"), (1001, (15.8,), "lr15.8"),
                    (1000, (50.0,), "lr50"), (1001, (50.0,), "lr50")]
    assert search_seeds.summary(search_seeds.seed_scores(result, out))["mean_pick"] == 15.8


def _part(key, outcome):
    return {"key": key, "outcome": outcome, "text": f"part {key}"}


def _verdicts(folder, backend, tuned_a, tuned_b="holds"):
    folder.mkdir(parents=True, exist_ok=True)
    claims = [{"id": 1, "title": "ReLU vs sigmoid", "verdicts": {
        "as run": {"verdict": "reproduced", "parts": [_part("a", "holds")]},
        "tuned": {"verdict": "reproduced" if tuned_a == tuned_b == "holds" else "mixed",
                  "parts": [_part("a", tuned_a), _part("b", tuned_b)]},
    }}]
    (folder / "results.json").write_text(json.dumps(
        {"preset": "full", "environment": {"backend": backend}, "claims": claims}))


def test_the_verdicts_that_move_with_the_mean_picks_and_the_backends_agreement(tmp_path):
    for name, one, mean in (("tf", "does not hold", "holds"), ("jax", "holds", "holds")):
        _search(tmp_path / name, "tune-a", "relu (search)", {0.1: 0.9}, 0.1)
        _verdicts(tmp_path / name, name, one)
        _verdicts(tmp_path / f"{name}-v", name, mean)
    backends = [(name, tmp_path / name, tmp_path / f"{name}-out") for name in ("tf", "jax")]
    lines = search_seeds.verdict_lines(backends, {n: tmp_path / f"{n}-v" for n in ("tf", "jax")})
    rows = [line for line in lines if line.startswith("| 1.")]
    assert rows == ["| 1. ReLU vs sigmoid | tuned | mixed (a: does not hold, b: holds) | "
                    "reproduced (a: holds, b: holds) | reproduced (a: holds, b: holds) | "
                    "reproduced (a: holds, b: holds) |"]  # "as run" did not move: not listed
    assert lines[-1] == ("Between tf and jax: with one-seed searches, 1 of 2 verdicts and 2 of 3 "
                         "parts agree; with mean picks, 2 of 2 verdicts and 3 of 3 parts agree.")


def test_a_rate_that_fails_on_a_seed_ends_the_widening(tmp_path, monkeypatch):
    result = _search(tmp_path / "f", "tune-a", "relu (search)", {0.5: 0.8, 1.5: 0.85, 5.0: 0.9},
                     5.0)
    made = []

    def score(spec, seed, rates, cache, folder, name=None):  # 15.8 does not finish
        made.append(seed)
        Path(folder, f"tune-a-s{seed}-{name}.json").write_text(
            json.dumps({"seed": seed, "scores": {str(rate): None for rate in rates}}))

    monkeypatch.setattr(search_seeds, "_score", score)
    spec = type("Spec", (), {"run_id": "tune-a"})()
    assert search_seeds._extend(spec, result, [1000], None, tmp_path / "f") == [15.8]
    assert made == [1000]
