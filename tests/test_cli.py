"""The `actkeras` command in-process: train writes its files; bad input is one line, exit 2."""

import json

import pytest

from actkeras.cli import main


def test_train_on_the_embedded_sample_writes_history_config_and_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--preset", "udacity", "--activation", "leaky_relu:negative_slope=0.1",
                 "--source", "embedded", "--steps", "30", "--out", str(out), "--quiet"])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["activation_kwargs"] == {"negative_slope": 0.1}
    assert config["model"]["steps"] == 30 and config["dataset"]["source"] == "embedded"
    history = json.loads((out / "history.json").read_text())
    assert history and "val_accuracy" in history[-1]
    assert (out / "history.csv").read_text().startswith("epoch,")
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert (out / "model.keras").is_file()
    assert "814,090 parameters" in capsys.readouterr().out


def test_activations_lists_the_registry(capsys):
    assert main(["activations"]) == 0
    text = capsys.readouterr().out
    for name in ("relu", "leaky_relu", "scaled_sigmoid", "softmax", "linear"):
        assert name in text
    assert "negative_slope=0.3" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--activation", "relux", "--source", "embedded"], "Valid choices: relu"),
        (["train", "--preset", "vgg", "--source", "embedded"], "Valid choices: udacity"),
        (["train", "--activation", "leaky_relu:negative_slope=-1"], ">= 0"),
        (["train", "--activation", "elu:beta=1"], "accepts: alpha"),
        (["train", "--set", "learning_rte=0.1", "--source", "embedded"], "Valid overrides"),
        (["train", "--data-dir", "/nonexistent/actkeras", "--steps", "1"], "nonexistent"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(argv, message, capsys, tmp_path):
    code = main(argv + ["--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert err.startswith("actkeras train: error:")


def test_debug_shows_the_traceback():
    with pytest.raises(ValueError):
        main(["--debug", "train", "--activation", "relux"])


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
