"""The imputation step of the sequence families: per-channel statistics of 3-D windows."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._impute import _STRATEGIES, _most_frequent

__all__ = ["SequenceImputer", "forward_fill"]


def forward_fill(X: np.ndarray) -> np.ndarray:
    """Fill NaN in a (N, L, C) array with the last observed value of its window and channel.

    Leading NaN (nothing observed yet in the window) stay NaN. Only earlier steps of the
    same window are used, so nothing from the future or from another sample leaks in.
    """
    missing = np.isnan(X)
    if not missing.any():
        return X
    steps = np.arange(X.shape[1])[None, :, None]
    last = np.where(missing, 0, steps)
    np.maximum.accumulate(last, axis=1, out=last)
    filled = np.take_along_axis(X, last, axis=1)
    return filled


class SequenceImputer(TransformerMixin, BaseEstimator):
    """Fill NaN in (N, L, C) windows with per-channel statistics of the training data.

    The statistic of channel ``c`` is taken over every observed value of that channel (all
    samples and steps) of the training data. With ``forward_fill``, a NaN first takes the
    last observed value of the same channel earlier in the same window, and only NaN with
    nothing observed before them take the statistic. A channel entirely NaN in the training
    data is kept (all zeros at fit and predict, whatever arrives there) and flagged in
    ``empty_features_``, so the shape never changes.

    Parameters
    ----------
    strategy : {"mean", "median", "most_frequent"}, default="median"
        The per-channel statistic.
    forward_fill : bool, default=False
        Carry the last observed value forward along time within each window first.

    Attributes
    ----------
    statistics_ : ndarray of shape (n_channels,)
        The fill value of each channel (0.0 for empty channels).
    empty_features_ : ndarray of bool, shape (n_channels,)
        Channels entirely NaN in the training data.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam._impute_seq import SequenceImputer
    >>> X = np.array([[[1.0], [np.nan], [3.0]], [[np.nan], [5.0], [np.nan]]])
    >>> SequenceImputer(forward_fill=True).fit_transform(X)[:, :, 0]
    array([[1., 1., 3.],
           [3., 5., 5.]])
    """

    def __init__(self, strategy: str = "median", forward_fill: bool = False):
        self.strategy = strategy
        self.forward_fill = forward_fill

    def fit(self, X: np.ndarray, y: object = None) -> SequenceImputer:
        """Learn the fill value of each channel from ``X`` (a (N, L, C) float array)."""
        if self.strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {_STRATEGIES}, got {self.strategy!r}.")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3:
            raise ValueError(f"SequenceImputer needs (N, L, C) input, got shape {X.shape}.")
        flat = X.reshape(-1, X.shape[2])
        observed_count = (~np.isnan(flat)).sum(axis=0)
        self.empty_features_ = observed_count == 0
        stats = np.zeros(X.shape[2])
        observed = ~self.empty_features_
        if observed.any():
            Xo = flat[:, observed]
            if self.strategy == "mean":
                stats[observed] = np.nanmean(Xo, axis=0)
            elif self.strategy == "median":
                stats[observed] = np.nanmedian(Xo, axis=0)
            else:
                stats[observed] = [_most_frequent(col) for col in Xo.T]
        self.statistics_ = stats
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``X`` with NaN filled; empty training channels become zeros."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3 or X.shape[2] != len(self.statistics_):
            raise ValueError(
                f"SequenceImputer was fitted on {len(self.statistics_)} channels, got input "
                f"of shape {X.shape}."
            )
        if self.empty_features_.any():
            X = X.copy()
            X[:, :, self.empty_features_] = np.nan
        if not np.isnan(X).any():
            return X
        if self.forward_fill:
            X = forward_fill(X)
        missing = np.isnan(X)
        if not missing.any():
            return X
        return np.where(missing, self.statistics_, X)
