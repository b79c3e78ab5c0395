"""A causal 1-D convolutional network for (batch, length, channels) sequences."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .skip import LinearSkip

__all__ = ["POOLINGS", "CNN1DEncoder", "CNN1DModule", "CausalConv1d"]

#: Global pooling over time of the convolutional features.
POOLINGS = ("mean", "max", "last")


class CausalConv1d(nn.Module):
    """A causal 1-D convolution on (batch, length, channels), as unfold + linear map.

    The output at step ``t`` is ``W @ [x_{t-k+1}, ..., x_t] + b`` (steps before the start
    are zeros). Written as a matrix product instead of ``nn.Conv1d`` because oneDNN's
    convolution backward sums weight gradients in an order that depends on the thread
    count, and skfam promises the same model for any ``n_jobs``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output channels.
    kernel_size : int
        Steps each output sees.
    """

    def __init__(self, n_in: int, n_out: int, kernel_size: int):
        super().__init__()
        self.kernel_size = kernel_size
        self.linear = nn.Linear(n_in * kernel_size, n_out)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map (batch, length, n_in) to (batch, length, n_out)."""
        padded = nn.functional.pad(X, (0, 0, self.kernel_size - 1, 0))
        windows = padded.unfold(1, self.kernel_size, 1)  # (batch, length, n_in, k)
        return self.linear(windows.reshape(*X.shape[:2], -1))


class CNN1DEncoder(nn.Module):
    """Stack of causal ``conv -> ReLU -> Dropout`` layers and a global pooling over time.

    Convolutions are left-padded (causal): the feature at step ``t`` sees steps ``<= t``
    only, so ``pooling="last"`` summarises the whole window. Any length >= 1 works.

    Parameters
    ----------
    n_in : int
        Channels of the input.
    channels : sequence of int
        Output channels of each convolution.
    kernel_size : int, default=3
        Width of each convolution kernel.
    pooling : {"mean", "max", "last"}, default="mean"
        How the features of all steps become one embedding.
    dropout : float, default=0.0
        Dropout after each convolution.

    Attributes
    ----------
    out_features : int
        Width of the embedding (the last layer's channels).
    """

    def __init__(
        self,
        n_in: int,
        channels: Sequence[int],
        kernel_size: int = 3,
        pooling: str = "mean",
        dropout: float = 0.0,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        layers: list[nn.Module] = []
        width = n_in
        for size in channels:
            layers += [CausalConv1d(width, size, kernel_size), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        self.layers = nn.Sequential(*layers)
        self.pooling = pooling
        self.out_features = width

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, length, channels) tensor to (batch, out_features)."""
        features = self.layers(X)  # (batch, length, channels)
        if self.pooling == "mean":
            return features.mean(dim=1)
        if self.pooling == "max":
            return features.amax(dim=1)
        return features[:, -1]


class CNN1DModule(nn.Module):
    """Causal 1-D CNN encoder and a linear head.

    Parameters
    ----------
    n_in : int
        Channels of the input.
    n_out : int
        Outputs (1 for regression, the number of classes for classification).
    channels : sequence of int, default=(32, 32)
        Output channels of each convolution.
    kernel_size : int, default=3
        Width of each convolution kernel.
    pooling : {"mean", "max", "last"}, default="mean"
        Global pooling over time.
    dropout : float, default=0.0
        Dropout after each convolution.
    linear_skip : int, default=0
        Also add a linear map of the window's last ``linear_skip`` steps to the output
        (:class:`~skfam.nn.LinearSkip`, LSTNet's autoregressive highway); 0: none.

    Examples
    --------
    >>> import torch
    >>> from skfam.nn import CNN1DModule
    >>> CNN1DModule(3, 2, channels=[8, 8])(torch.zeros(4, 10, 3)).shape
    torch.Size([4, 2])
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        channels: Sequence[int] = (32, 32),
        kernel_size: int = 3,
        pooling: str = "mean",
        dropout: float = 0.0,
        linear_skip: int = 0,
    ):
        super().__init__()
        self.encoder = CNN1DEncoder(n_in, channels, kernel_size, pooling, dropout)
        self.head = nn.Linear(self.encoder.out_features, n_out)
        self.skip = LinearSkip(n_in, linear_skip, n_out) if linear_skip else None

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, length, channels) tensor to (batch, n_out)."""
        out = self.head(self.encoder(X))
        return out if self.skip is None else out + self.skip(X)
