"""actkeras: why ReLU-family activations train better than sigmoid and softmax, measured.

Importing the package registers every activation layer with Keras's
serialisation (package `actkeras`), so saved models reload after `import actkeras`.
"""

__version__ = "0.1.0"

from actkeras import layers
from actkeras.layers import (
    ELU,
    GELU,
    SELU,
    LeakyReLU,
    Linear,
    PReLU,
    ReLU,
    ScaledSigmoid,
    Sigmoid,
    Softmax,
    Swish,
    Tanh,
)
from actkeras.export import export_model, load_exported
from actkeras.models import PRESETS, ModelConfig, build_from_config, build_model, resolve_config
from actkeras.registry import ACTIVATIONS, activation_names, get_activation
from actkeras.training import evaluate, fit

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "LeakyReLU",
    "Linear",
    "ModelConfig",
    "PRESETS",
    "PReLU",
    "ReLU",
    "SELU",
    "ScaledSigmoid",
    "Sigmoid",
    "Softmax",
    "Swish",
    "Tanh",
    "activation_names",
    "build_from_config",
    "build_model",
    "evaluate",
    "export_model",
    "fit",
    "get_activation",
    "layers",
    "load_exported",
    "resolve_config",
]
