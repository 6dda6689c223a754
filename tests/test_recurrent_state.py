"""A recurrent layer's state in and out of dataflow (docs/language.md,
"Recurrent state"), differential against torch's nn.LSTM and nn.GRU with
the same weights: `(y, h, c) = (x, h0, c0) -> lstm ...` and `(y, h) = (x,
h0) -> gru ...` compute torch's output sequence and final state, the state
batch first ([B, num_layers * directions, hidden_size], torch's transposed),
with the shapes legoc infers; multi-layer and bidirectional; from the zero
state; in a block; through fx tracing and torch.export; in `legoc
summary`. Misuse is pinned in tests/corpus/ (LG238, LG239, LG329-LG331,
LG436)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from conftest import load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import instantiate
from legoc.tools.summary import summarize

SPEC = """\
# A GRU stage carrying its state: legoc's block with several inputs and results.
block stage(n)(x, h0):
    (y, h) = (x, h0) -> rnn: gru n num_layers=2
    return y, h

model Gru(n=16):
    input x: [T, 8]
    input h0: [2, n]
    (y, h) = (x, h0) -> rnn: gru n num_layers=2
    output y
    output h

model Lstm(hidden=10, layers=3):
    input x: [T, 8]
    input h0: [layers * 2, hidden]
    input c0: [layers * 2, hidden]
    (y, h, c) = (x, h0, c0) -> rnn: lstm hidden num_layers=layers bidirectional=true
    output y
    output h
    output c

model Zero():
    input x: [T, 8]
    (y, h, c) = x -> proj: linear 12 -> rnn: lstm 10 num_layers=2
    last = h -> select -1
    output y
    output last
    output c

model Onward():
    input x: [T, 8]
    input h0: [1, 6]
    input c0: [1, 6]
    y = (x, h0, c0) -> rnn: lstm 6 -> head: linear 3
    output y

model Staged(n=16):
    input x: [T, 8]
    input h0: [2, n]
    (y, h) = (x, h0) -> enc: stage n
    output y
    output h

model Symbolic():
    input x: [T, 8]
    input h0: [L, 16]
    (y, h) = (x, h0) -> rnn: gru 16 num_layers=2
    output y
    output h
"""

B, T = 3, 5


@pytest.fixture(scope="module")
def compiled():
    return compile_source(SPEC, "state.lego")


@pytest.fixture(scope="module")
def module(compiled):
    return load_module(compiled.code, "recurrent_state")


def _twin(layer: nn.Module, kind, *args, **kwargs) -> nn.Module:
    """torch's own layer, sequence first as torch's default, with `layer`'s weights."""
    twin = kind(*args, **kwargs)
    twin.load_state_dict(layer.state_dict(), strict=True)
    return twin.eval()


def _outputs(compiled, model: str, **sizes) -> dict[str, tuple]:
    """The output shapes legoc infers (with the batch axis) for the model's defaults and `sizes`."""
    ir = compiled.analysis.defaults[model]
    bound = {f"dim:{k}": sy.Const(v) for k, v in sizes.items()}
    return {p.name: (B, *(sy.value_of(sy.substitute(d, bound)) for d in p.shape)) for p in ir.outputs}


def test_gru_state_in_and_out_equals_torch(compiled, module):
    torch.manual_seed(0)
    model = module.Gru().eval()
    x, h0 = torch.randn(B, T, 8), torch.randn(B, 2, 16)
    twin = _twin(model.rnn, nn.GRU, 8, 16, num_layers=2)
    with torch.no_grad():
        got = model(x, h0)
        y, h = twin(x.transpose(0, 1), h0.transpose(0, 1).contiguous())
    assert (got["y"] - y.transpose(0, 1)).abs().max().item() <= 1e-6
    assert (got["h"] - h.transpose(0, 1)).abs().max().item() <= 1e-6
    assert {k: tuple(v.shape) for k, v in got.items()} == _outputs(compiled, "Gru", T=T) == {"y": (B, T, 16), "h": (B, 2, 16)}
    with torch.no_grad():  # the state given is used: from zeros, torch gives another sequence
        assert (got["y"] - twin(x.transpose(0, 1))[0].transpose(0, 1)).abs().max().item() > 1e-3


def test_bidirectional_multilayer_lstm_equals_torch(compiled, module):
    torch.manual_seed(1)
    model = module.Lstm().eval()
    x, h0, c0 = torch.randn(B, T, 8), torch.randn(B, 6, 10), torch.randn(B, 6, 10)
    twin = _twin(model.rnn, nn.LSTM, 8, 10, num_layers=3, bidirectional=True, batch_first=True)
    with torch.no_grad():
        got = model(x, h0, c0)
        y, (h, c) = twin(x, (h0.transpose(0, 1).contiguous(), c0.transpose(0, 1).contiguous()))
    assert (got["y"] - y).abs().max().item() <= 1e-6
    assert (got["h"] - h.transpose(0, 1)).abs().max().item() <= 1e-6
    assert (got["c"] - c.transpose(0, 1)).abs().max().item() <= 1e-6
    assert {k: tuple(v.shape) for k, v in got.items()} == _outputs(compiled, "Lstm", T=T) == {"y": (B, T, 20), "h": (B, 6, 10), "c": (B, 6, 10)}


