"""Layer calls: a primitive, a rearrange/reduce pattern, a layer-valued parameter, or a block.

    conv 64 kernel_size=3       a primitive: its shape rule (shape_rules.py)
    rearrange "c h w -> h w c"  a pattern (patterns.py)
    act                         a layer-valued parameter
    bottleneck c stride=2       a block: its ClassIR, with this call's values

`Calls.call` dispatches on what the name means. A block call analyses the
block first (once, through the callback it is given: definitions.py), then
substitutes the call's arguments and input sizes into the block's sizes and
checks. The checks of primitive arguments (type and range) move up through
block calls to where each value is written (`check_arguments`).

Each analysis returns (node, parameter count, checks, flow after).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..ir import symbolic as sy
from ..syntax import tree as s
from ..core.diagnostics import Diagnostic, Note, Span, SpecError, did_you_mean_fix, error
from ..core.naming import layer_hint
from ..ir.nodes import Check, ClassIR, Ctor, Layer, LayerRef, Method, Shape, Sizes
from ..ir.symbolic import Expr
from .arguments import TUPLE_KEYS, TUPLE_ONLY, argument_check, bind, evaluate, number
from .flow import Failed, Flow, Scope
from .indexing import INDEXING, index
from .primitives import PRIMITIVES, Primitive
from .signature import REQUIRED, Call, PrimOut, argument_checks, show_message, show_shape, show_value, type_error
from .split import SPLITS, misplaced
from .state import State


class Calls:
    """Analyses layer calls for the definitions of one program.

    analyse_block(name, input ranks, span) -> ClassIR: analyses a block
    for inputs of those ranks (memoised; definitions.py's `block`).
    """

    __slots__ = ("state", "analyse_block", "divisions")

    def __init__(self, state: State, analyse_block: Callable[[str, tuple[int, ...], Span], ClassIR]):
        self.state = state
        self.analyse_block = analyse_block
        self.divisions: dict[int, bool] = {}  # id of an argument check -> whether its value divides

    def call(self, stmt: s.Call, flow: Flow, scope: Scope, fill: dict[str, Expr] | None = None):
        """Analyse one layer call: (node, parameter count, checks, flow after).
        `fill` gives values for parameters the call leaves out (a shortcut)."""
        name = stmt.name
        bound = scope.env.get(name)
        if isinstance(bound, LayerRef):
            if stmt.args or stmt.keywords:
                raise error("LG402", stmt.span, f"`{name}` is a layer-valued parameter and takes no arguments")
            node = Layer(name, Ctor("param", bound.code), flow.shape, stmt.span)
            return node, sy.ZERO, [], flow
        if name in self.state.broken:
            raise Failed()  # its syntax errors are reported
        if name in ("rearrange", "reduce") and name not in self.state.defs:
            return self.pattern(stmt, flow, scope)
        if name in INDEXING and name not in self.state.defs:
            return index(stmt, flow, scope, self.state.defs)
        if name == "roll" and name not in self.state.defs:
            from .roll import roll  # here: only a spec that rolls needs it

            return roll(stmt, flow, scope, self.state.defs)
        prim = PRIMITIVES.get(name)
        if prim is not None:
            return self.primitive(stmt, prim, flow, scope, fill)
        d = self.state.defs.get(name)
        if d is None:
            raise self.unknown_layer(stmt, scope)
        if d.kind == "model":
            raise error("LG201", stmt.name_span, f"`{name}` is a model; only blocks and primitives can be used as layers")
        if d.inputs is not None and len(d.inputs) != 1:
            raise error("LG402", stmt.name_span, f"block `{name}` takes {len(d.inputs)} inputs; give it a tuple: `(a, b) -> {name} ...`")
        return self.block_call(stmt, [flow.shape], scope, fill, flow)

    def primitive(self, stmt: s.Call, prim: Primitive, flow: Flow, scope: Scope, fill: dict[str, Expr] | None):
        """A primitive's call: its arguments' types and ranges, then its shape rule."""
        name = stmt.name
        args, spans, _ = bind(name, prim.params, stmt, scope, fill or {}, self.state.defs)
        for key, value in list(args.items()):
            if isinstance(value, LayerRef):
                raise error("LG401", spans.get(key, stmt.span), f"`{key}` of `{name}` must be a number, not the layer `{value.name}`")
            if isinstance(value, Sizes) and key not in TUPLE_KEYS.get(name, ()):
                raise error("LG401", spans.get(key, stmt.span), TUPLE_ONLY)
            for item in value.items if isinstance(value, Sizes) else (value,):
                problem = type_error(key, item) if isinstance(item, Expr) else None
                if problem:
                    raise error("LG401", spans.get(key, stmt.span), problem)
        arg_checks = [
            argument_check(cond, message, spans.get(key, stmt.span), value)
            for key, given in args.items()
            for value in (given.items if isinstance(given, Sizes) else (given,))
            if isinstance(value, Expr) and not sy.is_const(value)
            for cond, message in argument_checks(key, value)
            if cond != sy.TRUE
        ]
        try:
            out: PrimOut = prim.rule(Call(name, args, flow.shape, stmt.span, spans))
        except SpecError as exc:
            came = _came_from(flow)
            raise SpecError([replace(d, notes=d.notes + came) for d in exc.diagnostics]) from None
        node = Layer(name, out.ctor, out.shape, stmt.span, out.apply)
        # Checks that already hold are left out here: `settle` would drop
        # them anyway (and `either`, which callers wrap conditions in,
        # keeps them TRUE), so they could never be reported.
        checks = [c for c in out.checks if c.cond != sy.TRUE]
        came = _came_from(flow) if any(c.severity == "error" for c in checks) else ()
        if came:
            checks = [replace(c, notes=c.notes + came) if c.severity == "error" else c for c in checks]
        return node, out.n_params, arg_checks + checks, flow.then(out.shape, out.keep, out.stride)

    def pattern(self, stmt: s.Call, flow: Flow, scope: Scope):
        """`rearrange "PATTERN" axis=size ...` or `reduce "PATTERN" mean ...`."""
        name = stmt.name
        usage = f'`{name} "a b -> b a"`' if name == "rearrange" else '`reduce "n d -> d" mean`'
        want = 1 if name == "rearrange" else 2
        if not stmt.args or not (isinstance(stmt.args[0], s.Literal) and isinstance(stmt.args[0].value, str)):
            raise error("LG402", stmt.args[0].span if stmt.args else stmt.name_span, f"`{name}` takes a pattern string first: {usage}")
        if len(stmt.args) != want:
            where = stmt.args[want].span if len(stmt.args) > want else stmt.span
            raise error("LG402", where, f"`{name}` takes {'a pattern' if want == 1 else 'a pattern and a reduction'}, then axis sizes: {usage}")
        from .patterns import REDUCTIONS, compile_pattern  # here: only rearrange and reduce need it

        reduction = None
        if name == "reduce":
            how = stmt.args[1]
            if not (isinstance(how, s.Name) and how.id in REDUCTIONS):
                raise error("LG401", how.span, f"the reduction is one of {', '.join(REDUCTIONS)}")
            reduction = how.id
        sizes = {}
        size_checks = []
        for kw in stmt.keywords:
            size = number(kw.value, scope, self.state.defs)
            problem = type_error("kernel_size", size)
            if problem:
                raise error("LG401", kw.span, f"the size of axis `{kw.name}` must be a positive integer, not {show_value(sy.value_of(size)) if sy.is_const(size) else size}")
            sizes[kw.name] = (size, kw.span)
            if not sy.is_const(size):  # a size is what `kernel_size` is: a positive integer
                message = (f"the size of axis `{kw.name}` must be a positive integer, not ", size)
                size_checks += [argument_check(cond, message, kw.span, size) for cond, _ in argument_checks("kernel_size", size)]
        pattern = stmt.args[0]
        recipe = compile_pattern(pattern.value, pattern.span, sizes, flow.shape, reduction)  # type: ignore[arg-type]
        node = Method(recipe.ops, recipe.shape, stmt.span)
        after = flow if not recipe.ops else flow.rearranged(recipe.shape)
        return node, sy.ZERO, size_checks + list(recipe.checks), after

    def unknown_layer(self, stmt: s.Call, scope: Scope) -> SpecError:
        """The error (LG201) for a call of a name that is no layer here
        (LG420 for `chunk` or `split`, which end a pipeline into parts)."""
        if stmt.name in SPLITS:
            return misplaced(stmt)
        if stmt.name in ("einsum", "matmul"):  # products.py: joins of a tuple
            example = '(f, f) -> einsum "c h w, d h w -> c d"' if stmt.name == "einsum" else "(a, b) -> matmul"
            return error("LG424", stmt.name_span, f"`{stmt.name}` multiplies the tensors of a tuple, as the first stage after it", hint=f"write `y = {example}`")
        if stmt.name == "arange":  # positions.py: the first stage of a pipeline
            return error("LG427", stmt.name_span, "`arange` counts the positions of a named tensor, as the first stage of its pipeline", hint="write `pos = idx -> arange`")
        if stmt.name == "attention":  # products.py: a join of (q, k, v)
            return error("LG426", stmt.name_span, "`attention` joins a tuple (q, k, v) or (q, k, v, mask), as the first stage after it", hint="write `y = (q, k, v) -> attention`")
        known = sorted(set(PRIMITIVES) | {"rearrange", "reduce", "roll", *INDEXING} | {n for n, d in self.state.defs.items() if d.kind == "block"} | {
            n for n, v in scope.env.items() if isinstance(v, LayerRef)
        })
        hint = layer_hint(stmt.name, known)
        return error("LG201", stmt.name_span, f"unknown layer `{stmt.name}`", hint=hint, fix=did_you_mean_fix(stmt.name_span, hint))

    # ------------------------------------------------------------ block calls

    def block_call(self, stmt: s.Call, shapes: list[Shape], scope: Scope, fill, flow: Flow | None = None, several: bool = False):
        """A call of block `stmt.name` on input tensors of the given shapes:
        the block is analysed for their ranks (memoised), then the call's
        arguments and the shapes are substituted into its sizes and checks.
        With `flow` (a call in a sequence), the flow after it; else a flow
        that starts at its output (the first, for several).

        A block that returns several tensors is allowed only with `several`
        (the last stage of `(a, b) = x -> ...`), where its node's `results`
        holds their shapes; elsewhere it is LG435."""
        callee = self.analyse_block(stmt.name, tuple(len(x) for x in shapes), stmt.span)
        if len(callee.outputs) > 1 and not several:
            names = [p.name for p in callee.outputs]
            example = names if len(set(names)) == len(names) else [f"y{i}" for i in range(1, len(names) + 1)]  # `return x, x`
            raise error(
                "LG435", stmt.name_span, f"block `{stmt.name}` returns {len(names)} tensors ({', '.join(names)}), but one tensor is expected here",
                hint=f"bind its results by name, with `{stmt.name}` as the last stage of a pipeline: `({', '.join(example)}) = x -> {stmt.name} ...`",
            )
        try:
            return self._block_call(stmt, callee, shapes, scope, fill, flow)
        except ZeroDivisionError as exc:
            raise error("LG406", stmt.span, f"with these arguments, `{stmt.name}` divides by zero ({exc})") from None
        except sy.NotANumber as exc:  # a string or a bool where the block computes with numbers
            raise self._not_a_number(stmt, callee, scope, exc) from None

    def _not_a_number(self, stmt: s.Call, callee: ClassIR, scope: Scope, exc: sy.NotANumber) -> SpecError:
        """The error for a call of a block that computes with a number where
        the call passes a bool or a string: at that argument when the call
        writes it, else at the call."""
        names = [p.name for p in callee.params]
        written = [*zip(names, stmt.args), *((kw.name, kw.value) for kw in stmt.keywords)]
        for param, expr in written:
            try:
                value = evaluate(expr, scope, self.state.defs)
            except SpecError:
                continue
            if value == exc.value:
                return error("LG401", expr.span, f"`{param}` of `{stmt.name}` has the wrong type: {exc}", notes=[Note(f"in this call of `{stmt.name}`", stmt.span)])
        d = self.state.defs.get(stmt.name)
        given = {param for param, _ in written}
        written_defaults = {q.name: q.default for q in (d.params if d is not None else ()) if q.default is not None}
        for p in callee.params:
            if p.name not in given and p.default == exc.value and p.name in written_defaults:
                return error(
                    "LG401", written_defaults[p.name].span, f"the default of `{p.name}` has the wrong type: {exc}",
                    notes=[Note(f"in this call of `{stmt.name}`", stmt.span)],
                )
        return error("LG401", stmt.span, f"an argument of `{stmt.name}` has the wrong type: {exc}")

    def _block_call(self, stmt: s.Call, callee: ClassIR, shapes: list[Shape], scope: Scope, fill, flow: Flow | None = None):
        name = stmt.name
        signature = tuple((p.name, REQUIRED if p.default is None else p.default) for p in callee.params)
        args, spans, given = bind(name, signature, stmt, scope, fill or {}, self.state.defs)
        mapping: dict[str, Expr] = {}
        for p in callee.params:
            value = args[p.name]
            if isinstance(p.default, LayerRef):
                if not isinstance(value, LayerRef):
                    raise error("LG401", spans.get(p.name, stmt.span), f"`{p.name}` of `{name}` is a layer, such as `relu`; got {value}")
            elif isinstance(value, LayerRef):
                raise error("LG401", spans.get(p.name, stmt.span), f"`{p.name}` of `{name}` is a number, not the layer `{value.name}`")
            elif isinstance(value, Sizes):
                raise error("LG401", spans.get(p.name, stmt.span), TUPLE_ONLY)
            else:
                mapping[f"p:{p.name}"] = value
        for index, shape in enumerate(shapes):
            for axis, dim in enumerate(shape):
                mapping[f"in:{index}:{axis}"] = dim
        sub = sy.substituter(mapping)  # one memo for the whole call
        note = Note(f"in this call of `{name}`", stmt.span)
        # Arguments first: a value of the wrong type would otherwise surface
        # as a TypeError of the arithmetic below.
        d = self.state.defs.get(name)
        written = {p.name: p.default.span for p in (d.params if d is not None else ()) if p.default is not None}
        values = {**{p.name: e.span for p, e in zip(callee.params, stmt.args)}, **{kw.name: kw.value.span for kw in stmt.keywords}}
        arg_checks = self.check_arguments(callee.checks, sub, mapping, lambda key: values.get(key[2:]) or written.get(key[2:]), note, stmt.span)
        sizes = tuple(sub(x) for x in callee.size_params)
        positional = tuple(args[key] for key, is_keyword in given if not is_keyword)
        keywords = tuple((key, args[key]) for key, is_keyword in given if is_keyword)
        ctor = Ctor("block", name, sizes + positional, keywords)
        shape = tuple(sub(x) for x in callee.output)
        held = numeric(mapping)
        substituted = (subst_check(c, sub, note, drop_held=held) for c in callee.checks if not c.origin)
        checks = arg_checks + [c for c in substituted if c is not None]
        results = tuple(tuple(sub(x) for x in port.shape) for port in callee.outputs) if len(callee.outputs) > 1 else ()
        node = Layer(name, ctor, shape, stmt.span, results=results)
        if flow is None:
            return node, sub(callee.n_params), checks, Flow.start(shape)
        keep = tuple(None if k is None else sub(k) for k in callee.keep)
        stride = tuple(None if f is None else sub(f) for f in callee.stride)
        return node, sub(callee.n_params), checks, flow.then(shape, keep, stride)

    def _divides(self, c: Check) -> bool:
        """Whether the value an argument check is about has a division or a
        modulo in it (memoised: a block's checks are met at every call)."""
        known = self.divisions.get(id(c))
        if known is None:
            known = self.divisions[id(c)] = any(isinstance(m, Expr) and sy.has_division(m) for m in c.message)
        return known

    def check_arguments(self, checks, sub, mapping: dict[str, Expr], given: Callable[[str], Span | None], note: Note, span: Span) -> list[Check]:
        """The checks of primitive arguments among `checks` (those with an
        `origin`), with a caller's values substituted (`sub`, from `mapping`).
        A check whose value comes from one parameter whose value is written
        somewhere (`given(key)`: the span of that value, the caller's
        argument or the parameter's default, or None) moves to that value,
        with a note at the use; the others get `note`.

        Returns the checks still open. Raises SpecError for those that fail,
        at once: the values they reject are not to be computed with.
        """
        still, failed = [], []
        for c in checks:
            if not c.origin:
                continue
            where = given(c.origin[0]) if len(c.origin) == 1 else None
            try:
                # Most hold with the caller's values: drop those before
                # building anything (unless a division by zero may hide in
                # the value, which a type check does not see).
                if sub(c.cond) == sy.TRUE and not self._divides(c):
                    continue
                moved = subst_check(c, sub)
            except TypeError as exc:  # `2 * b` with `b=true`
                what = f"`{c.origin[0][2:]}`" if len(c.origin) == 1 else "a value"
                raise error("LG401", where or span, f"{what} has the wrong type: {exc}", notes=[Note("it is used here", c.span)]) from None
            origin = tuple(sorted({key for p in c.origin if p in mapping for key in sy.parameters(mapping[p])}))
            if where is not None:
                use = Note(f"the value of `{c.origin[0][2:]}` is used here", c.span)
                moved = replace(moved, span=where, notes=moved.notes + (use,), origin=origin)
            else:
                moved = replace(moved, notes=moved.notes + (note,), origin=origin)
            if any(isinstance(m, Expr) and sy.divides_by_zero(m) for m in moved.message):
                value = next(m for m in moved.message if isinstance(m, Expr))
                diag = Diagnostic("error", moved.span, f"with these values, {value} divides by zero", moved.notes, None, "LG406")
                failed += [diag] if diag not in failed else []
            elif moved.cond == sy.FALSE:
                diag = Diagnostic("error", moved.span, show_message(moved.message), moved.notes, moved.hint, moved.code)
                failed += [diag] if diag not in failed else []
            elif moved.cond != sy.TRUE:
                still.append(moved)
        if failed:
            raise SpecError(failed)
        return still


def _came_from(flow: Flow) -> tuple[Note, ...]:
    """The note for a layer's errors on where its input comes from."""
    return (Note(f"its input {show_shape(flow.shape)} comes from here", flow.origin),) if flow.origin else ()


def subst_check(c: Check, sub: Callable[[Expr], Expr], note: Note | None = None, drop_held: bool = False) -> Check | None:
    """`c` with `sub` (a `sy.substituter`) applied to its condition and message.

    With `drop_held`, None if the condition becomes TRUE: `settle` drops
    such a check anyway (and `either`, which callers wrap conditions in,
    keeps it TRUE), so its message is not worth substituting. Callers pass it
    only for a mapping of numbers (`numeric`), under which substituting a
    message cannot raise the TypeError of a bool or a string in arithmetic.
    Where the condition raises, the message is substituted first, as
    without `drop_held`, so that the same error surfaces."""
    if drop_held:
        try:
            if sub(c.cond) == sy.TRUE:
                return None
        except TypeError:
            pass  # raised again below, after the message's own errors
    message = tuple(sub(m) if isinstance(m, Expr) else tuple(sub(x) for x in m) if isinstance(m, tuple) else m for m in c.message)
    notes = c.notes + ((note,) if note else ())
    return Check(sub(c.cond), c.span, message, notes, c.hint, c.code, c.severity, c.origin)


def numeric(mapping: dict[str, Expr]) -> bool:
    """Whether no value in `mapping` is a bool or a string constant."""
    return not any(isinstance(sy.value_of(v), (bool, str)) for v in mapping.values())
