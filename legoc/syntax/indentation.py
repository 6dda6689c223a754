"""The layout postlexer: indentation and line breaks, as tokens the grammar reads.

The grammar (legoc/grammar/legoc.lark) knows no indentation: `Layout` turns the
lexer's line-break tokens into _INDENT and _DEDENT where the indentation
changes, and a line break inside `< ... >` into `;`; line breaks inside
`( )` and `[ ]` are dropped. The parser (legoc.syntax.parser), its error
recovery and the tables' builder (legoc.syntax.tables, for Lark) all run
text through it.
"""

from __future__ import annotations

from .lalr import Token

_OPEN = {"LPAR", "LSQB"}
_CLOSE = {"RPAR", "RSQB"}


class Layout:
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
        test = None  # in an `if`'s condition, up to its `:` (or `else`), the depth of brackets at the `if`: `<` and `>` compare
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
                    raise IndentError(tok.end_line, indent + 1)
                continue
            if kind == "_IF":
                test = len(brackets)
            elif test is not None and kind in ("COLON", "_ELSE") and len(brackets) == test:
                test = None  # the end of an `if`'s test, or of an `(a if test else b)`'s
            elif test is not None and kind in ("LESSTHAN", "MORETHAN"):
                pass
            elif kind in _OPEN or kind == "LESSTHAN":
                brackets.append("<" if kind == "LESSTHAN" else "(")
            elif (kind in _CLOSE or kind == "MORETHAN") and brackets:
                brackets.pop()
            yield tok
        while len(levels) > 1:
            levels.pop()
            yield self.at_end(last.end_line if last else 1, last.end_column if last else 1)


class IndentError(Exception):
    """A line's indentation matches no enclosing block: its `line`, and the
    `column` just after its indentation (1-based). legoc.syntax.errors
    reports it as LG103."""

    def __init__(self, line: int, column: int):
        super().__init__(line, column)
        self.line, self.column = line, column
