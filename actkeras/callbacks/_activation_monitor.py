"""What the two activation monitors share: their sites, their `Recorder`, their warnings.

`ActivationMonitor._activation_calls` finds the sites of the chosen families
(and layers), makes the monitor's `Recorder` (dropped by `Monitor` at
`on_train_end`), traces its pass on the probe's shapes to find the calls, and
warns about what cannot be measured: `Lambda` layers taken by their function's
name, recurrent cells, activations applied as bare ops, layers found but never
called, and sites whose input carries a Keras mask (padding), whose masked
steps are measured as data. `_nothing_found` words why a monitor has nothing
left to measure.
"""

import keras

from actkeras.callbacks._mode import patched, run_model
from actkeras.callbacks._monitor import Monitor
from actkeras.callbacks._recorder import Recorder
from actkeras.callbacks._sites import FUNCTIONS, recurrent_layers, sites_and_outputs
from actkeras.callbacks._tree import paths, select, tree

HOW_TO_SHOW = (
    "To have it measured, apply the activation as a layer (keras.layers.ReLU(), "
    "keras.layers.Activation('relu')) or hold it as a layer's attribute "
    "(activation='relu', self.act = keras.activations.relu)."
)


class ActivationMonitor(Monitor):
    """Base class of `DeadReLUMonitor` and `ActivationStats` (not used directly).

    Masks are not honoured: at a site whose input carries a Keras mask (after
    `Embedding(mask_zero=True)` or `Masking`, until a layer consumes the mask),
    the padded time steps are measured as data. Such sites are named in one
    warning, and every record lists them under `"masked_steps_counted"` (absent
    when there is none); measure them on a probe without padding, or watch the
    layers before the masking.
    """

    def _activation_calls(self, families, reduce, include_outputs):
        """The call sites to measure (`CallSite`s), after warning about what cannot be.

        Makes `self._recorder` (compiled where the model allows) and traces its
        pass for `reduce` on the probe's shapes; `self._census` says what was
        found, for the subclass's message when nothing is left to measure.
        """
        model = self.model
        sites, outputs = sites_and_outputs(model, families)
        if self.layers is None:
            chosen = [s for s in sites if include_outputs or s.name not in outputs]
            left_out = [] if include_outputs else [s.name for s in sites if s.name in outputs]
        else:  # an explicit choice may name an output layer
            chosen = select([((s.name, s.layer.name), s.layer, s) for s in sites], self.layers)
            left_out = []
        for site in chosen:
            if site.via_lambda:
                self._warn(("lambda", site.name),
                           f"measures Lambda layer {site.name!r} as "
                           f"{_article(site.family)} {site.family} activation "
                           f"because its function is {site.layer.function.__name__!r}; a Lambda "
                           "may do more than its function's name says. Prefer "
                           "keras.layers.Activation.")  # fmt: skip
        for path, layer, names in recurrent_layers(model, families):
            self._warn(("recurrent", path),
                       f"{type(layer).__name__} {path!r} applies {', '.join(names)} inside its "
                       "recurrent cell at every time step; the monitors do not measure recurrent "
                       "cells (their activations are not layer outputs, and on TensorFlow the "
                       "cell may run as one fused kernel). An activation layer after it is "
                       "measured as usual.")  # fmt: skip
        self._recorder = Recorder(model, chosen, self.mode, compiled=True)
        self._census = {"left_out": left_out, "uncalled": []}
        calls = self._discover(reduce)  # without sites too: bare ops may be all there is
        self._warn_bare(families)
        if not chosen:
            return []
        self._check_masks(chosen)
        called = {call.index for call in calls}
        for index, site in enumerate(chosen):
            if index not in called and not site.fused:
                self._census["uncalled"].append(site.name)
                self._warn(("uncalled", site.name),
                           f"found {type(site.layer).__name__} {site.name!r}, but the model "
                           "did not call it on the probe pass" + _parent_hint(site.name, model)
                           + ", so it is not measured.")  # fmt: skip
        if not include_outputs and self.layers is None:  # a subclassed model's output
            late = [call.name for call in calls if call.is_output]
            self._census["left_out"] += late
            calls = [call for call in calls if not call.is_output]
        return calls

    def _check_masks(self, sites):
        """Warns about (and records) the sites whose input carries a Keras mask: the
        reductions count every time step, padded ones included.

        Only a model holding a layer that makes masks (`mask_sources`) is checked, by
        one eager pass on a couple of probe samples that reads each site's input mask.
        """
        sources = mask_sources(self.model)
        if not sources or not sites:
            return
        masked = set()
        reader = _MaskReader()

        def check(index, layer):
            call = layer.call

            def call_and_read(*args, **kwargs):
                first = args[0] if args else next(iter(kwargs.values()), None)
                if index not in masked and hasattr(first, "shape") and reader.masked(first):
                    masked.add(index)
                return call(*args, **kwargs)

            return (layer, "call", call_and_read)

        probe, which = self._probe_in_use, "carries"
        for x in (self._sample(probe), next(probe.chunks(self.chunk_size))[0]):
            try:  # a model that takes whole batches only: then one full chunk
                with patched([check(i, s.layer) for i, s in enumerate(sites)]), \
                        keras.StatelessScope():  # fmt: skip
                    run_model(self.model, keras.tree.map_structure(keras.ops.convert_to_tensor,
                                                                   x), training=False)  # fmt: skip
                break
            except ValueError:
                continue
        else:  # it cannot run eagerly: say what may be
            masked, which = set(range(len(sites))), "may carry"
        if not masked:
            return
        names = [s.name for i, s in enumerate(sites) if i in masked]
        made_by = ", ".join(sources[:3]) + (" and more" if len(sources) > 3 else "")
        self._warn(("masked", tuple(names)),
                   f"the input of {', '.join(repr(n) for n in names[:5])}"
                   f"{' and more' if len(names) > 5 else ''} {which} a Keras mask (made by "
                   f"{made_by}), and the monitors do not honour masks: masked (padded) time "
                   "steps are measured as if they were data, so those layers' numbers include "
                   "them (a unit that fires only on padding reads as alive, and means and "
                   "zero fractions mix in the padding). For numbers on the real steps, give a "
                   "probe without padding (sequences of full length), or watch only layers "
                   "before the masking layer or after the mask is consumed (layers=...). "
                   "Every record lists them under 'masked_steps_counted'. Received: "
                   "probe_data fed to a masking model")  # fmt: skip
        self._notes["masked_steps_counted"] = names

    def _discover(self, reduce):
        probe, recorder = self._probe_in_use, self._recorder
        if recorder.compiled:
            return recorder.discover(next(probe.chunks(self.chunk_size))[0], reduce)
        try:
            return recorder.discover(self._sample(probe))
        except ValueError:  # a model that takes whole batches only: try one full chunk
            return recorder.discover(next(probe.chunks(self.chunk_size))[0])

    def _warn_bare(self, families):
        by_layer = {}
        for layer, name, code in self._recorder.bare:
            if FUNCTIONS.get(name) in families:
                _, names, codes = by_layer.setdefault(id(layer), (layer, {}, {}))
                names[name] = codes[code] = True  # dicts: in order, once each
        where = paths(self.model) if by_layer else {}
        for layer, names, codes in by_layer.values():
            if layer is None:
                what = "a function the model calls"
            else:
                what = f"{type(layer).__name__} {where.get(id(layer), layer.name)!r}"
            inside = ", ".join(f"{c}()" for c in codes)
            self._warn(("bare", id(layer), tuple(names)),
                       f"{what} calls {', '.join(names)} inside {inside} as a bare op, which "
                       f"the monitors cannot see. {HOW_TO_SHOW}")  # fmt: skip

    def _nothing_found(self, what):
        """The reason a subclass has nothing to measure, for its warning."""
        census = self._census
        if census["left_out"]:
            names = ", ".join(repr(n) for n in census["left_out"])
            return (f"its only {what} {'is' if len(census['left_out']) == 1 else 'are'} the "
                    f"model's output ({names}), left out because it is the prediction rather "
                    "than a hidden layer; pass include_outputs=True to watch it")
        if census["uncalled"]:
            return (f"it found {len(census['uncalled'])} {what} site(s), but the model did "
                    "not call any of them on the probe pass")
        return None


