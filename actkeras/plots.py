"""Figures from plain data: monitor `records` and training histories.

Every function takes plain Python data (what the monitors keep in `.records`,
or `History` objects / their dicts), draws on `ax` (a new figure's axes when
`None`), labels everything and returns the axes. matplotlib is imported only
here, and only when a function is called; nothing here calls `plt.show()`.
"""

import math


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _need(records, name):
    if not records:
        raise ValueError(f"`{name}` is empty: nothing to plot. Received: {name}={records!r}")


def plot_dead_fraction(records, ax=None):
    """Dead (or inactive) fraction of each layer, and overall, over training.

    Example:
    >>> plot_dead_fraction(dead_monitor.records)

    Args:
        records: `DeadReLUMonitor.records`. Epoch-end records are drawn against
            the epoch; if there are batch-level ones, all are drawn against the step.
        ax: matplotlib axes. Defaults to `None` (a new figure).
    """
    _need(records, "records")
    ax = _axes(ax)
    by_step = any(r.get("trigger") == "batch_end" for r in records)
    key = "step" if by_step else "epoch"
    xs = [r[key] for r in records]
    names = list(dict.fromkeys(n for r in records for n in r["layers"]))
    for name in names:
        info = next(r["layers"][name] for r in records if name in r["layers"])
        ys = [r["layers"][name]["fraction"] if name in r["layers"] else math.nan for r in records]
        ax.plot(xs, ys, marker="o", markersize=3, label=f"{name} ({info['kind']})")
    for kind in ("dead", "inactive"):
        overall = [r.get(f"{kind}_fraction") for r in records]
        if any(v is not None for v in overall):
            ys = [math.nan if v is None else v for v in overall]
            ax.plot(xs, ys, "k--", linewidth=2, label=f"all layers ({kind})")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("training step" if by_step else "epoch")
    ax.set_ylabel("fraction of units off on every probe sample")
    ax.set_title("Dead (ReLU) and inactive (leaky/exponential) units per layer")
    ax.legend(fontsize="small")
    return ax


def plot_gradient_norms(records_by_label, ax=None, index=-1):
    """Gradient norm against depth, log scale, one line per label (activation).

    Example:
    >>> plot_gradient_norms({"relu": relu_logger.records, "sigmoid": sig_logger.records})

    Args:
        records_by_label: `{label: GradientNormLogger.records}` (or a single
            record per label).
        ax: matplotlib axes. Defaults to `None` (a new figure).
        index: which record of each list to draw. Defaults to `-1` (the last).
    """
    _need(records_by_label, "records_by_label")
    ax = _axes(ax)
    for label, records in records_by_label.items():
        record = records if isinstance(records, dict) else records[index]
        norms = [n if n and n > 0 else math.nan for n in record["layers"].values()]
        ax.plot(range(1, len(norms) + 1), norms, marker="o", markersize=3, label=str(label))
    ax.set_yscale("log")
    ax.set_xlabel("layer depth (1 = first layer, input side)")
    ax.set_ylabel("L2 norm of the loss gradient (log scale)")
    ax.set_title("Gradient norm by depth")
    ax.legend(fontsize="small")
    return ax


def plot_activation_histograms(records, ax=None, layers=None):
    """Histograms of each activation layer's outputs, from the latest record with them.

    Example:
    >>> plot_activation_histograms(ActivationStats(histograms=True, ...).records)

    Args:
        records: `ActivationStats.records` (made with `histograms=True`).
        ax: matplotlib axes. Defaults to `None` (a new figure).
        layers: layer names to draw. Defaults to `None` (all).
    """
    record = _with_histograms(records)[-1]
    ax = _axes(ax)
    for name, stats in record["layers"].items():
        if "histogram" not in stats or (layers is not None and name not in layers):
            continue
        counts, edges = stats["histogram"]["counts"], stats["histogram"]["edges"]
        total = sum(counts) or 1
        widths = [b - a for a, b in zip(edges, edges[1:])]
        density = [c / total / w if w > 0 else 0.0 for c, w in zip(counts, widths)]
        ax.stairs(density, edges, label=f"{name} ({stats['family']})")
    ax.set_xlabel("activation value")
    ax.set_ylabel("density")
    ax.set_title(f"Activation histograms (epoch {record['epoch']}, step {record['step']})")
    ax.legend(fontsize="small")
    return ax


def _with_histograms(records):
    _need(records, "records")
    found = [r for r in records if any("histogram" in s for s in r["layers"].values())]
    if not found:
        raise ValueError(
            "The records hold no histograms: construct ActivationStats(histograms=True). "
            f"Received: records with keys {sorted(records[-1]['layers'])!r}"
        )
    return found


def _rebin(histogram, edges):
    """`histogram`'s counts spread over `edges`, each source bin's count spread evenly
    over its width (so that histograms with different edges can share one axis)."""
    import numpy as np

    source = np.asarray(histogram["edges"], dtype="float64")
    counts = np.asarray(histogram["counts"], dtype="float64")
    if source[-1] <= source[0]:  # every value equal: one point mass
        return np.histogram([source[0]], bins=edges, weights=[counts.sum()])[0]
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    return np.diff(np.interp(edges, source, cumulative))


