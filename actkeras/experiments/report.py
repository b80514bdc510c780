"""The reproduction's outputs: `results.json`, `report.md`, `summary.md` and the figures.

Everything here is computed from the run results by the claims' own modules and the one
judge (`decide.judge`) under the declared protocol (`rules.py`); nothing in the report is
written by hand. A claim whose analysis raises is reported as "could not be judged:
<reason>" and the rest of the report is still written; a figure that fails costs only
itself.
"""

import json
import math
import re
from dataclasses import replace
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from actkeras.atomic import write_figure, write_json, write_text
from actkeras.experiments import decide, judging, sensitivity
from actkeras.experiments.claims import PAPERS, module
from actkeras.experiments.protocol import hashes
# The README's summary block, written by the pipeline (re-exported for older callers).
from actkeras.experiments.readme import SUMMARY_END, SUMMARY_START, update_readme  # noqa: F401
from actkeras.experiments.runner import clock
from actkeras.experiments.rules import GRID_EXTENSION, VERSION, protocol
from actkeras.records import environment, plain

_MARK = {judging.REPRODUCED: "✅", judging.NOT_REPRODUCED: "❌", judging.MIXED: "◐",
         judging.INCONCLUSIVE_VERDICT: "❔", judging.COULD_NOT_JUDGE: "⚠️"}
_BOX = {judging.HOLDS: "x", judging.FAILS: " ", judging.INCONCLUSIVE: "?"}


# --- markdown ------------------------------------------------------------------------------

def _table(columns, rows):
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _count(verdict):
    outcomes = [p["outcome"] for p in verdict.get("parts", [])]
    return (f"{outcomes.count(judging.HOLDS)} / {outcomes.count(judging.FAILS)} / "
            f"{outcomes.count(judging.INCONCLUSIVE)}") if outcomes else "–"


def _word(verdict):
    return f"{_MARK.get(verdict['verdict'], '')} {verdict['verdict']}" if verdict else "–"


def summary_table(entries):
    """The one-table summary (what the README shows): each setting's verdict, the parts of
    the first, and the rules under which the verdict moves."""
    rows = []
    for e in entries:
        verdicts = e.get("verdicts") or {}
        settings = list(verdicts)
        first = verdicts.get(settings[0]) if settings else None
        second = verdicts.get(settings[1]) if len(settings) > 1 else None
        other = f"{_word(second)} ({settings[1]})" if second else "–"
        moved = e.get("fragile") or []
        robust = "–" if e.get("error") else "robust"
        rows.append([f"{e['id']}", e["title"], e["source"], _word(first) if first else "⚠️",
                     other, _count(first or {}),
                     ("**fragile**: " + ", ".join(moved)) if moved else robust])
    return _table(["#", "claim", "source", "verdict (as run)", "other setting",
                   "parts held / not / undecided", "under the moved rules"], rows)


def data_used(claim, results):
    """One line per data set the claim's runs trained on: sizes, duplicates removed, origin."""
    seen = {}
    for spec in claim.runs:
        data = (results.get(spec.run_id) or {}).get("data")
        if not data:
            continue
        info = data.get("info") or {}
        where = info.get("protocol") or spec.source
        extra = []
        if info.get("duplicates_removed") is not None:
            extra.append(f"{info['duplicates_removed']:,} exact duplicates removed")
        near = info.get("near_duplicates_removed")
        if isinstance(near, dict):
            extra.append("near-duplicates of training images removed: "
                         + ", ".join(f"{near[k]:,} {k}" for k in ("valid", "test") if k in near)
                         + (f" (RMS <= {info['near_duplicate_rms']})"
                            if info.get("near_duplicate_rms") is not None else ""))
        key = (data["name"], data["n_train"], data["n_valid"], data["n_test"], where)
        seen[key] = (f"{data['name']}: {data['n_train']:,} train / {data['n_valid']:,} "
                     f"validation / {data['n_test']:,} test images ({where})"
                     + (f"; {'; '.join(extra)}" if extra else ""))
    return list(seen.values())


