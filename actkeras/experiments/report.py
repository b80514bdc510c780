"""The reproduction's outputs: `results.json`, `report.md`, `summary.md` and one figure per claim.

Everything here is computed from the run results by the claims' own modules
(`actkeras.experiments.claims`); nothing in the report is written by hand. A claim
whose analysis raises is reported as "could not be judged: <reason>" and the rest
of the report is still written; a figure that fails costs only itself.
"""

import re
from datetime import datetime, timezone
from pathlib import Path

from actkeras.atomic import write_figure, write_json, write_text
from actkeras.experiments import judging
from actkeras.experiments.claims import module
from actkeras.experiments.runner import clock
from actkeras.records import environment, plain

SUMMARY_START = "<!-- actkeras reproduce summary: start -->"
SUMMARY_END = "<!-- actkeras reproduce summary: end -->"
_MARK = {judging.REPRODUCED: "✅", judging.NOT_REPRODUCED: "❌", judging.MIXED: "◐",
         judging.INCONCLUSIVE_VERDICT: "❔", judging.COULD_NOT_JUDGE: "⚠️"}
_BOX = {judging.HOLDS: "x", judging.FAILS: " ", judging.INCONCLUSIVE: "?"}


# --- markdown ------------------------------------------------------------------------------

def _table(columns, rows):
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _parts_count(verdict):
    outcomes = [p["outcome"] for p in verdict.get("parts", [])]
    return (f"{outcomes.count(judging.HOLDS)} / {outcomes.count(judging.FAILS)} / "
            f"{outcomes.count(judging.INCONCLUSIVE)}") if outcomes else "–"


def summary_table(entries):
    """The one-table summary: claim, source, verdict (what the README shows)."""
    rows = [[f"{e['id']}", e["title"], e["source"], _parts_count(e["verdict"]),
             f"{_MARK.get(e['verdict']['verdict'], '')} {e['verdict']['verdict']}"]
            for e in entries]
    return _table(["#", "claim", "source", "parts held / failed / inconclusive", "verdict"], rows)


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


def _claim_markdown(claim, entry):
    verdict = entry["verdict"]
    source = claim.source + (f", `{claim.seed_file}`" if claim.seed_file else "")
    lines = [f"## Claim {claim.id}: {claim.title}", "",
             f"**Claim.** {claim.statement} *({source})*", "",
             f"**Setup.** {claim.setup}"]
    lines += [f"- {note}" for note in claim.notes]
    lines += [f"- Data: {line}" for line in entry.get("data", [])]
    table = entry.get("table")
    if table:
        lines += ["", _table(table["columns"], table["rows"]), ""]
    for extra in entry.get("extra_tables", []):
        lines += [f"*{extra['title']}*", "", _table(extra["columns"], extra["rows"]), ""]
    if claim.published:
        lines += [f"Published numbers: {claim.published_source}.", ""]
    lines += [f"**Verdict: {verdict['verdict']}.** Rule: {verdict['rule']}", ""]
    for part in verdict["parts"]:
        lines.append(f"- [{_BOX[part['outcome']]}] {part['text']} — **{part['outcome']}**: "
                     f"{part['detail']}")
    for finding in verdict["findings"]:
        lines.append(f"- {finding}")
    if verdict.get("would_change"):
        lines.append(f"- What would have changed the verdict: {verdict['would_change']}")
    for run in entry["runs"]:
        if run["status"] == "failed":
            lines.append(f"- run `{run['run_id']}` failed: {run['error']}")
    missing = sum(run["status"] == "missing" for run in entry["runs"])
    if missing:
        lines.append(f"- {missing} of {len(entry['runs'])} runs have no result yet")
    if entry.get("figure"):
        lines += ["", f"![Claim {claim.id}]({entry['figure']})"]
    elif entry.get("figure_error"):
        lines += ["", f"*(figure not drawn: {entry['figure_error']})*"]
    return "\n".join(lines) + "\n"


def _environment_markdown(env, timing):
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    accelerators = ", ".join(env["accelerators"]) or "none"
    return (
        f"- Machine: {env['processor']}, {env['cpu_count']} CPU cores, accelerators: "
        f"{accelerators}; {env['platform']}\n"
        f"- Keras backend: {env['backend']}; Python {env['python']}; {versions}\n"
        f"- Wall time of this invocation: {clock(timing['wall_seconds'])} "
        f"({timing['executed']} runs executed, {timing['reused']} reused from earlier "
        f"invocations); run time summed over all runs: {clock(timing['run_seconds'])}"
        + (f"; the runs themselves spanned {clock(timing['span_seconds'])} of wall time, "
           f"first start to last finish" if timing.get("span_seconds") else "") + "\n"
    )


def run_span(results, run_ids):
    """Seconds from the first run's start to the last run's end (`None` without times):
    the reproduction's own wall time, also when the report is written again later."""
    starts, ends = [], []
    for run_id in run_ids:
        timing = (results.get(run_id) or {}).get("timing") or {}
        try:
            start = datetime.fromisoformat(timing["started"]).timestamp()
        except (KeyError, TypeError, ValueError):
            continue
        starts.append(start)
        ends.append(start + float(timing.get("seconds") or 0))
    return max(ends) - min(starts) if starts else None


