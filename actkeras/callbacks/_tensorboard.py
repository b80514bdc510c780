"""A small TensorBoard event writer that works on every Keras backend.

It writes scalars and histograms as classic `Summary` protos with the
`tensorboard` package's own `EventFileWriter`, so TensorFlow is not needed
(JAX users have TensorBoard without TensorFlow) and TensorBoard's own reader,
`EventAccumulator`, reads them back. The file is opened on the first write.
"""

import os
import time

import numpy as np

from actkeras.errors import nearest_existing


def check_log_dir(log_dir):
    """Raises `ValueError` naming `log_dir` when its event files could not be written (an
    existing file, or a folder that cannot be written in): said before training, not at
    the first write, after an epoch. Remote paths (`gs://...`) are left to TensorBoard."""
    if "://" in str(log_dir):
        return
    existing = nearest_existing(log_dir)
    if not existing.is_dir():
        raise ValueError(f"log_dir must be a folder (made if needed), and {existing} is a "
                         f"file. Received: log_dir={str(log_dir)!r}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"log_dir: the folder {existing} cannot be written in. Received: "
                         f"log_dir={str(log_dir)!r}")


class EventWriter:
    """Appends scalars and histograms to an event file in `log_dir`.

    Example:
    >>> writer = EventWriter("logs/run1", suffix=".dead_relu")
    >>> writer.scalars({"dead_fraction": 0.25}, step=100)
    >>> writer.close()

    Args:
        log_dir: the directory (created if needed).
        suffix: the event file name's suffix, so that several monitors can share
            a directory. Defaults to `""`.
    """

    def __init__(self, log_dir, suffix=""):
        self.log_dir = str(log_dir)
        self.suffix = suffix
        self._writer = None

    def _event(self, values, step):
        from tensorboard.compat.proto import event_pb2, summary_pb2

        if self._writer is None:
            from tensorboard.summary.writer.event_file_writer import EventFileWriter

            self._writer = EventFileWriter(self.log_dir, filename_suffix=self.suffix)
        summary = summary_pb2.Summary(value=values)
        self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

    def scalars(self, values, step):
        """Writes `{tag: number}` at `step`."""
        from tensorboard.compat.proto import summary_pb2

        value = summary_pb2.Summary.Value
        self._event([value(tag=tag, simple_value=float(v)) for tag, v in values.items()], int(step))

    def histogram(self, tag, values, step, bins=30):
        """Writes the histogram of the array's finite `values` at `step` (none: nothing)."""
        from tensorboard.compat.proto import summary_pb2

        values = np.asarray(values, dtype="float64").ravel()
        values = values[np.isfinite(values)]
        if not values.size:
            return
        counts, edges = np.histogram(values, bins=bins)
        proto = summary_pb2.HistogramProto(
            min=float(values.min()),
            max=float(values.max()),
            num=float(values.size),
            sum=float(values.sum()),
            sum_squares=float(np.dot(values, values)),
            bucket_limit=[float(e) for e in edges[1:]],
            bucket=[float(c) for c in counts],
        )
        self._event([summary_pb2.Summary.Value(tag=tag, histo=proto)], int(step))

    def close(self):
        """Flushes and closes the file; a later write opens a new one."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
