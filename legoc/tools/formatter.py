"""The canonical layout of a .lego spec, for `legoc fmt` (legoc/tools/fmt.py).

`format_text(text, file)` returns the spec laid out one way, whatever its
spacing (docs/fmt.md describes the layout):

- a definition's body is indented by 4 spaces; a line inside `< ... >`,
  `( ... )` or `[ ... ]` written over several lines by 4 more for each
  line that opened a bracket still open, a line that starts with the
  closing bracket at the indentation of the line that opened it, and a
  line that starts with `|` 2 spaces to the left of its neighbours (so
  that what follows `| ` lines up with them);
- one space between tokens, none inside brackets, before `,`, `:` and
  `;`, around a keyword argument's or a default's `=`, around `.` and
  after a unary minus; one space around an assignment's `=`, `->`, `<`,
  `>`, `|` and binary operators;
- a dataflow chain (`x = a -> b -> c`) stays on one line when it fits in
  88 columns and was written on one line; otherwise it is broken before
  every `->`, each continuation line ending in `\\` and the next one
  indented 4 more (a chain written broken stays broken, as black keeps a
  collection with a trailing comma exploded). No other line is broken.
- comments are kept as written (trailing whitespace removed), a trailing
  comment 2 spaces after its code; blank lines are kept, at most 2 in a
  row before a definition and 1 elsewhere, none at the start or end;
- the lines between `# fmt: off` and `# fmt: on`, and a line that ends
  in `# fmt: skip`, are left as written (tables aligned by hand).

It works on the token stream of legoc's own lexer (legoc.syntax.lalr),
where line breaks and comments are `_NL` tokens, so nothing is lost; the
parse tree only says which `-` are unary. Every result is parsed again and
must give the same syntax tree (spans aside) as the input, and formatting
it again must change nothing: `FormatError` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.diagnostics import SpecError
from ..core.limits import DEFAULT, Limits, deep
from ..syntax.automaton import lalr_parser
from ..syntax.indentation import IndentError, Layout
from ..syntax.lalr import Token, Tree, UnexpectedInput
from ..syntax.parser import parse

LINE_LENGTH = 88
"""The longest line, in characters, that a dataflow chain keeps."""

INDENT = 4
"""Spaces per level of indentation."""

_FUNCTIONS = frozenset({"MIN", "MAX", "ROUND", "CEIL", "INT_FN", "MAKE_DIVISIBLE"})
_OPEN = frozenset({"LPAR", "LSQB"})
_CLOSE = frozenset({"RPAR", "RSQB"})
_TIGHT_BEFORE = frozenset({"COMMA", "RPAR", "RSQB", "COLON", "DOT"})
_TIGHT_AFTER = frozenset({"LPAR", "LSQB", "DOT"})


class FormatError(Exception):
    """The formatter failed its own checks on a spec that parses: the result
    parses to another syntax tree, or formatting it again changes it (a bug
    in legoc; `legoc fmt` reports it and exits 123)."""


@dataclass
class Gap:
    """The text between two lines of code: one or more `_NL` tokens.

    `trailing` is the comment on the line of the code before (None: none);
    `lines` the lines in between, each None (blank) or (column, comment,
    the line as written);
    `indent` the next line's indentation as the layout postlexer counts it."""

    trailing: str | None
    lines: list[tuple[int, str, str] | None]
    indent: int


@dataclass
class Logical:
    """One line of the grammar: its tokens and the gaps inside brackets."""

    items: list[Token | Gap] = field(default_factory=list)


def _columns(blank: str) -> int:
    return blank.count(" ") + 8 * blank.count("\t")


def _gap(values: list[str], column: int | None) -> Gap:
    """The gap of the `_NL` tokens `values`; `column` is the first one's
    (0-based) when it starts on a line of its own (after a line continuation
    or at the start of the file), None when it ends a line of code."""
    segments = "".join(values).split("\n")
    first = segments[0]
    trailing = first[first.index("#") :].rstrip(" \t") if "#" in first else None
    lines: list[tuple[int, str, str] | None] = []
    if trailing is not None and column is not None:  # a comment line, not a trailing comment
        lines.append((column, trailing, " " * column + trailing))
        trailing = None
    for segment in segments[1:-1]:
        if "#" in segment:
            at = segment.index("#")
            lines.append((_columns(segment[:at]), segment[at:].rstrip(" \t"), segment.rstrip(" \t")))
        else:
            lines.append(None)
    return Gap(trailing, lines, _columns(values[-1].rsplit("\n", 1)[-1]))


