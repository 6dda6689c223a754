"""Products of tensors (`einsum`, `matmul`), differential against torch: the
shapes legoc infers are the shapes the generated module computes, its
values are torch.einsum's and torch.matmul's on the same tensors, the
summary counts their multiply-adds, and misuse gives located diagnostics."""

from __future__ import annotations

import typing

import pytest
import torch

from conftest import EXAMPLES, load_module, torchvision_definitions
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import instantiate
from legoc.tools.summary import summarize


def _compile(spec: str, model: str = "M"):
    compiled = compile_source(spec, "t.lego")
    return compiled, getattr(load_module(compiled.code), model)


def _out_shape(compiled, model: str = "M"):
    ir = next(c for c in compiled.analysis.classes if c.name == model)
    return tuple(sy.value_of(e) for e in ir.outputs[0].shape)


def _error(spec: str):
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return info.value.diagnostics[0]


def _two(a, b, stage: str) -> str:
    return (
        "model M():\n"
        f"    input a: [{', '.join(map(str, a))}]\n"
        f"    input b: [{', '.join(map(str, b))}]\n"
        f"    output y = (a, b) -> {stage}\n"
    )


EINSUMS = [
    # (operand shapes, pattern, torch's equation without the batch axis)
    ([[4, 5, 6], [3, 5, 6]], "c h w, d h w -> c d", "chw,dhw->cd"),
    ([[4, 5], [5, 7]], "i k, k j -> i j", "ik,kj->ij"),
    ([[4, 5], [5, 7]], "i k, k j -> j i", "ik,kj->ji"),
    ([[4, 5], [4, 5]], "t d, t d -> t", "td,td->t"),
    ([[2, 4, 8], [2, 6, 8]], "heads q dim, heads k dim -> heads q k", "hqd,hkd->hqk"),
    ([[3, 4], [4], [4, 2]], "i j, j, j k -> i k", "ij,j,jk->ik"),
    ([[3, 4], [5]], "i j, k -> i j k", "ij,k->ijk"),
    ([[3, 4], [4, 2]], "b j, j k -> b k", "bj,jk->bk"),  # an axis named b: the batch axis takes another letter
]


@pytest.mark.parametrize("shapes, pattern, equation", EINSUMS)
def test_einsum_shapes_and_values_are_torchs(shapes, pattern, equation):
    names = [f"x{i}" for i in range(len(shapes))]
    spec = "model M():\n" + "".join(f"    input {n}: [{', '.join(map(str, s))}]\n" for n, s in zip(names, shapes))
    spec += f'    output y = ({", ".join(names)}) -> einsum "{pattern}"\n'
    compiled, cls = _compile(spec)
    torch.manual_seed(0)
    xs = [torch.randn(2, *s, dtype=torch.float64) for s in shapes]
    got = cls()(*xs)
    want = torch.stack([torch.einsum(equation, *(x[i] for x in xs)) for i in range(2)])
    assert got.shape == want.shape == (2, *_out_shape(compiled))
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_the_gram_matrix_is_generated_as_einops_writes_it():
    spec = (
        "model M(C=8)(x):\n"
        "    input x: [3, H, W]\n"
        "    f = x -> conv C kernel_size=3 padding=1\n"
        '    output g = (f, f) -> einsum "c h w, d h w -> c d" -> div 64\n'
    )
    compiled, cls = _compile(spec)
    assert 'g = torch.einsum("bchw,bdhw->bcd", f, f)  # [B, C, C]' in compiled.code
    model = cls().eval()
    x = torch.randn(2, 3, 8, 8)
    f = model.conv(x)
    torch.testing.assert_close(model(x), torch.einsum("bchw,bdhw->bcd", f, f) / 64)
    assert model(x).shape == (2, 8, 8)


MATMULS = [
    ([4, 5], [5, 7], [4, 7]),
    ([3, 4, 5], [3, 5, 2], [3, 4, 2]),
    ([3, 4, 5], [1, 5, 2], [3, 4, 2]),
    ([1, 4, 5], [6, 5, 2], [6, 4, 2]),
]


@pytest.mark.parametrize("a, b, out", MATMULS)
def test_matmul_shapes_and_values_are_torchs(a, b, out):
    compiled, cls = _compile(_two(a, b, "matmul"))
    assert "y = torch.matmul(a, b)" in compiled.code
    assert _out_shape(compiled) == tuple(out)
    x, y = torch.randn(2, *a), torch.randn(2, *b)
    got = cls()(x, y)
    assert got.shape == (2, *out)
    assert torch.equal(got, torch.matmul(x, y))


