"""Weight tying, `lm_head.weight = transformer.wte.weight`: generated as torch
ties weights, the state_dict torch then has (both keys), the parameters
counted once, and located diagnostics for paths and shapes that do not tie."""

from __future__ import annotations

import pytest
import torch

from conftest import load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy
from legoc.tools.statedict import state_dict_layout

SPEC = (
    "block encoder(vocab, dim)(idx):\n"
    "    return idx -> wte: embedding vocab dim -> ln: layernorm\n"
    "model LM(vocab=100, dim=8)(idx):\n"
    "    input idx: [T]\n"
    "    h = idx -> transformer: encoder vocab dim\n"
    "    output logits = h -> lm_head: linear vocab bias=false\n"
    "    lm_head.weight = transformer.wte.weight\n"
)


def _error(spec: str):
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return info.value.diagnostics[0]


def test_the_tie_is_torchs_and_the_tensor_is_counted_once():
    compiled = compile_source(SPEC, "t.lego")
    assert "        self.lm_head.weight = self.transformer.wte.weight\n" in compiled.code
    model = load_module(compiled.code).LM()
    assert model.lm_head.weight is model.transformer.wte.weight
    keys = list(model.state_dict())
    assert keys == ["transformer.wte.weight", "transformer.ln.weight", "transformer.ln.bias", "lm_head.weight"]
    assert [e.key for e in state_dict_layout(compiled.analysis, "LM")] == keys
    assert sum(p.numel() for p in model.parameters()) == 100 * 8 + 16 == sy.value_of(compiled.analysis.defaults["LM"].n_params)
    # Loading with strict=True fills the one tensor (the last key wins, as in torch).
    other = load_module(compiled.code).LM()
    other.load_state_dict(model.state_dict(), strict=True)
    idx = torch.randint(0, 100, (2, 5))
    torch.testing.assert_close(other(idx), model(idx))
    torch.testing.assert_close(model(idx), model.transformer(idx) @ model.transformer.wte.weight.T)


@pytest.mark.parametrize(
    "tie, code, column, message",
    [
        ("lm_head.weight = transformer.wpe.weight", "LG220", 22, "`transformer.wpe` names no layer: `transformer` has no layer named `wpe` before this line"),
        ("lm_head.weight = transformr.wte.weight", "LG220", 22, "`transformr` names no layer"),
        ("lm_head.bias = transformer.wte.weight", "LG220", 5, "`lm_head` has no tensor `bias`"),
        ("lm_head.weight = transformer.wte", "LG220", 22, "`transformer.wte` names a layer, not its tensor"),
        ("lm_head.weight = transformer.ln.weight", "LG428", 22, "only the tensors of `linear` and `embedding` layers tie"),
        ("lm_head.weight = transformer.weight", "LG428", 22, "`transformer` is a block"),
        ("lm_head.weight = lm_head.weight", "LG428", 5, "a tensor tied to itself"),
    ],
)
def test_misuse_is_a_located_diagnostic(tie, code, column, message):
    d = _error(SPEC.replace("lm_head.weight = transformer.wte.weight", tie))
    assert (d.code, d.span.line, d.span.column) == (code, 7, column), d.message
    assert message in d.message
    assert d.hint


def test_tensors_of_different_shapes_do_not_tie():
    d = _error(SPEC.replace("linear vocab bias", "linear vocab + 1 bias"))
    assert (d.code, d.span.line, d.span.column) == ("LG323", 7, 5)
    assert d.message == "tied tensors must have one shape, but `lm_head.weight` is [vocab + 1, dim] and `transformer.wte.weight` is [vocab, dim]"
    d = _error(SPEC.replace("model LM(vocab=100, dim=8)", "model LM(vocab=100, dim=8, out=50)").replace("linear vocab bias", "linear out bias"))
    assert d.code == "LG323" and "[50, 8]" in d.message


def test_the_summary_counts_the_tied_tensor_as_torchinfo_and_states_the_unique_count():
    import torchinfo

    from legoc.tools.inputs import bind_inputs
    from legoc.tools.instance import instantiate
    from legoc.tools.summary import summarize, to_text

    compiled = compile_source(SPEC, "t.lego")
    ir = compiled.analysis.classes[-1]
    summary = summarize(instantiate(compiled.analysis, "LM", bind_inputs(ir, [(None, (5,))])), 2)
    model = load_module(compiled.code).LM()
    stats = torchinfo.summary(model, input_data=[torch.randint(0, 100, (2, 5))], depth=100, verbose=0)
    assert summary.totals.params == stats.total_params == 2 * 800 + 16
    assert summary.tied == 800
    text = to_text(summary)
    assert "Total params:" in text and "  unique:" in text
    unique = next(line for line in text.splitlines() if line.startswith("  unique:"))
    assert "816" in unique and sum(p.numel() for p in model.parameters()) == 816
