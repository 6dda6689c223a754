"""Construction-time conditionals: `if TEST: layer` and `res add < ... > shortcut none`.

Each condition is run both ways in torch, against legoc's analysis (output
shape, parameter count, state_dict keys), and torchvision's MobileNetV2
InvertedResidual is matched exactly: its state_dict loads with strict=True
and the outputs agree in eval mode.
"""

from __future__ import annotations

import itertools

import black
import pytest
import torch

from conftest import load_module, torchvision_definitions
from legoc import api
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy

INVERTED_RESIDUAL = """
# Convolution, batch norm, ReLU6: torchvision's Conv2dNormActivation in MobileNetV2.
block conv_bn_relu6(c, kernel_size=3, stride=1, groups=1):
    conv c kernel_size=kernel_size stride=stride groups=groups bias=false
    bn
    relu6

# MobileNetV2's inverted residual (torchvision.models.mobilenetv2.InvertedResidual).
block inverted_residual(inp, oup, stride, expand_ratio):
    res add < conv: <
        if expand_ratio != 1: conv_bn_relu6 inp*expand_ratio kernel_size=1
        conv_bn_relu6 inp*expand_ratio stride=stride groups=inp*expand_ratio
        conv oup 1 bias=false
        bn
    > > shortcut none
"""


def model_spec(body: str, params: str = "", shape: str = "[8, 12, 12]") -> str:
    return f"{INVERTED_RESIDUAL}\nmodel M({params}):\n    input {shape}\n" + "".join(f"    {line}\n" for line in body.strip().splitlines())


def build(spec: str):
    """Compile a spec with one model: (model instance, its IR with the defaults, generated code)."""
    result = compile_source(spec, "t.lego")
    module = load_module(result.code)
    model = module.M()
    return model, result.analysis.defaults["M"], result.code


def run_and_compare(spec: str, in_shape: tuple[int, ...]):
    """The model's output shape, parameter count and state_dict keys are
    what legoc says they are."""
    model, ir, code = build(spec)
    model.eval()
    with torch.no_grad():
        y = model(torch.randn(2, *in_shape))
    assert tuple(y.shape[1:]) == tuple(sy.value_of(d) for d in ir.output)
    assert sum(p.numel() for p in model.parameters()) == sy.value_of(ir.n_params)
    layout = api.state_dict_layout(spec, name="t.lego")
    assert [e.key for e in layout] == list(model.state_dict())
    assert [tuple(e.shape) for e in layout] == [tuple(t.shape) for t in model.state_dict().values()]
    return model, code


# ------------------------------------------------------------------ `if`


@pytest.mark.parametrize("expand", [1, 3])
def test_if_builds_the_layer_only_where_the_condition_holds(expand):
    spec = model_spec("if e != 1: conv 8*e kernel_size=1\nconv 5", params=f"e={expand}")
    model, code = run_and_compare(spec, (8, 12, 12))
    if expand == 1:
        assert model.conv1 is None
    else:
        assert model.conv1.out_channels == 8 * expand
    assert model.conv2.in_channels == 8 * expand
    assert "if self.conv1 is not None:" in code


@pytest.mark.parametrize("flag", ["true", "false"])
def test_if_on_a_bool_parameter_with_a_named_group(flag):
    spec = model_spec("if use_bn: norm: < bn; relu >\nconv 4", params=f"use_bn={flag}")
    model, _ = run_and_compare(spec, (8, 12, 12))
    assert (model.norm is not None) == (flag == "true")


@pytest.mark.parametrize("a, b", [(1, 2), (2, 2), (3, 1)])
def test_and_or_not_and_comparisons(a, b):
    spec = model_spec("if a < b and not a == 2 or b >= 3: conv 6\nconv 4", params=f"a={a}, b={b}")
    model, _ = run_and_compare(spec, (8, 12, 12))
    assert (model.conv1 is not None) == (a < b and not a == 2 or b >= 3)


@pytest.mark.parametrize("stride", [1, 2])
def test_if_changing_spatial_sizes_gives_the_shape_under_the_condition(stride):
    spec = model_spec("if s != 1: maxpool s\nconv 4", params=f"s={stride}")
    run_and_compare(spec, (8, 12, 12))


