"""The primitives' shape rules: from a `Call` to a `PrimOut`.

One function per primitive (or one factory per family: elementwise
activations, softmaxes, pools, recurrent layers), named after it; the
registry in primitives.py pairs each with its name and signature. A rule
reads the bound arguments and the input shape (batch axis implicit) from
the `Call` and returns the output shape, parameter count, `torch.nn`
constructor, per-axis keep/stride effects and the checks its arguments must
pass (signature.py).

Windowed layers (conv, maxpool, avgpool) share their arithmetic, in
windows.py.
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir import symbolic as sy
from ..core.diagnostics import error
from ..ir.nodes import Check, Ctor, Sizes, Value
from ..ir.symbolic import Const, Expr
from .flow import BY_SIZE
from .signature import Call, PrimOut, show_shape, show_value
from .windows import auto_padding, per_axis, spatial, window


def _kw(ctor_kwargs: list[tuple[str, Value]], name: str, value: Expr, default) -> None:
    """Add a keyword argument unless it equals torch's default."""
    if not (isinstance(value, Const) and value.value == default and type(value.value) is type(default)):
        ctor_kwargs.append((name, value))


def _constant(call: Call, key: str):
    """The value of an argument that decides the output's shape, which a
    block or model parameter cannot give: shapes are worked out once per
    block, not per call.

    Raises:
        SpecError: LG401, the value depends on a parameter.
    """
    value = call[key]
    if not isinstance(value, Const):
        raise error("LG401", call.span_of(key), f"`{key}` of `{call.name}` must be written as a constant here, not `{value}`: it decides the output's shape, so a parameter cannot give it")
    return value.value


def _nd(rank: int) -> str:
    return f"{rank - 1}d"


def conv(call: Call) -> PrimOut:
    rank = call.rank((2, 3, 4), "[C, L], [C, H, W] or [C, D, H, W]")
    c_in, c_out = call.shape[0], call["out_channels"]
    k, s, d = (spatial(call, key, rank - 1) for key in ("kernel_size", "stride", "dilation"))
    g = call["groups"]
    p = auto_padding(call, k, d)
    bias = call["bias"]
    kwargs: list[tuple[str, Value]] = [("kernel_size", k)]
    _kw(kwargs, "stride", s, 1)
    _kw(kwargs, "padding", p, 0)
    _kw(kwargs, "dilation", d, 1)
    _kw(kwargs, "groups", g, 1)
    _kw(kwargs, "bias", bias, True)
    out = PrimOut((), Ctor("torch", f"nn.Conv{_nd(rank)}", (c_in, c_out), tuple(kwargs)))
    out.shape = (c_out, *window(call, k, s, p, d, out))
    area = _product(per_axis(k, rank - 1)) if isinstance(k, Sizes) else _power(k, rank - 1)
    weight = sy.mul(sy.mul(c_out, sy.floordiv(c_in, g)), area)
    out.n_params = sy.add(weight, sy.cond(bias, c_out, sy.ZERO))
    out.checks += _conv_checks(call, c_in, c_out, g) + [_multiple_of_8(call, c_in, c_out, "channels")]
    return out


def _conv_checks(call: Call, c_in: Expr, c_out: Expr, g: Expr) -> list[Check]:
    """What conv and conv_transpose both need of their arguments."""
    return [
        call.check(sy.eq(sy.mod(c_in, g), 0), "groups", "input channels ", c_in, " are not divisible by groups=", g, code="LG304"),
        call.check(sy.eq(sy.mod(c_out, g), 0), "groups", "out_channels ", c_out, " is not divisible by groups=", g, code="LG304"),
    ]


