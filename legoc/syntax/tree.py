"""The syntax tree of a .lego file: plain dataclasses (`record.node`: never changed once built, and frozen in the tests) with source spans
(equality and repr from `record.Record`).

The parser builds these; shape inference reads them. Spans are excluded from
equality so that two trees that say the same thing compare equal.
"""

from __future__ import annotations

from dataclasses import field
from collections.abc import Iterator

from ..core.diagnostics import Span
from ..core.record import Record, node


def _span():
    return field(compare=False, repr=False, default=None)


# ----------------------------------------------------------------- expressions


@node
class Literal(Record):
    """An int, float, bool or string literal."""

    value: int | float | bool | str
    span: Span = _span()


@node
class Name(Record):
    """A name: a parameter, a symbolic dimension, or a layer (`act=relu`)."""

    id: str
    span: Span = _span()


@node
class BinOp(Record):
    """`left op right` with op one of + - * // %."""

    op: str
    left: "ExprNode"
    right: "ExprNode"
    span: Span = _span()


@node
class Neg(Record):
    """`-operand`."""

    operand: "ExprNode"
    span: Span = _span()


@node
class Func(Record):
    """`min(...)` or `max(...)`."""

    name: str
    args: tuple["ExprNode", ...]
    span: Span = _span()


@node
class GroupValue(Record):
    """A `< ... >` group used as a layer-valued argument."""

    group: "Group"
    span: Span = _span()


@node
class Compare(Record):
    """`left op right` with op one of == != < <= > >= (only in an `if`)."""

    op: str
    left: "ExprNode"
    right: "ExprNode"
    span: Span = _span()


@node
class BoolOp(Record):
    """`left and right` or `left or right` (only in an `if`)."""

    op: str
    left: "ExprNode"
    right: "ExprNode"
    span: Span = _span()


@node
class Not(Record):
    """`not operand` (only in an `if`)."""

    operand: "ExprNode"
    span: Span = _span()


@node
class IfExp(Record):
    """`(body if test else orelse)`: a value chosen when the module is
    built; `test` is one `Compare`."""

    test: "ExprNode"
    body: "ExprNode"
    orelse: "ExprNode"
    span: Span = _span()


@node
class Tuple(Record):
    """`(1, 7)`: a keyword argument's value per spatial axis."""

    items: tuple["ExprNode", ...]
    span: Span = _span()


ExprNode = Literal | Name | BinOp | Neg | Func | GroupValue | Compare | BoolOp | Not | IfExp | Tuple

# ------------------------------------------------------------------ statements


@node
class Keyword(Record):
    """A keyword argument of a call, `name=value`."""

    name: str
    value: ExprNode
    span: Span = _span()


@node
class Call(Record):
    """A layer: `conv 64 kernel_size=7 stride=2`."""

    name: str
    args: tuple[ExprNode, ...]
    keywords: tuple[Keyword, ...]
    span: Span = _span()
    name_span: Span = _span()


@node
class Group(Record):
    """`< a; b; c >`: a sequence written inline."""

    body: tuple["Stmt", ...]
    span: Span = _span()


@node
class Named(Record):
    """`name: layer`: a layer whose module is the attribute `name`."""

    name: str
    layer: Call | Group | Residual | Parallel | Repeat
    span: Span = _span()
    name_span: Span = _span()
    pattern: bool = False  # a quoted name: a repeat's per-repetition name pattern, "block{stage}-{i}"


@node
class Residual(Record):
    """`res add|cat < body > [shortcut [name:] P]`."""

    mode: str
    body: Group
    shortcut: Call | Named | None
    span: Span = _span()
    optional: bool = False  # `shortcut none`: no skip where the body changes the shape
    first: bool = False  # `res add shortcut P < body >`: P is built before the body


@node
class Parallel(Record):
    """`cat < a | b >` or `add < a | b >`: branches applied to one input."""

    mode: str
    branches: tuple[tuple["Stmt", ...], ...]
    span: Span = _span()


@node
class Repeat(Record):
    """`repeat N stmt`, or `repeat N as I stmt` with the index `I` (0 to N - 1)."""

    count: ExprNode
    body: "Stmt"
    span: Span = _span()
    index: str | None = None
    index_span: Span | None = field(default=None, compare=False)


@node
class Input(Record):
    """`input [3, H, W]` or `input x: [3, H, W]`: a model's input shape,
    batch axis implicit; named inputs make the model a dataflow graph."""

    dims: tuple[ExprNode, ...]
    name: str | None = None
    span: Span = _span()


@node
class Scale(Record):
    """`mul 0.5` (or `add`, `sub`, `div` and a number): the tensor with a
    constant, elementwise."""

    mode: str
    operand: ExprNode
    span: Span = _span()


@node
class Tie(Record):
    """`lm_head.weight = transformer.wte.weight`: the module at the left
    path takes the tensor at the right one (weight tying)."""

    target: tuple[str, ...]
    source: tuple[str, ...]
    span: Span = _span()
    target_span: Span = _span()
    source_span: Span = _span()


