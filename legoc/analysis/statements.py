"""The statements of a sequential body: a layer call, a group, a named layer, a residual, parallel branches, a repeat.

    conv 64                       a layer call (calls.py)
    < conv 64; bn; relu >         a group: its statements in turn
    stem: < conv 64; bn >         a named layer or group (one nn.Sequential)
    res add < ... > shortcut s    a residual, with its shortcut
    res add < ... > shortcut none a residual whose skip exists where the body keeps the shape
    if c: layer                   a layer built only where `c` holds (conditional.py)
    cat | < ... > | < ... > |     parallel branches, joined
    repeat n bottleneck c         a repeat

`Statements.statement` dispatches on the kind of statement; each kind has
its method, named after it. Each adds its IR nodes, parameter count and
checks to the enclosing `Body` and returns the `Flow` after it. `sequence`
analyses a list of statements, recovering after an error (state.py).
"""

from __future__ import annotations

from dataclasses import replace

from ..ir import symbolic as sy
from ..syntax import tree as s
from ..core.diagnostics import Span, SpecError, error
from ..ir.nodes import Check, Conditional, Layer, LayerRef, Method, Parallel, Repeat, Residual, Sequential, Shape
from ..ir.symbolic import Expr
from .arguments import argument_check, number
from .calls import Calls
from .indexed import indexed_repeat, one_repetition
from .conditional import absorb, conditional, require_construction_time
from .flow import Body, Failed, Flow, Scope, and_, keeps, merge_shapes, shapes_equal
from .primitives import PRIMITIVES
from .signature import show_shape, show_value
from .state import State


