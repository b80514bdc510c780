"""`SummaryProgbarLogger`: Keras's progress bar without the monitors' per-layer keys."""

import keras


class SummaryProgbarLogger(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, showing the summary values only.

    The monitors (`actkeras.callbacks`) write their per-layer values into `logs` as
    `name/<layer>` (`dead_fraction/dense_3`, `act_std/activation_0`, also
    `grad_norm/global`): dozens of keys for a deep network, meant for `History`,
    `CSVLogger` and `TensorBoard`, which still get them all. The bar leaves out
    every key holding a `/`, and shows the loss, the metrics and the summaries
    (`dead_fraction`, `inactive_fraction`, `gradient_ratio`).

    Example:
    >>> model.fit(x, y, verbose=1, callbacks=[DeadReLUMonitor(), SummaryProgbarLogger()])
    """

    async_safe = True  # as Keras's own bar, which Keras may call asynchronously

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, summary_logs(logs))

    def on_test_batch_end(self, batch, logs=None):
        super().on_test_batch_end(batch, summary_logs(logs))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, summary_logs(logs))

    def on_test_end(self, logs=None):
        super().on_test_end(summary_logs(logs))


def summary_logs(logs):
    """`logs` without the per-layer keys (those holding a `/`), as a new dict."""
    return None if logs is None else {k: v for k, v in logs.items() if "/" not in k}
