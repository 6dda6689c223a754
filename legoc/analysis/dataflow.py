"""Shape inference for dataflow definitions: named tensors through pipelines.

    x2 = x1 -> maxpool 2 -> double_conv 128
    y = (x5, x4) -> up 512
    output logits = y -> conv classes kernel_size=1

`Dataflow` walks the lines of a `model` with named inputs or a `block`
that names its inputs: each assignment's pipeline (its stages are
statements: statements.py), the tuple joins (`cat`, `add`, a block with
several inputs: calls.py), `return` and `output` lines. It tracks every
tensor's shape, and reports undefined, redefined and unused tensors.
"""

from __future__ import annotations

from dataclasses import replace

from ..ir import symbolic as sy
from ..syntax import tree as s
from ..core.diagnostics import Diagnostic, Note, Span, SpecError, error
from ..core.naming import close_match, local_ident
from ..ir.nodes import ELEMENTWISE, Bind, Ctor, Layer, Port, Shape
from ..ir.symbolic import Expr
from .arguments import number
from .calls import Calls
from .flow import Body, Failed, Flow, Scope, merge_shapes
from .learned import cat_with_learned, learned_keywords
from .positions import ARANGE, arange, embedding_bound, is_arange, misused
from .primitives import PRIMITIVES
from .recurrent import receivers, recurrent_call, with_state
from .signature import show_shape, show_value
from .split import is_split, misplaced, no_split, split_shapes, unbind_shapes
from .state import State
from .statements import Statements

PRODUCTS = ("einsum", "matmul", "attention")
"""The joins that multiply tensors (products.py, imported when a spec uses one)."""


class _Tensor:
    """A named tensor of a dataflow body: its shape, where it was defined,
    whether it was used, whether it is an input."""

    __slots__ = ("shape", "span", "used", "is_input", "learned", "batched", "positions")

    def __init__(
        self, shape: Shape, span: Span | None, used: bool = False, is_input: bool = False, learned: bool = False, batched: bool = False,
        positions: Expr | None = None,
    ):
        self.shape = shape
        self.span = span
        self.used = used
        self.is_input = is_input
        self.learned = learned  # a learned tensor (`name: param [...]`): no batch axis
        self.batched = batched  # ... stored with a batch axis of 1 (`batch=1`): joins as a tensor of the graph
        self.positions = positions  # computed from `arange`'s positions (no batch axis): their count


class _Graph:
    """The named tensors, outputs and result of a dataflow body so far."""

    __slots__ = ("tensors", "outputs", "result")

    def __init__(self) -> None:
        self.tensors: dict[str, _Tensor] = {}
        self.outputs: list[Port] = []
        self.result: tuple[Port, ...] | None = None  # a block's results: one, or several (`return x, skip`)


