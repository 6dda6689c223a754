"""The analysed IR: what shape inference hands to code generation.

Every size here is a `symbolic.Expr` over the enclosing class's constructor
arguments (DSL parameters and input sizes such as `in_channels`) and, for
shape comments, the input's spatial symbols (`H`, `W`). Plain frozen
dataclasses (equality and repr from `record.Record`); no stage mutates
another's output.
"""

from __future__ import annotations

from dataclasses import field

from ..core.diagnostics import Note, Span
from ..core.record import Record, node
from .symbolic import TRUE, Expr

Shape = tuple[Expr, ...]
"""A tensor shape without the batch axis: `[C, H, W]` is `(C, H, W)`."""


@node
class LayerRef(Record):
    """A layer used as a value (`act=silu`): a primitive, or a layer-valued
    parameter of the enclosing block passed through."""

    kind: str  # "prim" or "param"
    name: str  # the DSL name
    code: str  # the Python it renders as: "nn.SiLU" or "act"


@node
class Sizes(Record):
    """A tuple of sizes, one per spatial axis (`kernel_size=(1, 7)`), or
    `permute`'s axes; `brackets` is how the generated code writes it:
    "()" a tuple, "[]" a list (torchvision's `Permute([0, 2, 3, 1])`)."""

    items: tuple[Expr, ...]
    brackets: str = "()"


Value = Expr | LayerRef | Sizes


@node
class Ctor(Record):
    """A constructor call in generated code.

    kind: "torch" (target is e.g. "nn.Conv2d"), "block" (target is the DSL
    block name, rendered as its class), "param" (target is a layer-valued
    parameter, called with no arguments), "sequential" (args are Ctors) or
    "tensor" (a learned tensor, `nn.Parameter(torch.full(args, init))`:
    args are its sizes, kwargs hold "init").
    """

    kind: str
    target: str
    args: tuple[Value | Ctor, ...] = ()
    kwargs: tuple[tuple[str, Value], ...] = ()


@node
class Check(Record):
    """A condition the spec must meet, kept symbolic until it can be decided.

    `message` is a template of strings, expressions and shapes, rendered once
    the check fails with concrete values substituted. A check of severity
    "warning" is a lint rule (`code` LG5xx): failing it is reported but
    does not stop compilation, and it never becomes an input-size rule.

    `origin` is set on the checks of an argument's type and range: the keys
    of the parameters (`p:NAME`) the argument's value is computed from. A
    caller that gives such a parameter moves the check to the value it
    passes (a model, to its parameter's default), with a note at the use.
    """

    cond: Expr
    span: Span
    message: tuple[str | Expr | Shape, ...]
    notes: tuple[Note, ...] = ()
    hint: str | None = None
    code: str = "LG301"
    severity: str = "error"
    origin: tuple[str, ...] = ()


# ------------------------------------------------------------------ nodes


@node
class Layer(Record):
    """`x = self.<attr>(x)`: one module applied in sequence.

    `apply` says how forward calls it: "call" (the plain form above),
    "sequence" (a recurrent layer's output sequence), "attention"
    (`x, _ = self.<attr>(x, x, x, need_weights=False)`: self-attention of
    nn.MultiheadAttention) or "lstm_hidden" /
    "gru_hidden" (its final hidden state, both directions joined), or
    "tensor": a learned tensor (Ctor kind "tensor"), not applied: the
    joins read it as `self.<attr>`. `hint`
    is what the compiler names it after when the spec gives no `name`.
    A call of a block that returns several tensors (`return x, skip`) has
    their shapes in `results` (`out` is the first); it ends a `Bind` that
    `unpack`s them.
    """

    hint: str
    ctor: Ctor
    out: Shape
    span: Span = field(compare=False)
    apply: str = "call"
    name: str | None = None  # the spec's name for it (`conv1: conv 64`)
    results: tuple[Shape, ...] = ()


@node
class Method(Record):
    """`x = x.unflatten(...).permute(...)`: tensor methods with no module,
    from `rearrange` and `reduce`. `ops` are (method, arguments) pairs; a
    single op named in ELEMENTWISE (`mul 0.5`) is written as its operator,
    `x = x * 0.5`."""

    ops: tuple[tuple[str, tuple], ...]
    out: Shape
    span: Span = field(compare=False)


@node
class Residual(Record):
    """`res add|cat < body > [shortcut P]`.

    `projection` is the shortcut module (None when the shortcut is always the
    identity) and `needs_projection` the condition, over constructor
    arguments, under which it is used instead of the identity (otherwise the
    attribute is None). `shortcut_name` is the spec's name for it.
    `skip` is the condition, over constructor arguments, under which the
    skip is added at all (`shortcut none`: where the body keeps the shape);
    otherwise the body's output is the result. `shortcut_first`: the
    projection is registered (and in the state_dict) before the body.
    """

    mode: str
    body: tuple["Node", ...]
    projection: Ctor | None
    needs_projection: Expr
    out: Shape
    span: Span = field(compare=False)
    shortcut_name: str | None = None
    skip: Expr = TRUE
    shortcut_first: bool = False  # `res add shortcut P < body >`: P registered before the body


