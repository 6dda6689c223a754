"""Parse .lego text into a `syntax.Program`.

Lark analyses grammar/legoc.lark into LALR tables, prebuilt into
legoc/syntax/_parse_tables.py (see legoc/tools/prebuild.py), and legoc.syntax.lalr runs them:
parsing never imports Lark. Syntax errors become diagnostics at the
offending token, never tracebacks.
"""

from __future__ import annotations

import math
import re
import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from functools import lru_cache

from . import tree as s
from ..core.diagnostics import Diagnostic, Span, SpecError, error
from .lalr import Parser, Token, Tree, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from ..core.limits import DEFAULT, Limits
from ..core.resources import read_text

# What a person calls each terminal, for "expected ..." messages.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "TRUE": "`true`",
    "MIN": "`min`",
    "MAX": "`max`",
    "BLOCK": "`block`",
    "MODEL": "`model`",
    "ADD": "`add`",
    "CAT": "`cat`",
    "FALSE": "`false`",
    "_NL": "a line break",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of the indented block",
    "_SEMI": "`;`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "LESSTHAN": "`<`",
    "MORETHAN": "`>`",
    "COLON": "`:`",
    "COMMA": "`,`",
    "EQUAL": "`=`",
    "VBAR": "`|`",
    "PLUS": "`+`",
    "MINUS": "`-`",
    "STAR": "`*`",
    "FLOORDIV": "`//`",
    "PERCENT": "`%`",
    "$END": "the end of the file",
    "_ARROW": "`->`",
}

_OPEN = {"LPAR", "LSQB"}
_CLOSE = {"RPAR", "RSQB"}


class _Layout:
    """Postlexer: indentation to _INDENT/_DEDENT, and line breaks inside
    `< ... >` to `;`. Line breaks inside `( )` and `[ ]` are dropped."""

    always_accept = ("_NL",)

    def __init__(self, levels: list[int] | None = None):
        # The indentation levels open where the text starts (parse_recovering
        # starts inside a definition's body).
        self.start_levels = list(levels or [0])
        self.levels = self.start_levels

    def borrow(self, kind: str, value: str, tok: Token) -> Token:
        """A new token at `tok`'s position (tests/test_lalr.py makes Lark's)."""
        return Token.borrow(kind, value, tok)

    def at_end(self, line: int, column: int) -> Token:
        """A _DEDENT at the end of the text."""
        return Token("_DEDENT", "", line, column)

    def process(self, stream):
        # Each run's own, as they are at this point (parse_recovering asks).
        levels = self.levels = list(self.start_levels)
        brackets: list[str] = []
        self.brackets = brackets
        last = None
        for tok in stream:
            last = tok
            kind = tok.type
            if kind == "_NL":
                if brackets and brackets[-1] != "<":
                    continue
                if brackets:
                    yield self.borrow("_SEMI", ";", tok)
                    continue
                yield tok
                indent_text = tok.rsplit("\n", 1)[1]
                indent = indent_text.count(" ") + 8 * indent_text.count("\t")
                if indent > levels[-1]:
                    levels.append(indent)
                    yield self.borrow("_INDENT", indent_text, tok)
                    continue
                while indent < levels[-1]:
                    levels.pop()
                    yield self.borrow("_DEDENT", indent_text, tok)
                if indent != levels[-1]:
                    raise _IndentError(tok.end_line, indent + 1)
                continue
            if kind in _OPEN or kind == "LESSTHAN":
                brackets.append("<" if kind == "LESSTHAN" else "(")
            elif (kind in _CLOSE or kind == "MORETHAN") and brackets:
                brackets.pop()
            yield tok
        while len(levels) > 1:
            levels.pop()
            yield self.at_end(last.end_line if last else 1, last.end_column if last else 1)


class _IndentError(Exception):
    def __init__(self, line: int, column: int):
        super().__init__(line, column)
        self.line, self.column = line, column


@lru_cache(maxsize=None)
def _parser() -> Parser:
    """The parser, once per process: the tables in legoc/syntax/_parse_tables.py
    (written by `python -m legoc.tools.prebuild`) when they were made from this
    grammar, else the grammar analysed by Lark now (slow, not wrong)."""
    from . import _parse_tables

    if _parse_tables.GRAMMAR == read_text("grammar", "legoc.lark"):
        return Parser(vars(_parse_tables))
    from .tables import tables

    return Parser(tables())


def parse(text: str, file: str, limits: Limits = DEFAULT) -> s.Program:
    """Parse the text of one .lego file.

    Args:
        text: the source.
        file: the name diagnostics report (a path, or "<stdin>").
        limits: the file size, nesting and layer count allowed (limits.py).

    Raises:
        SpecError: the text has a syntax error (one diagnostic, at its token)
            or crosses a limit.
    """
    _check_file_size(text, file, limits)
    if text.startswith("\ufeff"):  # a UTF-8 byte order mark
        text = text[1:]
    if not text.endswith("\n"):
        text += "\n"
    try:
        tree = _parser().parse(text, _Layout().process)
    except (_IndentError, UnexpectedInput) as exc:
        raise _parse_error(exc, text, file) from None
    _check_size(tree, file, limits)
    # Lines as the lexer counts them: split at "\n" only, not at the
    # CR, form feed or line separator a comment may hold (splitlines).
    return _ToSyntax(file, text.split("\n"), limits).transform(tree)


