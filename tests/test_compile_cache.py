"""JAX's persistent compilation cache in `actkeras reproduce` (`experiments.compile_cache`):
where it is, when it stays off, that the environment is given back, and, end to end
on JAX, that a warm cache changes no number of any run."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from actkeras.experiments import compile_cache
from actkeras.experiments.compile_cache import ENV_DIR, SETTINGS, for_reproduction, settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean_env(monkeypatch):
    for name in (ENV_DIR, "ACTKERAS_NO_CACHE", "ACTKERAS_CACHE_DIR", *SETTINGS):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_cache_is_a_private_folder_per_jaxlib_and_cpu(tmp_path, clean_env):
    env, note = settings(tmp_path)
    folder = Path(env[ENV_DIR])
    assert folder.parent == tmp_path / "jax" and folder.is_dir()
    assert folder.name.startswith("jaxlib-") and str(folder) in note
    assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0  # made for the user alone
    assert {k: env[k] for k in SETTINGS} == SETTINGS
    clean_env.setattr(compile_cache, "_cpu", lambda: "another CPU")
    assert compile_cache.folder(tmp_path) != folder  # another machine, another folder


def test_the_users_own_settings_win(tmp_path, clean_env):
    clean_env.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "2")
    env, _ = settings(tmp_path)
    assert "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in env and ENV_DIR in env
    clean_env.setenv(ENV_DIR, str(tmp_path / "mine"))
    env, note = settings(tmp_path / "other")
    assert env == {} and note.endswith(f"{tmp_path / 'mine'} (your {ENV_DIR})")
    assert not (tmp_path / "other").exists()  # nothing made
    clean_env.setenv("ACTKERAS_NO_CACHE", "1")  # JAX still uses the user's folder: said so
    assert settings(tmp_path)[1].endswith(f"(your {ENV_DIR})")
    clean_env.delenv(ENV_DIR)
    clean_env.setenv("ACTKERAS_NO_CACHE", "1")
    assert settings(tmp_path) == ({}, "JAX compilation cache: off (ACTKERAS_NO_CACHE=1)")


def test_a_folder_others_may_write_to_or_a_file_is_not_used(tmp_path, clean_env):
    folder = compile_cache.folder(tmp_path)
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    env, note = settings(tmp_path)
    assert env == {} and note == f"JAX compilation cache: off, others may write to it: {folder}"
    folder.rmdir()
    folder.write_text("not a folder")
    env, note = settings(tmp_path)
    assert env == {} and note.startswith("JAX compilation cache: off, ")
    assert str(folder) in note


def test_the_environment_is_given_back_after_the_block(tmp_path, clean_env):
    clean_env.setenv("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "7")
    lines = []
    with for_reproduction(lines.append, tmp_path) as folder:
        assert os.environ[ENV_DIR] == folder
        assert os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
        assert os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] == "7"
    assert lines == [f"JAX compilation cache: {folder} (ACTKERAS_NO_CACHE=1 turns it off)"]
    assert ENV_DIR not in os.environ and "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ
    assert os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] == "7"


def _reproduce(out, env):
    done = subprocess.run(
        [sys.executable, "-m", "actkeras", "reproduce", "--preset", "tiny", "--claims", "2,13",
         "--backend", "jax", "--quiet", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_a_warm_cache_changes_no_number_and_compiles_nothing_new(tmp_path):
    """Three `reproduce --backend jax` processes: the cache cold, warm, and off."""
    import importlib.util

    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed here")
    from actkeras.experiments.compare import digest

    env = {k: v for k, v in os.environ.items()
           if k not in (ENV_DIR, "ACTKERAS_NO_CACHE", *SETTINGS)}
    env.update(ACTKERAS_CACHE_DIR=str(tmp_path / "cache"), KERAS_BACKEND="jax")
    printed = _reproduce(tmp_path / "cold", env)
    folder = compile_cache.folder(tmp_path / "cache")
    assert f"JAX compilation cache: {folder} (ACTKERAS_NO_CACHE=1" in printed
    entries = sorted(p.name for p in folder.iterdir() if p.name.endswith("-cache"))
    assert entries  # every compiled program kept
    _reproduce(tmp_path / "warm", env)
    # The same programs, found in the cache: nothing new was compiled and written.
    assert sorted(p.name for p in folder.iterdir() if p.name.endswith("-cache")) == entries
    assert "JAX compilation cache: off" in _reproduce(tmp_path / "off",
                                                      {**env, "ACTKERAS_NO_CACHE": "1"})
    runs = [digest(tmp_path / name)["runs"] for name in ("cold", "warm", "off")]
    assert runs[0] and runs[0] == runs[1] == runs[2]
