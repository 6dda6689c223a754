"""The module classes torch.nn lacks, and torchvision's functions, written
into the generated file (the Swin Transformer's, legoc's own, in
codegen/swin_source.py).

The generated file imports nothing but torch, so a layer that torchvision
defines itself (`torchvision.ops.StochasticDepth`, ConvNeXt's
`LayerNorm2d`) is generated as a class of the same name and behaviour,
once per file, before the spec's classes; so is torchvision's
`_make_divisible` where a width multiplier calls it (codegen/generate.py
sees the call). `HELPERS` holds each one's source,
already in black's format; a `Ctor("torch", NAME, ...)` whose target is one
of its names (no `nn.` prefix) calls it. `used_helpers` says which a program
needs.
"""

from __future__ import annotations

from ..ir.nodes import ClassIR, Ctor, Layer, Repeat, Residual, walk
from . import swin_source as swin

MAKE_DIVISIBLE = '''def _make_divisible(v, divisor, min_value=None):
    """torchvision's _make_divisible: v rounded to a multiple of divisor."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    # Make sure that round down does not go down by more than 10%.
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v'''
"""torchvision's function, which a generated module defines when it calls `_make_divisible` (a width multiplier's `make_divisible`)."""

STOCHASTIC_DEPTH = '''class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: the identity in eval mode; in training,
    zeroes each sample ("row") or the whole batch ("batch") with probability
    p and scales what it keeps by 1 / (1 - p)."""

    def __init__(self, p, mode):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x):
        if self.p < 0.0 or self.p > 1.0:
            raise ValueError(
                f"drop probability has to be between 0 and 1, but got {self.p}"
            )
        if not self.training or self.p == 0.0:
            return x
        survival_rate = 1.0 - self.p
        if self.mode == "row":
            size = [x.shape[0]] + [1] * (x.ndim - 1)
        else:
            size = [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device)
        noise = noise.bernoulli_(survival_rate)
        if survival_rate > 0.0:
            noise.div_(survival_rate)
        return x * noise'''

LAYER_NORM_2D = '''class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d (ConvNeXt): nn.LayerNorm over the channels
    of a [B, C, H, W] tensor."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = torch.nn.functional.layer_norm(
            x, self.normalized_shape, self.weight, self.bias, self.eps
        )
        x = x.permute(0, 3, 1, 2)
        return x'''

PERMUTE = '''class Permute(nn.Module):
    """torchvision.ops.misc.Permute: the tensor's axes in the order dims."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)'''

# Each helper class's source, by its name.
HELPERS: dict[str, str] = {
    "_make_divisible": MAKE_DIVISIBLE,
    "StochasticDepth": STOCHASTIC_DEPTH,
    "LayerNorm2d": LAYER_NORM_2D,
    "Permute": PERMUTE,
    "PatchMerging": swin.PATCH_MERGING,
    "relative_position_index": swin.RELATIVE_POSITION_INDEX,
    "split_windows": swin.SPLIT_WINDOWS,
    "join_windows": swin.JOIN_WINDOWS,
    "shifted_window_mask": swin.SHIFTED_WINDOW_MASK,
    "shifted_window_attention": swin.SHIFTED_WINDOW_ATTENTION_FUNCTION,
    "ShiftedWindowAttention": swin.SHIFTED_WINDOW_ATTENTION,
}


def _ctors(ctor: Ctor | None):
    if ctor is None:
        return
    yield ctor
    if ctor.kind == "sequential":
        for item in ctor.args:
            yield from _ctors(item)  # type: ignore[arg-type]


def used_helpers(classes: tuple[ClassIR, ...] | list[ClassIR]) -> list[str]:
    """The names of the helper classes the classes construct, in `HELPERS`'s order."""
    used: set[str] = set()
    for ir in classes:
        for node in walk(ir.body):
            if isinstance(node, Layer):
                found = _ctors(node.ctor)
            elif isinstance(node, Repeat):
                found = (c for part in (node.first, node.rest) for c in _ctors(part))
            elif isinstance(node, Residual):
                found = _ctors(node.projection)
            else:
                continue
            used.update(c.target for c in found if c.kind == "torch" and c.target in HELPERS)
    used.update(f for name in list(used) for f in swin.NEEDS.get(name, ()))
    return [name for name in HELPERS if name in used]