@pytest.mark.parametrize("expand", [1, 4])
def test_if_inside_a_sequential_block_numbers_as_a_list(expand):
    spec = """
block expand_then_conv(c, e):
    if e != 1: conv c*e kernel_size=1
    conv c

model M(e=%d):
    input [8, 12, 12]
    expand_then_conv 8 e
""" % expand
    model, code = run_and_compare(spec, (8, 12, 12))
    assert "class ExpandThenConv(nn.Sequential)" in code
    keys = list(model.state_dict())
    assert keys[0] == "expand_then_conv.0.weight"
    assert len(model.expand_then_conv) == (2 if expand != 1 else 1)


MIXED = """
block b(c, e, flag):
    if flag: conv c
    res add < if e != 1: conv c*e kernel_size=1; relu; conv c > shortcut none
    cat < if e > 2: conv 4 | conv 4 >

model M(e=%d, flag=%s):
    input [8, 12, 12]
    b 8 e flag
    b 6 1 false
"""


@pytest.mark.parametrize("e, flag", [(3, "true"), (1, "false"), (2, "true"), (1, "true"), (2, "false")])
def test_conditionals_inside_residuals_and_branches(e, flag):
    model, _ = run_and_compare(MIXED % (e, flag), (8, 12, 12))
    assert (model.b1.conv1 is not None) == (flag == "true")
    assert (model.b1.conv4 is not None) == (e > 2)
    # The skip needs `(c if flag else in_channels) == c`: b1 gets 8 channels for c=8,
    # b2 gets 8 or 12 for c=6, without conv1.
    assert model.b1.use_res_connect and not model.b2.use_res_connect
    # A parameter used only in a test is used: no LG506.
    assert [d.code for d in api.check(MIXED % (e, flag))] == []


# ------------------------------------------------------------- shortcut none


@pytest.mark.parametrize("c, stride", [(8, 1), (16, 1), (8, 2)])
def test_shortcut_none_adds_the_skip_only_where_the_shape_is_kept(c, stride):
    spec = model_spec("res add < conv c stride=s; bn; relu > shortcut none", params=f"c={c}, s={stride}")
    model, code = run_and_compare(spec, (8, 12, 12))
    assert model.use_res_connect == (c == 8 and stride == 1)
    assert "self.use_res_connect = " in code and "if self.use_res_connect:" in code
    # It is decided once, in __init__, and forward computes body + input exactly when it holds.
    model.eval()
    x = torch.randn(1, 8, 12, 12)
    with torch.no_grad():
        body = model.relu(model.bn(model.conv(x)))
        expected = body + x if model.use_res_connect else body
        assert torch.equal(model(x), expected)


def test_shortcut_none_with_a_long_shape_is_black_formatted():
    # The skip's shape comment, too long to trail its line, goes above it
    # at the `if`'s indentation (it was written at the `if`'s own).
    import black

    src = (
        "block unit(out_channels_of_the_block, kernel_of_the_block, stride_of_the_block):\n"
        "    res add < conv out_channels_of_the_block kernel_size=kernel_of_the_block stride=stride_of_the_block > shortcut none\n"
        "model M():\n    input [8, 16, 16]\n    unit 8 3 1\n"
    )
    code = compile_source(src, "long.lego").code
    assert "            # [B, out_channels_of_the_block," in code
    assert black.format_str(code, mode=black.Mode()) == code


def test_shortcut_none_that_always_or_never_fits_needs_no_flag():
    always, _ = run_and_compare(model_spec("res add < conv 8; relu > shortcut none"), (8, 12, 12))
    never, code = run_and_compare(model_spec("res add < conv 4; relu > shortcut none"), (8, 12, 12))
    assert not hasattr(always, "use_res_connect") and not hasattr(never, "use_res_connect")
    assert "identity" not in code


