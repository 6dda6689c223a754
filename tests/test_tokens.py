"""Transformer pieces, differential against torch: `mha` (nn.MultiheadAttention
as self-attention), and learned tensors stored with a batch axis of 1
(`batch=1`: a class token joined by `cat`, a position embedding added),
with the keys, shapes, initial values and outputs torch gives, and
located diagnostics for their misuse."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from conftest import EXAMPLES, load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import instantiate
from legoc.tools.statedict import state_dict_layout
from legoc.tools.summary import summarize

TINY_VIT = """
block layer(heads)(input):
    x = input -> ln_1: layernorm eps=1e-6 -> self_attention: mha heads -> dropout: dropout 0.0
    x = (x, input) -> add
    y = x -> ln_2: layernorm eps=1e-6 -> mlp: < linear 32; gelu; dropout 0.0; linear 16; dropout 0.0 >
    return (x, y) -> add

model M(dim=16, heads=4):
    input image: [3, 32, 32]
    class_token: param [1, dim] batch=1 init=zeros
    x = image -> conv_proj: conv dim kernel_size=8 stride=8 padding=0 -> rearrange "c h w -> (h w) c"
    x = (class_token, x) -> cat
    pos_embedding: param [17, dim] batch=1 init=normal std=0.02
    x = (x, pos_embedding) -> add
    output y = x -> layer heads -> select 0