class Statements:
    """Analyses the statements of the definitions of one program; layer
    calls go to `calls`."""

    __slots__ = ("state", "calls")

    def __init__(self, state: State, calls: Calls):
        self.state = state
        self.calls = calls

    def sequence(self, stmts, flow: Flow, scope: Scope) -> tuple[Body, Flow]:
        """Statements one after another from `flow`: their body and the flow
        after them. After a statement's error (reported), analysis goes on
        with unknown sizes, and the body is marked failed."""
        body = Body.empty()
        for stmt in stmts:
            try:
                after = self.statement(stmt, flow, scope, body)
                # Notes point at the statement that last changed the shape.
                flow = replace(after, origin=stmt.span if after.shape != flow.shape or not flow.origin else flow.origin)
            except (SpecError, Failed) as exc:
                flow = self.state.recover(exc, flow)
                body.failed = True
        return body, flow

    def statement(self, stmt: s.Stmt, flow: Flow, scope: Scope, body: Body) -> Flow:
        """One statement of a sequential body, added to `body`: the flow after it.

        Raises:
            SpecError: the statement's errors (LG404 for one that has no
                place in a sequential body).
            Failed: it uses a definition that already failed.
        """
        if isinstance(stmt, s.Call):
            node, n_params, checks, out = self.calls.call(stmt, flow, scope)
            body.nodes.append(node)
            body.n_params = sy.add(body.n_params, n_params)
            body.checks += checks
            return out
        if isinstance(stmt, s.Group):
            return self.group(stmt, flow, scope, body)
        if isinstance(stmt, s.Named):
            return self.named(stmt, flow, scope, body)
        if isinstance(stmt, s.Residual):
            return self.residual(stmt, flow, scope, body)
        if isinstance(stmt, s.Parallel):
            return self.parallel(stmt, flow, scope, body)
        if isinstance(stmt, s.Repeat):
            return self.repeat(stmt, flow, scope, body)
        if isinstance(stmt, s.Scale):
            return self.scale(stmt, flow, scope, body)
        if isinstance(stmt, s.Conditional):
            return conditional(self, stmt, flow, scope, body)
        if isinstance(stmt, s.Input):
            raise error("LG404", stmt.span, "`input` must be the first line of a model")
        if isinstance(stmt, s.Merge):
            raise error("LG404", stmt.span, f"`{stmt.mode}` alone joins a tuple of tensors: `(a, b) -> {stmt.mode}`")
        raise error("LG404", stmt.span, "named tensors need a model with named inputs (`input x: [...]`) or a block that names its inputs (`block b(c)(x):`)")

    def scale(self, stmt: s.Scale, flow: Flow, scope: Scope, body: Body) -> Flow:
        """`mul 0.5`: the tensor with a constant, elementwise (`x * 0.5`);
        the shape is kept."""
        operand = number(stmt.operand, scope, self.state.defs)
        if isinstance(sy.value_of(operand), (bool, str)):
            raise error("LG401", stmt.operand.span, f"`{stmt.mode}` takes a number, not {show_value(sy.value_of(operand))}")
        body.nodes.append(Method(((stmt.mode, (operand,)),), flow.shape, stmt.span))
        return flow.then(flow.shape, {}, {})

    def group(self, stmt: s.Group, flow: Flow, scope: Scope, body: Body) -> Flow:
        """`< a; b; c >` unnamed: its statements, one after another, into
        the enclosing body."""
        for inner in stmt.body:
            flow = self.statement(inner, flow, scope, body)
        return flow

    def named(self, stmt: s.Named, flow: Flow, scope: Scope, body: Body) -> Flow:
        """`name: layer`: the layer's module becomes the attribute `name`; a
        named group becomes one nn.Sequential."""
        layer = stmt.layer
        if isinstance(layer, s.Group):
            inner = Body.empty()
            for item in layer.body:
                flow = self.statement(item, flow, scope, inner)
            for node in inner.nodes:
                if isinstance(node, Conditional) and all(isinstance(n, Layer) for n in node.body):
                    continue  # its layers are `*([...] if cond else [])` in the nn.Sequential
                if not (isinstance(node, Repeat) and node.each is None or isinstance(node, Layer) and node.apply == "call"):
                    raise error(
                        "LG204",
                        node.span,
                        f"the named group `{stmt.name}` becomes an nn.Sequential, which only runs layers one after another; "
                        "put this in a block and call the block here",
                    )
            body.nodes.append(Sequential(stmt.name, tuple(inner.nodes), flow.shape, stmt.span))
            body.n_params = sy.add(body.n_params, inner.n_params)
            body.checks += inner.checks
            return flow
        before = len(body.nodes)
        flow = self.statement(layer, flow, scope, body)
        (node,) = body.nodes[before:]
        if isinstance(node, Method) and isinstance(layer, s.Scale):
            raise error("LG204", stmt.name_span, f"`{layer.mode}` is written as an operator in forward (`x * 0.5`) and has no module to name")
        if isinstance(node, Method):
            raise error("LG204", stmt.name_span, f"`{layer.name}` is written as tensor methods in forward and has no module to name")  # type: ignore[union-attr]
        body.nodes[before] = replace(node, name=stmt.name)  # type: ignore[type-var]
        return flow

    def residual(self, stmt: s.Residual, flow: Flow, scope: Scope, body: Body) -> Flow:
        """`res add < ... >` or `res cat < ... >`, with an optional shortcut:
        the body's output added to (or joined with) its input, checked to fit."""
        inner, out = self.sequence(stmt.body.body, Flow.start(flow.shape), scope)
        if not inner.nodes:
            if inner.failed:
                raise Failed()  # its error is reported; an empty-body error would only follow from it
            raise error("LG404", stmt.body.span, "a residual body needs at least one layer")
        checks = list(inner.checks)
        n_params = inner.n_params
        projection = None
        if stmt.optional:
            if stmt.mode != "add":
                raise error("LG411", stmt.span, "`shortcut none` leaves out the skip where the body changes the shape, which only `res add` needs",
                            hint="`res cat` always joins its input; drop `shortcut none`")
            skip = absorb(_same_shape(flow.shape, out))
            require_construction_time(skip, stmt.span, "whether the body keeps the shape")
            node = Residual("add", tuple(inner.nodes), None, sy.FALSE, out.shape, stmt.span, skip=skip)
            body.nodes.append(node)
            body.n_params = sy.add(body.n_params, n_params)
            body.checks += checks
            return flow.then(out.shape, out.keep, out.stride)
        if stmt.mode == "add":
            same = _same_shape(flow.shape, out)
            needs = sy.negate(same) if stmt.shortcut else sy.FALSE
            if stmt.shortcut is None:
                hint = "add `shortcut conv1x1_bn` to project the input" if len(flow.shape) >= 2 else "add a `shortcut` layer that maps the input to the body's shape"
                checks.append(Check(same, stmt.span, ("the residual body changes the shape from ", flow.shape, " to ", out.shape, ", so it cannot be added to its input"), (), hint, "LG301"))
        else:
            needs = sy.TRUE if stmt.shortcut else sy.FALSE
            if len(out.shape) != len(flow.shape):
                raise error("LG302", stmt.span, f"`res cat` needs the body to keep the input's rank: {show_shape(flow.shape)} becomes {show_shape(out.shape)}")
            if stmt.shortcut is None:  # else the shortcut's output is checked below
                same_rest = sy.both(*(sy.eq(a, b) for a, b in zip(flow.shape[1:], out.shape[1:])))
                checks.append(Check(same_rest, stmt.span, ("`res cat` joins along channels, so the other axes must agree: input ", flow.shape, ", body ", out.shape), code="LG301"))
        shortcut = stmt.shortcut.layer if isinstance(stmt.shortcut, s.Named) else stmt.shortcut
        if shortcut is not None and needs != sy.FALSE:
            projection, proj_params, proj_checks, proj_flow = self._shortcut(shortcut, flow, out, scope)
            n_params = sy.add(n_params, sy.cond(needs, proj_params, sy.ZERO))
            checks += [replace(c, cond=sy.either(sy.negate(needs), c.cond)) for c in proj_checks]
            target = out.shape if stmt.mode == "add" else (proj_flow.shape[0], *out.shape[1:])
            fits = shapes_equal(proj_flow.shape, target)
            checks.append(
                Check(
                    sy.either(sy.negate(needs), fits),
                    shortcut.span,
                    ("the shortcut gives ", proj_flow.shape, " but the residual body gives ", out.shape),
                    code="LG301",
                )
            )
        result_shape = out.shape
        if stmt.mode == "cat":
            skip = projection and proj_flow.shape[0] or flow.shape[0]
            result_shape = (sy.add(skip, out.shape[0]), *out.shape[1:])
        name = stmt.shortcut.name if isinstance(stmt.shortcut, s.Named) else None
        node = Residual(stmt.mode, tuple(inner.nodes), projection, needs, result_shape, stmt.span, name, shortcut_first=stmt.first)
        body.nodes.append(node)
        body.n_params = sy.add(body.n_params, n_params)
        body.checks += checks
        return flow.then(result_shape, out.keep, out.stride)

    def _shortcut(self, call: s.Call, flow: Flow, out: Flow, scope: Scope):
        """Analyse a residual's shortcut, filling in its first parameter (the
        body's output channels) and `stride` (the body's total stride) when
        the call leaves them out."""
        fill: dict[str, Expr] = {}
        signature = self._signature(call.name, scope)
        if signature and (call.name not in PRIMITIVES or signature[0] in ("out_channels", "out_features")):
            fill[signature[0]] = out.shape[0]
        strides = set(out.stride[1:])
        if "stride" in signature and len(strides) == 1 and None not in strides and strides != {sy.ONE}:
            fill["stride"] = out.stride[1]  # type: ignore[assignment]
        node, n_params, checks, proj_flow = self.calls.call(call, flow, scope, fill)
        if not isinstance(node, Layer) or node.apply != "call":
            raise error("LG402", call.span, f"`{call.name}` cannot be a shortcut; use a layer or a block")
        return node.ctor, n_params, checks, proj_flow

    def _signature(self, name: str, scope: Scope) -> list[str]:
        """The parameter names of the layer `name` (none for a layer-valued
        parameter or an unknown name)."""
        if name in PRIMITIVES:
            return [p for p, _ in PRIMITIVES[name].params]
        d = self.state.defs.get(name)
        if d is not None and not isinstance(scope.env.get(name), LayerRef):
            return [p.name for p in d.params]
        return []

    def parallel(self, stmt: s.Parallel, flow: Flow, scope: Scope, body: Body) -> Flow:
        """Branches that each read the input, joined by `cat` or `add`."""
        branches, outs = [], []
        n_params, checks = sy.ZERO, []
        for branch in stmt.branches:
            inner, out = self.sequence(branch, Flow.start(flow.shape), scope)
            branches.append(tuple(inner.nodes))
            outs.append(out)
            n_params = sy.add(n_params, inner.n_params)
            checks += inner.checks
        first = outs[0]
        for out in outs[1:]:
            if len(out.shape) != len(first.shape):
                raise error("LG302", stmt.span, f"parallel branches must give tensors of one rank: {show_shape(first.shape)} and {show_shape(out.shape)}")
        shape, check = merge_shapes(stmt.mode, [o.shape for o in outs], stmt.span)
        checks.append(check)
        keep = tuple(
            None if all(o.keep[i] is None for o in outs) else sy.both(*(o.keep[i] or sy.TRUE for o in outs))
            for i in range(len(shape))
        )
        body.nodes.append(Parallel(stmt.mode, tuple(branches), shape, stmt.span))
        body.n_params = sy.add(body.n_params, n_params)
        body.checks += checks
        return flow.then(shape, keep, first.stride)

    def repeat(self, stmt: s.Repeat, flow: Flow, scope: Scope, body: Body) -> Flow:
        """`repeat n layer` or `repeat n < ... >`: analysed for two
        repetitions (the first may change the shape, the others must keep
        it), with the count kept symbolic."""
        count = number(stmt.count, scope, self.state.defs)
        if isinstance(sy.value_of(count), (bool, str, float)):  # `repeat "2" relu`: a TypeError below
            raise error("LG401", stmt.count.span, f"the repeat count must be an integer, not {show_value(sy.value_of(count))}")
        if (sy.value_of(count) or 0) > self.state.limits.max_repeat:
            raise error(
                "LG605", stmt.count.span, f"this repeats {sy.value_of(count):,} times, over the limit of {self.state.limits.max_repeat:,}",
                hint="raise `max-repeat` under [tool.legoc.limits]",
            )
        if stmt.index is not None:
            checks = _count_checks(count, stmt.count.span, self.state.limits.max_repeat)
            return indexed_repeat(self.calls, stmt, count, checks, flow, scope, body, self.state.limits.max_repeat)
        item = stmt.body
        calls = item.body if isinstance(item, s.Group) else (item,)
        if not calls or not all(isinstance(c, s.Call) for c in calls):
            raise error("LG404", item.span, "`repeat` takes a layer or a `< ... >` group of layers; define a block for anything else")

        def once(start: Flow):
            return one_repetition(self.calls, calls, start, scope)

        ctor1, outs1, params1, checks1, flow1 = once(Flow.start(flow.shape))
        ctor2, outs2, params2, checks2, flow2 = once(Flow.start(flow1.shape))
        at_least = lambda n: sy.compare(">=", count, n)  # noqa: E731
        checks = _count_checks(count, stmt.count.span, self.state.limits.max_repeat)
        alike = ctor1 == ctor2 and flow1.shape == flow.shape
        checks += [replace(c, cond=sy.either(sy.negate(at_least(1)), c.cond)) for c in checks1]
        if alike:
            n_params = sy.mul(count, params1)
        else:
            # A count of 0 leaves the input as it is, which is right only
            # where one repetition keeps the shape (`conv c kernel_size=k`
            # with an odd `k` on `c` channels): decided with the caller's values.
            checks.append(
                Check(
                    sy.either(sy.negate(at_least(0)), at_least(1), _same_shape(flow.shape, flow1)),  # a negative count: LG401 above
                    stmt.count.span,
                    ("this repeat changes the shape from ", flow.shape, " to ", flow1.shape, ", so it needs a count of at least 1, not ", count),
                    code="LG308",
                )
            )
            checks.append(
                Check(
                    sy.either(sy.negate(at_least(2)), _same_shape(flow1.shape, flow2)),
                    stmt.span,
                    ("a repeated layer must keep its shape from the second repetition on, but it maps ", flow1.shape, " to ", flow2.shape),
                    code="LG308",
                )
            )
            # Right for a count of 0 too: the check above then holds only
            # where the first repetition sees the shape the others see, so
            # it is built as they are and `params1 == params2`.
            n_params = sy.add(params1, sy.mul(sy.sub(count, 1), params2))
            checks += [replace(c, cond=sy.either(sy.negate(at_least(2)), c.cond)) for c in checks2]
        hint = (calls[0].name if len(calls) == 1 else "layer") + "_blocks"
        # Repetitions built alike (the same constructor call, whatever the
        # shapes) have no `rest`: codegen then writes one comprehension.
        rest = None if ctor1 == ctor2 else ctor2
        body.nodes.append(Repeat(hint, count, ctor1, rest, flow1.shape, stmt.span, outs=(outs1, outs2)))
        body.n_params = sy.add(body.n_params, n_params)
        body.checks += checks
        if alike:
            return flow.then(flow1.shape, flow1.keep, flow1.stride)
        return flow.then(flow1.shape, tuple(and_(a, b) for a, b in zip(flow1.keep, flow2.keep)), flow1.stride)


