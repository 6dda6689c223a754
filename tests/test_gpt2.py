"""examples/gpt2.lego against a hand-written GPT-2 (tests/reference_gpt2.py):
GPT-2 small has 124,439,808 parameters with the token embedding tied to the
output projection; the state_dict keys are the reference's (Hugging Face's
names), in order; the reference's weights load with strict=True and the
logits agree; attention is causal; the tie is one tensor.

The 124M-parameter models are built once for the module; sequences are short."""

from __future__ import annotations

import time

import pytest
import torch

from conftest import EXAMPLES, load_module
from legoc.compiler import compile_source
from legoc.ir import symbolic as sy
from reference_gpt2 import GPT2LMHead

PARAMETERS = 124_439_808


@pytest.fixture(scope="module")
def models():
    started = time.perf_counter()
    compiled = compile_source((EXAMPLES / "gpt2.lego").read_text(), "gpt2.lego")
    torch.manual_seed(0)
    ours = load_module(compiled.code, "gpt2").GPT2().eval()
    reference = GPT2LMHead().eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    print(f"\nbuilt both GPT-2 small models in {time.perf_counter() - started:.1f} s")
    return compiled, ours, reference


def test_the_parameter_count_is_gpt2_smalls(models):
    compiled, ours, reference = models
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters()) == PARAMETERS
    assert sy.value_of(compiled.analysis.defaults["GPT2"].n_params) == PARAMETERS
    assert "Trainable parameters with the default arguments: 124,439,808." in compiled.code


def test_state_dict_keys_are_the_references_in_order(models):
    _, ours, reference = models
    keys = list(ours.state_dict())
    assert keys == list(reference.state_dict())
    assert keys[:6] == ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight", "transformer.h.0.ln_1.bias",
                        "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias"]
    assert keys[-3:] == ["transformer.ln_f.weight", "transformer.ln_f.bias", "lm_head.weight"]
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in reference.state_dict().items()}


def test_logits_equal_the_references(models):
    _, ours, reference = models
    torch.manual_seed(1)
    idx = torch.randint(0, 50257, (2, 12))
    with torch.no_grad():
        got, want = ours(idx), reference(idx)
    assert got.shape == (2, 12, 50257)
    assert (got - want).abs().max() <= 1e-5


def test_attention_is_causal(models):
    _, ours, _ = models
    torch.manual_seed(2)
    idx = torch.randint(0, 50257, (1, 10))
    changed = idx.clone()
    changed[0, 7] = (idx[0, 7] + 1) % 50257
    with torch.no_grad():
        a, b = ours(idx), ours(changed)
    assert torch.equal(a[:, :7], b[:, :7])  # earlier positions do not see token 7
    assert not torch.allclose(a[:, 7:], b[:, 7:])


def test_the_weights_are_tied(models):
    _, ours, _ = models
    assert ours.lm_head.weight is ours.transformer.wte.weight
    assert ours.lm_head.weight.data_ptr() == ours.transformer.wte.weight.data_ptr()


def test_the_context_is_at_most_1024_tokens(models):
    _, ours, _ = models
    with pytest.raises(AssertionError, match="T <= n_positions"):
        ours(torch.zeros(1, 1025, dtype=torch.long))
