"""`permute`: torchvision's `Permute` module (torchvision/ops/misc.py), the
channels-last switch of ConvNeXt's CNBlock (`block.1` and `block.6` of its
nn.Sequential). Shapes must equal legoc's analysis for every permutation,
values torch.permute's, the module's behaviour torchvision's own, and its
mistakes are diagnostics at the argument."""

from __future__ import annotations

import itertools

import pytest
import torch

from conftest import load_module, torchvision_definitions
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy

_SHAPES = {1: (5,), 2: (3, 5), 3: (2, 3, 5), 4: (2, 3, 4, 5)}


def _model(spec: str):
    result = compile_source(spec, "t.lego")
    (name,) = result.analysis.defaults
    return getattr(load_module(result.code), name)(), result.analysis.defaults[name], result.code


@pytest.mark.parametrize("rank", sorted(_SHAPES))
def test_every_permutation_equals_torch_permute(rank):
    shape = _SHAPES[rank]
    Permute = torchvision_definitions("ops/misc.py", "Permute")["Permute"]
    for order in itertools.permutations(range(rank)):
        dims = f"({', '.join(map(str, order))})" if rank > 1 else "0"
        model, ir, code = _model(f"model Net():\n    input [{', '.join(map(str, shape))}]\n    permute {dims}\n")
        batched = [0, *(d + 1 for d in order)]
        assert f"self.permute = Permute({batched})" in code
        x = torch.randn(2, *shape)
        y = model(x)
        assert torch.equal(y, x.permute(*batched))
        assert torch.equal(y, Permute(batched)(x))
        assert tuple(y.shape[1:]) == tuple(sy.value_of(d) for d in ir.output)
        assert not list(model.state_dict())


def test_convnext_block_keys_line_up_with_torchvisions_sequential():
    """block.1 and block.6 are the Permutes, as in torchvision's CNBlock: the
    layer norm and the linear layers keep block.2, block.3 and block.5."""
    spec = (
        "model Net(dim=8):\n    input [8, 6, 6]\n    block: <\n"
        "        conv dim kernel_size=7 padding=3 groups=dim\n        permute (1, 2, 0)\n        layernorm eps=1e-6\n"
        "        linear 4 * dim\n        gelu\n        linear dim\n        permute (2, 0, 1)\n    >\n"
    )
    model, ir, code = _model(spec)
    from test_hostile import check_generated

    check_generated(code)
    assert code.count("class Permute(nn.Module):") == 1
    assert list(model.state_dict()) == [f"block.{i}.{k}" for i in (0, 2, 3, 5) for k in ("weight", "bias")]
    assert [type(m).__name__ for m in model.block] == ["Conv2d", "Permute", "LayerNorm", "Linear", "GELU", "Linear", "Permute"]
    assert tuple(sy.value_of(d) for d in ir.output) == (8, 6, 6)
    assert model(torch.randn(2, 8, 6, 6)).shape == (2, 8, 6, 6)


def test_a_symbolic_input_keeps_its_sizes_in_order():
    model, ir, _ = _model("model Net():\n    input [4, H, W]\n    permute (2, 0, 1)\n")
    assert [str(d) for d in ir.output] == ["W", "4", "H"]
    assert model(torch.randn(1, 4, 3, 5)).shape == (1, 5, 4, 3)


def test_a_residual_over_a_permutation_compares_sizes():
    """A permutation changes which size is where, like a rearrange: the
    identity skip is taken where the sizes agree, a shortcut needed where
    they do not."""
    check_source("model Net():\n    input [4, 6, 6]\n    res add < permute (0, 2, 1) >\n", "t.lego")
    with pytest.raises(SpecError) as info:
        check_source("model Net():\n    input [4, 6, 5]\n    res add < permute (0, 2, 1) >\n", "t.lego")
    assert info.value.diagnostics[0].code == "LG301"


@pytest.mark.parametrize(
    "call, column, message",
    [
        ("permute (1, 0)", 13, "`dims` of `permute` orders the input's 3 axes [3, 8, 8]: a tuple of the constants 0 to 2, each once, such as (2, 1, 0)"),
        ("permute (0, 1, 1)", 13, "`dims` of `permute` orders the input's 3 axes [3, 8, 8]: a tuple of the constants 0 to 2, each once, such as (2, 1, 0)"),
        ("permute (1, 2, 3)", 13, "`dims` of `permute` orders the input's 3 axes [3, 8, 8]: a tuple of the constants 0 to 2, each once, such as (2, 1, 0)"),
        ("permute (0, 1.5, 2)", 13, "`dims` must be an integer, not 1.5"),
        ("permute 1", 13, "`dims` of `permute` orders the input's 3 axes [3, 8, 8]: a tuple of the constants 0 to 2, each once, such as (2, 1, 0)"),
        ("permute", 5, "`permute` needs a value for `dims`"),
        ("permute (1, 2, 0) (2, 0, 1)", 23, "`permute` takes at most 1 positional argument"),
    ],
)
def test_permute_mistakes_are_diagnostics(call, column, message):
    with pytest.raises(SpecError) as info:
        check_source(f"model Net():\n    input [3, 8, 8]\n    {call}\n", "t.lego")
    d = info.value.diagnostics[0]
    assert (d.span.line, d.span.column, d.message) == (3, column, message)
    assert d.code in ("LG401", "LG402")


def test_dims_from_a_parameter_is_an_error_at_the_argument():
    with pytest.raises(SpecError) as info:
        check_source("block b(d):\n    permute (d, 0, 1)\n\nmodel Net():\n    input [3, 8, 8]\n    b 2\n", "t.lego")
    d = info.value.diagnostics[0]
    assert (d.code, d.span.line, d.span.column) == ("LG401", 2, 13)
    assert "a parameter cannot give it" in d.message


def test_summary_and_state_dict_equal_torchinfos():
    import torchinfo

    from legoc.tools.instance import instantiate
    from legoc.tools.statedict import state_dict_layout
    from legoc.tools.summary import summarize

    spec = "model Net():\n    input [4, 6, 6]\n    conv 8\n    permute (1, 2, 0)\n    layernorm\n    linear 16\n    permute (2, 0, 1)\n"
    result = compile_source(spec, "t.lego")
    model = load_module(result.code).Net()
    summary = summarize(instantiate(result.analysis, "Net"), 2)
    stats = torchinfo.summary(model, input_data=[torch.randn(2, 4, 6, 6)], depth=100, verbose=0, mode="eval")
    assert (summary.totals.params, summary.totals.mult_adds) == (stats.total_params, stats.total_mult_adds)
    assert summary.totals.forward_backward_mb == pytest.approx(stats.total_output_bytes / 1e6)
    layout = state_dict_layout(result.analysis, "Net")
    assert [(e.key, tuple(e.shape)) for e in layout] == [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
