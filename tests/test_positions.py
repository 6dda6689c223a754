"""`pos = idx -> arange`: positions for learned position embeddings, without
a batch axis, differential against torch (torch.arange, nn.Embedding and
broadcasting), the length rule against the embedding's rows (LG322), the
summary against torchinfo, and misuse (LG427)."""

from __future__ import annotations

import pytest
import torch
import torchinfo

from conftest import load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import instantiate
from legoc.tools.summary import summarize

SPEC = (
    "model M(vocab=100, n_positions=16, dim=8)(idx):\n"
    "    input idx: [T]\n"
    "    tok = idx -> wte: embedding vocab dim\n"
    "    pos = idx -> arange\n"
    "    p = pos -> wpe: embedding n_positions dim\n"
    "    output y = (tok, p) -> add -> layernorm\n"
)


def _compile(spec: str):
    compiled = compile_source(spec, "t.lego")
    return compiled, load_module(compiled.code).M


def _error(spec: str):
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return info.value.diagnostics[0]


def test_positions_index_the_embedding_and_broadcast_over_the_batch():
    compiled, cls = _compile(SPEC)
    assert "pos = torch.arange(t, device=idx.device)  # [T]" in compiled.code  # T read into the local t (N806)
    assert "p = self.wpe(pos)  # [T, dim]" in compiled.code
    torch.manual_seed(0)
    model = cls().eval()
    idx = torch.randint(0, 100, (3, 11))
    want = model.layernorm(model.wte(idx) + model.wpe.weight[:11].unsqueeze(0))
    torch.testing.assert_close(model(idx), want)
    ir = compiled.analysis.classes[0]
    assert [sy.to_text(e) for e in ir.outputs[0].shape] == ["T", "dim"]


def test_a_length_past_the_embedding_is_a_run_time_error_or_a_compile_time_one():
    _, cls = _compile(SPEC)
    model = cls()
    model(torch.zeros(1, 16, dtype=torch.long))
    with pytest.raises(AssertionError, match="T must satisfy T <= n_positions"):
        model(torch.zeros(1, 17, dtype=torch.long))
    d = _error(SPEC.replace("[T]", "[32]"))
    assert (d.code, d.span.line, d.span.column) == ("LG322", 5, 21)
    assert d.message == "the positions of a sequence of length 32 index an embedding of 16 rows: the length must be at most 16"
    assert d.hint
    # In one pipeline, and within a block: the rule reaches the model's input.
    spec = (
        "block embed(n_positions, dim)(idx):\n"
        "    tok = idx -> wte: embedding 100 dim\n"
        "    p = idx -> arange -> wpe: embedding n_positions dim\n"
        "    return (tok, p) -> add\n"
        "model M()(idx):\n"
        "    input idx: [T]\n"
        "    output y = idx -> embed 8 4\n"
    )
    compiled, cls = _compile(spec)
    assert "T must be" in compiled.code or "T <= 8" in compiled.code
    cls()(torch.zeros(2, 8, dtype=torch.long))
    with pytest.raises(AssertionError, match="M: T must satisfy T <= 8"):
        cls()(torch.zeros(2, 9, dtype=torch.long))


@pytest.mark.parametrize("batch, length", [(1, 5), (3, 12)])
def test_the_summary_equals_torchinfo(batch, length):
    compiled, cls = _compile(SPEC)
    ir = compiled.analysis.classes[0]
    summary = summarize(instantiate(compiled.analysis, "M", bind_inputs(ir, [(None, (length,))])), batch)
    stats = torchinfo.summary(cls(), input_data=[torch.randint(0, 16, (batch, length))], depth=100, verbose=0, mode="eval")
    assert (summary.totals.params, summary.totals.mult_adds) == (stats.total_params, stats.total_mult_adds)
    assert summary.totals.forward_backward_mb == pytest.approx(stats.total_output_bytes / 1e6)
    ours = [(r.path, list(r.shape), r.params, r.mult_adds) for r in summary.rows if r.path is not None]
    theirs = [(name, i.output_size, i.num_params, i.macs) for name, i in zip(["wte", "wpe", "layernorm"], stats.summary_list[1:])]
    assert ours == theirs
    assert next(r for r in summary.rows if r.kind == "arange").shape == (length,)


def test_positions_export_with_a_dynamic_length():
    _, cls = _compile(SPEC)
    model = cls().eval()
    t = torch.export.Dim("T", min=2, max=16)
    batch = torch.export.Dim("B", min=2, max=8)
    program = torch.export.export(model, (torch.randint(0, 100, (2, 5)),), dynamic_shapes=({0: batch, 1: t},))
    idx = torch.randint(0, 100, (3, 9))
    torch.testing.assert_close(program.module()(idx), model(idx))


@pytest.mark.parametrize(
    "line, column, message",
    [
        ("    output y = idx -> arange 2\n", 30, "`arange` takes no arguments"),
        ("    output y = idx -> embedding 10 4 -> arange\n", 41, "as the first stage of its pipeline"),
        ("    output y = idx -> arange\n", 12, "cannot be a model's output"),
        ("    p = idx -> arange\n    output y = (idx, p) -> cat\n", 28, "cannot be joined but by `add`"),
    ],
)
def test_misuse_is_a_located_diagnostic(line, column, message):
    d = _error("model M()(idx):\n    input idx: [T]\n" + line)
    assert (d.code, d.span.column) == ("LG427", column), d.message
    assert message in d.message
    assert d.hint
    d = _error("block b()(x):\n    return x -> arange\nmodel M()(idx):\n    input idx: [T]\n    output y = idx -> b\n")
    assert d.code == "LG427" and "returned by a block" in d.message
