"""Where the data files are looked for, and their download from the original source.

An explicit folder (the `data_dir` argument, `--data-dir`) is the only place looked
in: nothing is downloaded into any other folder (the notMNIST arrays prepared from it
are cached in `data.cache`'s folder, unless `ACTKERAS_NO_CACHE=1`). Without one, the
search order is `$ACTKERAS_DATA_DIR` (which, when set, must name a folder: a file or a
missing folder is refused as `--data-dir`'s would be), the Keras cache (`$KERAS_HOME/datasets`, else
`~/.keras/datasets`), then a download into the Keras cache (forbidden by
`ACTKERAS_NO_DOWNLOAD=1`). In each folder the files may sit directly or in the data
set's subfolder (`notmnist/`, `fashion-mnist/`, ...).

Errors name the fix in the caller's terms: API arguments (`data_dir=`,
`source="embedded"`), or the command line's flags inside `fix_terms("cli")`.
"""

import contextlib
import hashlib
import os
import sys
import time
import urllib.request
from pathlib import Path

from actkeras import atomic
from actkeras.data.dataset import DataError

ENV_DATA_DIR = "ACTKERAS_DATA_DIR"
ENV_NO_DOWNLOAD = "ACTKERAS_NO_DOWNLOAD"
DOWNLOAD_TIMEOUT_S = 15

# The first subfolder is where a download goes (Keras's own choice for Fashion-MNIST).
SUBFOLDERS = {
    "notmnist": ("notmnist", "notMNIST"),
    "fashion_mnist": ("fashion-mnist", "fashion_mnist"),
}
URLS = {
    "notmnist": "https://commondatastorage.googleapis.com/books1000/",
    "fashion_mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
}
KNOWN_MD5 = {
    "notMNIST_small.tar.gz": "cf14778e46701edbe123727bc9235bd1",
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}


# How a fix names the options, for the caller who reads it.
TERMS = {
    "api": {"data_dir": "data_dir=", "embedded": 'source="embedded"'},
    "cli": {"data_dir": "--data-dir", "embedded": "--source embedded"},
}
_terms = TERMS["api"]


@contextlib.contextmanager
def fix_terms(caller):
    """Within the block, data errors name their fix in `caller`'s terms: `"api"`
    (`data_dir=`, `source="embedded"`) or `"cli"` (`--data-dir`, `--source embedded`)."""
    global _terms
    saved, _terms = _terms, TERMS[caller]
    try:
        yield
    finally:
        _terms = saved


def _received(data_dir):
    value = None if data_dir is None else str(data_dir)
    env = os.environ.get(ENV_DATA_DIR) if data_dir is None else None
    also = f"; ${ENV_DATA_DIR}={env}" if env else ""  # the folder came from there
    if _terms is TERMS["cli"]:
        return (f"Received: --data-dir {value}" if value is not None
                else f"Received: no --data-dir{also}")
    return f"Received: data_dir={value!r}{also}"


