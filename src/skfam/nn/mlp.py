"""A feed-forward network for tabular input."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "MLPModule"]

#: Activation name -> module class.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "elu": nn.ELU,
}


class MLPModule(nn.Module):
    """Stack of ``Linear -> [BatchNorm1d] -> activation -> Dropout`` blocks and a linear head.

    Parameters
    ----------
    n_in : int
        Input features.
    n_out : int
        Outputs (1 for regression, the number of classes for classification).
    hidden_sizes : sequence of int
        Width of each hidden layer; empty gives a linear model.
    activation : str, default="relu"
        A key of :data:`ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    batch_norm : bool, default=False
        Batch normalisation after each hidden linear layer.

    Examples
    --------
    >>> import torch
    >>> from skfam.nn import MLPModule
    >>> MLPModule(4, 1, [8])(torch.zeros(2, 4)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        hidden_sizes: Sequence[int] = (),
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_in
        for size in hidden_sizes:
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_out))
        self.layers = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, n_in) tensor to (batch, n_out)."""
        return self.layers(X)