def test_symbolic_sizes_flow_through_and_mismatches_raise_at_run_time():
    spec = (
        "model M()(a, b):\n"
        "    input a: [T, 8]\n"
        "    input b: [S, 8]\n"
        '    scores = (a, b) -> einsum "t d, s d -> t s"\n'
        "    output y = (scores, b) -> matmul\n"
    )
    compiled, cls = _compile(spec)
    ir = compiled.analysis.classes[0]
    assert [sy.to_text(e) for e in ir.outputs[0].shape] == ["T", "8"]
    a, b = torch.randn(2, 5, 8), torch.randn(2, 3, 8)
    assert torch.allclose(cls()(a, b), torch.einsum("btd,bsd->bts", a, b) @ b)
    # An axis of two symbolic sizes: checked when forward runs.
    bad = "model M()(a, b):\n    input a: [C, H]\n    input b: [C, W]\n" '    output y = (a, b) -> einsum "c h, c h -> c"\n'
    compiled, cls = _compile(bad)
    assert torch.equal(cls()(torch.ones(1, 2, 3), torch.ones(1, 2, 3)), torch.full((1, 2), 3.0))
    with pytest.raises(AssertionError, match="H == W|W == H"):
        cls()(torch.ones(1, 2, 3), torch.ones(1, 2, 4))


def test_summary_counts_the_multiply_adds_as_other_ops():
    spec = (
        "model M()(a, b):\n"
        "    input a: [4, 5, 6]\n"
        "    input b: [4, 6, 7]\n"
        '    g = (a, a) -> einsum "c h w, d h w -> c d"\n'
        "    output y = (a, b) -> matmul\n"
        "    output z = g\n"
    )
    compiled = compile_source(spec, "t.lego")
    ir = compiled.analysis.classes[0]
    instance = instantiate(compiled.analysis, "M", bind_inputs(ir, []))
    summary = summarize(instance, batch=3)
    rows = {row.kind: row for row in summary.rows}
    assert rows["einsum"].other_ops == 3 * 4 * 4 * 5 * 6
    assert rows["matmul"].other_ops == 3 * 4 * 5 * 7 * 6
    assert rows["einsum"].mult_adds == rows["matmul"].mult_adds == 0  # torchinfo counts none


@pytest.mark.parametrize(
    "stage, code, column, message",
    [
        ('einsum "c h w, d h -> c d"', "LG319", 41, "the second operand's pattern names 2 axes, but the tensor [3, 4, 6] has 3"),
        ('einsum "c h w, d h w -> c d"', "LG319", 45, "axis `w` has size 5 in the first operand but 6 in the second"),
        ('einsum "c h, d h -> c d"', "LG319", 34, "the first operand's pattern names 2 axes, but the tensor [3, 4, 5] has 3"),
        ('einsum ", d h x -> d"', "LG319", 34, "the first operand's pattern names 0 axes, but the tensor [3, 4, 5] has 3"),
        ('einsum "c h w; d h x -> c"', "LG218", 39, "`;` cannot appear"),
        ('einsum "c h 1, d h x -> c"', "LG218", 38, "`1` cannot appear"),
        ('einsum "c h w, d h x -> c e"', "LG218", 52, "axis `e` of the result is in no operand"),
        ('einsum "c h w, d h x -> c c"', "LG218", 52, "axis `c` appears twice in the result"),
        ('einsum "c c w, d h x -> c"', "LG218", 36, "axis `c` appears twice in the first operand's pattern"),
        ('einsum "c (h w), d h x -> c"', "LG218", 36, "groups `( )` cannot appear"),
        ('einsum "c ... , d h x -> c"', "LG218", 36, "`...` cannot appear"),
        ('einsum "c h w, d h x"', "LG218", 34, "one `->`"),
        ('einsum "c h w -> c"', "LG424", 34, "the pattern has 1 operand, but the tuple has 2 tensors"),
        ("einsum", "LG424", 26, "`einsum` takes a pattern string"),
        ('einsum "c h w, d h x -> c" k=2', "LG424", 53, "takes only its pattern string"),
        ("matmul", "LG319", 26, "`matmul` needs the first tensor's last axis to match the second's second-to-last, but they are [3, 4, 5] and [3, 4, 6]"),
        ("matmul 2", "LG424", 33, "`matmul` takes no arguments"),
        ("p: matmul", "LG424", 29, "`matmul` has no parameters, so it takes no name"),
    ],
)
def test_misuse_is_a_located_diagnostic(stage, code, column, message):
    d = _error(_two([3, 4, 5], [3, 4, 6], stage))
    assert (d.code, d.span.line, d.span.column) == (code, 4, column)
    assert message in d.message
    assert d.hint


def test_matmul_misuse():
    d = _error(_two([3, 4, 5], [5, 2], "matmul"))
    assert (d.code, d.span.line, d.span.column) == ("LG319", 4, 26)
    assert "two tensors of one rank, at least 2 besides the batch axis, but they are [3, 4, 5] and [5, 2]" in d.message
    d = _error(_two([3, 4, 5], [2, 5, 2], "matmul"))
    assert d.code == "LG319" and "leading axes" in d.message
    d = _error("model M():\n    input a: [3, 4]\n    input b: [4, 5]\n    input c: [5, 6]\n    output y = (a, b, c) -> matmul\n")
    assert (d.code, d.span.line, d.span.column) == ("LG424", 5, 29)
    assert "`matmul` multiplies two tensors, but the tuple has 3" in d.message