def conv_transpose(call: Call) -> PrimOut:
    rank = call.rank((2, 3, 4), "[C, L], [C, H, W] or [C, D, H, W]")
    c_in, c_out = call.shape[0], call["out_channels"]
    k, s, p, op = call["kernel_size"], call["stride"], call["padding"], call["output_padding"]
    d, g, bias = call["dilation"], call["groups"], call["bias"]
    kwargs: list[tuple[str, Value]] = [("kernel_size", k)]
    _kw(kwargs, "stride", s, 1)
    _kw(kwargs, "padding", p, 0)
    _kw(kwargs, "output_padding", op, 0)
    _kw(kwargs, "groups", g, 1)
    _kw(kwargs, "bias", bias, True)
    _kw(kwargs, "dilation", d, 1)
    out = PrimOut((), Ctor("torch", f"nn.ConvTranspose{_nd(rank)}", (c_in, c_out), tuple(kwargs)))
    growth = sy.add(sy.sub(sy.mul(d, sy.sub(k, 1)), sy.mul(2, p)), op)
    sizes = []
    for axis in range(1, rank):
        new = sy.add(sy.add(sy.mul(sy.sub(call.shape[axis], 1), s), growth), 1)
        sizes.append(new)
        out.keep[axis] = sy.both(sy.eq(s, 1), sy.eq(growth, 0))
        out.stride[axis] = None
        out.checks.append(call.check(sy.compare(">=", new, 1), "padding", "`conv_transpose` output would be empty", code="LG303"))
    out.shape = (c_out, *sizes)
    weight = sy.mul(sy.mul(c_in, sy.floordiv(c_out, g)), _power(k, rank - 1))
    out.n_params = sy.add(weight, sy.cond(bias, c_out, sy.ZERO))
    out.checks += _conv_checks(call, c_in, c_out, g) + [
        call.check(
            sy.compare("<", op, sy.maximum(s, d)),
            "output_padding",
            "output_padding must be smaller than stride or dilation",
            code="LG401",
        ),
    ]
    return out


def _product(factors: list[Expr]) -> Expr:
    out: Expr = sy.ONE
    for f in factors:
        out = sy.mul(out, f)
    return out


def _power(base: Expr, n: int) -> Expr:
    out: Expr = sy.ONE
    for _ in range(n):
        out = sy.mul(out, base)
    return out


def linear(call: Call) -> PrimOut:
    call.rank((1, 2, 3, 4, 5), "[..., in_features]")
    f_in, f_out, bias = call.shape[-1], call["out_features"], call["bias"]
    kwargs: list[tuple[str, Value]] = []
    _kw(kwargs, "bias", bias, True)
    out = PrimOut((*call.shape[:-1], f_out), Ctor("torch", "nn.Linear", (f_in, f_out), tuple(kwargs)))
    out.n_params = sy.add(sy.mul(f_in, f_out), sy.cond(bias, f_out, sy.ZERO))
    out.checks.append(_multiple_of_8(call, f_in, f_out, "features"))
    return out


def _multiple_of_8(call: Call, size_in: Expr, size_out: Expr, what: str) -> Check:
    """LG509 (opt-in): a layer wider than 64 whose sizes are not multiples of
    8 runs off the tensor cores' fast path."""
    fine = sy.either(
        sy.compare("<=", sy.maximum(size_in, size_out), 64),
        sy.both(sy.eq(sy.mod(size_in, 8), 0), sy.eq(sy.mod(size_out, 8), 0)),
    )
    return call.check(
        fine,
        None,
        f"`{call.name}` maps ",
        size_in,
        " to ",
        size_out,
        f" {what}: sizes that are not multiples of 8 are slow on tensor cores",
        code="LG509",
        severity="warning",
        hint="round the sizes up to multiples of 8",
    )