def test_shortcut_none_puts_a_long_shape_comment_inside_the_if():
    # A shape too long to trail the sum goes on a comment line above it,
    # indented as the sum inside `if self.use_res_connect:`.
    spec = """
block widen(a_rather_long_channel_count, another_rather_long_stride):
    res add < conv a_rather_long_channel_count stride=another_rather_long_stride kernel_size=3 > shortcut none

model M():
    input [8, 12, 12]
    widen 8 1
"""
    code = compile_source(spec, "w.lego").code
    lines = code.splitlines()
    at = lines.index("        if self.use_res_connect:")
    # (wrapped onto comment lines with a hanging indent where it does not fit one)
    comments = list(itertools.takewhile(lambda line: line.startswith("            # "), lines[at + 1 :]))
    assert comments[0].startswith("            # [B, a_rather_long_channel_count,")
    assert all(line.startswith("            #     ") for line in comments[1:])
    assert lines[at + 1 + len(comments)] == "            x = x + identity"


# ------------------------------------------------- torchvision's InvertedResidual


def _inverted_residual():
    """torchvision.models.mobilenetv2.InvertedResidual, from torchvision's
    source, with the Conv2dNormActivation of torchvision/ops/misc.py."""
    utils = torchvision_definitions("utils.py", "_make_ntuple")
    misc = torchvision_definitions("ops/misc.py", "ConvNormActivation", "Conv2dNormActivation", **utils)
    return torchvision_definitions("models/mobilenetv2.py", "InvertedResidual", **misc)["InvertedResidual"]


def _randomise(module: torch.nn.Module) -> None:
    torch.manual_seed(0)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


@pytest.mark.parametrize("expand_ratio", [1, 6])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("inp, oup", [(16, 16), (16, 24)])
def test_inverted_residual_is_torchvisions(inp, oup, stride, expand_ratio):
    reference = _inverted_residual()(inp, oup, stride, expand_ratio)
    _randomise(reference)
    spec = model_spec(f"inverted_residual {inp} {oup} {stride} {expand_ratio}", shape=f"[{inp}, 14, 14]")
    model, ir, _ = build(spec)
    block = model.inverted_residual
    block.load_state_dict(reference.state_dict(), strict=True)
    assert getattr(block, "use_res_connect", False) == reference.use_res_connect
    reference.eval(), model.eval()
    x = torch.randn(2, inp, 14, 14)
    with torch.no_grad():
        expected, got = reference(x), model(x)
    assert tuple(got.shape[1:]) == tuple(sy.value_of(d) for d in ir.output)
    assert (got - expected).abs().max().item() <= 1e-5
    assert sum(p.numel() for p in model.parameters()) == sy.value_of(ir.n_params)
    assert [e.key.removeprefix("inverted_residual.") for e in api.state_dict_layout(spec, name="t.lego")] == list(reference.state_dict())


# --------------------------------------------------------------- diagnostics


def diagnostics(spec: str) -> list[tuple[str, int, int]]:
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return [(d.code, d.span.line, d.span.column) for d in info.value.diagnostics]


@pytest.mark.parametrize(
    "body, expected",
    [
        pytest.param("if e != 1: flatten\n", ("LG312", 3, 5), id="if-changes-the-rank"),
        pytest.param("if e != 1: res add < conv 8 >\n", ("LG404", 3, 16), id="if-on-a-residual"),
        pytest.param("if e: conv 8\n", ("LG401", 1, 11), id="if-on-a-number-parameter"),
        pytest.param("if 3: conv 8\n", ("LG401", 3, 8), id="if-on-a-number"),
        pytest.param('if e < "a": conv 8\n', ("LG406", 3, 8), id="if-compares-a-string"),
        pytest.param("res cat < conv 8 > shortcut none\n", ("LG411", 3, 5), id="shortcut-none-on-cat"),
        pytest.param("if f != 1: conv 8\n", ("LG202", 3, 8), id="if-unknown-name"),
    ],
)
def test_misuse_is_diagnosed(body, expected):
    spec = f"model M(e=2):\n    input [8, H, W]\n    {body}"
    assert expected in diagnostics(spec)


def test_shortcut_none_on_a_run_time_size_is_diagnosed():
    # Whether `conv 8 padding=p` keeps H depends on H itself only through p: fine;
    # a linear over the last axis keeps it only where W equals the width.
    spec = "block b(w):\n    res add < linear w > shortcut none\n\nmodel M():\n    input [8, 5, W]\n    b 16\n"
    assert ("LG311", 2, 5) in diagnostics(spec)


