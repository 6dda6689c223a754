"""rearrange and reduce: the generated torch code equals einops on random
patterns (a differential test), and pattern mistakes are diagnostics whose
column points inside the pattern string."""

from __future__ import annotations

import math

import einops
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError


def _groups(draw, items: list[str], max_size: int = 3) -> list[list[str]]:
    """Split items into consecutive groups."""
    groups, i = [], 0
    while i < len(items):
        size = draw(st.integers(1, max_size))
        groups.append(items[i : i + size])
        i += size
    return groups


def _side(groups: list[list[str]]) -> str:
    return " ".join(g[0] if len(g) == 1 else "(" + " ".join(g) + ")" for g in groups)


@st.composite
def cases(draw):
    n = draw(st.integers(1, 4))
    names = [f"a{i}" for i in range(n)]
    size = {name: draw(st.integers(1, 4)) for name in names}
    order = draw(st.permutations(names))
    left = _groups(draw, list(order))
    # unit axes on the left
    for _ in range(draw(st.integers(0, 1))):
        left.insert(draw(st.integers(0, len(left))), ["1"])
    ellipsis = draw(st.booleans())
    extra = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))] if ellipsis else []
    if ellipsis:
        left.insert(draw(st.integers(0, len(left))), ["..."])
    reduction = draw(st.sampled_from([None, "mean", "max", "min", "sum"]))
    kept = names if reduction is None else [a for a in names if draw(st.booleans())]
    right_items = list(draw(st.permutations(kept)))
    if ellipsis:
        right_items.insert(draw(st.integers(0, len(right_items))), "...")
    right = _groups(draw, right_items)
    for _ in range(draw(st.integers(0, 1))):
        right.insert(draw(st.integers(0, len(right))), [draw(st.sampled_from(["1", "()"]))])
    right = [["()"] if g == ["()"] else g for g in right]
    # sizes: every axis of a split group but (maybe) one
    given = {}
    for g in left:
        real = [a for a in g if a not in ("1", "...")]
        if len(real) > 1:
            omit = draw(st.sampled_from(real + [None]))
            given.update({a: size[a] for a in real if a != omit})
    dims = []
    for g in left:
        if g == ["..."]:
            dims += extra
        elif g == ["1"]:
            dims.append(1)
        else:
            dims.append(math.prod(size[a] for a in g))
    pattern = f"{_side(left)} -> {' '.join('()' if g == ['()'] else _side([g]) for g in right)}".strip()
    return pattern, dims, given, reduction


@settings(max_examples=300, deadline=None)
@given(cases())
def test_generated_code_equals_einops(case):
    pattern, dims, given, reduction = case
    if not dims:
        return
    sizes = " ".join(f"{k}={v}" for k, v in given.items())
    op = f'rearrange "{pattern}"' if reduction is None else f'reduce "{pattern}" {reduction}'
    spec = f"model M():\n    input [{', '.join(map(str, dims))}]\n    {op} {sizes}\n"
    code = compile_source(spec, "p.lego").code
    assert "einops" not in code
    model = load_module(code).M()
    x = torch.randn(2, *dims)
    left, right = pattern.split("->")
    einops_pattern = f"batch {left.strip()} -> batch {right.strip()}"
    if reduction is None:
        expected = einops.rearrange(x, einops_pattern, **given)
        assert torch.equal(model(x), expected), (pattern, dims, given)
    else:
        expected = einops.reduce(x, einops_pattern, reduction, **given)
        assert torch.allclose(model(x), expected, atol=1e-6), (pattern, dims, given, reduction)


def test_symbolic_sizes_stay_symbolic():
    spec = 'block patches(p)(x):\n    return x -> rearrange "c (h p1) (w p2) -> (h w) (p1 p2 c)" p1=p p2=p\n\nmodel M():\n    input x: [3, H, W]\n    output y = x -> patches 4\n'
    result = compile_source(spec, "p.lego")
    assert "x.unflatten(3, (-1, self.p))" in result.code
    assert ".unflatten(2, (-1, self.p))" in result.code
    (ir,) = [c for c in result.analysis.classes if c.kind == "model"]
    assert [(str(r.dim), r.multiple) for r in ir.dim_rules] == [("H", 4), ("W", 4)]
    model = load_module(result.code).M()
    x = torch.randn(2, 3, 8, 12)
    assert torch.equal(model(x), einops.rearrange(x, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=4, p2=4))
    with pytest.raises(AssertionError, match="W must be a multiple of 4"):
        model(torch.randn(2, 3, 8, 10))


LINE = '    rearrange "{}" {}\n'


@pytest.mark.parametrize(
    "pattern, sizes, dims, column, message",
    [
        ("c (h p1) (w p2) -> (h w) (p1 p2 c)", "p1=15 p2=16", "3, 224, 224", 18, "does not split into `(h p1)` with p1 = 15: it is not divisible by 15"),
        ("c (h p1 w -> c h p1 w", "p1=2", "3, 8, 8", 18, "unbalanced `(`"),
        ("c h w) -> c h w", "", "3, 8, 8", 21, "unbalanced `)`"),
        ("c h w -> c h q", "", "3, 8, 8", 29, "axis `q` is not on the input side"),
        ("c h h -> c h", "", "3, 8, 8", 20, "appears twice"),
        ("c h w -> c h", "", "3, 8, 8", 20, "axis `w` disappears"),
        ("c h -> h c", "", "3, 8, 8", 16, "names 2 axes, but the input [3, 8, 8] has 3"),
        ("c h w -> c (h w) -> c", "", "3, 8, 8", 33, "one `->`"),
        ("c (h w) x -> c h w x", "", "3, 8, 8", 18, "give the size of all but one of `h`, `w`"),
        ("c h w -> c (h 2 w)", "", "3, 8, 8", 30, "only 1 may stand for an unnamed axis"),
        ("c h w -> c h w", "q=2", "3, 8, 8", 32, "`q` is not an axis of the pattern"),
        ("c ... -> ... c", "", "3, 8, 8", None, None),
    ],
)
def test_pattern_errors_point_inside_the_string(pattern, sizes, dims, column, message):
    spec = f"model M():\n    input [{dims}]\n" + LINE.format(pattern, sizes)
    if message is None:
        check_source(spec, "p.lego")
        return
    with pytest.raises(SpecError) as info:
        check_source(spec, "p.lego")
    found = [(d.span.line, d.span.column, d.message) for d in info.value.diagnostics]
    assert any((l, c) == (3, column) and message in m for l, c, m in found), found


def test_reduce_needs_a_known_reduction():
    with pytest.raises(SpecError) as info:
        check_source('model M():\n    input [3, 4]\n    reduce "c n -> c" median\n', "p.lego")
    (diag,) = info.value.diagnostics
    assert (diag.span.line, diag.span.column) == (3, 23)
    assert "one of mean, max, min, sum" in diag.message
