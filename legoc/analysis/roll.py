"""A cyclic shift of a tensor in a pipeline, torch.roll over non-batch axes.

    x = x -> roll (-3, -3) dims=(0, 1)    # torch.roll(x, shifts=(-3, -3), dims=(1, 2))
    y = x -> roll shift dims=1            # torch.roll(x, shifts=self.shift, dims=2)

Each shift moves its axis's elements forwards by that many places, those
pushed off the end coming back at the start (negative: backwards): the
Swin Transformer's shifted windows. `dims=` is required (torch.roll
without it would roll the flattened tensor, across the samples of the
batch) and counts the axes after the batch from 0, as constants; a shift
is an integer expression, which may use the block's parameters (the
generated module keeps them as attributes). The shape is unchanged. It
makes a `Method` node with one op: ("roll", (shifts, dims)), dims counted
with the batch axis; codegen writes it as torch.roll.
"""

from __future__ import annotations

from ..core.diagnostics import error
from ..ir import symbolic as sy
from ..ir.nodes import Method
from ..syntax import tree as s
from .arguments import number
from .flow import Flow, Scope
from .signature import show_shape, show_value

_USAGE = "`roll (-3, -3) dims=(0, 1)`, or `roll shift dims=1` for one axis"


def roll(stmt: s.Call, flow: Flow, scope: Scope, defs):
    """`roll SHIFTS dims=DIMS` on the tensor of `flow`: (node, parameter
    count 0, no checks, flow after: the same shape, every axis compared by
    size from here on, as after a rearrange).

    Raises:
        SpecError: LG432 for a missing or misplaced argument, a shift that
        is not an integer, dims that are not constant axes of the tensor,
        each once, or shifts and dims of different lengths.
    """
    shape = flow.shape
    keywords = {kw.name: kw for kw in stmt.keywords}
    for kw in stmt.keywords:
        if kw.name != "dims":
            raise error("LG432", kw.span, f"`roll` has no keyword `{kw.name}`", hint=f"write {_USAGE}")
    if len(stmt.args) != 1:
        where = stmt.args[1].span if len(stmt.args) > 1 else stmt.span
        raise error("LG432", where, "`roll` takes its shifts, one number or a tuple of them, then `dims=`", hint=f"write {_USAGE}")
    if "dims" not in keywords:
        raise error(
            "LG432", stmt.span, "`roll` needs `dims=`, the axes it shifts",
            hint=f"write {_USAGE}; without dims, torch.roll would shift the flattened tensor, across the batch",
        )
    given, dims_node = stmt.args[0], keywords["dims"].value
    shift_nodes = given.items if isinstance(given, s.Tuple) else (given,)
    dim_nodes = dims_node.items if isinstance(dims_node, s.Tuple) else (dims_node,)
    if len(shift_nodes) != len(dim_nodes):
        raise error(
            "LG432", dims_node.span, f"`roll` has {len(shift_nodes)} shift{'s' if len(shift_nodes) != 1 else ''} but {len(dim_nodes)} dim{'s' if len(dim_nodes) != 1 else ''}",
            hint="give one shift per axis in `dims=`, in the same order",
        )
    shifts = []
    for node in shift_nodes:
        value = number(node, scope, defs)
        known = sy.value_of(value)
        if isinstance(known, (bool, str, float)):
            raise error("LG432", node.span, f"a shift of `roll` is an integer, not {show_value(known)}", hint=f"write {_USAGE}")
        shifts.append(value)
    dims = []
    for node in dim_nodes:
        known = sy.value_of(number(node, scope, defs))
        if isinstance(known, bool) or not isinstance(known, int):
            raise error("LG432", node.span, "`dims` of `roll` are integers known when the spec is compiled", hint="`dims=(0, 1)` are the first two axes after the batch")
        if not -len(shape) <= known < len(shape):
            raise error(
                "LG432", node.span, f"`roll` shifts axis {known}, but the tensor {show_shape(shape)} has axes 0 to {len(shape) - 1} (the batch axis is not counted)",
                hint="`dims=` counts the axes after the batch from 0",
            )
        dim = known % len(shape)
        if dim in dims:
            raise error("LG432", node.span, f"`roll` shifts axis {dim} twice", hint="give each axis once in `dims=`")
        dims.append(dim)
    one = not isinstance(given, s.Tuple)
    op = ("roll", (shifts[0] if one else tuple(shifts), dims[0] + 1 if one else tuple(d + 1 for d in dims)))
    return Method((op,), shape, stmt.span), sy.ZERO, [], flow.rearranged(shape)
