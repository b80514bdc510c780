"""The real data sets: notMNIST (the course assignment) and Fashion-MNIST.

Every loader returns a `Dataset` (float32 images `(N, 28, 28)`, int32 labels, train /
valid / test, and an `info` dict of provenance) and raises `DataError` for any data
problem. `source="embedded"` uses the small, class-balanced real samples shipped in
`actkeras/data/samples/`. This package imports only NumPy, Pillow and the standard
library, so it loads fast (`import actkeras.data` starts no TensorFlow).

Example:

>>> from actkeras.data import load_dataset
>>> data = load_dataset("notmnist", source="embedded")
>>> data.x_train.shape[1:], data.y_train.dtype
((28, 28), dtype('int32'))
"""

from actkeras.data.dataset import DataError, Dataset
from actkeras.data.fashion_mnist import load_fashion_mnist
from actkeras.data.notmnist import load_notmnist
from actkeras.data.synthetic import synthetic_dataset

LOADERS = {"notmnist": load_notmnist, "fashion_mnist": load_fashion_mnist}


def load_dataset(name, **kwargs):
    """Loads a data set by name: `"notmnist"` or `"fashion_mnist"`.

    Args:
        name: the data set.
        **kwargs: passed to `load_notmnist` or `load_fashion_mnist`.
    """
    if name not in LOADERS:
        raise ValueError(f"Unknown data set; choose one of {', '.join(LOADERS)}. "
                         f"Received: name={name!r}")
    return LOADERS[name](**kwargs)


__all__ = ["DataError", "Dataset", "load_dataset", "load_fashion_mnist", "load_notmnist",
           "synthetic_dataset"]
