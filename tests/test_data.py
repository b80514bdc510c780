"""The real-data loaders: tiny archives and IDX files built here, the embedded samples,
and (with `ACTKERAS_DATA_DIR` set) the full files."""

import ast
import gzip
import hashlib
import io
import json
import struct
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from actkeras.data import (DataError, Dataset, load_dataset, load_fashion_mnist,
                           load_notmnist)
from actkeras.data import locate, notmnist
from actkeras.data.near_duplicates import (NEAR_DUPLICATE_RMS, near_duplicates,
                                           remove_near_duplicates)

DATA_PACKAGE = Path(__file__).resolve().parent.parent / "actkeras" / "data"
LETTERS = "ABCDEFGHIJ"
PER_LETTER = 6


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No network, and the caches in `tmp_path`."""
    monkeypatch.setenv("ACTKERAS_NO_DOWNLOAD", "1")
    monkeypatch.setenv("ACTKERAS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))


def png(pixels):
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_tar(path, files, links=()):
    """A `.tar.gz` of `{name: bytes}` plus `(name, target, kind)` links."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        for name, target, kind in links:
            member = tarfile.TarInfo(name)
            member.type, member.linkname = kind, target
            tar.addfile(member)
    return path


def tiny_images():
    """`{member name: pixels}`: PER_LETTER distinct images per letter."""
    rng = np.random.default_rng(42)
    return {f"notMNIST_small/{letter}/{i:02d}.png": rng.integers(0, 256, (28, 28), dtype=np.uint8)
            for letter in LETTERS for i in range(PER_LETTER)}


@pytest.fixture
def tiny(tmp_path):
    """A notMNIST_small archive in `<data>/notmnist/` with 3 unreadable files and 2 copies."""
    images = tiny_images()
    files = {name: png(pixels) for name, pixels in images.items()}
    files["notMNIST_small/A/empty.png"] = b""
    files["notMNIST_small/B/corrupt.png"] = b"\x89PNG not really"
    files["notMNIST_small/C/big.png"] = png(np.zeros((30, 30)))
    files["notMNIST_small/D/zz_copy.png"] = files["notMNIST_small/D/00.png"]
    files["notMNIST_small/E/zz_other_label.png"] = files["notMNIST_small/A/00.png"]
    data = tmp_path / "data"
    write_tar(data / "notmnist" / "notMNIST_small.tar.gz", files)
    return data, images


def load_tiny(data, **kwargs):
    kwargs = {"valid_size": 10, "test_size": 10, "verbose": False, **kwargs}
    return load_notmnist(data, **kwargs)


def split_bytes(data):
    return {split: {x.tobytes() for x in getattr(data, f"x_{split}")}
            for split in ("train", "valid", "test")}


def assert_disjoint(data):
    seen = split_bytes(data)
    assert not seen["train"] & seen["valid"]
    assert not seen["train"] & seen["test"]
    assert not seen["valid"] & seen["test"]


def arrays(data):
    return [getattr(data, f"{a}_{s}") for a in "xy" for s in ("train", "valid", "test")]


def cache_file(data, tmp_path):
    """The cache file of a load under the `_isolated` cache folder (`info` names only the file)."""
    return tmp_path / "cache" / data.info["cache_file"]


def rms_matrix(a, b):
    """The reference: RMS distances between uint8 images in float64, pixels / 255."""
    a = a.reshape(len(a), -1).astype(np.float64) / 255
    b = b.reshape(len(b), -1).astype(np.float64) / 255
    squared = (a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(squared, 0) / a.shape[1])


def uint8_pixels(x):
    """The uint8 images behind notMNIST's `(x - 127.5) / 255` floats."""
    return np.rint(x * 255 + 127.5).astype(np.uint8)


def assert_no_near_duplicates(data):
    """No validation image near a training one, no test image near either (RMS > 0.05)."""
    train, valid, test = (uint8_pixels(getattr(data, f"x_{s}")) for s in ("train", "valid", "test"))
    for queries, references in [(valid, train), (test, train), (test, valid)]:
        if len(queries) and len(references):
            assert rms_matrix(queries, references).min() > NEAR_DUPLICATE_RMS


def machine_paths(info, *roots):
    """Strings in `info` that are absolute paths or name one of `roots`."""
    found = []
    if isinstance(info, dict):
        info = list(info.values()) + list(info.keys())
    if isinstance(info, list):
        for item in info:
            found += machine_paths(item, *roots)
    elif isinstance(info, str) and (info.startswith("/") or any(str(r) in info for r in roots)):
        found.append(info)
    return found


# notMNIST on tiny archives


