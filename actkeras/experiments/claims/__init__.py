"""The seeds' claims, one module per claim, and the registry that lists them.

Each module `cNN_<name>.py` holds one claim whole:

- `ID`, `RULE`: the claim's number and its decision rule in words;
- `build(sizes) -> Claim`: its runs for a preset's `Sizes`;
- `judge(...)`: a pure function from measured numbers to a `Verdict` (tested on
  hand-made numbers on both sides of every margin);
- `analyze(claim, results) -> Analysis`: the per-seed numbers, table and verdict;
- `draw(claim, analysis) -> Figure | None`: its figure.

`claims(preset)` builds every claim for a preset; `select` picks some by id.
"""

import importlib
from dataclasses import replace

from actkeras import checks
from actkeras.experiments.claims.sizes import PRESETS, Sizes

__all__ = ["MODULES", "PRESETS", "Sizes", "claims", "module", "select"]

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
}


def module(claim_id):
    """The module of claim `claim_id`."""
    if claim_id not in MODULES:
        raise ValueError(f"Unknown claim. Valid claims: {', '.join(map(str, MODULES))}. "
                         f"Received: claim={claim_id!r}")
    return importlib.import_module(f"actkeras.experiments.claims.{MODULES[claim_id]}")


def claims(preset="quick", seeds=None, sizes=None):
    """Every claim, with runs sized for `preset`.

    Args:
        preset: `"quick"`, `"full"` or `"tiny"`. Defaults to `"quick"`.
        seeds: seeds per arm, overriding the preset's (cheap experiments too).
        sizes: a `Sizes` to use instead of the preset's (tests shrink further).
    """
    if sizes is None:
        if preset not in PRESETS:
            raise ValueError(f"Unknown reproduction preset. Valid choices: "
                             f"{', '.join(PRESETS)}. Received: preset={preset!r}")
        sizes = PRESETS[preset]
    if seeds is not None:
        checks.positive_int("seeds", seeds)
        sizes = replace(sizes, seeds=seeds, cheap_seeds=seeds)
    return [module(i).build(sizes) for i in MODULES]


def select(all_claims, ids):
    """The claims whose id is in `ids` (all for `None`), or `ValueError` naming the valid ids."""
    if not ids:
        return list(all_claims)
    valid = {c.id for c in all_claims}
    unknown = sorted(set(ids) - valid, key=str)
    if unknown:
        raise ValueError(f"Unknown claim. Valid claims: {', '.join(map(str, sorted(valid)))}. "
                         f"Received: claims={','.join(map(str, unknown))}")
    return [c for c in all_claims if c.id in set(ids)]
