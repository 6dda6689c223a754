"""Definitions: a block for the ranks of its inputs, a model, and a model with its defaults.

Each block is analysed once per program, for the input ranks of its first
call, with its parameters and input sizes as symbols (`in_channels`, `H`,
`W`), giving a `ClassIR` whose sizes are expressions over its constructor
arguments; a call substitutes its own values (calls.py). A body is
sequential (statements.py) or, where the definition names its tensors,
dataflow (dataflow.py). A model is analysed the same way; `decide` then
substitutes its parameters' defaults and reports the checks that fail.

`Definitions` owns the analysers of statements, calls and dataflow bodies
for one program, and hands `calls` its `block` for the blocks it calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from ..ir import symbolic as sy
from ..syntax import tree as s
from ..core.diagnostics import Diagnostic, Note, Span, SpecError, error
from ..core.limits import INT64_MAX
from ..core.naming import py_ident
from ..ir.nodes import Bind, ClassIR, Conditional, Ctor, Layer, LayerRef, ParamIR, Parallel, Port, Repeat, Residual, Sequential, Shape, Sizes, Value, walk
from ..ir.symbolic import Expr, Sym
from .arguments import evaluate, number
from .calls import Calls, numeric, subst_check
from .constraints import dim_rules
from .dataflow import Dataflow
from .flow import Failed, Flow, Scope
from .names import check_names
from .primitives import CHANNELS_LAST, PRIMITIVES
from .signature import show_message, show_value
from .state import State
from .statements import Statements
from .unify import forced_equalities, substitute_ir

KEYWORDS = frozenset("block model input output return res add cat shortcut repeat min max true false".split())
_SPATIAL = {1: (), 2: (("L", "length"),), 3: (("H", "height"), ("W", "width")), 4: (("D", "depth"), ("H", "height"), ("W", "width"))}


class Definitions:
    """Analyses the blocks and models of one program, sharing `state`."""

    __slots__ = ("state", "calls", "statements", "dataflow")

    def __init__(self, state: State):
        self.state = state
        self.calls = Calls(state, self.block)
        self.statements = Statements(state, self.calls)
        self.dataflow = Dataflow(state, self.statements, self.calls)

    def block(self, name: str, ranks: tuple[int, ...], span: Span) -> ClassIR:
        """Analyse block `name` for inputs of the given ranks (memoised: a
        block makes one class, for the ranks of its first call).

        Raises:
            SpecError: the block's errors, each with a note at this call;
                LG603 calls nested too deep, LG403 recursion, LG405 other
                ranks than at its first call.
            Failed: the block failed before (its errors are reported).
        """
        state = self.state
        d = state.defs[name]
        if len(state.active) >= state.limits.max_call_depth:
            raise error(
                "LG603", span, f"block calls are nested more than {state.limits.max_call_depth} deep here",
                hint="raise `max-call-depth` under [tool.legoc.limits]",
            )
        if name in state.active:
            through = state.active[state.active.index(name) + 1 :]
            how = f" through {', '.join(f'`{n}`' for n in through)}" if through else ""
            raise error("LG403", span, f"block `{name}` calls itself{how}; blocks cannot be recursive")
        if name in state.ranks and state.ranks[name][0] != ranks:
            first, first_span = state.ranks[name]
            raise error(
                "LG405",
                span,
                f"block `{name}` gets inputs of rank {_ranks(ranks)} here but of rank {_ranks(first)} elsewhere; "
                "one block makes one class, so its input ranks are fixed",
                notes=[Note(f"first used with rank {_ranks(first)} here", first_span)],
            )
        if name in state.cache:
            ir = state.cache[name]
            if ir is None:
                raise Failed()
            if state.reuse is not None:
                state.reuse.called(name, ranks, span, ir)
            return ir
        # Called after an error, with input shapes partly guessed: analyse it
        # to find errors that do not depend on shapes, but remember nothing.
        guessed = bool(state.failed) and state.failed[-1]
        if state.reuse is not None and not guessed:
            reused = state.reuse.replay(self, name, ranks, span)
            if reused is not None:
                return reused
        if not guessed:
            state.ranks[name] = (ranks, span)
        state.active.append(name)
        state.failed.append(guessed)
        state.call_notes.append(Note(f"in this call of `{name}`", span))
        recording = state.reuse is not None and not guessed
        if recording:
            state.reuse.enter(len(state.warnings), len(state.errors))
        ir = None
        try:
            ir = self._block(d, ranks, span)
        except SpecError as exc:
            if not guessed:
                state.cache[name] = None
            note = Note(f"in this call of `{name}`", span)
            raise SpecError([replace(d, notes=d.notes + (note,)) for d in exc.diagnostics]) from None
        except Failed:
            if not guessed:
                state.cache[name] = None
            raise
        finally:
            state.active.pop()
            state.failed.pop()
            state.call_notes.pop()
            if recording:
                state.reuse.leave(name, d, ranks, ir, state.warnings, len(state.errors))
        if guessed:
            raise Failed()
        state.cache[name] = ir
        state.order.append(ir)
        if state.reuse is not None:
            state.reuse.called(name, ranks, span, ir)
        return ir

    def _block(self, d: s.Definition, ranks: tuple[int, ...], span: Span) -> ClassIR:
        """A block's ClassIR: its parameters and input sizes as symbols,
        its body sequential or dataflow."""
        check_names(d)
        if any(isinstance(st, s.Init) for st in d.body):
            from .inits import split_inits  # here: only a spec with `init` lines needs it

            split_inits(d)  # LG236: `init` lines belong in a model
        params, env = self._params(d)
        names = [n.id for n in d.inputs] if d.inputs is not None else [None]
        first = self._first_layer(d.body, set())
        sequence = first is not None and not (first in PRIMITIVES and PRIMITIVES[first].channels_first)
        if sequence and first == "embedding":
            sequence = "tokens"  # a rank-1 input an embedding reads: token ids [T]
        last = first in CHANNELS_LAST and first not in self.state.defs
        shapes = [_input_symbols(index, name, rank, span, sequence, last) for index, (name, rank) in enumerate(zip(names, ranks))]
        taken: dict[str, str] = {}
        for sym in (x for shape in shapes for x in shape):
            if sym.code in taken:
                raise error("LG204", d.span, f"two input sizes of `{d.name}` would both be called `{sym.code}`; rename an input")
            taken[sym.code] = "an input size"
        for p in d.params:
            if py_ident(p.name) in taken:
                raise error("LG204", p.span, f"parameter `{p.name}` has the name legoc gives to an input size of `{d.name}`")
        bound, unusable = _input_names(d, shapes)
        scope = Scope(d.name, {**env, **bound}, unusable)
        if d.inputs is None:
            if any(isinstance(st, (s.Assign, s.Return, s.Output)) for st in d.body):
                raise error("LG404", d.span, f"block `{d.name}` uses named tensors, so it must name its inputs: `block {d.name}(...)(x):`")
            body, flow = self.statements.sequence(d.body, Flow.start(shapes[0]), scope)
            inputs = (Port("x", "x", shapes[0]),)
            outputs = (Port("x", "x", flow.shape),)
            keep, stride = flow.keep, flow.stride
        else:
            ports = [Port(n.id, n.id, shape) for n, shape in zip(d.inputs, shapes)]
            body, inputs, outputs = self.dataflow.graph(d, ports, scope)
            keep, stride = (), ()  # once the sizes it forces equal are one (below)
        if self.state.failed[-1]:
            self.state.settle_known(body.checks)
            raise Failed()  # its errors are reported; its shapes are not to be trusted
        checks = self.state.settle(body.checks)
        # Sizes the checks force equal are one symbol (unify.py); the checks
        # keep the original ones, which each call maps from its tensors.
        unified = forced_equalities(checks)
        sub = sy.substituter(unified)
        nodes = tuple(body.nodes)
        if unified:
            nodes, inputs, outputs = substitute_ir(nodes, sub), substitute_ir(inputs, sub), substitute_ir(outputs, sub)
        if d.inputs is None:
            keep, stride = substitute_ir(keep, sub), substitute_ir(stride, sub)
        else:
            out, first = outputs[0].shape, inputs[0].shape
            # Seen from an enclosing residual, channels compare by size, and
            # another axis is kept only where the output visibly has the
            # input's size.
            kept = [len(ranks) == 1 and len(out) == len(first) and a == b for a, b in zip(out, first)]
            keep = (None,) + tuple(sy.TRUE if k else sy.FALSE for k in kept[1:]) + (sy.FALSE,) * (len(out) - len(kept))
            # An axis whose output has the input's size for every size has
            # a whole stride of 1 (squeeze-and-excitation: `(scale, x) -> mul`).
            stride = tuple(sy.ONE if k else None for k in kept) + (None,) * (len(out) - len(kept))
        needed = set().union(*(_ctor_symbols(n) for n in nodes)) if nodes else set()
        size_params = tuple(sym for shape in shapes for sym in shape if sym in needed and sym.key not in unified)
        return ClassIR(
            "block", d.name, tuple(params), size_params, inputs, outputs, nodes,
            sub(body.n_params), keep, stride, tuple(checks), d.doc, d.span, graph=d.inputs is not None, ties=tuple(body.ties), public=d.public,
        )

    def _params(self, d: s.Definition) -> tuple[list[ParamIR], dict[str, Value]]:
        """A definition's parameters, and what each name means in its body:
        a symbol `p:NAME`, or a layer for a layer-valued parameter."""
        params, env = [], {}
        for p in d.params:
            if p.name in env:
                raise error("LG203", p.span, f"parameter `{p.name}` is listed twice")
            if p.name in KEYWORDS:
                raise error("LG204", p.span, f"`{p.name}` is a keyword of the language and cannot name a parameter")
            if p.name in ("in_channels", "in_features"):
                raise error(
                    "LG204", p.span, f"`{p.name}` is reserved: legoc passes the input's size under this name",
                    hint=f"drop the parameter: `{p.name}` in the body is the size of the block's input",
                )
            default = None
            if p.default is not None:
                default = evaluate(p.default, Scope(d.name, {}), self.state.defs)
                if isinstance(default, Expr) and not sy.is_const(default):
                    raise error("LG401", p.default.span, "a default must be a constant")
            code = py_ident(p.name)
            if isinstance(default, LayerRef):
                env[p.name] = LayerRef("param", p.name, code)
            else:
                env[p.name] = Sym(f"p:{p.name}", p.name, code)
            params.append(ParamIR(p.name, code, default))
        return params, env

    def _first_layer(self, body, seen: set[str]) -> str | None:
        """The primitive that first reads a body's input, looking into
        groups, residuals, parallels, repeats and called blocks.

        A loop, not a recursion: it follows block calls before the call-depth
        limit (LG603) is checked, so a chain of any length must not overflow
        Python's stack."""
        seen = set(seen)
        learned = False
        while body:
            stmt = body[0]
            if isinstance(stmt, s.Call):
                d = self.state.defs.get(stmt.name)
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
            elif isinstance(stmt, s.Assign) and learned and len(stmt.value.sources) > 1:
                # past a join with a learned tensor, `(input, pos_embedding) -> add`, to the layers after it
                body = tuple(st for st in stmt.value.stages if not isinstance(st, s.Merge)) or body[1:]
            elif isinstance(stmt, (s.Assign, s.Return)) and (learned or isinstance(stmt, s.Assign)):
                body = stmt.value.stages
            elif isinstance(stmt, s.Learned):
                body, learned = body[1:], True  # a learned tensor reads no input: the lines after it do
            else:
                return None
        return None

    def model(self, d: s.Definition) -> ClassIR:
        """A model's ClassIR, its parameters symbolic (see `decide`), its
        input sizes those of its `input` lines, with the rules its symbolic
        input sizes must meet (constraints.py).

        Raises:
            SpecError: its errors (each is reported once analysis ends).
            Failed: it had errors, reported already.
        """
        check_names(d)
        inits: tuple[s.Init, ...] = ()
        if any(isinstance(st, s.Init) for st in d.body):
            from .inits import split_inits  # here: only a spec with `init` lines needs it

            d, inits = split_inits(d)
        params, env = self._params(d)
        count = 0
        while count < len(d.body) and isinstance(d.body[count], s.Input):
            count += 1
        scope = Scope(d.name, env, _model_unusable(d, d.body[:count], env))
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
            body, inputs, outputs = self.dataflow.graph(d, ports, scope)
            keep, stride = (sy.FALSE,) * len(outputs[0].shape), (None,) * len(outputs[0].shape)
        else:
            if count > 1:
                raise error("LG404", heads[1].span, "a model with several inputs names them: `input image: [3, H, W]`")
            body, flow = self.statements.sequence(d.body[1:], Flow.start(ports[0].shape), scope)
            inputs, outputs = (ports[0],), (Port("x", "x", flow.shape),)
            keep, stride = flow.keep, flow.stride
        if self.state.failed[-1]:
            self.state.settle_known(body.checks)
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
        checks = self.state.settle(body.checks)
        # Checks on the input sizes alone, and a length against a position
        # embedding's rows (positions.py, LG322: `T <= n_positions`).
        sized = [c for c in checks if c.severity == "error" and sy.free_symbols(c.cond) and (not sy.free_symbols(c.cond) & param_syms or c.code == "LG322")]
        rules = dim_rules(inputs, sized)
        for c in rules.impossible:
            self.state.report(SpecError([self.state.at_user_code(Diagnostic("error", c.span, "no input size satisfies this: " + show_message(c.message), c.notes, c.hint, "LG305"))]))
        ir = ClassIR(
            "model", d.name, tuple(params), (), inputs, outputs, tuple(body.nodes), body.n_params,
            keep, stride, tuple(checks), d.doc, d.span, graph=graph, dim_rules=rules.rules, ties=tuple(body.ties), public=True,
        )
        if inits:
            from .inits import analyse_inits

            ir = replace(ir, inits=analyse_inits(inits, ir, self.state.cache, scope, self.state.defs))
        return ir

    def _input_shape(self, stmt: s.Input, scope: Scope) -> Shape:
        """The shape of an `input` line: a name not bound in `scope` is a
        symbolic size (`H`), anything else a number."""
        dims = []
        for dim in stmt.dims:
            if isinstance(dim, s.Name) and dim.id not in scope.env:
                dims.append(Sym(f"dim:{dim.id}", dim.id, py_ident(dim.id)))
            else:
                size = number(dim, scope, self.state.defs)
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
            self.state.report(error("LG404", d.span, f"model parameters need defaults: {', '.join(missing)}"))
            return ir
        sub = sy.substituter(mapping)  # one memo for the whole model
        ports = lambda ps: tuple(replace(p, shape=tuple(sub(x) for x in p.shape)) for p in ps)  # noqa: E731
        defaults = {f"p:{p.name}": p.default.span for p in d.params if p.default is not None}
        try:
            arg_checks = self.calls.check_arguments(ir.checks, sub, mapping, defaults.get, Note(f"with the defaults of `{d.name}`", d.span), d.span)
        except SpecError as exc:
            self.state.report(SpecError([self.state.at_user_code(x) for x in exc.diagnostics]))
            return ir
        try:
            held = numeric(mapping)
            substituted = (subst_check(c, sub, drop_held=held) for c in ir.checks if not c.origin)
            checks = self.state.settle(arg_checks + [c for c in substituted if c is not None])
            self._check_sizes(ir, sub)
            inputs = ports(ir.inputs)
        except sy.NotANumber as exc:  # `model M(n=true)` where the model computes with n
            param = next((p for p in d.params if p.default is not None and mapping.get(f"p:{p.name}") == exc.value), None)
            if param is None:
                self.state.report(error("LG401", d.span, f"a default of `{d.name}` has the wrong type: {exc}"))
            else:
                self.state.report(error("LG401", param.default.span, f"the default of `{param.name}` has the wrong type: {exc}"))  # type: ignore[union-attr]
            return ir
        for size in (size for port in inputs for size in port.shape):
            if isinstance(sy.value_of(size), (bool, str, float)):  # `model M(n=0.5)` with `input [n]`
                self.state.report(error("LG401", d.span, f"with its defaults, an input size of `{d.name}` is {show_value(sy.value_of(size))}, not an integer"))
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
                self.state.report(error("LG606", span, message, hint="make the sizes smaller; `max-size` cannot raise this limit"))
                return
            self.state.report(error("LG606", span, f"{what} is {value:,}, over the limit of {limit:,}", hint="raise `max-size` under [tool.legoc.limits]"))

        shapes = [(p.shape, ir.span) for p in ir.inputs] + [(n.out, n.span) for n in walk(ir.body)]
        seen: set[Shape] = set()
        for shape, span in shapes:
            if shape in seen:  # shapes repeat; the first place is the one reported
                continue
            seen.add(shape)
            sizes = [sy.value_of(sub(e)) for e in shape]
            for v in sizes:
                if isinstance(v, int) and v > self.state.limits.max_size:
                    return too_large("a size here", v, self.state.limits.max_size, span)
            known = [v for v in sizes if isinstance(v, int)]
            if math.prod(known) > INT64_MAX:
                return too_large("the tensor's element count", math.prod(known), INT64_MAX, span)
        n_params = sy.value_of(sub(ir.n_params))
        if isinstance(n_params, int) and n_params > INT64_MAX:
            too_large("the parameter count", n_params, INT64_MAX, ir.span)


