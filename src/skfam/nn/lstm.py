"""An LSTM network for (batch, length, channels) sequences."""

from __future__ import annotations

import torch
from torch import nn

from .skip import LinearSkip

__all__ = ["LSTMEncoder", "LSTMModule"]


#: Ways to read a sequence's embedding off the top layer: its last hidden state, or that
#: joined with the mean and the maximum of its outputs over time.
READOUTS = ("last", "pool")


class LSTMEncoder(nn.Module):
    """Stacked LSTM that embeds a sequence as its last hidden state (and pooled outputs).

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
    readout : {"last", "pool"}, default="last"
        "last": the top layer's last hidden state (each direction). "pool": that, joined
        with the mean and the maximum over time of the top layer's outputs, so every step
        reaches the embedding without passing through the whole recurrence.
    forget_bias : float or None, default=None
        Start value of the forget gates' bias (the input-side bias; the hidden-side one
        starts at 0). 1.0 is the "unit forget bias" of Jozefowicz et al. (2015) (also
        Keras' default): gates start open, so gradients reach early steps of long
        sequences. None keeps torch's uniform initialisation.

    Attributes
    ----------
    out_features : int
        Width of the embedding (``hidden_size``, doubled when bidirectional, tripled by
        the "pool" readout).
    """

    def __init__(
        self,
        n_in: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        readout: str = "last",
        forget_bias: float | None = None,
    ):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}.")
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
        self.readout = readout
        width = hidden_size * self.directions
        self.out_features = width * (3 if readout == "pool" else 1)
        if forget_bias is not None:
            with torch.no_grad():
                for name, bias in self.lstm.named_parameters():
                    # torch orders each layer's gates as input, forget, cell, output.
                    if name.startswith("bias_ih"):
                        bias[hidden_size : 2 * hidden_size].fill_(float(forget_bias))
                    elif name.startswith("bias_hh"):
                        bias[hidden_size : 2 * hidden_size].zero_()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, length, channels) tensor to (batch, out_features)."""
        outputs, (h_n, _) = self.lstm(X)
        last = h_n[-self.directions :]  # the top layer, each direction
        embedding = last.transpose(0, 1).reshape(X.shape[0], -1)
        if self.readout == "pool":
            embedding = torch.cat([embedding, outputs.mean(dim=1), outputs.amax(dim=1)], dim=1)
        return self.dropout(embedding)


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
    readout : {"last", "pool"}, default="last"
        How the encoder embeds the sequence (see :class:`LSTMEncoder`).
    forget_bias : float or None, default=None
        Start value of the forget gates' bias (see :class:`LSTMEncoder`).

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
        readout: str = "last",
        forget_bias: float | None = None,
    ):
        super().__init__()
        self.encoder = LSTMEncoder(
            n_in, hidden_size, num_layers, dropout, bidirectional, readout, forget_bias
        )
        self.head = nn.Linear(self.encoder.out_features, n_out)
        self.skip = LinearSkip(n_in, linear_skip, n_out) if linear_skip else None

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, length, channels) tensor to (batch, n_out)."""
        out = self.head(self.encoder(X))
        return out if self.skip is None else out + self.skip(X)
