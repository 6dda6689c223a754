"""Shape rules of the Swin Transformer's layers, which behave as
torchvision's (torchvision/models/swin_transformer.py), on channels-last
[H, W, C] maps:

    attn: shifted_window_attention 7 3 3     # ShiftedWindowAttention(C, [7, 7], [3, 3], 3)
    patch_merging                            # PatchMerging(C): [H, W, C] -> [ceil(H/2), ceil(W/2), 2C]

`shifted_window_attention window_size shift_size num_heads` is torchvision's
ShiftedWindowAttention (W-MSA, or SW-MSA with a shift): the qkv and proj
linear layers, the relative position bias table and its index buffer,
the cyclic shift (torch.roll), the window partition, the shifted-window
mask and the reverse, in code the generated file defines
(codegen/swin_source.py, legoc's own, equivalent to torchvision's). As torchvision's, it pads the map to a
multiple of the window and sets the shift to 0 where the window covers
the (padded) map, at run time, so any H and W work. `patch_merging` is
torchvision's PatchMerging (x0..x3 strided slices joined on channels,
LayerNorm(4C), Linear(4C, 2C, bias=False)), padding an odd H or W.
"""

from __future__ import annotations

from ..ir import symbolic as sy
from ..ir.nodes import Ctor, Sizes, Value
from ..ir.symbolic import Const
from .signature import Call, PrimOut


def shifted_window_attention(call: Call) -> PrimOut:
    """torchvision's ShiftedWindowAttention(dim, [w, w], [s, s], heads) on
    a [H, W, dim] input: the same shape; 4 dim² + 4 dim + (2w - 1)² heads
    parameters (qkv, proj and the relative position bias table).

    Checks: LG327, `num_heads` does not divide dim; LG328, the shift is
    negative or not smaller than the window.
    """
    call.rank((3,), "[H, W, C] (channels last, as after `permute (1, 2, 0)`)")
    dim = call.shape[-1]
    window, shift, heads = call["window_size"], call["shift_size"], call["num_heads"]
    kwargs: list[tuple[str, Value]] = []
    for key in ("attention_dropout", "dropout"):
        value = call[key]
        if not (isinstance(value, Const) and value.value == 0.0):
            kwargs.append((key, value))
    square = lambda v: Sizes((v, v), brackets="[]")  # noqa: E731 - torchvision's [Wh, Ww]
    out = PrimOut(call.shape, Ctor("torch", "ShiftedWindowAttention", (dim, square(window), square(shift), heads), tuple(kwargs)))
    table = sy.mul(sy.mul(sy.sub(sy.mul(2, window), sy.ONE), sy.sub(sy.mul(2, window), sy.ONE)), heads)
    out.n_params = sy.add(sy.add(sy.mul(sy.mul(4, dim), dim), sy.mul(4, dim)), table)
    out.checks += [
        call.check(
            sy.eq(sy.mod(dim, heads), 0), "num_heads", "the width ", dim, " (the input's last axis) is not divisible by num_heads=", heads,
            code="LG327", hint=(
                "each head takes width // num_heads channels: choose heads that divide the width (Swin-T: 3, 6, 12, 24 heads for 96, 192, 384, 768); "
                "the input is channels last, [H, W, C]: after a convolution, `permute (1, 2, 0)` first"
            ),
        ),
        call.check(
            sy.both(sy.compare(">=", shift, sy.ZERO), sy.compare("<", shift, window)), "shift_size", "`shift_size` ", shift,
            " is not from 0 to the window size ", window, " - 1",
            code="LG328", hint="Swin shifts every other block by half a window, `window_size // 2`, and the others by 0",
        ),
    ]
    return out


def patch_merging(call: Call) -> PrimOut:
    """torchvision's PatchMerging(dim) on a [H, W, dim] input: [(H + 1) //
    2, (W + 1) // 2, 2 dim] (an odd size is padded, as torchvision's
    _patch_merging_pad does); 4 dim · 2 dim + 2 · 4 dim parameters."""
    call.rank((3,), "[H, W, C] (channels last, as after `permute (1, 2, 0)`)")
    h, w, dim = call.shape
    half = lambda v: sy.floordiv(sy.add(v, sy.ONE), Const(2))  # noqa: E731
    out = PrimOut((half(h), half(w), sy.mul(2, dim)), Ctor("torch", "PatchMerging", (dim,)))
    out.n_params = sy.add(sy.mul(sy.mul(4, dim), sy.mul(2, dim)), sy.mul(8, dim))
    out.stride = {0: None, 1: None}
    return out
