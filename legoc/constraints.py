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
from dataclasses import dataclass, replace

from . import symbolic as sy
from .ir import Check, DimRule, Port
from .symbolic import Expr, Sym

_MAX_PERIOD = 1024
_MAX_SCAN = 20_000  # sizes tried for one rule; past it, the rule is the condition itself


@dataclass(frozen=True)
class Rules:
    """rules: what forward checks; impossible: checks no size satisfies."""

    rules: tuple[DimRule, ...]
    impossible: tuple[Check, ...]


def dim_rules(inputs: tuple[Port, ...], checks: list[Check]) -> Rules:
    """Rules for the runtime sizes (symbols keyed `dim:...`) of a model's
    inputs, from the checks that mention only them."""
    where: dict[Sym, tuple[str, int]] = {}
    for port in inputs:
        for axis, dim in enumerate(port.shape):
            if isinstance(dim, Sym) and dim.key.startswith("dim:") and dim not in where:
                where[dim] = (port.code, axis)
    groups: dict[frozenset[Sym], list[Check]] = {}
    parts = [replace(c, cond=part) for c in checks for part in _conjuncts(c.cond)]
    for c in parts:
        syms = frozenset(sy.free_symbols(c.cond))
        if syms and all(s in where for s in syms):
            groups.setdefault(syms, []).append(c)
    rules: list[DimRule] = []
    impossible: list[Check] = []
    for syms, group in sorted(groups.items(), key=lambda kv: sorted(s.label for s in kv[0])):
        first = min(syms, key=lambda s: (where[s], s.label))
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
    truth = [v for v in sizes if _holds(joint, dim, v)]
    if not truth:
        never = [c for c in group if not any(_holds(c.cond, dim, v) for v in sizes)]
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


def _holds(cond: Expr, dim: Sym, value: int) -> bool:
    """Whether `cond` becomes TRUE with `value` for `dim`. A conjunction does
    when each of its parts does (`both` folds to TRUE just then), so the
    parts are substituted one at a time, and the first that fails decides."""
    mapping = {dim.key: sy.Const(value)}
    return all(sy.substitute(part, mapping) == sy.TRUE for part in _conjuncts(cond))


def _divisors(e: Expr) -> list[int]:
    found = []
    if isinstance(e, sy.Op):
        if e.name in ("floordiv", "mod") and isinstance(e.args[1], sy.Const) and isinstance(e.args[1].value, int):
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