def bn(call: Call) -> PrimOut:
    rank = call.rank((1, 2, 3, 4), "[C], [C, L], [C, H, W] or [C, D, H, W]")
    c = call.shape[0]
    kwargs: list[tuple[str, Value]] = []
    _kw(kwargs, "eps", call["eps"], 1e-5)
    _kw(kwargs, "momentum", call["momentum"], 0.1)
    _kw(kwargs, "affine", call["affine"], True)
    nd = "1d" if rank <= 2 else _nd(rank)
    out = PrimOut(call.shape, Ctor("torch", f"nn.BatchNorm{nd}", (c,), tuple(kwargs)))
    out.n_params = sy.cond(call["affine"], sy.mul(2, c), sy.ZERO)
    return out


def layernorm(call: Call) -> PrimOut:
    call.rank((1, 2, 3, 4, 5), "[..., D]")
    return _layer_norm(call, "nn.LayerNorm", call.shape[-1])


def layernorm2d(call: Call) -> PrimOut:
    """torchvision's LayerNorm2d (ConvNeXt): nn.LayerNorm over the channels
    of a [C, H, W] input, a class of the generated file (codegen/helpers.py)."""
    call.rank((3,), "[C, H, W]")
    return _layer_norm(call, "LayerNorm2d", call.shape[0])


def _layer_norm(call: Call, target: str, size: Expr) -> PrimOut:
    """A layer norm over `size` features (`target`: its class), with eps
    and elementwise_affine as given: the input's shape, 2 * size
    parameters when affine."""
    kwargs: list[tuple[str, Value]] = []
    _kw(kwargs, "eps", call["eps"], 1e-5)
    _kw(kwargs, "elementwise_affine", call["elementwise_affine"], True)
    out = PrimOut(call.shape, Ctor("torch", target, (size,), tuple(kwargs)))
    out.n_params = sy.cond(call["elementwise_affine"], sy.mul(2, size), sy.ZERO)
    return out


def stochastic_depth(call: Call) -> PrimOut:
    """torchvision.ops.StochasticDepth(p, mode), a class of the generated
    file (codegen/helpers.py): the identity in eval mode.

    Raises:
        SpecError: LG401, `mode` is not a constant "row" or "batch".
    """
    mode = _constant(call, "mode")
    if mode not in ("row", "batch"):
        raise error("LG401", call.span_of("mode"), f'`mode` of `stochastic_depth` is "row" or "batch", not {show_value(mode)}')
    return PrimOut(call.shape, Ctor("torch", "StochasticDepth", (call["p"], call["mode"])))


def permute(call: Call) -> PrimOut:
    """torchvision.ops.misc.Permute(dims), a class of the generated file
    (codegen/helpers.py): the input's axes in the order `dims`, a tuple
    over the axes without the batch axis (`permute (1, 2, 0)`: [C, H, W] to
    [H, W, C], `Permute([0, 2, 3, 1])`).

    Raises:
        SpecError: LG401, `dims` depends on a parameter, or does not
            order every axis of the input exactly once.
    """
    dims = call.args["dims"]
    rank = len(call.shape)
    items = dims.items if isinstance(dims, Sizes) else (dims,)
    for item in items:
        if not isinstance(item, Const):
            raise error("LG401", call.span_of("dims"), f"`dims` of `permute` must be written as constants here, not `{item}`: it decides the output's shape, so a parameter cannot give it")
    order = [d.value for d in items]  # type: ignore[union-attr]
    if not all(type(d) is int for d in order) or sorted(order) != list(range(rank)):  # type: ignore[type-var]
        raise error(
            "LG401",
            call.span_of("dims"),
            f"`dims` of `permute` orders the input's {rank} axes {show_shape(call.shape)}: a tuple of the constants 0 to {rank - 1}, each once, such as {tuple(range(rank))[::-1]}",
        )
    shape = tuple(call.shape[d] for d in order)
    ctor = Ctor("torch", "Permute", (Sizes((Const(0), *(Const(d + 1) for d in order)), brackets="[]"),))
    # As a rearrange: every axis is compared by size from here on, no stride is whole.
    return PrimOut(shape, ctor, keep={axis: BY_SIZE for axis in range(rank)}, stride={axis: None for axis in range(rank)})


