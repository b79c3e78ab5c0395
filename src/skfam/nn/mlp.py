"""A feed-forward network for tabular input."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "ColumnBatchNorm", "MLPModule"]

#: Activation name -> module class.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "elu": nn.ELU,
}


class ColumnBatchNorm(nn.Module):
    """Batch normalisation of (batch, width) input, written with elementwise operations.

    The function of :class:`torch.nn.BatchNorm1d` (affine, running statistics with
    momentum 0.1, the same parameters and buffers, so the same ``state_dict``), but its
    batch statistics and its backward are built from torch's ordinary column reductions,
    whose order does not depend on the thread count. The native CPU kernel splits its
    reductions per thread, in the forward and the backward pass, so a fit with it differs
    between ``n_jobs`` values. In eval mode it computes what the native kernel computes:
    ``X * a + b`` with ``a = weight / sqrt(running_var + eps)`` and
    ``b = bias - running_mean * a``, each multiply-add fused, as torch's CPU build does.

    Parameters
    ----------
    width : int
        Features (columns) of the input.
    eps : float, default=1e-5
        Added to the variance.
    momentum : float, default=0.1
        Weight of the current batch in the running statistics.

    Examples
    --------
    >>> import torch
    >>> from skfam.nn.mlp import ColumnBatchNorm
    >>> out = ColumnBatchNorm(3)(torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]))
    >>> out.mean(dim=0).abs().max().item() < 1e-6
    True
    """

    def __init__(self, width: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))
        self.register_buffer("running_mean", torch.zeros(width))
        self.register_buffer("running_var", torch.ones(width))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Normalise each column with the batch's (training) or running (eval) statistics."""
        if not self.training:
            scale = torch.rsqrt(self.running_var + self.eps) * self.weight
            # The native kernel fuses each multiply-add; the product of two float32 values is
            # exact in float64, so this gives its results (and a saved model its predictions).
            wide = scale.double()
            shift = (self.bias.double() - self.running_mean.double() * wide).to(X.dtype)
            return (X.double() * wide + shift.double()).to(X.dtype)
        n = X.shape[0]
        if n < 2:
            raise ValueError(
                f"Batch normalisation needs more than 1 row per batch in training, got {n}."
            )
        mean = X.mean(dim=0)
        centred = X - mean
        variance = (centred * centred).mean(dim=0)
        with torch.no_grad():
            self.running_mean.mul_(1 - self.momentum).add_(mean, alpha=self.momentum)
            self.running_var.mul_(1 - self.momentum).add_(
                variance * (n / (n - 1)), alpha=self.momentum
            )
            self.num_batches_tracked.add_(1)
        return centred * torch.rsqrt(variance + self.eps) * self.weight + self.bias


class MLPModule(nn.Module):
    """Stack of ``Linear -> [batch norm] -> activation -> Dropout`` blocks and a linear head.

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
        Batch normalisation after each hidden linear layer (:class:`ColumnBatchNorm`, the
        function of :class:`torch.nn.BatchNorm1d` whatever the thread count).

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
                layers.append(ColumnBatchNorm(size))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_out))
        self.layers = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, n_in) tensor to (batch, n_out)."""
        return self.layers(X)
