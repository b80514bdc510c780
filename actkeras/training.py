"""Training a built model the way its preset says: by epochs, or by steps as the course did.

`fit` hands Keras's own `fit` loop the data and the callbacks; by steps, it also
installs `actkeras.stepping`'s step groups, run in one backend call. The divergence
guard, the progress bar and `FinishedEpochs` are callbacks
(`actkeras.callbacks.divergence`, `.progress`, `.finished_epochs`), the history
writers records (`actkeras.records`); their old names here still work.
"""

import math
import warnings

import keras
import numpy as np

from actkeras import _compat, stepping
from actkeras.callbacks.divergence import DivergenceGuard, divergence_message
from actkeras.callbacks.finished_epochs import FinishedEpochs
from actkeras.callbacks.progress import SummaryProgbarLogger, summary_logs
from actkeras.records import history_csv, history_records
from actkeras.stepping import StepBatches, course_offsets, step_batches

__all__ = ["EVAL_BATCH", "DivergenceGuard", "FinishedEpochs", "StepBatches",
           "SummaryProgbarLogger", "check_data", "course_offsets", "divergence_message",
           "evaluate", "fit", "history_csv", "history_records", "step_batches", "summary_logs"]

# Images per batch when a model is only evaluated (validation in `fit`, `evaluate`):
# training's small batches cost the course network about 4 % of its speed in
# validation alone (one in-process comparison on 2 CPU cores), and the batch size of
# an evaluation changes its numbers only by float rounding.
EVAL_BATCH = 1024


def fit(model, data, config=None, *, callbacks=(), verbose="auto", log_every=500,
        validation=True, epochs=None, steps=None, check_every=None):
    """Trains `model` on a `Dataset` as its `ModelConfig` says; returns the `History`.

    By-step presets (`config.steps`) run exactly that many updates, reported as
    "epochs" of `log_every` steps (the last one shorter), so that `History`,
    `CSVLogger` and the monitors see a learning curve.

    Args:
        model: a compiled model (from `build_model`, or any model with a config).
        data: an `actkeras.data.Dataset`.
        config: the `ModelConfig`. Defaults to `model.actkeras_config`.
        callbacks: Keras callbacks.
        verbose: Keras's `verbose`. Defaults to `"auto"`.
        log_every: steps per reported epoch for by-step training. Defaults to `500`.
        validation: evaluate on the validation split at each epoch end.
        epochs, steps: override the config's training length.
        check_every: also look for a NaN loss after every `check_every` batches
            (`DivergenceGuard`'s `every`); `None` looks at epoch ends only, which
            leaves Keras's asynchronous dispatch on. Defaults to `None`.
    """
    config = config or getattr(model, "actkeras_config", None)
    if config is None:
        raise ValueError(
            "fit() needs a ModelConfig: pass config=, or build the model with build_model()."
        )
    steps = steps if steps is not None else (config.steps if epochs is None else None)
    check_data(model, data)
    valid = (data.x_valid, data.y_valid) if validation and len(data.x_valid) else None
    guard = DivergenceGuard(every=check_every)
    callbacks = [*_monitors_first(callbacks), guard]
    _offer_probe_data(callbacks, data)
    callbacks = _with_summary_progbar(callbacks, verbose)
    history = _fit(model, data, config, callbacks, verbose, log_every, valid, epochs, steps)
    history.diverged_at_step = guard.step
    if guard.step is not None:
        warnings.warn(divergence_message(guard.step, config.learning_rate), RuntimeWarning,
                      stacklevel=2)
    return history


def _fit(model, data, config, callbacks, verbose, log_every, valid, epochs, steps):
    common = {"validation_data": valid, "validation_batch_size": EVAL_BATCH,
              "callbacks": list(callbacks), "verbose": verbose}
    pipeline = input_pipeline(*valid, EVAL_BATCH, shuffle=False) if valid else None
    if pipeline is not None:
        common.update(validation_data=pipeline, validation_batch_size=None)
    x, y, batch = data.x_train, data.y_train, config.batch_size
    if steps:
        period = min(log_every, steps)
        _fit_execution_group(model, period)
        stream, function = stepping.by_steps(model, x, y, batch, steps)
        with warnings.catch_warnings(), stepping.installed(model, function):
            # The last reported epoch is shorter by design: Keras warns about it.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            return model.fit(stream, epochs=math.ceil(steps / period), steps_per_epoch=period,
                             shuffle=False,  # the course's order; a PyDataset is shuffled otherwise
                             **common)
    return fit_arrays(model, x, y, batch, epochs or config.epochs, **common)


def fit_arrays(model, x, y, batch_size, epochs, **kwargs):
    """Keras's `model.fit(x, y, shuffle=True, ...)`, on TensorFlow through
    `input_pipeline` (the same batches, its autotuning off)."""
    pipeline = input_pipeline(x, y, batch_size, shuffle=True)
    if pipeline is not None:
        return model.fit(pipeline, epochs=epochs, shuffle=False, **kwargs)
    return model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, **kwargs)


