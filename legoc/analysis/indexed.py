"""A repeat with an index: `repeat n as i stmt`, whose repetitions vary.

    repeat 3 as i conv c kernel_size=3 padding=2 ** i dilation=2 ** i
    denseblock1: repeat 6 as i denselayer: dense_layer 64 + i * 32 32

`i` runs from 0 to n - 1. The repetitions may change the shape, by the
same amount each time (DenseNet's layers add `growth` channels each): the
repetition is analysed once for `i = 0` on the input, which gives the
change, and once for a symbolic `i` on the input changed `i` times, whose
output must be the input changed `i + 1` times. A named repetition
(`denselayer: ...`) names the repetitions `denselayer1` ... `denselayerN`,
1-based as torchvision's DenseNet numbers them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..ir import symbolic as sy
from ..syntax import tree as s
from ..core.diagnostics import error
from ..core.naming import py_ident
from ..ir.nodes import Check, Ctor, Layer, Repeat
from ..ir.symbolic import Expr
from .flow import Body, Flow, Scope


def index_symbol(name: str) -> sy.Sym:
    """The symbol of a repeat's index `name` (an integer, 0 or more)."""
    return sy.Sym(f"idx:{name}", name, py_ident(name))


_PATTERN = re.compile(r"(?:[A-Za-z0-9_-]+|\{[A-Za-z_][A-Za-z0-9_]*\})+")


def repetition_names(named: s.Named, index_name: str, index: sy.Sym, scope: Scope, checks: list[Check]) -> tuple[str | Expr, ...]:
    """The repetitions' names of `repeat n as i NAME: ...`, as parts to join:
    text, and integers (the index, parameters) written in decimal.

    `denselayer` names them `denselayer1` ... (1-based, torchvision's
    DenseNet): ("denselayer", i + 1). A quoted pattern names them as it says,
    `"block{stage}-{i}"`: ("block", stage, "-", i), torchvision's RegNet.
    A pattern is letters, digits, `_` and `-`, and `{name}` for the index
    or an integer parameter; it must mention the index. A parameter whose
    type its caller decides appends its check to `checks`.

    Raises:
        SpecError: LG217 a pattern with another character, a `{...}` that
            is not the index or a parameter, a parameter that is not an
            integer, or no `{index}`.
    """
    if not named.pattern:
        return (named.name, sy.add(index, sy.ONE))
    text, span = named.name, named.name_span
    if not _PATTERN.fullmatch(text):
        rest = re.sub(r"\{[A-Za-z_][A-Za-z0-9_]*\}", "", text)
        bad = next((c for c in rest if not (c.isascii() and (c.isalnum() or c in "_-{}"))), None)
        what = "is empty" if not text else "has a `{` or `}` that is not `{name}`" if "{" in rest or "}" in rest else f"has the character {bad!r}"
        raise error(
            "LG217", span, f"the name pattern \"{text}\" {what}; a repetition's name is letters, digits, `_` and `-`, "
            f"and `{{name}}` for the index or a parameter", hint=f'e.g. "block{{stage}}-{{{index_name}}}"',
        )
    parts: list[str | Expr] = []
    for literal, name in re.findall(r"([^{}]+)|\{([A-Za-z_][A-Za-z0-9_]*)\}", text):
        if literal:
            parts.append(literal)
        elif name == index_name:
            parts.append(index)
        elif name in scope.env and isinstance(scope.env[name], Expr) and sy.type_of(scope.env[name]) in (None, "int"):
            value = scope.env[name]
            parts.append(value)
            if sy.type_of(value) is None:  # decided with the caller's value (a model's: its default)
                checks.append(
                    Check(sy.is_type("int", value), span, (f"`{{{name}}}` in the name pattern \"{text}\" is not an integer: it is ", value),
                          code="LG217", origin=sy.parameters(value))
                )  # fmt: skip
        else:
            why = "is not a parameter" if name not in scope.env else "is not an integer"
            raise error("LG217", span, f"`{{{name}}}` in the name pattern \"{text}\" {why}; a pattern reads the index `{index_name}` and integer parameters")
    if index not in parts:
        raise error("LG217", span, f"the name pattern \"{text}\" does not mention the index, so every repetition would have one name", hint=f"add `{{{index_name}}}`")
    return tuple(parts)


