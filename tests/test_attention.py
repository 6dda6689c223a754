"""`(q, k, v) -> attention`, differential against torch: the shapes legoc
infers are the shapes the generated module computes, its values are
F.scaled_dot_product_attention's on the same tensors (with a mask, causal,
a scale, dropout only in training), the summary counts its multiply-adds,
and misuse gives located diagnostics."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from conftest import load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import instantiate
from legoc.tools.summary import summarize


def _compile(spec: str, model: str = "M"):
    compiled = compile_source(spec, "t.lego")
    return compiled, getattr(load_module(compiled.code), model)


def _error(spec: str):
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return info.value.diagnostics[0]


def _qkv(q, k, v, stage: str = "attention", mask=None) -> str:
    spec = "model M():\n"
    for name, shape in (("q", q), ("k", k), ("v", v), ("mask", mask)):
        if shape is not None:
            spec += f"    input {name}: [{', '.join(map(str, shape))}]\n"
    return spec + f"    output y = (q, k, v{', mask' if mask is not None else ''}) -> {stage}\n"


SHAPES = [
    # q, k, v without the batch axis, the result's shape
    ([5, 8], [7, 8], [7, 3], (5, 3)),
    ([4, 5, 8], [4, 7, 8], [4, 7, 8], (4, 5, 8)),
    ([4, 5, 8], [1, 7, 8], [1, 7, 6], (4, 5, 6)),  # k, v shared by the heads: broadcast
    ([2, 3, 5, 8], [2, 3, 7, 8], [2, 3, 7, 2], (2, 3, 5, 2)),
]


@pytest.mark.parametrize("q, k, v, out", SHAPES)
@pytest.mark.parametrize("stage", ["attention", "attention scale=0.5"])
def test_shapes_and_values_are_torchs(q, k, v, out, stage):
    compiled, cls = _compile(_qkv(q, k, v, stage))
    assert tuple(sy.value_of(e) for e in compiled.analysis.classes[0].outputs[0].shape) == out
    torch.manual_seed(0)
    xs = [torch.randn(2, *s, dtype=torch.float64) for s in (q, k, v)]
    got = cls()(*xs)
    scale = 0.5 if "scale" in stage else 1 / math.sqrt(q[-1])
    kt = xs[1].transpose(-1, -2)
    want = torch.softmax(xs[0] @ kt * scale, dim=-1) @ xs[2]  # the definition, not torch's fused kernel
    assert got.shape == (2, *out)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_causal_is_torchs_is_causal_and_a_mask_is_attn_mask():
    compiled, cls = _compile(_qkv([2, 6, 4], [2, 6, 4], [2, 6, 4], "attention causal=true"))
    assert "is_causal=True" in compiled.code
    q, k, v = (torch.randn(3, 2, 6, 4) for _ in range(3))
    torch.testing.assert_close(cls()(q, k, v), F.scaled_dot_product_attention(q, k, v, is_causal=True))
    # A later position of k and v does not change an earlier output.
    k2, v2 = k.clone(), v.clone()
    k2[:, :, -1], v2[:, :, -1] = 9.0, 9.0
    torch.testing.assert_close(cls()(q, k2, v2)[:, :, :-1], cls()(q, k, v)[:, :, :-1])
    compiled, cls = _compile(_qkv([2, 6, 4], [2, 5, 4], [2, 5, 4], mask=[1, 6, 5]))
    assert "attn_mask=mask" in compiled.code
    mask = torch.randn(3, 1, 6, 5)
    torch.testing.assert_close(cls()(q, k[:, :, :5], v[:, :, :5], mask), F.scaled_dot_product_attention(q, k[:, :, :5], v[:, :, :5], attn_mask=mask))


def test_dropout_applies_in_training_only_and_reads_like_timm():
    spec = (
        "block sa(p)(q, k, v):\n"
        "    return (q, k, v) -> attention dropout=p\n"
        "model M()(q, k, v):\n"
        "    input q: [2, T, 4]\n"
        "    input k: [2, T, 4]\n"
        "    input v: [2, T, 4]\n"
        "    output y = (q, k, v) -> sa 0.5\n"
    )
    compiled, cls = _compile(spec)
    assert "dropout_p=self.p if self.training else 0.0" in compiled.code
    model = cls()
    q, k, v = (torch.randn(3, 2, 5, 4) for _ in range(3))
    model.eval()
    torch.testing.assert_close(model(q, k, v), F.scaled_dot_product_attention(q, k, v))
    model.train()
    torch.manual_seed(0)
    assert not torch.allclose(model(q, k, v), F.scaled_dot_product_attention(q, k, v))
    # A constant probability is written in place; 0.0 is left out.
    code = compile_source(_qkv([4, 8], [4, 8], [4, 8], "attention dropout=0.1"), "t.lego").code
    assert "dropout_p=0.1 if self.training else 0.0" in code
    code = compile_source(_qkv([4, 8], [4, 8], [4, 8], "attention dropout=0.0"), "t.lego").code
    assert "dropout_p" not in code and "scaled_dot_product_attention(q, k, v)" in code


def test_heads_split_and_merged_with_rearrange_are_multi_head_attention():
    spec = (
        "model M(dim=16, heads=4)(x):\n"
        "    input x: [T, dim]\n"
        "    qkv = x -> qkv: linear dim * 3\n"
        '    (q, k, v) = qkv -> rearrange "t (s h d) -> s h t d" s=3 h=heads -> unbind 0\n'
        "    a = (q, k, v) -> attention\n"
        '    output y = a -> rearrange "h t d -> t (h d)" -> proj: linear dim\n'
    )
    compiled, cls = _compile(spec)
    model = cls().eval()
    reference = torch.nn.MultiheadAttention(16, 4, batch_first=True).eval()
    with torch.no_grad():
        reference.in_proj_weight.copy_(model.qkv.weight)
        reference.in_proj_bias.copy_(model.qkv.bias)
        reference.out_proj.weight.copy_(model.proj.weight)
        reference.out_proj.bias.copy_(model.proj.bias)
    x = torch.randn(2, 7, 16)
    torch.testing.assert_close(model(x), reference(x, x, x, need_weights=False)[0], rtol=1e-5, atol=1e-5)


def test_symbolic_lengths_flow_through_and_mismatches_raise_at_run_time():
    spec = "model M()(q, k, v):\n    input q: [2, T, 4]\n    input k: [2, S, 4]\n    input v: [2, U, 3]\n    output y = (q, k, v) -> attention\n"
    compiled, cls = _compile(spec)
    assert [sy.to_text(e) for e in compiled.analysis.classes[0].outputs[0].shape] == ["2", "T", "3"]
    q, k, v = torch.randn(1, 2, 5, 4), torch.randn(1, 2, 6, 4), torch.randn(1, 2, 6, 3)
    torch.testing.assert_close(cls()(q, k, v), F.scaled_dot_product_attention(q, k, v))
    with pytest.raises(AssertionError, match="S == U|U == S"):
        cls()(q, k, torch.randn(1, 2, 7, 3))


def test_summary_counts_the_two_products_as_other_ops():
    compiled = compile_source(_qkv([4, 5, 8], [4, 7, 8], [4, 7, 6]), "t.lego")
    instance = instantiate(compiled.analysis, "M", bind_inputs(compiled.analysis.classes[0], []))
    summary = summarize(instance, batch=3)
    row = next(row for row in summary.rows if row.kind == "attention")
    assert row.other_ops == 3 * 4 * (5 * 7 * 8 + 5 * 7 * 6)
    assert row.mult_adds == 0  # torchinfo counts none


@pytest.mark.parametrize(
    "q, k, v, mask, stage, code, line, column, message",
    [
        ([4, 5, 8], [4, 7, 6], [4, 7, 6], None, "attention", "LG321", 5, 20, "`attention` takes the dot product of q's and k's last axes, but q is [4, 5, 8] and k is [4, 7, 6]"),
        ([4, 5, 8], [4, 7, 8], [4, 6, 8], None, "attention", "LG321", 5, 23, "`attention` needs one position of v for each of k: k is [4, 7, 8] and v is [4, 6, 8]"),
        ([4, 5, 8], [4, 7, 8], [4, 7, 8], [5, 6], "attention", "LG321", 6, 26, "the mask [5, 6] does not broadcast to the attention weights [4, 5, 7]"),
        ([4, 5, 8], [4, 7, 8], [4, 7, 8], [5, 7], "attention causal=true", "LG426", 6, 52, "`causal=true` masks later positions itself, so it takes no mask"),
        ([8], [7, 8], [7, 8], None, "attention", "LG321", 5, 17, "`attention`'s q needs a length and a width axis"),
        ([2, 5, 8], [7, 8], [7, 8], None, "attention", "LG321", 5, 29, "`attention` needs q, k and v of one rank"),
        ([3, 5, 8], [2, 7, 8], [2, 7, 8], None, "attention", "LG321", 5, 29, "broadcasts the leading axes"),
        ([5, 8], [7, 8], [7, 8], None, "attention casual=true", "LG426", 5, 39, "`attention` has no keyword `casual`"),
        ([5, 8], [7, 8], [7, 8], None, "attention causal=1", "LG426", 5, 46, "`causal` is true or false, not 1"),
        ([5, 8], [7, 8], [7, 8], None, "attention dropout=1.5", "LG426", 5, 47, "`dropout` is a probability from 0 to 1, not 1.5"),
        ([5, 8], [7, 8], [7, 8], None, "attention scale=0", "LG426", 5, 45, "`scale` is a positive number, not 0"),
        ([5, 8], [7, 8], [7, 8], None, "attention 2", "LG426", 5, 39, "`attention` takes only keywords"),
    ],
)
def test_misuse_is_a_located_diagnostic(q, k, v, mask, stage, code, line, column, message):
    d = _error(_qkv(q, k, v, stage, mask))
    assert (d.code, d.span.line, d.span.column) == (code, line, column), d.message
    assert message in d.message
    assert d.hint


def test_a_tuple_of_two_or_no_tuple_is_an_error():
    d = _error("model M():\n    input q: [5, 8]\n    input k: [5, 8]\n    output y = (q, k) -> attention\n")
    assert (d.code, d.span.line, d.span.column) == ("LG426", 4, 26)
    assert "`attention` takes (q, k, v) or (q, k, v, mask), but the tuple has 2 tensors" in d.message
    d = _error("model M():\n    input q: [5, 8]\n    output y = q -> attention\n")
    assert (d.code, d.span.line, d.span.column) == ("LG426", 3, 21)
    assert "joins a tuple (q, k, v)" in d.message


def test_a_block_checks_the_widths_at_each_call():
    spec = (
        "block att()(q, k, v):\n"
        "    return (q, k, v) -> attention\n"
        "model M()(q, k, v):\n"
        "    input q: [5, 8]\n"
        "    input k: [5, 6]\n"
        "    input v: [5, 8]\n"
        "    output y = (q, k, v) -> att\n"
    )
    d = _error(spec)
    assert (d.code, d.span.line) == ("LG321", 2)
    assert "q is [5, 8] and k is [5, 6]" in d.message
    assert d.notes and d.notes[0].span.line == 7


def test_attention_exports_with_a_dynamic_length():
    spec = "model M()(q, k, v):\n    input q: [2, T, 4]\n    input k: [2, T, 4]\n    input v: [2, T, 4]\n    output y = (q, k, v) -> attention causal=true\n"
    _, cls = _compile(spec)
    model = cls().eval()
    t = torch.export.Dim("T", min=2, max=64)
    xs = tuple(torch.randn(2, 2, 5, 4) for _ in range(3))
    program = torch.export.export(model, xs, dynamic_shapes=tuple({2: t} for _ in range(3)))
    ys = tuple(torch.randn(2, 2, 9, 4) for _ in range(3))
    torch.testing.assert_close(program.module()(*ys), F.scaled_dot_product_attention(*ys, is_causal=True))


def test_heads_that_do_not_divide_the_width_name_the_sizes_and_the_fix():
    spec = (
        "model M(dim=768, heads=10)(x):\n"
        "    input x: [T, dim]\n"
        "    qkv = x -> qkv: linear dim * 3\n"
        '    (q, k, v) = qkv -> rearrange "t (s h d) -> s h t d" s=3 h=heads -> unbind 0\n'
        "    output y = (q, k, v) -> attention\n"
    )
    d = _error(spec)
    assert (d.code, d.span.line, d.span.column) == ("LG304", 4, 37)
    assert d.message == "the input's axis of size 2304 does not split into `(s h d)` with s = 3, h = 10: it is not divisible by 30"
    assert "the width must be divisible by the number of heads" in d.hint
    check_source(spec.replace("heads=10", "heads=12"), "t.lego")  # 12 heads of 64


@pytest.mark.parametrize("arguments, timm_kwargs", [("12", {"qkv_bias": True}), ("4 qkv_bias=false", {"qkv_bias": False})])
def test_the_prelude_mhsa_is_timms_attention(arguments, timm_kwargs):
    from conftest import timm_create_model

    timm_create_model("test_vit")  # makes timm importable beside this torch (conftest)
    from timm.models.vision_transformer import Attention

    heads = int(arguments.split()[0])
    spec = f"model M()(x):\n    input x: [T, 96]\n    output y = x -> attn: mhsa {arguments}\n"
    compiled, cls = _compile(spec)
    assert f"self.attn = Mhsa(96, {arguments.replace(' qkv_bias=false', ', qkv_bias=False')})" in compiled.code
    torch.manual_seed(0)
    ours = cls().attn.eval()
    reference = Attention(96, num_heads=heads, **timm_kwargs).eval()
    assert list(ours.state_dict()) == list(reference.state_dict())
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 7, 96)
    got, want = ours(x), reference(x)
    assert got.shape == want.shape == (2, 7, 96)
    assert (got - want).abs().max() <= 1e-5
    # timm's dropout probabilities are ours: attn_drop on the weights, proj_drop after proj.
    _, cls = _compile(spec.replace("mhsa 12", "mhsa 12 attn_drop=0.1 proj_drop=0.2").replace("mhsa 4", "mhsa 4 attn_drop=0.1 proj_drop=0.2"))
    dropping, timms = cls().attn, Attention(96, num_heads=heads, attn_drop=0.1, proj_drop=0.2, **timm_kwargs)
    assert (dropping.attn_drop, dropping.proj_drop.p) == (timms.attn_drop.p, timms.proj_drop.p) == (0.1, 0.2)
