"""`reproduce` never overwrites or deletes what is not its own, and refuses bad input
before any run: a folder that is no reproduction (a `train` output's `runs/` included),
a README it cannot write or whose table is another preset's, `$ACTKERAS_DATA_DIR`
naming no folder; `--export` on finished runs says what to do; the data cache can be
turned off."""

from types import SimpleNamespace

import numpy as np
import pytest

from actkeras.cli import main
from actkeras.errors import UserError
from actkeras.experiments import pipeline
from actkeras.experiments.folder import prepare
from actkeras.experiments.readme import SUMMARY_END, SUMMARY_START, update_readme

FULL_BLOCK = (f"intro\n{SUMMARY_START}\n<!-- written by `actkeras reproduce --preset full "
              f"--readme`; do not edit by hand -->\n\n| 13 rows |\n\n{SUMMARY_END}\nrest\n")


@pytest.fixture
def no_run(monkeypatch):
    """`reproduce()` records its call instead of running: a refusal must come first."""
    calls = []
    monkeypatch.setattr(pipeline, "reproduce", lambda *a, **k: calls.append(k) or 0)
    return calls


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _user_project(tmp_path):
    out = tmp_path / "userproj"
    files = {"runs/train-udacity-relu/metrics.json": "{}", "report.md": "my report",
             "summary.md": "my summary", "results.json": '{"mine": 1}',
             "figures/claim11.png": "png", ".session.tmp": "session",
             "drafts/sub/.paper.tex.tmp": "paper"}
    for name, text in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    return out


def _one_error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("actkeras reproduce: error: "), err
    return lines[0]


def test_a_folder_with_a_train_runs_folder_is_no_reproduction(tmp_path, capsys, no_run):
    out = _user_project(tmp_path)
    before = _snapshot(out)
    assert main(["reproduce", "--preset", "tiny", "--claims", "11", "--quiet",
                 "--out", str(out)]) == 1
    assert "is not empty and holds no reproduction" in _one_error_line(capsys.readouterr().err)
    assert no_run == [] and _snapshot(out) == before
    with pytest.raises(UserError, match="holds no reproduction"):  # the API too
        prepare(out, "tiny", 4)
    assert _snapshot(out) == before


