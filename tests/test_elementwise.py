"""Elementwise joins with PyTorch's broadcasting (`mul`, `sub`, `div`,
`add`), differential against torch: the shapes legoc infers are the shapes
torch computes, a squeeze-and-excitation block written in .lego is
torchvision's, and broadcasting mismatches are diagnostics."""

from __future__ import annotations

import pytest
import torch
import torchinfo

from conftest import load_module, torchvision_definitions
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import instantiate
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
    """torchvision.ops.SqueezeExcitation, from torchvision's source."""
    return torchvision_definitions("ops/misc.py", "SqueezeExcitation")["SqueezeExcitation"](input_channels, squeeze_channels)


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


# ------------------------------------------------------------ scaling by a constant


@pytest.mark.parametrize("op, symbol", [("add", "+"), ("sub", "-"), ("mul", "*"), ("div", "/")])
def test_a_constant_operand_is_a_plain_operator(op, symbol):
    spec = f"block b(alpha)(x):\n    return x -> relu -> {op} alpha\n\nmodel M():\n    input [4, 6, 6]\n    conv 4\n    {op} 0.5\n    b 3\n"
    compiled, cls = _compile(spec)
    assert f"x = x {symbol} 0.5  # [B, 4, 6, 6]" in compiled.code
    assert f"out = out {symbol} self.alpha" in compiled.code
    assert _out_shape(compiled) == (4, 6, 6)
    module = cls().eval()
    x = torch.randn(2, 4, 6, 6)
    assert torch.equal(module(x), OPS[op](torch.relu(OPS[op](module.conv(x), 0.5)), 3))


def test_a_constant_operand_counts_one_op_per_element():
    compiled, _ = _compile("model M():\n    input [4, 6, 6]\n    mul 0.5\n")
    ir = next(c for c in compiled.analysis.classes if c.name == "M")
    (row,) = summarize(instantiate(compiled.analysis, "M", bind_inputs(ir, [(None, (4, 6, 6))])), 3).rows
    assert (row.kind, row.other_ops, row.params) == ("mul", 3 * 4 * 6 * 6, 0)


@pytest.mark.parametrize(
    "line, code, col, words",
    [
        ('mul "a"', "LG401", 9, "takes a number"),
        ("s: mul 0.5", "LG204", 5, "no module to name"),
        ("mul true", "LG401", 9, "takes a number"),
    ],
)
def test_constant_operand_misuse_is_a_diagnostic(line, code, col, words):
    d = _error(f"model M():\n    input [4, 6, 6]\n    {line}\n")
    assert (d.code, d.span.line, d.span.column) == (code, 3, col) and words in d.message


# ------------------------------------------------------------ learned tensors

LAYER_SCALE = """\
# A ConvNeXt-style residual: torchvision.models.convnext.CNBlock's
# `self.layer_scale * self.block(input) + input` (stochastic depth is the
# identity in eval mode).
block cnblock(dim, layer_scale=1e-6)(x):
    layer_scale: param [dim, 1, 1] init=layer_scale
    y = x -> block: < conv dim kernel_size=7 padding=3 groups=dim; relu; conv dim kernel_size=1 >
    z = (layer_scale, y) -> mul
    return (z, x) -> add

model M(c=8):
    input x: [c, H, W]
    output y = x -> stage: cnblock c
"""


def test_a_learned_tensor_is_an_nn_parameter_with_its_exact_key():
    compiled, cls = _compile(LAYER_SCALE)
    assert "self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))" in compiled.code
    assert "z = self.layer_scale * y" in compiled.code
    module = cls()
    state = module.state_dict()
    assert list(state) == [e.key for e in state_dict_layout(compiled.analysis, "M")]
    assert state["stage.layer_scale"].shape == (8, 1, 1)
    # torchvision: nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
    assert torch.equal(state["stage.layer_scale"], torch.ones(8, 1, 1) * 1e-6)
    assert isinstance(module.stage.layer_scale, torch.nn.Parameter)
    entry = next(e for e in state_dict_layout(compiled.analysis, "M") if e.key == "stage.layer_scale")
    assert (entry.shape, entry.buffer) == ((8, 1, 1), False)
    ir = next(c for c in compiled.analysis.classes if c.name == "M")
    assert sy.value_of(sy.substitute(ir.n_params, {"p:c": sy.Const(8)})) == sum(p.numel() for p in module.parameters()) == 8 * 49 + 8 + 64 + 8 + 8


