"""The one place that turns DSL names into safe Python identifiers."""

from __future__ import annotations

import builtins
import keyword
import re

# Names the generated code itself uses, besides Python's keywords and builtins.
RESERVED = frozenset({"self", "torch", "nn", "x", "identity", "super", "in_channels", "in_features"})


def py_ident(name: str) -> str:
    """A Python identifier for a DSL name: the name itself when that is safe,
    else the name with a trailing underscore (`lambda` -> `lambda_`).

    The grammar already limits names to ASCII letters, digits and `_`.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"not a DSL name: {name!r}")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in RESERVED or hasattr(builtins, name) or name.startswith("__"):
        return name + "_"
    return name


def class_name(name: str) -> str:
    """PascalCase for a block name (`conv3x3_bn_act` -> `Conv3x3BnAct`); a
    name that already has capitals (a model's `ResNet18`) is kept."""
    if any(ch.isupper() for ch in name):
        base = name
    else:
        base = "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)
    base = base or "Block"
    return py_ident(base if base[0].isalpha() else "Block" + base)
