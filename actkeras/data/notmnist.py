"""notMNIST as the course assignment prepares it (udacity `1_notmnist.ipynb`).

The archive's PNGs (one folder per letter A-J) are read as 28x28 grayscale;
unreadable files (empty, corrupt, another size) are skipped and counted; pixels
become `(x - 127.5) / 255` in float32. Pixel-identical images are found by a hash of
their bytes and only the first copy (in file-name order) is kept. The split is a
seeded permutation of the unique images:

- with `notMNIST_small` only: 10 % validation, 10 % test, the rest training
  (`valid_size` / `test_size` take counts or fractions);
- with `notMNIST_large` (the course protocol): 200,000 training and 10,000
  validation images from the large archive, the test set from the small one, every
  large image that is also in the small archive removed first.

Then near duplicates leave the evaluation splits (`actkeras.data.near_duplicates`):
a validation or test image within RMS distance `NEAR_DUPLICATE_RMS` (0.05, pixels in
[0, 1]) of a training image is dropped, and so is a test image that close to a kept
validation image; the training set is never touched. So no image is in two splits,
and no validation or test image is a near copy of an image of an earlier split. The
sizes asked for apply before this step: validation and test come out a little smaller
(on notMNIST_small with seed 0, 105 and 123 of 1,823 fewer), and `info` counts the images
removed (`near_duplicates_removed`).

Prepared arrays are cached as `.npz` (see `actkeras.data.cache`), keyed by the
archives' names, sizes and modification times, the seed, the sizes and the threshold.
`info` names the archives relative to the data folder they were found in, with their
size and sha256, never by the machine's absolute paths.
"""

import hashlib
import sys
import time
from importlib import resources

import numpy as np

from actkeras.data import cache
from actkeras.data.archive import LETTERS, read_images
from actkeras.data.dataset import SPLITS, make_dataset
from actkeras.data.locate import find, locate, relative
from actkeras.data.near_duplicates import NEAR_DUPLICATE_RMS, remove_near_duplicates

SOURCES = ("auto", "embedded", "small", "large")
SCALING = "(x - 127.5) / 255"
LUT = ((np.arange(256) - 127.5) / 255).astype(np.float32)
FRACTION = 0.1  # validation and test share of the small archive, each
LARGE_TRAIN, LARGE_VALID = 200_000, 10_000
CACHE_VERSION = 2  # 2: near duplicates removed from validation and test
SAMPLE = "notmnist_sample.npz"


