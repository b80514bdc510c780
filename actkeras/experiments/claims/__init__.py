"""The seeds' claims, one module per claim, and the registry that lists them.

Each module `cNN_<name>.py` holds one claim whole:

- `ID` and `PROTOCOL` (its rules, declared in `experiments/rules.py`);
- `build(sizes, tuned) -> Claim`: its runs for a preset's `Sizes`; `tuned` maps a
  finished learning-rate search's `run_id` to the rate it chose (the arms at their best
  rate are listed once it is known);
- `roles(claim, results) -> {setting: {role: {seed: result}}}`: the runs each role of
  the protocol reads, in each setting;
- `METRICS`: `{name: Metric}`, the per-run numbers the protocol may name;
- `numbers(claim, results) -> dict`: the measured numbers (for `decide.judge`, the
  tables and `results.json`);
- `findings(numbers) -> [str]`: what the numbers say beyond the parts;
- `tables(numbers) -> [(title, columns, rows)]` and `draw(claim, numbers)`: the report.

`claims(preset)` builds every claim of a preset; `select` picks some by id, the one place
claim ids are checked.
"""

import importlib
from dataclasses import replace

from actkeras import checks
from actkeras.experiments.claims.presets import PRESETS, Sizes, SizesError, check

__all__ = ["MODULES", "PAPERS", "PRESETS", "Sizes", "SizesError", "check_ids", "claims", "module",
           "select"]

MODULES = {
    1: "c01_course",
    2: "c02_init",
    3: "c03_vanishing",
    4: "c04_rescaled",
    5: "c05_batchnorm",
    6: "c06_dying",
    7: "c07_sparsity",
    8: "c08_cost",
    9: "c09_linear",
    10: "c10_speed",
    11: "c11_born_dead",
    12: "c12_saturation",
    13: "c13_xavier_relu",
}
# The claims of the papers the seeds cite, beyond the seeds' own threads (the report's
# "Beyond the threads" section).
PAPERS = (11, 12, 13)


def check_ids(ids):
    """The claim ids, sorted, or `ValueError` naming the valid ones (the one check)."""
    ids = sorted(set(ids))
    unknown = [i for i in ids if i not in MODULES]
    if unknown:
        raise ValueError(f"Unknown claim. Valid claims: {', '.join(map(str, MODULES))}. "
                         f"Received: claims={','.join(map(str, unknown))}")
    return ids


def module(claim_id):
    """The module of claim `claim_id`."""
    check_ids([claim_id])
    return importlib.import_module(f"actkeras.experiments.claims.{MODULES[claim_id]}")


def sizes_of(preset="quick", seeds=None, sizes=None):
    """The `Sizes` of a preset (or `sizes` itself), with `seeds` per arm if given, checked
    against the protocols (`presets.check`: an unknown width or depth is one line)."""
    if sizes is None:
        if preset not in PRESETS:
            raise ValueError(f"Unknown reproduction preset. Valid choices: "
                             f"{', '.join(PRESETS)}. Received: preset={preset!r}")
        sizes = PRESETS[preset]
    if seeds is not None:
        checks.positive_int("seeds", seeds)
        sizes = sizes.with_seeds(seeds)
    return check(sizes)


def claims(preset="quick", seeds=None, sizes=None, ids=None, tuned=None):
    """The claims `ids` (all for `None`), with runs sized for `preset`.

    Args:
        preset: `"quick"`, `"full"` or `"tiny"`. Defaults to `"quick"`.
        seeds: seeds per arm, overriding the preset's.
        sizes: a `Sizes` to use instead of the preset's (tests shrink further).
        ids: the claim ids to build (checked); `None` for all.
        tuned: `{search run_id: best learning rate}` of the finished searches.
    """
    sizes = sizes_of(preset, seeds, sizes)
    ids = check_ids(ids) if ids else list(MODULES)
    built = [module(i).build(sizes, tuned or {}) for i in ids]
    if not sizes.tuned:  # no searches, so no arm waits for one
        built = [replace(c, tuning=(), waiting=()) for c in built]
    return built


def select(all_claims, ids):
    """The claims whose id is in `ids` (all for `None`), or `ValueError` naming the valid ids."""
    if not ids:
        return list(all_claims)
    check_ids(ids)
    wanted = set(ids)
    return [c for c in all_claims if c.id in wanted]


def without_runs(claim):
    """A claim with no runs (for checks that must not train)."""
    return replace(claim, runs=(), tuning=())
