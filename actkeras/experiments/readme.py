"""The reproduction's summary table in a README, between two markers (`reproduce --readme`).

The block starts with a line naming the command that wrote it (its preset, and its claims
and seeds where they are not all of them and the preset's), so the next run can tell
whose table it would replace. `check_readme` runs before any run, and again just before
the write: the README must be a readable, writable file holding each marker once, the
start before the end, and a table of another preset or selection is replaced only when
asked (`replace`, `--readme-replace`). No Keras here: the command checks it before
TensorFlow loads.
"""

import os
import re
from pathlib import Path

from actkeras.atomic import write_text

SUMMARY_START = "<!-- actkeras reproduce summary: start -->"
SUMMARY_END = "<!-- actkeras reproduce summary: end -->"
_WRITTEN_BY = re.compile(r"<!-- written by `actkeras reproduce (?P<args>[^`]*?)\s*--readme`")


def _all_claims(claims):
    from actkeras.experiments.claims import MODULES

    return "all" if claims == "all" or sorted(claims) == sorted(MODULES) else sorted(claims)


def command_args(preset, selection=None):
    """`--preset P [--claims 1,3] [--seeds N]`: what the block's first line names."""
    selection = selection or {}
    text = f"--preset {preset}"
    claims = _all_claims(selection.get("claims") or "all")
    if claims != "all":
        text += " --claims " + ",".join(map(str, claims))
    if selection.get("seeds"):
        text += f" --seeds {selection['seeds']}"
    return text


def _written_by(block):
    """`(preset, selection)` named by the block's first line, or `None` without one."""
    match = _WRITTEN_BY.search(block)
    if match is None:
        return None
    words = match["args"].split()
    values = dict(zip(words[::2], words[1::2]))
    try:
        claims = [int(c) for c in values["--claims"].split(",")] if "--claims" in values \
            else "all"
        seeds = int(values["--seeds"]) if "--seeds" in values else None
    except ValueError:
        return None
    return values.get("--preset"), {"claims": claims, "seeds": seeds}


def _describe(preset, selection):
    from actkeras.experiments.folder import describe

    return f"the {preset} preset, {describe(selection)}"


def check_readme(readme, preset, selection=None, *, replace=False, cli=False):
    """Checks that `readme` can take the summary of `preset` and `selection`; returns its
    text.

    Raises:
        ValueError: one line: the file is missing, a folder, unreadable or read-only; a
            marker is missing, repeated or after the other; or the block holds another
            preset's or selection's table (or one not written by actkeras) and
            `replace` is false.
    """
    readme = Path(readme)
    received = f"Received: --readme {readme}" if cli else f"Received: readme={str(readme)!r}"
    flag = "--readme-replace" if cli else "replace_readme=True"
    selection = selection or {"claims": "all", "seeds": None}
    try:
        text = readme.read_bytes().decode()  # as it is: its line endings kept
    except FileNotFoundError:
        raise ValueError(f"the README {readme} does not exist: give the README whose summary "
                         f"markers get the table. {received}") from None
    except IsADirectoryError:
        raise ValueError(f"{readme} is a folder, not a README: give the README whose summary "
                         f"markers get the table. {received}") from None
    except (OSError, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ValueError(f"cannot read the README {readme} ({reason}). {received}") from None
    if not os.access(readme, os.W_OK):
        raise ValueError(f"cannot write to the README {readme} (it is read-only): make it "
                         f"writable or give another README. {received}")
    starts, ends = text.count(SUMMARY_START), text.count(SUMMARY_END)
    if starts == 0 or ends == 0:
        raise ValueError(f"{readme} has no summary markers: add the lines {SUMMARY_START!r} "
                         f"and {SUMMARY_END!r} where the table should go. {received}")
    if starts > 1 or ends > 1:
        raise ValueError(f"{readme} has {starts} start and {ends} end summary markers: keep "
                         f"one of each, around the table. {received}")
    if text.index(SUMMARY_END) < text.index(SUMMARY_START):
        raise ValueError(f"{readme}'s summary end marker comes before its start marker: put "
                         f"{SUMMARY_START!r} first. {received}")
    block = text[text.index(SUMMARY_START) + len(SUMMARY_START):text.index(SUMMARY_END)]
    if block.strip() and not replace:
        theirs = _written_by(block)
        mine = (preset, {"claims": _all_claims(selection.get("claims") or "all"),
                         "seeds": selection.get("seeds")})
        if theirs is None:
            raise ValueError(f"the summary block of {readme} was not written by actkeras "
                             f"reproduce: add {flag} to replace it, or give another README. "
                             f"{received}")
        theirs = (theirs[0], {**theirs[1], "claims": _all_claims(theirs[1]["claims"])})
        if theirs != mine:
            raise ValueError(
                f"{readme} holds the summary of {_describe(*theirs)}; this run "
                f"({_describe(*mine)}) would replace it: add {flag} to replace it, or give "
                f"another README. {received}")
    return text


def update_readme(readme, summary, preset, selection=None, *, replace=False):
    """Replaces the text between the summary markers in `readme` with `summary`.

    Raises:
        ValueError: `check_readme`'s refusals.
    """
    text = check_readme(readme, preset, selection, replace=replace)
    block = (f"{SUMMARY_START}\n<!-- written by `actkeras reproduce "
             f"{command_args(preset, selection)} --readme`; do not edit by hand -->\n\n"
             f"{summary.strip()}\n\n{SUMMARY_END}")
    if "\r\n" in text:  # the file's own line endings, in the block too
        block = block.replace("\r\n", "\n").replace("\n", "\r\n")
    start, end = text.index(SUMMARY_START), text.index(SUMMARY_END) + len(SUMMARY_END)
    # Only the block changes: the rest of the file byte for byte; `write_text` writes a
    # link's target and keeps the file's permissions.
    write_text(readme, text[:start] + block + text[end:])
