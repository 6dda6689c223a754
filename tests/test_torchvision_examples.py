"""The examples written after torchvision's CNNs (issue 18) are torchvision's
models exactly: torchvision's `state_dict()` loads into the generated model
with `strict=True`, and in eval mode, with random weights and randomised
batch-norm statistics, the outputs agree within 1e-5. Model parameters that
scale the network (`width_mult`) give torchvision's variants: equal
parameter counts, and for one variant the same state_dict and outputs.

torchvision's models are built from its source (conftest.torchvision_definitions).
A new example adds one row to EXAMPLES.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch

from conftest import EXAMPLES, load_module, torchvision_definitions
from legoc.compiler import compile_source
from legoc.ir import symbolic as sy
from legoc.tools.settings import setting


def _conv2d_norm_activation() -> dict:
    """torchvision/ops/misc.py's ConvNormActivation and Conv2dNormActivation."""
    utils = torchvision_definitions("utils.py", "_make_ntuple")
    return torchvision_definitions("ops/misc.py", "ConvNormActivation", "Conv2dNormActivation", **utils)


def _mobilenet_v2() -> Callable[..., torch.nn.Module]:
    needs = {**_conv2d_norm_activation(), **torchvision_definitions("models/_utils.py", "_make_divisible")}
    return torchvision_definitions("models/mobilenetv2.py", "MobileNetV2", "InvertedResidual", **needs)["MobileNetV2"]


def _efficientnet_definitions() -> dict:
    """torchvision/models/efficientnet.py's EfficientNet and its blocks and configurations."""
    import copy
    import dataclasses
    import math
    from typing import Optional

    misc = torchvision_definitions("ops/misc.py", "ConvNormActivation", "Conv2dNormActivation", "SqueezeExcitation", **torchvision_definitions("utils.py", "_make_ntuple"))
    needs = {
        **misc,
        **torchvision_definitions("ops/stochastic_depth.py", "stochastic_depth", "StochasticDepth"),
        **torchvision_definitions("models/_utils.py", "_make_divisible"),
        "copy": copy, "math": math, "dataclass": dataclasses.dataclass, "Optional": Optional,
    }
    names = ("_MBConvConfig", "MBConvConfig", "FusedMBConvConfig", "MBConv", "FusedMBConv", "EfficientNet", "_efficientnet_conf")
    return torchvision_definitions("models/efficientnet.py", *names, **needs)


def _efficientnet_b0() -> Callable[..., torch.nn.Module]:
    """torchvision's efficientnet_b0() .. efficientnet_b7() (their bodies:
    _efficientnet_conf's table scaled by width_mult and depth_mult, and
    BatchNorm2d(eps, momentum)), taking the spec's model arguments."""
    tv = _efficientnet_definitions()

    def build(classes=1000, width_mult=1.0, depth_mult=1.0, dropout=0.2, stochastic_depth_prob=0.2, norm_eps=1e-5, norm_momentum=0.1):
        setting, last_channel = tv["_efficientnet_conf"]("efficientnet_b0", width_mult=width_mult, depth_mult=depth_mult)
        norm_layer = functools.partial(torch.nn.BatchNorm2d, eps=norm_eps, momentum=norm_momentum)
        return tv["EfficientNet"](setting, dropout, stochastic_depth_prob, classes, norm_layer, last_channel)

    return build


def _efficientnet_v2_s() -> Callable[..., torch.nn.Module]:
    """torchvision's efficientnet_v2_s(): _efficientnet_conf("efficientnet_v2_s"), BatchNorm2d(eps=1e-3)."""
    tv = _efficientnet_definitions()

    def build(classes=1000, dropout=0.2, stochastic_depth_prob=0.2):
        setting, last_channel = tv["_efficientnet_conf"]("efficientnet_v2_s")
        norm_layer = functools.partial(torch.nn.BatchNorm2d, eps=1e-3)
        return tv["EfficientNet"](setting, dropout, stochastic_depth_prob, classes, norm_layer, last_channel)

    return build


def efficientnet_variants() -> dict[str, dict]:
    """examples/efficientnet_b0.lego's comment lines `# b3: width_mult=1.2
    depth_mult=1.4 dropout=0.3`, each setting read as `--set` reads it
    (legoc.tools.settings.setting), by variant name."""
    variants = {}
    for line in (EXAMPLES / "efficientnet_b0.lego").read_text().splitlines():
        match = re.fullmatch(r"# (b[0-9]): (.*)", line)
        if match:
            variants[match[1]] = dict(setting(word) for word in match[2].split())
    return variants


