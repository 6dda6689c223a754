"""A recurrent layer's state in and out of a dataflow line.

    (y, h, c) = (x, h0, c0) -> rnn: lstm nhid num_layers=nlayers
    (y, h) = (x, h0) -> gru nhid
    (y, h, c) = x -> lstm nhid             # from the zero state
    y = (x, h0, c0) -> lstm nhid -> linear 10

`lstm` takes its initial state `(h0, c0)` after the sequence in a tuple,
`gru` its `h0`; a tuple of names that ends with the call receives the
output sequence and the final state. Every state tensor is
`[num_layers * directions, hidden_size]` without the batch axis, batch
first as every legoc tensor: the generated code transposes it to and from
torch's `[num_layers * directions, B, hidden_size]` at the call
(codegen/recurrent.py), so the state flows through the rest of the graph,
the input checks and the tools as any tensor does.
"""

from __future__ import annotations

from dataclasses import replace

from ..core.diagnostics import Span, error
from ..ir import symbolic as sy
from ..ir.nodes import Check, Layer, Shape
from ..ir.symbolic import Expr
from ..syntax import tree as s
from .flow import Body, Flow, Scope
from .signature import show_shape

RECURRENT = {"lstm": ("h", "c"), "gru": ("h",)}
"""The recurrent primitives and the names of their state tensors, in torch's order."""


def recurrent_call(stage, scope: Scope, defs) -> s.Call | None:
    """The call where `stage` (possibly named, `rnn: lstm ...`) is the
    primitive `lstm` or `gru` (not a block or parameter of that name)."""
    call = stage.layer if isinstance(stage, s.Named) else stage
    if isinstance(call, s.Call) and call.name in RECURRENT and call.name not in scope.env and call.name not in defs:
        return call
    return None


def state_shape(node: Layer) -> Shape:
    """A recurrent Layer's state, without the batch axis: `[num_layers *
    directions, hidden_size]` from its nn.LSTM / nn.GRU constructor."""
    kwargs = dict(node.ctor.kwargs)
    layers = kwargs.get("num_layers", sy.ONE)
    dirs = sy.cond(kwargs.get("bidirectional", sy.FALSE), sy.Const(2), sy.ONE)  # type: ignore[arg-type]
    hidden = node.ctor.args[1]
    assert isinstance(hidden, Expr)
    return (sy.mul(layers, dirs), hidden)  # type: ignore[arg-type]


def with_state(statements, stage, shapes: list[Shape], spans: list[Span], scope: Scope, inner: Body, returns: bool) -> Layer:
    """Analyse `stage`, a recurrent call (`recurrent_call`), on the first of
    `shapes` (the sequence, `[T, D]`), the others being its initial state
    (none: the zero state); `returns`: the final state is returned too (a
    tuple of names ends with the call). Adds its parameters and checks to
    `inner` (not its node: the caller places it) (the state's sizes against the layer's, LG330 and LG331, where
    they are symbolic) and returns its Layer, applied as "state", whose
    `results` are the sequence and each state tensor when `returns`.

    Raises:
        SpecError: LG239, a tuple of the wrong length; LG329, a state
            tensor not of rank 2; LG436, `output="hidden"` with a state;
            LG330 / LG331, a state's sizes that are known to disagree.
    """
    call = stage.layer if isinstance(stage, s.Named) else stage
    assert isinstance(call, s.Call)  # recurrent_call(stage) is not None
    names = RECURRENT[call.name]
    if len(shapes) not in (1, 1 + len(names)):
        given = ", ".join(f"{n}0" for n in names)
        raise error(
            "LG239", call.name_span, f"`{call.name}` takes the sequence and its initial state, ({', '.join(('x', *(f'{n}0' for n in names)))}), but the tuple has {len(shapes)} tensors",
            hint=f"write `(x, {given}) -> {call.name} ...`, or `x -> {call.name} ...` to start from the zero state",
        )
    sub = Body.empty()
    statements.statement(stage, Flow.start(shapes[0]), scope, sub)
    node = sub.nodes[-1]
    assert isinstance(node, Layer)
    if node.apply != "sequence":
        raise error("LG436", call.span, f'`{call.name}` that takes or returns its state gives every step\'s output: leave out `output="hidden"`',
                    hint="the final hidden state is the state's result: `(y, h, c) = x -> lstm ...`")
    state = state_shape(node)
    checks = []
    for name, shape, span in zip(names, shapes[1:], spans[1:]):
        if len(shape) != 2:
            raise error("LG329", span, f"`{call.name}`'s initial {name} is [num_layers * directions, hidden_size], {show_shape(state)} here, not {show_shape(shape)}",
                        hint="the batch axis is not written: the tensor is [B, num_layers * directions, hidden_size], which the call transposes to torch's layout")
        checks.append(Check(sy.eq(shape[0], state[0]), span, (f"`{call.name}`'s initial {name} has one row per layer and direction, ", state[0], ", not ", shape[0]), code="LG330"))
        checks.append(Check(sy.eq(shape[1], state[1]), span, (f"`{call.name}`'s initial {name} has hidden_size = ", state[1], " columns, not ", shape[1]), code="LG331"))
    inner.n_params = sy.add(inner.n_params, sub.n_params)
    inner.checks += sub.checks + checks
    return replace(node, apply="state", results=(node.out, *(state for _ in names)) if returns else ())


def receivers(node: Layer, call_span: Span, parts: tuple[s.Name, ...]) -> None:
    """Check that a tuple of names receiving a recurrent layer's results
    has one name for the sequence and one per state tensor (LG238)."""
    if len(parts) != len(node.results):
        kind = node.ctor.target.removeprefix("nn.").lower()
        expected = ", ".join(("y", *RECURRENT[kind]))
        raise error(
            "LG238", call_span, f"`{kind}` returns {len(node.results)} tensors, ({expected}), but {len(parts)} names receive them: ({', '.join(p.id for p in parts)})",
            hint=f"write `({expected}) = ... -> {kind} ...`, or `y = ... -> {kind} ...` to keep only the sequence",
        )