@node
class Conditional(Record):
    """`if TEST: layer`: modules built only where `cond` (over constructor
    arguments) holds; the input passes unchanged otherwise. `body` holds
    only module-owning nodes (`Layer`s applied with "call", `Sequential`s,
    `Repeat`s); `out` is the shape after it under the condition."""

    cond: Expr
    body: tuple["Node", ...]
    out: Shape
    span: Span = field(compare=False)


@node
class Parallel(Record):
    """`cat|add < a | b >`: every branch applied to the same input."""

    mode: str
    branches: tuple[tuple["Node", ...], ...]
    out: Shape
    span: Span = field(compare=False)


@node
class Repeat(Record):
    """`repeat N item`: `first` builds repetition one, `rest` the others
    (`rest` is None when every repetition is built alike).

    `outs` holds the shape after each layer of the first repetition and of
    the others (the same when they are built alike): one shape per layer of
    a repeated `< ... >` group, whose `first` is a "sequential" Ctor.

    `repeat n as i ...` (analysis/indexed.py) has its `index`, the symbol
    `i` that `first` (built alike for every repetition, `rest` None) and
    `outs` mention, and `each`, the repetitions' names as parts to join
    (text, and integer expressions over the index and the parameters:
    ("denselayer", i + 1) names them `denselayer1` ..., ("block", stage, "-",
    i) `block1-0` ...), or None to number them 0, 1, ....
    """

    hint: str
    count: Expr
    first: Ctor
    rest: Ctor | None
    out: Shape
    span: Span = field(compare=False)
    name: str | None = None
    outs: tuple[tuple[Shape, ...], tuple[Shape, ...]] = ((), ())
    index: Expr | None = None
    each: tuple[str | Expr, ...] | None = None


@node
class Sequential(Record):
    """`name: < ... >`: a named group, built as one `nn.Sequential` attribute.

    `body` holds only `Layer`s (applied with "call") and `Repeat`s; in the
    Sequential they are numbered 0, 1, ... in order, a repeat taking one
    number per repetition.
    """

    name: str
    body: tuple["Node", ...]
    out: Shape
    span: Span = field(compare=False)


@node
class Bind(Record):
    """`target = (sources) -> join -> stages` in a dataflow definition.

    `join` combines several sources: "cat", "add", or a `Layer` calling a
    block with several inputs; None for a single source. `joined` is the
    shape right after the join.

    `(a, b) = x -> ... -> chunk 2` splits the result along channels into
    `parts`, (Python local, shape) each: equal parts (`x.chunk(n, dim=1)`)
    where `sizes` is empty, else parts of `sizes` channels (`split (s1,
    s2)`: `torch.split(x, [s1, s2], dim=1)`); `unbind`, where not None,
    is the axis (after the batch, from 0) that `unbind` splits into its
    positions instead (`x.unbind(axis + 1)`). `target` then holds the
    result before the split (the source itself when nothing comes before).

    A product joins with "einsum" (`equation`: torch.einsum's, with the
    batch axis), "matmul" or "attention" (`options`: its keywords given,
    (name, value), in the order of analysis/products.py's ATTENTION_KEYWORDS).
    The join "arange" makes the positions of the source's first axis
    (analysis/positions.py); `batchless` marks a tensor without a batch
    axis (those positions, and what layers compute from them).

    `expand`, where not empty, is per source the rank (with the batch axis)
    of a learned tensor stored with a batch axis of 1 that a "cat" expands
    over the batch (`self.class_token.expand(n, -1, -1)`), 0 for the others.

    `(y, skip) = x -> down 64` (`unpack`): the last stage, or the join
    where there is none, calls a block that returns several tensors, and
    `parts` are its results, `y, skip = self.down(x)`; `out` is the first.
    """

    target: str
    sources: tuple[str, ...]
    join: str | Layer | None
    joined: Shape | None
    stages: tuple["Node", ...]
    out: Shape
    span: Span = field(compare=False)
    parts: tuple[tuple[str, Shape], ...] = ()
    sizes: tuple[Expr, ...] = ()
    unbind: int | None = None
    equation: str = ""
    options: tuple[tuple[str, Expr], ...] = ()
    batchless: bool = False
    expand: tuple[int, ...] = ()
    unpack: bool = False


ELEMENTWISE = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
"""The elementwise joins (`add`, `sub`, `mul`, `div`, with PyTorch's
broadcasting) and their Python operators; the other join is "cat"."""

Node = Layer | Method | Residual | Parallel | Repeat | Sequential | Bind | Conditional


