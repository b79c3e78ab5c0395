"""Sample weights mean what they say, for the families where that holds exactly.

Two properties: a weight of 0 is the same as removing the row, and an integer weight k is
the same as repeating the row k times. Both hold exactly in the algorithms of XGBoost
(histograms of weighted gradient and hessian sums, to which a zero-weight row adds
nothing) and of skfam's NGBoost (weighted natural gradients, weighted scikit-learn trees,
which leave zero-weight rows out of their splits, and a weighted target standardisation).
"Exactly" up to the rounding of the sums: XGBoost sums in float32, so k copies of a
gradient and one gradient times k differ in the last float32 bits; NGBoost sums in float64.

They do not hold for the other families, for reasons of their algorithms (docs/
determinism.md): LightGBM (and quantile LightGBM) bin features and count
``min_child_samples`` on rows, not weights; the ensemble's random forest draws bootstrap
samples and its CV folds split rows; the nets train on mini-batches, which removed or
repeated rows change.

The data has no missing values and fewer rows than ``early_stopping.auto_min_samples``:
the imputer's statistics and the early-stopping split count rows, not weights.
"""

from __future__ import annotations

import numpy as np
import pytest

import skfam

from ._strategies import predictions

ROWS = 400

#: (class name, absolute tolerance of the predictions) for the repeated-rows property.
#: XGBoost: float32 sums of O(1) gradients over a few hundred rows.
#: NGBoost: float64 sums.
EXACT_FAMILIES = [
    ("XGBoostRegressor", 1e-6),
    ("XGBoostClassifier", 1e-6),
    ("NGBoostRegressor", 1e-12),
    ("NGBoostClassifier", 1e-12),
]


def _data(classifier: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, 5))
    y = X[:, 0] + np.sin(X[:, 1]) + 0.3 * rng.normal(size=ROWS)
    if classifier:
        return X, np.where(y > np.median(y), "up", "down")
    return X, y


def _fit(name: str, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None):
    cls = getattr(skfam, name)
    params = {"variant": "fast", "early_stopping": False, "n_jobs": 1}
    return cls(**params).fit(X, y, sample_weight=weight)


@pytest.mark.parametrize(("name", "atol"), EXACT_FAMILIES)
def test_zero_weight_is_the_same_as_removing_the_row(name, atol):
    X, y = _data("Classifier" in name)
    rng = np.random.default_rng(1)
    weight = np.where(rng.random(ROWS) < 0.3, 0.0, 1.0)
    weighted = _fit(name, X, y, weight)
    kept = weight > 0
    removed = _fit(name, X[kept], y[kept])
    # Predicted everywhere, the removed rows included: the models are the same function.
    np.testing.assert_allclose(
        predictions(weighted, X), predictions(removed, X), rtol=0, atol=atol
    )


@pytest.mark.parametrize(("name", "atol"), EXACT_FAMILIES)
def test_integer_weight_is_the_same_as_repeating_the_row(name, atol):
    X, y = _data("Classifier" in name)
    rng = np.random.default_rng(2)
    weight = rng.integers(1, 4, size=ROWS).astype(float)
    weighted = _fit(name, X, y, weight)
    rows = np.repeat(np.arange(ROWS), weight.astype(int))
    repeated = _fit(name, X[rows], y[rows])
    np.testing.assert_allclose(
        predictions(weighted, X), predictions(repeated, X), rtol=0, atol=atol
    )
