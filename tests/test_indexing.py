"""Indexing and unbinding a tensor in a dataflow body, differential against
torch: `x -> select i` is `x[:, i]`, `x -> slice a b` is `x[:, a:b]`
(with `dim=` and `step=`), `(q, k, v) = x -> unbind 0` is `x.unbind(1)`.
The generated module's outputs are torch's own indexing of the input, of
the shapes legoc infers (symbolic ones too), and misuse is a diagnostic
(LG219, LG320, LG425)."""

from __future__ import annotations

import pytest
import torch

from conftest import load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import instantiate
from legoc.tools.summary import summarize


def _compile(spec: str, model: str = "M"):
    compiled = compile_source(spec, "t.lego")
    return compiled, getattr(load_module(compiled.code), model)


def _ports(compiled, model: str = "M") -> dict[str, tuple]:
    ir = next(c for c in compiled.analysis.classes if c.name == model)
    return {p.name: tuple(sy.value_of(e) if sy.is_const(e) else sy.to_text(e) for e in p.shape) for p in ir.outputs}


def _error(spec: str):
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return info.value.diagnostics[0]


@pytest.mark.parametrize(
    "shape, stage, code, want",
    [
        ([7, 16], "select 0", "x[:, 0]", lambda x: x[:, 0]),
        ([7, 16], "select -1", "x[:, -1]", lambda x: x[:, -1]),
        ([7, 16], "select 15 dim=1", "x[:, :, 15]", lambda x: x[:, :, 15]),
        ([3, 5, 6], "select -2 dim=-1", "x[:, :, :, -2]", lambda x: x[:, :, :, -2]),
        ([7, 16], "slice 1", "x[:, 1:]", lambda x: x[:, 1:]),
        ([7, 16], "slice 2 5", "x[:, 2:5]", lambda x: x[:, 2:5]),
        ([7, 16], "slice 0 (-1)", "x[:, 0:-1]", lambda x: x[:, 0:-1]),
        ([7, 16], "slice -3", "x[:, -3:]", lambda x: x[:, -3:]),
        ([7, 16], "slice 1 16 step=3 dim=1", "x[:, :, 1:16:3]", lambda x: x[:, :, 1:16:3]),
        ([7, 16], "slice 0 7 step=2", "x[:, 0:7:2]", lambda x: x[:, 0:7:2]),
        ([7, 16], "slice 3 3", "x[:, 3:3]", lambda x: x[:, 3:3]),
    ],
)
def test_indexing_is_torchs(shape, stage, code, want):
    spec = f"model M():\n    input x: [{', '.join(map(str, shape))}]\n    output y = x -> {stage}\n"
    compiled, cls = _compile(spec)
    assert f"y = {code}  #" in compiled.code
    x = torch.randn(2, *shape)
    got, expected = cls()(x), want(x)
    assert tuple(got.shape[1:]) == _ports(compiled)["y"] == tuple(expected.shape[1:])
    assert torch.equal(got, expected)


def test_class_token_of_a_symbolic_sequence():
    # ViT's head reads the class token; the other tokens are a symbolic length.
    spec = (
        "model M(D=8):\n"
        "    input x: [T, D]\n"
        "    output cls = x -> select 0\n"
        "    output tokens = x -> slice 1\n"
        "    output pairs = x -> slice 0 T step=2\n"
        "    output last = x -> select -1 dim=-1\n"
    )
    with pytest.raises(SpecError) as info:  # `T` is known only when forward runs
        check_source(spec, "t.lego")
    assert info.value.diagnostics[0].code == "LG307"
    spec = spec.replace("    output pairs = x -> slice 0 T step=2\n", "    output pairs = x -> slice 0 step=2\n")
    compiled, cls = _compile(spec)
    assert _ports(compiled) == {"cls": ("D",), "tokens": ("T - 1", "D"), "pairs": ("(T + 1) // 2", "D"), "last": ("T",)}
    model = cls()
    for t in (1, 2, 5, 197):
        x = torch.randn(2, t, 8)
        out = model(x)
        assert torch.equal(out["cls"], x[:, 0])
        assert torch.equal(out["tokens"], x[:, 1:]) and out["tokens"].shape[1] == t - 1
        assert torch.equal(out["pairs"], x[:, 0::2]) and out["pairs"].shape[1] == (t + 1) // 2
        assert torch.equal(out["last"], x[:, :, -1])


