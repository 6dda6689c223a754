"""A model built with its defaults, as a tree of module calls over tensors.

`instantiate` unrolls a model's analysed IR the way its generated module
runs: every block call becomes the block's own calls, every repeat its
repetitions, with the module path each call has in the generated code
(`layer1.0.conv1`, from layout.py, as in the state_dict) and the shape of
every tensor. `legoc summary` (summary.py) counts parameters and mult-adds
over it; `legoc graph` (diagram.py) draws it.

Shapes are `symbolic.Expr`s without the batch axis, over the model's
symbolic input sizes (`H`) unless inputs.bind_inputs gave them values. No torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..ir import symbolic as sy
from ..core.diagnostics import Span
from ..analysis.infer import Analysis
from ..ir.nodes import ELEMENTWISE, Bind, ClassIR, Conditional, Ctor, Layer, LayerRef, Method, Node, Parallel, Repeat, Residual, Sequential, Shape, Sizes
from ..codegen.layout import attribute_names, class_names, is_sequential
from ..core.limits import deep
from ..analysis.patterns import REDUCTIONS
from ..analysis.signature import show_shape


MAX_OPS = 1_000_000
"""The most module calls and tensor operations a model may unroll to
(repeats multiply: `repeat 10000` of a block holding `repeat 10000`)."""


class InstanceError(ValueError):
    """A model cannot be built as asked: no such model, an input size that
    does not fit the spec, or a size that must be known but is not."""


def unrolls_too_far() -> InstanceError:
    """The error of a model that unrolls past `MAX_OPS` (summary, graph and
    state-dict all give this one)."""
    return InstanceError(f"the model unrolls to more than {MAX_OPS:,} module calls, too many to describe")


@dataclass(frozen=True, slots=True)
class Tensor:
    """A tensor of the forward pass: its shape (no batch axis), the op that
    computes it (None for a model input) and its name in the spec, if any."""

    id: int
    shape: Shape
    producer: int | None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Op:
    """One call in the forward pass, in execution order.

    Attributes:
        id: its index in `Instance.ops`.
        parent: the op of the module it belongs to (a block's class or an
            nn.Sequential), None at the model's top level.
        depth: 1 at the model's top level, one more per enclosing module.
        path: the module's path in the model (`layer1.0.conv1`), None for a
            tensor operation without a module (`add`, `cat`, `rearrange`,
            `reduce`).
        kind: the module's class (`Conv2d`, a block's generated class such as
            `Bottleneck`, `Sequential`) or the tensor operation.
        inputs, output: tensor ids it reads and the one it produces. A module
            with children shares its output tensor with the last of them.
        shape: the module's own output, without the batch axis; this is the
            output tensor's shape except for a recurrent layer whose final
            state is taken (the module still returns the whole sequence).
        target, args, kwargs: for a torch module, its constructor (`nn.Conv2d`)
            and arguments, evaluated; for a tensor operation, `kwargs` may
            hold details (a reduce's dims).
        leaf: whether it has no children.
        span: the spec text it comes from.
        batched: False for an op on positions (`arange`), which have no
            batch axis: `shape` is then its whole output.
        results: a block that returns several tensors (`return y, skip`),
            or a recurrent layer that returns its state (`(y, h, c) = x ->
            lstm 64`): all of them, in order (`output` and `shape` are the
            first's).
    """

    id: int
    parent: int | None
    depth: int
    path: str | None
    kind: str
    inputs: tuple[int, ...]
    output: int
    shape: Shape
    target: str | None = None
    args: tuple = ()
    kwargs: tuple[tuple[str, object], ...] = ()
    leaf: bool = True
    span: Span | None = field(default=None, compare=False)
    batched: bool = True
    results: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Instance:
    """A model unrolled into ops (execution order) and tensors."""

    model: str
    class_name: str
    ops: tuple[Op, ...]
    tensors: tuple[Tensor, ...]
    inputs: tuple[int, ...]
    outputs: tuple[tuple[str, int], ...]
    tied: tuple[str, ...] = ()  # the state_dict keys of tensors another module holds too (analysis/ties.py)

    def token_ids(self) -> tuple[bool, ...]:
        """For each model input, whether it holds token ids (an embedding
        reads it) rather than floats."""
        return tuple(any(op.kind == "Embedding" and t in op.inputs for op in self.ops) for t in self.inputs)


def model_names(analysis: Analysis) -> list[str]:
    """The DSL names of the models in an analysis, in source order."""
    return [ir.name for ir in analysis.classes if ir.kind == "model"]


@deep
def instantiate(analysis: Analysis, model: str, sizes: dict[str, sy.Expr] | None = None) -> Instance:
    """Unroll model `model` of `analysis`, built with its default arguments.

    Args:
        analysis: from `compiler.check_source`.
        model: the DSL name of one of its models.
        sizes: values for its symbolic input sizes (inputs.bind_inputs); sizes
            left out stay symbolic in the shapes.

    Raises:
        InstanceError: `model` is not a model of the analysis, or a size that
            decides the structure (a repeat count, whether a shortcut is
            projected) is not known without input sizes.
    """
    classes = {ir.name: ir for ir in analysis.classes}
    ir = classes.get(model)
    if ir is None or ir.kind != "model":
        raise InstanceError(f"no model `{model}`")
    names = class_names(analysis.classes)
    mapping: dict[str, sy.Expr] = dict(sizes or {})
    layers: dict[str, LayerRef] = {}
    for p in ir.params:
        if isinstance(p.default, LayerRef):
            layers[f"p:{p.name}"] = p.default
        elif p.default is not None:
            mapping[f"p:{p.name}"] = p.default
    builder = _Builder(classes, names)
    inputs = []
    for port in ir.inputs:
        inputs.append(builder.tensor(tuple(sy.substitute(e, mapping) for e in port.shape), None, port.name))
    outputs = builder.body(ir, _Env(mapping, layers), inputs, "", None, 1)
    return Instance(
        model,
        names[model],
        tuple(builder.ops),
        tuple(builder.tensors),
        tuple(inputs),
        tuple((port.name, t) for port, t in zip(ir.outputs, outputs)),
        tuple(builder.tied),
    )


@dataclass(frozen=True, slots=True)
class BlockCall:
    """A block's generated class built with given arguments, as legoc's
    analysis sees it (`call_block`).

    Attributes:
        block: the block's DSL name.
        class_name: its generated class.
        args: the generated class's constructor arguments, all positional:
            the input sizes it needs (`in_channels`), then every parameter
            in order (ints, floats, bools and strings as Python values; a
            layer-valued parameter as its `LayerRef`, whose `code` is the
            torch class, `nn.ReLU`).
        outputs: the output shapes, without the batch axis.
        n_params: the trainable parameter count.
        errors: the errors legoc reports for a call of the block with these
            arguments on inputs of these shapes (`LG308: ...`), in the order
            of the block's checks; empty when it accepts the call.
    """

    block: str
    class_name: str
    args: tuple
    outputs: tuple[Shape, ...]
    n_params: sy.Expr
    errors: tuple[str, ...]


def call_block(analysis: Analysis, block: str, shapes: list[tuple[int, ...]], values: dict[str, object] | None = None) -> BlockCall:
    """Block `block` of `analysis` called on inputs of `shapes` with `values`.

    Args:
        analysis: from `compiler.check_source`; the block must be one that
            code is generated for (a model calls it).
        block: its DSL name.
        shapes: one shape per input, without the batch axis, each of the
            rank the block was analysed for.
        values: arguments by DSL parameter name (Python ints, floats, bools,
            strings, or `LayerRef`s for layer-valued parameters); those left
            out take their defaults.

    Returns:
        What the analysis says of the call: its checks decided with these
            values (failures in `errors`, as a model calling the block would
            report them), the output shapes and the parameter count.

    Raises:
        InstanceError: no such block, inputs of the wrong number or rank, a
            parameter that is unknown or required and not given, or a value
            of the wrong kind (a number for a layer, or the other way round).
    """
    ir = next((c for c in analysis.classes if c.name == block and c.kind == "block"), None)
    if ir is None:
        raise InstanceError(f"no block `{block}` with generated code")
    if len(shapes) != len(ir.inputs) or any(len(shape) != len(port.shape) for shape, port in zip(shapes, ir.inputs)):
        ranks = ", ".join(str(len(port.shape)) for port in ir.inputs)
        raise InstanceError(f"block `{block}` takes {len(ir.inputs)} input(s) of {ranks} axes (no batch axis), not {list(shapes)}")
    values = dict(values or {})
    unknown = set(values) - {p.name for p in ir.params}
    if unknown:
        raise InstanceError(f"block `{block}` has no parameter `{sorted(unknown)[0]}`")
    mapping: dict[str, sy.Expr] = {}
    for index, shape in enumerate(shapes):
        for axis, size in enumerate(shape):
            # The checks name every input size by position, also those the
            # block's shapes write as another size they must equal
            # (legoc/analysis/unify.py).
            mapping[f"in:{index}:{axis}"] = sy.Const(size)
    given: list = []
    for p in ir.params:
        value = values.get(p.name, p.default)
        if value is None:
            raise InstanceError(f"block `{block}` needs a value for `{p.name}`")
        if isinstance(p.default, LayerRef) != isinstance(value, LayerRef):
            raise InstanceError(f"`{p.name}` of `{block}` takes {'a layer' if isinstance(p.default, LayerRef) else 'a number'}, not {value!r}")
        if isinstance(value, LayerRef):
            given.append(value)
            continue
        expr = value if isinstance(value, sy.Expr) else sy.Const(value)
        if sy.value_of(expr) is None:
            raise InstanceError(f"`{p.name}` of `{block}` must be a value, not {sy.to_text(expr)}")
        mapping[f"p:{p.name}"] = expr
        given.append(sy.value_of(expr))
    sub = sy.substituter(mapping)
    errors: list[str] = []
    for check in ir.checks:
        if check.severity != "error":
            continue
        try:
            cond = sub(check.cond)
            if cond == sy.TRUE:
                continue
            message = "".join(show_shape(tuple(sub(x) for x in m)) if isinstance(m, tuple) else str(sub(m)) if isinstance(m, sy.Expr) else m for m in check.message)
        except (TypeError, ZeroDivisionError) as exc:
            message = f"with these arguments, `{block}` fails to compute its sizes ({exc})"
        else:
            if cond != sy.FALSE:
                message = f"undecided with every value given: {message}"
        errors.append(f"{check.code}: {message}")
    try:
        sizes = tuple(sy.value_of(sub(sym)) for sym in ir.size_params)
        outputs = tuple(tuple(sub(e) for e in port.shape) for port in ir.outputs)
        n_params = sub(ir.n_params)
    except (TypeError, ZeroDivisionError) as exc:
        raise InstanceError(f"with these arguments, `{block}` fails to compute its sizes ({exc})") from None
    names = class_names(analysis.classes)
    return BlockCall(block, names[block], sizes + tuple(given), outputs, n_params, tuple(errors))


def instantiate_block(analysis: Analysis, block: str, shapes: list[tuple[int, ...]], values: dict[str, object] | None = None) -> Instance:
    """Unroll block `block` called on inputs of `shapes` with `values` (see
    `call_block`), as its generated class runs when built with
    `call_block(...).args`: the ops its forward pass calls, each with its
    module path in the class and its shapes (no batch axis).

    Raises:
        InstanceError: as `call_block`, and where legoc rejects the call
            (the message lists `call_block(...).errors`).
    """
    call = call_block(analysis, block, shapes, values)
    if call.errors:
        raise InstanceError(f"legoc rejects `{block}` with these arguments: " + "; ".join(call.errors))
    ir = next(c for c in analysis.classes if c.name == block and c.kind == "block")
    mapping: dict[str, sy.Expr] = {}
    layers: dict[str, LayerRef] = {}
    for shape, port in zip(shapes, ir.inputs):
        for size, sym in zip(shape, port.shape):
            mapping[sym.key] = sy.Const(size)  # type: ignore[union-attr]
    for p, value in zip(ir.params, call.args[len(ir.size_params) :]):
        if isinstance(value, LayerRef):
            layers[f"p:{p.name}"] = value
        else:
            mapping[f"p:{p.name}"] = sy.Const(value)
    builder = _Builder({c.name: c for c in analysis.classes}, class_names(analysis.classes))
    inputs = [builder.tensor(tuple(sy.Const(size) for size in shape), None, port.name) for shape, port in zip(shapes, ir.inputs)]
    outputs = builder.body(ir, _Env(mapping, layers), inputs, "", None, 1)
    return Instance(
        block,
        call.class_name,
        tuple(builder.ops),
        tuple(builder.tensors),
        tuple(inputs),
        tuple((port.name, t) for port, t in zip(ir.outputs, outputs)),
    )


@dataclass(frozen=True)
class _Env:
    """One class instance's constructor values: sizes and parameters (by
    symbol key, over the model's symbols) and layer-valued parameters."""

    values: dict[str, sy.Expr]
    layers: dict[str, LayerRef]

    def ev(self, e: sy.Expr) -> sy.Expr:
        return sy.substitute(e, self.values)

    def shape(self, shape: Shape) -> Shape:
        return tuple(self.ev(e) for e in shape)

    def const(self, e: sy.Expr, what: str) -> int:
        value = sy.value_of(self.ev(e))
        if value is None:
            raise InstanceError(f"{what} depends on an input size ({sy.to_text(self.ev(e))}); give the input's size with --input")
        return int(value)


class _Builder:
    def __init__(self, classes: dict[str, ClassIR], names: dict[str, str]):
        self.classes = classes
        self.names = names
        self.ops: list[Op] = []
        self.tensors: list[Tensor] = []
        self.returned: list[int] = []  # the results of the last block call
        self.tied: list[str] = []

    def tensor(self, shape: Shape, producer: int | None, name: str | None = None) -> int:
        self.tensors.append(Tensor(len(self.tensors), shape, producer, name))
        return len(self.tensors) - 1

    def op(self, parent: int | None, depth: int, path: str | None, kind: str, inputs: list[int], shape: Shape, span, **extra) -> int:
        """Append an op producing a new tensor of `shape`; returns the tensor."""
        self.budget()
        index = len(self.ops)
        out = self.tensor(shape, index)
        self.ops.append(Op(index, parent, depth, path, kind, tuple(inputs), out, shape, span=span, **extra))
        return out

    def container(self, parent: int | None, depth: int, path: str, kind: str, inputs: list[int], span) -> int:
        """Open a module with children; `close` sets its output once known."""
        self.budget()
        index = len(self.ops)
        self.ops.append(Op(index, parent, depth, path, kind, tuple(inputs), -1, (), leaf=False, span=span))
        return index

    def budget(self) -> None:
        if len(self.ops) >= MAX_OPS:
            raise unrolls_too_far()

    def close(self, index: int, out: int, results: tuple[int, ...] = ()) -> int:
        op = self.ops[index]
        self.ops[index] = Op(op.id, op.parent, op.depth, op.path, op.kind, op.inputs, out, self.tensors[out].shape, leaf=False, span=op.span, results=results)
        return out

    # ------------------------------------------------------------ classes

    def body(self, ir: ClassIR, env: _Env, inputs: list[int], prefix: str, parent: int | None, depth: int) -> list[int]:
        """Unroll a class's body; returns its output tensors."""
        if is_sequential(ir):
            return [self.numbered(ir.body, env, inputs[0], prefix, parent, depth)]
        names = attribute_names(ir.body, set())
        self.tied += [f"{prefix}{target}" for target, _ in ir.ties]
        named = {port.code: t for port, t in zip(ir.inputs, inputs)}
        cur = inputs[0]
        for node in ir.body:
            cur = self.node(node, env, cur, named, names, prefix, parent, depth)
        if ir.graph:
            return [named[port.code] for port in ir.outputs]
        return [cur]

    def numbered(self, nodes: tuple[Node, ...], env: _Env, cur: int, prefix: str, parent: int | None, depth: int) -> int:
        """The items of an nn.Sequential (layers and repeats), numbered."""
        index = 0
        for node in nodes:
            if isinstance(node, Layer):  # a name: its key in the group (add_module)
                cur = self.module(node.ctor, env, [cur], (node.out,), f"{prefix}{index if node.name is None else node.name}", parent, depth, node.span)
                index += 1
            elif isinstance(node, Conditional):
                if env.const(node.cond, "a condition"):
                    for inner in node.body:
                        key = index if inner.name is None else inner.name  # type: ignore[union-attr]
                        cur = self.module(inner.ctor, env, [cur], (inner.out,), f"{prefix}{key}", parent, depth, inner.span)  # type: ignore[union-attr]
                        index += 1
            else:
                assert isinstance(node, Repeat)
                for i in range(env.const(node.count, "a repeat count")):
                    ctor, outs = (node.first, node.outs[0]) if i == 0 else (node.rest or node.first, node.outs[1])
                    at = env if node.index is None else _Env({**env.values, node.index.key: sy.Const(i)}, env.layers)  # type: ignore[union-attr]
                    name = f"{prefix}{index}" if node.each is None else prefix + "".join(p if isinstance(p, str) else str(at.const(p, "a name")) for p in node.each)
                    cur = self.module(ctor, at, [cur], outs, name, parent, depth, node.span)
                    index += 1
        return cur

    def node(self, node: Node, env: _Env, cur: int, named: dict[str, int], names: dict[int, str], prefix: str, parent, depth) -> int:
        """Unroll one statement of a (non-Sequential) class; returns the tensor after it."""
        if isinstance(node, Layer) and node.apply == "tensor":  # a learned tensor: an operand of the joins after it
            path = f"{prefix}{names[id(node)]}"
            named[f"self.{names[id(node)]}"] = self.op(parent, depth, path, "Parameter", [], env.shape(node.out), node.span, target="nn.Parameter")
            return cur
        if isinstance(node, Layer):
            return self.layer(node, env, [cur], f"{prefix}{names[id(node)]}", parent, depth)
        if isinstance(node, (Repeat, Sequential)):
            path = f"{prefix}{names[id(node)]}"
            index = self.container(parent, depth, path, "Sequential", [cur], node.span)
            body = (node,) if isinstance(node, Repeat) else node.body
            return self.close(index, self.numbered(body, env, cur, f"{path}.", index, depth + 1))
        if isinstance(node, Method):
            reduce = [args for name, args in node.ops if name in REDUCTIONS.values()]
            kind = node.ops[0][0] if node.ops and node.ops[0][0] in (*ELEMENTWISE, "select", "slice", "roll") else "reduce" if reduce else "rearrange"
            return self.op(parent, depth, None, kind, [cur], env.shape(node.out), node.span)
        if isinstance(node, Conditional):
            if env.const(node.cond, "a condition"):
                for inner in node.body:
                    cur = self.node(inner, env, cur, named, names, prefix, parent, depth)
            return cur
        if isinstance(node, Residual):
            skip = cur
            if node.projection is not None and env.const(node.needs_projection, "whether a shortcut is projected"):
                out = env.shape(node.out)
                if node.mode == "cat":
                    body_out = env.shape(node.body[-1].out) if node.body else self.tensors[cur].shape
                    out = (sy.sub(out[0], body_out[0]),) + out[1:]
                skip = self.module(node.projection, env, [cur], (node.out if node.mode == "add" else out,), f"{prefix}{names[id(node)]}", parent, depth, node.span, evaluated=node.mode == "cat")
            for inner in node.body:
                cur = self.node(inner, env, cur, named, names, prefix, parent, depth)
            if not env.const(node.skip, "whether a residual adds its skip"):
                return cur
            joined = [cur, skip] if node.mode == "add" else [skip, cur]
            return self.op(parent, depth, None, node.mode, joined, env.shape(node.out), node.span)
        if isinstance(node, Parallel):
            outs = []
            for branch in node.branches:
                out = cur
                for inner in branch:
                    out = self.node(inner, env, out, named, names, prefix, parent, depth)
                outs.append(out)
            return self.op(parent, depth, None, node.mode, outs, env.shape(node.out), node.span)
        assert isinstance(node, Bind)
        start = len(self.ops)
        src = self.bind(node, env, named, names, prefix, parent, depth)
        if node.batchless:  # positions and what layers compute from them: no batch axis
            self.ops[start:] = [replace(op, batched=False) for op in self.ops[start:]]
        return src

    def bind(self, node: Bind, env: _Env, named: dict[str, int], names: dict[int, str], prefix: str, parent, depth) -> int:
        """Unroll `target = (sources) -> join -> stages`; returns the tensor after it."""
        sources = [named[s] for s in node.sources]
        src = sources[0]
        if isinstance(node.join, Layer):
            src = self.layer(node.join, env, sources, f"{prefix}{names[id(node.join)]}", parent, depth)
        elif node.join is not None:
            extra = {"kwargs": (("equation", node.equation),)} if node.equation else {}
            src = self.op(parent, depth, None, node.join, sources, env.shape(node.joined), node.span, **extra)
        for inner in node.stages:
            src = self.node(inner, env, src, named, names, prefix, parent, depth)
        named[node.target] = src
        if node.unpack:  # `(y, skip) = x -> down 64`: the block's results
            named.update(zip((code for code, _ in node.parts), self.returned))
            return src
        kind = "unbind" if node.unbind is not None else "split" if node.sizes else "chunk"
        for code, shape in node.parts:  # a view of each part: no work
            named[code] = self.op(parent, depth, None, kind, [src], env.shape(shape), node.span)
        return src

    def layer(self, node: Layer, env: _Env, inputs: list[int], path: str, parent, depth) -> int:
        if node.apply in ("call", "sequence", "attention"):
            return self.module(node.ctor, env, inputs, (node.out,), path, parent, depth, node.span)
        if node.apply == "state":  # a recurrent layer with its state (analysis/recurrent.py): the sequence, then each state tensor
            out = self.module(node.ctor, env, inputs, (node.out,), path, parent, depth, node.span)
            op = self.ops[self.tensors[out].producer]  # type: ignore[index]
            states = tuple(self.tensor(env.shape(shape), op.id) for shape in node.results[1:])
            if states:
                self.ops[op.id] = replace(op, results=(out, *states))
            self.returned = [out, *states]
            return out
        # A recurrent layer whose final hidden state is taken: the module
        # returns the sequence [T, hidden * directions]; forward keeps the state.
        kwargs = dict(node.ctor.kwargs)
        hidden = env.ev(node.ctor.args[1])  # type: ignore[arg-type]
        both = sy.value_of(env.ev(kwargs.get("bidirectional", sy.FALSE))) or False  # type: ignore[arg-type]
        steps = self.tensors[inputs[0]].shape[0]
        module_out = (steps, sy.mul(hidden, sy.Const(2 if both else 1)))
        sequence = self.module(node.ctor, env, inputs, (module_out,), path, parent, depth, node.span, evaluated=True)
        return self.op(parent, depth, None, "state", [sequence], env.shape(node.out), node.span)

    # ------------------------------------------------------------ modules

    def module(self, ctor: Ctor, env: _Env, inputs: list[int], outs: tuple[Shape, ...], path: str, parent, depth, span, evaluated: bool = False) -> int:
        """One module call. `outs` is its output shape (for a "sequential"
        Ctor, one per item), over the enclosing class's symbols unless
        `evaluated`; a block's output comes from its own body."""
        if ctor.kind == "sequential":
            index = self.container(parent, depth, path, "Sequential", inputs, span)
            cur = inputs[0]
            for i, (item, out) in enumerate(zip(ctor.args, outs)):
                cur = self.module(item, env, [cur], (out,), f"{path}.{i}", index, depth + 1, span)  # type: ignore[arg-type]
            return self.close(index, cur)
        out = outs[0] if evaluated else env.shape(outs[0])
        if ctor.kind == "param":
            ref = env.layers[f"p:{ctor.target}"]
            return self.op(parent, depth, path, ref.code.removeprefix("nn."), inputs, out, span, target=ref.code)
        args = tuple(self.value(a, env) for a in ctor.args)
        kwargs = tuple((k, self.value(v, env)) for k, v in ctor.kwargs)
        if ctor.kind == "torch" and ctor.target == "PatchMerging":  # torchvision's (Swin): forward calls its norm, then its reduction
            index, four = self.container(parent, depth, path, "PatchMerging", inputs, span), sy.mul(sy.Const(4), args[0])
            norm = self.op(index, depth + 1, f"{path}.norm", "LayerNorm", inputs, (*out[:-1], four), span, target="nn.LayerNorm", args=(four,), kwargs=())
            linear = (four, out[-1])
            return self.close(index, self.op(index, depth + 1, f"{path}.reduction", "Linear", [norm], out, span, target="nn.Linear", args=linear, kwargs=(("bias", sy.FALSE),)))
        if ctor.kind == "torch":
            return self.op(parent, depth, path, ctor.target.removeprefix("nn."), inputs, out, span, target=ctor.target, args=args, kwargs=kwargs)
        callee = self.classes[ctor.target]
        index = self.container(parent, depth, path, self.names[callee.name], inputs, span)
        results = self.body(callee, self.callee_env(callee, args, dict(kwargs), inputs), inputs, f"{path}.", index, depth + 1)
        self.returned = results
        return self.close(index, results[0], tuple(results) if len(results) > 1 else ())

    def value(self, v, env: _Env):
        if isinstance(v, LayerRef):
            return env.layers[f"p:{v.name}"] if v.kind == "param" else v
        if isinstance(v, Sizes):
            return Sizes(tuple(env.ev(item) for item in v.items), v.brackets)
        return env.ev(v)

    def callee_env(self, callee: ClassIR, args: tuple, kwargs: dict, inputs: list[int]) -> _Env:
        """A block's constructor values from its call (as statedict.py reads them)."""
        values: dict[str, sy.Expr] = {}
        layers: dict[str, LayerRef] = {}
        for port, t in zip(callee.inputs, inputs):
            for e, actual in zip(port.shape, self.tensors[t].shape):
                if isinstance(e, sy.Sym):
                    values[e.key] = actual
        given = dict(zip((f"p:{p.name}" for p in callee.params), args[len(callee.size_params) :]))
        for sym, value in zip(callee.size_params, args):
            values[sym.key] = value
        for p in callee.params:
            key = f"p:{p.name}"
            value = given.get(key, kwargs.get(p.name, p.default))
            if isinstance(value, LayerRef):
                layers[key] = value
            elif value is not None:
                values[key] = value if isinstance(value, sy.Expr) else sy.Const(value)
        return _Env(values, layers)