def test_tiny_archive_skips_unreadable_and_removes_duplicates(tiny):
    data = load_tiny(tiny[0])
    info = data.info
    assert (info["images_read"], info["skipped"], info["duplicates_removed"]) == (62, 3, 2)
    assert info["unique_images"] == 60 and info["duplicate_label_conflicts"] == 1
    assert sorted(info["skipped_files"]) == ["notMNIST_small/A/empty.png",
                                             "notMNIST_small/B/corrupt.png",
                                             "notMNIST_small/C/big.png"]
    assert info["counts"] == {"train": 40, "valid": 10, "test": 10}
    assert data.x_train.dtype == np.float32 and data.x_train.shape == (40, 28, 28)
    assert data.y_train.dtype == np.int32 and set(data.y_train) <= set(range(10))
    assert info["near_duplicates_removed"] == {"valid": 0, "test": 0}
    assert_disjoint(data)
    json.dumps(info)
    assert info["source"] == "notmnist/notMNIST_small.tar.gz" and info["found_in"] == "data_dir"
    assert not machine_paths(info, tiny[0])


def test_scaling_is_exact_and_labels_follow_folders(tiny):
    data = load_tiny(tiny[0])
    originals = {pixels.tobytes(): LETTERS.index(name.split("/")[1])
                 for name, pixels in tiny[1].items()}
    for x, y in zip(np.concatenate([data.x_train, data.x_valid, data.x_test]),
                    np.concatenate([data.y_train, data.y_valid, data.y_test])):
        pixels = np.rint(x * 255 + 127.5).astype(np.uint8)
        np.testing.assert_array_equal(x, ((pixels - 127.5) / 255).astype(np.float32))
        assert originals[pixels.tobytes()] == y
    assert notmnist.LUT[0] == -0.5 and notmnist.LUT[255] == 0.5


def test_split_is_seeded(tiny, tmp_path):
    first = load_tiny(tiny[0], seed=1)
    again = load_tiny(tiny[0], seed=1, cache_dir=tmp_path / "another_cache")
    assert not again.info["cache_hit"]
    other = load_tiny(tiny[0], seed=2)
    for a, b in zip(arrays(first), arrays(again)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.x_train, other.x_train)
    assert split_bytes(first)["train"] != split_bytes(other)["train"]