def _parse_error(exc: _IndentError | UnexpectedInput, text: str, file: str, line: int = 1, pos: int = 0,
                 levels: list[int] | None = None) -> SpecError:  # fmt: skip
    """The diagnostic for a syntax error met parsing `text` from offset
    `pos` with indentation `levels` open, `text` starting on `line` of the
    file (the whole file, or a part: parse_recovering)."""
    if isinstance(exc, _IndentError):
        span = Span(file, exc.line, 1, exc.line, exc.column)
        return error("LG103", span, "this line's indentation matches no enclosing block")
    if isinstance(exc, UnexpectedToken):
        # A bracket left open on an earlier line swallows the lines after
        # it (line breaks inside ( ) and [ ] are ignored): report the bracket.
        at_end = exc.token.type in ("_DEDENT", "$END")
        unclosed = _unclosed_bracket(text, None if at_end else (exc.line, exc.column), line, pos, levels)
        if unclosed is not None and (at_end or unclosed.line < exc.line):
            return error("LG102", _tok_span(file, unclosed), f"`{unclosed}` is never closed")
    return _syntax_error(exc, file)


def _check_file_size(text: str, file: str, limits: Limits) -> None:
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > limits.max_file_bytes:
        raise error(
            "LG601", Span(file, 1, 1, 1, 1), f"the file is {size:,} bytes, over the limit of {limits.max_file_bytes:,}",
            hint="raise `max-file-bytes` under [tool.legoc.limits] in pyproject.toml",
        )


# Tree nodes that nest in the user's terms: brackets and constructs that
# hold layers, and arithmetic operators.
_NESTING = frozenset({"group", "residual", "parallel", "repeat", "binop", "neg", "func"})


def _check_size(tree: Tree, file: str, limits: Limits, count_only: bool = False) -> int:
    """Reject a parse tree nested deeper than `limits.max_nesting` (LG602)
    or with more than `limits.max_layers` layer calls (LG604), walking it
    without recursion, so that later, recursive stages stay well inside
    Python's recursion limit. Returns the number of layer calls; with
    `count_only`, only counts them (LG602 is still raised)."""
    layers = 0
    stack: list[tuple[Tree, int, bool]] = [(tree, 0, True)]  # node, depth outside it, whether it adds a level
    while stack:
        node, depth, counts = stack.pop()
        if node.data in _NESTING and counts:
            depth += 1
            if depth > limits.max_nesting:
                raise _too_deep(node, file, limits)
        elif node.data == "call":
            layers += 1
            if layers > limits.max_layers and not count_only:
                span = Span(file, node.line, node.column, node.line, node.column + 1)
                raise error("LG604", span, f"the file has more than {limits.max_layers:,} layer calls", hint="raise `max-layers` under [tool.legoc.limits]")
        # The `< ... >` of a residual or a repeat is on the same level as it.
        holder = node.data in ("residual", "repeat")
        stack.extend((child, depth, not (holder and child.data == "group")) for child in node.children if isinstance(child, Tree))
    return layers


def _size(tree: Tree, file: str, limits: Limits) -> tuple[int, SpecError | None]:
    """The number of layer calls in `tree`, and the error `_check_size`
    meets first for nesting in it (LG602), if any: it walks in the same
    order."""
    layers, too_deep = 0, None
    stack: list[tuple[Tree, int, bool]] = [(tree, 0, True)]
    while stack:
        node, depth, counts = stack.pop()
        if node.data in _NESTING and counts:
            depth += 1
            if depth > limits.max_nesting and too_deep is None:
                too_deep = _too_deep(node, file, limits)
        elif node.data == "call":
            layers += 1
        holder = node.data in ("residual", "repeat")
        stack.extend((child, depth, not (holder and child.data == "group")) for child in node.children if isinstance(child, Tree))
    return layers, too_deep


def _too_deep(node: Tree, file: str, limits: Limits) -> SpecError:
    span = Span(file, node.line, node.column, node.line, node.column + 1)
    return error(
        "LG602", span, f"this is nested more than {limits.max_nesting} levels deep (brackets, residuals, repeats and operators)",
        hint="define a block for the inner part, or raise `max-nesting` under [tool.legoc.limits]",
    )


# A definition's header, even with a misspelt keyword (`blok unit(c):`): its
# second word is the name that calls of it use.
_HEADER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*[ \t]+([A-Za-z_][A-Za-z0-9_]*)")


def _top_level(line: str) -> bool:
    """Whether a line starts a definition: unindented, not blank or a comment."""
    return bool(line) and line[0] not in " \t#\r"


