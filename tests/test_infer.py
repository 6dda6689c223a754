"""Shape inference, checked against torch: generated modules run and give
the shapes and parameter counts the compiler inferred, and spec mistakes are
diagnostics at the right place."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from conftest import load_module
from legoc.ir import symbolic as sy
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError


def build(spec: str):
    """Compile a spec with one model; return (model instance, its defaults IR)."""
    result = compile_source(spec, "t.lego")
    module = load_module(result.code)
    model = getattr(module, module.__all__[-1])()
    (name,) = result.analysis.defaults
    return model, result.analysis.defaults[name]


def errors(spec: str) -> list:
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return [(d.span.line, d.span.column, d.message) for d in info.value.diagnostics]


def run_and_compare(spec: str, in_shape: tuple[int, ...]):
    model, ir = build(spec)
    model.eval()
    with torch.no_grad():
        y = model(torch.randn(2, *in_shape))
    assert tuple(y.shape[1:]) == tuple(sy.value_of(d) for d in ir.output)
    assert sum(p.numel() for p in model.parameters()) == sy.value_of(ir.n_params)
    return model


def test_shortcut_is_a_projection_only_where_the_shape_changes():
    spec = """
block basic(c, stride=1):
    res add < conv3x3_bn_act c stride=stride; conv3x3_bn c > shortcut conv1x1_bn
    relu

model Net():
    input [16, 32, 32]
    basic 16
    basic 32
    basic 32 stride=2
"""
    model = run_and_compare(spec, (16, 32, 32))
    assert model.basic1.shortcut is None
    # conv1x1_bn is a plain sequence, so an nn.Sequential: [0] is its conv.
    assert model.basic2.shortcut[0].stride == (1, 1) and model.basic2.shortcut[0].out_channels == 32
    assert model.basic3.shortcut[0].stride == (2, 2) and model.basic3.shortcut[0].in_channels == 32


def test_residual_whose_shapes_always_agree_has_no_shortcut_module():
    spec = "model Net():\n    input [8, 10, 10]\n    res add < conv 8; relu; conv 8 > shortcut conv1x1_bn\n"
    model = run_and_compare(spec, (8, 10, 10))
    assert not hasattr(model, "shortcut")


def test_res_cat_and_parallel_branches():
    spec = """
model Net():
    input [4, 9, 9]
    res cat < conv 6; relu >
    cat < conv 3 kernel_size=1 | < maxpool 3 stride=1; conv 5 > | identity >
    add < conv 7 | conv 7 kernel_size=5 >
