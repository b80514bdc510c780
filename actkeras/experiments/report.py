"""The reproduction's outputs: `results.json`, `report.md`, `summary.md` and one figure per claim.

Everything here is computed from the run results (`analysis.py`); nothing in the
report is written by hand. Figures use the object-oriented matplotlib API
(`matplotlib.figure.Figure`), so no display backend is touched.
"""

import importlib.metadata
import os
import platform
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from actkeras.atomic import write_json, write_text
from actkeras.experiments.analysis import analyze
from actkeras.experiments.runner import clean, clock
from actkeras.experiments.verdicts import MIXED, NOT_REPRODUCED, REPRODUCED

SUMMARY_START = "<!-- actkeras reproduce summary: start -->"
SUMMARY_END = "<!-- actkeras reproduce summary: end -->"
_MARK = {REPRODUCED: "✅", NOT_REPRODUCED: "❌", MIXED: "◐"}


# --- environment ---------------------------------------------------------------------------

def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _accelerators(backend):
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [d.name for d in tf.config.list_physical_devices("GPU")]
        if backend == "jax":
            import jax

            return [str(d) for d in jax.devices() if d.platform != "cpu"]
    except Exception:  # a report must not fail on a device query
        return []
    return []


def environment():
    """Machine, backend and versions, for the report's header."""
    import keras

    backend = keras.backend.backend()
    versions = {name: _version(name) for name in
                ("actkeras", "keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "numpy")}
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "backend": backend,
        "accelerators": _accelerators(backend),
        "versions": {k: v for k, v in versions.items() if v},
    }


# --- figures -------------------------------------------------------------------------------

def _figure(width=7.0, height=4.2, ncols=1):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(1, ncols)
    return figure, axes


def _save(figure, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    try:
        figure.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mean_curve(curves):
    """Mean over seeds of `[(steps, values)]`, on the first run's steps."""
    curves = [(s, [np.nan if x is None else x for x in y]) for s, y in curves if s]
    if not curves:
        return [], []
    n = min(len(s) for s, _ in curves)
    steps = curves[0][0][:n]
    values = np.nanmean(np.array([y[:n] for _, y in curves], dtype=float), axis=0)
    return steps, values


def plot_curves(ax, curves, title, xlabel="training step", ylabel="validation accuracy",
                targets=None):
    for label, runs in curves.items():
        steps, values = _mean_curve(runs)
        if len(steps):
            ax.plot(steps, values, marker="o", markersize=3, label=label)
    for name, target in (targets or {}).items():
        ax.axhline(target, color="grey", linestyle=":", linewidth=1)
    ax.axhline(0.1, color="black", linestyle="--", linewidth=0.8, label="chance")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, ylim=(0, 1))
    ax.legend(fontsize=7, loc="best")


def plot_profiles(ax, profiles, title):
    for label, runs in profiles.items():
        runs = [p for p in runs if p]
        if not runs:
            continue
        n = min(len(p) for p in runs)
        layers = [runs[0][i][0] + 1 for i in range(n)]
        rms = np.exp(np.mean([[np.log(p[i][1]) for i in range(n)] for p in runs], axis=0))
        ax.semilogy(layers, rms, marker="o", markersize=3, label=label)
    ax.set(title=title, xlabel="hidden layer (1 = next to the input)",
           ylabel="kernel gradient RMS (geometric mean over seeds)")
    ax.legend(fontsize=7)


def _bars(ax, values, title, ylabel, reference=None, percent=False):
    names = list(values)
    means = [values[n].mean if hasattr(values[n], "mean") else values[n] for n in names]
    errors = [getattr(values[n], "std", 0.0) for n in names]
    ax.bar(range(len(names)), means, yerr=errors, color="tab:blue", alpha=0.8, capsize=3)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    if reference is not None:
        ax.axhline(reference, color="black", linestyle="--", linewidth=0.8)
    ax.set(title=title, ylabel=ylabel)
    if percent:
        ax.set_ylim(0, 1)


def draw(claim, analysis, path):
    """Draws the claim's figure to `path`; returns the path, or `None` if nothing to draw."""
    series = analysis.series
    cid = claim.id
    if cid == 1:
        figure, ax = _figure()
        plot_curves(ax, series["curves"], "Claim 1: learning curves per activation")
    elif cid in (2, 5):
        from actkeras.plots import plot_history

        figure, ax = _figure(8 if cid == 2 else 7)
        means = {label: [{"val_accuracy": value} for value in _mean_curve(runs)[1]]
                 for label, runs in series["curves"].items() if runs}
        plot_history(means, "val_accuracy", ax=ax)
        ax.axhline(0.1, color="black", linestyle="--", linewidth=0.8)
        ax.set(title=f"Claim {cid}: validation accuracy per arm (mean over seeds; dashed: chance)",
               ylim=(0, 1))
    elif cid in (3, 4):
        figure, axes = _figure(11, 4.2, 2 if cid == 4 else 1)
        ax = axes[0] if cid == 4 else axes
        plot_profiles(ax, series["profiles"], f"Claim {cid}: gradient against depth (first measurement)")
        if cid == 4:
            plot_curves(axes[1], series["curves"], "Claim 4: learning curves", "training step")
    elif cid == 6:
        from actkeras.experiments.claims import DYING_COURSE

        figure, axes = _figure(11, 4.2, 2)
        panels = {"MLP 3 x 256, Adam": axes[0], "course network, SGD 0.5 (reference)": axes[1]}
        for label, tracks in series["dead"].items():
            ax = axes[1] if label == DYING_COURSE else axes[0]
            tracks = [t for t in tracks if t]
            if tracks:
                n = min(len(t) for t in tracks)
                steps = [tracks[0][i][0] for i in range(n)]
                values = np.nanmean([[np.nan if t[i][1] is None else t[i][1] for i in range(n)]
                                     for t in tracks], axis=0)
                ax.plot(steps, values, marker="o", markersize=3, label=label,
                        linestyle="-" if label.startswith("relu") else "--")
        for title, ax in panels.items():
            ax.set(title=title, xlabel="training step",
                   ylabel="dead (ReLU) / inactive fraction", ylim=(-0.02, 1.02))
            ax.legend(fontsize=7)
        figure.suptitle("Claim 6: units off for every probe image (runs that diverged left out)")
    elif cid == 7:
        from actkeras.plots import plot_activation_histograms

        shown = [a for a in ("relu", "sigmoid") if series["records"].get(a)]
        figure, axes = _figure(12, 4.2, 1 + len(shown))
        axes = np.atleast_1d(axes)
        _bars(axes[0], series["zeros"], "exact zeros in the hidden activations",
              "fraction of exact zeros", percent=True)
        for ax, name in zip(axes[1:], shown):
            plot_activation_histograms([series["records"][name][0]], ax=ax)
            ax.set_yscale("log")
            ax.set_title(f"{name}: hidden activations (probe images)")
        figure.suptitle("Claim 7: sparsity of the trained course networks")
    elif cid == 8:
        figure, axes = _figure(11, 4.2, 2)
        _bars(axes[0], series["op_ratio"], "forward + backward, (128, 1024) tensor",
              "time / ReLU's time", reference=1.0)
        _bars(axes[1], series["epoch_ratio"], "epoch of the 50-layer MLP",
              "time / ReLU's time", reference=1.0)
        figure.suptitle("Claim 8: cost of each activation relative to ReLU")
    elif cid == 9:
        figure, ax = _figure()
        first = next((runs[0] for runs in series["curves"].values() if runs), None)
        if first is None:
            return None
        x = np.array(first["x"])
        ax.plot(x, first["y"], color="black", linewidth=2, label="sin(x)")
        for label, runs in series["curves"].items():
            if runs:
                ax.plot(x, runs[0]["prediction"], label=f"{label} network")
        slope, intercept = np.polyfit(x, first["y"], 1)
        ax.plot(x, slope * x + intercept, color="grey", linestyle=":", label="least-squares line")
        ax.set(title="Claim 9: fitting sin(x)", xlabel="x", ylabel="y")
        ax.legend(fontsize=8)
    elif cid == 10:
        setups = sorted(series["targets"])
        if not setups:
            return None
        figure, axes = _figure(11, 4.2, len(setups))
        axes = np.atleast_1d(axes)
        for ax, setup in zip(axes, setups):
            curves = {k: c for k, c in series["curves"].items() if k.endswith(f"({setup})")}
            plot_curves(ax, curves, f"Claim 10: {setup} network", "training step",
                        targets={"target": series["targets"][setup]})
    else:
        return None
    _save(figure, path)
    return path


# --- markdown ------------------------------------------------------------------------------

def _table(columns, rows):
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_table(entries):
    """The one-table summary: claim, source, verdict (what the README shows)."""
    rows = [[f"{e['id']}", e["title"], e["source"], f"{_MARK.get(e['verdict']['verdict'], '')} "
             f"{e['verdict']['verdict']}"] for e in entries]
    return _table(["#", "claim", "source", "verdict"], rows)


def data_used(claim, results):
    """One line per data set the claim's runs trained on: sizes and where it came from."""
    seen = {}
    for spec in claim.runs:
        data = (results.get(spec.run_id) or {}).get("data")
        if not data:
            continue
        info = data.get("info") or {}
        where = info.get("protocol") or info.get("source") or spec.source
        key = (data["name"], data["n_train"], data["n_valid"], data["n_test"], where)
        seen[key] = (f"{data['name']}: {data['n_train']:,} train / {data['n_valid']:,} "
                     f"validation / {data['n_test']:,} test images ({where})")
    return list(seen.values())


def _claim_markdown(claim, entry, analysis):
    verdict = entry["verdict"]
    lines = [f"## Claim {claim.id}: {claim.title}", "",
             f"**Claim.** {claim.statement} *({claim.source})*", "",
             f"**Setup.** {claim.setup}"]
    lines += [f"- {note}" for note in claim.notes]
    lines += [f"- Data: {line}" for line in entry.get("data", [])]
    lines += ["", _table(analysis.columns, analysis.rows), ""]
    if claim.published:
        lines += [f"Published numbers: {claim.published_source}.", ""]
    lines += [f"**Verdict: {verdict['verdict']}.** Rule: {verdict['rule']}", ""]
    for part in verdict["parts"]:
        lines.append(f"- [{'x' if part['holds'] else ' '}] {part['text']}: {part['detail']}")
    for finding in verdict["findings"]:
        lines.append(f"- {finding}")
    failed = [r for r in entry["runs"] if r["status"] == "failed"]
    for run in failed:
        lines.append(f"- run `{run['run_id']}` failed: {run['error']}")
    if entry.get("figure"):
        lines += ["", f"![Claim {claim.id}]({entry['figure']})"]
    return "\n".join(lines) + "\n"


def _environment_markdown(env, timing):
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    accelerators = ", ".join(env["accelerators"]) or "none"
    return (
        f"- Machine: {env['platform']} ({env['processor']}), {env['cpu_count']} CPU cores, "
        f"accelerators: {accelerators}\n"
        f"- Keras backend: {env['backend']}; Python {env['python']}; {versions}\n"
        f"- Wall time of this invocation: {clock(timing['wall_seconds'])} "
        f"({timing['executed']} runs executed, {timing['reused']} reused from earlier "
        f"invocations); run time summed over all runs: {clock(timing['run_seconds'])}\n"
    )


def write_report(claims, results, out, *, preset, wall_seconds, executed, command=None):
    """Writes `results.json`, `report.md`, `summary.md` and `figures/`; returns the
    results.json payload."""
    out = Path(out)
    entries, analyses = [], {}
    for claim in claims:
        analysis = analyze(claim, results)
        analyses[claim.id] = analysis
        figure = None
        try:
            path = draw(claim, analysis, out / "figures" / f"claim{claim.id}.png")
            figure = path.relative_to(out).as_posix() if path else None
        except Exception as error:  # a figure must not cost the report
            print(f"figure for claim {claim.id} failed: {type(error).__name__}: {error}")
        run_ids = list(dict.fromkeys(s.run_id for s in claim.runs))
        entries.append({
            "id": claim.id, "title": claim.title, "statement": claim.statement,
            "source": claim.source, "setup": claim.setup, "notes": list(claim.notes),
            "published": claim.published, "published_source": claim.published_source,
            "verdict": analysis.verdict.to_dict(),
            "table": {"columns": analysis.columns, "rows": analysis.rows},
            "numbers": analysis.numbers,
            "runs": [{"run_id": r, "label": next(s.label for s in claim.runs if s.run_id == r),
                      "status": results.get(r, {}).get("status", "missing"),
                      "error": results.get(r, {}).get("error")} for r in run_ids],
            "figure": figure,
            "data": data_used(claim, results),
        })
    used = {r["run_id"] for e in entries for r in e["runs"]}
    env = environment()
    timing = {
        "wall_seconds": wall_seconds,
        "executed": executed,
        "reused": len(used) - executed,
        "run_seconds": sum(results[r].get("timing", {}).get("seconds", 0) for r in used if r in results),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    payload = clean({"preset": preset, "command": command, "claims": entries,
                     "environment": env, "timing": timing})
    write_json(out / "results.json", payload)

    summary = summary_table(entries)
    header = (
        f"# Reproduction report (`{preset}` preset)\n\n"
        f"Produced by `{command or f'actkeras reproduce --preset {preset}'}`; every number, "
        f"verdict and figure below is computed from the runs in `runs/` (one JSON result, "
        f"history CSV and resolved config per run). A verdict is \"reproduced\" when every "
        f"part of its rule holds, \"not reproduced\" when none does and \"mixed\" otherwise; "
        f"accuracies are mean ± standard deviation over seeds.\n\n"
        + _environment_markdown(env, timing) + "\n## Summary\n\n" + summary + "\n"
    )
    body = "\n".join(_claim_markdown(c, e, analyses[c.id]) for c, e in zip(claims, entries))
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
