"""Construction-time conditionals: structure decided by a block's parameters.

    if expand_ratio != 1: conv_bn_act hidden kernel_size=1
    res add < ... > shortcut none

`if TEST: layer` builds the layer only where TEST (comparisons, `and`,
`or`, `not` over parameters and channel sizes) holds; elsewhere the input
passes unchanged. The shape after it is the layer's shape under the
condition and the input's otherwise (`sy.cond` per axis): both cases are
analysed, and their checks hold only in their case.

`res add < ... > shortcut none` adds the skip only where the body keeps the
shape (torchvision's `use_res_connect`), decided once in `__init__`.

Both conditions are over constructor arguments: a condition on a size known
only at run time (H, a sequence length) is LG311.
"""

from __future__ import annotations

from dataclasses import replace

from ..core.diagnostics import Span, error
from ..ir import symbolic as sy
from ..ir.nodes import Conditional, Layer, Repeat, Sequential
from ..ir.symbolic import Expr
from ..syntax import tree as s
from .arguments import argument_check, condition, number
from .flow import Body, Failed, Flow, Scope
from .signature import show_shape, show_value


def run_time_sizes(cond: Expr) -> list[str]:
    """The sizes in `cond` known only at run time (spatial sizes, sequence
    lengths, a model's symbolic input sizes): a constructor cannot decide it."""
    stray = []
    for sym in sy.free_symbols(cond):
        key = sym.key
        if key.startswith("dim:") or key.startswith("in:") and not sym.code.endswith(("channels", "features")):
            stray.append(sym.label)
    return sorted(stray, key=str)


def require_construction_time(cond: Expr, span: Span, what: str) -> None:
    """LG311 where `cond` needs a size known only at run time."""
    stray = run_time_sizes(cond)
    if stray:
        raise error(
            "LG311", span,
            f"{what} depends on the input's size {', '.join(stray)}, known only when forward runs; "
            "the structure of a module is decided when it is built",
            hint="decide it with the block's parameters or its input's channels",
        )


def absorb(cond: Expr) -> Expr:
    """`cond` without the conjuncts another conjunct implies: `(a if c else
    True) and a` is `a` (a skip condition over an optional layer reads so)."""
    if not (isinstance(cond, sy.Op) and cond.name == "and"):
        return cond
    parts = cond.args

    def implied(p: Expr) -> bool:
        if not (isinstance(p, sy.Op) and p.name == "cond"):
            return False
        _, a, b = p.args
        return all(x == sy.TRUE or x in parts or x == cond for x in (a, b))

    return sy.both(*(p for p in parts if not implied(p)))


def conditional(statements, stmt: s.Conditional, flow: Flow, scope: Scope, body: Body) -> Flow:
    """`if TEST: layer` in a sequential body (`statements` is the
    `Statements` analysing it): the flow after it, under the condition.

    Raises:
        SpecError: LG311 a test over run-time sizes, LG312 a layer that
            changes the rank (the two cases cannot be one tensor), LG404 a
            layer that has no module of its own to leave out (a residual,
            parallel branches, a rearrange), and the layer's own errors.
    """
    cond = condition(stmt.test, scope, statements.state.defs)
    require_construction_time(cond, stmt.test.span, "this condition")
    if sy.type_of(cond) is None:  # a parameter used as the test: true or false, checked with the value passed
        body.checks.append(argument_check(sy.is_type("bool", cond), ("an `if` needs true or false, not ", cond), stmt.test.span, cond))
    inner = Body.empty()
    out = statements.statement(stmt.layer, flow, scope, inner)
    if inner.failed:
        raise Failed()
    for node in inner.nodes:
        if not (isinstance(node, (Sequential, Repeat)) or isinstance(node, Layer) and node.apply == "call"):
            raise error(
                "LG404", node.span,
                "`if` leaves out whole modules: a layer, a block, a named group or a repeat; put this in a block and make the block's call conditional",
            )
    if cond == sy.FALSE:
        return flow
    if cond == sy.TRUE:
        body.nodes += inner.nodes
        body.n_params = sy.add(body.n_params, inner.n_params)
        body.checks += inner.checks
        return out
    if len(out.shape) != len(flow.shape):
        raise error(
            "LG312", stmt.span,
            f"the layer under `if` changes the rank from {show_shape(flow.shape)} to {show_shape(out.shape)}, "
            "so the tensor after it has no one rank",
            hint="an optional layer must keep the rank of its input",
        )
    shape = tuple(sy.cond(cond, a, b) for a, b in zip(out.shape, flow.shape))
    # An axis no layer has touched (None) is kept in that case: a layer that
    # resizes an axis without saying how leaves BY_SIZE (flow.py).
    keep = tuple(
        None if a is None and b is None else sy.cond(cond, sy.TRUE if a is None else a, sy.TRUE if b is None else b)
        for a, b in zip(out.keep, flow.keep)
    )
    stride = tuple(None if a is None or b is None else sy.cond(cond, a, b) for a, b in zip(out.stride, flow.stride))
    body.nodes.append(Conditional(cond, tuple(inner.nodes), shape, stmt.span))
    body.n_params = sy.add(body.n_params, sy.cond(cond, inner.n_params, sy.ZERO))
    body.checks += [replace(c, cond=sy.either(sy.negate(cond), c.cond)) for c in inner.checks]
    return Flow(shape, keep, stride, flow.origin)
