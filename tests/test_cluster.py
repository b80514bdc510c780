"""`reproduce --scheduler`: the runs on a Dask cluster. The arguments and the cluster's
versions are checked before any run, an unreachable scheduler is one line naming it, and
on a local cluster of two worker processes, one killed mid-run, the reproduction ends with
the numbers of a one-process reproduction and resumes what a rerun finds missing."""

import os
import signal
import threading
import time

import pytest

from actkeras.cli import main
from actkeras.errors import UserError
from actkeras.experiments import cluster, reproduce
from test_reproduce import TINY, _finished, _results, _rounded, _unique

distributed = pytest.importorskip("distributed")  # the `test` extra installs it


@pytest.mark.parametrize("argv, message", [
    (["--scheduler", "tcp://host:8786 extra"], "--scheduler takes a Dask scheduler's address"),
    # Malformed addresses Dask itself only refused after TensorFlow started (exit 1), or,
    # with a port out of range, after its 30 s connect timeout.
    (["--scheduler", "bogus"], "a host and a port from 1 to 65535"),
    (["--scheduler", "tcp://:abc"], "Received: scheduler='tcp://:abc'"),
    (["--scheduler", "http://x:1"], "--scheduler takes a Dask scheduler's address"),
    (["--scheduler", "tcp://host:99999"], "a host and a port from 1 to 65535"),
    (["--scheduler", "tcp://127.0.0.1:8786", "--jobs", "2"],
     "--jobs sets the worker processes of --scheduler local"),
])
def test_scheduler_arguments_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main(["reproduce", "--preset", "tiny", "--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_without_dask_the_scheduler_option_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    with pytest.raises(ValueError, match='pip install "actkeras\\[dask\\]". '
                                         "Received: scheduler='local'"):
        cluster.check_scheduler("local")


def test_an_unreachable_scheduler_is_one_line_naming_it_before_any_run(tmp_path, capsys):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["reproduce", "--preset", "tiny", "--claims", "9", "--scheduler",
                     "tcp://127.0.0.1:9", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert not (tmp_path / "out").exists()  # nothing written, nothing run


@pytest.mark.parametrize("answer, message", [
    (None, "accepts connections but sends nothing in 1 s, where a Dask scheduler answers at "
           "once"),  # Dask's Client waited for it without end
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
     "something answers at tcp://127.0.0.1:{port}, but not as a Dask scheduler"),  # a traceback
])
def test_an_address_where_no_dask_scheduler_answers_is_one_line(answer, message, tmp_path,
                                                                 capsys):
    """A web server (which answered Dask's handshake with an error: a 50-line traceback of a
    3 EiB allocation) or a silent listener (Dask waited forever) at the address."""
    import socket

    import dask

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    held = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if answer is not None:
                conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    try:
        with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
            code = main(["reproduce", "--preset", "tiny", "--claims", "9", "--scheduler",
                         f"tcp://127.0.0.1:{port}", "--out", str(tmp_path / "out")])
    finally:
        server.close()
        for conn in held:
            conn.close()
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert message.format(port=port) in err, err
    assert not (tmp_path / "out").exists()


def _versions(**worker_packages):
    ours = {"python": "3.11.7", "dask": "2026.8.0", "distributed": "2026.8.0",
            "msgpack": "1.2.4", "cloudpickle": "3.1.3", "tornado": "6.6.1", "toolz": "1.2.0",
            "numpy": "2.4.6", "actkeras": "0.3.0", "keras": "3.15.1", "jax": "0.10.2"}
    theirs = {**ours, **worker_packages}
    scheduler = {k: v for k, v in ours.items() if k not in ("actkeras", "keras", "jax")}
    return {"client": {"packages": ours}, "scheduler": {"packages": scheduler},
            "workers": {"tcp://10.0.0.2:1": {"packages": theirs},
                        "tcp://10.0.0.3:1": {"packages": ours}}}


def test_a_cluster_with_other_package_versions_is_named_in_one_line():
    packages = ["numpy", "actkeras", "keras", "jax"]
    assert cluster.version_mismatch(_versions(), packages) == ""  # no Keras on the scheduler
    said = cluster.version_mismatch(_versions(keras="3.14.0", distributed="2025.1.0"), packages)
    assert said == ("distributed 2026.8.0 here, 2025.1.0 on tcp://10.0.0.2:1; "
                    "keras 3.15.1 here, 3.14.0 on tcp://10.0.0.2:1")
    assert "jax 0.10.2 here, missing on tcp://10.0.0.2:1" in cluster.version_mismatch(
        _versions(jax=None), packages)


class _Client:
    """What `refuse_mismatch` asks of a `distributed.Client`."""

    def __init__(self, versions, backends):
        self.versions, self.backends = versions, backends

    def get_versions(self, check=False, packages=None):
        return self.versions

    def run(self, function):
        return self.backends


def test_a_cluster_of_other_versions_or_another_backend_is_refused_in_one_line():
    none_loaded = {"tcp://10.0.0.2:1": None, "tcp://10.0.0.3:1": None}
    cluster.refuse_mismatch(_Client(_versions(), none_loaded), "jax", "tcp://10.0.0.1:8786")
    with pytest.raises(UserError, match="the Dask cluster at tcp://10.0.0.1:8786 runs other "
                                        "package versions than this process: keras 3.15.1 "
                                        "here, 3.14.0 on tcp://10.0.0.2:1; install"):
        cluster.refuse_mismatch(_Client(_versions(keras="3.14.0"), none_loaded), "jax",
                                "tcp://10.0.0.1:8786")
    one_on_tf = {"tcp://10.0.0.2:1": "tensorflow", "tcp://10.0.0.3:1": None}
    with pytest.raises(UserError, match="1 Dask worker\\(s\\) already run Keras's tensorflow "
                                        "backend.*KERAS_BACKEND=jax"):
        cluster.refuse_mismatch(_Client(_versions(), one_on_tf), "jax", "tcp://10.0.0.1:8786")


def test_a_runs_files_land_each_atomically_the_result_last(tmp_path, monkeypatch):
    from actkeras import atomic
    from actkeras.experiments.spec import RunSpec

    spec = RunSpec(label="x", kind="regression", activation="relu", dataset="sin",
                   source="generated", overrides={"steps": 8})
    (tmp_path / "models" / spec.run_id).mkdir(parents=True)
    (tmp_path / "models" / spec.run_id / "stale.keras").write_text("an older export")
    files = {f"runs/{spec.run_id}.history.csv": b"epoch,loss\n1,0.5\n",
             f"runs/{spec.run_id}.json": b'{"status": "ok"}',
             f"models/{spec.run_id}/model.keras": b"weights"}
    written = []
    real = atomic.write_bytes
    monkeypatch.setattr(atomic, "write_bytes",
                        lambda path, data: (written.append(path.name), real(path, data)))
    cluster.land(tmp_path, spec, files)
    assert written[-1] == f"{spec.run_id}.json"  # the commit mark, last
    assert (tmp_path / "runs" / f"{spec.run_id}.history.csv").read_bytes() == files[
        f"runs/{spec.run_id}.history.csv"]
    assert sorted(p.name for p in (tmp_path / "models" / spec.run_id).iterdir()) == ["model.keras"]
    assert not list(tmp_path.rglob(".*.tmp")) and not list(tmp_path.rglob("*.old"))


@pytest.mark.slow
def test_a_local_cluster_with_a_worker_killed_mid_run_gives_the_one_process_numbers(tmp_path):
    """Two worker processes; SIGKILL one once the first result lands. Dask gives its run
    to another worker, every result lands, the numbers equal a one-process reproduction's;
    a rerun sends only what is missing."""
    import multiprocessing

    one, two, lines = tmp_path / "one", tmp_path / "two", []
    reproduce("tiny", one, claim_ids=[9, 10], sizes=TINY, verbose=0, progress=lambda _: None)
    killed = []

    def kill_a_worker():
        deadline = time.time() + 300
        while time.time() < deadline and not _finished(two):
            time.sleep(0.05)
        workers = multiprocessing.active_children()  # the nannies' worker processes
        if workers:
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append(workers[0].pid)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    assert reproduce("tiny", two, claim_ids=[9, 10], sizes=TINY, verbose=0, jobs=2,
                     scheduler="local", progress=lines.append) == 0
    killer.join()
    n = len(_unique([9, 10]))
    assert killed, "no worker process to kill"
    assert lines[0].startswith(f"{n} runs for the Dask cluster at tcp://127.0.0.1:"), lines
    assert f"{n} runs: {n} run by this invocation's workers, 0 reused" in "\n".join(lines)
    assert len(_finished(two)) == n and not list(two.rglob(".*.tmp"))
    assert _rounded(_results(two)["claims"]) == _rounded(_results(one)["claims"])

    # A rerun sends only the run whose result is missing.
    next(p for p in (two / "runs").glob("regression-*.json")
         if not p.name.endswith(".config.json")).unlink()
    lines.clear()
    assert reproduce("tiny", two, claim_ids=[9, 10], sizes=TINY, verbose=0, jobs=2,
                     scheduler="local", progress=lines.append) == 0
    assert lines[0].startswith("1 runs for the Dask cluster"), lines
    assert _rounded(_results(two)["claims"]) == _rounded(_results(one)["claims"])


def test_a_worker_that_joined_later_checks_its_versions_with_each_run():
    # The versions were checked once, at the start: a worker joining later with other
    # versions took most of the runs and failed them with whatever broke first.
    from actkeras.experiments.cluster import check_versions, checked_packages, run_on_worker
    from distributed.versions import get_versions

    packages = checked_packages("tensorflow")
    assert {"python", "dask", "distributed", "numpy", "actkeras", "keras",
            "tensorflow"} <= set(packages)
    found = get_versions([n for n in packages if n != "python"])["packages"]
    ours = {name: found.get(name) for name in packages}
    check_versions(ours)  # the same: nothing to say
    with pytest.raises(RuntimeError, match=r"other package versions than the client: keras "
                                           r"\S+ \(the client's 3\.0\.0\)"):
        run_on_worker(None, "tensorflow", versions={**ours, "keras": "3.0.0"})
