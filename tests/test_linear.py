"""Large inputs, parsed right and in linear time and space (issue 16).

Speed itself is measured by benchmarks/bench.py (the 100,000-layer check
against the 10,000-layer one, and a million comment lines), not by timed
tests: these check what keeps it linear, and that large inputs come out
right."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from legoc.syntax import lalr
from legoc.core.limits import DEFAULT
from legoc.syntax.automaton import lalr_parser
from legoc.syntax.builder import ToSyntax
from legoc.syntax.indentation import Layout
from legoc.syntax.parser import _recover_whole, parse, parse_recovering


def test_a_long_doc_comment_is_read_whole_and_in_order():
    """A definition's doc comment, however long, first line first (it was
    built by inserting each line at the front: 1M comment lines did not
    check in a minute)."""
    lines = [f"#  line {i} " for i in range(200_000)]
    text = "\n".join(["# not this one", "", *lines, "model m():", "    relu", "# nor this", "block b():", "    relu"]) + "\n"
    model, block = parse(text, "t.lego").definitions
    assert model.doc == tuple(f"line {i}" for i in range(200_000))
    assert block.doc == ("nor this",)


def test_converting_the_parse_tree_consumes_it():
    """Each node gives up its children as it is converted, so that a
    subtree is freed once its syntax object is built: the whole parse tree
    and the whole syntax tree are never both in memory (at 100,000 layers
    the parse tree alone is over 100 MiB)."""
    text = "model m():\n    input [8, 32, 32]\n" + "    conv 8 kernel_size=3\n    res add < bn; relu >\n" * 50
    tree = lalr_parser().parse(text, Layout().process)
    nodes, stack = [], [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(child for child in node.children if isinstance(child, lalr.Tree))
    assert len(nodes) > 500
    program = ToSyntax("t.lego", text.split("\n"), DEFAULT).transform(tree)
    assert all(node.children == [] for node in nodes)
    assert program == parse(text, "t.lego")


def test_a_long_model_parses_whole():
    """20,000 layers, every one in place (benchmarks/bench.py checks the
    100,000 that `max-layers` allows)."""
    n = 20_000
    text = "model m():\n    input [8, 32, 32]\n" + "".join("    conv 8 kernel_size=3\n" if i % 2 == 0 else "    relu\n" for i in range(n))
    (model,) = parse(text, "t.lego").definitions
    assert len(model.body) == n + 1
    assert [c.name for c in model.body[1:5]] == ["conv", "relu", "conv", "relu"]
    assert model.body[-1].span.line == n + 2


# Recovery from syntax errors (`legoc check`): linear in the file, whatever
# the number of errors. It parsed the whole file again after each error:
# 1,000 broken definitions took 14 s.


def _broken_blocks(n: int) -> str:
    """`n` definitions, each with two syntax errors (a dangling operator, a
    stray bracket) or an unclosed bracket, then one that is fine."""
    parts = []
    for i in range(n):
        if i % 3 == 2:
            parts.append(f"block b{i}(c):\n    conv c kernel_size=(3\n    relu\n")
        else:
            parts.append(f"block b{i}(c):\n    conv c +\n    relu ]\n    bn\n")
    return "".join(parts) + "model m():\n    input [3, 8, 8]\n    conv 4\n"


def _lexed(monkeypatch, text: str) -> tuple[int, tuple]:
    """The tokens lexed while recovering from the errors of `text`, and
    the diagnostics."""
    count = [0]
    tokens = lalr.Parser._tokens

    def counting(self, *args, **kwargs):
        for token in tokens(self, *args, **kwargs):
            count[0] += 1
            yield token

    monkeypatch.setattr(lalr.Parser, "_tokens", counting)
    _, diags, _ = parse_recovering(text, "t.lego")
    monkeypatch.setattr(lalr.Parser, "_tokens", tokens)
    return count[0], diags


def test_recovering_from_many_errors_is_linear(monkeypatch):
    """Ten times the broken definitions cost ten times the tokens lexed,
    not a hundred (the work, not the time, is counted)."""
    small, few = _lexed(monkeypatch, _broken_blocks(200))
    large, many = _lexed(monkeypatch, _broken_blocks(2_000))
    assert len(few) == 334 and len(many) == 3_334
    size = len(_broken_blocks(2_000)) / len(_broken_blocks(200))
    assert large / small < 1.2 * size, (small, large)


def _broken_model(n: int) -> str:
    """One model with `n` broken lines among good ones."""
    return "model m():\n    input [3, 8, 8]\n" + "".join("    conv 4 +\n    relu\n" if i % 2 else "    bn ]\n\n    # a comment\n    relu\n" for i in range(n))


def test_recovering_from_many_errors_in_one_definition_is_linear(monkeypatch):
    """Errors in one long definition: after each, parsing starts again at
    the line break before it, not at the definition's header."""
    small, few = _lexed(monkeypatch, _broken_model(200))
    large, many = _lexed(monkeypatch, _broken_model(2_000))
    assert (len(few), len(many)) == (200, 2_000)
    assert [d.span.line for d in few[:3]] == [3, 7, 9]
    size = len(_broken_model(2_000)) / len(_broken_model(200))
    assert large / small < 1.2 * size, (small, large)


