"""Every example compiles to black-clean, torch-only code whose model runs in
torch with the output shape and parameter count of the reference table and
of the compiler's own inference."""

from __future__ import annotations

import ast

import black
import pytest
import torch

from conftest import EXAMPLES, example_names, load_module, reference_table
from legoc.ir import symbolic as sy
from legoc.compiler import compile_source

# example -> (row of the reference table, batched input shape, batched output shape)
CASES = {
    "resnet18": ("ResNet-18", (2, 3, 224, 224), (2, 1000)),
    "resnet34": ("ResNet-34", (2, 3, 224, 224), (2, 1000)),
    "resnet50": ("ResNet-50", (2, 3, 224, 224), (2, 1000)),
    "vgg16": ("VGG-16", (2, 3, 224, 224), (2, 1000)),
    "convnet": ("ConvNet (einops docs)", (2, 1, 28, 28), (2, 10)),
    "superres": ("Super-resolution (sub-pixel CNN, Shi et al. 2016)", (2, 1, 32, 32), (2, 1, 96, 96)),
    "unet": ("U-Net", (2, 3, 256, 256), (2, 2, 256, 256)),
    "unet_bilinear": ("U-Net (bilinear)", (2, 3, 256, 256), (2, 2, 256, 256)),
    "convnet_rearrange": ("ConvNet (einops docs)", (2, 1, 28, 28), (2, 10)),
    "superres_rearrange": ("Super-resolution (sub-pixel CNN, Shi et al. 2016)", (2, 1, 32, 32), (2, 1, 96, 96)),
    "mixer_b16": ("MLP-Mixer B/16", (2, 3, 224, 224), (2, 1000)),
    "rnn_lm": ("LSTM language model", (2, 35), {"log_probs": (2, 35, 33278), "h": (2, 2, 200), "c": (2, 2, 200)}),
    "mobilenet_v2": ("MobileNetV2", (2, 3, 224, 224), (2, 1000)),
    "squeezenet1_1": ("SqueezeNet 1.1", (2, 3, 224, 224), (2, 1000)),
    "resnext50_32x4d": ("ResNeXt-50 (32x4d)", (2, 3, 224, 224), (2, 1000)),
    "wide_resnet50_2": ("Wide ResNet-50-2", (2, 3, 224, 224), (2, 1000)),
    "densenet121": ("DenseNet-121", (2, 3, 224, 224), (2, 1000)),
    "convnext_tiny": ("ConvNeXt-T", (2, 3, 224, 224), (2, 1000)),
    "googlenet": ("GoogLeNet", (2, 3, 224, 224), (2, 1000)),
    "inception_v3": ("Inception-v3", (2, 3, 299, 299), (2, 1000)),
    "shufflenet_v2_x1_0": ("ShuffleNet V2 1.0x", (2, 3, 224, 224), (2, 1000)),
    "mobilenet_v3_large": ("MobileNetV3-Large", (2, 3, 224, 224), (2, 1000)),
    "mobilenet_v3_small": ("MobileNetV3-Small", (2, 3, 224, 224), (2, 1000)),
    "mnasnet1_0": ("MNASNet 1.0", (2, 3, 224, 224), (2, 1000)),
    "regnet_y_400mf": ("RegNetY-400MF", (2, 3, 224, 224), (2, 1000)),
    "efficientnet_b0": ("EfficientNet-B0", (1, 3, 224, 224), (1, 1000)),
    "efficientnet_v2_s": ("EfficientNetV2-S", (1, 3, 224, 224), (1, 1000)),
    "vit_b_16": ("ViT-B/16", (1, 3, 224, 224), (1, 1000)),
    "vit_base_patch16_224": ("ViT-B/16 (timm)", (1, 3, 224, 224), (1, 1000)),
    "swin_t": ("Swin-T", (1, 3, 224, 224), (1, 1000)),
    "gpt2": ("GPT-2 small", (1, 16), (1, 16, 50257)),
    # Not in the reference table: checked against the compiler's inference.
    "multitask": (None, (2, 3, 64, 48), {"label": (2, 10), "mask": (2, 21, 64, 48)}),
    "shufflenet_unit": (None, (2, 24, 56, 56), (2, 240, 28, 28)),
    "style_transfer": (None, (2, 3, 64, 64), {"gram1": (2, 64, 64), "gram2": (2, 128, 128), "gram3": (2, 256, 256), "gram4": (2, 512, 512)}),
}
TOKEN_INPUTS = {"rnn_lm": 33278, "gpt2": 50257}  # examples whose input is token ids, and their vocabulary
MORE_INPUTS = {"rnn_lm": ((2, 2, 200), (2, 2, 200))}  # the batched shapes of an example's inputs after the first (the LSTM's h0, c0)


def test_every_example_has_a_case():
    assert sorted(CASES) == example_names()


def _compile(name: str):
    path = EXAMPLES / f"{name}.lego"
    return compile_source(path.read_text(), str(path))


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_code_is_black_clean_and_imports_only_torch(name):
    code = _compile(name).code
    assert black.format_str(code, mode=black.Mode()) == code
    imported = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported == {"torch"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiling_is_deterministic(name):
    assert _compile(name).code == _compile(name).code


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_matches_reference_and_inference(name):
    row_name, in_shape, expected = CASES[name]
    result = _compile(name)
    (model_ir,) = [ir for ir in result.analysis.classes if ir.kind == "model"]
    inferred = result.analysis.defaults[model_ir.name]

    module = load_module(result.code, name)
    model = getattr(module, module.__all__[-1])().eval()
    torch.manual_seed(0)
    x = torch.randint(0, TOKEN_INPUTS[name], in_shape) if name in TOKEN_INPUTS else torch.randn(*in_shape)
    more = [torch.randn(*shape) for shape in MORE_INPUTS.get(name, ())]
    with torch.no_grad():
        y = model(x, *more)
    count = sum(p.numel() for p in model.parameters())

    if row_name is not None:
        assert count == int(reference_table()[row_name]["parameters"].replace(",", ""))
    assert count == sy.value_of(inferred.n_params)
    # The compiler's output shapes, with symbolic input sizes bound to the test's.
    bindings = {sym.key: sy.Const(size) for sym, size in zip(inferred.input, in_shape[1:]) if isinstance(sym, sy.Sym)}
    inferred_out = {p.name: tuple(sy.value_of(sy.substitute(d, bindings)) for d in p.shape) for p in inferred.outputs}
    if isinstance(expected, dict):
        assert {k: tuple(v.shape) for k, v in y.items()} == expected
        assert inferred_out == {k: v[1:] for k, v in expected.items()}
    else:
        assert tuple(y.shape) == expected
        assert list(inferred_out.values()) == [expected[1:]]


def test_superres_with_rearrange_equals_pixel_shuffle_given_the_same_weights():
    shuffle = load_module(_compile("superres").code).SuperResolution().eval()
    rearrange = load_module(_compile("superres_rearrange").code).SuperResolutionRearrange().eval()
    rearrange.load_state_dict(shuffle.state_dict())
    x = torch.randn(2, 1, 20, 24)
    with torch.no_grad():
        assert torch.equal(shuffle(x), rearrange(x))