def keras_cache_dir():
    """`$KERAS_HOME/datasets`, else `~/.keras/datasets`, as Keras has it."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def env_data_dir():
    """The folder `$ACTKERAS_DATA_DIR` names, or `None` where it is unset or empty.

    Raises:
        DataError: it names a file or a folder that does not exist (a typo would
            otherwise only show as data not found, after the other places were searched).
    """
    value = os.environ.get(ENV_DATA_DIR)
    if not value:
        return None
    received = f"Received: {ENV_DATA_DIR}={value}"
    if Path(value).exists() and not Path(value).is_dir():
        raise DataError(f"{value} is a file, not a folder: set {ENV_DATA_DIR} to the folder "
                        f"that holds the data files, or unset it. {received}")
    if not Path(value).is_dir():
        raise DataError(f"The data folder {value} named by {ENV_DATA_DIR} does not exist: set "
                        f"it to the folder that holds the data files, or unset it. {received}")
    return Path(value)


def search_dirs(dataset, data_dir=None):
    """`(folder, origin)` pairs in search order; a folder may not exist (except an
    explicit one, or `$ACTKERAS_DATA_DIR`'s: `env_data_dir`)."""
    if data_dir is not None and Path(data_dir).exists() and not Path(data_dir).is_dir():
        raise DataError(
            f"{data_dir} is a file, not a folder: pass the folder that holds the {dataset} "
            f"files with {_terms['data_dir']}. {_received(data_dir)}")
    if data_dir is not None and not Path(data_dir).is_dir():
        option = _terms["data_dir"].rstrip("=")
        raise DataError(
            f"The data folder {data_dir} does not exist. Pass the folder holding the "
            f"{dataset} files with {_terms['data_dir']}, or leave {option} unset to search "
            f"${ENV_DATA_DIR} and the Keras cache. {_received(data_dir)}"
        )
    if data_dir is None:
        env_data_dir()
    return [(folder, origin) for root, origin in _roots(data_dir)
            for folder in (root, *(root / sub for sub in SUBFOLDERS[dataset]))]


def _roots(data_dir):
    if data_dir is not None:  # the caller's folder, and only it
        return [(Path(data_dir), "data_dir=")]
    roots = []
    if os.environ.get(ENV_DATA_DIR):
        roots.append((Path(os.environ[ENV_DATA_DIR]), f"${ENV_DATA_DIR}"))
    roots.append((keras_cache_dir(), "Keras cache"))
    return roots


def relative(path, data_dir=None):
    """`(where, found_in)`: `path` relative to the search root holding it, and that root.

    For records that travel (results, configs): `("notmnist/notMNIST_small.tar.gz",
    "$ACTKERAS_DATA_DIR")` names the data without naming the machine's folders. A path
    under no search root gives its bare name and `None`.
    """
    path = Path(path)
    for root, origin in _roots(data_dir):
        try:
            return path.relative_to(root).as_posix(), origin.rstrip("=")
        except ValueError:
            continue
    return path.name, None


def find(dataset, names, data_dir=None):
    """The first existing path among `names` in the search folders, or `None`.

    Within one folder the names are tried in order; a folder counts only if it
    exists (a regular file or a directory).
    """
    for folder, _ in search_dirs(dataset, data_dir):
        for name in names:
            if _looked_up(folder / name, Path.exists):
                return folder / name
    return None


def find_all(dataset, names, data_dir=None):
    """The first search folder holding every one of `names`, or `None`."""
    for folder, _ in search_dirs(dataset, data_dir):
        if all(_looked_up(folder / name, Path.is_file) for name in names):
            return folder
    return None


def _looked_up(path, test):
    """`test(path)`; a folder that may not be looked into is a `DataError` naming it (a
    bare "[Errno 13] Permission denied" said nothing of the fix)."""
    try:
        return test(path)
    except OSError as error:
        raise DataError(f"Cannot look into {path.parent} ({error.strerror or error}). Check "
                        f"its permissions. Received: path={str(path)!r}") from error


def download_allowed():
    return os.environ.get(ENV_NO_DOWNLOAD, "").strip().lower() not in ("1", "true", "yes", "on")


def download(dataset, name):
    """Downloads `name` from the original source into the Keras cache; returns its path.

    Fails fast (a short socket timeout) when there is no network. The file is written
    to a temporary name and renamed, so an interrupted download leaves nothing behind.
    """
    folder = keras_cache_dir() / SUBFOLDERS[dataset][0]
    url = URLS[dataset] + name
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"Cannot create {folder} to download {name} into ({error}). Set "
                        f"KERAS_HOME to a writable folder. Received: name={name!r}") from error
    target = folder / name
    digest = hashlib.md5()
    expected = KNOWN_MD5.get(name)
    try:
        with atomic.temporary_path(target, suffix=".part") as partial:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, \
                    open(partial, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0)
                progress = _Progress(name, total)
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    progress.update(len(chunk))
                progress.done()
            if expected and digest.hexdigest() != expected:  # the partial file is removed
                raise DataError(f"The download of {url} has md5 {digest.hexdigest()}, not "
                                f"{expected}; it was deleted. Try again. Received: name={name!r}")
    except DataError:
        raise
    except (OSError, ValueError) as error:  # URLError, timeouts and HTTP errors are OSErrors
        for made in created:  # innermost first: a failed download leaves no empty folders
            with contextlib.suppress(OSError):
                made.rmdir()
        raise DataError(f"Downloading {url} failed: {error}") from error
    return target


