"""Analyse legoc/grammar/legoc.lark with Lark into the tables legoc.syntax.lalr runs.

Lark does the grammar work: it compiles the EBNF, builds the LALR(1)
automaton and the contextual lexer's per-state terminals, and decides how
each rule shapes the tree. `tables` reads all of that off a parser Lark
has built, into plain literals: `python -m legoc.tools.prebuild` writes them to
legoc/syntax/_parse_tables.py, and legoc.syntax.automaton falls back to calling `tables`
when that file was made from another grammar. Only this module (and the
tests) import Lark.

Lark numbers parser states in an order that varies from run to run; the
tables renumber them breadth-first from the start state, in sorted symbol
order, so that the same grammar always gives the same file.
"""

from __future__ import annotations

from functools import partial

from lark import Lark, Tree
from lark.lexer import BasicLexer, PatternStr
from lark.parse_tree_builder import ChildFilterLALR, ChildFilterLALR_NoPlaceholders, ExpandSingleChild, PropagatePositions
from lark.parsers.lalr_analysis import Shift

from ..core.resources import read_text
from .indentation import Layout

START = "start"


def build_lark(postlex=None) -> Lark:
    """Lark's LALR parser of legoc/grammar/legoc.lark, as legoc parses with it:
    contextual lexer, positions propagated, None for absent `[optional]`
    parts. Tens of milliseconds: Lark analyses the grammar.

    Args:
        postlex: the layout postlexer (by default a new legoc.syntax.indentation.Layout).
    """
    if postlex is None:
        postlex = Layout()
    return Lark(
        read_text("grammar", "legoc.lark"),
        parser="lalr",
        lexer="contextual",
        postlex=postlex,
        propagate_positions=True,
        maybe_placeholders=True,
    )


def tables(parser: Lark | None = None) -> dict[str, object]:
    """The tables of `parser` (by default `build_lark()`) as the names
    legoc/syntax/_parse_tables.py defines:

    - START, END: the start state, and the state reached when the whole
      text has reduced to `start`.
    - ACTIONS: per state, terminal or rule name -> next state (a shift, or
      the goto after a reduction) if >= 0, else ~index of the rule to
      reduce by.
    - RULES: per rule, (origin, size of its right-hand side, tree name,
      expand1, keep, trailing Nones); see legoc.syntax.lalr._build.
    - SCANNERS: (regular expression, {terminal: {keyword: keyword terminal}},
      allowed terminals for error messages, its terminals if they are the
      root scanner's with some left out, else None); STATE_SCANNER: per
      state, the index of its scanner; ROOT_SCANNER: the one of all
      terminals. legoc.syntax.lalr lexes with the root scanner where a state's
      scanner is such a subset and the root's match is one of its terminals
      (then the state's scanner would match the same), which spares
      compiling most states' expressions.
    - IGNORE, NEWLINES: terminals dropped, and those that may hold a line break.
    - GRAMMAR: the grammar's text, to tell whether the tables are current.

    Raises:
        ValueError: Lark built something legoc.syntax.lalr does not run (a newer
            Lark that shapes trees differently, say).
    """
    parser = parser or build_lark()
    frontend = parser.parser
    analysed = frontend.parser.parser
    table = analysed.parse_table
    lexer = frontend.lexer.lexer  # through the postlexer's connector
    start, end = table.start_states[START], table.end_states[START]

    order = [start]  # states, breadth first
    number = {start: 0}
    for state in order:
        for symbol in sorted(table.states[state]):
            action, target = table.states[state][symbol]
            if action is Shift and target not in number:
                number[target] = len(order)
                order.append(target)
    if end not in number:
        number[end] = len(order)
        order.append(end)

    rules: list = []
    rule_number: dict = {}
    actions = []
    for state in order:
        row = {}
        for symbol in sorted(table.states.get(state, {})):
            action, target = table.states[state][symbol]
            if action is Shift:
                row[str(symbol)] = number[target]
            else:
                if target not in rule_number:
                    rule_number[target] = len(rules)
                    rules.append(_rule(target, analysed.callbacks[target]))
                row[str(symbol)] = ~rule_number[target]
        actions.append(row)

    scanners: list = []
    scanner_number: dict = {}

    def scanner(basic: BasicLexer) -> int:
        entry = _scanner(basic)
        if entry not in scanner_number:
            scanner_number[entry] = len(scanners)
            scanners.append(entry)
        return scanner_number[entry]

    state_scanner = tuple(scanner(lexer.lexers[state]) for state in order)
    root = lexer.root_lexer
    root_scanner = scanner(root)
    return {
        "GRAMMAR": read_text("grammar", "legoc.lark"),
        "START": 0,
        "END": number[end],
        "ACTIONS": tuple(actions),
        "RULES": tuple(rules),
        "SCANNERS": tuple(
            (pattern, _dict(keywords), allowed, order if _within(order, scanners[root_scanner][3]) else None)
            for pattern, keywords, allowed, order in scanners
        ),
        "STATE_SCANNER": state_scanner,
        "ROOT_SCANNER": root_scanner,
        "IGNORE": tuple(sorted(map(str, root.ignore_types))),
        "NEWLINES": tuple(sorted(map(str, root.newline_types))),
    }


