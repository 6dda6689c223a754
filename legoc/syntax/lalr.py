"""Run legoc's LALR(1) parse tables without importing Lark.

Lark analyses legoc/grammar/legoc.lark into parse tables (legoc/syntax/tables.py),
and `python -m legoc.tools.prebuild` writes them to legoc/syntax/_parse_tables.py as
plain literals. This module is the other half of that standalone parser: a
contextual lexer and a shift-reduce loop over those tables. Importing Lark
takes about 40 ms, more than the rest of a lint of ResNet-50
(docs/performance.md); importing this takes well under one.

It builds the tree Lark's LALR parser builds with the contextual lexer,
`propagate_positions=True` and `maybe_placeholders=True` (same nodes,
children and positions) and fails where Lark fails, with the same token,
position and expected terminals. tests/test_lalr.py holds it to that on
every example, corpus and hostile file, on their mutants and on text drawn
from the grammar.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping


class Token(str):
    """A terminal as it appears in the text: its value, its type (a grammar
    terminal name such as "NAME") and where it starts and ends (1-based
    line and column; the end is the column just after its last character).
    """

    __slots__ = ("type", "line", "column", "end_line", "end_column")

    def __new__(cls, type: str, value: str, line: int | None = None, column: int | None = None,
                end_line: int | None = None, end_column: int | None = None) -> Token:  # fmt: skip
        self = super().__new__(cls, value)
        self.type, self.line, self.column, self.end_line, self.end_column = type, line, column, end_line, end_column
        return self

    @classmethod
    def borrow(cls, type: str, value: str, other: Token) -> Token:
        """A token of another type and value at `other`'s position."""
        return cls(type, value, other.line, other.column, other.end_line, other.end_column)

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {str(self)!r})"


class Tree:
    """A node of the parse tree: the rule (or alias) that made it, its
    children (trees, tokens, and None for an absent `[optional]` part), and
    the span of the text it covers.

    Positions follow Lark's `propagate_positions`: a node spans its rule's
    first to last token, inlined and filtered tokens (brackets) included.
    `line` etc. are None for a node that covers no token. The container
    span (`c_line` ...) is that of the last rule to return the node: wider
    than its own span when a `?rule` passes it through, as `( expr )` does.
    """

    __slots__ = ("data", "children", "line", "column", "end_line", "end_column",
                 "c_line", "c_column", "c_end_line", "c_end_column")  # fmt: skip

    def __init__(self, data: str, children: list):
        self.data = data
        self.children = children
        self.line = self.column = self.end_line = self.end_column = None
        self.c_line = self.c_column = self.c_end_line = self.c_end_column = None

    def __repr__(self) -> str:
        return f"Tree({self.data!r}, {self.children!r})"


class UnexpectedInput(Exception):
    """A syntax error at 1-based `line` and `column`."""

    def __init__(self, line: int, column: int):
        super().__init__(line, column)
        self.line, self.column = line, column


class UnexpectedCharacters(UnexpectedInput):
    """No terminal allowed here matches the text at `char`."""

    def __init__(self, line: int, column: int, char: str, allowed: frozenset[str]):
        super().__init__(line, column)
        self.char, self.allowed = char, allowed


class UnexpectedToken(UnexpectedInput):
    """`token` is not one of the terminals the grammar allows here
    (`expected`, terminal names)."""

    def __init__(self, token: Token, expected: frozenset[str] | set[str]):
        super().__init__(token.line, token.column)
        self.token, self.expected = token, expected


class _Scanner:
    """One state's terminals: the alternation of their patterns in the order
    Lark tries them, compiled when first used (most of the states of a
    grammar never meet a given file), and the keywords a terminal's match
    becomes when its whole text is one (Lark's "unless" callbacks)."""

    __slots__ = ("pattern", "keywords", "allowed", "subset", "_regex")

    def __init__(self, pattern: str, keywords: Mapping[str, Mapping[str, str]], allowed: frozenset[str],
                 subset: frozenset[str] | None):  # fmt: skip
        self.pattern, self.keywords, self.allowed, self.subset = pattern, keywords, allowed, subset
        self._regex: re.Pattern[str] | None = None

    def match(self, text: str, pos: int) -> re.Match[str] | None:
        if self._regex is None:
            self._regex = re.compile(self.pattern)
        return self._regex.match(text, pos)


def _never(token: Token) -> bool:
    return False


