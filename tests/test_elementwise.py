"""Elementwise joins with PyTorch's broadcasting (`mul`, `sub`, `div`,
`add`), differential against torch: the shapes legoc infers are the shapes
torch computes, a squeeze-and-excitation block written in .lego is
torchvision's, and broadcasting mismatches are diagnostics."""

from __future__ import annotations

import pytest
import torch
import torchinfo

from conftest import load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy
from legoc.tools.instance import bind_inputs, instantiate
from legoc.tools.statedict import state_dict_layout
from legoc.tools.summary import summarize


def _compile(spec: str, model: str = "M"):
    compiled = compile_source(spec, "t.lego")
    return compiled, getattr(load_module(compiled.code), model)


def _out_shape(compiled, model: str = "M", name: str | None = None):
    ir = next(c for c in compiled.analysis.classes if c.name == model)
    port = ir.outputs[0] if name is None else next(p for p in ir.outputs if p.name == name)
    return tuple(sy.value_of(e) for e in port.shape)


def _error(spec: str):
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return info.value.diagnostics[0]


OPS = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize(
    "a, b, out",
    [
        ([4, 6, 6], [4, 1, 1], [4, 6, 6]),
        ([4, 1, 1], [4, 6, 6], [4, 6, 6]),
        ([1, 6, 1], [4, 1, 5], [4, 6, 5]),
        ([4, 6, 6], [4, 6, 6], [4, 6, 6]),
        ([3, 5], [1, 5], [3, 5]),
    ],
)
def test_broadcast_shapes_and_values_are_torchs(op, a, b, out):
    spec = (
        "model M():\n"
        f"    input a: [{', '.join(map(str, a))}]\n"
        f"    input b: [{', '.join(map(str, b))}]\n"
        f"    output y = (a, b) -> {op}\n"
    )
    compiled, cls = _compile(spec)
    assert _out_shape(compiled) == tuple(out)
    x, y = torch.randn(2, *a), torch.rand(2, *b) + 0.5
    got = cls()(x, y)
    want = OPS[op](x, y)
    assert got.shape == want.shape == (2, *out)
    assert torch.equal(got, want)


@pytest.mark.parametrize("op, symbol", [("add", "+"), ("sub", "-"), ("mul", "*"), ("div", "/")])
def test_generated_code_is_a_plain_operator(op, symbol):
    spec = f"model M():\n    input a: [4, 6, 6]\n    input b: [4, 1, 1]\n    output y = (a, b) -> {op}\n"
    compiled, _ = _compile(spec)
    assert f"y = a {symbol} b  # [B, 4, 6, 6]" in compiled.code


@pytest.mark.parametrize("op", sorted(OPS))
def test_parallel_branches_join_elementwise(op):
    spec = f"model M():\n    input [4, 6, 6]\n    {op} < conv 4 | avgpool; sigmoid >\n"
    compiled, cls = _compile(spec)
    ir = next(c for c in compiled.analysis.classes if c.name == "M")
    assert tuple(sy.value_of(e) for e in ir.outputs[0].shape) == (4, 6, 6)
    module = cls().eval()
    x = torch.randn(2, 4, 6, 6)
    want = OPS[op](module.conv(x), torch.sigmoid(x.mean(dim=(2, 3), keepdim=True)))
    assert torch.allclose(module(x), want, atol=1e-6)


@pytest.mark.parametrize(
    "a, b, line_col",
    [
        ("[4, 6, 6]", "[4, 5, 6]", (4, 26)),
        ("[4, 6, 6]", "[2, 1, 1]", (4, 26)),
        ("[3, 6]", "[6, 3]", (4, 26)),
    ],
)
@pytest.mark.parametrize("op", ["mul", "sub", "div"])
def test_a_mismatch_is_a_diagnostic_with_both_shapes(op, a, b, line_col):
    spec = f"model M():\n    input a: {a}\n    input b: {b}\n    output y = (a, b) -> {op}\n"
    d = _error(spec)
    assert (d.code, d.span.line, d.span.column) == ("LG301", *line_col)
    assert f"`{op}` broadcasts" in d.message and a in d.message and b in d.message


