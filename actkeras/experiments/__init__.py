"""The reproduction of the seeds' claims: specs, runs, verdicts and the report.

`reproduce()` is the whole pipeline: the claims of a preset (`claims/`, one module
per claim holding its runs, measurement, judge and figure), their runs
(`runner.py`: resumable, one atomic result file per run; `measures.py`: accuracy at
fixed step budgets and post-training measurements), the statistics every judge uses
(`stats.py`: paired per-seed differences with t intervals; `judging.py`: the four
outcomes) and the report (`report.py`, `figures.py`).

Example:
>>> from actkeras.experiments import reproduce
>>> reproduce("quick", out="reproduction/quick", claim_ids=[1, 9])  # exit code
"""

import time
from pathlib import Path

from actkeras import checks
from actkeras.experiments.claims import PRESETS, Sizes, claims, select
from actkeras.experiments.spec import Claim, RunSpec

__all__ = ["Claim", "PRESETS", "RunSpec", "Sizes", "claims", "reproduce", "select"]


def reproduce(preset="quick", out=None, *, claim_ids=None, seeds=None, force=False,
              verbose=2, data_dir=None, export=False, sizes=None, readme=None,
              progress=print, command=None, jobs=1):
    """Runs the claims of `preset` that are not finished yet, then writes the report.

    Args:
        preset: `"quick"` (embedded samples, a few minutes on 2 CPU cores), `"full"`
            (the real data sets, 5 seeds per arm) or `"tiny"` (a smoke test).
            Defaults to `"quick"`.
        out: output folder. Defaults to `reproduction/<preset>`.
        claim_ids: claim numbers to run (all for `None`).
        seeds: seeds per arm instead of the preset's.
        force: run again the runs that finished before.
        verbose: Keras's `verbose` (0 for quiet). Defaults to `2`, a line per epoch.
        data_dir: where the data files are. Defaults to `$ACTKERAS_DATA_DIR`.
        export: export each trained model to `out/models/`.
        sizes: a `Sizes` replacing the preset's (tests).
        readme: a README whose summary markers get the summary table.
        progress: where progress lines go.
        command: the command line, for the report's header.
        jobs: worker processes for the training runs (`experiments.parallel`);
            the cost runs are then timed afterwards, alone. Defaults to `1`.

    Returns:
        0 if every run finished (ok or diverged), 1 if any failed.
    """
    from actkeras.errors import writing
    from actkeras.experiments.folder import prepare
    from actkeras.experiments.report import update_readme, write_report
    from actkeras.experiments.runner import RESULT_FORMAT, RESUME_NOTE, run_specs

    start = time.perf_counter()
    chosen = select(claims(preset, seeds=seeds, sizes=sizes), claim_ids)
    out = Path(out or Path("reproduction") / preset)
    stale = prepare(out, preset, RESULT_FORMAT, force=force)
    if stale:
        progress(f"removed {stale} partial files left by an interrupted run")
    checks.positive_int("jobs", jobs)
    specs = [spec for claim in chosen for spec in claim.runs]
    before = set()
    if jobs > 1:
        from actkeras.experiments.parallel import run_parallel

        with writing(out, note=RESUME_NOTE):
            before |= run_parallel(specs, out, jobs, force=force, verbose=verbose,
                                   data_dir=data_dir, export=export, progress=progress)
        # The workers' runs are on disk now: this pass times the cost runs alone and
        # runs whatever a worker left unfinished.
        force = (lambda spec: spec.kind == "cost") if force else False
    results = run_specs(specs, out, force=force, verbose=verbose, data_dir=data_dir,
                        export=export, progress=progress, executed=before)
    with writing(out, note=RESUME_NOTE):
        payload = write_report(chosen, results, out, preset=preset,
                               wall_seconds=time.perf_counter() - start, executed=len(before),
                               command=command)
    if readme:
        with writing(readme, option="--readme"):
            update_readme(readme, (out / "summary.md").read_text(), preset)
    failed = [r for r in results.values() if r.get("status") == "failed"]
    for claim in payload["claims"]:
        progress(f"claim {claim['id']:>2}: {claim['verdict']['verdict']:<15} {claim['title']}")
    progress(f"report: {out / 'report.md'}" + (f"; {len(failed)} runs failed" if failed else ""))
    return 1 if failed else 0
