"""Random ReLU networks at initialisation, a thousand at once: which are born dead (claim 11).

Lu, Shin, Su and Karniadakis (2020) call a ReLU network *born dead* when, as
initialised, it is a constant function over its input domain. A network one of whose
hidden layers outputs zero for every input is one: every layer after it sees the same
input. Here the networks of one width and depth are laid side by side in ONE Keras
model (`StackedDense`: network n's weights act on network n's units only, so the
networks never mix), and `DeadReLUMonitor`, the package's own dead-unit measurement,
lists the units that are off for every point of a dense probe of the input domain. A
network is born dead when, in some hidden layer, all of its own units are off; its
*first dead layer* is the first such layer (0: none).

The networks of one width are drawn once, at the greatest depth asked for, and a network
of depth `d` is the first `d` hidden layers of one of them: every layer is drawn
independently, so those layers are a network of depth `d` as it would be drawn, and its
output layer does not decide whether it is born dead. It is born dead exactly when its
first dead layer is at most `d`. So one batched pass per width measures every depth, the
cells of one width are the same networks cut at different depths (a paired design: the
rise with depth is read on the same networks), and the share dead by each layer comes
with it.

Initialisations (`draw`):

- `"he"`: weights from N(0, 2 / fan_in), zero biases: the paper's symmetric case.
- `"rai"`: the paper's randomized asymmetric initialisation, as public
  re-implementations of it write it: every entry of a unit's weights and bias from
  N(0, 0.6007^2 / fan_in), then one entry of the unit, chosen at random, replaced by a
  draw from Beta(2, 1) (positive).

The networks of seed `s` are drawn from their own random generator, so a preset with
fewer seeds measures the first of the same networks.
"""

import warnings

import keras
import numpy as np

from actkeras import checks

INITS = ("he", "rai")
RAI_SIGMA = 0.6007
_INIT_CODE = {"he": 1, "rai": 2}


@keras.saving.register_keras_serializable(package="actkeras")
class StackedDense(keras.layers.Layer):
    """`networks` independent Dense layers of `units` units side by side.

    The input holds each network's features one block after the other, `(batch,
    networks * fan_in)` (or, with `shared_input`, one `(batch, fan_in)` input that
    every network reads); the output holds each network's units one block after the
    other, `(batch, networks * units)`, so an activation layer after it sees every
    unit of every network as a unit of its own.

    Args:
        networks: how many networks.
        units: units per network.
        shared_input: every network reads the same input (the first layer).
    """

    def __init__(self, networks, units, shared_input=False, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("networks", networks), ("units", units)):
            checks.positive_int(name, value)
        self.networks, self.units, self.shared_input = networks, units, bool(shared_input)

    def build(self, input_shape):
        fan_in = input_shape[-1] if self.shared_input else input_shape[-1] // self.networks
        self.fan_in = int(fan_in)
        self.kernel = self.add_weight(name="kernel", shape=(self.networks, self.fan_in, self.units),
                                      initializer="zeros", trainable=False)
        self.bias = self.add_weight(name="bias", shape=(self.networks, self.units),
                                    initializer="zeros", trainable=False)

    def call(self, inputs):
        ops = keras.ops
        if self.shared_input:
            out = ops.einsum("bi,nio->bno", inputs, self.kernel)
        else:
            x = ops.transpose(ops.reshape(inputs, (-1, self.networks, self.fan_in)), (1, 0, 2))
            out = ops.transpose(ops.matmul(x, self.kernel), (1, 0, 2))
        return ops.reshape(out + self.bias, (-1, self.networks * self.units))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.networks * self.units)

    def get_config(self):
        config = super().get_config()
        config.update(networks=self.networks, units=self.units, shared_input=self.shared_input)
        return config


def draw(init, rng, networks, fan_in, units):
    """`(kernel (networks, fan_in, units), bias (networks, units))` of one layer, float32."""
    if init == "he":
        kernel = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(networks, fan_in, units))
        bias = np.zeros((networks, units))
    elif init == "rai":
        both = rng.normal(0.0, RAI_SIGMA / np.sqrt(fan_in), size=(networks, fan_in + 1, units))
        chosen = rng.integers(0, fan_in + 1, size=(networks, units))
        n, u = np.meshgrid(np.arange(networks), np.arange(units), indexing="ij")
        both[n, chosen, u] = rng.beta(2.0, 1.0, size=(networks, units))
        kernel, bias = both[:, :fan_in, :], both[:, fan_in, :]
    else:
        raise ValueError(f"Unknown initialisation. Valid choices: {', '.join(INITS)}. "
                         f"Received: init={init!r}")
    return kernel.astype("float32"), bias.astype("float32")


