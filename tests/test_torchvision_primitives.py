"""The primitives torchvision's CNNs need (issue 18), against torch and
torchvision: pools with `ceil_mode`, hardsigmoid/hardswish, GELU's tanh
approximation, stochastic depth, and the channels-first LayerNorm. Shapes
must equal legoc's analysis, values torchvision's own modules."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from conftest import load_module, torchvision_definitions
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
            with pytest.raises((RuntimeError, AssertionError)):  # torch's error, or legoc's input check (torch._assert)
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
    assert 'nn.GELU(approximate="tanh")' in code and "nn.Hardsigmoid()" in code and "nn.Hardswish(inplace=True)" in code  # after conv, in place as ReLU
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


# ------------------------------------------- stochastic depth, LayerNorm2d

_CONVNEXT_LIKE = """\
block cnblock(c, sd=0.1):
    res add <
        conv c kernel_size=7 padding=3 groups=c
        layernorm2d eps=1e-6
        conv c * 4 kernel_size=1
        gelu
        conv c kernel_size=1
        stochastic_depth sd
    >

model Net(sd=0.25):
    input [3, 16, 16]
    conv 8 kernel_size=4 stride=4 padding=0
    layernorm2d eps=1e-6
    cnblock 8 sd
    stochastic_depth 0.2 mode="batch"
    avgpool
    flatten
    linear 5