class Parser:
    """The parser of one set of tables (the names legoc/syntax/_parse_tables.py
    defines: START, END, ACTIONS, RULES, SCANNERS, STATE_SCANNER,
    ROOT_SCANNER, IGNORE, NEWLINES; see legoc/syntax/tables.py)."""

    def __init__(self, tables: Mapping[str, object]):
        self._start: int = tables["START"]
        self._end: int = tables["END"]
        self._actions: tuple[dict[str, int], ...] = tables["ACTIONS"]
        self._rules: tuple[tuple, ...] = tables["RULES"]
        self._scanners = tuple(
            _Scanner(pattern, keywords, frozenset(allowed), None if subset is None else frozenset(subset))
            for pattern, keywords, allowed, subset in tables["SCANNERS"]
        )
        self._state_scanner: tuple[int, ...] = tables["STATE_SCANNER"]
        self._root = self._scanners[tables["ROOT_SCANNER"]]
        self._ignore = frozenset(tables["IGNORE"])
        self._newlines = frozenset(tables["NEWLINES"])

    @property
    def start_state(self) -> int:
        """The state parsing starts in."""
        return self._start

    def goto(self, state: int, symbol: str) -> int:
        """The state after `symbol` (a rule's name) is reduced in `state`."""
        return self._actions[state][symbol]

    def lex(self, text: str, line: int = 1, pos: int = 0) -> Iterator[Token]:
        """The tokens of `text` from offset `pos` with every terminal allowed
        everywhere (Lark's `Lark.lex`, not contextual: keywords are never
        names); `text` starts on `line`."""
        root = self._root
        return self._tokens(text, lambda: root, pos, line)

    def parse(self, text: str, postlex: Callable[[Iterable[Token]], Iterable[Token]]) -> Tree:
        """The parse tree of `text`, its tokens passed through `postlex`
        (a generator from tokens to tokens, as Lark's postlexer's `process`).

        Raises:
            UnexpectedCharacters: no terminal allowed at a position matches.
            UnexpectedToken: a token the grammar does not allow there.
            whatever `postlex` raises.
        """
        kind, tree = self.parse_part(text, postlex, 1, [self._start], [], [], _never, True)
        assert kind == "tree"
        return tree

    def parse_part(self, text: str, postlex: Callable[[Iterable[Token]], Iterable[Token]], line: int, states: list[int],
                   values: list, stops: list[int], boundary: Callable[[Token], bool], final: bool, pos: int = 0,
                   watch: Callable[[Token, list[int], list], None] | None = None):  # fmt: skip
        """Parse part of a file: `text` starts on `line`, the parser in
        `states` with `values` on its stack (both lists are used in place),
        as `parse` would be there.

        `stops` are lines (ascending) where the part may end: at the first
        token on or after each, `boundary(token)` says whether it may; if
        so and the parser would shift that token (after its reductions),
        the part ends there, and this returns ("stop", that line). Where
        `boundary` says no, parsing goes on to the next stop. With no stop
        left, a part that is not `final` (its text is cut short after its
        last stop) returns ("more", None): the caller parses it again with
        more text; a `final` one runs to the end and returns ("tree", the
        tree of the whole, as `parse`).

        Parsing starts at offset `pos` of `text` (on `line`, which starts at
        offset 0). `watch`, if given, sees each "_NL" token and the parser's
        stacks before the token is parsed.

        Raises: as `parse`, the first syntax error, as parsing the whole
        file would raise it (when `states` is where that parse would be).
        """
        actions, rules, build, accept = self._actions, self._rules, _build, self._end
        scanners, state_scanner = self._scanners, self._state_scanner
        pending = iter(stops)
        stop = next(pending, None)
        for token in _ended(postlex(self._tokens(text, lambda: scanners[state_scanner[states[-1]]], pos, line))):
            if watch is not None and token.type == "_NL":
                watch(token, states, values)
            ending = False
            if stop is not None and token.line is not None and token.line >= stop:
                ending = boundary(token)
                while stop is not None and token.line >= stop:
                    stop = next(pending, None)
                if not ending and stop is None and not final:
                    return "more", None
            while True:
                row = actions[states[-1]]
                action = row.get(token.type)
                if action is None:
                    raise UnexpectedToken(token, {name for name in row if name.isupper()})
                if action >= 0:
                    if ending:
                        return "stop", token.line
                    states.append(action)
                    values.append(token)
                    break
                rule = rules[~action]
                size = rule[1]
                if size:
                    children = values[-size:]
                    del states[-size:], values[-size:]
                else:
                    children = []
                values.append(build(rule, children))
                states.append(actions[states[-1]][rule[0]])
                if states[-1] == accept:
                    return "tree", values[-1]
        raise AssertionError("the tables never shift the end of the text")

    def _tokens(self, text: str, scanner_now: Callable[[], _Scanner], pos: int = 0, line: int = 1,
                line_start: int = 0) -> Iterator[Token]:  # fmt: skip
        """Lex `text` with the scanner `scanner_now()` gives for the parser's
        state at each token (the contextual lexer), from offset `pos`, on
        `line`, which starts at offset `line_start`."""
        ignore, newlines, root = self._ignore, self._newlines, self._root
        end = len(text)
        while pos < end:
            scanner = scanner_now()
            if scanner.subset is None:
                found = scanner.match(text, pos)
            else:
                # The root scanner tries the same terminals in the same order,
                # and more: where its match is one of this scanner's
                # terminals, every terminal this one would try first failed.
                found = root.match(text, pos)
                if found is None or found.lastgroup not in scanner.subset:
                    found = scanner.match(text, pos)
            if found is None:
                raise self._unexpected(text, pos, line, line_start, scanner)
            value, kind = found.group(), found.lastgroup
            start_line, column = line, pos - line_start + 1
            if kind in newlines:
                breaks = value.count("\n")
                if breaks:
                    line += breaks
                    line_start = pos + value.rindex("\n") + 1
            pos += len(value)
            if kind in ignore:
                continue
            keywords = scanner.keywords.get(kind)
            if keywords is not None:
                kind = keywords.get(value, kind)
            yield Token(kind, value, start_line, column, line, pos - line_start + 1)

    def _unexpected(self, text: str, pos: int, line: int, line_start: int, scanner: _Scanner) -> UnexpectedInput:
        """The error for text no terminal of `scanner` matches: as Lark's
        contextual lexer, a token the root scanner finds there is an
        unexpected token (expected: what this state's scanner knows), else
        an unexpected character."""
        if scanner is not self._root:
            root = self._root
            try:
                token = next(self._tokens(text, lambda: root, pos, line, line_start), None)
            except UnexpectedCharacters:
                token = None
            if token is not None:
                return UnexpectedToken(token, scanner.allowed)
        return UnexpectedCharacters(line, pos - line_start + 1, text[pos], scanner.allowed)


