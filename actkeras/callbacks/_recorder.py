"""Reading activation sites on probe data: the model's own forward pass, in a chosen mode.

A `Recorder` runs the model itself (`model(x, training=...)`), whatever its
kind, with each site's activation briefly wrapped: an activation layer's (or
graph operation's) `call`, or the activation function a layer holds. The
wrapper hands every call's pre-activation and output to a `reduce` function,
which summarises them on the device, so only per-unit numbers are kept and
intermediate tensors are freed as the pass goes on. Nothing needs a graph, so
subclassed models, nested models and layers called several times (one *call
site* per call) are measured alike. A site inside a `TimeDistributed` is called
once per frame; its frames are stacked (`(samples, frames, ..., units)`) and
handed over as one call per call of the wrapper, so that a unit counts as off
only when it is off in every frame of every sample. Each site carries the axis
of its units (a channel is axis 1 in a channels-first layout, see `_units`), so
that a reduction reads units with `per_unit(tensor, site)`.

How a pass runs (the mode, nothing updated) is in `_mode.py`. Unless its user
runs the model eagerly, a monitor's pass is compiled: the pass with its
reduction becomes one `tf.function` (TensorFlow, every batch size in one trace,
or one trace per batch size for a model whose code reads its batch size) or
one `jax.jit` function of the variables' values and the batch (JAX), made
once per model, reduction, mode and input signature and kept while the model
lives (`_backend.compiled_once`), so new monitors on the same model, in later
`fit` calls, reuse it. Finding the call sites (`discover`) traces that same
function (computing nothing); the measurements then reuse the trace. While it
traces, activation functions called as bare ops from user code are noted
(`bare`, see `_bare_ops`), so that the monitors can name exactly the layers that
apply them. `actkeras.callbacks.Tap` reads whole tensors through a `Recorder`.
"""

import weakref
from dataclasses import dataclass

import keras
import numpy as np

from actkeras.callbacks._backend import (
    BatchTraced,
    arrays_key,
    backend,
    compiled_once,
    tensor_specs,
    traceable,
    variables_key,
)
from actkeras.callbacks._bare_ops import bare_ops
from actkeras.callbacks._mode import check_mode, measuring, patched, random_layers, run_model
from actkeras.callbacks._units import per_unit, with_unit_axes  # noqa: F401 (per_unit: here too)

MAX_ELEMENTS = 2**26  # values of the largest activation in one probe chunk (256 MB of float32)


@dataclass(frozen=True)
class CallSite:
    """One call of a site during a forward pass: `name` is the site's name, suffixed
    `.call1`, `.call2`, ... when the site is called more than once."""

    name: str
    index: int  # which site
    call: int  # which of its calls, from 0
    is_output: bool = False
    elements: int = 1  # values per sample


def hooks(sites, sink):
    """Patches (see `_mode.patched`) that hand each call of each site to `sink(index, pre, out)`;
    a site's frames inside a `TimeDistributed` call are stacked into one call."""
    groups = []  # open TimeDistributed calls, innermost last: [(index, pre, out)] each

    def emit(index, pre, out):
        if groups:
            groups[-1].append((index, pre, out))
        else:
            sink(index, pre, out)

    patches, wrappers = [], {}
    for index, site in enumerate(sites):
        wrappers.update((id(w), w) for w in site.wrappers)
        if site.fused:
            function = getattr(site.layer, site.attribute)

            def hooked(x, *args, _function=function, _index=index, **kwargs):
                out = _function(x, *args, **kwargs)
                emit(_index, x, out)
                return out

            patches.append((site.layer, site.attribute, hooked))
        else:
            call = site.layer.call

            def hooked(*args, _call=call, _index=index, **kwargs):
                out = _call(*args, **kwargs)
                emit(_index, args[0] if args else next(iter(kwargs.values())), out)
                return out

            patches.append((site.layer, "call", hooked))
    for wrapper in wrappers.values():
        call = wrapper.call

        def pooled(*args, _call=call, **kwargs):
            groups.append([])
            try:
                out = _call(*args, **kwargs)
            finally:
                frames = groups.pop()
            by_site = {}
            for index, pre, frame_out in frames:
                by_site.setdefault(index, []).append((pre, frame_out))
            for index, items in by_site.items():
                emit(index, *(keras.ops.stack(t, axis=1) for t in zip(*items)))
            return out

        patches.append((wrapper, "call", pooled))
    return patches


