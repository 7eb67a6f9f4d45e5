"""The task heads the formats put on the shared encoder (``xltlib.engine.formats``), and mean pooling."""
from __future__ import annotations

import torch
from torch import nn

POOLINGS = ("cls", "mean", "pair")


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class PooledHead(nn.Module):
    """RoBERTa's classification head (dense-tanh-out) over one vector per sequence:

    - ``cls``: the <s> state (XLM-R's recipe);
    - ``mean``: the mean of all states;
    - ``pair``: [a, b, |a - b|, a * b] of the means over the first and the second text (InferSent-style),
      which lets small encoders compare the two texts of NLI, paraphrase and choice tasks; a single
      text is its own pair.
    """

    def __init__(self, hidden: int, out: int, dropout: float, pooling: str):
        super().__init__()
        self.pooling = pooling
        self.dense = nn.Linear(4 * hidden if pooling == "pair" else hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, out)

    def forward(self, hidden, mask, segments=None):
        if self.pooling == "cls":
            x = hidden[:, 0]
        elif self.pooling == "mean" or segments is None:
            x = mean_pool(hidden, mask)
            if self.pooling == "pair":
                x = torch.cat([x, x, torch.zeros_like(x), x * x], dim=-1)
        else:
            a = mean_pool(hidden, (segments == 0).long())
            b_mask = (segments == 1).long()
            b = torch.where(b_mask.any(1, keepdim=True), mean_pool(hidden, b_mask), a)
            x = torch.cat([a, b, (a - b).abs(), a * b], dim=-1)
        return self.out(self.dropout(torch.tanh(self.dense(self.dropout(x)))))


class TokenHead(nn.Module):
    def __init__(self, hidden: int, out: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, out)

    def forward(self, hidden, mask, segments=None):
        return self.out(self.dropout(hidden))


class MLMHead(nn.Module):
    """RoBERTa's LM head: dense, GELU, LayerNorm, then the decoder tied to the encoder's input embeddings
    (not a parameter of its own); scores only the positions it is given (the masked ones)."""

    def __init__(self, hidden: int, embeddings: nn.Embedding, eps: float):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.layer_norm = nn.LayerNorm(hidden, eps=eps)
        self.bias = nn.Parameter(torch.zeros(embeddings.num_embeddings))
        self._tied = [embeddings]  # a list: not registered twice

    def forward(self, hidden):
        x = self.layer_norm(nn.functional.gelu(self.dense(hidden)))
        return nn.functional.linear(x, self._tied[0].weight, self.bias)
