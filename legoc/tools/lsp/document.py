"""The language server's view of one spec, without pygls: what `legoc
check` finds in it (the diagnostics, the syntax tree after error recovery,
the classes analysed; the stages `check_document` runs, one top-level
definition at a time so that an edit re-does only what it touches) and
the questions an editor asks of that: the shape at the end of each statement, the
definitions of blocks, models and named tensors and their uses.

Positions here are legoc's: lines and columns 1-based, ends exclusive
(core/diagnostics.py's `Span`); legoc/tools/lsp/server.py converts them to
the protocol's 0-based ones. Nothing here imports pygls or lsprotocol, so
that the benchmark (benchmarks/lsp_latency.py) and tests run it in-process.
"""

from __future__ import annotations

from dataclasses import dataclass

import hashlib
import re
from dataclasses import replace

from ...analysis.reuse import Reuse
from ...analysis.signature import show_shape
from ...compiler import analyze_partial
from ...core.diagnostics import Diagnostic, Fix, Note, Span
from ...ir import nodes as ir
from ...syntax import tree as s
from ...syntax.parser import parse_recovering
from ..check import reported
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


class Session:
    """What the server keeps of one open file between analyses, so that an
    edit costs the definitions it touches: the parse of each top-level
    definition by its text, the blocks analysed (analysis/reuse.py) and
    the shapes shown for each class analysed."""

    def __init__(self) -> None:
        self.parses: dict[str, tuple] = {}
        self.reuse = Reuse()
        self.shapes: dict[int, tuple] = {}


_DEFINITION = re.compile(r"(public\s+)?(block|model)\b")


def chunks(text: str) -> list[tuple[int, str]]:
    """`text` cut before each top-level definition (with the comment lines
    right above it, its doc): (the number of its first line, 1-based, its
    text). Joined, the pieces are `text`."""
    lines = text.split("\n")
    starts = [0]
    for i, line in enumerate(lines):
        if i and _DEFINITION.match(line):
            j = i
            while j > starts[-1] and lines[j - 1].startswith("#"):
                j -= 1
            if j > starts[-1]:
                starts.append(j)
    bounds = starts + [len(lines)]
    return [(a + 1, "\n".join(lines[a:b]) + ("\n" if b < len(lines) else "")) for a, b in zip(bounds, bounds[1:])]


