"""legoc's standalone parser (legoc/syntax/lalr.py running legoc/syntax/_parse_tables.py)
against Lark's own parser of legoc/grammar/legoc.lark: the same trees, positions,
tokens and errors, on every shipped file, on their mutants and on text
drawn from the grammar; and the tables are those of the grammar."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import lark
import pytest
from hypothesis import HealthCheck, given, settings

from legoc.syntax import _parse_tables
from legoc.syntax import lalr
from legoc.syntax.automaton import lalr_parser
from legoc.syntax.indentation import IndentError, Layout
from legoc.syntax.tables import build_lark, tables

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = settings(max_examples=int(os.environ.get("LEGOC_LALR_EXAMPLES", "200")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])  # fmt: skip


def _spec_texts() -> list[tuple[str, str]]:
    root = ROOT / "tests"
    paths = sorted((ROOT / "examples").glob("*.lego")) + sorted((root / "corpus").rglob("*.lego"))
    paths += sorted((root / "hostile").glob("*.lego")) + [ROOT / "legoc" / "grammar" / "prelude.lego"]
    assert len(paths) > 100
    return [(p.name, p.read_bytes().decode("utf-8", errors="replace")) for p in paths]


class _LarkLayout(Layout):
    """legoc's postlexer, making Lark's tokens for Lark's parser."""

    def borrow(self, kind, value, tok):
        return lark.Token.new_borrow_pos(kind, value, tok)

    def at_end(self, line, column):
        return lark.Token("_DEDENT", "", 0, line, column)


@functools.lru_cache(maxsize=None)
def _lark() -> lark.Lark:
    return build_lark(_LarkLayout())


def _shape(root) -> object:
    """A tree (Lark's or legoc.syntax.lalr's) as a flat tuple, in preorder: each
    node with its span, container span and number of children, each token
    with its type, text and span. Flat, and built without recursion: hostile
    files nest deeper than Python's stack, and comparing nested tuples
    recurses (a mutant with 5,000 `-` once failed in `==`)."""
    def node(item):
        if item is None:
            return None
        if isinstance(item, (lark.Token, lalr.Token)):
            return ("token", item.type, str(item), item.line, item.column, item.end_line, item.end_column)
        if isinstance(item, lark.Tree):
            meta = item.meta
            spans = [getattr(meta, name, None) for name in (
                "line", "column", "end_line", "end_column",
                "container_line", "container_column", "container_end_line", "container_end_column")]  # fmt: skip
        else:
            spans = [item.line, item.column, item.end_line, item.end_column,
                     item.c_line, item.c_column, item.c_end_line, item.c_end_column]  # fmt: skip
        return ("tree", str(item.data), *spans, len(item.children))

    out: list = []
    stack = [root]
    while stack:
        item = stack.pop()
        shaped = node(item)
        out.append(shaped)
        if shaped is not None and shaped[0] == "tree":
            stack.extend(reversed(item.children))
    return tuple(out)


def _error(exc: Exception) -> tuple:
    """What a syntax error says, from Lark's exceptions or legoc.syntax.lalr's."""
    if isinstance(exc, IndentError):
        return ("indentation", exc.line, exc.column)
    if isinstance(exc, (lark.exceptions.UnexpectedToken, lalr.UnexpectedToken)):
        return ("token", _shape(exc.token), exc.line, exc.column, sorted(exc.expected))
    if isinstance(exc, (lark.exceptions.UnexpectedCharacters, lalr.UnexpectedCharacters)):
        return ("character", exc.char, exc.line, exc.column, sorted(exc.allowed))
    raise exc


def lark_outcome(text: str) -> object:
    try:
        return _shape(_lark().parse(text))
    except (lark.exceptions.UnexpectedInput, IndentError) as exc:
        return _error(exc)


def our_outcome(text: str, run: lalr.Parser | None = None) -> object:
    try:
        return _shape((run or lalr_parser()).parse(text, Layout().process))
    except (lalr.UnexpectedInput, IndentError) as exc:
        return _error(exc)