@node
class Port(Record):
    """A named input or output tensor of a class (`code` is its Python name)."""

    name: str
    code: str
    shape: Shape


@node
class DimRule(Record):
    """What a model needs of a symbolic input size, checked in `forward`.

    The size `dim` (axis `axis` of input `port`) must be a multiple of
    `multiple` and at least `minimum`; `cond` is the exact condition when it
    is not of that form (then `multiple` and `minimum` are 1).
    """

    dim: Expr
    port: str
    axis: int
    multiple: int = 1
    minimum: int = 1
    cond: Expr | None = None


@node
class InitRule(Record):
    """One `init` line of a model (analysis/inits.py), for codegen/inits.py.

    select: "kind" (every module of the torch `classes`), "layer" (the
        model's attribute `path`, `heads.head` inside a group, whose class
        is then `layer_class`), "block" (attribute `path` of every
        instance of the block named `classes[0]`) or "block_kind" (every
        module of the torch classes `inner` inside each instance of the
        block `classes[0]`).
    weight, bias: the `nn.init` calls, Ctor("init", "nn.init.normal_",
        args after the tensor, kwargs), or None to leave the tensor as is.
    bias_optional, weight_optional: some of the modules may have no bias
        (`if m.bias is not None`), or torch types it optional (a
        convolution's), or no weight (batch norm's `affine`).
    cond: the construction-time condition (`if zero_init_residual`), or None.
    fans: which of `fan_in`, `fan_out` (of the module's weight) the calls
        use, to be computed before them.
    """

    select: str
    classes: tuple[str, ...]
    path: str
    weight: Ctor | None
    bias: Ctor | None
    bias_optional: bool
    cond: Expr | None
    span: Span = field(compare=False)
    weight_optional: bool = False
    inner: tuple[str, ...] = ()
    fans: tuple[str, ...] = ()
    layer_class: str = ""


@node
class ParamIR(Record):
    """A constructor parameter from the DSL, with its default (None: required)."""

    name: str
    code: str
    default: Value | None


@node
class ClassIR(Record):
    """One `block` or `model`, analysed for one input rank.

    Attributes:
        kind: "block" or "model".
        name: the DSL name.
        params: the DSL parameters, in order.
        size_params: input sizes the constructor needs (`in_channels`, ...).
        inputs, outputs: the tensors `forward` takes and returns, with shapes
            without the batch axis, over the class's symbols. A model's
            several outputs are returned as a dict keyed by their names, a
            block's (`return x, skip`) as a tuple.
        body: the analysed statements.
        n_params: trainable parameter count, over the class's symbols.
        keep, stride: per output axis, whether the body keeps that axis's
            size for every input size, and its total stride (None: not a
            whole stride), as seen by an enclosing residual.
        checks: conditions still to be decided by callers.
        doc: the definition's comment lines.
        graph: whether the body is a dataflow graph of named tensors.
        dim_rules: for a model, what its symbolic input sizes must satisfy.
        ties: tied weights (analysis/ties.py), (target, source) attribute
            paths: `self.lm_head.weight = self.transformer.wte.weight`.
        public: whether the generated file's `__all__` lists the class (a
            model, or a `public block`).
        inits: a model's `init` lines (analysis/inits.py), in spec order.
    """

    kind: str
    name: str
    params: tuple[ParamIR, ...]
    size_params: tuple[Expr, ...]
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    body: tuple[Node, ...]
    n_params: Expr
    keep: tuple[Expr | None, ...]
    stride: tuple[Expr | None, ...]
    checks: tuple[Check, ...]
    doc: tuple[str, ...]
    span: Span = field(compare=False)
    graph: bool = False
    dim_rules: tuple[DimRule, ...] = ()
    ties: tuple[tuple[str, str], ...] = ()
    public: bool = False
    inits: tuple[InitRule, ...] = ()

    @property
    def input(self) -> Shape:
        """The first input's shape."""
        return self.inputs[0].shape

    @property
    def output(self) -> Shape:
        """The first output's shape."""
        return self.outputs[0].shape


def walk(nodes):
    """Every node of a body and every node inside it, depth first: a
    residual or named group before its body, a parallel before its branches, a dataflow
    binding before its stages. (An explicit stack: nested generators would
    make deep nesting quadratic.)"""
    stack = list(reversed(nodes))
    while stack:
        n = stack.pop()
        yield n
        for body in reversed(bodies(n)):
            stack += reversed(body)


def bodies(node) -> tuple[tuple, ...]:
    """The sequences of nodes directly inside `node`: a residual's or named
    group's body, a parallel's branches, a dataflow binding's stages."""
    if isinstance(node, (Residual, Sequential, Conditional)):
        return (node.body,)
    if isinstance(node, Parallel):
        return node.branches
    if isinstance(node, Bind):
        return (node.stages,)
    return ()
