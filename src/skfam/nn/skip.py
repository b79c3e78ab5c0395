"""A linear map of a window's last steps, added to a sequence net's output."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LinearSkip"]


class LinearSkip(nn.Module):
    """``W @ flatten(X[:, -steps:]) + b``: the autoregressive highway of LSTNet.

    Lai et al. (2018, "Modeling Long- and Short-Term Temporal Patterns with Deep Neural
    Networks") add a linear model of the last steps to the net's output, so the net only
    has to learn what a linear autoregression misses, and the scale of its output follows
    the input's. skfam's sequence regressors add it by default (``linear_skip``).

    Parameters
    ----------
    n_in : int
        Channels of the input.
    steps : int
        Last steps of the window the map reads (at most the window's length).
    n_out : int
        Outputs.

    Examples
    --------
    >>> import torch
    >>> from skfam.nn import LinearSkip
    >>> LinearSkip(2, 4, 1)(torch.zeros(3, 10, 2)).shape
    torch.Size([3, 1])
    """

    def __init__(self, n_in: int, steps: int, n_out: int):
        super().__init__()
        self.steps = steps
        self.linear = nn.Linear(n_in * steps, n_out)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map (batch, length, n_in) with length >= ``steps`` to (batch, n_out)."""
        return self.linear(X[:, X.shape[1] - self.steps :].flatten(1))