class _Progress:
    """A one-line progress report on stderr (no Keras import just for a bar)."""

    def __init__(self, name, total):
        self.name, self.total, self.seen, self.last = name, total, 0, 0.0

    def update(self, n):
        self.seen += n
        if time.monotonic() - self.last > 0.5:
            self.last = time.monotonic()
            share = f" {self.seen / self.total:6.1%}" if self.total else ""
            print(f"\rDownloading {self.name}: {self.seen / 1e6:.1f} MB{share}",
                  end="", file=sys.stderr, flush=True)

    def done(self):
        print(f"\rDownloaded {self.name}: {self.seen / 1e6:.1f} MB", file=sys.stderr, flush=True)


def locate(dataset, names, data_dir=None, *, allow_download=True, what=None):
    """Finds one of `names` (alternatives for the same data), downloading `names[0]`.

    Raises `DataError` listing the expected names, the folders searched, why no
    download happened and how to fix it.
    """
    path = find(dataset, names, data_dir)
    if path is not None:
        return path
    reason = _download_reason(allow_download, data_dir)
    if reason is None:
        try:
            return download(dataset, names[0])
        except DataError as error:
            reason = str(error)
    raise not_found(dataset, what or " or ".join(f"`{n}`" for n in names), data_dir, reason)


def locate_all(dataset, names, data_dir=None):
    """The folder holding all of `names`, downloading missing ones into the Keras cache."""
    folder = find_all(dataset, names, data_dir)
    if folder is not None:
        return folder
    reason = _download_reason(True, data_dir)
    if reason is None:
        folder = keras_cache_dir() / SUBFOLDERS[dataset][0]
        try:
            for name in names:
                if not (folder / name).is_file():
                    download(dataset, name)
            return folder
        except DataError as error:
            reason = str(error)
    raise not_found(dataset, ", ".join(f"`{n}`" for n in names), data_dir, reason, names)


def _download_reason(allow_download, data_dir=None):
    """Why no download is attempted, or `None` when one is."""
    if data_dir is not None:
        return (f"An explicit data folder ({_terms['data_dir']}) is the only place looked in; "
                "nothing is downloaded")
    if not allow_download:
        return "no download attempted for this file"
    if not download_allowed():
        return f"downloads are disabled by {ENV_NO_DOWNLOAD}=1"
    return None


def not_found(dataset, expected, data_dir, reason, names=()):
    """The one error for missing data: what, where it was looked for (a folder holding
    some of `names` says which it lacks), and the fix."""
    def state(folder):
        if not folder.is_dir():
            return ", missing"
        lacks = [n for n in names if not (folder / n).is_file()]
        return f", lacks {', '.join(lacks)}" if 0 < len(lacks) < len(names) else ""

    places = "\n".join(f"  {folder}  ({origin.replace('data_dir=', _terms['data_dir'])}"
                       f"{state(folder)})" for folder, origin in search_dirs(dataset, data_dir))
    embedded = f"or use {_terms['embedded']} for the small sample shipped with actkeras"
    if data_dir is not None:
        fix = (f"Fix: put the files in {data_dir}, pass the folder that holds them with "
               f"{_terms['data_dir']}, {embedded}.")
    else:
        reason += "" if os.environ.get(ENV_DATA_DIR) else f" (${ENV_DATA_DIR} is not set)"
        fix = (f"Fix: set {ENV_DATA_DIR} to the folder holding the files (or pass "
               f"{_terms['data_dir']}), {embedded}.")
    return DataError(
        f"The {dataset} data was not found. Expected {expected} in one of these folders:\n"
        f"{places}\n"
        f"{reason}.\n"
        f"{fix} {_received(data_dir)}"
    )
