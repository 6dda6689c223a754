"""Sizes a block forces equal are one constructor argument (legoc/analysis/unify.py).

Differential: the generated class, built with the arguments its docstring
and signature state, runs in torch on the shapes legoc states, with the
output shape legoc infers; a call whose tensors break the equality is
still the shape diagnostic at the call, and torch rejects it too.
"""

from __future__ import annotations

import pytest
import torch

from conftest import load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy
from legoc.tools.instance import call_block

JOIN = """\
block join(c)(a, b):
    x = a -> conv c
    y = b -> conv c
    return (x, y, a) -> add

model M():
    input x: [8, 32, 32]
    y = x -> conv 8
    output z = (x, y) -> join 8
"""


def _block(analysis, name: str):
    return next(c for c in analysis.classes if c.name == name and c.kind == "block")


def _shapes(ir) -> list[str]:
    return [f"{p.name} [{', '.join(sy.to_text(e) for e in p.shape)}]" for p in ir.inputs]


def test_a_size_an_add_forces_equal_to_a_parameter_is_that_parameter():
    compiled = compile_source(JOIN, "t.lego")
    ir = _block(compiled.analysis, "join")
    assert [s.code for s in ir.size_params] == ["b_channels"]  # not in_channels: it must be c
    assert _shapes(ir) == ["a [c, H, W]", "b [b_channels, H, W]"]  # b's H and W are a's
    assert "def __init__(self, b_channels, c) -> None:" in compiled.code
    assert "Inputs: a [B, c, H, W], b [B, b_channels, H, W].\n    Output: [B, c, H, W]." in compiled.code
    assert "y = self.conv2(b)  # [B, c, H, W]" in compiled.code
    assert "self.join = Join(8, 8)" in compiled.code
    module = load_module(compiled.code)
    # The signature's arguments, in its order, build a class that runs on the stated shapes.
    join = module.Join(3, 8)
    assert join(torch.randn(2, 8, 5, 7), torch.randn(2, 3, 5, 7)).shape == (2, 8, 5, 7)
    assert module.M()(torch.randn(2, 8, 32, 32)).shape == (2, 8, 32, 32)


@pytest.mark.parametrize(
    "shapes, c, accepted",
    [
        ([(8, 5, 7), (3, 5, 7)], 8, True),
        ([(4, 5, 7), (3, 5, 7)], 8, False),  # a's channels are not c
        ([(8, 5, 7), (3, 5, 6)], 8, False),  # b's W is not a's
        ([(8, 5, 7), (3, 4, 7)], 8, False),  # b's H is not a's
    ],
)
def test_a_call_that_breaks_the_equality_is_rejected_as_torch_rejects_it(shapes, c, accepted):
    compiled = compile_source(JOIN, "t.lego")
    call = call_block(compiled.analysis, "join", shapes, {"c": c})
    assert (call.errors == ()) == accepted, call.errors
    module = load_module(compiled.code)
    join = module.Join(shapes[1][0], c)  # what the signature takes: b_channels, c
    inputs = [torch.randn(2, *shape) for shape in shapes]
    if accepted:
        assert call.args == (shapes[1][0], c)
        assert join(*inputs).shape == (2, *(sy.value_of(e) for e in call.outputs[0]))
    else:
        assert all(e.startswith("LG301: `add`") for e in call.errors)
        with pytest.raises(RuntimeError):
            join(*inputs)


def test_the_shape_diagnostic_still_fires_at_a_call_that_breaks_the_equality():
    spec = JOIN.replace("y = x -> conv 8", "y = x -> conv 4").replace("join 8", "join 4")
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    (diag,) = info.value.diagnostics
    assert diag.code == "LG301"
    assert (diag.span.line, diag.span.column) == (4, 25)
    assert "[4, 32, 32] and [4, 32, 32] and [8, 32, 32]" in diag.message
    assert [(n.message, n.span.line, n.span.column) for n in diag.notes] == [("in this call of `join`", 9, 26)]


