"""The grammar: what parses, into what, and where syntax errors point."""

import pytest

from legoc.syntax import tree as s
from legoc.core.diagnostics import SpecError
from legoc.syntax.parser import parse

DESIGN_CARD = "res add < conv3x3_bn_act 64; conv3x3_bn 64 > shortcut conv1x1_bn"


def body(text: str) -> tuple:
    program = parse(f"block b():\n    {text}\n", "t.lego")
    return program.definitions[0].body


def test_design_card_line_parses_exactly_as_written():
    (stmt,) = body(DESIGN_CARD)
    assert stmt == s.Residual(
        "add",
        s.Group((s.Call("conv3x3_bn_act", (s.Literal(64),), ()), s.Call("conv3x3_bn", (s.Literal(64),), ()))),
        s.Call("conv1x1_bn", (), ()),
    )


def test_groups_may_span_lines_and_equal_their_one_line_form():
    multi = parse("block b():\n    res add <\n        conv 64\n        relu   # note\n    > shortcut conv1x1_bn\n", "t.lego")
    one = parse("block b():\n    res add < conv 64; relu > shortcut conv1x1_bn\n", "t.lego")
    assert multi == one


def test_semicolons_and_newlines_both_separate_statements():
    assert body("conv 64; relu") == (s.Call("conv", (s.Literal(64),), ()), s.Call("relu", (), ()))


def test_arguments_are_expressions_with_python_precedence():
    (call,) = body("conv (c - 1) * 2 + 1 kernel_size=max(3, k) // 2")
    assert call.args == (
        s.BinOp("+", s.BinOp("*", s.BinOp("-", s.Name("c"), s.Literal(1)), s.Literal(2)), s.Literal(1)),
    )
    assert call.keywords == (
        s.Keyword("kernel_size", s.BinOp("//", s.Func("max", (s.Literal(3), s.Name("k"))), s.Literal(2))),
    )


def test_literals():
    (call,) = body('f 1_000 2.5 1e-6 true false "bilinear"')
    assert [a.value for a in call.args] == [1000, 2.5, 1e-6, True, False, "bilinear"]


def test_parallel_repeat_and_input():
    program = parse("model M(n=2):\n    input [3, H, W]\n    cat < conv 8 | conv 8 kernel_size=1 >\n    repeat n - 1 relu\n", "t.lego")
    d = program.definitions[0]
    assert d.kind == "model" and d.params == (s.Param("n", s.Literal(2)),)
    assert d.body[0] == s.Input((s.Literal(3), s.Name("H"), s.Name("W")))
    assert isinstance(d.body[1], s.Parallel) and len(d.body[1].branches) == 2
    assert d.body[2] == s.Repeat(s.BinOp("-", s.Name("n"), s.Literal(1)), s.Call("relu", (), ()))


def test_doc_comment_above_a_definition_is_kept():
    program = parse("# First line.\n# Second line.\nblock b():\n    relu\n", "t.lego")
    assert program.definitions[0].doc == ("First line.", "Second line.")


@pytest.mark.parametrize(
    "text, line, column, message",
    [
        ("block b(:\n    relu\n", 1, 9, "unexpected `:`"),
        ("block b():\n    conv 64 stride=\n", 2, 20, "unexpected end of line; expected a value"),
        ("block b():\n    conv 3\n  relu\n", 3, 1, "indentation matches no enclosing block"),
        ("block b():\n    res add < conv 3\n", 2, 13, "`<` is never closed"),
        ("block b():\n    conv 3 $\n", 2, 12, "unexpected character `$`"),
        ("block b():\n    conv stride=2 64\n", 2, 19, "a positional argument cannot follow a keyword argument"),
        ("block b():\nrelu\n", 2, 1, "unexpected `relu`"),
    ],
)
def test_syntax_errors_point_at_the_offending_place(text, line, column, message):
    with pytest.raises(SpecError) as info:
        parse(text, "t.lego")
    (diag,) = info.value.diagnostics
    assert (diag.span.line, diag.span.column) == (line, column)
    assert message in diag.message


def test_every_grammar_rule_has_a_conversion():
    """`ToSyntax.rules` names a method for every rule (or alias) that makes
    a tree node: not `_rules`, nor unaliased `?rules` (always one child
    here, which takes their place)."""
    from legoc.syntax.tables import build_lark
    from legoc.syntax.builder import ToSyntax

    nodes = {
        rule.alias or rule.origin.name
        for rule in build_lark().rules
        if not rule.origin.name.startswith("_") and (rule.alias or not rule.options.expand1)
    }
    assert nodes == set(ToSyntax("t.lego", [], None).rules)


def test_expected_words_never_show_a_terminals_internal_name():
    # `_IF`, the terminal of `if`, was shown as "expected `)` or `_if`".
    with pytest.raises(SpecError) as info:
        parse("model M(a=1):\n    input [3, 8, 8]\n    if not (a <= 2 and a > 0): relu\n", "m.lego")
    message = info.value.diagnostics[0].message
    assert message == "unexpected `<=`; expected `)` or `if`", message
