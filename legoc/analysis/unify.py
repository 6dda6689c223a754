"""Sizes a block forces equal: one symbol, one constructor argument.

    block join(c)(a, b):
        x = a -> conv c
        y = b -> conv c
        return (x, y, a) -> add      a's channels must be c, b's H and W a's

A block's input sizes are inferred symbols (`in_channels`, `H`, `b_H`, ...,
definitions.py). When a check that every call must pass (an error, not
under a condition: `add`'s shapes, `cat`'s other axes) requires an inferred
size to equal another symbol, the two are one size: the inferred one is
written as the other in the block's constructor, shapes and docstring
(`Join(b_channels, c)`, input `a [B, c, H, W]`, `b [B, b_channels, H, W]`).
The spec's own parameter wins over an inferred size; between two inferred
sizes, the first input's (then the earlier axis).

An equality of two symbols unifies them, and one of a symbol and an
integer constant makes the constant stand for it; a size equal to
another expression stays a size of its own. A size that broadcasts is a
literal 1 in the shape, for which a join makes no condition
(flow.broadcast: a symbolic size is never assumed to be 1), so nothing
that may broadcast is unified.

The block's checks are kept over the original symbols, which a call maps
from its tensors' sizes by position (`in:INDEX:AXIS`, calls.py): a call
whose tensors break the equality fails the same check, at the call, as
before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..core.record import Record, field_values
from ..ir import symbolic as sy
from ..ir.nodes import Check
from ..ir.symbolic import Expr, Sym


def forced_equalities(checks: list[Check]) -> dict[str, Expr]:
    """The inferred input sizes (`in:...` keys) that `checks` force equal
    to another size, each mapped to what stands for it: of a class of
    symbols forced equal, a parameter (`p:...`) where one is in it, else
    a constant it is forced equal to (`in_channels == 64`), else the
    inferred size of the least (input, axis). Checks of severity "error"
    count, and of their conditions the equalities that are conjuncts at
    the top (a check under a condition, `either(not test, ...)`, forces
    nothing). An equality with another expression (`x2_H == H * 2`) is
    left as a check: the shapes after it read better over their own sizes
    than over the first input's."""
    parent: dict[Sym, Sym] = {}
    constants: list[tuple[Sym, Expr]] = []

    def find(x: Sym) -> Sym:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for c in checks:
        if c.severity != "error":
            continue
        cond = c.cond
        for part in cond.args if isinstance(cond, sy.Op) and cond.name == "and" else (cond,):
            pair = _equality(part)
            if pair is None:
                continue
            a, b = pair
            if isinstance(b, Sym):
                a, b = find(a), find(b)
                if a != b:
                    first, second = sorted((a, b), key=_rank)
                    parent[second] = first
            else:
                constants.append((a, b))
    mapping: dict[str, Expr] = {x.key: find(x) for x in parent if find(x) != x}
    for sym, value in constants:
        root = find(sym)
        if root.key.startswith("in:") and root.key not in mapping:
            mapping[root.key] = value
    for x in parent:  # the others of a class a constant stands for
        if find(x).key in mapping:
            mapping[x.key] = mapping[find(x).key]
    return {key: value for key, value in mapping.items() if key.startswith("in:")}


def _equality(e: Expr) -> tuple[Sym, Expr] | None:
    """(a, b) for `a == b` where `a` is an inferred input size and `b` a
    parameter, another inferred size or an integer constant; else None."""
    if not (isinstance(e, sy.Op) and e.name == "cmp" and e.args[0] == sy.Const("==")):
        return None
    a, b = e.args[1], e.args[2]
    if not (isinstance(a, Sym) and a.key.startswith("in:")):
        a, b = b, a
    if not (isinstance(a, Sym) and a.key.startswith("in:")):
        return None
    if isinstance(b, Sym):
        return (a, b) if b.key.startswith(("in:", "p:")) else None
    value = sy.value_of(b)
    return (a, b) if isinstance(value, int) and not isinstance(value, bool) else None


def _rank(x: Sym) -> tuple:
    """Which symbol of a class stands for it: parameters first (two
    parameters forced equal both stay: only inferred sizes are replaced),
    then inferred sizes by input and axis."""
    if x.key.startswith("p:"):
        return (0, 0, 0, x.key)
    _, index, axis = x.key.split(":")
    return (1, int(index), int(axis), "")


def substitute_ir(value, sub: Callable[[Expr], Expr]):
    """`value` (an IR node, a tuple of them, an expression, or anything
    else, returned as is) with `sub` applied to every expression in it."""
    if isinstance(value, Expr):
        return sub(value)
    if isinstance(value, tuple):
        return tuple(substitute_ir(v, sub) for v in value)
    if isinstance(value, Record):
        return replace(value, **{name: substitute_ir(v, sub) for name, v in field_values(value).items()})  # type: ignore[type-var]
    return value
