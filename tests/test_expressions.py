"""Width and depth multipliers: `make_divisible`, `round`, `ceil`, `int`,
`**` and `/` compute what Python and torchvision compute, at compile time
over constants and in the generated code over a block's parameters; misuse
is a diagnostic with a code and a position."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from conftest import load_module, torchvision_definitions
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.codegen.helpers import MAKE_DIVISIBLE
from legoc.ir import symbolic as sy



def _make_divisible(*args):
    """torchvision's `_make_divisible` (torchvision/models/_utils.py)."""
    return torchvision_definitions("models/_utils.py", "_make_divisible")["_make_divisible"](*args)

VALUES = [0.0, 0.25, 0.5, 1.5, 2.5, 3.5, -2.5, -0.5, 7, 8, 12, 15.999, 16 * 0.75, 24 * 1.4, 32 * 0.35, 96 * 1.1, 1280 * 0.5, 100.5]


def test_make_divisible_is_torchvisions():
    for v, d in itertools.product([*VALUES, *(c * w for c in (16, 24, 32, 40, 80, 112, 192, 320, 1280) for w in (0.25, 0.35, 0.5, 0.75, 1.0, 1.1, 1.2, 1.4, 1.8, 2.0, 3.1))], [1, 2, 3, 4, 8, 16]):
        assert sy.function("make_divisible", sy.Const(v), sy.Const(d)) == sy.Const(_make_divisible(v, d)), (v, d)
        assert sy.function("make_divisible", sy.Const(v), sy.Const(d), sy.Const(d * 2)) == sy.Const(_make_divisible(v, d, d * 2))


@pytest.mark.parametrize("name, fold", [("round", round), ("ceil", math.ceil), ("int", int)])
def test_functions_fold_as_python(name, fold):
    for v in VALUES:
        out = sy.function(name, sy.Const(v))
        assert out == sy.Const(fold(v)) and type(out.value) is int, (name, v)


def test_operators_fold_as_python():
    for a, b in itertools.product([2, 3, -2, 0.5, 1.5, 10, -7], [0, 1, 2, 3, -1, -2, 0.5, 2.0]):
        if a < 0 and b % 1:
            with pytest.raises(ValueError, match="complex"):
                sy.function("pow", sy.Const(a), sy.Const(b))
        else:
            assert sy.function("pow", sy.Const(a), sy.Const(b)) == sy.Const(a**b), (a, b)
        if b != 0:
            folded = sy.function("truediv", sy.Const(a), sy.Const(b))
            assert folded == sy.Const(a / b) and type(folded.value) is float


def _value(expr: str) -> int:
    """`expr` evaluated by legoc through the parser: the channels of a 1x1
    convolution with `(expr) + 1000` outputs."""
    spec = f"model M():\n    input [3, 4, 4]\n    conv ({expr}) + 1000 kernel_size=1\n"
    (ir,) = check_source(spec, "t.lego").defaults.values()
    return sy.value_of(ir.output[0]) - 1000


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("make_divisible(32 * 0.75, 8)", _make_divisible(32 * 0.75, 8)),
        ("make_divisible(16 * 0.35, 8)", _make_divisible(16 * 0.35, 8)),
        ("make_divisible(1280 * 1.4, 8, 64)", _make_divisible(1280 * 1.4, 8, 64)),
        ("round(2.5) + round(3.5) * 10", 2 + 4 * 10),
        ("round(-0.5) - 7", -7),
        ("ceil(3 * 1.1)", 4),
        ("ceil(-2.5)", -2),
        ("int(-2.7) + int(2.7) * 10", -2 + 20),
        ("2 ** 3 ** 2", 512),
        ("-2 ** 2", -4),
        ("int(2 ** -1 * 10)", 5),
        ("int(7 / 2 * 2)", 7),
        ("int(1 / 3 * 3)", 1),
        ("64 // 3 * 3 + 64 % 3", 64),
    ],
)
def test_compile_time_values_through_the_parser(expr, expected):
    assert _value(expr) == expected