def one_repetition(calls_analyser, calls, start: Flow, scope: Scope) -> tuple[Ctor, tuple, Expr, list[Check], Flow]:
    """One repetition of a `repeat`'s item, the layer calls `calls` in
    order from `start` (`calls_analyser`: analysis.calls.Calls): its
    constructor (an nn.Sequential of several), each call's output shape,
    its parameter count, its checks and the flow after it.

    Raises:
        SpecError: LG404 a call that is not a module (a method such as
            `flatten` or a pattern), and whatever the calls raise.
    """
    ctors, outs, n_params, checks, cur = [], [], sy.ZERO, [], start
    for c in calls:
        node, p, chk, cur = calls_analyser.call(c, cur, scope)
        if not isinstance(node, Layer) or node.apply != "call":
            raise error("LG404", c.span, f"`repeat` cannot repeat `{c.name}`; write the repetitions out, or put them in a block")
        ctors.append(node.ctor)
        outs.append(node.out)
        n_params = sy.add(n_params, p)
        checks += chk
    ctor = ctors[0] if len(ctors) == 1 else Ctor("sequential", "nn.Sequential", tuple(ctors))
    return ctor, tuple(outs), n_params, checks, cur


def indexed_repeat(calls_analyser, stmt: s.Repeat, count: Expr, count_checks: list[Check], flow: Flow, scope: Scope, body: Body, limit: int) -> Flow:
    """Analyse `repeat count as I item` (`calls_analyser`: analysis.calls.Calls)
    and append its `Repeat` node (with `index` and, for a named item, `each`)
    to `body`; returns the flow after it.

    Raises:
        SpecError: LG404 an item that is not layers, LG203 an index that
            hides a parameter, LG308 repetitions that change the shape by
            different amounts, or a parameter count legoc cannot sum over a
            symbolic count.
    """
    assert stmt.index is not None
    if stmt.index in scope.env:
        raise error("LG203", stmt.index_span or stmt.span, f"the repeat index `{stmt.index}` hides the parameter `{stmt.index}`; call it another name")
    item, each = stmt.body, None
    index = index_symbol(stmt.index)
    if isinstance(item, s.Named):
        item, each = item.layer, repetition_names(item, stmt.index, index, scope, count_checks := list(count_checks))
    calls = item.body if isinstance(item, s.Group) else (item,)
    if not calls or not all(isinstance(c, s.Call) for c in calls):
        raise error("LG404", item.span, "`repeat` takes a layer or a `< ... >` group of layers; define a block for anything else")

    def once(start: Flow, i: Expr):
        return one_repetition(calls_analyser, calls, start, replace(scope, env={**scope.env, stmt.index: i}))

    first, outs0, params0, checks0, flow0 = once(Flow.start(flow.shape), sy.ZERO)
    if len(flow0.shape) != len(flow.shape):
        raise error("LG308", stmt.span, "the repetitions of an indexed repeat must keep the rank of the shape")
    delta = [sy.sub(b, a) for a, b in zip(flow.shape, flow0.shape)]
    at = lambda i: tuple(sy.add(a, sy.mul(i, d)) for a, d in zip(flow.shape, delta))  # noqa: E731
    ctor, outs, n_params, checks, flow_i = once(Flow.start(at(index)), index)
    expected = at(sy.add(index, sy.ONE))
    rest = None
    out = at(count)
    if _same(flow_i.shape, expected):  # every repetition changes the shape by `delta`
        params = [n_params] * 3
    else:  # the first repetition changes the shape, the others keep it (a stage's first stride)
        # The others see an index of 1 or more: `(stride if i == 0 else 1)` is 1 there.
        later = sy.Sym(index.key, index.label, index.code, low=1)
        rest, rest_outs, rest_params, rest_checks, flow_r = once(Flow.start(flow0.shape), later)
        if not _same(flow_r.shape, flow0.shape):
            raise error(
                "LG308", stmt.span,
                f"the repetitions of `repeat ... as {stmt.index}` must each change the shape by the same amount, or only the first "
                f"may change it: repetition 0 maps {_show(flow.shape)} to {_show(flow0.shape)}, so repetition {stmt.index} should "
                f"map {_show(at(index))} to {_show(expected)} (or {_show(flow0.shape)} to itself), but it gives {_show(flow_i.shape)}",
            )
        ctor, outs, out, n_params = first, (outs0, rest_outs), flow0.shape, rest_params
        count_checks = count_checks + [
            Check(
                sy.either(sy.compare("<", count, sy.ZERO), sy.compare(">=", count, sy.ONE), _same_shapes(flow.shape, flow0.shape)),
                stmt.count.span,
                ("this repeat changes the shape from ", flow.shape, " to ", flow0.shape, ", so it needs a count of at least 1, not ", count),
                code="LG308",
            )
        ]
    n = sy.value_of(count)
    known = isinstance(n, int) and not isinstance(n, bool)
    at_k = lambda e, k: sy.substitute(e, {index.key: sy.Const(k)})  # noqa: E731
    skip = 0 if rest is None else 1  # repetitions summed apart: the first where it is built differently
    if known:
        total = sy.ZERO if rest is None or n < 1 else params0
        for k in range(skip, max(n, 0)):
            total = sy.add(total, at_k(n_params, k))
        ks = range(max(n, 0))
    else:
        p0, p1, p2 = (at_k(n_params, k + skip) for k in range(3))
        step = sy.sub(p1, p0)
        if sy.sub(sy.sub(p2, p1), step) != sy.ZERO:
            raise error("LG404", stmt.count.span, f"the parameters of `repeat ... as {stmt.index}` grow faster than linearly in `{stmt.index}`; give a constant count")
        m = sy.sub(count, sy.Const(skip))  # the repetitions summed: p0, p0 + step, ...
        total = sy.add(sy.mul(m, p0), sy.mul(step, sy.floordiv(sy.mul(m, sy.sub(m, sy.ONE)), sy.Const(2))))
        if rest is not None:
            total = sy.add(total, params0)
        ks = range(3)  # checks that vary with the index: decided for the first repetitions
    guarded = []
    generic = checks
    if rest is not None:  # the first repetition's checks, then the others'
        guarded += [_when(c, sy.compare(">=", count, sy.ONE)) for c in checks0]
        generic = rest_checks
    for c in generic:
        if index.key not in {sym.key for sym in _symbols(c)}:
            guarded.append(_when(c, sy.compare(">=", count, sy.Const(1 + skip))))
        else:
            guarded += [_when(at, sy.compare(">", count, sy.Const(k))) for k in ks if k >= skip for at in (_at(c, index, k),) if at is not None]
    body.nodes.append(
        Repeat((calls[0].name if len(calls) == 1 else "layer") + "_blocks", count, ctor, rest, out, stmt.span,
               outs=outs if rest is not None else (outs, outs), index=index, each=each)
    )  # fmt: skip
    body.n_params = sy.add(body.n_params, total)
    body.checks += count_checks + guarded
    return flow.then(out, flow0.keep, flow0.stride)


