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

import collections
import functools
import math
import re
import typing
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


def _squeezenet() -> Callable[..., torch.nn.Module]:
    return torchvision_definitions("models/squeezenet.py", "SqueezeNet", "Fire", init=torch.nn.init)["SqueezeNet"]


def _resnet_bottleneck(**fixed) -> Callable[[], Callable[..., torch.nn.Module]]:
    """torchvision's ResNet of Bottleneck blocks, [3, 4, 6, 3] (50 layers),
    with `fixed` arguments (its resnext50_32x4d and wide_resnet50_2)."""

    def reference() -> Callable[..., torch.nn.Module]:
        names = torchvision_definitions("models/resnet.py", "ResNet", "BasicBlock", "Bottleneck", "conv1x1", "conv3x3")
        return lambda **given: names["ResNet"](names["Bottleneck"], [3, 4, 6, 3], **{**fixed, **given})

    return reference


def _densenet() -> Callable[..., torch.nn.Module]:
    import torch.utils.checkpoint

    names = torchvision_definitions(
        "models/densenet.py", "DenseNet", "_DenseLayer", "_DenseBlock", "_Transition",
        OrderedDict=collections.OrderedDict, cp=torch.utils.checkpoint,
    )
    return lambda **given: names["DenseNet"](block_config=(6, 12, 24, 16), **given)


def _renamed(**names: str) -> Callable[[dict], dict]:
    """The spec's model arguments as torchvision's: `classes` is
    `num_classes`, and `names` renames others."""
    names = {"classes": "num_classes", **names}
    return lambda given: {names.get(k, k): v for k, v in given.items()}


def _googlenet() -> Callable[..., torch.nn.Module]:
    """GoogLeNet without auxiliary classifiers; init_weights=False skips
    torchvision's truncated-normal initialisation (the test randomises the
    weights anyway)."""
    # The namedtuple of training's outputs is an assignment in googlenet.py, not a definition.
    outputs = collections.namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
    definitions = torchvision_definitions(
        "models/googlenet.py", "GoogLeNet", "Inception", "InceptionAux", "BasicConv2d", GoogLeNetOutputs=outputs, _GoogLeNetOutputs=outputs
    )
    return functools.partial(definitions["GoogLeNet"], aux_logits=False, init_weights=False)


def _inception_v3() -> Callable[..., torch.nn.Module]:
    """Inception3 without the auxiliary classifier (init_weights=False, as
    above)."""
    blocks = ("InceptionA", "InceptionB", "InceptionC", "InceptionD", "InceptionE", "InceptionAux", "BasicConv2d")
    outputs = collections.namedtuple("InceptionOutputs", ["logits", "aux_logits"])
    definitions = torchvision_definitions("models/inception.py", "Inception3", *blocks, InceptionOutputs=outputs, _InceptionOutputs=outputs)
    return functools.partial(definitions["Inception3"], aux_logits=False, init_weights=False)


def _shufflenet_v2() -> Callable[..., torch.nn.Module]:
    """torchvision's ShuffleNetV2, with the stage widths as keywords."""
    defs = torchvision_definitions("models/shufflenetv2.py", "ShuffleNetV2", "InvertedResidual", "channel_shuffle")
    return lambda stages_out_channels, **kwargs: defs["ShuffleNetV2"]([4, 8, 4], stages_out_channels, **kwargs)


def _shufflenet_v2_arguments(given: dict) -> dict:
    """shufflenet_v2_x1_0.lego's arguments as ShuffleNetV2's."""
    widths = {"stage2_out": 116, "stage3_out": 232, "stage4_out": 464, "conv5_out": 1024}
    widths.update((k, v) for k, v in given.items() if k in widths)
    out = {"stages_out_channels": [24, *widths.values()]}
    if "classes" in given:
        out["num_classes"] = given["classes"]
    return out


def _mobilenet_v3(arch: str) -> Callable[..., torch.nn.Module]:
    """torchvision's mobilenet_v3_large() or mobilenet_v3_small() (`arch`)
    without weights: MobileNetV3 from _mobilenet_v3_conf(arch, width_mult)."""
    utils = torchvision_definitions("utils.py", "_make_ntuple")
    misc = torchvision_definitions("ops/misc.py", "ConvNormActivation", "Conv2dNormActivation", "SqueezeExcitation", **utils)
    needs = {**misc, "SElayer": misc["SqueezeExcitation"], **torchvision_definitions("models/_utils.py", "_make_divisible")}
    names = ("MobileNetV3", "InvertedResidual", "InvertedResidualConfig", "_mobilenet_v3_conf")
    tv = torchvision_definitions("models/mobilenetv3.py", *names, **needs)

    def build(width_mult: float = 1.0, **kwargs) -> torch.nn.Module:
        setting, last_channel = tv["_mobilenet_v3_conf"](arch, width_mult=width_mult)
        return tv["MobileNetV3"](setting, last_channel, **kwargs)

    return build


def _efficientnet_definitions() -> dict:
    """torchvision/models/efficientnet.py's EfficientNet and its blocks and configurations."""
    import copy
    import dataclasses
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