def test_printed_code_computes_what_folding_computes():
    """Every function over symbols prints as Python (ceil without math, make_divisible
    as torchvision's helper) that computes the value substitution folds."""
    x, y = sy.Sym("p:x", "x", "x"), sy.Sym("p:y", "y", "y")
    exprs = [
        sy.function("make_divisible", sy.mul(x, sy.Const(32)), sy.Const(8)),
        sy.function("make_divisible", sy.mul(x, y), sy.Const(8), sy.Const(16)),
        sy.function("round", sy.mul(x, sy.Const(3))),
        sy.neg(sy.function("ceil", sy.sub(x, y))),
        sy.add(sy.function("ceil", sy.function("truediv", x, sy.Const(3))), sy.Const(1)),
        sy.function("int", sy.neg(x)),
        sy.function("pow", sy.neg(x), sy.Const(2)),
        sy.function("pow", sy.Const(2), sy.function("pow", y, sy.Const(2))),
        sy.function("pow", sy.function("pow", sy.Const(2), y), sy.Const(2)),
        sy.mul(sy.function("pow", sy.Const(2), y), sy.Const(-1)),
        sy.function("truediv", sy.add(x, y), sy.sub(sy.Const(0), y)),
    ]
    env = {}
    exec(MAKE_DIVISIBLE, env)
    for e, (a, b) in itertools.product(exprs, [(1.0, 1), (0.75, 2), (1.4, 3), (-2.5, 1), (3, 2), (0.35, -1)]):
        folded = sy.substitute(e, {"p:x": sy.Const(a), "p:y": sy.Const(b)})
        assert sy.is_const(folded), e
        code = sy.to_text(e, code=True)
        assert "math" not in code
        got = eval(code, dict(env), {"x": a, "y": b})
        assert got == folded.value and type(got) is type(folded.value), (code, a, b)


SPEC = """
block inverted(c, width_mult=1.0, depth=1.0):
    conv make_divisible(c * width_mult, 8) kernel_size=1
    conv round(c * width_mult) kernel_size=3 padding=2 ** 0
    conv ceil(c * depth / 3) kernel_size=1
    conv int(c * width_mult) + 2 ** 2 kernel_size=1

model M(width_mult=WIDTH):
    input [3, 8, 8]
    inverted 32 width_mult=width_mult
    inverted 24 width_mult depth=1.4
"""


def _reference_channels(w: float) -> list[int]:
    out = []
    for c, depth in ((32, 1.0), (24, 1.4)):
        out += [_make_divisible(c * w, 8), round(c * w), math.ceil(c * depth / 3), int(c * w) + 4]
    return out


@pytest.mark.parametrize("width", [1.0, 0.75, 0.35, 1.3, 2.0])
def test_symbolic_multipliers_run_in_torch(width):
    """The block keeps the functions symbolic; the model built with each
    width (as its default, and as an argument of one generated class)
    has torchvision's channel counts, and legoc inferred the same."""
    result = compile_source(SPEC.replace("WIDTH", repr(width)), "t.lego")
    assert "_make_divisible(c * width_mult, 8)" in result.code and "import math" not in result.code
    assert "-int(-(c * depth / 3) // 1)" in result.code
    module = load_module(result.code)
    (ir,) = result.analysis.defaults.values()
    expected = _reference_channels(width)
    assert sy.value_of(ir.output[0]) == expected[-1]
    for model in (module.M(), load_module(compile_source(SPEC.replace("WIDTH", "1.0"), "t.lego").code).M(width)):
        convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
        assert [m.out_channels for m in convs] == expected
        assert model(torch.randn(2, 3, 8, 8)).shape == (2, expected[-1], 8, 8)


def _errors(spec: str) -> list:
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return [(d.code, d.span.line, d.span.column, d.message, d.hint) for d in info.value.diagnostics if d.severity == "error"]


