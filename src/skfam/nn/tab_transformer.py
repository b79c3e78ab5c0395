"""The FT-Transformer of Gorishniy et al. (2021) for a table of features.

"Revisiting Deep Learning Models for Tabular Data" (NeurIPS 2021): each feature becomes a
token (numeric features by a per-feature linear map, categorical ones by a per-feature
embedding), a learned [CLS] token joins them, pre-norm Transformer encoder layers mix the
tokens, and the head reads the [CLS] token. The layers are skfam's one Transformer layer,
:class:`~skfam.nn.transformer.EncoderLayer` (written out so that training is the same for any
thread count).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .transformer import EncoderLayer, RowLayerNorm

__all__ = ["FeatureTokenizer", "TabTransformerModule"]


def _uniform_(tensor: torch.Tensor, d_token: int) -> None:
    bound = 1.0 / math.sqrt(d_token)
    nn.init.uniform_(tensor, -bound, bound)


class FeatureTokenizer(nn.Module):
    """Turn each feature of a row into a ``d_token`` vector.

    Numeric feature ``j``: ``x_j * W_j + b_j``. Categorical feature ``k`` (after the
    numeric ones in the input): ``E_k[code] + b_k``, where ``code`` is an integer index of
    the category held as a float (0 is reserved for a missing or unknown category; its
    embedding starts at zero, so such a token starts as the feature's bias alone). Weights
    and biases start uniform in ``[-1/sqrt(d_token), 1/sqrt(d_token)]``, as in the paper.

    Parameters
    ----------
    n_num : int
        Numeric features (the first ``n_num`` columns of the input).
    d_token : int
        Width of each token.
    cardinalities : sequence of int, default=()
        Rows of each categorical feature's embedding table: its categories plus the
        reserved code 0 (the last ``len(cardinalities)`` columns of the input).

    Examples
    --------
    >>> import torch
    >>> from skfam.nn.tab_transformer import FeatureTokenizer
    >>> tokens = FeatureTokenizer(3, 8, cardinalities=[4])(torch.tensor([[0.5, 1.0, -1.0, 2.0]]))
    >>> tokens.shape
    torch.Size([1, 4, 8])
    """

    def __init__(self, n_num: int, d_token: int, cardinalities: Sequence[int] = ()):
        super().__init__()
        if n_num < 0 or (n_num == 0 and not cardinalities):
            raise ValueError(f"The tokenizer needs at least one feature, got n_num={n_num}.")
        if any(c < 1 for c in cardinalities):
            raise ValueError(f"cardinalities must be positive, got {list(cardinalities)}.")
        self.n_num = n_num
        self.weight = nn.Parameter(torch.empty(n_num, d_token))
        self.bias = nn.Parameter(torch.empty(n_num + len(cardinalities), d_token))
        self.embeddings = nn.ModuleList(nn.Embedding(c, d_token) for c in cardinalities)
        _uniform_(self.weight, d_token)
        _uniform_(self.bias, d_token)
        with torch.no_grad():
            for embedding in self.embeddings:
                _uniform_(embedding.weight, d_token)
                embedding.weight[0].zero_()
        self.n_tokens = n_num + len(cardinalities)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map (batch, n_num + n_categorical) to (batch, n_tokens, d_token)."""
        tokens = [X[:, : self.n_num, None] * self.weight]
        for k, embedding in enumerate(self.embeddings):
            tokens.append(embedding(X[:, self.n_num + k].long())[:, None])
        return torch.cat(tokens, dim=1) + self.bias


class TabTransformerModule(nn.Module):
    """FT-Transformer: feature tokens, a [CLS] token, encoder layers, a head on [CLS].

    The head is ``Linear(ReLU(LayerNorm(cls)))``, as in the paper, and as there the last
    layer computes the output of the [CLS] token alone (the other tokens' are never read).
    Differences from the paper's reference implementation: the feed-forward block uses
    ReLU (skfam's :class:`~skfam.nn.transformer.EncoderLayer`) instead of ReGLU, one
    dropout rate serves the attention weights, the feed-forward block and the residual
    branches, and the first layer keeps its first normalisation.

    Parameters
    ----------
    n_num : int
        Numeric features (the first ``n_num`` columns of the input).
    n_out : int
        Outputs (1 for regression, the number of classes for classification).
    cardinalities : sequence of int, default=()
        Embedding rows of each categorical feature (see :class:`FeatureTokenizer`).
    d_token : int, default=64
        Width of the tokens; a multiple of ``n_heads``.
    n_heads : int, default=8
        Attention heads.
    num_layers : int, default=3
        Encoder layers (pre-norm).
    dim_feedforward : int, default=128
        Width of each layer's feed-forward block.
    dropout : float, default=0.1
        Dropout inside the layers.

    Examples
    --------
    >>> import torch
    >>> from skfam.nn.tab_transformer import TabTransformerModule
    >>> net = TabTransformerModule(5, 1, d_token=8, n_heads=2, num_layers=1)
    >>> net(torch.zeros(2, 5)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        n_num: int,
        n_out: int,
        cardinalities: Sequence[int] = (),
        d_token: int = 64,
        n_heads: int = 8,
        num_layers: int = 3,
        dim_feedforward: int = 128,
        dropout: float = 0.1,
    ):
        super().__init__()
        if d_token % n_heads:
            raise ValueError(f"d_token ({d_token}) must be a multiple of n_heads ({n_heads}).")
        self.tokenizer = FeatureTokenizer(n_num, d_token, cardinalities)
        self.cls = nn.Parameter(torch.empty(1, 1, d_token))
        _uniform_(self.cls, d_token)
        self.layers = nn.ModuleList(
            EncoderLayer(d_token, n_heads, dim_feedforward, dropout) for _ in range(num_layers)
        )
        self.norm = RowLayerNorm(d_token)
        self.head = nn.Linear(d_token, n_out)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, n_num + n_categorical) tensor to (batch, n_out)."""
        h = self.tokenizer(X)
        h = torch.cat([self.cls.expand(len(h), -1, -1), h], dim=1)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            # Only the [CLS] token is read: the last layer computes its output alone.
            h = layer(h, queries=1 if i == last else None)
        return self.head(torch.relu(self.norm(h[:, 0])))