def input_pipeline(x, y, batch_size, shuffle):
    """On TensorFlow, the input pipeline Keras builds for the arrays `x`, `y` in
    `fit(..., shuffle=shuffle)` or `evaluate`, its tf.data autotuning off (the same
    batches in the same order: `_compat.tf_epoch_dataset`); `None` elsewhere, or on an
    untested Keras: then Keras takes the arrays."""
    if keras.backend.backend() != "tensorflow":
        return None
    return _compat.tf_epoch_dataset(x, y, batch_size, shuffle=shuffle)


def _fit_execution_group(model, period):
    """Lowers `model.steps_per_execution` to a divisor of the reported epoch.

    Keras runs whole groups of `steps_per_execution` steps, so an epoch that is not
    a multiple of it would run past its length. The reporting period is the
    caller's choice and the group only a speed setting, so the group gives way:
    it becomes the greatest common divisor of the two, and Keras's compiled
    functions are dropped to be traced again with it.
    """
    group = getattr(model, "steps_per_execution", 1) or 1
    fitted = math.gcd(group, period)
    if fitted != group:
        model.steps_per_execution = fitted
        model.train_function = model.test_function = model.predict_function = None


def check_data(model, data):
    """Clear errors for training data that does not fit the model, before Keras sees it."""
    expected = tuple(model.input_shape[1:])
    for split in ("train", "valid", "test"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        x, y = np.asarray(x), np.asarray(y)
        if split == "train" and not len(x):
            raise ValueError("The training split is empty: give fit() at least one batch of images.")
        if x.dtype.kind not in "fiu":
            raise ValueError(f"The {split} images must be numbers (float32 scaled to [0, 1]). "
                             f"Received: dtype {x.dtype}")
        if len(x) and tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"The {split} images have shape {tuple(x.shape[1:])} but the model expects "
                f"{expected}: resize the images, or build the model with "
                f"input_shape={tuple(x.shape[1:])}.")
        if len(x) != len(y):
            raise ValueError(f"The {split} split has {len(x)} images but {len(y)} labels.")
        if len(y) and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= model.output_shape[-1]):
            raise ValueError(
                f"The {split} labels must be integer class indices from 0 to "
                f"{model.output_shape[-1] - 1}. Received: dtype {y.dtype}, "
                f"values {y.min()} to {y.max()}")


def _monitors_first(callbacks):
    """The activation monitors first, the rest in their order: Keras calls callbacks in
    list order, and `CSVLogger`, `TensorBoard` and the like see only the keys that the
    monitors wrote into `logs` before their turn."""
    monitors = [c for c in callbacks if hasattr(c, "set_probe_data")]
    return [*monitors, *(c for c in callbacks if not hasattr(c, "set_probe_data"))]


def _offer_probe_data(callbacks, data):
    """Keras callbacks never see the validation data: the activation monitors
    (`actkeras.callbacks`) take a bounded sample of it through `set_probe_data`,
    used only where no `probe_data` was given (the training split if empty)."""
    x, y = (data.x_valid, data.y_valid) if len(data.x_valid) else (data.x_train, data.y_train)
    for callback in callbacks:
        if hasattr(callback, "set_probe_data"):
            callback.set_probe_data(x, y)


SPLITS = ("train", "valid", "test")


def evaluate(model, data, batch_size=EVAL_BATCH, history=None, splits=SPLITS):
    """Loss and accuracy on every non-empty split of `data` named in `splits`, as plain
    floats (`{"train_loss", "train_accuracy", ...}`).

    With the `History` of the `fit` that left the model as it is, the validation split's
    numbers are its last epoch's: `fit` validated after its last step through the same
    pipeline and batch size, so evaluating again would give them again, bitwise."""
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise ValueError(f"`splits` names the splits to score, some of {', '.join(SPLITS)}. "
                         f"Received: splits={splits!r}")
    results = {}
    validated = _last_validation(history) if batch_size == EVAL_BATCH else None
    for split in (s for s in SPLITS if s in splits):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if split == "valid" and validated is not None:
            results.update(validated)
        elif len(x):
            pipeline = input_pipeline(x, y, batch_size, shuffle=False)
            if pipeline is None:
                loss, accuracy = model.evaluate(x, y, batch_size=batch_size, verbose=0)[:2]
            else:
                loss, accuracy = model.evaluate(pipeline, verbose=0)[:2]
            results[f"{split}_loss"] = float(loss)
            results[f"{split}_accuracy"] = float(accuracy)
    return results


def _last_validation(history):
    """`{"valid_loss", "valid_accuracy"}` of the last epoch of `history`, if every epoch
    was validated; else `None`."""
    logs = getattr(history, "history", None) or {}
    loss, accuracy = logs.get("val_loss"), logs.get("val_accuracy")
    epochs = len(getattr(history, "epoch", None) or ())
    if not epochs or not loss or not accuracy or len(loss) != epochs or len(accuracy) != epochs:
        return None
    return {"valid_loss": float(loss[-1]), "valid_accuracy": float(accuracy[-1])}


def _with_summary_progbar(callbacks, verbose):
    """`callbacks` plus a `SummaryProgbarLogger`, last (after the monitors, so that it
    sees their summaries), unless quiet or the caller brought a progress bar."""
    if not verbose or any(isinstance(c, keras.callbacks.ProgbarLogger) for c in callbacks):
        return callbacks
    return [*callbacks, SummaryProgbarLogger()]