def _mnasnet() -> Callable[..., torch.nn.Module]:
    """torchvision's MNASNet(alpha, ...), mnasnet1_0() with alpha=1.0."""
    names = ("MNASNet", "_InvertedResidual", "_stack", "_round_to_multiple_of", "_get_depths")
    return torchvision_definitions("models/mnasnet.py", *names, _BN_MOMENTUM=1 - 0.9997)["MNASNet"]


def _convnext_tiny() -> Callable[..., torch.nn.Module]:
    """torchvision's convnext_tiny(): ConvNeXt with its CNBlockConfig rows and stochastic depth 0.1."""
    needs = {
        **_conv2d_norm_activation(),
        **torchvision_definitions("ops/misc.py", "Permute"),
        **torchvision_definitions("ops/stochastic_depth.py", "StochasticDepth", "stochastic_depth"),
    }
    defined = torchvision_definitions("models/convnext.py", "ConvNeXt", "CNBlock", "CNBlockConfig", "LayerNorm2d", **needs)
    config = defined["CNBlockConfig"]
    setting = [config(96, 192, 3), config(192, 384, 3), config(384, 768, 9), config(768, None, 3)]
    return lambda stochastic_depth_prob=0.1, **kwargs: defined["ConvNeXt"](setting, stochastic_depth_prob=stochastic_depth_prob, **kwargs)


def _regnet_y_400mf() -> Callable[..., torch.nn.Module]:
    """torchvision's regnet_y_400mf(): RegNet with the BlockParams of
    from_init_params(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8,
    se_ratio=0.25); the spec's `classes` is `num_classes`."""
    needs = {
        **_conv2d_norm_activation(),
        **torchvision_definitions("ops/misc.py", "SqueezeExcitation"),
        **torchvision_definitions("models/_utils.py", "_make_divisible"),
        "OrderedDict": collections.OrderedDict,
        "math": math,
    }
    names = ("RegNet", "BlockParams", "SimpleStemIN", "AnyStage", "ResBottleneckBlock", "BottleneckTransform")
    defs = torchvision_definitions("models/regnet.py", *names, **needs)

    def regnet_y_400mf(**kwargs) -> torch.nn.Module:
        params = defs["BlockParams"].from_init_params(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8, se_ratio=0.25)
        return defs["RegNet"](params, **kwargs)

    return regnet_y_400mf


def _efficientnet_v2_s() -> Callable[..., torch.nn.Module]:
    """torchvision's efficientnet_v2_s(): _efficientnet_conf("efficientnet_v2_s"), BatchNorm2d(eps=1e-3)."""
    tv = _efficientnet_definitions()

    def build(classes=1000, dropout=0.2, stochastic_depth_prob=0.2):
        setting, last_channel = tv["_efficientnet_conf"]("efficientnet_v2_s")
        norm_layer = functools.partial(torch.nn.BatchNorm2d, eps=1e-3)
        return tv["EfficientNet"](setting, dropout, stochastic_depth_prob, classes, norm_layer, last_channel)

    return build


def _swin_t() -> Callable[..., torch.nn.Module]:
    """torchvision's swin_t(): patch 4, embed_dim 96, depths (2, 2, 6, 2), heads (3, 6, 12, 24), window 7, stochastic depth 0.2."""
    needs = {
        **torchvision_definitions("ops/misc.py", "MLP", "Permute"),
        **torchvision_definitions("ops/stochastic_depth.py", "StochasticDepth", "stochastic_depth"),
    }
    names = ("_patch_merging_pad", "_get_relative_position_bias", "PatchMerging", "shifted_window_attention", "ShiftedWindowAttention", "SwinTransformerBlock", "SwinTransformer")
    defined = torchvision_definitions("models/swin_transformer.py", *names, **needs)

    def build(classes=1000, embed_dim=96, window_size=7, stochastic_depth_prob=0.2):
        return defined["SwinTransformer"]([4, 4], embed_dim, [2, 2, 6, 2], [3, 6, 12, 24], [window_size, window_size], stochastic_depth_prob=stochastic_depth_prob, num_classes=classes)

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