def test_an_index_past_a_symbolic_axis_is_checked_when_forward_runs():
    spec = "model M():\n    input x: [T, 4]\n    output y = x -> select 3\n"
    compiled, cls = _compile(spec)
    assert "torch._assert(t >= 4, " in compiled.code  # T read into the local t (pep8-naming N806)
    assert torch.equal(cls()(torch.arange(40.0).view(2, 5, 4)), torch.arange(40.0).view(2, 5, 4)[:, 3])
    with pytest.raises(AssertionError, match="T must be at least 4"):
        cls()(torch.zeros(1, 3, 4))


def test_indices_from_a_blocks_parameters_are_checked_at_each_call():
    spec = (
        "block cut(a, b)(x):\n"
        "    return x -> slice a b\n"
        "model M():\n"
        "    input x: [6, 3]\n"
        "    output y = x -> cut 1 4\n"
    )
    compiled, cls = _compile(spec)
    assert "out = x[:, self.a : self.b]  # [B, -a + b, L]" in compiled.code  # black spaces the colon of non-simple bounds
    x = torch.randn(2, 6, 3)
    assert torch.equal(cls()(x), x[:, 1:4])
    d = _error(spec.replace("cut 1 4", "cut 4 9"))
    assert (d.code, d.span.line, d.span.column) == ("LG320", 2, 17)
    assert d.message == "`slice a b` runs from position 4 up to 9 of axis 0, of size 6, which is not a range inside it: [6, 3]"
    assert [(n.message, n.span.line) for n in d.notes] == [("in this call of `cut`", 5)]
    assert d.hint or code == "LG420"


@pytest.mark.parametrize(
    "shape, axis, n",
    [([3, 4, 8], 0, 3), ([4, 2, 5], 1, 2), ([2, 3], -1, 3), ([5], 0, 5)],
)
def test_unbind_is_torchs(shape, axis, n):
    names = [f"p{i}" for i in range(n)]
    spec = (
        "model M():\n"
        f"    input x: [{', '.join(map(str, shape))}]\n"
        f"    ({', '.join(names)}) = x -> unbind {axis}\n" + "".join(f"    output {name}\n" for name in names)
    )
    compiled, cls = _compile(spec)
    torch_dim = axis % len(shape) + 1
    assert f"{', '.join(names)} = x.unbind({torch_dim})" in compiled.code
    x = torch.randn(2, *shape)
    got, expected = cls()(x), x.unbind(torch_dim)
    inferred = _ports(compiled)
    for name, part in zip(names, expected):
        assert tuple(got[name].shape[1:]) == inferred[name] == tuple(part.shape[1:])
        assert torch.equal(got[name], part)


