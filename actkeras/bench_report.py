"""The benchmark tables as Markdown: what `actkeras bench --write` writes.

Plain data in, text out (no Keras, no TensorFlow): the results of
`actkeras.bench.run_all`, one per backend, from this process or from the `--json`
files of others. A table of every preset's training speed against the bound (c/e)
and plain Keras (c/b), per backend, comes first; with several backends, a side-by-side
table of the `udacity` network's variants follows; then each backend's tables under
its name (with one backend, directly).
"""

import statistics

SPEED_VARIANTS = ("b", "c", "d")  # the side-by-side table's columns (a needs TensorFlow)


def to_markdown(runs, target="BENCHMARKS.md", command=None):
    """The tables of `runs`, as the file `target` holds them.

    Example:
    >>> text = to_markdown([bench.run_all(data) | {"data_info": "14,586 images"}])

    Args:
        runs: `actkeras.bench.run_all` results, each with a `"data_info"`
            describing the data it used (`{"notmnist": line, "fashion_mnist": line}`,
            or, from older runs, the notMNIST line alone); one per backend.
        target: the file name the header says the tables were written to, or
            `None` for tables that were only printed. Defaults to `"BENCHMARKS.md"`.
        command: the `actkeras bench` options that made them, as typed, for the header
            (a command that makes the same tables again). Defaults to `None`: `--backend`
            where there are several and `--write target`.
    """
    if not runs:
        raise ValueError("`runs` must hold at least one benchmark run. Received: runs=[]")
    backends = [run["environment"]["backend"] for run in runs]
    option = f" --backend {','.join(backends)}" if len(runs) > 1 else ""
    first = runs[0]["environment"]
    if command is not None:
        option = f" {command}" if command else ""
    lines = [
        "# Benchmarks",
        "",
        (f"Written by `actkeras bench{option}`; regenerate it, do not edit it."
         if command is not None else
         f"Written by `actkeras bench{option} --write {target}`; regenerate it, do not edit it.")
        if target else f"Measured by `actkeras bench{option}` (`--write FILE` keeps the tables).",
        "",
        f"- machine: {first['processor']}, {first['cpu_count']} CPU cores, "
        f"{first['platform']}; accelerators: {', '.join(first['accelerators']) or 'none'}",
        f"- data: {_data_line(runs[0]['data_info'])}",
    ]
    if len(runs) > 1:
        lines.append(f"- backends: {', '.join(backends)}, each in its own process, one after "
                     "the other")
    lines += _preset_table(runs)
    if len(runs) == 1:
        return "\n".join(lines + [""] + _run_lines(runs[0], "##")) + "\n"
    if all(run["speed"] for run in runs):
        lines += [""] + _side_by_side(runs)
    for run in runs:
        lines += ["", f"## {run['environment']['backend']}"] + _run_lines(run, "###")
    return "\n".join(lines) + "\n"


DATA_NAMES = {"notmnist": "notMNIST", "fashion_mnist": "Fashion-MNIST"}


def _data_line(info):
    if isinstance(info, str):  # a run from before the deep presets: notMNIST alone
        return f"notMNIST, {info}"
    return "; ".join(f"{DATA_NAMES.get(name, name)}, {line}" for name, line in info.items())