def robustness(part):
    """Where a part's outcome would change, from its interval: `holds for margins below X`."""
    est, margin = part.get("estimate") or {}, part.get("margin")
    low, high = est.get("low"), est.get("high")
    if low is None or margin is None or part.get("unit") == "share" and part.get("margin") == 1.0:
        return ""
    unit = part.get("unit", "")
    if unit == "share" and part.get("test") == "paired":
        unit = "pp"
    paired = part.get("test") == "paired"

    def show(v, signed=paired):
        return decide.fmt_value(v, unit, signed=signed and unit != "log10 ratio") + \
            decide.fmt_unit(unit)

    direction = part.get("direction", "above")
    word = "margin" if paired else "threshold"
    if direction == "above":
        return f"holds with any {word} below {show(low)}; does not hold at or above {show(high)}"
    if direction == "below":
        return f"holds with any {word} above {show(high)}; does not hold at or below {show(low)}"
    # A tolerance is never below 0: an interval above 0 holds with any, one reaching above 0
    # fails with none.
    holds = ("holds with any tolerance" if low > 0
             else f"holds with any tolerance above {show(-low, False)}")
    fails = ("fails with none" if high > 0
             else f"does not hold with one at or below {show(-high, False)}")
    return f"{holds}; {fails}"


def _verdict_markdown(setting, verdict, metrics):
    lines = [f"**{setting}: {_word(verdict)}.**", ""]
    for part in verdict["parts"]:
        moves = robustness(part)
        lines.append(f"- [{_BOX[part['outcome']]}] ({part['key']}) {part['text']} — "
                     f"**{part['outcome']}**: {part['detail']}" + (f" *({moves})*" if moves else ""))
    return lines


def _sensitivity_markdown(rows, protocol):
    if not rows:
        return []
    keys = sorted({k for r in rows for k in r["parts"]})
    table_rows = []
    for r in rows:
        cells = [("**" + r["parts"].get(k, "–") + "**") if k in r["parts_moved"]
                 else r["parts"].get(k, "–") for k in keys]
        verdict = f"**{r['verdict']}**" if r["moved"] else r["verdict"]
        table_rows.append([r["variant"], r["setting"], verdict] + cells)
    shown = {r["variant"] for r in rows}
    reasons = [f"- {name}: {', '.join(f'{a} -> {b}' for a, b in moved.items())}; {reason}."
               for name, moved, reason in protocol.moved_arms if name in shown]
    return (["*How the verdict moves when a rule moves (bold: changed)*", "",
             _table(["rule", "setting", "verdict"] + [f"({k})" for k in keys], table_rows), ""]
            + (reasons + [""] if reasons else []))


