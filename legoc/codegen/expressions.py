"""The Python text of compile-time values in generated code: a layer's
arguments, a method's arguments with the class's attributes for its
parameters (`self.p`), an index's subscript.
"""

from __future__ import annotations

from ..ir import symbolic as sy
from ..ir.nodes import LayerRef, Sizes, Value
from .text import string_literal


def args_text(args: tuple, names: dict[str, str]) -> str:
    """Method arguments: ints, expressions, and tuples of them; symbols are
    written as `names` says (`p` -> `self.p`)."""
    out = []
    for a in args:
        if isinstance(a, tuple):
            inner = ", ".join(args_text((x,), names) for x in a)
            out.append(f"({inner}{',' if len(a) == 1 else ''})")
        elif isinstance(a, int):
            out.append(str(a))
        else:
            out.append(sy.to_text(renamed(a, names), code=True))
    return ", ".join(out)


def renamed(e: sy.Expr, names: dict[str, str]) -> sy.Expr:
    """`e` with its symbols written as `names` says (`p` -> `self.p`)."""
    return sy.substitute(e, {sym.key: sy.Sym(sym.key, sym.label, names.get(sym.code, sym.code)) for sym in sy.free_symbols(e)})


def index_text(op: tuple, names: dict[str, str]) -> str:
    """The subscript of `select` (axis, index) or `slice` (axis, start,
    end, step; None where left out): `:, 0` or `:, :, 1:`. The batch axis
    comes first."""
    name, (axis, *bounds) = op
    text = [args_text((b,), names) if b is not None else "" for b in bounds]
    if name == "slice":
        text = [":".join(text if bounds[2] is not None else text[:2])]
    return ", ".join([":"] * (axis + 1) + text)


def arg_symbols(args: tuple) -> set:
    """The symbols that method arguments (as `args_text` takes them) mention."""
    found: set = set()
    for a in args:
        if isinstance(a, tuple):
            found |= arg_symbols(a)
        elif isinstance(a, sy.Expr):
            found |= sy.free_symbols(a)
    return found


def value_text(v: Value) -> str:
    """A layer's argument as Python: a layer class, a tuple or list of sizes,
    a string literal, or an expression."""
    if isinstance(v, LayerRef):
        return v.code
    if isinstance(v, Sizes):
        return v.brackets[0] + ", ".join(value_text(item) for item in v.items) + v.brackets[1]
    if isinstance(v, sy.Const) and isinstance(v.value, str):
        return string_literal(v.value)
    return sy.to_text(v, code=True)
