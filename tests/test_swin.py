"""The Swin Transformer's layers (`shifted_window_attention`, `patch_merging`),
differential against torchvision's own modules: the shapes legoc infers are
the shapes the generated module computes (padded, shifted, unshifted), the
state_dict is torchvision's key for key, the outputs are torchvision's on
the same weights, `legoc summary` counts the attention's products as
torch's FLOP counter does, and misuse gives located diagnostics."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from conftest import load_module, torchvision_definitions
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy
from legoc.tools.instance import instantiate
from legoc.tools.statedict import state_dict_layout
from legoc.tools.summary import summarize


def _torchvision():
    names = ("_patch_merging_pad", "_get_relative_position_bias", "PatchMerging", "shifted_window_attention", "ShiftedWindowAttention")
    return torchvision_definitions("models/swin_transformer.py", *names)


def _spec(h: int, w: int, c: int, layer: str) -> str:
    return f"model M():\n    input [{h}, {w}, {c}]\n    {layer}\n"


def _compile(spec: str):
    compiled = compile_source(spec, "t.lego")
    module = getattr(load_module(compiled.code), "M")()
    ir = compiled.analysis.defaults["M"]
    return compiled, module, tuple(sy.value_of(e) for e in ir.output)


ATTENTION = [
    # (H, W, C, window, shift, heads): shifted windows with their mask, a
    # map padded to the window, a window covering the whole map (shift set to 0)
    (8, 8, 8, 4, 2, 2),
    (10, 6, 12, 4, 2, 3),
    (7, 7, 6, 7, 3, 2),
    (6, 6, 4, 3, 0, 1),
]


@pytest.mark.parametrize("h, w, c, window, shift, heads", ATTENTION)
def test_window_attention_is_torchvisions(h, w, c, window, shift, heads):
    compiled, module, shape = _compile(_spec(h, w, c, f"attn: shifted_window_attention {window} {shift} {heads}"))
    reference = _torchvision()["ShiftedWindowAttention"](c, [window, window], [shift, shift], heads)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in reference.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    keys = [(k, tuple(v.shape)) for k, v in reference.state_dict().items()]
    assert [(k.removeprefix("attn."), v) for k, v in module.state_dict().items() for v in [tuple(v.shape)]] == keys
    assert [(e.key.removeprefix("attn."), e.shape) for e in state_dict_layout(compiled.analysis, "M")] == keys
    module.attn.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, h, w, c, generator=generator)
    with torch.no_grad():
        got, expected = module(x), reference(x)
    assert tuple(got.shape[1:]) == shape == (h, w, c)
    assert (got - expected).abs().max().item() <= 1e-5


@pytest.mark.parametrize(
    "window, shift, h, w",
    [((4, 4), (2, 2), 8, 8), ((7, 7), (3, 3), 14, 14), ((3, 5), (1, 2), 9, 11), ((4, 2), (2, 1), 7, 5), ((5, 3), (2, 1), 5, 7)],
)
def test_relative_position_index_and_mask_are_torchvisions(window, shift, h, w):
    """The generated class computes its `relative_position_index` buffer
    itself: its values are torchvision's before any state_dict is loaded
    (loading would overwrite them). Rectangular windows, and a map that one
    window covers along one axis only (the shift 0 there, the mask along
    the other), give torchvision's outputs too."""
    compiled, _, _ = _compile(_spec(8, 8, 4, "attn: shifted_window_attention 4 2 2"))
    ours = load_module(compiled.code).ShiftedWindowAttention(4, list(window), list(shift), 2)
    reference = _torchvision()["ShiftedWindowAttention"](4, list(window), list(shift), 2)
    assert ours.relative_position_index.dtype == reference.relative_position_index.dtype
    assert torch.equal(ours.relative_position_index, reference.relative_position_index)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in reference.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, h, w, 4, generator=generator)
    with torch.no_grad():
        assert (ours(x) - reference(x)).abs().max().item() <= 1e-5