def parse_recovering(text: str, file: str, limits: Limits = DEFAULT) -> tuple[s.Program, tuple[Diagnostic, ...], frozenset[str]]:
    """Parse, reporting every syntax error instead of the first: after an
    error, the offending line of a definition's body is replaced by a
    placeholder layer (or, for an error in a header or one that persists,
    the whole definition is blanked) and parsing starts again.

    Returns the program that finally parses, the syntax errors in source
    order, and the names of the definitions that had errors: their
    analysis would only repeat those errors, so callers skip them. A file
    over `limits.max_file_bytes` gives that one error and an empty program.

    The outcome is that of parsing the whole file again after each error
    (`_recover_whole`), but the work stays linear in the file's size,
    whatever the number of errors: after the first error, the file is
    parsed one top-level definition at a time, each from the parser state
    the whole parse has there, and after an error in a definition's body
    parsing starts again at the line break before the edited line, from
    the parser's state there: a syntax error costs a parse of one line, an
    error found after parsing (LG602, or a number's or an argument's) one
    of its definition. A file whose layer calls pass `limits.max_layers`
    (LG604, a count over the whole file) is recovered the old way, parsed
    whole after each error.
    """
    try:
        _check_file_size(text, file, limits)
    except SpecError as exc:
        return s.Program(file, ()), exc.diagnostics, frozenset()
    try:
        return parse(text, file, limits), (), frozenset()
    except SpecError:
        pass
    found = _Recovery(text, file, limits).run()
    return found if found is not None else _recover_whole(text, file, limits)


def _edit(lines: list[str], changed: set[int], blanked: set[str], diag: Diagnostic,
          top_above: Callable[[int], int] | None = None) -> range | None:  # fmt: skip
    """Take the error `diag` out of `lines`: its line of a definition's
    body becomes a placeholder layer, or its whole definition (or, when
    that is already done, the rest of the file) is blanked. Records the
    lines it changes in `changed` and the names of blanked definitions in
    `blanked`. Returns the lines (indices) it may have changed; None when
    there is nothing left to change (give up). `top_above(at)` is the
    index of the last top-level line at or above `at` (or `at` itself
    when there is none), found by looking up line by line if not given.

    Looks only at the lines from the definition's first body line to the
    error's, unless it blanks: so a placeholder costs as much however
    long the definition."""
    at = min(max(diag.span.line - 1, 0), len(lines) - 1)
    if top_above is None:
        start = next((i for i in range(at, -1, -1) if _top_level(lines[i])), at)
    else:
        start = top_above(at)
    # A line of the body: not blank, not a comment (the lines from `start`
    # to the next top-level line after `at`, which is after `at` itself).
    in_body = bool(lines[at].strip()) and not lines[at].lstrip().startswith("#")
    if at != start and in_body and at not in changed and diag.code != "LG102":
        first = next(i for i in range(start + 1, at + 1) if lines[i].strip() and not lines[i].lstrip().startswith("#"))
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())] or "    "
        lines[at] = indent + "identity"
        changed.add(at)
        return range(at, at + 1)
    end = next((i for i in range(at + 1, len(lines)) if _top_level(lines[i])), len(lines))
    region = range(start, end) if any(i not in changed for i in range(start, end)) else range(at, len(lines))
    if all(i in changed for i in region):
        return None
    for i in region:
        header = _HEADER.match(lines[i]) if _top_level(lines[i]) else None
        if header:
            blanked.add(header.group(1))
        lines[i] = ""
        changed.add(i)
    return region


def _broken(program: s.Program, lines: list[str], changed: set[int], blanked: set[str]) -> frozenset[str]:
    """The definitions with errors: those blanked, and those of `program`
    with a changed line (0-based indices) between their header and the
    next definition's."""
    starts = sorted((d.span.line, d.name) for d in program.definitions)
    marks = sorted(changed)
    broken = set(blanked)
    for index, (line, name) in enumerate(starts):
        last = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(lines)
        at = bisect_left(marks, line - 1)
        if at < len(marks) and marks[at] <= last - 1:
            broken.add(name)
    return frozenset(broken)


def _recover_whole(text: str, file: str, limits: Limits) -> tuple[s.Program, tuple[Diagnostic, ...], frozenset[str]]:
    """`parse_recovering` by parsing the whole file again after each error:
    quadratic in the number of errors. Used where the layer count of the
    whole file matters (LG604), and by tests as the reference."""
    lines = text.split("\n")
    diags: list[Diagnostic] = []
    changed: set[int] = set()
    blanked: set[str] = set()
    program = s.Program(file, ())
    for _ in range(len(lines) + 1):
        try:
            program = parse("\n".join(lines), file, limits)
            break
        except SpecError as exc:
            diag = exc.diagnostics[0]
            diags.append(diag)
            if _edit(lines, changed, blanked, diag) is None:
                break
    diags.sort(key=lambda d: (d.span.line, d.span.column))
    return program, tuple(diags), _broken(program, lines, changed, blanked)