def groupnorm(call: Call) -> PrimOut:
    call.rank((2, 3, 4), "[C, L], [C, H, W] or [C, D, H, W]")
    c, g = call.shape[0], call["num_groups"]
    kwargs: list[tuple[str, Value]] = []
    _kw(kwargs, "eps", call["eps"], 1e-5)
    _kw(kwargs, "affine", call["affine"], True)
    out = PrimOut(call.shape, Ctor("torch", "nn.GroupNorm", (g, c), tuple(kwargs)))
    out.n_params = sy.cond(call["affine"], sy.mul(2, c), sy.ZERO)
    out.checks += [
        call.check(sy.eq(sy.mod(c, g), 0), "num_groups", "channels ", c, " are not divisible by num_groups=", g, code="LG304"),
    ]
    return out


def elementwise(torch_name: str, **defaults) -> Callable[[Call], PrimOut]:
    def rule(call: Call) -> PrimOut:
        kwargs: list[tuple[str, Value]] = []
        for key, default in defaults.items():
            _kw(kwargs, key, call[key], default)
        return PrimOut(call.shape, Ctor("torch", torch_name, (), tuple(kwargs)))

    return rule


def gelu(call: Call) -> PrimOut:
    """nn.GELU, exact (`approximate="none"`) or with tanh's approximation.

    Raises:
        SpecError: LG401, `approximate` is not a constant "none" or "tanh".
    """
    how = _constant(call, "approximate")
    if how not in ("none", "tanh"):
        raise error("LG401", call.span_of("approximate"), f'`approximate` of `gelu` is "none" or "tanh", not {show_value(how)}')
    kwargs: list[tuple[str, Value]] = []
    _kw(kwargs, "approximate", call["approximate"], "none")
    return PrimOut(call.shape, Ctor("torch", "nn.GELU", (), tuple(kwargs)))


def softmax(torch_name: str) -> Callable[[Call], PrimOut]:
    def rule(call: Call) -> PrimOut:
        rank = call.rank((1, 2, 3, 4, 5), "[C, ...]")
        value = _constant(call, "dim")
        if not isinstance(value, int) or isinstance(value, bool) or not -rank <= value < rank:
            raise error("LG401", call.span_of("dim"), f"`dim` must be a constant axis of the input {show_shape(call.shape)}: an integer from {-rank} to {rank - 1}")
        batched = Const(value + 1 if value >= 0 else value)
        return PrimOut(call.shape, Ctor("torch", torch_name, (), (("dim", batched),)))

    return rule