def _lex(text: str) -> tuple[list[Token | Gap], set[tuple[int, int]]]:
    """The tokens of `text` as the parser reads them before the layout
    postlexer, runs of `_NL` merged into `Gap`s; and the positions of the
    unary minuses."""
    raw: list[Token] = []

    def record(stream):
        for tok in stream:
            raw.append(tok)
            yield tok

    tree = lalr_parser().parse(text, lambda stream: Layout().process(record(stream)))
    unary: set[tuple[int, int]] = set()
    stack: list = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Tree):
            if node.data == "neg" and isinstance(node.children[0], Token):
                unary.add((node.children[0].line, node.children[0].column))
            stack.extend(node.children)
    items: list[Token | Gap] = []
    pending: list[Token] = []
    last: Token | None = None

    def flush() -> None:
        own_line = last is None or pending[0].line != last.end_line
        items.append(_gap([str(t) for t in pending], pending[0].column - 1 if own_line else None))
        pending.clear()

    for tok in raw:
        if tok.type == "_NL":
            pending.append(tok)
            continue
        if pending:
            flush()
        items.append(tok)
        last = tok
    if pending:
        flush()
    return items, unary



class _Brackets:
    """The brackets open at a token, counted as the layout postlexer counts
    them (syntax/indentation.py's `Layout`, whose hot loop keeps its own
    copy): `(` and `[`, and a group's `<`, while a `<` or `>` in an `if`'s
    test (up to its `:` or `else` at the same depth) compares and opens
    nothing. `open` holds each open bracket, `"("` or `"<"`, with the tag
    its `step` was given (the output line it opened on)."""

    def __init__(self) -> None:
        self.open: list[tuple[str, int]] = []
        self.test: int | None = None  # in an `if`'s test: the depth at the `if`

    def step(self, kind: str, tag: int = 0) -> None:
        """Account for a token of type `kind`."""
        if kind == "_IF":
            self.test = len(self.open)
        elif self.test is not None and kind in ("COLON", "_ELSE") and len(self.open) == self.test:
            self.test = None
        elif self.test is not None and kind in ("LESSTHAN", "MORETHAN"):
            pass
        elif kind in _OPEN or kind == "LESSTHAN":
            self.open.append(("<" if kind == "LESSTHAN" else "(", tag))
        elif (kind in _CLOSE or kind == "MORETHAN") and self.open:
            self.open.pop()


def _logical_lines(items: list[Token | Gap]) -> tuple[Gap | None, list[tuple[Logical, Gap | None]]]:
    """The leading gap, and each logical line with the gap that ends it,
    splitting where the layout postlexer sees a line break outside brackets."""
    lead = None
    rest = items
    if items and isinstance(items[0], Gap):
        lead, rest = items[0], items[1:]
    lines: list[tuple[Logical, Gap | None]] = []
    current = Logical()
    brackets = _Brackets()
    for item in rest:
        if isinstance(item, Gap):
            if brackets.open:
                current.items.append(item)
                continue
            lines.append((current, item))
            current = Logical()
            continue
        brackets.step(item.type)
        current.items.append(item)
    if current.items:
        lines.append((current, None))
    return lead, lines


def _assignment(tokens: list[Token]) -> Token | None:
    """The `=` of an assignment (`x = ...`, `output y = ...`, `(a, b) =
    ...`, `a.b = c.d`), spaced; every other `=` is a keyword's or a default's."""
    kinds = []
    for tok in tokens:
        if tok.type == "EQUAL":
            shape = " ".join(kinds)
            if shape in ("NAME", "OUTPUT NAME") or (shape.startswith("NAME DOT NAME") and set(kinds) <= {"NAME", "DOT"}):
                return tok
            if kinds and kinds[0] == "LPAR" and kinds[-1] == "RPAR" and set(kinds) <= {"LPAR", "RPAR", "NAME", "COMMA"}:
                return tok
            return None
        kinds.append(tok.type)
    return None


