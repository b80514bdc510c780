"""Near-duplicate images across splits: found by RMS pixel distance, kept in training.

notMNIST renders the same glyph from many fonts, and many fonts are near copies of one
another: pixel-identical images are removed by hashing (`notmnist.deduplicate`), but an
image one or two grey levels away from a training image passes that test and would
make the validation and test scores measure memory rather than generalisation. The
training set keeps every image; a validation or test image within `rms` of a training
image is dropped, and so is a test image within `rms` of a kept validation image, so no
split holds a near copy of an image in an earlier split (train, then valid, then test).

The distance is the root mean square of the pixel differences, pixels as uint8 / 255.
Candidates are screened with one float32 matrix product per block of images
(|a - b|² = |a|² + |b|² - 2 a·b) and a margin wider than float32's rounding error, then
checked exactly in integers, so the result is that of the exact formula: an image at
exactly `rms` counts as a near duplicate.
"""

import numpy as np

# Within RMS 0.05 (12.75 grey levels on average) two notMNIST images are, by eye, the
# same glyph of the same font (variants of one font differing in anti-aliasing or
# weight), and carry the same label. Measured on notMNIST_small (seed 0, 10 % / 10 %
# split, after the exact de-duplication): 105 of 1,823 validation and 116 of 1,823 test
# images are this close to a training image, and 7 more test images to a kept
# validation image. A conservative cut: many pairs up to about 0.08 look alike too.
NEAR_DUPLICATE_RMS = 0.05
_CHUNK = 2048  # images per block: a 2048 x 2048 float32 block is 16 MB
_EPS32 = float(np.finfo(np.float32).eps)  # 2**-23, twice float32's unit round-off


def near_duplicates(queries, references, rms=NEAR_DUPLICATE_RMS):
    """Which `queries` lie within RMS distance `rms` of at least one of `references`.

    Example:

    >>> a = np.zeros((1, 28, 28), np.uint8)
    >>> near_duplicates(np.concatenate([a, a + 12, a + 13]), a).tolist()
    [True, True, False]

    Args:
        queries: uint8 images `(N, ...)`.
        references: uint8 images `(M, ...)` of the same shape.
        rms: the largest root-mean-square pixel difference, pixels scaled to [0, 1], at
            which two images count as near duplicates. Defaults to `NEAR_DUPLICATE_RMS`.

    Returns:
        A boolean array of shape `(N,)`.
    """
    queries, references = np.asarray(queries), np.asarray(references)
    if queries.dtype != np.uint8 or references.dtype != np.uint8:
        raise ValueError(f"near_duplicates compares uint8 images. Received: "
                         f"queries.dtype={queries.dtype}, references.dtype={references.dtype}")
    if not 0 <= rms < 1:
        raise ValueError(f"rms is a distance between images in [0, 1]. Received: rms={rms!r}")
    if queries.shape[1:] != references.shape[1:]:
        raise ValueError(f"queries and references must have the same image shape. Received: "
                         f"{queries.shape[1:]} and {references.shape[1:]}")
    found = np.zeros(len(queries), dtype=bool)
    if not len(queries) or not len(references):
        return found
    q, r = _flat(queries), _flat(references)
    # The sum of squared uint8 differences is at most this; exact in float64 for rms = 0.05.
    limit = (rms * 255) ** 2 * q.shape[1]
    # A float32 dot product of n terms errs by at most about n * 2**-24 * (|a|² + |b|²) / 2,
    # so the estimate of |a - b|² by n * 2**-24 * (|a|² + |b|²): with twice that margin
    # the screen only lets through extra candidates, it never loses one.
    margin = q.shape[1] * _EPS32
    # |a|² + |b|² - 2 a·b <= limit + margin (|a|² + |b|²), rearranged so that each block
    # costs one product, one subtraction and one comparison, all in float32:
    # a·b - (1 - margin) |b|² / 2 >= ((1 - margin) |a|² - limit) / 2.
    q_norm, r_norm = _norms(q), _norms(r)
    q_bound = (((1 - margin) * q_norm - limit) / 2).astype(np.float32)
    r_half = ((1 - margin) * r_norm / 2).astype(np.float32)
    q32, r32 = _centred(q).astype(np.float32), _centred(r).astype(np.float32)
    for i in range(0, len(q), _CHUNK):
        qi = slice(i, i + _CHUNK)
        for j in range(0, len(r), _CHUNK):
            rj = slice(j, j + _CHUNK)
            score = q32[qi] @ r32[rj].T
            score -= r_half[None, rj]
            candidate = score >= q_bound[qi, None]
            candidate[found[qi]] = False
            rows = np.flatnonzero(candidate.any(axis=1))
            if not len(rows):
                continue
            # Each query's highest score (closest estimate) first: almost always a match, and
            # one check per query keeps memory small even where thousands of images are alike.
            best = np.where(candidate[rows], score[rows], -np.inf).argmax(axis=1)
            found[i + rows] = _within(q, r, i + rows, j + best, limit)
            rest = rows[~found[i + rows]]
            pairs = np.nonzero(candidate[rest])
            for k in range(0, len(pairs[0]), _CHUNK):
                row, col = rest[pairs[0][k:k + _CHUNK]], pairs[1][k:k + _CHUNK]
                found[i + row[_within(q, r, i + row, j + col, limit)]] = True
    return found


def remove_near_duplicates(split, images, rms=NEAR_DUPLICATE_RMS):
    """Drops validation and test indices whose images are near an earlier split's.

    Args:
        split: `{"train", "valid", "test"}` to index arrays.
        images: `{"train", "valid", "test"}` to the uint8 images each split indexes.
        rms: see `near_duplicates`. Defaults to `NEAR_DUPLICATE_RMS`.

    Returns:
        `(split, removed)`: the split with the near duplicates left out (order kept) and
        `{"valid": n, "test": n}`, the images removed from each.
    """
    train = images["train"][split["train"]]
    valid = images["valid"][split["valid"]]
    test = images["test"][split["test"]]
    near = near_duplicates(np.concatenate([valid, test]), train, rms)  # one pass over train
    near_valid, near_test = near[:len(valid)], near[len(valid):]
    far = np.flatnonzero(~near_test)
    near_test[far] = near_duplicates(test[far], valid[~near_valid], rms)
    kept = {"train": split["train"], "valid": split["valid"][~near_valid],
            "test": split["test"][~near_test]}
    return kept, {"valid": int(near_valid.sum()), "test": int(near_test.sum())}


def _within(q, r, rows, cols, limit):
    """Whether each pair `(q[rows[k]], r[cols[k]])` is within `limit`, in exact integers."""
    diff = q[rows].astype(np.int32) - r[cols]
    return np.einsum("ij,ij->i", diff, diff, dtype=np.int64) <= limit


def _flat(images):
    return images.reshape(len(images), -1)


def _centred(flat):
    """Pixels minus 128: distances are unchanged, and the float32 products are smaller."""
    return flat.astype(np.int16) - 128


def _norms(flat):
    """Exact squared norms of the centred images, as float64."""
    centred = _centred(flat).astype(np.int64)
    return np.einsum("ij,ij->i", centred, centred).astype(np.float64)