def test_unbind_of_qkv_in_a_block_over_a_symbolic_length():
    # timm's Attention: qkv.reshape(B, N, 3, heads, d).permute(2, 0, 3, 1, 4).unbind(0), here after the batch.
    spec = (
        "block heads(h)(x):\n"
        '    (q, k, v) = x -> rearrange "t (s h d) -> s h t d" s=3 h=h -> unbind 0\n'
        "    return (q, k, v) -> add\n"
        "model M():\n"
        "    input x: [T, 24]\n"
        "    output y = x -> heads 2\n"
    )
    compiled, cls = _compile(spec)
    assert "q, k, v = parts.unbind(1)" in compiled.code
    assert _ports(compiled) == {"y": (2, "T", 4)}
    x = torch.randn(2, 5, 24)
    q, k, v = x.reshape(2, 5, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
    assert torch.equal(cls()(x), q + k + v)


def test_summary_lists_indexing_as_views():
    spec = (
        "model M():\n    input x: [3, 5, 4]\n    (a, b, c) = x -> unbind 0\n"
        "    output y = (a, b, c) -> add -> slice 1 -> select 0 dim=1\n"
    )
    compiled = compile_source(spec, "t.lego")
    ir = next(c for c in compiled.analysis.classes if c.name == "M")
    instance = instantiate(compiled.analysis, "M", bind_inputs(ir, [(None, (3, 5, 4))]))
    rows = [(r.kind, r.shape, r.params, r.mult_adds, r.other_ops) for r in summarize(instance).rows]
    assert rows == [
        ("unbind", (1, 5, 4), 0, 0, 0), ("unbind", (1, 5, 4), 0, 0, 0), ("unbind", (1, 5, 4), 0, 0, 0),
        ("add", (1, 5, 4), 0, 0, 40), ("slice", (1, 4, 4), 0, 0, 0), ("select", (1, 4), 0, 0, 0),
    ]


@pytest.mark.parametrize(
    "line, code, column, message",
    [
        ("y = x -> select 6", "LG320", 21, "`select 6` picks a position of axis 0, of size 6, outside it: [6, 4]"),
        ("y = x -> select -7", "LG320", 21, "`select -7` picks a position of axis 0, of size 6, outside it: [6, 4]"),
        ("y = x -> select 4 dim=1", "LG320", 21, "`select 4` picks a position of axis 1, of size 4, outside it: [6, 4]"),
        ("y = x -> slice 2 7", "LG320", 14, "`slice 2 7` runs from position 2 up to 7 of axis 0, of size 6, which is not a range inside it: [6, 4]"),
        ("y = x -> slice 4 2", "LG320", 14, "`slice 4 2` runs from position 4 up to 2 of axis 0, of size 6, which is not a range inside it: [6, 4]"),
        ("y = x -> slice -8", "LG320", 14, "`slice -8` runs from position -2 up to 6 of axis 0, of size 6, which is not a range inside it: [6, 4]"),
        ("y = x -> select 0 dim=2", "LG425", 23, "`select` indexes axis 2, but the tensor [6, 4] has axes 0 to 1 (the batch axis is not counted)"),
        ("y = x -> select 1.5", "LG425", 21, "`select` takes integer indices, not 1.5"),
        ("y = x -> select", "LG425", 14, "`select` takes an index"),
        ("y = x -> select 1 2", "LG425", 14, "`select` takes an index"),
        ("y = x -> slice 1 2 3", "LG425", 14, "`slice` takes a start and an optional end"),
        ("y = x -> slice 1 step=0", "LG425", 22, "`slice`'s step must be a positive integer known when the spec is compiled, not 0"),
        ("y = x -> slice 1 by=2", "LG425", 22, "`slice` has no keyword `by`"),
        ("y = x -> flatten -> linear 3 -> select 0 -> select 0", "LG425", 49, "`select` indexes an axis, but the tensor has none besides the batch: []"),
        (
            "(a, b) = x -> unbind 1", "LG219", 19,
            "`unbind 1` makes one part per position of axis 1, of size 4, but 2 names receive them, (a, b), from the tensor [6, 4]",
        ),
        ("(a, b) = x -> unbind 2", "LG425", 26, "`unbind 2` splits axis 2, but the tensor [6, 4] has axes 0 to 1 (the batch axis is not counted)"),
        ("(a, b) = x -> unbind dim=0", "LG425", 26, "`unbind` takes one argument, the axis it splits into its positions"),
        ("(a, b) = x -> unbind 0.5", "LG425", 26, "`unbind`'s axis must be an integer known when the spec is compiled, not 0.5"),
        ("y = x -> unbind 0", "LG420", 14, "`unbind` splits a tensor into named parts, so it ends a pipeline whose result is a tuple of names: `(a, b) = x -> unbind 0`"),
    ],
)
def test_misuse_is_a_diagnostic(line, code, column, message):
    spec = f"model M():\n    input x: [6, 4]\n    {line}\n    output z = x\n"
    d = _error(spec)
    assert (d.code, d.span.line, d.span.column, d.message) == (code, 3, column, message)
    assert d.hint or code == "LG420"


def test_export_with_a_dynamic_sequence_length():
    # The class token and the other tokens of a symbolic length T, and an
    # unbind, trace into one exported graph whose T stays dynamic.
    from torch.export import Dim, export

    spec = (
        "model M(D=8):\n"
        "    input x: [3, T, D]\n"
        "    (q, k, v) = x -> unbind 0\n"
        "    y = (q, k, v) -> add\n"
        "    output cls = y -> select 0\n"
        "    output tokens = y -> slice 1\n"
    )
    _, cls = _compile(spec)
    model = cls().eval()
    exported = export(model, (torch.randn(2, 3, 5, 8),), dynamic_shapes=({2: Dim("T", min=3, max=512)},))
    for t in (3, 9):  # from 3: export specializes sizes 0 and 1 (here T - 1)
        x = torch.randn(2, 3, t, 8)
        got, want = exported.module()(x), model(x)
        assert torch.equal(got["cls"], want["cls"]) and torch.equal(got["tokens"], want["tokens"])
        assert want["tokens"].shape == (2, t - 1, 8)
