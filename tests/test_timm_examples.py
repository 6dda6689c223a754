"""The examples written after timm's models are timm's models exactly:
timm's `state_dict()` loads into the generated model with `strict=True`,
with timm's keys in timm's order, and in eval mode, with random weights,
the outputs agree within 1e-5. The references are built by timm itself
(conftest.timm_create_model: timm's pure-Python model code).

A new example adds one row to EXAMPLES_TABLE.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from conftest import EXAMPLES, load_module, timm_create_model
from legoc.compiler import compile_source
from legoc.ir import symbolic as sy


@dataclass(frozen=True)
class Example:
    """examples/NAME.lego against timm.create_model(model, **arguments);
    `shape` is the input without the batch axis."""

    name: str
    model: str
    shape: tuple[int, ...]


EXAMPLES_TABLE = [
    # 86,567,656 parameters: one comparison, at batch 2.
    Example("vit_base_patch16_224", "vit_base_patch16_224", (3, 224, 224)),
    # 59,880,472 parameters: timm's MlpMixer, its keys (stem.proj,
    # blocks.N.mlp_tokens.fc1, norm, head).
    Example("mixer_b16", "mixer_b16_224", (3, 224, 224)),
]


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Every parameter uniform in [-0.5, 0.5) (LayerNorm weights in [0.5,
    1.5)), so that no comparison is of zeros or of timm's tiny inits."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.rand(p.shape, generator=generator) - 0.5 + (1.0 if "norm" in name and name.endswith("weight") else 0.0))


@pytest.mark.parametrize("example", EXAMPLES_TABLE, ids=[e.name for e in EXAMPLES_TABLE])
def test_default_arguments_are_timms_model(example):
    path = EXAMPLES / f"{example.name}.lego"
    compiled = compile_source(path.read_text(), str(path))
    (name,) = compiled.analysis.defaults
    ir = compiled.analysis.defaults[name]  # the model's IR with its default arguments
    model = getattr(load_module(compiled.code, example.name), name)()
    reference = timm_create_model(example.model)
    _randomise(reference)
    assert list(model.state_dict()) == list(reference.state_dict())
    model.load_state_dict(reference.state_dict(), strict=True)
    model.eval(), reference.eval()
    x = torch.randn(2, *example.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = reference(x), model(x)
    assert got.shape == expected.shape
    assert expected.abs().max().item() > 1e-3  # the comparison is not of two zero tensors
    assert (got - expected).abs().max().item() <= 1e-5
    assert tuple(got.shape[1:]) == tuple(sy.value_of(d) for d in ir.output)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters()) == sy.value_of(ir.n_params)