def test_recovery_reports_each_error_once_where_it_is():
    """The diagnostics of a file of broken definitions: each definition's
    own, at its lines."""
    text = _broken_blocks(6)
    _, diags, broken = parse_recovering(text, "t.lego")
    assert [(d.code, d.span.line) for d in diags] == [
        ("LG101", 2, ), ("LG101", 3), ("LG101", 6), ("LG101", 7), ("LG102", 10), ("LG101", 13), ("LG101", 14),
        ("LG101", 17), ("LG101", 18), ("LG102", 21),
    ]
    assert broken == {f"b{i}" for i in range(6)}


_ROOT = Path(__file__).resolve().parent.parent
_SPECS = [p.read_text(encoding="utf-8", errors="replace") for d in ("tests/corpus", "tests/hostile", "examples") for p in sorted((_ROOT / d).rglob("*.lego"))]
_JUNK = ["(", ")", "[", "]", "<", ">", ":", "=", "\n", "    ", "\t", "model", "block", "x", "1.5", "->", ",", "\\\n", "#",
         "res add", "\ufeff", "\r", "1_", "8", "\nmodel m():\n", "((((((", "<<<<", "k=3 8", "1.0x", "1e999"]  # fmt: skip


def _mutants(count: int, seed: int) -> list[str]:
    """Files of one to four shipped specs, each with up to 30 random edits
    (deterministic: a fixed seed)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        text = "\n".join(rng.sample(_SPECS, rng.randint(1, 4)))
        for _ in range(rng.randint(1, 30)):
            pos = rng.randint(0, len(text))
            kind = rng.random()
            if kind < 0.5:
                text = text[:pos] + rng.choice(_JUNK) + text[pos:]
            elif kind < 0.8:
                text = text[:pos] + text[pos + rng.randint(1, 5) :]
            else:
                lines = text.split("\n")
                lines.insert(rng.randrange(len(lines) + 1), rng.choice(lines))
                text = "\n".join(lines)
        out.append(text)
    return out


@pytest.mark.parametrize(
    ("limits", "seed"), [(DEFAULT, 1), (replace(DEFAULT, max_nesting=3), 2), (replace(DEFAULT, max_layers=30), 3)], ids=["default", "nesting", "layers"]
)
def test_recovery_part_by_part_is_recovery_of_the_whole(limits, seed):
    """Recovering one definition at a time gives what parsing the whole
    file again after each error gives (the program, every diagnostic, the
    broken definitions), on every shipped spec and on broken mixtures of
    them, with tight limits too (LG602 taken out part by part; past
    `max-layers`, the whole-file way)."""
    for text in _SPECS[:: 1 if limits is DEFAULT else 5] + _mutants(150, seed):
        assert parse_recovering(text, "t.lego", limits) == _recover_whole(text, "t.lego", limits), text


_LINES = ["    conv k=3 8", "    relu", "    conv 1e999", "    conv 1.0x", "    bn 99999999999999999999999", "    x = y -> conv k=1 2",
          "    res add <\n        conv k=3 8\n        relu\n    >", "    res add < conv k=3 8; relu >", "    conv (1 +\n        2) k=3 4",
          "    conv 8 \\\n        k=3 4", "    ((((((relu))))))", "    conv 3 +", "    relu ]", "", "    # c", "  relu", "        relu",
          "    conv k=3 8; relu; conv k=1 2", "    repeat 3 conv k=3 8", "    conv 4 kernel_size=3_", "    conv 1_0.0e-5"]  # fmt: skip
_HEADERS = ["model m():", "block b(c):", "block c(x=1e999):", "model n(k=3 8):", "blok q():", "model r():"]


@pytest.mark.parametrize(
    ("limits", "seed"), [(DEFAULT, 4), (replace(DEFAULT, max_nesting=4), 5), (replace(DEFAULT, max_layers=25), 6)], ids=["default", "nesting", "layers"]
)
def test_recovery_of_lines_is_recovery_of_the_whole(limits, seed):
    """As above, on definitions drawn from lines with syntax errors,
    conversion errors (taken out a whole body at a time), nesting and
    layer counts, some spanning lines (brackets, groups, backslashes)."""
    rng = random.Random(seed)
    for _ in range(400):
        text = "\n".join(
            rng.choice(_HEADERS) + "\n" + "\n".join(rng.choice(_LINES) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(1, 5))
        ) + rng.choice(["", "\n"])  # fmt: skip
        assert parse_recovering(text, "t.lego", limits) == _recover_whole(text, "t.lego", limits), text


def test_recovering_from_many_conversion_errors_is_linear(monkeypatch):
    """Errors found converting the tree (here a positional argument after a
    keyword) in one long definition: taken out together, then one parse."""
    def spec(n):
        return "model m():\n    input [3, 8, 8]\n" + "    conv k=3 8\n    relu\n" * n

    small, few = _lexed(monkeypatch, spec(200))
    large, many = _lexed(monkeypatch, spec(2_000))
    assert (len(few), len(many)) == (200, 2_000) and {d.code for d in many} == {"LG104"}
    assert large / small < 1.2 * len(spec(2_000)) / len(spec(200)), (small, large)
