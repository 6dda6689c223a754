"""examples/rnn_lm.lego against a hand-written pytorch/examples RNNModel
(tests/reference_rnn_lm.py): the state_dict keys are the reference's
(encoder, rnn, decoder), in order, with its shapes; the reference's weights
load with strict=True, and in eval mode, from the zero state the reference's
init_hidden gives, the log-probabilities agree within 1e-5 (the generated
model is batch first, the reference sequence first and flattened).

Not yet shown: the generated model neither takes nor returns the LSTM's
(h, c) state, which the reference's forward(input, hidden) does."""

from __future__ import annotations

import pytest
import torch

from conftest import EXAMPLES, load_module
from legoc.compiler import compile_source
from legoc.ir import symbolic as sy
from reference_rnn_lm import RNNModel

PARAMETERS = 13_987_678


@pytest.fixture(scope="module")
def compiled():
    return compile_source((EXAMPLES / "rnn_lm.lego").read_text(), "rnn_lm.lego")


@pytest.mark.parametrize("arguments", [{}, {"ntoken": 50, "ninp": 12, "nhid": 16, "nlayers": 3}], ids=["defaults", "small"])
def test_references_weights_load_strict_and_outputs_agree(compiled, arguments):
    torch.manual_seed(0)
    model = load_module(compiled.code, "rnn_lm").RNNModel(**arguments)
    reference = RNNModel(**arguments)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in reference.parameters():  # none of the references' initial values: a misplaced tensor shows
            p.copy_(torch.rand(p.shape, generator=generator) - 0.5)
    state = reference.state_dict()
    assert list(model.state_dict()) == list(state)
    assert list(state)[:3] == ["encoder.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0"]
    assert list(state)[-2:] == ["decoder.weight", "decoder.bias"]
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {k: tuple(v.shape) for k, v in state.items()}
    model.load_state_dict(state, strict=True)
    model.eval(), reference.eval()
    batch, steps, ntoken = 3, 7, reference.ntoken
    tokens = torch.randint(0, ntoken, (batch, steps), generator=generator)
    with torch.no_grad():
        expected, _ = reference(tokens.t(), reference.init_hidden(batch))  # [T * B, ntoken], sequence first
        got = model(tokens)  # [B, T, ntoken]
    assert got.shape == (batch, steps, ntoken)
    expected = expected.view(steps, batch, ntoken).transpose(0, 1)
    assert expected.abs().max().item() > 1e-3
    assert (got - expected).abs().max().item() <= 1e-5
    if not arguments:
        assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters()) == PARAMETERS
        assert sy.value_of(compiled.analysis.defaults["RNNModel"].n_params) == PARAMETERS
