"""Lint rules that look at more than one layer: what follows what (LG501 to
LG504, over the analysed IR) and parameters never used (LG506, over the
syntax tree). Rules about one layer's arguments and sizes (LG505, LG508,
LG509) are warning checks in shape_rules.py, decided where the sizes are
known. docs/lint-rules.md describes every rule.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, replace

from ..ir import symbolic as sy
from ..syntax import tree as s
from ..core.diagnostics import Diagnostic, Fix, Note, Span
from ..ir.nodes import Bind, ClassIR, Conditional, Ctor, Layer, LayerRef, Node, Parallel, Repeat, Residual, Sequential, Value, walk

ACTIVATIONS = frozenset("nn.ReLU nn.ReLU6 nn.LeakyReLU nn.GELU nn.SiLU nn.Sigmoid nn.Tanh nn.Hardsigmoid nn.Hardswish".split())
_SOFTMAX = frozenset({"nn.Softmax", "nn.LogSoftmax"})


@dataclass(frozen=True)
class _End:
    """The torch module a node starts or ends with, seen through block calls."""

    target: str
    bias: bool | None = None  # a convolution's bias, where known


def layer_order(classes: tuple[ClassIR, ...], skip_file: str, memo: dict | None = None) -> list[Diagnostic]:
    """LG501 to LG504 for every class not defined in `skip_file` (the
    prelude): adjacent layers that undo or repeat each other's work.

    `memo` (the language server's: analysis/reuse.py's `Reuse.memo`) keeps
    each class's diagnostics by its ClassIR object across runs: a reused
    class is the same object only while the blocks it calls are too."""
    by_name = {ir.name: ir for ir in classes}
    found: list[Diagnostic] = []
    for ir in classes:
        if ir.span.file == skip_file:
            continue
        if memo is None:
            found += _class_order(ir, by_name)
            continue
        known = memo.get(("order", id(ir)))
        if known is None or known[0] is not ir:
            known = memo[("order", id(ir))] = (ir, _class_order(ir, by_name))
        found += known[1]
    return found


def _class_order(ir: ClassIR, by_name: dict[str, ClassIR]) -> list[Diagnostic]:
    """`layer_order`'s diagnostics in one class."""
    found: list[Diagnostic] = []
    for seq in _sequences(ir.body):
        for a, b in zip(seq, seq[1:]):
            last, first = _end(a, True, by_name, {}), _end(b, False, by_name, {})
            if last is None or first is None:
                continue
            diag = _rule(last, first, a.span, b.span)  # type: ignore[union-attr]
            if diag is not None and diag.code == "LG501" and isinstance(a, Layer) and a.ctor.kind == "torch":
                end = Span(a.span.file, a.span.end_line, a.span.end_column, a.span.end_line, a.span.end_column)
                diag = replace(diag, fix=Fix(end, " bias=false", "pass `bias=false`"))  # the convolution itself, not a block ending in one
            if diag is not None:
                found.append(diag)
    for node in walk(ir.body):
        if isinstance(node, Repeat):
            found += _repeat_pairs(node, by_name)
    return found


def _repeat_pairs(node: Repeat, classes: dict[str, ClassIR]) -> list[Diagnostic]:
    """The rules inside a repeated group (`repeat 2 < conv 16; bn >`), and
    across repetitions: one ends with the layer before the next one starts.
    The group's layers have no places of their own: report at the repeat."""
    pairs = []
    for ctor in (node.first, node.rest):
        items = ctor.args if ctor is not None and ctor.kind == "sequential" else ()
        pairs += [(a, b, "inside this repeated group") for a, b in zip(items, items[1:])]
    count = sy.value_of(node.count)
    if count is None or count >= 2:  # type: ignore[operator]
        pairs.append((node.first, node.rest or node.first, "where one repetition ends and the next begins"))
    found = []
    for a, b, where in pairs:
        last, first = _ctor_end(a, True, classes, {}), _ctor_end(b, False, classes, {})  # type: ignore[arg-type]
        diag = None if last is None or first is None else _rule(last, first, node.span, node.span, where)
        if diag is not None and diag not in found:
            found.append(diag)
    return found


def _rule(last: _End, first: _End, span_a: Span, span_b: Span, where: str | None = None) -> Diagnostic | None:
    """The diagnostic for layer `last` (at `span_a`) followed by `first` (at
    `span_b`), or None. `where` says where they meet when both spans are one
    repeat's."""
    follows = [Note("followed by this layer", span_b)] if where is None else [Note(f"the two layers meet {where}")]
    if last.target.startswith("nn.Conv") and first.target.startswith("nn.BatchNorm") and last.bias:
        return Diagnostic(
            "warning", span_a, "this convolution has a bias, but the batch norm after it subtracts the mean and cancels it",
            tuple(follows), "pass `bias=false`", "LG501",
        )
    if last.target in ACTIVATIONS and first.target in ACTIVATIONS:
        first_note = Note("the first activation", span_a) if where is None else follows[0]
        return Diagnostic("warning", span_b, "two activations in a row: this one follows another", (first_note,), "remove one of them", "LG502")
    if last.target in ACTIVATIONS and first.target in _SOFTMAX:
        return Diagnostic(
            "warning", span_a, "an activation right before softmax distorts the logits (a ReLU zeroes the negative ones)",
            tuple(follows), "remove the activation; softmax takes raw scores", "LG503",
        )
    if last.target == "nn.Dropout" and first.target.startswith("nn.BatchNorm"):
        return Diagnostic(
            "warning", span_a, "dropout right before batch norm makes its statistics differ between training and evaluation",
            tuple(follows), "put dropout after the batch norm", "LG504",
        )
    return None


