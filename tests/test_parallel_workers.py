"""The reproduction's worker processes (`experiments.parallel`): they leave Ctrl-C to their
parent, which stops them at once, and on Linux they end with their parent. Before, a
Ctrl-C let each worker start more runs, and a parent killed alone (SIGTERM, SIGKILL) left
its workers running its queued runs for as long as they lasted (QA report of 8 December
2026)."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from actkeras.experiments import parallel

ROOT = Path(__file__).resolve().parents[1]


def _pool():
    return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=parallel.start_worker,
                               initargs=(1, None, os.getpid()))


def test_a_worker_ignores_ctrl_c_and_its_parent_stops_it():
    pool = _pool()
    try:
        pid = pool.submit(os.getpid).result(timeout=120)  # its initializer has run
        future = pool.submit(time.sleep, 60)
        [worker] = multiprocessing.active_children()
        assert worker.pid == pid
        os.kill(pid, signal.SIGINT)  # what a terminal's Ctrl-C sends the group
        time.sleep(1.0)
        assert not future.done() and worker.is_alive()
        began = time.monotonic()
        parallel.stop_workers()
        with pytest.raises(BrokenProcessPool):
            future.result(timeout=30)
        assert time.monotonic() - began < 30
    finally:
        pool.shutdown(cancel_futures=True)


PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from actkeras.experiments import parallel
if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=parallel.start_worker, initargs=(1, None, os.getpid()))
    pid = pool.submit(os.getpid).result()
    pool.submit(time.sleep, 120)  # a run in progress
    time.sleep(3)
    print(pid, flush=True)
    time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_worker_ends_with_its_parent(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env=env)
    try:
        worker = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)  # the parent alone
        parent.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _alive(worker):
            time.sleep(0.1)
        assert not _alive(worker)
    finally:
        if parent.poll() is None:
            parent.kill()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its reaper counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