def test_a_rank_mismatch_is_a_diagnostic():
    d = _error("model M():\n    input a: [4, 6, 6]\n    input b: [6]\n    output y = (a, b) -> mul\n")
    assert (d.code, d.span.line, d.span.column) == ("LG302", 4, 26)


def test_symbolic_sizes_broadcast_when_one_is_1_and_else_must_be_equal():
    ok = "model M():\n    input a: [C, H, W]\n    input b: [C, 1, 1]\n    output y = (a, b) -> mul\n"
    analysis = check_source(ok, "t.lego")
    ir = next(c for c in analysis.classes if c.name == "M")
    assert [sy.to_text(e) for e in ir.outputs[0].shape] == ["C", "H", "W"]
    d = _error("model M():\n    input a: [8, H, W]\n    input b: [4, 1, 1]\n    output y = (a, b) -> mul\n")
    assert (d.code, d.span.line) == ("LG301", 4) and "[8, H, W]" in d.message and "[4, 1, 1]" in d.message


SE = """\
block squeeze_excitation(input_channels, squeeze_channels)(x):
    scale = x -> avgpool -> fc1: conv squeeze_channels kernel_size=1 -> activation: relu -> fc2: conv input_channels kernel_size=1 -> scale_activation: sigmoid
    return (x, scale) -> mul

model M(c=24, squeeze=8):
    input [c, H, W]
    squeeze_excitation c squeeze
"""


def _torchvision_squeeze_excitation(input_channels: int, squeeze_channels: int) -> torch.nn.Module:
    """torchvision.ops.SqueezeExcitation; where torchvision cannot be
    imported (its compiled ops need the torch it was built for), the
    module as torchvision 0.28's torchvision/ops/misc.py defines it."""
    try:
        from torchvision.ops import SqueezeExcitation

        return SqueezeExcitation(input_channels, squeeze_channels)
    except (ImportError, RuntimeError):
        pass

    class SqueezeExcitation(torch.nn.Module):
        def __init__(self, input_channels, squeeze_channels, activation=torch.nn.ReLU, scale_activation=torch.nn.Sigmoid):
            super().__init__()
            self.avgpool = torch.nn.AdaptiveAvgPool2d(1)
            self.fc1 = torch.nn.Conv2d(input_channels, squeeze_channels, 1)
            self.fc2 = torch.nn.Conv2d(squeeze_channels, input_channels, 1)
            self.activation = activation()
            self.scale_activation = scale_activation()

        def _scale(self, input):
            scale = self.avgpool(input)
            scale = self.fc1(scale)
            scale = self.activation(scale)
            scale = self.fc2(scale)
            return self.scale_activation(scale)

        def forward(self, input):
            scale = self._scale(input)
            return scale * input

    return SqueezeExcitation(input_channels, squeeze_channels)


def test_squeeze_excitation_is_torchvisions():
    compiled, cls = _compile(SE)
    ours = cls().eval()
    theirs = _torchvision_squeeze_excitation(24, 8).eval()
    ours.squeeze_excitation.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(3, 24, 7, 5)
    assert torch.equal(ours(x), theirs(x))
    assert "out = x * scale" in compiled.code


def test_squeeze_excitation_summary_matches_torchinfo_and_counts_the_mul():
    compiled, cls = _compile(SE)
    ir = next(c for c in compiled.analysis.classes if c.name == "M")
    instance = instantiate(compiled.analysis, "M", bind_inputs(ir, [(None, (24, 7, 5))]))
    summary = summarize(instance, 2)
    stats = torchinfo.summary(cls(), input_data=[torch.randn(2, 24, 7, 5)], depth=100, verbose=0, mode="eval")
    assert summary.totals.params == stats.total_params == 24 * 8 + 8 + 8 * 24 + 24
    assert summary.totals.mult_adds == stats.total_mult_adds
    (mul,) = [row for row in summary.rows if row.kind == "mul"]
    assert mul.other_ops == 2 * 24 * 7 * 5
    assert [e.key for e in state_dict_layout(compiled.analysis, "M")] == list(cls().state_dict())


def test_torchs_names_hint_at_the_joins():
    d = _error("model M():\n    input a: [4, 6, 6]\n    output y = (a, a) -> multiply\n")
    assert d.code == "LG201" and d.hint is not None and "`mul`" in d.hint
