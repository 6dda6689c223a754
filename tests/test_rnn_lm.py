"""examples/rnn_lm.lego against a hand-written pytorch/examples RNNModel
(tests/reference_rnn_lm.py): the state_dict keys are the reference's
(encoder, rnn, decoder), in order, with its shapes; the reference's weights
load with strict=True, and in eval mode, from the same (non-zero) LSTM
state, the log-probabilities agree within 1e-5 and the returned state is
the reference's (the generated model is batch first, the reference sequence
first and flattened, and its state [nlayers, B, nhid] where the generated
model's is [B, nlayers, nhid]). Feeding the returned state back runs a text
in pieces: two pieces give what one run over the joined sequence gives.
"""

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
    batch, steps, ntoken, nlayers, nhid = 3, 7, reference.ntoken, reference.nlayers, reference.nhid
    tokens = torch.randint(0, ntoken, (batch, steps), generator=generator)
    hidden = tuple(torch.randn(nlayers, batch, nhid, generator=generator) for _ in range(2))  # the reference's layout
    with torch.no_grad():
        expected, (h, c) = reference(tokens.t(), hidden)  # [T * B, ntoken], sequence first
        got = model(tokens, hidden[0].transpose(0, 1), hidden[1].transpose(0, 1))  # [B, T, ntoken]; state [B, nlayers, nhid]
    assert list(got) == ["log_probs", "h", "c"]
    assert got["log_probs"].shape == (batch, steps, ntoken)
    assert got["h"].shape == got["c"].shape == (batch, nlayers, nhid)
    expected = expected.view(steps, batch, ntoken).transpose(0, 1)
    assert expected.abs().max().item() > 1e-3
    assert (got["log_probs"] - expected).abs().max().item() <= 1e-5
    assert (got["h"] - h.transpose(0, 1)).abs().max().item() <= 1e-5
    assert (got["c"] - c.transpose(0, 1)).abs().max().item() <= 1e-5
    with torch.no_grad():  # the state given matters: from the zero state, the outputs differ
        zero = torch.zeros(batch, nlayers, nhid)
        assert (model(tokens, zero, zero)["log_probs"] - expected).abs().max().item() > 1e-3
    if not arguments:
        assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters()) == PARAMETERS
        assert sy.value_of(compiled.analysis.defaults["RNNModel"].n_params) == PARAMETERS


def test_feeding_the_state_back_equals_running_the_joined_sequence(compiled):
    """Truncated BPTT and generation run a text in pieces, each from the
    state the last one returned: tokens[:, :k] then tokens[:, k:] give the
    log-probabilities and final state of one run over all the tokens."""
    torch.manual_seed(0)
    model = load_module(compiled.code, "rnn_lm").RNNModel(ntoken=50, ninp=12, nhid=16, nlayers=3).eval()
    generator = torch.Generator().manual_seed(2)
    batch, steps, k = 4, 11, 5
    tokens = torch.randint(0, 50, (batch, steps), generator=generator)
    zero = torch.zeros(batch, 3, 16)
    with torch.no_grad():
        whole = model(tokens, zero, zero)
        first = model(tokens[:, :k], zero, zero)
        second = model(tokens[:, k:], first["h"], first["c"])
        dropped = model(tokens[:, k:], zero, zero)  # what a model that drops its state would give
    joined = torch.cat([first["log_probs"], second["log_probs"]], dim=1)
    assert (joined - whole["log_probs"]).abs().max().item() <= 1e-5
    assert (second["h"] - whole["h"]).abs().max().item() <= 1e-5
    assert (second["c"] - whole["c"]).abs().max().item() <= 1e-5
    assert (dropped["log_probs"] - whole["log_probs"][:, k:]).abs().max().item() > 1e-3
