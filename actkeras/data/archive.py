"""The images of a notMNIST archive or extracted folder, read safely.

A `.tar.gz` is streamed member by member (nothing is extracted to disk). Members
whose names or link targets would escape the archive's folder (absolute paths, `..`,
links pointing outside) are refused with `DataError`, as `tarfile`'s `data` filter
would refuse them on extraction; a truncated or corrupt archive is a `DataError`
that says to download it again.
"""

import gzip
import io
import posixpath
import re
import sys
import tarfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from actkeras.data.dataset import DataError

LETTERS = "ABCDEFGHIJ"


def check_member(member, archive):
    """Raises `DataError` if `member`'s name or link target escapes the archive root."""
    name = member.name
    if _escapes(name):
        raise DataError(f"{archive} holds a member whose path escapes the archive folder; "
                        f"it is refused. Use the original archive. Received: member={name!r}")
    if member.issym() or member.islnk():
        # Symlink targets are relative to the link's folder; hard links to the root.
        base = posixpath.dirname(name) if member.issym() else ""
        target = member.linkname
        if posixpath.isabs(target) or _escapes(posixpath.normpath(posixpath.join(base, target))):
            raise DataError(f"{archive} holds a link pointing outside the archive folder; it "
                            f"is refused. Use the original archive. "
                            f"Received: member={name!r} -> {target!r}")


def _escapes(name):
    """Absolute (POSIX or Windows) or with a `..` component."""
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return True
    return ".." in re.split(r"[/\\]", name)


def letter_of(name):
    """The class letter of `root/<letter>/<file>.png`, or `None` for any other member."""
    parts = name.split("/")
    if len(parts) >= 2 and parts[-2] in LETTERS and len(parts[-2]) == 1 \
            and parts[-1].lower().endswith(".png"):
        return parts[-2]
    return None


def iter_pngs(path):
    """Yields `(member_name, letter, png_bytes)` for each class PNG under `path`.

    `path` is a `.tar.gz` / `.tar` archive or an extracted folder; names are
    `<root>/<letter>/<file>.png` either way, so both give the same data set.
    Links are not followed: a link inside the archive yields `png_bytes=None`
    (counted as unreadable).
    """
    path = Path(path)
    if path.is_dir():
        yield from _iter_folder(path)
    else:
        yield from _iter_tar(path)


def _iter_tar(path):
    opener = gzip.open if path.name.endswith((".gz", ".tgz")) else open
    try:
        with opener(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            for member in tar:
                check_member(member, path)
                letter = letter_of(member.name)
                if letter is None or member.isdir():
                    continue
                data = tar.extractfile(member).read() if member.isfile() else None
                yield member.name, letter, data
            # tarfile stops at its end marker; reading on to the gzip trailer checks the CRC.
            while raw.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"{path} is truncated or corrupt ({error}). Delete it and download it "
                        f"again from the original source. Received: path={str(path)!r}") from error
    except OSError as error:
        raise DataError(f"Cannot read {path} ({error}). Check its permissions. "
                        f"Received: path={str(path)!r}") from error


def _iter_folder(path):
    root = path.resolve()
    for letter in LETTERS:
        folder = path / letter
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if not entry.name.lower().endswith(".png"):
                continue
            if entry.is_symlink() and not entry.resolve().is_relative_to(root):
                raise DataError(f"{entry} is a link pointing outside {path}; it is refused. "
                                f"Received: path={str(entry)!r}")
            name = f"{path.name}/{letter}/{entry.name}"
            try:
                data = entry.read_bytes()
            except OSError:
                data = None
            yield name, letter, data


def read_images(path, verbose=False):
    """Decodes every class PNG of an archive or folder.

    Returns `(x, y, order, stats)`: uint8 images `(N, 28, 28)` in reading order,
    int32 labels, the indices in file-name order (the same for an archive and its
    extracted folder) and the counts of files read and skipped.
    """
    if verbose:
        print(f"notMNIST: reading {path} ...", file=sys.stderr, flush=True)
    images, labels, names, skipped = _Images(), [], [], []
    for name, letter, data in iter_pngs(path):
        pixels = decode_png(data)
        if pixels is None:
            skipped.append(name)
            continue
        images.append(pixels)
        labels.append(LETTERS.index(letter))
        names.append(name)
        if verbose and len(names) % 50_000 == 0:
            print(f"  {len(names):,} images", file=sys.stderr, flush=True)
    if not names:
        raise DataError(f"{path} holds no readable PNG under <folder>/A ... /J. Use the "
                        f"original notMNIST archive. Received: path={str(path)!r}")
    missing = [letter for i, letter in enumerate(LETTERS) if i not in set(labels)]
    if missing:  # a part of the archive: a model of 10 classes would train on fewer
        raise DataError(f"{path} holds no readable image of {', '.join(missing)}: notMNIST has "
                        f"ten letters, A to J, a folder each. Use the whole original archive. "
                        f"Received: path={str(path)!r}")
    order = np.array(sorted(range(len(names)), key=names.__getitem__), dtype=np.int64)
    stats = {"files": len(names) + len(skipped), "images_read": len(names),
             "skipped": len(skipped), "skipped_files": sorted(skipped)[:100]}
    return images.array(), np.array(labels, dtype=np.int32), order, stats


def decode_png(data):
    """28x28 uint8 grayscale pixels of a PNG, or `None` when it is unreadable."""
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            if image.size != (28, 28):
                return None
            return np.asarray(image if image.mode == "L" else image.convert("L"), dtype=np.uint8)
    except Exception:  # PIL raises OSError, SyntaxError, ValueError, zlib.error, ...
        return None


class _Images:
    """uint8 images appended one by one into preallocated blocks, never a list of arrays."""

    def __init__(self, block=16_384):
        self.block, self.blocks, self.n = block, [], 0

    def append(self, pixels):
        if self.n == len(self.blocks) * self.block:
            self.blocks.append(np.empty((self.block, 28, 28), dtype=np.uint8))
        self.blocks[-1][self.n % self.block] = pixels
        self.n += 1

    def array(self):
        if not self.blocks:
            return np.empty((0, 28, 28), dtype=np.uint8)
        return np.concatenate(self.blocks)[:self.n]
