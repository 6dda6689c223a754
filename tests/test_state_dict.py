"""State_dict compatibility: generated models load torchvision's weights, and
`legoc state-dict` (no torch) lists exactly what torch's state_dict() has."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from conftest import EXAMPLES, example_names, load_module
from legoc.ir import symbolic as sy
from legoc.compiler import compile_source
from legoc.tools.statedict import state_dict_layout, torch_entries

STATE_DICTS = Path(__file__).resolve().parent / "reference" / "state_dicts"
TORCHVISION = sorted(p.stem for p in STATE_DICTS.glob("*.json"))  # resnet18, resnet34, resnet50, vgg16


def _compiled(name: str):
    path = EXAMPLES / f"{name}.lego"
    return compile_source(path.read_text(), str(path))


def _model(name: str) -> tuple[nn.Module, str]:
    result = _compiled(name)
    (ir,) = [c for c in result.analysis.classes if c.kind == "model"]
    module = load_module(result.code, name)
    return getattr(module, module.__all__[-1])(), ir.name


def test_the_reference_layouts_are_here():
    assert TORCHVISION == ["resnet18", "resnet34", "resnet50", "vgg16"]


@pytest.mark.parametrize("name", TORCHVISION)
def test_generated_state_dict_is_torchvisions(name):
    reference = json.loads((STATE_DICTS / f"{name}.json").read_text())["entries"]
    model, _ = _model(name)
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == reference


@pytest.mark.parametrize("name", TORCHVISION)
def test_a_checkpoint_with_torchvisions_layout_loads_strictly(name):
    reference = json.loads((STATE_DICTS / f"{name}.json").read_text())["entries"]
    generator = torch.Generator().manual_seed(0)
    checkpoint = {
        key: torch.randint(0, 100, shape, generator=generator) if key.endswith("num_batches_tracked") else torch.randn(shape, generator=generator)
        for key, shape in reference
    }
    model, _ = _model(name)
    result = model.load_state_dict(checkpoint, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in model.state_dict().items():
        assert torch.equal(value, checkpoint[key].to(value.dtype)), key
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


@pytest.mark.parametrize("name", example_names())
def test_printed_layout_is_the_real_state_dict(name):
    result = _compiled(name)
    model, model_name = _model(name)
    printed = state_dict_layout(result.analysis, model_name)
    real = model.state_dict()
    assert [(e.key, e.shape) for e in printed] == [(k, tuple(v.shape)) for k, v in real.items()]
    buffers = {k for k, _ in model.named_buffers()}
    assert {e.key for e in printed if e.buffer} == buffers
    # The parameters the layout lists are the ones shape inference counted;
    # a tied tensor (GPT-2's lm_head.weight) is one parameter under two keys.
    tensors = model.state_dict(keep_vars=True)
    first = {id(t): k for k, t in reversed(tensors.items())}
    count = sum(_numel(e.shape) for e in printed if not e.buffer and first[id(tensors[e.key])] == e.key)
    assert count == sy.value_of(result.analysis.defaults[model_name].n_params)


def _numel(shape):
    n = 1
    for size in shape:
        n *= size
    return n


# Each torch module legoc emits, built from drawn arguments, against the
# entries legoc predicts for it.
_ints = st.integers(1, 6)


@st.composite
def _modules(draw):
    kind = draw(st.sampled_from(["Conv", "ConvTranspose", "Linear", "BatchNorm", "LayerNorm", "GroupNorm", "Embedding", "LSTM", "GRU", "MultiheadAttention"]))
    if kind == "MultiheadAttention":  # mha: self-attention, batch first
        heads = draw(_ints)
        return "nn.MultiheadAttention", [heads * draw(_ints), heads], {"bias": draw(st.booleans()), "batch_first": True}
    if kind in ("Conv", "ConvTranspose"):
        groups = draw(st.integers(1, 3))
        args = [groups * draw(_ints), groups * draw(_ints)]
        kwargs = {"kernel_size": draw(_ints), "groups": groups, "bias": draw(st.booleans())}
        return f"nn.{kind}{draw(st.integers(1, 3))}d", args, kwargs
    if kind == "Linear":
        return "nn.Linear", [draw(_ints), draw(_ints)], {"bias": draw(st.booleans())}
    if kind == "BatchNorm":
        return f"nn.BatchNorm{draw(st.integers(1, 3))}d", [draw(_ints)], {"affine": draw(st.booleans())}
    if kind == "LayerNorm":
        return "nn.LayerNorm", [draw(_ints)], {"elementwise_affine": draw(st.booleans())}
    if kind == "GroupNorm":
        groups = draw(_ints)
        return "nn.GroupNorm", [groups, groups * draw(_ints)], {"affine": draw(st.booleans())}
    if kind == "Embedding":
        return "nn.Embedding", [draw(_ints), draw(_ints)], {}
    kwargs = {"num_layers": draw(st.integers(1, 3)), "bidirectional": draw(st.booleans()), "batch_first": True}
    return f"nn.{kind}", [draw(_ints), draw(_ints)], kwargs


@settings(max_examples=200, deadline=None)
@given(_modules())
def test_entries_of_each_torch_module_match_torch(spec):
    target, args, kwargs = spec
    module = getattr(nn, target.removeprefix("nn."))(*args, **kwargs)
    expected = [(k, tuple(v.shape), k in dict(module.named_buffers())) for k, v in module.state_dict().items()]
    assert torch_entries(target, args, kwargs) == expected


@pytest.mark.parametrize("target", ["nn.ReLU", "nn.MaxPool2d", "nn.AdaptiveAvgPool2d", "nn.Flatten", "nn.Upsample", "nn.PixelShuffle", "nn.Dropout"])
def test_stateless_modules_have_no_entries(target):
    assert torch_entries(target, [], {}) == []


def test_an_unknown_module_is_a_legoc_bug_not_an_empty_layout():
    with pytest.raises(ValueError, match="does not know"):
        torch_entries("nn.Transformer", [], {})


# Random specs mixing named and unnamed layers, named groups, repeats,
# residuals with and without projections, and calls of a plain (Sequential)
# block and of a block with names: the printed layout must be the real one.
BLOCKS = """
block plain(c, n=1):
    conv c kernel_size=1
    bn
    repeat n < conv c; relu >

