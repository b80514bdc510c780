"""Activation layers, one class per module, all registered under `actkeras>`."""

from actkeras.layers._base import BaseActivation
from actkeras.layers.elu import ELU
from actkeras.layers.gelu import GELU
from actkeras.layers.leaky_relu import LeakyReLU
from actkeras.layers.linear import Linear
from actkeras.layers.prelu import PReLU
from actkeras.layers.relu import ReLU
from actkeras.layers.scaled_sigmoid import ScaledSigmoid
from actkeras.layers.selu import SELU
from actkeras.layers.sigmoid import Sigmoid
from actkeras.layers.softmax import Softmax
from actkeras.layers.softsign import Softsign
from actkeras.layers.swish import Swish
from actkeras.layers.tanh import Tanh

__all__ = [
    "BaseActivation",
    "ELU",
    "GELU",
    "LeakyReLU",
    "Linear",
    "PReLU",
    "ReLU",
    "ScaledSigmoid",
    "SELU",
    "Sigmoid",
    "Softmax",
    "Softsign",
    "Swish",
    "Tanh",
]