def _same(a, b) -> bool:
    return len(a) == len(b) and sy.both(*(sy.eq(x, y) for x, y in zip(a, b))) == sy.TRUE


def _same_shapes(a, b) -> Expr:
    return sy.both(*(sy.eq(x, y) for x, y in zip(a, b)))


def _show(shape) -> str:
    return "[" + ", ".join(sy.to_text(d) for d in shape) + "]"


def _symbols(check: Check) -> set:
    out = sy.free_symbols(check.cond)
    for m in check.message:
        for e in m if isinstance(m, tuple) else (m,):
            if isinstance(e, sy.Expr):
                out |= sy.free_symbols(e)
    return out


def _at(check: Check, index: sy.Sym, k: int) -> Check | None:
    """The check for repetition `k`, or None where it holds there (`settle`
    would drop it: its message is not worth substituting, and a DenseNet
    block's 24 layers have hundreds of such checks)."""
    put = sy.substituter({index.key: sy.Const(k)})
    cond = put(check.cond)
    if cond == sy.TRUE:
        return None
    at = lambda m: put(m) if isinstance(m, sy.Expr) else tuple(put(e) for e in m) if isinstance(m, tuple) else m  # noqa: E731
    return replace(check, cond=cond, message=tuple(at(m) for m in check.message))


def _when(check: Check, holds: Expr) -> Check:
    """`check`, decided only where `holds`."""
    return replace(check, cond=sy.either(sy.negate(holds), check.cond))
