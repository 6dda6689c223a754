"""The primitive layers: the registry of their names, signatures and shape rules.

`PRIMITIVES` maps each DSL name to a `Primitive`: its parameters in order
with their defaults (`REQUIRED`, `AUTO` or a constant), its shape rule
(shape_rules.py), and two facts inference needs about it. Adding a
primitive is one entry here, its rule, and its tests (docs/architecture.md
lists the steps).
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir.symbolic import Const
from .shape_rules import (
    conv, conv_transpose, linear, bn, layernorm, layernorm2d, groupnorm, elementwise, gelu, softmax, pool, flatten, upsample,
    pixel_shuffle, embedding, recurrent, stochastic_depth, permute, mha,
)
from .signature import AUTO, REQUIRED, Call, PrimOut
from .swin import patch_merging, shifted_window_attention


class Primitive:
    """A built-in layer: its DSL name, parameters with their defaults, and
    `rule`, which gives its output shape and checks for a call.

    keeps_shape: usable as a layer-valued argument (`act=...`).
    channels_first: reads a rank-2 input as [channels, length] rather than
        [T, features] (a block's first layer decides how its input sizes
        are named).
    """

    __slots__ = ("name", "params", "rule", "keeps_shape", "channels_first")  # no dataclass: it costs import time

    def __init__(
        self,
        name: str,
        params: tuple[tuple[str, object], ...],
        rule: Callable[[Call], PrimOut],
        keeps_shape: bool = False,
        channels_first: bool = False,
    ):
        self.name = name
        self.params = params
        self.rule = rule
        self.keeps_shape = keeps_shape
        self.channels_first = channels_first

    def __repr__(self) -> str:
        return f"Primitive({self.name!r})"


_T, _F = Const(True), Const(False)
_WINDOW = (("stride", Const(1)), ("padding", AUTO), ("dilation", Const(1)))

PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for p in [
        Primitive(
            "conv",
            (("out_channels", REQUIRED), ("kernel_size", Const(3)), *_WINDOW, ("groups", Const(1)), ("bias", _T)),
            conv,
            channels_first=True,
        ),
        Primitive(
            "conv_transpose",
            (
                ("out_channels", REQUIRED),
                ("kernel_size", REQUIRED),
                ("stride", Const(1)),
                ("padding", Const(0)),
                ("output_padding", Const(0)),
                ("groups", Const(1)),
                ("bias", _T),
                ("dilation", Const(1)),
            ),
            conv_transpose,
            channels_first=True,
        ),
        Primitive("linear", (("out_features", REQUIRED), ("bias", _T)), linear),
        Primitive("bn", (("eps", Const(1e-5)), ("momentum", Const(0.1)), ("affine", _T)), bn, channels_first=True),
        Primitive("layernorm", (("eps", Const(1e-5)), ("elementwise_affine", _T)), layernorm),
        Primitive("layernorm2d", (("eps", Const(1e-5)), ("elementwise_affine", _T)), layernorm2d, channels_first=True),
        Primitive("groupnorm", (("num_groups", REQUIRED), ("eps", Const(1e-5)), ("affine", _T)), groupnorm, channels_first=True),
        Primitive("relu", (), elementwise("nn.ReLU"), keeps_shape=True),
        Primitive("relu6", (), elementwise("nn.ReLU6"), keeps_shape=True),
        Primitive("leaky_relu", (("negative_slope", Const(0.01)),), elementwise("nn.LeakyReLU", negative_slope=0.01), keeps_shape=True),
        Primitive("gelu", (("approximate", Const("none")),), gelu, keeps_shape=True),
        Primitive("silu", (), elementwise("nn.SiLU"), keeps_shape=True),
        Primitive("sigmoid", (), elementwise("nn.Sigmoid"), keeps_shape=True),
        Primitive("tanh", (), elementwise("nn.Tanh"), keeps_shape=True),
        Primitive("hardsigmoid", (), elementwise("nn.Hardsigmoid"), keeps_shape=True),
        Primitive("hardswish", (), elementwise("nn.Hardswish"), keeps_shape=True),
        Primitive("identity", (), elementwise("nn.Identity"), keeps_shape=True),
        Primitive("dropout", (("p", Const(0.5)),), elementwise("nn.Dropout", p=0.5), keeps_shape=True),
        Primitive("stochastic_depth", (("p", REQUIRED), ("mode", Const("row"))), stochastic_depth),
        Primitive("softmax", (("dim", Const(0)),), softmax("nn.Softmax")),
        Primitive("log_softmax", (("dim", Const(0)),), softmax("nn.LogSoftmax")),
        Primitive(
            "maxpool",
            (("kernel_size", REQUIRED), ("stride", AUTO), ("padding", AUTO), ("dilation", Const(1)), ("ceil_mode", _F)),
            pool("max"),
            channels_first=True,
        ),
        Primitive(
            "avgpool",
            (("kernel_size", AUTO), ("stride", AUTO), ("padding", AUTO), ("output_size", AUTO), ("ceil_mode", _F)),
            pool("avg"),
            channels_first=True,
        ),
        Primitive("flatten", (), flatten),
        Primitive("permute", (("dims", REQUIRED),), permute),
        Primitive(
            "upsample",
            (("scale_factor", REQUIRED), ("mode", Const("nearest")), ("align_corners", AUTO)),
            upsample,
            channels_first=True,
        ),
        Primitive("pixel_shuffle", (("upscale_factor", REQUIRED),), pixel_shuffle),
        Primitive("embedding", (("num_embeddings", REQUIRED), ("embedding_dim", REQUIRED)), embedding),
        Primitive("mha", (("num_heads", REQUIRED), ("dropout", Const(0.0)), ("bias", _T)), mha),
        *(
            Primitive(
                kind,
                (
                    ("hidden_size", REQUIRED),
                    ("num_layers", Const(1)),
                    ("bidirectional", _F),
                    ("dropout", Const(0.0)),
                    ("output", Const("sequence")),
                ),
                recurrent(kind, gates),
            )
            for kind, gates in (("lstm", 4), ("gru", 3))
        ),
        # torchvision's Swin Transformer layers, on channels-last [H, W, C] maps (swin.py)
        Primitive(
            "shifted_window_attention",
            (
                ("window_size", REQUIRED),
                ("shift_size", Const(0)),
                ("num_heads", REQUIRED),
                ("attention_dropout", Const(0.0)),
                ("dropout", Const(0.0)),
            ),
            shifted_window_attention,
        ),
        Primitive("patch_merging", (), patch_merging),
    ]
}

CHANNELS_LAST = frozenset({"layernorm", "shifted_window_attention", "patch_merging"})
"""The primitives that read a rank-3 input as [H, W, C], channels last: a
block whose first layer is one of them names its input [H, W, in_features]
(definitions.py), so its width is known to the constructor. (`linear`
reads the last axis too, but a block starting with one keeps its naming,
[in_channels, H, W], whose last size is a run-time one.)"""