def reduction(sites, reduce, run, seen=None):
    """Runs `run(sink)` and returns `{(site index, call): reduce(site, pre, out)}`;
    appends `(index, output)` for each call to `seen` if given."""
    found, numbered = {}, {}

    def sink(index, pre, out):
        call = numbered[index] = numbered.get(index, -1) + 1
        found[(index, call)] = reduce(sites[index], pre, out)
        if seen is not None:
            seen.append((index, out))

    run(sink)
    return found


class Recorder:
    """Runs `model` on batches and hands each call of each site to a reduction.

    Example:
    >>> recorder = Recorder(model, find_activation_layers(model), mode="training")
    >>> calls = recorder.discover(x[:2])
    >>> recorder(x, lambda site, pre, out: keras.ops.max(pre))  # {(site, call): value}

    Args:
        model: any built Keras model.
        sites: `ActivationSite`s of `model`; `recorder.sites` are the same as
            `UnitSite`s, each with the axis of its units (see `_units`), and are
            what `reduce` gets.
        mode: `"training"` or `"inference"` (see `_mode`). Defaults to `"training"`.
        compiled: compile each `reduce` into one pass (see the module) unless the
            model's user runs it eagerly; `reduce` must then return tensors (or
            nested tuples of them, or `None`) and be the same function object each
            time, such as a module-level function. Defaults to `False`.
    """

    def __init__(self, model, sites, mode="training", compiled=False):
        self.model = model
        self.sites = with_unit_axes(model, sites)
        self.mode = check_mode(mode)
        self.compiled = bool(compiled) and traceable(model)
        self.calls = None
        self.bare = []  # what `bare_ops` noted while the pass was first traced or run
        self.elements_per_sample = 1
        self._functions = {}  # reduce -> its compiled pass, looked up once per recorder
        self._random = random_layers(model) if self.mode == "training" else []

    def run(self, x, sink):
        """One eager forward pass with `sink(site index, pre-activation, output)` at each call."""
        x = keras.tree.map_structure(keras.ops.convert_to_tensor, x)
        with measuring(self.model, self.mode, self._random) as training:
            with patched(hooks(self.sites, sink)), keras.StatelessScope():
                return run_model(self.model, x, training)

    def discover(self, x, reduce=None):
        """Returns the `CallSite`s of a pass on a batch shaped like `x`, in call order.

        A compiled pass for `reduce` is traced (nothing is computed, and the
        measurements reuse the trace); otherwise the model runs on `x` (give it a
        couple of samples).
        """
        if self.compiled and reduce is not None:
            function = self._compiled(reduce, x)
            if backend() == "jax":
                import jax

                with measuring(self.model, self.mode, self._random):
                    try:
                        jax.eval_shape(function, [v.value for v in self.model.variables],
                                       _arrays(x))  # fmt: skip
                    except ValueError as error:  # ours, with a note JAX appends on its way
                        raise ValueError(str(error).split("\n-----")[0]) from None
            else:
                with measuring(self.model, self.mode, self._random):
                    function.get_concrete_function(tensor_specs(x))
            seen, self.bare, flags = function.info["seen"], function.info["bare"], None
        else:
            seen, flags, self.bare = [], [], []

            def sink(index, pre, out):
                seen.append((index, out))

            with bare_ops(self.bare):
                outputs = keras.tree.flatten(self.run(x, sink))
            flags = [any(out is o for o in outputs) for _, out in seen]
            seen = [(index, _elements(out), flag) for (index, out), flag in zip(seen, flags)]
        return self._number(seen)

    def _number(self, seen):
        counts = {}
        for index, *_ in seen:
            counts[index] = counts.get(index, 0) + 1
        calls, numbered = [], {}
        for index, elements, is_output in seen:
            call = numbered[index] = numbered.get(index, -1) + 1
            name = self.sites[index].name
            if counts[index] > 1:
                name = f"{name}.call{call + 1}"
            calls.append(CallSite(name, index, call, is_output, elements))
        self.calls = calls
        self.elements_per_sample = max([c.elements for c in calls] + [1])
        return calls

    def chunk_size(self, most):
        """Samples per pass: at most `most`, fewer when one activation would be huge."""
        return int(max(1, min(most, MAX_ELEMENTS // self.elements_per_sample)))

    def __call__(self, x, reduce):
        """`{(site index, call): reduce(site, pre, out)}` for one pass on `x`."""
        if not self.compiled:
            return reduction(self.sites, reduce, lambda sink: self.run(x, sink))
        function = self._compiled(reduce, x)
        with measuring(self.model, self.mode, self._random):  # in force should it trace
            if backend() == "jax":
                return function([v.value for v in self.model.variables], _arrays(x))
            return function(keras.tree.map_structure(keras.ops.convert_to_tensor, x))

    def _compiled(self, reduce, x):
        """The compiled pass for `reduce` on this model (see `compiled_once`)."""
        signature = arrays_key(x)
        if (reduce, signature) not in self._functions:
            model = self.model
            key = ("pass", self.mode, reduce, signature, variables_key(model.variables),
                   tuple((s.name, id(s.layer), s.family, s.attribute, s.threshold, s.cap,
                          s.unit_axis,
                          id(getattr(s.layer, s.attribute)) if s.fused else None)
                         for s in self.sites))  # fmt: skip
            build = _jax_pass if backend() == "jax" else _tf_pass
            args = (weakref.ref(model), self.sites, self.mode, reduce, x)
            self._functions[(reduce, signature)] = compiled_once(model, key, lambda: build(*args))
        return self._functions[(reduce, signature)]


def _arrays(x):
    return keras.tree.map_structure(np.asarray, x)


def _elements(out):
    """Values per sample of a call's output (its batch axis first)."""
    shape = tuple(out.shape)
    if not shape:
        return 1
    rest = shape[1:]
    return int(np.prod(rest)) if all(d is not None for d in rest) else 1


def _traced_pass(model_ref, sites, mode, reduce, info):
    """The pass as a function of `x` in a (traced) `StatelessScope`; fills `info`."""

    def run_pass(x, scope):
        model = model_ref()
        seen, bare = [], []

        def run(sink):
            with patched(hooks(sites, sink)), scope:
                x_in = keras.tree.map_structure(keras.ops.convert_to_tensor, x)
                outputs = keras.tree.flatten(run_model(model, x_in, check_mode(mode) == "training"))
            run.outputs = outputs

        with bare_ops(bare):
            found = reduction(sites, reduce, run, seen)
        info["seen"] = [(index, _elements(out), any(out is o for o in run.outputs))
                        for index, out in seen]  # fmt: skip
        info["bare"] = bare
        info["traces"] += 1
        return found

    return run_pass


def _jax_pass(model_ref, sites, mode, reduce, x):
    """`jax.jit` of `(variable values, x) -> reduction`: the pass, stateless."""
    import jax

    info = {"seen": [], "bare": [], "traces": 0}
    run_pass = _traced_pass(model_ref, sites, mode, reduce, info)

    def function(values, x):
        mapping = list(zip(model_ref().variables, values))
        return run_pass(x, keras.StatelessScope(state_mapping=mapping))

    compiled = jax.jit(function)
    compiled.info = info  # `info["traces"]`: Python runs of the pass, one per trace
    return compiled


def _tf_pass(model_ref, sites, mode, reduce, x):
    """`tf.function` of `x -> reduction` for every batch size (one trace), or per batch
    size for a model that needs it as a number (see `BatchTraced`), stateless."""
    info = {"seen": [], "bare": [], "traces": 0}
    run_pass = _traced_pass(model_ref, sites, mode, reduce, info)
    return BatchTraced(lambda x: run_pass(x, keras.StatelessScope()), [x], info)
