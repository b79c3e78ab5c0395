"""skfam: scikit-learn estimators for many model families, reproducible bit for bit.

The estimator classes (``skfam.LightGBMRegressor``, ``skfam.MLPClassifier``, ...) are found
through the registry (``configs/families.yaml``) on first access, so ``import skfam`` stays
light and never imports torch or an optional library by itself.
"""

from __future__ import annotations

from typing import Any

from ._registry import FamilyInfo, all_estimators, families, get_estimator, load_model_config
from ._settings import config_context, get_config, set_config
from ._sst import ConfigError
from ._version import __version__
from .base import NonFinitePredictionError
from .model_file import ModelFileError, ModelVersionWarning, load_model
from .sequences import make_hybrid, make_sequences

__all__ = [
    "ConfigError",
    "FamilyInfo",
    "ModelFileError",
    "ModelVersionWarning",
    "NonFinitePredictionError",
    "__version__",
    "all_estimators",
    "config_context",
    "families",
    "get_config",
    "get_estimator",
    "load_model",
    "load_model_config",
    "make_hybrid",
    "make_sequences",
    "set_config",
]


def __getattr__(name: str) -> Any:
    """Give the estimator classes of the registry as attributes of the package."""
    if name[:1].isupper():
        classes = dict(all_estimators())
        if name in classes:
            return classes[name]
    raise AttributeError(f"module 'skfam' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {name for name, _ in all_estimators()})
