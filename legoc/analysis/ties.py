"""Weight tying: one tensor in two modules, as torch writes it.

    lm_head.weight = transformer.wte.weight     # GPT-2: the output projection is the token embedding

A line of a dataflow body (a model's or a block's) names two tensors by
attribute paths through the layers the spec names: blocks' layers by their
names, then `weight` or `bias`. The generated `__init__` ends with
`self.lm_head.weight = self.transformer.wte.weight`: the module on the left
holds the tensor on the right, so `model.parameters()` yields it once while
`state_dict()` keeps both keys, as torch has them. The left tensor's
parameters leave the parameter count.

Only the tensors of `linear` (weight [out, in], bias [out]) and `embedding`
(weight [num, dim]) layers tie. Diagnostics: LG220 a path that names no
layer or no tensor of it, LG323 tensors of different shapes (decided with
the caller's values where they are symbolic), LG428 a layer whose tensors
do not tie (a block, a group, a layer other than linear or embedding), or
a tensor tied to itself.
"""

from __future__ import annotations

from ..core.diagnostics import Span, error
from ..core.naming import close_match
from ..ir import symbolic as sy
from ..ir.nodes import Check, ClassIR, Layer, Node, Sequential, Shape, walk
from ..syntax import tree as s
from .flow import Body

_TENSORS = {"nn.Linear": ("weight", "bias"), "nn.Embedding": ("weight",)}


def tie(stmt: s.Tie, body: Body, blocks: dict[str, ClassIR | None]) -> None:
    """Record `target = source` in `body` (its `ties`), check both paths
    and their shapes, and take the target's parameters out of the count.

    Args:
        stmt: the line.
        body: the dataflow body so far (the layers named before the line).
        blocks: the analysed blocks by name (State.cache), to follow a
            path into a block's layers.

    Raises:
        SpecError: LG220, LG323 or LG428 (see the module's docstring).
    """
    if stmt.target == stmt.source:
        raise error("LG428", stmt.span, "a tensor tied to itself is no tie", hint="tie two layers' tensors: `lm_head.weight = wte.weight`")
    target = _tensor(stmt.target, stmt.target_span, body.nodes, blocks)
    source = _tensor(stmt.source, stmt.source_span, body.nodes, blocks)
    message = ("tied tensors must have one shape, but `", ".".join(stmt.target), "` is ", target, " and `", ".".join(stmt.source), "` is ", source)
    hint = "tie a linear layer's weight [out, in] to an embedding's weight [num, dim] with out = num and in = dim"
    if len(target) != len(source):
        raise error("LG323", stmt.span, f"tied tensors must have one shape, but `{'.'.join(stmt.target)}` has {len(target)} axes and `{'.'.join(stmt.source)}` {len(source)}", hint=hint)
    for a, b in zip(target, source):
        same = sy.eq(a, b)
        if same == sy.FALSE:
            raise error("LG323", stmt.span, "".join(m if isinstance(m, str) else _shape(m) for m in message), hint=hint)
        if same != sy.TRUE:
            body.checks.append(Check(same, stmt.span, message, hint=hint, code="LG323"))
    count: sy.Expr = sy.ONE
    for dim in target:
        count = sy.mul(count, dim)
    body.n_params = sy.sub(body.n_params, count)
    body.ties.append((".".join(stmt.target), ".".join(stmt.source)))


def _shape(shape: Shape) -> str:
    return "[" + ", ".join(sy.to_text(d) for d in shape) + "]"


def _tensor(path: tuple[str, ...], span: Span, nodes, blocks: dict[str, ClassIR | None]) -> Shape:
    """The shape of the tensor at `path` (layer names, then weight or bias),
    over the symbols of the body that holds the first layer."""
    layers: list[Node] = list(nodes)
    mapping: dict[str, sy.Expr] = {}
    for depth, name in enumerate(path[:-1]):
        named = {n.name: n for n in walk(tuple(layers)) if isinstance(n, (Layer, Sequential)) and not (isinstance(n, Layer) and n.apply == "tensor")}
        node = named.get(name)
        if node is None:
            close = close_match(name, named)
            where = f"`{'.'.join(path[:depth])}`" if depth else "this body"
            raise error("LG220", span, f"`{'.'.join(path[: depth + 1])}` names no layer: {where} has no layer named `{name}` before this line",
                        hint=f"did you mean `{close}`?" if close else "name the layers to tie (`wte: embedding vocab dim`), before the tie")
        last = depth == len(path) - 2
        if isinstance(node, Sequential):
            if last:
                raise error("LG428", span, f"`{name}` is a group of layers; a tie names one layer's tensor", hint="name a layer inside the group")
            layers = list(node.body)
            continue
        ctor = node.ctor
        if ctor.kind == "block":
            callee = blocks.get(ctor.target)
            if last and callee is not None and any(getattr(n, "name", None) == path[-1] for n in walk(callee.body)):
                raise error("LG220", span, f"`{'.'.join(path)}` names a layer, not its tensor", hint=f"write `{'.'.join(path)}.weight`")
            if last or callee is None:
                raise error("LG428", span, f"`{name}` is a block; a tie names a layer inside it and its tensor", hint=f"write `{'.'.join(path[: depth + 1])}.LAYER.weight`")
            inner = _call_mapping(callee, ctor)  # the callee's symbols in this body's terms
            mapping = {k: sy.substitute(v, mapping) for k, v in inner.items()} if mapping else inner
            layers = list(callee.body)
            continue
        if not last:
            raise error("LG220", span, f"`{'.'.join(path[: depth + 2])}` names no layer: `{name}` is a `{ctor.target}` without layers inside", hint=f"write `{'.'.join(path[: depth + 1])}.weight`")
        tensors = _TENSORS.get(ctor.target)
        if tensors is None:
            raise error("LG428", span, f"only the tensors of `linear` and `embedding` layers tie, and `{name}` is a `{ctor.target}`", hint="tie an output projection (`linear`) to an embedding")
        if path[-1] not in tensors or (path[-1] == "bias" and sy.value_of(dict(ctor.kwargs).get("bias", sy.TRUE)) is False):
            raise error("LG220", span, f"`{name}` has no tensor `{path[-1]}`; its tensors are {' and '.join(f'`{t}`' for t in tensors)}",
                        hint=f"write `{'.'.join(path[:-1])}.weight`")
        a, b = ctor.args[0], ctor.args[1]
        shape = ((b, a) if path[-1] == "weight" else (b,)) if ctor.target == "nn.Linear" else (a, b)
        return tuple(sy.substitute(d, mapping) if mapping else d for d in shape)  # type: ignore[arg-type]
    raise error("LG220", span, f"`{'.'.join(path)}` names a layer, not its tensor", hint=f"write `{'.'.join(path)}.weight`")


def _call_mapping(callee: ClassIR, ctor) -> dict[str, sy.Expr]:
    """The callee's symbols (input sizes, parameters) to the values of one
    call, from the call's constructor (block_call's: sizes, then the
    parameters given by position, then by keyword; the others' defaults)."""
    mapping: dict[str, sy.Expr] = {}
    sizes = len(callee.size_params)
    for sym, value in zip(callee.size_params, ctor.args[:sizes]):
        if isinstance(sym, sy.Sym) and isinstance(value, sy.Expr):
            mapping[sym.key] = value
    given = dict(zip((p.name for p in callee.params), ctor.args[sizes:]))
    given.update(dict(ctor.kwargs))
    for p in callee.params:
        value = given.get(p.name, p.default)
        if isinstance(value, sy.Expr):
            mapping[f"p:{p.name}"] = value
    return mapping