"""


def _error(spec: str):
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return info.value.diagnostics[0]


def _reference(m, image):
    """The tiny ViT written out with torch's functions on m's weights."""
    x = m.conv_proj(image).flatten(2).transpose(1, 2)
    x = torch.cat([m.class_token.expand(x.shape[0], -1, -1), x], dim=1) + m.pos_embedding
    b = m.layer
    h = b.ln_1(x)
    h = b.self_attention(h, h, h, need_weights=False)[0]
    x = x + h
    h = b.ln_2(x)
    h = F.linear(F.gelu(F.linear(h, b.mlp[0].weight, b.mlp[0].bias)), b.mlp[3].weight, b.mlp[3].bias)
    return (x + h)[:, 0]


def test_class_token_and_position_embedding_as_torchvision_stores_them():
    compiled = compile_source(TINY_VIT, "t.lego")
    code = compiled.code
    assert "self.class_token = nn.Parameter(torch.zeros(1, 1, dim))" in code
    assert "self.pos_embedding = nn.Parameter(torch.empty(1, 17, dim).normal_(std=0.02))" in code
    assert "n = x.shape[0]" in code and "torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)" in code
    assert "x, _ = self.self_attention(x, x, x, need_weights=False)" in code
    torch.manual_seed(0)
    m = load_module(code).M().eval()
    state = m.state_dict()
    layout = state_dict_layout(compiled.analysis, "M")
    assert [(e.key, e.shape) for e in layout] == [(k, tuple(v.shape)) for k, v in state.items()]
    assert list(state)[:3] == ["class_token", "pos_embedding", "conv_proj.weight"]  # a module's own parameters first, as torch
    assert tuple(state["class_token"].shape) == (1, 1, 16) and not state["class_token"].any()
    assert 0.015 < state["pos_embedding"].std().item() < 0.025
    with torch.no_grad():
        for p in m.parameters():
            p.normal_()
        image = torch.randn(3, 3, 32, 32)
        assert torch.allclose(m(image), _reference(m, image), atol=1e-5)
    ir = next(c for c in compiled.analysis.classes if c.name == "M")
    assert sum(p.numel() for p in m.parameters()) == summarize(instantiate(compiled.analysis, "M", bind_inputs(ir, [])), 1).totals.params


def test_a_class_token_exports_with_a_dynamic_batch():
    m = load_module(compile_source(TINY_VIT, "t.lego").code).M().eval()
    batch = torch.export.Dim("batch", min=2, max=64)
    image = torch.randn(2, 3, 32, 32)
    exported = torch.export.export(m, (image,), dynamic_shapes=({0: batch},))
    other = torch.randn(5, 3, 32, 32)
    assert torch.allclose(exported.module()(other), m(other), atol=1e-5)


def test_mha_is_multihead_attention_with_its_parameters():
    spec = "model M():\n    input x: [T, 12]\n    output y = x -> attn: mha 3 dropout=0.1 bias=false\n"
    code = compile_source(spec, "t.lego").code
    assert "nn.MultiheadAttention(\n            12, 3, dropout=0.1, bias=False, batch_first=True\n        )" in code
    m = load_module(code).M().eval()
    assert [k for k in m.state_dict()] == ["attn.in_proj_weight", "attn.out_proj.weight"]
    x = torch.randn(2, 7, 12)
    assert torch.equal(m(x), m.attn(x, x, x, need_weights=False)[0])


def test_heads_that_do_not_divide_the_width_are_located_with_the_sizes():
    d = _error("model M():\n    input x: [5, 30]\n    output y = x -> mha 8\n")
    assert d.code == "LG324" and (d.span.line, d.span.column) == (3, 25)
    assert "30" in d.message and "8" in d.message and d.hint


def test_a_class_token_of_another_width_is_located_with_a_fix():
    spec = "model M():\n    input x: [5, 32]\n    t: param [1, 16] batch=1 init=zeros\n    output y = (t, x) -> cat\n"
    d = _error(spec)
    assert d.code == "LG325" and (d.span.line, d.span.column) == (4, 17)
    assert "[1, 16]" in d.message and "[5, 32]" in d.message and "param [1, 32] batch=1" in d.hint


def test_a_class_token_of_another_width_than_a_parameter_gives_the_declaration_in_its_terms():
    # The width is the model's parameter `dim`: the hint writes the
    # declaration with it, as the spec would (the message has the values).
    spec = "model M(dim=32)(x):\n    input x: [3, 32, 32]\n    t: param [1, 16] batch=1 init=zeros\n    y = x -> conv dim kernel_size=16 stride=16 padding=0 -> rearrange \"c h w -> (h w) c\"\n    output z = (t, y) -> cat\n"
    d = _error(spec)
    assert d.code == "LG325" and "[1, 16]" in d.message and "[4, 32]" in d.message
    assert "`t: param [1, dim] batch=1 ...`" in d.hint


@pytest.mark.parametrize(
    "keywords, code",
    [
        ("batch=2 init=zeros", "LG401"),
        ("init=normal std=-1", "LG401"),
        ("init=zeros std=0.1", "LG402"),
        ("batch=1", "LG402"),
        ("init=zeros scale=2", "LG402"),
    ],
)
def test_learned_tensor_keywords_are_checked(keywords, code):
    spec = f"model M():\n    input x: [5, 32]\n    t: param [1, 32] {keywords}\n    output y = (t, x) -> cat\n"
    assert _error(spec).code == code


def test_a_tensor_without_a_batch_axis_does_not_join_cat():
    spec = "model M():\n    input x: [5, 32]\n    t: param [1, 32] init=0.0\n    output y = (t, x) -> cat\n"
    d = _error(spec)
    assert d.code == "LG404" and "batch=1" in d.hint


def test_both_vit_b_16_specs_count_the_same_work():
    """torchvision's ViT-B/16 (nn.MultiheadAttention, `mha`) and timm's (the
    prelude's mhsa over scaled dot-product attention) are one network: the
    same parameters, and the same mult-adds + other ops, however torchinfo
    splits them (docs/summary.md)."""
    totals = []
    for name in ("vit_b_16", "vit_base_patch16_224"):
        analysis = check_source((EXAMPLES / f"{name}.lego").read_text(), f"{name}.lego")
        ir = next(c for c in analysis.classes if c.kind == "model")
        totals.append(summarize(instantiate(analysis, ir.name, bind_inputs(ir, [])), 1).totals)
    torchvision, timm = totals
    assert torchvision.params == timm.params == 86_567_656
    assert torchvision.mult_adds + torchvision.other_ops == timm.mult_adds + timm.other_ops
    assert torchvision.mult_adds < timm.mult_adds  # torchinfo counts no work of nn.MultiheadAttention's