def _ranks(ranks: tuple[int, ...]) -> str:
    """Ranks as messages write them: `3, 3`."""
    return ", ".join(map(str, ranks))


def _input_symbols(index: int, name: str | None, rank: int, span: Span, sequence: bool | str, last: bool = False) -> Shape:
    """Symbols for a block input's sizes: `[in_channels, H, W]` for the
    first, `[skip_channels, skip_H, skip_W]` for one named `skip` after it.
    A rank-2 input read first by a sequence layer (linear, layernorm, lstm,
    rearrange, ...) is `[T, in_features]`; by a convolution, `[in_channels, L]`.
    A rank-1 input read first by an embedding (`sequence` is "tokens") is
    token ids, `[T]`. A rank-3 input read first by a channels-last layer
    (`last`: layernorm, Swin's layers) is `[H, W, in_features]`."""
    labels = _SPATIAL.get(rank)
    if labels is None:
        raise error("LG302", span, f"block inputs must have rank 1 to 4, not {rank}")
    prefix = "in" if index == 0 else name
    if rank == 1 and sequence == "tokens":
        names = [("T" if index == 0 else f"{name}_T", "seq_len" if index == 0 else f"{name}_seq_len")]
    elif rank == 3 and last:
        names = [(label, code) if index == 0 else (f"{name}_{label}", f"{name}_{code}") for label, code in labels] + [(f"{prefix}_features",) * 2]
        return tuple(Sym(f"in:{index}:{axis}", label, code) for axis, (label, code) in enumerate(names))
    elif rank == 2 and sequence:
        names = [("T" if index == 0 else f"{name}_T", "seq_len" if index == 0 else f"{name}_seq_len"), (f"{prefix}_features",) * 2]
    elif index == 0:
        first = "in_features" if rank == 1 else "in_channels"
        names = [(first, first)] + list(labels)
    else:
        first = f"{name}_features" if rank == 1 else f"{name}_channels"
        names = [(first, first)] + [(f"{name}_{label}", f"{name}_{code}") for label, code in labels]
    return tuple(Sym(f"in:{index}:{axis}", label, code) for axis, (label, code) in enumerate(names))


