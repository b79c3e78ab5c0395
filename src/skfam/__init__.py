"""skfam: scikit-learn estimators for many model families, reproducible bit for bit.

The estimator classes (``skfam.LightGBMRegressor``, ``skfam.MLPClassifier``, ...) are found
through the registry (``configs/families.yaml``) on first access, which imports only the
module of the requested family: ``import skfam`` never imports torch or an optional library by
itself, and ``skfam.LightGBMRegressor`` imports LightGBM, not torch or XGBoost.
"""

from __future__ import annotations

import os
from typing import Any

# MKL (torch's CPU BLAS) sums a matrix product in an order that depends on its thread count
# unless strict conditional numerical reproducibility is on; it reads this variable once, at
# its first matrix product, so it is set here, before skfam can import torch. A value the
# user set is kept. See docs/determinism.md ("Threads").
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

from ._registry import (
    FamilyInfo,
    all_estimators,
    estimator_class,
    estimator_names,
    families,
    get_estimator,
    load_model_config,
)
from ._settings import config_context, get_config, reset_config, set_config
from ._sst import ConfigError
from ._version import __version__
from ._warnings import (
    DegenerateModelWarning,
    InputLayoutWarning,
    ReproducibilityWarning,
    SkfamWarning,
)
from .base import NonFinitePredictionError
from .model_file import ModelFileError, ModelVersionWarning, load_model
from .sequences import make_hybrid, make_sequences

__all__ = [
    "ConfigError",
    "DegenerateModelWarning",
    "FamilyInfo",
    "InputLayoutWarning",
    "ModelFileError",
    "ModelVersionWarning",
    "NonFinitePredictionError",
    "ReproducibilityWarning",
    "SkfamWarning",
    "__version__",
    "all_estimators",
    "config_context",
    "estimator_class",
    "estimator_names",
    "families",
    "get_config",
    "get_estimator",
    "load_model",
    "load_model_config",
    "make_hybrid",
    "make_sequences",
    "reset_config",
    "set_config",
]


def __getattr__(name: str) -> Any:
    """Give the estimator classes of the registry as attributes, importing only their module."""
    if name[:1].isupper():
        try:
            return estimator_class(name)
        except KeyError:
            pass
    raise AttributeError(f"module 'skfam' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(estimator_names()))
