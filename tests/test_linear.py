"""Large inputs, parsed right and in linear time and space (issue 16).

Speed itself is measured by benchmarks/bench.py (the 100,000-layer check
against the 10,000-layer one, and a million comment lines), not by timed
tests: these check what keeps it linear, and that large inputs come out
right."""

from __future__ import annotations

from legoc import lalr
from legoc.limits import DEFAULT
from legoc.parser import _Layout, _parser, _ToSyntax, parse


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
    tree = _parser().parse(text, _Layout().process)
    nodes, stack = [], [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(child for child in node.children if isinstance(child, lalr.Tree))
    assert len(nodes) > 500
    program = _ToSyntax("t.lego", text.split("\n"), DEFAULT).transform(tree)
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
