"""Fashion-MNIST from its four IDX files, split as the reference notebook does.

Validation is the first `valid_size` (5,000) training images, training the other
55,000, test the 10,000 `t10k` images; pixels are `x / 255` in float32. Each file's
magic number, dimensions and count are checked against its actual length.
"""

import gzip
import struct
import sys
import zlib
from importlib import resources

import numpy as np

from actkeras import checks
from actkeras.data.dataset import DataError, make_dataset
from actkeras.data.locate import locate_all, relative

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
# "small" and "large" are notMNIST's sizes; here they read the files, so one
# `--source` serves both data sets.
SOURCES = ("auto", "embedded", "small", "large")
SCALING = "x / 255"
LUT = (np.arange(256) / 255).astype(np.float32)
SAMPLE = "fashion_mnist_sample.npz"


def load_fashion_mnist(data_dir=None, *, source="auto", valid_size=5000, verbose=True):
    """Fashion-MNIST: 55,000 train, 5,000 validation (the first), 10,000 test images.

    Example:

    >>> data = load_fashion_mnist(source="embedded")
    >>> data.x_test.shape, data.info["scaling"]
    ((1000, 28, 28), 'x / 255')

    Args:
        data_dir: folder holding the four `.gz` files, directly or in `fashion-mnist/`;
            the only place looked in (no download). Defaults to `None`:
            `$ACTKERAS_DATA_DIR`, the Keras cache, then a download.
        source: `"auto"` (the files) or `"embedded"` (the class-balanced sample shipped
            with actkeras). Defaults to `"auto"`.
        valid_size: the first `valid_size` training images are the validation set.
            Defaults to `5000`.
        verbose: print what was read to stderr. Defaults to `True`.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}. Received: source={source!r}")
    checks.non_negative_int("valid_size", valid_size)
    if source == "embedded":
        return _load_embedded(int(valid_size))
    folder = locate_all("fashion_mnist", list(FILES.values()), data_dir)
    x_train = read_idx(folder / FILES["train_images"], IMAGES_MAGIC)
    y_train = read_idx(folder / FILES["train_labels"], LABELS_MAGIC)
    x_test = read_idx(folder / FILES["test_images"], IMAGES_MAGIC)
    y_test = read_idx(folder / FILES["test_labels"], LABELS_MAGIC)
    _same_length(folder, "train", x_train, y_train)
    _same_length(folder, "t10k", x_test, y_test)
    if valid_size >= len(y_train):
        raise ValueError(f"valid_size must leave training images; there are {len(y_train):,}. "
                         f"Received: valid_size={valid_size}")
    if verbose:
        print(f"Fashion-MNIST: {len(y_train):,} train and {len(y_test):,} test images "
              f"from {folder}", file=sys.stderr, flush=True)
    splits = {"train": (x_train[valid_size:], y_train[valid_size:]),
              "valid": (x_train[:valid_size], y_train[:valid_size]),
              "test": (x_test, y_test)}
    where, found_in = relative(folder, data_dir)  # info goes into results: no machine paths
    info = {"source": where, "found_in": found_in, "files": list(FILES.values()),
            "valid_size": int(valid_size),
            "split": f"validation = the first {valid_size:,} training images, train = the "
                     f"other {len(y_train) - valid_size:,}, test = t10k",
            "scaling": SCALING}
    return make_dataset("fashion_mnist", splits, info, LUT)


def read_idx(path, magic):
    """The uint8 array of an IDX `.gz` file: images `(N, rows, cols)` or labels `(N,)`."""
    kind = "images" if magic == IMAGES_MAGIC else "labels"
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataError(f"{path} is truncated or corrupt ({error}). Delete it and download it "
                        f"again. Received: path={str(path)!r}") from error
    except OSError as error:  # not the file's fault (permissions, a folder): nothing to delete
        raise DataError(f"Cannot read {path} ({error.strerror or error}). Check its "
                        f"permissions. Received: path={str(path)!r}") from error
    header = 16 if magic == IMAGES_MAGIC else 8
    if len(data) < header:
        raise DataError(f"{path} is too short for an IDX {kind} header ({len(data)} bytes). "
                        f"Download it again. Received: path={str(path)!r}")
    found, *dims = struct.unpack(f">{header // 4}I", data[:header])
    if found != magic:
        raise DataError(f"{path} has the magic number {found}, not {magic} (IDX {kind}). Is "
                        f"it the right file? Download it again. Received: path={str(path)!r}")
    if kind == "images" and dims[1:] != [28, 28]:
        raise DataError(f"{path} holds {dims[1]}x{dims[2]} images, not 28x28. "
                        f"Received: path={str(path)!r}")
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise DataError(f"{path} has {len(data):,} bytes, but its header announces {dims[0]:,} "
                        f"{kind} ({expected:,} bytes): it is truncated or corrupt. Download it "
                        f"again. Received: path={str(path)!r}")
    array = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)
    if kind == "labels" and len(array) and array.max() > 9:
        raise DataError(f"{path} holds the label {array.max()}; Fashion-MNIST has 0..9. "
                        f"Received: path={str(path)!r}")
    return array


def _same_length(folder, prefix, x, y):
    if len(x) != len(y):
        raise DataError(f"In {folder}, the {prefix} images ({len(x):,}) and labels ({len(y):,}) "
                        f"differ in number: one of the two files is wrong. Download both again. "
                        f"Received: data_dir={str(folder)!r}")


def _load_embedded(valid_size):
    """The shipped sample; validation = its images from the first `valid_size` of the file."""
    with resources.files("actkeras.data").joinpath("samples", SAMPLE).open("rb") as handle:
        with np.load(handle, allow_pickle=False) as stored:
            x, y, index = stored["x_train"], stored["y_train"], stored["index_train"]
            x_test, y_test = stored["x_test"], stored["y_test"]
    valid = index < valid_size
    splits = {"train": (x[~valid], y[~valid]), "valid": (x[valid], y[valid]),
              "test": (x_test, y_test)}
    info = {"source": "embedded", "file": SAMPLE, "valid_size": valid_size,
            "split": f"the sample's images from the first {valid_size:,} of the training file "
                     f"are validation, the rest train; test from t10k",
            "scaling": SCALING,
            "notes": "a class-balanced sample of the Fashion-MNIST files, made by "
                     "scripts/make_samples.py"}
    return make_dataset("fashion_mnist", splits, info, LUT)
