"""The language server's answers that are text: hover (a layer call's
signature, resolved arguments, input and output shapes and parameter
count; a block's comment), the outline of blocks and models, and
completion items (primitives, the prelude's and the spec's blocks, and a
call's keyword arguments with PyTorch's names). Built from
legoc/tools/lsp/document.py's `Document`; only `outline` makes protocol
objects, and imports lsprotocol to do so.
"""

from __future__ import annotations

import re

from ...analysis.primitives import PRIMITIVES
from ...analysis.signature import AUTO, REQUIRED, show_shape
from ...compiler import prelude
from ...core.diagnostics import Span
from ...ir import nodes as ir
from ...ir import symbolic as sy
from ...syntax import tree as s
from .document import Document


def hover(doc: Document, line: int, column: int) -> tuple[str, Span] | None:
    """Markdown for the name at (`line`, `column`) and its span: a layer
    call, or a block or model's name in its header; None elsewhere."""
    call = doc.call_at(line, column)
    if call is not None:
        return _call_text(doc, call), doc.absolute(call.name_span)
    word = doc.word_at(line, column)
    if word is None:
        return None
    d = doc.definition(word[0])
    if d is None or doc.absolute(d.span).line != line:
        return None
    return _definition_text(d, doc.analysed(d.name)), word[1]


def _call_text(doc: Document, call: s.Call) -> str:
    parts = []
    prim = PRIMITIVES.get(call.name)
    block = doc.definition(call.name) or _prelude(call.name)
    if prim is not None:
        parts.append(f"```lego\n{call.name}({_params(prim.params)})\n```\nprimitive")
    elif block is not None:
        parts.append(f"```lego\n{block.kind} {block.name}({', '.join(_param(p) for p in block.params)})\n```")
        if block.doc:
            parts.append("\n".join(block.doc))
    node = _layer_at(doc, call)
    if node is not None:
        parts.append(f"`{_ctor(node.ctor)}`")
        shapes = _inputs(doc, node)
        if shapes is not None:
            parts.append(f"input: `{shapes}`")
        parts.append(f"output: `{show_shape(node.out)}`")
        if node.ctor.kind == "block":
            callee = doc.analysed(node.ctor.target)
            if callee is not None:
                parts.append(f"parameters: `{_count(_call_params(callee, node.ctor))}`")
        elif node.ctor.kind == "torch":
            count = _torch_params(node.ctor, _defaults(doc, node))
            if count is not None:
                parts.append(f"parameters: `{count:,}`")
    return "\n\n".join(parts)


def _call_params(callee: ir.ClassIR, ctor: ir.Ctor):
    """The parameter count of a block call: the block's count with the
    call's input sizes and arguments (and the defaults of the others)."""
    mapping = {}
    n = len(callee.size_params)
    for size, value in zip(callee.size_params, ctor.args[:n]):
        if isinstance(size, sy.Sym):
            mapping[size.key] = value
    given = dict(zip((p.name for p in callee.params), ctor.args[n:]))
    given.update(ctor.kwargs)
    for p in callee.params:
        value = given.get(p.name, p.default)
        if isinstance(value, sy.Expr):
            mapping[f"p:{p.name}"] = value
    try:
        return sy.substituter(mapping)(callee.n_params)
    except Exception:  # a value that does not compute (a layer where a number is meant): the formula
        return callee.n_params


def _defaults(doc: Document, node: ir.Layer) -> dict:
    """The defaults of the parameters of the model `node` is in, as a
    substitution (empty for a block's layer: its sizes are the caller's)."""
    for cls in doc.classes:
        if cls.kind == "model" and doc.mine(cls.span) and any(n is node for n in ir.walk(cls.body)):
            return {f"p:{p.name}": p.default for p in cls.params if isinstance(p.default, sy.Expr)}
    return {}


def _torch_params(ctor: ir.Ctor, defaults: dict) -> int | None:
    """A torch module's trainable parameter count where its arguments are
    constants, with `defaults` substituted (legoc state-dict's table,
    tools/statedict.py), else None."""
    from ..statedict import torch_entries

    sub = sy.substituter(defaults)

    def const(v):
        if isinstance(v, ir.Sizes):
            items = [const(x) for x in v.items]
            return None if None in items else tuple(items)
        return sy.value_of(sub(v)) if isinstance(v, sy.Expr) else v

    args = [const(a) for a in ctor.args]
    kwargs = {k: const(v) for k, v in ctor.kwargs}
    if None in args or None in kwargs.values():
        return None
    try:
        entries = torch_entries(ctor.target, args, kwargs)
    except (ValueError, TypeError, KeyError):
        return None
    total = 0
    for _, shape, buffer in entries:
        if not buffer:
            size = 1
            for n in shape:
                size *= n
            total += size
    return total


def _count(e) -> str:
    """A parameter count: `1,234,567`, or the formula where it is symbolic."""
    value = sy.value_of(e)
    return f"{value:,}" if isinstance(value, int) else str(e)


def _definition_text(d: s.Definition, cls: ir.ClassIR | None) -> str:
    parts = [f"```lego\n{d.kind} {d.name}({', '.join(_param(p) for p in d.params)})\n```"]
    if d.doc:
        parts.append("\n".join(d.doc))
    if cls is not None:
        count = _count(_call_params(cls, ir.Ctor("block", cls.name, tuple(cls.size_params))))  # its parameters' defaults
        parts.append(f"input: `{show_shape(cls.input)}`, output: `{show_shape(cls.output)}`, parameters: `{count}`")
    return "\n\n".join(parts)


