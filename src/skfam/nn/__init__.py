"""PyTorch modules of the skfam net families, kept apart from the estimators.

Each module is a plain :class:`torch.nn.Module` importable at top level (so it pickles),
built by the estimators from their resolved hyperparameters.
"""

from .cnn1d import CNN1DEncoder, CNN1DModule
from .hybrid import HybridModule
from .lstm import LSTMEncoder, LSTMModule
from .mlp import MLPModule
from .skip import LinearSkip
from .transformer import TransformerEncoderNet, TransformerModule

__all__ = [
    "CNN1DEncoder",
    "CNN1DModule",
    "HybridModule",
    "LSTMEncoder",
    "LSTMModule",
    "LinearSkip",
    "MLPModule",
    "TransformerEncoderNet",
    "TransformerModule",
]