def test_misuse_in_a_group_points_at_the_if():
    spec = "model M(e=2):\n    input [8, 12, 12]\n    g: < conv 8; if e != 1: flatten >\n"
    assert ("LG312", 3, 18) in diagnostics(spec)


@pytest.mark.parametrize("a", [1, 3])
def test_less_than_in_a_test_inside_a_multi_line_group(a):
    # `<` and `>` in an `if`'s test compare; they open and close no group.
    spec = model_spec("g: <\n    if a < 2 and a > 0: conv 6\n    conv 4\n>", params=f"a={a}")
    model, _ = run_and_compare(spec, (8, 12, 12))
    assert len(model.g) == (2 if a < 2 else 1)


def test_syntax_errors_in_a_test_name_what_is_expected():
    with pytest.raises(SpecError) as info:
        check_source("model M(e=1):\n    input [8, 8, 8]\n    if e == 1 conv 8\n", "t.lego")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("LG101", 3, 15)
    assert "expected `:`, `and` or `or`" in d.message


@pytest.mark.parametrize("e", [1, 6])
def test_conditional_structure_exports(e):
    # Decided in __init__: torch.export traces one graph, with no guard on shapes.
    spec = model_spec(f"inverted_residual 16 16 1 {e}\nif e != 1: conv 16 kernel_size=1", params=f"e={e}", shape="[16, 14, 14]")
    model, _, _ = build(spec)
    model.eval()
    x = torch.randn(2, 16, 14, 14)
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        assert torch.allclose(exported.module()(x), model(x))


def test_a_chain_of_conditional_layers_on_different_tests_writes_bounded_text():
    # Each `if s > i: conv c stride=2` may halve the size or not, so after k
    # of them the size's expression shares each earlier one in both
    # branches: a graph of k nodes whose text has 2**k terms. Comments and
    # docstrings elide an expression past TEXT_LIMIT characters as `...`.
    k = 16
    spec = "block b(c, s=1):\n" + "".join(f"    if s > {i}: conv c stride=2\n" for i in range(k)) + "model M():\n    input [3, 64, 64]\n    b 8\n"
    code = compile_source(spec, "chain.lego").code
    assert len(code) < 60_000  # 11 MB before the bound
    lines = code.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.strip().startswith("Output: [B, c if s > 15")]
    # the docstring's line, with its continuation lines (hanging indent: codegen/wrapping.py)
    continued = itertools.takewhile(lambda line: line.startswith("        "), lines[at + 1 :])
    output = " ".join([lines[at], *(line.strip() for line in continued)])
    assert output.endswith(", ..., ...].")
    assert black.format_str(code, mode=black.Mode()) == code
    assert "Output: [B, 8, 32, 32]." in code  # the model's own sizes are numbers


def test_a_long_chain_of_conditional_layers_is_analysed_in_linear_time():
    # The same chain at k = 40: its size expression is a graph of 40 nodes
    # and 2**40 paths. Expressions are interned (legoc.ir.expressions), so an
    # equal expression built twice is one object and the analysis compares
    # and memoises such graphs by identity, and free_symbols visits each node
    # once. Before, k = 26 took 48 s to check and k = 40 would never end.
    from legoc.ir import symbolic
    from legoc.ir.expressions import Const, Sym, free_symbols

    k = 40
    spec = "block b(c, s=1):\n" + "".join(f"    if s > {i}: conv c stride=2\n" for i in range(k)) + "model M():\n    input [3, 64, 64]\n    b 8\n"
    code = compile_source(spec, "chain.lego").code
    assert "Output: [B, 8, 32, 32]." in code

    def chain(n: int):
        s, h = Sym("p:s", "s", "s"), Sym("p:h", "h", "h")
        for i in range(n):
            h = symbolic.cond(symbolic.compare(">", s, Const(i)), symbolic.floordiv(symbolic.add(h, Const(1)), Const(2)), h)
        return h

    first, second = chain(k), chain(k)
    same = first is second  # hash-consed: one object, compared by identity (pytest would print the graph's 2**40-term repr)
    assert same
    assert sorted(x.key for x in free_symbols(first)) == ["p:h", "p:s"]
