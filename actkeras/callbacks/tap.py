"""`Tap`: whole tensors at a model's activation sites, for code that wants more than summaries."""

from actkeras.callbacks._recorder import Recorder


class Tap:
    """The tensors at `(site, "input" | "output")` points of a model for a batch.

    For code that wants whole tensors rather than the monitors' summaries (the
    reproduction's sparsity measure): each point is read at its site's first
    call, in inference mode unless told, eagerly.

    Example:
    >>> sites = find_activation_layers(model)
    >>> tap = Tap(model, [(site, "output") for site in sites])
    >>> outputs = tap(x_valid[:256])  # one backend tensor per point, in order

    Args:
        model: any built Keras model.
        points: `(ActivationSite, "input" or "output")` pairs.
        mode: `"training"` or `"inference"`. Defaults to `"inference"`.
    """

    def __init__(self, model, points, mode="inference"):
        self.points = list(points)
        self._index = {}
        for site, _ in self.points:
            self._index.setdefault(site.name, (len(self._index), site))
        self._recorder = Recorder(model, [site for _, site in self._index.values()], mode)

    def __call__(self, x):
        """The backend tensors at the points, in order, for the batch `x`."""
        found = self._recorder(x, lambda site, pre, out: (pre, out))
        missing = [name for name, (index, _) in self._index.items() if (index, 0) not in found]
        if missing:
            raise ValueError(
                f"Tap: the model did not call {', '.join(map(repr, missing))} when it ran on "
                "this batch (a layer it holds but does not call, or calls only on another "
                "path), so there is no tensor to read there: leave it out of `points`. "
                f"Received: points at {', '.join(map(repr, missing))}"
            )
        return [found[(self._index[site.name][0], 0)][0 if point == "input" else 1]
                for site, point in self.points]