def _preset_table(runs):
    """Every preset's c against e (the bound) and b (plain Keras), per backend."""
    lines = [
        "", "## Training speed by preset and backend", "",
        "b: plain Keras `fit`; c: `build_model` + `actkeras.fit`; e: the bound, for `udacity` "
        "the matrix products' rate at the network's shapes, for the others the same training "
        "step compiled alone. Milliseconds per training step are medians over rounds; a "
        "ratio of speeds is the median of the rounds' ratios, with their range (c/e of "
        "`udacity`: the medians' ratio, e being one rate). Each backend's own tables follow.",
        "",
        "| preset | backend | b ms/step | c ms/step | e ms/step | c/e | c/b |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = []
    for run in runs:
        backend = run["environment"]["backend"]
        speed = run["speed"]
        if speed:
            rows.append(("udacity", backend, _udacity_cells(speed)))
        for name, preset in (run.get("presets") or {}).items():
            ms = preset["ms_per_step"]
            rows.append((name, backend, [f"{ms[v]:.2f}" for v in "bce"]
                         + [_ratio(preset, "c/e"), _ratio(preset, "c/b")]))
    order = ["udacity", "fashion_mlp", "mlp"]
    rows.sort(key=lambda row: order.index(row[0]) if row[0] in order else len(order))
    lines += [f"| {name} | {backend} | {' | '.join(cells)} |" for name, backend, cells in rows]
    return lines


def _udacity_cells(speed):
    rate = speed["samples_per_second"]
    batch = speed.get("batch_size", 128)
    cells = [f"{batch / rate[v] * 1e3:.2f}" if v in rate else "n/a" for v in "bc"]
    flops = speed.get("step_flops")
    cells.append(f"{flops / speed['matmul_flops'] * 1e3:.2f}" if flops else "n/a")
    ratio = speed["ratios"].get("c_flops/e")
    cells.append("n/a" if ratio is None else f"{ratio:.3f}")
    cells.append(_ratio(speed, "c/b"))
    return cells


def _ratio(result, name):
    if name not in result["ratios"]:
        return "n/a"
    low, high = result["ratio_ranges"][name]
    return f"{result['ratios'][name]:.3f} ({low:.3f} to {high:.3f})"


def _run_lines(run, h):
    """One backend's tables, under headings of level `h`."""
    env = run["environment"]
    lines = [
        f"- date: {env['date']}",
        f"- backend: {env['backend']}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(env["versions"].items())),
    ]
    if run["speed"]:
        lines += _udacity_lines(run["speed"], h)
    for preset in (run.get("presets") or {}).values():
        lines += _preset_lines(preset, h)
    if run.get("activation_cost"):
        lines += _cost_lines(run["activation_cost"], h)
    if run.get("mlp_step_time"):
        lines += _mlp_lines(run["mlp_step_time"], h)
    return lines


def _preset_lines(preset, h):
    """A deep preset's variants: ms per step, validation accuracy, and the ratios."""
    steps = preset["steps"]
    lines = [
        "", f"{h} Training speed, `{preset['preset']}` network (one epoch of "
        f"{preset['n_train']:,} images in batches of {preset['batch_size']}: {steps['c']:,} "
        f"steps; median of {preset['rounds']} round-robin rounds after an untimed one)", "",
        "| variant | ms per step | steps/s | validation accuracy |",
        "| --- | ---: | ---: | ---: |",
    ]
    for v, label in preset["labels"].items():
        ms = preset["ms_per_step"][v]
        accuracy = preset["valid_accuracy"].get(v)
        label = label if v != "e" else (f"{label}: {steps['e']:,} steps, {preset['inner']} a "
                                        "compiled call")
        lines.append(f"| {v}. {label} | {ms:.2f} | {1e3 / ms:,.0f} | "
                     f"{'' if accuracy is None else f'{accuracy:.4f}'} |")
    lines += ["", "| ratio of speeds | median | range over rounds |", "| --- | ---: | ---: |"]
    for name, value in preset["ratios"].items():
        low, high = preset["ratio_ranges"][name]
        lines.append(f"| {name} | {value:.3f} | {low:.3f} to {high:.3f} |")
    return lines


def _udacity_lines(speed, h):
    """The `udacity` network's variants a to e, and their ratios."""
    lines = [
        "",
        f"{h} Training speed, `udacity` network ({speed['steps']} steps of batch 128, "
        f"median of {speed['rounds']} round-robin rounds)",
        "",
        "| variant | samples/s | test accuracy |",
        "| --- | ---: | ---: |",
    ]
    for v, label in speed["labels"].items():
        lines.append(
            f"| {v}. {label} | {speed['samples_per_second'][v]:,.0f} | "
            f"{speed['test_accuracy'][v]:.4f} |"
        )
    lines += [
        f"| e. matrix products at the network's shapes | "
        f"{speed['matmul_flops'] / 1e9:,.1f} GFLOP/s | |",
        "",
        *_warm_up_lines(speed.get("warm_up_seconds") or {}, speed.get("warm_up_steps", 100)),
        "Ratios of speeds: the median over rounds of each round's ratio, and their range.",
        "",
        "| ratio | median | range over rounds |",
        "| --- | ---: | ---: |",
    ]
    ranges = speed.get("ratio_ranges", {})
    for name, value in speed["ratios"].items():
        spread = "{:.3f} to {:.3f}".format(*ranges[name]) if name in ranges else ""
        lines.append(f"| {name} | {value:.3f} | {spread} |")
    return lines


def _side_by_side(runs):
    """The training speeds of every backend in one table, with c/b and d/c."""
    lines = [
        "## Training speed by backend, `udacity` network",
        "",
        "b: plain `keras.Sequential` + `fit`; c: `build_model` + `actkeras.fit`; d: c with "
        "all three monitors. Samples/s are medians over rounds; a ratio is the median "
        "of the rounds' ratios, with their range. Each backend's own tables follow.",
        "",
        "| backend | b samples/s | c samples/s | d samples/s | c/b | d/c | "
        "test accuracy b, c, d | monitors' set-up |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        speed = run["speed"]
        rate, accuracy = speed["samples_per_second"], speed["test_accuracy"]
        cells = [f"{rate[v]:,.0f}" if v in rate else "n/a" for v in SPEED_VARIANTS]
        for name in ("c/b", "d/c"):
            if name in speed["ratios"]:
                low, high = speed["ratio_ranges"][name]
                cells.append(f"{speed['ratios'][name]:.3f} ({low:.3f} to {high:.3f})")
            else:
                cells.append("n/a")
        cells.append(", ".join(f"{accuracy[v]:.4f}" if v in accuracy else "n/a"
                               for v in SPEED_VARIANTS))
        cells.append(_set_up(speed.get("warm_up_seconds") or {}))
        lines.append(f"| {run['environment']['backend']} | {' | '.join(cells)} |")
    lines += ["", "Monitors' set-up: the untimed warm-up fit with the monitors (d) minus the "
              "one without (c), in the first round (the process's first use) and the median "
              "of the later ones (a new model each round); not in d's samples/s."]
    return lines


def _set_up(seconds):
    if "c" not in seconds or "d" not in seconds:
        return "n/a"
    extra = [d - c for c, d in zip(seconds["c"], seconds["d"])]
    later = f", then {statistics.median(extra[1:]):+.2f} s" if len(extra) > 1 else ""
    return f"{extra[0]:+.2f} s{later}"


def _ci_rows(summary, columns):
    """Markdown rows, one per arm, by ratio to ReLU: `columns(row)` gives the first
    cells; then the ratio, its interval and the rounds it rests on."""
    def key(item):
        ratio = item[1]["ratio"]
        return (ratio is None, ratio or 0.0)

    lines = []
    for name, row in sorted(summary.items(), key=key):
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}"
        interval = ("n/a" if row["low"] is None
                    else f"{row['low']:.2f} to {row['high']:.2f}")
        used = row["n"] + row.get("skipped", 0)
        lines.append(f"| {name} | {' | '.join(columns(row))} | {ratio} | {interval} | "
                     f"{row['n']}/{used} |")
    return lines


def _cost_lines(cost, h="##"):
    """The activation-cost table: net time per pass and the ratio to ReLU with its CI."""
    level = f"{cost['level']:.0%}"
    rows, width = cost["shape"]
    lines = [
        "", f"{h} Activation cost: forward + backward over a ({rows}, {width}) float32 tensor", "",
        f"One compiled call runs {cost['inner']} forward + backward passes in an in-graph "
        f"loop; every round times every activation and an identity baseline once, in a "
        f"random order (seed {cost['seed']}), {cost['rounds']} rounds after "
        f"{cost['warmup']} untimed ones ({cost['wall_seconds']:.0f} s in all). "
        "An activation's net time is its time minus the baseline's in the same round; "
        "its ratio to ReLU is the geometric mean of the rounds' ratios of net times, with "
        f"its {level} t interval.",
        "",
        f"Baseline (identity; the loop, the update and the dispatch): "
        f"{cost['baseline_us_per_pass']:.0f} µs per pass (median).",
        "",
        f"| activation | net µs per pass (median) | ratio to relu | {level} CI | rounds used |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += _ci_rows(cost["summary"], lambda row: [f"{row['net_us_per_pass']:.0f}"])
    if any(row["skipped"] for row in cost["summary"].values()):
        lines += ["", "A round where an activation's or ReLU's net time was <= 0 (the baseline "
                  "ran slower) gives no ratio: the rounds used count the others."]
    reference = cost["summary"].get("relu")
    if reference and reference["skipped"]:
        # Every ratio divides by ReLU's net time: where that is within the baseline's
        # noise, the ratios measure the noise.
        lines += ["", f"**Read the net times, not the ratios:** ReLU's net time, the "
                  f"denominator of every ratio, is {reference['net_us_per_pass']:.0f} µs per "
                  f"pass (median) beside a {cost['baseline_us_per_pass']:.0f} µs baseline, "
                  f"and was <= 0 in {reference['skipped']} of "
                  f"{reference['n'] + reference['skipped']} rounds."]
    return lines


def _mlp_lines(mlp, h="##"):
    """The 50-layer MLP table: time per training step, per-epoch estimate, ratio with CI."""
    level = f"{mlp['level']:.0%}"
    lines = [
        "", f"{h} Training step of the 50-layer `fashion_mlp` (batch {mlp['batch_size']})", "",
        f"Every round times, for every activation's model, {mlp['steps']} consecutive "
        f"`train_on_batch` steps on one fixed batch, in a random order (seed "
        f"{mlp['seed']}), {mlp['rounds']} rounds after {mlp['warmup']} untimed ones "
        f"({mlp['wall_seconds']:.0f} s in all). Ratios to ReLU: geometric mean of the "
        f"rounds' ratios, with its {level} t interval. Per epoch: the median step times "
        f"{mlp['steps_per_epoch']:,} steps.",
        "",
        f"| activation | ms per step (median) | s per epoch (estimate) | ratio to relu | "
        f"{level} CI | rounds used |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    return lines + _ci_rows(mlp["summary"], lambda row: [
        f"{row['step_seconds'] * 1e3:.2f}", f"{row['epoch_seconds']:.2f}"])


def _warm_up_lines(seconds, steps):
    """What the untimed warm-up fits before c and d took: the monitors' first use on a
    model (on JAX, compiling their passes) shows there, not in d's speed."""
    if not seconds:
        return []
    first = ", ".join(f"{v} {s[0]:.2f} s" for v, s in seconds.items())
    later = ", ".join(f"{v} {statistics.median(s[1:]):.2f} s" for v, s in seconds.items()
                      if len(s) > 1)
    line = (f"Untimed warm-up fit before each timed one ({steps} steps, with d's monitors; "
            f"it traces the functions): {first} in the first round")
    return [line + (f", median {later} in the others." if later else "."), ""]