@pytest.mark.parametrize(
    "body, code, line, column, message",
    [
        ("conv c / 2 kernel_size=1", "LG401", 1, 11, "`out_channels` must be an integer, not 32.0"),
        ("conv c kernel_size=3 padding=3 / 3", "LG401", 3, 26, "`padding` must be an integer, not 1.0"),
        ("conv make_divisible(c) kernel_size=1", "LG402", 3, 10, "`make_divisible` takes 2 or 3 arguments, not 1"),
        ("conv round(c, 2) kernel_size=1", "LG402", 3, 10, "`round` takes 1 argument, not 2"),
        ("conv c kernel_size=(-8) ** 0.5", "LG406", 3, 24, "`**` cannot be computed: (-8) ** 0.5 is a complex number"),
        ("conv c kernel_size=10 ** 10 ** 9", "LG406", 3, 24, "`**` cannot be computed"),
        ("conv c / 0 kernel_size=1", "LG406", 3, 10, "division by zero"),
        ("conv make_divisible(c, 0) kernel_size=1", "LG406", 1, 11, "with these values, make_divisible(64, 0) divides by zero"),
        ("conv round(true) kernel_size=1", "LG406", 3, 10, "`round` needs numbers, not true (a boolean)"),
        ("conv floor(c) kernel_size=1", "LG202", 3, 10, "unknown name `floor`"),
    ],
)
def test_misuse_is_a_diagnostic(body, code, line, column, message):
    (got,) = _errors(f"model M(c=64):\n    input [3, 8, 8]\n    {body}\n")
    assert got[:3] == (code, line, column) and got[3].startswith(message), got


def test_an_unknown_function_hints_at_the_functions():
    (got,) = _errors("model M(c=64):\n    input [3, 8, 8]\n    conv floor(c) kernel_size=1\n")
    assert got[4] == "the functions are `ceil`, `int`, `make_divisible`, `max`, `min`, `round`"
    (got,) = _errors("model M(c=64):\n    input [3, 8, 8]\n    conv ceel(c) kernel_size=1\n")
    assert got[4] == "did you mean `ceil(...)`?"


def test_a_float_size_from_a_block_parameter_is_checked_at_the_call():
    """`c / 2` in a block is a float for every c: the caller's value is reported."""
    spec = "block half(c):\n    conv c / 2 kernel_size=1\n\nmodel M():\n    input [3, 8, 8]\n    half 64\n"
    (got,) = _errors(spec)
    assert got[0] == "LG401" and "must be an integer, not 32.0" in got[3]


# ------------------------------------------------------------ indexed repeat

DENSE = """
# torchvision's _DenseLayer (densenet.py) with drop_rate=0.
block dense_layer(growth, bn_size=4):
    res cat < norm1: bn; relu1: relu; conv1: conv bn_size * growth kernel_size=1 bias=false; norm2: bn; relu2: relu; conv2: conv growth kernel_size=3 padding=1 bias=false >

model M(n=N, c=64, growth=32):
    input [c, 16, 16]
    denseblock1: repeat n as i denselayer: dense_layer growth
"""


def _randomise_batch_norm(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)