@pytest.mark.parametrize("h, w, c", [(8, 8, 4), (7, 5, 6), (1, 2, 3)])
def test_patch_merging_is_torchvisions(h, w, c):
    compiled, module, shape = _compile(_spec(h, w, c, "down: patch_merging"))
    reference = _torchvision()["PatchMerging"](c)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in reference.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    assert [k.removeprefix("down.") for k in module.state_dict()] == list(reference.state_dict()) == ["reduction.weight", "norm.weight", "norm.bias"]
    assert [e.key for e in state_dict_layout(compiled.analysis, "M")] == list(module.state_dict())
    module.down.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, h, w, c, generator=generator)
    with torch.no_grad():
        got, expected = module(x), reference(x)
    assert tuple(got.shape[1:]) == shape == ((h + 1) // 2, (w + 1) // 2, 2 * c)
    assert (got - expected).abs().max().item() <= 1e-5


@pytest.mark.parametrize("h, w, c, window, shift, heads", ATTENTION[:2])
def test_summary_counts_the_attention_as_torchs_flop_counter(h, w, c, window, shift, heads):
    """Other ops of the attention's row: its qkv and proj layers and its two
    products, the multiply-adds torch's FLOP counter finds (half its FLOPs)."""
    compiled, module, _ = _compile(_spec(h, w, c, f"attn: shifted_window_attention {window} {shift} {heads}"))
    (row,) = [r for r in summarize(instantiate(compiled.analysis, "M"), batch=2).rows if r.kind == "ShiftedWindowAttention"]
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(torch.randn(2, h, w, c))
    assert row.mult_adds == 0  # torchinfo sees no call of its linear layers
    assert row.other_ops * 2 == counter.get_total_flops()
    assert row.params == sum(p.numel() for p in module.parameters())


def test_a_channels_last_block_names_its_width_in_features():
    """A block whose first layer is a channels-last one (layernorm, Swin's
    layers) takes its rank-3 input as [H, W, C]: its width is
    `in_features`, known to the constructor."""
    spec = (
        "block swin_block(heads):\n"
        "    res add < layernorm; shifted_window_attention 4 2 heads >\n"
        "    res add < layernorm; linear 2 * in_features; gelu; linear in_features >\n"
        "model M():\n"
        "    input [8, 8, 6]\n"
        "    swin_block 3\n"
    )
    compiled, module, shape = _compile(spec)
    block = next(c for c in compiled.analysis.classes if c.name == "swin_block")
    assert [sy.to_text(e) for e in block.inputs[0].shape] == ["H", "W", "in_features"]
    assert "SwinBlock(6, 3)" in compiled.code
    assert tuple(module(torch.randn(2, 8, 8, 6)).shape[1:]) == shape == (8, 8, 6)


def _error(spec: str):
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return info.value.diagnostics[0]


@pytest.mark.parametrize(
    "layer, code, column, text",
    [
        ("shifted_window_attention 4 2 5", "LG327", 34, "the width 8 (the input's last axis) is not divisible by num_heads=5"),
        ("shifted_window_attention 4 4 2", "LG328", 32, "`shift_size` 4 is not from 0 to the window size 4 - 1"),
        ("shifted_window_attention 0 0 2", "LG401", 30, "`window_size` must be at least 1, not 0"),
    ],
)
def test_misuse_is_located(layer, code, column, text):
    diagnostic = _error(_spec(8, 8, 8, layer))
    assert (diagnostic.code, diagnostic.span.line, diagnostic.span.column, diagnostic.message) == (code, 3, column, text)
    assert diagnostic.hint or code == "LG401"


def test_a_channels_first_map_is_a_rank_error_for_patch_merging():
    diagnostic = _error("model M():\n    input [8, 8]\n    patch_merging\n")
    assert diagnostic.code == "LG302" and (diagnostic.span.line, diagnostic.span.column) == (3, 5)
    assert "[H, W, C] (channels last" in diagnostic.message


# ------------------------------------------------------------ roll


ROLLS = [
    # (input shape, the stage, torch.roll's shifts and dims on the batched tensor)
    ((5, 6, 3), "roll (-2, -3) dims=(0, 1)", (-2, -3), (1, 2)),
    ((5, 6, 3), "roll 4 dims=-1", 4, 3),
    ((4, 7), "roll (1, 9) dims=(1, 0)", (1, 9), (2, 1)),
]


@pytest.mark.parametrize("shape, stage, shifts, dims", ROLLS)
def test_roll_is_torchs(shape, stage, shifts, dims):
    spec = f"model M()(x):\n    input x: [{', '.join(map(str, shape))}]\n    output y = x -> {stage}\n"
    compiled = compile_source(spec, "t.lego")
    module = getattr(load_module(compiled.code), "M")()
    x = torch.randn(2, *shape)
    assert torch.equal(module(x), torch.roll(x, shifts=shifts, dims=dims))
    assert tuple(sy.value_of(e) for e in compiled.analysis.classes[-1].outputs[0].shape) == shape
    assert f"torch.roll(x, shifts={shifts}, dims={dims})".replace(" ", "") in compiled.code.replace(" ", "")


def test_roll_by_a_blocks_parameter_shifts_back_and_forth():
    """Swin's cyclic shift and its reverse, by a block's parameter: the
    module keeps it (`self.shift`), rolls as torch.roll does, and the two
    rolls cancel."""
    spec = (
        "block cyclic_shift(shift)(x):\n"
        "    return x -> roll (-shift, -shift) dims=(0, 1)\n"
        "block shifted(shift)(x):\n"
        "    y = x -> cyclic_shift shift\n"
        "    return y -> roll (shift, shift) dims=(0, 1)\n"
        "model M()(x):\n"
        "    input x: [7, 7, 4]\n"
        "    y = x -> cyclic_shift 3\n"
        "    z = x -> shifted 2\n"
        "    output w = (x, z) -> sub\n"
        "    output y\n"
    )
    compiled = compile_source(spec, "t.lego")
    assert "torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))" in compiled.code
    x = torch.randn(2, 7, 7, 4)
    out = load_module(compiled.code).M()(x)
    w, y = out["w"], out["y"]
    assert torch.equal(y, torch.roll(x, shifts=(-3, -3), dims=(1, 2))) and not torch.equal(y, x)
    assert torch.equal(w, torch.zeros_like(x))


@pytest.mark.parametrize(
    "stage, column, text",
    [
        ("roll (1, 2)", 21, "`roll` needs `dims=`, the axes it shifts"),
        ("roll (1, 2) dims=0", 38, "`roll` has 2 shifts but 1 dim"),
        ("roll 1 dims=3", 33, "`roll` shifts axis 3, but the tensor [4, 5, 6] has axes 0 to 2 (the batch axis is not counted)"),
        ("roll 1.5 dims=0", 26, "a shift of `roll` is an integer, not 1.5"),
        ("roll (1, 1) dims=(0, -3)", 42, "`roll` shifts axis 0 twice"),
        ("roll 1 dim=0", 28, "`roll` has no keyword `dim`"),
    ],
)
def test_roll_misuse_is_located(stage, column, text):
    diagnostic = _error(f"model M()(x):\n    input x: [4, 5, 6]\n    output y = x -> {stage}\n")
    assert (diagnostic.code, diagnostic.span.line, diagnostic.span.column, diagnostic.message) == ("LG432", 3, column, text)
    assert diagnostic.hint


# ------------------------------------------------------------ W-MSA in the language


WINDOW_ATTENTION = """
block window_attention(dim, num_heads, window_size, map_width)(x):
    windows = x -> rearrange "(nh wh) (nw ww) c -> (nh nw) (wh ww) c" wh=window_size ww=window_size
    (q, k, v) = windows -> qkv: linear 3 * dim -> rearrange "n t (three h d) -> three n h t d" three=3 h=num_heads -> unbind 0
    q = q -> mul (dim // num_heads) ** -0.5
    attn = (q, k) -> einsum "n h t d, n h s d -> n h t s"
    attn = attn -> softmax dim=-1
    y = (attn, v) -> matmul -> rearrange "n h t d -> n t (h d)" -> proj: linear dim
    return y -> rearrange "(nh nw) (wh ww) c -> (nh wh) (nw ww) c" nw=map_width // window_size wh=window_size ww=window_size

model M()(x):
    input x: [8, 12, 6]
    output y = x -> attn: window_attention 6 2 4 12
"""


def test_window_attention_written_in_the_language_is_torchvisions_without_bias_or_shift():
    """Swin's W-MSA from the language's own pieces: the windows on a
    non-batch axis (rearrange), the heads as another, the products
    (einsum, matmul), softmax, and the windows merged back; it is
    torchvision's shifted_window_attention with a zero relative position
    bias and no shift, on the same weights. (The bias table, its index
    buffer and the shifted windows' mask are `shifted_window_attention`'s.)"""
    compiled = compile_source(WINDOW_ATTENTION, "t.lego")
    model = load_module(compiled.code).M().eval()
    function = torchvision_definitions("models/swin_transformer.py", "shifted_window_attention")["shifted_window_attention"]
    x = torch.randn(2, 8, 12, 6, generator=torch.Generator().manual_seed(0))
    a = model.attn
    with torch.no_grad():
        got = model(x)
        expected = function(x, a.qkv.weight, a.proj.weight, torch.zeros(1, 2, 16, 16), [4, 4], 2, [0, 0], qkv_bias=a.qkv.bias, proj_bias=a.proj.bias, training=False)
    assert got.shape == expected.shape == (2, 8, 12, 6)
    assert (got - expected).abs().max().item() <= 1e-6


def test_swin_t_drops_paths_with_torchvisions_probabilities():
    """Stochastic depth 0.2, growing linearly over Swin-T's 12 blocks as
    torchvision's sd_prob: the spec's probabilities are torchvision's, block
    for block (eval mode hides them from the outputs' comparison)."""
    from test_torchvision_examples import _compiled, _swin_t

    module, model_name, _ = _compiled("swin_t")
    ours = getattr(module, model_name)()
    reference = _swin_t()()
    theirs = {name: m.p for name, m in reference.named_modules() if type(m).__name__ == "StochasticDepth"}
    got = {name.rsplit(".", 1)[0]: m.p for name, m in ours.named_modules() if type(m).__name__ == "StochasticDepth"}
    assert len(theirs) == 12 and set(got) == {name.rsplit(".", 1)[0] for name in theirs}
    for name, p in theirs.items():
        assert got[name.rsplit(".", 1)[0]] == pytest.approx(p, rel=1e-12, abs=1e-15), name
    assert max(theirs.values()) == pytest.approx(0.2)
    assert [m.shift_size for m in ours.modules() if type(m).__name__ == "ShiftedWindowAttention"] == [
        m.shift_size for m in reference.modules() if type(m).__name__ == "ShiftedWindowAttention"
    ]
