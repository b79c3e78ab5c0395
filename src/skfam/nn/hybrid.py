"""A network for tabular features plus a sequence: an encoder embeds the sequence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .cnn1d import CNN1DEncoder
from .lstm import LSTMEncoder
from .transformer import TransformerEncoderNet

__all__ = ["ENCODERS", "HybridModule"]

#: Sequence encoder name -> class.
ENCODERS: dict[str, type[nn.Module]] = {
    "lstm": LSTMEncoder,
    "cnn1d": CNN1DEncoder,
    "transformer": TransformerEncoderNet,
}


class HybridModule(nn.Module):
    """Embed the sequence, join it with the features, and map both through an MLP head.

    The input is one (batch, n_features + seq_len * n_channels) tensor laid out as
    ``[features | sequence flattened time-major]`` (see :func:`skfam.make_hybrid`).

    Parameters
    ----------
    n_features : int
        Tabular features (may be 0).
    seq_len, n_channels : int
        Shape of the sequence.
    n_out : int
        Outputs (1 for regression, the number of classes for classification).
    encoder : {"lstm", "cnn1d", "transformer"}
        The sequence encoder.
    encoder_kwargs : dict
        Arguments of the encoder besides its input width (and ``seq_len`` for the
        transformer).
    head_sizes : sequence of int, default=(64,)
        Hidden widths of the MLP head.
    dropout : float, default=0.0
        Dropout after each hidden layer of the head.

    Examples
    --------
    >>> import torch
    >>> from skfam.nn import HybridModule
    >>> net = HybridModule(3, 5, 2, 1, "lstm", {"hidden_size": 4}, head_sizes=[8])
    >>> net(torch.zeros(6, 3 + 5 * 2)).shape
    torch.Size([6, 1])
    """

    def __init__(
        self,
        n_features: int,
        seq_len: int,
        n_channels: int,
        n_out: int,
        encoder: str,
        encoder_kwargs: dict[str, Any],
        head_sizes: Sequence[int] = (64,),
        dropout: float = 0.0,
    ):
        super().__init__()
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {sorted(ENCODERS)}, got {encoder!r}.")
        self.n_features = n_features
        self.seq_shape = (seq_len, n_channels)
        extra = {"seq_len": seq_len} if encoder == "transformer" else {}
        self.encoder = ENCODERS[encoder](n_channels, **extra, **encoder_kwargs)
        layers: list[nn.Module] = []
        width = n_features + self.encoder.out_features
        for size in head_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_out))
        self.head = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, n_features + seq_len * n_channels) tensor to (batch, n_out)."""
        features = X[:, : self.n_features]
        sequence = X[:, self.n_features :].reshape(len(X), *self.seq_shape)
        return self.head(torch.cat([features, self.encoder(sequence)], dim=1))