def _claim_markdown(claim, entry, level=2, preset="full"):
    source = claim.source + (f", `{claim.seed_file}`" if claim.seed_file else "")
    lines = [f"{'#' * level} Claim {claim.id}: {claim.title}", "",
             f"**Claim.** {claim.statement} *({source})*"]
    if claim.quote:
        lines += ["", f"> {claim.quote}"]
    lines += ["", f"**Setup.** {claim.setup}"]
    lines += [f"- {note}" for note in claim.notes]
    lines += [f"- Data: {line}" for line in entry.get("data", [])]
    p = protocol(claim.id)
    lines.append(f"- Protocol: claim {claim.id}'s rules, hash `{p.hash()}`; seeds: "
                 f"{p.seeds_reason}" + (f"; scope: {p.scope}" if p.scope else ""))
    sized = [(name, value) for name, value in p.params.items() if name in p.reasons]
    if sized and preset != "full":
        # The protocol's sizes and their reasons are the full preset's: say so, rather
        # than give a reason for a size this preset does not run.
        lines.append("- The protocol's sizes below are the full preset's, with their "
                     f"reasons; this `{preset}` preset runs the smaller sizes of the setup "
                     "above, so its verdicts are a check of the pipeline, not of the claim.")
    for name, value in sized:
        lines.append(f"- {name.replace('_', ' ')} = {value}: {p.reasons[name]}")
    lines.append("")
    for title, columns, rows in entry.get("tables", []):
        lines += [f"*{title}*", "", _table(columns, rows), ""]
    if claim.published:
        lines += [f"Published numbers: {claim.published_source}.", ""]
        lines += [f"- {name}: " + "; ".join(f"{k} {v}" for k, v in values.items())
                  for name, values in claim.published.items() if isinstance(values, dict)]
        lines.append("")
    if entry.get("error"):
        lines += [f"**Could not be judged**: {entry['error']}", ""]
    metrics = (entry.get("numbers") or {}).get("metrics") or {}
    verdicts = entry.get("verdicts") or {}
    for setting in entry.get("not_run", []):
        lines += [f"*{setting}: not run in this preset.*", ""]
    for setting, verdict in verdicts.items():
        lines += _verdict_markdown(setting, verdict, metrics) + [""]
    if verdicts and not entry.get("error"):
        lines += ["Rules (declared before the runs):", ""]
        lines += [f"- {decide.describe(r, p, metrics)}" for r in p.parts] + [""]
        if p.parts and any(r.test == "at_chance" for r in p.parts):
            lines += [f"At chance: {p.chance.reason}.", ""]
        survived = _survives(verdicts)
        if survived:
            lines += [survived, ""]
    findings = next(iter(verdicts.values()), {}).get("findings", []) if verdicts else []
    if findings:
        lines += ["Findings (measured, outside the verdict):", ""]
        lines += [f"- {f}" for f in findings] + [""]
    lines += _sensitivity_markdown(entry.get("sensitivity") or [], p)
    if entry.get("backend_note"):
        lines += [f"*{entry['backend_note']}*", ""]
    for name in entry.get("waiting", []):
        lines.append(f"- the arm '{name}' waits for its learning-rate search, which has not "
                     "finished: it is not judged")
    for run in entry["runs"]:
        if run["status"] == "failed":
            lines.append(f"- run `{run['run_id']}` failed: {run['error']}")
        if run.get("stale"):
            lines.append(f"- run `{run['run_id']}` is stale ({run['stale']}), reused as asked "
                         "(--reuse-stale)")
    missing = sum(run["status"] == "missing" for run in entry["runs"])
    if missing:
        lines.append(f"- {missing} of {len(entry['runs'])} runs have no result yet")
    if entry.get("figure"):
        lines += ["", f"![Claim {claim.id}]({entry['figure']})"]
    elif entry.get("figure_error"):
        lines += ["", f"*(figure not drawn: {entry['figure_error']})*"]
    return "\n".join(lines) + "\n"


BEYOND = (
    "The seeds cite papers, and their readers trust the papers more than the threads. These "
    "claims are results of those papers, reproduced at a size two CPU cores afford, each "
    "measured by the package's own monitors (the dead-unit monitor, activation statistics, "
    "gradient norms) and judged by the same rules as the threads' claims, with the papers' "
    "numbers beside ours."
)


def _beyond_markdown(pairs, preset="full"):
    """The section of the papers' own claims: its heading, the sources, then each claim."""
    lines = ["## Beyond the threads: the cited papers' own results", "", BEYOND, "",
             "Sources:", ""]
    for claim, _ in pairs:
        reference = getattr(module(claim.id), "REFERENCE", "")
        lines.append(f"- Claim {claim.id}: {reference or claim.source}")
    lines.append("")
    return "\n".join(lines) + "\n" + "\n".join(_claim_markdown(c, e, level=3, preset=preset)
                                             for c, e in pairs)


def _survives(verdicts):
    settings = list(verdicts)
    if len(settings) < 2:
        return ""
    first, *others = settings
    said = []
    for other in others:
        a, b = verdicts[first]["verdict"], verdicts[other]["verdict"]
        same = "the same verdict" if a == b else f"{b}, not {a}"
        said.append(f"{other}: {same}")
    return f"Against the setting '{first}': " + "; ".join(said) + "."


def _span_markdown(timing):
    span, busy = timing.get("span_seconds"), timing.get("busy_seconds")
    if not span:
        return ""
    if busy is None or span - busy < 60:
        return f"; the runs spanned {clock(span)} of wall time, first start to last finish"
    return (f"; some run was running during {clock(busy)} of wall time (first start to last "
            f"finish: {clock(span)}, the gaps between invocations included)")


