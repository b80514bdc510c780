"""`reproduce()`: the whole reproduction, from the protocol's check to the report.

1. The selected claims' protocols are checked against what their modules measure (an
   unknown metric, arm or aggregate is one line, before anything runs), and the output
   folder against what it holds.
2. The learning-rate searches run first (in worker processes with `jobs` > 1, or on a
   Dask cluster with `scheduler`, which is reached and checked before step 1's folder).
3. The claims are built again with the rates the searches chose, and every training,
   probe and baseline run that is not finished runs.
4. Claim 8's timings run last, each in a fresh process of its own, alone.
5. The report is written from the results on disk.

Every finished run records its provenance (actkeras version, Keras backend, the protocol
hash of every claim that lists it, the data's fingerprint); one made under other rules is
refused before any work unless `stale="reuse"` (reused, counted and named in the report)
or `stale="rerun"` (run again). The runs of one backend stay in a folder of their own
(`folder.prepare`): `backend="jax"` runs in a process whose Keras runs JAX, and so do its
workers.
"""

import contextlib
import os
import sys
import time
from pathlib import Path

from actkeras import backends, checks


def select_backend(backend=None):
    """The Keras backend this process's runs use: `backend`, or the one Keras loads.

    Before Keras is imported, `backend` is selected for this process and every process
    it starts (`KERAS_BACKEND`); afterwards it must be the one loaded.

    Raises:
        ValueError: a backend actkeras does not run on, one not installed, or one
            other than the backend this process has loaded.
    """
    if backend is None:
        return sys.modules["keras"].backend.backend() if "keras" in sys.modules \
            else backends.requested()
    checks.choice("backend", backend, list(backends.SUPPORTED))
    problem = backends.problem(backend)
    if problem:
        raise ValueError(problem)
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = backend
        return backend
    loaded = sys.modules["keras"].backend.backend()
    if loaded != backend:
        raise ValueError(f"this process's Keras runs the {loaded} backend, and Keras loads "
                         f"one backend per process: run `actkeras reproduce --backend {backend}`, "
                         f"or set KERAS_BACKEND={backend} before Keras is imported. "
                         f"Received: backend={backend!r}")
    return backend


def _provenance(all_claims, data, backend):
    """`fn(spec) -> provenance` over every claim of the preset that lists a run."""
    from actkeras import __version__
    from actkeras.experiments.rules import protocol

    listed = {}
    for claim in all_claims:
        digest = protocol(claim.id).hash()
        for spec in (*claim.runs, *claim.tuning):
            listed.setdefault(spec.run_id, {})[str(claim.id)] = digest

    def provenance(spec):
        return {"actkeras": __version__, "backend": backend,
                "protocol": dict(sorted(listed.get(spec.run_id, {}).items())),
                "data": data.fingerprint(spec)}

    return provenance


def check_data(chosen, data):
    """Loads each data set the chosen claims' runs read, before the folder is touched: a
    data folder without them (empty, or another one) is one message naming it, not a
    failed run for each, and finished runs are never replaced by failures (`force`).

    Raises:
        DataError: the first data set not found, with where it was looked for.
    """
    seen = set()
    for spec in (spec for claim in chosen for spec in (*claim.tuning, *claim.runs)):
        if spec.source == "generated" or (spec.dataset, spec.source) in seen:
            continue
        seen.add((spec.dataset, spec.source))
        data.get(spec)  # the key its run reads: loaded once, kept for the runs


def validate_claims(ids):
    """Checks each claim's protocol against its module, before any run.

    Raises:
        ProtocolError: one line naming what is unknown.
    """
    from actkeras.experiments.claims import module
    from actkeras.experiments.protocol import validate
    from actkeras.experiments.spec import Claim

    empty = Claim(id=0, title="", statement="", source="", setup="", runs=())
    for claim_id in ids:
        mod = module(claim_id)
        roles = {setting: list(per) for setting, per in mod.roles(empty, {}).items()}
        validate(mod.PROTOCOL, mod.METRICS, roles)


def _cluster(scheduler, jobs, backend):
    """A Dask client for `scheduler` (`experiments.cluster`), or `None` without one."""
    if scheduler is None:
        return contextlib.nullcontext()
    from actkeras.experiments.cluster import connect

    return connect(scheduler, jobs=jobs, backend=backend)