def pool(kind: str) -> Callable[[Call], PrimOut]:
    def rule(call: Call) -> PrimOut:
        rank = call.rank((2, 3, 4), "[C, L], [C, H, W] or [C, D, H, W]")
        if kind == "avg" and not call.given("kernel_size"):
            size = call["output_size"] if call.given("output_size") else sy.ONE
            if call["ceil_mode"] != sy.FALSE:
                raise error("LG402", call.span_of("ceil_mode"), "`ceil_mode` only applies to an `avgpool` with a kernel_size, not to a global or adaptive one")
            out = PrimOut((call.shape[0], *([size] * (rank - 1))), Ctor("torch", f"nn.AdaptiveAvgPool{_nd(rank)}", (size,)))
            for axis in range(1, rank):
                out.keep[axis] = sy.FALSE
                out.stride[axis] = None
            return out
        if kind == "avg" and call.given("output_size"):
            raise error("LG402", call.span_of("output_size"), "`avgpool` takes either kernel_size or output_size, not both")
        n = rank - 1
        k = spatial(call, "kernel_size", n)
        s = spatial(call, "stride", n) if call.given("stride") else k
        d = spatial(call, "dilation", n) if kind == "max" else sy.ONE
        p = auto_padding(call, k, d)
        kwargs: list[tuple[str, Value]] = [("kernel_size", k)]
        if call.given("stride"):
            _kw(kwargs, "stride", s, None)
        _kw(kwargs, "padding", p, 0)
        if kind == "max":
            _kw(kwargs, "dilation", d, 1)
        ceil = call["ceil_mode"]
        _kw(kwargs, "ceil_mode", ceil, False)
        name = "MaxPool" if kind == "max" else "AvgPool"
        out = PrimOut((), Ctor("torch", f"nn.{name}{_nd(rank)}", (), tuple(kwargs)))
        out.shape = (call.shape[0], *window(call, k, s, p, d, out, ceil))
        for s_axis, p_axis, k_axis in dict.fromkeys(zip(per_axis(s, n), per_axis(p, n), per_axis(k, n))):
            out.checks += [
                call.check(sy.compare(">=", s_axis, 1), "stride", "`stride` must be at least 1, not ", s_axis, code="LG401"),
                call.check(
                    sy.compare("<=", sy.mul(2, p_axis), k_axis),
                    "padding",
                    "padding ",
                    p_axis,
                    " must be at most half of kernel_size ",
                    k_axis,
                    code="LG401",
                    hint="give `padding=` explicitly",
                ),
            ]
        if kind == "avg" and rank == 4:
            # torch's AvgPool3d (alone among the pools) also wants every size
            # of its input, padding aside, to be at least the kernel.
            out.checks += [
                call.check(
                    sy.compare(">=", call.shape[axis], k_axis),
                    "kernel_size",
                    "`avgpool` on a 3-D input needs every size to be at least kernel_size ",
                    k_axis,
                    " (torch's AvgPool3d does not count the padding), but its input is ",
                    call.shape,
                    code="LG303",
                )
                for axis, k_axis in zip((1, 2, 3), per_axis(k, n))
            ]
        return out

    return rule


def flatten(call: Call) -> PrimOut:
    call.rank((1, 2, 3, 4, 5), "[C, ...]")
    size: Expr = sy.ONE
    for dim in call.shape:
        size = sy.mul(size, dim)
    return PrimOut((size,), Ctor("torch", "nn.Flatten"))


_UPSAMPLE_MODES = {"nearest": (2, 3, 4), "linear": (2,), "bilinear": (3,), "bicubic": (3,), "trilinear": (4,)}


def upsample(call: Call) -> PrimOut:
    rank = call.rank((2, 3, 4), "[C, L], [C, H, W] or [C, D, H, W]")
    scale, mode = call["scale_factor"], _constant(call, "mode")
    if mode not in _UPSAMPLE_MODES or rank not in _UPSAMPLE_MODES[mode]:  # type: ignore[operator]
        fits = sorted(m for m, ranks in _UPSAMPLE_MODES.items() if rank in ranks)
        raise error("LG401", call.span_of("mode"), f"`mode` must be one of {', '.join(repr(m) for m in fits)} for an input of rank {rank}")
    kwargs: list[tuple[str, Value]] = [("scale_factor", scale)]
    _kw(kwargs, "mode", call["mode"], "nearest")
    if call.given("align_corners"):
        if mode == "nearest":
            raise error("LG402", call.span_of("align_corners"), "`align_corners` only applies to the interpolating modes")
        kwargs.append(("align_corners", call["align_corners"]))
    out = PrimOut((call.shape[0], *(sy.mul(size, scale) for size in call.shape[1:])), Ctor("torch", "nn.Upsample", (), tuple(kwargs)))
    for axis in range(1, rank):
        out.keep[axis] = sy.eq(scale, 1)
        out.stride[axis] = None
    return out