def _prelude(name: str) -> s.Definition | None:
    return next((d for d in prelude().definitions if d.name == name), None)


def _param(p: s.Param) -> str:
    return p.name if p.default is None else f"{p.name}={_expr(p.default)}"


def _expr(e) -> str:
    if isinstance(e, s.Literal):
        return str(e.value).lower() if isinstance(e.value, bool) else repr(e.value) if isinstance(e.value, str) else str(e.value)
    if isinstance(e, s.Name):
        return e.id
    return "..."


def _params(params) -> str:
    out = []
    for name, default in params:
        if default is REQUIRED:
            out.append(name)
        elif default is AUTO:
            out.append(f"{name}=auto")
        elif isinstance(default, sy.Const) and isinstance(default.value, bool):
            out.append(f"{name}={str(default.value).lower()}")
        else:
            out.append(f"{name}={_value(default)}")
    return ", ".join(out)


def _value(v) -> str:
    if isinstance(v, ir.Ctor):
        return _ctor(v)
    if isinstance(v, ir.LayerRef):
        return v.code
    if isinstance(v, ir.Sizes):
        inner = ", ".join(str(x) for x in v.items)
        return f"({inner})" if v.brackets == "()" else f"[{inner}]"
    return str(v)


def _ctor(c: ir.Ctor) -> str:
    """A constructor call as the generated code writes it, roughly:
    `nn.Conv2d(in_channels, 64, kernel_size=3, bias=False)`."""
    args = [_value(a) for a in c.args] + [f"{k}={_value(v)}" for k, v in c.kwargs]
    return f"{c.target}({', '.join(args)})"


def _layer_at(doc: Document, call: s.Call) -> ir.Layer | None:
    for cls in doc.classes:
        if not doc.mine(cls.span):
            continue
        for node in ir.walk(cls.body):
            if isinstance(node, ir.Layer) and node.span == call.span:
                return node
    return None


def _inputs(doc: Document, target: ir.Node) -> str | None:
    """The shape going into `target`: the output of the statement before
    it in its body, or the input of its body (a class's, a residual's, a
    branch's)."""
    for cls in doc.classes:
        if not doc.mine(cls.span) or not cls.inputs:
            continue
        stack: list[tuple[tuple, ir.Shape]] = [(cls.body, cls.input)]
        while stack:
            body, shape = stack.pop()
            for node in body:
                if node is target:
                    return show_shape(shape)
                if not isinstance(node, ir.Bind):
                    stack += [(b, shape) for b in ir.bodies(node)]
                shape = getattr(node, "out", shape)
    return None


def outline(doc: Document, to_range) -> list:
    """The document symbols: each block and model with its named layers
    and tensors as children (`to_range` converts a span)."""
    from lsprotocol import types as t

    kinds = {"block": t.SymbolKind.Class, "model": t.SymbolKind.Module, "layer": t.SymbolKind.Field, "tensor": t.SymbolKind.Variable}
    tops: dict[str, t.DocumentSymbol] = {}
    ends = {d.name: doc.absolute(Span(d.span.file, _last_line(d), 1, _last_line(d), 1)).line for d in doc.definitions}
    for sym in doc.symbols():
        if sym.container is None:
            whole = Span(sym.span.file, sym.span.line, 1, ends.get(sym.name, sym.span.line) + 1, 1)
            tops[sym.name] = t.DocumentSymbol(sym.name, kinds[sym.kind], to_range(whole), to_range(sym.span), detail=sym.kind, children=[])
        elif sym.container in tops:
            tops[sym.container].children.append(t.DocumentSymbol(sym.name, kinds[sym.kind], to_range(sym.span), to_range(sym.span)))  # type: ignore[union-attr]
    return list(tops.values())


def _last_line(d: s.Definition) -> int:
    lines = [n.span.end_line for n in s.walk(s.Group(tuple(d.body))) if getattr(n, "span", None) is not None and n.span.file == d.span.file]
    return max(lines, default=d.span.line)


_CALL = re.compile(r"(?:^|[:<|>]|->)\s*([A-Za-z_][A-Za-z0-9_]*)\s+[^<>|]*$")


def completions(doc: Document, before: str) -> list[tuple[str, str, str, str | None, str]]:
    """Completion items for a cursor with `before` the text of its line
    before it: (label, kind name of lsprotocol's CompletionItemKind,
    detail, documentation, text to insert). After a call's name, its
    keyword arguments first (PyTorch's names, `name=`), then every layer:
    the primitives, the prelude's blocks and the spec's."""
    items = []
    called = _CALL.search(before.split("#", 1)[0])
    if called is not None:
        name = called.group(1)
        prim = PRIMITIVES.get(name)
        block = doc.definition(name) or _prelude(name)
        params = [p for p, _ in prim.params] if prim is not None else [p.name for p in block.params] if block is not None else []
        items += [(f"{p}=", "Property", f"keyword of `{name}`", None, f"{p}=") for p in params]
    for name, prim in PRIMITIVES.items():
        items.append((name, "Function", f"{name}({_params(prim.params)})", "primitive", name))
    for d in prelude().definitions:
        items.append((d.name, "Class", f"block {d.name}({', '.join(_param(p) for p in d.params)})", "\n".join(d.doc) or "prelude block", d.name))
    for d in doc.definitions:
        if d.kind == "block":
            items.append((d.name, "Class", f"block {d.name}({', '.join(_param(p) for p in d.params)})", "\n".join(d.doc) or None, d.name))
    return items
