"""A learnable stand-in for a data set, for smoke tests: one noisy template per class."""

import numpy as np

from actkeras import checks
from actkeras.data.dataset import Dataset


def synthetic_dataset(samples, seed=0):
    """`samples` train and `samples // 2` validation images (28x28), no test images.

    Each class is a random template plus Gaussian noise, so a model can learn it.

    Example:

    >>> data = synthetic_dataset(64)
    >>> data.x_train.shape, data.x_valid.shape
    ((64, 28, 28), (32, 28, 28))

    Args:
        samples: training images; a positive integer.
        seed: seed of the templates and the noise. Defaults to `0`.
    """
    checks.positive_int("samples", samples)
    rng = np.random.default_rng(seed)
    templates = rng.normal(size=(10, 28, 28)).astype("float32")

    def split(n):
        y = rng.integers(0, 10, n).astype("int32")
        x = (templates[y] + rng.normal(scale=2.0, size=(n, 28, 28))).astype("float32")
        return x, y

    (x_train, y_train), (x_valid, y_valid) = split(samples), split(max(samples // 2, 1))
    empty = np.zeros((0, 28, 28), "float32")
    return Dataset("synthetic", x_train, y_train, x_valid, y_valid, empty,
                   np.zeros((0,), "int32"), {"source": "synthetic", "seed": seed})