block unit(c, stride=1):
    res add < conv1: conv c stride=stride bias=false; bn1: bn; relu; conv c > shortcut down: conv1x1_bn
    relu
"""


@st.composite
def _specs(draw):
    names = iter(f"m{i}" for i in range(100))
    lines = []
    strided = 0
    for _ in range(draw(st.integers(1, 6))):
        c = draw(st.integers(1, 6))
        kind = draw(st.sampled_from(["conv", "bn", "group", "repeat", "plain", "unit", "res"]))
        if kind == "conv":
            text = f"conv {c} kernel_size={draw(st.sampled_from([1, 3]))} bias={draw(st.sampled_from(['true', 'false']))}"
        elif kind == "bn":
            text = f"bn affine={draw(st.sampled_from(['true', 'false']))}"
        elif kind == "group":
            text = f"< conv {c}; relu; < bn; conv {c} kernel_size=1 > >"
        elif kind == "repeat":
            text = f"repeat {draw(st.integers(1, 3))} conv {c}"
        elif kind == "plain":
            text = f"plain {c} n={draw(st.integers(0, 2))}"
        elif kind == "unit":
            stride = 2 if strided < 2 and draw(st.booleans()) else 1
            strided += stride == 2
            text = f"unit {c} stride={stride}"
        else:
            text = f"res add < conv {c}; bn > shortcut {next(names)}: conv1x1_bn"
        if kind != "res" and draw(st.booleans()):
            text = f"{next(names)}: {text}"
        lines.append(text)
    body = "".join(f"    {line}\n" for line in lines)
    return BLOCKS + f"\nmodel Net():\n    input [{draw(st.integers(1, 4))}, 8, 8]\n{body}"


@settings(max_examples=60, deadline=None)
@given(_specs())
def test_printed_layout_is_the_real_state_dict_for_random_specs(spec):
    result = compile_source(spec, "random.lego")
    model = getattr(load_module(result.code), "Net")()
    printed = state_dict_layout(result.analysis, "Net")
    assert [(e.key, e.shape, e.buffer) for e in printed] == [
        (k, tuple(v.shape), k in dict(model.named_buffers())) for k, v in model.state_dict().items()
    ]
    with torch.no_grad():
        model.eval()(torch.randn(1, *_input_shape(result)))


def _input_shape(result):
    (ir,) = [c for c in result.analysis.classes if c.kind == "model"]
    return tuple(sy.value_of(d) for d in ir.input)
