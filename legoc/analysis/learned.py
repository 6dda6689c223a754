"""Learned tensors of a dataflow body: their keywords and their `cat`.

    class_token: param [1, hidden_dim] batch=1 init=zeros
    pos_embedding: param [seq_length, hidden_dim] batch=1 init=normal std=0.02
    x = (class_token, x) -> cat

`learned_keywords` reads a learned tensor's `init=` (a number, `zeros`,
or `normal` with `std=`) and `batch=1` (stored with a leading axis of 1, as
torchvision and timm store class tokens and position embeddings);
`cat_with_learned` checks a `cat` of such a tensor with the graph's tokens
(LG325: a class token whose width is not the tokens'). dataflow.py declares
them and joins them.
"""

from __future__ import annotations

from ..core.diagnostics import Span, error
from ..ir import symbolic as sy
from ..ir.nodes import Check, Shape, Value
from ..syntax import tree as s
from .arguments import number
from .conditional import run_time_sizes
from .flow import Scope, merge_shapes
from .signature import show_shape, show_value

INITS = ("zeros", "normal", "trunc_normal")
"""The named initialisations: `torch.zeros(...)`, `torch.empty(...).normal_(std=...)`
and `nn.init.trunc_normal_(torch.empty(...), std=...)` (timm's position embedding)."""


def learned_keywords(stmt: s.Learned, scope: Scope, defs) -> tuple[tuple[str, Value], ...]:
    """The constructor keywords of learned tensor `stmt`: ("init", a number
    or the Const "zeros" / "normal" / "trunc_normal"), ("std", ...) with
    `normal` and `trunc_normal`, and
    ("batch", TRUE) with `batch=1`.

    Raises:
        SpecError: LG402, a keyword other than init, std and batch, `std`
            without `init=normal` or `init=trunc_normal`, or no `init`; LG401, a value of the wrong
            kind (`init` not a number or an initialisation's name, `std`
            not a non-negative number, `batch` other than 1).
    """
    init: Value | None = None
    std: tuple[str, Value] | None = None
    batch = False
    for keyword in stmt.keywords:
        value = keyword.value
        if keyword.name == "init":
            if isinstance(value, s.Name) and value.id in INITS and value.id not in scope.env:
                init = sy.Const(value.id)
                continue
            init = number(value, scope, defs)
            if isinstance(sy.value_of(init), (bool, str)):
                raise error("LG401", value.span, f"`init` is a number, `zeros`, `normal` or `trunc_normal`, not {show_value(sy.value_of(init))}")
        elif keyword.name == "std":
            std_value = number(value, scope, defs)
            v = sy.value_of(std_value)
            if isinstance(v, (bool, str)) or isinstance(v, (int, float)) and v < 0:
                raise error("LG401", value.span, f"`std` is a standard deviation, a number of at least 0, not {show_value(v)}")
            std = ("std", std_value)
        elif keyword.name == "batch":
            v = sy.value_of(number(value, scope, defs))
            if v != 1 or isinstance(v, bool):
                raise error(
                    "LG401", value.span, f"`batch` is 1, not {show_value(v)}: the tensor is stored with a leading axis of 1, which broadcasts over the batch",
                    hint="leave `batch=` out for a tensor without a batch axis",
                )
            batch = True
        else:
            raise error("LG402", keyword.span, f"a learned tensor takes `init=` (its initial value), `std=` and `batch=1`, not `{keyword.name}=`")
    if init is None:
        raise error("LG402", stmt.span, f"the learned tensor `{stmt.name}` needs its initial value: `init=0.0`, `init=zeros` or `init=normal std=0.02`")
    if std is not None and init not in (sy.Const("normal"), sy.Const("trunc_normal")):
        where = next(k for k in stmt.keywords if k.name == "std")
        raise error("LG402", where.span, "a learned tensor takes `init=` (its initial value), and `std=` only with `init=normal` or `init=trunc_normal`", hint="write `init=normal std=0.02`, or leave `std=` out")
    return (("init", init), *((std,) if std else ()), *((("batch", sy.TRUE),) if batch else ()))


def cat_with_learned(span: Span, sources: tuple[s.Name, ...], shapes: list[Shape], learned: list[bool]) -> tuple[Shape, list[Check]]:
    """`(class_token, x) -> cat`: the joined shape (the first axes added up,
    the others the first graph tensor's) and the checks that every learned
    tensor (stored with `batch=1`) has the tokens' other sizes (LG325) and
    that the graph's tensors agree with each other (LG301).

    Raises:
        SpecError: LG325, a learned tensor of another rank than the tokens,
            or whose sizes after the first are known to differ from theirs.
    """
    ref = next(shape for shape, is_learned in zip(shapes, learned) if not is_learned)
    graph = [shape for shape, is_learned in zip(shapes, learned) if not is_learned]
    checks = [merge_shapes("cat", graph, span)[1]] if len(graph) > 1 else []
    for name, shape, is_learned in zip(sources, shapes, learned):
        if not is_learned:
            continue
        hint = f"declare `{name.id}` with the tokens' sizes after its first axis: `{name.id}: param {show_shape((shape[0], *ref[1:]))} batch=1 ...`"
        message = f"the learned tensor `{name.id}` is {show_shape(shape)}, but the tokens it joins are {show_shape(ref)}: `cat` joins along the first axis, so the others must agree"
        if len(shape) != len(ref):
            raise error("LG325", name.span, message, hint=hint)
        cond = sy.both(*(sy.eq(a, b) for a, b in zip(shape[1:], ref[1:])))
        if cond == sy.FALSE:
            raise error("LG325", name.span, message, hint=hint)
        checks.append(
            Check(
                cond, name.span, (f"the learned tensor `{name.id}` is ", shape, ", but the tokens it joins are ", ref, ": `cat` joins along the first axis, so the others must agree"),
                hint=hint if not any(run_time_sizes(e) for e in ref[1:]) else f"declare `{name.id}` with the tokens' sizes after its first axis (their width)", code="LG325",
            )
        )
    first: sy.Expr = sy.ZERO
    for shape in shapes:
        first = sy.add(first, shape[0])
    return (first, *ref[1:]), checks
