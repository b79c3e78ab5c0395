"""The largest values of X and y each family's library computes with correctly.

Every library represents numbers in a fixed format (float32 features or labels, float64
arithmetic that squares values); past its range it fails with a C++ stack trace, or, worse,
trains a model that predicts garbage. The base estimator checks the data against the
family's limits (``_input_limit``, ``_target_limit``) at fit and predict and refuses what
lies beyond them with a ValueError that states the bound and its reason. The bounds were
probed family by family (docs/configuration.md, "Value ranges").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = [
    "ANY_FINITE",
    "FLOAT32_FEATURES",
    "FLOAT32_LABELS",
    "FLOAT64_SQUARES",
    "XGBOOST_LABELS",
    "ValueLimit",
    "check_input_range",
    "check_target_range",
]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class ValueLimit:
    """Bounds on the magnitude of values a library handles, and why.

    Attributes
    ----------
    bound : float
        The largest ``|value|`` accepted.
    reason : str
        Why: completes "because ...".
    weighted_range : float or None
        When set, also bounds ``sum(sample_weight) * (max(y) - min(y))`` (for libraries
        that add up weighted residuals per tree node and square the sums in float32).
    """

    bound: float
    reason: str
    weighted_range: float | None = None


#: Computations square the values in float64 (standardisation, squared errors), which
#: overflows beyond about 1.3e154; 1e150 leaves room for sums over 10**8 rows.
FLOAT64_SQUARES = ValueLimit(
    1e150,
    "the model squares these values in float64 (standardisation, squared errors), which "
    "overflows beyond about 1e154",
)
#: Any finite float64 (LightGBM bins features in float64).
ANY_FINITE = ValueLimit(float(np.finfo(np.float64).max), "any finite float64 is fine")
#: The library stores features as float32 (XGBoost, scikit-learn trees).
FLOAT32_FEATURES = ValueLimit(
    _FLOAT32_MAX, "the library stores features as float32, whose largest value is 3.4e38"
)
#: LightGBM keeps labels and residuals in float32 (probed with 100,000 rows: the same R^2 as
#: on unit scale up to |y| ~ 9e37, worse from |y| ~ 1.3e38).
FLOAT32_LABELS = ValueLimit(
    1e38,
    "the library keeps the target and its residuals (up to twice |y|) in float32, whose "
    "largest value is 3.4e38",
)
#: XGBoost stores labels in float32 and squares per-node sums of weighted residuals in
#: float32: with residuals summed over a node bounded by a quarter of sum(weights) times
#: the target's range, 4 * sqrt(float32 max) keeps every square finite.
XGBOOST_LABELS = ValueLimit(
    FLOAT32_LABELS.bound,
    "the library keeps the target in float32 and squares sums of weighted residuals per "
    "tree node in float32 (largest value 3.4e38)",
    weighted_range=4.0 * math.sqrt(_FLOAT32_MAX),
)


def _magnitude(values: np.ndarray) -> float:
    """Largest ``|value|`` of a float array, ignoring NaN (0.0 when nothing is observed).

    A sparse matrix is read through its stored values (its implicit zeros change nothing).
    """
    if sp.issparse(values):
        values = values.data
    if values.size == 0:
        return 0.0
    high = float(np.fmax.reduce(values, axis=None))
    low = float(np.fmin.reduce(values, axis=None))
    magnitude = max(abs(high), abs(low))
    return 0.0 if math.isnan(magnitude) else magnitude


def check_input_range(X: np.ndarray, limit: ValueLimit, estimator_name: str) -> None:
    """Raise ValueError when a value of ``X`` (NaN ignored) lies beyond ``limit``."""
    largest = _magnitude(X)
    if largest > limit.bound:
        raise ValueError(
            f"X holds a value of magnitude {largest:.3g}, beyond what {estimator_name} "
            f"handles: |X| <= {limit.bound:.3g}, because {limit.reason}. Rescale the "
            "features (e.g. a log transform or dividing by a power of ten)."
        )


def check_target_range(
    y: np.ndarray, sample_weight: np.ndarray, limit: ValueLimit, estimator_name: str
) -> None:
    """Raise ValueError when the regression target ``y`` lies beyond ``limit``."""
    largest = _magnitude(y)
    advice = (
        "Rescale the target (e.g. divide it by a power of ten) and scale the predictions back."
    )
    if largest > limit.bound:
        raise ValueError(
            f"y holds a value of magnitude {largest:.3g}, beyond what {estimator_name} "
            f"handles: |y| <= {limit.bound:.3g}, because {limit.reason}. {advice}"
        )
    if limit.weighted_range is not None and len(y):
        spread = float(np.sum(sample_weight)) * (float(np.max(y)) - float(np.min(y)))
        if spread > limit.weighted_range:
            raise ValueError(
                f"The target is too large for {estimator_name} on this data: "
                f"sum(sample_weight) * (max(y) - min(y)) is {spread:.3g}, and must stay "
                f"<= {limit.weighted_range:.3g}, because {limit.reason}; beyond that the "
                f"model silently degrades. {advice}"
            )
