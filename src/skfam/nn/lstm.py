"""An LSTM network for (batch, length, channels) sequences."""

from __future__ import annotations

import torch
from torch import nn

from .skip import LinearSkip

__all__ = ["LSTMEncoder", "LSTMModule"]


class LSTMEncoder(nn.Module):
    """Stacked LSTM that embeds a sequence as its last hidden state.

    Parameters
    ----------
    n_in : int
        Channels of the input.
    hidden_size : int
        Hidden units per direction and layer.
    num_layers : int, default=1
        Stacked LSTM layers.
    dropout : float, default=0.0
        Dropout between stacked layers (and on the embedding).
    bidirectional : bool, default=False
        Also read the sequence backwards; the embedding joins both directions.

    Attributes
    ----------
    out_features : int
        Width of the embedding (``hidden_size``, doubled when bidirectional).
    """

    def __init__(
        self,
        n_in: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ):
        super().__init__()
        self.lstm = nn.LSTM(
            n_in,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )
        self.dropout = nn.Dropout(dropout)
        self.directions = 2 if bidirectional else 1
        self.out_features = hidden_size * self.directions

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, length, channels) tensor to (batch, out_features)."""
        _, (h_n, _) = self.lstm(X)
        last = h_n[-self.directions :]  # the top layer, each direction
        return self.dropout(last.transpose(0, 1).reshape(X.shape[0], self.out_features))


class LSTMModule(nn.Module):
    """LSTM encoder and a linear head.

    Parameters
    ----------
    n_in : int
        Channels of the input.
    n_out : int
        Outputs (1 for regression, the number of classes for classification).
    hidden_size : int, default=32
        Hidden units per direction and layer.
    num_layers : int, default=1
        Stacked LSTM layers.
    dropout : float, default=0.0
        Dropout between layers and before the head.
    bidirectional : bool, default=False
        Read the sequence in both directions.
    linear_skip : int, default=0
        Also add a linear map of the window's last ``linear_skip`` steps to the output
        (:class:`~skfam.nn.LinearSkip`, LSTNet's autoregressive highway); 0: none.

    Examples
    --------
    >>> import torch
    >>> from skfam.nn import LSTMModule
    >>> LSTMModule(3, 1, hidden_size=8)(torch.zeros(2, 10, 3)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        linear_skip: int = 0,
    ):
        super().__init__()
        self.encoder = LSTMEncoder(n_in, hidden_size, num_layers, dropout, bidirectional)
        self.head = nn.Linear(self.encoder.out_features, n_out)
        self.skip = LinearSkip(n_in, linear_skip, n_out) if linear_skip else None

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, length, channels) tensor to (batch, n_out)."""
        out = self.head(self.encoder(X))
        return out if self.skip is None else out + self.skip(X)
