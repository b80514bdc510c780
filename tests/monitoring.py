"""One monitor measurement outside `fit`, on a model as it is, for the monitor tests."""

import warnings


def measure_once(monitor, model, *, end=False):
    """Sets `model`, begins, measures once (an epoch end) and, with `end`, ends training;
    returns the last record. Warnings pass through (for `pytest.warns`)."""
    monitor.set_model(model)
    monitor.on_train_begin()
    monitor.on_epoch_end(0, {})
    if end:
        monitor.on_train_end()
    return monitor.records[-1]


def measure_with_warnings(monitor, model):
    """`measure_once`, and every warning it raised (`warnings.WarningMessage`s)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = measure_once(monitor, model)
    return record, list(caught)