def _vit_b_16() -> Callable[..., torch.nn.Module]:
    """torchvision's vit_b_16(): VisionTransformer(image_size=224,
    patch_size=16, num_layers=12, num_heads=12, hidden_dim=768,
    mlp_dim=3072), LayerNorm eps 1e-6; the spec's arguments are its own."""
    needs = {
        **torchvision_definitions("ops/misc.py", "MLP"),
        "OrderedDict": collections.OrderedDict,
        "NamedTuple": typing.NamedTuple,
        "math": math,
    }
    names = ("VisionTransformer", "Encoder", "EncoderBlock", "MLPBlock", "ConvStemConfig")
    defs = torchvision_definitions("models/vision_transformer.py", *names, **needs)
    return lambda **given: defs["VisionTransformer"](**{"image_size": 224, "patch_size": 16, "num_layers": 12, "num_heads": 12, "hidden_dim": 768, "mlp_dim": 3072, **given})


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
        arguments=_renamed(),
    ),
    Example("squeezenet1_1", _squeezenet, (3, 224, 224), arguments=lambda given: {"version": "1_1", **_renamed()(given)}),
    Example(
        "resnext50_32x4d",
        _resnet_bottleneck(groups=32, width_per_group=4),
        (3, 224, 224),
        # resnet50() and resnext101-like widths from the same spec
        variants=({"groups": 1, "width_per_group": 64}, {"groups": 64, "width_per_group": 4}),
        arguments=_renamed(),
    ),
    Example(
        "wide_resnet50_2",
        _resnet_bottleneck(width_per_group=128),
        (3, 224, 224),
        variants=({"width_per_group": 64},),  # resnet50()
        arguments=_renamed(),
    ),
    Example(
        "densenet121",
        _densenet,
        (3, 224, 224),
        variants=({"growth": 16, "num_init_features": 32, "drop_rate": 0.1}, {"bn_size": 2}),
        arguments=_renamed(growth="growth_rate"),
    ),
    Example("googlenet", _googlenet, (3, 224, 224), arguments=_renamed()),
    Example("inception_v3", _inception_v3, (3, 299, 299), arguments=_renamed()),
    Example(
        "shufflenet_v2_x1_0",
        _shufflenet_v2,
        (3, 224, 224),
        # shufflenet_v2_x0_5, x1_5 and x2_0 (torchvision's stages_out_channels), and other classes
        variants=(
            {"stage2_out": 48, "stage3_out": 96, "stage4_out": 192},
            {"stage2_out": 176, "stage3_out": 352, "stage4_out": 704},
            {"stage2_out": 244, "stage3_out": 488, "stage4_out": 976, "conv5_out": 2048},
            {"classes": 10},
        ),
        arguments=_shufflenet_v2_arguments,
    ),
    Example(
        "mobilenet_v3_large",
        lambda: _mobilenet_v3("mobilenet_v3_large"),
        (3, 224, 224),
        variants=({"width_mult": 0.75}, {"width_mult": 0.5}, {"width_mult": 1.25}),
        arguments=_renamed(),
    ),
    Example(
        "mobilenet_v3_small",
        lambda: _mobilenet_v3("mobilenet_v3_small"),
        (3, 224, 224),
        variants=({"width_mult": 0.75}, {"width_mult": 0.5}, {"width_mult": 1.25}),
        arguments=_renamed(),
    ),
    Example(
        "mnasnet1_0",
        _mnasnet,
        (3, 224, 224),
        variants=({"alpha": 0.5}, {"alpha": 0.75}, {"alpha": 1.3}),
        arguments=lambda given: {"alpha": 1.0} | _renamed()(given),
    ),
    Example(
        "convnext_tiny",
        _convnext_tiny,
        (3, 64, 64),  # the spec's [3, 224, 224] gives the same weights; 64 (a multiple of 32) keeps the comparison fast
        variants=({"classes": 10, "layer_scale": 0.5},),
        arguments=_renamed(),
    ),
    Example(
        "regnet_y_400mf",
        _regnet_y_400mf,
        (3, 224, 224),
        variants=({"classes": 10},),
        arguments=_renamed(),
    ),
    # B1 to B7 from the file's `# bN:` lines; B1 is compared output for output.
    Example("efficientnet_b0", _efficientnet_b0, (3, 224, 224), variants=tuple(efficientnet_variants().values())),
    Example("efficientnet_v2_s", _efficientnet_v2_s, (3, 224, 224)),
    # Big (86M parameters): no variant, one comparison at batch 2.
    Example("vit_b_16", _vit_b_16, (3, 224, 224)),
    Example(
        "swin_t",
        _swin_t,
        # 112 x 112: maps of 28, 14, 7 and 4 (padded to 7), so shifted windows and their masks, an unshifted
        # last-but-one stage and a padded last one are all compared; the spec's 224 gives the same weights
        (3, 112, 112),
        variants=({"classes": 10, "embed_dim": 48, "window_size": 4},),
    ),
]

# densenet.py's _DenseLayer.forward overloads, run from source without a file
pytestmark = pytest.mark.filterwarnings("ignore:Unable to retrieve source for @torch.jit._overload:UserWarning")

BY_NAME = {e.name: e for e in EXAMPLES_TABLE}


def _compiled(name: str):
    """(generated module, the model's class name, its IR with the defaults)."""
    result = compile_source((EXAMPLES / f"{name}.lego").read_text(), f"{name}.lego")
    (model,) = result.analysis.defaults
    return load_module(result.code), model, result.analysis.defaults[model]


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Random weights everywhere, and batch-norm statistics and affine
    parameters far from their initial values, so that a misplaced tensor
    shows in the output: layer norms' affine parameters too, and every
    learned tensor a module holds itself (ConvNeXt's `layer_scale`, whose
    initial 1e-6 would hide a wrong block)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.LayerNorm) and m.elementwise_affine:  # LayerNorm2d too
                m.weight.copy_(torch.rand(m.weight.shape, generator=generator) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=generator) - 0.5)
            elif not isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.BatchNorm2d, torch.nn.LayerNorm)):
                for _, tensor in m.named_parameters(recurse=False):
                    tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
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
