"""Keras callbacks that watch activations and gradients during training, for any model.

- `DeadReLUMonitor`: rectifier units that never fire on a probe set (and the
  leaky, exponential and smooth units that never leave their low side).
- `GradientNormLogger`: per-layer gradient norms and the first/last ratio.
- `ActivationStats`: mean, std, sparsity and saturation of each activation layer.

All three work on Functional, Sequential, subclassed and nested models, measure
every call of a shared layer, run in training mode (BatchNorm batch statistics,
Dropout off) unless `mode="inference"`, measure on a bounded probe sample with a
compiled pass (unless the model runs eagerly), write their numbers into `logs`
(and so into `History`, `CSVLogger` and `TensorBoard` placed after them), keep
plain `records` for `actkeras.plots`, and can be deep-copied before training.

`find_activation_layers` lists the sites they measure, and `Tap` reads whole
tensors at those sites for code that wants more than the monitors' summaries.
"""

from actkeras.callbacks._sites import FAMILIES, ActivationSite, find_activation_layers
from actkeras.callbacks.activation_stats import ActivationStats
from actkeras.callbacks._monitor import NonFiniteWarning, NothingToWatchWarning
from actkeras.callbacks.dead_relu import DeadReLUMonitor, DeadUnitWarning
from actkeras.callbacks.divergence import DivergenceGuard
from actkeras.callbacks.gradient_norm import GradientNormLogger
from actkeras.callbacks.tap import Tap

__all__ = [
    "FAMILIES",
    "ActivationSite",
    "ActivationStats",
    "DeadReLUMonitor",
    "DeadUnitWarning",
    "DivergenceGuard",
    "GradientNormLogger",
    "NonFiniteWarning",
    "NothingToWatchWarning",
    "Tap",
    "find_activation_layers",
]