def _tokens(stream) -> list:
    out = []
    try:
        for token in stream:
            out.append(_shape(token))
    except (lark.exceptions.UnexpectedInput, lalr.UnexpectedInput, IndentError) as exc:
        out.append(_error(exc))
    return out


def assert_parses_like_lark(text: str) -> None:
    """Both parsers agree on `text` as `parser.parse` passes it on (ending
    in a line break, which the postlexer relies on)."""
    text = text if text.endswith("\n") else text + "\n"
    assert our_outcome(text) == lark_outcome(text)
    # Lark.lex: every terminal everywhere, through the postlexer (legoc uses it to find unclosed brackets).
    assert _tokens(Layout().process(lalr_parser().lex(text))) == _tokens(_lark().lex(text))


SPEC_TEXTS = _spec_texts()


@pytest.mark.parametrize("name, text", SPEC_TEXTS, ids=[name for name, _ in SPEC_TEXTS])
def test_every_shipped_file_parses_as_with_lark(name, text):
    assert_parses_like_lark(text)


@pytest.mark.parametrize("text", [
    "", "\n", "block", "block b(:\n", "model m():\n    conv 3\n  relu\n", "model m():\n    conv 3 @\n",
    "model m():\n    res add < conv 3 > shortcut\n", "model m():\n    x = (a, b -> cat\n",
    "model m():\n    conv \"open\n", "block add():\n    relu\n", "model m():\n    res < relu >\n",
    "model m():\n    input [3, H, W]\n    add < relu | relu > shortcut\n", "\ufeffmodel m():\n    relu\n",
    "model m():\n\tconv 3\n        relu\n", "model m():\n    conv 3 \\\n      4\n    relu\n",
    "model m():\n    conv (1 + 2) * 3 kernel_size=-(4)\n", "model m():\n    linear 3 =\n",
    "model m():\n    conv 3 | relu\n", "model m():\n    conv 3 -> relu\n", "model m(): relu\n",
])  # fmt: skip
def test_edge_cases_parse_as_with_lark(text):
    assert_parses_like_lark(text)


def test_trees_deeper_than_the_stack_compare():
    """5,000 unary minuses (a mutant once failed with a RecursionError in
    the comparison of the two parsers' trees)."""
    assert_parses_like_lark("model M():\n    input [3]\n    linear " + "- " * 5000 + "1\n")


@SETTINGS
@given(text=__import__("test_fuzz").grammar_specs())
def test_text_from_the_grammar_parses_as_with_lark(text):
    assert_parses_like_lark(text)


@SETTINGS
@given(data=__import__("test_fuzz").mutants())
def test_mutants_parse_as_with_lark(data):
    assert_parses_like_lark(data.decode("utf-8", errors="replace"))


def test_the_shipped_tables_are_those_of_the_grammar():
    """Byte for byte what `python -m legoc.tools.prebuild` writes now: fails after
    a grammar change until it is run (until then legoc analyses the grammar
    with Lark in every process: slow, not wrong)."""
    from legoc.tools import prebuild

    assert prebuild.tables_source() == Path(_parse_tables.__file__).read_text("utf-8"), "run `python -m legoc.tools.prebuild`"


def test_the_tables_do_not_depend_on_hash_seeds(tmp_path):
    """Lark numbers states by iterating over sets; the tables renumber them,
    so a regenerated file changes only when the grammar does. (Run outside
    the repository, so that the installed legoc is the one imported.)"""
    code = "import hashlib; from legoc.tools.prebuild import tables_source; print(hashlib.sha256(tables_source().encode()).hexdigest())"
    digests = {
        subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, cwd=tmp_path,
                       capture_output=True, text=True, check=True).stdout  # fmt: skip
        for seed in ("0", "1", "4242")
    }
    assert len(digests) == 1


def test_stale_tables_fall_back_to_the_grammar(monkeypatch):
    """Tables made from another grammar are not used: legoc analyses the
    grammar with Lark instead, and parses the same."""
    monkeypatch.setattr(_parse_tables, "GRAMMAR", "start: NAME")
    lalr_parser.cache_clear()
    try:
        fresh = lalr_parser()
        assert fresh._actions == tables()["ACTIONS"]
        for _, text in SPEC_TEXTS[:20]:
            assert our_outcome(text, fresh) == lark_outcome(text)
    finally:
        lalr_parser.cache_clear()