_SIZE_NAMES = ("in_channels", "in_features")


def _input_names(d: s.Definition, shapes: list[Shape]) -> tuple[dict[str, Value], dict[str, tuple[str, str, str | None]]]:
    """What the input's size names mean in block `d`'s body, whose inputs
    have the symbolic `shapes`: `in_channels` (or `in_features`) is the
    size of the input the block receives, for a block with one input;
    several inputs make it ambiguous (LG209). The other axes (`H`, `W`,
    `T`, ...) are known only when forward runs, so a constructor cannot
    use them (LG307)."""
    bound: dict[str, Value] = {}
    unusable: dict[str, tuple[str, str, str | None]] = {}
    for shape in shapes:
        for sym in shape:
            if sym.code not in _SIZE_NAMES and not sym.code.endswith(("_channels", "_features")):
                unusable[str(sym.label)] = (
                    "LG307", f"`{sym.label}` is a size of `{d.name}`'s input known only when forward runs; a layer's constructor cannot use it",
                    "make it a parameter of the block",
                )
    if len(shapes) > 1:
        inputs = ", ".join(f"`{n.id}`" for n in d.inputs or ())
        for name in _SIZE_NAMES:
            unusable[name] = (
                "LG209", f"`{name}` is ambiguous in block `{d.name}`, which has {len(shapes)} inputs ({inputs})",
                "pass the size as a parameter of the block",
            )
        return bound, unusable
    for sym in shapes[0]:
        if sym.code in _SIZE_NAMES:
            bound[sym.code] = sym
    for name in _SIZE_NAMES:
        if name not in bound and bound:
            other = next(iter(bound))
            unusable[name] = ("LG202", f"`{name}` is not a size of `{d.name}`'s input, whose sizes are [{', '.join(sy.to_text(x) for x in shapes[0])}]", f"use `{other}`")
    return bound, unusable


