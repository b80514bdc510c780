"""The verdicts a finished reproduction reached, read back from its `results.json` for a
reader (notebook 00's table), with a plain statement when the file is absent or was
judged under other rules than the package's current ones."""

import json
import os
from pathlib import Path

from actkeras.experiments.claims import MODULES
from actkeras.experiments.protocol import hashes
from actkeras.experiments.rules import VERSION, protocol

__all__ = ["read_verdicts", "reproduction_folder", "verdict_table"]


def _words(entry):
    """`{setting: verdict word}` of a claim's entry (protocol version 2 kept one verdict,
    as run)."""
    verdicts = entry.get("verdicts") or ({"as run": entry["verdict"]} if "verdict" in entry else {})
    return {setting: (v or {}).get("verdict", "?") for setting, v in verdicts.items()}


def read_verdicts(folder):
    """What the reproduction in `folder` concluded about each claim.

    Never invents a verdict: a claim the file does not judge has `verdicts == {}`.

    Args:
        folder: a reproduction's output folder (holding `results.json`).

    Returns:
        A dict: `status` (`"absent"`, `"unreadable"`, `"other rules"` or `"current"`),
        `message` (one line for the reader), `preset`, `finished` (when its report was
        written), and `claims`: `{claim id: {"title", "verdicts": {setting: word},
        "rules_changed": bool}}` for every claim the package knows (`title` is
        `None` where the file has none).
    """
    path = Path(folder) / "results.json"
    current, overall = hashes([protocol(i) for i in MODULES])
    out = {"status": "absent", "preset": None, "finished": None,
           "claims": {i: {"title": None, "verdicts": {}, "rules_changed": False} for i in MODULES}}
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
        claim.update(title=entry.get("title"), verdicts=_words(entry),
                     rules_changed=saved.get(i) != current[i])
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


def verdict_table(found, claims):
    """A markdown table of the verdicts `read_verdicts` found for `claims`.

    Args:
        found: what `read_verdicts` returned.
        claims: `{claim id: what it says in a few words}`, in the order wanted.

    Returns:
        The table as markdown: one row per claim, every setting's verdict as the file
        wrote it, "no verdict in the file" where it has none, and a note where the claim
        was judged under other rules than this checkout's.
    """
    rows = ["| claim | in a few words | verdict (setting: verdict) |", "| --- | --- | --- |"]
    for claim_id, words in claims.items():
        if claim_id not in found["claims"]:
            raise ValueError(f"The package knows no claim {claim_id!r}. Received: "
                             f"claims={list(claims)!r}")
        entry = found["claims"][claim_id]
        verdict = "; ".join(f"{setting}: **{word}**" for setting, word in entry["verdicts"].items())
        verdict = verdict or "no verdict in the file"
        if entry["rules_changed"]:
            verdict += " (judged under other rules)"
        rows.append(f"| {claim_id} | {words} | {verdict} |")
    return "\n".join(rows)
