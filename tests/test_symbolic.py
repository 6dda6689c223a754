"""The symbolic engine: simplification never changes a value (a property
test against plain Python arithmetic), and equal polynomials compare equal."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from legoc.ir import symbolic as sy

SYMS = {name: sy.Sym(f"p:{name}", name, name) for name in "abc"}
OPS = {"+": sy.add, "-": sy.sub, "*": sy.mul, "//": sy.floordiv, "%": sy.mod}


def trees(depth: int = 4):
    leaf = st.one_of(st.integers(-6, 12).map(lambda v: ("const", v)), st.sampled_from(sorted(SYMS)).map(lambda n: ("sym", n)))
    return st.recursive(
        leaf,
        lambda sub: st.one_of(
            st.tuples(st.sampled_from(sorted(OPS)), sub, sub),
            st.tuples(st.sampled_from(["min", "max"]), sub, sub),
        ),
        max_leaves=12,
    )


def build(tree):
    kind = tree[0]
    if kind == "const":
        return sy.Const(tree[1])
    if kind == "sym":
        return SYMS[tree[1]]
    a, b = build(tree[1]), build(tree[2])
    if kind in ("min", "max"):
        return sy.minimum(a, b) if kind == "min" else sy.maximum(a, b)
    return OPS[kind](a, b)


def evaluate(tree, env):
    kind = tree[0]
    if kind == "const":
        return tree[1]
    if kind == "sym":
        return env[tree[1]]
    a, b = evaluate(tree[1], env), evaluate(tree[2], env)
    return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "//": lambda: a // b, "%": lambda: a % b,
            "min": lambda: min(a, b), "max": lambda: max(a, b)}[kind]()


@settings(max_examples=400, deadline=None)
@given(trees(), st.fixed_dictionaries({n: st.integers(-8, 8) for n in "abc"}))
def test_simplification_preserves_values(tree, env):
    try:
        expected = evaluate(tree, env)
    except ZeroDivisionError:
        return
    try:
        expr = build(tree)
    except ZeroDivisionError:
        raise AssertionError("a constant division by zero must also fail in plain Python") from None
    value = sy.substitute(expr, {f"p:{n}": sy.Const(v) for n, v in env.items()})
    assert value == sy.Const(expected), f"{expr} at {env}"


@settings(max_examples=400, deadline=None)
@given(trees(), st.fixed_dictionaries({n: st.integers(-8, 8) for n in "abc"}))
def test_printed_code_evaluates_to_the_same_value(tree, env):
    try:
        expr = build(tree)
    except ZeroDivisionError:
        return
    try:
        expected = evaluate(tree, env)
    except ZeroDivisionError:
        return
    assert eval(sy.to_text(expr, code=True), {"min": min, "max": max}, dict(env)) == expected


def test_equal_polynomials_compare_equal():
    a, b = SYMS["a"], SYMS["b"]
    assert sy.mul(sy.add(a, b), sy.sub(a, b)) == sy.sub(sy.mul(a, a), sy.mul(b, b))
    assert sy.eq(sy.mul(a, 4), sy.add(sy.mul(a, 3), a)) == sy.TRUE


def test_conv_arithmetic_reads_like_hand_written_code():
    h, s = SYMS["a"], SYMS["b"]
    out = sy.add(sy.floordiv(sy.sub(sy.add(h, 2), 3), s), 1)
    assert sy.to_text(out) == "(a - 1) // b + 1"
    halved_twice = sy.floordiv(sy.floordiv(h, 2), 2)
    assert sy.to_text(halved_twice) == "a // 4"


def test_a_choice_between_the_two_sides_of_its_own_test_is_one_side():
    # The channels after `if e != in_channels: conv e`: e where it holds,
    # in_channels (which then equals e) where not.
    a, b, c = SYMS["a"], SYMS["b"], SYMS["c"]
    assert sy.cond(sy.compare("!=", a, b), a, b) == a
    assert sy.cond(sy.compare("!=", a, b), b, a) == b
    assert sy.cond(sy.compare("==", a, b), a, b) == b
    assert sy.cond(sy.compare("==", a, b), b, a) == a
    # Anything else stays a choice.
    assert sy.to_text(sy.cond(sy.compare("!=", a, b), a, c)) == "a if a != b else c"
    assert sy.to_text(sy.cond(sy.compare("<", a, b), a, b)) == "a if a < b else b"


def test_negation_reads_plainly():
    c, i, s = SYMS["a"], SYMS["b"], SYMS["c"]
    cond = sy.both(sy.eq(c, i), sy.eq(s, 1))
    assert sy.to_text(sy.negate(cond)) == "a != b or c != 1"


def test_a_conditional_takes_its_test_as_decided_in_each_branch():
    # FusedMBConv's layers under `if e != c` and `if e == c`: the channels
    # after both are `out` whichever holds, and a size computed from a
    # conditional on the same test, inside an operation, is decided too.
    e, c, out = SYMS["a"], SYMS["b"], SYMS["c"]
    h = sy.Sym("p:d", "d", "d")
    differs = sy.compare("!=", e, c)
    same = sy.negate(differs)
    assert sy.cond(same, out, sy.cond(differs, out, c)) == out
    halved = sy.cond(differs, sy.floordiv(h, 2), h)
    assert sy.to_text(sy.cond(same, sy.floordiv(halved, 2), halved)) == "d // 2"
    # x if t else (y if not t else z) is x if t else y; a test unrelated to t stays
    t, u = sy.compare("<", h, out), sy.compare("<", h, c)
    assert sy.cond(t, e, sy.cond(sy.negate(t), c, out)) == sy.cond(t, e, c)
    assert sy.to_text(sy.cond(t, e, sy.cond(u, c, out))) == "a if d < c else b if d < b else c"


def test_floordiv_cancels_a_common_constant_factor():
    # The head width of `qkv -> rearrange "t (s h d) ..." s=3 h=heads` on
    # dim * 3 channels: (3 * dim) // (3 * heads) is dim // heads.
    dim, heads = sy.Sym("dim", "dim", "dim"), sy.Sym("heads", "heads", "heads")
    assert sy.floordiv(sy.mul(dim, sy.Const(3)), sy.mul(heads, sy.Const(3))) == sy.floordiv(dim, heads)
    assert sy.to_text(sy.floordiv(sy.mul(dim, sy.Const(6)), sy.mul(heads, sy.Const(4)))) == "(dim * 3) // (heads * 2)"
    assert sy.to_text(sy.floordiv(sy.add(sy.mul(dim, sy.Const(2)), sy.Const(1)), sy.mul(heads, sy.Const(2)))) == "(dim * 2 + 1) // (heads * 2)"
    for a in range(-7, 8):
        for b in (-3, -2, 2, 3):
            assert sy.value_of(sy.substitute(sy.floordiv(sy.mul(dim, sy.Const(3)), sy.mul(heads, sy.Const(3))), {"dim": sy.Const(a), "heads": sy.Const(b)})) == (3 * a) // (3 * b)


# ------------------------------------------------ exact division (a rearrange's split)

A, N, M = SYMS["a"], SYMS["b"], SYMS["c"]


def test_an_exact_division_times_its_divisor_is_the_dividend():
    # `b t (h d) -> b h t d` with h=n_head checks that n_head divides the
    # width; merging back `b h t d -> b t (h d)` gives the width itself.
    head = sy.exact_floordiv(A, N)
    assert sy.to_text(head, code=True) == "a // b"  # written as Python's //
    assert sy.mul(head, N) == A and sy.mul(N, head) == A
    assert sy.mul(sy.mul(sy.exact_floordiv(A, sy.mul(N, M)), N), M) == A
    assert sy.mul(sy.exact_floordiv(sy.mul(A, 3), sy.mul(N, 3)), N) == sy.mul(A, 1)  # (3a) // (3b) is a // b
    assert sy.mul(sy.exact_floordiv(A, 4), 8) == sy.mul(A, 2)
    assert sy.to_text(sy.mul(sy.exact_floordiv(A, 4), 6)) == "a // 4 * 6"  # 4 does not divide 6


def test_a_floor_division_times_its_divisor_stays_as_it_is():
    assert sy.mul(sy.floordiv(A, N), N) != A
    assert sy.to_text(sy.mul(sy.floordiv(A, N), N), code=True) == "a // b * b"
    assert sy.to_text(sy.mul(sy.floordiv(A, 4), 8), code=True) == "a // 4 * 8"


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.integers(-50, 50), st.integers(-9, 9).filter(bool), st.integers(-9, 9).filter(bool))
def test_the_exact_simplification_holds_exactly_where_the_divisor_divides(a, n, m):
    env = {"p:a": sy.Const(a), "p:b": sy.Const(n), "p:c": sy.Const(m)}
    for divisor, back in ((N, sy.mul(sy.exact_floordiv(A, N), N)), (sy.mul(N, M), sy.mul(sy.mul(sy.exact_floordiv(A, sy.mul(N, M)), M), N))):
        d = sy.value_of(sy.substitute(divisor, env))
        assert back == A  # simplified without looking at values: the check makes sure d divides a
        assert (sy.substitute(back, env) == sy.Const((a // d) * d)) == (a % d == 0)
    # without the fact, the floor division keeps its value everywhere
    assert sy.substitute(sy.mul(sy.floordiv(A, N), N), env) == sy.Const((a // n) * n)


def exact_trees():
    """Trees as `trees()`, with exact divisions whose dividend is a multiple
    of the divisor by construction: ("exact", t, d) is `(t * d) // d`, and
    ("back", t, d) is `((t * d) // d) * d`, the product that cancels."""
    leaf = st.one_of(st.integers(-6, 12).map(lambda v: ("const", v)), st.sampled_from(sorted(SYMS)).map(lambda n: ("sym", n)))
    return st.recursive(
        leaf,
        lambda sub: st.tuples(st.sampled_from(sorted(OPS) + ["exact", "back"]), sub, sub),
        max_leaves=12,
    )


def build_exact(tree):
    kind = tree[0]
    if kind in ("const", "sym"):
        return build(tree)
    a, d = build_exact(tree[1]), build_exact(tree[2])
    if kind in ("exact", "back"):
        quotient = sy.exact_floordiv(sy.mul(a, d), d)
        return quotient if kind == "exact" else sy.mul(quotient, d)
    return OPS[kind](a, d)


def evaluate_exact(tree, env):
    kind = tree[0]
    if kind in ("const", "sym"):
        return evaluate(tree, env)
    a, d = evaluate_exact(tree[1], env), evaluate_exact(tree[2], env)
    if kind in ("exact", "back"):
        quotient = (a * d) // d
        return quotient if kind == "exact" else quotient * d
    return evaluate((kind, ("const", a), ("const", d)), env)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(exact_trees(), st.fixed_dictionaries({n: st.integers(-8, 8) for n in "abc"}))
def test_exact_divisions_keep_values_where_they_are_exact(tree, env):
    try:
        expected = evaluate_exact(tree, env)
    except ZeroDivisionError:
        return
    try:
        expr = build_exact(tree)
    except ZeroDivisionError:
        return
    assert sy.substitute(expr, {f"p:{n}": sy.Const(v) for n, v in env.items()}) == sy.Const(expected), f"{expr} at {env}"
    assert eval(sy.to_text(expr, code=True), {"min": min, "max": max}, dict(env)) == expected