def test_from_the_zero_state_and_the_state_as_a_tensor_of_the_graph(compiled, module):
    torch.manual_seed(2)
    model = module.Zero().eval()
    x = torch.randn(B, T, 8)
    twin = _twin(model.rnn, nn.LSTM, 12, 10, num_layers=2, batch_first=True)
    with torch.no_grad():
        got = model(x)
        y, (h, c) = twin(model.proj(x))
    assert (got["y"] - y).abs().max().item() <= 1e-6
    assert (got["last"] - h[-1]).abs().max().item() <= 1e-6  # `h -> select -1`: the last layer's final hidden state
    assert (got["c"] - c.transpose(0, 1)).abs().max().item() <= 1e-6
    assert {k: tuple(v.shape) for k, v in got.items()} == _outputs(compiled, "Zero", T=T)


def test_a_state_in_with_stages_after(compiled, module):
    torch.manual_seed(3)
    model = module.Onward().eval()
    x, h0, c0 = torch.randn(B, T, 8), torch.randn(B, 1, 6), torch.randn(B, 1, 6)
    twin = _twin(model.rnn, nn.LSTM, 8, 6, batch_first=True)
    with torch.no_grad():
        got = model(x, h0, c0)
        y, _ = twin(x, (h0.transpose(0, 1).contiguous(), c0.transpose(0, 1).contiguous()))
    assert (got - model.head(y)).abs().max().item() <= 1e-6
    assert "y, _ = self.rnn(" in compiled.code


def test_a_block_takes_and_returns_the_state(module):
    torch.manual_seed(4)
    model = module.Staged().eval()
    x, h0 = torch.randn(B, T, 8), torch.randn(B, 2, 16)
    twin = _twin(model.enc.rnn, nn.GRU, 8, 16, num_layers=2, batch_first=True)
    with torch.no_grad():
        got = model(x, h0)
        y, h = twin(x, h0.transpose(0, 1).contiguous())
    assert (got["y"] - y).abs().max().item() <= 1e-6
    assert (got["h"] - h.transpose(0, 1)).abs().max().item() <= 1e-6


def test_a_symbolic_state_size_is_an_input_rule(module):
    model = module.Symbolic().eval()
    x = torch.randn(B, T, 8)
    with torch.no_grad():
        assert model(x, torch.randn(B, 2, 16))["h"].shape == (B, 2, 16)
        with pytest.raises(AssertionError, match=r"L must satisfy L == 2 \(axis 1 of h0\), got 3"):
            model(x, torch.randn(B, 3, 16))


def test_fx_and_export_give_the_eager_outputs(module):
    torch.manual_seed(5)
    model = module.Lstm().eval()
    inputs = (torch.randn(B, T, 8), torch.randn(B, 6, 10), torch.randn(B, 6, 10))
    with torch.no_grad():
        eager = model(*inputs)
        traced = torch.fx.symbolic_trace(model)(*inputs)
        exported = torch.export.export(model, inputs).module()(*inputs)
    for name in ("y", "h", "c"):
        assert torch.equal(traced[name], eager[name])
        assert (exported[name] - eager[name]).abs().max().item() <= 1e-6


def test_summary_shows_the_state_results(compiled):
    ir = next(c for c in compiled.analysis.classes if c.name == "Lstm")
    instance = instantiate(compiled.analysis, "Lstm", bind_inputs(ir, [(None, (T, 8)), (None, (6, 10)), (None, (6, 10))]))
    row = next(r for r in summarize(instance, 2).rows if r.path == "rnn")
    assert row.results == ((2, T, 20), (2, 6, 10), (2, 6, 10))
    rnn = next(op for op in instance.ops if op.path == "rnn")
    assert rnn.inputs == instance.inputs  # the sequence and the state flow into it
    assert [t for _, t in instance.outputs] == list(rnn.results)


def test_a_blocks_state_check_travels_to_its_call():
    """A block's state whose rows depend on its parameters is checked at each
    call: three layers given a state of two rows fail there (LG330), with a
    note at the call; two layers pass."""
    spec = """\
block stage(n, layers)(x, h0):
    (y, h) = (x, h0) -> gru n num_layers=layers
    return y, h

model Net():
    input x: [T, 8]
    input h0: [2, 16]
    (y, h) = (x, h0) -> stage 16 LAYERS
    output y
    output h
"""
    with pytest.raises(SpecError) as caught:
        check_source(spec.replace("LAYERS", "3"), "stage.lego")
    (d,) = caught.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("LG330", 2, 18)
    assert d.message == "`gru`'s initial h has one row per layer and direction, 3, not 2"
    assert [(n.message, n.span.line) for n in d.notes] == [("in this call of `stage`", 8)]
    check_source(spec.replace("LAYERS", "2"), "stage.lego")
