"""The `Dataset` every loader returns, and `DataError`, the one error they raise."""

import dataclasses
import hashlib

import numpy as np

SPLITS = ("train", "valid", "test")


class DataError(ValueError):
    """A data file is missing, unreadable or malformed; the message names it and the fix."""


@dataclasses.dataclass(frozen=True, repr=False)
class Dataset:
    """Train / validation / test arrays of one data set, with their provenance.

    Images are float32 of shape `(N, 28, 28)`, labels int32 of shape `(N,)` in 0..9.
    `info` is JSON-serialisable: where the data came from, the counts per split, the
    files skipped, the exact and near duplicates found and removed, the seed and the
    pixel scaling; paths are relative to the data folder, never the machine's own.

    Example:

    >>> data = load_notmnist(source="embedded")
    >>> small = data.subset(512, 256, 256)
    >>> small.x_train.shape
    (512, 28, 28)
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: dict

    def __post_init__(self):
        for split in SPLITS:
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(x) != len(y):
                raise ValueError(
                    f"x_{split} and y_{split} differ in length. "
                    f"Received: len(x_{split})={len(x)}, len(y_{split})={len(y)}"
                )

    def subset(self, n_train=None, n_valid=None, n_test=None):
        """The first `n` images of each split (`None` keeps a split whole).

        The splits are already shuffled, so the first `n` mix every class.

        Args:
            n_train: training images to keep. Defaults to `None` (all).
            n_valid: validation images to keep. Defaults to `None` (all).
            n_test: test images to keep. Defaults to `None` (all).
        """
        sizes = {"train": n_train, "valid": n_valid, "test": n_test}
        for split, n in sizes.items():
            if n is not None and (not isinstance(n, (int, np.integer)) or n < 0):
                raise ValueError(f"subset sizes are counts >= 0 or None. Received: n_{split}={n!r}")
        arrays = {}
        for split, n in sizes.items():
            arrays[f"x_{split}"] = getattr(self, f"x_{split}")[:n]
            arrays[f"y_{split}"] = getattr(self, f"y_{split}")[:n]
        counts = {split: len(arrays[f"y_{split}"]) for split in SPLITS}
        info = dict(self.info, counts=counts, subset_of=self.info.get("counts"))
        return dataclasses.replace(self, info=info, **arrays)

    def __repr__(self):
        sizes = ", ".join(f"{split}={len(getattr(self, f'y_{split}'))}" for split in SPLITS)
        return f"Dataset({self.name!r}, {sizes}, source={self.info.get('source')!r})"


def fingerprint(data):
    """A short hash of a data set's arrays, every split (what a run or a search trained on)."""
    digest = hashlib.sha256()
    for split in ("train", "valid", "test"):
        for kind in ("x", "y"):
            array = np.ascontiguousarray(getattr(data, f"{kind}_{split}"))
            digest.update(f"{kind}_{split}{array.shape}{array.dtype}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def class_counts(y, num_classes=10):
    """Images per class, as a JSON-ready list."""
    return np.bincount(y, minlength=num_classes).tolist()


def make_dataset(name, splits, info, lut):
    """A `Dataset` from uint8 `(x, y)` pairs per split, pixels mapped through `lut`.

    A 256-entry lookup table applies the scaling exactly as the float64 formula
    rounded to float32, and never holds a float64 copy of the images.
    """
    arrays, counts = {}, {}
    for split in SPLITS:
        x, y = splits[split]
        arrays[f"x_{split}"] = lut[x]
        arrays[f"y_{split}"] = np.asarray(y, dtype=np.int32)
        counts[split] = len(y)
    info = dict(info, counts=counts,
                class_counts={split: class_counts(splits[split][1]) for split in SPLITS})
    return Dataset(name=name, info=info, **arrays)
