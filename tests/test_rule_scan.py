"""The input-size rule scan (legoc/analysis/constraints.py) decides each size with
compiled integer functions instead of symbolic substitution: the same
answers, without the cost (it was two thirds of checking U-Net)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from legoc.analysis import constraints
from legoc.ir import symbolic as sy
from legoc.compiler import check_source

ROOT = Path(__file__).resolve().parent.parent
H = sy.Sym("dim:H", "H", "H")
OTHER = sy.Sym("p:c", "c", "c")


def substituted(cond: sy.Expr, value: int) -> bool:
    """What the scan decided before: each part of the condition substituted
    and folded (a conjunction folds to TRUE just when each part does)."""
    parts = cond.args if isinstance(cond, sy.Op) and cond.name == "and" else (cond,)
    return all(sy.substitute(part, {H.key: sy.Const(value)}) == sy.TRUE for part in parts)


def _safe(build):
    """`build`, or 0 where it refuses its operands (a division by the constant 0)."""
    def make(*args):
        try:
            return build(*args)
        except (ZeroDivisionError, TypeError):
            return sy.ZERO
    return make


_odd = st.sampled_from([sy.Const(1.5), sy.Const("s"), sy.TRUE, OTHER])  # left to substitution
_ints = st.one_of(st.just(H), st.integers(-6, 20).map(sy.Const))


def _apply(build, *parts):
    return st.tuples(*parts).map(lambda args: _safe(build)(*args))


numbers = st.deferred(lambda: st.one_of(
    *[_ints] * 6, _odd,
    *(_apply(f, numbers, numbers) for f in (sy.add, sy.sub, sy.mul, sy.floordiv, sy.mod, sy.minimum, sy.maximum)),
    _apply(sy.cond, tests, numbers, numbers),
))
tests = st.deferred(lambda: st.one_of(
    _apply(sy.compare, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), numbers, numbers),
    st.sampled_from([sy.TRUE, sy.FALSE]),
    _apply(sy.both, tests, tests), _apply(sy.either, tests, tests), _apply(sy.negate, tests),
    _apply(sy.cond, tests, tests, tests),
))
expressions = st.one_of(st.lists(tests, min_size=1, max_size=4).map(lambda parts: _safe(sy.both)(*parts)), numbers)


def _outcome(decide, value: int) -> object:
    try:
        return decide(value)
    except (TypeError, ZeroDivisionError) as exc:  # substitution refuses some (`H + (H == 0)`): so must the scan
        return type(exc)


C = sy.Const
UNET = sy.both(*(sy.compare(">=", sy.floordiv(H, C(2**k)), C(1)) for k in range(5)),
               *(sy.eq(sy.floordiv(H, C(2**k)), sy.mul(sy.floordiv(H, C(2 ** (k + 1))), C(2))) for k in range(4)))


@settings(max_examples=200, deadline=None)
@given(cond=expressions)
@example(cond=UNET)
@example(cond=sy.eq(sy.floordiv(H, C(-3)), C(-1)))  # floor division, not truncation
@example(cond=sy.eq(sy.mod(sy.sub(H, C(10)), C(3)), C(2)))  # Python's modulo of a negative
@example(cond=sy.compare("<=", sy.maximum(sy.minimum(H, C(7)), C(3)), C(5)))
@example(cond=sy.either(sy.negate(sy.eq(H, C(4))), sy.cond(sy.compare("<", H, C(3)), sy.TRUE, sy.FALSE)))
@example(cond=sy.eq(sy.floordiv(C(12), sy.sub(H, C(2))), C(3)))  # divides by zero at H = 2
@example(cond=sy.compare(">", sy.mul(H, sy.add(H, C(1.5))), C(4)))  # a float: substituted
def test_the_compiled_scan_decides_as_substitution(cond):
    holds = constraints._tester(cond, H)
    values = range(-3, 40)
    assert [_outcome(holds, v) for v in values] == [_outcome(lambda v: substituted(cond, v), v) for v in values]


def test_examples_rules_need_no_substitution(monkeypatch):
    """The conditions of the shipped examples (U-Net's `H // 8 == H // 16 *
    2` ...) are decided without substituting a single size."""
    calls = []
    real = sy.substitute

    def counted(e, mapping):
        calls.append(e)
        return real(e, mapping)

    conds = []
    real_tester = constraints._tester

    def tester(cond, dim):
        conds.append(cond)
        return real_tester(cond, dim)

    monkeypatch.setattr(constraints, "_tester", tester)
    for name in ("unet.lego", "unet_bilinear.lego"):
        analysis = check_source((ROOT / "examples" / name).read_text(), name)
        assert analysis.classes
    assert conds
    monkeypatch.setattr(sy, "substitute", counted)
    for cond in conds:
        holds = real_tester(cond, [s for s in sy.free_symbols(cond)][0])
        assert any(holds(v) for v in range(1, 200))
    assert calls == []
