"""The primitive layers: their signatures, shape rules and torch.nn mapping.

Each primitive's rule takes its bound arguments and the input shape (batch
axis implicit) and returns a `PrimOut`: output shape, parameter count, the
`torch.nn` constructor, and the checks its arguments must pass. Rules raise
`SpecError` only for mistakes that no argument value could fix (a wrong
rank); everything that depends on values becomes a `Check`.

A keyword's type and range (an integer of at least 1, a probability...)
are not the rules' business: `argument_checks` gives them for every keyword
by name, and infer applies them to each argument with the value it really
gets, through block parameters and model defaults.

Keyword names are PyTorch's. Windowed layers (conv, maxpool, avgpool) pad by
`dilation * (kernel_size - 1) // 2` unless `padding=` is given: "same" for odd
kernels at stride 1.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from collections.abc import Callable

from ..ir import symbolic as sy
from ..core.diagnostics import Span, error
from ..ir.nodes import Check, Ctor, LayerRef, Shape, Value
from ..ir.symbolic import Const, Expr

# The check that holds (Call.check); never reported, so it needs no place.
_HELD = Check(sy.TRUE, Span("<held>", 1, 1, 1, 1), ())


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED = _Marker("REQUIRED")
"""Default of a parameter that must be given."""
AUTO = _Marker("AUTO")
"""Default of a parameter the rule works out when it is not given."""


@dataclass
class PrimOut:
    """What a primitive does to its input.

    keep: per axis, a condition to AND into "this axis keeps its size for
        every input size" (axes not named keep theirs).
    stride: per axis, a factor to multiply into the total stride (None: the
        axis does not change by a whole stride).
    """

    shape: Shape
    ctor: Ctor
    n_params: Expr = sy.ZERO
    apply: str = "call"
    keep: dict[int, Expr] = field(default_factory=dict)
    stride: dict[int, Expr | None] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    """A primitive call being analysed: bound arguments and where they are."""

    name: str
    args: dict[str, Value | _Marker]
    shape: Shape
    span: Span
    arg_spans: dict[str, Span]

    def __getitem__(self, key: str) -> Expr:
        value = self.args[key]
        if isinstance(value, LayerRef):
            raise error("LG401", self.span_of(key), f"`{key}` of `{self.name}` must be a number, not the layer `{value.name}`")
        return value  # type: ignore[return-value]

    def given(self, key: str) -> bool:
        return self.args[key] is not AUTO

    def span_of(self, key: str) -> Span:
        return self.arg_spans.get(key, self.span)

    def check(self, cond: Expr, key: str | None, *message, code: str, hint: str | None = None, severity: str = "error") -> Check:
        """A check at argument `key` (or the whole call): `cond` must hold,
        else the diagnostic `code` with `message` (strings, sizes, shapes).
        A condition that already holds gives one shared check, which infer
        drops (with constant sizes, most do: building each was a third of a
        convolution's analysis)."""
        if type(cond) is Const and cond.value is True:
            return _HELD
        # A rule on an argument (LG401) whose value comes from parameters is
        # reported where the caller gives the value (infer's `_arguments`).
        value = self.args.get(key) if key and code == "LG401" else None
        origin = sy.parameters(value) if isinstance(value, Expr) else ()
        return Check(cond, self.span_of(key) if key else self.span, tuple(message), (), hint, code, severity, origin)

    def rank(self, allowed: tuple[int, ...], layout: str) -> int:
        """The input's rank, or a diagnostic if the layer cannot take it."""
        rank = len(self.shape)
        if rank not in allowed:
            raise error(
                "LG302",
                self.span,
                f"`{self.name}` needs an input of shape {layout}, but its input is {show_shape(self.shape)}",
            )
        return rank


# The type of each primitive keyword, by name (PyTorch's names mean one thing).
INT_PARAMS = frozenset(
    "out_channels kernel_size stride padding dilation groups out_features num_groups output_padding "
    "upscale_factor num_embeddings embedding_dim output_size dim scale_factor hidden_size num_layers".split()
)
POSITIVE_PARAMS = frozenset(
    "out_channels kernel_size stride dilation groups out_features num_groups upscale_factor "
    "num_embeddings embedding_dim output_size scale_factor hidden_size num_layers".split()
)
BOOL_PARAMS = frozenset("bias affine elementwise_affine align_corners bidirectional".split())
FLOAT_PARAMS = frozenset("eps momentum p negative_slope dropout".split())
STR_PARAMS = frozenset({"mode", "output"})


def show_value(v) -> str:
    """A constant as the language writes it: `true`, `"text"`, `0.5`."""
    return ("true" if v else "false") if isinstance(v, bool) else f'"{v}"' if isinstance(v, str) else repr(v)


def _kind(key: str) -> str | None:
    """The type a primitive keyword takes (`symbolic.is_type`'s kinds)."""
    if key in INT_PARAMS:
        return "int"
    if key in BOOL_PARAMS:
        return "bool"
    if key in FLOAT_PARAMS:
        return "number"
    return "str" if key in STR_PARAMS else None


_KIND_TEXT = {"int": "an integer", "bool": "`true` or `false`", "number": "a number", "str": "a string"}
_AT_LEAST_1 = (lambda v: sy.compare(">=", v, sy.ONE), "must be at least 1")
_PROBABILITY = (lambda v: sy.both(sy.compare(">=", v, sy.ZERO), sy.compare("<=", v, sy.ONE)), "is a probability, from 0 to 1")
# The values torch accepts for a keyword, beyond its type: (condition, text).
_RANGES: dict[str, tuple[Callable[[Expr], Expr], str]] = {
    **{key: _AT_LEAST_1 for key in POSITIVE_PARAMS},
    "padding": (lambda v: sy.compare(">=", v, sy.ZERO), "must not be negative"),
    "output_padding": (lambda v: sy.compare(">=", v, sy.ZERO), "must not be negative"),
    "p": _PROBABILITY,
    "dropout": _PROBABILITY,
    "momentum": _PROBABILITY,
    "eps": (lambda v: sy.compare(">=", v, sy.ZERO), "must not be negative"),
}


def argument_checks(key: str, value: Expr) -> tuple[tuple[Expr, tuple[str | Expr, ...]], ...]:
    """The conditions primitive keyword `key` puts on its value, as
    (condition, message) pairs: its type, then its range (a range condition
    holds where the type is already wrong, so that one mistake gives one
    error). Each condition is symbolic where `value` depends on a block's
    or model's parameters, and is decided once a caller's values are
    substituted; for a constant it is TRUE or FALSE already. (Memoised:
    blocks pass the same parameters to many layers. The memo's key holds
    a constant's type: `Const(True) == Const(1)`, as `True == 1`.)"""
    return _argument_checks(key, value, type(value.value) if isinstance(value, Const) else None)


@functools.lru_cache(maxsize=4096)
def _argument_checks(key: str, value: Expr, _type: type | None) -> tuple[tuple[Expr, tuple[str | Expr, ...]], ...]:
    kind = _kind(key)
    if kind is None:
        return ()
    typed = sy.is_type(kind, value)
    checks: list[tuple[Expr, tuple[str | Expr, ...]]] = [(typed, (f"`{key}` must be {_KIND_TEXT[kind]}, not ", value))]
    if key in _RANGES and typed != sy.FALSE:
        test, text = _RANGES[key]
        checks.append((sy.either(sy.negate(typed), test(value)), (f"`{key}` {text}, not ", value)))
    return tuple(checks)


def show_message(parts) -> str:
    """A check's message with its values as the language writes them."""
    return "".join(show_value(p.value) if isinstance(p, Const) else p if isinstance(p, str) else show_shape(p) if isinstance(p, tuple) else str(p) for p in parts)


def type_error(key: str, value: Expr) -> str | None:
    """Why a value cannot be the value of primitive keyword `key` (its type
    or range), or None where it can or where that depends on parameters."""
    for cond, message in argument_checks(key, value):
        if cond == sy.FALSE:
            return show_message(message)
    return None


@dataclass(frozen=True)
class Primitive:
    """A built-in layer: its DSL name, parameters with their defaults, and
    `rule`, which gives its output shape and checks for a call."""

    name: str
    params: tuple[tuple[str, object], ...]
    rule: Callable[[Call], PrimOut]
    keeps_shape: bool = False  # usable as a layer-valued argument (`act=...`)


def show_shape(shape: Shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


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


def _window(call: Call, kernel: Expr, stride: Expr, padding: Expr, dilation: Expr, out: PrimOut) -> list[Expr]:
    """Spatial sizes after a conv or pooling window, with keep/stride effects."""
    sizes = []
    # What does not depend on the axis is worked out once.
    span = sy.mul(dilation, sy.sub(kernel, 1))
    both_sides = sy.mul(2, padding)
    unit_stride = sy.eq(stride, 1)
    keep = sy.both(unit_stride, sy.eq(both_sides, span))
    gap = sy.maximum(sy.ZERO, sy.sub(sy.sub(stride, span), 1))
    for axis in range(1, len(call.shape)):
        size = call.shape[axis]
        padded = sy.add(size, both_sides)
        new = sy.add(sy.floordiv(sy.sub(sy.sub(padded, span), 1), stride), 1)
        sizes.append(new)
        out.keep[axis] = keep
        out.stride[axis] = stride
        out.checks.append(
            call.check(
                sy.compare(">=", new, 1),
                "kernel_size",
                f"`{call.name}` window (kernel_size ",
                kernel,
                ", dilation ",
                dilation,
                ") does not fit its input ",
                call.shape,
                " with padding ",
                padding,
                code="LG303",
            )
        )
        if unit_stride == sy.TRUE:  # at stride 1 no row is left out
            continue
        # LG508: the output size is floored, so the last window may stop
        # short of the input's end. The rows after it are dropped when they
        # are more than the padding covers and more than the gap the stride
        # leaves between windows anyway (a 1x1 conv at stride 2 skips every
        # other row by design).
        left = sy.mod(sy.sub(padded, sy.add(span, 1)), stride)
        dropped = sy.sub(left, padding)
        out.checks.append(
            call.check(
                sy.either(unit_stride, sy.compare("<=", dropped, gap)),
                "stride",
                f"`{call.name}` with stride ",
                stride,
                " never reaches the last ",
                dropped,
                " row(s) or column(s) of its input size ",
                size,
                " (kernel_size ",
                kernel,
                ", padding ",
                padding,
                "): the output size is floored and they are dropped",
                code="LG508",
                severity="warning",
                hint="pad the input, change the stride or kernel_size, or give the model an input size the windows tile",
            )
        )
    if not call.given("padding"):
        # Automatic padding is (k - 1) // 2 per side: with an even kernel the
        # window is not centred and the output is shifted by half a pixel.
        out.checks.append(
            call.check(
                sy.either(sy.eq(sy.mod(span, 2), 0), sy.eq(sy.floordiv(span, 2), 0)),
                "kernel_size",
                f"`{call.name}` has an even kernel_size ",
                kernel,
                ' with automatic "same" padding ',
                padding,
                ": the output is shifted by half a pixel (and one smaller at stride 1)",
                code="LG505",
                severity="warning",
                hint="use an odd kernel_size, or give `padding=` explicitly",
            )
        )
    return sizes


def _padding(call: Call, kernel: Expr, dilation: Expr) -> Expr:
    if call.given("padding"):
        return call["padding"]
    return sy.floordiv(sy.mul(dilation, sy.sub(kernel, 1)), 2)


def _conv(call: Call) -> PrimOut:
    rank = call.rank((2, 3, 4), "[C, L], [C, H, W] or [C, D, H, W]")
    c_in, c_out = call.shape[0], call["out_channels"]
    k, s, d, g = call["kernel_size"], call["stride"], call["dilation"], call["groups"]
    p = _padding(call, k, d)
    bias = call["bias"]
    kwargs: list[tuple[str, Value]] = [("kernel_size", k)]
    _kw(kwargs, "stride", s, 1)
    _kw(kwargs, "padding", p, 0)
    _kw(kwargs, "dilation", d, 1)
    _kw(kwargs, "groups", g, 1)
    _kw(kwargs, "bias", bias, True)
    out = PrimOut((), Ctor("torch", f"nn.Conv{_nd(rank)}", (c_in, c_out), tuple(kwargs)))
    spatial = _window(call, k, s, p, d, out)
    out.shape = (c_out, *spatial)
    weight = sy.mul(sy.mul(c_out, sy.floordiv(c_in, g)), _power(k, rank - 1))
    out.n_params = sy.add(weight, sy.cond(bias, c_out, sy.ZERO))
    out.checks += _conv_checks(call, c_in, c_out, g) + [_multiple_of_8(call, c_in, c_out, "channels")]
    return out


def _conv_checks(call: Call, c_in: Expr, c_out: Expr, g: Expr) -> list[Check]:
    """What conv and conv_transpose both need of their arguments."""
    return [
        call.check(sy.eq(sy.mod(c_in, g), 0), "groups", "input channels ", c_in, " are not divisible by groups=", g, code="LG304"),
        call.check(sy.eq(sy.mod(c_out, g), 0), "groups", "out_channels ", c_out, " is not divisible by groups=", g, code="LG304"),
    ]


def _conv_transpose(call: Call) -> PrimOut:
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


def _power(base: Expr, n: int) -> Expr:
    out: Expr = sy.ONE
    for _ in range(n):
        out = sy.mul(out, base)
    return out


def _linear(call: Call) -> PrimOut:
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


def _bn(call: Call) -> PrimOut:
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


def _layernorm(call: Call) -> PrimOut:
    call.rank((1, 2, 3, 4, 5), "[..., D]")
    d = call.shape[-1]
    kwargs: list[tuple[str, Value]] = []
    _kw(kwargs, "eps", call["eps"], 1e-5)
    _kw(kwargs, "elementwise_affine", call["elementwise_affine"], True)
    out = PrimOut(call.shape, Ctor("torch", "nn.LayerNorm", (d,), tuple(kwargs)))
    out.n_params = sy.cond(call["elementwise_affine"], sy.mul(2, d), sy.ZERO)
    return out


def _groupnorm(call: Call) -> PrimOut:
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


def _elementwise(torch_name: str, **defaults) -> Callable[[Call], PrimOut]:
    def rule(call: Call) -> PrimOut:
        kwargs: list[tuple[str, Value]] = []
        for key, default in defaults.items():
            _kw(kwargs, key, call[key], default)
        return PrimOut(call.shape, Ctor("torch", torch_name, (), tuple(kwargs)))

    return rule


def _softmax(torch_name: str) -> Callable[[Call], PrimOut]:
    def rule(call: Call) -> PrimOut:
        rank = call.rank((1, 2, 3, 4, 5), "[C, ...]")
        value = _constant(call, "dim")
        if not isinstance(value, int) or isinstance(value, bool) or not -rank <= value < rank:
            raise error("LG401", call.span_of("dim"), f"`dim` must be a constant axis of the input {show_shape(call.shape)}: an integer from {-rank} to {rank - 1}")
        batched = Const(value + 1 if value >= 0 else value)
        return PrimOut(call.shape, Ctor("torch", torch_name, (), (("dim", batched),)))

    return rule


def _pool(kind: str) -> Callable[[Call], PrimOut]:
    def rule(call: Call) -> PrimOut:
        rank = call.rank((2, 3, 4), "[C, L], [C, H, W] or [C, D, H, W]")
        if kind == "avg" and not call.given("kernel_size"):
            size = call["output_size"] if call.given("output_size") else sy.ONE
            out = PrimOut((call.shape[0], *([size] * (rank - 1))), Ctor("torch", f"nn.AdaptiveAvgPool{_nd(rank)}", (size,)))
            for axis in range(1, rank):
                out.keep[axis] = sy.FALSE
                out.stride[axis] = None
            return out
        if kind == "avg" and call.given("output_size"):
            raise error("LG402", call.span_of("output_size"), "`avgpool` takes either kernel_size or output_size, not both")
        k = call["kernel_size"]
        s = call["stride"] if call.given("stride") else k
        d = call["dilation"] if kind == "max" else sy.ONE
        p = _padding(call, k, d)
        kwargs: list[tuple[str, Value]] = [("kernel_size", k)]
        if call.given("stride"):
            _kw(kwargs, "stride", s, None)
        _kw(kwargs, "padding", p, 0)
        if kind == "max":
            _kw(kwargs, "dilation", d, 1)
        name = "MaxPool" if kind == "max" else "AvgPool"
        out = PrimOut((), Ctor("torch", f"nn.{name}{_nd(rank)}", (), tuple(kwargs)))
        out.shape = (call.shape[0], *_window(call, k, s, p, d, out))
        out.checks += [
            call.check(sy.compare(">=", s, 1), "stride", "`stride` must be at least 1, not ", s, code="LG401"),
            call.check(
                sy.compare("<=", sy.mul(2, p), k),
                "padding",
                "padding ",
                p,
                " must be at most half of kernel_size ",
                k,
                code="LG401",
                hint="give `padding=` explicitly",
            ),
        ]
        if kind == "avg" and rank == 4:
            # torch's AvgPool3d (alone among the pools) also wants every size
            # of its input, padding aside, to be at least the kernel.
            out.checks += [
                call.check(
                    sy.compare(">=", call.shape[axis], k),
                    "kernel_size",
                    "`avgpool` on a 3-D input needs every size to be at least kernel_size ",
                    k,
                    " (torch's AvgPool3d does not count the padding), but its input is ",
                    call.shape,
                    code="LG303",
                )
                for axis in (1, 2, 3)
            ]
        return out

    return rule


def _flatten(call: Call) -> PrimOut:
    call.rank((1, 2, 3, 4, 5), "[C, ...]")
    size: Expr = sy.ONE
    for dim in call.shape:
        size = sy.mul(size, dim)
    return PrimOut((size,), Ctor("torch", "nn.Flatten"))


_UPSAMPLE_MODES = {"nearest": (2, 3, 4), "linear": (2,), "bilinear": (3,), "bicubic": (3,), "trilinear": (4,)}


def _upsample(call: Call) -> PrimOut:
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


def _pixel_shuffle(call: Call) -> PrimOut:
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


def _embedding(call: Call) -> PrimOut:
    call.rank((1, 2, 3), "[T]")
    n, d = call["num_embeddings"], call["embedding_dim"]
    out = PrimOut((*call.shape, d), Ctor("torch", "nn.Embedding", (n, d)))
    out.n_params = sy.mul(n, d)
    return out


def _recurrent(kind: str, gates: int) -> Callable[[Call], PrimOut]:
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


_T, _F = Const(True), Const(False)
_WINDOW = (("stride", Const(1)), ("padding", AUTO), ("dilation", Const(1)))

PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for p in [
        Primitive(
            "conv",
            (("out_channels", REQUIRED), ("kernel_size", Const(3)), *_WINDOW, ("groups", Const(1)), ("bias", _T)),
            _conv,
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
            _conv_transpose,
        ),
        Primitive("linear", (("out_features", REQUIRED), ("bias", _T)), _linear),
        Primitive("bn", (("eps", Const(1e-5)), ("momentum", Const(0.1)), ("affine", _T)), _bn),
        Primitive("layernorm", (("eps", Const(1e-5)), ("elementwise_affine", _T)), _layernorm),
        Primitive("groupnorm", (("num_groups", REQUIRED), ("eps", Const(1e-5)), ("affine", _T)), _groupnorm),
        Primitive("relu", (), _elementwise("nn.ReLU"), True),
        Primitive("relu6", (), _elementwise("nn.ReLU6"), True),
        Primitive("leaky_relu", (("negative_slope", Const(0.01)),), _elementwise("nn.LeakyReLU", negative_slope=0.01), True),
        Primitive("gelu", (), _elementwise("nn.GELU"), True),
        Primitive("silu", (), _elementwise("nn.SiLU"), True),
        Primitive("sigmoid", (), _elementwise("nn.Sigmoid"), True),
        Primitive("tanh", (), _elementwise("nn.Tanh"), True),
        Primitive("hardswish", (), _elementwise("nn.Hardswish"), True),
        Primitive("identity", (), _elementwise("nn.Identity"), True),
        Primitive("dropout", (("p", Const(0.5)),), _elementwise("nn.Dropout", p=0.5), True),
        Primitive("softmax", (("dim", Const(0)),), _softmax("nn.Softmax")),
        Primitive("log_softmax", (("dim", Const(0)),), _softmax("nn.LogSoftmax")),
        Primitive(
            "maxpool",
            (("kernel_size", REQUIRED), ("stride", AUTO), ("padding", AUTO), ("dilation", Const(1))),
            _pool("max"),
        ),
        Primitive(
            "avgpool",
            (("kernel_size", AUTO), ("stride", AUTO), ("padding", AUTO), ("output_size", AUTO)),
            _pool("avg"),
        ),
        Primitive("flatten", (), _flatten),
        Primitive(
            "upsample",
            (("scale_factor", REQUIRED), ("mode", Const("nearest")), ("align_corners", AUTO)),
            _upsample,
        ),
        Primitive("pixel_shuffle", (("upscale_factor", REQUIRED),), _pixel_shuffle),
        Primitive("embedding", (("num_embeddings", REQUIRED), ("embedding_dim", REQUIRED)), _embedding),
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
                _recurrent(kind, gates),
            )
            for kind, gates in (("lstm", 4), ("gru", 3))
        ),
    ]
}
