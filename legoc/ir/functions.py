"""The numeric functions and operators of width and depth multipliers.

    c = make_divisible(32 * width_mult, 8)    torchvision's _make_divisible
    n = ceil(3 * depth_mult)                  math.ceil
    round(x), int(x), x ** y, x / y           as Python computes them

`apply(name, args)` folds a function over constants exactly as Python (and
torchvision) computes it, and keeps it as an `Op` node where an argument is
symbolic, for substitution to fold later and code generation to print
(legoc.ir.expressions prints these nodes; the generated module defines
`_make_divisible` where it uses it). Only plain ints and floats fold: the
callers (legoc.ir.symbolic) reject bools and strings first.
"""

from __future__ import annotations

import math

from .expressions import Const, Expr, Op

ARITY = {"round": (1, 1), "ceil": (1, 1), "int": (1, 1), "make_divisible": (2, 3), "pow": (2, 2), "truediv": (2, 2)}
"""Each function's least and most arguments (the language's names; `pow`
and `truediv` are the operators `**` and `/`)."""

MAX_POWER_BITS = 4096
"""The largest integer `**` computes at compile time, in bits: `10 ** 10 **
9` would take minutes and gigabytes."""


def make_divisible(v: float, divisor: int | float, min_value: int | float | None = None) -> int | float:
    """torchvision's `_make_divisible` (torchvision/models/_utils.py): `v`
    rounded to the nearest multiple of `divisor`, at least `min_value`
    (default `divisor`), and not more than 10% below `v`.

    Raises:
        ZeroDivisionError: divisor is 0.
    """
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _power(a: int | float, b: int | float) -> int | float:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 and b * math.log2(abs(a)) > MAX_POWER_BITS:
        raise OverflowError(f"{a} ** {b} is over {MAX_POWER_BITS} bits")
    out = a**b
    if isinstance(out, complex):
        raise ValueError(f"({a}) ** {b} is a complex number")
    return out


_FOLD = {
    "round": round,
    "ceil": math.ceil,
    "int": int,
    "make_divisible": make_divisible,
    "pow": _power,
    "truediv": lambda a, b: a / b,
}


def apply(name: str, args: tuple[Expr, ...]) -> Expr:
    """`name(*args)`: folded to a `Const` where every argument is a plain
    number, else an `Op` node.

    Raises:
        ZeroDivisionError: a division (or `make_divisible`) by 0, `0 ** -1`.
        OverflowError: a result too large (`round` of an infinity, `**`
            past MAX_POWER_BITS bits or a float's range).
        ValueError: `int` of a NaN, a complex power (`(-8) ** 0.5`).
    """
    values = [a.value if type(a) is Const and type(a.value) in (int, float) else None for a in args]
    if None not in values:
        return Const(_FOLD[name](*values))
    if name == "truediv" and args[1] == Const(0):
        raise ZeroDivisionError("division by zero")
    if name in ("round", "int") and values[0] is not None and isinstance(values[0], int):
        return args[0]
    if name == "pow" and args[1] == Const(1):
        return args[0]
    if name == "int" and type(args[0]) is Op and args[0].name in ("round", "ceil", "int", "make_divisible"):
        return args[0]  # int(round(x)) is round(x), an int already (ruff's RUF046)
    return Op(name, args)

