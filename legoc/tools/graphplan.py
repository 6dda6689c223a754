"""What `legoc graph` draws of a model (diagram.py writes it as Mermaid or
DOT): the ops down to a depth, each a node or an expanded subgraph; the
edges between them, each carrying a tensor; runs of identical blocks folded
into one node marked `x N`; and, for a U-Net, which calls form the encoder,
the bottleneck and the decoder, and which skips pair their levels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import symbolic as sy
from .instance import Instance


@dataclass(frozen=True)
class Plan:
    """What a diagram shows.

    Attributes:
        items: op ids per container (None: the top level), in execution
            order, each either a node or an expanded container. An op
            folded into the one before it is left out.
        expanded: the ops drawn as subgraphs.
        edges: (source node, target node, label): node ids are `in<k>`,
            `out<k>` and `n<op id>`; the label is the tensor's shape.
        tensors: the tensor id each edge carries, one per edge.
        folds: the first op of each folded run -> every op of the run, in
            order (two or more identical blocks, each feeding the next).
        repeats: a collapsed block or nn.Sequential whose calls are all of
            one kind -> (that kind, how many): `layer1: Bottleneck x 3`.
    """

    items: dict[int | None, list[int]]
    expanded: set[int]
    edges: list[tuple[str, str, str]]
    tensors: list[int] = field(default_factory=list)
    folds: dict[int, tuple[int, ...]] = field(default_factory=dict)
    repeats: dict[int, tuple[str, int]] = field(default_factory=dict)


def make_plan(instance: Instance, depth: int | None, fold: bool = False) -> Plan:
    """The ops down to `depth` levels (None: all): a module with children
    there is expanded, every other op is a node; with `fold`, runs of
    identical collapsed blocks are one node (`Plan.folds`) and collapsed
    blocks of calls of one kind are counted (`Plan.repeats`)."""
    visible = [op for op in instance.ops if depth is None or op.depth <= depth]
    shown = {op.id for op in visible}
    expanded = {op.parent for op in visible if op.parent is not None}
    items: dict[int | None, list[int]] = {}
    for op in visible:
        items.setdefault(op.parent, []).append(op.id)

    def source(tensor: int) -> str:
        """The node a tensor comes out of: its producer, or the producer's
        innermost enclosing module that is drawn."""
        producer = instance.tensors[tensor].producer
        if producer is None:
            return f"in{instance.inputs.index(tensor)}"
        while producer not in shown:
            producer = instance.ops[producer].parent
        return f"n{producer}"

    edges, tensors = [], []
    for op in visible:
        if op.id in expanded:
            continue
        for t in op.inputs:
            if source(t) != f"n{op.id}":  # not a tensor inside a collapsed block
                edges.append((source(t), f"n{op.id}", shape_text(instance, t)))
                tensors.append(t)
    for k, (_, t) in enumerate(instance.outputs):
        edges.append((source(t), f"out{k}", shape_text(instance, t)))
        tensors.append(t)
    plan = Plan(items, expanded, edges, tensors)
    return _fold(instance, plan) if fold else plan


def shape_text(instance: Instance, tensor: int) -> str:
    """A tensor's shape without the batch axis: `[64, H // 2, W // 2]`."""
    return "[" + ", ".join(sy.to_text(e) for e in instance.tensors[tensor].shape) + "]"


# ---------------------------------------------------------------- folding


def _descendants(instance: Instance, index: int) -> list:
    """The ops inside op `index` (they follow it in execution order)."""
    ops, depth, end = instance.ops, instance.ops[index].depth, index + 1
    while end < len(ops) and ops[end].depth > depth:
        end += 1
    return list(ops[index + 1 : end])


def _signature(instance: Instance, index: int) -> tuple:
    """What makes two calls the same block: kinds, arguments and shapes of
    the call and of everything inside it, paths relative to it."""
    op = instance.ops[index]
    parts = [(op.kind, repr(op.args), repr(op.kwargs), tuple(map(sy.to_text, op.shape)), tuple(shape_text(instance, t) for t in op.inputs))]
    for inner in _descendants(instance, index):
        path = None if inner.path is None else inner.path.removeprefix(f"{op.path}.")
        parts.append((path, inner.kind, repr(inner.args), repr(inner.kwargs), tuple(map(sy.to_text, inner.shape))))
    return tuple(parts)


