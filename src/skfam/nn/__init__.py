"""PyTorch modules of the skfam net families, kept apart from the estimators.

Each module is a plain :class:`torch.nn.Module` importable at top level (so it pickles),
built by the estimators from their resolved hyperparameters.
"""

from .cnn1d import CNN1DEncoder, CNN1DModule
from .gan import ConditionalGAN
from .hybrid import HybridModule
from .lstm import LSTMEncoder, LSTMModule
from .mlp import MLPModule
from .multi_task import MultiTaskModule
from .skip import LinearSkip
from .tab_cnn import TabCNNModule
from .tab_lstm import TabLSTMModule
from .tab_transformer import FeatureTokenizer, TabTransformerModule
from .transformer import TransformerEncoderNet, TransformerModule
from .vae import VAEModule

__all__ = [
    "CNN1DEncoder",
    "CNN1DModule",
    "ConditionalGAN",
    "FeatureTokenizer",
    "HybridModule",
    "LSTMEncoder",
    "LSTMModule",
    "LinearSkip",
    "MLPModule",
    "MultiTaskModule",
    "TabCNNModule",
    "TabLSTMModule",
    "TabTransformerModule",
    "TransformerEncoderNet",
    "TransformerModule",
    "VAEModule",
]