class Document:
    """One spec, analysed as `legoc check` analyses it (parse with error
    recovery, shape inference, lint rules, `# legoc: ignore` and the
    configuration's rules), one top-level definition at a time: each is
    parsed on its own under a name of its own (`chunk_file`), so that its
    parse and its blocks' analysis (in `session`) stay valid while other
    definitions are edited; every span the document hands out is the file's
    (`absolute`).

    Attributes:
        text, name: the source and the file name diagnostics report.
        diagnostics: every diagnostic, in source order, at the file's spans.
        classes: the classes analysed (where the spec has errors, those
            shape inference did analyse), at their definitions' own spans.
        definitions: the spec's blocks and models (syntax trees).
    """

    def __init__(self, text: str, name: str, config: Config | None = None, session: Session | None = None):
        self.text, self.name = text, name
        self.lines = text.split("\n")
        config = config or Config()
        session = session or Session()
        self.session = session
        self.offsets: dict[str, int] = {}
        definitions: list[s.Definition] = []
        found: list[Diagnostic] = []
        broken: set[str] = set()
        parses = {}
        for first, piece in chunks(text):
            key = f"{name}#{hashlib.blake2b(piece.encode(), digest_size=8).hexdigest()}"
            while key in self.offsets:  # the same text twice (a definition repeated)
                key += "+"
            self.offsets[key] = first - 1
            parsed = session.parses.get(key)
            if parsed is None or parsed[0] != piece:
                program, errors, bad = parse_recovering(piece, key, config.limits)
                parsed = (piece, program.definitions, errors, bad)
            parses[key] = parsed
            definitions += parsed[1]
            found += parsed[2]
            broken |= parsed[3]
            if parsed[3] and not parsed[1]:
                # A definition blanked whole (an error in its header): the whole
                # file's recovery counts its lines as the definition's above too
                # (syntax/recovery.py's broken_definitions), so does this.
                broken |= {d.name for d in definitions[-1:]}
        session.parses = parses
        self.definitions = tuple(definitions)
        program = s.Program(name, self.definitions)
        _, diags, self.classes = analyze_partial(program, frozenset(broken), config.limits, session.reuse)
        self.diagnostics = reported([self._absolute_diagnostic(d) for d in (*found, *diags)], name, text, config)
        self._hints: list[Hint] | None = None

    def mine(self, span: Span) -> bool:
        """Whether `span` is in this file (not the prelude's, nor stale)."""
        return span.file in self.offsets

    def absolute(self, span: Span) -> Span:
        """`span` of a definition's own text as the file's span."""
        off = self.offsets.get(span.file)
        if off is None:
            return span
        return Span(self.name, span.line + off, span.column, span.end_line + off, span.end_column)

    def _absolute_diagnostic(self, d: Diagnostic) -> Diagnostic:
        notes = tuple(Note(n.message, None if n.span is not None and "#" in n.span.file and not self.mine(n.span) else n.span and self.absolute(n.span)) for n in d.notes)
        fix = d.fix and Fix(self.absolute(d.fix.span), d.fix.replacement, d.fix.title)
        return replace(d, span=self.absolute(d.span), notes=notes, fix=fix)

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
            shapes = {}
            for cls in self.classes:
                if not self.mine(cls.span) or cls.name in done:
                    continue  # the prelude's, or a block analysed again for another rank
                done.add(cls.name)
                cached = self.session.shapes.get(id(cls))
                if cached is None or cached[0] is not cls:
                    cached = (cls, self._class_hints(cls))
                shapes[id(cls)] = cached
                off = self.offsets[cls.span.file]
                for line, column, label, node in cached[1]:
                    found.setdefault(line + off, Hint(line + off, column, label, node))
            self.session.shapes = shapes
            self._hints = sorted(found.values(), key=lambda h: h.line)
        return self._hints

    def _class_hints(self, cls: ir.ClassIR) -> list[tuple]:
        """(line, column, label, node) for one class, at its own spans."""
        found: dict[int, tuple] = {}
        for node in ir.walk(cls.body):
            span = getattr(node, "span", None)
            out = getattr(node, "out", None)
            if span is None or out is None or span.file != cls.span.file or span.end_line in found:
                continue
            end = span.end_column if span.end_line == span.line or isinstance(node, ir.Layer) else self._line_end(self.absolute(span).end_line)
            found[span.end_line] = (span.end_line, end, show_shape(out), node)
        return list(found.values())

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
            found.append(Symbol(d.name, d.kind, self.absolute(_name_span(d))))
            for node in _statements(d.body):
                if isinstance(node, s.Named) and not node.pattern:
                    found.append(Symbol(node.name, "layer", self.absolute(node.name_span), d.name))
                elif isinstance(node, s.Assign):
                    found += [Symbol(p.id, "tensor", self.absolute(p.span), d.name) for p in node.parts] or [Symbol(node.target, "tensor", self.absolute(node.target_span), d.name)]
                elif isinstance(node, (s.Output, s.Learned)):
                    found.append(Symbol(node.name, "tensor", self.absolute(node.name_span), d.name))
            for inp in d.inputs or ():
                found.append(Symbol(inp.id, "tensor", self.absolute(inp.span), d.name))
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
                    found.append(self.absolute(node.name_span))
                elif target.kind == "tensor" and isinstance(node, s.Name) and node.id == target.name and self.absolute(node.span) != target.span:
                    found.append(self.absolute(node.span))
        return found

    def enclosing(self, line: int) -> s.Definition | None:
        """The block or model whose body holds `line` (the last one that
        starts at or before it)."""
        inside = None
        for d in self.definitions:
            if self.absolute(d.span).line <= line:
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
                if isinstance(node, s.Call) and _inside(self.absolute(node.name_span), line, column):
                    return node
        return None

    def definition(self, name: str) -> s.Definition | None:
        """The spec's block or model `name`."""
        return next((d for d in self.definitions if d.name == name), None)

    def fix_of(self, diag: Diagnostic) -> Fix | None:
        """The edit that resolves `diag`, from its `fix`, adjusted to the
        text: LG501's `bias=false` replaces a `bias=` keyword the call
        already has rather than adding a second one; and for LG301's
        "add `shortcut conv1x1_bn`" (a residual whose body changes the
        shape), that shortcut after the residual's `>`."""
        fix = diag.fix
        if diag.code == "LG301" and (diag.hint or "").startswith("add `shortcut conv1x1_bn`"):
            return self._shortcut_fix(diag)
        if fix is None or diag.code != "LG501":
            return fix
        for d in self.definitions:
            for node in s.walk(s.Group(tuple(d.body))):
                if isinstance(node, s.Call) and self.absolute(node.span) == diag.span:
                    bias = next((kw for kw in node.keywords if kw.name == "bias"), None)
                    if bias is not None:
                        return Fix(self.absolute(bias.span), "bias=false", fix.title)
        return fix

    def _shortcut_fix(self, diag: Diagnostic) -> Fix | None:
        """LG301's "add `shortcut conv1x1_bn`" as an edit: the shortcut
        after the `>` of the residual the diagnostic is at (one without a
        shortcut, whose `>` ends it)."""
        for d in self.definitions:
            for node in _statements(d.body):
                if isinstance(node, s.Residual) and node.shortcut is None and not node.optional and self.absolute(node.span) == diag.span:
                    end = self.absolute(node.span)
                    text = self.lines[end.end_line - 1] if end.end_line <= len(self.lines) else ""
                    if text[end.end_column - 2 : end.end_column - 1] != ">":
                        return None
                    at = Span(self.name, end.end_line, end.end_column, end.end_line, end.end_column)
                    return Fix(at, " shortcut conv1x1_bn", "add `shortcut conv1x1_bn`")
        return None

    def analysed(self, name: str) -> ir.ClassIR | None:
        """The first analysed class of the block or model `name` (the
        prelude's too)."""
        return next((c for c in self.classes if c.name == name), None)


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
