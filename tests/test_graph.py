"""Dataflow graphs: named tensors, several inputs and outputs, input-size
rules, and the diagnostics of graph mistakes (each at its line and column)."""

from __future__ import annotations

import pytest
import torch

from conftest import EXAMPLES, load_module
from legoc.ir import symbolic as sy
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError


def unet_spec(input_shape: str) -> str:
    text = (EXAMPLES / "unet.lego").read_text()
    assert "input x: [n_channels, H, W]" in text
    return text.replace("input x: [n_channels, H, W]", f"input x: {input_shape}")


def test_symbolic_unet_checks_its_input_size_in_forward():
    result = compile_source(unet_spec("[n_channels, H, W]"), "unet.lego")
    (ir,) = [c for c in result.analysis.classes if c.kind == "model"]
    assert [(str(r.dim), r.multiple) for r in ir.dim_rules] == [("H", 16), ("W", 16)]
    assert "H must be a multiple of 16: forward raises AssertionError otherwise." in result.code
    module = load_module(result.code)
    model = module.UNet().eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 48)).shape == (1, 2, 32, 48)
        with pytest.raises(AssertionError, match=r"UNet: H must be a multiple of 16 .*got 250"):
            model(torch.randn(1, 3, 250, 256))
        with pytest.raises(AssertionError, match=r"UNet: W must be a multiple of 16 .*got 250"):
            model(torch.randn(1, 3, 256, 250))


def test_fixed_unet_input_that_breaks_a_skip_is_a_compile_error_at_the_join():
    with pytest.raises(SpecError) as info:
        check_source(unet_spec("[n_channels, 250, 250]"), "unet.lego")
    first = info.value.diagnostics[0]
    text = (EXAMPLES / "unet.lego").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if "-> cat ->" in t)
    assert (first.span.line, first.span.column) == (line, text[line - 1].index("cat") + 1)
    assert "[512, 31, 31] and [512, 30, 30]" in first.message
    call_line = next(i for i, t in enumerate(text, 1) if "(x5, x4) -> up1: up 512" in t)
    assert [n.span.line for n in first.notes] == [call_line]


def test_several_outputs_are_a_dict_and_inputs_are_forward_arguments():
    spec = """
block fuse(c)(a, b):
    s = (a, b) -> add
    return s -> conv c kernel_size=1

model Two():
    input image: [3, 16, 16]
    input depth: [3, 16, 16]
    both = (image, depth) -> cat -> conv 8
    fused = (image, depth) -> fuse 4
    output features = both
    output small = fused -> maxpool 2
"""
    result = compile_source(spec, "two.lego")
    assert "def forward(self, image: Tensor, depth: Tensor) -> dict[str, Tensor]:" in result.code
    assert "features = both  # [B, 8, 16, 16]" in result.code
    assert 'return {"features": features, "small": small}' in result.code
    model = load_module(result.code).Two()
    out = model(torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16))
    assert {k: tuple(v.shape) for k, v in out.items()} == {"features": (2, 8, 16, 16), "small": (2, 4, 8, 8)}
    defaults = result.analysis.defaults["Two"]
    assert [(p.name, [sy.value_of(d) for d in p.shape]) for p in defaults.outputs] == [("features", [8, 16, 16]), ("small", [4, 8, 8])]
    assert sum(p.numel() for p in model.parameters()) == sy.value_of(defaults.n_params)


def test_names_that_are_python_keywords_become_safe_locals():
    spec = "model M():\n    input lambda: [4]\n    class = lambda -> linear 2\n    output self = class\n"
    code = compile_source(spec, "k.lego").code
    assert "def forward(self, lambda_: Tensor) -> Tensor:" in code
    assert "class_ = self.linear(lambda_)" in code
    model = load_module(code).M()
    assert "return self_" in code
    assert model(torch.randn(3, 4)).shape == (3, 2)


def diagnostics(spec: str) -> list:
    with pytest.raises(SpecError) as info:
        check_source(spec, "g.lego")
    return [(d.span.line, d.span.column, d.message, d.hint) for d in info.value.diagnostics]


HEAD = "model M():\n    input x: [3, 8, 8]\n"


@pytest.mark.parametrize(
    "body, line, column, message",
    [
        ("    y = x -> conv 4\n    output z = yy -> relu\n", 4, 16, "tensor `yy` is not defined"),
        ("    y = x -> conv 4\n    y = x -> conv 5\n    output z = y\n", 4, 5, "tensor `y` is defined twice"),
        ("    y = x -> conv 4\n    output y2\n", 4, 12, "tensor `y2` is not defined"),
        ("    a = x -> conv 4\n    b = x -> conv 4 stride=2\n    output c = (a, b) -> cat\n", 5, 26, "[4, 8, 8] and [4, 4, 4]"),
        ("    a = x -> conv 4\n    output c = (a, x) -> add\n", 4, 26, "`add` needs tensors of one shape: [4, 8, 8] and [3, 8, 8]"),
        ("    a = x -> conv 4\n    output c = (a, x) -> conv 3\n", 4, 26, "a tuple of tensors must flow into"),
        ("    a = x -> cat\n    output a\n", 3, 14, "joins a tuple of tensors"),
        ("    y = x -> conv 4\n", 1, 7, "needs at least one `output"),
        ("    y = x -> conv 4\n    return y\n", 4, 5, "`return`"),
        ("    conv 4\n", 3, 5, "each line names its result"),
    ],
)
def test_graph_errors(body, line, column, message):
    found = diagnostics(HEAD + body)
    assert any((l, c) == (line, column) and message in m for l, c, m, _ in found), found


def test_undefined_tensor_suggests_the_close_name():
    found = diagnostics(HEAD + "    feat = x -> conv 4\n    output y = feet -> relu\n")
    assert found[0][3] == "did you mean `feat`?"


def test_block_with_two_inputs_called_with_one_tensor():
    spec = "block j(c)(a, b):\n    return (a, b) -> cat\n\n" + HEAD + "    output y = x -> j 3\n"
    found = diagnostics(spec)
    assert any("takes 2 inputs" in m for _, _, m, _ in found), found


def test_unused_tensors_and_inputs_are_warnings():
    spec = "model M():\n    input x: [3, 8, 8]\n    input extra: [3, 8, 8]\n    a = x -> conv 4\n    b = x -> conv 4\n    output y = a\n"
    result = check_source(spec, "g.lego")
    warnings = [(d.span.line, d.span.column, d.message) for d in result.diagnostics]
    assert (3, 5, "input `extra` is never used") in warnings
    assert (5, 5, "tensor `b` is never used") in warnings
    assert all(d.severity == "warning" for d in result.diagnostics)


def test_rebinding_a_name_from_its_old_value_is_allowed():
    spec = HEAD + "    y = x -> conv 4\n    y = (y, x) -> cat\n    output z = y\n"
    result = compile_source(spec, "g.lego")
    assert [sy.value_of(d) for d in result.analysis.defaults["M"].output] == [7, 8, 8]


def test_size_rule_that_no_input_size_meets_is_an_error():
    spec = "model M():\n    input x: [3, H, W]\n    a = x -> maxpool 2\n    output y = (a, x) -> cat\n"
    found = diagnostics(spec)
    assert any("no input size satisfies this" in m for _, _, m, _ in found), found
