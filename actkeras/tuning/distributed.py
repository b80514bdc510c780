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

keras-tuner exposes no public API for its server and client: the servicer and the
client live in `_oracle_rpc.py`, the one module that imports `keras_tuner.src`, and
it is imported only when distributed tuning starts (`serve`, `OracleClient`), after
`actkeras._compat` has checked those internals.
"""

import _thread
import os
import sys
import threading
import time

import grpc

from actkeras import checks

# The names the chief and the workers share live in a leaf both import; kept here too.
from actkeras.tuning.liveness import BEAT, HEARTBEAT_S, IDLE_WAIT_S, ChiefLost, address

__all__ = ["BEAT", "HEARTBEAT_S", "IDLE_WAIT_S", "ChiefLost", "Heartbeat", "address", "role",
           "serve"]  # and `OracleClient`, loaded on first use


def role():
    """`"chief"`, `"worker"` or `None` (no distribution), from the KERASTUNER_* variables
    (`actkeras.checks.tuner_role`: a missing one or a port out of range is a ValueError)."""
    return checks.tuner_role(os.environ)


def serve(oracle, worker_timeout=60.0, poll=0.2):
    """Runs the oracle server on `KERASTUNER_ORACLE_IP:PORT` until the search ends."""
    from actkeras.tuning import _oracle_rpc

    return _oracle_rpc.serve(oracle, worker_timeout=worker_timeout, poll=poll)


def __getattr__(name):
    # `OracleClient` subclasses keras-tuner's private client: loaded on first use.
    if name == "OracleClient":
        from actkeras.tuning import _oracle_rpc

        return _oracle_rpc.OracleClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        beat = channel.unary_unary(BEAT)
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
