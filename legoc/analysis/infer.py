"""Shape inference: from the syntax tree to the analysed IR.

Each block is analysed once per input rank, with its parameters and input
sizes as symbols, giving a `ClassIR` whose sizes are expressions over its
constructor arguments. A caller uses a block's `ClassIR` as a summary: it
substitutes its own values for the block's symbols. Models are analysed the
same way; their checks are then decided with the parameters' defaults.

Every size check that cannot be decided inside a block travels up, with a
note for each call site, until a caller's values decide it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from collections.abc import Callable

from ..ir import symbolic as sy
from ..syntax import tree as s
from ..core.diagnostics import Diagnostic, Note, Span, SpecError, error
from .constraints import dim_rules
from .flow import Body, Failed, Flow, Scope, and_, keeps, merge_shapes, shapes_equal
from .dataflow import GraphAnalysis
from ..core.limits import DEFAULT, INT64_MAX, Limits
from ..ir.nodes import Bind, Check, ClassIR, Ctor, Layer, LayerRef, Method, ParamIR, Parallel, Port, Repeat, Residual, Sequential, Shape, Value, walk
from ..core.naming import attribute_problem, close_match, layer_hint, local_ident, py_ident
from .primitives import PRIMITIVES, REQUIRED, Call as PrimCall, PrimOut, argument_checks, show_message, show_shape, show_value, type_error
from ..ir.symbolic import Expr, Sym

# Layers that read a rank-2 input as [channels, length] rather than [T, features].
_CHANNELS_FIRST = frozenset("conv conv_transpose bn groupnorm maxpool avgpool upsample".split())
KEYWORDS = frozenset("block model input output return res add cat shortcut repeat min max true false".split())
# Codes of errors that do not depend on the shapes flowing in: after a first
# error in a definition, whose shapes are then unknown, only these are reported.
_SHAPE_FREE = frozenset({"LG201", "LG202", "LG203", "LG204", "LG205", "LG206", "LG207", "LG208", "LG401", "LG402", "LG403", "LG404", "LG406"})
_SPATIAL = {1: (), 2: (("L", "length"),), 3: (("H", "height"), ("W", "width")), 4: (("D", "depth"), ("H", "height"), ("W", "width"))}




@dataclass(frozen=True)
class Analysis:
    """The result of shape inference over a program.

    classes: the blocks (callees first) and models to generate.
    defaults: for each model, its ClassIR with the parameters' defaults
        substituted (concrete input/output shapes and parameter count).
    diagnostics: warnings (errors are raised).
    """

    classes: tuple[ClassIR, ...]
    defaults: dict[str, ClassIR]
    diagnostics: tuple[Diagnostic, ...]


def analyze(program: s.Program, prelude: s.Program, broken: frozenset[str] = frozenset(), limits: Limits = DEFAULT) -> Analysis:
    """Infer shapes for every model in `program`, with `prelude`'s blocks
    available (the program's own definitions shadow them).

    `broken` names definitions with syntax errors (parser.parse_recovering):
    they are not analysed, and calls of them are not errors of their own.
    `limits` bounds block-call depth, repeat counts and sizes (limits.py).

    Raises:
        SpecError: with every error found.
    """
    return _Analyzer(program, prelude, broken, limits).run()


class _Analyzer(GraphAnalysis):
    def __init__(self, program: s.Program, prelude: s.Program, broken: frozenset[str] = frozenset(), limits: Limits = DEFAULT):
        self.broken = broken
        self.limits = limits
        self.defs: dict[str, s.Definition] = {d.name: d for d in prelude.definitions}
        self.prelude_file = prelude.file
        self.user: list[s.Definition] = []
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        seen: dict[str, s.Definition] = {}
        for d in program.definitions:
            if d.name in seen:
                self._report(error("LG203", d.span, f"`{d.name}` is defined twice", notes=[Note("first defined here", seen[d.name].span)]))
                continue
            if d.name in PRIMITIVES:
                self._report(error("LG203", d.span, f"`{d.name}` is a primitive layer and cannot be redefined"))
                continue
            seen[d.name] = d
            self.defs[d.name] = d
            self.user.append(d)
        self.cache: dict[str, ClassIR | None] = {}
        self.ranks: dict[str, tuple[int, Span]] = {}
        self.active: list[str] = []
        self.order: list[ClassIR] = []
        # One flag per definition being analysed: whether it has had an error.
        # After one, analysis goes on with unknown shapes to find more.
        self.failed: list[bool] = []
        self.unknowns = 0
        self.calls: list[Note] = []  # "in this call of `b`", for each block being analysed
        self.divisions: dict[int, bool] = {}  # id of an argument check -> whether its value divides

    def _at_user_code(self, diag: Diagnostic) -> Diagnostic:
        """A problem found inside the prelude is reported at the user's call
        of it, with the prelude's line as a note."""
        if diag.span.file != self.prelude_file:
            return diag
        for i, note in enumerate(diag.notes):
            if note.span is not None and note.span.file != self.prelude_file:
                inner = Note(f"inside the prelude's `{note.message.split('`')[1]}`" if "`" in note.message else "in the prelude", diag.span)
                rest = diag.notes[:i] + diag.notes[i + 1 :]
                return replace(diag, span=note.span, notes=(inner, *rest))
        return diag

    def _report(self, exc: SpecError) -> None:
        for d in exc.diagnostics:
            if d not in self.errors:
                self.errors.append(d)

    def run(self) -> Analysis:
        models, defaults = [], {}
        for d in self.user:
            if d.kind != "model" or d.name in self.broken:
                continue
            self.failed.append(False)
            try:
                ir = self.model(d)
            except SpecError as exc:
                self._report(SpecError([self._at_user_code(d) for d in exc.diagnostics]))
                continue
            except Failed:
                continue
            finally:
                self.failed.pop()
            models.append(ir)
            defaults[d.name] = self.decide(ir, d)
        used = _reachable(self.user)
        unused = [
            Diagnostic("warning", d.span, f"block `{d.name}` is not used by any model, so no code is generated for it", code="LG510")
            for d in self.user
            if d.kind == "block" and d.name not in used and d.name not in self.broken
        ]
        if self.errors:
            exc = SpecError(self.errors + self.warnings + unused)
            exc.classes = tuple(self.order) + tuple(models)  # what was analysed, for lint rules
            raise exc
        return Analysis(tuple(self.order) + tuple(models), defaults, tuple(self.warnings + unused))

    # ------------------------------------------------------------ definitions

    def _params(self, d: s.Definition) -> tuple[list[ParamIR], dict[str, Value]]:
        params, env = [], {}
        for p in d.params:
            if p.name in env:
                raise error("LG203", p.span, f"parameter `{p.name}` is listed twice")
            if p.name in KEYWORDS:
                raise error("LG204", p.span, f"`{p.name}` is a keyword of the language and cannot name a parameter")
            if p.name in ("in_channels", "in_features"):
                raise error("LG204", p.span, f"`{p.name}` is reserved: legoc passes the input's size under this name")
            default = None
            if p.default is not None:
                default = self.value(p.default, Scope(d.name, {}))
                if isinstance(default, Expr) and not sy.is_const(default):
                    raise error("LG401", p.default.span, "a default must be a constant")
            code = py_ident(p.name)
            if isinstance(default, LayerRef):
                env[p.name] = LayerRef("param", p.name, code)
            else:
                env[p.name] = Sym(f"p:{p.name}", p.name, code)
            params.append(ParamIR(p.name, code, default))
        return params, env

    def block(self, name: str, ranks: tuple[int, ...], span: Span) -> ClassIR:
        """Analyse block `name` for inputs of the given ranks (memoised)."""
        d = self.defs[name]
        if len(self.active) >= self.limits.max_call_depth:
            raise error(
                "LG603", span, f"block calls are nested more than {self.limits.max_call_depth} deep here",
                hint="raise `max-call-depth` under [tool.legoc.limits]",
            )
        if name in self.active:
            through = self.active[self.active.index(name) + 1 :]
            how = f" through {', '.join(f'`{n}`' for n in through)}" if through else ""
            raise error("LG403", span, f"block `{name}` calls itself{how}; blocks cannot be recursive")
        if name in self.ranks and self.ranks[name][0] != ranks:
            first, first_span = self.ranks[name]
            raise error(
                "LG405",
                span,
                f"block `{name}` gets inputs of rank {_ranks(ranks)} here but of rank {_ranks(first)} elsewhere; "
                "one block makes one class, so its input ranks are fixed",
                notes=[Note(f"first used with rank {_ranks(first)} here", first_span)],
            )
        if name in self.cache:
            ir = self.cache[name]
            if ir is None:
                raise Failed()
            return ir
        # Called after an error, with input shapes partly guessed: analyse it
        # to find errors that do not depend on shapes, but remember nothing.
        guessed = bool(self.failed) and self.failed[-1]
        if not guessed:
            self.ranks[name] = (ranks, span)
        self.active.append(name)
        self.failed.append(guessed)
        self.calls.append(Note(f"in this call of `{name}`", span))
        try:
            ir = self._block(d, ranks, span)
        except SpecError as exc:
            if not guessed:
                self.cache[name] = None
            note = Note(f"in this call of `{name}`", span)
            raise SpecError([replace(d, notes=d.notes + (note,)) for d in exc.diagnostics]) from None
        except Failed:
            if not guessed:
                self.cache[name] = None
            raise
        finally:
            self.active.pop()
            self.failed.pop()
            self.calls.pop()
        if guessed:
            raise Failed()
        self.cache[name] = ir
        self.order.append(ir)
        return ir

    def _recover(self, exc: Exception, flow: Flow | None) -> Flow:
        """After a statement failed: report its errors (only shape-free ones
        once the definition has failed before), and go on with a tensor of
        the same rank and unknown sizes."""
        if not self.failed:
            raise exc
        if isinstance(exc, SpecError):
            calls = tuple(reversed(self.calls))
            diags = [replace(d, notes=d.notes + calls) for d in exc.diagnostics if not self.failed[-1] or d.code in _SHAPE_FREE]
            if diags:
                self._report(SpecError([self._at_user_code(d) for d in diags]))
        self.failed[-1] = True
        return self.unknown(len(flow.shape) if flow is not None else 3)

    def _settle_known(self, checks: list[Check]) -> None:
        """In a definition that failed: report the checks that fail without
        involving the unknown sizes that followed the failure."""
        self._settle([c for c in checks if not any(sym.key.startswith("?:") for sym in sy.free_symbols(c.cond))])

    def unknown(self, rank: int) -> Flow:
        """A tensor of unknown sizes (after an error)."""
        self.unknowns += 1
        return Flow.start(tuple(Sym(f"?:{self.unknowns}:{axis}", "?", "unknown") for axis in range(rank)))

    def _block(self, d: s.Definition, ranks: tuple[int, ...], span: Span) -> ClassIR:
        _check_names(d)
        params, env = self._params(d)
        scope = Scope(d.name, env)
        names = [n.id for n in d.inputs] if d.inputs is not None else [None]
        first = self._first_layer(d.body, set())
        sequence = first is not None and first not in _CHANNELS_FIRST
        shapes = [_input_symbols(index, name, rank, span, sequence) for index, (name, rank) in enumerate(zip(names, ranks))]
        taken: dict[str, str] = {}
        for sym in (x for shape in shapes for x in shape):
            if sym.code in taken:
                raise error("LG204", d.span, f"two input sizes of `{d.name}` would both be called `{sym.code}`; rename an input")
            taken[sym.code] = "an input size"
        for p in d.params:
            if py_ident(p.name) in taken:
                raise error("LG204", p.span, f"parameter `{p.name}` has the name legoc gives to an input size of `{d.name}`")
        if d.inputs is None:
            if any(isinstance(st, (s.Assign, s.Return, s.Output)) for st in d.body):
                raise error("LG404", d.span, f"block `{d.name}` uses named tensors, so it must name its inputs: `block {d.name}(...)(x):`")
            body, flow = self.sequence(d.body, Flow.start(shapes[0]), scope)
            inputs = (Port("x", "x", shapes[0]),)
            outputs = (Port("x", "x", flow.shape),)
            keep, stride = flow.keep, flow.stride
        else:
            ports = [Port(n.id, n.id, shape) for n, shape in zip(d.inputs, shapes)]
            body, inputs, outputs = self.graph(d, ports, scope)
            out = outputs[0].shape
            # Seen from an enclosing residual, channels compare by size, and
            # another axis is kept only where the output visibly has the
            # input's size.
            kept = [len(ranks) == 1 and len(out) == len(shapes[0]) and a == b for a, b in zip(out, shapes[0])]
            keep = (None,) + tuple(sy.TRUE if k else sy.FALSE for k in kept[1:]) + (sy.FALSE,) * (len(out) - len(kept))
            stride = (None,) * len(out)
        if self.failed[-1]:
            self._settle_known(body.checks)
            raise Failed()  # its errors are reported; its shapes are not to be trusted
        checks = self._settle(body.checks)
        needed = set().union(*(_ctor_symbols(n) for n in body.nodes)) if body.nodes else set()
        size_params = tuple(sym for shape in shapes for sym in shape if sym in needed)
        return ClassIR(
            "block", d.name, tuple(params), size_params, inputs, outputs, tuple(body.nodes),
            body.n_params, keep, stride, tuple(checks), d.doc, d.span, graph=d.inputs is not None,
        )

    def _first_layer(self, body, seen: set[str]) -> str | None:
        """The primitive that first reads a body's input, looking into
        groups, residuals, parallels, repeats and called blocks.

        A loop, not a recursion: it follows block calls before the call-depth
        limit (LG603) is checked, so a chain of any length must not overflow
        Python's stack."""
        seen = set(seen)
        while body:
            stmt = body[0]
            if isinstance(stmt, s.Call):
                d = self.defs.get(stmt.name)
                if d is None or stmt.name in seen or stmt.name in PRIMITIVES:
                    return stmt.name
                seen.add(stmt.name)
                body = d.body
            elif isinstance(stmt, s.Group):
                body = stmt.body
            elif isinstance(stmt, s.Named):
                body = (stmt.layer,)
            elif isinstance(stmt, s.Residual):
                body = stmt.body.body
            elif isinstance(stmt, s.Parallel):
                body = stmt.branches[0]
            elif isinstance(stmt, s.Repeat):
                body = (stmt.body,)
            elif isinstance(stmt, s.Assign):
                body = stmt.value.stages
            else:
                return None
        return None

    def model(self, d: s.Definition) -> ClassIR:
        _check_names(d)
        params, env = self._params(d)
        scope = Scope(d.name, env)
        count = 0
        while count < len(d.body) and isinstance(d.body[count], s.Input):
            count += 1
        if count == 0:
            raise error("LG404", d.span, f"model `{d.name}` must start with its input shape, e.g. `input [3, H, W]`")
        heads = d.body[:count]
        for stray in d.body[count:]:
            if isinstance(stray, s.Input):
                raise error("LG404", stray.span, "`input` lines must come first in a model")
        ports = [Port(st.name or "x", st.name or "x", self._input_shape(st, scope)) for st in heads]
        graph = any(st.name for st in heads) or any(isinstance(st, (s.Assign, s.Output)) for st in d.body)
        if graph:
            unnamed = [st for st in heads if st.name is None]
            if unnamed:
                raise error("LG404", unnamed[0].span, "a model with named tensors names its inputs too: `input x: [3, H, W]`")
            body, inputs, outputs = self.graph(d, ports, scope)
            keep, stride = (sy.FALSE,) * len(outputs[0].shape), (None,) * len(outputs[0].shape)
        else:
            if count > 1:
                raise error("LG404", heads[1].span, "a model with several inputs names them: `input image: [3, H, W]`")
            body, flow = self.sequence(d.body[1:], Flow.start(ports[0].shape), scope)
            inputs, outputs = (ports[0],), (Port("x", "x", flow.shape),)
            keep, stride = flow.keep, flow.stride
        if self.failed[-1]:
            self._settle_known(body.checks)
            raise Failed()  # its errors are reported; its shapes are not to be trusted
        param_syms = {v for v in env.values() if isinstance(v, Sym)}
        for node in _layers(body.nodes):
            stray = sorted((sym.label for sym in _ctor_symbols(node) - param_syms), key=str)
            if stray:
                raise error(
                    "LG307",
                    node.span,
                    f"this layer's size depends on the input's symbolic size {', '.join(stray)}; "
                    "give the model a fixed input size for that axis",
                )
        checks = self._settle(body.checks)
        sized = [c for c in checks if c.severity == "error" and sy.free_symbols(c.cond) and not sy.free_symbols(c.cond) & param_syms]
        rules = dim_rules(inputs, sized)
        for c in rules.impossible:
            self._report(SpecError([self._at_user_code(Diagnostic("error", c.span, "no input size satisfies this: " + show_message(c.message), c.notes, c.hint, "LG305"))]))
        return ClassIR(
            "model", d.name, tuple(params), (), inputs, outputs, tuple(body.nodes), body.n_params,
            keep, stride, tuple(checks), d.doc, d.span, graph=graph, dim_rules=rules.rules,
        )

    def _input_shape(self, stmt: s.Input, scope: Scope) -> Shape:
        dims = []
        for dim in stmt.dims:
            if isinstance(dim, s.Name) and dim.id not in scope.env:
                dims.append(Sym(f"dim:{dim.id}", dim.id, py_ident(dim.id)))
            else:
                size = self.number(dim, scope)
                if isinstance(sy.value_of(size), (bool, str, float)):  # `input [0.5]`: a crash in summary
                    raise error("LG401", dim.span, f"an input size must be an integer, not {show_value(sy.value_of(size))}")
                dims.append(size)
        if not dims:
            raise error("LG404", stmt.span, "the input shape needs at least one axis")
        return tuple(dims)

    def decide(self, ir: ClassIR, d: s.Definition) -> ClassIR:
        """Substitute a model's defaults; report the checks that then fail."""
        mapping = {f"p:{p.name}": p.default for p in ir.params if isinstance(p.default, Expr)}
        missing = [p.name for p in ir.params if p.default is None]
        if missing:
            self._report(error("LG404", d.span, f"model parameters need defaults: {', '.join(missing)}"))
            return ir
        sub = sy.substituter(mapping)  # one memo for the whole model
        ports = lambda ps: tuple(replace(p, shape=tuple(sub(x) for x in p.shape)) for p in ps)  # noqa: E731
        defaults = {f"p:{p.name}": p.default.span for p in d.params if p.default is not None}
        try:
            arg_checks = self._arguments(ir.checks, sub, mapping, defaults.get, Note(f"with the defaults of `{d.name}`", d.span), d.span)
        except SpecError as exc:
            self._report(SpecError([self._at_user_code(x) for x in exc.diagnostics]))
            return ir
        try:
            numeric = _numeric(mapping)
            substituted = (_subst_check(c, sub, drop_held=numeric) for c in ir.checks if not c.origin)
            checks = self._settle(arg_checks + [c for c in substituted if c is not None])
            self._check_sizes(ir, sub)
            inputs = ports(ir.inputs)
        except sy.NotANumber as exc:  # `model M(n=true)` where the model computes with n
            param = next((p for p in d.params if p.default is not None and mapping.get(f"p:{p.name}") == exc.value), None)
            if param is None:
                self._report(error("LG401", d.span, f"a default of `{d.name}` has the wrong type: {exc}"))
            else:
                self._report(error("LG401", param.default.span, f"the default of `{param.name}` has the wrong type: {exc}"))  # type: ignore[union-attr]
            return ir
        for size in (size for port in inputs for size in port.shape):
            if isinstance(sy.value_of(size), (bool, str, float)):  # `model M(n=0.5)` with `input [n]`
                self._report(error("LG401", d.span, f"with its defaults, an input size of `{d.name}` is {show_value(sy.value_of(size))}, not an integer"))
                return ir
        return replace(
            ir,
            inputs=inputs,
            outputs=ports(ir.outputs),
            n_params=sub(ir.n_params),
            checks=tuple(checks),
        )

    def _check_sizes(self, ir: ClassIR, sub: Callable[[Expr], Expr]) -> None:
        """Report sizes in a model (with its defaults, which `sub`
        substitutes) over `limits.max_size`, tensors with more elements than
        torch can count (int64), and a parameter count past int64 (LG606)."""
        def too_large(what: str, value: int, limit: int, span: Span) -> None:
            if limit == INT64_MAX:  # no setting raises this one: torch counts elements in int64
                message = f"{what} is {value:,}, which cannot be represented in torch's int64 (at most {limit:,})"
                self._report(error("LG606", span, message, hint="make the sizes smaller; `max-size` cannot raise this limit"))
                return
            self._report(error("LG606", span, f"{what} is {value:,}, over the limit of {limit:,}", hint="raise `max-size` under [tool.legoc.limits]"))

        shapes = [(p.shape, ir.span) for p in ir.inputs] + [(n.out, n.span) for n in walk(ir.body)]
        seen: set[Shape] = set()
        for shape, span in shapes:
            if shape in seen:  # shapes repeat; the first place is the one reported
                continue
            seen.add(shape)
            sizes = [sy.value_of(sub(e)) for e in shape]
            for v in sizes:
                if isinstance(v, int) and v > self.limits.max_size:
                    return too_large("a size here", v, self.limits.max_size, span)
            known = [v for v in sizes if isinstance(v, int)]
            if math.prod(known) > INT64_MAX:
                return too_large("the tensor's element count", math.prod(known), INT64_MAX, span)
        n_params = sy.value_of(sub(ir.n_params))
        if isinstance(n_params, int) and n_params > INT64_MAX:
            too_large("the parameter count", n_params, INT64_MAX, ir.span)

    def _settle(self, checks: list[Check]) -> list[Check]:
        """Report checks that fail outright (errors, and lint warnings once
        per place); drop those that hold; keep the rest."""
        open_checks = []
        for c in checks:
            if c.cond == sy.FALSE:
                diag = self._at_user_code(Diagnostic(c.severity, c.span, show_message(c.message), c.notes, c.hint, c.code))
                if c.severity == "error":
                    self._report(SpecError([diag]))
                elif all((w.code, w.span) != (diag.code, diag.span) for w in self.warnings):
                    self.warnings.append(diag)
            elif c.cond != sy.TRUE:
                open_checks.append(c)
        return open_checks

    # ------------------------------------------------------------- statements

    def sequence(self, stmts, flow: Flow, scope: Scope) -> tuple[Body, Flow]:
        body = Body.empty()
        for stmt in stmts:
            try:
                after = self.statement(stmt, flow, scope, body)
                # Notes point at the statement that last changed the shape.
                flow = replace(after, origin=stmt.span if after.shape != flow.shape or not flow.origin else flow.origin)
            except (SpecError, Failed) as exc:
                flow = self._recover(exc, flow)
                body.failed = True
        return body, flow

    def statement(self, stmt: s.Stmt, flow: Flow, scope: Scope, body: Body) -> Flow:
        if isinstance(stmt, s.Call):
            node, n_params, checks, out = self.call(stmt, flow, scope)
            body.nodes.append(node)
            body.n_params = sy.add(body.n_params, n_params)
            body.checks += checks
            return out
        if isinstance(stmt, s.Group):
            for inner in stmt.body:
                flow = self.statement(inner, flow, scope, body)
            return flow
        if isinstance(stmt, s.Named):
            return self.named(stmt, flow, scope, body)
        if isinstance(stmt, s.Residual):
            return self.residual(stmt, flow, scope, body)
        if isinstance(stmt, s.Parallel):
            return self.parallel(stmt, flow, scope, body)
        if isinstance(stmt, s.Repeat):
            return self.repeat(stmt, flow, scope, body)
        if isinstance(stmt, s.Input):
            raise error("LG404", stmt.span, "`input` must be the first line of a model")
        if isinstance(stmt, s.Merge):
            raise error("LG404", stmt.span, f"`{stmt.mode}` alone joins a tuple of tensors: `(a, b) -> {stmt.mode}`")
        raise error("LG404", stmt.span, "named tensors need a model with named inputs (`input x: [...]`) or a block that names its inputs (`block b(c)(x):`)")

    def named(self, stmt: s.Named, flow: Flow, scope: Scope, body: Body) -> Flow:
        """`name: layer`: the layer's module becomes the attribute `name`; a
        named group becomes one nn.Sequential."""
        layer = stmt.layer
        if isinstance(layer, s.Group):
            inner = Body.empty()
            for item in layer.body:
                flow = self.statement(item, flow, scope, inner)
            for node in inner.nodes:
                if not (isinstance(node, Repeat) or isinstance(node, Layer) and node.apply == "call"):
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
        if isinstance(node, Method):
            raise error("LG204", stmt.name_span, f"`{layer.name}` is written as tensor methods in forward and has no module to name")  # type: ignore[union-attr]
        body.nodes[before] = replace(node, name=stmt.name)  # type: ignore[type-var]
        return flow

    def call(self, stmt: s.Call, flow: Flow, scope: Scope, fill: dict[str, Expr] | None = None):
        """Analyse one layer call: (node, parameter count, checks, flow after)."""
        name = stmt.name
        bound = scope.env.get(name)
        if isinstance(bound, LayerRef):
            if stmt.args or stmt.keywords:
                raise error("LG402", stmt.span, f"`{name}` is a layer-valued parameter and takes no arguments")
            node = Layer(name, Ctor("param", bound.code), flow.shape, stmt.span)
            return node, sy.ZERO, [], flow
        if name in self.broken:
            raise Failed()  # its syntax errors are reported
        if name in ("rearrange", "reduce") and name not in self.defs:
            return self.pattern(stmt, flow, scope)
        if name in PRIMITIVES:
            prim = PRIMITIVES[name]
            args, spans, _ = self.bind(name, prim.params, stmt, scope, fill or {})
            for key, value in args.items():
                if isinstance(value, LayerRef):
                    raise error("LG401", spans.get(key, stmt.span), f"`{key}` of `{name}` must be a number, not the layer `{value.name}`")
                problem = type_error(key, value) if isinstance(value, Expr) else None
                if problem:
                    raise error("LG401", spans.get(key, stmt.span), problem)
            arg_checks = [
                _argument_check(cond, message, spans.get(key, stmt.span), value)
                for key, value in args.items()
                if isinstance(value, Expr) and not sy.is_const(value)
                for cond, message in argument_checks(key, value)
                if cond != sy.TRUE
            ]
            try:
                out: PrimOut = prim.rule(PrimCall(name, args, flow.shape, stmt.span, spans))
            except SpecError as exc:
                came = _came_from(flow)
                raise SpecError([replace(d, notes=d.notes + came) for d in exc.diagnostics]) from None
            node = Layer(name, out.ctor, out.shape, stmt.span, out.apply)
            # Checks that already hold are left out here: `_settle` would drop
            # them anyway (and `either`, which callers wrap conditions in,
            # keeps them TRUE), so they could never be reported.
            checks = [c for c in out.checks if c.cond != sy.TRUE]
            came = _came_from(flow) if any(c.severity == "error" for c in checks) else ()
            if came:
                checks = [replace(c, notes=c.notes + came) if c.severity == "error" else c for c in checks]
            return node, out.n_params, arg_checks + checks, flow.then(out.shape, out.keep, out.stride)
        d = self.defs.get(name)
        if d is None:
            raise self._unknown(stmt, scope)
        if d.kind == "model":
            raise error("LG201", stmt.name_span, f"`{name}` is a model; only blocks and primitives can be used as layers")
        if d.inputs is not None and len(d.inputs) != 1:
            raise error("LG402", stmt.name_span, f"block `{name}` takes {len(d.inputs)} inputs; give it a tuple: `(a, b) -> {name} ...`")
        callee = self.block(name, (len(flow.shape),), stmt.span)
        return self.block_call(stmt, callee, [flow.shape], scope, fill, flow)

    def block_call(self, stmt: s.Call, callee: ClassIR, shapes: list[Shape], scope: Scope, fill, flow: Flow | None = None):
        """A call of an analysed block on input tensors of the given shapes."""
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
                value = self.value(expr, scope)
            except SpecError:
                continue
            if value == exc.value:
                return error("LG401", expr.span, f"`{param}` of `{stmt.name}` has the wrong type: {exc}", notes=[Note(f"in this call of `{stmt.name}`", stmt.span)])
        d = self.defs.get(stmt.name)
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
        args, spans, given = self.bind(name, signature, stmt, scope, fill or {})
        mapping: dict[str, Expr] = {}
        for p in callee.params:
            value = args[p.name]
            if isinstance(p.default, LayerRef):
                if not isinstance(value, LayerRef):
                    raise error("LG401", spans.get(p.name, stmt.span), f"`{p.name}` of `{name}` is a layer, such as `relu`; got {value}")
            elif isinstance(value, LayerRef):
                raise error("LG401", spans.get(p.name, stmt.span), f"`{p.name}` of `{name}` is a number, not the layer `{value.name}`")
            else:
                mapping[f"p:{p.name}"] = value
        for index, shape in enumerate(shapes):
            for axis, dim in enumerate(shape):
                mapping[f"in:{index}:{axis}"] = dim
        sub = sy.substituter(mapping)  # one memo for the whole call
        note = Note(f"in this call of `{name}`", stmt.span)
        # Arguments first: a value of the wrong type would otherwise surface
        # as a TypeError of the arithmetic below.
        d = self.defs.get(name)
        written = {p.name: p.default.span for p in (d.params if d is not None else ()) if p.default is not None}
        values = {**{p.name: e.span for p, e in zip(callee.params, stmt.args)}, **{kw.name: kw.value.span for kw in stmt.keywords}}
        arg_checks = self._arguments(callee.checks, sub, mapping, lambda key: values.get(key[2:]) or written.get(key[2:]), note, stmt.span)
        sizes = tuple(sub(x) for x in callee.size_params)
        positional = tuple(args[key] for key, is_keyword in given if not is_keyword)
        keywords = tuple((key, args[key]) for key, is_keyword in given if is_keyword)
        ctor = Ctor("block", name, sizes + positional, keywords)
        shape = tuple(sub(x) for x in callee.output)
        numeric = _numeric(mapping)
        substituted = (_subst_check(c, sub, note, drop_held=numeric) for c in callee.checks if not c.origin)
        checks = arg_checks + [c for c in substituted if c is not None]
        node = Layer(name, ctor, shape, stmt.span)
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

    def _arguments(self, checks, sub, mapping: dict[str, Expr], given: Callable[[str], Span | None], note: Note, span: Span) -> list[Check]:
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
                moved = _subst_check(c, sub)
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
            value = self.number(kw.value, scope)
            problem = type_error("kernel_size", value)
            if problem:
                raise error("LG401", kw.span, f"the size of axis `{kw.name}` must be a positive integer, not {show_value(sy.value_of(value)) if sy.is_const(value) else value}")
            sizes[kw.name] = (value, kw.span)
            if not sy.is_const(value):  # a size is what `kernel_size` is: a positive integer
                message = (f"the size of axis `{kw.name}` must be a positive integer, not ", value)
                size_checks += [_argument_check(cond, message, kw.span, value) for cond, _ in argument_checks("kernel_size", value)]
        pattern = stmt.args[0]
        recipe = compile_pattern(pattern.value, pattern.span, sizes, flow.shape, reduction)  # type: ignore[arg-type]
        node = Method(recipe.ops, recipe.shape, stmt.span)
        after = flow if not recipe.ops else flow.rearranged(recipe.shape)
        return node, sy.ZERO, size_checks + list(recipe.checks), after

    def _unknown(self, stmt: s.Call, scope: Scope) -> SpecError:
        known = sorted(set(PRIMITIVES) | {"rearrange", "reduce"} | {n for n, d in self.defs.items() if d.kind == "block"} | {
            n for n, v in scope.env.items() if isinstance(v, LayerRef)
        })
        return error("LG201", stmt.name_span, f"unknown layer `{stmt.name}`", hint=layer_hint(stmt.name, known))

    def bind(self, name: str, signature, stmt: s.Call, scope: Scope, fill: dict[str, Expr]):
        """Match a call's arguments to a signature. Returns the values by
        parameter name (defaults filled in), the span of each given argument,
        and the given ones in call order as (name, passed by keyword)."""
        names = [p for p, _ in signature]
        if len(stmt.args) > len(names):
            extra = stmt.args[len(names)]
            most = f"at most {len(names)} positional argument{'s' if len(names) != 1 else ''}" if names else "no arguments"
            raise error("LG402", extra.span, f"`{name}` takes {most}")
        args: dict[str, object] = {}
        spans: dict[str, Span] = {}
        given: list[tuple[str, bool]] = []
        for key, expr in zip(names, stmt.args):
            args[key] = self.value(expr, scope)
            spans[key] = expr.span
            given.append((key, False))
        for kw in stmt.keywords:
            if kw.name not in names:
                close = close_match(kw.name, names)
                raise error(
                    "LG402",
                    kw.span,
                    f"`{name}` has no parameter `{kw.name}`" + (f"; its parameters are {', '.join(names)}" if names else "; it takes no arguments"),
                    hint=f"did you mean `{close}`?" if close else None,
                )
            if kw.name in args:
                raise error("LG402", kw.span, f"`{kw.name}` is given twice")
            args[kw.name] = self.value(kw.value, scope)
            spans[kw.name] = kw.span
            given.append((kw.name, True))
        for key, default in signature:
            if key in args:
                continue
            if key in fill:
                args[key] = fill[key]
                given.append((key, key != names[0]))
                continue
            if default is REQUIRED:
                raise error("LG402", stmt.name_span, f"`{name}` needs a value for `{key}`")
            args[key] = default
        return args, spans, given

    def residual(self, stmt: s.Residual, flow: Flow, scope: Scope, body: Body) -> Flow:
        inner, out = self.sequence(stmt.body.body, Flow.start(flow.shape), scope)
        if not inner.nodes:
            if inner.failed:
                raise Failed()  # its error is reported; an empty-body error would only follow from it
            raise error("LG404", stmt.body.span, "a residual body needs at least one layer")
        checks = list(inner.checks)
        n_params = inner.n_params
        projection = None
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
        node = Residual(stmt.mode, tuple(inner.nodes), projection, needs, result_shape, stmt.span, name)
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
        node, n_params, checks, proj_flow = self.call(call, flow, scope, fill)
        if not isinstance(node, Layer) or node.apply != "call":
            raise error("LG402", call.span, f"`{call.name}` cannot be a shortcut; use a layer or a block")
        return node.ctor, n_params, checks, proj_flow

    def _signature(self, name: str, scope: Scope) -> list[str]:
        if name in PRIMITIVES:
            return [p for p, _ in PRIMITIVES[name].params]
        d = self.defs.get(name)
        if d is not None and not isinstance(scope.env.get(name), LayerRef):
            return [p.name for p in d.params]
        return []

    def parallel(self, stmt: s.Parallel, flow: Flow, scope: Scope, body: Body) -> Flow:
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
        count = self.number(stmt.count, scope)
        if isinstance(sy.value_of(count), (bool, str, float)):  # `repeat "2" relu`: a TypeError below
            raise error("LG401", stmt.count.span, f"the repeat count must be an integer, not {show_value(sy.value_of(count))}")
        if (sy.value_of(count) or 0) > self.limits.max_repeat:
            raise error(
                "LG605", stmt.count.span, f"this repeats {sy.value_of(count):,} times, over the limit of {self.limits.max_repeat:,}",
                hint="raise `max-repeat` under [tool.legoc.limits]",
            )
        item = stmt.body
        calls = item.body if isinstance(item, s.Group) else (item,)
        if not calls or not all(isinstance(c, s.Call) for c in calls):
            raise error("LG404", item.span, "`repeat` takes a layer or a `< ... >` group of layers; define a block for anything else")

        def once(start: Flow):
            ctors, outs, n_params, checks, cur = [], [], sy.ZERO, [], start
            for c in calls:
                node, p, chk, cur = self.call(c, cur, scope)
                if not isinstance(node, Layer) or node.apply != "call":
                    raise error("LG404", c.span, f"`repeat` cannot repeat `{c.name}`; write the repetitions out, or put them in a block")
                ctors.append(node.ctor)
                outs.append(node.out)
                n_params = sy.add(n_params, p)
                checks += chk
            ctor = ctors[0] if len(ctors) == 1 else Ctor("sequential", "nn.Sequential", tuple(ctors))
            return ctor, tuple(outs), n_params, checks, cur

        ctor1, outs1, params1, checks1, flow1 = once(Flow.start(flow.shape))
        ctor2, outs2, params2, checks2, flow2 = once(Flow.start(flow1.shape))
        at_least = lambda n: sy.compare(">=", count, n)  # noqa: E731
        checks = _count_checks(count, stmt.count.span, self.limits.max_repeat)
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

    # ----------------------------------------------------------- expressions

    def number(self, expr: s.ExprNode, scope: Scope) -> Expr:
        value = self.value(expr, scope)
        if isinstance(value, LayerRef):
            raise error("LG401", expr.span, f"expected a number, not the layer `{value.name}`")
        return value

    def value(self, expr: s.ExprNode, scope: Scope) -> Value:
        """Evaluate an argument expression to a symbolic value or a layer."""
        if isinstance(expr, s.Literal):
            return sy.Const(expr.value)
        if isinstance(expr, s.Name):
            if expr.id in scope.env:
                return scope.env[expr.id]
            prim = PRIMITIVES.get(expr.id)
            if prim is not None and prim.keeps_shape:
                ctor = prim.rule(PrimCall(expr.id, {k: v for k, v in prim.params}, (sy.ONE,), expr.span, {}))
                return LayerRef("prim", expr.id, ctor.ctor.target)
            if prim is not None or expr.id in self.defs:
                raise error("LG401", expr.span, f"`{expr.id}` cannot be passed as a value: layer-valued arguments take a shape-preserving layer with no arguments, such as `relu`")
            close = close_match(expr.id, scope.env)
            raise error("LG202", expr.span, f"unknown name `{expr.id}`", hint=f"did you mean `{close}`?" if close else None)
        if isinstance(expr, s.GroupValue):
            raise error("LG401", expr.span, "a `< ... >` group cannot be passed as a value; pass a layer name such as `relu`")
        try:
            if isinstance(expr, s.Neg):
                return sy.neg(self.number(expr.operand, scope))
            if isinstance(expr, s.BinOp):
                left, right = self.number(expr.left, scope), self.number(expr.right, scope)
                return {"+": sy.add, "-": sy.sub, "*": sy.mul, "//": sy.floordiv, "%": sy.mod}[expr.op](left, right)
            assert isinstance(expr, s.Func)
            args = [self.number(a, scope) for a in expr.args]
            return sy.minimum(*args) if expr.name == "min" else sy.maximum(*args)
        except ZeroDivisionError as exc:
            raise error("LG406", expr.span, str(exc)) from None
        except sy.NotANumber as exc:
            op = expr.op if isinstance(expr, s.BinOp) else "-" if isinstance(expr, s.Neg) else expr.name
            raise error("LG406", expr.span, f"`{op}` needs numbers, not {exc.shown}") from None


def _reachable(definitions: list[s.Definition]) -> set[str]:
    """The names of the blocks that some model calls, directly or through
    other blocks, as the source is written (whether or not analysis got there)."""
    calls: dict[str, set[str]] = {}
    for d in definitions:
        calls[d.name] = {n.name for stmt in d.body for n in s.walk(stmt) if isinstance(n, s.Call)}
    used: set[str] = set()
    todo = [d.name for d in definitions if d.kind == "model"]
    while todo:
        for callee in calls.get(todo.pop(), ()):
            if callee not in used:
                used.add(callee)
                todo.append(callee)
    return used


def _check_names(d: s.Definition) -> None:
    """A definition's layer names: valid attribute names, each used once, and
    only where the layer is an attribute of the definition's class."""
    seen: dict[str, Span] = {}
    in_repeat = "a repeat's repetitions are numbered 0, 1, ... in its nn.Sequential and cannot be named; name the repeat instead: `blocks: repeat ...`"

    def visit(stmt, nameless: str | None) -> None:
        if isinstance(stmt, s.Named):
            if nameless:
                raise error("LG204", stmt.name_span, nameless)
            problem = attribute_problem(stmt.name)
            if problem:
                raise error("LG205", stmt.name_span, problem, hint=f"call it `{stmt.name.strip('_')}_` or another name" if stmt.name.strip("_") else None)
            if stmt.name in seen:
                raise error("LG206", stmt.name_span, f"two layers are named `{stmt.name}`", notes=[Note(f"`{stmt.name}` is first used here", seen[stmt.name])])
            seen[stmt.name] = stmt.name_span
            if isinstance(stmt.layer, (s.Residual, s.Parallel)):
                what = "a residual" if isinstance(stmt.layer, s.Residual) else "a parallel"
                raise error(
                    "LG204",
                    stmt.name_span,
                    f"{what} has no module of its own to name: its layers are attributes of `{d.name}`; name those, "
                    "or put it in a block and name the call",
                )
            inner = f"the layers of the named group `{stmt.name}` are numbered 0, 1, ... in its nn.Sequential and cannot be named"
            visit(stmt.layer, inner if isinstance(stmt.layer, s.Group) else None)
        elif isinstance(stmt, s.Group):
            for item in stmt.body:
                visit(item, nameless)
        elif isinstance(stmt, s.Residual):
            visit(stmt.body, nameless)
            if stmt.shortcut is not None:
                visit(stmt.shortcut, nameless)
        elif isinstance(stmt, s.Parallel):
            for branch in stmt.branches:
                for item in branch:
                    visit(item, nameless)
        elif isinstance(stmt, s.Repeat):
            visit(stmt.body, in_repeat)
        elif isinstance(stmt, (s.Assign, s.Return)) or isinstance(stmt, s.Output) and stmt.value is not None:
            for stage in stmt.value.stages:  # type: ignore[union-attr]
                visit(stage, nameless)

    _check_python_names(d)
    for stmt in d.body:
        visit(stmt, None)


def _check_python_names(d: s.Definition) -> None:
    """The names that become Python identifiers (parameters, inputs, tensors,
    symbolic input sizes): none starting with `__`, which Python mangles
    inside a class (a caller's `b(__p=2)` misses the parameter `__p_`, and
    `__debug_` would be `__debug__`), and no two that naming.py's trailing
    `_` makes one (`lambda` and `lambda_`, an input `H` and the size `H`)."""
    params = [(p.name, p.span) for p in d.params]
    inputs = [(n.id, n.span) for n in d.inputs or ()]
    inputs += [(st.name, st.span) for st in d.body if isinstance(st, s.Input) and st.name is not None]
    tensors = [(st.target, st.target_span) for st in d.body if isinstance(st, s.Assign)]
    tensors += [(st.name, st.name_span) for st in d.body if isinstance(st, s.Output)]
    sizes = [
        (dim.id, dim.span)
        for st in d.body
        if isinstance(st, s.Input)
        for dim in st.dims
        if isinstance(dim, s.Name) and dim.id not in {p.name for p in d.params}
    ]
    for what, names in (("a parameter", params), ("an input", inputs), ("a tensor", tensors), ("an input size", sizes)):
        for name, span in names:
            if name.startswith("__"):
                raise error("LG204", span, f"`{name}` starts with `__`, which Python mangles inside a class, so it cannot name {what}")
    _one_python_name(params, py_ident, "LG203", "parameters")
    _one_python_name(inputs + tensors, local_ident, "LG208", "tensors")
    _one_python_name(sizes, py_ident, "LG203", "input sizes")
    locals_ = {local_ident(name): name for name, _ in inputs}
    for name, span in sizes:
        if py_ident(name) in locals_:
            raise error(
                "LG204",
                span,
                f"the input size `{name}` and the input `{locals_[py_ident(name)]}` would both be `{py_ident(name)}` in forward",
                hint="rename one",
            )


def _one_python_name(names: list[tuple[str, Span]], ident, code: str, what: str) -> None:
    seen: dict[str, str] = {}
    for name, span in names:
        first = seen.setdefault(ident(name), name)
        if first != name:
            raise error(code, span, f"{what} `{first}` and `{name}` would both be `{ident(name)}` in the generated code", hint="rename one")


def _ranks(ranks: tuple[int, ...]) -> str:
    return ", ".join(map(str, ranks))


def _input_symbols(index: int, name: str | None, rank: int, span: Span, sequence: bool) -> Shape:
    """Symbols for a block input's sizes: `[in_channels, H, W]` for the
    first, `[skip_channels, skip_H, skip_W]` for one named `skip` after it.
    A rank-2 input read first by a sequence layer (linear, layernorm, lstm,
    rearrange, ...) is `[T, in_features]`; by a convolution, `[in_channels, L]`."""
    labels = _SPATIAL.get(rank)
    if labels is None:
        raise error("LG302", span, f"block inputs must have rank 1 to 4, not {rank}")
    prefix = "in" if index == 0 else name
    if rank == 2 and sequence:
        names = [("T" if index == 0 else f"{name}_T", "seq_len" if index == 0 else f"{name}_seq_len"), (f"{prefix}_features",) * 2]
    elif index == 0:
        first = "in_features" if rank == 1 else "in_channels"
        names = [(first, first)] + list(labels)
    else:
        first = f"{name}_features" if rank == 1 else f"{name}_channels"
        names = [(first, first)] + [(f"{name}_{label}", f"{name}_{code}") for label, code in labels]
    return tuple(Sym(f"in:{index}:{axis}", label, code) for axis, (label, code) in enumerate(names))


def _came_from(flow: Flow) -> tuple[Note, ...]:
    """The note for a layer's errors on where its input comes from."""
    return (Note(f"its input {show_shape(flow.shape)} comes from here", flow.origin),) if flow.origin else ()


def _same_shape(shape: Shape, out: Flow) -> Expr:
    """Whether `out` has `shape` for every value of the input's sizes: axes a
    layer resized in steps (spatial axes) compare by what those layers do,
    the others (channels, features) by their size."""
    if len(shape) != len(out.shape):
        return sy.FALSE
    return sy.both(*(keeps(k, a, b) for a, b, k in zip(shape, out.shape, out.keep)))


def _subst_check(c: Check, sub: Callable[[Expr], Expr], note: Note | None = None, drop_held: bool = False) -> Check | None:
    """`c` with `sub` (a `sy.substituter`) applied to its condition and message.

    With `drop_held`, None if the condition becomes TRUE: `_settle` drops
    such a check anyway (and `either`, which callers wrap conditions in,
    keeps it TRUE), so its message is not worth substituting. Callers pass it
    only for a mapping of numbers (`_numeric`), under which substituting a
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


def _numeric(mapping: dict[str, Expr]) -> bool:
    """Whether no value in `mapping` is a bool or a string constant."""
    return not any(isinstance(sy.value_of(v), (bool, str)) for v in mapping.values())


def _count_checks(count: Expr, span: Span, limit: int) -> list[Check]:
    """A repeat count's checks: an integer, not negative, at most `limit`
    (`max-repeat`); argument checks, so that a count passed as a parameter
    is reported at the value passed."""
    typed = sy.is_type("int", count)
    checks = [
        _argument_check(typed, ("the repeat count must be an integer, not ", count), span, count),
        _argument_check(sy.either(sy.negate(typed), sy.compare(">=", count, sy.ZERO)), ("the repeat count must not be negative, not ", count), span, count),
        replace(
            _argument_check(sy.either(sy.negate(typed), sy.compare("<=", count, sy.Const(limit))), ("the repeat count ", count, f" is over the limit of {limit:,}"), span, count),
            code="LG605",
            hint="raise `max-repeat` under [tool.legoc.limits]",
        ),
    ]
    return [c for c in checks if c.cond != sy.TRUE]


def _argument_check(cond: Expr, message: tuple, span: Span, value: Expr) -> Check:
    """The check of a primitive argument's type or range (LG401), at the
    argument, with the parameters its value comes from as its origin."""
    return Check(cond, span, message, code="LG401", origin=sy.parameters(value))


def _layers(nodes) -> list[Layer]:
    """Every module-building node, as a Layer (for spans and constructor
    arguments): layers, shortcuts, repeats and multi-input joins."""
    found: list = []
    for n in nodes:
        if isinstance(n, Layer):
            found.append(n)
        elif isinstance(n, Residual):
            found += _layers(n.body)
            if n.projection:
                found.append(Layer("shortcut", n.projection, n.out, n.span))
        elif isinstance(n, Parallel):
            for b in n.branches:
                found += _layers(b)
        elif isinstance(n, Sequential):
            found += _layers(n.body)
        elif isinstance(n, Repeat):
            found.append(Layer(n.hint, n.first, n.out, n.span))
            if n.rest:
                found.append(Layer(n.hint, n.rest, n.out, n.span))
        elif isinstance(n, Bind):
            if isinstance(n.join, Layer):
                found.append(n.join)
            found += _layers(n.stages)
    return found


def _ctor_values(ctor: Ctor):
    for a in ctor.args:
        if isinstance(a, Ctor):
            yield from _ctor_values(a)
        else:
            yield a
    for _, v in ctor.kwargs:
        yield v


def _ctor_symbols(node) -> set[Sym]:
    """Symbols that the constructor of a node, and of what it contains, needs:
    constructor arguments, shortcut conditions and repeat counts."""
    syms: set[Sym] = set()
    for layer in _layers([node]):
        for v in _ctor_values(layer.ctor):
            if isinstance(v, Expr):
                syms |= sy.free_symbols(v)
    for n in walk([node]):
        if isinstance(n, Residual):
            syms |= sy.free_symbols(n.needs_projection)
        elif isinstance(n, Repeat):
            syms |= sy.free_symbols(n.count)
    return syms
