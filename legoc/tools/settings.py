"""`--set NAME=VALUE`: a model's arguments from the command line, for
`legoc summary`, `state-dict`, `graph` and `check`.

    legoc summary mobilenet_v2.lego --set width_mult=0.75

A value is a .lego constant: an integer, a float, `true`/`false` or a
"string". compiler.with_settings gives the model these values in place of
its parameters' defaults, before analysis.
"""

from __future__ import annotations

import argparse
import math
import re

_LONGEST = 40
"""Characters past which a number is refused before int() reads it."""

_SETTING = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)", re.DOTALL)
_INT = re.compile(r"-?[0-9]+(_[0-9]+)*")
_FLOAT = re.compile(r"-?[0-9]+(_[0-9]+)*(\.[0-9]+(_[0-9]+)*)?([eE][+-]?[0-9]+(_[0-9]+)*)?")
_STRING = re.compile(r'"[^"\\\n\r]*"')


def setting(text: str) -> tuple[str, int | float | bool | str]:
    """`--set NAME=VALUE`: (name, value), the value a .lego constant: an
    integer, a float, `true`/`false` or a "string" (quoted as in a spec)."""
    match = _SETTING.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a setting: write NAME=VALUE, such as width_mult=0.75")
    name, value = match["name"], match["value"].strip()
    if value in ("true", "false"):
        return name, value == "true"
    if _STRING.fullmatch(value):
        return name, value[1:-1]
    if len(value.lstrip("-0")) <= _LONGEST:
        if _INT.fullmatch(value):
            return name, int(value.replace("_", ""))
        if _FLOAT.fullmatch(value):
            number = float(value.replace("_", ""))
            if math.isfinite(number):
                return name, number
    raise argparse.ArgumentTypeError(f"{value!r} is not a value for {name}: write a number, true, false or a \"string\"")


def shown(value: object) -> str:
    """A setting's value as a spec writes it: `true`, `"text"`, `0.75`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else repr(value)


def settings_of(args: argparse.Namespace) -> dict[str, object]:
    """The `--set` values, by name (the last of a name given twice)."""
    return dict(getattr(args, "set", None) or [])


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """`--set NAME=VALUE`, repeatable: a model argument in place of its default."""
    parser.add_argument(
        "--set",
        metavar="NAME=VALUE",
        type=setting,
        action="append",
        default=[],
        help="give a model parameter a value in place of its default, such as width_mult=0.75 (repeatable)",
    )
