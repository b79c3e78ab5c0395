"""The imputation step that every skfam estimator fits inside itself."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["FeatureImputer", "has_nan"]


def has_nan(X: np.ndarray) -> bool:
    """Return whether ``X`` holds a NaN, without a boolean array of its size.

    A NaN makes the sum NaN; a sum without NaN proves there is none. Only a sum that
    overflows to +inf and -inf at once (or infinities, which the estimators' input checks
    refuse) leads to the elementwise check.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(X)
    if not np.isnan(total):
        return False
    return bool(np.isnan(X).any())


_STRATEGIES = ("mean", "median", "most_frequent", "passthrough")


def _most_frequent(column: np.ndarray) -> float:
    values, counts = np.unique(column[~np.isnan(column)], return_counts=True)
    return float(values[np.argmax(counts)])  # ties: the smallest value, as scikit-learn


class FeatureImputer(TransformerMixin, BaseEstimator):
    """Fill NaN in a 2-D float array with per-column statistics of the training data.

    A column that is entirely NaN in the training data is kept (its output is all zeros at
    fit and at predict, whatever arrives there) and flagged in ``empty_features_``, so the
    width of the data never changes.

    With ``strategy="passthrough"`` (for libraries that handle missing values themselves)
    NaN is kept, and an empty training column stays all NaN at predict, whatever arrives
    there.

    Parameters
    ----------
    strategy : {"mean", "median", "most_frequent", "passthrough"}, default="median"
        The statistic of the observed values of each column, or "passthrough": no filling.

    Attributes
    ----------
    statistics_ : ndarray of shape (n_features,)
        The fill value of each column (0.0 for empty columns, and for every column
        with "passthrough", which fills nothing).
    empty_features_ : ndarray of bool, shape (n_features,)
        Columns that were entirely NaN in the training data.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam._impute import FeatureImputer
    >>> X = np.array([[1.0, np.nan], [3.0, np.nan], [np.nan, np.nan]])
    >>> FeatureImputer().fit_transform(X)
    array([[1., 0.],
           [3., 0.],
           [2., 0.]])
    """

    def __init__(self, strategy: str = "median"):
        self.strategy = strategy

    def fit(self, X: np.ndarray, y: object = None) -> FeatureImputer:
        """Learn the fill value of each column from ``X`` (a 2-D float array)."""
        if self.strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {_STRATEGIES}, got {self.strategy!r}.")
        X = np.asarray(X, dtype=np.float64)
        missing = np.isnan(X)
        self.empty_features_ = missing.all(axis=0)
        stats = np.zeros(X.shape[1])
        observed = ~self.empty_features_
        if observed.any() and self.strategy != "passthrough":
            Xo = X[:, observed]
            if self.strategy == "mean":
                stats[observed] = np.nanmean(Xo, axis=0)
            elif self.strategy == "median":
                stats[observed] = np.nanmedian(Xo, axis=0)
            else:
                stats[observed] = [_most_frequent(col) for col in Xo.T]
        self.statistics_ = stats
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``X`` with NaN filled; empty training columns become 0 (NaN: "passthrough")."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float64)
        if self.strategy == "passthrough":
            if not self.empty_features_.any():
                return X
            X = X.copy()
            X[:, self.empty_features_] = np.nan
            return X
        if not self.empty_features_.any() and not has_nan(X):
            return X
        missing = np.isnan(X)
        if self.empty_features_.any():
            missing[:, self.empty_features_] = True
        return np.where(missing, self.statistics_, X)
