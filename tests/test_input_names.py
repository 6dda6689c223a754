"""The input's sizes by name inside a block: `in_channels` (and `in_features`
for a rank-2 or rank-1 input) is the size of the input the block receives.

Each spec runs in torch and is compared with legoc's analysis (output shape,
parameter count); the misuses (a parameter of that name, a block with several
inputs, a model, a forward-time size such as `H`) are diagnostics with codes
and positions.
"""

from __future__ import annotations

import pytest
import torch

from conftest import load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy

SEPARABLE = """
# MobileNetV1's depthwise-separable convolution: the depthwise conv has as
# many groups as its input has channels.
block separable(out, stride=1):
    conv in_channels kernel_size=3 stride=stride groups=in_channels bias=false
    bn
    relu
    conv out 1 bias=false
    bn
    relu

model M(c=8):
    input [c, 16, 16]
    separable 16
    separable 24 stride=2
"""


def run(spec: str, in_shape: tuple[int, ...], **defaults):
    """Compile `spec`, build its model `M` with `defaults`, run it; check
    the output shape and parameter count against legoc's. Returns (model, code)."""
    for name, value in defaults.items():
        spec = spec.replace(f"{name}=DEFAULT", f"{name}={value}")
    result = compile_source(spec, "t.lego")
    ir = result.analysis.defaults["M"]
    model = load_module(result.code).M().eval()
    with torch.no_grad():
        y = model(torch.randn(2, *in_shape))
    assert tuple(y.shape[1:]) == tuple(sy.value_of(d) for d in ir.output)
    assert sum(p.numel() for p in model.parameters()) == sy.value_of(ir.n_params)
    return model, result.code


@pytest.mark.parametrize("channels", [1, 3, 8, 32])
def test_depthwise_separable_block_with_several_input_channels(channels):
    spec = SEPARABLE.replace("model M(c=8)", f"model M(c={channels})")
    model, code = run(spec, (channels, 16, 16))
    assert "groups=in_channels" in code and "nn.Conv2d(\n                in_channels,\n                in_channels," in code
    first, second = model.separable1[0], model.separable2[0]
    assert (first.in_channels, first.out_channels, first.groups) == (channels, channels, channels)
    assert (second.in_channels, second.out_channels, second.groups) == (16, 16, 16)
    expected = (9 * channels + 2 * channels + channels * 16 + 2 * 16) + (9 * 16 + 2 * 16 + 16 * 24 + 2 * 24)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_block_constructor_takes_in_channels_once():
    code = compile_source(SEPARABLE, "t.lego").code
    assert "def __init__(self, in_channels, out, stride=1) -> None:" in code
    assert "Separable(c, 16)" in code


CONDITIONAL = """
block expand(expanded):
    if expanded != in_channels: conv expanded 1 bias=false
    conv expanded 3 groups=expanded bias=false

model M(c=8, e=DEFAULT):
    input [c, 12, 12]
    expand e
"""


@pytest.mark.parametrize("expanded, present", [(8, False), (16, True)])
def test_condition_on_in_channels(expanded, present):
    model, code = run(CONDITIONAL, (8, 12, 12), e=expanded)
    assert "if expanded != in_channels" in code
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == (2 if present else 1)
    assert convs[-1].groups == expanded


LINEAR = """
block mlp(hidden):
    linear hidden
    gelu
    linear in_features

model M(d=DEFAULT):
    input SHAPE
    mlp 4*d
"""


@pytest.mark.parametrize("shape", ["[10, d]", "[d]"])
@pytest.mark.parametrize("features", [6, 32])
def test_linear_block_with_in_features(shape, features):
    spec = LINEAR.replace("SHAPE", shape)
    in_shape = (10, features) if shape == "[10, d]" else (features,)
    model, code = run(spec, in_shape, d=features)
    assert "nn.Linear(hidden, in_features)" in code
    assert model.mlp[-1].out_features == features


def diagnostics(spec: str) -> list[tuple[str, int, int]]:
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return [(d.code, d.span.line, d.span.column) for d in info.value.diagnostics]


def first(spec: str):
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return info.value.diagnostics[0]


def test_parameter_named_in_channels_is_still_reserved():
    spec = "block b(in_channels):\n    conv in_channels\n\nmodel M():\n    input [3, 8, 8]\n    b 4\n"
    d = first(spec)
    assert (d.code, d.span.line, d.span.column) == ("LG204", 1, 9)
    assert "size of the block's input" in d.hint


def test_in_channels_is_ambiguous_with_several_inputs():
    spec = (
        "block two()(x, skip):\n    y = (x, skip) -> cat -> conv in_channels 1\n    return y\n\n"
        "model M():\n    input x: [8, 12, 12]\n    input s: [4, 12, 12]\n    output y = (x, s) -> two\n"
    )
    d = first(spec)
    assert (d.code, d.span.line, d.span.column) == ("LG209", 2, 34)
    assert "ambiguous" in d.message and "`skip`" in d.message


def test_one_input_dataflow_block_uses_in_channels():
    spec = (
        "block dw()(x):\n    y = x -> conv in_channels 3 groups=in_channels\n    z = (x, y) -> add\n    return z\n\n"
        "model M():\n    input [8, 12, 12]\n    dw\n"
    )
    model, _ = run(spec, (8, 12, 12))
    assert model.dw.conv.groups == 8


def test_in_channels_in_a_model():
    d = first("model M():\n    input [3, 8, 8]\n    conv in_channels\n")
    assert (d.code, d.span.line, d.span.column) == ("LG209", 3, 10)
    assert "model M(c=3)" in d.hint


@pytest.mark.parametrize(
    "spec, where",
    [
        ("block b():\n    conv 4 kernel_size=W\n\nmodel M():\n    input [3, 8, 8]\n    b\n", (2, 24)),
        ("block b():\n    if H > 4: relu\n\nmodel M():\n    input [3, 8, 8]\n    b\n", (2, 8)),
        ("model M():\n    input [3, H, W]\n    conv H\n", (3, 10)),
    ],
)
def test_spatial_sizes_are_not_construction_time_values(spec, where):
    d = first(spec)
    assert (d.code, d.span.line, d.span.column) == ("LG307", *where)
    assert "forward" in d.message


def test_in_features_of_a_channels_input():
    d = first("block b():\n    conv in_features\n\nmodel M():\n    input [3, 8, 8]\n    b\n")
    assert (d.code, d.span.line, d.span.column) == ("LG202", 2, 10)
    assert d.hint == "use `in_channels`"


def test_a_parameter_named_h_still_wins():
    spec = "block b(H):\n    conv H\n\nmodel M():\n    input [3, 8, 8]\n    b 5\n"
    model, _ = run(spec, (3, 8, 8))
    assert model.b[0].out_channels == 5
