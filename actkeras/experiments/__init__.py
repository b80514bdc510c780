"""The reproduction of the seeds' claims (1-10) and of three results of the papers they
cite (11-13, "beyond the threads"): protocol, runs, verdicts and the report.

- `rules.py` declares every claim's protocol (parts, metrics, margins with their
  reasons, seeds, settings), fixed before the runs; `protocol.py` holds its types,
  hash and checks, `decide.py` turns per-seed numbers into verdicts by those rules,
  `sensitivity.py` shows how each verdict moves when a rule moves;
- `claims/`: one module per claim (its runs, `numbers`, `findings`, figure), the
  presets' sizes (`claims/presets.py`) and the shared run builders (`claims/runs.py`);
- `pipeline.py`: `reproduce()`, the whole pipeline; `runner.py` runs one `RunSpec`
  (resumable, one atomic result file per run), `parallel.py` in worker processes,
  `cluster.py` on a Dask cluster; the
  kinds other than training keep their code apart (`probes.py`: step-0 profiles;
  `population.py`: random networks at initialisation; `baseline.py`, `regression.py`,
  `search.py`);
- `report.py`, `figures.py`: the report; `compare.py`: two reproductions compared (also
  one on TensorFlow with one on JAX).

Example:
>>> from actkeras.experiments import reproduce
>>> reproduce("quick", out="reproduction/quick", claim_ids=[1, 9])  # exit code
"""

__all__ = ["Claim", "PRESETS", "RunSpec", "Sizes", "reproduce", "select"]


def __getattr__(name):
    if name == "reproduce":
        from actkeras.experiments.pipeline import reproduce

        return reproduce
    if name in ("Claim", "RunSpec"):
        from actkeras.experiments import spec

        return getattr(spec, name)
    if name in ("PRESETS", "Sizes", "select"):
        import importlib

        return getattr(importlib.import_module("actkeras.experiments.claims"), name)
    raise AttributeError(f"module 'actkeras.experiments' has no attribute {name!r}")
