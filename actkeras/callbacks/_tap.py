"""Reading activation sites on probe data: the model's own forward pass, in a chosen mode.

A `Recorder` runs the model itself (`model(x, training=...)`), whatever its
kind, with each site's activation briefly wrapped: an activation layer's `call`,
or a fused layer's `activation` function. The wrapper hands every call's
pre-activation and output to a `reduce` function, which summarises them on the
device, so only per-unit numbers are kept and intermediate tensors are freed as
the pass goes on. Nothing needs a graph, so subclassed models, nested models and
layers called several times (one *call site* per call) are measured alike.

Modes:
- `"training"` (the default of the monitors): `training=True`, so BatchNorm
  normalises with the probe batch's statistics, as it does while the units learn;
  random layers (Dropout and its kind, noise layers, anything holding a Keras
  `SeedGenerator`) are called with `training=False`; and the pass runs in a
  `keras.StatelessScope`, so no variable changes (BatchNorm's moving statistics
  stay as they were).
- `"inference"`: `training=False` (BatchNorm's moving statistics), as `predict`.

The wrappers are instance attributes, set for the pass and removed after it,
so the model, its compiled functions and its saved form never see them.

On JAX a monitor's pass is compiled (`compiled=True`): the pass with its
reductions becomes one `jax.jit` function of the model's variable values and the
batch, made once per model, reduction and mode and kept while the model lives
(`compiled_once`), so new monitors on the same model, in later `fit` calls, reuse
it. Eager JAX would compile every operation for every new shape on its first use
in a process and dispatch them one by one: seconds per model. Finding the call
sites (`discover`) traces the model abstractly there (`jax.eval_shape`) and
computes nothing. On TensorFlow, and for a model its user compiled to run
eagerly (`run_eagerly=True`, `jit_compile=False`), passes run eagerly.
"""

import contextlib
import inspect
import re
import weakref
from dataclasses import dataclass

import keras
import numpy as np

from actkeras.callbacks._sites import walk

MODES = ("training", "inference")
MAX_ELEMENTS = 2**26  # values of the largest activation in one probe chunk (256 MB of float32)
_MISSING = object()
# model -> {key: function}: what `compiled_once` made, dropped with the model.
_COMPILED = weakref.WeakKeyDictionary()


def on_jax():
    return keras.backend.backend() == "jax"


def traceable(model):
    """True on JAX for a model whose code may be traced (`jax.jit`, `jax.eval_shape`):
    not one its user compiled with `run_eagerly=True` or `jit_compile=False`, which
    Keras itself runs without tracing (its code may read concrete values)."""
    if not on_jax():
        return False
    return not getattr(model, "run_eagerly", False) and getattr(model, "jit_compile", True) is not False


def compiled_once(model, key, build):
    """The function `build()` makes for `model` under `key`: made once, kept while
    `model` lives. `build` must not hold `model` strongly (take a `weakref`), or the
    model would never be freed."""
    functions = _COMPILED.setdefault(model, {})
    if key not in functions:
        functions[key] = build()
    return functions[key]


def variables_key(variables):
    """Identifies a list of variables, in order (a changed list means a new trace)."""
    return tuple(id(v) for v in variables)


def check_mode(mode):
    if mode not in MODES:
        choices = ", ".join(map(repr, MODES))
        raise ValueError(f"`mode` must be one of {choices}. Received: mode={mode!r}")
    return mode


def _takes_training(layer):
    try:
        return "training" in inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return False


def is_random(layer):
    """True for a layer that draws random numbers when training (Dropout, noise, augmentation)."""
    random = (keras.layers.Dropout, keras.layers.GaussianNoise, keras.layers.GaussianDropout,
              keras.layers.AlphaDropout)  # fmt: skip
    if isinstance(layer, random):
        return True
    seeded = any(isinstance(v, keras.random.SeedGenerator) for v in vars(layer).values())
    return seeded and _takes_training(layer) and not isinstance(layer, keras.Model)


