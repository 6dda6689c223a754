"""Module names as torchvision writes them (issue 18, RegNet): a repeat's
per-repetition name pattern (`repeat n as i "block{stage}-{i}": ...`,
LG217), a named group whose layers are named (nn.Sequential of an
the names its keys), a shortcut built before its body (`res add shortcut P <
body >`) and the value chosen when a module is built (`(a if test else b)`,
LG423). Each is run in torch and compared with what legoc says.
"""

from __future__ import annotations

import pytest
import torch

from conftest import load_module
from legoc.compiler import compile_source
from legoc.core.diagnostics import SpecError
from legoc.tools.statedict import state_dict_layout


def _build(text: str, model: str = "M", **kwargs):
    result = compile_source(text, "t.lego")
    module = load_module(result.code)
    return result, getattr(module, model)(**kwargs)


def _keys(result, model: str = "M") -> list[str]:
    return [e.key for e in state_dict_layout(result.analysis, model)]


STAGES = """\
block stage(c, n, stage, stride=2):
    repeat n as i "block{stage}-{i}": conv c kernel_size=3 stride=(stride if i == 0 else 1)

model M():
    input [3, 16, 16]
    s1: stage 8 2 1
    s2: stage 16 3 2
"""


def test_a_name_pattern_names_the_repetitions_and_the_first_has_the_stride():
    result, model = _build(STAGES)
    assert "class Stage(nn.Sequential):" in result.code
    assert 'self.add_module(\n                f"block{stage}-{i}",' in result.code
    keys = list(model.state_dict())
    assert keys == _keys(result)
    assert keys[:4] == ["s1.block1-0.weight", "s1.block1-0.bias", "s1.block1-1.weight", "s1.block1-1.bias"]
    assert "s2.block2-2.weight" in keys
    assert model.s2.get_submodule("block2-0").stride == (2, 2)
    assert model.s2.get_submodule("block2-1").stride == (1, 1)
    assert tuple(model(torch.randn(2, 3, 16, 16)).shape) == (2, 16, 4, 4)
    assert result.analysis.defaults["M"].output == result.analysis.defaults["M"].output  # decided
    assert [int(str(d)) for d in result.analysis.defaults["M"].output] == [16, 4, 4]


def test_the_unquoted_name_still_counts_from_one():
    text = "model M(n=3):\n    input [4, 8, 8]\n    b: repeat n as i layer: conv 4 kernel_size=1\n"
    result, model = _build(text)
    assert list(model.state_dict())[::2] == ["b.layer1.weight", "b.layer2.weight", "b.layer3.weight"]


@pytest.mark.parametrize(
    "item, line, column, message",
    [
        ('"block.{i}": conv 4', 3, 19, "has the character '.'"),
        ('"block {i}": conv 4', 3, 19, "has the character ' '"),
        ('"blöck{i}": conv 4', 3, 19, "has the character 'ö'"),
        ('"block{i": conv 4', 3, 19, "has a `{` or `}` that is not `{name}`"),
        ('"block{i + 1}": conv 4', 3, 19, "has a `{` or `}` that is not `{name}`"),
        ('"": conv 4', 3, 19, "is empty"),
        ('"block{j}-{i}": conv 4', 3, 19, "`{j}` in the name pattern \"block{j}-{i}\" is not a parameter"),
        # a parameter's type is decided with its value: the model's default `"x"`
        ('"block{s}-{i}": conv 4', 1, 11, "`{s}` in the name pattern \"block{s}-{i}\" is not an integer"),
        ('"block": conv 4', 3, 19, "does not mention the index"),
    ],
)
def test_a_bad_name_pattern_is_lg217(item, line, column, message):
    text = f'model M(s="x"):\n    input [4, 8, 8]\n    repeat 2 as i {item}\n'
    with pytest.raises(SpecError) as info:
        compile_source(text, "t.lego")
    (d,) = [d for d in info.value.diagnostics if d.severity == "error"]
    assert (d.code, d.span.line, d.span.column) == ("LG217", line, column)
    assert message in d.message


@pytest.mark.parametrize(
    "body",
    ['"a{i}": conv 4', 'repeat 2 "a{i}": conv 4', 'f: < "a-1": conv 4 >'],
)
def test_a_quoted_name_elsewhere_is_lg217(body):
    with pytest.raises(SpecError) as info:
        compile_source(f"model M():\n    input [4, 8, 8]\n    {body}\n", "t.lego")
    assert [d.code for d in info.value.diagnostics] == ["LG217"]
    assert "names the repetitions of an indexed repeat" in info.value.diagnostics[0].message


def test_a_pattern_parameter_of_a_block_counts_as_used():
    result = compile_source(STAGES, "t.lego")
    assert [w.code for w in result.warnings] == []


# ------------------------------------------------ (a if test else b)