@pytest.mark.filterwarnings("ignore:Unable to retrieve source")  # torchvision's @torch.jit._overload_method, loaded from its source
@pytest.mark.parametrize("n", [1, 3, 6])
def test_dense_block_loads_torchvisions_keys_exactly(n):
    """`repeat n as i denselayer: ...` names the repetitions denselayer1 ...
    denselayerN, as torchvision's _DenseBlock: its state_dict loads with
    strict=True, the outputs agree, and legoc's state-dict and parameter
    count are torchvision's."""
    from legoc.tools.statedict import state_dict_layout

    _DenseBlock = torchvision_definitions("models/densenet.py", "_DenseLayer", "_DenseBlock")["_DenseBlock"]
    reference = _DenseBlock(n, 64, 4, 32, 0.0)
    _randomise_batch_norm(reference)
    result = compile_source(DENSE.replace("N", str(n)), "t.lego")
    assert 'self.denseblock1.add_module(\n                f"denselayer{i + 1}", DenseLayer(c + growth * i, growth)\n            )' in result.code
    model = load_module(result.code).M()
    assert list(model.denseblock1.state_dict()) == list(reference.state_dict())
    model.denseblock1.load_state_dict(reference.state_dict(), strict=True)
    model.eval(), reference.eval()
    x = torch.randn(2, 64, 16, 16)
    with torch.no_grad():
        assert (model(x) - reference(x)).abs().max() <= 1e-5
    (ir,) = result.analysis.defaults.values()
    assert sy.value_of(ir.n_params) == sum(p.numel() for p in reference.parameters())
    assert sy.value_of(ir.output[0]) == 64 + 32 * n
    entries = state_dict_layout(result.analysis, "M")
    assert [e.key for e in entries] == ["denseblock1." + k for k in reference.state_dict()]


def test_the_index_varies_the_repetitions():
    """dilation 2 ** i, and a count that is a block parameter: the class
    builds what legoc says for several counts."""
    spec = """
block dilated(c, n):
    repeat n as i conv c kernel_size=3 padding=2 ** i dilation=2 ** i

model M(n=N):
    input [3, 40, 40]
    dilated 8 n
"""
    for n in (1, 2, 4):
        result = compile_source(spec.replace("N", str(n)), "t.lego")
        assert "for i in range(1, n)" in result.code  # the first repetition maps 3 channels to 8
        model = load_module(result.code).M()
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        assert [m.dilation for m in convs] == [(2**i, 2**i) for i in range(n)]
        assert model(torch.randn(1, 3, 40, 40)).shape == (1, 8, 40, 40)
        (ir,) = result.analysis.defaults.values()
        assert sy.value_of(ir.n_params) == sum(p.numel() for p in model.parameters())


def test_linear_growth_with_a_symbolic_count_sums_the_parameters():
    spec = """
block unit(g):
    res cat < conv g kernel_size=1 >

block grow(n, g):
    repeat n as i unit g

model M(n=N):
    input [4, 5, 5]
    grow n 3
"""
    for n in (0, 1, 5):
        result = compile_source(spec.replace("N", str(n)), "t.lego")
        model = load_module(result.code).M()
        (ir,) = result.analysis.defaults.values()
        assert sy.value_of(ir.n_params) == sum(p.numel() for p in model.parameters())
        assert model(torch.randn(1, 4, 5, 5)).shape == (1, 4 + 3 * n, 5, 5) == (1, *map(sy.value_of, ir.output))


@pytest.mark.parametrize(
    "body, code, line, column, message",
    [
        ("repeat 3 as i conv 8 * (i + 1) kernel_size=1", "LG308", 3, 5, "the repetitions of `repeat ... as i` must each change the shape by the same amount"),
        ("repeat 3 as c conv 8 kernel_size=1", "LG203", 3, 17, "the repeat index `c` hides the parameter `c`"),
        ("repeat 3 as i conv 8 kernel_size=1 groups=2 - i", "LG401", 3, 40, "`groups` must be at least 1, not 0"),
        ("repeat 3 as i layer: < conv 8 kernel_size=1; relu >", "", 0, 0, ""),
        ("repeat 3 conv3: conv c kernel_size=1", "LG204", 3, 14, "a repeat's repetitions are numbered"),
        ("features: < conv 8 kernel_size=1; repeat 2 as i layer: conv 8 kernel_size=1 >", "LG204", 3, 39, "the named group `features` becomes an nn.Sequential"),
    ],
)
def test_indexed_repeat_misuse(body, code, line, column, message):
    spec = f"model M(c=8):\n    input [8, 8, 8]\n    {body}\n"
    if not code:
        check_source(spec, "t.lego")  # a named group of layers per repetition is fine
        return
    got = _errors(spec)[0]
    assert got[:3] == (code, line, column) and got[3].startswith(message), got