def _sequences(body: tuple[Node, ...]):
    """Every run of nodes applied one after another in a class body."""
    yield body
    for n in walk(body):
        if isinstance(n, (Residual, Sequential, Conditional)):
            yield n.body
        elif isinstance(n, Parallel):
            yield from n.branches
        elif isinstance(n, Bind):
            yield ((n.join,) if isinstance(n.join, Layer) else ()) + n.stages


def _end(node: Node, last: bool, classes: dict[str, ClassIR], bound: dict[str, Value]) -> _End | None:
    if isinstance(node, Layer):
        return _ctor_end(node.ctor, last, classes, bound)
    if isinstance(node, Repeat):
        return _ctor_end((node.rest or node.first) if last else node.first, last, classes, bound)
    if isinstance(node, Sequential) and node.body:
        return _end(node.body[-1] if last else node.body[0], last, classes, bound)
    return None


def _ctor_end(ctor: Ctor, last: bool, classes: dict[str, ClassIR], bound: dict[str, Value]) -> _End | None:
    if ctor.kind == "torch":
        bias = dict(ctor.kwargs).get("bias", sy.TRUE)
        if isinstance(bias, sy.Sym):
            bias = bound.get(bias.code, bias)
        return _End(ctor.target, sy.value_of(bias) if isinstance(bias, sy.Expr) else None)
    if ctor.kind == "param":
        ref = bound.get(ctor.target)
        return _End(ref.code) if isinstance(ref, LayerRef) else None
    if ctor.kind == "sequential":
        items = ctor.args
        return _ctor_end(items[-1] if last else items[0], last, classes, bound) if items else None  # type: ignore[arg-type]
    callee = classes.get(ctor.target)
    if callee is None or not callee.body or callee.graph:
        return None
    inner: dict[str, Value] = {p.code: p.default for p in callee.params if p.default is not None}
    given = ctor.args[len(callee.size_params) :]
    for p, value in zip(callee.params, given):
        inner[p.code] = _resolve(value, bound)  # type: ignore[arg-type]
    for key, value in ctor.kwargs:
        inner[next((p.code for p in callee.params if p.name == key), key)] = _resolve(value, bound)
    return _end(callee.body[-1] if last else callee.body[0], last, classes, inner)


def _resolve(value: Value, bound: dict[str, Value]) -> Value:
    if isinstance(value, LayerRef) and value.kind == "param":
        return bound.get(value.code, value)
    if isinstance(value, sy.Sym):
        return bound.get(value.code, value)
    return value


# ------------------------------------------------------------ unused names


def empty_spec(program: s.Program, broken: frozenset[str] = frozenset()) -> list[Diagnostic]:
    """LG511: a spec with no definition at all (empty, or only comments)
    compiles to a module with nothing in it; say so. A spec whose
    definitions all have syntax errors has those errors instead."""
    if program.definitions or broken:
        return []
    return [
        Diagnostic(
            "warning", Span(program.file, 1, 1, 1, 1), "the spec defines no model or block, so the generated module is empty",
            hint="add a `model Name(...):` with an `input` line, or a `block`", code="LG511",
        )
    ]


def unused_parameters(program: s.Program, errors=(), broken: frozenset[str] = frozenset(), memo: dict | None = None) -> list[Diagnostic]:
    """LG506: a block or model parameter that nothing in its body reads.

    Not reported for definitions in `broken` (with syntax errors, whose
    bodies were set aside) nor for a parameter that one of `errors` (the
    spec's diagnostics) is about already. `memo` (the language server's)
    keeps the names each definition reads by its syntax tree object.
    """
    found = []
    for d in program.definitions:
        if d.name in broken:
            continue
        known = memo.get(("used", id(d))) if memo is not None else None
        if known is not None and known[0] is d:
            used = known[1]
        else:
            used = _names_read(d)
            if memo is not None:
                memo[("used", id(d))] = (d, used)
        for p in d.params:
            if p.name not in used and not _in_parameter_list(d, p, [e for e in errors if e.severity == "error"]):
                found.append(
                    Diagnostic(
                        "warning", p.span or d.span, f"parameter `{p.name}` of `{d.name}` is never used", (), "remove it, or use it in the body", "LG506"
                    )
                )
    return found


def _names_read(d: s.Definition) -> set[str]:
    """The names a definition's body reads (and its layers' names)."""
    return {
        n.id if isinstance(n, s.Name) else n.name
        for stmt in d.body
        for n in s.walk(stmt)
        if isinstance(n, (s.Name, s.Call))
    } | {
        name  # the parameters a repetition's name pattern reads: "block{stage}-{i}"
        for stmt in d.body
        for n in s.walk(stmt)
        if isinstance(n, s.Named) and n.pattern
        for name in re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", n.name)
    }


def _inside(inner, outer) -> bool:
    return (
        outer is not None
        and inner.file == outer.file
        and (outer.line, outer.column) <= (inner.line, inner.column)
        and (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)
    )


def _in_parameter_list(d: s.Definition, param: s.Param, errors: list[Diagnostic]) -> bool:
    """Whether an unused parameter is already the subject of an error in the
    parameter list: its name is not allowed (reserved, a keyword, listed
    twice), or another parameter's default reads it (``unknown name `a` ``).
    That error is the one to report."""
    defaults = [p.default.span for p in d.params if p.default is not None]
    return any(
        _inside(e.span, param.span)
        or (e.message == f"unknown name `{param.name}`" and any(_inside(e.span, span) for span in defaults))
        for e in errors
    )