def pixel_shuffle(call: Call) -> PrimOut:
    call.rank((3,), "[C, H, W]")
    r = call["upscale_factor"]
    c, h, w = call.shape
    area = sy.mul(r, r)
    out = PrimOut((sy.floordiv(c, area), sy.mul(h, r), sy.mul(w, r)), Ctor("torch", "nn.PixelShuffle", (r,)))
    for axis in (1, 2):
        out.keep[axis] = sy.eq(r, 1)
        out.stride[axis] = None
    out.checks += [
        call.check(
            sy.eq(sy.mod(c, area), 0),
            "upscale_factor",
            "input channels ",
            c,
            " are not divisible by upscale_factor ** 2 = ",
            area,
            code="LG304",
        ),
    ]
    return out


def embedding(call: Call) -> PrimOut:
    call.rank((1, 2, 3), "[T]")
    n, d = call["num_embeddings"], call["embedding_dim"]
    out = PrimOut((*call.shape, d), Ctor("torch", "nn.Embedding", (n, d)))
    out.n_params = sy.mul(n, d)
    return out


def recurrent(kind: str, gates: int) -> Callable[[Call], PrimOut]:
    """LSTM and GRU over `[T, D]` sequences, batch first in generated code."""

    def rule(call: Call) -> PrimOut:
        call.rank((2,), "[T, D]")
        d_in, hidden = call.shape[1], call["hidden_size"]
        layers, both = call["num_layers"], call["bidirectional"]
        output = _constant(call, "output")
        if output not in ("sequence", "hidden"):
            raise error("LG401", call.span_of("output"), '`output` is "sequence" (every step) or "hidden" (the final hidden state)')
        kwargs: list[tuple[str, Value]] = []
        _kw(kwargs, "num_layers", layers, 1)
        kwargs.append(("batch_first", sy.TRUE))
        _kw(kwargs, "dropout", call["dropout"], 0.0)
        _kw(kwargs, "bidirectional", both, False)
        dirs = sy.cond(both, sy.Const(2), sy.ONE)
        width = sy.mul(hidden, dirs)
        shape = (call.shape[0], width) if output == "sequence" else (width,)
        apply = "sequence" if output == "sequence" else f"{kind}_hidden"
        out = PrimOut(shape, Ctor("torch", f"nn.{kind.upper()}", (d_in, hidden), tuple(kwargs)), apply=apply)
        per_unit = lambda size_in: sy.mul(sy.mul(gates, hidden), sy.add(sy.add(size_in, hidden), 2))  # noqa: E731
        first = sy.mul(dirs, per_unit(d_in))
        rest = sy.mul(sy.mul(sy.sub(layers, 1), dirs), per_unit(width))
        out.n_params = sy.add(first, rest)
        return out

    return rule


def mha(call: Call) -> PrimOut:
    """nn.MultiheadAttention(D, num_heads, batch_first=True) as self-attention
    over one `[T, D]` tensor (queries, keys and values all the input): the
    input's shape; 4 * D * D weights, and 4 * D biases with `bias`.

    Raises:
        SpecError: LG302, the input is not `[T, D]`; LG324 (a check), D is
            not divisible by num_heads.
    """
    call.rank((2,), "[T, D]")
    d, heads, bias = call.shape[1], call["num_heads"], call["bias"]
    kwargs: list[tuple[str, Value]] = []
    _kw(kwargs, "dropout", call["dropout"], 0.0)
    _kw(kwargs, "bias", bias, True)
    kwargs.append(("batch_first", sy.TRUE))
    out = PrimOut(call.shape, Ctor("torch", "nn.MultiheadAttention", (d, heads), tuple(kwargs)), apply="attention")
    out.n_params = sy.add(sy.mul(4, sy.mul(d, d)), sy.cond(bias, sy.mul(4, d), sy.ZERO))
    out.checks.append(
        call.check(
            sy.eq(sy.mod(d, heads), 0),
            "num_heads",
            "the embedding size ",
            d,
            " is not divisible by num_heads = ",
            heads,
            ": each head takes an equal part of it",
            code="LG324",
            hint="choose num_heads dividing the embedding size (D = heads * head_dim), or widen the tokens to a multiple of num_heads",
        )
    )
    return out
