"""A reproduction's runs on a Dask cluster (`reproduce(scheduler=...)`).

`scheduler="local"` starts a `distributed.LocalCluster` of `jobs` worker processes on this
machine, listening on the loopback address only; any other value is the address of a
running scheduler (`tcp://host:8786`, or `tls://...` with Dask's TLS settings). Before any
run the scheduler must answer (one line naming the address otherwise), and its workers
must run the versions that this process runs of Python, Dask's packages (those Dask's own
`Client.get_versions(check=True)` compares), NumPy, actkeras, Keras and the backend: a
mismatch is one line naming them. A worker whose Keras already runs another backend is refused too.
A worker that joins later is checked by each run it is given (`run_on_worker` compares its
own versions with the client's): a mismatch fails that run, naming the packages, and the
run is left to this process's own pass.

What the process pool (`parallel.py`) guarantees holds here:
- a dead worker costs only its run: the scheduler gives that run to another worker
  (Dask retries a task whose worker died, `distributed.scheduler.allowed-failures`
  times); one that finds no worker to finish it is left to this process's own pass,
  as the pool's are;
- results land atomically: a worker runs its run into a temporary folder of its own and
  sends the files back; this process writes each one atomically into the reproduction
  folder, the result file last (the commit mark), so workers need no shared file system;
- a rerun resumes: only runs without a finished result are sent.

A worker process runs one run at a time (a lock: Keras's session and the seeds belong to
the process), so a worker is best started with one thread (`dask worker --nthreads 1`),
as many worker processes as runs at once. The backend is selected in a worker before its
Keras loads. Nothing here imports Keras or Dask until it is used.
"""

import contextlib
import importlib.util
import logging
import os
import re
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path

from actkeras import quiet
from actkeras.errors import UserError

LOCAL = "local"
# A scheduler's address: [tcp:// | tls:// | ws:// | wss:// | ucx://]host:port (an IPv6 host in
# brackets), as a Dask client connects to it.
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):(\d+)$")
_run_lock = threading.Lock()  # one run at a time in a worker process
_caches = {}  # data_dir -> the worker's DataCache
SHARED = ("numpy", "actkeras", "keras")  # besides Python, Dask's and the backend


def check_scheduler(scheduler, jobs=1):
    """Checks `--scheduler` before anything starts.

    Raises:
        ValueError: Dask's `distributed` is not installed, the address is malformed, or
            `jobs` is given with a running scheduler (whose workers are its own).
    """
    if importlib.util.find_spec("distributed") is None:
        raise ValueError(f"--scheduler runs the runs through Dask, which is not installed: "
                         f'pip install "actkeras[dask]". Received: scheduler={scheduler!r}')
    if scheduler == LOCAL:
        return
    found = _ADDRESS.match(scheduler or "")
    if not found or not 0 < int(found.group(2)) < 65536:
        raise ValueError(f"--scheduler takes a Dask scheduler's address (tcp://host:8786, "
                         f"tls://host:8786: a host and a port from 1 to 65535) or 'local'. "
                         f"Received: scheduler={scheduler!r}")
    if jobs != 1:
        raise ValueError(f"--jobs sets the worker processes of --scheduler local; a running "
                         f"scheduler's workers are its own: leave --jobs out. "
                         f"Received: jobs={jobs}")