def test_another_programs_manifest_is_named_not_read_as_a_preset(tmp_path, capsys, no_run):
    out = tmp_path / "userproj2"
    out.mkdir()
    (out / "manifest.json").write_text('{"name": "my web app"}')
    assert main(["reproduce", "--preset", "tiny", "--out", str(out)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "holds a manifest.json that is not a reproduction's" in line and "None" not in line
    assert no_run == [] and (out / "manifest.json").read_text() == '{"name": "my web app"}'


def test_only_the_packages_own_leftovers_are_swept_where_it_writes(tmp_path):
    out = tmp_path / "rep"
    prepare(out, "tiny", 4)
    mine = {".session.tmp": "s", "drafts/sub/.paper.tex.tmp": "p", "drafts/.a.abcdefgh.tmp": "d",
            "notes.tmp": "n", ".report.20261207.old": "a dated backup",
            "runs/.notes.draft_v2.tmp": "r"}
    for name, text in mine.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    theirs = [".results.json.actkeras-ab_cd123.tmp", "runs/.train-x.json.actkeras-k2j4h5g6.tmp",
              "figures/.claim1.png.actkeras-abcdefgh.tmp",
              "tuning/tune-x/trial/.oracle.json.actkeras-zzzzzzzz.tmp"]
    for name in theirs:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("half")
    staging = out / "models" / ".train-x.actkeras-qwertyui.tmp"  # an export's folder, half built
    (staging / "model").mkdir(parents=True)
    assert prepare(out, "tiny", 4) == len(theirs) + 1
    assert not staging.exists() and not any((out / name).exists() for name in theirs)
    assert {name: (out / name).read_text() for name in mine} == mine


def _readme(tmp_path, text=FULL_BLOCK):
    readme = tmp_path / "README.md"
    readme.write_text(text)
    return readme


def test_readme_of_another_preset_is_refused_before_any_run(tmp_path, capsys, no_run):
    readme = _readme(tmp_path)
    args = ["reproduce", "--preset", "tiny", "--claims", "11", "--readme", str(readme),
            "--out", str(tmp_path / "new")]
    assert main(args) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "holds the summary of the full preset" in line and "--readme-replace" in line
    assert f"Received: --readme {readme}" in line
    assert no_run == [] and readme.read_text() == FULL_BLOCK
    assert not (tmp_path / "new").exists()
    assert main([*args, "--readme-replace"]) == 0
    assert no_run[0]["replace_readme"] is True and no_run[0]["readme"] == str(readme)


@pytest.mark.parametrize("case, expected", [
    ("missing", "does not exist"),
    ("folder", "is a folder, not a README"),
    ("no markers", "has no summary markers"),
    ("misordered", "end marker comes before its start marker"),
    ("twice", "has 2 start and 2 end summary markers"),
    ("hand-written", "was not written by actkeras reproduce"),
])
def test_bad_readme_is_one_line_exit_2_before_any_run(tmp_path, capsys, no_run, case, expected):
    readme = tmp_path / "R.md"
    if case == "folder":
        readme.mkdir()
    elif case != "missing":
        readme.write_text({
            "no markers": "just text\n",
            "misordered": f"a\n{SUMMARY_END}\nb\n{SUMMARY_START}\n",
            "twice": f"{SUMMARY_START}\n{SUMMARY_END}\n" * 2,
            "hand-written": f"{SUMMARY_START}\nmy own table\n{SUMMARY_END}\n",
        }[case])
    before = readme.read_text() if readme.is_file() else None
    assert main(["reproduce", "--preset", "tiny", "--readme", str(readme),
                 "--out", str(tmp_path / "new")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert expected in line and "cannot write" not in line
    assert no_run == [] and not (tmp_path / "new").exists()
    assert (readme.read_text() if readme.is_file() else None) == before


def test_the_block_names_its_selection_and_the_same_one_replaces_it(tmp_path):
    readme = _readme(tmp_path, f"x\n{SUMMARY_START}\n{SUMMARY_END}\ny\n")  # empty: anyone's
    selection = {"claims": [11, 3], "seeds": 2}
    update_readme(readme, "| tiny |", "tiny", selection)
    text = readme.read_text()
    assert "`actkeras reproduce --preset tiny --claims 3,11 --seeds 2 --readme`" in text
    update_readme(readme, "| tiny again |", "tiny", {"claims": [3, 11], "seeds": 2})
    assert "| tiny again |" in readme.read_text() and readme.read_text().endswith("y\n")
    with pytest.raises(ValueError, match="claims 3, 11 with 2 seeds per arm.*replace_readme=True"):
        update_readme(readme, "| tiny, all |", "tiny")
    assert "| tiny again |" in readme.read_text()
    full = _readme(tmp_path)  # the old block names no claims: every claim
    update_readme(full, "| new full |", "full", {"claims": "all", "seeds": None})
    assert "| new full |" in full.read_text()


def test_the_readme_changes_only_between_its_markers(tmp_path):
    """`--readme` wrote the whole file again: CRLF line endings became LF everywhere, a
    link became a plain file (its target never got the table), a 0600 file became 0644."""
    crlf = tmp_path / "crlf.md"
    crlf.write_bytes(f"# Mine\r\nintro\r\n{SUMMARY_START}\r\n{SUMMARY_END}\r\nend\r\n".encode())
    update_readme(crlf, "| a |\n| b |", "tiny")
    data = crlf.read_bytes()
    assert data.startswith(b"# Mine\r\nintro\r\n") and data.endswith(b"\r\nend\r\n")
    assert b"| a |\r\n| b |" in data and data.count(b"\n") == data.count(b"\r\n")
    update_readme(crlf, "| c |", "tiny")  # the same preset's table, replaced in place
    assert b"| c |\r\n" in crlf.read_bytes() and b"| a |" not in crlf.read_bytes()
    docs = tmp_path / "docs"
    docs.mkdir()
    target = _readme(docs, f"x\n{SUMMARY_START}\n{SUMMARY_END}\ny\n")
    target.chmod(0o600)
    link = tmp_path / "README.md"
    link.symlink_to(target)
    update_readme(link, "| linked |", "tiny")
    assert link.is_symlink() and link.resolve() == target
    assert "| linked |" in target.read_text() and target.read_text().startswith("x\n")
    assert target.stat().st_mode & 0o777 == 0o600


def test_export_names_finished_runs_it_cannot_export(tmp_path, monkeypatch):
    from actkeras.experiments import runner

    done = {"train-a": {"status": "ok"}, "train-b": {"status": "ok"}, "train-c": None,
            "probe-d": {"status": "ok"}}
    monkeypatch.setattr(runner, "read_result", lambda path, spec: (done[spec.run_id], None))
    specs = [SimpleNamespace(run_id=name, kind=name.split("-")[0]) for name in done]
    (tmp_path / "models" / "train-b").mkdir(parents=True)  # exported before
    lines = []
    pipeline._say_unexported(specs, tmp_path, lines.append)
    assert len(lines) == 1 and "1 training runs" in lines[0] and "train-a" in lines[0]
    assert "add --force" in lines[0]


@pytest.mark.parametrize("kind", ["file", "missing"])
def test_data_dir_from_the_environment_is_checked_like_the_option(tmp_path, monkeypatch,
                                                                   capsys, no_run, kind):
    from actkeras.data.dataset import DataError
    from actkeras.data.locate import search_dirs

    value = tmp_path / "data"
    if kind == "file":
        value.write_text("not a folder")
    monkeypatch.setenv("ACTKERAS_DATA_DIR", str(value))
    monkeypatch.setenv("ACTKERAS_NO_DOWNLOAD", "1")
    expected = "is a file, not a folder" if kind == "file" else "does not exist"
    assert main(["reproduce", "--preset", "full", "--out", str(tmp_path / "new")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert expected in line and f"Received: ACTKERAS_DATA_DIR={value}" in line
    assert no_run == [] and not (tmp_path / "new").exists()
    with pytest.raises(DataError, match=expected):  # the library, for every command
        search_dirs("notmnist")


def test_the_data_cache_can_be_turned_off(tmp_path, monkeypatch):
    from actkeras.data import cache

    key, arrays = {"k": 1}, {"x": np.arange(3)}
    path = cache.cache_path(tmp_path, "notmnist", key)
    assert cache.save(path, key, arrays, {}) and cache.load(path, key, lambda a: True)
    monkeypatch.setenv("ACTKERAS_NO_CACHE", "1")
    assert cache.load(path, key, lambda a: True) is None
    other = cache.cache_path(tmp_path, "notmnist", {"k": 2})
    assert cache.save(other, {"k": 2}, arrays, {}) is False and not other.exists()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
