"""Makes the embedded samples in actkeras/data/samples/ from the full real files.

    python scripts/make_samples.py --data-dir /path/to/datasets

notMNIST: `--notmnist-per-class` images per letter from the de-duplicated
notMNIST_small archive (the package's own reader and de-duplication). Fashion-MNIST:
`--fashion-per-class` training images per class, of which `--fashion-valid-per-class`
come from the first 5,000 of the file (the validation part), and
`--fashion-test-per-class` t10k images per class. Images are drawn with a seeded
generator and kept in file order, stored as uint8 in compressed `.npz`; `samples.json`
records the sources' md5, the counts per class and these settings; `NOTICE` carries
Fashion-MNIST's MIT licence.
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from actkeras.data import archive, fashion_mnist, notmnist
from actkeras.data.locate import find, find_all

OUT = Path(__file__).resolve().parent.parent / "actkeras" / "data" / "samples"
FASHION_VALID = 5000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("ACTKERAS_DATA_DIR"),
                        help="folder of the real files (default: $ACTKERAS_DATA_DIR)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--notmnist-per-class", type=int, default=400)
    parser.add_argument("--fashion-per-class", type=int, default=250)
    parser.add_argument("--fashion-valid-per-class", type=int, default=25)
    parser.add_argument("--fashion-test-per-class", type=int, default=100)
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("pass --data-dir or set ACTKERAS_DATA_DIR")
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    record = {"seed": args.seed, "made_by": "scripts/make_samples.py",
              "notmnist": _notmnist(args, rng), "fashion_mnist": _fashion(args, rng)}
    (args.out / "samples.json").write_text(json.dumps(record, indent=2) + "\n")
    _notice(args)
    total = sum((args.out / name).stat().st_size
                for name in (notmnist.SAMPLE, fashion_mnist.SAMPLE))
    print(f"samples: {total:,} bytes in all, in {args.out}")
    return 0


def _notmnist(args, rng):
    source = find("notmnist", ("notMNIST_small.tar.gz", "notMNIST_small"), args.data_dir)
    if source is None:
        sys.exit(f"notMNIST_small.tar.gz not found under {args.data_dir}")
    x, y, order, stats = archive.read_images(source, verbose=True)
    keep, _, dup = notmnist.deduplicate(x, y, order)
    chosen = _per_class(keep, y[keep], args.notmnist_per_class, rng)
    path = args.out / notmnist.SAMPLE
    np.savez_compressed(path, x=x[chosen], y=y[chosen].astype(np.uint8))
    return {"file": notmnist.SAMPLE, "bytes": path.stat().st_size,
            "source": {source.name: "extracted folder" if source.is_dir() else _md5(source)},
            "from": f"{dup['unique_images']:,} unique of {stats['images_read']:,} readable images",
            "per_class": np.bincount(y[chosen], minlength=10).tolist()}


def _fashion(args, rng):
    folder = find_all("fashion_mnist", list(fashion_mnist.FILES.values()), args.data_dir)
    if folder is None:
        sys.exit(f"the Fashion-MNIST files were not found under {args.data_dir}")
    files = {key: folder / name for key, name in fashion_mnist.FILES.items()}
    x = fashion_mnist.read_idx(files["train_images"], fashion_mnist.IMAGES_MAGIC)
    y = fashion_mnist.read_idx(files["train_labels"], fashion_mnist.LABELS_MAGIC)
    xt = fashion_mnist.read_idx(files["test_images"], fashion_mnist.IMAGES_MAGIC)
    yt = fashion_mnist.read_idx(files["test_labels"], fashion_mnist.LABELS_MAGIC)
    index = np.arange(len(y))
    first = index < FASHION_VALID
    chosen = np.sort(np.concatenate([
        _per_class(index[first], y[first], args.fashion_valid_per_class, rng),
        _per_class(index[~first], y[~first],
                   args.fashion_per_class - args.fashion_valid_per_class, rng)]))
    test = _per_class(np.arange(len(yt)), yt, args.fashion_test_per_class, rng)
    path = args.out / fashion_mnist.SAMPLE
    np.savez_compressed(path, x_train=x[chosen], y_train=y[chosen], index_train=chosen,
                        x_test=xt[test], y_test=yt[test])
    return {"file": fashion_mnist.SAMPLE, "bytes": path.stat().st_size,
            "source": {p.name: _md5(p) for p in files.values()},
            "train_per_class": np.bincount(y[chosen], minlength=10).tolist(),
            "of_which_first_5000_per_class": np.bincount(y[chosen[chosen < FASHION_VALID]],
                                                         minlength=10).tolist(),
            "test_per_class": np.bincount(yt[test], minlength=10).tolist()}


def _per_class(indices, labels, n, rng):
    """`n` of `indices` per class, drawn by `rng`, returned in ascending order."""
    picked = []
    for label in range(10):
        pool = indices[labels == label]
        if len(pool) < n:
            sys.exit(f"class {label} has only {len(pool)} images; asked for {n}")
        picked.append(rng.choice(pool, size=n, replace=False))
    return np.sort(np.concatenate(picked))


def _md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def _notice(args):
    licence = find_all("fashion_mnist", ["LICENSE"], args.data_dir)
    text = ("The embedded samples in this folder are real images from two public data sets.\n\n"
            f"{notmnist.SAMPLE}: notMNIST (Yaroslav Bulatov, 2011), from notMNIST_small.tar.gz,\n"
            "the archive of the Udacity / TensorFlow deep learning course assignment.\n\n"
            f"{fashion_mnist.SAMPLE}: Fashion-MNIST (Zalando Research), "
            "https://github.com/zalandoresearch/fashion-mnist,\nused under its MIT licence:\n\n")
    if licence is None:
        sys.exit("fashion-mnist/LICENSE not found beside the data: the NOTICE needs its text")
    (args.out / "NOTICE").write_text(text + (licence / "LICENSE").read_text())


if __name__ == "__main__":
    sys.exit(main())