@contextlib.contextmanager
def patched(patches):
    """Sets `(object, attribute, value)` instance attributes, and restores them after."""
    saved = []
    try:
        for obj, name, value in patches:
            saved.append((obj, name, obj.__dict__.get(name, _MISSING)))
            obj.__dict__[name] = value
        yield
    finally:
        for obj, name, old in reversed(saved):
            if old is _MISSING:
                obj.__dict__.pop(name, None)
            else:
                obj.__dict__[name] = old


def _quiet(layer):
    call = layer.call

    def call_without_randomness(*args, **kwargs):
        kwargs["training"] = False
        return call(*args, **kwargs)

    return (layer, "call", call_without_randomness)


def random_layers(model):
    return [layer for _, layer in walk(model) if is_random(layer)]


@contextlib.contextmanager
def measuring(model, mode, random=None):
    """The mode's context for a pass over `model`; yields the `training` flag to call it with.

    In `"training"` mode the random layers (`random`, found if `None`) are
    switched off for the duration.
    """
    if check_mode(mode) == "inference":
        yield False
        return
    with patched([_quiet(layer) for layer in (random_layers(model) if random is None else random)]):
        yield True


def run_model(model, x, training, what="the model"):
    """`model(x, training=training)`, or a `ValueError` that says what was received."""
    try:
        return model(x, training=training)
    except Exception as error:  # a deep Keras traceback helps no one here: say what failed
        raise ValueError(
            f"Could not run {what} {model.name!r} on the probe data ({type(error).__name__}: "
            f"{_gist(error)}). The probe's inputs must be what the model takes. "
            f"Received: probe_data with samples of {_sample_shapes(x)}"
        ) from None


