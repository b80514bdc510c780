"""actkeras: why ReLU-family activations train better than sigmoid and softmax, measured.

The public names below, and the subpackages (`actkeras.callbacks`, `actkeras.data`,
`actkeras.layers`, ...), are imported on first use (PEP 562), so that `import
actkeras` and `actkeras --help` do not start TensorFlow.

Importing the package still registers every object a built model may hold with
Keras's serialisation (package `actkeras`: the activation layers, `ScaledInitializer`
and `PulseSchedule`): their modules are imported as soon as Keras is, so saved models
reload after `import actkeras` whichever of the two came first. A Keras
backend actkeras cannot run on (not installed, or not TensorFlow or JAX) makes that first
import raise `ImportError` with one line saying what to install (`actkeras.backends`).
Keras and TensorFlow imported after `actkeras` leave out TensorFlow's C++ start-up
chatter, and nothing else (`actkeras.quiet`).
"""

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.3.0"

# public name -> the module that defines it
_EXPORTS = {
    **dict.fromkeys(
        ["ELU", "GELU", "SELU", "LeakyReLU", "Linear", "PReLU", "ReLU", "ScaledSigmoid",
         "Sigmoid", "Softmax", "Swish", "Tanh"], "actkeras.layers"),
    "export_model": "actkeras.export",
    "load_exported": "actkeras.export",
    "PRESETS": "actkeras.models",
    "ModelConfig": "actkeras.models",
    "build_from_config": "actkeras.models",
    "build_model": "actkeras.models",
    "resolve_config": "actkeras.models",
    "ACTIVATIONS": "actkeras.registry",
    "activation_names": "actkeras.registry",
    "get_activation": "actkeras.registry",
    "evaluate": "actkeras.training",
    "fit": "actkeras.training",
}
_SUBPACKAGES = ("callbacks", "data", "experiments", "layers", "plots", "tuning")
_MODULES = ("bench", "export", "models", "registry", "training")  # as `import actkeras` gave
# Registered with Keras's serialisation: imported as soon as Keras is.
_REGISTERED = ("actkeras.layers", "actkeras.initializers", "actkeras.schedules")


def _register():
    for module in _REGISTERED:
        importlib.import_module(module)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBPACKAGES or name in _MODULES:
        value = importlib.import_module(f"actkeras.{name}")
    else:
        raise AttributeError(f"module 'actkeras' has no attribute {name!r}")
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | set(_SUBPACKAGES) | set(_MODULES))


class _AfterImport(importlib.abc.MetaPathFinder):
    """Wraps the imports of `keras` and `tensorflow`: both run through
    `actkeras.quiet.quietly` (their C++ start-up chatter dropped, nothing else), and
    the registered objects' modules (`_REGISTERED`) are imported right after `keras`
    finishes importing.

    Keras has no hook for lazily registered objects: a `.keras` file names
    `actkeras>PReLU`, which must be registered before `keras.saving.load_model`
    runs. Importing the layers eagerly would start TensorFlow with the package.
    """

    _finding = False

    def find_spec(self, name, path=None, target=None):
        if name not in ("keras", "tensorflow") or self._finding:
            return None
        self._finding = True  # the search below asks the other finders, not this one
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._finding = False
        if spec is not None and hasattr(spec.loader, "exec_module"):
            exec_module = spec.loader.exec_module

            def exec_quietly(module):
                if name == "keras":
                    # A backend actkeras cannot run on fails here in one line, not deep in Keras.
                    importlib.import_module("actkeras.backends").check()
                importlib.import_module("actkeras.quiet").load_quietly(exec_module, module)
                if name == "keras":
                    _register()

            spec.loader.exec_module = exec_quietly
        return spec


if "keras" in sys.modules:
    importlib.import_module("actkeras.backends").check()
    _register()
if "tensorflow" not in sys.modules or "keras" not in sys.modules:
    sys.meta_path.insert(0, _AfterImport())

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
    "callbacks",
    "data",
    "evaluate",
    "experiments",
    "export_model",
    "fit",
    "get_activation",
    "layers",
    "load_exported",
    "plots",
    "resolve_config",
    "tuning",
]
