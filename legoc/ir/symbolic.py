"""Symbolic compile-time values: integer, float, bool and string expressions.

Shape inference runs over these. A block is analysed once with its parameters
and input sizes as symbols (`c`, `stride`, `in_channels`, `H`), so sizes in
the generated code are expressions over constructor arguments; a model's
concrete figures come from substituting defaults. Constants fold as they are
built, and integer sums of products are kept in a canonical polynomial form,
so two expressions that mean the same polynomial compare equal.

All constructors are pure functions; every node is a frozen dataclass.

The nodes, and what one asks of an expression without building another
(its type, its symbols, its text), are in legoc.ir.expressions; this
module builds them: arithmetic and logic that fold and normalise as they
go, and substitution. It re-exports legoc.ir.expressions' names, so that
`from legoc.ir import symbolic as sy` reaches every one as `sy.X`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from . import functions
from .expressions import (  # re-exported: the nodes, and what one asks of them
    FALSE, ONE, TRUE, ZERO, Const, Expr, Monomial, Number, Op, Poly, Scalar, Sym,
    const, divides_by_zero, free_symbols, has_division, is_const, is_type,
    operand_text, parameters, sort_key, to_text, type_of, value_of,
)  # fmt: skip

__all__ = [
    # legoc.ir.expressions
    "Number", "Scalar", "Expr", "Const", "Sym", "Poly", "Monomial", "Op",
    "TRUE", "FALSE", "ZERO", "ONE", "const", "is_const", "value_of",
    "type_of", "is_type", "free_symbols", "parameters", "has_division",
    "divides_by_zero", "to_text", "operand_text", "sort_key",
    # this module
    "NotANumber", "add", "neg", "sub", "mul", "floordiv", "exact_floordiv", "mod", "minimum",
    "maximum", "compare", "eq", "both", "either", "negate", "cond",
    "substitute", "substituter", "function",
]  # fmt: skip


def _num(e: Expr) -> bool:
    if type(e) is Const and type(e.value) in (int, float):  # fast path: the usual case
        return True
    return isinstance(e, Const) and isinstance(e.value, (int, float)) and not isinstance(e.value, bool)


def _number(x: Scalar | Expr) -> Number | None:
    """The value of a plain int or float, bare or in a `Const`, else None.

    The arithmetic below tries this first: most sizes are constants, and
    folding two of them needs none of the polynomial machinery. Only the
    exact types int and float qualify (not bool, nor subclasses), so every
    other operand takes the general path, which folds it as before."""
    if type(x) is Const:
        x = x.value
    return x if type(x) in (int, float) else None  # type: ignore[return-value]


class NotANumber(TypeError):
    """Arithmetic met a bool or a string (`value`, a Const): a spec passed
    `true` or `"text"` where a number goes. The message names the value as
    the spec writes it, not the operation that met it, which may be legoc's
    own (a check's `max`)."""

    def __init__(self, value: Const):
        self.value = value
        shown = ("true" if value.value else "false") if isinstance(value.value, bool) else f'"{value.value}"'
        self.shown = f"{shown} ({'a boolean' if isinstance(value.value, bool) else 'a string'})"
        """The value as the spec writes it, and its type: `true (a boolean)`."""
        super().__init__(f"{self.shown} where a number is expected")


def _require_number(e: Expr, op: str) -> None:
    if isinstance(e, Const) and not _num(e):
        raise NotANumber(e)


# ------------------------------------------------------------- polynomials


def _key(e: Expr) -> str:
    if isinstance(e, Sym):
        return f"{e.label}\x00{e.key}"
    return sort_key(e) + "\x00" + type(e).__name__


def _as_poly(e: Expr) -> tuple[dict[tuple[Expr, ...], Number], Number]:
    if _num(e):
        return {}, e.value  # type: ignore[union-attr]
    if isinstance(e, Poly):
        return {_factors(m): c for m, c in e.terms}, e.const
    return {_factors(e): 1}, 0


def _factors(m: Expr) -> tuple[Expr, ...]:
    return m.factors if isinstance(m, Monomial) else (m,)


def _from_poly(terms: dict[tuple[Expr, ...], Number], constant: Number) -> Expr:
    # d * (x // d) is x - x % d, where that lets x cancel against other terms.
    for f, c in list(terms.items()):
        if len(f) == 1 and isinstance(f[0], Op) and f[0].name == "floordiv" and c:
            x, d = f[0].args
            shared = set(_as_poly(x)[0]) & (set(terms) - {f})
            if shared and _num(d) and isinstance(d.value, int) and d.value > 0 and isinstance(c, int) and c % d.value == 0:
                del terms[f]
                rest = mul(Const(c // d.value), sub(x, mod(x, d)))
                t2, c2 = _as_poly(rest)
                for g, v in t2.items():
                    terms[g] = terms.get(g, 0) + v
                constant += c2
    # Plain symbols first (`H - 1`, not `-1 + H`), then alphabetically.
    items = [(f, c) for f, c in terms.items() if c != 0]
    if len(items) > 1:  # (one term needs no sorting, nor its `_key`)
        items.sort(key=lambda fc: (not (len(fc[0]) == 1 and isinstance(fc[0][0], Sym)), [_key(x) for x in fc[0]]))
    if not items:
        return Const(constant)
    monos = [(f[0] if len(f) == 1 else Monomial(f), c) for f, c in items]
    if len(monos) == 1 and monos[0][1] == 1 and constant == 0:
        return monos[0][0]
    return Poly(tuple(monos), constant)


def add(a: Expr, b: Expr) -> Expr:
    """`a + b`."""
    x, y = _number(a), _number(b)
    if x is not None and y is not None:  # fast path: two plain numbers
        return Const(x + y)
    a, b = const(a), const(b)
    if _num(a) and _num(b):
        return Const(a.value + b.value)  # type: ignore[union-attr]
    _require_number(a, "+")
    _require_number(b, "+")
    ta, ca = _as_poly(a)
    tb, cb = _as_poly(b)
    terms = dict(ta)
    for f, c in tb.items():
        terms[f] = terms.get(f, 0) + c
    return _from_poly(terms, ca + cb)


def neg(a: Expr) -> Expr:
    x = _number(a)
    if x is not None:  # fast path: a plain number
        return Const(-1 * x)
    return mul(Const(-1), a)


def sub(a: Expr, b: Expr) -> Expr:
    """`a - b`."""
    x, y = _number(a), _number(b)
    if x is not None and y is not None:  # fast path: two plain numbers
        return Const(x + -1 * y)  # exactly what add(a, neg(b)) folds to
    return add(a, neg(const(b)))


def mul(a: Expr, b: Expr) -> Expr:
    """`a * b`, multiplied out into canonical polynomial form."""
    x, y = _number(a), _number(b)
    if x is not None and y is not None:  # fast path: two plain numbers
        return Const(x * y)
    a, b = const(a), const(b)
    if _num(a) and _num(b):
        return Const(a.value * b.value)  # type: ignore[union-attr]
    _require_number(a, "*")
    _require_number(b, "*")
    ta, ca = _as_poly(a)
    tb, cb = _as_poly(b)
    terms: dict[tuple[Expr, ...], Number] = {}

    def put(f: tuple[Expr, ...], c: Number) -> None:
        if len(f) > 1:  # (a single factor needs no sorting, nor its `_key`)
            f = tuple(sorted(f, key=_key))
        terms[f] = terms.get(f, 0) + c

    for fa, x in ta.items():
        for fb, y in tb.items():
            put(fa + fb, x * y)
        if cb:
            put(fa, x * cb)
    if ca:
        for fb, y in tb.items():
            put(fb, ca * y)
    if any(type(g) is Op and g.name == "exactdiv" for t in (ta, tb) for f in t for g in f):  # (the operands' factors: fewer)
        return _cancel_exact(terms, ca * cb)
    return _from_poly(terms, ca * cb)


def _cancel_exact(terms: dict[tuple[Expr, ...], Number], constant: Number) -> Expr:
    """The polynomial with each `c * (x // d) * rest` where `x // d` is
    exact (exact_floordiv) and `c * rest` holds d as a factor written as
    `(c / d) * x * rest'`: (x // d) * d is x exactly when d divides x."""
    for f, c in terms.items():
        for k, g in enumerate(f):
            if not (type(g) is Op and g.name == "exactdiv") or not isinstance(c, int):
                continue
            x, d = g.args
            rest = list(f[:k] + f[k + 1 :])
            if _num(d):
                fd, cd = (), d.value  # type: ignore[union-attr]
            else:
                dt, dc = _as_poly(d)
                if dc != 0 or len(dt) != 1:  # a sum: no factor of a product
                    continue
                ((fd, cd),) = dt.items()
            if not isinstance(cd, int) or cd == 0 or c % cd or any(rest.count(h) < fd.count(h) for h in fd):
                continue
            for h in fd:
                rest.remove(h)
            product = mul(Const(c // cd), x)
            for h in rest:
                product = mul(product, h)
            return add(_from_poly({h: v for h, v in terms.items() if h != f}, constant), product)
    return _from_poly(terms, constant)


def _divisible(a: Expr, d: int) -> bool:
    terms, c = _as_poly(a)
    return all(isinstance(v, int) and v % d == 0 for v in [*terms.values(), c])


def _div_exact(a: Expr, d: int) -> Expr:
    terms, c = _as_poly(a)
    return _from_poly({f: v // d for f, v in terms.items()}, c // d)


def _division_operands(a: Expr, b: Expr, op: str) -> tuple[Expr, Expr]:
    a, b = const(a), const(b)
    _require_number(a, op)
    _require_number(b, op)
    if _num(b) and b.value == 0:  # type: ignore[union-attr]
        raise ZeroDivisionError("division by zero" if op == "//" else "modulo by zero")
    return a, b


def floordiv(a: Expr, b: Expr) -> Expr:
    """`a // b` (Python floor division).

    Raises:
        ZeroDivisionError: b is the constant 0.
    """
    x, y = _number(a), _number(b)
    if x is not None and y is not None and y != 0:  # fast path: two plain numbers
        return Const(x // y)
    a, b = _division_operands(a, b, "//")
    if _num(a) and _num(b):
        return Const(a.value // b.value)  # type: ignore[union-attr]
    if b == ONE:
        return a
    if a == b:
        return ONE
    if _num(b) and isinstance(b.value, int) and b.value > 0:  # type: ignore[union-attr]
        d = b.value  # type: ignore[union-attr]
        if _divisible(a, d):
            return _div_exact(a, d)
        # (x + d * q) // d is x // d + q: pull out the part d divides.
        terms, c = _as_poly(a)
        whole = {f: v for f, v in terms.items() if isinstance(v, int) and v % d == 0}
        q = c // d if isinstance(c, int) else 0
        if whole or q:
            rest = _from_poly({f: v for f, v in terms.items() if f not in whole}, c - q * d)
            return add(_div_exact(_from_poly(whole, q * d), d), floordiv(rest, b))
        if isinstance(a, Op) and a.name == "floordiv" and _num(a.args[1]) and a.args[1].value > 0:  # type: ignore[union-attr]
            return floordiv(a.args[0], Const(a.args[1].value * d))  # type: ignore[union-attr]
        # (x // e + b) // d is (x + e * b) // (e * d) for positive e, d.
        if isinstance(a, Poly) and len(a.terms) == 1 and a.terms[0][1] == 1 and isinstance(a.const, int):
            inner = a.terms[0][0]
            if isinstance(inner, Op) and inner.name == "floordiv" and _num(inner.args[1]) and isinstance(inner.args[1].value, int) and inner.args[1].value > 0:  # type: ignore[union-attr]
                e_ = inner.args[1].value  # type: ignore[union-attr]
                return floordiv(add(inner.args[0], Const(e_ * a.const)), Const(e_ * d))
    elif not _num(b):  # (g * x) // (g * y) is x // y: (3 * dim) // (3 * heads) is dim // heads
        coefficients = [v for e in (a, b) for v in (*_as_poly(e)[0].values(), _as_poly(e)[1])]
        if all(isinstance(v, int) for v in coefficients):
            g = math.gcd(*coefficients)
            if g > 1:
                return floordiv(_div_exact(a, g), _div_exact(b, g))
    return Op("floordiv", (a, b))


def exact_floordiv(a: Expr, b: Expr) -> Expr:
    """`a // b` where the caller knows that b divides a: a check says so
    (a rearrange's `(h d)` with h given checks that h divides the axis).
    It is written `a // b`, as floordiv is, and a product with b gives a
    back: `(a // b) * b` is `a`, which for a floordiv holds only where b
    divides a, so floordiv keeps it as it is.

    Raises:
        ZeroDivisionError: b is the constant 0.
    """
    x, y = _number(a), _number(b)
    if x is not None and y is not None and y != 0:  # fast path: two plain numbers
        return Const(x // y)
    a, b = _division_operands(a, b, "//")
    if _num(a) and _num(b):
        return Const(a.value // b.value)  # type: ignore[union-attr]
    if b == ONE:
        return a
    if a == b:
        return ONE
    if _num(b) and isinstance(b.value, int) and b.value > 0 and _divisible(a, b.value):  # type: ignore[union-attr]
        return _div_exact(a, b.value)  # type: ignore[union-attr]
    if not _num(b):  # (g * x) // (g * y) is x // y, and y divides x where g * y divides g * x
        coefficients = [v for e in (a, b) for v in (*_as_poly(e)[0].values(), _as_poly(e)[1])]
        if all(isinstance(v, int) for v in coefficients) and math.gcd(*coefficients) > 1:
            g = math.gcd(*coefficients)
            return exact_floordiv(_div_exact(a, g), _div_exact(b, g))
    return Op("exactdiv", (a, b))


def mod(a: Expr, b: Expr) -> Expr:
    """`a % b` (Python modulo).

    Raises:
        ZeroDivisionError: b is the constant 0.
    """
    x, y = _number(a), _number(b)
    if x is not None and y is not None and y != 0:  # fast path: two plain numbers
        return Const(x % y)
    a, b = _division_operands(a, b, "%")
    if _num(a) and _num(b):
        return Const(a.value % b.value)  # type: ignore[union-attr]
    if b == ONE or a == b:
        return ZERO
    if _num(b) and isinstance(b.value, int) and b.value > 0 and _divisible(a, b.value):  # type: ignore[union-attr]
        return ZERO
    return Op("mod", (a, b))


def minimum(*xs: Expr) -> Expr:
    return _extremum("min", min, xs)


def maximum(*xs: Expr) -> Expr:
    return _extremum("max", max, xs)


def _extremum(name: str, fold: Callable, xs: tuple[Expr, ...]) -> Expr:
    values = [_number(x) for x in xs]
    if None not in values:  # fast path: plain numbers
        return Const(fold(values))
    xs = tuple(const(x) for x in xs)
    for x in xs:
        _require_number(x, name)
    consts = [x.value for x in xs if _num(x)]  # type: ignore[union-attr]
    rest = []
    for x in xs:
        if not _num(x) and x not in rest:
            rest.append(x)
    if not rest:
        return Const(fold(consts))
    args = rest + ([Const(fold(consts))] if consts else [])
    return args[0] if len(args) == 1 else Op(name, tuple(args))


def function(name: str, *args: Expr) -> Expr:
    """`name(*args)` for legoc.ir.functions' functions (`round`, `ceil`,
    `int`, `make_divisible`) and operators (`pow` is `**`, `truediv` is
    `/`), folded over constants as Python computes them.

    Raises:
        NotANumber: a bool or a string argument.
        ZeroDivisionError, OverflowError, ValueError: as `functions.apply`.
    """
    xs = tuple(const(x) for x in args)
    for x in xs:
        _require_number(x, name)
    return functions.apply(name, xs)


# ---------------------------------------------------------------- booleans

_FLIP = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_CMP: dict[str, Callable[[Scalar, Scalar], bool]] = {
    "==": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
    "<": lambda x, y: x < y,  # type: ignore[operator]
    "<=": lambda x, y: x <= y,  # type: ignore[operator]
    ">": lambda x, y: x > y,  # type: ignore[operator]
    ">=": lambda x, y: x >= y,  # type: ignore[operator]
}


def compare(op: str, a: Expr, b: Expr) -> Expr:
    """`a op b` for op in == != < <= > >=, folded where the difference of a
    and b is a known constant."""
    x, y = _number(a), _number(b)
    if x is not None and y is not None:  # fast path: two plain numbers
        return Const(_CMP[op](x, y))
    a, b = const(a), const(b)
    if isinstance(a, Const) and isinstance(b, Const):
        if op in ("==", "!=") or (_num(a) and _num(b)):
            return Const(_CMP[op](a.value, b.value))
    if a == b:
        return Const(op in ("==", "<=", ">="))
    known = _against_bound(op, a, b)
    if known is not None:
        return known
    if _is_number_expr(a) and _is_number_expr(b):
        diff = sub(a, b)
        if _num(diff):
            return Const(_CMP[op](diff.value, 0))  # type: ignore[union-attr]
    return Op("cmp", (Const(op), a, b))


_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _against_bound(op: str, a: Expr, b: Expr) -> Expr | None:
    """`a op b` where one side is a symbol with a least value (`Sym.low`)
    and the other a number below or at it (`i == 0` for an index of 1 or
    more is false); None where that does not decide it."""
    if isinstance(b, Sym) and isinstance(a, Const):
        op, a, b = _FLIPPED[op], b, a
    if not (isinstance(a, Sym) and a.low is not None and isinstance(b, Const) and _num(b)):
        return None
    low, c = a.low, b.value
    decided = {
        "==": False if c < low else None, "!=": True if c < low else None,
        "<": False if c <= low else None, "<=": False if c < low else None,
        ">": True if c < low else None, ">=": True if c <= low else None,
    }[op]  # fmt: skip
    return None if decided is None else Const(decided)


def eq(a: Expr, b: Expr) -> Expr:
    return compare("==", a, b)


def both(*xs: Expr) -> Expr:
    """Logical and, flattened and folded."""
    out: list[Expr] = []
    for x in xs:
        parts = x.args if isinstance(x, Op) and x.name == "and" else (x,)
        for p in parts:
            if p == FALSE:
                return FALSE
            if p != TRUE and p not in out:
                out.append(p)
    return TRUE if not out else out[0] if len(out) == 1 else Op("and", tuple(out))


def either(*xs: Expr) -> Expr:
    """Logical or, flattened and folded."""
    out: list[Expr] = []
    for x in xs:
        parts = x.args if isinstance(x, Op) and x.name == "or" else (x,)
        for p in parts:
            if p == TRUE:
                return TRUE
            if p != FALSE and p not in out:
                out.append(p)
    return FALSE if not out else out[0] if len(out) == 1 else Op("or", tuple(out))


def negate(a: Expr) -> Expr:
    """Logical not, pushed inwards (De Morgan) so that conditions read plainly."""
    if isinstance(a, Const):
        return Const(not a.value)
    if isinstance(a, Op):
        if a.name == "not":
            return a.args[0]
        if a.name == "cmp":
            return Op("cmp", (Const(_FLIP[a.args[0].value]), a.args[1], a.args[2]))  # type: ignore[union-attr]
        if a.name == "and":
            return either(*(negate(x) for x in a.args))
        if a.name == "or":
            return both(*(negate(x) for x in a.args))
    return Op("not", (a,))


def cond(c: Expr, a: Expr, b: Expr) -> Expr:
    """`a if c else b`. Inside `a`, `c` is taken to hold and inside `b` not
    to, so that conditions on one test fold away: `x if c else (y if not c
    else z)` is `x if c else y`, and two branches that become equal are one
    (`out if c else out` is `out`: a block's conditional layers on a test
    and on its negation)."""
    c, a, b = const(c), const(a), const(b)
    if isinstance(c, Const):
        return a if c.value else b
    if isinstance(c, Op):
        tests = {c: Const(True), negate(c): Const(False)}
        a = _assume(a, tests, {})
        tests = {test: Const(not value.value) for test, value in tests.items()}
        b = _assume(b, tests, {})
    if a == b:
        return a
    if isinstance(c, Op) and c.name == "cmp" and c.args[0] in (Const("!="), Const("==")) and (a, b) in ((c.args[1], c.args[2]), (c.args[2], c.args[1])):
        # `x if x != y else y` is x: where they differ x, where not y == x.
        return a if c.args[0] == Const("!=") else b
    return Op("cond", (c, a, b))


def _assume(e: Expr, tests: dict[Expr, Const], memo: dict[Expr, Expr]) -> Expr:
    """`e` with the tests in `tests` (a test and its negation) replaced by
    their values, re-simplified."""
    return _rebuild(e, {}, tests, memo)


def _is_number_expr(e: Expr) -> bool:
    if isinstance(e, Const):
        return _num(e)
    if isinstance(e, Op):
        return e.name in ("floordiv", "exactdiv", "mod", "min", "max", *functions.ARITY) or (e.name == "cond" and _is_number_expr(e.args[1]))
    return True


# ------------------------------------------------------------ substitution


def substitute(e: Expr, mapping: dict[str, Expr]) -> Expr:
    """Replace symbols (by key) simultaneously and re-simplify."""
    if not mapping:
        return e
    memo: dict[Expr, Expr] = {}
    return _subst(e, mapping, memo)


def substituter(mapping: dict[str, Expr]) -> Callable[[Expr], Expr]:
    """`substitute` with `mapping` fixed, as a function of the expression.
    Its calls share one memo, so parts common to several expressions (a
    block's output sizes recur in its checks) are substituted once."""
    if not mapping:
        return lambda e: e
    memo: dict[Expr, Expr] = {}
    return lambda e: _subst(e, mapping, memo)


def _subst(e: Expr, m: dict[str, Expr], memo: dict[Expr, Expr]) -> Expr:
    return _rebuild(e, m, {}, memo)


def _rebuild(e: Expr, symbols: dict[str, Expr], nodes: dict[Expr, Expr], memo: dict[Expr, Expr]) -> Expr:
    """`e` with its symbols replaced as `symbols` says (by key) and its
    subexpressions found in `nodes` (a test and its negation) by their
    values, re-simplified bottom-up; `memo` holds what is done."""
    if isinstance(e, Const):
        return e
    if isinstance(e, Sym):  # one dict lookup: no need for the memo
        return symbols.get(e.key, e)
    hit = nodes.get(e) if nodes else None
    if hit is None:
        hit = memo.get(e)
    if hit is not None:
        return hit
    if isinstance(e, Poly):
        out = Const(e.const)
        for mono, c in e.terms:
            out = add(out, mul(Const(c), _rebuild(mono, symbols, nodes, memo)))
    elif isinstance(e, Monomial):
        out = ONE
        for f in e.factors:
            out = mul(out, _rebuild(f, symbols, nodes, memo))
    else:
        assert isinstance(e, Op)
        args = tuple([_rebuild(x, symbols, nodes, memo) for x in e.args])  # (a list is quicker than a generator)
        if args == e.args:
            out = e
        else:
            try:
                out = _BUILD[e.name](*args)
            except ZeroDivisionError:  # left for the check on the divisor to report
                out = Op(e.name, args)
    memo[e] = out
    return out


_BUILD: dict[str, Callable[..., Expr]] = {
    "floordiv": floordiv,
    "exactdiv": exact_floordiv,
    "mod": mod,
    "min": minimum,
    "max": maximum,
    "cmp": lambda op, a, b: compare(op.value, a, b),
    "and": both,
    "or": either,
    "not": negate,
    "cond": cond,
    "is": lambda kind, e: is_type(kind.value, e),
    **{name: (lambda name: lambda *xs: function(name, *xs))(name) for name in functions.ARITY},
}