def plot_histograms_over_training(records, layer=None, ax=None, bins=60):
    """One layer's activation histogram at every measurement, side by side (fastai's
    "colorful dimension"): time runs left to right, activation values bottom to top,
    and the colour is `log(1 + share of values in the bin, in %)`.

    A ReLU layer whose mass collapses onto the line at 0, a sigmoid layer whose mass
    moves to 0 and 1, or a layer whose range keeps growing shows at a glance.

    Example:
    >>> stats = ActivationStats(probe_data=x_valid, histograms=True, every=50)
    >>> model.fit(x, y, epochs=5, callbacks=[stats])
    >>> plot_histograms_over_training(stats.records, "activation_0")

    Args:
        records: `ActivationStats.records` (made with `histograms=True`).
        layer: the layer (a key of the records' `"layers"`). Defaults to `None`
            (the first layer with histograms).
        ax: matplotlib axes. Defaults to `None` (a new figure).
        bins: value bins on the vertical axis, shared by every measurement.
            Defaults to `60`.

    Raises:
        ValueError: no histograms in `records`, or an unknown `layer`.
    """
    import numpy as np

    found = _with_histograms(records)
    names = list(dict.fromkeys(n for r in found for n, s in r["layers"].items()
                               if "histogram" in s))  # fmt: skip
    if layer is None:
        layer = names[0]
    if layer not in names:
        raise ValueError(f"Unknown layer. Valid choices: {', '.join(names)}. "
                         f"Received: layer={layer!r}")
    rows = [r for r in found if "histogram" in r["layers"].get(layer, {})]
    histograms = [r["layers"][layer]["histogram"] for r in rows]
    low = min(h["edges"][0] for h in histograms)
    high = max(h["edges"][-1] for h in histograms)
    high = high if high > low else low + 1.0
    edges = np.linspace(low, high, bins + 1)
    grid = np.array([_rebin(h, edges) for h in histograms]).T
    shares = 100 * grid / np.maximum(grid.sum(axis=0, keepdims=True), 1e-300)
    ax = _axes(ax)
    image = ax.imshow(np.log1p(shares), aspect="auto", origin="lower", cmap="viridis",
                      extent=(-0.5, len(rows) - 0.5, low, high), interpolation="nearest")
    if low < 0 < high:
        ax.axhline(0.0, color="white", linewidth=0.6, linestyle=":")
    ticks = list(range(0, len(rows), max(1, len(rows) // 8)))
    ax.set_xticks(ticks, [str(rows[i]["step"]) for i in ticks])
    ax.set_xlabel("training step of the measurement")
    ax.set_ylabel("activation value")
    family = rows[-1]["layers"][layer].get("family", "")
    ax.set_title(f"{layer} ({family}): activation histogram over training")
    ax.figure.colorbar(image, ax=ax, label="log(1 + % of values in the bin)")
    return ax


def _series(history, metric):
    if hasattr(history, "history"):
        history = history.history
    if isinstance(history, dict):
        return list(history.get(metric, []))
    return [row.get(metric) for row in history]  # per-epoch dicts


def plot_history(histories, metric="val_accuracy", ax=None):
    """Learning curves of `metric`, one line per label (activation).

    Example:
    >>> plot_history({"relu": history_relu, "sigmoid": history_sigmoid}, "val_loss")

    Args:
        histories: `{label: history}`, each a Keras `History`, its `.history`
            dict, or a list of per-epoch dicts (`actkeras.training.history_records`).
        metric: the key to draw. Defaults to `"val_accuracy"`.
        ax: matplotlib axes. Defaults to `None` (a new figure).

    Raises:
        ValueError: no history holds `metric`.
    """
    _need(histories, "histories")
    series = {label: _series(h, metric) for label, h in histories.items()}
    if not any(series.values()):
        raise ValueError(f"No history holds {metric!r}. Received: metric={metric!r}")
    ax = _axes(ax)
    for label, values in series.items():
        ys = [math.nan if v is None else float(v) for v in values]
        ax.plot(range(1, len(ys) + 1), ys, marker="o", markersize=3, label=str(label))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} by epoch")
    ax.legend(fontsize="small")
    return ax


def plot_sparsity(records_by_label, ax=None, index=-1):
    """Share of exact zeros in each label's activation layers (seed 002's sparsity), as bars.

    Example:
    >>> plot_sparsity({"relu": relu_stats.records, "sigmoid": sigmoid_stats.records})

    Args:
        records_by_label: `{label: ActivationStats.records}`.
        ax: matplotlib axes. Defaults to `None` (a new figure).
        index: which record of each list to draw. Defaults to `-1` (the last).
    """
    _need(records_by_label, "records_by_label")
    ax = _axes(ax)
    labels, values = [], []
    for label, records in records_by_label.items():
        _need(records, f"records_by_label[{label!r}]")
        layers = records[index]["layers"]
        fractions = [stats["zero_fraction"] for stats in layers.values()]
        labels.append(str(label))
        values.append(sum(fractions) / len(fractions) if fractions else math.nan)
    bars = ax.bar(labels, values, color="tab:blue")
    ax.bar_label(bars, fmt="%.2f", fontsize="small")
    ax.set_ylim(0, 1)
    ax.set_xlabel("activation")
    ax.set_ylabel("fraction of outputs exactly 0")
    ax.set_title("sparsity of the hidden representation")
    return ax