def _parent_hint(name, model):
    if "/" not in name:
        return ""
    parent = name.rsplit("/", 1)[0]
    layer = next((n.layer for n in tree(model) if n.path == parent), None)
    kind = type(layer).__name__ if layer is not None else "layer"
    return f" (its parent {kind} {parent!r} may compute it with a fused op instead)"


def mask_sources(model):
    """Descriptions of the layers in `model` that make a Keras mask: `Embedding(mask_zero=True)`,
    `Masking`, and any layer not of Keras's own whose class defines `compute_mask`."""
    found = []
    for node in tree(model):
        layer = node.layer
        if not isinstance(layer, keras.layers.Layer):
            continue
        if isinstance(layer, keras.layers.Embedding) and getattr(layer, "mask_zero", False):
            found.append(f"Embedding {node.path!r} with mask_zero=True")
        elif isinstance(layer, keras.layers.Masking):
            found.append(f"Masking {node.path!r}")
        else:
            owner = next(k for k in type(layer).__mro__ if "compute_mask" in vars(k))
            if not owner.__module__.startswith("keras."):
                found.append(f"{type(layer).__name__} {node.path!r} (its compute_mask)")
    return found


class _MaskReader(keras.layers.Layer):
    """Tells whether a tensor carries a Keras mask: Keras hands a layer whose `call` takes
    `mask` the mask of its input."""

    def __init__(self):
        super().__init__(name="actkeras_mask_reader")
        self.supports_masking = True
        self._seen = None

    def call(self, inputs, mask=None):
        self._seen = mask is not None
        return inputs

    def masked(self, x):
        self._seen = None
        self(x)
        return bool(self._seen)


def _article(word):
    return "an" if word[:1] in "aeiou" else "a"
