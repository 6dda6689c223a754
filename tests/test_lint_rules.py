"""The lint rules LG501 to LG510: for each, specs where it fires (exact code,
line and column through `check_text`) and close variants where it does not;
switching rules off inline and by configuration; the docs that describe the
codes (docs/diagnostics.md, docs/lint-rules.md, whose examples are checked
here); and the shipped examples, which must be free of warnings."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from legoc.tools.check import check_text
from legoc.core.codes import CODES, LINT_RULES, OPT_IN
from legoc.tools.config import Config, load

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

ALL = Config(select=("LG5",))  # every lint rule, the opt-in LG509 included


def spec(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def found(text: str, config: Config = ALL, name: str = "t.lego") -> list[tuple[str, int, int]]:
    """(code, line, column) of every diagnostic of `text`, in source order."""
    return [(d.code, d.span.line, d.span.column) for d in check_text(spec(text), name, config)]


def model(shape: str, *lines: str, params: str = "") -> str:
    """A one-model spec: `input <shape>` on line 2, then `lines` from line 3."""
    return f"model M({params}):\n    input {shape}\n" + "".join(f"    {line}\n" for line in lines)


# A spec where each rule fires, and where (code, line, column).
FLAGGED = {
    "LG501": (model("[3, 8, 8]", "conv 16", "bn"), ("LG501", 3, 5)),
    "LG502": (model("[3, 8, 8]", "conv_bn_act 16", "relu"), ("LG502", 4, 5)),
    "LG503": (model("[16]", "linear 10", "relu", "softmax"), ("LG503", 4, 5)),
    "LG504": (model("[16]", "dropout 0.2", "bn"), ("LG504", 3, 5)),
    "LG505": (model("[3, 8, 8]", "conv 8 kernel_size=4"), ("LG505", 3, 12)),
    "LG506": ("block b(c, stride=1):\n    conv_bn_act c\n" + model("[3, 8, 8]", "b 8"), ("LG506", 1, 12)),
    "LG507": ("model M():\n    input x: [3, 8, 8]\n    a = x -> relu\n    output y = x -> conv 8\n", ("LG507", 3, 5)),
    "LG508": (model("[3, 7, 7]", "maxpool 2"), ("LG508", 3, 5)),
    "LG509": (model("[64, 8, 8]", "conv 100"), ("LG509", 3, 5)),
    "LG510": ("block unused(c):\n    conv c\n" + model("[3, 8, 8]", "conv 8"), ("LG510", 1, 7)),
    "LG511": ("# nothing yet\n# to come\n", ("LG511", 1, 1)),
}


def test_flagged_covers_every_rule():
    assert sorted(FLAGGED) == sorted(LINT_RULES)


@pytest.mark.parametrize("code", sorted(FLAGGED))
def test_each_rule_fires_alone(code):
    text, where = FLAGGED[code]
    assert found(text) == [where]
    assert found(text, Config(select=(code,))) == [where]


# ---------------------------------------------------------------- LG501


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(model("[3, 8, 8]", "conv 16", "bn", "relu"), [("LG501", 3, 5)], id="conv-bn"),
        pytest.param(model("[3, 8, 8]", "conv 16 bias=true", "bn"), [("LG501", 3, 5)], id="explicit-bias"),
        pytest.param(model("[16, 8, 8]", "conv_transpose 16 kernel_size=2 stride=2", "bn"), [("LG501", 3, 5)], id="conv-transpose"),
        pytest.param(model("[3, 8, 8]", "conv3x3 16", "bn"), [("LG501", 3, 5)], id="prelude-block-then-bn"),
        pytest.param(
            """
            block head(c):
                conv c

            block tail():
                bn
                relu

            model M():
                input [3, 8, 8]
                head 16
                tail
            """,
            [("LG501", 10, 5)],
            id="block-ending-in-conv-then-block-starting-with-bn",
        ),
        pytest.param(
            """
            block cb(c, b=true):
                conv c bias=b

            model M():
                input [3, 8, 8]
                cb 16
                bn
                cb 16 b=false
                bn
            """,
            [("LG501", 6, 5)],
            id="bias-through-a-parameter",
        ),
        pytest.param(model("[3, 8, 8]", "f: < conv 16; bn >"), [("LG501", 3, 10)], id="named-group"),
        pytest.param(model("[3, 8, 8]", "cat < conv 8; bn | conv 8 bias=false; bn >"), [("LG501", 3, 11)], id="parallel-branch"),
        pytest.param(model("[16, 8, 8]", "res add < conv 16; bn; relu; conv_bn 16 >"), [("LG501", 3, 15)], id="residual-body"),
        pytest.param("model M():\n    input x: [3, 8, 8]\n    output y = x -> conv 16 -> bn\n", [("LG501", 3, 21)], id="pipeline"),
        pytest.param(model("[16, 8, 8]", "repeat 2 < conv 16; bn >"), [("LG501", 3, 5)], id="inside-a-repeated-group"),
        pytest.param(model("[16, 8, 8]", "repeat 2 < bn; relu; conv 16 >"), [("LG501", 3, 5)], id="across-repetitions"),
        pytest.param(
            "block pre(c):\n    bn\n    relu\n    conv c\n" + model("[16, 8, 8]", "repeat 2 pre 16"),
            [("LG501", 7, 5)],
            id="repeated-pre-activation-block",
        ),
    ],
)
def test_lg501_fires(text, expected):
    assert found(text) == expected


def test_lg501_points_at_the_conv_with_a_note_at_the_batch_norm():
    (d,) = check_text(model("[3, 8, 8]", "conv 16", "relu", "conv 16", "bn"), "t.lego", ALL)
    assert (d.code, d.severity, d.span.line, d.span.column, d.span.end_column) == ("LG501", "warning", 5, 5, 12)
    assert [(n.message, n.span.line, n.span.column) for n in d.notes] == [("followed by this layer", 6, 5)]
    assert d.hint == "pass `bias=false`"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(model("[3, 8, 8]", "conv 16 bias=false", "bn"), id="no-bias"),
        pytest.param(model("[3, 8, 8]", "conv3x3 16 bias=false", "bn"), id="prelude-block-without-bias"),
        pytest.param(model("[3, 8, 8]", "conv3x3_bn 16", "conv_bn_act 16"), id="prelude-conv-bn-blocks"),
        pytest.param(model("[3, 8, 8]", "conv 16", "relu", "bn"), id="not-adjacent"),
        pytest.param(model("[3, 8, 8]", "conv1x1 16", "conv_bn_act 16"), id="block-then-block-starting-with-conv"),
        pytest.param(model("[16, 8, 8]", "res add < conv_bn_act 16; conv 16 >", "bn"), id="residual-add-in-between"),
        pytest.param(model("[16, 8, 8]", "repeat 2 < conv 16 bias=false; bn >"), id="repeated-group-without-bias"),
        pytest.param(model("[16, 8, 8]", "repeat 1 < bn; relu; conv 16 >"), id="single-repetition"),
        pytest.param(
            "block pre(c):\n    bn\n    relu\n    conv c bias=false\n" + model("[16, 8, 8]", "repeat 2 pre 16"),
            id="repeated-pre-activation-block-without-bias",
        ),
    ],
)
def test_lg501_does_not_fire(text):
    assert found(text) == []


# ---------------------------------------------------------------- LG502


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(model("[3, 8, 8]", "relu", "relu"), [("LG502", 4, 5)], id="relu-relu"),
        pytest.param(model("[3, 8, 8]", "gelu", "leaky_relu 0.2"), [("LG502", 4, 5)], id="gelu-leaky-relu"),
        pytest.param(model("[3, 8, 8]", "conv_bn_act 64", "relu"), [("LG502", 4, 5)], id="conv-bn-act-then-relu"),
        pytest.param(model("[3, 8, 8]", "conv3x3_bn_act 16 act=silu", "sigmoid"), [("LG502", 4, 5)], id="act-argument"),
        pytest.param(
            """
            block unit(c, act=relu):
                conv c bias=false
                bn
                act

            model M():
                input [3, 8, 8]
                unit 16 act=gelu
                silu
            """,
            [("LG502", 9, 5)],
            id="user-block-with-layer-valued-parameter",
        ),
        pytest.param(model("[3, 8, 8]", "f: < conv 16 bias=false; bn; relu >", "relu"), [("LG502", 4, 5)], id="after-named-group"),
        pytest.param(
            "model M():\n    input x: [3, 8, 8]\n    output y = x -> conv_bn_act 16 -> relu\n", [("LG502", 3, 39)], id="pipeline"
        ),
        pytest.param(model("[16, 8, 8]", "repeat 2 relu"), [("LG502", 3, 5)], id="repeated-activation"),
        pytest.param(
            model("[16, 8, 8]", "repeat 2 < relu; conv 16 bias=false; bn; relu >"), [("LG502", 3, 5)], id="across-repetitions"
        ),
        pytest.param(
            "block b(c, n):\n    repeat n < relu; conv c bias=false; bn; relu >\n" + model("[16, 8, 8]", "b 16 2"),
            [("LG502", 2, 5)],
            id="symbolic-repeat-count",
        ),
    ],
)
def test_lg502_fires(text, expected):
    assert found(text) == expected


def test_lg502_points_at_the_second_activation_with_a_note_at_the_first():
    (d,) = check_text(model("[3, 8, 8]", "conv_bn_act 16", "relu"), "t.lego", ALL)
    assert (d.code, d.span.line, d.span.column) == ("LG502", 4, 5)
    assert [(n.message, n.span.line, n.span.column) for n in d.notes] == [("the first activation", 3, 5)]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(model("[3, 8, 8]", "conv_bn_act 64"), id="conv-bn-act-alone"),
        pytest.param(model("[3, 8, 8]", "conv_bn_act 64 act=identity", "relu"), id="act-identity"),
        pytest.param(model("[3, 8, 8]", "conv_bn_act 16", "conv_bn_act 16"), id="two-conv-bn-act"),
        pytest.param(model("[16]", "linear 16", "relu", "dropout", "relu"), id="dropout-in-between"),
        pytest.param(model("[16, 8, 8]", "res add < conv_bn_act 16; conv_bn_act 16 >", "relu"), id="residual-add-in-between"),
        pytest.param(model("[16, 8, 8]", "repeat 2 < conv 16 bias=false; bn; relu >"), id="repeated-conv-bn-relu"),
        pytest.param(model("[16, 8, 8]", "repeat 1 < relu; conv 16 bias=false; bn; relu >"), id="single-repetition"),
        pytest.param(model("[16, 8, 8]", "repeat 3 conv_bn_act 16"), id="repeated-prelude-block"),
    ],
)
def test_lg502_does_not_fire(text):
    assert found(text) == []


# ---------------------------------------------------------------- LG503


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(model("[16]", "linear 10", "relu", "softmax"), [("LG503", 4, 5)], id="relu-softmax"),
        pytest.param(model("[16]", "linear 10", "sigmoid", "log_softmax"), [("LG503", 4, 5)], id="sigmoid-log-softmax"),
        pytest.param(model("[16, 8, 8]", "conv_bn_act 16", "softmax"), [("LG503", 3, 5)], id="block-ending-in-activation"),
        pytest.param(
            "block head(n):\n    linear n\n    tanh\n" + model("[16]", "head 10", "softmax"), [("LG503", 6, 5)], id="user-block"
        ),
    ],
)
def test_lg503_fires(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(model("[16]", "linear 10", "softmax"), id="logits"),
        pytest.param(model("[16]", "linear 16", "relu", "linear 10", "log_softmax"), id="hidden-activation"),
        pytest.param(model("[16, 8, 8]", "conv_bn 16", "softmax"), id="block-ending-in-bn"),
    ],
)
def test_lg503_does_not_fire(text):
    assert found(text) == []


# ---------------------------------------------------------------- LG504


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(model("[16]", "dropout 0.2", "bn"), [("LG504", 3, 5)], id="dropout-bn"),
        pytest.param(model("[16, 8, 8]", "dropout", "bn"), [("LG504", 3, 5)], id="images"),
        pytest.param(
            "block norm_act():\n    bn\n    relu\n" + model("[16]", "dropout 0.2", "norm_act"), [("LG504", 6, 5)], id="block-starting-with-bn"
        ),
        pytest.param(model("[16]", "repeat 2 < linear 16; dropout; bn >"), [("LG504", 3, 5)], id="inside-a-repeated-group"),
    ],
)
def test_lg504_fires(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(model("[16]", "bn", "dropout 0.2"), id="dropout-after"),
        pytest.param(model("[16]", "dropout 0.2", "linear 16", "bn"), id="linear-in-between"),
        pytest.param(model("[16, 8, 8]", "dropout", "conv_bn_act 16"), id="block-starting-with-conv"),
    ],
)
def test_lg504_does_not_fire(text):
    assert found(text) == []


# ---------------------------------------------------------------- LG505


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(model("[3, 8, 8]", "conv 8 kernel_size=4"), [("LG505", 3, 12)], id="conv-4"),
        pytest.param(model("[3, 8, 8]", "conv 8 4"), [("LG505", 3, 12)], id="positional"),
        pytest.param(model("[3, 16, 16]", "maxpool 4 stride=1"), [("LG505", 3, 13)], id="maxpool-4"),
        pytest.param(model("[3, 16, 16]", "avgpool 6 stride=1"), [("LG505", 3, 13)], id="avgpool-6"),
        pytest.param(model("[3, 16, 16]", "conv 8 kernel_size=2 dilation=3"), [("LG505", 3, 12)], id="dilated"),
        pytest.param(model("[3, 8, 8]", "conv_bn 16 kernel_size=4"), [("LG505", 3, 5)], id="in-a-prelude-block"),
        pytest.param(
            "block b(k):\n    conv 8 kernel_size=k\n" + model("[3, 8, 8]", "b 3", "b 4"), [("LG505", 2, 12)], id="through-a-parameter"
        ),
    ],
)
def test_lg505_fires(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(model("[3, 8, 8]", "conv 8"), id="default-3"),
        pytest.param(model("[3, 8, 8]", "conv 8 kernel_size=5"), id="odd"),
        pytest.param(model("[3, 8, 8]", "conv 8 kernel_size=2"), id="2-has-no-padding"),
        pytest.param(model("[3, 8, 8]", "maxpool 2"), id="maxpool-2"),
        pytest.param(model("[3, 8, 8]", "conv 8 kernel_size=4 stride=2 padding=1"), id="explicit-padding"),
        pytest.param(model("[3, 16, 16]", "conv 8 kernel_size=2 dilation=2"), id="dilated-even-span"),
        pytest.param(model("[8, 8, 8]", "conv_transpose 8 kernel_size=4 stride=2 padding=1"), id="conv-transpose"),
        pytest.param("block b(k):\n    conv 8 kernel_size=k\n" + model("[3, 8, 8]", "b 3", "b 5"), id="through-a-parameter"),
    ],
)
def test_lg505_does_not_fire(text):
    assert found(text) == []


# ---------------------------------------------------------------- LG506


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("block b(c, stride=1):\n    conv_bn_act c\n" + model("[3, 8, 8]", "b 8"), [("LG506", 1, 12)], id="block"),
        pytest.param(model("[3, 8, 8]", "conv_bn_act width", params="classes=10, width=8"), [("LG506", 1, 9)], id="model"),
        pytest.param("block b(c, act=relu):\n    conv_bn_act c\n" + model("[3, 8, 8]", "b 8"), [("LG506", 1, 12)], id="layer-valued"),
        pytest.param(
            "block b(c, n):\n    conv_bn_act c\n" + model("[3, 8, 8]", "b 8 2"), [("LG506", 1, 12)], id="required-parameter"
        ),
    ],
)
def test_lg506_fires(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("block b(c, stride=1):\n    conv_bn_act c stride=stride\n" + model("[3, 8, 8]", "b 8"), id="used"),
        pytest.param(model("[3, size, size]", "conv 8", params="size=8"), id="in-the-input-shape"),
        pytest.param("block b(c, n):\n    repeat n conv_bn_act c\n" + model("[8, 8, 8]", "b 8 2"), id="repeat-count"),
        pytest.param(
            "block b(c, s=2):\n    res add < conv_bn_act c stride=s > shortcut conv1x1_bn c stride=s\n" + model("[8, 8, 8]", "b 16"),
            id="shortcut",
        ),
        pytest.param("block b(c, act=relu):\n    conv_bn_act c act=act\n" + model("[3, 8, 8]", "b 8"), id="passed-through"),
        pytest.param("block b(c, act=relu):\n    conv c bias=false\n    bn\n    act\n" + model("[3, 8, 8]", "b 8"), id="called"),
        pytest.param("block b(c):\n    conv_bn_act max(c, 8) * 2\n" + model("[3, 8, 8]", "b 4"), id="expression"),
        pytest.param(
            model("[16, 4, 4]", 'rearrange "(g c) h w -> (c g) h w" g=groups', params="groups=2"), id="rearrange-keyword"
        ),
        pytest.param("model M(c=8):\n    input x: [3, 8, 8]\n    output y = x -> conv c\n", id="pipeline"),
        pytest.param(
            "block b(init=1e-6)(x):\n    gamma: param [in_channels, 1, 1] init=init\n    return (gamma, x) -> mul\n" + model("[3, 8, 8]", "b"),
            id="learned-tensor-init",
        ),
    ],
)
def test_lg506_does_not_fire(text):
    assert found(text) == []


# ---------------------------------------------------------------- LG507


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(
            "model M():\n    input x: [3, 8, 8]\n    a = x -> relu\n    output y = x -> conv 8\n", [("LG507", 3, 5)], id="tensor"
        ),
        pytest.param(
            "model M():\n    input x: [3, 8, 8]\n    input extra: [3, 8, 8]\n    output y = x -> conv 8\n",
            [("LG507", 3, 5)],
            id="model-input",
        ),
        pytest.param(
            """
            block b(c)(x, skip):
                y = x -> conv c
                return x -> conv c

            model M():
                input x: [3, 8, 8]
                output y = (x, x) -> b 8
            """,
            [("LG507", 1, 15), ("LG507", 2, 5)],
            id="block-input-and-tensor",
        ),
    ],
)
def test_lg507_fires(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("model M():\n    input x: [3, 8, 8]\n    a = x -> relu\n    output y = a -> conv 8\n", id="used"),
        pytest.param(
            "model M():\n    input x: [3, 8, 8]\n    y = x -> conv 8\n    y = y -> relu\n    output z = y -> relu\n", id="rebinding-reads-it"
        ),
        pytest.param(
            "model M():\n    input x: [3, 8, 8]\n    a = x -> relu\n    output a\n    output b = x -> conv 8\n", id="output-of-a-tensor"
        ),
        pytest.param(
            "block b(c)(x, skip):\n    return (x, skip) -> add -> conv c\n"
            "model M():\n    input x: [3, 8, 8]\n    output y = (x, x) -> b 8\n",
            id="every-block-input",
        ),
    ],
)
def test_lg507_does_not_fire(text):
    assert found(text) == []


# ---------------------------------------------------------------- LG508


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(model("[3, 7, 7]", "maxpool 2"), [("LG508", 3, 5)], id="maxpool-2-on-7"),
        pytest.param(model("[3, 5, 8]", "avgpool 2"), [("LG508", 3, 5)], id="one-axis"),
        pytest.param(model("[3, 9]", "maxpool 2"), [("LG508", 3, 5)], id="rank-2"),
        pytest.param(model("[3, 8, 8]", "conv 8 stride=2 padding=0"), [("LG508", 3, 12)], id="valid-conv-misses-last-row"),
        pytest.param(
            model("[1, 28, 28]", "conv 16", "maxpool 2", "conv 32", "maxpool 2", "conv 64", "maxpool 2"),
            [("LG508", 8, 5)],
            id="third-pool",
        ),
        pytest.param(
            "block down(c):\n    maxpool 2\n    conv_bn_act c\n" + model("[3, 28, 28]", "down 8", "down 16", "down 32"),
            [("LG508", 2, 5)],
            id="in-a-block",
        ),
    ],
)
def test_lg508_fires(text, expected):
    assert found(text) == expected


def test_lg508_message_counts_the_dropped_rows():
    (d,) = check_text(model("[3, 7, 7]", "maxpool 2"), "t.lego", ALL)
    assert "never reaches the last 1 row(s) or column(s) of its input size 7" in d.message
    (d,) = check_text(model("[3, 231, 231]", "conv 8 kernel_size=16 stride=16 padding=0"), "t.lego", ALL)
    assert "never reaches the last 7 row(s) or column(s) of its input size 231" in d.message
    # `maxpool 3` pads by 1: it drops a row of 9 (windows -1..1, 2..4, 5..7), none of 10.
    (d,) = check_text(model("[3, 9, 10]", "maxpool 3"), "t.lego", ALL)
    assert "never reaches the last 1 row(s) or column(s) of its input size 9 " in d.message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(model("[3, 8, 8]", "maxpool 2"), id="maxpool-2-on-8"),
        pytest.param(model("[3, H, W]", "maxpool 2"), id="symbolic-size"),
        pytest.param(model("[3, 7, 7]", "conv 8 stride=2"), id="same-padding-covers-odd-size"),
        pytest.param(model("[3, 8, 8]", "conv 8 stride=2"), id="same-padding-covers-even-size"),
        pytest.param(model("[3, 7, 7]", "maxpool 3 stride=2"), id="maxpool-3-stride-2"),
        pytest.param(model("[8, 56, 56]", "conv 8 kernel_size=1 stride=2"), id="1x1-projection-even"),
        pytest.param(model("[8, 7, 7]", "conv 8 kernel_size=1 stride=2"), id="1x1-projection-odd"),
        pytest.param(
            model("[3, 299, 299]", "conv 32 stride=2 padding=0", "conv 32 padding=0", "conv 64", "maxpool 3 stride=2 padding=0"),
            id="inception-v3-stem",
        ),
        pytest.param(model("[64, 55, 55]", "maxpool 3 stride=2 padding=0"), id="alexnet-pool"),
        pytest.param(
            model("[3, 224, 224]", "conv 64 kernel_size=7 stride=2 bias=false", "bn", "relu", "maxpool 3 stride=2"), id="resnet-stem"
        ),
        pytest.param(model("[3, 224, 224]", "conv 64 kernel_size=16 stride=16 padding=0"), id="patches"),
        pytest.param(model("[1, 32, 32]", "conv 16", "maxpool 2", "conv 32", "maxpool 2", "conv 64", "maxpool 2"), id="32"),
    ],
)
def test_lg508_does_not_fire(text):
    assert found(text) == []


# ---------------------------------------------------------------- LG509


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(model("[64, 8, 8]", "conv 100"), [("LG509", 3, 5)], id="conv-out"),
        pytest.param(model("[100, 8, 8]", "conv 64"), [("LG509", 3, 5)], id="conv-in"),
        pytest.param(model("[3, 8, 8]", "conv 96"), [("LG509", 3, 5)], id="rgb-input"),
        pytest.param(model("[128]", "linear 100"), [("LG509", 3, 5)], id="linear"),
        pytest.param(
            "block head(n):\n    linear n\n" + model("[128]", "head 8", "head 100"), [("LG509", 2, 5)], id="through-a-parameter"
        ),
    ],
)
def test_lg509_fires_when_selected(text, expected):
    assert found(text, Config(select=("LG509",))) == expected
    assert found(text, ALL) == expected
    assert found(text, Config(select=("LG50",))) == expected


@pytest.mark.parametrize("code", ["LG509"])
def test_lg509_is_opt_in(code):
    text, where = FLAGGED[code]
    assert code in OPT_IN
    assert found(text, Config()) == []
    assert found(text, Config(select=("LG501", "LG502"))) == []
    assert found(text, Config(select=(code,))) == [where]


def test_select_replaces_the_default_set():
    both = model("[64, 8, 8]", "conv 100", "relu", "relu")
    assert found(both, Config()) == [("LG502", 5, 5)]
    assert found(both, Config(select=("LG509",))) == [("LG509", 3, 5)]
    assert found(both, ALL) == [("LG509", 3, 5), ("LG502", 5, 5)]
    unused = "block b(c):\n    conv c\n" + model("[64, 8, 8]", "conv 100")
    assert found(unused, Config(select=("LG50",))) == [("LG509", 5, 5)]  # LG510 does not start with LG50


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(model("[64, 8, 8]", "conv 96"), id="multiples-of-8"),
        pytest.param(model("[60, 8, 8]", "conv 60"), id="small"),
        pytest.param(model("[3, 8, 8]", "conv 64"), id="rgb-stem-up-to-64"),
        pytest.param(model("[128]", "linear 1000"), id="linear"),
    ],
)
def test_lg509_does_not_fire(text):
    assert found(text, Config(select=("LG509",))) == []


# ---------------------------------------------------------------- LG510


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("block unused(c):\n    conv c\n" + model("[3, 8, 8]", "conv 8"), [("LG510", 1, 7)], id="unused"),
        pytest.param(
            "block inner(c):\n    conv c\nblock outer(c):\n    inner c\n" + model("[3, 8, 8]", "conv 8"),
            [("LG510", 1, 7), ("LG510", 3, 7)],
            id="used-only-by-an-unused-block",
        ),
    ],
)
def test_lg510_fires(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("block used(c):\n    conv_bn_act c\n" + model("[3, 8, 8]", "used 8"), id="used"),
        pytest.param(
            "block inner(c):\n    conv_bn_act c\nblock outer(c):\n    inner c\n" + model("[3, 8, 8]", "outer 8"),
            id="used-through-another-block",
        ),
        pytest.param(model("[3, 8, 8]", "conv_bn_act 8"), id="unused-prelude-blocks"),
    ],
)
def test_lg510_does_not_fire(text):
    assert found(text) == []


# ------------------------------------------------------- switching rules off


def _with_comment(text: str, line: int, comment: str) -> str:
    lines = text.splitlines()
    lines[line - 1] += f"  {comment}"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("code", sorted(FLAGGED))
def test_inline_ignore_silences_the_rule(code):
    text, (_, line, column) = FLAGGED[code]
    assert found(_with_comment(text, line, f"# legoc: ignore[{code}]")) == []
    assert found(_with_comment(text, line, "# legoc: ignore")) == []
    assert found(_with_comment(text, line, "# legoc: ignore[LG5]")) == []
    assert found(_with_comment(text, line, f"#legoc:ignore[LG301,{code}]")) == []


@pytest.mark.parametrize("code", sorted(FLAGGED))
def test_inline_ignore_of_another_code_or_line_does_not(code):
    text, where = FLAGGED[code]
    other = "LG502" if code != "LG502" else "LG501"
    assert found(_with_comment(text, where[1], f"# legoc: ignore[{other}]")) == [where]
    elsewhere = where[1] + 1 if where[1] < len(spec(text).splitlines()) else where[1] - 1
    assert found(_with_comment(text, elsewhere, f"# legoc: ignore[{code}]")) == [where]


@pytest.mark.parametrize("code", sorted(FLAGGED))
def test_config_ignore_silences_the_rule(code):
    text, where = FLAGGED[code]
    assert found(text, Config(select=("LG5",), ignore=(code,))) == []
    assert found(text, Config(select=("LG5",), ignore=("LG5",))) == []
    other = "LG502" if code != "LG502" else "LG501"
    assert found(text, Config(select=("LG5",), ignore=(other,))) == [where]


@pytest.mark.parametrize("code", sorted(FLAGGED))
def test_per_file_ignores_silence_the_rule(code, tmp_path):
    text, where = FLAGGED[code]
    config = Config(select=("LG5",), per_file_ignores=(("legacy/*.lego", (code,)),), root=tmp_path)
    assert found(text, config, name=str(tmp_path / "legacy" / "a.lego")) == []
    assert found(text, config, name=str(tmp_path / "new" / "a.lego")) == [where]


def test_errors_cannot_be_ignored():
    text = model("[3, 8, 8]", "cnov 8  # legoc: ignore")
    assert found(text, Config(ignore=("LG2",))) == [("LG201", 3, 5)]


# ------------------------------------------------------------------ the docs


def test_every_code_is_in_diagnostics_md_with_its_title():
    text = (DOCS / "diagnostics.md").read_text()
    rows = {m.group(1): m.group(2).strip() for m in re.finditer(r"^\| (LG\d{3}) \| ([^|]+) \|", text, re.M)}
    assert rows == CODES
    for code in LINT_RULES:  # each links to its section, by GitHub's anchor for the heading
        anchor = re.sub(r"[^\w\- ]", "", f"{code}: {CODES[code]}".lower()).replace(" ", "-")
        (row,) = [line for line in text.splitlines() if line.startswith(f"| {code} |")]
        assert f"(lint-rules.md#{anchor})" in row


def test_every_lint_rule_has_a_section_in_lint_rules_md():
    text = (DOCS / "lint-rules.md").read_text()
    sections = re.findall(r"^## (LG\d{3}): (.+)$", text, re.M)
    assert sections == [(code, CODES[code]) for code in LINT_RULES]


def _doc_examples():
    """(rule, label, source) for every `lego` block of docs/lint-rules.md's
    rule sections; the label is the paragraph just above the block."""
    text = (DOCS / "lint-rules.md").read_text()
    out = []
    for section in re.split(r"^(?=## LG\d{3}: )", text, flags=re.M)[1:]:
        rule, start = section[3:8], 0
        for m in re.finditer(r"```lego\n(.*?)```", section, re.S):
            paragraphs = [p for p in section[start : m.start()].split("\n\n") if p.strip()]
            out.append((rule, " ".join(paragraphs[-1].split()), m.group(1)))
            start = m.end()
    return out


DOC_EXAMPLES = _doc_examples()


def test_the_doc_has_a_flagged_and_a_fixed_example_per_rule():
    for rule in LINT_RULES:
        labels = [label for r, label, _ in DOC_EXAMPLES if r == rule]
        assert any("Flagged (at" in label for label in labels), rule
        assert any("Fixed" in label for label in labels), rule


@pytest.mark.parametrize("rule, label, source", DOC_EXAMPLES, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(DOC_EXAMPLES)])
def test_doc_examples_are_true(rule, label, source):
    config = ALL if rule in OPT_IN else Config()
    diags = [(d.code, d.span.line, d.span.column) for d in check_text(source, "example.lego", config)]
    flagged, fixed = "Flagged" in label, "Fixed" in label
    assert flagged != fixed, f"label the {rule} example `Flagged (at line L, column C)` or `Fixed`: {label!r}"
    if flagged:
        at = re.search(r"Flagged \(at line (\d+), column (\d+)", label)
        assert at, f"say where the {rule} example is flagged: {label!r}"
        assert diags == [(rule, int(at.group(1)), int(at.group(2)))]
    else:
        assert diags == []


def test_doc_configuration_example_loads(tmp_path):
    text = (DOCS / "lint-rules.md").read_text()
    (toml,) = re.findall(r"```toml\n(.*?)```", text, re.S)
    path = tmp_path / "pyproject.toml"
    path.write_text(toml)
    config = load(path)
    assert config.strict
    assert config.enabled("LG509", str(tmp_path / "a.lego"))
    assert not config.enabled("LG502", str(tmp_path / "a.lego"))
    assert not config.enabled("LG501", str(tmp_path / "specs" / "ported" / "a.lego"))
    assert config.enabled("LG501", str(tmp_path / "specs" / "a.lego"))


# --------------------------------------------------------------- the examples


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.lego")), ids=lambda p: p.stem)
def test_examples_have_no_warnings(path):
    assert check_text(path.read_text(), str(path), Config()) == []