def _model_unusable(d: s.Definition, heads, env: dict[str, Value]) -> dict[str, tuple[str, str, str | None]]:
    """The names a model's body cannot use as values: `in_channels` and
    `in_features` (LG209; a model states its input sizes), and the
    symbolic sizes of its `input` lines (LG307)."""
    unusable: dict[str, tuple[str, str, str | None]] = {
        name: ("LG209", f"`{name}` names a block's input size; model `{d.name}` states its input sizes in its `input` line",
               f"name the size with a parameter of the model: `model {d.name}(c=3):` with `input [c, ...]`")
        for name in _SIZE_NAMES
    }
    for head in heads:
        for dim in head.dims:
            if isinstance(dim, s.Name) and dim.id not in env:
                unusable[dim.id] = (
                    "LG307", f"`{dim.id}` is a symbolic input size of `{d.name}`, known only when forward runs; a layer's constructor cannot use it",
                    "give the model a fixed input size for that axis, or make it a model parameter",
                )
    return unusable


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
        elif isinstance(n, (Sequential, Conditional)):
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
    """Every argument value of a constructor call, nested calls' too."""
    for a in ctor.args:
        if isinstance(a, Ctor):
            yield from _ctor_values(a)
        else:
            yield a
    for _, v in ctor.kwargs:
        if isinstance(v, Sizes):
            yield from v.items
        else:
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
            syms |= sy.free_symbols(n.needs_projection) | sy.free_symbols(n.skip)
        elif isinstance(n, Conditional):
            syms |= sy.free_symbols(n.cond)
        elif isinstance(n, Repeat):
            syms |= sy.free_symbols(n.count)
    return {x for x in syms if not x.key.startswith("idx:")}  # a repeat's index: its own loop variable
