"""A shared trunk with one head per task, and the task-weighted squared error."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .mlp import ACTIVATIONS, ColumnBatchNorm

__all__ = ["MultiTaskModule", "TaskWeightedMSELoss"]


def _block(width: int, size: int, activation: str, dropout: float, batch_norm: bool) -> list:
    layers: list[nn.Module] = [nn.Linear(width, size)]
    if batch_norm:
        layers.append(ColumnBatchNorm(size))
    layers.append(ACTIVATIONS[activation]())
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return layers


class MultiTaskModule(nn.Module):
    """A shared trunk of ``Linear -> [batch norm] -> activation -> Dropout`` blocks and task heads.

    Each head is its own small network (``head_sizes`` hidden layers, then one output) on
    the trunk's last layer, so the tasks share the trunk's representation and nothing else.

    Parameters
    ----------
    n_in : int
        Input features.
    n_out : int
        Tasks (one output column each).
    hidden_sizes : sequence of int
        Width of each trunk layer; empty: the heads read the input.
    head_sizes : sequence of int, default=()
        Width of each hidden layer of every head; empty: linear heads.
    activation : str, default="relu"
        A key of :data:`skfam.nn.mlp.ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after each hidden layer (trunk and heads).
    batch_norm : bool, default=False
        Batch normalisation after each trunk linear layer
        (:class:`~skfam.nn.mlp.ColumnBatchNorm`).

    Examples
    --------
    >>> import torch
    >>> from skfam.nn.multi_task import MultiTaskModule
    >>> MultiTaskModule(4, 3, [8], [4])(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        hidden_sizes: Sequence[int] = (),
        head_sizes: Sequence[int] = (),
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_in
        for size in hidden_sizes:
            layers += _block(width, size, activation, dropout, batch_norm)
            width = size
        self.trunk = nn.Sequential(*layers)
        heads = []
        for _ in range(n_out):
            head: list[nn.Module] = []
            head_width = width
            for size in head_sizes:
                head += _block(head_width, size, activation, dropout, False)
                head_width = size
            head.append(nn.Linear(head_width, 1))
            heads.append(nn.Sequential(*head))
        self.heads = nn.ModuleList(heads)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a (batch, n_in) tensor to (batch, n_out): one column per task."""
        shared = self.trunk(X)
        return torch.cat([head(shared) for head in self.heads], dim=1)


class TaskWeightedMSELoss(nn.Module):
    """Squared error per element, each task's column multiplied by its weight.

    Parameters
    ----------
    task_weights : sequence of float
        One non-negative weight per task (column).
    reduction : {"none", "mean", "sum"}, default="none"
        As torch's losses; skfam's nets use "none" and mask missing targets themselves.

    Examples
    --------
    >>> import torch
    >>> from skfam.nn.multi_task import TaskWeightedMSELoss
    >>> loss = TaskWeightedMSELoss([1.0, 2.0])
    >>> loss(torch.ones(1, 2), torch.zeros(1, 2)).tolist()
    [[1.0, 2.0]]
    """

    def __init__(self, task_weights: Sequence[float], reduction: str = "none"):
        super().__init__()
        self.reduction = reduction
        self.register_buffer("task_weights", torch.tensor(list(task_weights), dtype=torch.float32))

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return the weighted squared errors (reduced as ``reduction`` says)."""
        loss = (output - target) ** 2 * self.task_weights.to(output.device)
        if self.reduction == "mean":
            return loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss
