"""The primitives torchvision's CNNs need (issue 18), against torch and
torchvision: pools with `ceil_mode`, hardsigmoid/hardswish, GELU's tanh
approximation, stochastic depth, and the channels-first LayerNorm. Shapes
must equal legoc's analysis, values torchvision's own modules."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from conftest import load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy


def _model(spec: str):
    result = compile_source(spec, "t.lego")
    module = load_module(result.code)
    (name,) = result.analysis.defaults
    return getattr(module, name)(), result.analysis.defaults[name], result.code


# ------------------------------------------------------------------ ceil_mode

_POOLS = [
    (kind, k, s, p, d)
    for kind in ("maxpool", "avgpool")
    for k, s, d in itertools.product((1, 2, 3, 4), (1, 2, 3, 4), (1, 2))
    for p in range(k // 2 + 1)
    if kind == "maxpool" or d == 1
]


@pytest.mark.parametrize("kind, k, s, p, d", _POOLS)
def test_ceil_mode_shapes_equal_torchs_for_every_input_size(kind, k, s, p, d):
    """The symbolic output size (one formula for every H) equals torch's
    output size for H from 1 to 14, including torch's rule that the last
    window must start inside the input or its left padding."""
    dil = f" dilation={d}" if kind == "maxpool" else ""
    spec = f"model Net():\n    input [2, H, 16]\n    {kind} {k} stride={s} padding={p}{dil} ceil_mode=true\n"
    try:
        model, ir, _ = _model(spec)
    except SpecError:  # legoc rejects the arguments: torch must too
        layer = nn.MaxPool2d(k, s, p, d, ceil_mode=True) if kind == "maxpool" else nn.AvgPool2d(k, s, p, ceil_mode=True)
        with pytest.raises(RuntimeError):
            layer(torch.randn(1, 2, 20, 20))
        return
    layer = nn.MaxPool2d(k, s, p, d, ceil_mode=True) if kind == "maxpool" else nn.AvgPool2d(k, s, p, ceil_mode=True)
    for h in range(1, 15):
        x = torch.randn(1, 2, h, 16)
        try:
            want = tuple(layer(x).shape[1:])
        except RuntimeError:
            with pytest.raises((RuntimeError, ValueError)):
                model(x)
            continue
        got = tuple(sy.value_of(sy.substitute(e, {"dim:H": sy.Const(h)})) for e in ir.output)
        assert got == want, f"H={h}"
        assert tuple(model(x).shape[1:]) == want


def test_ceil_mode_is_passed_to_torch_and_googlenet_stem_matches():
    model, ir, code = _model("model Net():\n    input [3, 224, 224]\n    conv 64 kernel_size=7 stride=2\n    maxpool 3 stride=2 padding=0 ceil_mode=true\n")
    assert "nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)" in code
    assert [sy.value_of(e) for e in ir.output] == [64, 56, 56]
    assert model(torch.randn(1, 3, 224, 224)).shape == (1, 64, 56, 56)


def test_ceil_mode_false_is_torchs_default_and_not_written():
    _, _, code = _model("model Net():\n    input [3, 9, 9]\n    maxpool 2 ceil_mode=false\n    avgpool 2\n")
    assert "ceil_mode" not in code


def test_ceil_mode_from_a_parameter():
    spec = "block pool(c):\n    maxpool 3 stride=2 padding=0 ceil_mode=c\n\nmodel Net(up=true):\n    input [3, 8, 8]\n    pool up\n"
    model, ir, _ = _model(spec)
    assert [sy.value_of(e) for e in ir.output] == [3, 4, 4]
    assert model(torch.randn(1, 3, 8, 8)).shape == (1, 3, 4, 4)
    assert type(model)(up=False)(torch.randn(1, 3, 8, 8)).shape == (1, 3, 3, 3)


def test_ceil_mode_on_a_global_average_pool_is_an_error():
    with pytest.raises(SpecError) as info:
        check_source("model Net():\n    input [3, 8, 8]\n    avgpool ceil_mode=true\n", "t.lego")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("LG402", 3, 13)


def test_ceil_mode_must_be_a_bool():
    with pytest.raises(SpecError) as info:
        check_source("model Net():\n    input [3, 8, 8]\n    maxpool 2 ceil_mode=1\n", "t.lego")
    assert [d.code for d in info.value.diagnostics] == ["LG401"]


# ------------------------------------------------------------ activations


def test_hardsigmoid_hardswish_and_tanh_gelu_are_torchs():
    spec = 'model Net():\n    input [3, 8, 8]\n    conv 4\n    gelu approximate="tanh"\n    hardsigmoid\n    conv 4\n    hardswish\n    gelu\n'
    model, ir, code = _model(spec)
    assert 'nn.GELU(approximate="tanh")' in code and "nn.Hardsigmoid()" in code and "nn.Hardswish()" in code
    reference = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.GELU(approximate="tanh"), nn.Hardsigmoid(), nn.Conv2d(4, 4, 3, padding=1), nn.Hardswish(), nn.GELU()
    )
    reference.load_state_dict({k.replace("conv1", "0").replace("conv2", "3"): v for k, v in model.state_dict().items()})
    x = torch.randn(2, 3, 8, 8) * 4
    assert torch.equal(model(x), reference(x))
    assert tuple(model(x).shape[1:]) == tuple(sy.value_of(e) for e in ir.output)


def test_hardsigmoid_and_hardswish_are_layer_valued_arguments():
    spec = "block se(c, gate=hardsigmoid):\n    conv c kernel_size=1\n    gate\n\nmodel Net():\n    input [3, 8, 8]\n    se 8\n    se 8 gate=hardswish\n    conv_bn_act 8 act=hardswish\n"
    model, _, _ = _model(spec)
    assert isinstance(model.se1[1], nn.Hardsigmoid)
    assert isinstance(model.se2[1], nn.Hardswish)
    assert isinstance(model.conv_bn_act[2], nn.Hardswish)


@pytest.mark.parametrize("value, message", [('"exact"', '`approximate` of `gelu` is "none" or "tanh", not "exact"'), ("1", '`approximate` must be a string, not 1')])
def test_gelu_approximate_must_be_none_or_tanh(value, message):
    with pytest.raises(SpecError) as info:
        check_source(f"model Net():\n    input [3, 8, 8]\n    gelu approximate={value}\n", "t.lego")
    assert [(d.code, d.span.line, d.span.column, d.message) for d in info.value.diagnostics] == [("LG401", 3, 10, message)]