@dataclass(frozen=True)
class Example:
    """examples/NAME.lego against torchvision's model.

    `reference` gives torchvision's class (built from its source);
    `arguments` turns the spec's model arguments into torchvision's
    (`{"width_mult": 0.5}` -> `{"width_mult": 0.5}`); `variants` are model
    arguments whose parameter counts must equal torchvision's, the first of
    them also compared output for output; `shape` is the input without the
    batch axis."""

    name: str
    reference: Callable[[], Callable[..., torch.nn.Module]]
    shape: tuple[int, ...]
    variants: tuple[dict, ...] = ()
    arguments: Callable[[dict], dict] = field(default=lambda given: dict(given))


EXAMPLES_TABLE = [
    Example(
        "mobilenet_v2",
        _mobilenet_v2,
        (3, 224, 224),
        variants=({"width_mult": 0.5}, {"width_mult": 0.75}, {"width_mult": 1.4}, {"width_mult": 0.35}),
        arguments=lambda given: {("num_classes" if k == "classes" else k): v for k, v in given.items()},
    ),
    # B1 to B7 from the file's `# bN:` lines; B1 is compared output for output.
    Example("efficientnet_b0", _efficientnet_b0, (3, 224, 224), variants=tuple(efficientnet_variants().values())),
    Example("efficientnet_v2_s", _efficientnet_v2_s, (3, 224, 224)),
]

BY_NAME = {e.name: e for e in EXAMPLES_TABLE}


def _compiled(name: str):
    """(generated module, the model's class name, its IR with the defaults)."""
    result = compile_source((EXAMPLES / f"{name}.lego").read_text(), f"{name}.lego")
    (model,) = result.analysis.defaults
    return load_module(result.code), model, result.analysis.defaults[model]


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Random weights everywhere, and batch-norm statistics and affine
    parameters far from their initial values, so that a misplaced tensor
    shows in the output."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator) * (2.0 / m.weight[0].numel()) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.rand(m.bias.shape, generator=generator) - 0.5)
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=generator) - 0.5)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=generator) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=generator) - 0.5)


def _compare(example: Example, given: dict) -> None:
    module, model_name, ir = _compiled(example.name)
    reference = example.reference()(**example.arguments(given))
    model = getattr(module, model_name)(**given)
    _randomise(reference)
    # The reference's own keys, in its order, with its shapes: strict=True
    # fails on a missing, unexpected or differently shaped tensor.
    assert list(model.state_dict()) == list(reference.state_dict())
    model.load_state_dict(reference.state_dict(), strict=True)
    reference.eval(), model.eval()
    x = torch.randn(2, *example.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = reference(x), model(x)
    assert got.shape == expected.shape
    assert expected.abs().max().item() > 1e-3  # the comparison is not of two zero tensors
    assert (got - expected).abs().max().item() <= 1e-5
    if not given:
        assert tuple(got.shape[1:]) == tuple(sy.value_of(d) for d in ir.output)
        assert sum(p.numel() for p in model.parameters()) == sy.value_of(ir.n_params)


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_default_arguments_are_torchvisions_model(name):
    _compare(BY_NAME[name], {})


@pytest.mark.parametrize("name", sorted(e.name for e in EXAMPLES_TABLE if e.variants))
def test_first_variant_is_torchvisions_model(name):
    example = BY_NAME[name]
    _compare(example, example.variants[0])


@pytest.mark.parametrize(
    "name, given",
    [pytest.param(e.name, v, id=f"{e.name}-" + "-".join(f"{k}={v}" for k, v in v.items())) for e in EXAMPLES_TABLE for v in ({}, *e.variants)],
)
def test_parameter_counts_equal_torchvisions(name, given):
    example = BY_NAME[name]
    module, model_name, _ = _compiled(name)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(getattr(module, model_name)(**given)) == count(example.reference()(**example.arguments(given)))



def test_efficientnet_variants_are_torchvisions_b1_to_b7():
    # The comment lines give torchvision's efficientnet_b1() .. _b7()
    # arguments (torchvision/models/efficientnet.py); the counts are
    # compared by test_parameter_counts_equal_torchvisions.
    variants = efficientnet_variants()
    assert list(variants) == [f"b{n}" for n in range(1, 8)]
    assert variants["b3"] == {"width_mult": 1.2, "depth_mult": 1.4, "dropout": 0.3}
    assert variants["b7"] == {"width_mult": 2.0, "depth_mult": 3.1, "dropout": 0.5, "norm_eps": 0.001, "norm_momentum": 0.01}