def _same_shape(shape: Shape, out: Flow) -> Expr:
    """Whether `out` has `shape` for every value of the input's sizes: axes a
    layer resized in steps (spatial axes) compare by what those layers do,
    the others (channels, features) by their size."""
    if len(shape) != len(out.shape):
        return sy.FALSE
    return sy.both(*(keeps(k, a, b) for a, b, k in zip(shape, out.shape, out.keep)))


def _count_checks(count: Expr, span: Span, limit: int) -> list[Check]:
    """A repeat count's checks: an integer, not negative, at most `limit`
    (`max-repeat`); argument checks, so that a count passed as a parameter
    is reported at the value passed."""
    typed = sy.is_type("int", count)
    checks = [
        argument_check(typed, ("the repeat count must be an integer, not ", count), span, count),
        argument_check(sy.either(sy.negate(typed), sy.compare(">=", count, sy.ZERO)), ("the repeat count must not be negative, not ", count), span, count),
        replace(
            argument_check(sy.either(sy.negate(typed), sy.compare("<=", count, sy.Const(limit))), ("the repeat count ", count, f" is over the limit of {limit:,}"), span, count),
            code="LG605",
            hint="raise `max-repeat` under [tool.legoc.limits]",
        ),
    ]
    return [c for c in checks if c.cond != sy.TRUE]