def _cpu_markdown(timing):
    cpu, counted = timing.get("cpu_seconds") or (0, 0)
    if not counted:
        return ""
    total = timing["executed"] + timing["reused"]
    return (f"- CPU time summed over the {counted} of {total} runs that record it: {clock(cpu)} "
            "(what the runs cost whatever the machine's load; on idle cores, --jobs N takes "
            "about 1/N of it in wall time)\n")


def _by_claim_markdown(by_claim):
    if not by_claim:
        return ""
    return ("- Run time by claim, largest first: "
            + ", ".join(f"claim {claim} {clock(seconds)}" for claim, seconds in by_claim.items())
            + "\n")


def _environment_markdown(env, timing):
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    accelerators = ", ".join(env["accelerators"]) or "none"
    made_here = ""
    if timing["reused"]:  # a run does not record its machine: say whose this line is
        made_here = (f" ({timing['executed']} of the {timing['executed'] + timing['reused']} "
                     "runs made here; the others by earlier invocations, whose machines the "
                     "runs do not record)")
    return (
        f"- Machine of this invocation: {env['processor']}, {env['cpu_count']} CPU cores, "
        f"accelerators: {accelerators}; {env['platform']}{made_here}\n"
        f"- Keras backend: {env['backend']}; Python {env['python']}; {versions}\n"
        f"- Wall time of this invocation: {clock(timing['wall_seconds'])} "
        f"({timing['executed']} runs executed, {timing['reused']} reused from earlier "
        f"invocations" + (f", {timing['stale']} of them stale" if timing.get("stale") else "")
        + f"); run time summed over all runs: {clock(timing['run_seconds'])}"
        + _span_markdown(timing) + "\n"
        + _cpu_markdown(timing)
        + _by_claim_markdown(timing.get("run_seconds_by_claim"))
        + _code_markdown(timing.get("code"))
    )


def code_versions(results, run_ids):
    """`{"report": digest, "runs": {digest: count}}`: the code writing the report and the
    code that made each run (`"not recorded"` for runs from before digests were kept)."""
    from actkeras.experiments.runner import code_digest

    counts = {}
    for run_id in sorted(run_ids):
        digest = ((results.get(run_id) or {}).get("provenance") or {}).get("code") or "not recorded"
        counts[digest] = counts.get(digest, 0) + 1
    return {"report": code_digest(), "runs": dict(sorted(counts.items(), key=lambda kv: -kv[1]))}


def _code_markdown(code):
    if not code:
        return ""
    runs = code.get("runs") or {}
    same = runs.get(code["report"], 0)
    listed = "; ".join(f"`{d}`: {n}" if d != "not recorded" else f"not recorded (made before "
                       f"the digest was kept): {n}" for d, n in runs.items())
    return (f"- Code: this report was written by the package source with digest "
            f"`{code['report']}`; {same} of {sum(runs.values())} runs were made by the same "
            f"source (by digest: {listed or 'no runs'}). A digest names every `.py` file of "
            f"the package; runs made by other code are reused unless their version, protocol "
            f"or data differ, so `scripts/repeat_sample.py` checks a sample of them against "
            f"today's code\n")


def run_span(results, run_ids):
    """Seconds from the first run's start to the last run's end (`None` without times)."""
    intervals = _intervals(results, run_ids)
    if not intervals:
        return None
    return max(end for _, end in intervals) - min(start for start, _ in intervals)


def _intervals(results, run_ids):
    """`[(start, end)]` in seconds since the epoch of the runs that record their start."""
    intervals = []
    for run_id in run_ids:
        timing = (results.get(run_id) or {}).get("timing") or {}
        try:
            start = datetime.fromisoformat(timing["started"]).timestamp()
        except (KeyError, TypeError, ValueError):
            continue
        intervals.append((start, start + float(timing.get("seconds") or 0)))
    return intervals


