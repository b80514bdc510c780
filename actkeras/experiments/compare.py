"""Two reproductions of the same preset, compared: verdicts, part outcomes and every run's numbers.

A reproduction is repeatable when a second invocation, in a fresh folder, reaches the
same verdict and the same outcome of every part for every claim and setting. The runs'
own numbers are compared too, exactly (same seed, same numbers on a CPU), leaving out
what is a timing by nature (every result's `timing`, and the cost runs of claim 8,
whose ratios are compared by their intervals instead). A run that carries the same
invocation id in both folders was copied, not repeated: the comparison fails.

Two reproductions on different Keras backends (`reproduce --backend jax` beside a
TensorFlow one) are compared by verdicts and part outcomes: their runs' numbers differ
by the backends' kernels and float rounding, so those are counted, not listed. The same
agreement, part by part, joins each claim's sensitivity table when a reproduction is run
with `--compare-with` the other backend's folder (`other_backend`).

A reproduction's **digest** (`--digest FOLDER`) is one hash per run of every number it
recorded (timings left out): committed beside a report, it lets anyone check from the
repository that a second run gave bit-identical results (`--check-digest`).

Usage:
    python -m actkeras.experiments.compare reproduction/full /tmp/full2 [--write FILE [--overwrite]]
    python -m actkeras.experiments.compare reproduction/quick reproduction/quick-jax
    python -m actkeras.experiments.compare --digest reproduction/full [--write FILE]
    python -m actkeras.experiments.compare --check-digest DIGEST.json /tmp/full2
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

from actkeras import ownership
from actkeras.atomic import write_text
from actkeras.experiments.spec import without_later_defaults

# Keys whose values are measurements of time (a run's `timing`, a fit's `seconds`) or of
# where a file was cached, not results (a resumed search's `earlier_seconds` too).
_NOT_COMPARED = {"timing", "seconds", "earlier_seconds", "cache_file", "cache_hit", "stale"}


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _NOT_COMPARED}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def differences(a, b, path=""):
    """The paths at which two JSON values differ (exact comparison), as strings."""
    if type(a) is not type(b):
        return [f"{path}: {a!r} vs {b!r}"]
    if isinstance(a, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{path}/{key}: only in {'the second' if key not in a else 'the first'}")
            else:
                out += differences(a[key], b[key], f"{path}/{key}")
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def _results(folder):
    path = Path(folder) / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: give the output folder of a finished "
                                f"`actkeras reproduce`. Received: {folder}")
    return json.loads(path.read_text())


def _runs(folder):
    return {p.name: p for p in sorted((Path(folder) / "runs").glob("*.json"))
            if not p.name.endswith(".config.json")}


def _is_cost(result):
    return (result.get("spec") or {}).get("kind") == "cost"


def _numbers(result):
    """A result as compared: without its timings, and without which code made it (a
    digest of the package's source, not one of its numbers)."""
    stripped = _strip(result)
    if isinstance(stripped.get("spec"), dict):  # fields added since, at their old value
        stripped["spec"] = without_later_defaults(stripped["spec"])
    if isinstance(stripped.get("provenance"), dict):
        stripped["provenance"] = {k: v for k, v in stripped["provenance"].items() if k != "code"}
    return stripped


def run_digest(result):
    """The sha256 of a result's every recorded number (timings, the code's digest and cost
    runs' times left out)."""
    text = json.dumps(_numbers(result), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def digest(folder):
    """`{"preset", "runs": {file name: sha256}}` of a reproduction folder (cost runs left out)."""
    runs = {}
    for name, path in _runs(folder).items():
        result = json.loads(path.read_text())
        if not _is_cost(result):
            runs[name] = run_digest(result)
    return {"preset": _results(folder).get("preset"), "runs": runs}


def read_digest(path):
    """The digest saved in `path` (`--digest`'s output), or a `ValueError` naming the fix."""
    path = Path(path)
    fix = ("give a digest written by `python -m actkeras.experiments.compare --digest FOLDER` "
           f"(a reproduction's digest.json). Received: {path}")
    if not path.is_file():
        raise ValueError(f"{path} {'is a folder' if path.is_dir() else 'does not exist'}: {fix}")
    try:
        saved = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not JSON ({error}): {fix}") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("runs"), dict):
        raise ValueError(f"{path} holds no digest (no \"runs\" table): {fix}")
    return saved


def check_digest(saved, folder):
    """`{"identical", "different": [names], "missing": [names], "extra": [names]}`."""
    mine = digest(folder)["runs"]
    theirs = saved["runs"]
    return {"identical": sum(1 for k in theirs if mine.get(k) == theirs[k]),
            "different": sorted(k for k in theirs if k in mine and mine[k] != theirs[k]),
            "missing": sorted(k for k in theirs if k not in mine),
            "extra": sorted(k for k in mine if k not in theirs)}


def _verdicts(claim):
    return {s: (v["verdict"], [f"{p.get('key', '?')}: {p['outcome']}" for p in v.get("parts", [])])
            for s, v in (claim.get("verdicts") or {}).items()}


def backend_of(results):
    """The Keras backend a results.json was made on (`None` where it does not say)."""
    return (results.get("environment") or {}).get("backend")


def other_backend(folder, preset, backend, seeds=None):
    """The verdicts of `preset`'s reproduction in `folder`, made on a backend other than
    `backend`, for the report's sensitivity tables (`reproduce(compare_with=folder)`).

    Returns:
        `{"folder": its name, "backend", "claims": {claim id: {"protocol_hash",
        "verdicts"}}}`.

    Raises:
        ValueError: no finished reproduction in `folder`, or one of another preset, of
            another number of seeds (`seeds`, `None` for the preset's own) or of the same
            backend: a difference would be read as the backend's.
    """
    try:
        results = _results(folder)
    except (OSError, ValueError) as error:
        reason = str(error).rstrip(".")  # it may name what it received already: once is enough
        received = "" if "Received:" in reason else f". Received: compare_with={str(folder)!r}"
        raise ValueError(f"--compare-with takes the folder of a finished reproduction on the "
                         f"other backend: {reason}{received}") from None
    theirs = backend_of(results)
    if results.get("preset") != preset:
        raise ValueError(f"{folder} holds a reproduction of the {results.get('preset')!r} "
                         f"preset, not {preset!r}: --compare-with takes the same preset on the "
                         f"other backend. Received: compare_with={str(folder)!r}")
    try:
        selection = json.loads((Path(folder) / "manifest.json").read_text()).get("selection")
    except (OSError, ValueError, AttributeError):
        selection = None  # no manifest to read: the results alone say what they are
    if isinstance(selection, dict) and selection.get("seeds") != seeds:
        def said(n):
            return "the preset's own seeds" if n is None else f"{n} seed{'s' * (n != 1)} per arm"

        raise ValueError(f"{folder} holds a reproduction with {said(selection.get('seeds'))}, "
                         f"this one has {said(seeds)}: a difference between them would be "
                         f"marked as the backend's. --compare-with takes the same seeds on the "
                         f"other backend. Received: compare_with={str(folder)!r}")
    if theirs == backend or theirs is None:
        raise ValueError(f"{folder} holds a reproduction on the {theirs or 'unrecorded'} "
                         f"backend: --compare-with takes one on another backend than "
                         f"{backend}. Received: compare_with={str(folder)!r}")
    return {"folder": Path(folder).name, "backend": theirs,
            "claims": {c["id"]: {"protocol_hash": c.get("protocol_hash"),
                                 "verdicts": c.get("verdicts") or {}}
                       for c in results.get("claims", [])}}


def _agreement(claims):
    """`{"settings": [same, of], "parts": [same, of], "differ": ["3 (as run) (b): x vs y"]}`."""
    settings, parts, differ = [0, 0], [0, 0], []
    for claim in claims:
        first, second = (v or {} for v in claim["verdicts"])
        for setting in set(first) & set(second):
            settings[0] += first[setting][0] == second[setting][0]
            settings[1] += 1
            for a, b in zip(first[setting][1], second[setting][1]):
                parts[0] += a == b
                parts[1] += 1
                if a != b:
                    (key, one), other = a.split(": ", 1), b.split(": ", 1)[-1]
                    differ.append(f"claim {claim['id']} ({setting}), part ({key}): "
                                  f"{one} vs {other}")
    return {"settings": settings, "parts": parts, "differ": differ}


def _cost_ratios(results):
    """`{activation: (ratio, low, high)}` of claim 8 from a results.json, or `{}`."""
    for claim in results.get("claims", []):
        if claim.get("id") != 8:
            continue
        settings = ((claim.get("numbers") or {}).get("settings") or {})
        out = {}
        for role, arm in next(iter(settings.values()), {}).items():
            values = [v for v in ((arm.get("values") or {}).get("log_ratio") or {}).values()
                      if v is not None]
            if len(values) >= 2:
                from actkeras.experiments import stats

                est = stats.estimate(dict(enumerate(values)))
                out[role] = (10 ** est.mean, 10 ** est.low, 10 ** est.high)
        return out
    return {}


def compare(first, second):
    """Compares two reproduction folders.

    Returns:
        A dict: `claims` (per claim id: both verdicts per setting and whether they and
        every part's outcome agree), `agreement` (settings and parts alike, the parts
        that differ), `backends`, `runs` (`identical`, `different` with their first
        differences, `timings` not compared number by number, `missing`, `copied`),
        `counts` (runs executed and reused by each invocation), `timing_ratios` (claim
        8's ratios and whether their intervals overlap), and `same_verdicts`.
    """
    results = [_results(first), _results(second)]
    backends = [backend_of(r) for r in results]
    if results[0].get("preset") != results[1].get("preset"):
        raise ValueError(f"The two folders hold different presets: {results[0].get('preset')} "
                         f"and {results[1].get('preset')}. Received: {first}, {second}")
    claims = []
    by_id = [{c["id"]: c for c in r["claims"]} for r in results]
    for claim_id in sorted(set(by_id[0]) | set(by_id[1])):
        pair = [ids.get(claim_id) for ids in by_id]
        verdicts = [_verdicts(c) if c else None for c in pair]
        details = [[(s, p["text"], p.get("detail")) for s, v in (c.get("verdicts") or {}).items()
                    for p in v.get("parts", [])] if c else [] for c in pair]
        claims.append({"id": claim_id, "title": (pair[0] or pair[1])["title"],
                       "verdicts": verdicts, "details": details,
                       "same": verdicts[0] == verdicts[1]})
    runs = {"identical": 0, "different": {}, "timings": 0, "missing": [], "copied": []}
    ours, theirs = _runs(first), _runs(second)
    for name, path in ours.items():
        if name not in theirs:
            runs["missing"].append(name)
            continue
        a, b = (json.loads(p.read_text()) for p in (path, theirs[name]))
        mark = [(r.get("timing") or {}).get("invocation") for r in (a, b)]
        if mark[0] and mark[0] == mark[1]:
            runs["copied"].append(name)
            continue
        if _is_cost(a):
            runs["timings"] += 1
            continue
        found = differences(_numbers(a), _numbers(b))
        if found:
            runs["different"][name] = found[:5]
        else:
            runs["identical"] += 1
    runs["missing"] += [name for name in theirs if name not in ours]
    counts = [{"executed": (r.get("timing") or {}).get("executed"),
               "reused": (r.get("timing") or {}).get("reused")} for r in results]
    ratios = [_cost_ratios(r) for r in results]
    timing_ratios = {}
    for name in sorted(set(ratios[0]) & set(ratios[1])):
        (m0, l0, h0), (m1, l1, h1) = ratios[0][name], ratios[1][name]
        timing_ratios[name] = {"first": [m0, l0, h0], "second": [m1, l1, h1],
                               "overlap": l0 <= h1 and l1 <= h0}
    # Folder names only: a committed comparison must not name the machine's paths.
    return {"first": Path(first).name, "second": Path(second).name,
            "preset": results[0].get("preset"), "backends": backends,
            "agreement": _agreement(claims),
            "timing": [r.get("timing", {}) for r in results], "counts": counts,
            "claims": claims, "runs": runs, "timing_ratios": timing_ratios,
            "same_verdicts": all(c["same"] for c in claims) and not runs["copied"]}


def _minutes(seconds):
    if not seconds:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def to_markdown(result):
    """The comparison as a Markdown page."""
    runs = result["runs"]
    counts = result.get("counts") or [{}, {}]
    backends = result.get("backends") or [None, None]
    across = backends[0] != backends[1]
    agreement = result.get("agreement") or _agreement(result["claims"])
    (same_settings, settings), (same_parts, parts) = agreement["settings"], agreement["parts"]
    lines = [f"# Two `{result['preset']}` reproductions compared"
             + (f": {backends[0]} and {backends[1]}" if across else ""), "",
             f"Written by `python -m actkeras.experiments.compare`; first: `{result['first']}`"
             f" ({backends[0] or 'backend not recorded'}), second: `{result['second']}` "
             f"({backends[1] or 'backend not recorded'}).", "",
             f"- Agreement: {same_settings} of {settings} verdicts (claim and setting) and "
             f"{same_parts} of {parts} parts have the same outcome in both.",
             f"- Wall time: {_minutes(result['timing'][0].get('wall_seconds'))} and "
             f"{_minutes(result['timing'][1].get('wall_seconds'))}; run time summed: "
             f"{_minutes(result['timing'][0].get('run_seconds'))} and "
             f"{_minutes(result['timing'][1].get('run_seconds'))}.",
             f"- Runs executed / reused by each invocation: {counts[0].get('executed')} / "
             f"{counts[0].get('reused')} and {counts[1].get('executed')} / "
             f"{counts[1].get('reused')}.",
             f"- Verdicts and part outcomes, every setting: "
             f"**{'identical' if all(c['same'] for c in result['claims']) else 'DIFFERENT'}**"
             + (" (but runs were copied: not a repeat)" if runs.get("copied") else "") + ".",
             f"- Runs: {runs['identical']} with identical results (every number, exactly; "
             f"timings and cache file names left out), {len(runs['different'])} different"
             + (" (expected across backends: other kernels, other float rounding; not "
                "listed below)" if across else "") + ", "
             f"{runs['timings']} timing runs (claim 8) compared by their intervals below, "
             f"{len(runs['missing'])} in one folder only"
             + (f", **{len(runs['copied'])} copied** (the same invocation id in both: not a "
                "repeat)" if runs.get("copied") else "") + ".", "",
             "| claim | setting | first | second | parts (first) | parts (second) | same |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for claim in result["claims"]:
        first, second = (v or {} for v in claim["verdicts"])
        for setting in dict.fromkeys([*first, *second]):
            a, b = first.get(setting, ("-", [])), second.get(setting, ("-", []))
            lines.append(f"| {claim['id']}. {claim['title']} | {setting} | {a[0]} | {b[0]} | "
                         f"{', '.join(a[1])} | {', '.join(b[1])} | "
                         f"{'yes' if a == b else '**no**'} |")
    if result.get("timing_ratios"):
        lines += ["", "Claim 8, the activation alone against ReLU (ratio [95 % interval over "
                  "invocations]):", "", "| activation | first | second | intervals overlap |",
                  "| --- | --- | --- | --- |"]
        for name, r in result["timing_ratios"].items():
            lines.append(f"| {name} | {r['first'][0]:.2f} [{r['first'][1]:.2f}, "
                         f"{r['first'][2]:.2f}] | {r['second'][0]:.2f} [{r['second'][1]:.2f}, "
                         f"{r['second'][2]:.2f}] | {'yes' if r['overlap'] else '**no**'} |")
    moved = [(claim["id"], a, b) for claim in result["claims"]
             for a, b in zip(*claim["details"]) if a != b]
    if moved:
        lines += ["", "Parts whose numbers differ between the two (same outcome unless the "
                  "table says otherwise):", ""]
        lines += [f"- claim {cid} ({a[0]}), {a[1]}: {a[2]} (first); {b[2]} (second)"
                  for cid, a, b in moved]
    if agreement["differ"]:
        lines += ["", "Parts whose outcome differs:", ""] + [f"- {d}" for d in agreement["differ"]]
    for name, found in ({} if across else runs["different"]).items():
        lines += ["", f"- `{name}`: " + "; ".join(found)]
    if runs.get("copied"):
        lines += ["", "Copied runs: " + ", ".join(f"`{n}`" for n in runs["copied"][:20])]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m actkeras.experiments.compare",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", help="two reproduction folders to compare")
    parser.add_argument("--digest", metavar="FOLDER", help="print the digest of FOLDER")
    parser.add_argument("--check-digest", nargs=2, metavar=("DIGEST", "FOLDER"),
                        help="check FOLDER's runs against a saved digest")
    parser.add_argument("--write", metavar="FILE", help="also write the output to FILE")
    parser.add_argument("--overwrite", action="store_true",
                        help="let --write replace an existing file")
    args = parser.parse_args(argv)
    problem = args.write and ownership.write_problem(args.write, args.overwrite)
    if problem:
        parser.error(problem)
    try:
        if args.digest:
            text = json.dumps(digest(args.digest), indent=1, sort_keys=True) + "\n"
            ok = True
        elif args.check_digest:
            saved = read_digest(args.check_digest[0])
            found = check_digest(saved, args.check_digest[1])
            text = json.dumps(found, indent=1) + "\n"
            ok = not (found["different"] or found["missing"])
        else:
            if len(args.folders) != 2:
                parser.error("give two folders, or --digest FOLDER, or --check-digest DIGEST FOLDER")
            result = compare(*args.folders)
            text = to_markdown(result)
            ok = result["same_verdicts"]
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(text, end="")
    if args.write:
        write_text(args.write, text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