def test_extracted_folder_gives_the_same_data(tiny, tmp_path):
    folder = tmp_path / "extracted"
    with tarfile.open(tiny[0] / "notmnist" / "notMNIST_small.tar.gz") as tar:
        tar.extractall(folder, filter="data")
    from_folder = load_tiny(folder)
    assert from_folder.info["source"] == "notMNIST_small"
    assert from_folder.info["found_in"] == "data_dir"
    assert from_folder.info["archives"]["notMNIST_small"]["path"] == "notMNIST_small"
    for a, b in zip(arrays(load_tiny(tiny[0])), arrays(from_folder)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cut", ["half", "trailer", "flipped"])
def test_corrupt_archive_names_the_file(tmp_path, cut):
    good = write_tar(tmp_path / "good.tar.gz", {n: png(p) for n, p in tiny_images().items()})
    data = bytearray(good.read_bytes())
    if cut == "half":
        data = data[:len(data) // 2]
    elif cut == "trailer":
        data = data[:-8]
    else:
        data[len(data) // 2] ^= 0xFF
    (tmp_path / "notMNIST_small.tar.gz").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"small\.tar\.gz is truncated or corrupt.*download"):
        load_tiny(tmp_path)


@pytest.mark.parametrize("member, links", [
    ("../evil.png", ()),
    ("notMNIST_small/../../evil.png", ()),
    ("/tmp/notMNIST_small/A/evil.png", ()),
    (None, [("notMNIST_small/A/link.png", "../../../etc/passwd", tarfile.SYMTYPE)]),
    (None, [("notMNIST_small/A/link.png", "/etc/passwd", tarfile.SYMTYPE)]),
    (None, [("notMNIST_small/A/link.png", "../outside.png", tarfile.LNKTYPE)]),
])
def test_escaping_members_are_refused(tmp_path, member, links):
    files = {n: png(p) for n, p in tiny_images().items()}
    if member:
        files[member] = files["notMNIST_small/A/00.png"]
    write_tar(tmp_path / "notMNIST_small.tar.gz", files, links)
    with pytest.raises(DataError, match=r"notMNIST_small\.tar\.gz holds .* (escapes|outside)"):
        load_tiny(tmp_path)


def test_an_archive_missing_letters_is_refused(tmp_path):
    """An archive holding A-E only was read without a word, and a 10-class model trained on
    five (`reproduce` started its runs on it)."""
    files = {n: png(p) for n, p in tiny_images().items() if n.split("/")[1] in "ABCDE"}
    files["notMNIST_small/F/broken.png"] = b"not a png"  # a folder with no readable image
    write_tar(tmp_path / "notMNIST_small.tar.gz", files)
    with pytest.raises(DataError, match=r"notMNIST_small\.tar\.gz holds no readable image of "
                                        r"F, G, H, I, J: notMNIST has ten letters, A to J"):
        load_tiny(tmp_path)


def test_folder_link_pointing_outside_is_refused(tmp_path):
    folder = tmp_path / "notMNIST_small" / "A"
    folder.mkdir(parents=True)
    (folder / "00.png").write_bytes(png(np.zeros((28, 28))))
    (tmp_path / "outside.png").write_bytes(png(np.ones((28, 28))))
    (folder / "link.png").symlink_to(tmp_path / "outside.png")
    with pytest.raises(DataError, match="link.png is a link pointing outside"):
        load_tiny(tmp_path)


def test_link_inside_the_archive_is_skipped(tmp_path):
    files = {n: png(p) for n, p in tiny_images().items()}
    write_tar(tmp_path / "notMNIST_small.tar.gz", files,
              [("notMNIST_small/A/link.png", "00.png", tarfile.SYMTYPE)])
    assert load_tiny(tmp_path).info["skipped_files"] == ["notMNIST_small/A/link.png"]


def test_cache_round_trip_and_corrupt_cache_is_rebuilt(tiny, tmp_path, monkeypatch):
    first = load_tiny(tiny[0])
    path = cache_file(first, tmp_path)
    assert path.is_file() and not first.info["cache_hit"]
    with monkeypatch.context() as patch:
        patch.setattr(notmnist, "read_images", lambda *a, **k: pytest.fail("cache not used"))
        second = load_tiny(tiny[0])
    assert second.info["cache_hit"]
    for a, b in zip(arrays(first), arrays(second)):
        np.testing.assert_array_equal(a, b)
    path.write_bytes(b"PK\x03\x04 not a zip")
    rebuilt = load_tiny(tiny[0])
    assert not rebuilt.info["cache_hit"]
    np.testing.assert_array_equal(rebuilt.x_train, first.x_train)
    with np.load(path, allow_pickle=False) as stored:  # a well-formed file for another key
        tampered = {name: stored[name] for name in stored.files}
    tampered["key"] = np.array("{}")
    np.savez(path, **tampered)
    assert not load_tiny(tiny[0]).info["cache_hit"]


def test_cache_key_follows_seed_sizes_and_threshold(tiny, monkeypatch):
    base = load_tiny(tiny[0]).info["cache_file"]
    assert load_tiny(tiny[0], seed=3).info["cache_file"] != base
    assert load_tiny(tiny[0], valid_size=5).info["cache_file"] != base
    monkeypatch.setattr(notmnist, "NEAR_DUPLICATE_RMS", 0.1)
    assert load_tiny(tiny[0]).info["cache_file"] != base
    monkeypatch.setattr(notmnist, "CACHE_VERSION", 1)  # what the code without the filter wrote
    assert load_tiny(tiny[0]).info["cache_file"] != base


def test_unwritable_cache_only_skips_caching(tiny, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    data = load_tiny(tiny[0], cache_dir=blocker / "cache")
    assert data.info["cache_file"] is None and len(data.x_train) == 40


def test_large_protocol_tests_on_small_and_removes_overlap(tiny, tmp_path):
    data_dir, images = tiny
    rng = np.random.default_rng(7)
    large = {f"notMNIST_large/{l}/{i:02d}.png": png(rng.integers(0, 256, (28, 28)))
             for l in LETTERS for i in range(5)}
    large["notMNIST_large/A/zz_also_in_small.png"] = png(images["notMNIST_small/B/01.png"])
    write_tar(data_dir / "notMNIST_large.tar.gz", large)
    data = load_notmnist(data_dir, seed=0, train_size=40, valid_size=10, verbose=False)
    info = data.info
    assert info["protocol"] == "large" and info["source"] == "notMNIST_large.tar.gz"
    assert info["archives"]["notMNIST_large.tar.gz"]["overlap_removed"] == 1
    for name, where in [("notMNIST_large.tar.gz", "notMNIST_large.tar.gz"),
                        ("notMNIST_small.tar.gz", "notmnist/notMNIST_small.tar.gz")]:
        archive = info["archives"][name]
        content = (data_dir / where).read_bytes()
        assert archive["path"] == where and archive["bytes"] == len(content)
        assert archive["sha256"] == hashlib.sha256(content).hexdigest()
    assert info["near_duplicates_removed"] == {"valid": 0, "test": 0}
    assert not machine_paths(info, tmp_path)
    assert info["counts"] == {"train": 40, "valid": 10, "test": 60}
    assert split_bytes(data)["test"] == {np.float32((p - 127.5) / 255).tobytes()
                                         for p in images.values()}
    assert_disjoint(data)
    assert load_tiny(data_dir, source="small").info["protocol"] == "small"
    with pytest.raises(ValueError, match="train_size"):
        load_notmnist(data_dir, train_size=200, valid_size=10, verbose=False)


def test_bad_arguments(tiny):
    with pytest.raises(ValueError, match="source=.medium"):
        load_notmnist(tiny[0], source="medium")
    with pytest.raises(ValueError, match="valid_size"):
        load_tiny(tiny[0], valid_size=-1)
    with pytest.raises(ValueError, match="valid_size \\+ test_size"):
        load_tiny(tiny[0], valid_size=50, test_size=50)
    assert load_tiny(tiny[0], valid_size=0.25, test_size=0.0).info["counts"]["valid"] == 15


# near duplicates across the splits


def boundary_pair():
    """Two uint8 images exactly RMS 0.05 apart: squared differences summing to 784 * 12.75²."""
    a, b = np.zeros((28, 28), np.uint8), np.zeros((28, 28), np.uint8)
    b.flat[:8] = [255, 249, 20, 4, 2, 1, 1, 1]  # 65025 + 62001 + 400 + 16 + 4 + 3 = 127449
    return a, b


def test_near_duplicates_against_the_float64_formula():
    rng = np.random.default_rng(0)
    references = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    # copies of references with noise from none to well past the threshold
    base = references[rng.integers(0, 300, 500)].astype(np.int16)
    noise = rng.normal(0, 1, (500, 28, 28)) * rng.uniform(0, 25, (500, 1, 1))
    queries = np.clip(np.rint(base + noise), 0, 255).astype(np.uint8)
    distance = rms_matrix(queries, references).min(axis=1)
    expected = distance <= NEAR_DUPLICATE_RMS
    assert 100 < expected.sum() < 400  # both sides of the threshold are exercised
    np.testing.assert_array_equal(near_duplicates(queries, references), expected)
    np.testing.assert_array_equal(near_duplicates(queries, references, rms=0.02),
                                  distance <= 0.02)


def test_near_duplicates_threshold_is_inclusive_and_exact():
    a, b = boundary_pair()
    assert rms_matrix(a[None], b[None])[0, 0] == pytest.approx(0.05, abs=1e-15)
    c = b.copy()
    c.flat[8] = 1  # one grey level more: 127450
    queries = np.stack([a, b, c])
    assert near_duplicates(queries, a[None]).tolist() == [True, True, False]
    assert near_duplicates(queries[:0], a[None]).shape == (0,)
    assert not near_duplicates(queries, a[None][:0]).any()
    with pytest.raises(ValueError, match="uint8"):
        near_duplicates(queries.astype(np.float32), a[None])
    with pytest.raises(ValueError, match="rms=-0.1"):
        near_duplicates(queries, a[None], rms=-0.1)


def test_near_duplicates_of_many_alike_images_stay_cheap():
    blank = np.zeros((3000, 28, 28), np.uint8)  # 9 million near pairs
    start = time.monotonic()
    assert near_duplicates(blank, blank).all()
    assert time.monotonic() - start < 10


def test_remove_near_duplicates_keeps_train_and_counts_what_it_drops():
    rng = np.random.default_rng(3)
    base = rng.integers(20, 236, (10, 28, 28), dtype=np.uint8)
    a, b = boundary_pair()

    def shifted(image, delta):
        return np.clip(image.astype(np.int16) + delta, 0, 255).astype(np.uint8)

    images = np.stack([
        base[0], base[1], base[2], a,  # 0-3: train
        base[0],  # 4: valid, an exact copy of train 0 -> dropped
        shifted(base[1], rng.integers(-8, 9, (28, 28))),  # 5: valid, RMS ~0.02 -> dropped
        shifted(base[2], 14),  # 6: valid, RMS 14/255 = 0.055 -> kept
        base[3],  # 7: valid, unrelated -> kept
        b,  # 8: test, exactly RMS 0.05 from train 3 -> dropped
        shifted(base[3], 3),  # 9: test, near the kept valid 7 -> dropped
        shifted(base[2], -13),  # 10: test, RMS 0.051 from train 2, 0.106 from valid 6 -> kept
        base[4],  # 11: test, unrelated -> kept
    ])
    split = {"train": np.arange(4), "valid": np.arange(4, 8), "test": np.arange(8, 12)}
    kept, removed = remove_near_duplicates(split, {s: images for s in split})
    assert removed == {"valid": 2, "test": 2}
    assert kept["train"].tolist() == [0, 1, 2, 3]
    assert kept["valid"].tolist() == [6, 7]
    assert kept["test"].tolist() == [10, 11]
    # the large protocol: test images come from another array (the small archive)
    other = np.stack([base[0], base[5], images[7]])
    kept, removed = remove_near_duplicates(
        {**split, "test": np.arange(3)}, {"train": images, "valid": images, "test": other})
    assert removed == {"valid": 2, "test": 2} and kept["test"].tolist() == [1]


@pytest.fixture
def tiny_with_near_copies(tmp_path):
    """60 distinct images, and for 20 of them a near copy (RMS <= 0.05) and a far one."""
    rng = np.random.default_rng(5)
    images = tiny_images()
    files = {name: png(pixels) for name, pixels in images.items()}
    for name, pixels in list(images.items())[::3]:
        near = np.clip(pixels.astype(np.int16) + rng.integers(-10, 11, (28, 28)), 0, 255)
        far = np.clip(pixels.astype(np.int16) + rng.integers(-40, 41, (28, 28)), 0, 255)
        files[name.replace(".png", "_near.png")] = png(near)
        files[name.replace(".png", "_far.png")] = png(far)
    write_tar(tmp_path / "data" / "notMNIST_small.tar.gz", files)
    return tmp_path / "data"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loaded_splits_hold_no_near_duplicates(tiny_with_near_copies, seed):
    data = load_tiny(tiny_with_near_copies, seed=seed, valid_size=20, test_size=20)
    info = data.info
    assert info["unique_images"] == 100
    removed = info["near_duplicates_removed"]
    assert info["near_duplicate_rms"] == NEAR_DUPLICATE_RMS
    assert 0 < removed["valid"] + removed["test"] <= 20
    assert info["counts"] == {"train": 60, "valid": 20 - removed["valid"],
                              "test": 20 - removed["test"]}
    assert_no_near_duplicates(data)
    assert "within RMS 0.05" in info["split"]


def test_loading_says_how_many_near_duplicates_it_removed(tiny_with_near_copies, capsys):
    data = load_tiny(tiny_with_near_copies, valid_size=20, test_size=20, verbose=True)
    removed = data.info["near_duplicates_removed"]
    err = capsys.readouterr().err
    assert (f"{removed['valid']} validation and {removed['test']} test images within RMS 0.05"
            in err)
    assert str(tiny_with_near_copies) in err  # the message a person reads names the real file


# where the data is looked for


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(DataError, match="nowhere does not exist"):
        load_notmnist(tmp_path / "nowhere")


LOADERS_AND_FILES = [
    (load_notmnist, ["notMNIST_small.tar.gz", "notMNIST_small/"]),
    (load_fashion_mnist, ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]),
]


@pytest.mark.parametrize("loader, expected", LOADERS_AND_FILES)
def test_an_empty_explicit_folder_is_the_only_place_looked_in(tmp_path, monkeypatch, loader,
                                                                 expected):
    """Downloads allowed, yet none is tried, and nothing appears outside the folder."""
    monkeypatch.delenv("ACTKERAS_DATA_DIR", raising=False)
    monkeypatch.delenv("ACTKERAS_NO_DOWNLOAD")
    monkeypatch.setattr(locate, "download", lambda *args: pytest.fail("a download was tried"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as error:
        loader(tmp_path / "empty", verbose=False)
    message = str(error.value)
    for text in [*expected, str(tmp_path / "empty"), "is the only place looked in",
                 "nothing is downloaded", "data_dir=", 'source="embedded"']:
        assert text in message
    assert str(tmp_path / "keras") not in message and "--data-dir" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


@pytest.mark.parametrize("loader, expected", LOADERS_AND_FILES)
def test_without_a_folder_the_search_lists_files_places_and_fixes(tmp_path, monkeypatch,
                                                                  loader, expected):
    monkeypatch.delenv("ACTKERAS_DATA_DIR", raising=False)
    with pytest.raises(DataError) as error:
        loader(verbose=False)
    message = str(error.value)
    for text in [*expected, str(tmp_path / "keras" / "datasets"), "ACTKERAS_DATA_DIR",
                 "ACTKERAS_NO_DOWNLOAD=1", "data_dir=", 'source="embedded"']:
        assert text in message


def test_the_fix_is_named_in_the_command_line_s_terms(tmp_path):
    (tmp_path / "empty").mkdir()
    with locate.fix_terms("cli"), pytest.raises(DataError) as error:
        load_notmnist(tmp_path / "empty", verbose=False)
    message = str(error.value)
    assert "--data-dir" in message and "--source embedded" in message
    assert "data_dir=" not in message and 'source="embedded"' not in message
    with pytest.raises(DataError, match="data_dir="):  # the API's terms again after the block
        load_notmnist(tmp_path / "empty", verbose=False)


def test_environment_folder_and_subfolders_are_searched(tiny, monkeypatch):
    monkeypatch.setenv("ACTKERAS_DATA_DIR", str(tiny[0]))
    assert load_notmnist(valid_size=10, test_size=10, verbose=False).info["unique_images"] == 60


def test_download_into_keras_cache(tiny, tmp_path, monkeypatch):
    monkeypatch.delenv("ACTKERAS_DATA_DIR", raising=False)
    monkeypatch.delenv("ACTKERAS_NO_DOWNLOAD")
    monkeypatch.setitem(locate.URLS, "notmnist", (tiny[0] / "notmnist").as_uri() + "/")
    target = tmp_path / "keras" / "datasets" / "notmnist" / "notMNIST_small.tar.gz"
    with pytest.raises(DataError, match="md5"):  # the tiny archive is not the real one
        load_notmnist(source="small", verbose=False)
    assert not target.exists() and not list(target.parent.iterdir())
    monkeypatch.delitem(locate.KNOWN_MD5, "notMNIST_small.tar.gz")
    data = load_notmnist(source="small", valid_size=10, test_size=10, verbose=False)
    assert target.is_file() and data.info["source"] == "notmnist/notMNIST_small.tar.gz"
    assert data.info["found_in"] == "Keras cache" and not machine_paths(data.info, tmp_path)


def test_failed_download_is_one_quick_error(tmp_path, monkeypatch):
    monkeypatch.delenv("ACTKERAS_DATA_DIR", raising=False)
    monkeypatch.delenv("ACTKERAS_NO_DOWNLOAD")
    monkeypatch.setitem(locate.URLS, "notmnist", "http://127.0.0.1:9/")  # nothing listens
    start = time.monotonic()
    with pytest.raises(DataError, match=r"(?s)Downloading http://127.0.0.1:9/.*failed.*Fix:"):
        load_notmnist(source="small", verbose=False)
    assert time.monotonic() - start < 10


# Fashion-MNIST on tiny IDX files


def write_idx(path, array, magic=None, cut=0):
    array = np.asarray(array, dtype=np.uint8)
    magic = magic or (2051 if array.ndim == 3 else 2049)
    header = struct.pack(">II", magic, len(array)) + b"".join(
        struct.pack(">I", d) for d in array.shape[1:])
    body = header + array.tobytes()
    with gzip.open(path, "wb") as handle:
        handle.write(body[:len(body) - cut])


@pytest.fixture
def tiny_fashion(tmp_path):
    folder = tmp_path / "fdata" / "fashion-mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    x, xt = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 256, (10, 28, 28))
    write_idx(folder / "train-images-idx3-ubyte.gz", x)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(20) % 10)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", xt)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(10))
    return folder, x, xt


def test_fashion_split_and_scaling(tiny_fashion):
    folder, x, xt = tiny_fashion
    data = load_fashion_mnist(folder.parent, valid_size=5, verbose=False)
    assert data.info["counts"] == {"train": 15, "valid": 5, "test": 10}
    assert (data.info["source"], data.info["found_in"]) == ("fashion-mnist", "data_dir")
    assert not machine_paths(data.info, folder)
    np.testing.assert_array_equal(data.x_valid, (x[:5] / 255).astype(np.float32))
    np.testing.assert_array_equal(data.x_train, (x[5:] / 255).astype(np.float32))
    np.testing.assert_array_equal(data.y_train, np.arange(5, 20) % 10)
    np.testing.assert_array_equal(data.x_test, (xt / 255).astype(np.float32))
    assert data.x_train.dtype == np.float32 and data.y_test.dtype == np.int32


@pytest.mark.parametrize("name, damage, message", [
    ("train-images-idx3-ubyte.gz", {"magic": 2049}, "magic number 2049, not 2051"),
    ("t10k-labels-idx1-ubyte.gz", {"magic": 2051}, "magic number 2051, not 2049"),
    ("train-images-idx3-ubyte.gz", {"cut": 100}, "truncated"),
    ("t10k-labels-idx1-ubyte.gz", {"cut": 1}, "truncated"),
])
def test_fashion_bad_idx_names_the_file(tiny_fashion, name, damage, message):
    folder = tiny_fashion[0]
    rng = np.random.default_rng(1)
    array = rng.integers(0, 256, (20, 28, 28)) if "images" in name else np.arange(10)
    write_idx(folder / name, array, **damage)
    with pytest.raises(DataError, match=f"{name}.*{message}"):
        load_fashion_mnist(folder, verbose=False)


def test_fashion_truncated_gzip_and_mismatched_counts(tiny_fashion):
    folder = tiny_fashion[0]
    labels = folder / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-6])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz is truncated or corrupt"):
        load_fashion_mnist(folder, verbose=False)
    write_idx(labels, np.arange(19) % 10)
    with pytest.raises(DataError, match="images \\(20\\) and labels \\(19\\)"):
        load_fashion_mnist(folder, verbose=False)


def test_an_unreadable_fashion_file_or_folder_is_not_called_corrupt(tiny_fashion, monkeypatch):
    """A file the user may not read was "truncated or corrupt ... Delete it and download it
    again" (deleting a good file), a folder a bare "[Errno 13] Permission denied". (The
    tests run as root, whom chmod does not stop: the refusals are made here.)"""
    import errno

    from actkeras.data import fashion_mnist

    folder = tiny_fashion[0]
    labels = folder / "train-labels-idx1-ubyte.gz"
    real_open = fashion_mnist.gzip.open

    def denied(path, *args, **kwargs):
        if Path(path) == labels:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(fashion_mnist.gzip, "open", denied)
    with pytest.raises(DataError) as error:
        load_fashion_mnist(folder, verbose=False)
    assert str(error.value).startswith(f"Cannot read {labels} (Permission denied). Check its "
                                       "permissions.")
    assert "corrupt" not in str(error.value) and labels.is_file()
    monkeypatch.undo()
    real_is_file = Path.is_file

    def shut(path):
        if path.parent == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_is_file(path)

    monkeypatch.setattr(Path, "is_file", shut)
    with pytest.raises(DataError, match=f"Cannot look into {folder} \\(Permission denied\\). "
                                        "Check its permissions."):
        load_fashion_mnist(folder.parent, verbose=False)


def test_a_folder_holding_some_of_the_files_says_which_it_lacks(tiny_fashion, monkeypatch):
    folder = tiny_fashion[0]
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv("ACTKERAS_DATA_DIR", str(folder.parent))
    monkeypatch.setenv("ACTKERAS_NO_DOWNLOAD", "1")
    with pytest.raises(DataError) as error:
        load_fashion_mnist(verbose=False)
    message = str(error.value)
    assert f"  {folder}  ($ACTKERAS_DATA_DIR, lacks t10k-labels-idx1-ubyte.gz)\n" in message
    assert f"  {folder.parent}  ($ACTKERAS_DATA_DIR)\n" in message  # none of them: no list
    # The folder came from the environment: the received line says so.
    assert message.endswith(f"Received: data_dir=None; $ACTKERAS_DATA_DIR={folder.parent}")


# the embedded samples and the public surface


def test_embedded_samples_are_balanced_and_small():
    notm = load_notmnist(source="embedded", seed=0)
    assert notm.info["source"] == "embedded"
    removed = notm.info["near_duplicates_removed"]
    assert notm.info["counts"] == {"train": 3200, "valid": 400 - removed["valid"],
                                   "test": 400 - removed["test"]}
    assert 0 < removed["valid"] + removed["test"] < 40
    with np.load(DATA_PACKAGE / "samples" / notmnist.SAMPLE, allow_pickle=False) as stored:
        assert np.bincount(stored["y"]).tolist() == [400] * 10
    assert_disjoint(notm)
    assert_no_near_duplicates(notm)
    fashion = load_fashion_mnist(source="embedded")
    assert fashion.info["counts"] == {"train": 2250, "valid": 250, "test": 1000}
    assert np.bincount(fashion.y_train).tolist() == [225] * 10
    assert np.bincount(fashion.y_valid).tolist() == [25] * 10
    assert np.bincount(fashion.y_test).tolist() == [100] * 10
    for data in (notm, fashion):
        for x, y in zip(arrays(data)[:3], arrays(data)[3:]):
            assert x.dtype == np.float32 and x.shape[1:] == (28, 28) and y.dtype == np.int32
    samples = DATA_PACKAGE / "samples"
    size = sum(p.stat().st_size for p in samples.glob("*.npz"))
    assert size <= 3_000_000
    assert "MIT" in (samples / "NOTICE").read_text()
    record = json.loads((samples / "samples.json").read_text())
    assert record["notmnist"]["per_class"] == [400] * 10


def test_load_dataset_dispatches_and_subsets():
    data = load_dataset("fashion_mnist", source="embedded", verbose=False)
    assert isinstance(data, Dataset) and data.name == "fashion_mnist"
    small = data.subset(100, 20)
    assert small.info["counts"] == {"train": 100, "valid": 20, "test": 1000}
    np.testing.assert_array_equal(small.x_train, data.x_train[:100])
    assert "train=100" in repr(small)
    with pytest.raises(ValueError, match="notmnist, fashion_mnist. Received: name='mnist'"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="n_train"):
        data.subset(-1)


def test_data_package_imports_only_numpy_pillow_and_stdlib():
    allowed = set(sys.stdlib_module_names) | {"numpy", "PIL", "actkeras"}
    for path in DATA_PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # top level only: a lazy import inside a function is fine
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


# the real files (ACTKERAS_DATA_DIR)


@pytest.fixture(scope="module")
def real_notmnist(data_dir, tmp_path_factory):
    if locate.find("notmnist", ("notMNIST_small.tar.gz", "notMNIST_small"), data_dir) is None:
        pytest.skip(f"no notMNIST_small.tar.gz (or notMNIST_small/) in {data_dir} or its "
                    f"notmnist/ subfolder")
    return load_notmnist(data_dir, source="small", cache_dir=tmp_path_factory.mktemp("cache"),
                         verbose=False)


def test_real_notmnist_small(real_notmnist, data_dir):
    info = real_notmnist.info
    assert (info["images_read"], info["skipped"]) == (18_724, 2)
    assert sorted(info["skipped_files"]) == [
        "notMNIST_small/A/RGVtb2NyYXRpY2FCb2xkT2xkc3R5bGUgQm9sZC50dGY=.png",
        "notMNIST_small/F/Q3Jvc3NvdmVyIEJvbGRPYmxpcXVlLnR0Zg==.png"]
    assert 480 <= info["duplicates_removed"] <= 500
    assert info["unique_images"] == 18_724 - info["duplicates_removed"]
    removed = info["near_duplicates_removed"]
    assert sum(info["counts"].values()) + sum(removed.values()) == info["unique_images"]
    for split in ("valid", "test"):  # the sizes asked for apply before the near duplicates go
        assert info["counts"][split] + removed[split] == round(0.1 * info["unique_images"])
    assert_disjoint(real_notmnist)
    assert not machine_paths(info, data_dir)


def test_real_notmnist_small_has_no_near_duplicates_across_splits(real_notmnist):
    """The promise of `notmnist`'s docstring, checked with an independent float64 formula."""
    info = real_notmnist.info
    assert info["near_duplicate_rms"] == NEAR_DUPLICATE_RMS == 0.05
    # measured with seed 0: 105 validation images near a training image; 116 test images
    # near a training image and 7 more near a kept validation image
    assert 90 <= info["near_duplicates_removed"]["valid"] <= 120
    assert 110 <= info["near_duplicates_removed"]["test"] <= 140
    assert_no_near_duplicates(real_notmnist)


def test_real_fashion_mnist(data_dir):
    data = load_fashion_mnist(data_dir, verbose=False)
    assert data.info["counts"] == {"train": 55_000, "valid": 5_000, "test": 10_000}
    assert np.bincount(np.concatenate([data.y_train, data.y_valid])).tolist() == [6_000] * 10
    assert np.bincount(data.y_test).tolist() == [1_000] * 10
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0


class _Trap:
    """Unpickling this creates `path`: proof that a loader used pickle."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_a_pickled_cache_file_is_never_unpickled(tiny, tmp_path):
    first = load_tiny(tiny[0])
    cache = cache_file(first, tmp_path)
    sentinel = tmp_path / "unpickled"
    trap = np.empty(1, dtype=object)
    trap[0] = _Trap(sentinel)
    with open(cache, "wb") as handle:
        np.savez(handle, x_train=trap, y_train=trap)
    again = load_tiny(tiny[0])  # the cache is unusable: rebuilt from the archive
    assert not sentinel.exists()
    assert not again.info["cache_hit"]
    np.testing.assert_array_equal(again.x_train, first.x_train)


def test_no_loader_can_unpickle():
    """Every `np.load` in the package passes allow_pickle=False; nothing imports pickle."""
    for path in (DATA_PACKAGE.parent).rglob("*.py"):
        source = path.read_text()
        assert "import pickle" not in source and "allow_pickle=True" not in source, path
        loads = source.count("np.load(")
        assert loads == source.count("allow_pickle=False"), path