def _phase(specs, out, *, jobs, force, verbose, data_dir, export, progress, provenance,
           stale, executed, client=None, backend=None):
    """Runs `specs` (workers first: with `jobs` > 1, or on the Dask cluster of `client`);
    returns `{run_id: result}`."""
    from actkeras.experiments.runner import run_specs

    if (jobs > 1 or client is not None) and specs:
        from actkeras.experiments.parallel import run_parallel
        from actkeras.experiments.runner import read_result, result_path, stale_reason

        # Refuse stale runs before the workers start (run_specs would, after them).
        found = []
        for spec in {s.run_id: s for s in specs}.values():
            result, _ = read_result(result_path(out, spec), spec)
            if result is not None and not force:
                reason = stale_reason(result, provenance(spec))
                if reason is not None:
                    found.append((spec, reason))
        if found and stale == "refuse":
            from actkeras.experiments.runner import StaleRuns

            raise StaleRuns(found)
        stale_ids = {spec.run_id for spec, _ in found}

        def todo(spec):
            if force:
                return True
            if spec.run_id in stale_ids:
                return stale == "rerun"
            return read_result(result_path(out, spec), spec)[0] is None

        from actkeras.experiments.runner import forget

        for spec in specs:  # a forced or stale search starts afresh, not from its trials
            if force or (spec.run_id in stale_ids and stale == "rerun"):
                forget(spec, out)

        if client is not None:
            from actkeras.experiments.cluster import run_on_cluster

            executed |= run_on_cluster(client, specs, out, backend=backend, force=force,
                                       data_dir=data_dir, export=export, progress=progress,
                                       provenance=provenance, todo=todo)
        else:
            executed |= run_parallel(specs, out, jobs, force=force, data_dir=data_dir,
                                     export=export, progress=progress, provenance=provenance,
                                     todo=todo)
        force = False
    return run_specs(specs, out, force=force, verbose=verbose, data_dir=data_dir, export=export,
                     progress=progress, executed=executed, provenance=provenance, stale=stale)


def _say_unexported(specs, out, progress):
    """One line naming the finished training runs that `export` cannot export: a run
    keeps no model once finished (only its result), so only training it again can."""
    from actkeras.experiments.runner import read_result, result_path

    missing = [s.run_id for s in {s.run_id: s for s in specs}.values() if s.kind == "train"
               and not (Path(out) / "models" / s.run_id).is_dir()
               and (read_result(result_path(out, s), s)[0] or {}).get("status") == "ok"]
    if missing:
        progress(f"--export: {len(missing)} training runs finished before without --export "
                 f"(e.g. {missing[0]}) kept no model and are not exported: add --force to "
                 f"train them again and export them to {Path(out) / 'models'}")


