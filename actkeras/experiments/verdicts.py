"""The verdicts a finished reproduction reached, read back from its `results.json` for a
reader (the notebooks' tables), with each part's outcome and the rules whose move changes a
verdict (the fragile mark), and a plain statement when the file is absent or was judged
under other rules than the package's current ones."""

import json
import os
from pathlib import Path

from actkeras.experiments.claims import MODULES
from actkeras.experiments.protocol import hashes
from actkeras.experiments.rules import VERSION, protocol

__all__ = ["claim_lines", "fragility", "read_verdicts", "reproduction_folder", "verdict_table"]


def _words(entry):
    """`{setting: verdict word}` of a claim's entry (protocol version 2 kept one verdict,
    as run)."""
    verdicts = entry.get("verdicts") or ({"as run": entry["verdict"]} if "verdict" in entry else {})
    return {setting: (v or {}).get("verdict", "?") for setting, v in verdicts.items()}


def _parts(entry):
    """`{setting: [{"key", "text", "outcome", "detail"}]}`: each judged part as the file
    wrote it (protocol version 2 kept them under one verdict, as run)."""
    verdicts = entry.get("verdicts") or ({"as run": entry["verdict"]} if "verdict" in entry else {})
    return {setting: [{k: part.get(k) for k in ("key", "text", "outcome", "detail")}
                      for part in (v or {}).get("parts") or []]
            for setting, v in verdicts.items()}


def _moved(entry):
    """The sensitivity rows whose verdict moved, `[{"rule", "setting", "verdict"}]`; `None`
    where the file has no sensitivity table."""
    rows = entry.get("sensitivity")
    if rows is None:
        return None
    return [{"rule": r.get("variant"), "setting": r.get("setting"), "verdict": r.get("verdict")}
            for r in rows if r.get("moved")]


def _parts_moved(entry):
    """The sensitivity rows that move a part, verdict moved or not: `[{"rule", "setting",
    "parts": {key: outcome}}]`; `[]` where the file names no moved part."""
    return [{"rule": r.get("variant"), "setting": r.get("setting"),
             "parts": {key: (r.get("parts") or {}).get(key, "?") for key in r["parts_moved"]}}
            for r in entry.get("sensitivity") or [] if r.get("parts_moved")]


def read_verdicts(folder):
    """What the reproduction in `folder` concluded about each claim.

    Never invents a verdict: a claim the file does not judge has `verdicts == {}`.

    Args:
        folder: a reproduction's output folder (holding `results.json`).

    Returns:
        A dict: `status` (`"absent"`, `"unreadable"`, `"other rules"` or `"current"`),
        `message` (one line for the reader), `preset`, `finished` (when its report was
        written), and `claims`: `{claim id: {"title", "verdicts": {setting: word},
        "rules_changed": bool, "fragile", "moved", "parts", "parts_moved"}}` for every claim
        the package knows. `fragile` is the list of moved rules that change the claim's
        verdict, as the file wrote it (`[]`: robust); `moved` says what each changes it to,
        `[{"rule", "setting", "verdict"}]`; `parts` is `{setting: [{"key", "text",
        "outcome", "detail"}]}`; `parts_moved` lists the moved rules that change a part,
        whether or not the verdict moves with it, `[{"rule", "setting", "parts": {key:
        outcome}}]`. `title`, `fragile` and `moved` are `None` where the file does not say.
    """
    path = Path(folder) / "results.json"
    current, overall = hashes([protocol(i) for i in MODULES])
    out = {"status": "absent", "preset": None, "finished": None,
           "claims": {i: {"title": None, "verdicts": {}, "rules_changed": False, "fragile": None,
                          "moved": None, "parts": {}, "parts_moved": []} for i in MODULES}}
    if not path.is_file():
        out["message"] = (f"{path} does not exist: no verdicts to show. Run `actkeras reproduce "
                          f"--preset full --out {folder}` (about two hours on 2 CPU cores), or "
                          f"update this checkout.")
        return out
    try:
        results = json.loads(path.read_text())
        entries = {int(e["id"]): e for e in results.get("claims", [])}
    except (OSError, ValueError, KeyError, TypeError) as error:
        out.update(status="unreadable",
                   message=f"{path} could not be read ({type(error).__name__}: {error}).")
        return out
    rules = results.get("protocol") or {}
    saved = {int(k): v for k, v in (rules.get("claims") or {}).items()}
    out.update(preset=results.get("preset"),
               finished=(results.get("timing") or {}).get("finished"))
    for i, claim in out["claims"].items():
        entry = entries.get(i)
        if entry is None:
            continue
        fragile = entry.get("fragile")
        claim.update(title=entry.get("title"), verdicts=_words(entry),
                     rules_changed=saved.get(i) != current[i],
                     fragile=list(fragile) if fragile is not None else None,
                     moved=_moved(entry), parts=_parts(entry), parts_moved=_parts_moved(entry))
    changed = [i for i, c in out["claims"].items() if c["rules_changed"]]
    missing = [i for i in MODULES if i not in entries]
    if rules.get("version") != VERSION or changed or missing:
        out["status"] = "other rules"
        out["message"] = (
            f"{path} was written under protocol version {rules.get('version')} (hash "
            f"{rules.get('hash')}); this checkout's rules are version {VERSION} (hash {overall}). "
            + (f"Claims judged under other rules: {', '.join(map(str, changed))}. " if changed else "")
            + (f"Claims it does not judge: {', '.join(map(str, missing))}. " if missing else "")
            + "Its verdicts are shown as it wrote them; re-run the reproduction for current ones.")
    else:
        out["status"] = "current"
        out["message"] = (f"{path}: preset {results.get('preset')!r}, written "
                          f"{out['finished']}, under this checkout's rules (protocol version "
                          f"{VERSION}, hash {overall}).")
    return out