def _ended(tokens: Iterable[Token]) -> Iterator[Token]:
    """The tokens, then "$END" at the last one (Lark's end token)."""
    token = None
    for token in tokens:
        yield token
    yield Token.borrow("$END", "", token) if token is not None else Token("$END", "", 1, 1)


def _build(rule: tuple, children: list):
    """The tree node (or passed-through child) a reduction by `rule` makes
    of `children`, the values its right-hand side matched, with positions.

    `rule` is (origin, size, tree name, expand1, keep, trailing): `keep`
    lists (index, inline, nones before) for each child that stays (None:
    all stay as they are); an inline child is a `_rule`'s tree whose
    children take its place; `expand1` returns a lone child itself (`?rule`).
    """
    _, _, name, expand1, keep, trailing = rule
    if keep is None:
        kept = children
    else:
        kept = []
        for index, inline, nones in keep:
            if nones:
                kept += [None] * nones
            if inline:
                if kept:
                    kept += children[index].children
                else:
                    # The first part is an inlined `_rule`: take over its
                    # list, as Lark does, rather than copy it. A left-
                    # recursive repetition (`line+`, `arg*`) reduces once an
                    # item, and copying the whole list each time made a long
                    # one quadratic. The inlined tree is dropped here, so the
                    # list still belongs to one tree.
                    kept = children[index].children
            else:
                kept.append(children[index])
        if trailing:
            kept += [None] * trailing
    node = kept[0] if expand1 and len(kept) == 1 else Tree(name, kept)
    if type(node) is not Tree:
        return node
    first = _positioned(children)
    if first is None:
        return node  # no token under it: no position
    last = _positioned(reversed(children))
    if type(first) is Token:
        start = first.line, first.column
    else:
        start = first.c_line, first.c_column
    if type(last) is Token:
        finish = last.end_line, last.end_column
    else:
        finish = last.c_end_line, last.c_end_column
    if node.line is None:
        node.line, node.column = start
        node.end_line, node.end_column = finish
    node.c_line, node.c_column = start
    node.c_end_line, node.c_end_column = finish
    return node


def _positioned(children: Iterable) -> Token | Tree | None:
    """The first of `children` that covers text: a token, or a tree with a
    position (not None for an absent part, nor a tree of no tokens)."""
    for child in children:
        if type(child) is Token or (type(child) is Tree and child.c_line is not None):
            return child
    return None