def busy_seconds(results, run_ids):
    """Wall seconds in which at least one of the runs was running: the union of their
    intervals, so the hours between two invocations are not counted as the reproduction's
    (`None` without times)."""
    intervals = _intervals(results, run_ids)
    total, reach = 0.0, -math.inf
    for start, end in sorted(intervals):
        total += max(0.0, end - max(start, reach))  # the part not covered by earlier runs
        reach = max(reach, end)
    return total if intervals else None


def run_seconds_by_claim(results, run_ids):
    """`{claim id: run time summed}`, largest first (a search's earlier trials included)."""
    seconds = {}
    for run_id in run_ids:
        result = results.get(run_id) or {}
        claim = (result.get("spec") or {}).get("claim")
        seconds[claim] = (seconds.get(claim, 0.0) + (result.get("timing") or {}).get("seconds", 0)
                          + ((result.get("search") or {}).get("earlier_seconds") or 0))
    return dict(sorted(seconds.items(), key=lambda item: -item[1]))


def cpu_seconds(results, run_ids):
    """`(CPU seconds summed, runs that record them)` (runs made before the runner recorded
    CPU time have none; a resumed search's earlier trials are not in it)."""
    recorded = [(results.get(r) or {}).get("timing", {}).get("cpu_seconds") for r in run_ids]
    recorded = [value for value in recorded if value is not None]
    return sum(recorded), len(recorded)


# --- one claim -----------------------------------------------------------------------------

def _other_rows(claim_id, other):
    """The sensitivity table's rows from the other backend's reproduction (`other`, from
    `compare.other_backend`), and a note where that claim was judged by other rules."""
    theirs = (other or {}).get("claims", {}).get(claim_id)
    if not theirs:
        return [], None
    if theirs.get("protocol_hash") != protocol(claim_id).hash():  # the rules as declared
        return [], (f"The {other['backend']} backend's reproduction (`{other['folder']}`) judged "
                    f"this claim under other rules (hash `{theirs.get('protocol_hash')}`): not "
                    f"compared.")
    return [sensitivity.backend_row(other["backend"], theirs["verdicts"])], None


def judge_claim(claim, results, figure_path=None, other=None):
    """The claim's entry for results.json: numbers, a verdict per setting, findings, the
    sensitivity table and the figure; an analysis that raises gives a "could not be
    judged" verdict with the reason. `other` (`compare.other_backend`) adds the other
    backend's verdicts to the sensitivity table."""
    mod = module(claim.id)
    p = protocol(claim.id)
    entry = {"id": claim.id, "title": claim.title, "statement": claim.statement,
             "quote": claim.quote, "source": claim.source, "seed_file": claim.seed_file,
             "setup": claim.setup, "notes": list(claim.notes), "published": claim.published,
             "published_source": claim.published_source, "protocol_hash": p.hash(),
             "waiting": list(claim.waiting)}
    numbers = verdicts = None
    try:
        numbers = mod.numbers(claim, results)
        absent = [s for s, roles in (numbers.get("settings") or {}).items()
                  if s != p.primary and not any((arm or {}).get("status") for arm in roles.values())]
        if absent:  # a setting this preset does not run (the quick preset's "tuned")
            p = replace(p, settings={k: v for k, v in p.settings.items() if k not in absent})
            entry["not_run"] = absent
        verdicts = decide.judge(numbers, p, findings=mod.findings(numbers))
        extra, entry["backend_note"] = _other_rows(claim.id, other)
        rows = sensitivity.table(numbers, p, extra=extra)
        entry.update(numbers=numbers, verdicts={s: v.to_dict() for s, v in verdicts.items()},
                     sensitivity=rows, fragile=sensitivity.fragile(rows),
                     tables=[list(t) for t in mod.tables(numbers)])
    except Exception as error:  # one claim's bug must not cost the report
        reason = f"{type(error).__name__}: {error}"
        entry["error"] = reason
        entry["verdicts"] = {p.primary: judging.could_not_judge(decide.rule_text(p), reason)
                             .to_dict()}
    entry["figure"] = None
    if verdicts is not None and figure_path is not None:
        try:
            figure = mod.draw(claim, numbers, entry["verdicts"])
            if figure is not None:
                write_figure(figure_path, figure)
                entry["figure"] = Path(figure_path).name
        except Exception as error:  # a figure must not cost the report
            entry["figure_error"] = f"{type(error).__name__}: {error}"
    specs = {}
    for spec in (*claim.tuning, *claim.runs):
        specs.setdefault(spec.run_id, spec)
    entry["runs"] = [{"run_id": r, "label": s.label, "kind": s.kind,
                      "status": results.get(r, {}).get("status", "missing"),
                      "error": results.get(r, {}).get("error"),
                      "stale": results.get(r, {}).get("stale")} for r, s in specs.items()]
    entry["data"] = data_used(claim, results)
    return entry


