"""A hand-written PyTorch GPT-2, the reference of examples/gpt2.lego.

Written from the paper, Radford et al. 2019, "Language Models are
Unsupervised Multitask Learners" (Sec. 2.3: the GPT architecture of
Radford et al. 2018 with layer normalization moved to the input of each
sub-block, an additional layer normalization after the final block, a
vocabulary of 50,257, a context of 1,024 tokens), and the published
configuration of the small model (n_layer 12, n_head 12, n_embd 768,
dropout 0.1 on the embeddings, the attention weights and the residual
branches, layer norm epsilon 1e-5, GELU with the tanh approximation).
The output projection shares the token embedding's weight (Press & Wolf
2017, "Using the Output Embedding to Improve Language Models").

Attribute names are those of Hugging Face's GPT2LMHeadModel, so the
state_dict keys are theirs, but the projections are nn.Linear where
Hugging Face's Conv1D keeps the weight transposed ([in, out]). Attention is
written out (q k^T / sqrt(d), a causal mask, softmax, dropout, times v),
not with F.scaled_dot_product_attention, so that the test compares
legoc's fused call with the definition.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _initialize(module: nn.Module) -> None:
    """GPT's initialization (Radford et al. 2018, Sec. 4.1: N(0, 0.02)),
    biases zero: random weights of the scale the model is trained from."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, pdrop: float):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.attn_dropout = nn.Dropout(pdrop)
        self.resid_dropout = nn.Dropout(pdrop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.c_attn(x).split(width, dim=2)
        # [B, T, C] -> [B, heads, T, C / heads]
        q, k, v = (t.view(batch, length, self.n_head, width // self.n_head).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        later = torch.ones(length, length, dtype=torch.bool, device=x.device).triu(1)
        weights = self.attn_dropout(F.softmax(scores.masked_fill(later, float("-inf")), dim=-1))
        y = (weights @ v).transpose(1, 2).reshape(batch, length, width)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, n_embd: int, pdrop: float):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.act = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * n_embd, n_embd)
        self.dropout = nn.Dropout(pdrop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int, pdrop: float, eps: float):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, eps=eps)
        self.attn = CausalSelfAttention(n_embd, n_head, pdrop)
        self.ln_2 = nn.LayerNorm(n_embd, eps=eps)
        self.mlp = MLP(n_embd, pdrop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, vocab_size: int, n_positions: int, n_embd: int, n_layer: int, n_head: int, pdrop: float, eps: float):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.drop = nn.Dropout(pdrop)
        self.h = nn.ModuleList(Block(n_embd, n_head, pdrop, eps) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd, eps=eps)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(positions))
        for block in self.h:
            x = block(x)
        return self.ln_f(x)


class GPT2LMHead(nn.Module):
    """GPT-2 with its language-model head; defaults: GPT-2 small."""

    def __init__(self, vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, pdrop=0.1, eps=1e-5):
        super().__init__()
        self.transformer = Transformer(vocab_size, n_positions, n_embd, n_layer, n_head, pdrop, eps)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied
        self.apply(_initialize)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        if idx.shape[1] > self.transformer.wpe.num_embeddings:
            raise ValueError(f"a sequence of {idx.shape[1]} tokens is longer than the context")
        return self.lm_head(self.transformer(idx))