def _fold(instance: Instance, plan: Plan) -> Plan:
    """`plan` with runs of two or more identical collapsed blocks, each
    feeding only the next, drawn as their first (or as the block holding
    them, where they are all its calls); and the repeats counted."""
    out_edges: dict[str, list[str]] = {}
    in_edges: dict[str, list[str]] = {}
    for a, b, _ in plan.edges:
        out_edges.setdefault(a, []).append(b)
        in_edges.setdefault(b, []).append(a)

    def chained(a: int, b: int) -> bool:
        """b is a's twin and takes a's output only, which nothing else takes."""
        first, second = instance.ops[a], instance.ops[b]
        if first.leaf or second.leaf or a in plan.expanded or b in plan.expanded or first.kind != second.kind:
            return False
        return out_edges.get(f"n{a}") == [f"n{b}"] and in_edges.get(f"n{b}") == [f"n{a}"] and _signature(instance, a) == _signature(instance, b)

    items: dict[int | None, list[int]] = {}
    folds: dict[int, tuple[int, ...]] = {}
    rename: dict[str, str] = {}
    for parent, ids in plan.items.items():
        kept: list[int] = []
        run: list[int] = []
        for i in ids + [-1]:
            if run and i >= 0 and chained(run[-1], i):
                run.append(i)
                continue
            if len(run) > 1:
                folds[run[0]] = tuple(run)
                rename[f"n{run[-1]}"] = f"n{run[0]}"
            run = [i]
            if i >= 0:
                kept.append(i)
        items[parent] = kept
    hidden = {f"n{i}" for run in folds.values() for i in run[1:]}
    # A subgraph that would hold one run of all its calls is that one node.
    expanded = set(plan.expanded)
    for parent, kept in list(items.items()):
        if parent is not None and len(kept) == 1 and kept[0] in folds and len(folds[kept[0]]) == len(plan.items[parent]):
            del items[parent], folds[kept[0]]
            expanded.discard(parent)
            rename = {old: f"n{parent}" if new == f"n{kept[0]}" else new for old, new in rename.items()}
            rename[f"n{kept[0]}"] = f"n{parent}"
    edges, tensors = [], []
    for (a, b, label), t in zip(plan.edges, plan.tensors):
        if b in hidden:  # an edge inside a run
            continue
        edges.append((rename.get(a, a), rename.get(b, b), label))
        tensors.append(t)
    repeats = {}
    for ids in items.values():
        for i in ids:
            op = instance.ops[i]
            if not op.leaf and i not in expanded:
                children = [c for c in _descendants(instance, i) if c.parent == i]
                if len(children) > 1 and len({c.kind for c in children}) == 1 and all(c.path for c in children):
                    repeats[i] = (children[0].kind, len(children))
    return Plan(items, expanded, edges, tensors, folds, repeats)


# ---------------------------------------------------------------- the U of a U-Net


@dataclass(frozen=True)
class ULayout:
    """A model whose skips pair levels, as a U: the top-level calls down
    its encoder (to the last one a skip leaves), the bottleneck between,
    and the decoder up from the first one a skip enters; `skips` are the
    indices in `Plan.edges` of the skips, outermost level first."""

    encoder: tuple[int, ...]
    bottleneck: tuple[int, ...]
    decoder: tuple[int, ...]
    skips: tuple[int, ...]

    def side(self, instance: Instance, node: str) -> str:
        """"encoder", "bottleneck" or "decoder": where a node (`n<op id>`,
        `in<k>`, `out<k>`) is drawn; the inputs head the encoder, the
        outputs end the decoder."""
        if node.startswith("in"):
            return "encoder"
        if node.startswith("out"):
            return "decoder"
        op = instance.ops[int(node[1:])]
        while op.parent is not None:
            op = instance.ops[op.parent]
        return "encoder" if op.id in self.encoder else "bottleneck" if op.id in self.bottleneck else "decoder"


def u_layout(instance: Instance, plan: Plan) -> ULayout | None:
    """The U of a model whose skips pair levels, or None.

    A skip is an edge between top-level calls that jumps over at least one;
    they pair levels when there are two or more, nested (each later one
    leaves later and enters earlier: encoder level i to decoder level i),
    and each carries a tensor of the spatial size (every axis but the
    first) of the output of the call it enters.
    """
    top = plan.items.get(None, [])
    where = {op_id: k for k, op_id in enumerate(top)}

    def level(node: str) -> int | None:
        if not node.startswith("n"):
            return None
        op = instance.ops[int(node[1:])]
        while op.parent is not None:
            op = instance.ops[op.parent]
        return where[op.id]

    skips = []
    for index, (a, b, _) in enumerate(plan.edges):
        p, q = level(a), level(b)
        if p is not None and q is not None and q > p + 1:
            skips.append((p, q, index))
    skips.sort()
    if len(skips) < 2:
        return None
    for (p1, q1, _), (p2, q2, _) in zip(skips, skips[1:]):
        if not (p1 < p2 and q1 > q2):
            return None
    for _, q, index in skips:
        carried = instance.tensors[plan.tensors[index]].shape[1:]
        if not carried or tuple(map(sy.to_text, carried)) != tuple(map(sy.to_text, instance.ops[top[q]].shape[1:])):
            return None
    last_out, first_in = skips[-1][0], skips[-1][1]
    return ULayout(tuple(top[: last_out + 1]), tuple(top[last_out + 1 : first_in]), tuple(top[first_in:]), tuple(index for _, _, index in skips))
