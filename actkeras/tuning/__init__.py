"""Keras Tuner searches over the activation choice, on one machine or over many workers.

- `hypermodel.py`: `ActivationHyperModel`, which samples and calls `build_model`.
- `search.py`: `make_tuner` (random, grid, hyperband, bayesian) and `run_search`,
  resumable, refusing a directory that holds another search; `export_best`.
- `distributed.py`: keras-tuner's chief/worker mode without its hangs.

Example:
>>> hypermodel = ActivationHyperModel("mlp", activations=["relu", "elu", "sigmoid"])
>>> tuner = make_tuner("random", hypermodel, "tuning", max_trials=3, seed=0)
>>> rows = run_search(tuner, load_dataset("notmnist"))
>>> print(format_table(rows))
"""

from actkeras.tuning.hypermodel import ActivationHyperModel
from actkeras.tuning.search import (
    TUNERS,
    collect_results,
    export_best,
    format_table,
    make_tuner,
    run_search,
    write_results,
)

__all__ = [
    "ActivationHyperModel",
    "TUNERS",
    "collect_results",
    "export_best",
    "format_table",
    "make_tuner",
    "run_search",
    "write_results",
]