class _BomLines:
    """The file's lines as `parse` sees them: without a byte order mark."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def __getitem__(self, index: int) -> str:
        line = self.lines[index]
        return line[1:] if index == 0 and line.startswith("\ufeff") else line


class _Part:
    """One part of the file (see _Recovery): its lines [start, end), its
    definitions' parse trees, its layer calls and first LG602 error, and,
    once converted, its definitions."""

    __slots__ = ("start", "end", "trees", "layers", "too_deep", "definitions", "dead")

    def __init__(self, start: int, end: int, trees: list[Tree], layers: int, too_deep: SpecError | None):
        self.start, self.end, self.trees, self.layers, self.too_deep = start, end, trees, layers, too_deep
        self.definitions: list[s.Definition] | None = None
        self.dead = False


class _GiveUp(Exception):
    """An error that no edit takes out: recovery stops, as _recover_whole's."""


class _Recovery:
    """parse_recovering's work: `_recover_whole`'s outcome, in linear time.

    The file is parsed one part at a time, a part being a top-level
    definition (or what precedes the first one), from the parser state the
    whole parse has where it starts (Lark's tables reach the same state at
    every definition's start but the first). A part ends at the first later
    top-level line where a `block` or `model` starts with no bracket open
    and the parser shifts it: a bracket left open, or a line that is not a
    definition's header, lets a part run on as the whole parse would.

    Errors are taken out in `_recover_whole`'s order (its first error is
    the first syntax error in the file, else the last part's nesting error
    (LG602), else the first conversion error), and after each only the
    part it is in is parsed again, with the parts after it while the
    parse does not land on a part's start as before."""

    def __init__(self, text: str, file: str, limits: Limits):
        self.file, self.limits = file, limits
        self.lines = text.split("\n")
        self.diags: list[Diagnostic] = []
        self.changed: set[int] = set()
        self.blanked: set[str] = set()
        self.budget = len(self.lines) + 1  # parses that fail, at most (as _recover_whole)
        self.parts: list[_Part] = []
        self.starts: list[int] = []  # each part's start, for bisect
        self.layers = 0  # in all parts
        self.unchecked: list[tuple[int, int, _Part]] = []  # heap by -start: parts whose LG602 is not taken yet
        self.unconverted: list[tuple[int, int, _Part]] = []  # heap by start
        self.serial = 0
        self.reach = 0  # where the lines edited since the last sweep end (an index)
        # (t, hi): line t is top-level (-1: none is) and none in (t, hi] is.
        self.tops: tuple[int, int] | None = None
        # (lo, c): line c may end a part (_may_start; or it is len(lines)), and none in [lo, c) may.
        self.ends: tuple[int, int] | None = None

    def run(self) -> tuple[s.Program, tuple[Diagnostic, ...], frozenset[str]] | None:
        """The outcome, or None where the layer count crosses its limit
        (LG604, counted over the whole file: left to _recover_whole)."""
        lines = self.lines
        definitions: list[s.Definition] = []
        try:
            self._sweep(0)
            while True:
                if self.layers > self.limits.max_layers:
                    return None
                part = self._next(self.unchecked)
                if part is not None:
                    if part.too_deep is None:
                        heapq.heappop(self.unchecked)
                        continue
                    self._fail(part.too_deep, part)
                    continue
                part = self._next(self.unconverted)
                if part is None:
                    break
                convert = _ToSyntax(self.file, _BomLines(lines), self.limits)  # type: ignore[arg-type]
                try:
                    convert.transform(Tree("start", part.trees), consume=False)
                except SpecError as exc:
                    self._fail_lines(exc, part, convert)
                    continue
                program = convert.transform(Tree("start", part.trees))
                heapq.heappop(self.unconverted)
                part.definitions, part.trees = list(program.definitions), []
            definitions = [d for part in self.parts for d in part.definitions or ()]
        except _GiveUp:
            definitions = []
        self.diags.sort(key=lambda d: (d.span.line, d.span.column))
        program = s.Program(self.file, tuple(definitions))
        return program, tuple(self.diags), _broken(program, lines, self.changed, self.blanked)

    @staticmethod
    def _next(heap: list) -> _Part | None:
        """The live part at the top of `heap`, dropping dead ones."""
        while heap and heap[0][2].dead:
            heapq.heappop(heap)
        return heap[0][2] if heap else None

    def _fail(self, exc: SpecError, part: _Part) -> None:
        """Take out the error `exc`, met in `part`, and parse again from
        that part."""
        self._take_out(exc)
        self._sweep(bisect_left(self.starts, part.start))

    def _fail_lines(self, exc: SpecError, part: _Part, convert: _ToSyntax) -> None:
        """Take out `exc`, the first conversion error of `part`, and with it
        those of the later lines of its definition's body, each as taking
        out the one before and parsing again would meet it (a line's
        conversion errors are its own), while each is a whole line that a
        placeholder replaces; then parse the part again, once."""
        trees = part.trees
        if len(trees) != 1:
            self._fail(exc, part)
            return
        found: list[SpecError] = []
        layers = self.layers
        for line in trees[0].children:
            if not (isinstance(line, Tree) and line.data == "line"):
                continue
            try:
                convert.transform(line, consume=False)
                continue
            except SpecError as exc_line:
                failure = exc_line
            diag = failure.diagnostics[0]
            statement = line.children[0]
            at = diag.span.line - 1
            whole = isinstance(statement, Tree) and statement.c_line == statement.c_end_line == diag.span.line
            if not whole or at in self.changed or diag.code == "LG102" or layers > self.limits.max_layers:
                break
            found.append(failure)
            layers += 1 - _size(line, self.file, self.limits)[0]
        if not found or found[0].diagnostics[0] != exc.diagnostics[0]:
            self._fail(exc, part)
            return
        for failure in found:
            edited = self._take_out(failure)
            if len(edited) != 1:  # not a placeholder: parse again now
                break
        self._sweep(bisect_left(self.starts, part.start))

    def _take_out(self, exc: SpecError) -> range:
        """Record the error `exc` and edit it out of the lines; the lines
        (indices) edited."""
        diag = exc.diagnostics[0]
        self.diags.append(diag)
        self.budget -= 1
        edited = _edit(self.lines, self.changed, self.blanked, diag, self._top_above) if self.budget >= 0 else None
        if edited is None:
            raise _GiveUp
        self.reach = max(self.reach, edited.stop)
        # Edited lines are blank or indented: none is top-level or may end
        # a part now, but the line after them may (no backslash before it).
        if self.tops is not None and self.tops[0] in edited:
            self.tops = None
        if self.ends is not None:
            lo, c = self.ends
            if c in edited:
                self.ends = None
            elif lo <= edited.stop < c and _may_start(self.lines, edited.stop):
                self.ends = (lo, edited.stop)
        return edited

    def _top_above(self, at: int) -> int:
        """The last top-level line at or above `at` (`at` when none is),
        remembering how far up it looked."""
        lines = self.lines
        if self.tops is not None and at >= self.tops[0]:
            top, seen = self.tops
            found = next((i for i in range(at, seen, -1) if _top_level(lines[i])), top)
        else:
            found = next((i for i in range(at, -1, -1) if _top_level(lines[i])), -1)
        self.tops = (found, max(at, self.tops[1]) if self.tops is not None and found == self.tops[0] else at)
        return at if found < 0 else found

    def _next_end(self, index: int) -> int:
        """The first line at or after `index` that may end a part
        (len(lines) when none does), remembering how far it looked."""
        if self.ends is not None and self.ends[0] <= index <= self.ends[1]:
            return self.ends[1]
        lines = self.lines
        end = next((i for i in range(index, len(lines)) if _may_start(lines, i)), len(lines))
        self.ends = (index, end)
        return end

    def _sweep(self, index: int) -> None:
        """Parse the parts from the `index`-th on again (all when there are
        none yet), taking out their syntax errors, until a part ends where
        one of the earlier parse started, with nothing changed from there."""
        lines, old = self.lines, self.parts[index:]
        at = old[0].start if old else 0
        new: list[_Part] = []
        keep = len(old)
        o = 0
        while at < len(lines):
            if at > 0 and not _top_level(lines[at]):
                at += 1  # blank (or blanked) lines between definitions
                continue
            while o < len(old) and old[o].start < at:
                o += 1
            if 0 < o < len(old) and old[o].start == at and at >= self.reach:
                keep = o
                break
            part = self._part(at)
            if part is None:
                continue  # its header was blanked: look again from `at`
            new.append(part)
            at = part.end
        for part in old[:keep]:
            part.dead = True
            self.layers -= part.layers
        for part in new:
            self.layers += part.layers
            self.serial += 1
            heapq.heappush(self.unchecked, (-part.start, self.serial, part))
            heapq.heappush(self.unconverted, (part.start, self.serial, part))
        self.parts[index : index + keep] = new
        self.starts[index : index + keep] = [part.start for part in new]
        self.reach = 0

    def _part(self, at: int) -> _Part | None:
        """The part at line index `at`, its syntax errors taken out; None
        when that blanks its first line (a header).

        After an error that changes only lines below a line break of the
        part's body, parsing starts again at that line break, from the
        parser's state there (a checkpoint), not at the part's start: so
        that many errors in one definition cost one parse of it."""
        checkpoints: list[tuple] = []
        resume = None
        while True:
            if at > 0 and not _top_level(self.lines[at]):
                return None
            try:
                trees, end = self._parse(at, checkpoints, resume)
            except SpecError as exc:
                edited = self._take_out(exc)
                # The last checkpoint on a line above the edited ones (its
                # line, 1-based, is at most the first edited index).
                keep = bisect_right(checkpoints, edited.start, key=lambda c: c[0])
                resume = checkpoints[keep - 1] if keep else None
                del checkpoints[max(keep - 1, 0) :]
                continue
            layers, too_deep = _size(Tree("start", trees), self.file, self.limits)
            return _Part(at, end, trees, layers, too_deep)

    def _parse(self, at: int, checkpoints: list[tuple], resume: tuple | None) -> tuple[list[Tree], int]:
        """The definitions' trees of the part at line index `at`, and the
        line index where the next part starts; parsed from the checkpoint
        `resume` if given; each line break with no bracket open is added to
        `checkpoints`: (line, column, states, values, the length of each
        tree's children among the values, indentation levels).

        Raises:
            SpecError: the first syntax error of the part.
        """
        lines, parser = self.lines, _parser()
        first = at if resume is None else resume[0] - 1  # the index of the line the text starts with
        want = 1  # candidate ends to take in the text; doubled when none is one
        while True:
            stops: list[int] = []
            index = first + 1
            if want == 1 and index < len(lines):
                index = self._next_end(index)
                if index < len(lines):
                    stops.append(index + 1)
                    index += 1
            while index < len(lines) and len(stops) < want:
                if _may_start(lines, index):
                    stops.append(index + 1)
                index += 1
            final = len(stops) < want
            text = "\n".join(lines[first:] if final else lines[first:index]) + "\n"
            if first == 0 and text.startswith("\ufeff"):
                text = text[1:]
            if final and text.endswith("\n\n"):
                text = text[:-1]
            if resume is not None:
                _, column, states, values, sizes, levels = resume
                states, values = list(states), list(values)
                for tree, size in sizes:
                    del tree.children[size:]
                pos = column - 1
            elif at == 0:
                states, values, pos, levels = [parser.start_state], [], 0, None
            else:
                # After a definition: the state the whole parse is in there
                # (or, after only blank lines, one that allows the same).
                states = [parser.start_state, parser.goto(parser.start_state, "__start_star_0")]
                values, pos, levels = [Tree("__start_star_0", [])], 0, None
            layout = _Layout(levels)
            mark = len(checkpoints)

            def watch(token: Token, states: list[int], values: list) -> None:
                if token.line > 1:  # (line 1 may have lost a byte order mark)
                    sizes = [(v, len(v.children)) for v in values if type(v) is Tree]
                    checkpoints.append((token.line, token.column, list(states), list(values), sizes, list(layout.levels)))

            try:
                kind, value = parser.parse_part(
                    text, layout.process, first + 1, states, values, stops,
                    lambda tok: tok.type in ("BLOCK", "MODEL") and not layout.brackets, final, pos, watch,
                )  # fmt: skip
            except (_IndentError, UnexpectedInput) as exc:
                raise _parse_error(exc, text, self.file, first + 1, pos, levels) from None
            if kind == "more":
                del checkpoints[mark:]
                want *= 2
                continue
            if kind == "tree":
                return list(value.children), len(lines)
            top = values[-1] if values else None
            trees = list(top.children) if isinstance(top, Tree) and top.data == "__start_star_0" else []
            return trees, value - 1