class _Writer:
    """Lays out one logical line into output lines."""

    def __init__(self, unary: set[tuple[int, int]], source: list[str]):
        self.unary = unary
        self.source = source  # the text's lines
        self.verbatim = False  # between `# fmt: off` and `# fmt: on`

    def space(self, prev: Token | None, tok: Token, assign: Token | None, header: bool) -> str:
        if prev is None:
            return ""
        p, t = prev.type, tok.type
        if p in _TIGHT_AFTER:
            return ""
        if p == "MINUS" and (prev.line, prev.column) in self.unary:
            return ""
        if (p == "EQUAL" and prev is not assign) or (t == "EQUAL" and tok is not assign):
            return ""
        if t in _TIGHT_BEFORE:
            return ""
        if t == "_SEMI":
            return " " if p == "LESSTHAN" else ""
        if t == "LPAR" and (p in _FUNCTIONS or (header and p in ("NAME", "RPAR"))):
            return ""
        return " "

    def lines(self, logical: Logical, indent: int, out: list[str], trailing: str | None) -> None:
        """Append the output lines of `logical`, its first at `indent`, the
        last with the `trailing` comment of the gap after it."""
        tokens = [item for item in logical.items if isinstance(item, Token)]
        assign = _assignment(tokens)
        header = bool(tokens) and tokens[0].type in ("PUBLIC", "BLOCK", "MODEL")
        brackets = _Brackets()  # each open bracket with the output line that opened it
        text = ""
        prev: Token | None = None
        line_no = 0
        start = len(out)
        arrows: list[tuple[int, Token, Token | None]] = []  # position in text, the arrow, the token before
        written: list[Token] = []  # the tokens of the output line
        # `public \` above `block`: joined, the comment above `public` would
        # become the block's docstring (builder.py reads the lines right
        # above the `block`), so that line stays as written.
        as_written = self.verbatim or (header and len(tokens) > 1 and tokens[0].type == "PUBLIC" and tokens[1].line != tokens[0].line)

        def finish(comment: str | None) -> None:
            if as_written or _pragma(comment) == "skip":
                out.extend(line.rstrip(" \t") for line in self.source[written[0].line - 1 : written[-1].end_line])
            else:
                out.append(text.rstrip() + (f"  {comment}" if comment else ""))

        for item in logical.items:
            if isinstance(item, Gap):
                finish(item.trailing)
                inner = indent + INDENT * len({n for _, n in brackets.open})
                blank = 0
                for line in item.lines:
                    if line is None:
                        blank += 1
                        continue
                    out.extend([""] * min(blank, 1))
                    blank = 0
                    pragma = _pragma(line[1])
                    out.append(line[2] if self.verbatim and pragma != "on" else " " * inner + line[1])
                    if pragma in ("off", "on"):
                        self.verbatim = pragma == "off"
                out.extend([""] * min(blank, 1))
                text, prev, written = "", None, []
                as_written = self.verbatim
                line_no += 1
                continue
            tok = item
            kind = tok.type
            closing = kind in _CLOSE or (kind == "MORETHAN" and brackets.open and brackets.open[-1][0] == "<" and brackets.test is None)
            if prev is None:
                # A closing bracket goes back to the line that opened it,
                # past the brackets that line opened too (`> >`).
                shut = brackets.open[-1][1] if closing else None
                open_lines = {n for _, n in brackets.open if n != shut}
                here = indent + INDENT * len(open_lines)
                if kind == "VBAR" and open_lines:
                    here -= 2
                text = " " * here
            else:
                text += self.space(prev, tok, assign, header)
            if kind == "_ARROW" and not brackets.open:
                arrows.append((len(text), tok, prev))
            text += str(tok)
            written.append(tok)
            brackets.step(kind, line_no)
            prev = tok
        finish(trailing)
        if line_no == 0 and arrows and not (as_written or _pragma(trailing) == "skip"):
            broken = any(b is not None and a.line != b.end_line for _, a, b in arrows)
            if broken or len(text) > LINE_LENGTH:
                out[start:] = _break_chain(text, [a for a, _, _ in arrows], indent, trailing)


