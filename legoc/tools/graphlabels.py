"""The key hyperparameters of a module call, as `legoc graph` labels show
them: `Conv2d 3x3/2, 64` (kernel, stride where it is not 1, out channels),
`MaxPool2d 3x3/2`, `Linear 1000`, `LSTM 200, 2 layers`. Read from an
instance's ops (instance.py): their torch constructor's evaluated arguments.
"""

from __future__ import annotations

from ..ir import symbolic as sy
from ..ir.nodes import Sizes
from .instance import Op


def hyperparameters(op: Op) -> str:
    """The key hyperparameters of `op`'s torch module as short text, or ""
    for a module without any worth showing (ReLU, BatchNorm2d, a block)."""
    kind, dims = op.kind, _dims(op.kind)
    if op.target is None or not op.target.startswith("nn.") or not op.leaf:
        return ""
    if kind.startswith(("Conv", "LazyConv")):  # Conv2d, ConvTranspose2d: in, out, kernel_size, stride
        out, kernel, stride = _arg(op, 1, "out_channels"), _arg(op, 2, "kernel_size"), _arg(op, 3, "stride")
        if out is None or kernel is None:  # a layer passed as a parameter: its class only
            return ""
        groups = _arg(op, 6, "groups")  # the 7th of Conv2d and of ConvTranspose2d
        text = f"{_window(kernel, stride, dims)}, {_text(out)}"
        if groups is not None and _text(groups) != "1":
            text += f", groups {_text(groups)}"
        return text
    if kind.startswith(("MaxPool", "AvgPool", "LPPool")):  # kernel_size, stride (default: the kernel's)
        offset = 1 if kind.startswith("LPPool") else 0
        kernel = _arg(op, offset, "kernel_size")
        stride = _arg(op, offset + 1, "stride")
        if kernel is None:
            return ""
        return _window(kernel, kernel if stride is None else stride, dims)
    if kind.startswith("Adaptive"):
        return _text(_arg(op, 0, "output_size"), "x")
    if kind in ("Linear", "LazyLinear", "Bilinear"):
        out = _arg(op, 2 if kind == "Bilinear" else 1, "out_features")
        return "" if out is None else _text(out)
    if kind in ("Embedding", "EmbeddingBag"):
        return f"{_text(_arg(op, 0, 'num_embeddings'))}, {_text(_arg(op, 1, 'embedding_dim'))}"
    if kind in ("LSTM", "GRU", "RNN"):
        layers = _arg(op, 2, "num_layers")
        both = _arg(op, 6, "bidirectional")
        text = _text(_arg(op, 1, "hidden_size"))
        if layers is not None and _text(layers) != "1":
            text += f", {_text(layers)} layers"
        return text + (", bidirectional" if both is not None and sy.value_of(both) is True else "")
    if kind == "MultiheadAttention":
        return f"{_text(_arg(op, 0, 'embed_dim'))}, {_text(_arg(op, 1, 'num_heads'))} heads"
    if kind in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"):
        p = _arg(op, 0, "p")
        return "" if p is None else f"p={_text(p)}"
    if kind == "Upsample":
        scale = _arg(op, 1, "scale_factor")
        mode = _arg(op, 2, "mode")
        text = "" if scale is None else f"x{_text(scale)}"
        return text if mode is None else f"{text} {_text(mode)}".strip()
    if kind in ("PixelShuffle", "PixelUnshuffle"):
        return _text(_arg(op, 0, "upscale_factor"))
    return ""


def _dims(kind: str) -> int:
    """The spatial axes of a Conv2d or MaxPool3d (2, 3; 1 for the others)."""
    return int(kind[-2]) if kind.endswith("d") and kind[-2:-1].isdigit() else 1


def _arg(op: Op, index: int, name: str):
    """The constructor argument at `index` or named `name`; None when not given."""
    if index < len(op.args):
        return op.args[index]
    return dict(op.kwargs).get(name)


def _text(value, sep: str = ", ") -> str:
    """A value as it reads in a label: a number, a string, a sizes' list."""
    if value is None:
        return "?"
    if isinstance(value, Sizes):
        return sep.join(_text(item) for item in value.items)
    if isinstance(value, sy.Expr):
        known = sy.value_of(value)
        if known is None:
            return sy.to_text(value)
        value = known
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _window(kernel, stride, dims: int) -> str:
    """`3x3/2`: a kernel over `dims` axes (one size repeated, or one per
    axis), and its stride after a slash where it is not 1."""
    if isinstance(kernel, Sizes):
        text = "x".join(_text(k) for k in kernel.items)
    else:
        text = "x".join([_text(kernel)] * dims)
    if stride is None:
        return text
    strides = [_text(s) for s in stride.items] if isinstance(stride, Sizes) else [_text(stride)]
    if all(s == "1" for s in strides):
        return text
    return f"{text}/{'x'.join(strides) if len(set(strides)) > 1 else strides[0]}"
