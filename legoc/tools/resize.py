"""`--input` in place of a model's fixed input size: `legoc summary
resnet18.lego --input 3,160,160` where the spec writes `input [3, 224,
224]`. The spec's text is checked again with the input's literal sizes
replaced by the given ones, so the whole analysis (every layer's shapes,
a position embedding's length, the input-size rules) decides whether the
model holds at the new size; its diagnostics are the spec's own, located,
with a note naming the replaced sizes. No torch.
"""

from __future__ import annotations

from ..core.diagnostics import Span
from ..ir import symbolic as sy
from ..ir.nodes import Sizes
from ..syntax import tree as s
from .inputs import assign_inputs
from .instance import Instance, InstanceError


def resized_source(text: str, name: str, analysis, model: str, given: list[tuple[str | None, tuple[int, ...]]]) -> tuple[str, str] | None:
    """The spec's text with model `model`'s literal input sizes (`224` in
    `input [3, 224, 224]`) replaced by the `--input` sizes `given` where
    they differ, and a note saying so; None when none differs (a size
    written as a name or an expression, `[n_channels, H, W]`, is never
    replaced: `bind_inputs` binds or checks it as before).

    Args:
        text, name: the spec's source and file name, as checked.
        analysis: its `Analysis` (`check_source`).
        model: the model the sizes are for.
        given: (input name or None, sizes without the batch axis) pairs.
    """
    from ..syntax.parser import parse

    ir = next((c for c in analysis.classes if c.name == model and c.kind == "model"), None)
    if ir is None:
        return None
    try:
        chosen = assign_inputs(ir, given)
    except InstanceError:
        return None  # bind_inputs reports it
    program = parse(text, name)
    definition = next((d for d in program.definitions if d.kind == "model" and d.name == model), None)
    if definition is None or definition.span.file != name:
        return None
    declared = [stmt for stmt in definition.body if isinstance(stmt, s.Input)]
    if len(declared) != len(ir.inputs):
        return None
    edits: list[tuple[Span, str]] = []
    notes = []
    for port, stmt in zip(ir.inputs, declared):
        shape = chosen.get(port.name)
        if shape is None or len(shape) != len(stmt.dims):
            continue
        changed = [
            (dim.span, str(size))
            for dim, size in zip(stmt.dims, shape)
            if isinstance(dim, s.Literal) and type(dim.value) is int and dim.value != size and size > 0
        ]
        if changed:
            edits += changed
            written = ", ".join(text_of(text, d.span) for d in stmt.dims)
            now = ", ".join(str(size) if isinstance(d, s.Literal) and type(d.value) is int else text_of(text, d.span) for d, size in zip(stmt.dims, shape))
            notes.append(f"input `{port.name}` as [{now}] (--input) in place of the spec's [{written}]")
    if not edits:
        return None
    return replace_spans(text, edits), "the model was checked with " + " and ".join(notes)


def resized_analysis(text: str, name: str, analysis, model: str, given: list[tuple[str | None, tuple[int, ...]]], check, max_size: int):
    """The spec checked again (`check(text)`, returning an `Analysis`) with
    the input sizes `resized_source` replaces; None when it replaces none,
    or when a size is over `max_size` (`build_instance` says so).

    Raises:
        SpecError: the model does not hold at the new sizes: the spec's
            diagnostics, each with a note naming the replaced sizes.
    """
    from dataclasses import replace

    from ..core.diagnostics import Note, SpecError

    if any(size > max_size for _, sizes in given for size in sizes):
        return None
    resized = resized_source(text, name, analysis, model, given)
    if resized is None:
        return None
    new_text, note = resized
    try:
        return check(new_text)
    except SpecError as exc:
        raise SpecError([replace(d, notes=(*d.notes, Note(note))) for d in exc.diagnostics]) from None


def _offsets(text: str) -> list[int]:
    """The offset of each line's first character (line 1 at index 0)."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def text_of(text: str, span: Span) -> str:
    """The source text a one-line `span` covers."""
    start = _offsets(text)[span.line - 1] + span.column - 1
    return text[start : start + span.end_column - span.column]


def replace_spans(text: str, edits: list[tuple[Span, str]]) -> str:
    """`text` with each one-line span of `edits` replaced by its string."""
    starts = _offsets(text)
    pieces = sorted(((starts[sp.line - 1] + sp.column - 1, starts[sp.end_line - 1] + sp.end_column - 1, new) for sp, new in edits), reverse=True)
    for begin, end, new in pieces:
        text = text[:begin] + new + text[end:]
    return text


def check_resized(original, model: str, given: list[tuple[str | None, tuple[int, ...]]], resized: Instance) -> None:
    """`check_same_layers` of model `model` as the spec's own analysis
    (`original`) builds it and as built at the `--input` sizes `given`
    (`resized`); its message then starts with the fixed size they replace.

    Raises:
        InstanceError: as `check_same_layers`.
    """
    from .inputs import bind_inputs
    from .instance import instantiate

    try:
        check_same_layers(instantiate(original, model), resized)
    except InstanceError as exc:
        ir = next(c for c in original.classes if c.name == model)
        try:
            bind_inputs(ir, given)
        except InstanceError as fixed:
            raise InstanceError(f"{fixed}: {exc}") from None
        raise


def check_same_layers(spec: Instance, resized: Instance) -> None:
    """That the model built at the `--input` sizes (`resized`) has the
    layers of the one the spec builds (`spec`): the same constructor
    arguments and learned tensors' shapes wherever both are known. The
    generated module is built for the spec's sizes, so a layer sized by the
    input (a `linear` after `flatten`) would not take the new one.

    Raises:
        InstanceError: naming the first layer that differs, where the spec
            makes it, and both constructions.
    """
    mine = {op.path: op for op in spec.ops if op.path is not None}
    for op in resized.ops:
        before = mine.get(op.path)  # type: ignore[arg-type]
        if before is None or op.path is None:
            continue
        if op.kind == "Parameter":
            pairs = list(zip(before.shape, op.shape))
        else:
            pairs = list(zip(before.args, op.args)) + [(v, dict(op.kwargs).get(k)) for k, v in before.kwargs]
        if any(_known(a) is not None and _known(b) is not None and _known(a) != _known(b) for a, b in pairs):
            where = f" ({op.span})" if op.span else ""
            raise InstanceError(
                f"at these sizes `{op.path}`{where} would be {_construction(op)}, but the spec's input size makes it "
                f"{_construction(before)}; the layer is sized by the input, so the generated module takes only the spec's input size"
            )


def _known(value):
    if isinstance(value, Sizes):
        items = tuple(sy.value_of(i) for i in value.items)
        return None if None in items else items
    return sy.value_of(value) if isinstance(value, sy.Expr) else value


def _construction(op) -> str:
    if op.kind == "Parameter":
        return "a tensor of shape [" + ", ".join(sy.to_text(e) if isinstance(e, sy.Expr) else str(e) for e in op.shape) + "]"
    args = [_text(a) for a in op.args] + [f"{k}={_text(v)}" for k, v in op.kwargs]
    return f"{op.target or op.kind}({', '.join(args)})"


def _text(value) -> str:
    known = _known(value)
    if known is None:
        return sy.to_text(value) if isinstance(value, sy.Expr) else str(value)
    return repr(known) if isinstance(known, str) else str(known)
