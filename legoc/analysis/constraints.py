"""What a model's symbolic input sizes must satisfy.

Checks that shape inference could not decide for `input x: [3, H, W]` are
conditions on H and W, such as `2 * (H // 16) == H // 8` from a U-Net's
skip connections. This module turns them into rules a person can read and
`forward` can check: "H must be a multiple of 16", "W must be at least 7".

Each condition on one size is made of floor divisions by constants, so its
truth repeats with the least common multiple of those divisors; scanning
two periods decides it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..ir import symbolic as sy
from ..ir.nodes import Check, DimRule, Port
from ..ir.symbolic import Expr, Sym

_MAX_PERIOD = 1024
_MAX_SCAN = 20_000  # sizes tried for one rule; past it, the rule is the condition itself


@dataclass(frozen=True)
class Rules:
    """rules: what forward checks; impossible: checks no size satisfies."""

    rules: tuple[DimRule, ...]
    impossible: tuple[Check, ...]


def dim_rules(inputs: tuple[Port, ...], checks: list[Check]) -> Rules:
    """Rules for the runtime sizes (symbols keyed `dim:...`) of a model's
    inputs, from the checks that mention only them (and the model's
    parameters, `p:...`, which forward reads as attributes)."""
    where: dict[Sym, tuple[str, int]] = {}
    for port in inputs:
        for axis, dim in enumerate(port.shape):
            if isinstance(dim, Sym) and dim.key.startswith("dim:") and dim not in where:
                where[dim] = (port.code, axis)
    groups: dict[frozenset[Sym], list[Check]] = {}
    parts = [replace(c, cond=part) for c in checks for part in _conjuncts(c.cond)]
    for c in parts:
        syms = frozenset(sy.free_symbols(c.cond))
        if any(s in where for s in syms) and all(s in where or s.key.startswith("p:") for s in syms):
            groups.setdefault(syms, []).append(c)
    rules: list[DimRule] = []
    impossible: list[Check] = []
    for syms, group in sorted(groups.items(), key=lambda kv: sorted(s.label for s in kv[0])):
        first = min((s for s in syms if s in where), key=lambda s: (where[s], s.label))
        port, axis = where[first]
        if len(syms) > 1:
            rules += [DimRule(first, port, axis, cond=c.cond) for c in group]
            continue
        rule, bad = _one_size(first, port, axis, group)
        rules += rule
        impossible += bad
    return Rules(tuple(rules), tuple(impossible))


def _one_size(dim: Sym, port: str, axis: int, group: list[Check]) -> tuple[list[DimRule], list[Check]]:
    joint = sy.both(*(c.cond for c in group))
    period = 1
    for d in _divisors(joint):
        period = math.lcm(period, d)
    # Past a threshold the truth repeats with the period; a condition such as
    # `(L + 2) // 3 - 6 >= 1` crosses it near its constants times the period
    # (L = 19 here), so the scan goes that far, then two periods more.
    limit = 2 * (_largest_constant(joint) + 2) * period + 2
    if period > _MAX_PERIOD or limit > _MAX_SCAN:
        return [DimRule(dim, port, axis, cond=joint)], []
    sizes = range(1, limit)
    holds = _tester(joint, dim)
    truth = [v for v in sizes if holds(v)]
    if not truth:
        never = [c for c in group if not any(map(_tester(c.cond, dim), sizes))]
        return [], never or group[:1]
    if len(truth) == len(sizes):
        return [], []
    multiple = math.gcd(*truth)
    least = truth[0]
    if truth == [v for v in sizes if v % multiple == 0 and v >= least]:
        return [DimRule(dim, port, axis, multiple=multiple, minimum=least if least > multiple else 1)], []
    return [DimRule(dim, port, axis, cond=joint)], []


def _conjuncts(cond: Expr) -> tuple[Expr, ...]:
    return cond.args if isinstance(cond, sy.Op) and cond.name == "and" else (cond,)


class _Unsure(Exception):
    """An expression, or a value of it, that `_integer` leaves to
    `symbolic.substitute`: anything but integer arithmetic and comparisons,
    and booleans combined by and, or, not and conditionals."""


def _tester(cond: Expr, dim: Sym) -> Callable[[int], bool]:
    """Whether `cond` folds to TRUE when `value` replaces `dim`
    (`symbolic.substitute`), as a function of `value`. Each part of the condition is compiled
    once into Python functions of the size (`_integer`), so that a scan
    does not rebuild and fold symbolic expressions for every size (it was
    two thirds of checking examples/unet.lego). A part, or a value, those
    functions are unsure of is substituted."""
    parts = []
    for part in _conjuncts(cond):
        try:
            parts.append((part, _integer(part, dim.key)))
        except _Unsure:
            parts.append((part, None))

    def holds(value: int) -> bool:
        for part, fast in parts:
            if fast is not None:
                try:
                    result = fast(value)
                except _Unsure:
                    result = None
                if result is not None:
                    if result == True:  # noqa: E712  (1 as well, as Const(1) == TRUE)
                        continue
                    return False
            # What the part folds to: TRUE when it holds (a conjunction folds
            # to TRUE just when each of its parts does).
            if sy.substitute(part, {dim.key: sy.Const(value)}) != sy.TRUE:
                return False
        return True

    return holds


def _integer(e: Expr, key: str) -> Callable[[int], int | bool]:
    """`e` as a Python function of the symbol `key`'s value: the constant
    `substitute` folds `e` to when that is an int or a bool. Integer
    arithmetic is exact, so Python's `+ * // % min max` and comparisons give
    what symbolic folding gives; whatever could differ (floats, strings, a
    division by zero, a non-boolean under `and`) raises `_Unsure`, when
    compiled or when run."""
    if isinstance(e, sy.Const):
        value = e.value
        if type(value) is not int and type(value) is not bool:
            raise _Unsure
        return lambda x: value
    if isinstance(e, Sym):
        if e.key != key:
            raise _Unsure
        return lambda x: x
    if isinstance(e, sy.Poly):
        constant = e.const
        terms = [(_integer(mono, key), c) for mono, c in e.terms]
        if type(constant) is not int or any(type(c) is not int for _, c in terms):
            raise _Unsure

        def poly(x: int) -> int:
            total = constant
            for term, c in terms:
                total += c * _int(term(x))
            return total

        return poly
    if isinstance(e, sy.Monomial):
        factors = [_integer(f, key) for f in e.factors]

        def product(x: int) -> int:
            total = 1
            for factor in factors:
                total *= _int(factor(x))
            return total

        return product
    if not isinstance(e, sy.Op):
        raise _Unsure
    name = e.name
    if name == "cmp":
        op = e.args[0].value  # type: ignore[union-attr]
        a, b = _integer(e.args[1], key), _integer(e.args[2], key)
        test = _COMPARE[op]
        return lambda x: test(_int(a(x)), _int(b(x)))
    args = [_integer(a, key) for a in e.args]
    if name in ("floordiv", "exactdiv", "mod"):
        a, b = args

        def divide(x: int) -> int:
            p, q = _int(a(x)), _int(b(x))
            if q == 0:
                raise _Unsure
            return p % q if name == "mod" else p // q

        return divide
    if name in ("min", "max"):
        fold = min if name == "min" else max
        return lambda x: fold([_int(f(x)) for f in args])
    if name in ("and", "or"):
        want = name == "and"

        def logic(x: int) -> bool:
            values = [_bool(f(x)) for f in args]  # all of them, as substitute folds each
            return all(values) if want else any(values)

        return logic
    if name == "not":
        (a,) = args
        return lambda x: not _bool(a(x))
    if name == "cond":
        c, a, b = args

        def choose(x: int) -> int | bool:
            test, yes, no = _bool(c(x)), a(x), b(x)
            return yes if test else no

        return choose
    raise _Unsure


_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "==": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
}


def _int(value: object) -> int:
    if type(value) is not int:
        raise _Unsure
    return value  # type: ignore[return-value]


def _bool(value: object) -> bool:
    if type(value) is not bool:
        raise _Unsure
    return value  # type: ignore[return-value]


def _divisors(e: Expr) -> list[int]:
    found = []
    if isinstance(e, sy.Op):
        if e.name in ("floordiv", "exactdiv", "mod") and isinstance(e.args[1], sy.Const) and isinstance(e.args[1].value, int):
            found.append(abs(e.args[1].value) or 1)
        for a in e.args:
            found += _divisors(a)
    elif isinstance(e, sy.Poly):
        for m, _ in e.terms:
            found += _divisors(m)
    elif isinstance(e, sy.Monomial):
        for f in e.factors:
            found += _divisors(f)
    return found


def _largest_constant(e: Expr) -> int:
    if isinstance(e, sy.Const):
        return abs(int(e.value)) if isinstance(e.value, (int, float)) and not isinstance(e.value, bool) else 0
    if isinstance(e, sy.Poly):
        return max([abs(int(e.const))] + [max(abs(int(c)), _largest_constant(m)) for m, c in e.terms])
    parts = e.factors if isinstance(e, sy.Monomial) else e.args if isinstance(e, sy.Op) else ()
    return max([0] + [_largest_constant(x) for x in parts])


def describe(rule: DimRule) -> str:
    """The rule in words, e.g. `H must be a multiple of 16`."""
    if rule.cond is not None:
        return f"{rule.dim} must satisfy {sy.to_text(rule.cond)}"
    parts = []
    if rule.multiple > 1:
        parts.append(f"a multiple of {rule.multiple}")
    if rule.minimum > 1:
        parts.append(f"at least {rule.minimum}")
    return f"{rule.dim} must be " + " and ".join(parts)