def test_checking_and_building_do_not_import_lark(tmp_path):
    """The point of the standalone parser: `import lark` is about 40 ms."""
    code = (
        "import sys\n"
        "from legoc import cli\n"
        "for argv in (['check', sys.argv[1]], [sys.argv[2], '-o', 'unet.py']):\n"
        "    assert cli.main(argv) == 0, argv\n"
        "assert 'lark' not in sys.modules, sorted(m for m in sys.modules if m.startswith('lark'))\n"
    )
    examples = ROOT / "examples"
    # Outside the repository, so that the installed legoc is the one imported.
    subprocess.run([sys.executable, "-c", code, str(examples / "resnet50.lego"), str(examples / "unet.lego")],
                   cwd=tmp_path, check=True)  # fmt: skip


def test_prebuild_writes_the_shipped_templates(tmp_path):
    """`python -m legoc.tools.prebuild` compiles, byte for byte, the shipped templates."""
    from legoc.codegen import _templates
    from legoc.tools import prebuild

    prebuild.write_templates(tmp_path / "templates")
    shipped = {p.name: p.read_text() for p in Path(_templates.__file__).parent.glob("*.py")}
    assert {p.name: p.read_text() for p in (tmp_path / "templates").glob("*.py")} == shipped


def _left_recursive_rules() -> list[tuple]:
    """The rules whose first kept part is an inlined `_rule` with no
    placeholder before it: Lark's repetitions (`line+`, `arg*`, ...) are
    such rules, reduced once per item."""
    return [rule for rule in _parse_tables.RULES if rule[4] and rule[4][0][1] and rule[4][0][2] == 0]


def test_a_repetition_takes_over_the_list_of_its_first_part():
    """Reducing `_items: _items item` adds to the list the earlier items
    are in instead of copying it (as Lark's own tree builder does): a copy
    at every item made a long repetition quadratic (a 100,000-layer model
    parsed in 19 times the time of 10,000 layers, not 10)."""
    rules = _left_recursive_rules()
    assert {rule[0].rstrip("0123456789") for rule in rules} >= {"__definition_plus_", "__call_star_", "__start_star_"}
    for rule in rules:
        _, size, name, _, keep, _ = rule
        token = lambda i: lalr.Token("NAME", f"t{i}", 1, 2 * i + 1, 1, 2 * i + 2)  # noqa: E731
        children = [lalr.Tree("_part", [token(i), token(i + 100)]) for i in range(size)]
        first = children[keep[0][0]].children
        before = list(first)
        node = lalr._build(rule, children)
        assert node.children is first, rule
        assert node.children[: len(before)] == before, rule


def _long_spec(n: int) -> str:
    """Every repetition of the grammar, `n` items long: definitions, lines,
    parameters, arguments, `;`-separated layers, stages, branches, shape
    sizes, inputs."""
    params = ", ".join(f"p{i}=1" for i in range(n))
    out = [f"block b({params}):", "    " + " ".join(["conv 8"] + [f"k{i}=1" for i in range(n)])]
    out += ["    relu"] * n
    out += ["model m(" + ", ".join(f"q{i}" for i in range(3)) + ") (" + ", ".join(f"x{i}" for i in range(n)) + "):"]
    out += ["    input [" + ", ".join(["8"] * n) + "]", "    " + "; ".join(["relu"] * n) + ";;"]
    out += ["    y = x0 -> " + " -> ".join(["relu"] * n), "    add < " + " | ".join(["relu"] * n) + " >"]
    out += [f"block c{i}():\n    relu" for i in range(n)]
    return "\n".join(out) + "\n"


def test_long_repetitions_parse_as_with_lark():
    """Every repetition of the grammar, thousands of items long, gives
    Lark's tree (the lists taken over hold what copies held)."""
    assert_parses_like_lark(_long_spec(3000))
