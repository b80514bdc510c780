"""Seeded runs: one call that seeds Python, NumPy and the backend, deterministically."""

import keras


def seed_everything(seed, deterministic=True):
    """Seeds Python, NumPy and the backend; on TensorFlow also turns on deterministic ops.

    Deterministic ops make the same seed give the same numbers on CPU at a small
    cost in speed; JAX is deterministic on CPU already.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")
    keras.utils.set_random_seed(seed)
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