def test_a_learned_tensor_scales_as_torchvision_writes_it():
    compiled, cls = _compile(LAYER_SCALE)
    module = cls().eval()
    with torch.no_grad():
        module.stage.layer_scale.copy_(torch.randn(8, 1, 1))
    x = torch.randn(2, 8, 5, 7)
    block = module.stage.block
    assert torch.equal(module(x), module.stage.layer_scale * block(x) + x)


def test_a_learned_tensor_is_counted_as_torchinfo_counts_it():
    compiled, cls = _compile(LAYER_SCALE)
    ir = next(c for c in compiled.analysis.classes if c.name == "M")
    summary = summarize(instantiate(compiled.analysis, "M", bind_inputs(ir, [(None, (8, 5, 7))])), 2)
    stats = torchinfo.summary(cls(), input_data=[torch.randn(2, 8, 5, 7)], depth=100, verbose=0, mode="eval")
    assert summary.totals.params == stats.total_params == sum(p.numel() for p in cls().parameters())
    assert summary.totals.mult_adds == stats.total_mult_adds
    (row,) = [r for r in summary.rows if r.path == "stage.layer_scale"]
    assert (row.kind, row.params, row.shape) == ("Parameter", 8, (8, 1, 1))


def _block(line: str, ret: str = "(x, w) -> mul", c: int = 4) -> str:
    return f"block b(c)(x):\n    {line}\n    return {ret}\n\nmodel M():\n    input [4, 6, 6]\n    b {c}\n"


@pytest.mark.parametrize(
    "spec, code, line, col, words",
    [
        (_block("w: parm [c, 1, 1] init=1.0"), "LG101", 2, 8, "expected `param`"),
        (_block("w: param [c, 1, 1]"), "LG402", 2, 5, "needs its initial value"),
        (_block("w: param [c, 1, 1] init=1.0 std=2"), "LG402", 2, 33, "takes `init=`"),
        (_block("w: param [c, 0] init=1.0"), "LG401", 2, 18, "positive integer"),
        (_block("w: param [c, 1, 1] init=1.0", "x -> mul w"), "LG404", 3, 17, "joins as a tuple"),
        (_block("w: param [c, 1, 1] init=1.0", "w -> relu"), "LG404", 3, 12, "operand of"),
        (_block("w: param [c, 1, 1] init=1.0", "(x, w) -> cat"), "LG404", 3, 16, "operand of"),
        (_block("w: param [c, 1, 1, 1] init=1.0"), "LG302", 3, 22, "no batch axis"),
        (_block("w: param [c, 1, 1] init=1.0", c=5), "LG301", 3, 22, "[5, 1, 1]"),
        (_block("w: param [c, 1, 1] init=1.0", "(w, w) -> mul"), "LG404", 3, 22, "only has no batch axis"),
        ("model M():\n    input [4, 6, 6]\n    w: param [4, 1, 1] init=1.0\n", "LG404", 3, 5, "named tensors"),
    ],
)
def test_learned_tensor_misuse_is_a_diagnostic(spec, code, line, col, words):
    d = _error(spec)
    assert (d.code, d.span.line, d.span.column) == (code, line, col), d.message
    assert words in d.message


def test_elementwise_joins_and_learned_tensors_export():
    """torch.export traces the operators and the parameter (as the examples'
    test does for every example)."""
    compiled, cls = _compile(LAYER_SCALE.replace("output y = x -> stage: cnblock c", "y = x -> stage: cnblock c\n    output z = y -> mul 0.5"))
    module = cls().eval()
    x = torch.randn(2, 8, 5, 7)
    exported = torch.export.export(module, (x,))
    assert torch.equal(exported.module()(x), module(x))
    assert "stage.layer_scale" in exported.state_dict