# --- the whole report ----------------------------------------------------------------------

def forest_figure(entries):
    """One picture of the whole reproduction: every judged part (each setting), its
    estimate with its 95 % interval and margin, coloured by outcome; one panel per unit."""
    from actkeras.experiments import figures as f

    by_unit = {}
    for e in entries:
        for setting, verdict in (e.get("verdicts") or {}).items():
            for part in verdict.get("parts", []):
                if part.get("estimate"):
                    label = f"{e['id']}({part['key']}) {setting}"
                    by_unit.setdefault(part.get("unit") or "", []).append((label, part))
    if not by_unit:
        return None
    units = sorted(by_unit, key=lambda u: -len(by_unit[u]))
    heights = [max(2.5, 0.28 * len(by_unit[u]) + 1) for u in units]
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, sum(heights)), layout="constrained")
    axes = figure.subplots(len(units), 1, height_ratios=heights, squeeze=False)[:, 0]
    for ax, unit in zip(axes, units):
        f.forest(ax, by_unit[unit])
    figure.suptitle("Every judged part: estimate (square) with its 95 % interval, margin (black "
                    "tick); green holds, red does not hold, orange undecided", fontsize=10)
    return figure


def protocol_changes(out, ids):
    """Lines on what changed in the rules: the changelog for this protocol version, and
    the claims whose hash differs from the report this folder held before."""
    lines = []
    current, overall = hashes([protocol(i) for i in ids])
    previous = {}
    path = Path(out) / "results.json"
    if path.exists():
        try:
            previous = (json.loads(path.read_text()).get("protocol") or {}).get("claims") or {}
        except (OSError, ValueError):
            previous = {}
    if path.exists():
        changed = [str(i) for i in ids if previous.get(str(i)) != current[i]]
        lines.append("Claims whose rules changed since the report this folder held before: "
                     + (", ".join(changed) if changed else "none")
                     + ("" if previous else " (that report recorded no protocol hash: it "
                                            "predates protocol version 3)"))
    notes = resources.files("actkeras.experiments").joinpath("PROTOCOL_CHANGES.md")
    if notes.is_file():
        text = notes.read_text()
        match = re.search(rf"^## Version {VERSION}\b.*?(?=^## |\Z)", text, flags=re.S | re.M)
        if match:
            lines.append("What changed in this version of the protocol, and why "
                         "(`actkeras/experiments/PROTOCOL_CHANGES.md`):")
            lines.append(match.group(0).split("\n", 1)[1].strip())
    return current, overall, lines


