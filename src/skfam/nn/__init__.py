"""PyTorch modules of the skfam net families, kept apart from the estimators.

Each module is a plain :class:`torch.nn.Module` importable at top level (so it pickles),
built by the estimators from their resolved hyperparameters.
"""

from .mlp import MLPModule

__all__ = ["MLPModule"]
