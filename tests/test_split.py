"""Splitting a tensor into named parts along channels, `(a, b) = x -> chunk
2` and `(a, b) = x -> split (s1, s2)`, differential against torch: the parts
legoc infers are the parts torch's chunk and split make, the generated code
is torchvision's `x.chunk(2, dim=1)`, and misuse is a diagnostic (LG216,
LG317, LG420, LG421)."""

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
    return {p.name: tuple(sy.value_of(e) for e in p.shape) for p in ir.outputs}


def _error(spec: str):
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return info.value.diagnostics[0]


@pytest.mark.parametrize(
    "shape, stage, want",
    [
        ([8, 5, 5], "chunk 2", lambda x: x.chunk(2, dim=1)),
        ([12, 3, 4], "chunk 3", lambda x: x.chunk(3, dim=1)),
        ([10, 4, 4], "split (2, 3, 5)", lambda x: torch.split(x, [2, 3, 5], dim=1)),
        ([6, 7], "split (1, 5)", lambda x: torch.split(x, [1, 5], dim=1)),
        ([9], "chunk 3", lambda x: x.chunk(3, dim=1)),
    ],
)
def test_parts_are_torchs(shape, stage, want):
    n = len(want(torch.zeros(1, *shape)))
    names = [f"p{i}" for i in range(n)]
    spec = (
        "model M():\n"
        f"    input x: [{', '.join(map(str, shape))}]\n"
        f"    ({', '.join(names)}) = x -> {stage}\n" + "".join(f"    output {name}\n" for name in names)
    )
    compiled, cls = _compile(spec)
    x = torch.randn(2, *shape)
    got, expected = cls()(x), want(x)
    inferred = _ports(compiled)
    for name, part in zip(names, expected):
        assert tuple(got[name].shape[1:]) == inferred[name] == tuple(part.shape[1:])
        assert torch.equal(got[name], part)


def test_chunk_in_a_block_is_torchvisions_code_and_checks_every_call():
    spec = (
        "block swap()(x):\n"
        "    (x1, x2) = x -> chunk 2\n"
        "    return (x2, x1) -> cat\n"
        "model M(c=6):\n"
        "    input x: [c, 4, 4]\n"
        "    output y = x -> swap\n"
    )
    compiled, cls = _compile(spec)
    assert "        # [B, in_channels // 2, H, W], [B, in_channels // 2, H, W]\n        x1, x2 = x.chunk(2, dim=1)\n" in compiled.code
    x = torch.randn(2, 6, 4, 4)
    assert torch.equal(cls()(x), torch.cat([x[:, 3:], x[:, :3]], dim=1))
    # The block's channels are symbolic: the division is checked at each call.
    d = _error(spec.replace("c=6", "c=7"))
    assert (d.code, d.span.line, d.span.column) == ("LG317", 2, 21)
    assert d.message == "`chunk 2` splits the channels into 2 equal parts, but 7 channels do not divide by 2: [7, 4, 4]"
    assert [(n.message, n.span.line) for n in d.notes] == [("in this call of `swap`", 6)]


def test_split_after_stages_with_sizes_from_parameters():
    spec = (
        "block glu(c)(x):\n"
        "    (a, b) = x -> conv 2 * c kernel_size=1 -> split (c, c)\n"
        "    return (a, b) -> mul\n"
        "model M():\n"
        "    input x: [4, 5, 5]\n"
        "    output y = x -> glu 3\n"
    )
    compiled, cls = _compile(spec)
    assert "a, b = torch.split(parts, [self.c, self.c], dim=1)" in compiled.code
    model = cls()
    x = torch.randn(2, 4, 5, 5)
    a, b = model.glu.conv(x).split(3, dim=1)
    assert torch.equal(model(x), a * b)
    assert _ports(compiled) == {"y": (3, 5, 5)}


def test_summary_lists_the_parts_as_views():
    spec = "model M():\n    input x: [8, 4, 4]\n    (a, b) = x -> chunk 2\n    output y = (b, a) -> cat\n"
    compiled = compile_source(spec, "t.lego")
    ir = next(c for c in compiled.analysis.classes if c.name == "M")
    instance = instantiate(compiled.analysis, "M", bind_inputs(ir, [(None, (8, 4, 4))]))
    rows = [(r.kind, r.shape, r.params, r.mult_adds, r.other_ops) for r in summarize(instance).rows]
    assert rows == [("chunk", (1, 4, 4, 4), 0, 0, 0), ("chunk", (1, 4, 4, 4), 0, 0, 0), ("cat", (1, 8, 4, 4), 0, 0, 0)]


