"""Two reproductions of the same preset, compared: verdicts, part outcomes and every run's numbers.

A reproduction is repeatable when a second invocation, in a fresh folder, reaches the
same verdict and the same outcome of every part for every claim. The runs' own
numbers are compared too, exactly (same seed, same numbers on a CPU), leaving out
what is a timing by nature: the `timing` of every result and the whole of the
cost runs (claim 8), whose verdict is compared all the same.

Usage:
    python -m actkeras.experiments.compare reproduction/full /tmp/full2 [--write FILE]
"""

import argparse
import json
import sys
from pathlib import Path

from actkeras.atomic import write_text

# Keys whose values are measurements of time or of where a file was cached, not results.
_NOT_COMPARED = {"timing", "cache_file", "cache_hit"}


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


def compare(first, second):
    """Compares two reproduction folders.

    Returns:
        A dict: `claims` (per claim id: both verdicts, whether they and every part's
        outcome agree), `runs` (`identical`, `different` with their first
        differences, `timings` not compared, `missing`), and `same_verdicts`.
    """
    results = [_results(first), _results(second)]
    if results[0].get("preset") != results[1].get("preset"):
        raise ValueError(f"The two folders hold different presets: {results[0].get('preset')} "
                         f"and {results[1].get('preset')}. Received: {first}, {second}")
    claims = []
    by_id = [{c["id"]: c for c in r["claims"]} for r in results]
    for claim_id in sorted(set(by_id[0]) | set(by_id[1])):
        pair = [ids.get(claim_id) for ids in by_id]
        verdicts = [c["verdict"]["verdict"] if c else None for c in pair]
        parts = [[p["outcome"] for p in c["verdict"].get("parts", [])] if c else None
                 for c in pair]
        details = [[(p["text"], p.get("detail")) for p in c["verdict"].get("parts", [])]
                   if c else [] for c in pair]
        claims.append({"id": claim_id, "title": (pair[0] or pair[1])["title"],
                       "verdicts": verdicts, "parts": parts, "details": details,
                       "same": verdicts[0] == verdicts[1] and parts[0] == parts[1]})
    runs = {"identical": 0, "different": {}, "timings": 0, "missing": []}
    ours, theirs = _runs(first), _runs(second)
    for name, path in ours.items():
        if name not in theirs:
            runs["missing"].append(name)
            continue
        a, b = (json.loads(p.read_text()) for p in (path, theirs[name]))
        if a.get("spec", {}).get("kind") == "cost":
            runs["timings"] += 1
            continue
        found = differences(_strip(a), _strip(b))
        if found:
            runs["different"][name] = found[:5]
        else:
            runs["identical"] += 1
    runs["missing"] += [name for name in theirs if name not in ours]
    # Folder names only: a committed comparison must not name the machine's paths.
    return {"first": Path(first).name, "second": Path(second).name, "preset": results[0].get("preset"),
            "timing": [r.get("timing", {}) for r in results], "claims": claims, "runs": runs,
            "same_verdicts": all(c["same"] for c in claims)}


def _minutes(seconds):
    if not seconds:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def to_markdown(result):
    """The comparison as a Markdown page."""
    runs = result["runs"]
    lines = [f"# Two `{result['preset']}` reproductions compared", "",
             f"Written by `python -m actkeras.experiments.compare`; first: `{result['first']}`, "
             f"second: `{result['second']}`.", "",
             f"- Wall time: {_minutes(result['timing'][0].get('wall_seconds'))} and "
             f"{_minutes(result['timing'][1].get('wall_seconds'))}; run time summed: "
             f"{_minutes(result['timing'][0].get('run_seconds'))} and "
             f"{_minutes(result['timing'][1].get('run_seconds'))}.",
             f"- Verdicts and part outcomes: **{'identical' if result['same_verdicts'] else 'DIFFERENT'}**.",
             f"- Runs: {runs['identical']} with identical results (every number, exactly; "
             f"timings and cache file names left out), {len(runs['different'])} different, "
             f"{runs['timings']} timing runs (claim 8) not compared number by number, "
             f"{len(runs['missing'])} in one folder only.", "",
             "| claim | first | second | parts (first) | parts (second) | same |",
             "| --- | --- | --- | --- | --- | --- |"]
    for claim in result["claims"]:
        parts = [", ".join(p) if p is not None else "-" for p in claim["parts"]]
        lines.append(f"| {claim['id']}. {claim['title']} | {claim['verdicts'][0]} | "
                     f"{claim['verdicts'][1]} | {parts[0]} | {parts[1]} | "
                     f"{'yes' if claim['same'] else '**no**'} |")
    moved = [(claim["id"], a, b) for claim in result["claims"]
             for a, b in zip(*claim["details"]) if a != b]
    if moved:
        lines += ["", "Parts whose numbers differ between the two (same outcome unless the "
                  "table says otherwise):", ""]
        lines += [f"- claim {cid}, {a[0]}: {a[1]} (first); {b[1]} (second)" for cid, a, b in moved]
    for name, found in runs["different"].items():
        lines += ["", f"- `{name}`: " + "; ".join(found)]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m actkeras.experiments.compare",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--write", metavar="FILE", help="also write the Markdown to FILE")
    args = parser.parse_args(argv)
    try:
        result = compare(args.first, args.second)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = to_markdown(result)
    print(text, end="")
    if args.write:
        write_text(args.write, text)
    return 0 if result["same_verdicts"] else 1


if __name__ == "__main__":
    sys.exit(main())