@pytest.mark.parametrize("stage", ['einsum "c h w -> c"', "matmul"])
def test_a_product_after_one_tensor_is_an_error(stage):
    d = _error(f"model M():\n    input a: [3, 4, 5]\n    output y = a -> {stage}\n")
    assert (d.code, d.span.line, d.span.column) == ("LG424", 3, 21)
    assert "multiplies the tensors of a tuple" in d.message


@pytest.mark.parametrize("stage, factor", [("div size * size", 1 / 64), ("mul size - 2", 6), ("sub -size", None), ("div size // 2", 1 / 4)])
def test_a_scale_by_an_expression_keeps_its_precedence(stage, factor):
    # Normalising a Gram matrix by h * w: `div size * size` was generated
    # as `g / self.size * self.size`, which multiplies back.
    spec = "model M(size=8)(x):\n    input x: [3, size, size]\n" f'    output g = (x, x) -> einsum "c h w, d h w -> c d" -> {stage}\n'
    _, cls = _compile(spec)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    gram = torch.einsum("bchw,bdhw->bcd", x, x)
    want = gram + 8 if factor is None else gram * factor
    torch.testing.assert_close(cls()(x), want)


def test_style_transfer_grams_are_the_einops_docs_on_torchvisions_vgg16_features():
    # examples/style_transfer.lego against pytorch/examples' Vgg16 slices of
    # torchvision's vgg16().features, with the Gram matrix as the einops
    # docs write it: einsum("bchw,bdhw->bcd") / (h * w).

    make_layers = torchvision_definitions("models/vgg.py", "make_layers", cast=typing.cast)["make_layers"]
    torch.manual_seed(0)
    features = make_layers([64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]).eval()  # cfgs["D"]
    path = EXAMPLES / "style_transfer.lego"
    model = getattr(load_module(compile_source(path.read_text(), str(path)).code, "style_transfer"), "StyleTransfer")().eval()
    starts = {"slice1": 0, "slice2": 4, "slice3": 9, "slice4": 16}
    renamed = {}
    for key in model.state_dict():
        slice_, index, name = key.split(".")
        renamed[key] = features.state_dict()[f"{starts[slice_] + int(index)}.{name}"]
    model.load_state_dict(renamed, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        got = model(x)
        f, want = x, {}
        for i, (start, end) in enumerate([(0, 4), (4, 9), (9, 16), (16, 23)], start=1):
            f = features[start:end](f)
            h, w = f.shape[2:]
            want[f"gram{i}"] = torch.einsum("bchw,bdhw->bcd", f, f) / (h * w)
    assert got.keys() == want.keys()
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-5, atol=1e-5)


BLOCKS = """\
block attend()(q, k):
    return (q, k) -> einsum "t d, s d -> t s"

model M()(x):
    input x: [3, 16, 16]
    t = x -> rearrange "c h w -> (h w) c"
    u = x -> conv WIDTH -> rearrange "c h w -> (h w) c"
    output a = (t, u) -> attend
"""


def test_a_block_checks_its_products_at_each_call():
    d = _error(BLOCKS.replace("WIDTH", "8"))
    assert (d.code, d.span.line, d.span.column) == ("LG319", 2, 37)
    assert d.message == "axis `d` has size 3 in the first operand but 8 in the second"
    assert d.notes and d.notes[0].span.line == 8
    compiled, cls = _compile(BLOCKS.replace("WIDTH", "3"))
    model = cls()
    x = torch.randn(2, 3, 16, 16)
    t = x.flatten(2).transpose(1, 2)
    u = model.conv(x).flatten(2).transpose(1, 2)
    torch.testing.assert_close(model(x), t @ u.transpose(1, 2))
    assert _out_shape(compiled) == (256, 256)


def test_products_export_with_dynamic_sizes():
    spec = (
        "model M(C=4)(x):\n"
        "    input x: [3, T, D]\n"
        "    f = x -> conv C kernel_size=3 padding=1\n"
        '    g = (f, f) -> einsum "c t d, e t d -> c e"\n'
        "    output y = (g, g) -> matmul\n"
    )
    _, cls = _compile(spec)
    model = cls().eval()
    t, d = torch.export.Dim("T", min=2, max=64), torch.export.Dim("D", min=2, max=64)
    batch = torch.export.Dim("B", min=2, max=16)
    program = torch.export.export(model, (torch.randn(2, 3, 5, 7),), dynamic_shapes=({0: batch, 2: t, 3: d},))
    x = torch.randn(3, 3, 9, 4)
    f = model.conv(x)
    g = torch.einsum("bctd,betd->bce", f, f)
    torch.testing.assert_close(program.module()(x), g @ g)
