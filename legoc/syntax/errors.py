"""Syntax errors as diagnostics: what the parser met, and what it expected.

A syntax error from the LALR runner (legoc.syntax.lalr) or the layout
postlexer becomes one diagnostic at the offending token: LG101 (an
unexpected character or token, with the terminals that could come there
in a person's words), LG102 (a bracket never closed, which swallows the
lines after it), LG103 (an indentation that matches no enclosing block).
"""

from __future__ import annotations

from ..core.diagnostics import Span, SpecError, error
from .automaton import lalr_parser
from .builder import token_span
from .lalr import Token, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from .indentation import IndentError, Layout

# What a person calls each terminal, for "expected ..." messages.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "TRUE": "`true`",
    "MIN": "`min`",
    "MAX": "`max`",
    "_AS": "`as`",
    "ROUND": "`round`",
    "CEIL": "`ceil`",
    "INT_FN": "`int`",
    "MAKE_DIVISIBLE": "`make_divisible`",
    "SLASH": "`/`",
    "POW": "`**`",
    "BLOCK": "`block`",
    "MODEL": "`model`",
    "ADD": "`add`",
    "CAT": "`cat`",
    "MUL": "`mul`",
    "SUB": "`sub`",
    "DIV": "`div`",
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
    "COMPARE": "a comparison (`==`, `!=`, `<=`, `>=`)",
    "MORETHAN": "`>`",
    "COLON": "`:`",
    "_ELSE": "`else`",
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


def parse_error(exc: IndentError | UnexpectedInput, text: str, file: str, line: int = 1, pos: int = 0,
                 levels: list[int] | None = None) -> SpecError:  # fmt: skip
    """The diagnostic for a syntax error met parsing `text` from offset
    `pos` with indentation `levels` open, `text` starting on `line` of the
    file (the whole file, or a part: parse_recovering)."""
    if isinstance(exc, IndentError):
        span = Span(file, exc.line, 1, exc.line, exc.column)
        return error("LG103", span, "this line's indentation matches no enclosing block")
    if isinstance(exc, UnexpectedToken):
        # A bracket left open on an earlier line swallows the lines after
        # it (line breaks inside ( ) and [ ] are ignored): report the bracket.
        at_end = exc.token.type in ("_DEDENT", "$END")
        unclosed = _unclosed_bracket(text, None if at_end else (exc.line, exc.column), line, pos, levels)
        if unclosed is not None and (at_end or unclosed.line < exc.line):
            return error("LG102", token_span(file, unclosed), f"`{unclosed}` is never closed")
    return _syntax_error(exc, file)


_VALUE_START = {"NAME", "INT", "FLOAT", "STRING", "TRUE", "FALSE", "MIN", "MAX", "ROUND", "CEIL", "INT_FN", "MAKE_DIVISIBLE", "LPAR", "MINUS"}
_FOUND_WORDS = {"_NL": "end of line", "_INDENT": "indentation", "_DEDENT": "end of the indented block", "$END": "end of file"}


def _unclosed_bracket(text: str, before: tuple[int, int] | None = None, line: int = 1, pos: int = 0,
                      levels: list[int] | None = None) -> Token | None:  # fmt: skip
    """The innermost bracket left open at the end of the text (or at the
    position `before`, a (line, column) pair), if any; `text` starts on
    `line`, and is read from offset `pos` with indentation `levels` open."""
    stack: list[Token] = []
    pairs = {"RPAR": "LPAR", "RSQB": "LSQB", "MORETHAN": "LESSTHAN"}
    try:
        for tok in Layout(levels).process(lalr_parser().lex(text, line, pos)):
            if before is not None and (tok.line, tok.column) >= before:
                break
            if tok.type in ("LPAR", "LSQB", "LESSTHAN"):
                stack.append(tok)
            elif tok.type in pairs and stack and stack[-1].type == pairs[tok.type]:
                stack.pop()
    except (UnexpectedInput, IndentError):
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
    words |= {_TERMINAL_WORDS.get(t, f"`{t.lower().lstrip('_')}`") for t in expected}
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
