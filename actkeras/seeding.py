"""Seeded runs: one call that seeds Python, NumPy and the backend, deterministically."""

import keras

from actkeras import checks


def seed_everything(seed, deterministic=True):
    """Seeds Python, NumPy and the backend; on TensorFlow also turns on deterministic ops.

    Deterministic ops make the same seed give the same numbers on CPU at a small
    cost in speed; JAX is deterministic on CPU already.
    """
    checks.non_negative_int("seed", seed)
    keras.utils.set_random_seed(seed)
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