def seed_generator(init, seed, width, depth, input_dim):
    """The random generator of one seed's networks of one cell."""
    return np.random.default_rng([_INIT_CODE[init], seed, width, depth, input_dim])


def population_model(init, seeds, networks, width, depth, input_dim):
    """One Keras model holding `networks` networks per seed of `seeds` (seed after seed):
    `depth` hidden layers of `width` ReLU units (`relu_1` ... `relu_<depth>`) and a
    linear output unit each."""
    total = networks * len(seeds)
    inputs = keras.Input((input_dim,), name="x")
    x, fan_in = inputs, input_dim
    layers = []
    for index in range(1, depth + 2):
        units = width if index <= depth else 1
        layer = StackedDense(total, units, shared_input=index == 1,
                             name=f"dense_{index}" if index <= depth else "output")
        x = layer(x)
        if index <= depth:
            x = keras.layers.ReLU(name=f"relu_{index}")(x)
        layers.append((layer, fan_in, units))
        fan_in = units
    model = keras.Model(inputs, x, name=f"born_dead_{init}_{width}x{depth}")
    drawn = [[] for _ in layers]
    for seed in seeds:
        rng = seed_generator(init, seed, width, depth, input_dim)
        for i, (_, fan, units) in enumerate(layers):
            drawn[i].append(draw(init if i < depth else "he", rng, networks, fan, units))
    for (layer, _, _), parts in zip(layers, drawn):
        layer.set_weights([np.concatenate([k for k, _ in parts]),
                           np.concatenate([b for _, b in parts])])
    return model


def first_dead_layers(model, probe, width, depth):
    """Per network, the first hidden layer all of whose units `DeadReLUMonitor` finds off
    for every probe point (1-based; 0 where there is none)."""
    from actkeras.callbacks import DeadReLUMonitor

    monitor = DeadReLUMonitor(probe_data=probe, probe_size=len(probe), threshold=1.0)
    monitor.record_units = True  # which units, not only how many
    monitor.at_start = True  # one measurement, before any step: the network as drawn
    monitor.set_model(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # threshold=1.0 warns of nothing; keep it quiet anyway
        monitor.on_train_begin()
        monitor.on_train_end()
    layers = monitor.records[0]["layers"]
    first = np.zeros(model.layers[-1].networks, dtype="int64")
    for index in range(depth, 0, -1):  # downwards, so the first (lowest) dead layer wins
        off = np.zeros(first.size * width, dtype=bool)
        off[np.asarray(layers[f"relu_{index}"]["off_units"], dtype="int64")] = True
        first[off.reshape(first.size, width).all(axis=1)] = index
    return first


def probe_points(spec, data):
    """The probe: `probe` evenly spaced points of [-domain, domain] for a 1-d input, or
    the first `probe` validation images (flattened)."""
    o = spec.overrides
    if int(o["input_dim"]) == 1:
        return np.linspace(-o["domain"], o["domain"], int(o["probe"]), dtype="float32")[:, None]
    images = np.asarray(data.x_valid[: int(o["probe"])], dtype="float32")
    return images.reshape(len(images), -1)


def born_dead(spec, data=None):
    """The result of a `"population"` run: for every cell (width x depth) and seed, how
    many networks have their first dead layer at each depth (index 0: none)."""
    o = spec.overrides
    seeds, networks, input_dim = tuple(o["seeds"]), int(o["networks"]), int(o["input_dim"])
    probe = probe_points(spec, data)
    if probe.shape[1] != input_dim:
        raise ValueError(f"The probe has {probe.shape[1]} inputs, the networks {input_dim}. "
                         f"Received: input_dim={input_dim}")
    cells = {}
    deepest = max(o["depths"])
    for width in o["widths"]:
        keras.backend.clear_session()
        model = population_model(o["init"], seeds, networks, width, deepest, input_dim)
        first = first_dead_layers(model, probe, width, deepest).reshape(len(seeds), networks)
        for depth in o["depths"]:
            # Cut at `depth`: a first dead layer below it is alive at this depth.
            cut = np.where(first > depth, 0, first)
            cells[f"{width}x{depth}"] = {
                "width": width, "depth": depth,
                "first_dead": {str(s): np.bincount(row, minlength=depth + 1).tolist()
                               for s, row in zip(seeds, cut)}}
    return {"status": "ok", "population": cells,
            "config": {**{k: list(v) if isinstance(v, tuple) else v for k, v in o.items()},
                       "probe_points": len(probe), "drawn_at_depth": deepest}}
