"""Running a reproduction's runs in several processes at once (`reproduce(jobs=N)`).

Each worker is a fresh interpreter (multiprocessing's "spawn": no backend state is
shared or forked) that takes the next unfinished run, runs it with `run_one` and
writes its atomic result file, as a one-process reproduction does; every run seeds
its own session, so a run gives the same numbers whichever process runs it. Workers
train quietly (no Keras epoch lines: two workers' lines would interleave); the parent
prints one line per finished run, with its label. The cost runs are left to the
caller, which times them alone once the workers are done: a timing taken while other
runs train would measure the crowd.

On a CPU the workers split the cores between them; on a GPU they share it (JAX is
told not to take most of its memory for the first process that starts). A worker
that dies (killed, out of memory) breaks the pool (Python's process pool then stops
every worker): the runs in progress start again in a new pool, with every run not yet
finished, up to `RESTARTS` times; after that the caller's one-process pass runs
whatever is left. A run's files are written atomically, so a run cut short leaves
none. Workers leave Ctrl-C to the parent, which stops them at once (a run they had
begun leaves nothing), and on Linux a worker is ended with its parent
(`PR_SET_PDEATHSIG`): a parent killed alone leaves no worker training on.
"""

import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from actkeras import backends, quiet
from actkeras.experiments.runner import (
    DataCache,
    clock,
    estimated_work,
    read_result,
    result_path,
    run_one,
)

_worker_data = None  # the worker's data sets, loaded once per process
RESTARTS = 3  # new pools after a worker died, before the one-process pass takes over


def run_parallel(specs, out, jobs, *, force=False, data_dir=None, export=False,
                 progress=print, provenance=None, todo=None):
    """Runs the unfinished runs of `specs` (cost runs excepted) in `jobs` processes.

    Args:
        specs: `RunSpec`s; duplicates (same `run_id`) run once, cost runs not at all.
        out: the reproduction folder, already prepared.
        jobs: the most worker processes.
        force: run again the runs that finished before. Defaults to `False`.
        data_dir, export: as for `run_specs`.
        progress: where progress lines go. Defaults to `print`.
        provenance: `fn(spec) -> provenance dict` recorded in each result.
        todo: `fn(spec) -> bool`, the runs to run (default: those without a finished
            result, or all with `force`).

    Returns:
        The set of the `run_id`s that the workers ran to the end.
    """
    todo = pending(specs, out, force, todo)
    if not todo:
        return set()
    workers = min(jobs, len(todo))
    threads = max(1, (os.cpu_count() or 1) // workers)
    # TensorFlow's threads are set per worker (`start_worker`); XLA's CPU client takes
    # every core in each process, and limiting it to one measured slower on 2 cores.
    share = (f"{threads} CPU threads each" if backends.requested() != "jax"
             else "each with XLA's threads on every core")
    progress(f"{len(todo)} runs for {workers} worker processes ({share})")
    finished = Finished(todo, progress)
    left, restarts = list(todo), 0
    while left:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=start_worker,
                                   initargs=(threads, data_dir, os.getpid()))
        try:
            futures = {pool.submit(run_in_worker, spec, str(out), 0, export,
                                   provenance(spec) if provenance else None): spec
                       for spec in left}
            for future in as_completed(futures):
                finished(futures[future], *future.result())
            left = []
        except BrokenProcessPool as error:
            left = [spec for spec in left if spec.run_id not in finished.executed]
            restarts += 1
            if restarts > RESTARTS:
                progress(f"a worker process died ({error}), {RESTARTS + 1} times: the "
                         f"{len(left)} runs left are run in this process")
                break
            progress(f"a worker process died ({error}); the runs in progress start again in "
                     f"new worker processes ({len(left)} runs left)")
        except KeyboardInterrupt:
            stop_workers()  # not one more run
            raise
        finally:
            pool.shutdown(cancel_futures=True)
    return finished.executed


def pending(specs, out, force=False, todo=None):
    """The runs of `specs` to send to workers: each `run_id` once, no cost run, those
    `todo(spec)` accepts (default: without a finished result, or all with `force`)."""
    unique = {}
    for spec in specs:
        if spec.kind != "cost":
            unique.setdefault(spec.run_id, spec)
    wanted = todo or (lambda spec: force or read_result(result_path(out, spec), spec)[0] is None)
    return [spec for spec in unique.values() if wanted(spec)]


class Finished:
    """Counts the runs that workers finish and prints a line for each, with an ETA
    weighted by `estimated_work`."""

    def __init__(self, todo, progress):
        self.todo, self.progress = todo, progress
        self.executed, self.start, self.done_work = set(), time.perf_counter(), 0.0
        self.total_work = sum(estimated_work(spec) for spec in todo)

    def __call__(self, spec, status, seconds):
        self.executed.add(spec.run_id)
        elapsed = time.perf_counter() - self.start
        self.done_work += estimated_work(spec)
        eta = clock(elapsed / self.done_work * (self.total_work - self.done_work))
        self.progress(f"[{len(self.executed)}/{len(self.todo)}] {spec.title}: {status} in "
                      f"{clock(seconds)} — elapsed {clock(elapsed)}, ETA {eta}")


def start_worker(threads, data_dir, parent=None):
    """A worker's start: its share of the CPU threads (`None`: all), quiet if its parent is;
    Ctrl-C left to the parent (`parent`'s pid), and ended with it."""
    global _worker_data
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its workers itself
    _end_with_parent(parent)
    # Read when the backend starts, which is after this in a spawned process.
    if threads:
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if quiet.is_quiet():  # started from the CLI without --debug: as quiet as it is
        quiet.import_keras_quietly()
    _worker_data = DataCache(data_dir)


def stop_workers():
    """Ends this process's worker processes at once (Ctrl-C: they ignore it themselves)."""
    for child in multiprocessing.active_children():
        child.terminate()


def _end_with_parent(parent):
    """On Linux, asks the kernel to end this process when its parent dies (a parent killed
    alone would leave its workers running its queued runs); elsewhere, nothing."""
    if not sys.platform.startswith("linux") or parent is None:
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def run_in_worker(spec, out, verbose, export, provenance=None):
    """Runs one spec in this worker; returns `(status, seconds)`."""
    began = time.perf_counter()
    result = run_one(spec, out, data=_worker_data, verbose=verbose, export=export,
                     provenance=provenance)
    return result["status"], time.perf_counter() - began