def _rule(rule, callback) -> tuple:
    """One rule's entry in RULES, read off the callback Lark made for it:
    PropagatePositions(ChildFilter?(ExpandSingleChild?(partial(Tree, name))))."""
    if not isinstance(callback, PropagatePositions) or callback.node_filter is not None:
        raise ValueError(f"{rule}: positions are not propagated as legoc.syntax.lalr does")
    builder = callback.node_builder
    keep, trailing = None, 0
    if isinstance(builder, ChildFilterLALR):
        keep = tuple((index, bool(inline), nones) for index, inline, nones in builder.to_include)
        trailing = builder.append_none
        builder = builder.node_builder
    elif isinstance(builder, ChildFilterLALR_NoPlaceholders):
        keep = tuple((index, bool(inline), 0) for index, inline in builder.to_include)
        builder = builder.node_builder
    expand1 = isinstance(builder, ExpandSingleChild)
    if expand1:
        builder = builder.node_builder
    if not (isinstance(builder, partial) and builder.func is Tree and len(builder.args) == 1 and not builder.keywords):
        raise ValueError(f"{rule}: its tree is built in a way legoc.syntax.lalr does not know")
    return (str(rule.origin.name), len(rule.expansion), str(builder.args[0]), expand1, keep, trailing)


def _scanner(basic: BasicLexer) -> tuple:
    """A lexer's entry in SCANNERS: its compiled alternation (Lark's own
    regular expression, so the same terminal wins), the keyword each of its
    terminals becomes on a whole-text match, and its allowed terminals."""
    scanner = basic.scanner
    if len(scanner._mres) != 1 or basic.g_regex_flags or basic.user_callbacks:
        raise ValueError("a lexer legoc.syntax.lalr does not run (several expressions, flags or callbacks)")
    keywords = []
    for kind, callback in sorted(basic.callback.items()):
        words = {}
        for terminal in callback.scanner.terminals:
            if not isinstance(terminal.pattern, PatternStr) or terminal.pattern.flags:
                raise ValueError(f"keyword {terminal.name} is not a plain string")
            words.setdefault(str(terminal.pattern.value), str(terminal.name))
        keywords.append((str(kind), tuple(sorted(words.items()))))
    allowed = scanner.allowed_types - basic.ignore_types or {"<END-OF-FILE>"}
    order = tuple(str(terminal.name) for terminal in scanner.terminals)
    return str(scanner._mres[0].pattern), tuple(keywords), tuple(sorted(map(str, allowed))), order


def _within(inner: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    """Whether `inner` is `outer` with some terminals left out, the rest in
    the same order."""
    rest = iter(outer)
    return all(name in rest for name in inner)


def _dict(keywords: tuple) -> dict[str, dict[str, str]]:
    return {kind: dict(words) for kind, words in keywords}
