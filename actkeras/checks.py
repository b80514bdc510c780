"""Argument checks shared by the library and the CLI: one message shape everywhere.

Each check raises `ValueError` naming the argument, the rule and what was received
(`"`steps` must be a positive integer. Received: steps=0"`), and returns the value,
so that a check reads as an assignment: `steps = checks.positive_int("steps", steps)`.
Booleans are never numbers here (`True` is not a batch size); NumPy's integers and
floats are numbers like Python's (`np.int64(3)` is a positive integer).
"""

import math
import numbers


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)  # NumPy's too


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


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


def optional(check, name, value, *args, **kwargs):
    """`None`, or `value` after `check(name, value, ...)`; the message says None is fine too."""
    if value is None:
        return None
    try:
        return check(name, value, *args, **kwargs)
    except ValueError as error:
        rule, _, received = str(error).partition(" Received:")
        raise ValueError(f"{rule.rstrip('.')}, or None. Received:{received}") from None


def integer(name, value):
    """`value` if it is an integer (any sign)."""
    if not _is_int(value):
        raise ValueError(f"`{name}` must be an integer. Received: {name}={value!r}")
    return value


def real(name, value):
    """`value` if it is a number (infinities and NaN included: see `finite`)."""
    if not _is_number(value):
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    return value


def finite(name, value, low=None, high=None, strict_low=False, high_included=False):
    """`value` if it is a finite number within `[low, high)` (`(low, ...` with
    `strict_low`, `..., high]` with `high_included`)."""
    ok = _is_number(value) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if strict_low else value >= low
    if ok and high is not None:
        ok = value <= high if high_included else value < high
    if not ok:
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if strict_low else '>='} {low}")
        if high is not None:
            bounds.append(f"{'<=' if high_included else '<'} {high}")
        rule = " and ".join(["a finite number"] + bounds)
        if not _is_number(value):  # not a number at all: say that first
            rule = f"a number ({rule})"
        raise ValueError(f"`{name}` must be {rule}. Received: {name}={value!r}")
    return value


def number(name, value, low=None, strict_low=False):
    """`float(value)` if it is a finite number (at least `low`, or above it with `strict_low`)."""
    return float(finite(name, value, low=low, strict_low=strict_low))


def fraction(name, value):
    """`float(value)` if it is a number in [0, 1]."""
    if not (_is_number(value) and math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"`{name}` must be a fraction in [0, 1]. Received: {name}={value!r}")
    return float(value)


def choice(name, value, choices):
    """`value` if it is one of `choices`."""
    try:
        known = value in choices
    except TypeError:  # an unhashable value asked of a set or dict
        known = False
    if not known:
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


def tuner_role(environ):
    """`"chief"`, `"worker"` or `None` (no distribution) from Keras Tuner's variables in
    `environ`: all three set, the port a number a server can listen on."""
    if "KERASTUNER_ORACLE_IP" not in environ:
        return None
    missing = [k for k in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if k not in environ]
    if missing:
        raise ValueError(
            "Distributed tuning needs KERASTUNER_TUNER_ID (chief, tuner0, tuner1, ...), "
            "KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT all set; unset "
            f"KERASTUNER_ORACLE_IP to tune on one machine. Missing: {', '.join(missing)}"
        )
    port = environ["KERASTUNER_ORACLE_PORT"].strip()
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(
            "KERASTUNER_ORACLE_PORT must be the port the chief listens on, 1 to 65535, the "
            f"same for the chief and every worker. Received: KERASTUNER_ORACLE_PORT={port!r}")
    return "chief" if "chief" in environ["KERASTUNER_TUNER_ID"] else "worker"