"""


def test_generated_helpers_are_written_once_and_pass_the_allow_list():
    from test_hostile import check_generated

    _, _, code = _model(_CONVNEXT_LIKE)
    check_generated(code)
    assert code.count("class StochasticDepth(nn.Module):") == 1
    assert code.count("class LayerNorm2d(nn.LayerNorm):") == 1
    assert "self.stochastic_depth = StochasticDepth(sd, \"row\")" in code
    assert "self.layernorm2d = LayerNorm2d(8, eps=1e-06)" in code
    # Only where used.
    _, _, plain = _model("model Net():\n    input [3, 8, 8]\n    conv 4\n")
    assert "StochasticDepth" not in plain and "LayerNorm2d" not in plain


def test_stochastic_depth_equals_torchvisions():
    ops = torchvision_definitions("ops/stochastic_depth.py", "stochastic_depth", "StochasticDepth")
    StochasticDepth, stochastic_depth = ops["StochasticDepth"], ops["stochastic_depth"]

    model, _, _ = _model("model Net(p=0.3):\n    input [4, 5, 5]\n    stochastic_depth p\n    stochastic_depth 0.5 mode=\"batch\"\n")
    ours_row, ours_batch = model.stochastic_depth1, model.stochastic_depth2
    assert type(ours_row).__name__ == "StochasticDepth" and (ours_row.p, ours_row.mode) == (0.3, "row")
    x = torch.randn(64, 4, 5, 5)
    # eval: the identity, as torchvision's module
    model.eval()
    assert torch.equal(model(x), StochasticDepth(0.5, "batch").eval()(StochasticDepth(0.3, "row").eval()(x)))
    assert torch.equal(model(x), x)
    # training: the same random draws give the same result as torchvision's function
    for p, mode, ours in ((0.3, "row", ours_row), (0.5, "batch", ours_batch), (0.0, "row", None), (1.0, "row", None)):
        if ours is None:
            ours = load_module(compile_source(f"model N():\n    input [4, 5, 5]\n    stochastic_depth {p}\n", "t.lego").code).N().stochastic_depth
        ours.train()
        for seed in range(5):
            torch.manual_seed(seed)
            want = stochastic_depth(x, p, mode, training=True)
            torch.manual_seed(seed)
            got = ours(x)
            assert torch.equal(got, want), (p, mode, seed)
    # "row" drops whole samples and rescales by 1 / (1 - p)
    torch.manual_seed(0)
    y = ours_row.train()(torch.ones(1000, 2))
    kept = y[:, 0] != 0
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.7)) and 0.6 < kept.float().mean() < 0.8
    assert torch.equal(y[:, 0], y[:, 1])


@pytest.mark.parametrize("spec, message", [
    ('stochastic_depth 0.1 mode="col"', '`mode` of `stochastic_depth` is "row" or "batch", not "col"'),
    ("stochastic_depth 1.5", "`p` is a probability, from 0 to 1, not 1.5"),
    ("stochastic_depth", "`stochastic_depth` needs a value for `p`"),
])
def test_stochastic_depth_arguments_are_checked(spec, message):
    with pytest.raises(SpecError) as info:
        check_source(f"model Net():\n    input [3, 8, 8]\n    {spec}\n", "t.lego")
    (d,) = info.value.diagnostics
    assert d.message == message and d.code == ("LG402" if "needs" in message else "LG401")


def test_layernorm2d_equals_torchvisions():
    LayerNorm2d = torchvision_definitions("models/convnext.py", "LayerNorm2d")["LayerNorm2d"]

    model, ir, _ = _model("model Net():\n    input [6, 5, 7]\n    layernorm2d eps=1e-6\n    layernorm2d elementwise_affine=false\n")
    first, second = model.layernorm2d1, model.layernorm2d2
    assert list(first.state_dict()) == ["weight", "bias"] and list(second.state_dict()) == []
    reference = LayerNorm2d(6, eps=1e-6)
    with torch.no_grad():
        reference.weight.normal_()
        reference.bias.normal_()
    first.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(3, 6, 5, 7)
    assert torch.allclose(first(x), reference(x), atol=1e-6)
    assert torch.equal(first(x), reference(x))
    assert torch.equal(second(x), LayerNorm2d(6, elementwise_affine=False)(x))
    assert tuple(model(x).shape[1:]) == tuple(sy.value_of(e) for e in ir.output)
    assert sum(p.numel() for p in model.parameters()) == sy.value_of(ir.n_params) == 12


def test_layernorm2d_wants_an_image():
    with pytest.raises(SpecError) as info:
        check_source("model Net():\n    input [6, 5]\n    layernorm2d\n", "t.lego")
    assert [d.code for d in info.value.diagnostics] == ["LG302"]


def test_a_block_named_like_a_helper_yields_its_name():
    spec = "block layer_norm2d(c):\n    conv c\n    layernorm2d\n\nmodel Net():\n    input [3, 8, 8]\n    layer_norm2d 4\n"
    model, _, code = _model(spec)
    assert "class LayerNorm2d2(nn.Module):" in code or "class LayerNorm2d2(nn.Sequential):" in code
    assert type(model.layer_norm2d).__name__ == "LayerNorm2d2"
    assert type(model.layer_norm2d[1]).__name__ == "LayerNorm2d"


def test_summary_and_state_dict_of_the_new_primitives_equal_torchinfos():
    import torchinfo

    from legoc.tools.inputs import bind_inputs
    from legoc.tools.instance import instantiate
    from legoc.tools.statedict import state_dict_layout
    from legoc.tools.summary import summarize

    spec = _CONVNEXT_LIKE + "\nmodel Stem():\n    input [3, 32, 32]\n    conv 8 kernel_size=7 stride=2\n    maxpool 3 stride=2 padding=0 ceil_mode=true\n    hardswish\n    avgpool 3 stride=2 padding=1 ceil_mode=true\n    gelu approximate=\"tanh\"\n    hardsigmoid\n"
    result = compile_source(spec, "t.lego")
    module = load_module(result.code)
    for name, side in (("Net", 16), ("Stem", 32)):
        model = getattr(module, name)()
        for batch in (1, 2):
            summary = summarize(instantiate(result.analysis, name), batch)
            stats = torchinfo.summary(model, input_data=[torch.randn(batch, 3, side, side)], depth=100, verbose=0, mode="eval")
            assert summary.totals.params == stats.total_params
            assert summary.totals.mult_adds == stats.total_mult_adds
            assert summary.totals.forward_backward_mb == pytest.approx(stats.total_output_bytes / 1e6)
        layout = state_dict_layout(result.analysis, name)
        assert [(e.key, tuple(e.shape)) for e in layout] == [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def test_the_helpers_export():
    model, _, _ = _model(_CONVNEXT_LIKE)
    model.eval()
    x = torch.randn(2, 3, 16, 16)
    exported = torch.export.export(model, (x,))
    assert torch.allclose(exported.module()(x), model(x))


# ------------------------------------------------------- tuple arguments

_TUPLES = [
    ("conv", "(1, 7)", None, None, None),
    ("conv", "(7, 1)", None, "(3, 0)", None),
    ("conv", "(3, 2)", "(2, 1)", "(0, 1)", "(1, 2)"),
    ("conv", "(1, 3)", "(1, 2)", None, None),
    ("conv", "3", "(2, 1)", "(1, 0)", None),
    ("maxpool", "(3, 2)", "(2, 1)", "(1, 0)", "(1, 2)"),
    ("maxpool", "(2, 3)", None, "(0, 1)", None),
    ("avgpool", "(2, 3)", "(2, 1)", None, None),
    ("avgpool", "(3, 1)", "(3, 2)", "(1, 0)", None),
]


@pytest.mark.parametrize("kind, k, s, p, d, ceil", [(*t, ceil) for t in _TUPLES for ceil in (False, True) if t[0] != "conv" or not ceil])
def test_tuple_arguments_give_torchs_shapes_per_axis(kind, k, s, p, d, ceil):
    """One size per spatial axis: the symbolic output shape (H and W apart)
    equals torch's for several input sizes, and the parameters' shapes."""
    first = "conv 6 kernel_size=1\n    " if kind != "conv" else ""
    words = [f"kernel_size={k}"] + [f"{key}={v}" for key, v in (("stride", s), ("padding", p), ("dilation", d)) if v is not None]
    layer = (f"conv 5 " if kind == "conv" else f"{kind} ") + " ".join(words) + (" ceil_mode=true" if ceil else "")
    spec = f"model Net():\n    input [3, H, W]\n    {first}{layer}\n"
    model, ir, code = _model(spec)
    assert f"kernel_size={k}" in code
    for h, w in ((9, 11), (12, 8), (16, 17)):
        x = torch.randn(2, 3, h, w)
        want = tuple(model(x).shape[1:])
        got = tuple(sy.value_of(sy.substitute(e, {"dim:H": sy.Const(h), "dim:W": sy.Const(w)})) for e in ir.output)
        assert got == want, (h, w)
    if kind == "conv":
        ke = eval(k) if "(" in k else (int(k), int(k))
        assert model.conv.weight.shape == (5, 3, *ke)


def test_tuple_arguments_from_parameters_and_inceptions_factorised_convolutions():
    spec = (
        "block c7(c, k=7):\n    conv c kernel_size=(1, k) padding=(0, k // 2) bias=false\n    conv c kernel_size=(k, 1) padding=(k // 2, 0) bias=false\n\n"
        "model Net():\n    input [8, 17, 17]\n    c7 16\n    c7 16 k=3\n    maxpool (3, 1) stride=(2, 1) padding=0\n"
    )
    model, ir, code = _model(spec)
    assert "in_channels, c, kernel_size=(1, k), padding=(0, k // 2), bias=False" in code
    assert model.c71[0].weight.shape == (16, 8, 1, 7) and model.c71[1].weight.shape == (16, 16, 7, 1)
    assert model.c72[0].weight.shape == (16, 16, 1, 3)
    x = torch.randn(1, 8, 17, 17)
    assert tuple(model(x).shape[1:]) == tuple(sy.value_of(e) for e in ir.output) == (16, 8, 17)
    # torchvision's Inception blocks, same keys and shapes
    reference = nn.Sequential(nn.Conv2d(8, 16, (1, 7), padding=(0, 3), bias=False), nn.Conv2d(16, 16, (7, 1), padding=(3, 0), bias=False))
    model.c71.load_state_dict(reference.state_dict(), strict=True)
    assert torch.equal(model.c71(x), reference(x))


def test_tuple_arguments_in_summary_and_state_dict_equal_torchinfos():
    import torchinfo

    from legoc.tools.instance import instantiate
    from legoc.tools.statedict import state_dict_layout
    from legoc.tools.summary import summarize

    spec = "model Net():\n    input [3, 20, 24]\n    conv 8 kernel_size=(1, 7) stride=(1, 2) padding=(0, 3)\n    conv 8 kernel_size=(7, 1)\n    maxpool (3, 2) stride=(2, 1) ceil_mode=true\n    avgpool (2, 4)\n"
    result = compile_source(spec, "t.lego")
    model = load_module(result.code).Net()
    summary = summarize(instantiate(result.analysis, "Net"), 2)
    stats = torchinfo.summary(model, input_data=[torch.randn(2, 3, 20, 24)], depth=100, verbose=0, mode="eval")
    assert (summary.totals.params, summary.totals.mult_adds) == (stats.total_params, stats.total_mult_adds)
    assert summary.totals.forward_backward_mb == pytest.approx(stats.total_output_bytes / 1e6)
    layout = state_dict_layout(result.analysis, "Net")
    assert [(e.key, tuple(e.shape)) for e in layout] == [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


@pytest.mark.parametrize(
    "spec, where, message",
    [
        ("conv 4 kernel_size=(1, 3, 3)", (3, 12), "`kernel_size` of `conv` has 3 sizes, but its input has 2 spatial axes: [3, 8, 8]"),
        ("linear 4 bias=(1, 2)", (3, 14), "a tuple of sizes is only a value of `kernel_size`, `stride`, `padding` or `dilation` of `conv`, `maxpool` or `avgpool`, or `dims` of `permute`"),
        ("conv_bn 4 stride=(1, 2)", (3, 15), "a tuple of sizes is only a value of `kernel_size`, `stride`, `padding` or `dilation` of `conv`, `maxpool` or `avgpool`, or `dims` of `permute`"),
        ("conv 4 kernel_size=(1, 0)", (3, 12), "`kernel_size` must be at least 1, not 0"),
        ("conv 4 padding=(1, 1.5)", (3, 12), "`padding` must be an integer, not 1.5"),
        ("maxpool (2, 4) padding=(1, 3)", (3, 20), "padding 3 must be at most half of kernel_size 4"),
    ],
)
def test_tuple_argument_mistakes_are_diagnostics(spec, where, message):
    with pytest.raises(SpecError) as info:
        check_source(f"model Net():\n    input [3, 8, 8]\n    {spec}\n", "t.lego")
    d = info.value.diagnostics[0]
    assert (d.code, d.span.line, d.span.column, d.message) == ("LG401", *where, message)
