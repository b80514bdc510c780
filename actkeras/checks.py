"""Argument checks shared by the library and the CLI: one message shape everywhere.

Each check raises `ValueError` naming the argument, the rule and what was received
(`"`steps` must be a positive integer. Received: steps=0"`), and returns the value,
so that a check reads as an assignment: `steps = checks.positive_int("steps", steps)`.
Booleans are never integers here (`True` is not a batch size).
"""

import math
import numbers


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)  # NumPy's too


def positive_int(name, value):
    """`value` if it is an integer > 0."""
    if not _is_int(value) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def non_negative_int(name, value):
    """`value` if it is an integer >= 0."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. Received: {name}={value!r}")
    return value


def finite(name, value, low=None, high=None, strict_low=False):
    """`value` if it is a finite number within `[low, high)` (`(low, high)` with `strict_low`)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if strict_low else value >= low
    if ok and high is not None:
        ok = value < high
    if not ok:
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if strict_low else '>='} {low}")
        if high is not None:
            bounds.append(f"< {high}")
        rule = " and ".join(["a finite number"] + bounds)
        raise ValueError(f"`{name}` must be {rule}. Received: {name}={value!r}")
    return value


def choice(name, value, choices):
    """`value` if it is one of `choices`."""
    if value not in choices:
        raise ValueError(f"Unknown {name}. Valid choices: {', '.join(map(str, choices))}. "
                         f"Received: {name}={value!r}")
    return value


def boolean(name, value):
    """`value` if it is `True` or `False`."""
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return value


def key_value(item):
    """`"key=value"` as `(key, value)`, the value read as a Python literal where it
    parses (`0.1`, `True`, `"a"`) and kept as a stripped string otherwise; `None`
    for text that is not `key=value` (each caller words its own error)."""
    import ast

    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        return None
    try:
        return key.strip(), ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return key.strip(), value.strip()