def load_notmnist(data_dir=None, *, source="auto", seed=0, train_size=None, valid_size=None,
                  test_size=None, cache_dir=None, verbose=True):
    """notMNIST letters A-J, de-duplicated and split as the course assignment did.

    Example:

    >>> data = load_notmnist(source="embedded")
    >>> data.x_train.dtype, data.x_train.shape[1:], data.info["scaling"]
    (dtype('float32'), (28, 28), '(x - 127.5) / 255')

    Args:
        data_dir: folder holding `notMNIST_small.tar.gz` (or `notMNIST_large.tar.gz`,
            or the extracted folders), directly or in `notmnist/`; the only place
            looked in (no download). Defaults to `None`: `$ACTKERAS_DATA_DIR`, the
            Keras cache, then a download.
        source: `"small"`, `"large"`, `"embedded"` (the class-balanced sample shipped
            with actkeras) or `"auto"` (large if its archive is found, else small).
            Defaults to `"auto"`.
        seed: seed of the split's permutation. Defaults to `0`.
        train_size: training images; `None` keeps the rest (small, embedded) or
            200,000 (large). Defaults to `None`.
        valid_size: validation images, a count or a fraction of the unique images;
            `None` is 10 % (small, embedded) or 10,000 (large). The near duplicates of
            training images are removed after the cut, so the validation set may end
            up a little smaller. Defaults to `None`.
        test_size: test images, likewise; `None` is 10 % (small, embedded) or the
            whole de-duplicated small archive (large). Near duplicates of training or
            validation images are removed after the cut. Defaults to `None`.
        cache_dir: folder of the `.npz` cache. Defaults to `$ACTKERAS_CACHE_DIR`, else
            `~/.cache/actkeras`.
        verbose: print what is read and found to stderr. Defaults to `True`.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}. Received: source={source!r}")
    if source == "embedded":
        return _load_embedded(seed=seed, train_size=train_size, valid_size=valid_size,
                              test_size=test_size)
    large = None
    if source == "large":
        large = locate("notmnist", _names("large"), data_dir, what=_what("large"))
    elif source == "auto":  # only looks: "auto" never downloads half a gigabyte
        large = find("notmnist", _names("large"), data_dir)
    small = locate("notmnist", _names("small"), data_dir, what=_what("small"))
    paths = [small] if large is None else [large, small]
    sizes = {"seed": seed, "train": train_size, "valid": valid_size, "test": test_size}
    key = {"version": CACHE_VERSION, "files": [_stamp(p) for p in paths],
           "near_duplicate_rms": NEAR_DUPLICATE_RMS, **sizes}
    path = cache.cache_path(cache.cache_dir(cache_dir), "notmnist", key)
    cached = cache.load(path, key, _check)
    if cached is not None:
        arrays, info = cached
        _say(verbose, f"notMNIST: read prepared arrays from the cache {path}")
        info.update(cache_file=path.name, cache_hit=True)
    else:
        where = relative(paths[0], data_dir)
        arrays, info = (_prepare_large(large, small, sizes, verbose) if large is not None
                        else _prepare_small(small, sizes, verbose))
        info = {"source": where[0], "found_in": where[1], **info}
        for archive in paths:
            info["archives"][archive.name].update(_provenance(archive, data_dir))
        written = cache.save(path, key, arrays, info)
        # The file name only: the cache folder is this machine's, and info goes into results.
        info.update(cache_file=path.name if written else None, cache_hit=False)
    splits = {s: (arrays[f"x_{s}"], arrays[f"y_{s}"]) for s in SPLITS}
    return make_dataset("notmnist", splits, info, LUT)


def _load_embedded(*, seed=0, train_size=None, valid_size=None, test_size=None):
    """The class-balanced real sample shipped with actkeras, split like the small archive."""
    with resources.files("actkeras.data").joinpath("samples", SAMPLE).open("rb") as handle:
        with np.load(handle, allow_pickle=False) as stored:
            x, y = stored["x"], stored["y"]
    keep = np.arange(len(y))
    split = _split(keep, len(keep), seed, train_size, valid_size, test_size, FRACTION, FRACTION)
    split, removed = remove_near_duplicates(split, {s: x for s in SPLITS}, NEAR_DUPLICATE_RMS)
    info = {"source": "embedded", "protocol": "embedded", "file": SAMPLE, "seed": seed,
            "split": _describe(split), **_near_info(removed), "unique_images": len(y),
            "scaling": SCALING,
            "notes": "a class-balanced sample of the de-duplicated notMNIST_small archive, "
                     "made by scripts/make_samples.py"}
    splits = {s: (x[idx], y[idx]) for s, idx in split.items()}
    return make_dataset("notmnist", splits, info, LUT)


def _prepare_small(small, sizes, verbose):
    x, y, order, stats = read_images(small, verbose)
    keep, _, dup = deduplicate(x, y, order)
    stats.update(dup)
    split = _split(keep, len(keep), sizes["seed"], sizes["train"], sizes["valid"],
                   sizes["test"], FRACTION, FRACTION)
    start = time.monotonic()
    split, removed = remove_near_duplicates(split, {s: x for s in SPLITS}, NEAR_DUPLICATE_RMS)
    info = {"protocol": "small", "split": _describe(split), **_near_info(removed),
            "archives": {small.name: stats}, **_totals([stats]), "seed": sizes["seed"],
            "scaling": SCALING}
    _say(verbose, f"{_summary(stats, small)}; {_near_summary(removed, start)}")
    return _gather(split, {s: (x, y) for s in SPLITS}), info


def _prepare_large(large, small, sizes, verbose):
    sx, sy, sorder, small_stats = read_images(small, verbose)
    test_keep, digests, dup = deduplicate(sx, sy, sorder)
    small_stats.update(dup)
    lx, ly, lorder, large_stats = read_images(large, verbose)
    pool, _, dup = deduplicate(lx, ly, lorder, exclude=digests)
    large_stats.update(dup)
    seed = sizes["seed"]
    rng = np.random.default_rng(seed)
    pool, test_keep = rng.permutation(pool), rng.permutation(test_keep)
    n_valid = _count(sizes["valid"], len(pool), LARGE_VALID, "valid_size")
    n_train = _count(sizes["train"], len(pool), LARGE_TRAIN, "train_size")
    n_test = _count(sizes["test"], len(test_keep), len(test_keep), "test_size")
    _fits(n_valid + n_train, len(pool), "valid_size + train_size", large.name)
    _fits(n_test, len(test_keep), "test_size", small.name)
    split = {"train": pool[n_valid:n_valid + n_train], "valid": pool[:n_valid],
             "test": test_keep[:n_test]}
    start = time.monotonic()
    split, removed = remove_near_duplicates(split, {"train": lx, "valid": lx, "test": sx},
                                            NEAR_DUPLICATE_RMS)
    info = {"protocol": "large",
            "split": f"{_describe(split)}; train and valid from {large.name}, test from "
                     f"{small.name}; large images also in the small archive removed",
            **_near_info(removed),
            "archives": {large.name: large_stats, small.name: small_stats},
            **_totals([large_stats, small_stats]), "seed": seed, "scaling": SCALING}
    _say(verbose, _summary(large_stats, large))
    _say(verbose, _summary(small_stats, small))
    _say(verbose, f"notMNIST: {_near_summary(removed, start)}")
    arrays = _gather({k: v for k, v in split.items() if k != "test"}, {s: (lx, ly) for s in SPLITS})
    arrays.update(_gather({"test": split["test"]}, {"test": (sx, sy)}))
    return arrays, info


def deduplicate(x, y, order, exclude=frozenset()):
    """Keeps the first copy (in `order`) of each distinct image not in `exclude`.

    Returns `(keep, digests, stats)`: the kept indices, the set of their pixel
    hashes, and the counts of duplicates removed, of those whose label differs from
    the kept copy's, and of images removed because `exclude` holds them.
    """
    seen, keep = {}, []
    duplicates = conflicts = overlap = 0
    for i in order:
        digest = hashlib.blake2b(x[i].tobytes(), digest_size=16).digest()
        if digest in exclude:
            overlap += 1
        elif digest in seen:
            duplicates += 1
            conflicts += int(seen[digest] != y[i])
        else:
            seen[digest] = y[i]
            keep.append(i)
    stats = {"duplicates_removed": duplicates, "duplicate_label_conflicts": conflicts,
             "unique_images": len(keep)}
    if exclude:
        stats["overlap_removed"] = overlap
    return np.array(keep, dtype=np.int64), set(seen), stats


def _split(keep, n, seed, train_size, valid_size, test_size, valid_default, test_default):
    """A seeded permutation of `keep` cut into valid, test, then train."""
    order = np.random.default_rng(seed).permutation(keep)
    n_valid = _count(valid_size, n, valid_default, "valid_size")
    n_test = _count(test_size, n, test_default, "test_size")
    _fits(n_valid + n_test, n, "valid_size + test_size", "the unique images")
    n_train = _count(train_size, n, n - n_valid - n_test, "train_size")
    _fits(n_valid + n_test + n_train, n, "train_size + valid_size + test_size", "the images")
    return {"train": order[n_valid + n_test:n_valid + n_test + n_train],
            "valid": order[:n_valid], "test": order[n_valid:n_valid + n_test]}


def _count(size, n, default, name):
    """A count from `size` (an int, a fraction in [0, 1), or `None` for `default`)."""
    if size is None:
        size = default
    if isinstance(size, float) and 0 <= size < 1:
        return int(round(size * n))
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size >= 0:
        return int(size)
    raise ValueError(f"{name} is a count >= 0, a fraction in [0, 1) or None. "
                     f"Received: {name}={size!r}")


def _fits(needed, available, what, of):
    if needed > available:
        raise ValueError(f"{what} = {needed:,} is more than the {available:,} available "
                         f"({of}). Received: {what}={needed}")


def _gather(split, sources):
    arrays = {}
    for s, idx in split.items():
        x, y = sources[s]
        arrays[f"x_{s}"], arrays[f"y_{s}"] = x[idx], y[idx]
    return arrays


def _check(arrays):
    for s in SPLITS:
        x, y = arrays[f"x_{s}"], arrays[f"y_{s}"]
        if x.dtype != np.uint8 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            return False
        if len(y) and (y.min() < 0 or y.max() > 9):
            return False
    return True


def _names(size):
    return (f"notMNIST_{size}.tar.gz", f"notMNIST_{size}")


def _what(size):
    return f"`notMNIST_{size}.tar.gz` (or the extracted folder `notMNIST_{size}/`)"


def _stamp(path):
    """Name, size and mtime; for a folder, its letter folders' mtimes (files added or gone)."""
    stat = path.stat()
    letters = [(path / c).stat().st_mtime_ns for c in LETTERS if (path / c).is_dir()]
    return [path.name, stat.st_size, stat.st_mtime_ns, *letters]


