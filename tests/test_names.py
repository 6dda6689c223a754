"""Layer names: what a spec's `name: layer` becomes in generated code, the
structure rules (nn.Sequential blocks and named groups, `None` shortcuts),
and the diagnostics for names that cannot be attributes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from conftest import load_module
from legoc.compiler import compile_source
from legoc.core.naming import MODULE_ATTRS
from test_infer import errors, run_and_compare


def test_module_attrs_cover_torchs_nn_module():
    # legoc cannot import torch, so it keeps its own list; it must not miss one.
    own = {name for name in dir(nn.Module()) if not name.startswith("__")}
    assert own <= MODULE_ATTRS


def test_names_become_attributes_and_unnamed_layers_keep_compiler_names():
    spec = """
model Net():
    input [3, 8, 8]
    stem: conv 8
    bn
    relu
    head: <
        conv 4
        relu
    >
    blocks: repeat 2 conv 4
    flatten
    fc: linear 10
"""
    model = run_and_compare(spec, (3, 8, 8))
    assert [name for name, _ in model.named_children()] == ["stem", "bn", "relu", "head", "blocks", "flatten", "fc"]
    assert isinstance(model.head, nn.Sequential) and isinstance(model.head[1], nn.ReLU)
    assert list(model.state_dict())[:3] == ["stem.weight", "stem.bias", "bn.weight"]
    assert "blocks.1.weight" in model.state_dict()


def test_an_unnamed_layer_steps_aside_for_a_named_one():
    spec = "model Net():\n    input [3, 8, 8]\n    conv 4\n    conv: conv 4\n"
    model = run_and_compare(spec, (3, 8, 8))
    assert [name for name, _ in model.named_children()] == ["conv_2", "conv"]


def test_plain_blocks_are_sequential_and_named_blocks_are_not():
    spec = """
block plain(c):
    conv c
    bn
    repeat 2 relu

block named(c):
    conv1: conv c
    bn

model Net():
    input [3, 8, 8]
    plain 4
    named 4
"""
    model = run_and_compare(spec, (3, 8, 8))
    assert type(model.plain).__mro__[1] is nn.Sequential and len(model.plain) == 4
    assert type(model.named).__mro__[1] is nn.Module
    assert [name for name, _ in model.named.named_children()] == ["conv1", "bn"]


def test_a_shortcut_that_is_not_needed_is_none_and_a_named_one_is_registered_after_the_body():
    spec = """
block unit(c, stride=1):
    res add < conv1: conv c stride=stride; bn1: bn > shortcut proj: conv1x1_bn
    relu

model Net():
    input [4, 8, 8]
    a: unit 4
    b: unit 8 stride=2
"""
    model = run_and_compare(spec, (4, 8, 8))
    assert model.a.proj is None
    assert isinstance(model.b.proj, nn.Sequential)
    assert [k for k in model.state_dict() if k.startswith("b.")][-7:] == [
        "b.bn1.num_batches_tracked",
        "b.proj.0.weight",
        "b.proj.1.weight",
        "b.proj.1.bias",
        "b.proj.1.running_mean",
        "b.proj.1.running_var",
        "b.proj.1.num_batches_tracked",
    ]


def test_names_in_dataflow_pipelines():
    spec = """
block join(c)(a, b):
    return (a, b) -> cat -> fuse: conv c kernel_size=1

model Net():
    input x: [3, 8, 8]
    y = x -> stem: conv 4
    z = (x, y) -> merge: join 6
    output out = z -> head: conv 2
"""
    result = compile_source(spec, "t.lego")
    model = load_module(result.code).Net()
    assert [name for name, _ in model.named_children()] == ["stem", "merge", "head"]
    assert "merge.fuse.weight" in model.state_dict()
    assert model(torch.randn(1, 3, 8, 8)).shape == (1, 2, 8, 8)


def test_a_rearrange_size_attribute_steps_aside_for_a_layer_name():
    spec = """
block shuffle(c, g=2):
    g: conv c kernel_size=1
    rearrange "(g c) h w -> (c g) h w" g=g

model Net():
    input [4, 6, 6]
    shuffle 4
"""
    model = run_and_compare(spec, (4, 6, 6))
    assert isinstance(model.shuffle.g, nn.Conv2d) and model.shuffle.g_2 == 2


M = "model N():\n    input [3, 8, 8]\n"


@pytest.mark.parametrize(
    "spec, expected",
    [
        (M + "    conv1: conv 4\n    conv1: conv 4\n", (4, 5, "two layers are named `conv1`")),
        (M + "    res add < a: conv 3 > shortcut a: conv1x1_bn\n", (3, 36, "two layers are named `a`")),
        (M + "    class: conv 4\n", (3, 5, "`class` is a Python keyword")),
        (M + "    __init__: conv 4\n", (3, 5, "starts with `__`")),
        (M + "    forward: conv 4\n", (3, 5, "`forward` is an attribute of nn.Module")),
        (M + "    training: relu\n", (3, 5, "`training` is an attribute of nn.Module")),
        (M + "    _modules: relu\n", (3, 5, "`_modules` is an attribute of nn.Module")),
        (M + "    repeat 2 c: conv 3\n", (3, 14, "cannot be named; name the repeat instead")),
        (M + "    f: < a: conv 4; relu >\n", (3, 10, "numbered 0, 1, ... in its nn.Sequential")),
        (M + "    r: res add < conv 3 >\n", (3, 5, "a residual has no module of its own")),
        (M + "    p: add < conv 3 | conv 3 >\n", (3, 5, "a parallel has no module of its own")),
        (M + "    f: < res add < conv 3 > >\n", (3, 10, "the named group `f` becomes an nn.Sequential")),
        (M + '    t: rearrange "c h w -> c w h"\n', (3, 5, "has no module to name")),
        ("block b()(x):\n    y = x -> a: relu\n    return y -> a: relu\n\nmodel N():\n    input [3]\n    b\n", (3, 17, "two layers are named `a`")),
    ],
)
def test_name_errors(spec, expected):
    line, column, message = expected
    found = errors(spec)
    assert any((l, c) == (line, column) and message in m for l, c, m in found), found


def test_the_same_name_in_two_classes_is_fine():
    spec = "block b(c):\n    conv1: conv c\n\nmodel N():\n    input [3, 8, 8]\n    conv1: b 4\n"
    model = run_and_compare(spec, (3, 8, 8))
    assert "conv1.conv1.weight" in model.state_dict()


def test_all_lists_the_models_and_public_blocks_sorted():
    # ruff's RUF022 wants __all__ sorted; a vendored file exports its models
    # and the blocks written `public block`, not every helper block (two
    # files that both define a `stage` would both export `Stage`).
    spec = (
        "public block unit(c):\n    conv c\n\n"
        "block stage(c):\n    unit c\n    unit c\n\n"
        "model Zeta():\n    input [3, 8, 8]\n    stage 4\n\n"
        "model Alpha():\n    input [3, 8, 8]\n    unit 4\n"
    )
    code = compile_source(spec, "t.lego").code
    namespace: dict = {}
    exec(code, namespace)
    assert namespace["__all__"] == ["Alpha", "Unit", "Zeta"]
    assert "Stage" in namespace  # generated, only not exported