def _may_start(lines: list[str], index: int) -> bool:
    """Whether line `index` may start a definition where the one before it
    ends: a top-level line that begins with a name, not continuing the line
    before it with a backslash."""
    line, before = lines[index], lines[index - 1]
    return bool(line) and (line[0].isalpha() or line[0] == "_") and not before.rstrip(" \t\f\r").endswith("\\")


_VALUE_START = {"NAME", "INT", "FLOAT", "STRING", "TRUE", "FALSE", "MIN", "MAX", "LPAR", "MINUS"}
_FOUND_WORDS = {"_NL": "end of line", "_INDENT": "indentation", "_DEDENT": "end of the indented block", "$END": "end of file"}


def _unclosed_bracket(text: str, before: tuple[int, int] | None = None, line: int = 1, pos: int = 0,
                      levels: list[int] | None = None) -> Token | None:  # fmt: skip
    """The innermost bracket left open at the end of the text (or at the
    position `before`, a (line, column) pair), if any; `text` starts on
    `line`, and is read from offset `pos` with indentation `levels` open."""
    stack: list[Token] = []
    pairs = {"RPAR": "LPAR", "RSQB": "LSQB", "MORETHAN": "LESSTHAN"}
    try:
        for tok in _Layout(levels).process(_parser().lex(text, line, pos)):
            if before is not None and (tok.line, tok.column) >= before:
                break
            if tok.type in ("LPAR", "LSQB", "LESSTHAN"):
                stack.append(tok)
            elif tok.type in pairs and stack and stack[-1].type == pairs[tok.type]:
                stack.pop()
    except (UnexpectedInput, _IndentError):
        return None
    return stack[-1] if stack else None