"""
    model = run_and_compare(spec, (4, 9, 9))
    assert model(torch.randn(1, 4, 9, 9)).shape == (1, 7, 9, 9)


def test_repeat_first_repetition_may_change_shape():
    spec = "model Net(n=3):\n    input [3, 8, 8]\n    repeat n < conv 16; relu >\n    repeat 2 linear 5\n"
    model = run_and_compare(spec, (3, 8, 8))
    assert len(model.layer_blocks) == 3
    assert model.layer_blocks[0][0].in_channels == 3 and model.layer_blocks[2][0].in_channels == 16


@pytest.mark.parametrize(
    "layers, in_shape",
    [
        ("conv_transpose 4 kernel_size=2 stride=2; upsample 2; pixel_shuffle 2", (8, 5, 6)),
        ("conv 6 kernel_size=3; bn; groupnorm 3; layernorm; leaky_relu 0.2; softmax", (6, 7, 7)),
        ("conv 4 kernel_size=3 stride=2; maxpool 2; avgpool 2; avgpool output_size=3", (3, 33, 29)),
        ("conv 4; bn; maxpool 2; flatten; linear 7; gelu", (2, 10)),
        ("conv 4; bn; avgpool; flatten", (2, 5, 5, 5)),
        ("embedding 50 8; linear 3; log_softmax dim=-1", (12,)),
        ("embedding 50 8; lstm 6 num_layers=2 bidirectional=true dropout=0.1; gru 5", (12,)),
        ("embedding 50 8; gru 6 num_layers=3; lstm 5 bidirectional=true output=\"hidden\"", (12,)),
        ("embedding 50 8; lstm 4 output=\"hidden\"; linear 2", (12,)),
        ("linear 6 bias=false; bn; dropout 0.1; silu; tanh; sigmoid; hardswish; relu6", (5,)),
        ("linear 12; mha 3 dropout=0.1; layernorm; mha 4 bias=false; linear 2", (7, 5)),
    ],
)
def test_primitives_agree_with_torch(layers, in_shape):
    dims = ", ".join(map(str, in_shape))
    spec = f"model Net():\n    input [{dims}]\n    " + layers.replace("; ", "\n    ") + "\n"
    model, ir = build(spec)
    model.eval()
    if layers.startswith("embedding"):
        x = torch.randint(0, 50, (2, *in_shape))
    else:
        x = torch.randn(2, *in_shape)
    with torch.no_grad():
        y = model(x)
    assert tuple(y.shape[1:]) == tuple(sy.value_of(d) for d in ir.output)
    assert sum(p.numel() for p in model.parameters()) == sy.value_of(ir.n_params)


@settings(max_examples=60, deadline=None)
@given(
    channels=st.integers(1, 4),
    size=st.integers(1, 16),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    padding=st.one_of(st.none(), st.integers(0, 2)),
    pool=st.booleans(),
)
def test_window_arithmetic_agrees_with_torch(channels, size, kernel, stride, dilation, padding, pool):
    pad = "" if padding is None else f" padding={padding}"
    layer = (
        f"maxpool {kernel} stride={stride} dilation={dilation}{pad}"
        if pool
        else f"conv 3 kernel_size={kernel} stride={stride} dilation={dilation}{pad}"
    )
    spec = f"model Net():\n    input [{channels}, {size}, {size + 1}]\n    {layer}\n"
    try:
        model, ir = build(spec)
    except SpecError:
        model = None
    x = torch.randn(1, channels, size, size + 1)
    if model is None:  # legoc rejected it: torch must reject it too
        p = dilation * (kernel - 1) // 2 if padding is None else padding
        torch_layer = nn.MaxPool2d(kernel, stride, p, dilation) if pool else nn.Conv2d(channels, 3, kernel, stride, p, dilation)
        with pytest.raises(RuntimeError):
            torch_layer(x)
        return
    assert tuple(model(x).shape[1:]) == tuple(sy.value_of(d) for d in ir.output)


def test_symbolic_input_keeps_sizes_symbolic():
    result = check_source("model Net():\n    input [3, H, W]\n    conv 8 stride=2\n    maxpool 2\n", "t.lego")
    (ir,) = result.defaults.values()
    assert [str(d) for d in ir.output] == ["8", "(H + 1) // 4", "(W + 1) // 4"]


def test_a_single_repetition_may_change_the_shape():
    run_and_compare("model Net():\n    input [3, 8, 8]\n    repeat 1 maxpool 2\n", (3, 8, 8))


def test_structural_error_in_a_block_names_the_call_site():
    with pytest.raises(SpecError) as info:
        check_source("block b(c):\n    conv c\n\nmodel N():\n    input [4]\n    b 3\n", "t.lego")
    (diag,) = info.value.diagnostics
    assert [(n.span.line, n.span.column) for n in diag.notes] == [(6, 5)]


def test_prelude_error_is_reported_at_the_users_call():
    with pytest.raises(SpecError) as info:
        check_source("model N():\n    input [3, 8, 8]\n    conv3x3_bn 4 stride=0\n", "t.lego")
    (diag,) = info.value.diagnostics
    assert diag.span.file == "t.lego"
    assert diag.notes[0].span.file == "<prelude>"


def test_layer_valued_argument():
    spec = "model Net():\n    input [3, 8, 8]\n    conv_bn_act 8 act=silu\n    conv3x3_bn_act 8\n"
    model = run_and_compare(spec, (3, 8, 8))
    assert isinstance(model.conv_bn_act[2], nn.SiLU)
    assert isinstance(model.conv3x3_bn_act[2], nn.ReLU)


def test_user_blocks_shadow_the_prelude():
    spec = "block conv1x1(c):\n    conv c kernel_size=1\n    relu\n\nmodel Net():\n    input [3, 4, 4]\n    conv1x1 5\n"
    model = run_and_compare(spec, (3, 4, 4))
    assert isinstance(model.conv1x1[1], nn.ReLU)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("model N():\n    input [3, 8, 8]\n    conv 8 groups=3\n", (3, 12, "not divisible by groups=3")),
        ("model N():\n    input [3, 8, 8]\n    linear 4\n    conv 2\n", None),
        ("model N():\n    input [8]\n    conv 4\n", (3, 5, "`conv` needs an input of shape [C, L], [C, H, W] or [C, D, H, W], but its input is [8]")),
        ("model N():\n    input [3, 4, 4]\n    conv 8 kernel_size=7 padding=0\n", (3, 12, "does not fit its input [3, 4, 4]")),
        ("model N():\n    input [3, H, W]\n    flatten\n    linear 10\n", (4, 5, "depends on the input's symbolic size H, W")),
        ("model N():\n    input [3, 8, 8]\n    conv 8\n    input [3]\n", (4, 5, "`input` lines must come first")),
        ("model N():\n    conv 8\n", (1, 7, "must start with its input shape")),
        ("block b(c):\n    b c\n\nmodel N():\n    input [3, 8, 8]\n    b 4\n", (2, 5, "calls itself")),
        ("model N():\n    input [3, 8, 8]\n    conv 8 stride=0\n", (3, 12, "`stride` must be at least 1")),
        ("model N():\n    input [3, 8, 8]\n    conv 8 kernel_size=3 // 0\n", (3, 24, "division by zero")),
        ("model N():\n    input [3, 8, 8]\n    conv c\n", (3, 10, "unknown name `c`")),
        ("model N():\n    input [3, 8, 8]\n    cat < conv 4 stride=2 | conv 4 >\n", (3, 5, "other axes must agree")),
        ("model N():\n    input [3, 8, 8]\n    repeat 3 conv 4 stride=2\n", (3, 5, "must keep its shape from the second repetition on")),
        ("model N():\n    input [3, 8, 8]\n    conv_bn_act 4 act=conv\n", (3, 23, "cannot be passed as a value")),
        ("model N():\n    input [3, 8, 8]\n    ResNet 4\n\nmodel ResNet():\n    input [3]\n    relu\n", (3, 5, "is a model")),
        ("block b():\n    relu\n\nblock b():\n    relu\n", (4, 7, "defined twice")),
        # A value passed through a parameter is reported where it is passed.
            ("block b(s):\n    conv 4 stride=s\n\nmodel N():\n    input [3, 8, 8]\n    b 0\n", (6, 7, "`stride` must be at least 1, not 0")),
        ("model N():\n    input [3, 8, 8]\n    conv3x3_bn 4 stride=0\n", (3, 25, "`stride` must be at least 1, not 0")),
        ("model N(n=4):\n    input [3, 8, 8]\n    linear n * 1.5\n", (3, 12, "must be an integer, not n * 1.5")),
        ("model N():\n    input [3, 8, 8]\n    relu 3\n", (3, 10, "`relu` takes no arguments")),
        ("model N():\n    input [3, 8, 8]\n    dropout 1.5\n", (3, 13, "`p` is a probability")),
        ("block b(true):\n    relu\n\nmodel N():\n    input [3]\n    b\n", (1, 9, "is a keyword")),
        ("block b(c):\n    conv c\n\nmodel N():\n    input [4]\n    b 3\n", (2, 5, "`conv` needs an input of shape")),
    ],
)
def test_spec_errors(spec, expected):
    if expected is None:  # a linear on the last axis of an image is legal torch
        check_source(spec, "t.lego")
        return
    line, column, message = expected
    found = errors(spec)
    assert any((l, c) == (line, column) and message in m for l, c, m in found), found