def _break_chain(text: str, at: list[int], indent: int, trailing: str | None) -> list[str]:
    """`text` broken before each `->` (at offsets `at`), with continuations,
    the `trailing` comment after the last line."""
    parts = [text[i:j].rstrip() for i, j in zip([0, *at], [*at, len(text)])]
    lines = [parts[0] + " \\"]
    for part in parts[1:-1]:
        lines.append(" " * (indent + INDENT) + part.strip() + " \\")
    lines.append(" " * (indent + INDENT) + parts[-1].strip() + (f"  {trailing}" if trailing else ""))
    return lines


def _pragma(comment: str | None) -> str | None:
    """"off", "on" or "skip" for a `# fmt: off`, `# fmt: on` or `# fmt: skip` comment."""
    if comment is None:
        return None
    words = comment[1:].strip()
    return {"fmt: off": "off", "fmt: on": "on", "fmt: skip": "skip"}.get(words)


def _layout(text: str) -> str:
    items, unary = _lex(text)
    source = text.split("\n")
    lead, logical_lines = _logical_lines(items)
    out: list[str] = []
    writer = _Writer(unary, source)
    levels = [0]

    def gap(g: Gap, here: int, after: int | None) -> None:
        """The comments and blank lines of `g`, between a line at canonical
        indentation `here` and one at `after` (None: the end of the file)."""
        following = 0 if after is None else after
        most = 2 if following == 0 else 1
        blank = 0
        for line in g.lines:
            if line is None:
                blank += 1
                continue
            if out:
                out.extend([""] * min(blank, most))
            blank = 0
            column, comment, written = line
            pragma = _pragma(comment)
            if writer.verbatim and pragma != "on":
                out.append(written)
            else:
                indent = here if following < here and column > g.indent else following
                out.append(" " * indent + comment)
            if pragma in ("off", "on"):
                writer.verbatim = pragma == "off"
        if after is not None and out:
            out.extend([""] * min(blank, most))

    if lead is not None:
        levels_after = _levels(levels, lead.indent)
        gap(lead, 0, INDENT * (len(levels_after) - 1) if logical_lines else None)
    for number, (logical, end) in enumerate(logical_lines):
        here = INDENT * (len(levels) - 1)
        writer.lines(logical, here, out, end.trailing if end is not None else None)
        if end is None:
            break
        levels = _levels(levels, end.indent)
        last = number == len(logical_lines) - 1
        gap(end, here, None if last else INDENT * (len(levels) - 1))
    while out and not out[-1].strip():
        out.pop()
    return "".join(line.rstrip() + "\n" for line in out)


def _levels(levels: list[int], indent: int) -> list[int]:
    """The open indentation levels after a line break to `indent`, as the
    layout postlexer keeps them (the text parses, so they match)."""
    levels = list(levels)
    if indent > levels[-1]:
        levels.append(indent)
    while indent < levels[-1]:
        levels.pop()
    return levels


@deep
def format_text(text: str, file: str = "<stdin>", limits: Limits = DEFAULT) -> str:
    """`text`, a .lego spec, in the canonical layout (the module's docstring).

    Args:
        text: the spec (a byte order mark is dropped, as `parse` drops it;
            "\\r\\n" line ends become "\\n").
        file: the name a syntax error's diagnostic gives.
        limits: the size limits the text is parsed under (core.limits).

    Returns:
        the formatted text: empty, or ending in exactly one newline.

    Raises:
        SpecError: the text does not parse (the diagnostic `legoc check`
            prints first), or crosses a size limit; nothing is formatted.
        FormatError: the result would not mean what the text means, or
            would change when formatted again (a bug in legoc).
    """
    text = text.replace("\r\n", "\n")
    before = parse(text, file, limits)
    if text.startswith("\ufeff"):  # as parse drops it
        text = text[1:]
    if not text.endswith("\n"):
        text += "\n"
    try:
        result = _layout(text)
    except (UnexpectedInput, IndentError) as exc:
        raise FormatError(f"{file}: the text parses, but its tokens do not: {exc!r}") from None
    if result == text:  # already in the layout: the same tree, and a fixed point
        return result
    try:
        after = parse(result, file, limits)
    except SpecError as exc:
        raise FormatError(f"{file}: the formatted text does not parse: {exc}") from None
    if after != before:
        raise FormatError(f"{file}: the formatted text has another syntax tree")
    if _layout(result) != result:
        raise FormatError(f"{file}: formatting again changes the text")
    return result
