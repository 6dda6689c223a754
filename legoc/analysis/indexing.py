"""Indexing a tensor in a pipeline: one position, or a slice, of an axis.

    cls = x -> select 0                  # x[:, 0]: [T, D] -> [D]
    tokens = x -> slice 1                # x[:, 1:]: [T + 1, D] -> [T, D]
    y = x -> slice 2 10 step=2 dim=1     # x[:, :, 2:10:2]

The axis is a non-batch axis counted from 0 (`dim=`, 0 by default; a
negative one counts from the last). A constant index may be negative and
counts from the axis's end, as in Python; a symbolic one (a block's
parameter) counts from the start. Unlike Python, an index outside the axis
is an error (LG320), decided where the sizes are known. Both make a
`Method` node with one op: ("select", (axis, index)) or ("slice", (axis,
start, end, step)), None where the spec leaves a bound out; codegen writes
it as Python's indexing.
"""

from __future__ import annotations

from ..core.diagnostics import error
from ..ir import symbolic as sy
from ..ir.nodes import Check, Method, Shape
from ..ir.symbolic import Expr
from ..syntax import tree as s
from .arguments import number
from .flow import Flow, Scope
from .signature import show_shape, show_value

INDEXING = ("select", "slice")
"""The stages that index a tensor (a primitive-like call with no module)."""

_USAGE = {"select": "`select i [dim=d]`", "slice": "`slice start [end] [step=k] [dim=d]`"}
_SLICE_HINT = "a slice takes positions start up to end - 1 (from 0, or from the end when negative); leave the end out to slice to the axis's end"
_HINT = "an index counts from 0 along the axis, or from its end when negative (-1 is the last)"


def index(stmt: s.Call, flow: Flow, scope: Scope, defs):
    """`select i` or `slice start [end]` on the tensor of `flow`: (node,
    parameter count 0, checks, flow after).

    Raises:
        SpecError: LG425 for a bad argument (not an integer, a step below
        1, an axis the tensor does not have); LG320 for an index outside a
        constant axis (a symbolic one becomes a check).
    """
    name, shape = stmt.name, flow.shape
    keywords = {kw.name: kw for kw in stmt.keywords}
    allowed = ("dim",) if name == "select" else ("dim", "step")
    for kw in stmt.keywords:
        if kw.name not in allowed:
            raise error("LG425", kw.span, f"`{name}` has no keyword `{kw.name}`", hint=f"write {_USAGE[name]}")
    want = (1, 1) if name == "select" else (1, 2)
    if not want[0] <= len(stmt.args) <= want[1]:
        raise error(
            "LG425", stmt.span, f"`{name}` takes {'an index' if name == 'select' else 'a start and an optional end'}",
            hint=f"write {_USAGE[name]}; a negative end goes in parentheses, `slice 1 (-1)`",
        )
    axis = 0
    if "dim" in keywords:
        axis = _constant(keywords["dim"].value, scope, defs, "`dim`")
    if not shape:
        raise error(
            "LG425", stmt.span, f"`{name}` indexes an axis, but the tensor has none besides the batch: {show_shape(shape)}",
            hint="index the tensor before it is reduced to the batch axis",
        )
    if not -len(shape) <= axis < len(shape):
        where = keywords["dim"].span if "dim" in keywords else stmt.span
        raise error(
            "LG425", where, f"`{name}` indexes axis {axis}, but the tensor {show_shape(shape)} has axes 0 to {len(shape) - 1} (the batch axis is not counted)",
            hint="`dim=` counts the axes after the batch from 0",
        )
    axis %= len(shape)
    size = shape[axis]
    indices = [_integer(arg, scope, defs, name) for arg in stmt.args]
    checks: list[Check] = []
    if name == "select":
        (written,) = indices
        at = _position(written, size)
        inside = sy.both(sy.compare(">=", at, sy.ZERO), sy.compare("<", at, size))
        checks.append(_check(inside, stmt.args[0], (f"`select {_show(written)}` picks a position of axis {axis}, of size ", size, ", outside it: ", shape)))
        out = shape[:axis] + shape[axis + 1:]
        node = Method((("select", (axis, written)),), out, stmt.span)
        return node, sy.ZERO, checks, flow.rearranged(out)
    step = None
    if "step" in keywords:
        step = _integer(keywords["step"].value, scope, defs, name)
        known = sy.value_of(step)
        if not isinstance(known, int) or known < 1:
            raise error(
                "LG425", keywords["step"].span, f"`slice`'s step must be a positive integer known when the spec is compiled, not {_show(step)}",
                hint="`step=2` takes every other position; a slice runs forwards only",
            )
    start_written = indices[0]
    end_written = indices[1] if len(indices) > 1 else None
    start = _position(start_written, size)
    end = size if end_written is None else _position(end_written, size)
    inside = sy.both(sy.compare(">=", start, sy.ZERO), sy.compare("<=", start, end), sy.compare("<=", end, size))
    bounds = f"{_show(start_written)}{'' if end_written is None else ' ' + _show(end_written)}"
    checks.append(_check(inside, stmt, hint=_SLICE_HINT, message=(f"`slice {bounds}` runs from position ", start, " up to ", end, f" of axis {axis}, of size ", size, ", which is not a range inside it: ", shape)))
    length = sy.sub(end, start)
    if step is not None and sy.value_of(step) != 1:
        length = sy.floordiv(sy.add(length, sy.sub(step, sy.ONE)), step)
    out = shape[:axis] + (length,) + shape[axis + 1:]
    node = Method((("slice", (axis, start_written, end_written, step)),), out, stmt.span)
    return node, sy.ZERO, checks, flow.rearranged(out)


def _position(written: Expr, size: Expr) -> Expr:
    """Where a written index points: a negative constant counts from the end."""
    known = sy.value_of(written)
    return sy.add(size, written) if isinstance(known, int) and known < 0 else written


def _check(cond: Expr, at, message: tuple, hint: str = _HINT) -> Check:
    return Check(cond, at.span, message, hint=hint, code="LG320")


def _show(e: Expr) -> str:
    known = sy.value_of(e)
    return str(known) if isinstance(known, int) else sy.to_text(e)


def _integer(expr: s.ExprNode, scope: Scope, defs, name: str) -> Expr:
    value = number(expr, scope, defs)
    known = sy.value_of(value)
    if isinstance(known, (bool, str, float)):
        raise error("LG425", expr.span, f"`{name}` takes integer indices, not {show_value(known)}", hint=f"write {_USAGE[name]}")
    return value


def _constant(expr: s.ExprNode, scope: Scope, defs, what: str) -> int:
    value = number(expr, scope, defs)
    known = sy.value_of(value)
    if isinstance(known, bool) or not isinstance(known, int):
        shown = show_value(known) if sy.is_const(value) else sy.to_text(value)
        raise error("LG425", expr.span, f"{what} must be an integer known when the spec is compiled, not {shown}", hint="`dim=1` is the second axis after the batch")
    return known

