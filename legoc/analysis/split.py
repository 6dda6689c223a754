"""Splitting a tensor into named parts along channels, in a dataflow body:

    (x1, x2) = x -> chunk 2              # x.chunk(2, dim=1): equal parts
    (a, b) = x -> conv 64 -> split (16, 48)   # torch.split(..., [16, 48], dim=1)
    (q, k, v) = qkv -> unbind 0          # q, k, v = qkv.unbind(1): one per position

`chunk n`, `split (s1, s2, ...)` and `unbind axis` are the last stage of a pipeline whose
result is a tuple of names, one per part. This module reads that stage:
its arguments (LG421), the number of names (LG216) and whether the
channels divide as it says (LG317, a check that travels to the callers
where the channels are symbolic); for `unbind`, its axis (LG425) and
whether the axis has one position per name (LG219). dataflow.py binds the parts.
"""

from __future__ import annotations

from ..core.diagnostics import SpecError, error
from ..ir import symbolic as sy
from ..ir.nodes import Check, Shape
from ..ir.symbolic import Expr
from ..syntax import tree as s
from .arguments import number
from .flow import Scope
from .signature import show_shape, show_value

SPLITS = ("chunk", "split", "unbind")
"""The stages that split a tensor into named parts."""


def is_split(stage, scope: Scope, defs) -> bool:
    """Whether a pipeline's stage is `chunk`, `split` or `unbind` (not a block or a
    layer-valued parameter of that name)."""
    return isinstance(stage, s.Call) and stage.name in SPLITS and stage.name not in defs and stage.name not in scope.env


def misplaced(stage: s.Call) -> SpecError:
    """LG420: `chunk`/`split`/`unbind` anywhere but at the end of a pipeline
    whose result is a tuple of names."""
    example = {"chunk": "chunk 2", "split": "split (16, 48)", "unbind": "unbind 0"}[stage.name]
    return error(
        "LG420", stage.name_span,
        f"`{stage.name}` splits a tensor into named parts, so it ends a pipeline whose result is a tuple of names: `(a, b) = x -> {example}`",
    )


def no_split(pipeline: s.Pipeline, parts: tuple[s.Name, ...]) -> SpecError:
    """LG420: a tuple of names whose pipeline does not end with a split."""
    names = ", ".join(p.id for p in parts)
    return error(
        "LG420", pipeline.span,
        f"`({names}) = ...` names the parts of a split: end the pipeline with `chunk {len(parts)}` (equal parts) or `split (...)` ({len(parts)} sizes)",
        hint="or with `unbind axis`: one part per position of an axis of that size",
    )


def split_shapes(stage: s.Call, shape: Shape, parts: tuple[s.Name, ...], scope: Scope, defs) -> tuple[tuple[Expr, ...], tuple[Shape, ...], Check]:
    """The parts of `shape` (without the batch axis; channels first) that
    `stage` (`chunk n` or `split (s1, ...)`) makes. Returns the sizes of a
    `split` (empty for `chunk`), each part's shape, and the check that the
    channels divide as the stage says (decided later: it may be symbolic).

    Raises:
        SpecError: LG421 for a bad argument, LG216 where the number of
        parts is not the number of names, LG302 for a tensor without axes.
    """
    if stage.keywords:
        raise error("LG421", stage.keywords[0].span, f"`{stage.name}` takes no keyword arguments; it splits along channels")
    if len(stage.args) != 1:
        usage = "`chunk n`, the number of equal parts" if stage.name == "chunk" else "`split (s1, s2, ...)`, the channels of each part"
        raise error("LG421", stage.span, f"`{stage.name}` takes one argument: {usage}")
    (arg,) = stage.args
    if not shape:
        raise error("LG302", stage.span, f"`{stage.name}` splits along channels, but the tensor has no axes: {show_shape(shape)}")
    channels = shape[0]
    if stage.name == "chunk":
        if isinstance(arg, s.Tuple):
            raise error("LG421", arg.span, "`chunk` takes the number of equal parts; give each part's channels with `split (...)`")
        count = _positive(arg, scope, defs, "`chunk`'s number of parts")
        if not isinstance(sy.value_of(count), int):
            raise error("LG421", arg.span, "`chunk`'s number of parts must be known when the spec is compiled: a number, not a symbolic size")
        n = sy.value_of(count)
        _count(stage, n, parts)
        part = sy.floordiv(channels, count)
        cond = sy.eq(sy.mod(channels, count), sy.ZERO)
        message = (f"`chunk {n}` splits the channels into {n} equal parts, but ", channels, f" channels do not divide by {n}: ", shape)
        return (), tuple((part, *shape[1:]) for _ in parts), Check(cond, stage.span, message, code="LG317")
    items = arg.items if isinstance(arg, s.Tuple) else (arg,)
    sizes = tuple(_positive(item, scope, defs, "a part's channels") for item in items)
    _count(stage, len(sizes), parts)
    total: Expr = sy.ZERO
    for size in sizes:
        total = sy.add(total, size)
    message = ("`split` makes parts of ", total, " channels in all, but the tensor has ", channels, ": ", shape)
    return sizes, tuple((size, *shape[1:]) for size in sizes), Check(sy.eq(total, channels), stage.span, message, code="LG317")