def _gist(error):
    """The informative line of an error (Keras wraps the cause in a few lines of its own)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines
              if not line.startswith(("Exception encountered", "Arguments received", "•"))]
    return (useful or lines or [""])[0][:300]


def _sample_shapes(x):
    shapes = [f"shape {tuple(leaf.shape[1:])}" for leaf in keras.tree.flatten(x)]
    return ", ".join(shapes) if len(shapes) < 5 else f"{len(shapes)} inputs"


def ensure_built(model, x):
    """Builds `model` by calling it on `x` (as its first training step would) if needed."""
    if not model.built:
        run_model(model, x, training=False, what="the never-built model")


@dataclass(frozen=True)
class CallSite:
    """One call of a site during a forward pass: `name` is the site's name, suffixed
    `.call1`, `.call2`, ... when the layer is called more than once."""

    name: str
    index: int  # which site
    call: int  # which of its calls, from 0
    is_output: bool = False


class Recorder:
    """Runs `model` on batches and hands each call of each site to a reduction.

    Example:
    >>> recorder = Recorder(model, find_activation_layers(model), mode="training")
    >>> calls = recorder.discover(x[:2])
    >>> recorder(x, lambda site, pre, out: keras.ops.max(pre))  # {(site, call): value}

    Args:
        model: any built Keras model.
        sites: `ActivationSite`s of `model`.
        mode: `"training"` or `"inference"` (see the module). Defaults to `"training"`.
        compiled: on JAX, run each `reduce` as one compiled pass, made once per
            model (see the module); `reduce` must then return tensors (or nested
            tuples of them) and be the same function object each time, such as a
            module-level function. Ignored on other backends. Defaults to `False`.
    """

    def __init__(self, model, sites, mode="training", compiled=False):
        self.model = model
        self.sites = list(sites)
        self.mode = check_mode(mode)
        self.compiled = bool(compiled) and traceable(model)
        self._functions = {}  # reduce -> its compiled pass, looked up once per recorder
        self.calls = None
        self.elements_per_sample = 1
        self._random = random_layers(model) if self.mode == "training" else []

    def run(self, x, sink):
        """One forward pass with `sink(site index, pre-activation, output)` at each call."""
        x = keras.tree.map_structure(keras.ops.convert_to_tensor, x)
        with measuring(self.model, self.mode, self._random) as training:
            with patched(hooks(self.sites, sink)), keras.StatelessScope():
                return run_model(self.model, x, training)

    def discover(self, x):
        """Runs a pass on the (small) batch `x` and returns its `CallSite`s, in call order.

        On JAX the pass is traced abstractly (shapes only, nothing computed or compiled).
        """
        seen, flags = [], []

        def trace(x):
            def sink(index, pre, out):
                seen.append((index, out))

            outputs = keras.tree.flatten(self.run(x, sink))
            flags.extend(any(out is o for o in outputs) for _, out in seen)
            return outputs

        if traceable(self.model):
            import jax

            jax.eval_shape(trace, keras.tree.map_structure(np.asarray, x))
        else:
            trace(x)
        counts = {}
        for index, _ in seen:
            counts[index] = counts.get(index, 0) + 1
        calls, numbered = [], {}
        samples = max(len(keras.tree.flatten(x)[0]), 1)
        for (index, out), is_output in zip(seen, flags):
            call = numbered[index] = numbered.get(index, -1) + 1
            name = self.sites[index].name
            if counts[index] > 1:
                name = f"{name}.call{call + 1}"
            calls.append(CallSite(name, index, call, is_output))
            size = int(np.prod(out.shape)) if out.shape else 1
            self.elements_per_sample = max(self.elements_per_sample, size // samples)
        self.calls = calls
        return calls

    def chunk_size(self, most):
        """Samples per pass: at most `most`, fewer when one activation would be huge."""
        return int(max(1, min(most, MAX_ELEMENTS // self.elements_per_sample)))

    def __call__(self, x, reduce):
        """`{(site index, call): reduce(site, pre, out)}` for one pass on `x`."""
        if self.compiled:
            values = [v.value for v in self.model.variables]
            with measuring(self.model, self.mode, self._random):  # in force if it traces
                return self._compiled(reduce)(values, keras.tree.map_structure(np.asarray, x))
        return reduction(self.sites, reduce, lambda sink: self.run(x, sink))

    def _compiled(self, reduce):
        """The jitted pass for `reduce` on this model (see `compiled_once`)."""
        if reduce not in self._functions:
            self._functions[reduce] = self._shared_pass(reduce)
        return self._functions[reduce]

    def _shared_pass(self, reduce):
        model = self.model
        key = ("pass", self.mode, reduce, variables_key(model.variables),
               tuple((s.name, id(s.layer), s.family, s.fused, s.threshold, s.cap,
                      id(s.layer.activation) if s.fused else None) for s in self.sites))

        def build():
            return _jit_pass(weakref.ref(model), self.sites, self.mode, reduce)

        return compiled_once(model, key, build)


def reduction(sites, reduce, run):
    """Runs `run(sink)` and returns `{(site index, call): reduce(site, pre, out)}`."""
    found, numbered = {}, {}

    def sink(index, pre, out):
        call = numbered[index] = numbered.get(index, -1) + 1
        found[(index, call)] = reduce(sites[index], pre, out)

    run(sink)
    return found


def _jit_pass(model_ref, sites, mode, reduce):
    """`jax.jit` of `(variable values, x) -> reduction`: the pass, stateless."""
    import jax

    def function(values, x):
        model = model_ref()
        training = check_mode(mode) == "training"
        mapping = list(zip(model.variables, values))

        def run(sink):
            with patched(hooks(sites, sink)), keras.StatelessScope(state_mapping=mapping):
                x_in = keras.tree.map_structure(keras.ops.convert_to_tensor, x)
                run_model(model, x_in, training)

        function.traces += 1
        return reduction(sites, reduce, run)

    function.traces = 0  # Python runs of the pass, one per trace: `compiled.__wrapped__.traces`
    return jax.jit(function)


def hooks(sites, sink):
    """Patches (see `patched`) that hand each call of each site to `sink`."""
    patches = []
    for index, site in enumerate(sites):
        if site.fused:
            function = site.layer.activation

            def hooked(x, *args, _function=function, _index=index, **kwargs):
                out = _function(x, *args, **kwargs)
                sink(_index, x, out)
                return out

            patches.append((site.layer, "activation", hooked))
        else:
            call = site.layer.call

            def hooked(*args, _call=call, _index=index, **kwargs):
                out = _call(*args, **kwargs)
                sink(_index, args[0] if args else next(iter(kwargs.values())), out)
                return out

            patches.append((site.layer, "call", hooked))
    return patches