def worker_environment(backend, threads):
    """What a local worker process needs set before its Keras loads."""
    env = {"KERAS_BACKEND": backend, "TF_NUM_INTRAOP_THREADS": str(threads),
           "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": str(threads),
           "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    if quiet.is_quiet():
        env.update(quiet.QUIET_ENVIRONMENT)
    return env


@contextlib.contextmanager
def connect(scheduler, *, jobs=1, backend="tensorflow"):
    """A `distributed.Client` of `scheduler` (or of a local cluster), checked for running
    this reproduction's runs; the local cluster is closed on leaving. The scheduler, and
    then a first worker, are waited for as long as Dask's connect timeout
    (`distributed.comm.timeouts.connect`, 30 s unless configured).

    Raises:
        UserError: the scheduler cannot be reached or has no worker; its packages'
            versions differ from this process's; a worker runs another Keras backend.
    """
    check_scheduler(scheduler, jobs)
    import dask
    import distributed

    timeout = dask.config.get("distributed.comm.timeouts.connect")
    with contextlib.ExitStack() as stack:
        address = scheduler
        if scheduler == LOCAL:
            threads = max(1, (os.cpu_count() or 1) // jobs)
            try:
                cluster = stack.enter_context(distributed.LocalCluster(
                    n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None, silence_logs=logging.ERROR,
                    env=worker_environment(backend, threads)))
            except Exception as error:  # Dask's own, with a traceback of its internals
                raise UserError(f"could not start a local Dask cluster of {jobs} worker "
                                f"processes: {type(error).__name__}: {error}") from None
            address = cluster.scheduler_address
        if scheduler != LOCAL:
            _check_answers(address, dask.utils.parse_timedelta(timeout))
        try:
            client = stack.enter_context(distributed.Client(address, timeout=timeout))
        except (OSError, TimeoutError) as error:
            raise UserError(f"cannot reach the Dask scheduler at {address} ({error}): start it "
                            f"(`dask scheduler`) or check the address, and for tls:// its "
                            f"security settings (see the README).") from None
        except Exception as error:  # an answer, but not Dask's: its reading failed anyhow
            raise UserError(f"something answers at {address}, but not as a Dask scheduler "
                            f"({type(error).__name__}): check the address and port (a "
                            f"scheduler listens on 8786 unless told otherwise).") from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            raise UserError(f"the Dask scheduler at {address} has no worker: start some with "
                            f"`dask worker {address} --nthreads 1`.") from None
        refuse_mismatch(client, backend, address)
        yield client


def _check_answers(address, timeout):
    """A tcp:// scheduler speaks first (its handshake, as soon as it accepts a connection):
    one that accepts and stays silent for `timeout` seconds is refused here, where Dask's
    `Client` would wait for it without end (its connect timeout covers the connection,
    not the handshake). Other protocols, whose client speaks first, are left to Dask."""
    import socket

    found = _ADDRESS.match(address)
    if not found or ("://" in address and not address.startswith("tcp://")):
        return
    host, port = found.group(1).strip("[]"), int(found.group(2))
    try:
        with socket.create_connection((host, port), timeout=timeout) as probe:
            probe.settimeout(timeout)
            probe.recv(1)
    except socket.timeout:
        raise UserError(f"{address} accepts connections but sends nothing in {timeout:g} s, "
                        f"where a Dask scheduler answers at once: check the address and "
                        f"port.") from None
    except OSError:
        return  # refused, unreachable: Dask's own connection says so, within its timeout


def refuse_mismatch(client, backend, address):
    """Raises `UserError` (one line) where the cluster's versions or backend differ."""
    packages = [*SHARED, backend]
    with warnings.catch_warnings():
        # Dask's own check prints a table (a warning in recent versions, an error in older
        # ones): the packages it names are named again below, in one line.
        warnings.simplefilter("ignore")
        try:
            versions = client.get_versions(check=True, packages=packages)
        except ValueError:
            versions = client.get_versions(packages=packages)
    differ = version_mismatch(versions, packages)
    if differ:
        raise UserError(f"the Dask cluster at {address} runs other package versions than this "
                        f"process: {differ}; install the same versions on the client, the "
                        f"scheduler and every worker.")
    loaded = {worker: found for worker, found in client.run(_keras_backend).items()
              if found not in (None, backend)}
    if loaded:
        worker, found = next(iter(loaded.items()))
        raise UserError(f"{len(loaded)} Dask worker(s) already run Keras's {found} backend "
                        f"(e.g. {worker}), and Keras loads one backend per process: start "
                        f"workers with KERAS_BACKEND={backend} for this reproduction.")


def version_mismatch(versions, packages=()):
    """`"keras 3.15.1 here, 3.14.0 on tcp://...:1"`: the packages whose versions differ
    between this client and the workers (Python, Dask's required packages and
    `packages`) or the scheduler (the packages Dask checks there); `""` where none do.

    Args:
        versions: `Client.get_versions(packages=packages)`.
        packages: more packages a worker must share with this process.
    """
    from distributed.versions import required_packages, scheduler_relevant_packages

    names = list(dict.fromkeys(["python", *required_packages, *packages]))
    ours = (versions.get("client") or {}).get("packages") or {}
    nodes = [(address, info, names) for address, info in (versions.get("workers") or {}).items()]
    nodes.append(("the scheduler", versions.get("scheduler"),
                  [n for n in names if n in scheduler_relevant_packages]))
    said = {}
    for node, info, checked in nodes:
        found = (info or {}).get("packages") or {}
        for name in checked:
            if found.get(name) != ours.get(name):
                said.setdefault(name, {}).setdefault(found.get(name, "missing"), node)
    return "; ".join(f"{name} {ours.get(name)} here, " + ", ".join(
        f"{version or 'missing'} on {node}" for version, node in elsewhere.items())
        for name, elsewhere in said.items())


def _keras_backend():
    """The backend Keras runs in this (worker) process, `None` before Keras loads."""
    keras = sys.modules.get("keras")
    return keras.backend.backend() if keras is not None else None


def checked_packages(backend):
    """The packages whose versions a worker must share with the client: Python, Dask's
    required ones, NumPy, actkeras, Keras and the backend."""
    from distributed.versions import required_packages

    return list(dict.fromkeys(["python", *required_packages, *SHARED, backend]))


def package_versions(names):
    """`{name: version}` of the packages `names` in this process (`None`: not installed),
    as Dask reads them ("python" included)."""
    from distributed.versions import get_versions

    found = get_versions([n for n in names if n != "python"])["packages"]
    return {name: found.get(name) for name in names}


def check_versions(versions):
    """Raises `RuntimeError` naming the packages whose versions in this (worker) process
    differ from `versions`, `{package: version}` of the client; `None` checks nothing."""
    if not versions:
        return
    mine = package_versions(versions)
    differ = [f"{name} {mine.get(name) or 'missing'} (the client's {version})"
              for name, version in versions.items() if mine.get(name) != version]
    if differ:
        raise RuntimeError(f"this worker runs other package versions than the client: "
                           f"{', '.join(differ)}")


def run_on_worker(spec, backend, export=False, provenance=None, data_dir=None, silent=True,
                  versions=None):
    """Runs one spec in this worker process, in a temporary folder; returns `(status,
    seconds, {relative path: bytes})`, the files a run writes into a reproduction folder.
    `versions` (the client's, `{package: version}`) are checked first (a worker that
    joined after the start-up check)."""
    check_versions(versions)
    with _run_lock:
        if "keras" not in sys.modules:
            os.environ["KERAS_BACKEND"] = backend
            if silent:
                quiet.import_keras_quietly()
            import keras  # noqa: F401  (loads the backend just selected)
        if _keras_backend() != backend:
            raise RuntimeError(f"this worker's Keras runs the {_keras_backend()} backend, not "
                               f"{backend}")
        from actkeras.experiments.runner import DataCache, run_one

        data = _caches.setdefault(data_dir, DataCache(data_dir))
        expected = (provenance or {}).get("data")
        if expected and data.fingerprint(spec) not in (None, expected):
            raise RuntimeError(f"this worker's {spec.dataset} data differ from the client's "
                               f"(fingerprint {data.fingerprint(spec)}, expected {expected})")
        began = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="actkeras-run-") as folder:
            result = run_one(spec, folder, data=data, verbose=0, export=export,
                             provenance=provenance)
            files = {path.relative_to(folder).as_posix(): path.read_bytes()
                     for path in sorted(Path(folder).rglob("*")) if path.is_file()}
        return result["status"], time.perf_counter() - began, files


def land(out, spec, files):
    """Writes a run's files into `out`: each atomically, an exported model as one folder,
    the result file last."""
    from actkeras.atomic import replace_folder, staging_folder, write_bytes
    from actkeras.experiments.runner import result_path

    out = Path(out)
    result = result_path(out, spec).relative_to(out).as_posix()
    model = f"models/{spec.run_id}/"
    for name, data in files.items():
        if name != result and not name.startswith(model):
            write_bytes(out / name, data)
    exported = {name[len(model):]: data for name, data in files.items() if name.startswith(model)}
    if exported:
        staging = staging_folder(out / "models", spec.run_id)
        for name, data in exported.items():
            write_bytes(staging / name, data)
        replace_folder(staging, out / "models" / spec.run_id, overwrite=True)
    write_bytes(out / result, files[result])


def run_on_cluster(client, specs, out, *, backend, force=False, data_dir=None, export=False,
                   progress=print, provenance=None, todo=None):
    """Runs the unfinished runs of `specs` (cost runs excepted) on the cluster of `client`.

    Args and return value as for `parallel.run_parallel`, with `client` in place of
    `jobs` and `backend` the Keras backend the workers run.
    """
    from distributed import as_completed

    from actkeras.experiments.parallel import Finished, pending

    todo = pending(specs, out, force, todo)
    if not todo:
        return set()
    workers = client.scheduler_info().get("workers") or {}
    progress(f"{len(todo)} runs for the Dask cluster at {client.scheduler.address} "
             f"({len(workers)} workers now)")
    finished = Finished(todo, progress)
    versions = package_versions(checked_packages(backend))
    futures = {client.submit(run_on_worker, spec, backend, export,
                             provenance(spec) if provenance else None, data_dir,
                             quiet.is_quiet(), versions, pure=False,
                             key=f"actkeras-{spec.run_id}-{uuid.uuid4().hex[:8]}"): spec
               for spec in todo}
    try:
        for future in as_completed(list(futures)):
            spec = futures[future]
            try:
                status, seconds, files = future.result()
            except Exception as error:  # KilledWorker, or the run raised on its worker
                progress(f"{spec.title}: not finished on the cluster ({type(error).__name__}: "
                         f"{error}); it runs in this process below")
                continue
            land(out, spec, files)
            finished(spec, status, seconds)
    finally:
        client.cancel([f for f in futures if not f.done()])
    return finished.executed