class Dataflow:
    """Analyses dataflow bodies; the stages of a pipeline go to
    `statements`, a block joining a tuple to `calls`."""

    __slots__ = ("state", "statements", "calls")

    def __init__(self, state: State, statements: Statements, calls: Calls):
        self.state = state
        self.statements = statements
        self.calls = calls

    def graph(self, d: s.Definition, ports: list[Port], scope: Scope) -> tuple[Body, tuple[Port, ...], tuple[Port, ...]]:
        """Analyse a dataflow body. Returns the body, the input ports and the
        output ports (a block's `return`, a model's `output`s in order)."""
        g = _Graph()
        if d.inputs:
            input_spans = {n.id: n.span for n in d.inputs}
        else:
            input_spans = {}
            for st in d.body:
                if isinstance(st, s.Input) and st.name is not None:
                    if st.name in input_spans:
                        raise error("LG203", st.span, f"input `{st.name}` is named twice")
                    input_spans[st.name] = st.span
        inputs = []
        for port in ports:
            if port.name in g.tensors:
                raise error("LG203", input_spans.get(port.name) or d.span, f"input `{port.name}` is named twice")
            g.tensors[port.name] = _Tensor(port.shape, input_spans.get(port.name), is_input=True)
            inputs.append(Port(port.name, local_ident(port.name), port.shape))
        body = Body.empty()
        for stmt in d.body:
            try:
                self._line(g, d, stmt, scope, body)
            except (SpecError, Failed) as exc:
                self._recover_line(g, stmt, exc)
        if self.state.failed[-1]:
            self.state.settle_known(body.checks)
            raise Failed()  # its errors are reported; what follows would only repeat them
        if d.kind == "block":
            if g.result is None:
                raise error("LG404", d.span, f"block `{d.name}` needs a `return` line giving its result")
            outputs = g.result
        else:
            if not g.outputs:
                raise error("LG404", d.span, f"model `{d.name}` needs at least one `output name = ...` line")
            outputs = tuple(g.outputs)
        for name, tensor in g.tensors.items():
            if not tensor.used and tensor.span is not None:
                what = "input" if tensor.is_input else "tensor"
                self.state.warnings.append(Diagnostic("warning", tensor.span, f"{what} `{name}` is never used", code="LG507"))
        return body, tuple(inputs), outputs

    def _line(self, g: _Graph, d: s.Definition, stmt, scope: Scope, body: Body) -> None:
        """One line of a dataflow definition."""
        if isinstance(stmt, s.Input):
            if d.kind == "block":
                raise error("LG404", stmt.span, "`input` belongs to models; a block names its inputs in its header: `block b(c)(x):`")
            return
        if isinstance(stmt, s.Learned):
            self._learned(g, stmt, scope, body)
        elif isinstance(stmt, s.Tie):
            from .ties import tie  # here: only a spec that ties weights needs it

            tie(stmt, body, self.state.cache)
        elif isinstance(stmt, s.Assign) and stmt.parts:
            taken = {st.target for st in d.body if isinstance(st, s.Assign)} | set(g.tensors)
            temp = next(n for n in ("parts", *(f"parts{i}" for i in range(2, len(taken) + 3))) if n not in taken)
            self._define(g, temp, stmt.span, stmt.value, scope, body, parts=stmt.parts)
        elif isinstance(stmt, s.Assign):
            self._define(g, stmt.target, stmt.target_span, stmt.value, scope, body)
        elif isinstance(stmt, s.Return):
            if d.kind != "block":
                raise error("LG404", stmt.span, "a model gives its results with `output name = ...`, not `return`")
            if g.result is not None:
                raise error("LG404", stmt.span, "a block returns once, on its last line")
            if stmt.several:
                g.result = tuple(self._result(g, name) for name in stmt.value.sources)
            else:
                taken = {st.target for st in d.body if isinstance(st, s.Assign)} | set(g.tensors)
                name = next(n for n in ("out", "result", "y", *(f"out{i}" for i in range(len(taken) + 1))) if n not in taken)
                shape = self._define(g, name, stmt.span, stmt.value, scope, body, returned=True)
                g.result = (Port(name, local_ident(name), shape),)
            if stmt is not d.body[-1]:
                raise error("LG404", stmt.span, "`return` must be the last line of a block")
        elif isinstance(stmt, s.Output):
            if d.kind != "model":
                raise error("LG404", stmt.span, "a block gives its result with `return ...`, not `output`")
            self._output(g, stmt, scope, body)
        else:
            raise error("LG404", stmt.span, "in a definition with named tensors, each line names its result: `y = x -> ...`")

    def _learned(self, g: _Graph, stmt: s.Learned, scope: Scope, body: Body) -> None:
        """`name: param [C, 1, 1] init=1e-6`: an nn.Parameter attribute
        `name`, filled with `init` (a number, `zeros`, or `normal` with
        `std=`), usable as an elementwise operand; with `batch=1`, stored
        with a leading batch axis of 1 and usable in `cat` too."""
        if stmt.name in g.tensors:
            raise error("LG208", stmt.name_span, f"tensor `{stmt.name}` is defined twice")
        dims = []
        for dim in stmt.dims:
            size = number(dim, scope, self.state.defs)
            value = sy.value_of(size)
            if isinstance(value, (bool, str, float)) or isinstance(value, int) and value < 1:
                raise error("LG401", dim.span, f"a learned tensor's size must be a positive integer, not {show_value(value)}")
            dims.append(size)
        if not dims:
            raise error("LG404", stmt.span, "a learned tensor needs at least one axis: `param [C, 1, 1] init=0.0`")
        kwargs = learned_keywords(stmt, scope, self.state.defs)
        batched = ("batch", sy.TRUE) in kwargs
        shape = tuple(dims)
        n_params: Expr = sy.ONE
        for dim in shape:
            n_params = sy.mul(n_params, dim)
        stored = (sy.ONE, *shape) if batched else shape  # torchvision's class_token: [1, 1, hidden_dim]
        body.nodes.append(Layer("param", Ctor("tensor", "nn.Parameter", stored, kwargs), stored, stmt.span, apply="tensor", name=stmt.name))
        body.n_params = sy.add(body.n_params, n_params)
        g.tensors[stmt.name] = _Tensor(shape, stmt.name_span, learned=True, batched=batched)

    def _recover_line(self, g: _Graph, stmt, exc: Exception) -> None:
        """After a failed line: report it (see `State.recover`) and define what
        the line defines with unknown sizes, so later lines can be checked."""
        value = getattr(stmt, "value", None)
        known = [g.tensors[n.id] for n in value.sources if n.id in g.tensors] if isinstance(value, s.Pipeline) else []
        flow = self.state.recover(exc, Flow.start(known[0].shape) if known else None)
        for name in value.sources if isinstance(value, s.Pipeline) else ():
            if name.id in g.tensors:
                g.tensors[name.id].used = True
        target = stmt.target if isinstance(stmt, s.Assign) else stmt.name if isinstance(stmt, (s.Output, s.Learned)) else None
        for name in [p.id for p in stmt.parts] if isinstance(stmt, s.Assign) and stmt.parts else [target]:
            if name is not None and name not in g.tensors:
                g.tensors[name] = _Tensor(flow.shape, None, used=True)
        if isinstance(stmt, s.Return) and g.result is None:
            g.result = (Port("out", "out", flow.shape),)

    def _result(self, g: _Graph, name: s.Name) -> Port:
        """One tensor of `return x, skip`: a tensor of the graph, which the
        block returns as it is."""
        tensor = self._lookup(g, name)
        if tensor.learned:
            raise error("LG404", name.span, f"the learned tensor `{name.id}` has no batch axis, so a block does not return it", hint="return a tensor of the graph")
        return Port(name.id, local_ident(name.id), tensor.shape)

    def _output(self, g: _Graph, stmt: s.Output, scope: Scope, body: Body) -> None:
        if any(p.name == stmt.name for p in g.outputs):
            raise error("LG208", stmt.name_span, f"output `{stmt.name}` is given twice")
        if stmt.value is None:
            tensor = self._lookup(g, s.Name(stmt.name, stmt.name_span))
            shape = tensor.shape
        else:
            shape = self._define(g, stmt.name, stmt.name_span, stmt.value, scope, body)
        g.tensors[stmt.name].used = True
        if g.tensors[stmt.name].positions is not None:
            raise misused("a model's output", stmt.name_span)
        g.outputs.append(Port(stmt.name, local_ident(stmt.name), shape))

    def _lookup(self, g: _Graph, name: s.Name) -> _Tensor:
        tensor = g.tensors.get(name.id)
        if tensor is None:
            close = close_match(name.id, g.tensors)
            raise error("LG207", name.span, f"tensor `{name.id}` is not defined", hint=f"did you mean `{close}`?" if close else None)
        tensor.used = True
        return tensor

    def _define(self, g: _Graph, target: str, span: Span, p: s.Pipeline, scope: Scope, body: Body, returned=False, parts: tuple[s.Name, ...] = ()) -> Shape:
        """Analyse `target = pipeline`, add its Bind node, and define target;
        with `parts` (`(a, b) = x -> chunk 2`), define the parts instead
        (`target` is then the local holding the tensor before the split)."""
        sources = [s_.id for s_ in p.sources]
        for name, name_span in [(n.id, n.span) for n in parts] or [(target, span)]:
            if any(port.name == name for port in g.outputs):
                raise error("LG208", name_span, f"`{name}` is already an output and cannot be redefined")
            previous = g.tensors.get(name)
            if previous is not None and name not in sources:
                notes = [Note(f"`{name}` is first defined here", previous.span)] if previous.span else []
                raise error("LG208", name_span, f"tensor `{name}` is defined twice", notes=notes, hint="give the new tensor its own name, or use the old value in its pipeline")
        for i, part in enumerate(parts):
            if any(other.id == part.id for other in parts[:i]):
                raise error("LG208", part.span, f"`{part.id}` names two parts of one split")
        tensors = [self._lookup(g, name) for name in p.sources]
        shapes = [tensor.shape for tensor in tensors]
        learned = [tensor.learned for tensor in tensors]
        count = next((t.positions for t in tensors if t.positions is not None), None)  # positions.py
        stages = list(p.stages)
        joins = (*ELEMENTWISE, "cat") if all(t.batched for t in tensors if t.learned) else ELEMENTWISE
        if any(learned) and not (len(shapes) > 1 and stages and isinstance(stages[0], s.Merge) and stages[0].mode in joins):
            name = next(n for n, is_learned in zip(p.sources, learned) if is_learned)
            if g.tensors[name.id].batched:
                raise error(
                    "LG404", name.span, f"the learned tensor `{name.id}` is an operand of `cat`, `add`, `sub`, `mul` or `div`, such as `({name.id}, x) -> cat`",
                    hint="it is one sample's tensor, broadcast over the batch where it joins the graph's tensors",
                )
            raise error(
                "LG404", name.span, f"the learned tensor `{name.id}` is an operand of `add`, `sub`, `mul` or `div`, such as `(x, {name.id}) -> mul`",
                hint="a learned tensor has no batch axis: it scales, shifts or divides the tensors of the batch"
                + ("; with `batch=1` it has one, and joins `cat` too" if stages and isinstance(stages[0], s.Merge) and stages[0].mode == "cat" else ""),
            )
        join = None
        inner = Body.empty()
        split = results = None
        if parts:
            if stages and is_split(stages[-1], scope, self.state.defs):
                split = stages.pop()
            elif stages and (self._block_stage(stages[-1], scope) is not None or recurrent_call(stages[-1], scope, self.state.defs) is not None):
                results = stages.pop()  # `(y, skip) = x -> down 64`: a block that returns several tensors; `(y, h, c) = x -> lstm 64`
            else:
                early = next((st for st in stages if is_split(st, scope, self.state.defs)), None)
                raise misplaced(early) if early is not None else no_split(p, parts)
        positions = stages and is_arange(stages[0], scope, self.state.defs)
        if positions:  # `pos = idx -> arange`: torch.arange(T, device=idx.device)
            shape = joined = arange(stages.pop(0), shapes)  # type: ignore[arg-type]
            join, product, count = ARANGE, None, shape[0]
        elif len(shapes) > 1:
            no_batch = [is_learned and not t.batched or t.positions is not None for is_learned, t in zip(learned, tensors)]
            if not stages and results is not None:  # `(y, skip) = (a, b) -> down 64`: the block joins the tuple
                shape, join, product = self._join(results, shapes, scope, inner, no_batch, [n.span for n in p.sources], several=True)
                results = join
            elif not stages:
                several = f"to return the tensors, write `return {', '.join(n.id for n in p.sources)}`" if returned else None
                raise error("LG404", p.span, "a tuple of tensors must flow into `cat`, `add` or a block with several inputs", hint=several)
            else:
                first = stages.pop(0)
                if count is not None and not (isinstance(first, s.Merge) and first.mode in ELEMENTWISE):
                    raise misused("joined but by `add`, `sub`, `mul` or `div`", first.span)
                if all(learned) and isinstance(first, s.Merge):
                    raise error("LG404", first.span, f"`{first.mode}` of learned tensors only has no batch axis; join them with a tensor of the graph")
                if isinstance(first, s.Merge) and first.mode == "cat" and any(learned):  # a class token before the patches' tokens
                    shape, checks = cat_with_learned(first.span, p.sources, shapes, learned)
                    inner.checks += checks
                    join, product = "cat", None
                else:
                    shape, join, product = self._join(first, shapes, scope, inner, no_batch, [n.span for n in p.sources])
            joined = shape
        else:
            shape, joined, product = shapes[0], None, None
        equation, options = (product.equation, product.options) if product is not None else ("", ())
        flow = Flow.start(shape)
        for stage in stages:
            if isinstance(stage, s.Merge):
                raise error("LG404", stage.span, f"`{stage.mode}` joins a tuple of tensors, such as `(a, b) -> {stage.mode}`")
            if isinstance(stage, s.Scale) and isinstance(stage.operand, s.Name) and getattr(g.tensors.get(stage.operand.id), "learned", False):
                name = stage.operand.id
                raise error("LG404", stage.span, f"`{stage.mode} {name}` takes a number; the learned tensor `{name}` joins as a tuple", hint=f"write `(y, {name}) -> {stage.mode}`")
            flow = self.statements.statement(stage, flow, scope, inner)
        batchless = count is not None and (positions or len(shapes) == 1)
        if batchless:
            if split is not None or returned:
                raise misused("split" if split is not None else "returned by a block", span)
            bound = embedding_bound(count, tuple(inner.nodes), inner.nodes[0].span if inner.nodes else span)  # type: ignore[arg-type, union-attr]
            if bound is not None:
                inner.checks.append(bound)
        code = local_ident(target)
        codes = tuple(f"self.{n}" if is_learned else local_ident(n) for n, is_learned in zip(sources, learned))
        if results is not None:
            part_shapes = self._unpack(results, flow, scope, inner, parts)
            locals_ = tuple((local_ident(n.id), shape) for n, shape in zip(parts, part_shapes))
            body.nodes.append(Bind(code, codes, join, joined, tuple(inner.nodes), part_shapes[0], span, locals_, equation=equation, unpack=True))
        elif split is not None:
            unbind = None
            if split.name == "unbind":
                sizes = ()
                unbind, part_shapes, check = unbind_shapes(split, flow.shape, parts, scope, self.state.defs)
            else:
                sizes, part_shapes, check = split_shapes(split, flow.shape, parts, scope, self.state.defs)
            inner.checks.append(check)
            if join is None and not inner.nodes:
                code = codes[0]  # `(a, b) = x -> chunk 2`: x.chunk(2, dim=1)
            locals_ = tuple((local_ident(n.id), shape) for n, shape in zip(parts, part_shapes))
            body.nodes.append(Bind(code, codes, join, joined, tuple(inner.nodes), flow.shape, span, locals_, sizes, unbind, equation, options))
        else:
            expand = tuple(len(t.shape) + 1 if t.batched and join == "cat" else 0 for t in tensors)
            body.nodes.append(
                Bind(code, codes, join, joined, tuple(inner.nodes), flow.shape, span, equation=equation, options=options, batchless=bool(batchless), expand=expand if any(expand) else ())
            )
        body.n_params = sy.add(body.n_params, inner.n_params)
        body.checks += inner.checks
        if split is not None or results is not None:
            for n, shape in zip(parts, part_shapes):
                g.tensors[n.id] = _Tensor(shape, n.span)
        elif not returned:
            g.tensors[target] = _Tensor(flow.shape, span, positions=count if batchless else None)
        return flow.shape

    def _block_stage(self, stage, scope: Scope) -> s.Call | None:
        """The call, where `stage` (possibly named) calls a block: the last
        stage of `(a, b) = x -> ...` that may return several tensors."""
        call = stage.layer if isinstance(stage, s.Named) else stage
        if not isinstance(call, s.Call) or call.name in scope.env or call.name in PRIMITIVES:
            return None
        d = self.state.defs.get(call.name)
        return call if d is not None and d.kind == "block" else None

    def _unpack(self, stage, flow: Flow, scope: Scope, inner: Body, parts: tuple[s.Name, ...]) -> tuple[Shape, ...]:
        """`(y, skip) = x -> down 64`: the call of a block that returns
        several tensors (`stage`, the pipeline's last; or the `Layer` that
        joined its tuple), added to `inner`. Returns the shapes of its
        results, one per name (LG229 where they disagree)."""
        if isinstance(stage, Layer):
            node, call = stage, None
        elif recurrent_call(stage, scope, self.state.defs) is not None:  # `(y, h, c) = x -> lstm 64`: from the zero state
            node = with_state(self.statements, stage, [flow.shape], [], scope, inner, returns=True)
            inner.nodes.append(node)
        else:
            call = self._block_stage(stage, scope)
            assert call is not None
            d = self.state.defs[call.name]
            if d.inputs is not None and len(d.inputs) != 1:
                raise error("LG402", call.name_span, f"block `{call.name}` takes {len(d.inputs)} inputs; give it a tuple: `(a, b) -> {call.name} ...`")
            node, n_params, checks, _ = self.calls.block_call(call, [flow.shape], scope, {}, flow, several=True)
            node = replace(node, name=stage.name) if isinstance(stage, s.Named) else node
            inner.nodes.append(node)
            inner.n_params = sy.add(inner.n_params, n_params)
            inner.checks += checks
        if node.apply == "state":  # recurrent.py
            receivers(node, node.span, parts)
            return node.results
        count = len(node.results) or 1
        if count != len(parts):
            names = ", ".join(p.id for p in parts)
            block = node.ctor.target
            returns = f"returns {count} tensors" if count > 1 else "returns one tensor"
            raise error(
                "LG229", call.name_span if call is not None else node.span, f"block `{block}` {returns}, but {len(parts)} names receive them: ({names})",
                hint=f"name one tensor per result of `{block}`" if count > 1 else f"write `y = ... -> {block} ...`, or split its result with `chunk` or `split`",
            )
        return node.results

    def _join(self, stage, shapes: list[Shape], scope: Scope, inner: Body, learned: list[bool], spans: list[Span], several: bool = False):
        """The first stage after a tuple: `cat`, an elementwise join (`add`,
        `sub`, `mul`, `div`), or a block with as many inputs as the tuple
        has tensors. `learned`: which of the tensors are learned ones (no
        batch axis: of a rank at most the others'); `spans`: where the
        tuple names them. Returns the shape, the join and, for a product
        (products.py), its `Product`."""
        if isinstance(stage, s.Merge):
            batched = [shape for shape, is_learned in zip(shapes, learned) if not is_learned]
            ranks = {len(shape) for shape in batched}
            if not batched:
                raise error("LG404", stage.span, f"`{stage.mode}` of learned tensors only has no batch axis; join them with a tensor of the graph")
            if any(is_learned and len(shape) > len(batched[0]) for shape, is_learned in zip(shapes, learned)) and len(ranks) == 1:
                raise error(
                    "LG302", stage.span,
                    f"a learned tensor has no batch axis, so it broadcasts only with tensors of its rank or more: {', '.join(show_shape(x) for x in shapes)}",
                )
            if len(ranks) != 1:
                raise error("LG302", stage.span, f"`{stage.mode}` needs tensors of one rank: {', '.join(show_shape(x) for x in shapes)}")
            shape, check = merge_shapes(stage.mode, shapes, stage.span)
            inner.checks.append(check)
            return shape, stage.mode, None
        if recurrent_call(stage, scope, self.state.defs) is not None:  # `(x, h0, c0) -> lstm 64`: recurrent.py
            node = with_state(self.statements, stage, shapes, spans, scope, inner, returns=several)
            return node.out, node, None
        name = None
        if isinstance(stage, s.Named) and isinstance(stage.layer, s.Call):
            name, stage = stage.name, stage.layer
        if isinstance(stage, s.Call) and stage.name in self.state.broken:
            raise Failed()  # its syntax errors are reported
        if isinstance(stage, s.Call) and stage.name in PRODUCTS and stage.name not in self.state.defs and stage.name not in scope.env:
            if name is not None:
                raise error("LG424", stage.span, f"`{stage.name}` has no parameters, so it takes no name", hint=f"write `{stage.name}` without `{name}:`")
            product = self._product(stage, shapes, scope, spans)
            inner.checks += product.checks
            return product.shape, stage.name, product
        if isinstance(stage, s.Call) and stage.name not in PRIMITIVES and stage.name not in scope.env:
            d = self.state.defs.get(stage.name)
            if d is not None and d.kind == "block":
                if d.inputs is None or len(d.inputs) != len(shapes):
                    count = 1 if d.inputs is None else len(d.inputs)
                    raise error("LG402", stage.name_span, f"block `{stage.name}` takes {count} input{'s' if count != 1 else ''}, but the tuple has {len(shapes)}")
                node, n_params, checks, out = self.calls.block_call(stage, shapes, scope, {}, several=several)
                inner.n_params = sy.add(inner.n_params, n_params)
                inner.checks += checks
                return out.shape, replace(node, name=name), None
            if d is None and stage.name not in ("rearrange", "reduce", *PRODUCTS):
                raise self.calls.unknown_layer(stage, scope)
        raise error("LG404", stage.span, "a tuple of tensors must flow into `cat`, `add` or a block with several inputs")

    def _product(self, stage: s.Call, shapes: list[Shape], scope: Scope, spans: list[Span]):
        """`(a, b) -> einsum "PATTERN"`, `(a, b) -> matmul` or `(q, k, v) -> attention` (products.py)."""
        from .products import ATTENTION_KEYWORDS, attention, einsum, matmul  # here: only a product needs it
        if stage.name == "attention":
            if stage.args:
                raise error("LG426", stage.args[0].span, "`attention` takes only keywords: `causal=`, `dropout=`, `scale=`", hint="write `(q, k, v) -> attention causal=true`")
            options = {}
            for keyword in stage.keywords:
                if keyword.name not in ATTENTION_KEYWORDS:
                    close = close_match(keyword.name, ATTENTION_KEYWORDS)
                    raise error("LG426", keyword.span, f"`attention` has no keyword `{keyword.name}`; its keywords are `causal`, `dropout` and `scale`",
                                hint=f"did you mean `{close}`?" if close else None)
                if keyword.name in options:
                    raise error("LG426", keyword.span, f"`{keyword.name}` is given twice")
                options[keyword.name] = (number(keyword.value, scope, self.state.defs), keyword.value.span)
            return attention(stage.span, shapes, spans, options)
        if stage.name == "matmul":
            if stage.args or stage.keywords:
                where = stage.args[0].span if stage.args else stage.keywords[0].span
                raise error("LG424", where, "`matmul` takes no arguments", hint="write `(a, b) -> matmul`; for other axes, use `einsum` with a pattern")
            return matmul(stage.span, shapes)
        usage = '`(f, f) -> einsum "c h w, d h w -> c d"`'
        if not stage.args or not (isinstance(stage.args[0], s.Literal) and isinstance(stage.args[0].value, str)):
            raise error("LG424", stage.args[0].span if stage.args else stage.name_span, "`einsum` takes a pattern string", hint=f"write {usage}")
        if len(stage.args) > 1 or stage.keywords:
            where = stage.args[1].span if len(stage.args) > 1 else stage.keywords[0].span
            raise error("LG424", where, "`einsum` takes only its pattern string; every size comes from its operands", hint=f"write {usage}")
        pattern = stage.args[0]
        return einsum(pattern.value, pattern.span, shapes)  # type: ignore[arg-type]