def test_two_inferred_sizes_become_the_first_inputs():
    spec = """\
block both()(a, b):
    return (a, b) -> add

block joined(c)(a, b):
    return (a, b) -> cat -> conv c

model M():
    input x: [8, 16, 16]
    y = x -> conv 8
    s = (x, y) -> both
    output z = (s, y) -> joined 4
"""
    compiled = compile_source(spec, "t.lego")
    both = _block(compiled.analysis, "both")
    assert _shapes(both) == ["a [in_channels, H, W]", "b [in_channels, H, W]"]
    assert both.size_params == ()
    joined = _block(compiled.analysis, "joined")
    # `cat` forces the other axes equal, not the channels.
    assert _shapes(joined) == ["a [in_channels, H, W]", "b [b_channels, H, W]"]
    assert [s.code for s in joined.size_params] == ["in_channels", "b_channels"]
    assert "self.joined = Joined(8, 8, 4)" in compiled.code
    module = load_module(compiled.code)
    assert module.Joined(8, 3, 4)(torch.randn(1, 8, 6, 5), torch.randn(1, 3, 6, 5)).shape == (1, 4, 6, 5)
    assert module.M()(torch.randn(1, 8, 16, 16)).shape == (1, 4, 16, 16)


def test_a_size_forced_equal_to_a_constant_is_that_constant():
    spec = """\
block widen()(x):
    y = x -> conv 16
    return (x, y) -> add

model M():
    input x: [16, 8, 8]
    output z = x -> widen
"""
    compiled = compile_source(spec, "t.lego")
    ir = _block(compiled.analysis, "widen")
    assert _shapes(ir) == ["x [16, H, W]"] and ir.size_params == ()
    assert "self.widen = Widen()" in compiled.code
    assert "self.conv = nn.Conv2d(16, 16, kernel_size=3, padding=1)" in compiled.code
    assert load_module(compiled.code).M()(torch.randn(1, 16, 8, 8)).shape == (1, 16, 8, 8)
    assert call_block(compiled.analysis, "widen", [(8, 4, 4)]).errors != ()


def test_a_size_that_broadcasts_is_not_unified():
    # s is [in_channels, 1, 1]: its 1s broadcast over x's H and W, which stay symbolic.
    spec = """\
block gate()(x):
    s = x -> avgpool -> sigmoid
    return (x, s) -> mul

model M():
    input x: [8, 12, 10]
    output z = x -> gate
"""
    compiled = compile_source(spec, "t.lego")
    ir = _block(compiled.analysis, "gate")
    assert _shapes(ir) == ["x [in_channels, H, W]"]
    assert "Output: [B, in_channels, H, W]." in compiled.code
    assert load_module(compiled.code).M()(torch.randn(2, 8, 12, 10)).shape == (2, 8, 12, 10)


def test_a_check_under_a_condition_forces_nothing():
    # The add happens only for stride 1 (`shortcut none`): in_channels stays an argument.
    spec = """\
block unit(c, stride=1):
    res add < conv c stride=stride > shortcut none

model M():
    input x: [8, 8, 8]
    x = x -> unit 8
    output z = x -> unit 16 stride=2
"""
    compiled = compile_source(spec, "t.lego")
    ir = _block(compiled.analysis, "unit")
    assert [s.code for s in ir.size_params] == ["in_channels"]
    assert "Unit(8, 16, stride=2)" in compiled.code


def test_a_product_forces_its_inner_sizes_equal():
    # matmul's inner sizes: b's rows must be x's width d, so b is [d, b_features].
    spec = """\
block mix(d)(a, b):
    x = a -> linear d
    return (x, b) -> matmul

model M():
    input a: [5, 8]
    input b: [16, 7]
    output z = (a, b) -> mix 16
"""
    compiled = compile_source(spec, "t.lego")
    ir = _block(compiled.analysis, "mix")
    assert _shapes(ir) == ["a [T, in_features]", "b [d, b_features]"]
    assert [s.code for s in ir.size_params] == ["in_features"]
    module = load_module(compiled.code)
    assert module.Mix(8, 16)(torch.randn(2, 5, 8), torch.randn(2, 16, 7)).shape == (2, 5, 7)
    assert module.M()(torch.randn(2, 5, 8), torch.randn(2, 16, 7)).shape == (2, 5, 7)
    assert call_block(compiled.analysis, "mix", [(5, 8), (12, 7)], {"d": 16}).errors != ()
