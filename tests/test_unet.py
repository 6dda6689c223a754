"""examples/unet.lego and examples/unet_bilinear.lego against a hand-written
milesial/Pytorch-UNet (tests/reference_unet.py): the state_dict keys are
the reference's (milesial's names), in order, with its shapes; the
reference's state_dict loads with strict=True, and in eval mode, with
random weights and batch-norm statistics, the outputs agree within 1e-5,
with the default arguments and with other `n_channels` / `n_classes`."""

from __future__ import annotations

import pytest
import torch

from conftest import EXAMPLES, load_module
from legoc.compiler import compile_source
from legoc.ir import symbolic as sy
from reference_unet import UNet

# example, its model class, the reference's `bilinear`, parameters with the defaults
VARIANTS = [("unet", "UNet", False, 31_037_698), ("unet_bilinear", "UNetBilinear", True, 17_263_042)]


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Every weight random and scaled to keep activations of order 1, biases
    and batch-norm statistics and affine parameters far from their initial
    values, so that a misplaced tensor shows in the output."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=generator) - 0.5)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=generator) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=generator) - 0.5)
            elif isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                fan_in = m.weight[0].numel() if isinstance(m, torch.nn.Conv2d) else m.weight[:, 0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.rand(m.bias.shape, generator=generator) - 0.5)


@pytest.fixture(scope="module")
def compiled():
    return {name: compile_source((EXAMPLES / f"{name}.lego").read_text(), f"{name}.lego") for name, *_ in VARIANTS}


@pytest.mark.parametrize(("name", "model_name", "bilinear", "parameters"), VARIANTS, ids=[v[0] for v in VARIANTS])
@pytest.mark.parametrize("arguments", [{}, {"n_channels": 1, "n_classes": 5}], ids=["defaults", "n_channels=1,n_classes=5"])
def test_references_weights_load_strict_and_outputs_agree(compiled, name, model_name, bilinear, parameters, arguments):
    torch.manual_seed(0)
    model = getattr(load_module(compiled[name].code, name), model_name)(**arguments)
    reference = UNet(**arguments, bilinear=bilinear)
    _randomise(reference)
    state = reference.state_dict()
    assert list(model.state_dict()) == list(state)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {k: tuple(v.shape) for k, v in state.items()}
    model.load_state_dict(state, strict=True)
    model.eval(), reference.eval()
    x = torch.randn(2, arguments.get("n_channels", 3), 48, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = reference(x), model(x)
    assert got.shape == expected.shape == (2, arguments.get("n_classes", 2), 48, 64)
    assert expected.abs().max().item() > 1e-3  # not a comparison of zeros
    assert (got - expected).abs().max().item() <= 1e-5
    if not arguments:
        assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters()) == parameters
        assert sy.value_of(compiled[name].analysis.defaults[model_name].n_params) == parameters


@pytest.mark.parametrize(("name", "model_name", "bilinear", "parameters"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_keys_are_milesials(compiled, name, model_name, bilinear, parameters):
    keys = list(getattr(load_module(compiled[name].code, name), model_name)().state_dict())
    assert keys[:2] == ["inc.double_conv.0.weight", "inc.double_conv.1.weight"]
    assert "down1.maxpool_conv.1.double_conv.0.weight" in keys
    assert "up1.conv.double_conv.4.running_var" in keys
    assert ("up1.up.weight" in keys) is not bilinear  # a transposed convolution, or nn.Upsample with no weights
    assert keys[-2:] == ["outc.conv.weight", "outc.conv.bias"]