@pytest.mark.parametrize("k, stride", [(0, 2), (1, 1)])
def test_an_if_expression_is_decided_when_the_module_is_built(k, stride):
    text = "model M(s=2, k=0):\n    input [4, 8, 8]\n    c: conv 4 stride=(s if k == 0 else 1)\n    f: < relu >\n"
    result, model = _build(text, k=k)
    assert "stride=s if k == 0 else 1" in result.code
    assert model.c.stride == (stride, stride)
    assert tuple(model(torch.randn(1, 4, 8, 8)).shape) == (1, 4, 8 // stride, 8 // stride)


def test_a_comparison_inside_an_if_expression_leaves_groups_alone():
    # `<` in the test compares; after `else` it opens a group again.
    text = "model M(k=0):\n    input [4, 8, 8]\n    conv 4 stride=(2 if k < 1 else 1)\n    f: <\n        relu\n    >\n"
    result, model = _build(text)
    assert tuple(model(torch.randn(1, 4, 8, 8)).shape) == (1, 4, 4, 4)


def test_an_if_expression_without_else_says_what_is_expected():
    text = "model M(k=0):\n    input [4, 8, 8]\n    conv (4 if k == 0 conv)\n"
    with pytest.raises(SpecError) as info:
        compile_source(text, "t.lego")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.column, d.message) == ("LG101", 23, "unexpected `conv`; expected `else`")


def test_an_if_expression_of_two_kinds_is_lg423():
    text = 'model M(k=0):\n    input [4, 8, 8]\n    conv (4 if k == 0 else "a")\n'
    with pytest.raises(SpecError) as info:
        compile_source(text, "t.lego")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("LG423", 3, 10)


# ------------------------------------------- named layers of a named group


GROUP = """\
model M(se=true):
    input [4, 8, 8]
    f: <
        a: conv 8 kernel_size=1
        if se: b: relu
        c: conv 4 kernel_size=1
    >
"""


@pytest.mark.parametrize("se", [True, False])
def test_named_layers_of_a_named_group_are_an_ordered_dict(se):
    result, model = _build(GROUP, se=se)
    assert 'self.f = nn.Sequential()\n        self.f.add_module("a", nn.Conv2d(4, 8, kernel_size=1))\n        if se:' in result.code
    assert isinstance(model.f, torch.nn.Sequential)
    assert list(model.f._modules) == (["a", "b", "c"] if se else ["a", "c"])
    assert list(model.state_dict()) == ["f.a.weight", "f.a.bias", "f.c.weight", "f.c.bias"]


def test_a_group_with_some_layers_named_is_lg204():
    with pytest.raises(SpecError) as info:
        compile_source("model M():\n    input [4, 8, 8]\n    f: < a: conv 8; relu >\n", "t.lego")
    assert [d.code for d in info.value.diagnostics] == ["LG204"]
    assert "name all of them" in info.value.diagnostics[0].message


def test_two_layers_of_a_group_with_one_name_is_lg206():
    with pytest.raises(SpecError) as info:
        compile_source("model M():\n    input [4, 8, 8]\n    f: < a: conv 8; a: relu >\n", "t.lego")
    assert [d.code for d in info.value.diagnostics] == ["LG206"]


# ------------------------------------- a shortcut built before its body


FIRST = """\
block unit(c, stride=1)(x):
    res add shortcut proj: conv1x1_bn < f: < a: conv c stride=stride bias=false; b: bn > >
    relu

model M():
    input [4, 8, 8]
    u1: unit 4
    u2: unit 8 stride=2
"""


def test_a_shortcut_written_first_is_registered_first():
    text = FIRST.replace("(x):", ":")
    result, model = _build(text)
    keys = list(model.state_dict())
    assert keys == _keys(result)
    assert not any(k.startswith("u1.proj") for k in keys)  # the identity fits: no projection
    u2 = [k for k in keys if k.startswith("u2.")]
    assert u2[0] == "u2.proj.0.weight" and u2.index("u2.f.a.weight") > u2.index("u2.proj.1.num_batches_tracked")
    x = torch.randn(2, 4, 8, 8)
    model.eval()
    with torch.no_grad():
        expected = torch.relu(model.u1.f(x) + x)
        assert torch.equal(model.u1(x), expected)


def test_a_graph_block_that_keeps_the_size_keeps_the_stride():
    # squeeze-and-excitation as a graph: the residual around it still knows
    # its total stride (the shortcut's `stride` is filled in) and that the
    # identity fits where channels and stride are kept.
    text = """\
block se(squeeze)(x):
    s = x -> avgpool -> conv squeeze kernel_size=1 -> relu -> conv in_channels kernel_size=1 -> sigmoid
    return (s, x) -> mul

block unit(c, stride=1):
    res add < conv c stride=stride bias=false; bn; se 2 > shortcut proj: conv1x1_bn

model M():
    input [4, 8, 8]
    u1: unit 4
    u2: unit 8 stride=2
"""
    result, model = _build(text)
    assert "if in_channels != c or stride != 1:" in result.code
    assert model.u1.proj is None and model.u2.proj[0].stride == (2, 2)
    assert tuple(model(torch.randn(1, 4, 8, 8)).shape) == (1, 8, 4, 4)


@pytest.mark.parametrize(
    "op, value, expected",
    [("==", 0, False), ("!=", 0, True), ("<", 1, False), ("<=", 0, False), (">", 0, True), (">=", 1, True), ("==", 1, None), (">", 1, None)],
)
def test_a_symbol_with_a_least_value_decides_comparisons_below_it(op, value, expected):
    from legoc.ir import symbolic as sy

    later = sy.Sym("idx:i", "i", "i", low=1)
    got = sy.compare(op, later, sy.Const(value))
    assert (sy.value_of(got) if sy.is_const(got) else None) == expected
    flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
    back = sy.compare(flipped, sy.Const(value), later)
    assert (sy.value_of(back) if sy.is_const(back) else None) == expected
    assert not sy.is_const(sy.compare(op, sy.Sym("idx:i", "i", "i"), sy.Const(value)))  # no bound: undecided
