"""A Transformer encoder network for (batch, length, channels) sequences."""

from __future__ import annotations

import math

import torch
from torch import nn

from .skip import LinearSkip

__all__ = ["POSITIONAL_ENCODINGS", "TRANSFORMER_POOLINGS", "TransformerEncoderNet"]
__all__ += ["EncoderLayer", "RowLayerNorm", "SelfAttention", "TransformerModule", "row_softmax"]

#: Positional encodings: fixed sine/cosine or a learned table.
POSITIONAL_ENCODINGS = ("sinusoidal", "learned")
#: How the encoded steps become one embedding.
TRANSFORMER_POOLINGS = ("mean", "last", "cls")


def sinusoidal_encoding(length: int, d_model: int) -> torch.Tensor:
    """Return the (length, d_model) sine/cosine table of Vaswani et al. (2017)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(1e4) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: d_model // 2])
    return table


class RowLayerNorm(nn.Module):
    """Layer normalisation over the last dimension, written with elementwise operations.

    The same function as :class:`torch.nn.LayerNorm`, but its backward sums the weight and
    bias gradients with torch's ordinary reductions, whose order does not depend on the
    thread count (the native layer-norm backward's does), so a fit is identical for any
    ``n_jobs``.

    Parameters
    ----------
    width : int
        Size of the normalised (last) dimension.
    eps : float, default=1e-5
        Added to the variance.
    """

    def __init__(self, width: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Normalise each row of ``X`` to zero mean and unit variance, then scale and shift."""
        centred = X - X.mean(dim=-1, keepdim=True)
        variance = (centred * centred).mean(dim=-1, keepdim=True)
        return centred * torch.rsqrt(variance + self.eps) * self.weight + self.bias


def row_softmax(X: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension, written with elementwise operations and row sums.

    The same function as ``torch.softmax(X, -1)``; its backward is built by autograd from
    ordinary row reductions, whose order does not depend on the thread count (the native
    softmax backward's does), so a fit is identical for any ``n_jobs``.
    """
    shifted = X - X.amax(dim=-1, keepdim=True).detach()  # softmax is shift-invariant
    exp = shifted.exp()
    return exp / exp.sum(dim=-1, keepdim=True)


class SelfAttention(nn.Module):
    """Multi-head self-attention (Vaswani et al., 2017), written out with matmuls.

    Computes what :class:`torch.nn.MultiheadAttention` computes for ``query = key = value``
    (the same initialisation too: Xavier-uniform input projection, zero biases), with
    :func:`row_softmax` instead of torch's fused attention kernels, whose backward with
    attention dropout sums in a thread-dependent order on CPU.

    Parameters
    ----------
    d_model : int
        Width of the input and output.
    n_heads : int
        Attention heads; must divide ``d_model``.
    dropout : float, default=0.0
        Dropout on the attention weights.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of n_heads ({n_heads}).")
        self.n_heads = n_heads
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)
        nn.init.xavier_uniform_(self.in_proj.weight)
        nn.init.zeros_(self.in_proj.bias)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, X: torch.Tensor, queries: int | None = None) -> torch.Tensor:
        """Map (batch, length, d_model) to (batch, length, d_model).

        ``queries``: attend from the first ``queries`` positions only (every position is
        still a key and a value), giving (batch, queries, d_model); None: every position.
        """
        batch, length, width = X.shape
        head = width // self.n_heads
        qkv = self.in_proj(X).view(batch, length, 3, self.n_heads, head).permute(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]  # (batch, heads, length, head)
        if queries is not None:
            query = query[:, :, :queries]
        scores = (query @ key.transpose(-2, -1)) * (1.0 / math.sqrt(head))
        weights = self.dropout(row_softmax(scores))
        out = (weights @ value).transpose(1, 2).reshape(batch, query.shape[2], width)
        return self.out_proj(out)


class EncoderLayer(nn.Module):
    """One pre-norm Transformer encoder layer: attention and a ReLU feed-forward block.

    ``x + dropout(attention(norm1(x)))``, then ``x + dropout(ff(norm2(x)))`` with
    ``ff = linear2(dropout(relu(linear1(.))))``: the function of
    ``torch.nn.TransformerEncoderLayer(norm_first=True)``, built from
    :class:`SelfAttention` and :class:`RowLayerNorm` so that training does not depend on
    the thread count.

    Parameters
    ----------
    d_model : int
        Width of the layer.
    n_heads : int
        Attention heads.
    dim_feedforward : int
        Width of the feed-forward block.
    dropout : float, default=0.0
        Dropout on attention weights and after each block.
    """

    def __init__(self, d_model: int, n_heads: int, dim_feedforward: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = RowLayerNorm(d_model)
        self.attention = SelfAttention(d_model, n_heads, dropout)
        self.norm2 = RowLayerNorm(d_model)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, X: torch.Tensor, queries: int | None = None) -> torch.Tensor:
        """Map (batch, length, d_model) to (batch, length, d_model).

        ``queries``: compute the outputs of the first ``queries`` positions only (attending
        to all of them), giving (batch, queries, d_model): a last layer whose later
        positions nobody reads (the FT-Transformer's, read at its [CLS] token) skips them.
        None: every position.
        """
        if queries is None:
            X = X + self.dropout(self.attention(self.norm1(X)))
        else:
            X = X[:, :queries] + self.dropout(self.attention(self.norm1(X), queries))
        hidden = self.dropout(torch.relu(self.linear1(self.norm2(X))))
        return X + self.dropout(self.linear2(hidden))


class TransformerEncoderNet(nn.Module):
    """Linear input projection, positional encoding, Transformer encoder layers and pooling.

    Parameters
    ----------
    n_in : int
        Channels of the input.
    seq_len : int
        Length of the sequences (sizes the positional table).
    d_model : int, default=32
        Width of the model; a multiple of ``n_heads``.
    n_heads : int, default=4
        Attention heads.
    num_layers : int, default=2
        Encoder layers (pre-norm).
    dim_feedforward : int, default=64
        Width of each layer's feed-forward block.
    dropout : float, default=0.0
        Dropout inside the layers.
    positional_encoding : {"sinusoidal", "learned"}, default="sinusoidal"
        Fixed sine/cosine table, or a learned one.
    pooling : {"mean", "last", "cls"}, default="mean"
        Mean over steps, the last step, or a learned [CLS] token prepended to the sequence.

    Attributes
    ----------
    out_features : int
        Width of the embedding (``d_model``).
    """

    def __init__(
        self,
        n_in: int,
        seq_len: int,
        d_model: int = 32,
        n_heads: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 64,
        dropout: float = 0.0,
        positional_encoding: str = "sinusoidal",
        pooling: str = "mean",
    ):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of n_heads ({n_heads}).")
        if positional_encoding not in POSITIONAL_ENCODINGS:
            raise ValueError(
                f"positional_encoding must be one of {POSITIONAL_ENCODINGS}, got "
                f"{positional_encoding!r}."
            )
        if pooling not in TRANSFORMER_POOLINGS:
            raise ValueError(f"pooling must be one of {TRANSFORMER_POOLINGS}, got {pooling!r}.")
        self.pooling = pooling
        self.project = nn.Linear(n_in, d_model)
        length = seq_len + (pooling == "cls")
        if positional_encoding == "learned":
            self.position = nn.Parameter(torch.zeros(length, d_model))
            nn.init.normal_(self.position, std=0.02)
        else:
            self.register_buffer(
                "position", sinusoidal_encoding(length, d_model), persistent=False
            )
        if pooling == "cls":
            self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
            nn.init.normal_(self.cls, std=0.02)
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, n_heads, dim_feedforward, dropout) for _ in range(num_layers)
        )
        self.norm = RowLayerNorm(d_model)
        self.out_features = d_model

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, length, channels) tensor to (batch, d_model)."""
        h = self.project(X)
        if self.pooling == "cls":
            h = torch.cat([self.cls.expand(len(h), -1, -1), h], dim=1)
        h = h + self.position[: h.shape[1]]
        for layer in self.layers:
            h = layer(h)
        h = self.norm(h)
        if self.pooling == "mean":
            return h.mean(dim=1)
        if self.pooling == "last":
            return h[:, -1]
        return h[:, 0]


class TransformerModule(nn.Module):
    """Transformer encoder and a linear head.

    Parameters
    ----------
    n_in : int
        Channels of the input.
    n_out : int
        Outputs (1 for regression, the number of classes for classification).
    seq_len : int
        Length of the sequences.
    linear_skip : int, default=0
        Also add a linear map of the window's last ``linear_skip`` steps to the output
        (:class:`~skfam.nn.LinearSkip`, LSTNet's autoregressive highway); 0: none.
    **kwargs
        The other parameters of :class:`TransformerEncoderNet`.

    Examples
    --------
    >>> import torch
    >>> from skfam.nn import TransformerModule
    >>> net = TransformerModule(3, 1, seq_len=10, d_model=8, n_heads=2, num_layers=1)
    >>> net(torch.zeros(2, 10, 3)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self, n_in: int, n_out: int, seq_len: int, linear_skip: int = 0, **kwargs: object
    ):
        super().__init__()
        self.encoder = TransformerEncoderNet(n_in, seq_len, **kwargs)
        self.head = nn.Linear(self.encoder.out_features, n_out)
        self.skip = LinearSkip(n_in, linear_skip, n_out) if linear_skip else None

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, length, channels) tensor to (batch, n_out)."""
        out = self.head(self.encoder(X))
        return out if self.skip is None else out + self.skip(X)
