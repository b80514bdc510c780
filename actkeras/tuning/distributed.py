"""Keras Tuner chief/worker mode, hardened: no worker outlives its chief, no trial dies with one.

Keras Tuner runs one oracle (the chief, `KERASTUNER_TUNER_ID=chief`) behind a gRPC
server and any number of workers (`tuner0`, `tuner1`, ...) that ask it for trials.
Three things go wrong in the stock version (keras-tuner 1.4):

- a worker blocks for up to an hour in every call (`wait_for_ready`, 60-minute
  deadline), so workers hang once the chief has gone;
- a worker that dies mid-trial leaves that trial "ongoing" forever, so the chief
  never stops (and polls only every 20 s once the search has ended);
- a worker told to stop exits even while another worker's trial may still fail
  and come back for a retry.

Here each worker sends a heartbeat every `HEARTBEAT_S` seconds and gives up (exit
code 3 from the CLI) when the chief has not answered for `oracle_timeout` seconds;
every oracle call has that deadline too. The chief ends the trial of a worker it
has not heard from for `worker_timeout` seconds as INVALID, so the oracle retries
it (`max_retries_per_trial`) or records it as FAILED, and keeps idle workers
waiting while a trial that might come back is still running.

keras-tuner exposes no public API for its server and client: this module is the
one place that imports `keras_tuner.src`, and the distributed tests pin it.
"""

import _thread
import os
import sys
import threading
import time
from concurrent import futures

import grpc
from keras_tuner.src import protos
from keras_tuner.src.distribute import oracle_chief, oracle_client
from keras_tuner.src.engine import trial as trial_module

HEARTBEAT_S = 1.0
IDLE_WAIT_S = 0.5
_BEAT = "/actkeras.Liveness/Beat"
_Status = trial_module.TrialStatus


class ChiefLost(RuntimeError):
    """The chief (oracle) stopped answering; raised on a worker."""


def role():
    """`"chief"`, `"worker"` or `None` (no distribution), from the KERASTUNER_* variables."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    missing = [k for k in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if k not in os.environ]
    if missing:
        raise ValueError(
            "Distributed tuning needs KERASTUNER_TUNER_ID (chief, tuner0, tuner1, ...), "
            "KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT all set; unset "
            f"KERASTUNER_ORACLE_IP to tune on one machine. Missing: {', '.join(missing)}"
        )
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def address():
    return f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"


class _Servicer(oracle_chief.OracleServicer):
    """The stock servicer plus liveness, one lock around the oracle, and wait-don't-stop."""

    def __init__(self, oracle):
        super().__init__(oracle)
        self.lock = threading.RLock()
        self.last_seen = {}

    def beat(self, tuner_id):
        self.last_seen[tuner_id] = time.monotonic()

    def _ongoing_ids(self):
        return {trial.trial_id for trial in self.oracle.ongoing_trials.values()}

    def CreateTrial(self, request, context):
        with self.lock:
            self.beat(request.tuner_id)
            trial = self.oracle.create_trial(request.tuner_id)
            if trial.status == _Status.STOPPED:
                if self.oracle.ongoing_trials:
                    # Another worker's trial may fail and come back: wait, don't leave.
                    self.oracle.tuner_ids.add(request.tuner_id)
                    trial.status = _Status.IDLE
                else:
                    self.stop_triggered = True
            return protos.get_service().CreateTrialResponse(trial=trial.to_proto())

    def UpdateTrial(self, request, context):
        with self.lock:
            if request.trial_id not in self._ongoing_ids():  # its worker was given up on
                trial = self.oracle.get_trial(request.trial_id)
                return protos.get_service().UpdateTrialResponse(trial=trial.to_proto())
            return super().UpdateTrial(request, context)

    def EndTrial(self, request, context):
        with self.lock:
            if request.trial.trial_id not in self._ongoing_ids():
                print(f"chief: ignoring a late result for trial {request.trial.trial_id}",
                      flush=True)
                return protos.get_service().EndTrialResponse()
            return super().EndTrial(request, context)

    # The stock server runs one thread; ours runs several so that heartbeats are never
    # queued behind a slow oracle call, and serialises the oracle calls instead.
    def GetSpace(self, request, context):
        with self.lock:
            return super().GetSpace(request, context)

    def UpdateSpace(self, request, context):
        with self.lock:
            return super().UpdateSpace(request, context)

    def GetTrial(self, request, context):
        with self.lock:
            return super().GetTrial(request, context)

    def GetBestTrials(self, request, context):
        with self.lock:
            return super().GetBestTrials(request, context)

    def reap(self, worker_timeout):
        """Ends the trial of every worker silent for `worker_timeout` s; returns their ids."""
        lost = []
        now = time.monotonic()
        with self.lock:
            for tuner_id in sorted(self.oracle.tuner_ids):
                if now - self.last_seen.get(tuner_id, now) < worker_timeout:
                    continue
                lost.append(tuner_id)
                self.oracle.tuner_ids.discard(tuner_id)
                trial = self.oracle.ongoing_trials.get(tuner_id)
                if trial is None:
                    continue
                trial.status = _Status.INVALID
                trial.message = f"worker {tuner_id} silent for {worker_timeout:g} s"
                self.oracle.end_trial(trial)
                fate = "retry" if trial.status == _Status.INVALID else trial.status
                print(f"chief: lost worker {tuner_id}; trial {trial.trial_id} -> {fate}",
                      flush=True)
        return lost

    def finished(self):
        with self.lock:
            return self.stop_triggered and not self.oracle.ongoing_trials \
                and not self.oracle.tuner_ids