def _syntax_error(exc: UnexpectedInput, file: str) -> SpecError:
    line, column = max(exc.line, 1), max(exc.column, 1)
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char if exc.char.isprintable() else repr(exc.char)
        return error("LG101", Span(file, line, column, line, column + 1), f"unexpected character `{char}`")
    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    expected = {t for t in exc.expected if not t.startswith("__")}
    words = set()
    if expected & {"INT", "NAME"} == {"INT", "NAME"}:  # anywhere a value may start
        words.add("a value")
        expected -= _VALUE_START | {"LESSTHAN"}
    words |= {_TERMINAL_WORDS.get(t, f"`{t.lower()}`") for t in expected}
    width = 1
    if tok.type in _FOUND_WORDS:
        found = _FOUND_WORDS[tok.type]
        if tok.type == "_NL":  # point at the end of the line, not the next one
            line, column = tok.line, tok.column
        elif tok.type == "_INDENT":  # point at the indented line itself
            line, column = tok.end_line, tok.end_column
    else:
        found, width = f"`{tok}`", max(1, len(str(tok)))
    message = f"unexpected {found}"
    if words and len(words) <= 6:
        message += "; expected " + _or_list(sorted(words))
    return error("LG101", Span(file, line, column, line, column + width), message)


def _or_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _touching(left: Span, right: Span) -> bool:
    """Whether `right` starts where `left` ends, with nothing between."""
    return (left.end_line, left.end_column) == (right.line, right.column)


