"""What the chief and its workers agree on: where the chief listens, how often a worker
beats, the liveness call, and the error a worker raises when the chief is gone.

A leaf: `tuning.distributed` (the worker's heartbeat) and `tuning._oracle_rpc` (the
chief's server and the worker's client) both import it, and neither imports the other
at import time.
"""

import os

HEARTBEAT_S = 1.0  # a worker's beat period
IDLE_WAIT_S = 0.5  # a worker told to wait asks the chief again after this long
SERVICE, METHOD = "actkeras.Liveness", "Beat"  # the liveness call the chief answers
BEAT = f"/{SERVICE}/{METHOD}"


class ChiefLost(RuntimeError):
    """The chief (oracle) stopped answering; raised on a worker."""


def address():
    """The chief's `host:port`, from `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`."""
    return f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