def reproduction_folder():
    """The reproduction a notebook reads: `$ACTKERAS_REPRODUCTION`, or this checkout's
    `reproduction/full`."""
    checkout = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("ACTKERAS_REPRODUCTION", checkout / "reproduction" / "full"))


def fragility(claim):
    """One claim's mark under the moved rules, as markdown: `robust`, `**fragile**:` with
    each rule that changes the verdict and what it changes it to, or `–` where the file
    does not say.

    Args:
        claim: one entry of `read_verdicts(...)["claims"]`.
    """
    if claim["fragile"] is None:
        return "–"
    if not claim["fragile"]:
        return "robust"
    if claim["moved"]:
        rules = [f"{m['rule']} ({m['setting']}: {m['verdict']})" for m in claim["moved"]]
    else:
        rules = claim["fragile"]
    return "**fragile**: " + "; ".join(rules)


def verdict_table(found, claims):
    """A markdown table of the verdicts `read_verdicts` found for `claims`.

    Args:
        found: what `read_verdicts` returned.
        claims: `{claim id: what it says in a few words}`, in the order wanted.

    Returns:
        The table as markdown: one row per claim, every setting's verdict as the file
        wrote it, "no verdict in the file" where it has none, a note where the claim
        was judged under other rules than this checkout's, and its mark under the moved
        rules (`fragility`).
    """
    rows = ["| claim | in a few words | verdict (setting: verdict) | under the moved rules |",
            "| --- | --- | --- | --- |"]
    for claim_id, words in claims.items():
        _known(found, claim_id, claims)
        entry = found["claims"][claim_id]
        verdict = "; ".join(f"{setting}: **{word}**" for setting, word in entry["verdicts"].items())
        verdict = verdict or "no verdict in the file"
        if entry["rules_changed"]:
            verdict += " (judged under other rules)"
        rows.append(f"| {claim_id} | {words} | {verdict} | {fragility(entry)} |")
    return "\n".join(rows)


def claim_lines(found, claim_id):
    """One claim's verdicts part by part, as plain lines to print: each setting's verdict,
    each part's outcome with its measured interval, the parts a moved rule changes (a
    robust verdict can hide them), and the mark under the moved rules.

    Args:
        found: what `read_verdicts` returned.
        claim_id: the claim.

    Returns:
        A list of lines; one line saying so where the file has no verdict for the claim.
    """
    _known(found, claim_id, [claim_id])
    entry = found["claims"][claim_id]
    if not entry["verdicts"]:
        return [f"claim {claim_id}: no verdict in the file"]
    lines = []
    for setting, word in entry["verdicts"].items():
        lines.append(f"claim {claim_id}, {setting}: {word}"
                     + (" (judged under other rules)" if entry["rules_changed"] else ""))
        for part in entry["parts"].get(setting, []):
            lines.append(f"  ({part['key']}) {part['text']}: {part['outcome']}; {part['detail']}")
    if entry["parts_moved"]:
        lines.append("  parts a moved rule changes: " + "; ".join(
            f"{m['rule']}, {m['setting']}: " + ", ".join(f"({k}) {o}" for k, o in m["parts"].items())
            for m in entry["parts_moved"]))
    mark = fragility(entry).replace("**", "")
    lines.append(f"  under the moved rules: {mark}")
    return lines


def _known(found, claim_id, asked):
    if claim_id not in found["claims"]:
        raise ValueError(f"The package knows no claim {claim_id!r}. Received: "
                         f"claims={list(asked)!r}")