def _describe(split):
    return ("seeded permutation of the unique images, then validation and test images "
            f"within RMS {NEAR_DUPLICATE_RMS} of an earlier split's removed: "
            + ", ".join(f"{len(split[s]):,} {s}" for s in SPLITS))


def _near_info(removed):
    return {"near_duplicate_rms": NEAR_DUPLICATE_RMS, "near_duplicates_removed": removed}


def _provenance(path, data_dir):
    """An archive's path relative to its data folder, and for a file its size and sha256."""
    where = {"path": relative(path, data_dir)[0]}
    if path.is_dir():
        return where
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return {**where, "bytes": path.stat().st_size, "sha256": digest}


def _totals(stats):
    total = {key: sum(s.get(key, 0) for s in stats)
             for key in ("images_read", "skipped", "duplicates_removed",
                         "duplicate_label_conflicts", "unique_images")}
    total["duplicates_found"] = total["duplicates_removed"] + sum(
        s.get("overlap_removed", 0) for s in stats)
    total["skipped_files"] = [f for s in stats for f in s["skipped_files"]]
    return total


def _summary(stats, path):
    return (f"notMNIST: {stats['images_read']:,} images read, {stats['skipped']} unreadable "
            f"skipped, {stats['duplicates_removed']:,} duplicates removed"
            + (f", {stats['overlap_removed']:,} also in the test archive removed"
               if "overlap_removed" in stats else "")
            + f" ({path})")


def _near_summary(removed, start):
    return (f"{removed['valid']:,} validation and {removed['test']:,} test images within RMS "
            f"{NEAR_DUPLICATE_RMS} of an earlier split's image removed "
            f"({time.monotonic() - start:.1f} s)")


def _say(verbose, message):
    if verbose:
        print(message, file=sys.stderr, flush=True)
