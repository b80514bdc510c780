"""keras-tuner's gRPC oracle servicer and client with liveness: the private part of
`tuning.distributed`, imported only when distributed tuning starts.

Everything from `keras_tuner.src` comes through `actkeras._compat.keras_tuner_internals`,
which checks it is there (a clear error otherwise) and warns on an untested version.
"""

import threading
import time
from concurrent import futures

import grpc

from actkeras._compat import keras_tuner_internals
from actkeras.tuning.liveness import IDLE_WAIT_S, METHOD, SERVICE, ChiefLost, address

protos, oracle_chief, oracle_client, trial_module = keras_tuner_internals()
_Status = trial_module.TrialStatus


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
            response = super().EndTrial(request, context)
            # keras-tuner saves the oracle before it takes the trial off the ongoing list:
            # saved again, a restarted chief does not run the finished trial once more.
            self.oracle.save()
            return response

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
                self.oracle.save()  # as in `EndTrial`
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
    # gRPC shares a port between servers by default (SO_REUSEPORT): a second chief on the
    # same port would take some of the first one's workers.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.so_reuseport", 0)])
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)

    def beat(request, context):
        servicer.beat(request.decode())
        return b""

    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        SERVICE, {METHOD: grpc.unary_unary_rpc_method_handler(beat)})])
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
