"""The language server's view of one spec, without pygls: what `legoc
check` finds in it (tools/check.py's `check_document`: the diagnostics, the
syntax tree after error recovery, the classes analysed) and the questions
an editor asks of that: the shape at the end of each statement, the
definitions of blocks, models and named tensors and their uses.

Positions here are legoc's: lines and columns 1-based, ends exclusive
(core/diagnostics.py's `Span`); legoc/tools/lsp/server.py converts them to
the protocol's 0-based ones. Nothing here imports pygls or lsprotocol, so
that the benchmark (benchmarks/lsp_latency.py) and tests run it in-process.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...analysis.signature import show_shape
from ...core.diagnostics import Diagnostic, Fix, Span
from ...ir import nodes as ir
from ...syntax import tree as s
from ..check import Checked, check_document
from ..config import Config


@dataclass(frozen=True)
class Hint:
    """A shape shown after a statement: at `line`, `column` (1-based, just
    after the statement's last character), the text `label` (`[64, H, W]`)."""

    line: int
    column: int
    label: str
    node: object  # the IR node (ir.Layer, ir.Residual, ...) whose output it is


@dataclass(frozen=True)
class Symbol:
    """A definition in the spec: a block or model (`kind` "block", "model"),
    or a named tensor or named layer inside one ("tensor", "layer"), with
    the span of its name and the definition it is in (`container`)."""

    name: str
    kind: str
    span: Span
    container: str | None = None


class Document:
    """One spec, analysed as `legoc check` analyses it.

    Attributes:
        text, name: the source and the file name diagnostics report.
        checked: `check_document`'s result (diagnostics, program, classes).
    """

    def __init__(self, text: str, name: str, config: Config | None = None):
        self.text, self.name = text, name
        self.lines = text.split("\n")
        self.checked: Checked = check_document(text, name, config)
        self._hints: list[Hint] | None = None

    @property
    def diagnostics(self):
        """Every diagnostic of the spec, in source order (`check_text`'s)."""
        return self.checked.diagnostics

    @property
    def definitions(self) -> tuple[s.Definition, ...]:
        return self.checked.program.definitions

    # ------------------------------------------------------------- shapes

    def hints(self) -> list[Hint]:
        """The shape after every statement of the spec's analysed blocks and
        models (symbolic over the block's parameters and input sizes, as the
        generated file's comments write them without the batch axis), one per
        line, at the end of the line where the statement ends; the outermost
        statement wins where several end on one line (`res add < a | b >`)."""
        if self._hints is None:
            found: dict[int, Hint] = {}
            done: set[str] = set()
            for cls in self.checked.classes:
                if cls.span.file != self.name or cls.name in done:
                    continue  # the prelude's, or a block analysed again for another rank
                done.add(cls.name)
                for node in ir.walk(cls.body):
                    span = getattr(node, "span", None)
                    out = getattr(node, "out", None)
                    if span is None or out is None or span.file != self.name or span.end_line in found:
                        continue
                    end = span.end_column if span.end_line == span.line or isinstance(node, ir.Layer) else self._line_end(span.end_line)
                    found[span.end_line] = Hint(span.end_line, end, show_shape(out), node)
            self._hints = sorted(found.values(), key=lambda h: h.line)
        return self._hints

    def hint_at(self, line: int) -> Hint | None:
        """The shape shown at the end of `line` (1-based), if any."""
        return next((h for h in self.hints() if h.line == line), None)

    def _line_end(self, line: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        code = text.split("#", 1)[0].rstrip()
        return len(code) + 1

    # -------------------------------------------------------------- names

    def symbols(self) -> list[Symbol]:
        """The blocks and models, then inside each its named layers and
        named tensors (`x = ...`, `(a, b) = ...`, `output y`, learned
        tensors), in source order."""
        found = []
        for d in self.definitions:
            found.append(Symbol(d.name, d.kind, _name_span(d)))
            for node in _statements(d.body):
                if isinstance(node, s.Named) and not node.pattern:
                    found.append(Symbol(node.name, "layer", node.name_span, d.name))
                elif isinstance(node, s.Assign):
                    found += [Symbol(p.id, "tensor", p.span, d.name) for p in node.parts] or [Symbol(node.target, "tensor", node.target_span, d.name)]
                elif isinstance(node, (s.Output, s.Learned)):
                    found.append(Symbol(node.name, "tensor", node.name_span, d.name))
            for inp in d.inputs or ():
                found.append(Symbol(inp.id, "tensor", inp.span, d.name))
        return found

    def definition_of(self, line: int, column: int) -> Symbol | None:
        """The definition of the name at (`line`, `column`): a block or
        model called there (or named by its header), or a named tensor of
        the definition the position is in."""
        word = self.word_at(line, column)
        if word is None:
            return None
        name, _ = word
        outer = self.enclosing(line)
        for sym in self.symbols():
            if sym.name == name and sym.kind == "tensor" and outer is not None and sym.container == outer.name:
                return sym
        return next((sym for sym in self.symbols() if sym.name == name and sym.kind in ("block", "model")), None)

    def references(self, line: int, column: int, include_declaration: bool = True) -> list[Span]:
        """Every use of the block, model or named tensor at (`line`,
        `column`): block calls anywhere in the spec, a tensor's uses in its
        definition; with `include_declaration`, its definition too."""
        target = self.definition_of(line, column)
        if target is None:
            return []
        found = [target.span] if include_declaration else []
        for d in self.definitions:
            if target.kind == "tensor" and d.name != target.container:
                continue
            for node in s.walk(s.Group(tuple(d.body))):
                if target.kind in ("block", "model") and isinstance(node, s.Call) and node.name == target.name:
                    found.append(node.name_span)
                elif target.kind == "tensor" and isinstance(node, s.Name) and node.id == target.name and node.span != target.span:
                    found.append(node.span)
        return found

    def enclosing(self, line: int) -> s.Definition | None:
        """The block or model whose body holds `line` (the last one that
        starts at or before it)."""
        inside = None
        for d in self.definitions:
            if d.span.line <= line:
                inside = d
        return inside

    def word_at(self, line: int, column: int) -> tuple[str, Span] | None:
        """The name (letters, digits, `_`) at or just before (`line`,
        `column`), with its span, or None."""
        if not 0 < line <= len(self.lines):
            return None
        text = self.lines[line - 1]
        i = min(column - 1, len(text))
        if i == len(text) or not _word_char(text[i]):
            if i > 0 and _word_char(text[i - 1]):
                i -= 1
            else:
                return None
        start = i
        while start > 0 and _word_char(text[start - 1]):
            start -= 1
        end = i
        while end < len(text) and _word_char(text[end]):
            end += 1
        return text[start:end], Span(self.name, line, start + 1, line, end + 1)

    def call_at(self, line: int, column: int) -> s.Call | None:
        """The layer call whose name is at (`line`, `column`)."""
        for d in self.definitions:
            for node in s.walk(s.Group(tuple(d.body))):
                if isinstance(node, s.Call) and _inside(node.name_span, line, column):
                    return node
        return None

    def definition(self, name: str) -> s.Definition | None:
        """The spec's block or model `name`."""
        return next((d for d in self.definitions if d.name == name), None)

    def fix_of(self, diag: Diagnostic) -> Fix | None:
        """The edit that resolves `diag`, from its `fix`, adjusted to the
        text: LG501's `bias=false` replaces a `bias=` keyword the call
        already has rather than adding a second one."""
        fix = diag.fix
        if fix is None or diag.code != "LG501":
            return fix
        for d in self.definitions:
            for node in s.walk(s.Group(tuple(d.body))):
                if isinstance(node, s.Call) and node.span == diag.span:
                    bias = next((kw for kw in node.keywords if kw.name == "bias"), None)
                    if bias is not None:
                        return Fix(bias.span, "bias=false", fix.title)
        return fix

    def analysed(self, name: str) -> ir.ClassIR | None:
        """The first analysed class of the block or model `name` (the
        prelude's too)."""
        return next((c for c in self.checked.classes if c.name == name), None)


def _statements(body):
    """Every statement of a body, nested ones too (no expressions)."""
    for node in s.walk(s.Group(tuple(body))):
        if not isinstance(node, s.Group):
            yield node


def _name_span(d: s.Definition) -> Span:
    """The span of a definition's name (its `span` starts at the name)."""
    return Span(d.span.file, d.span.line, d.span.column, d.span.line, d.span.column + len(d.name))


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _inside(span: Span, line: int, column: int) -> bool:
    return span.line == line == span.end_line and span.column <= column <= span.end_column