def unbind_shapes(stage: s.Call, shape: Shape, parts: tuple[s.Name, ...], scope: Scope, defs) -> tuple[int, tuple[Shape, ...], Check]:
    """The parts of `shape` (without the batch axis) that `unbind axis`
    makes: the axis (a non-batch axis from 0, 0 when left out), each part's
    shape (the tensor's without that axis) and the check that the axis has
    one position per name (LG219, decided later where it is symbolic).

    Raises:
        SpecError: LG425 for a bad axis or argument.
    """
    usage = "write `unbind` or `unbind axis`: the axis after the batch, from 0"
    if stage.keywords or len(stage.args) > 1:
        where = stage.keywords[0].span if stage.keywords else stage.args[1].span
        raise error("LG425", where, "`unbind` takes one argument, the axis it splits into its positions", hint=usage)
    if not shape:
        raise error("LG425", stage.span, f"`unbind` splits an axis, but the tensor has none besides the batch: {show_shape(shape)}", hint=usage)
    axis = 0
    if stage.args:
        expr = number(stage.args[0], scope, defs)
        value = sy.value_of(expr)
        if isinstance(value, bool) or not isinstance(value, int):
            shown = show_value(value) if sy.is_const(expr) else sy.to_text(expr)
            raise error("LG425", stage.args[0].span, f"`unbind`'s axis must be an integer known when the spec is compiled, not {shown}", hint=usage)
        if not -len(shape) <= value < len(shape):
            raise error(
                "LG425", stage.args[0].span,
                f"`unbind {value}` splits axis {value}, but the tensor {show_shape(shape)} has axes 0 to {len(shape) - 1} (the batch axis is not counted)", hint=usage,
            )
        axis = value % len(shape)
    names = ", ".join(p.id for p in parts)
    message = (f"`unbind {axis}` makes one part per position of axis {axis}, of size ", shape[axis], f", but {len(parts)} names receive them, ({names}), from the tensor ", shape)
    check = Check(sy.eq(shape[axis], sy.const(len(parts))), stage.span, message, hint=f"name one tensor per position, or unbind an axis of size {len(parts)}", code="LG219")
    part = shape[:axis] + shape[axis + 1:]
    return axis, tuple(part for _ in parts), check


def _positive(expr: s.ExprNode, scope: Scope, defs, what: str) -> Expr:
    value = number(expr, scope, defs)
    known = sy.value_of(value)
    if isinstance(known, (bool, str, float)) or isinstance(known, int) and known < 1:
        raise error("LG421", expr.span, f"{what} must be a positive integer, not {show_value(known)}")
    return value


def _count(stage: s.Call, n: int, parts: tuple[s.Name, ...]) -> None:
    if n != len(parts):
        names = ", ".join(p.id for p in parts)
        raise error(
            "LG216", stage.span,
            f"`{stage.name}` makes {n} part{'s' if n != 1 else ''}, but {len(parts)} names receive them: ({names})",
            hint=f"name one tensor per part, or make {len(parts)} parts",
        )