def write_report(claims, results, out, *, preset, wall_seconds, executed, command=None,
                 other=None):
    """Writes `results.json`, `report.md`, `summary.md` and `figures/`; returns the
    results.json payload. `other` (`compare.other_backend`): the same preset on another
    backend, whose verdicts join the sensitivity tables."""
    out = Path(out)
    ids = [c.id for c in claims]
    current, overall, changes = protocol_changes(out, ids)
    entries = []
    for claim in claims:
        entry = judge_claim(claim, results, out / "figures" / f"claim{claim.id}.png", other)
        if entry["figure"]:
            entry["figure"] = f"figures/{entry['figure']}"
        entries.append(entry)
    forest = None
    try:
        figure = forest_figure(entries)
        if figure is not None:
            write_figure(out / "figures" / "forest.png", figure)
            forest = "figures/forest.png"
    except Exception as error:  # the overview must not cost the report
        forest = None
        changes.append(f"(the forest plot could not be drawn: {type(error).__name__}: {error})")
    used = {r["run_id"] for e in entries for r in e["runs"]}
    executed = set(executed) & used
    env = environment()
    by_claim = run_seconds_by_claim(results, used)
    timing = {
        "wall_seconds": wall_seconds,
        "executed": len(executed),
        "reused": len(used - executed),
        "stale": sum(1 for r in used if (results.get(r) or {}).get("stale")),
        "run_seconds": sum(by_claim.values()),
        "span_seconds": run_span(results, used),
        "busy_seconds": busy_seconds(results, used),
        "run_seconds_by_claim": by_claim,
        "cpu_seconds": cpu_seconds(results, used),
        "code": code_versions(results, used),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    compared = {"folder": other["folder"], "backend": other["backend"]} if other else None
    payload = plain({"preset": preset, "command": command, "compared_with": compared,
                     "protocol": {"version": VERSION, "hash": overall,
                                  "claims": {str(k): v for k, v in current.items()},
                                  "grid_extension": GRID_EXTENSION.decisive()},
                     "claims": entries, "environment": env, "timing": timing})
    summary = summary_table(entries)
    header = (
        f"# Reproduction report (`{preset}` preset)\n\n"
        f"Produced by `{command or f'actkeras reproduce --preset {preset}'}`; every number, "
        f"verdict and figure below is computed from the runs in `runs/` (one JSON result, "
        f"history CSV and resolved config per run) by the rules of protocol version {VERSION} "
        f"(hash `{overall}`), declared before the runs in `actkeras/experiments/rules.py`.\n\n"
        "How to read it: each claim is split into the parts its source states. A part "
        "compares per-seed numbers (the same seed in both arms) and is decided on a 95 % "
        "Student t interval against a margin whose reason is printed with it: it **holds** "
        "when the interval clears the margin, **does not hold** when it lies on the other "
        "side (the effect is smaller than the margin, or reversed), and is **undecided** "
        "when it straddles it. A claim is *reproduced* when every part holds, *not "
        "reproduced* when every part does not hold, *mixed* when some hold and some do not, and "
        "*undecided* otherwise. "
        "Each claim is judged as its source ran it and, where the protocol says, with each "
        "arm at its own best learning rate (a Keras Tuner search on the validation split, "
        "then fresh seeds; a search whose best rate is at an edge of its grid is extended "
        f"by the grid's own step, one rate at a time, until its best is inside or "
        f"{GRID_EXTENSION.cap} rates have been added on that side, and its table says which "
        "rates were added) or another initialisation. What the package adds to a claim is a "
        "finding, outside the verdict. Every claim ends with a table of how its verdict "
        "moves when a rule moves (margins halved and doubled: a margin's tolerance, its "
        "distance from the level the claim names, such as 0 for a difference or 1 for "
        "'nearly all'; the alternative aggregate, runs without a value scored at chance, "
        "another chance rule, and other arms in a part's place where the protocol names "
        "them, such as claim 13's stalled depth); a verdict that moves is marked fragile. "
        "Runs that diverged (NaN loss) are counted apart, never averaged in. Values are "
        "mean ± sd over seeds; figures show every seed as a thin line and the mean ± sd as "
        "a band.\n\n"
        + _environment_markdown(env, timing)
        + (f"- Compared with the {other['backend']} backend's reproduction `{other['folder']}`: "
           f"its verdicts are a row of every sensitivity table, and a part whose outcome "
           f"differs between the backends marks the claim fragile\n" if other else "")
        + "\n## Summary\n\n" + summary + "\n\n"
        + (f"![Every judged part]({forest})\n\n" if forest else "")
        + "## The protocol\n\n" + "\n\n".join(changes) + "\n"
    )
    pairs = list(zip(claims, entries))
    body = "\n".join(_claim_markdown(c, e, preset=preset) for c, e in pairs
                     if c.id not in PAPERS)
    papers = [(c, e) for c, e in pairs if c.id in PAPERS]
    if papers:
        body += "\n" + _beyond_markdown(papers, preset)
    write_json(out / "results.json", payload)
    write_text(out / "report.md", header + "\n" + body)
    write_text(out / "summary.md", summary + "\n")
    return payload