def reproduce(preset="quick", out=None, *, claim_ids=None, seeds=None, force=False,
              verbose=2, data_dir=None, export=False, sizes=None, readme=None,
              progress=print, command=None, jobs=1, overwrite=False, stale="refuse",
              backend=None, compare_with=None, scheduler=None, replace_readme=False):
    """Runs the claims of `preset` that are not finished yet, then writes the report.

    Args:
        preset: `"quick"` (embedded samples, a few minutes on 2 CPU cores), `"full"`
            (the real data sets, the protocol's seeds) or `"tiny"` (a smoke test).
            Defaults to `"quick"`.
        out: output folder. Defaults to `reproduction/<preset>` (a folder of its own
            for a subset of the claims or another number of seeds).
        claim_ids: claim numbers to run (all for `None`).
        seeds: seeds per arm instead of the preset's.
        force: run again the runs that finished before.
        verbose: Keras's `verbose` (0 for quiet). Defaults to `2`, a line per epoch.
        data_dir: where the data files are. Defaults to `$ACTKERAS_DATA_DIR`.
        export: export each trained model to `out/models/` as it trains (a run finished
            before keeps no model: a progress line names them, and `force` trains them
            again).
        sizes: a `Sizes` replacing the preset's (tests).
        readme: a README whose summary markers get the summary table; checked before
            any run (`readme.check_readme`).
        progress: where progress lines go.
        command: the command line, for the report's header.
        jobs: worker processes for the runs (`experiments.parallel`); the cost runs are
            then timed afterwards, each in a process of its own. Defaults to `1`.
        overwrite: replace a report in `out` that covers another selection of claims
            or seeds (its finished runs are reused).
        stale: finished runs made under another protocol, actkeras version or data:
            `"refuse"` (before any work), `"reuse"` (counted and named in the report)
            or `"rerun"`.
        backend: the Keras backend, `"tensorflow"` or `"jax"` (`select_backend`).
            Defaults to the one Keras loads; its runs go to `out`, by default
            `reproduction/<preset>-jax` on JAX.
        compare_with: the folder of this preset's reproduction on the other backend:
            its verdicts join each claim's sensitivity table, and a part whose outcome
            differs between the backends marks the claim fragile.
        scheduler: run the training runs and searches on a Dask cluster: a scheduler's
            address, or `"local"` for a cluster of `jobs` worker processes on this
            machine (`experiments.cluster`). Defaults to `None`: `jobs` processes of
            this machine's own pool.
        replace_readme: let `readme`'s table of another preset or selection of claims
            and seeds (or one not written by actkeras) be replaced. Defaults to `False`.

    Returns:
        0 if every run finished (ok or diverged), 1 if any failed.
    """
    start = time.perf_counter()
    checks.positive_int("jobs", jobs)
    checks.choice("stale", stale, ["refuse", "reuse", "rerun"])
    backend = select_backend(backend)  # before Keras loads, where it has not yet
    from actkeras.errors import writing
    from actkeras.experiments.claims import MODULES, check_ids, claims, select, sizes_of
    from actkeras.experiments.folder import default_out, prepare, release
    from actkeras.experiments.readme import check_readme, update_readme
    from actkeras.experiments.report import write_report
    from actkeras.experiments.runner import RESULT_FORMAT, RESUME_NOTE, DataCache

    ids = check_ids(claim_ids) if claim_ids else list(MODULES)
    validate_claims(ids)
    selection = {"claims": ids if claim_ids else "all", "seeds": seeds}
    if readme:  # before hours of runs, not after them
        check_readme(readme, preset, selection, replace=replace_readme)
    sizes_ = sizes_of(preset, seeds, sizes)
    other = None
    if compare_with is not None:
        from actkeras.experiments.compare import other_backend

        other = other_backend(compare_with, preset, backend, seeds)
    data = DataCache(data_dir)
    check_data(select(claims(sizes=sizes_), ids), data)
    # The scheduler answers, and its workers match, before the folder is touched.
    with _cluster(scheduler, jobs, backend) as client, contextlib.ExitStack() as held:
        default = default_out(preset, claim_ids, seeds, backend)
        out = Path(out or default)
        held.callback(release, out)  # the folder's lock, which `prepare` takes
        removed = prepare(out, preset, RESULT_FORMAT, selection=selection, force=force,
                          overwrite=overwrite, backend=backend, default=default)
        if removed:
            progress(f"removed {removed} partial files left by an interrupted run")
        executed = set()
        common = dict(jobs=jobs, force=force, verbose=verbose, data_dir=data_dir, export=export,
                      progress=progress, stale=stale, executed=executed, client=client,
                      backend=backend)

        everything = claims(sizes=sizes_)
        chosen = select(everything, ids)
        searches = list({s.run_id: s for c in chosen for s in c.tuning}.values())
        results = {}
        with writing(out, note=RESUME_NOTE):
            if searches:
                progress(f"learning-rate searches: {len(searches)}")
                results.update(_phase(searches, out, provenance=_provenance(everything, data, backend),
                                      **common))
        from actkeras.experiments.claims.runs import searched

        tuned = {run_id: searched(r) for run_id, r in results.items()
                 if r.get("status") == "ok" and (r.get("search") or {}).get("best") is not None}
        everything = claims(sizes=sizes_, tuned=tuned)
        chosen = select(everything, ids)
        provenance = _provenance(everything, data, backend)
        specs = [s for c in chosen for s in c.runs if s.kind != "cost"]
        # The longest runs last (claim 2's 50-layer network): a reproduction stopped part of the
        # way has the most claims' runs to show, and the order changes no run's numbers.
        specs.sort(key=lambda spec: spec.preset == "fashion_mlp")
        if export and not force:
            _say_unexported(specs, out, progress)
        costs = [s for c in chosen for s in c.runs if s.kind == "cost"]
        with writing(out, note=RESUME_NOTE):
            results.update(_phase(specs, out, provenance=provenance, **common))
            if costs:
                from actkeras.experiments.runner import run_specs

                progress(f"timings: {len(costs)} runs, each in a process of its own, alone")
                results.update(run_specs(costs, out, force=force, verbose=verbose, data_dir=data_dir,
                                         progress=progress, executed=executed, provenance=provenance,
                                         stale=stale, isolate=True))
        with writing(out, note=RESUME_NOTE):
            payload = write_report(chosen, results, out, preset=preset,
                                   wall_seconds=time.perf_counter() - start, executed=executed,
                                   command=command, other=other)
        if readme:
            with writing(readme, option="--readme"):
                update_readme(readme, (out / "summary.md").read_text(), preset, selection,
                              replace=replace_readme)
        failed = [r for r in results.values() if r.get("status") == "failed"]
        for claim in payload["claims"]:
            verdicts = claim.get("verdicts") or {}
            words = ", ".join(f"{setting}: {v['verdict']}" for setting, v in verdicts.items())
            progress(f"claim {claim['id']:>2}: {words or claim.get('error', '')}  ({claim['title']})")
        progress(f"report: {out / 'report.md'}; figures: {out / 'figures'}"
                 + (f"; {len(failed)} runs failed" if failed else ""))
        return 1 if failed else 0
