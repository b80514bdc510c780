"""What every written record shares: the environment it was made in, JSON-ready values,
and a training run's `History` as rows.

`environment()` is the one description of the machine, backend and versions that the
reproduction's report, the benchmarks and the exported models' metadata carry;
`plain()` is the one conversion of results to JSON (NumPy to Python, tuples to lists,
NaN and infinities to `null`); `history_records()` and `history_csv()` write a Keras
`History` as per-epoch rows and as CSV text.
"""

import csv
import datetime
import importlib.metadata
import io
import math
import os
import platform
from pathlib import Path

_PACKAGES = ("actkeras", "keras", "keras-tuner", "tensorflow", "tensorflow-cpu", "jax", "jaxlib",
             "numpy")


def version(package):
    """The installed version of `package`, or `None`."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_info(*fields):
    """`{field: value}` of the first CPU's `fields` in `/proc/cpuinfo` (Linux; `{}` elsewhere)."""
    found = {}
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() in fields:
            found.setdefault(key.strip(), value.strip())
    return found


def _cpu_model():
    return (cpu_info("model name").get("model name") or platform.processor()
            or platform.machine())


def _accelerators(backend):
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [d.name for d in tf.config.list_physical_devices("GPU")]
        if backend == "jax":
            import jax

            return [str(d) for d in jax.devices() if d.platform != "cpu"]
    except Exception:  # a record must not fail on a device query
        return []
    return []


def environment():
    """The date, machine, backend, accelerators and package versions, JSON-ready."""
    import keras

    backend = keras.backend.backend()
    versions = {name: version(name) for name in _PACKAGES}
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "backend": backend,
        "accelerators": _accelerators(backend),
        "versions": {k: v for k, v in versions.items() if v},
    }


def plain(value, strict=False):
    """A JSON-ready copy of `value`.

    Dicts (keys as strings), lists, tuples and sets become dicts and lists; NumPy
    scalars and arrays (anything with `tolist`) become Python numbers and lists;
    NaN and infinities become `None`; paths become strings.

    Args:
        value: the value to convert.
        strict: raise `TypeError` for any other object instead of writing its
            `str()`. Defaults to `False`.
    """
    if isinstance(value, dict):
        return {str(k): plain(v, strict) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v, strict) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (bool, int, float, str)):
        return plain(value.tolist(), strict)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Path):
        return str(value)
    if strict:
        raise TypeError(f"Only JSON-ready values can be recorded. Received: "
                        f"{type(value).__name__} {value!r}")
    return str(value)


def history_records(history):
    """`History.history` as a list of per-epoch dicts of floats (NaN kept as None)."""
    keys = list(history.history)
    rows = []
    for epoch in range(len(history.epoch)):
        row = {"epoch": epoch + 1}
        for key in keys:
            value = float(history.history[key][epoch])
            row[key] = value if math.isfinite(value) else None
        rows.append(row)
    return rows


def history_csv(records):
    """`history_records` rows as CSV text (columns in order of first appearance)."""
    keys = []
    for row in records:
        keys += [k for k in row if k not in keys]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys or ["epoch"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()