@pytest.mark.parametrize(
    "line, code, column, message",
    [
        ("(a, b) = x -> chunk 3", "LG216", 19, "`chunk` makes 3 parts, but 2 names receive them: (a, b)"),
        ("(a, b) = x -> split (1, 2, 5)", "LG216", 19, "`split` makes 3 parts, but 2 names receive them: (a, b)"),
        (
            "(a, b) = x -> conv 3 kernel_size=1 -> chunk 2", "LG317", 43,
            "`chunk 2` splits the channels into 2 equal parts, but 3 channels do not divide by 2: [3, 6, 6]",
        ),
        ("(a, b) = x -> split (3, 4)", "LG317", 19, "`split` makes parts of 7 channels in all, but the tensor has 8: [8, 6, 6]"),
        (
            "(a, b) = x -> relu", "LG420", 14,
            "`(a, b) = ...` names the parts of a split: end the pipeline with `chunk 2` (equal parts) or `split (...)` (2 sizes)",
        ),
        (
            "(a, b) = x -> chunk 2 -> relu", "LG420", 19,
            "`chunk` splits a tensor into named parts, so it ends a pipeline whose result is a tuple of names: `(a, b) = x -> chunk 2`",
        ),
        (
            "a = x -> split (4, 4)", "LG420", 14,
            "`split` splits a tensor into named parts, so it ends a pipeline whose result is a tuple of names: `(a, b) = x -> split (16, 48)`",
        ),
        ("(a, b) = x -> chunk 2.5", "LG421", 25, "`chunk`'s number of parts must be a positive integer, not 2.5"),
        ("(a, b) = x -> split (0, 8)", "LG421", 26, "a part's channels must be a positive integer, not 0"),
        ("(a, b) = x -> chunk 2 dim=2", "LG421", 27, "`chunk` takes no keyword arguments; it splits along channels"),
        ("(a, b) = x -> chunk (4, 4)", "LG421", 25, "`chunk` takes the number of equal parts; give each part's channels with `split (...)`"),
        ("(a, b) = x -> chunk", "LG421", 19, "`chunk` takes one argument: `chunk n`, the number of equal parts"),
        ("(a, a) = x -> chunk 2", "LG208", 9, "`a` names two parts of one split"),
        ("(a, b) = z -> chunk 2", "LG207", 14, "tensor `z` is not defined"),
    ],
)
def test_misuse_is_a_diagnostic(line, code, column, message):
    spec = f"model M():\n    input x: [8, 6, 6]\n    {line}\n    output y = (a, b) -> cat\n"
    d = _error(spec)
    assert (d.code, d.span.line, d.span.column, d.message) == (code, 3, column, message)


def test_chunk_in_a_sequential_body_is_misplaced():
    d = _error("model M():\n    input [8, 6, 6]\n    chunk 2\n")
    assert (d.code, d.span.line, d.span.column) == ("LG420", 3, 5)


def test_a_part_defined_twice_is_reported_at_its_name():
    spec = "model M():\n    input x: [8, 6, 6]\n    a = x -> relu\n    (a, b) = x -> chunk 2\n    output y = (a, b) -> cat\n"
    d = _error(spec)
    assert (d.code, d.span.line, d.span.column, d.message) == ("LG208", 4, 6, "tensor `a` is defined twice")


def test_a_failed_split_still_defines_its_parts():
    # The later line reads the parts: no second error about them.
    spec = "model M():\n    input x: [8, 6, 6]\n    (a, b) = x -> chunk 3\n    output y = (a, b) -> cat\n"
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    assert [d.code for d in info.value.diagnostics] == ["LG216"]


def test_an_unused_part_is_a_warning():
    spec = "model M():\n    input x: [8, 6, 6]\n    (a, b) = x -> chunk 2\n    output y = a -> relu\n"
    warnings = check_source(spec, "t.lego").diagnostics
    assert [(w.code, w.span.line, w.span.column, w.message) for w in warnings] == [("LG507", 3, 9, "tensor `b` is never used")]
