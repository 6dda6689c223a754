"""The state that shape inference threads through a definition's body."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import symbolic as sy
from ..core.diagnostics import Span
from ..ir.nodes import Check, Node, Shape, Value
from ..ir.symbolic import Expr


@dataclass(frozen=True)
class Flow:
    """The tensor between two statements, and what the statements since the
    start of the enclosing residual body did to each axis (see `ClassIR`)."""

    shape: Shape
    keep: tuple[Expr | None, ...]
    stride: tuple[Expr | None, ...]
    origin: Span | None = None  # the statement that made this tensor, for notes

    @staticmethod
    def start(shape: Shape) -> "Flow":
        return Flow(shape, (None,) * len(shape), (sy.ONE,) * len(shape))

    def then(self, shape: Shape, keep, stride) -> "Flow":
        """The flow after a layer whose effects on each axis are `keep` and
        `stride` (mappings from axis, or tuples over the axes; an axis not
        mapped keeps its size unless its size changes, and is then compared
        by size from here on; a stride of None is not a whole stride)."""
        if len(shape) != len(self.shape):
            return Flow(shape, (sy.FALSE,) * len(shape), (None,) * len(shape))
        if not keep and not stride and shape == self.shape:  # batch norm, an activation: nothing changes
            return Flow(shape, self.keep, self.stride)
        keep = dict(enumerate(keep)) if isinstance(keep, tuple) else keep
        stride = dict(enumerate(stride)) if isinstance(stride, tuple) else stride
        strides = []
        for axis, prev in enumerate(self.stride):
            factor = stride.get(axis, sy.ONE)
            strides.append(None if factor is None or prev is None else sy.mul(prev, factor))
        keeps = []
        for axis, old in enumerate(self.keep):
            new = keep.get(axis)
            if new is None and shape[axis] != self.shape[axis]:
                new = BY_SIZE  # resized by a layer that says nothing (linear): compare sizes
            keeps.append(and_(old, new))
        return Flow(shape, tuple(keeps), tuple(strides))

    def rearranged(self, shape: Shape) -> "Flow":
        """The flow after a rearrange or reduce: an axis whose size it changed
        (or any axis, when it changes the rank) is compared by size from here
        on; no stride is whole any more."""
        if len(shape) != len(self.shape):
            return Flow(shape, (BY_SIZE,) * len(shape), (None,) * len(shape))
        keep = tuple(old if new == prev else BY_SIZE for new, prev, old in zip(shape, self.shape, self.keep))
        return Flow(shape, keep, (None,) * len(shape))


BY_SIZE = sy.Sym("keep:by-size", "by_size", "by_size")
"""In a keep condition, "and the axis has its old size": an axis resized by a
layer that does not say whether it keeps sizes (linear, a recurrent layer, a
rearrange) is compared by size, even where later layers keep it. Without
this, `res add < linear 5; conv 4 >` on [4, 8, 8] passed for an identity
skip, and torch failed adding [4, 8, 5] to [4, 8, 8]. `keeps` puts the
comparison in."""


def keeps(keep: Expr | None, before: Expr, after: Expr) -> Expr:
    """Whether an axis of size `before` at the start of a residual body (or a
    repetition) has it again as `after`, given the axis's keep condition."""
    if keep is None:
        return sy.eq(before, after)
    return sy.substitute(keep, {BY_SIZE.key: sy.eq(before, after)})


class Failed(Exception):
    """A definition this one depends on already failed and was reported."""


@dataclass(frozen=True)
class Scope:
    """What names mean inside one definition. `unusable`: names that are
    not values there but deserve a better diagnostic than "unknown name",
    as (code, message, hint) (a block's `H`: a forward-time size)."""

    definition: str
    env: dict[str, Value]
    unusable: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)


@dataclass
class Body:
    """Accumulates the analysis of a statement sequence. `failed`: one of
    its statements had an error (reported), so `nodes` may lack its layers."""

    nodes: list[Node]
    n_params: Expr
    checks: list[Check]
    failed: bool = False
    ties: list[tuple[str, str]] = field(default_factory=list)  # ties.py: (target path, source path)

    @staticmethod
    def empty() -> "Body":
        return Body([], sy.ZERO, [])


def and_(a: Expr | None, b: Expr | None) -> Expr | None:
    return a if b is None else b if a is None else sy.both(a, b)


def shapes_equal(a: Shape, b: Shape) -> Expr:
    if len(a) != len(b):
        return sy.FALSE
    return sy.both(*(sy.eq(x, y) for x, y in zip(a, b)))


def join_shapes(shapes: list[Shape]) -> list:
    """Message parts naming several shapes: `[..] and [..]`."""
    parts: list = []
    for i, shape in enumerate(shapes):
        if i:
            parts.append(" and ")
        parts.append(shape)
    return parts


def merge_shapes(mode: str, shapes: list[Shape], span) -> tuple[Shape, Check]:
    """The shape of `cat` (along channels) or `add` of tensors, and the check
    that they can be joined."""
    first = shapes[0]
    if mode == "cat":
        agree = sy.both(*(sy.eq(a, b) for other in shapes[1:] for a, b in zip(first[1:], other[1:])))
        message = ("`cat` joins along channels, so the other axes must agree: ", *join_shapes(shapes))
        channels: Expr = sy.ZERO
        for shape in shapes:
            channels = sy.add(channels, shape[0])
        return (channels, *first[1:]), Check(agree, span, message, code="LG301")
    if mode == "add" and len(shapes) == 2 and len(shapes[0]) == len(shapes[1]) and ONE not in (*shapes[0], *shapes[1]):  # the message of before broadcasting
        return first, Check(shapes_equal(first, shapes[1]), span, ("`add` needs tensors of one shape: ", *join_shapes(shapes)), code="LG301")
    shape, agree = broadcast(shapes)
    message = (f"`{mode}` broadcasts tensors whose sizes, aligned from the right, are equal or 1: ", *join_shapes(shapes))
    return shape, Check(agree, span, message, code="LG301")


ONE = sy.ONE


def broadcast(shapes: list[Shape]) -> tuple[Shape, Expr]:
    """PyTorch's broadcasting of `shapes` (without the batch axis), aligned
    from the right: on each axis the sizes must be equal, or 1 (a constant
    1: a symbolic size is not assumed to be 1). Returns the result's shape
    and the condition (over the symbolic sizes) that they broadcast."""
    rank = max(len(shape) for shape in shapes)
    out: list[Expr] = []
    conds: list[Expr] = []
    for axis in range(rank):
        size: Expr | None = None
        for shape in shapes:
            offset = axis - (rank - len(shape))
            if offset < 0:
                continue
            dim = shape[offset]
            if size is None or size == ONE:
                size = dim
            elif dim != ONE:
                conds.append(sy.eq(size, dim))
        out.append(size if size is not None else ONE)
    return tuple(out), sy.both(*conds) if conds else sy.TRUE
