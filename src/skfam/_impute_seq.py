"""The imputation step of the sequence families: per-channel statistics of 3-D windows."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._impute import FeatureImputer, has_nan

__all__ = ["HybridImputer", "SequenceImputer", "forward_fill"]


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
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3:
            raise ValueError(f"SequenceImputer needs (N, L, C) input, got shape {X.shape}.")
        # A channel's statistic is a column statistic over all samples and steps.
        columns = FeatureImputer(self.strategy).fit(X.reshape(-1, X.shape[2]))
        self.statistics_ = columns.statistics_
        self.empty_features_ = columns.empty_features_
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
        if not has_nan(X):
            return X
        if self.forward_fill:
            X = forward_fill(X)
        missing = np.isnan(X)
        if not missing.any():
            return X
        return np.where(missing, self.statistics_, X)


class HybridImputer(FeatureImputer):
    """Fill NaN in ``[features | flattened sequence]`` rows of the hybrid family.

    The first ``n_tabular`` columns are imputed per column, as :class:`FeatureImputer`
    does. The rest is a sequence flattened time-major (column ``n_tabular + t * C + c`` is
    channel ``c`` at step ``t``) and is imputed as :class:`SequenceImputer` does: one
    statistic per channel over all rows and steps, after an optional forward fill along
    time within each row. ``statistics_`` and ``empty_features_`` have one entry per input
    column (a channel's value repeated at each step), so the shape never changes.

    Parameters
    ----------
    strategy : {"mean", "median", "most_frequent"}, default="median"
        The statistic of the observed values of each feature column and each channel.
    n_tabular : int, default=0
        Tabular feature columns in front of the sequence.
    sequence_shape : tuple of (int, int), default=(1, 1)
        ``(L, C)`` of the sequence part.
    forward_fill : bool, default=False
        Carry the last observed value of a channel forward along time first.

    Attributes
    ----------
    statistics_ : ndarray of shape (n_features,)
        The fill value of each column (0.0 for empty columns and channels).
    empty_features_ : ndarray of bool, shape (n_features,)
        Columns entirely NaN in the training data (every column of an empty channel).

    Examples
    --------
    >>> import numpy as np
    >>> from skfam._impute_seq import HybridImputer
    >>> X = np.array([[5.0, 1.0, np.nan, 3.0], [np.nan, np.nan, 7.0, np.nan]])
    >>> HybridImputer(n_tabular=1, sequence_shape=(3, 1), forward_fill=True).fit_transform(X)
    array([[5., 1., 1., 3.],
           [5., 3., 7., 7.]])
    """

    def __init__(
        self,
        strategy: str = "median",
        n_tabular: int = 0,
        sequence_shape: tuple[int, int] = (1, 1),
        forward_fill: bool = False,
    ):
        self.strategy = strategy
        self.n_tabular = n_tabular
        self.sequence_shape = sequence_shape
        self.forward_fill = forward_fill

    def _sequence(self, X: np.ndarray) -> np.ndarray:
        length, channels = self.sequence_shape
        if X.ndim != 2 or X.shape[1] != self.n_tabular + length * channels:
            raise ValueError(
                f"HybridImputer expects {self.n_tabular} features plus a {length} x {channels} "
                f"sequence per row, got input of shape {X.shape}."
            )
        return X[:, self.n_tabular :].reshape(len(X), length, channels)

    def fit(self, X: np.ndarray, y: object = None) -> HybridImputer:
        """Learn the fill value of each feature column and each channel from ``X``."""
        X = np.asarray(X, dtype=np.float64)
        sequence = SequenceImputer(self.strategy).fit(self._sequence(X))
        features = FeatureImputer(self.strategy).fit(X[:, : self.n_tabular])
        length = self.sequence_shape[0]
        self.statistics_ = np.concatenate(
            [features.statistics_, np.tile(sequence.statistics_, length)]
        )
        self.empty_features_ = np.concatenate(
            [features.empty_features_, np.tile(sequence.empty_features_, length)]
        )
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``X`` with NaN filled; empty training columns become zeros."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float64)
        sequence = self._sequence(X)
        if self.forward_fill and has_nan(sequence):
            X = X.copy()
            X[:, self.n_tabular :] = forward_fill(sequence).reshape(len(X), -1)
        return super().transform(X)