# --- one claim -----------------------------------------------------------------------------

def judge_claim(claim, results, figure_path=None):
    """`(entry for results.json, figure error or None)`: the claim's analysis, verdict and
    figure; an analysis that raises gives a "could not be judged" verdict with the reason."""
    mod = module(claim.id)
    entry = {"id": claim.id, "title": claim.title, "statement": claim.statement,
             "source": claim.source, "seed_file": claim.seed_file, "setup": claim.setup,
             "notes": list(claim.notes), "published": claim.published,
             "published_source": claim.published_source}
    analysis = None
    try:
        analysis = mod.analyze(claim, results)
        entry["verdict"] = analysis.verdict.to_dict()
        entry["table"] = {"columns": analysis.columns, "rows": analysis.rows}
        entry["extra_tables"] = [{"title": t, "columns": cols, "rows": rows}
                                 for t, cols, rows in analysis.extra_tables]
        entry["numbers"] = analysis.numbers
        entry["counts"] = analysis.runs
    except Exception as error:  # one claim's bug must not cost the report
        entry["verdict"] = judging.could_not_judge(
            getattr(mod, "RULE", ""), f"could not be judged: {type(error).__name__}: {error}"
        ).to_dict()
    entry["figure"] = None
    if analysis is not None and figure_path is not None:
        try:
            figure = mod.draw(claim, analysis)
            if figure is not None:
                write_figure(figure_path, figure)
                entry["figure"] = Path(figure_path).name
        except Exception as error:  # a figure must not cost the report
            entry["figure_error"] = f"{type(error).__name__}: {error}"
    run_ids = list(dict.fromkeys(s.run_id for s in claim.runs))
    labels = {}
    for spec in claim.runs:
        labels.setdefault(spec.run_id, spec.label)
    entry["runs"] = [{"run_id": r, "label": labels[r],
                      "status": results.get(r, {}).get("status", "missing"),
                      "error": results.get(r, {}).get("error")} for r in run_ids]
    entry["data"] = data_used(claim, results)
    return entry


def write_report(claims, results, out, *, preset, wall_seconds, executed, command=None):
    """Writes `results.json`, `report.md`, `summary.md` and `figures/`; returns the
    results.json payload."""
    out = Path(out)
    entries = []
    for claim in claims:
        entry = judge_claim(claim, results, out / "figures" / f"claim{claim.id}.png")
        if entry["figure"]:
            entry["figure"] = f"figures/{entry['figure']}"
        entries.append(entry)
    used = {r["run_id"] for e in entries for r in e["runs"]}
    env = environment()
    timing = {
        "wall_seconds": wall_seconds,
        "executed": executed,
        "reused": len(used) - executed,
        "run_seconds": sum(results[r].get("timing", {}).get("seconds", 0) for r in used if r in results),
        "span_seconds": run_span(results, used),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    payload = plain({"preset": preset, "command": command, "claims": entries,
                     "environment": env, "timing": timing})
    write_json(out / "results.json", payload)

    summary = summary_table(entries)
    header = (
        f"# Reproduction report (`{preset}` preset)\n\n"
        f"Produced by `{command or f'actkeras reproduce --preset {preset}'}`; every number, "
        f"verdict and figure below is computed from the runs in `runs/` (one JSON result, "
        f"history CSV and resolved config per run).\n\n"
        f"How to read it: comparisons between arms are decided on per-seed differences "
        f"(the same seed in both arms), with a 95 % Student t interval against a practical "
        f"margin stated in each rule; a part **holds** when the interval clears the margin, "
        f"**fails** when it lies on the other side, and is **inconclusive** when it "
        f"straddles it. A claim is \"reproduced\" when every part holds, \"not reproduced\" "
        f"when every part fails, \"mixed\" when the parts disagree and \"inconclusive\" "
        f"otherwise. Runs that diverged (NaN loss) or stayed at chance are counted apart, "
        f"never averaged in. Values are mean ± sd over seeds; figures show every seed as a "
        f"thin line and the mean ± sd as a band.\n\n"
        + _environment_markdown(env, timing) + "\n## Summary\n\n" + summary + "\n"
    )
    body = "\n".join(_claim_markdown(c, e) for c, e in zip(claims, entries))
    write_text(out / "report.md", header + "\n" + body)
    write_text(out / "summary.md", summary + "\n")
    return payload


def update_readme(readme, summary, preset):
    """Replaces the text between the summary markers in `readme` with `summary`.

    Raises:
        ValueError: the README has no markers.
    """
    readme = Path(readme)
    text = readme.read_text()
    if SUMMARY_START not in text or SUMMARY_END not in text:
        raise ValueError(f"{readme} has no summary markers: add the lines {SUMMARY_START!r} "
                         f"and {SUMMARY_END!r} where the table should go. Received: readme={readme}")
    block = (f"{SUMMARY_START}\n<!-- written by `actkeras reproduce --preset {preset} "
             f"--readme`; do not edit by hand -->\n\n{summary.strip()}\n\n{SUMMARY_END}")
    pattern = re.escape(SUMMARY_START) + r".*?" + re.escape(SUMMARY_END)
    write_text(readme, re.sub(pattern, lambda _: block, text, flags=re.S))
