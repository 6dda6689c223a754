"""A hand-written PyTorch RNNModel, the reference of examples/rnn_lm.lego.

Written from the published structure of pytorch/examples'
word_language_model (github.com/pytorch/examples, word_language_model/
model.py, class RNNModel, its LSTM variant, untied): `drop` (one
nn.Dropout used twice), `encoder` (nn.Embedding(ntoken, ninp)), `rnn`
(nn.LSTM(ninp, nhid, nlayers, dropout=dropout), sequence first), `decoder`
(nn.Linear(nhid, ntoken)). forward(input, hidden) takes [T, B] token ids
and the LSTM's (h, c), each [nlayers, B, nhid], and returns the
log-softmax over the vocabulary of the decoded outputs flattened to
[T * B, ntoken], and the final (h, c). init_hidden(bsz) is the zero state.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RNNModel(nn.Module):
    """pytorch/examples' RNNModel("LSTM", ntoken, ninp, nhid, nlayers, dropout)."""

    def __init__(self, ntoken: int = 33278, ninp: int = 200, nhid: int = 200, nlayers: int = 2, dropout: float = 0.5):
        super().__init__()
        self.ntoken, self.nhid, self.nlayers = ntoken, nhid, nlayers
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)

    def forward(self, input: torch.Tensor, hidden: tuple[torch.Tensor, torch.Tensor]):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz: int) -> tuple[torch.Tensor, torch.Tensor]:
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))
