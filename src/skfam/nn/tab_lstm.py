"""An LSTM that reads the features of a row as a sequence of tokens."""

from __future__ import annotations

import torch
from torch import nn

from .lstm import LSTMEncoder
from .tab_transformer import FeatureTokenizer

__all__ = ["TabLSTMModule"]


class TabLSTMModule(nn.Module):
    """Feature tokens read in column order by an LSTM, and a linear head.

    Each feature ``j`` becomes the token ``x_j * W_j + b_j``
    (:class:`~skfam.nn.tab_transformer.FeatureTokenizer`); the tokens, in the order of the
    input's columns, are the steps of a sequence read by skfam's
    :class:`~skfam.nn.lstm.LSTMEncoder`, whose embedding goes to a linear head.

    Parameters
    ----------
    n_in : int
        Features of the input.
    n_out : int
        Outputs (1 for regression, the number of classes for classification).
    d_token : int, default=16
        Width of each feature's token (the LSTM's input width).
    hidden_size : int, default=64
        Hidden units per direction and layer.
    num_layers : int, default=1
        Stacked LSTM layers.
    dropout : float, default=0.0
        Dropout between stacked layers and before the head.
    bidirectional : bool, default=True
        Also read the features in reverse order.
    readout : {"last", "pool"}, default="pool"
        How the LSTM embeds the sequence (see :class:`~skfam.nn.lstm.LSTMEncoder`).
    forget_bias : float or None, default=None
        Start value of the forget gates' bias (see :class:`~skfam.nn.lstm.LSTMEncoder`).

    Examples
    --------
    >>> import torch
    >>> from skfam.nn.tab_lstm import TabLSTMModule
    >>> TabLSTMModule(6, 1, d_token=4, hidden_size=8)(torch.zeros(2, 6)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        d_token: int = 16,
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = True,
        readout: str = "pool",
        forget_bias: float | None = None,
    ):
        super().__init__()
        self.tokenizer = FeatureTokenizer(n_in, d_token)
        self.encoder = LSTMEncoder(
            d_token, hidden_size, num_layers, dropout, bidirectional, readout, forget_bias
        )
        self.head = nn.Linear(self.encoder.out_features, n_out)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, n_in) tensor to (batch, n_out)."""
        return self.head(self.encoder(self.tokenizer(X)))