def serve(oracle, worker_timeout=60.0, poll=0.2):
    """Runs the oracle server on `KERASTUNER_ORACLE_IP:PORT` until the search ends."""
    servicer = _Servicer(oracle)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)

    def beat(request, context):
        servicer.beat(request.decode())
        return b""

    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "actkeras.Liveness", {"Beat": grpc.unary_unary_rpc_method_handler(beat)})])
    try:
        bound = server.add_insecure_port(address())
    except RuntimeError:  # grpcio >= 1.60 raises, older versions return 0
        bound = 0
    if not bound:
        raise OSError(f"The chief cannot listen on {address()}: the port is in use or the "
                      "address is not this machine's; pick another KERASTUNER_ORACLE_PORT. "
                      f"Received: KERASTUNER_ORACLE_IP:PORT={address()}")
    server.start()
    print(f"chief: oracle listening on {address()}", flush=True)
    try:
        while not servicer.finished():
            time.sleep(poll)
            servicer.reap(worker_timeout)
    finally:
        server.stop(grace=1.0).wait()


class _DeadlineStub:
    """Caps the deadline of every call and turns an unreachable chief into `ChiefLost`."""

    def __init__(self, stub, timeout):
        self._stub, self._timeout = stub, timeout

    def __getattr__(self, name):
        method = getattr(self._stub, name)

        def call(request, **kwargs):
            kwargs["timeout"] = min(kwargs.get("timeout", self._timeout), self._timeout)
            try:
                return method(request, **kwargs)
            except grpc.RpcError as error:
                if error.code() in (grpc.StatusCode.UNAVAILABLE,
                                    grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise ChiefLost(f"the chief at {address()} did not answer {name} "
                                    f"within {self._timeout:g} s") from error
                raise

        return call


class OracleClient(oracle_client.OracleClient):
    """keras-tuner's worker-side client with bounded calls and a pause when told to wait."""

    def __init__(self, oracle, timeout):
        super().__init__(oracle)
        self.stub = _DeadlineStub(self.stub, timeout)

    def create_trial(self, tuner_id):
        trial = super().create_trial(tuner_id)
        if trial.status == _Status.IDLE:
            time.sleep(IDLE_WAIT_S)  # the stock search loop would ask again at once
        return trial


class Heartbeat:
    """Worker side: beats every `HEARTBEAT_S`; gives up on a chief silent for `timeout` s.

    Giving up calls `on_lost()`; the default interrupts the main thread (the search
    then raises `ChiefLost`) and, should it be stuck in native code for `grace`
    more seconds, ends the process with exit code 3. Use as a context manager
    around the search; `lost` tells afterwards whether the chief was lost.
    """

    def __init__(self, tuner_id, timeout, grace=10.0, on_lost=None):
        self.tuner_id, self.timeout, self.grace = tuner_id, timeout, grace
        self.on_lost = on_lost or self._stop_the_worker
        self.lost = False
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, name="actkeras-heartbeat",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        return False

    def _stop_the_worker(self):
        _thread.interrupt_main()
        if not self._stop.wait(self.grace):
            os._exit(3)

    def _run(self):
        channel = grpc.insecure_channel(address())
        beat = channel.unary_unary(_BEAT)
        last_answer = time.monotonic()
        try:
            while not self._stop.wait(HEARTBEAT_S):
                try:
                    beat(self.tuner_id.encode(), timeout=max(HEARTBEAT_S, 2.0))
                    last_answer = time.monotonic()
                except grpc.RpcError:
                    if time.monotonic() - last_answer < self.timeout:
                        continue
                    self.lost = True
                    print(f"{self.tuner_id}: the chief at {address()} has not answered for "
                          f"{self.timeout:g} s; stopping this worker", file=sys.stderr,
                          flush=True)
                    self.on_lost()
                    return
        finally:
            channel.close()
