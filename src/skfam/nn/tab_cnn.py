"""The 1-D CNN for tabular data of the Mechanisms of Action (MoA) competition.

The second-place solution of Kaggle's "Mechanisms of Action" competition (2020, by
"tmp", shared as "1D-CNN for tabular data"): a dense layer maps the features to a signal of
``signal_channels`` channels and ``signal_length`` steps, so that the convolutions that
follow find local structure in a feature order the net learned itself; the convolutions
pool the signal, a multiplicative skip path joins an early convolution's output to a later
one's, and a dense head reads the flattened result.
"""

from __future__ import annotations

import torch
from torch import nn

from .mlp import ColumnBatchNorm

__all__ = ["ChannelBatchNorm", "SameConv1d", "TabCNNModule"]


class SameConv1d(nn.Module):
    """A 1-D convolution on (batch, length, channels) with zero "same" padding.

    The output at step ``t`` is ``W @ [x_{t-p}, ..., x_{t+k-1-p}] + b`` with
    ``p = (k - 1) // 2`` (steps outside the signal are zeros), so the length is kept. Written
    as unfold and a linear map, as :class:`~skfam.nn.cnn1d.CausalConv1d`, because oneDNN's
    convolution backward sums weight gradients in a thread-dependent order.

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
        left = (self.kernel_size - 1) // 2
        padded = nn.functional.pad(X, (0, 0, left, self.kernel_size - 1 - left))
        windows = padded.unfold(1, self.kernel_size, 1)  # (batch, length, n_in, k)
        return self.linear(windows.reshape(*X.shape[:2], -1))


class ChannelBatchNorm(ColumnBatchNorm):
    """Batch normalisation of each channel of (batch, length, channels) input.

    The function of :class:`torch.nn.BatchNorm1d` on (batch, channels, length), statistics
    over the batch and the steps, computed by :class:`~skfam.nn.mlp.ColumnBatchNorm` (the
    same model for any thread count).
    """

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Normalise each channel over the batch and the steps."""
        return super().forward(X.reshape(-1, X.shape[-1])).reshape(X.shape)


class TabCNNModule(nn.Module):
    """Dense layer to a signal, 1-D convolutions with pooling and a skip path, dense head.

    ``dense -> CELU`` gives a (``signal_length``, ``signal_channels``) signal; then, each
    convolution preceded by batch norm and dropout and followed by ReLU: a convolution of
    ``kernel_size`` to ``conv_channels`` channels and an average pooling that halves the
    length; a convolution of 3 whose output ``s`` is kept; convolutions of 3 and of
    ``kernel_size``, whose output is multiplied by ``s`` (the skip path); a max pooling
    that halves the length again; batch norm, dropout and the linear head on the flattened
    ``conv_channels * signal_length / 4`` values. The layout of the MoA solution, with
    plain weights where it used weight normalisation, and non-overlapping max pooling.

    Parameters
    ----------
    n_in : int
        Features of the input.
    n_out : int
        Outputs (1 for regression, the number of classes for classification).
    signal_channels : int, default=64
        Channels of the signal the dense layer makes.
    signal_length : int, default=16
        Steps of that signal; a multiple of 4 (two poolings halve it).
    conv_channels : int, default=128
        Channels of the convolutions.
    kernel_size : int, default=5
        Width of the first and the last convolution (the middle ones have 3).
    dropout : float, default=0.1
        Dropout before each convolution and before the head.

    Examples
    --------
    >>> import torch
    >>> from skfam.nn.tab_cnn import TabCNNModule
    >>> net = TabCNNModule(6, 2, signal_channels=4, signal_length=8, conv_channels=8)
    >>> net(torch.zeros(3, 6)).shape
    torch.Size([3, 2])
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        signal_channels: int = 64,
        signal_length: int = 16,
        conv_channels: int = 128,
        kernel_size: int = 5,
        dropout: float = 0.1,
    ):
        super().__init__()
        if signal_length < 4 or signal_length % 4:
            raise ValueError(f"signal_length must be a multiple of 4, got {signal_length}.")
        self.signal = (signal_length, signal_channels)
        self.dense = nn.Linear(n_in, signal_channels * signal_length)
        self.dropout = nn.Dropout(dropout)
        self.norm1 = ChannelBatchNorm(signal_channels)
        self.conv1 = SameConv1d(signal_channels, conv_channels, kernel_size)
        self.norm2 = ChannelBatchNorm(conv_channels)
        self.conv2 = SameConv1d(conv_channels, conv_channels, 3)
        self.norm3 = ChannelBatchNorm(conv_channels)
        self.conv3 = SameConv1d(conv_channels, conv_channels, 3)
        self.norm4 = ChannelBatchNorm(conv_channels)
        self.conv4 = SameConv1d(conv_channels, conv_channels, kernel_size)
        width = conv_channels * (signal_length // 4)
        self.norm_head = ColumnBatchNorm(width)
        self.head = nn.Linear(width, n_out)

    def _conv(self, norm: nn.Module, conv: nn.Module, X: torch.Tensor) -> torch.Tensor:
        return torch.relu(conv(self.dropout(norm(X))))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, n_in) tensor to (batch, n_out)."""
        batch = X.shape[0]
        h = nn.functional.celu(self.dense(X)).reshape(batch, *self.signal)
        h = self._conv(self.norm1, self.conv1, h)
        h = h.reshape(batch, h.shape[1] // 2, 2, -1).mean(dim=2)  # average pooling of 2
        skip = self._conv(self.norm2, self.conv2, h)
        h = self._conv(self.norm3, self.conv3, skip)
        h = self._conv(self.norm4, self.conv4, h) * skip
        h = h.reshape(batch, h.shape[1] // 2, 2, -1).amax(dim=2)  # max pooling of 2
        return self.head(self.dropout(self.norm_head(h.reshape(batch, -1))))