@node
class Init(Record):
    """`init conv: kaiming_normal mode=fan_out nonlinearity=relu`: how a
    model initialises the layers of a kind (`conv`), a named layer (`fc`,
    `heads.head`), a block's named layer (`bottleneck.bn3`) or kind
    (`mlp.linear`), or one tensor of them (`mlp.linear.bias`), where `cond` holds
    (`if zero_init_residual: init bottleneck.bn3: weight=0`).
    `scheme` is the call after the colon (None for `weight=1 bias=0`
    alone); `keywords` are the ones written without a scheme."""

    target: tuple[str, ...]
    scheme: Call | None
    keywords: tuple[Keyword, ...]
    cond: ExprNode | None
    span: Span = _span()
    target_span: Span = _span()


@node
class Learned(Record):
    """`name: param [C, 1, 1] init=1e-6`: a learned tensor of a dataflow
    body (an nn.Parameter attribute `name`), batch axis excluded."""

    name: str
    dims: tuple[ExprNode, ...]
    keywords: tuple["Keyword", ...]
    span: Span = _span()
    name_span: Span = _span()


@node
class Merge(Record):
    """A bare `cat` or `add` stage joining the tensors of a tuple."""

    mode: str
    span: Span = _span()


@node
class Pipeline(Record):
    """`(a, b) -> stage -> stage`: named tensors through stages."""

    sources: tuple[Name, ...]
    stages: tuple[Stmt | Merge, ...]
    span: Span = _span()


@node
class Assign(Record):
    """`name = pipeline`, or `(a, b) = pipeline -> chunk 2`: `parts` are
    the names of a split's parts (`target` is then the first of them)."""

    target: str
    value: Pipeline
    span: Span = _span()
    target_span: Span = _span()
    parts: tuple[Name, ...] = ()


@node
class Return(Record):
    """`return pipeline`: a dataflow block's result; `return x, skip`
    (`several`): its results, the pipeline's sources, with no stages."""

    value: Pipeline
    span: Span = _span()
    several: bool = False


@node
class Output(Record):
    """`output name [= pipeline]`: one of a dataflow model's results."""

    name: str
    value: Pipeline | None
    span: Span = _span()
    name_span: Span = _span()


@node
class Conditional(Record):
    """`if test: layer`: a layer built only when `test` holds."""

    test: ExprNode
    layer: "Stmt"
    span: Span = _span()


Stmt = Call | Group | Named | Residual | Parallel | Repeat | Input | Assign | Return | Output | Learned | Scale | Conditional | Tie | Init

# ----------------------------------------------------------------- definitions


@node
class Param(Record):
    """A definition's parameter, `name` or `name=default`."""

    name: str
    default: ExprNode | None
    span: Span = _span()


@node
class Definition(Record):
    """`block NAME(params)[(inputs)]:` or `model NAME(params):` with its body.

    `inputs` names a dataflow block's input tensors (None: one unnamed
    input). `doc` holds the comment lines written right above the definition.
    `public`: a model, or a block written `public block`, whose class the
    generated file lists in `__all__`.
    """

    kind: str
    name: str
    params: tuple[Param, ...]
    inputs: tuple[Name, ...] | None
    body: tuple[Stmt, ...]
    doc: tuple[str, ...]
    span: Span = _span()
    public: bool = False


@node
class Program(Record):
    """All definitions of one source file, in source order."""

    file: str
    definitions: tuple[Definition, ...]


def walk(node) -> Iterator:
    """Every syntax node in `node`, itself first: statements, the stages of
    pipelines, call arguments and the expressions inside them. (An explicit
    stack: nested generators would make deep nesting quadratic.)"""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        stack += reversed(_children(node))


def _children(node) -> tuple:
    if isinstance(node, Call):
        return (*node.args, *(kw.value for kw in node.keywords))
    if isinstance(node, (BinOp, Compare, BoolOp)):
        return (node.left, node.right)
    if isinstance(node, Not):
        return (node.operand,)
    if isinstance(node, IfExp):
        return (node.body, node.test, node.orelse)
    if isinstance(node, Conditional):
        return (node.test, node.layer)
    if isinstance(node, Init):
        return tuple(x for x in (node.scheme, *(kw.value for kw in node.keywords), node.cond) if x is not None)
    if isinstance(node, Neg):
        return (node.operand,)
    if isinstance(node, Func):
        return node.args
    if isinstance(node, Tuple):
        return node.items
    if isinstance(node, GroupValue):
        return (node.group,)
    if isinstance(node, Group):
        return node.body
    if isinstance(node, Named):
        return (node.layer,)
    if isinstance(node, Residual):
        return (node.body,) + ((node.shortcut,) if node.shortcut is not None else ())
    if isinstance(node, Parallel):
        return tuple(x for branch in node.branches for x in branch)
    if isinstance(node, Repeat):
        return (node.count, node.body)
    if isinstance(node, Input):
        return node.dims
    if isinstance(node, Scale):
        return (node.operand,)
    if isinstance(node, Learned):
        return (*node.dims, *(kw.value for kw in node.keywords))
    if isinstance(node, Assign):
        return (*node.parts, *node.value.sources, *node.value.stages)
    if isinstance(node, (Return, Output)) and node.value is not None:
        return (*node.value.sources, *node.value.stages)
    return ()