def _tok_span(file: str, tok: Token) -> Span:
    return Span(file, tok.line, tok.column, tok.end_line, tok.end_column)


class _ToSyntax:
    """Parse tree to `syntax` dataclasses, attaching spans: one method per
    grammar rule, called with the tree node (for its position) and its
    children, already converted."""

    def __init__(self, file: str, lines: list[str], limits: Limits):
        self.file = file
        self.lines = lines
        self.limits = limits
        self.rules = {
            "start": self.start, "definition": self.definition, "params": self.params, "param": self.param,
            "inputs": self.inputs, "line": self.line, "assign": self.assign, "return_stmt": self.return_stmt,
            "output": self.output, "pipeline": self.pipeline, "source": self.source, "merge": self.merge,
            "seq": self.seq, "call": self.call, "keyword": self.keyword, "named": self.named,
            "residual": self.residual, "parallel": self.parallel, "repeat": self.repeat, "input": self.input,
            "group": self.group, "shape": self.shape, "binop": self.binop, "neg": self.neg, "int": self.int,
            "float": self.float, "string": self.string, "bool": self.bool, "name": self.name, "func": self.func,
        }  # fmt: skip

    def transform(self, tree: Tree, consume: bool = True):
        """The syntax object for `tree`, built bottom-up with an explicit
        stack (no recursion, and no per-node wrappers as Lark's Transformer
        makes: a third of parsing time on large specs).

        This consumes the tree: each node hands its children to the stack
        (its `children` become empty), so that every subtree is freed as
        soon as it is converted and the parse tree and the syntax objects
        are never both whole in memory (a 100,000-layer spec's tree is
        over 100 MiB). With `consume` False the tree is left whole."""
        done: list = []  # converted subtrees and tokens, in order
        stack: list[tuple[object, int]] = [(tree, -1)]  # node, its children's count once expanded (-1: not yet)
        while stack:
            node, count = stack.pop()
            if not isinstance(node, Tree):  # a token, or None for an absent optional part
                done.append(node)
            elif count < 0:
                if consume:
                    children = node.children
                    node.children = []
                else:
                    children = list(node.children)
                stack.append((node, len(children)))
                children.reverse()
                stack.extend([(child, -1) for child in children])
                del children
            else:
                at = len(done) - count
                children = done[at:]
                del done[at:]
                done.append(self.rules[node.data](node, children))
        return done[0]

    def _span(self, node) -> Span:
        return Span(self.file, node.line, node.column, node.end_line, node.end_column)

    def start(self, node, children):
        return s.Program(self.file, tuple(children))

    def definition(self, node, children):
        kind, name, params, inputs, *lines = children
        body = tuple(stmt for line in lines for stmt in line)
        return s.Definition(
            kind=str(kind),
            name=str(name),
            params=tuple(params or ()),
            inputs=inputs,
            body=body,
            doc=self._doc_comment(kind.line),
            span=_tok_span(self.file, name),
        )

    def _doc_comment(self, line: int) -> tuple[str, ...]:
        """The comment lines right above a definition's header on `line`
        (1-based), without their `#`, first line first. Read bottom-up and
        reversed once: linear in the comment's length."""
        doc: list[str] = []
        index = line - 2
        while index >= 0:
            text = self.lines[index].lstrip()
            if not text.startswith("#"):
                break
            doc.append(text[1:].strip())
            index -= 1
        doc.reverse()
        return tuple(doc)

    def params(self, node, children):
        return [c for c in children if c is not None]

    def param(self, node, children):
        name, default = children
        if isinstance(default, s.Group):  # `c=< relu >`: an error in inference, as for a keyword
            default = s.GroupValue(default, default.span)
        return s.Param(str(name), default, _tok_span(self.file, name))

    def inputs(self, node, children):
        return tuple(s.Name(str(t), _tok_span(self.file, t)) for t in children if t is not None)

    def line(self, node, children):
        (item,) = children
        return item if isinstance(item, tuple) else (item,)

    def assign(self, node, children):
        target, value = children
        return s.Assign(str(target), value, self._span(node), _tok_span(self.file, target))

    def return_stmt(self, node, children):
        return s.Return(children[0], self._span(node))

    def output(self, node, children):
        name, value = children
        return s.Output(str(name), value, self._span(node), _tok_span(self.file, name))

    def pipeline(self, node, children):
        sources, *stages = children
        return s.Pipeline(sources, tuple(stages), self._span(node))

    def source(self, node, children):
        return tuple(s.Name(str(t), _tok_span(self.file, t)) for t in children if t is not None)

    def merge(self, node, children):
        return s.Merge(str(children[0]), self._span(node))

    def seq(self, node, children):
        return tuple(children)

    def call(self, node, children):
        name, *args = children
        keywords = tuple(a for a in args if isinstance(a, s.Keyword))
        positional = tuple(a for a in args if not isinstance(a, s.Keyword))
        for before, after in zip(args, args[1:]):
            value = before.value if isinstance(before, s.Keyword) else before
            if isinstance(value, s.Literal) and isinstance(after, (s.Name, s.Keyword)) and _touching(value.span, after.span):
                glued = after.id if isinstance(after, s.Name) else after.name
                underscore = "_" in glued  # `1.0_`, `1e_5`, `1_000_`: the lexer reads a number, then a name
                raise error(
                    "LG101", after.span,
                    "a number runs into a name here" + (": an underscore in a number goes between two digits" if underscore else ""),
                    hint="write numbers as Python does: `1_000`, `0.000_1`, `1e-5`, `1e1_0`" if underscore else "put a space between the number and the name",
                )
            if isinstance(before, s.Keyword) and not isinstance(after, s.Keyword):
                raise error("LG104", after.span, "a positional argument cannot follow a keyword argument")
        return s.Call(str(name), positional, keywords, self._span(node), _tok_span(self.file, name))

    def keyword(self, node, children):
        name, value = children
        if isinstance(value, s.Group):
            value = s.GroupValue(value, value.span)
        return s.Keyword(str(name), value, self._span(node))

    def named(self, node, children):
        name, layer = children
        return s.Named(str(name), layer, self._span(node), _tok_span(self.file, name))

    def residual(self, node, children):
        mode, body, shortcut = children
        return s.Residual(str(mode), body, shortcut, self._span(node))

    def parallel(self, node, children):
        mode, *branches = children
        return s.Parallel(str(mode), tuple(branches), self._span(node))

    def repeat(self, node, children):
        count, body = children
        return s.Repeat(count, body, self._span(node))

    def input(self, node, children):
        name, shape = children
        return s.Input(shape, None if name is None else str(name), self._span(node))

    def group(self, node, children):
        (body,) = children
        return s.Group(body, self._span(node))

    def shape(self, node, children):
        return tuple(c for c in children if c is not None)

    def binop(self, node, children):
        left, op, right = children
        return s.BinOp(str(op), left, right, self._span(node))

    def neg(self, node, children):
        return s.Neg(children[1], self._span(node))

    def int(self, node, children):
        digits = str(children[0]).replace("_", "").lstrip("0") or "0"
        # Compare lengths first: int() of a huge digit string is slow, and
        # refused past 4,300 digits.
        if len(digits) > len(str(self.limits.max_size)) or int(digits) > self.limits.max_size:
            raise self._too_large(node)
        return s.Literal(int(digits), self._span(node))

    def float(self, node, children):
        text = str(children[0]).replace("_", "")
        value = float(text)
        if math.isinf(value):
            raise error("LG107", self._span(node), f"`{children[0]}` is too large for a float: it would be inf")
        if value == 0.0 and any(ch in "123456789" for ch in re.split("[eE]", text)[0]):
            raise error("LG107", self._span(node), f"`{children[0]}` is too small for a float: it would be 0.0", hint="write 0.0 if you mean zero")
        if abs(value) > self.limits.max_size:
            raise self._too_large(node)
        return s.Literal(value, self._span(node))

    def _too_large(self, node) -> SpecError:
        return error(
            "LG606", self._span(node), f"this number is over the limit of {self.limits.max_size:,} for a size",
            hint="raise `max-size` under [tool.legoc.limits]",
        )

    def string(self, node, children):
        return s.Literal(str(children[0])[1:-1], self._span(node))

    def bool(self, node, children):
        return s.Literal(str(children[0]) == "true", self._span(node))

    def name(self, node, children):
        return s.Name(str(children[0]), self._span(node))

    def func(self, node, children):
        name, *args = children
        return s.Func(str(name), tuple(args), self._span(node))
