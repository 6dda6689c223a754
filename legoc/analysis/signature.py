"""Primitive signatures: what a shape rule gets and gives, and what each keyword takes.

A primitive's parameters default to a value, to `REQUIRED` (the call must
give it) or to `AUTO` (the rule works it out). Its shape rule reads the
bound arguments and the input shape from a `Call` and returns a `PrimOut`:
output shape, parameter count, the `torch.nn` constructor, and the checks
its arguments must pass. Rules raise `SpecError` only for mistakes that no
argument value could fix (a wrong rank); everything that depends on values
becomes a `Check`.

A keyword's type and range (an integer of at least 1, a probability...)
are not the rules' business: `argument_checks` gives them for every keyword
by name, and infer applies them to each argument with the value it really
gets, through block parameters and model defaults. Keyword names are
PyTorch's, and mean one thing whatever the primitive.

`show_value`, `show_shape` and `show_message` write values, shapes and
check messages as the language writes them, for diagnostics.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ..ir import symbolic as sy
from ..core.diagnostics import Span, error
from ..ir.nodes import Check, Ctor, LayerRef, Shape, Value
from ..ir.symbolic import Const, Expr

# The check that holds (Call.check); never reported, so it needs no place.
_HELD = Check(sy.TRUE, Span("<held>", 1, 1, 1, 1), ())


class _Marker:
    """A default that is not a value: `REQUIRED` or `AUTO`."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED = _Marker("REQUIRED")
"""Default of a parameter that must be given."""
AUTO = _Marker("AUTO")
"""Default of a parameter the rule works out when it is not given."""


# PrimOut and Call are plain classes with slots, not dataclasses: one of
# each is made per primitive call, and a dataclass costs import time.


class PrimOut:
    """What a primitive does to its input.

    shape: the output shape; ctor: the torch.nn constructor; n_params: the
        parameter count; apply: how forward applies the module (see `Layer`).
    keep: per axis, a condition to AND into "this axis keeps its size for
        every input size" (axes not named keep theirs).
    stride: per axis, a factor to multiply into the total stride (None: the
        axis does not change by a whole stride).
    checks: what the arguments and the input must satisfy.
    """

    __slots__ = ("shape", "ctor", "n_params", "apply", "keep", "stride", "checks")

    def __init__(
        self,
        shape: Shape,
        ctor: Ctor,
        n_params: Expr = sy.ZERO,
        apply: str = "call",
        keep: dict[int, Expr] | None = None,
        stride: dict[int, Expr | None] | None = None,
        checks: list[Check] | None = None,
    ):
        self.shape = shape
        self.ctor = ctor
        self.n_params = n_params
        self.apply = apply
        self.keep: dict[int, Expr] = {} if keep is None else keep
        self.stride: dict[int, Expr | None] = {} if stride is None else stride
        self.checks: list[Check] = [] if checks is None else checks


class Call:
    """A primitive call being analysed: its name, bound arguments (by
    parameter name, defaults filled in), input shape, and where the call
    and each given argument are."""

    __slots__ = ("name", "args", "shape", "span", "arg_spans")

    def __init__(self, name: str, args: dict[str, Value | _Marker], shape: Shape, span: Span, arg_spans: dict[str, Span]):
        self.name = name
        self.args = args
        self.shape = shape
        self.span = span
        self.arg_spans = arg_spans

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
        # reported where the caller gives the value (calls.py's `check_arguments`).
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
    "upscale_factor num_embeddings embedding_dim output_size dim dims scale_factor hidden_size num_layers "
    "window_size shift_size num_heads".split()
)
POSITIVE_PARAMS = frozenset(
    "out_channels kernel_size stride dilation groups out_features num_groups upscale_factor "
    "num_embeddings embedding_dim output_size scale_factor hidden_size num_layers window_size num_heads".split()
)
BOOL_PARAMS = frozenset("bias affine elementwise_affine align_corners bidirectional ceil_mode".split())
FLOAT_PARAMS = frozenset("eps momentum p negative_slope dropout attention_dropout".split())
STR_PARAMS = frozenset({"mode", "output", "approximate"})


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
    "attention_dropout": _PROBABILITY,
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


def show_shape(shape: Shape) -> str:
    """A shape as the language writes it: `[3, H, W]`."""
    return "[" + ", ".join(str(d) for d in shape) + "]"
